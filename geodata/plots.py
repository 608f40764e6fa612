"""Plot geometry: CRS checks, reprojection, repair, area in the local UTM zone and overlaps.

:func:`check_plot_geometries` runs every check and returns a :class:`PlotGeometryCheck` of
:class:`PlotIssue` records. It is :func:`measure_plot_geometries` (each plot on its own, so an
upload can be measured slice by slice) then :func:`check_plot_overlaps` (the plots as a set). The
checks they chain live in one module each, and their names are
re-exported here: :mod:`geodata.crs` (CRS checks, reprojection), :mod:`geodata.area` (UTM zone,
area), :mod:`geodata.overlaps`, :mod:`geodata.location` (China extent, swapped axes, distance
from the region centre) and :mod:`geodata.shift` (the whole-set shift, GCJ-02).

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
* inside China (:data:`~geodata.location.CHINA_BOUNDS`), with swapped longitude/latitude
  recognised as such, and, when a region centre is given, within ``max_distance_km`` of it;
* overlaps between plots above :data:`~geodata.overlaps.OVERLAP_FRACTION_TOLERANCE` of the smaller
  plot or above :data:`~geodata.overlaps.OVERLAP_AREA_TOLERANCE_M2` are errors;
* a re-upload that moves (nearly) all stored plots by one vector longer than
  :data:`~geodata.shift.SHIFT_MIN_M` is an error for the file as a whole
  (:func:`~geodata.shift.detect_set_shift`), named as the GCJ-02 offset of Chinese map apps when it
  is that (:mod:`geodata.gcj02`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geodata.area import area_ha, utm_epsg
from geodata.crs import check_crs, project_to_utm, to_wgs84
from geodata.location import CHINA_BOUNDS, distance_km, in_china, looks_swapped
from geodata.overlaps import OVERLAP_AREA_TOLERANCE_M2, OVERLAP_FRACTION_TOLERANCE, find_overlaps
from geodata.shift import (
    GCJ02_MATCH_M,
    SHIFT_AGREEMENT,
    SHIFT_MIN_M,
    SHIFT_MIN_PLOTS,
    SetShift,
    compass_direction,
    detect_set_shift,
    shift_message,
)

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
    "measure_plot_geometries",
    "check_plot_overlaps",
]

MIN_AREA_HA = 0.01
"""Smallest accepted plot [ha] (DATA_FORMATS.md section 1; 0.15 mu, below any farmed plot)."""
MAX_AREA_HA = 50.0
"""Largest accepted plot [ha] (DATA_FORMATS.md section 1; far above a smallholder plot)."""
REPAIR_AREA_TOLERANCE = 0.01
"""Largest relative area change [1] a geometry repair may make and still be accepted (a service
choice: repairs of duplicate vertices or zero-width spikes change the area by ~0)."""


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
    (:func:`~geodata.shift.detect_set_shift`); an error issue (index ``None``) when it is too
    large."""

    @classmethod
    def concat(cls, parts: Sequence[PlotGeometryCheck]) -> PlotGeometryCheck:
        """The checks of consecutive slices of one upload (:func:`measure_plot_geometries` of each)
        as one check of the whole: arrays joined, each part's issue indices moved by the plots
        before it."""
        issues: list[PlotIssue] = []
        offset = 0
        for part in parts:
            issues.extend(
                i if i.index is None else dataclasses.replace(i, index=i.index + offset) for i in part.issues
            )
            offset += len(part.geometry)

        def join(name: str, dtype: Any) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts]) if parts else np.empty(0, dtype=dtype)

        return cls(
            geometry=join("geometry", object),
            area_ha=join("area_ha", float),
            centroid_lon=join("centroid_lon", float),
            centroid_lat=join("centroid_lat", float),
            utm_epsg=join("utm_epsg", int),
            issues=tuple(issues),
        )

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


def _checked(
    out: np.ndarray,
    area: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    epsg: np.ndarray,
    issues: list[PlotIssue],
    rejected: np.ndarray,
    shift: SetShift | None = None,
) -> PlotGeometryCheck:
    """The result of a check: issues in input order (the file's own first), rejected plots cleared."""
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


def measure_plot_geometries(
    geoms: Sequence[BaseGeometry | None] | np.ndarray,
    crs: Any,
    plot_ids: Sequence[str | None] | None = None,
    *,
    source: str = "the file",
    min_area_ha: float = MIN_AREA_HA,
    max_area_ha: float = MAX_AREA_HA,
    repair_tolerance: float = REPAIR_AREA_TOLERANCE,
    region_centre: tuple[float, float] | None = None,
    max_distance_km: float | None = None,
    region_label: str = "the region centre ({lon:.4f}, {lat:.4f})",
    region_fix: str = "check the coordinates and the CRS of the file, or the region centre",
) -> PlotGeometryCheck:
    """Validate, repair and measure plot polygons, each on its own: every check of
    :func:`check_plot_geometries` but the overlaps and the shift of the set
    (:func:`check_plot_overlaps`).

    A plot's result does not depend on the other plots, so an upload can be measured in slices
    and the slices joined (:meth:`PlotGeometryCheck.concat`).

    Parameters
    ----------
    geoms : array of shapely geometries (or None)
        One geometry per plot, in ``crs``; a Z coordinate is dropped.
    crs : CRS-like
        The file's CRS; checked with :func:`~geodata.crs.check_crs` (raises
        :class:`~geodata.errors.CRSError`).
    plot_ids : sequence of str, optional
        External plot ids, used in messages.
    source : str
        File name for messages.
    min_area_ha, max_area_ha : float
        Accepted area range [ha].
    repair_tolerance : float
        Largest relative area change of a repair [1].
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
    # each check over all plots at once; a plot gets the first one it fails
    bad_area = ~((min_area_ha <= area) & (area <= max_area_ha))
    outside = ~in_china(lon, lat)
    too_far = dist > max_distance_km if check_region else np.zeros(n, dtype=bool)
    for i in np.flatnonzero(ok & (bad_area | outside | too_far)):
        if bad_area[i]:
            add(
                int(i),
                "error",
                f"has an area of {_fmt_ha(area[i])}, outside the accepted {min_area_ha}-{max_area_ha} ha",
                "check the CRS and the boundary (a plot in degrees read as metres, or a field block "
                "digitised as one plot); split large blocks into plots",
            )
        elif outside[i]:
            add(
                int(i),
                "error",
                f"lies at lon {lon[i]:.4f}, lat {lat[i]:.4f}, outside China",
                "check the coordinates and the CRS of the file (x is the longitude, y the latitude); "
                "the service covers plots in China only",
            )
        elif too_far[i]:
            add(
                int(i),
                "error",
                f"lies {dist[i]:.1f} km from "
                f"{region_label.format(lon=region_centre[0], lat=region_centre[1])}, farther than "
                f"the {max_distance_km:g} km allowed",
                region_fix,
            )

    return _checked(out, area, lon, lat, epsg, issues, rejected)


def check_plot_overlaps(
    measured: PlotGeometryCheck,
    plot_ids: Sequence[str | None] | None = None,
    *,
    crs_name: str = "the file's CRS",
    existing_wgs84: np.ndarray | None = None,
    existing_ids: Sequence[str] | None = None,
    fraction_tolerance: float = OVERLAP_FRACTION_TOLERANCE,
    area_tolerance_m2: float = OVERLAP_AREA_TOLERANCE_M2,
) -> PlotGeometryCheck:
    """The checks of the plots as a set, after :func:`measure_plot_geometries`: overlaps among
    them and with the stored plots, and the shift of the re-uploaded plots as a whole.

    Parameters
    ----------
    measured : PlotGeometryCheck
        :func:`measure_plot_geometries` of the upload (or the :meth:`~PlotGeometryCheck.concat`
        of its slices); its rejected plots take no part.
    plot_ids : sequence of str, optional
        External plot ids, used in messages and to find the stored plots they replace.
    crs_name : str
        The file's CRS as messages name it.
    existing_wgs84, existing_ids : optional
        Plots already stored (EPSG:4326) that the new plots must not overlap; plots whose id is
        among ``plot_ids`` are replaced by the new upload and are not compared for overlaps, but
        their shift as a set is judged (:func:`~geodata.shift.detect_set_shift`).
    fraction_tolerance, area_tolerance_m2 : float
        Overlap tolerances (see :func:`~geodata.overlaps.find_overlaps`).

    Returns
    -------
    PlotGeometryCheck
        ``measured`` with the issues found added, in input order, and the plots they reject
        cleared (geometry ``None``, area NaN, UTM zone 0).
    """
    out = measured.geometry.copy()
    n = len(out)
    ids = list(plot_ids) if plot_ids is not None else [None] * n
    area, epsg = measured.area_ha.copy(), measured.utm_epsg.copy()
    lon, lat = measured.centroid_lon, measured.centroid_lat
    issues = list(measured.issues)
    rejected = shapely.is_missing(out)

    def add(i: int, severity: str, message: str, fix: str) -> None:
        issues.append(PlotIssue(i, ids[i], "geometry", severity, message, fix))
        if severity == "error":
            rejected[i] = True

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
                issues.append(PlotIssue(None, None, "geometry", "error", *shift_message(shift, crs_name)))

    return _checked(out, area, lon, lat, epsg, issues, rejected, shift)


def check_plot_geometries(
    geoms: Sequence[BaseGeometry | None] | np.ndarray,
    crs: Any,
    plot_ids: Sequence[str | None] | None = None,
    *,
    source: str = "the file",
    existing_wgs84: np.ndarray | None = None,
    existing_ids: Sequence[str] | None = None,
    fraction_tolerance: float = OVERLAP_FRACTION_TOLERANCE,
    area_tolerance_m2: float = OVERLAP_AREA_TOLERANCE_M2,
    **measure: Any,
) -> PlotGeometryCheck:
    """Validate, repair and measure plot polygons, and check them as a set:
    :func:`measure_plot_geometries` then :func:`check_plot_overlaps`.

    Parameters
    ----------
    geoms, crs, plot_ids, source
        As :func:`measure_plot_geometries`.
    existing_wgs84, existing_ids, fraction_tolerance, area_tolerance_m2
        As :func:`check_plot_overlaps`.
    **measure
        The other settings of :func:`measure_plot_geometries` (area range, repair tolerance,
        region centre and distance).

    Returns
    -------
    PlotGeometryCheck
    """
    measured = measure_plot_geometries(geoms, crs, plot_ids, source=source, **measure)
    return check_plot_overlaps(
        measured,
        plot_ids,
        crs_name=check_crs(crs, source).name,
        existing_wgs84=existing_wgs84,
        existing_ids=existing_ids,
        fraction_tolerance=fraction_tolerance,
        area_tolerance_m2=area_tolerance_m2,
    )
