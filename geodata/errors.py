"""Errors and warnings of the geospatial edge (subclasses of the project root)."""

from __future__ import annotations

from models.errors import MRVError, MRVWarning


class PlotGeometryError(MRVError, ValueError):
    """A plot geometry is invalid, of the wrong type, out of the area range or overlapping."""


class CRSError(MRVError, ValueError):
    """A file or dataset has no CRS, an unknown CRS, or a CRS other than the one expected."""


class ImageryRequestError(MRVError, ValueError):
    """A parameter of an imagery request is invalid: a bbox, a datetime or datetime range,
    ``max_items`` or ``min_valid_fraction`` (the message names the value and the accepted form)."""


class SpectralIndexError(MRVError, KeyError):
    """An index name is unknown, or a band the index needs is missing."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class GridMismatchError(MRVError, ValueError):
    """An array does not match the pixel grid (window shape) of the coverage weights it is used with."""


class ImageryUnavailableError(MRVError, LookupError):
    """No scene, asset or band is available for the request."""


class StacSearchError(ImageryUnavailableError):
    """A STAC source could not be opened or searched (unreachable URL, missing file, bad JSON)."""


class TooManyItemsError(StacSearchError):
    """A search matched more items than ``max_items``; its result would have been truncated."""


class RasterReadError(MRVError, OSError):
    """A raster could not be opened or read (unreachable href, corrupt file)."""


class ImageryWarning(MRVWarning):
    """A recoverable imagery problem for some plots or dates (the run goes on)."""


class ReflectanceOffsetWarning(ImageryWarning):
    """A scene's reflectance offset could not be determined, or its pixels say it is wrong."""


class SceneSkippedWarning(ImageryWarning):
    """A scene was left out (missing asset, unreachable href, CRS mismatch, no SCL)."""


class PlotNotCoveredWarning(ImageryWarning):
    """Some plots lie outside every used scene's footprint; their series are all NaN."""
