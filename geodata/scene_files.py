"""The per-plot time series by plot chunk: scene statistics written to files, each chunk's
series assembled from them, so that no process holds every scene's statistics for every plot.

:func:`geodata.pipeline.plot_time_series_by_chunk` runs the same tile and scene tasks as
:func:`geodata.pipeline.plot_time_series`, but each scene task writes its plot statistics into
one file per plot chunk (:func:`scene_to_files`, ``DIR/CCCCC/KEY.npz``) and returns the scene's
result without them (:attr:`geodata.scenes._SceneResult.chunk_counts`). :func:`assemble_chunk`
then reads a chunk's files, in the scenes' order, and builds the chunk's ``Dataset(plot, time)``
with the same code as the whole series (:func:`geodata.dataset._plot_arrays`,
:func:`geodata.dataset.series_dataset`): a chunk's rows are bit for bit the rows the whole series
has for its plots, whatever the chunk sizes.

Files are written under a temporary name and renamed, so a task run twice (after its worker died)
leaves the same files.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import xarray as xr

from geodata.dataset import _days, _good, _plot_arrays, series_dataset
from geodata.errors import RasterReadError
from geodata.items import ParsedItem
from geodata.masks import MaskConfig
from geodata.scenes import _gives_data, _scene_stats, _SceneResult, _TileSetup

__all__ = ["SceneFiles", "ChunkedSeries", "ChunkSeries", "scene_to_files", "assemble_chunk"]


@dataclasses.dataclass(frozen=True)
class SceneFiles:
    """Where the scene tasks write their statistics, and the plot chunks they split them by."""

    directory: Path
    starts: tuple[int, ...]
    """First plot position of each chunk (ascending, the first 0); a chunk ends where the next
    starts, the last at ``n_plots``."""
    n_plots: int

    def bounds(self, chunk: int) -> tuple[int, int]:
        """Plot positions ``[start, stop)`` of a chunk."""
        stop = self.starts[chunk + 1] if chunk + 1 < len(self.starts) else self.n_plots
        return self.starts[chunk], stop

    def path(self, chunk: int, key: str) -> Path:
        return self.directory / f"{chunk:05d}" / f"{key}.npz"


def scene_to_files(
    item: ParsedItem,
    setup: _TileSetup,
    bands: Sequence[str],
    indices: Sequence[str],
    mask: MaskConfig,
    require_scl: bool,
    files: SceneFiles,
    key: str,
) -> _SceneResult:
    """:func:`geodata.scenes._scene_stats`, its plot statistics written by chunk; returns the
    result without them (``chunk_counts`` says how many plots each chunk's file holds)."""
    r = _scene_stats(item, setup, bands, indices, mask, require_scl)
    if r.problem is not None or not r.covers_plots or r.mean is None:
        return dataclasses.replace(r, plot_index=np.zeros(0, np.int64), chunk_counts=())
    edges = np.searchsorted(r.plot_index, [*files.starts, files.n_plots])
    counts = []
    for chunk in range(len(files.starts)):
        a, b = int(edges[chunk]), int(edges[chunk + 1])
        counts.append(b - a)
        if b > a:
            _save(
                files.path(chunk, key),
                plot_index=r.plot_index[a:b],
                mean=r.mean[a:b],
                count=r.count[a:b],
                valid_fraction=r.valid_fraction[a:b],
                observed=r.observed[a:b],
            )
    return dataclasses.replace(
        r,
        plot_index=np.zeros(0, np.int64),
        mean=None,
        count=None,
        valid_fraction=None,
        observed=None,
        chunk_counts=tuple(counts),
    )


def _save(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


@dataclasses.dataclass(frozen=True)
class ChunkedSeries:
    """What :func:`geodata.pipeline.plot_time_series_by_chunk` returns: the scene results
    without their plot statistics, and what a chunk's series needs besides its plots."""

    files: SceneFiles
    scenes: tuple[tuple[str, _SceneResult], ...]
    """(file key, result) of every scene, in the order the whole series takes them."""
    bands: tuple[str, ...]
    indices: tuple[str, ...]
    min_valid_fraction: float
    epsg: int
    """UTM zone of the plots' centroids (:func:`geodata.dataset.series_epsg` of all the plots)."""
    attrs: dict
    """The series' scene-level ``attrs`` (:func:`geodata.dataset.series_attrs` and ``items``);
    the plot-date counts are sums over the chunks."""
    used_extent: str
    """Extent of the used scenes' footprints, for the not-covered warning."""

    @property
    def n_chunks(self) -> int:
        return len(self.files.starts)


@dataclasses.dataclass(frozen=True)
class ChunkSeries:
    """One chunk's series and which of its plots no used scene covers."""

    features: xr.Dataset
    not_covered: np.ndarray
    """Positions (within the chunk) of the plots outside every used scene's footprint."""


def assemble_chunk(series: ChunkedSeries, chunk: int, plot_ids, plots_4326: gpd.GeoSeries) -> ChunkSeries:
    """The ``Dataset(plot, time)`` of chunk ``chunk`` (its plots' ids and EPSG:4326 outlines, in
    plot order), from the scene files, with the scene-level ``attrs`` of the whole series.

    Raises
    ------
    geodata.errors.RasterReadError
        When a scene file the chunk needs is missing or unreadable (the work directory was
        removed or damaged while the run went on).
    """
    start, stop = series.files.bounds(chunk)
    if stop - start != len(plot_ids):
        raise ValueError(f"chunk {chunk} holds plots {start}..{stop}, got {len(plot_ids)} plots")
    good = _good([r for _, r in series.scenes])
    days, times = _days(good)
    local = []
    for key, r in series.scenes:
        if not _gives_data(r) or not r.chunk_counts[chunk]:
            continue
        path = series.files.path(chunk, key)
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError) as exc:
            raise RasterReadError(
                f"the statistics of scene {r.item_id!r} for plot chunk {chunk} ({path}) cannot be read: {exc}; "
                "run again (the run's work directory was changed while it ran)"
            ) from exc
        local.append(
            dataclasses.replace(
                r,
                plot_index=arrays["plot_index"] - start,
                mean=arrays["mean"],
                count=arrays["count"],
                valid_fraction=arrays["valid_fraction"],
                observed=arrays["observed"],
                chunk_counts=None,
            )
        )
    n_names = len(series.bands) + len(series.indices)
    *arrays, covered = _plot_arrays(len(plot_ids), local, days, n_names)
    ds = series_dataset(
        np.asarray(plot_ids),
        plots_4326,
        series.epsg,
        times,
        tuple(arrays),
        series.bands,
        series.indices,
        series.min_valid_fraction,
    )
    ds.attrs.update(
        {"usable_plot_dates": int(ds["usable"].sum()), "observed_plot_dates": int(ds["observed"].sum())}
        | series.attrs
    )
    return ChunkSeries(ds, np.flatnonzero(~covered))
