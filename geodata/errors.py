"""Errors and warnings of the geospatial edge (subclasses of the project root)."""

from __future__ import annotations

from models.errors import MRVError, MRVWarning


class PlotGeometryError(MRVError, ValueError):
    """A plot geometry is invalid, of the wrong type, out of the area range or overlapping."""


class CRSError(MRVError, ValueError):
    """A file or dataset has no CRS, an unknown CRS, or a CRS other than the one expected."""


class ImageryUnavailableError(MRVError, LookupError):
    """No scene, asset or band is available for the request."""


class RasterReadError(MRVError, OSError):
    """A raster could not be opened or read (unreachable href, corrupt file)."""


class ImageryWarning(MRVWarning):
    """A recoverable imagery problem for some plots or dates (the run goes on)."""


class ReflectanceOffsetWarning(ImageryWarning):
    """A scene's reflectance offset could not be determined, or its pixels say it is wrong."""
