"""Plots + a STAC catalog -> per-plot Sentinel-2 time series, ``xarray.Dataset(plot, time)``.

Steps (each in its own module):

1. :func:`geodata.stac.search_items` finds the scenes over the plots' bounding box (at most
   ``max_items``; a search matching more stops the run with
   :class:`geodata.stac.TooManyItemsError`).
2. Scenes are grouped by tile grid (EPSG code + 10 m transform). Per tile, the plots are
   reprojected to the tile's UTM zone and their exact coverage weights are computed **once**
   (:func:`geodata.zonal.coverage_weights`) on the smallest 10 m window holding them.
3. Per scene (date), :func:`geodata.raster.read_pixels` decodes only the COG blocks holding the
   touched pixels, for every band and SCL (20 m bands nearest-upsampled to the 10 m grid), the
   SCL mask (:mod:`geodata.masks`) and per-pixel indices (:mod:`geodata.features`) are applied, and
   one sparse product per date gives all plot means (:func:`geodata.zonal.gathered_stats`).
4. Tiles x dates run in parallel with Dask (local threads by default, or a
   ``distributed.Client``).

Failures
--------
* A problem with one scene (missing band asset, unreachable or unreadable href, CRS mismatch, no
  SCL) skips that scene with a :class:`SceneSkippedWarning`; the run goes on, and
  ``attrs["skipped_scenes"]`` (JSON) counts the skipped scenes by reason for the run summary.
* If **no** scene gives data (every scene skipped, or none covers a plot), the run stops with an
  :class:`~geodata.errors.ImageryUnavailableError` that counts the reasons over all items (and
  the items the search left out, e.g. of another collection) instead of returning an empty series.
* Plots outside every used scene's footprint get all-NaN series and one
  :class:`PlotNotCoveredWarning` giving the footprints' and the plots' extents.
* Offset check: per scene, the share of clear pixels under the plots whose reflectance is below
  :data:`NEGATIVE_REFLECTANCE_TOLERANCE` (-0.005) in any loaded band. Surface reflectance is not
  negative and L2A noise over clear land is a few 0.001, so above
  :data:`NEGATIVE_REFLECTANCE_MAX_SHARE` (1 %) a :class:`~geodata.errors.ReflectanceOffsetWarning`
  says the scene's offset is likely wrong (typically the -0.1 ``BOA_ADD_OFFSET`` applied to DN of a
  baseline before 04.00, see :mod:`geodata.stac`). Both thresholds are service choices, not
  published values; the per-scene shares are in ``attrs["negative_reflectance_share"]``.

Definitions
-----------
* ``observed`` (plot, date): a scene covered the plot on that day, i.e. a used scene's footprint
  meets the plot **and** at least one of the plot's pixels holds data (not the nodata fill outside
  the swath) in every loaded band and SCL. Cloud does not matter here.
* ``valid_fraction``: the coverage-weighted fraction of the plot's area on a clear (SCL-kept)
  pixel holding data in every loaded band [1]; ``count`` is the same area in 10 m pixels
  (coverage-weighted). Both are 0 for an observed plot-date with no clear pixel (cloudy) and
  **NaN** for a plot-date not observed.
* ``usable``: observed and ``valid_fraction >= min_valid_fraction`` and ``count > 0``; plot-dates
  not usable keep their ``valid_fraction`` and ``count`` but get NaN means.
* When several scenes of one UTC day cover a plot (tile overlaps), the one with the largest clear
  area is used (the first observing one if none is clear); the ``time`` coordinate is the earliest
  acquisition time of that day.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
import shapely
import xarray as xr

from geodata.defaults import (
    DEFAULT_BANDS,
    DEFAULT_INDICES,
    DEFAULT_MAX_ITEMS,
    DEFAULT_MIN_VALID_FRACTION,
    NEGATIVE_REFLECTANCE_MAX_SHARE,
    NEGATIVE_REFLECTANCE_TOLERANCE,
)
from geodata.errors import (
    CRSError,
    ImageryUnavailableError,
    ImageryWarning,
    PlotGeometryError,
    RasterReadError,
    ReflectanceOffsetWarning,
)
from geodata.features import INDEX_ATTRS, INDEX_BANDS, compute_indices
from geodata.masks import MaskConfig, scl_valid_mask
from geodata.raster import grid_of, read_pixels
from geodata.sentinel2 import BAND_NAMES, SENTINEL2_L2A_COLLECTIONS
from geodata.stac import ParsedItem, SearchSummary, search_with_summary
from geodata.zonal import CoverageWeights, coverage_weights, gathered_stats
from models.errors import MRVError

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_INDICES",
    "DEFAULT_MAX_ITEMS",
    "NEGATIVE_REFLECTANCE_MAX_SHARE",
    "NEGATIVE_REFLECTANCE_TOLERANCE",
    "PlotNotCoveredWarning",
    "SceneSkippedWarning",
    "plot_time_series",
    "usable_plot_dates",
]

_REFERENCE_BANDS = ("red", "nir", "blue", "green")  # 10 m bands that define the tile grid


class SceneSkippedWarning(ImageryWarning):
    """A scene was left out (missing asset, unreachable href, CRS mismatch, no SCL)."""


class PlotNotCoveredWarning(ImageryWarning):
    """Some plots lie outside every used scene's footprint; their series are all NaN."""


@dataclass(frozen=True)
class _SceneResult:
    item_id: str
    day: np.datetime64
    when: np.datetime64
    plot_index: np.ndarray
    mean: np.ndarray | None = None  # (n_plots_sel, n_vars)
    count: np.ndarray | None = None
    valid_fraction: np.ndarray | None = None
    observed: np.ndarray | None = None  # bool per plot of plot_index: some pixel holds data
    problem: str | None = None  # per-scene warning text of a skipped scene
    reasons: tuple[tuple[str, str], ...] = ()  # (reason key, detail) of a skipped scene
    covers_plots: bool = True  # False: the scene (its tile) covers none of the plots
    negative: tuple[float, int, tuple[tuple[str, float], ...]] | None = None
    """(share of clear pixels with a negative band, clear pixels, per-band shares); None if no clear pixel."""


@dataclass(frozen=True)
class _TileGroup:
    key: tuple
    items: list[ParsedItem] = field(compare=False)


@dataclass(frozen=True)
class _TileSetup:
    grid: Any  # geodata.raster.Grid of the plots' window, None if not found
    plot_index: np.ndarray
    weights: CoverageWeights | None
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)
    """item id -> (reason key, message) of scenes whose grid could not be read."""
    covers: bool | None = None
    """False: no plot lies on the tile; True: a grid was found and plots touch it; None: unknown."""


def _validate_plots(plots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(plots, gpd.GeoDataFrame):
        raise PlotGeometryError(f"plots must be a geopandas.GeoDataFrame, got {type(plots).__name__}")
    if "plot_id" not in plots.columns:
        raise PlotGeometryError(f"plots have no 'plot_id' column (columns: {list(plots.columns)}); add one")
    if plots.crs is None:
        raise CRSError(
            "plots have no CRS; set it (e.g. plots.set_crs('EPSG:4326')) before extracting imagery"
        )
    dup = plots["plot_id"][plots["plot_id"].duplicated()]
    if len(dup):
        raise PlotGeometryError(f"plot_id values must be unique; duplicated: {list(dup.unique()[:5])}")
    return plots


def _group_items(items: Sequence[ParsedItem]) -> list[_TileGroup]:
    groups: dict[tuple, list[ParsedItem]] = {}
    for it in items:
        ref = next((it.assets[b] for b in _REFERENCE_BANDS if b in it.assets), None)
        if ref is not None and ref.transform is not None and it.epsg is not None:
            key = (it.epsg, ref.transform, ref.shape)
        else:
            key = ("item", it.id)
        groups.setdefault(key, []).append(it)
    return [_TileGroup(k, v) for k, v in groups.items()]


def _reason_of(exc: Exception) -> str:
    if isinstance(exc, RasterReadError):
        return "unreadable"
    if isinstance(exc, CRSError):
        return "crs"
    return "error"


def _tile_setup(
    group: _TileGroup, plots: gpd.GeoDataFrame, plots_4326: gpd.GeoSeries, needed: Sequence[str]
) -> _TileSetup:
    """Find the tile grid from the first readable scene, select plots, compute coverage weights."""
    problems: dict[str, tuple[str, str]] = {}
    none = np.zeros(0, np.int64)
    footprint = shapely.union_all([it.geometry for it in group.items])
    sel = np.flatnonzero(shapely.intersects(plots_4326.values, footprint))
    if len(sel) == 0:
        return _TileSetup(None, none, None, problems, covers=False)
    for it in group.items:
        ref_key = next((b for b in _REFERENCE_BANDS if b in it.assets and b in needed), None)
        ref_key = ref_key or next((b for b in needed if b in it.assets), None)
        if ref_key is None:
            continue  # reported per scene
        try:
            grid = grid_of(it.assets[ref_key])
        except MRVError as exc:
            problems[it.id] = (_reason_of(exc), str(exc))
            continue
        if grid.epsg is None:
            problems[it.id] = ("crs", f"raster {it.assets[ref_key].href!r} has a CRS without an EPSG code")
            continue
        geoms = plots.geometry.iloc[sel].to_crs(epsg=grid.epsg).values
        b = shapely.bounds(geoms)
        sub = grid.subgrid((np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])))
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            return _TileSetup(None, none, None, problems, covers=False)  # plots beside the raster
        w = coverage_weights(geoms, sub.transform, sub.shape)
        touched = w.covered_pixels > 0
        if not touched.any():
            return _TileSetup(None, none, None, problems, covers=False)
        return _TileSetup(sub, sel[touched], _subset_weights(w, touched), problems, covers=True)
    return _TileSetup(None, none, None, problems, covers=None)


def _subset_weights(w: CoverageWeights, rows: np.ndarray) -> CoverageWeights:
    if rows.all():
        return w
    m = w.matrix[np.flatnonzero(rows)]
    used = np.flatnonzero(np.asarray((m != 0).sum(axis=0)).ravel())
    return CoverageWeights(m[:, used].tocsr(), w.pixels[used], w.shape, w.transform, w.plot_pixels[rows])


def _negative_reflectance(values: dict[str, np.ndarray], clear: np.ndarray):
    """(share of clear pixels with any band < tolerance, clear pixels, per-band shares) or None."""
    n_clear = int(clear.sum())
    if n_clear == 0 or not values:
        return None
    any_neg = np.zeros(n_clear, bool)
    per_band = []
    for b, v in values.items():
        neg = v[clear] < NEGATIVE_REFLECTANCE_TOLERANCE
        any_neg |= neg
        per_band.append((b, float(neg.mean())))
    return float(any_neg.mean()), n_clear, tuple(per_band)


def _scene_stats(
    item: ParsedItem,
    setup: _TileSetup,
    bands: Sequence[str],
    indices: Sequence[str],
    mask: MaskConfig,
    require_scl: bool,
) -> _SceneResult:
    when = np.datetime64(item.datetime.astimezone(dt.UTC).replace(tzinfo=None), "ns")
    day = when.astype("datetime64[D]").astype("datetime64[ns]")
    none = np.zeros(0, np.int64)
    if setup.covers is False:
        return _SceneResult(item.id, day, when, none, covers_plots=False)
    needed = list(dict.fromkeys(list(bands) + [b for i in indices for b in INDEX_BANDS[i]]))
    keys = list(item.raw_asset_keys)
    messages: list[str] = []
    reasons: list[tuple[str, str]] = []
    missing = [b for b in needed if b not in item.assets]
    if missing:
        messages.append(
            f"scene {item.id!r} has no asset for band(s) {missing} (asset keys: {keys}); "
            "choose bands the catalog holds or fix the item"
        )
        reasons += [(f"band:{b}", str(keys)) for b in missing]
    if "scl" not in item.assets and require_scl:
        messages.append(
            f"scene {item.id!r} has no SCL asset (asset keys: {keys}), so clouds cannot be "
            "masked; pass require_scl=False to use it unmasked"
        )
        reasons.append(("no_scl", str(keys)))
    if item.id in setup.problems:
        reason, msg = setup.problems[item.id]
        messages.append(f"scene {item.id!r} skipped: {msg}")
        reasons.append((reason, msg))
    if not reasons and (setup.grid is None or setup.weights is None):
        msg = "no scene of its tile grid could be read"
        messages.append(f"scene {item.id!r} skipped: {msg}")
        reasons.append(("error", msg))
    if reasons:
        return _SceneResult(
            item.id, day, when, setup.plot_index, problem="; ".join(messages), reasons=tuple(reasons)
        )
    grid, plot_index, weights = setup.grid, setup.plot_index, setup.weights
    rows, cols = np.divmod(weights.pixels, grid.shape[1])
    try:
        values = {b: read_pixels(item.assets[b], grid, rows, cols) for b in needed}
        scl = read_pixels(item.assets["scl"], grid, rows, cols) if "scl" in item.assets else None
    except MRVError as exc:
        return _SceneResult(
            item.id,
            day,
            when,
            plot_index,
            problem=f"scene {item.id!r}: {exc}",
            reasons=((_reason_of(exc), str(exc)),),
        )
    has_data = np.ones(rows.shape, bool)
    for v in values.values():
        has_data &= np.isfinite(v)
    ok = has_data.copy()
    if scl is not None:
        has_data &= np.isfinite(scl)
        ok &= scl_valid_mask(np.nan_to_num(scl, nan=0).astype(np.int64), mask)
    idx = compute_indices(values, tuple(indices))
    stack = np.stack([values[b] for b in bands] + [idx[i] for i in indices]) if (bands or indices) else None
    if stack is None:
        stack = np.zeros((0, rows.size))
    stats = gathered_stats(weights, stack, ok[None, :])
    common = gathered_stats(weights, ok.astype(np.float64), ok)
    data = gathered_stats(weights, has_data.astype(np.float64), has_data)
    return _SceneResult(
        item.id,
        day,
        when,
        plot_index,
        stats.mean,
        common.count[:, 0],
        common.valid_fraction[:, 0],
        data.count[:, 0] > 0,
        negative=_negative_reflectance(values, ok),
    )


def _report_progress(progress, total: int) -> None:
    """Advance ``progress`` by one scene (tqdm ``update`` protocol); set its ``total`` if unset."""
    if progress is None:
        return
    owner = getattr(progress, "__self__", progress)
    if getattr(owner, "total", 0) is None:
        try:
            owner.total = total
        except AttributeError:
            pass
    if hasattr(progress, "update"):
        progress.update(1)
    else:
        progress(1)


def _extent(geoms) -> str:
    """``lon a..b, lat c..d`` of EPSG:4326 geometries [degree]."""
    b = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return f"lon {b[0]:.4f}..{b[2]:.4f}, lat {b[1]:.4f}..{b[3]:.4f}"


_REASON_ORDER = {"no_scl": 1, "unreadable": 2, "crs": 3, "error": 4}


def _skip_summary(skipped: Sequence[_SceneResult]) -> tuple[dict[str, int], list[str]]:
    """Counts of skipped scenes by reason key, and the reasons in words (aggregated over items)."""
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for r in skipped:
        for key, detail in dict(r.reasons).items():  # one count per item and reason
            counts[key] += 1
            first.setdefault(key, detail)
    phrases = []
    for key in sorted(counts, key=lambda k: (_REASON_ORDER.get(k, 0), k)):
        n = counts[key]
        items = f"{n} item{'s' if n != 1 else ''}"
        if key.startswith("band:"):
            phrases.append(f"band {key[5:]!r} missing in {items} (asset keys: {first[key]})")
        elif key == "no_scl":
            phrases.append(f"no SCL asset in {items} (asset keys: {first[key]})")
        elif key == "unreadable":
            phrases.append(f"{items} with unreachable or unreadable hrefs (first: {first[key]})")
        elif key == "crs":
            phrases.append(f"{items} with a CRS problem (first: {first[key]})")
        else:
            phrases.append(f"{items} failed (first: {first[key]})")
    keys = {k.replace("band:", "missing_band:"): n for k, n in counts.items()}
    return dict(sorted(keys.items())), phrases


def _fixes(counts: dict[str, int]) -> str:
    fixes = []
    if any(k.startswith("missing_band:") for k in counts):
        fixes.append("choose bands the catalog holds (bands=, indices=) or fix the items")
    if "no_scl" in counts:
        fixes.append("pass require_scl=False to use scenes without SCL unmasked")
    if "unreadable" in counts:
        fixes.append("check the hrefs, the network and URL signing (modifier=)")
    if "crs" in counts:
        fixes.append("fix the items' proj:epsg/proj:code or the files")
    return "; ".join(fixes) if fixes else "check the catalog"


def _nothing_usable_error(
    items: Sequence[ParsedItem],
    results: Sequence[_SceneResult],
    summary: SearchSummary,
    plots_4326: gpd.GeoSeries,
) -> ImageryUnavailableError:
    skipped = [r for r in results if r.problem]
    n = len(results)
    counts, phrases = _skip_summary(skipped)
    no_plot = n - len(skipped)
    extents = (
        f"footprints {_extent([it.geometry for it in items])}; plots {_extent(plots_4326.values)} (EPSG:4326)"
    )
    if len(skipped) == n:
        head = (f"all {n} scenes were skipped: " if n > 1 else "the only scene was skipped: ") + "; ".join(
            phrases
        )
    elif not skipped:
        head = f"none of the {n} scene(s) found covers any plot ({extents})"
    else:
        head = (
            f"no scene gave data for the plots: {len(skipped)} of {n} scenes were skipped: "
            + "; ".join(phrases)
            + f"; the other {no_plot} cover none of the plots ({extents})"
        )
    dropped = summary.explain()
    if dropped:
        head += f"; the search also left out {dropped}"
    fix = _fixes(counts) if skipped else "check the plots' location and CRS, or widen the search"
    return ImageryUnavailableError(f"{head} (source {summary.source!r}). To fix: {fix}")


def plot_time_series(
    catalog_or_url: str | Path,
    plots: gpd.GeoDataFrame,
    *,
    datetime: Any = None,
    max_cloud_cover: float | None = None,
    min_valid_fraction: float = DEFAULT_MIN_VALID_FRACTION,
    bands: Sequence[str] = DEFAULT_BANDS,
    indices: Sequence[str] = DEFAULT_INDICES,
    collections: Sequence[str] | None = SENTINEL2_L2A_COLLECTIONS[:1],
    mask: MaskConfig | None = None,
    require_scl: bool = True,
    modifier: Callable[[Any], Any] | None = None,
    max_items: int | None = DEFAULT_MAX_ITEMS,
    headers: Mapping[str, str] | None = None,
    dask_client: Any = None,
    scheduler: str = "threads",
    progress: Any = None,
) -> xr.Dataset:
    """Per-plot, per-date coverage-weighted Sentinel-2 statistics.

    Parameters
    ----------
    catalog_or_url : str or pathlib.Path
        Local static STAC catalog (``catalog.json`` or its folder) or a STAC API URL.
    plots : geopandas.GeoDataFrame
        ``plot_id`` and polygon ``geometry``, any CRS.
    datetime : str, datetime or pair, optional
        Acquisition time filter (:func:`geodata.stac.parse_datetime_range`).
    max_cloud_cover : float, optional
        Scene-level ``eo:cloud_cover`` limit [%].
    min_valid_fraction : float, default 0.8
        Minimum clear fraction of a plot [1] for a usable plot-date.
    bands : sequence of str
        Reflectance bands to report (Earth Search v1 keys).
    indices : sequence of str
        Indices to report (``ndvi``, ``ndti``, ``bsi``), means of per-pixel indices.
    collections : sequence of str or None
        STAC collections to search (None: all); default ``("sentinel-2-l2a",)``.
    mask : MaskConfig, optional
        SCL classes to keep (default 4 and 5).
    require_scl : bool, default True
        Skip (with a warning) scenes without an SCL asset; if False, use them unmasked.
    modifier : callable, optional
        STAC item modifier, e.g. a Planetary Computer URL signer.
    max_items : int or None, default 2000
        Largest number of scenes the search may match [1] (counted after all filters, see
        :mod:`geodata.stac`); more stops the run with :class:`geodata.stac.TooManyItemsError`.
        None: no limit.
    headers : mapping, optional
        HTTP headers for a STAC API search (e.g. an API key from the environment).
    dask_client : distributed.Client, optional
        Run on this cluster; otherwise the local ``scheduler`` is used.
    scheduler : str, default "threads"
        Local Dask scheduler (``"threads"``, ``"sync"``, ``"processes"``).
    progress : callable or tqdm-like, optional
        Advanced by one per finished scene: ``progress(1)`` for a callable such as a tqdm bar's
        ``update`` method, ``progress.update(1)`` for a tqdm bar; a bar without ``total`` gets
        the number of scenes.

    Returns
    -------
    xarray.Dataset
        Dimensions ``(plot, time)``; coordinates ``plot`` (plot ids), ``time``, ``lon``/``lat``
        (plot centroids, EPSG:4326 [degree]). Variables: each band (reflectance [1]), each index
        [1], ``observed`` (bool), ``valid_fraction`` [1] and ``count`` (clear pixels,
        coverage-weighted [1]; both NaN where not observed), ``usable`` (bool) and ``item_id``
        (module Definitions). ``attrs``: ``usable_plot_dates``, ``observed_plot_dates``,
        ``n_scenes`` (scenes used), ``n_scenes_found``, ``skipped_scenes`` (JSON: ``n_skipped``,
        ``by_reason`` counts, ``summary`` in words) and ``negative_reflectance_share`` (JSON:
        item id -> share of clear pixels below the tolerance, scenes with a nonzero share only),
        ``items`` (JSON: id, collection, datetime and the hrefs of the assets read, per item found).

    Raises
    ------
    ImageryUnavailableError
        If the search finds no scene (the message says which items it left out and why), or no
        scene gives data for any plot (every scene skipped, or none covers a plot; the message
        counts the reasons over all items).
    geodata.stac.TooManyItemsError
        If the search matches more than ``max_items`` scenes.
    CRSError, PlotGeometryError
        If the plots have no CRS, no ``plot_id`` or duplicate ids.

    Warns
    -----
    SceneSkippedWarning
        Per skipped scene, when other scenes give data.
    PlotNotCoveredWarning
        Once, for plots outside every used scene's footprint.
    geodata.errors.ReflectanceOffsetWarning
        Per scene whose clear pixels are too often negative, and once for items whose offset
        could not be determined (:mod:`geodata.stac`).
    """
    plots = _validate_plots(plots)
    bands = tuple(bands)
    indices = tuple(indices)
    for i in indices:
        if i not in INDEX_BANDS:
            raise KeyError(f"unknown index {i!r}; choose from {sorted(INDEX_BANDS)}")
    mask = mask or MaskConfig()
    if not 0.0 <= min_valid_fraction <= 1.0:
        raise ValueError(f"min_valid_fraction={min_valid_fraction!r} must be within [0, 1]")
    plots_4326 = plots.geometry.to_crs(4326)
    bbox = tuple(float(v) for v in plots_4326.total_bounds)
    items, summary = search_with_summary(
        catalog_or_url,
        collections=collections,
        bbox=bbox,
        datetime=datetime,
        max_cloud_cover=max_cloud_cover,
        modifier=modifier,
        max_items=max_items,
        headers=headers,
    )
    if not items:
        why = summary.explain()
        if why:
            why = f"the search read {summary.read} item(s) and left out {why}"
        else:
            why = "the source returned no item for these filters"
        other = sorted(summary.other_collections)
        fix = (
            f"pass collections={other!r} if they hold Sentinel-2 L2A, or widen the filters"
            if other
            else "widen the filters (dates, cloud limit) or check the plots' location"
        )
        raise ImageryUnavailableError(
            f"no scene in {str(catalog_or_url)!r} for {summary.filters} (the plots' bbox): {why}; {fix}"
        )
    needed = list(dict.fromkeys(list(bands) + [b for i in indices for b in INDEX_BANDS[i]]))
    groups = _group_items(items)
    tasks = []
    setups = []
    for gi, g in enumerate(groups):
        setup = dask.delayed(_tile_setup, pure=False)(
            g, plots, plots_4326, needed, dask_key_name=f"tile-setup-{gi}"
        )
        setups.append(setup)
        for ii, it in enumerate(g.items):
            tasks.append(
                dask.delayed(_scene_stats, pure=False)(
                    it, setup, bands, indices, mask, require_scl, dask_key_name=f"scene-stats-{gi}-{ii}"
                )
            )
    total = len(tasks)
    if dask_client is not None:
        from distributed import as_completed

        futures = dask_client.compute(tasks)
        for _ in as_completed(futures):
            _report_progress(progress, total)
        results: list[_SceneResult] = list(dask_client.gather(futures))
    else:
        from dask.callbacks import Callback

        def _post(key, result, dsk, state, worker_id):
            name = key if isinstance(key, str) else str(key)
            if name.startswith("scene-stats-"):
                _report_progress(progress, total)

        with Callback(posttask=_post):
            results = list(dask.compute(*tasks, scheduler=scheduler))

    if not any(r.problem is None and r.covers_plots and len(r.plot_index) for r in results):
        raise _nothing_usable_error(items, results, summary, plots_4326)
    for r in results:
        if r.problem:
            warnings.warn(SceneSkippedWarning(r.problem), stacklevel=2)
    by_id = {it.id: it for it in items}
    for r in results:
        if r.problem is None and r.negative is not None and r.negative[0] > NEGATIVE_REFLECTANCE_MAX_SHARE:
            share, n_clear, per_band = r.negative
            band, worst = max(per_band, key=lambda bw: bw[1])
            asset = by_id[r.item_id].assets[band]
            warnings.warn(
                ReflectanceOffsetWarning(
                    f"scene {r.item_id!r}: {100 * share:.1f} % of its {n_clear} clear pixels under the plots "
                    f"have a reflectance below {NEGATIVE_REFLECTANCE_TOLERANCE} (band {band!r}: "
                    f"{100 * worst:.1f} %); its offset ({asset.offset:g}, from {asset.offset_source}) is "
                    "likely wrong, probably applied to data that did not need it (DN of processing "
                    "baselines before 04.00 carry no BOA_ADD_OFFSET); fix the item's raster:bands offset "
                    "or s2:processing_baseline"
                ),
                stacklevel=2,
            )
    ds = _assemble(
        plots, plots_4326, results, bands, indices, mask, min_valid_fraction, catalog_or_url, by_id
    )
    ds.attrs["items"] = json.dumps(
        [
            {
                "id": it.id,
                "collection": it.collection,
                "datetime": it.datetime.isoformat(),
                "assets": {k: a.href for k, a in sorted(it.assets.items()) if k in needed or k == "scl"},
            }
            for it in items
        ]
    )
    return ds


def _assemble(
    plots, plots_4326, results, bands, indices, mask, min_valid_fraction, source, by_id
) -> xr.Dataset:
    n = len(plots)
    good = [
        r
        for r in results
        if r.problem is None and r.covers_plots and r.mean is not None and len(r.plot_index)
    ]
    skipped = [r for r in results if r.problem]
    days = sorted({r.day for r in good})
    day_pos = {d: k for k, d in enumerate(days)}
    nt = len(days)
    names = list(bands) + list(indices)
    mean = np.full((len(names), n, nt), np.nan)
    count = np.zeros((n, nt))
    vfrac = np.zeros((n, nt))
    observed = np.zeros((n, nt), bool)
    item_id = np.full((n, nt), "", dtype=object)
    first_time = {d: min(r.when for r in good if r.day == d) for d in days}
    covered = np.zeros(n, bool)
    for r in good:
        t = day_pos[r.day]
        pi = r.plot_index
        covered[pi] = True
        # keep the scene with most clear area per plot-day (the first observing one if none is clear)
        better = r.observed & ((r.count > count[pi, t]) | ~observed[pi, t])
        rows = pi[better]
        mean[:, rows, t] = r.mean[better].T
        count[rows, t] = r.count[better]
        vfrac[rows, t] = r.valid_fraction[better]
        item_id[rows, t] = r.item_id
        observed[pi[r.observed], t] = True
    not_covered = plots["plot_id"].to_numpy()[~covered]
    if len(not_covered):
        used = {r.item_id for r in good}
        warnings.warn(
            PlotNotCoveredWarning(
                f"{len(not_covered)} plot(s) lie outside every scene footprint, their series are NaN: "
                f"{list(not_covered[:10])}{' ...' if len(not_covered) > 10 else ''}. The footprints of the "
                f"{len(used)} scene(s) used span {_extent([by_id[i].geometry for i in sorted(used)])}; these "
                f"plots span {_extent(plots_4326.values[~covered])} (EPSG:4326). Widen the search (dates, "
                "collections) or check the plots' location (and their CRS if the extents are far apart)"
            ),
            stacklevel=3,
        )
    usable = observed & (vfrac >= min_valid_fraction) & (count > 0)
    mean = np.where(usable[None], mean, np.nan)
    vfrac = np.where(observed, vfrac, np.nan)
    count = np.where(observed, count, np.nan)
    utm = plots.geometry.to_crs(plots.geometry.estimate_utm_crs()) if n else plots.geometry
    centroids = utm.centroid.to_crs(4326) if n else plots_4326
    coords = {
        "plot": ("plot", plots["plot_id"].to_numpy()),
        "time": ("time", np.array([first_time[d] for d in days], dtype="datetime64[ns]")),
        "lon": ("plot", centroids.x.to_numpy(), {"units": "degrees_east", "standard_name": "longitude"}),
        "lat": ("plot", centroids.y.to_numpy(), {"units": "degrees_north", "standard_name": "latitude"}),
    }
    data_vars = {}
    for k, name in enumerate(names):
        if name in INDEX_ATTRS:
            attrs = dict(INDEX_ATTRS[name])
            attrs["cell_methods"] = "area: mean of per-pixel index (coverage-weighted, clear pixels)"
        else:
            attrs = {
                "units": "1",
                "long_name": f"surface reflectance {BAND_NAMES.get(name, name)} ({name})",
                "cell_methods": "area: mean (coverage-weighted, clear pixels)",
            }
        data_vars[name] = (("plot", "time"), mean[k], attrs)
    data_vars["observed"] = (
        ("plot", "time"),
        observed,
        {
            "units": "1",
            "long_name": "a scene covered the plot on that day",
            "comment": "a used scene's footprint meets the plot and some of its pixels hold data, clear or not",
        },
    )
    data_vars["valid_fraction"] = (
        ("plot", "time"),
        vfrac,
        {
            "units": "1",
            "long_name": "coverage-weighted fraction of the plot area with clear data",
            "comment": "0: observed but no clear pixel (cloudy); NaN: not observed",
        },
    )
    data_vars["count"] = (
        ("plot", "time"),
        count,
        {
            "units": "1",
            "long_name": "sum of coverage fractions of clear 10 m pixels (exactextract 'count')",
            "comment": "0: observed but no clear pixel (cloudy); NaN: not observed",
        },
    )
    data_vars["usable"] = (
        ("plot", "time"),
        usable,
        {"units": "1", "long_name": f"observed, valid_fraction >= {min_valid_fraction} and count > 0"},
    )
    data_vars["item_id"] = (
        ("plot", "time"),
        item_id.astype(str),
        {"units": "1", "long_name": "STAC item the plot-date value comes from ('' if not observed)"},
    )
    ds = xr.Dataset(data_vars, coords=coords)
    ds["time"].attrs["long_name"] = "earliest acquisition time of the UTC day"
    counts, phrases = _skip_summary(skipped)
    negative = {
        r.item_id: round(r.negative[0], 6) for r in good if r.negative is not None and r.negative[0] > 0
    }
    ds.attrs.update(
        {
            "usable_plot_dates": int(usable.sum()),
            "observed_plot_dates": int(observed.sum()),
            "min_valid_fraction": float(min_valid_fraction),
            "scl_keep_classes": list(mask.keep_classes),
            "source": str(source),
            "n_scenes": len(good),
            "n_scenes_found": len(results),
            "skipped_scenes": json.dumps(
                {"n_skipped": len(skipped), "by_reason": counts, "summary": "; ".join(phrases)},
                sort_keys=True,
            ),
            "negative_reflectance_share": json.dumps(dict(sorted(negative.items()))),
            "negative_reflectance_tolerance": NEGATIVE_REFLECTANCE_TOLERANCE,
            "negative_reflectance_max_share": NEGATIVE_REFLECTANCE_MAX_SHARE,
            "index_definition": "coverage-weighted mean over clear pixels of the per-pixel index",
            "resampling_20m": "nearest neighbour by pixel centre onto the 10 m grid",
            "attribution": "Contains modified Copernicus Sentinel data",
        }
    )
    return ds


def usable_plot_dates(ds: xr.Dataset) -> int:
    """Number of usable plot-dates in a :func:`plot_time_series` result."""
    return int(ds["usable"].sum())
