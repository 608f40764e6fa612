"""Plot geometry: CRS checks, reprojection, repair, area in the local UTM zone and overlaps.

Pure geometry on arrays of shapely geometries; reading files and writing the store is the job of
:mod:`mrv_service.ingest.plots`. Everything here is vectorised over plots (shapely 2 ufuncs,
pyproj transforms on coordinate arrays, an STRtree for overlaps), so 100,000 plots take seconds.

The checks follow the data contract ``docs/DATA_FORMATS.md`` section 1:

* the CRS must be known: EPSG:4326, EPSG:4490 (CGCS2000) or a projected CRS;
* one polygon per plot (a MultiPolygon with a single part is accepted);
* invalid geometries are repaired with :func:`shapely.make_valid` (a warning) unless the repair
  changes the area by more than :data:`REPAIR_AREA_TOLERANCE` or leaves no single polygon (an error,
  e.g. a self-intersecting "bow-tie");
* every coordinate a finite number (NaN or infinite vertices are errors);
* area in [:data:`MIN_AREA_HA`, :data:`MAX_AREA_HA`] ha, computed in the plot's UTM zone;
* inside China (:data:`CHINA_BOUNDS`), with swapped longitude/latitude recognised as such, and,
  when a region centre is given, within ``max_distance_km`` of it;
* overlaps between plots above :data:`OVERLAP_FRACTION_TOLERANCE` of the smaller plot or above
  :data:`OVERLAP_AREA_TOLERANCE_M2` are errors;
* a re-upload that moves (nearly) all stored plots by one vector longer than
  :data:`SHIFT_MIN_M` is an error for the file as a whole (:func:`detect_set_shift`), named as the
  GCJ-02 offset of Chinese map apps when it is that (:mod:`geodata.gcj02`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geodata.errors import CRSError
from geodata.gcj02 import gcj02_offset

__all__ = [
    "MIN_AREA_HA",
    "MAX_AREA_HA",
    "REPAIR_AREA_TOLERANCE",
    "OVERLAP_FRACTION_TOLERANCE",
    "OVERLAP_AREA_TOLERANCE_M2",
    "CHINA_BOUNDS",
    "SHIFT_MIN_M",
    "SHIFT_MIN_PLOTS",
    "SHIFT_AGREEMENT",
    "GCJ02_MATCH_M",
    "PlotIssue",
    "PlotGeometryCheck",
    "SetShift",
    "check_crs",
    "in_china",
    "looks_swapped",
    "distance_km",
    "compass_direction",
    "detect_set_shift",
    "to_wgs84",
    "utm_epsg",
    "project_to_utm",
    "area_ha",
    "find_overlaps",
    "check_plot_geometries",
]

MIN_AREA_HA = 0.01
"""Smallest accepted plot [ha] (DATA_FORMATS.md section 1; 0.15 mu, below any farmed plot)."""
MAX_AREA_HA = 50.0
"""Largest accepted plot [ha] (DATA_FORMATS.md section 1; far above a smallholder plot)."""
REPAIR_AREA_TOLERANCE = 0.01
"""Largest relative area change [1] a geometry repair may make and still be accepted (a service
choice: repairs of duplicate vertices or zero-width spikes change the area by ~0)."""
OVERLAP_FRACTION_TOLERANCE = 0.01
"""Overlap tolerated between two plots as a fraction of the smaller one [1] (digitising noise)."""
OVERLAP_AREA_TOLERANCE_M2 = 10.0
"""Overlap tolerated between two plots regardless of their size [m2] (digitising noise)."""
CHINA_BOUNDS = (73.0, 18.0, 135.5, 54.0)
"""Envelope of mainland China (lon_min, lat_min, lon_max, lat_max) [degree]; plots outside it
are rejected (the service covers China only). A point whose x lies in the latitude range and
y in the longitude range is recognised as swapped axes (:func:`looks_swapped`)."""
SHIFT_MIN_M = 30.0
"""A re-uploaded plot set that moved as a whole by more than this [m] is rejected (a service
choice: re-digitising the same boundary moves it by metres, a datum or map-app offset by tens
to hundreds of metres)."""
SHIFT_MIN_PLOTS = 3
"""Stored plots a re-upload must repeat before a common shift is judged [1] (with one or two
plots a common vector says nothing about the set)."""
SHIFT_AGREEMENT = 0.9
"""Share of the repeated plots that must have moved by the common vector [1] ("nearly all")."""
SHIFT_SPREAD_M = 15.0
"""A plot moved "by the common vector" when its shift lies within this [m], or within 15 % of
the common shift if that is more, of the median shift (the GCJ-02 offset itself varies by about
+-25 m across a county, see :mod:`geodata.gcj02`)."""
GCJ02_MATCH_M = 25.0
"""A common shift is named the GCJ-02 offset when the median distance [m] between each plot's
shift and the GCJ-02 offset at that plot is below this (digitising on a map app adds metres)."""

WGS84 = pyproj.CRS.from_epsg(4326)
CGCS2000 = pyproj.CRS.from_epsg(4490)
_ACCEPTED_GEOGRAPHIC = (4326, 4490)
_REEXPORT = "re-export it with EPSG:4326 (WGS 84) or EPSG:4490 (CGCS2000)"


@dataclasses.dataclass(frozen=True)
class PlotIssue:
    """One problem found with one plot."""

    index: int | None
    """Position of the plot in the input arrays (0-based); ``None`` for a problem of the file as a
    whole (e.g. a shift of the whole plot set), which rejects every plot."""
    plot_id: str | None
    """External plot id, when known."""
    field: str
    """The attribute at fault, usually ``"geometry"``."""
    severity: str
    """``"error"`` (the plot cannot be accepted) or ``"warning"`` (accepted, flagged)."""
    message: str
    """What is wrong, naming the bad value."""
    fix: str
    """What the user should do about it."""


@dataclasses.dataclass(frozen=True)
class PlotGeometryCheck:
    """Result of :func:`check_plot_geometries` (arrays aligned with the input)."""

    geometry: np.ndarray
    """Cleaned single polygons in EPSG:4326 (lon/lat); ``None`` where the plot was rejected."""
    area_ha: np.ndarray
    """Plot area in its UTM zone [ha]; NaN where rejected."""
    centroid_lon: np.ndarray
    """Centroid longitude [degree east]."""
    centroid_lat: np.ndarray
    """Centroid latitude [degree north]."""
    utm_epsg: np.ndarray
    """EPSG code of the plot's WGS 84 UTM zone (326zz north, 327zz south); 0 where rejected."""
    issues: tuple[PlotIssue, ...]
    """Errors and warnings, in input order."""

    shift: SetShift | None = None
    """The common shift of the re-uploaded plots against their stored boundaries, when judged
    (:func:`detect_set_shift`); an error issue (index ``None``) when it is too large."""

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of plots without an error (all False after a file-level error)."""
        bad = np.zeros(len(self.geometry), dtype=bool)
        for issue in self.issues:
            if issue.severity == "error":
                if issue.index is None:
                    bad[:] = True
                else:
                    bad[issue.index] = True
        return ~bad

    @property
    def errors(self) -> list[PlotIssue]:
        """The error-level issues."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[PlotIssue]:
        """The warning-level issues."""
        return [i for i in self.issues if i.severity == "warning"]


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


def utm_epsg(lon: Any, lat: Any) -> np.ndarray:
    """EPSG code of the WGS 84 UTM zone holding each point.

    Zone = floor((lon + 180) / 6) + 1; EPSG 32600 + zone north of the equator, 32700 + zone
    south (the Norway/Svalbard exceptions do not matter in China).

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude [degree].

    Returns
    -------
    numpy.ndarray of int

    Examples
    --------
    >>> int(utm_epsg(124.3, 43.4))  # Lishu county, Jilin
    32651
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    zone = np.clip(np.floor((lon + 180.0) / 6.0).astype(int) + 1, 1, 60)
    return np.where(lat >= 0, 32600, 32700) + zone


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


def area_ha(geoms_wgs84: Sequence[BaseGeometry] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Planar area of each geometry in its own UTM zone [ha].

    Parameters
    ----------
    geoms_wgs84 : array of shapely geometries in EPSG:4326 (lon/lat)

    Returns
    -------
    area : numpy.ndarray
        Area [ha] (1 ha = 10,000 m2).
    epsg : numpy.ndarray of int
        UTM zone used per geometry (from the centroid).

    Notes
    -----
    The UTM point scale factor is 0.9996 on the central meridian and about 1.0010 at the zone
    edge, so areas carry at most about 0.2 % distortion [1]_.

    References
    ----------
    .. [1] J. P. Snyder, "Map Projections - A Working Manual", U.S. Geological Survey
       Professional Paper 1395, 1987, pp. 57-64. doi:10.3133/pp1395
    """
    geoms = np.asarray(geoms_wgs84, dtype=object)
    centroids = shapely.centroid(geoms)
    epsg = utm_epsg(shapely.get_x(centroids), shapely.get_y(centroids))
    utm = project_to_utm(geoms, epsg)
    return shapely.area(utm) / 10_000.0, epsg


def find_overlaps(
    geoms_metric: np.ndarray,
    *,
    fraction_tolerance: float = OVERLAP_FRACTION_TOLERANCE,
    area_tolerance_m2: float = OVERLAP_AREA_TOLERANCE_M2,
    candidates: np.ndarray | None = None,
) -> list[tuple[int, int, float, float]]:
    """Pairs of polygons that overlap by more than a tolerance.

    Uses an STRtree bulk query (``predicate="intersects"``), then computes the intersection
    areas of the candidate pairs in one vectorised call, so the cost grows with n log n plus the
    number of touching pairs, not n squared.

    Parameters
    ----------
    geoms_metric : array of polygons in a metric CRS [m]
    fraction_tolerance : float
        Overlap above this fraction of the smaller polygon [1] is reported.
    area_tolerance_m2 : float
        Overlap above this area [m2] is reported.
    candidates : boolean array, optional
        Only pairs with at least one ``True`` member are reported (e.g. the new plots when the
        array also holds plots already stored).

    Returns
    -------
    list of (i, j, overlap_m2, fraction_of_smaller) with i < j
    """
    geoms = np.asarray(geoms_metric, dtype=object)
    present = ~shapely.is_missing(geoms)
    idx = np.flatnonzero(present)
    if len(idx) < 2:
        return []
    tree = shapely.STRtree(geoms[idx])
    left, right = tree.query(geoms[idx], predicate="intersects")
    keep = left < right
    i, j = idx[left[keep]], idx[right[keep]]
    if candidates is not None:
        cand = np.asarray(candidates, dtype=bool)
        sel = cand[i] | cand[j]
        i, j = i[sel], j[sel]
    if len(i) == 0:
        return []
    inter = shapely.area(shapely.intersection(geoms[i], geoms[j]))
    smaller = np.minimum(shapely.area(geoms[i]), shapely.area(geoms[j]))
    frac = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    bad = (inter > area_tolerance_m2) | (frac > fraction_tolerance)
    return [
        (int(a), int(b), float(x), float(f))
        for a, b, x, f in zip(i[bad], j[bad], inter[bad], frac[bad], strict=True)
    ]


def _polygonal_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    """The polygons inside a (possibly mixed) geometry, dropping lines and points."""
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        parts: list[BaseGeometry] = []
        for g in geom.geoms:
            parts.extend(_polygonal_parts(g))
        return parts
    return []


def _fmt_ha(x: float) -> str:
    return f"{x:.4g} ha"


def in_china(lon: Any, lat: Any) -> np.ndarray:
    """True where a point lies inside :data:`CHINA_BOUNDS` (longitude/latitude [degree])."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def looks_swapped(x: Any, y: Any) -> np.ndarray:
    """True where (x, y) reads as (latitude, longitude) of a place in China.

    x within China's latitude range and y within its longitude range (:data:`CHINA_BOUNDS`): the
    two ranges do not overlap (18-54 vs 73-135.5 degree), so such a point cannot be a longitude/
    latitude pair in China but is one with the axes swapped.
    """
    return in_china(y, x)


def distance_km(lon: Any, lat: Any, lon0: float, lat0: float) -> np.ndarray:
    """Geodesic distance [km] on the WGS 84 ellipsoid from (lon0, lat0) to each point (pyproj.Geod)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(
        np.full(lon.shape, float(lon0)), np.full(lat.shape, float(lat0)), lon, lat
    )
    return np.asarray(dist, dtype=float) / 1000.0


_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def compass_direction(east: float, north: float) -> str:
    """The 8-point compass name of a shift (``north-east`` ...)."""
    bearing = float(np.degrees(np.arctan2(east, north))) % 360.0
    return _COMPASS[int((bearing + 22.5) // 45.0) % 8]


@dataclasses.dataclass(frozen=True)
class SetShift:
    """The common shift of re-uploaded plots against their stored boundaries."""

    n_common: int
    """Plots of the upload that are already stored (and valid in both) [1]."""
    n_moved: int
    """Of these, the plots that moved by the common vector [1]."""
    east_m: float
    """Median shift towards the east [m] (negative: west)."""
    north_m: float
    """Median shift towards the north [m] (negative: south)."""
    gcj02: str | None
    """``"to_gcj02"`` when the shift is the GCJ-02 offset (the new file is in GCJ-02),
    ``"from_gcj02"`` when it is the offset reversed (the stored plots were GCJ-02), else None."""
    gcj02_east_m: float = float("nan")
    """Median GCJ-02 offset at the plots, east [m]."""
    gcj02_north_m: float = float("nan")
    """Median GCJ-02 offset at the plots, north [m]."""

    @property
    def distance_m(self) -> float:
        """Length of the common shift [m]."""
        return float(np.hypot(self.east_m, self.north_m))

    @property
    def direction(self) -> str:
        """Compass direction of the common shift."""
        return compass_direction(self.east_m, self.north_m)

    @property
    def whole_set(self) -> bool:
        """True when (nearly) all repeated plots moved alike by more than :data:`SHIFT_MIN_M`."""
        return (
            self.n_common >= SHIFT_MIN_PLOTS
            and self.n_moved >= SHIFT_AGREEMENT * self.n_common
            and self.distance_m > SHIFT_MIN_M
        )


def _east_north(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray):
    az, _, dist = pyproj.Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    az = np.radians(np.asarray(az, dtype=float))
    dist = np.asarray(dist, dtype=float)
    return dist * np.sin(az), dist * np.cos(az)


def detect_set_shift(old_lon: Any, old_lat: Any, new_lon: Any, new_lat: Any) -> SetShift:
    """How far and how uniformly plots moved between their stored and uploaded boundaries.

    Parameters
    ----------
    old_lon, old_lat : array_like
        Centroids of the stored plots [degree, EPSG:4326].
    new_lon, new_lat : array_like
        Centroids of the same plots in the upload, in the same order [degree, EPSG:4326].

    Returns
    -------
    SetShift
        The median east/north shift [m], how many plots moved by it (within
        :data:`SHIFT_SPREAD_M` or 15 % of it), and whether it is the GCJ-02 offset of Chinese map
        apps (:func:`geodata.gcj02.gcj02_offset`) or that offset reversed, judged per plot within
        :data:`GCJ02_MATCH_M`. :attr:`SetShift.whole_set` says whether it is an error.
    """
    old_lon, old_lat = np.asarray(old_lon, dtype=float), np.asarray(old_lat, dtype=float)
    new_lon, new_lat = np.asarray(new_lon, dtype=float), np.asarray(new_lat, dtype=float)
    n = len(old_lon)
    if n == 0:
        return SetShift(0, 0, 0.0, 0.0, None)
    east, north = _east_north(old_lon, old_lat, new_lon, new_lat)
    me, mn = float(np.median(east)), float(np.median(north))
    spread = max(SHIFT_SPREAD_M, 0.15 * float(np.hypot(me, mn)))
    moved = int(np.count_nonzero(np.hypot(east - me, north - mn) <= spread))
    ge, gn = gcj02_offset(old_lon, old_lat)
    gcj = None
    if float(np.median(np.hypot(east - ge, north - gn))) < GCJ02_MATCH_M:
        gcj = "to_gcj02"
    elif float(np.median(np.hypot(east + ge, north + gn))) < GCJ02_MATCH_M:
        gcj = "from_gcj02"
    return SetShift(n, moved, me, mn, gcj, float(np.median(ge)), float(np.median(gn)))


def _shift_issue(shift: SetShift, crs_name: str) -> PlotIssue:
    """The file-level error for a plot set that moved as a whole."""
    moved = (
        f"all {shift.n_common}"
        if shift.n_moved == shift.n_common
        else f"{shift.n_moved} of the {shift.n_common}"
    )
    head = (
        f"{moved} plots already stored moved as a whole by {shift.distance_m:.0f} m towards the "
        f"{shift.direction} (east {shift.east_m:+.0f} m, north {shift.north_m:+.0f} m) from their "
        f"stored boundaries; re-digitising moves a boundary by metres, not the whole set alike"
    )
    offset = f"(east {shift.gcj02_east_m:+.0f} m, north {shift.gcj02_north_m:+.0f} m here)"
    if shift.gcj02 == "to_gcj02":
        message = (
            f"{head}. The shift is the GCJ-02 offset of Chinese map apps {offset}: this file holds "
            "GCJ-02 (火星坐标) coordinates, e.g. digitised on Amap/Tencent/Google Maps China, not "
            f"{crs_name}"
        )
        fix = (
            "convert the file from GCJ-02 to WGS-84 (EPSG:4326) or CGCS2000 (EPSG:4490) before "
            "uploading, or digitise the plots on imagery in WGS-84/CGCS2000"
        )
    elif shift.gcj02 == "from_gcj02":
        message = (
            f"{head}. The shift is the GCJ-02 offset of Chinese map apps reversed {offset}: the "
            "stored plots look like GCJ-02 (火星坐标) coordinates and this file like WGS-84/CGCS2000"
        )
        fix = (
            "if this file is right, the stored plots were GCJ-02: ask the project administrator to "
            "remove them, then upload this file; otherwise convert this file to WGS-84/CGCS2000"
        )
    else:
        message = head
        fix = (
            f"check the file's CRS (it says {crs_name}) and datum, or whether the file was shifted in "
            "editing; if the stored boundaries are the wrong ones, ask the project administrator to "
            "remove them before uploading the corrected set"
        )
    return PlotIssue(None, None, "geometry", "error", message, fix)


def check_plot_geometries(
    geoms: Sequence[BaseGeometry | None] | np.ndarray,
    crs: Any,
    plot_ids: Sequence[str | None] | None = None,
    *,
    source: str = "the file",
    existing_wgs84: np.ndarray | None = None,
    existing_ids: Sequence[str] | None = None,
    min_area_ha: float = MIN_AREA_HA,
    max_area_ha: float = MAX_AREA_HA,
    repair_tolerance: float = REPAIR_AREA_TOLERANCE,
    fraction_tolerance: float = OVERLAP_FRACTION_TOLERANCE,
    area_tolerance_m2: float = OVERLAP_AREA_TOLERANCE_M2,
    region_centre: tuple[float, float] | None = None,
    max_distance_km: float | None = None,
    region_label: str = "the region centre ({lon:.4f}, {lat:.4f})",
    region_fix: str = "check the coordinates and the CRS of the file, or the region centre",
) -> PlotGeometryCheck:
    """Validate, repair and measure plot polygons.

    Parameters
    ----------
    geoms : array of shapely geometries (or None)
        One geometry per plot, in ``crs``; a Z coordinate is dropped.
    crs : CRS-like
        The file's CRS; checked with :func:`check_crs` (raises :class:`~geodata.errors.CRSError`).
    plot_ids : sequence of str, optional
        External plot ids, used in messages.
    source : str
        File name for messages.
    existing_wgs84, existing_ids : optional
        Plots already stored (EPSG:4326) that the new plots must not overlap; plots whose id is
        among ``plot_ids`` are replaced by the new upload and are not compared for overlaps, but
        their shift as a set is judged (:func:`detect_set_shift`).
    min_area_ha, max_area_ha : float
        Accepted area range [ha].
    repair_tolerance : float
        Largest relative area change of a repair [1].
    fraction_tolerance, area_tolerance_m2 : float
        Overlap tolerances (see :func:`find_overlaps`).
    region_centre : (lon, lat), optional
        Centre of the project's region [degree, EPSG:4326]; with ``max_distance_km`` a plot whose
        centroid lies farther from it is an error.
    max_distance_km : float, optional
        Largest distance of a plot centroid from ``region_centre`` [km].
    region_label : str
        How messages name the centre: a format string with ``{lon}`` and ``{lat}``.
    region_fix : str
        The fix given for a plot too far from the centre.

    Returns
    -------
    PlotGeometryCheck
    """
    crs = check_crs(crs, source)
    geoms = np.asarray(list(geoms), dtype=object)
    n = len(geoms)
    ids = list(plot_ids) if plot_ids is not None else [None] * n
    issues: list[PlotIssue] = []
    rejected = np.zeros(n, dtype=bool)

    def add(i: int, severity: str, message: str, fix: str) -> None:
        issues.append(PlotIssue(i, ids[i], "geometry", severity, message, fix))
        if severity == "error":
            rejected[i] = True

    clean = np.empty(n, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms = shapely.force_2d(np.where(missing, None, geoms))
    # NaN/Inf vertices first: GEOS validity and area functions fail or warn on them
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad_vertex = ~np.isfinite(coords).all(axis=1)
    nonfinite = np.zeros(n, dtype=bool)
    first_bad: dict[int, int] = {}
    if bad_vertex.any():
        nonfinite[owner[bad_vertex]] = True
        starts = np.searchsorted(owner, np.arange(n))
        for k in np.flatnonzero(bad_vertex)[::-1]:
            first_bad[int(owner[k])] = int(k)
        geoms = np.where(nonfinite, None, geoms)
        for i, k in first_bad.items():
            x, y = coords[k]
            add(
                i,
                "error",
                f"has a vertex that is not a number: vertex {k - starts[i] + 1} is ({x}, {y})",
                "remove or correct the broken vertex (NaN or infinite coordinates) and re-export the file",
            )
    valid = shapely.is_valid(geoms)
    types = shapely.get_type_id(geoms)  # 3 Polygon, 6 MultiPolygon, -1 missing
    for i in range(n):
        if nonfinite[i]:
            continue
        if missing[i]:
            add(i, "error", "has no geometry", "draw the plot boundary as a polygon or remove the feature")
            continue
        g = geoms[i]
        if types[i] not in (3, 6):
            add(
                i,
                "error",
                f"is a {g.geom_type}, not a polygon",
                "digitise the plot as a closed polygon (one polygon per plot)",
            )
            continue
        if not valid[i]:
            reason = shapely.is_valid_reason(g)
            before = float(shapely.area(g))
            parts = _polygonal_parts(shapely.make_valid(g))
            after = float(sum(p.area for p in parts))
            change = abs(after - before) / max(after, before) if max(after, before) > 0 else 1.0
            if not parts:
                add(
                    i,
                    "error",
                    f"is invalid ({reason}) and has no area left after repair",
                    "redraw the plot boundary as a simple closed polygon",
                )
                continue
            if len(parts) > 1 or change > repair_tolerance:
                add(
                    i,
                    "error",
                    f"is invalid ({reason}): the boundary crosses itself, and repairing it would split it "
                    f"into {len(parts)} part(s) and change its area by {change:.0%}",
                    "redraw the boundary so that it does not cross itself (check the vertex order, e.g. "
                    "with QGIS Vector > Geometry Tools > Check Validity)",
                )
                continue
            add(
                i,
                "warning",
                f"was invalid ({reason}) and was repaired with make_valid (area change {change:.2%})",
                "check the boundary in a GIS and re-export it to avoid the repair",
            )
            g = parts[0]
        elif types[i] == 6:
            parts = _polygonal_parts(g)
            if len(parts) != 1:
                add(
                    i,
                    "error",
                    f"is a MultiPolygon with {len(parts)} parts",
                    "upload each part as its own plot with its own plot_id, or delete the stray parts",
                )
                continue
            g = parts[0]
        clean[i] = g

    # Swapped axes in a geographic file: x in China's latitude range, y in its longitude range
    if crs.is_geographic and (~rejected).any():
        idx = np.flatnonzero(~rejected)
        b = shapely.bounds(clean[idx])
        swapped = looks_swapped(b[:, 0], b[:, 1]) & looks_swapped(b[:, 2], b[:, 3])
        for i, (x0, y0) in zip(idx[swapped], b[swapped, :2], strict=True):
            add(
                int(i),
                "error",
                f"has x {x0:.4f} and y {y0:.4f}: longitude and latitude look swapped (x is in "
                "China's latitude range, y in its longitude range)",
                "swap the axes so that x is the longitude (east) and y the latitude (north), then "
                "re-export the file",
            )

    ok = ~rejected
    out = np.full(n, None, dtype=object)
    area = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    epsg = np.zeros(n, dtype=int)
    if ok.any():
        wgs = to_wgs84(clean[ok], crs)
        bounds = shapely.bounds(wgs)
        bad_ll = ~(
            (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
        ) | ~np.isfinite(bounds).all(axis=1)
        for k in np.flatnonzero(ok)[bad_ll]:
            add(
                int(k),
                "error",
                f"has coordinates outside longitude -180..180 / latitude -90..90 in {crs.name}",
                "check the CRS of the file and that x is the longitude (axis order), then re-export it",
            )
        ok = ~rejected
        wgs = wgs[~bad_ll]
        out[ok] = wgs
        area[ok], epsg[ok] = area_ha(wgs)
        cen = shapely.centroid(wgs)
        lon[ok], lat[ok] = shapely.get_x(cen), shapely.get_y(cen)

    check_region = region_centre is not None and max_distance_km is not None
    dist = np.full(n, np.nan)
    if check_region and ok.any():
        dist[ok] = distance_km(lon[ok], lat[ok], region_centre[0], region_centre[1])
    for i in np.flatnonzero(ok):
        if not (min_area_ha <= area[i] <= max_area_ha):
            add(
                int(i),
                "error",
                f"has an area of {_fmt_ha(area[i])}, outside the accepted {min_area_ha}-{max_area_ha} ha",
                "check the CRS and the boundary (a plot in degrees read as metres, or a field block "
                "digitised as one plot); split large blocks into plots",
            )
        elif not in_china(lon[i], lat[i]):
            add(
                int(i),
                "error",
                f"lies at lon {lon[i]:.4f}, lat {lat[i]:.4f}, outside China",
                "check the coordinates and the CRS of the file (x is the longitude, y the latitude); "
                "the service covers plots in China only",
            )
        elif check_region and dist[i] > max_distance_km:
            add(
                int(i),
                "error",
                f"lies {dist[i]:.1f} km from "
                f"{region_label.format(lon=region_centre[0], lat=region_centre[1])}, farther than "
                f"the {max_distance_km:g} km allowed",
                region_fix,
            )

    ok = ~rejected
    # Overlaps, in one metric CRS (the most common UTM zone of the upload; a county spans one or
    # two zones, so the distortion of an overlap ratio is negligible).
    if ok.any():
        zone = int(np.bincount(epsg[ok] - 32600).argmax() + 32600)
        new_geoms = out.copy()
        new_geoms[~ok] = None
        all_geoms = new_geoms
        all_ids: list[str | None] = list(ids)
        cand = np.ones(n, dtype=bool)
        if existing_wgs84 is not None and len(existing_wgs84):
            ex_ids = list(existing_ids) if existing_ids is not None else [None] * len(existing_wgs84)
            replaced = {x for x in ids if x is not None}
            keep = np.array([x not in replaced for x in ex_ids], dtype=bool)
            ex = np.asarray(existing_wgs84, dtype=object)[keep]
            all_geoms = np.concatenate([new_geoms, ex])
            all_ids = all_ids + [x for x, k in zip(ex_ids, keep, strict=True) if k]
            cand = np.concatenate([cand, np.zeros(len(ex), dtype=bool)])
        metric = project_to_utm(all_geoms, np.full(len(all_geoms), zone))
        for a, b, inter, frac in find_overlaps(
            metric,
            fraction_tolerance=fraction_tolerance,
            area_tolerance_m2=area_tolerance_m2,
            candidates=cand,
        ):
            other = f"plot {all_ids[b]}" if b < n else f"stored plot {all_ids[b]}"
            add(
                a,
                "error",
                f"overlaps {other} by {inter:.0f} m2 ({frac:.1%} of the smaller plot)",
                "correct the shared boundary so that the plots do not overlap (or remove the duplicate plot)",
            )

    # The set as a whole against the stored boundaries of the same plot ids
    shift = None
    if existing_wgs84 is not None and len(existing_wgs84) and existing_ids is not None:
        stored = {x: k for k, x in enumerate(existing_ids) if x is not None}
        pairs = [(i, stored[ids[i]]) for i in np.flatnonzero(ok) if ids[i] in stored]
        if pairs:
            new_i = np.array([p[0] for p in pairs])
            ex_geoms = np.asarray(existing_wgs84, dtype=object)[[p[1] for p in pairs]]
            usable = ~(shapely.is_missing(ex_geoms) | shapely.is_empty(ex_geoms))
            ex_cen = shapely.centroid(ex_geoms[usable])
            shift = detect_set_shift(
                shapely.get_x(ex_cen), shapely.get_y(ex_cen), lon[new_i[usable]], lat[new_i[usable]]
            )
            if shift.whole_set:
                issues.append(_shift_issue(shift, crs.name))

    issues.sort(key=lambda x: -1 if x.index is None else x.index)
    area[rejected] = np.nan
    out[rejected] = None
    epsg[rejected] = 0
    return PlotGeometryCheck(
        geometry=out,
        area_ha=area,
        centroid_lon=lon,
        centroid_lat=lat,
        utm_epsg=epsg,
        issues=tuple(issues),
        shift=shift,
    )
