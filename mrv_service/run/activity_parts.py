"""A project's activity records written by plot chunk, so that the run's process never holds
them all: the largest input table (27 records per plot in the sample county, 2.8 M rows and
1.1 GiB as one table at 100,000 plots).

:func:`write_activity_parts` takes the store's rows in batches (a server-side cursor inside the
run's snapshot, :func:`mrv_service.store.reads.stream_activities`) and appends each batch's rows to
their chunk's part files; :meth:`ActivityParts.chunk` reads one chunk's records back as the table
:func:`mrv_service.store.reads.load_activities` would give for its plots: the same rows in the same
order, with the whole table's columns.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mrv_service.store.reads import RowsDigest, activities_frame

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
    rows: int

    def chunk(self, i: int) -> pd.DataFrame:
        """Chunk ``i``'s records (an empty table with the columns if it has none)."""
        frames = [pd.read_pickle(self.directory / name, compression=None) for name in self.parts[i]]
        if not frames:
            return pd.DataFrame(columns=list(self.columns))
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return df.reindex(columns=list(self.columns))


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
    rows = 0

    def flush() -> None:
        if not held:
            return
        frame = activities_frame(held)
        columns.update(dict.fromkeys(frame.columns))
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
        held.extend(batch)
        rows += len(batch)
        if len(held) >= FLUSH_ROWS:
            flush()
    flush()
    if not columns:
        columns = dict.fromkeys(activities_frame([]).columns)
    return ActivityParts(directory, tuple(slices), tuple(tuple(p) for p in parts), tuple(columns), rows)
