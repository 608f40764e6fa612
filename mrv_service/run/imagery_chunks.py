"""The imagery stage of ``mrv run`` by plot chunk, with nothing per plot gathered in the run's
process: the plots, when the run wrote them by chunk (:mod:`mrv_service.run.plot_parts`), are read
by the tasks (the tiles' plot selection reads them all, a chunk's task its own).

1. The scene tasks (one per scene, on the run's Dask cluster or local threads) write each scene's
   plot statistics into the work directory, split by the run's plot chunks
   (:func:`geodata.pipeline.plot_time_series_by_chunk`), and return only the scene's figures.
2. One task per chunk (:func:`imagery_task`) assembles the chunk's ``Dataset(plot, time)`` from
   those files and writes it where the verification stage reads it; it returns the chunk's
   counts.
3. ``plot_features.nc`` is the chunks' files concatenated, written one chunk at a time.

The chunks' rows are bit for bit those of the whole series (:mod:`geodata.scene_files`).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dask
import dask.array
import geopandas as gpd
import numpy as np
import shapely
import xarray as xr

from geodata.dataset import NOT_COVERED_SHOWN, not_covered_message
from geodata.errors import PlotNotCoveredWarning
from geodata.scene_files import ChunkedSeries, assemble_chunk
from geodata.skipped import _extent
from mrv_service.run.chunk_tasks import ChunkFiles
from mrv_service.run.cluster import ChunkPool, atomic_write
from mrv_service.run.imagery_summary import ImageryCounts, imagery_counts, imagery_summary
from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.plot_parts import PlotParts
from mrv_service.run.stages import imagery_search, search_options

__all__ = ["ImageryRun", "ImageryTask", "imagery_task", "run_imagery"]

log = logging.getLogger("mrv_service.run")


@dataclasses.dataclass(frozen=True)
class ImageryTask:
    files: ChunkFiles
    series: ChunkedSeries
    chunk: int
    plots: gpd.GeoDataFrame | PlotParts
    """The chunk's plots (plot_id, geometry), in plot order, or their part file."""


@dataclasses.dataclass(frozen=True)
class ChunkImagery:
    """What an imagery task returns: the chunk's counts and its plots no scene covers (how many,
    the first few ids and their extent: the warning's content, not a list of every plot)."""

    counts: ImageryCounts
    n_not_covered: int
    not_covered: tuple[str, ...]
    """The first :data:`NOT_COVERED_SHOWN` of them."""
    not_covered_bounds: tuple[float, float, float, float] | None
    """lon/lat bounds of those plots [degree] (None: every plot is covered)."""


def imagery_task(task: ImageryTask) -> ChunkImagery:
    """The chunk's series from the scene files, written to ``task.files.features``."""
    plots = task.plots.whole() if isinstance(task.plots, PlotParts) else task.plots
    ids = plots["plot_id"].astype(str).to_numpy()
    outlines = plots.geometry.to_crs(4326)
    chunk = assemble_chunk(task.series, task.chunk, ids, outlines)
    atomic_write(task.files.features, lambda p: chunk.features.to_netcdf(p))
    far = chunk.not_covered
    return ChunkImagery(
        imagery_counts(chunk.features),
        len(far),
        tuple(str(i) for i in ids[far][:NOT_COVERED_SHOWN]),
        tuple(float(v) for v in outlines.iloc[far].total_bounds) if len(far) else None,
    )


@dataclasses.dataclass(frozen=True)
class ImageryRun:
    summary: dict[str, Any]
    """The ``imagery`` section of ``summary.json``."""
    attrs: dict[str, Any]
    """The series' ``attrs`` (sources and items, for the run manifest)."""


def run_imagery(
    inputs: ProjectInputs,
    work: Path,
    out: Path,
    pool: ChunkPool,
    parts: list[slice],
    *,
    default_source: str | None,
    headers: dict[str, str] | None,
    progress: Callable[[int], Any] | None = None,
) -> ImageryRun:
    """The imagery stage by chunk (module notes): writes the chunks' features into
    ``work/CCCCC/plot_features.nc`` and ``plot_features.nc`` into ``out``.

    ``parts``: the run's plot chunks (:func:`mrv_service.run.chunks.chunk_slices`)."""
    from geodata.pipeline import plot_time_series_by_chunk

    t0 = time.perf_counter()
    search = imagery_search(inputs.project, default_source)
    on_disk = inputs.plot_parts
    plots = inputs.plots[["plot_id", "geometry"]] if on_disk is None else on_disk
    scenes_dir = work / "scenes"
    series = plot_time_series_by_chunk(
        search["source"],
        plots,
        scenes_dir,
        [p.start for p in parts],
        **search_options(search),
        headers=headers,
        dask_client=pool.client,
        progress=progress,
    )
    t1 = time.perf_counter()
    files = [ChunkFiles(work / f"{i:05d}") for i in range(len(parts))]
    if on_disk is not None and [(p.start, p.stop) for p in on_disk.slices] != [
        (p.start, p.stop) for p in parts
    ]:
        raise ValueError("the plots were written by other chunks than the run's")

    def task(i: int) -> ImageryTask:
        chunk = plots.iloc[parts[i]] if on_disk is None else on_disk.only(i)
        return ImageryTask(files[i], series, i, chunk)

    done = None if progress is None else (lambda _i: progress(0))
    chunks: list[ChunkImagery] = pool.map(imagery_task, task, len(parts), name="imagery", done=done)
    shutil.rmtree(scenes_dir, ignore_errors=True)
    _warn_not_covered(series, chunks)
    counts = ImageryCounts.total(c.counts for c in chunks)
    attrs = {
        "usable_plot_dates": counts.usable_plot_dates,
        "observed_plot_dates": counts.observed_plot_dates,
        **series.attrs,
    }
    t2 = time.perf_counter()
    # the widest scene id: the width of the plot-dates' scene ids (empty when not observed)
    width = max((len(r.item_id) for _key, r in series.scenes), default=1)
    concat_features([f.features for f in files], attrs, out / "plot_features.nc", {"item_id": f"<U{width}"})
    log.info(
        "imagery: %d scenes read in %.1f s, %d chunks' series assembled in %.1f s, plot_features.nc written in %.1f s",
        len(series.scenes),
        t1 - t0,
        len(parts),
        t2 - t1,
        time.perf_counter() - t2,
    )
    return ImageryRun(imagery_summary(search, attrs, counts), attrs)


OPEN_PARTS = 4
"""Chunk files :func:`concat_features` keeps open at a time (xarray's file cache, 128 by default)."""


def concat_features(parts: list[Path], attrs: dict[str, Any], out: Path, widths: Mapping[str, str]) -> None:
    """The chunks' series as one file, read and written one chunk at a time in this process.

    Two things keep the memory to a few parts' worth (``docs/SCALE.md``, measured at 100,000
    plots in 50 parts: the process grew by 0.49 GiB before, 0.13 GiB after):

    * at most :data:`OPEN_PARTS` files are open at a time: each open HDF5 file keeps its own
      caches;
    * the text variables (the scene of each plot-date, ``item_id``) are read part by part as
      their blocks are written: opening a part reads its text variables whole (h5netcdf), so
      with every part opened they were all held at once.

    ``widths``: the text variables' dtypes, wide enough for every part (``{"item_id": "<U24"}``):
    a block's width must be known before it is read."""
    with xr.open_dataset(parts[0]) as first:
        order = list(first.data_vars)
        text = {k: v.attrs for k, v in first.data_vars.items() if v.dtype.kind in "OUS"}
    if set(text) - set(widths):
        raise ValueError(f"no width given for the text variables {sorted(set(text) - set(widths))}")
    with (
        dask.config.set(scheduler="synchronous"),
        xr.set_options(file_cache_maxsize=OPEN_PARTS),
        xr.open_mfdataset(
            parts,
            combine="nested",
            concat_dim="plot",
            data_vars="minimal",
            coords="minimal",
            compat="override",
            combine_attrs="override",
            drop_variables=list(text),
        ) as ds,
    ):
        shapes = list(ds.chunksizes["plot"])
        for name, var_attrs in text.items():
            dtype = np.dtype(widths[name])
            blocks = [
                dask.array.from_delayed(
                    dask.delayed(_text_variable)(path, name, dtype), (n, ds.sizes["time"]), dtype=dtype
                )
                for path, n in zip(parts, shapes, strict=True)
            ]
            ds[name] = xr.Variable(("plot", "time"), dask.array.concatenate(blocks), var_attrs)
        ds = ds[order]
        ds.attrs = dict(attrs)
        ds.to_netcdf(out)


def _text_variable(path: Path, name: str, dtype: np.dtype) -> np.ndarray:
    with xr.open_dataset(path) as part:
        values = part[name].values
    if values.dtype.itemsize > dtype.itemsize:
        raise ValueError(f"{path}: {name} is wider ({values.dtype}) than the width given ({dtype})")
    return values.astype(dtype)


def _warn_not_covered(series: ChunkedSeries, chunks: list[ChunkImagery]) -> None:
    n = sum(c.n_not_covered for c in chunks)
    if not n:
        return
    first = [pid for c in chunks for pid in c.not_covered][:NOT_COVERED_SHOWN]
    b = np.array([c.not_covered_bounds for c in chunks if c.not_covered_bounds is not None])
    extent = _extent([shapely.box(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())])
    n_used = int(series.attrs["n_scenes"])
    warnings.warn(
        PlotNotCoveredWarning(not_covered_message(n, first, n_used, series.used_extent, extent)), stacklevel=3
    )
