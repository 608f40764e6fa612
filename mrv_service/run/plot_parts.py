"""A project's plots written by chunk, so that the run's process never holds the plots' table
(ids, farmers, villages, outlines: some 4 KB per plot, 40 GiB for a province of 10 M plots).

:func:`write_plot_parts` takes the store's rows in batches (a server-side cursor inside the run's
snapshot, :func:`mrv_service.store.reads.stream_plots`), in plot-id order, and writes each run
chunk's plots (:func:`~mrv_service.run.activity_parts.chunk_slices`) to its own file, holding at
most one chunk's rows. :class:`PlotParts` keeps only the chunks' positions and lon/lat bounds;
a chunk's task reads its own plots (:meth:`PlotParts.chunk`), and a pass over all the plots
(the weather stations, the split of a carried-over file) reads them one chunk at a time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from mrv_service.store.reads import RowsDigest, plot_digest_rows, plots_frame

__all__ = ["PlotParts", "write_plot_parts"]

Bounds = tuple[float, float, float, float]


@dataclasses.dataclass(frozen=True)
class PlotParts:
    """The files of each chunk's plots."""

    directory: Path
    slices: tuple[slice, ...]
    """Plot positions of each chunk (in plot-id order)."""
    names: tuple[str, ...]
    """File name of each chunk's plots."""
    bounds: tuple[Bounds, ...]
    """lon/lat bounds of each chunk's outlines [degree]."""

    def __len__(self) -> int:
        """The number of plots."""
        return sum(s.stop - s.start for s in self.slices)

    def chunk(self, i: int) -> gpd.GeoDataFrame:
        """Chunk ``i``'s plots: the rows of :func:`~mrv_service.store.reads.load_plots` at its
        positions, indexed from 0."""
        return pd.read_pickle(self.directory / self.names[i], compression=None)

    def ids(self, i: int) -> list[str]:
        """Chunk ``i``'s plot ids, in order."""
        return self.chunk(i)["plot_id"].astype(str).tolist()

    def frames(self) -> Iterator[gpd.GeoDataFrame]:
        """Every chunk's plots, one at a time."""
        for i in range(len(self.names)):
            yield self.chunk(i)

    def whole(self) -> gpd.GeoDataFrame:
        """All the plots as one table (a worker's, never the run process's: module notes)."""
        if not self.names:
            return plots_frame([])
        frames = list(self.frames())
        whole = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return gpd.GeoDataFrame(whole, geometry="geometry", crs="EPSG:4326")

    def only(self, i: int) -> PlotParts:
        """The part of chunk ``i`` alone (its chunk 0): what a chunk's task reads itself."""
        return dataclasses.replace(
            self, slices=(self.slices[i],), names=(self.names[i],), bounds=(self.bounds[i],)
        )

    @property
    def total_bounds(self) -> Bounds:
        """lon/lat bounds of all the outlines [degree]."""
        b = self.bounds
        return (
            min(x[0] for x in b),
            min(x[1] for x in b),
            max(x[2] for x in b),
            max(x[3] for x in b),
        )


def write_plot_parts(
    batches: Iterable[Sequence[Sequence[Any]]], size: int, directory: Path, digest: RowsDigest
) -> PlotParts:
    """Write the store's plot rows (:func:`~mrv_service.store.reads.stream_plots`, in order) into
    one file per chunk of ``size`` plots; ``digest`` is updated with every row, as
    :func:`~mrv_service.store.reads.load_plots` digests them."""
    directory.mkdir(parents=True, exist_ok=True)
    size = max(1, int(size))
    slices: list[slice] = []
    names: list[str] = []
    bounds: list[Bounds] = []
    held: list[Sequence[Any]] = []

    def write(rows: Sequence[Sequence[Any]]) -> None:
        i = len(names)
        frame = plots_frame(rows)
        name = f"{i:05d}.pkl"
        tmp = directory / f".{name}.{os.getpid()}"
        frame.to_pickle(tmp, compression=None)
        os.replace(tmp, directory / name)
        start = slices[-1].stop if slices else 0
        slices.append(slice(start, start + len(rows)))
        names.append(name)
        bounds.append(tuple(float(v) for v in frame.total_bounds))

    for batch in batches:
        digest.update(plot_digest_rows(batch))
        held.extend(batch)
        while len(held) >= size:
            write(held[:size])
            del held[:size]
    if held:
        write(held)
    return PlotParts(directory, tuple(slices), tuple(names), tuple(bounds))
