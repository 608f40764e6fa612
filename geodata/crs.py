"""CRS checks of plot files and reprojection of plot geometries (to EPSG:4326, to a UTM zone).

Part of the plot geometry checks of :mod:`geodata.plots` (data contract ``docs/DATA_FORMATS.md``
section 1): the CRS must be known, EPSG:4326, EPSG:4490 (CGCS2000) or a projected CRS. All
transforms are vectorised over every vertex (pyproj on coordinate arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geodata.errors import CRSError

__all__ = ["WGS84", "CGCS2000", "check_crs", "to_wgs84", "project_to_utm"]

WGS84 = pyproj.CRS.from_epsg(4326)
CGCS2000 = pyproj.CRS.from_epsg(4490)
_ACCEPTED_GEOGRAPHIC = (4326, 4490)
_REEXPORT = "re-export it with EPSG:4326 (WGS 84) or EPSG:4490 (CGCS2000)"


def check_crs(crs: Any, source: str = "the file") -> pyproj.CRS:
    """Check that a plot file's CRS is one we can use and return it as a :class:`pyproj.CRS`.

    Parameters
    ----------
    crs : pyproj.CRS, str, int or None
        The CRS read from the file (anything :meth:`pyproj.CRS.from_user_input` accepts).
    source : str
        Name of the file, for the error message.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    geodata.errors.CRSError
        When the CRS is missing, cannot be parsed, or is neither EPSG:4326, EPSG:4490 nor a
        projected CRS (for example another geographic datum such as Beijing 1954, whose shift to
        WGS 84 needs grids we do not assume).
    """
    if crs is None:
        raise CRSError(f"file {source} has no CRS; {_REEXPORT}")
    try:
        crs = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"file {source} has a CRS that cannot be read ({exc}); {_REEXPORT}") from exc
    if crs.is_projected:
        try:
            pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
        except pyproj.exceptions.ProjError as exc:  # pragma: no cover - defensive
            raise CRSError(
                f"file {source}: no transformation from {crs.name!r} to EPSG:4326; {_REEXPORT}"
            ) from exc
        return crs
    if crs.is_geographic:
        epsg = crs.to_epsg()
        if epsg in _ACCEPTED_GEOGRAPHIC:
            return crs
        # 3D variants (a GPS export in GeoJSON reads as EPSG:4979 or OGC:CRS84h; EPSG:4480 is
        # CGCS2000 3D) and OGC:CRS84 (WGS 84 with lon/lat order): the same datum, Z is dropped
        flat = crs.to_2d()
        for accepted in (WGS84, CGCS2000):
            if flat.equals(accepted, ignore_axis_order=True):
                return accepted
        raise CRSError(
            f"file {source} uses the geographic CRS {crs.name!r} (EPSG:{epsg}), which is not accepted "
            f"because its datum shift to WGS 84 is uncertain; {_REEXPORT}"
        )
    raise CRSError(
        f"file {source} has an unknown CRS {crs.name!r} (neither geographic nor projected); {_REEXPORT}"
    )


def _transform(geoms: np.ndarray, transformer: pyproj.Transformer) -> np.ndarray:
    """Apply a pyproj transformer to every vertex (vectorised)."""

    def fn(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return transformer.transform(x, y)

    return shapely.transform(geoms, fn, interleaved=False)


def to_wgs84(geoms: Sequence[BaseGeometry] | np.ndarray, crs: Any) -> np.ndarray:
    """Reproject geometries to EPSG:4326 with x = longitude, y = latitude.

    GIS files store lon/lat (x/y) even for EPSG:4490 and EPSG:4326, whose EPSG definitions put
    latitude first; the transformer therefore uses ``always_xy=True``.

    Parameters
    ----------
    geoms : array of shapely geometries
    crs : CRS-like
        CRS of ``geoms`` (checked with :func:`check_crs` first).

    Returns
    -------
    numpy.ndarray of shapely geometries in EPSG:4326
    """
    geoms = np.asarray(geoms, dtype=object)
    crs = pyproj.CRS.from_user_input(crs)
    if crs.to_epsg() == 4326:
        return geoms
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    return _transform(geoms, transformer)


def project_to_utm(geoms_wgs84: np.ndarray, epsg: np.ndarray) -> np.ndarray:
    """Project EPSG:4326 geometries into the UTM zone given per geometry (``epsg`` array)."""
    geoms_wgs84 = np.asarray(geoms_wgs84, dtype=object)
    epsg = np.asarray(epsg)
    out = np.empty(len(geoms_wgs84), dtype=object)
    for code in np.unique(epsg):
        sel = epsg == code
        transformer = pyproj.Transformer.from_crs(WGS84, pyproj.CRS.from_epsg(int(code)), always_xy=True)
        out[sel] = _transform(geoms_wgs84[sel], transformer)
    return out
