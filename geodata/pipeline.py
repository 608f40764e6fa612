"""Plots + a STAC catalog -> per-plot Sentinel-2 time series, ``xarray.Dataset(plot, time)``.

Steps (each in its own module):

1. :func:`geodata.stac.search_items` finds the scenes over the plots' bounding box.
2. Scenes are grouped by tile grid (EPSG code + 10 m transform). Per tile, the plots are
   reprojected to the tile's UTM zone and their exact coverage weights are computed **once**
   (:func:`geodata.zonal.coverage_weights`) on the smallest 10 m window holding them.
3. Per scene (date), :func:`geodata.raster.read_pixels` decodes only the COG blocks holding the
   touched pixels, for every band and SCL (20 m bands nearest-upsampled to the 10 m grid), the
   SCL mask (:mod:`geodata.masks`) and per-pixel indices (:mod:`geodata.features`) are applied, and
   one sparse product per date gives all plot means (:func:`geodata.zonal.gathered_stats`).
4. Tiles x dates run in parallel with Dask (local threads by default, or a
   ``distributed.Client``). Problems with one scene (missing asset, unreachable href, CRS
   mismatch, no SCL) skip that scene with a :class:`SceneSkippedWarning`; plots outside every
   scene get NaN and a :class:`PlotNotCoveredWarning`. The run goes on.

Definitions: a plot-date's ``valid_fraction`` is the coverage-weighted fraction of the plot's
area with a clear (SCL-kept) pixel holding data in every loaded band; dates with
``valid_fraction < min_valid_fraction`` keep their ``valid_fraction`` and ``count`` but get NaN
means and ``usable = False``. When several scenes of one UTC day cover a plot (tile overlaps), the
one with the largest clear area is used; the ``time`` coordinate is the earliest acquisition time
of that day.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
import shapely
import xarray as xr

from geodata.errors import CRSError, ImageryUnavailableError, ImageryWarning, PlotGeometryError
from geodata.features import INDEX_ATTRS, INDEX_BANDS, compute_indices
from geodata.masks import MaskConfig, scl_valid_mask
from geodata.raster import grid_of, read_pixels
from geodata.stac import ParsedItem, search_items
from geodata.zonal import CoverageWeights, coverage_weights, gathered_stats
from models.errors import MRVError

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_INDICES",
    "PlotNotCoveredWarning",
    "SceneSkippedWarning",
    "plot_time_series",
    "usable_plot_dates",
]

DEFAULT_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")
"""Reflectance bands reported by default (Earth Search v1 keys: B02, B03, B04, B08, B11, B12)."""
DEFAULT_INDICES: tuple[str, ...] = ("ndvi", "ndti", "bsi")
"""Indices reported by default (:mod:`geodata.features`)."""
DEFAULT_MIN_VALID_FRACTION = 0.8
"""Default minimum clear fraction of a plot for a usable date [1]: a project choice (not from a
published source) so that a plot mean is dominated by clear pixels; configurable."""
_REFERENCE_BANDS = ("red", "nir", "blue", "green")  # 10 m bands that define the tile grid

_BAND_NAMES = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "swir16": "B11",
    "swir22": "B12",
}


class SceneSkippedWarning(ImageryWarning):
    """A scene was left out (missing asset, unreachable href, CRS mismatch, no SCL)."""


class PlotNotCoveredWarning(ImageryWarning):
    """Some plots lie outside every scene found; their series are all NaN."""


@dataclass(frozen=True)
class _SceneResult:
    item_id: str
    day: np.datetime64
    when: np.datetime64
    plot_index: np.ndarray
    mean: np.ndarray | None  # (n_plots_sel, n_vars)
    count: np.ndarray | None
    valid_fraction: np.ndarray | None
    problem: str | None = None


@dataclass(frozen=True)
class _TileGroup:
    key: tuple
    items: list[ParsedItem] = field(compare=False)


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


def _tile_setup(group: _TileGroup, plots: gpd.GeoDataFrame, plots_4326: gpd.GeoSeries, needed: Sequence[str]):
    """Find the tile grid from the first readable scene, select plots, compute coverage weights.

    Returns ``(grid, plot_index, weights, problems)``; ``grid`` is None if no scene is usable.
    """
    problems: list[tuple[str, str]] = []
    footprint = shapely.union_all([it.geometry for it in group.items])
    sel = np.flatnonzero(shapely.intersects(plots_4326.values, footprint))
    if len(sel) == 0:
        return None, sel, None, problems
    for it in group.items:
        ref_key = next((b for b in _REFERENCE_BANDS if b in it.assets and b in needed), None)
        ref_key = ref_key or next((b for b in needed if b in it.assets), None)
        if ref_key is None:
            continue  # reported per scene
        try:
            grid = grid_of(it.assets[ref_key])
        except MRVError as exc:
            problems.append((it.id, str(exc)))
            continue
        if grid.epsg is None:
            problems.append((it.id, f"raster {it.assets[ref_key].href!r} has a CRS without an EPSG code"))
            continue
        geoms = plots.geometry.iloc[sel].to_crs(epsg=grid.epsg).values
        b = shapely.bounds(geoms)
        sub = grid.subgrid((np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])))
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            return None, np.zeros(0, np.int64), None, problems
        w = coverage_weights(geoms, sub.transform, sub.shape)
        touched = w.covered_pixels > 0
        return sub, sel[touched], _subset_weights(w, touched), problems
    return None, np.zeros(0, np.int64), None, problems


def _subset_weights(w: CoverageWeights, rows: np.ndarray) -> CoverageWeights:
    if rows.all():
        return w
    m = w.matrix[np.flatnonzero(rows)]
    used = np.flatnonzero(np.asarray((m != 0).sum(axis=0)).ravel())
    return CoverageWeights(m[:, used].tocsr(), w.pixels[used], w.shape, w.transform, w.plot_pixels[rows])


def _scene_stats(
    item: ParsedItem,
    setup,
    bands: Sequence[str],
    indices: Sequence[str],
    mask: MaskConfig,
    require_scl: bool,
) -> _SceneResult:
    grid, plot_index, weights, _ = setup
    when = np.datetime64(item.datetime.astimezone(dt.UTC).replace(tzinfo=None), "ns")
    day = when.astype("datetime64[D]").astype("datetime64[ns]")

    def fail(msg: str) -> _SceneResult:
        return _SceneResult(item.id, day, when, plot_index, None, None, None, msg)

    if grid is None or weights is None or len(plot_index) == 0:
        return _SceneResult(item.id, day, when, np.zeros(0, np.int64), None, None, None, None)
    needed = list(dict.fromkeys(list(bands) + [b for i in indices for b in INDEX_BANDS[i]]))
    missing = [b for b in needed if b not in item.assets]
    if missing:
        return fail(
            f"scene {item.id!r} has no asset for band(s) {missing} (asset keys: {list(item.raw_asset_keys)}); "
            "choose bands the catalog holds or fix the item"
        )
    if "scl" not in item.assets and require_scl:
        return fail(
            f"scene {item.id!r} has no SCL asset (asset keys: {list(item.raw_asset_keys)}), so clouds cannot be "
            "masked; pass require_scl=False to use it unmasked"
        )
    rows, cols = np.divmod(weights.pixels, grid.shape[1])
    try:
        values = {b: read_pixels(item.assets[b], grid, rows, cols) for b in needed}
        scl = read_pixels(item.assets["scl"], grid, rows, cols) if "scl" in item.assets else None
    except MRVError as exc:
        return fail(f"scene {item.id!r}: {exc}")
    ok = np.ones(rows.shape, bool)
    for v in values.values():
        ok &= np.isfinite(v)
    if scl is not None:
        ok &= scl_valid_mask(np.nan_to_num(scl, nan=0).astype(np.int64), mask)
    idx = compute_indices(values, tuple(indices))
    stack = np.stack([values[b] for b in bands] + [idx[i] for i in indices]) if (bands or indices) else None
    if stack is None:
        stack = np.zeros((0, rows.size))
    stats = gathered_stats(weights, stack, ok[None, :])
    common = gathered_stats(weights, ok.astype(np.float64), ok)
    return _SceneResult(
        item.id, day, when, plot_index, stats.mean, common.count[:, 0], common.valid_fraction[:, 0], None
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


def plot_time_series(
    catalog_or_url: str | Path,
    plots: gpd.GeoDataFrame,
    *,
    datetime: Any = None,
    max_cloud_cover: float | None = None,
    min_valid_fraction: float = DEFAULT_MIN_VALID_FRACTION,
    bands: Sequence[str] = DEFAULT_BANDS,
    indices: Sequence[str] = DEFAULT_INDICES,
    collections: Sequence[str] | None = ("sentinel-2-l2a",),
    mask: MaskConfig | None = None,
    require_scl: bool = True,
    modifier: Callable[[Any], Any] | None = None,
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
        STAC collections to search (None: all).
    mask : MaskConfig, optional
        SCL classes to keep (default 4 and 5).
    require_scl : bool, default True
        Skip (with a warning) scenes without an SCL asset; if False, use them unmasked.
    modifier : callable, optional
        STAC item modifier, e.g. a Planetary Computer URL signer.
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
        [1], ``valid_fraction`` [1], ``count`` (clear pixels, coverage-weighted [1]),
        ``usable`` (bool) and ``item_id``. ``attrs["usable_plot_dates"]`` counts usable plot-dates.

    Raises
    ------
    ImageryUnavailableError
        If the search finds no scene at all.
    CRSError, PlotGeometryError
        If the plots have no CRS, no ``plot_id`` or duplicate ids.
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
    items = search_items(
        catalog_or_url,
        collections=collections,
        bbox=bbox,
        datetime=datetime,
        max_cloud_cover=max_cloud_cover,
        modifier=modifier,
    )
    if not items:
        raise ImageryUnavailableError(
            f"no scene in {str(catalog_or_url)!r} for collections={collections!r}, bbox={bbox}, "
            f"datetime={datetime!r}, max_cloud_cover={max_cloud_cover!r}; widen the filters"
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

        futures = dask_client.compute(setups + tasks)
        for _ in as_completed(futures[len(setups) :]):
            _report_progress(progress, total)
        computed = dask_client.gather(futures)
    else:
        from dask.callbacks import Callback

        def _post(key, result, dsk, state, worker_id):
            name = key if isinstance(key, str) else str(key)
            if name.startswith("scene-stats-"):
                _report_progress(progress, total)

        with Callback(posttask=_post):
            computed = dask.compute(*(setups + tasks), scheduler=scheduler)
    setup_results = computed[: len(setups)]
    results: list[_SceneResult] = list(computed[len(setups) :])

    reported = set()
    for r in results:
        if r.problem:
            reported.add(r.item_id)
            warnings.warn(SceneSkippedWarning(r.problem), stacklevel=2)
    for _, _, _, probs in setup_results:
        for item_id, msg in probs:
            if item_id not in reported:  # the scene's own task usually reports the same problem
                reported.add(item_id)
                warnings.warn(SceneSkippedWarning(f"scene {item_id!r} skipped: {msg}"), stacklevel=2)
    return _assemble(plots, plots_4326, results, bands, indices, mask, min_valid_fraction, catalog_or_url)


def _assemble(plots, plots_4326, results, bands, indices, mask, min_valid_fraction, source) -> xr.Dataset:
    n = len(plots)
    good = [r for r in results if r.problem is None and r.mean is not None and len(r.plot_index)]
    days = sorted({r.day for r in good})
    day_pos = {d: k for k, d in enumerate(days)}
    nt = len(days)
    names = list(bands) + list(indices)
    mean = np.full((len(names), n, nt), np.nan)
    count = np.zeros((n, nt))
    vfrac = np.zeros((n, nt))
    item_id = np.full((n, nt), "", dtype=object)
    first_time = {d: min(r.when for r in good if r.day == d) for d in days}
    covered = np.zeros(n, bool)
    for r in good:
        t = day_pos[r.day]
        pi = r.plot_index
        covered[pi] = True
        better = r.count > count[pi, t]  # keep the scene with most clear area per plot-day
        rows = pi[better]
        mean[:, rows, t] = r.mean[better].T
        count[rows, t] = r.count[better]
        vfrac[rows, t] = r.valid_fraction[better]
        item_id[rows, t] = r.item_id
    not_covered = plots["plot_id"].to_numpy()[~covered]
    if len(not_covered):
        warnings.warn(
            PlotNotCoveredWarning(
                f"{len(not_covered)} plot(s) lie outside every scene found, their series are NaN: "
                f"{list(not_covered[:10])}{' ...' if len(not_covered) > 10 else ''}; check their CRS and location "
                "or widen the search"
            ),
            stacklevel=3,
        )
    usable = vfrac >= min_valid_fraction
    usable &= count > 0
    mean = np.where(usable[None], mean, np.nan)
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
                "long_name": f"surface reflectance {_BAND_NAMES.get(name, name)} ({name})",
                "cell_methods": "area: mean (coverage-weighted, clear pixels)",
            }
        data_vars[name] = (("plot", "time"), mean[k], attrs)
    data_vars["valid_fraction"] = (
        ("plot", "time"),
        vfrac,
        {"units": "1", "long_name": "coverage-weighted fraction of the plot area with clear data"},
    )
    data_vars["count"] = (
        ("plot", "time"),
        count,
        {"units": "1", "long_name": "sum of coverage fractions of clear 10 m pixels (exactextract 'count')"},
    )
    data_vars["usable"] = (
        ("plot", "time"),
        usable,
        {"units": "1", "long_name": f"valid_fraction >= {min_valid_fraction}"},
    )
    data_vars["item_id"] = (
        ("plot", "time"),
        item_id.astype(str),
        {"units": "1", "long_name": "STAC item the plot-date value comes from"},
    )
    ds = xr.Dataset(data_vars, coords=coords)
    ds["time"].attrs["long_name"] = "earliest acquisition time of the UTC day"
    ds.attrs.update(
        {
            "usable_plot_dates": int(usable.sum()),
            "min_valid_fraction": float(min_valid_fraction),
            "scl_keep_classes": list(mask.keep_classes),
            "source": str(source),
            "n_scenes": len(good),
            "index_definition": "coverage-weighted mean over clear pixels of the per-pixel index",
            "resampling_20m": "nearest neighbour by pixel centre onto the 10 m grid",
            "attribution": "Contains modified Copernicus Sentinel data",
        }
    )
    return ds


def usable_plot_dates(ds: xr.Dataset) -> int:
    """Number of usable plot-dates in a :func:`plot_time_series` result."""
    return int(ds["usable"].sum())
