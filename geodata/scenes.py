"""Scene tasks of :func:`geodata.pipeline.plot_time_series`: tile setup and per-scene statistics.

Scenes are grouped by tile grid (:func:`_group_items`); per tile, :func:`_tile_setup` finds the
grid from the first readable scene and computes the plots' coverage weights once; per scene,
:func:`_scene_stats` reads the touched pixels, applies the SCL mask and the indices, and returns
the plot means with the share of clear pixels whose reflectance is negative (the offset check,
thresholds in :mod:`geodata.defaults`). These are the Dask tasks of the pipeline; a problem with
one scene is returned as its reasons, not raised (see the Failures of :mod:`geodata.pipeline`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geodata.defaults import NEGATIVE_REFLECTANCE_TOLERANCE
from geodata.errors import CRSError, RasterReadError
from geodata.features import INDEX_BANDS, compute_indices
from geodata.items import ParsedItem
from geodata.masks import MaskConfig, scl_valid_mask
from geodata.raster import grid_of, read_pixels
from geodata.zonal import CoverageWeights, coverage_weights, gathered_stats
from models.errors import MRVError

_REFERENCE_BANDS = ("red", "nir", "blue", "green")  # 10 m bands that define the tile grid


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
    chunk_counts: tuple[int, ...] | None = None
    """Plots of each chunk whose statistics were written to files (:mod:`geodata.scene_files`),
    which this result no longer holds; None: the result holds them."""


def _gives_data(r: _SceneResult) -> bool:
    """The scene gives statistics for some plot (held in the result or written to files)."""
    if r.problem is not None or not r.covers_plots:
        return False
    if r.chunk_counts is not None:
        return sum(r.chunk_counts) > 0
    return r.mean is not None and len(r.plot_index) > 0


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
