"""A project's activity records written by plot chunk, so that the run's process never holds
them all: the largest input table (27 records per plot in the sample county, 2.8 M rows and
1.1 GiB as one table at 100,000 plots).

:func:`write_activity_parts` takes the store's rows in batches (a server-side cursor inside the
run's snapshot, :func:`mrv_service.store.reads.stream_activities`) and appends each batch's rows to
their chunk's part files (tables built as :func:`mrv_service.store.reads.load_activities` builds
the whole, once, here); :meth:`ActivityParts.chunk` reads one chunk's records back: the whole
table's rows of its plots, in the same order, with its columns.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mrv_service.store.reads import ACTIVITY_COLUMNS, RowsDigest, activities_frame

__all__ = ["ActivityParts", "write_activity_parts"]

FLUSH_ROWS = 200_000
"""Rows held before they are written to the chunks' part files."""


@dataclasses.dataclass(frozen=True)
class ActivityParts:
    """The part files of each chunk's activity records."""

    directory: Path
    slices: tuple[slice, ...]
    """Plot positions of each chunk."""
    parts: tuple[tuple[str, ...], ...]
    """File names of each chunk's parts, in the order the rows came."""
    columns: tuple[str, ...]
    """The whole table's columns, in :func:`~mrv_service.store.reads.activities_frame` order."""

    def chunk(self, i: int) -> pd.DataFrame:
        """Chunk ``i``'s records (an empty table with the columns if it has none).

        An attribute column no record of the chunk fills is NaN (float), whatever the part it came
        from held: the same table for any flush boundaries."""
        frames = [pd.read_pickle(self.directory / name, compression=None) for name in self.parts[i]]
        frames = [_without_empty_attributes(f) for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=list(self.columns))
        df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return df.reindex(columns=list(self.columns))

    def only(self, i: int) -> ActivityParts:
        """The parts of chunk ``i`` alone (its chunk 0): what a chunk's task reads itself."""
        return dataclasses.replace(self, slices=(self.slices[i],), parts=(self.parts[i],))


def _without_empty_attributes(frame: pd.DataFrame) -> pd.DataFrame:
    empty = [c for c in frame.columns if c not in ACTIVITY_COLUMNS and frame[c].isna().all()]
    return frame.drop(columns=empty) if empty else frame


def chunk_slices(n_plots: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` plots: the run's plot chunks.

    Examples
    --------
    >>> chunk_slices(5, 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    return [slice(i, min(i + size, n_plots)) for i in range(0, n_plots, max(1, size))]


def write_activity_parts(
    batches: Iterable[Sequence[Any]],
    chunk_ids: Callable[[int], Sequence[str]],
    slices: Sequence[slice],
    directory: Path,
    digest: RowsDigest,
) -> ActivityParts:
    """Write the rows of ``batches`` (store rows, plot id first) into part files per chunk.

    ``chunk_ids(i)``: the plot ids of chunk ``i``, in the order of the rows' plots (both come
    from the store sorted by plot id, :mod:`mrv_service.store.reads`): each row's chunk is found
    by walking the chunks' ids along the rows, one chunk's ids held at a time (a
    :class:`~mrv_service.run.plot_parts.PlotParts`' :meth:`~mrv_service.run.plot_parts.PlotParts.ids`).
    ``digest`` is updated with every row, in order.

    Raises
    ------
    ValueError
        A row of a plot not in the chunks' ids, or out of their order.
    """
    directory.mkdir(parents=True, exist_ok=True)
    parts: list[list[str]] = [[] for _ in slices]
    columns: dict[str, None] = {}
    held: list[Sequence[Any]] = []
    walk = _ChunkWalk(chunk_ids, len(slices))

    def flush() -> None:
        frame = activities_frame(held)
        ids = frame["plot_id"].astype(str).to_numpy()
        code = np.empty(len(ids), dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        for a, b in zip(starts, [*starts[1:], len(ids)], strict=True):
            code[a:b] = walk.chunk_of(ids[a])
        for i, sub in frame.groupby(code, sort=True):
            name = f"{i:05d}-{len(parts[i]):05d}.pkl"
            tmp = directory / f".{name}.{os.getpid()}"
            sub.reset_index(drop=True).to_pickle(tmp, compression=None)
            os.replace(tmp, directory / name)
            parts[i].append(name)
        held.clear()

    for batch in batches:
        digest.update(batch)
        for row in batch:  # the columns in the order activities_frame gives them for all rows
            for key in (*(row[6] or {}), *ACTIVITY_COLUMNS):
                if key not in columns:
                    columns[key] = None
        held.extend(batch)
        if len(held) >= FLUSH_ROWS:
            flush()
    if held:
        flush()
    if not columns:  # no record at all
        columns = dict.fromkeys(ACTIVITY_COLUMNS)
    return ActivityParts(directory, tuple(slices), tuple(tuple(p) for p in parts), tuple(columns))


class _ChunkWalk:
    """The chunk of each plot id met in plot order, walking the chunks' ids forward."""

    def __init__(self, chunk_ids: Callable[[int], Sequence[str]], n_chunks: int):
        self._ids_of = chunk_ids
        self._n = n_chunks
        self._k = 0
        self._j = 0
        self._ids = list(chunk_ids(0)) if n_chunks else []

    def chunk_of(self, plot_id: str) -> int:
        while self._k < self._n:
            if self._j < len(self._ids) and self._ids[self._j] == plot_id:
                return self._k
            self._j += 1
            if self._j >= len(self._ids):
                self._k += 1
                self._j = 0
                self._ids = list(self._ids_of(self._k)) if self._k < self._n else []
        raise ValueError(
            f"activity record of plot {plot_id!r}: the plot is not among the run's plots, or the "
            "records are not sorted by plot id as the plots are"
        )
