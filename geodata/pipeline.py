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

The tile and scene tasks of steps 2-3 are :mod:`geodata.scenes`; the skipped scenes in words and
the error when none gives data, :mod:`geodata.skipped`; the result Dataset, :mod:`geodata.dataset`.

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
  baseline before 04.00, see :mod:`geodata.items`). Both thresholds are service choices, not
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

import dataclasses
import json
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import dask
import geopandas as gpd
import shapely
import xarray as xr

from geodata.dataset import _assemble, _good, series_attrs, series_epsg
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
    ImageryRequestError,
    ImageryUnavailableError,
    PlotGeometryError,
    PlotNotCoveredWarning,
    ReflectanceOffsetWarning,
    SceneSkippedWarning,
    SpectralIndexError,
)
from geodata.features import INDEX_BANDS
from geodata.masks import MaskConfig
from geodata.scene_files import ChunkedSeries, SceneFiles, scene_to_files
from geodata.scenes import _gives_data, _group_items, _scene_stats, _SceneResult, _tile_setup
from geodata.sentinel2 import SENTINEL2_L2A_COLLECTIONS
from geodata.skipped import _extent, _nothing_usable_error
from geodata.stac import search_with_summary

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_INDICES",
    "DEFAULT_MAX_ITEMS",
    "NEGATIVE_REFLECTANCE_MAX_SHARE",
    "NEGATIVE_REFLECTANCE_TOLERANCE",
    "PlotNotCoveredWarning",
    "PlotsOnDisk",
    "SceneSkippedWarning",
    "plot_time_series",
    "plot_time_series_by_chunk",
    "usable_plot_dates",
]

# SceneSkippedWarning and PlotNotCoveredWarning are re-exported from geodata.errors, their home.


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


class PlotsOnDisk(Protocol):
    """Plots written to files that a task reads itself (``mrv_service.run.plot_parts.PlotParts``):
    the process that builds the tasks holds none of them."""

    def __len__(self) -> int: ...

    @property
    def total_bounds(self) -> tuple[float, float, float, float]:
        """lon/lat bounds of the outlines [degree]."""
        ...

    def whole(self) -> gpd.GeoDataFrame:
        """``plot_id`` and ``geometry`` of every plot, in plot order."""
        ...


def _on_disk(plots: Any) -> bool:
    return not isinstance(plots, gpd.GeoDataFrame) and all(
        hasattr(plots, a) for a in ("total_bounds", "whole", "__len__")
    )


def _tile_setup_on_disk(group: Any, source: PlotsOnDisk, needed: Sequence[str]) -> Any:
    """:func:`geodata.scenes._tile_setup` of plots the task reads itself."""
    plots = _validate_plots(source.whole()[["plot_id", "geometry"]])
    return _tile_setup(group, plots, plots.geometry.to_crs(4326), needed)


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
    geodata.errors.SpectralIndexError
        (a :class:`KeyError`) If an index is unknown.
    geodata.errors.ImageryRequestError
        (a :class:`ValueError`) If ``min_valid_fraction``, ``datetime`` or ``max_items`` is invalid.

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
    scenes = _scene_results(
        catalog_or_url,
        plots,
        datetime=datetime,
        max_cloud_cover=max_cloud_cover,
        min_valid_fraction=min_valid_fraction,
        bands=bands,
        indices=indices,
        collections=collections,
        mask=mask,
        require_scl=require_scl,
        modifier=modifier,
        max_items=max_items,
        headers=headers,
        dask_client=dask_client,
        scheduler=scheduler,
        progress=progress,
    )
    ds = _assemble(
        scenes.plots,
        scenes.plots_4326,
        scenes.results,
        tuple(bands),
        tuple(indices),
        mask or MaskConfig(),
        min_valid_fraction,
        catalog_or_url,
        scenes.by_id,
    )
    ds.attrs["items"] = _items_json(scenes)
    return ds


def plot_time_series_by_chunk(
    catalog_or_url: str | Path,
    plots: gpd.GeoDataFrame,
    directory: Path,
    starts: Sequence[int],
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
) -> ChunkedSeries:
    """:func:`plot_time_series` by plot chunk: the scene tasks write their statistics into
    ``directory``, split at the plot positions ``starts``, and return none of them; each chunk's
    series is then :func:`geodata.scene_files.assemble_chunk` (a task of its own).

    ``plots``: a GeoDataFrame, or plots written to files (:class:`PlotsOnDisk`): then the caller
    never holds them; the task that selects each tile's plots reads them (on a worker of
    ``dask_client``), and the search uses their bounds.

    The parameters, the warnings about skipped scenes and offsets and the errors are those of
    :func:`plot_time_series`; the plots not covered by any scene are reported by the chunks
    (:attr:`geodata.scene_files.ChunkSeries.not_covered`). The chunks' series, concatenated, are
    identical to the :func:`plot_time_series` result (its plot-date counts in ``attrs`` being the
    sums over the chunks).
    """
    if not isinstance(plots, gpd.GeoDataFrame) and not _on_disk(plots):
        raise PlotGeometryError(
            f"plots must be a geopandas.GeoDataFrame or plots a task reads (PlotsOnDisk), got {type(plots).__name__}"
        )
    files = SceneFiles(Path(directory), tuple(int(s) for s in starts), len(plots))
    if not files.starts or files.starts[0] != 0 or list(files.starts) != sorted(set(files.starts)):
        raise ImageryRequestError(f"chunk starts must be ascending and begin at 0, got {list(starts)[:5]}")
    scenes = _scene_results(
        catalog_or_url,
        plots,
        datetime=datetime,
        max_cloud_cover=max_cloud_cover,
        min_valid_fraction=min_valid_fraction,
        bands=bands,
        indices=indices,
        collections=collections,
        mask=mask,
        require_scl=require_scl,
        modifier=modifier,
        max_items=max_items,
        headers=headers,
        dask_client=dask_client,
        scheduler=scheduler,
        progress=progress,
        files=files,
    )
    good = _good(scenes.results)
    attrs = series_attrs(
        good,
        [r for r in scenes.results if r.problem],
        len(scenes.results),
        mask or MaskConfig(),
        min_valid_fraction,
        catalog_or_url,
    )
    attrs["items"] = _items_json(scenes)
    return ChunkedSeries(
        files=files,
        scenes=tuple(zip(scenes.keys, scenes.results, strict=True)),
        bands=tuple(bands),
        indices=tuple(indices),
        min_valid_fraction=float(min_valid_fraction),
        epsg=series_epsg(scenes.plots_4326),
        attrs=attrs,
        used_extent=_extent([scenes.by_id[i].geometry for i in sorted({r.item_id for r in good})]),
    )


@dataclasses.dataclass(frozen=True)
class _Scenes:
    """The search's items and the scene tasks' results (in the order of their keys)."""

    items: list
    by_id: dict
    results: list[_SceneResult]
    keys: list[str]
    plots: gpd.GeoDataFrame
    plots_4326: gpd.GeoSeries
    needed: list[str]


def _items_json(scenes: _Scenes) -> str:
    """``attrs["items"]``: id, collection, datetime and the hrefs of the assets read, per item found."""
    return json.dumps(
        [
            {
                "id": it.id,
                "collection": it.collection,
                "datetime": it.datetime.isoformat(),
                "assets": {
                    k: a.href for k, a in sorted(it.assets.items()) if k in scenes.needed or k == "scl"
                },
            }
            for it in scenes.items
        ]
    )


def _scene_results(
    catalog_or_url,
    plots,
    *,
    datetime,
    max_cloud_cover,
    min_valid_fraction,
    bands,
    indices,
    collections,
    mask,
    require_scl,
    modifier,
    max_items,
    headers,
    dask_client,
    scheduler,
    progress,
    files: SceneFiles | None = None,
) -> _Scenes:
    """Search, run the tile and scene tasks, check that some scene gives data and warn about the
    skipped ones. ``files``: the scene tasks write their statistics by plot chunk there and
    return results without them (:mod:`geodata.scene_files`). ``plots`` on disk
    (:class:`PlotsOnDisk`) are read by a task: the returned ``plots`` is then None and
    ``plots_4326`` their bounding box."""
    on_disk = files is not None and _on_disk(plots)
    if not on_disk:
        plots = _validate_plots(plots)
    bands = tuple(bands)
    indices = tuple(indices)
    for i in indices:
        if i not in INDEX_BANDS:
            raise SpectralIndexError(f"unknown index {i!r}; choose from {sorted(INDEX_BANDS)}")
    mask = mask or MaskConfig()
    if not 0.0 <= min_valid_fraction <= 1.0:
        raise ImageryRequestError(
            f"min_valid_fraction={min_valid_fraction!r} must be within [0, 1] "
            f"(default {DEFAULT_MIN_VALID_FRACTION})"
        )
    if on_disk:
        bbox = tuple(float(v) for v in plots.total_bounds)
        plots_4326 = gpd.GeoSeries([shapely.box(*bbox)], crs="EPSG:4326")
        source, plots = plots, None
    else:
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
    keys = []
    setups = []
    for gi, g in enumerate(groups):
        if on_disk:  # each tile's task reads the plots: no shared input ties the tiles to one worker
            setup = dask.delayed(_tile_setup_on_disk, pure=False)(
                g, source, needed, dask_key_name=f"tile-setup-{gi}"
            )
        else:
            setup = dask.delayed(_tile_setup, pure=False)(
                g, plots, plots_4326, needed, dask_key_name=f"tile-setup-{gi}"
            )
        setups.append(setup)
        for ii, it in enumerate(g.items):
            args = (it, setup, bands, indices, mask, require_scl)
            key = f"scene-stats-{gi}-{ii}"
            keys.append(key)
            if files is None:
                tasks.append(dask.delayed(_scene_stats, pure=False)(*args, dask_key_name=key))
            else:
                tasks.append(dask.delayed(scene_to_files, pure=False)(*args, files, key, dask_key_name=key))
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

    if not any(_gives_data(r) for r in results):
        raise _nothing_usable_error(items, results, summary, plots_4326)
    for r in results:
        if r.problem:
            warnings.warn(SceneSkippedWarning(r.problem), stacklevel=3)
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
                stacklevel=3,
            )
    return _Scenes(items, by_id, results, keys, plots, plots_4326, needed)


def usable_plot_dates(ds: xr.Dataset) -> int:
    """Number of usable plot-dates in a :func:`plot_time_series` result."""
    return int(ds["usable"].sum())
