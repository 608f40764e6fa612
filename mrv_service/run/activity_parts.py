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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

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
    chunk_of: Mapping[str, int],
    slices: Sequence[slice],
    directory: Path,
    digest: RowsDigest,
) -> ActivityParts:
    """Write the rows of ``batches`` (store rows, plot id first) into part files per chunk.

    ``chunk_of``: plot id -> chunk; rows of other plots are not kept (none are expected: the
    rows are the project's). ``digest`` is updated with every row, in order.
    """
    directory.mkdir(parents=True, exist_ok=True)
    parts: list[list[str]] = [[] for _ in slices]
    columns: dict[str, None] = {}
    held: list[Sequence[Any]] = []

    def flush() -> None:
        frame = activities_frame(held)
        where = frame["plot_id"].astype(str).map(chunk_of)
        for i, sub in frame[where.notna()].groupby(where[where.notna()].astype(int), sort=True):
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
