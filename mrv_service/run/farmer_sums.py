"""``farmers.csv`` of a run by chunk: each chunk's sums per farmer in a file, merged in one pass.

A farmer's plots may fall in several chunks, so the farmers' table needs every chunk's sums.
Each chunk writes its own, sorted by farmer id (:func:`write_farmer_sums`);
:func:`merge_farmer_sums` reads them all at once, row by row, in farmer-id order (a k-way merge,
:func:`heapq.merge`), adds up a farmer's rows as they arrive and writes the table in blocks. The
run's process holds one row per chunk and one block, not one row per farmer (250,000 at a
million plots). The sums are exact integers (:mod:`models.exact_sums`), so the table is the one
:func:`methodology.accounting.farmer_table` makes of all the sums at once, to the byte.
"""

from __future__ import annotations

import csv
import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd

from methodology.accounting import farmer_table

__all__ = ["BLOCK_ROWS", "MAX_OPEN", "merge_farmer_sums", "write_farmer_sums"]

BLOCK_ROWS = 100_000
"""Farmers written to ``farmers.csv`` at a time."""

MAX_OPEN = 200
"""Chunk files merged at once (a province's 5,000 chunks would pass the usual limit of 1,024 open
files): more are merged in groups into files of the same form first."""

_COLUMNS = ("farmer_id", "plots", "net")


def write_farmer_sums(sums: pd.DataFrame, path: Path) -> None:
    """One chunk's sums per farmer (index ``farmer_id``; ``plots``, ``net`` [quanta of t CO2e],
    :func:`mrv_service.run.accounting_stage.accounting_plots`) to ``path``, sorted by farmer id."""
    rows = sums.groupby(level=0, sort=False).sum()
    ids = rows.index.astype(str)
    order = sorted(range(len(ids)), key=ids.__getitem__)  # Python's string order, as the merge's
    plots, net = rows["plots"].to_numpy(np.int64), rows["net"].to_numpy(np.int64)
    _write(path, ((ids[i], int(plots[i]), int(net[i])) for i in order))


def _write(path: Path, rows: Iterable[tuple[str, int, int]]) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(_COLUMNS)
        w.writerows(rows)


def _rows(path: Path) -> Iterator[tuple[str, int, int]]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        r = csv.reader(fh)
        next(r)
        for farmer, plots, net in r:
            yield farmer, int(plots), int(net)


def _summed(paths: Sequence[Path]) -> Iterator[tuple[str, int, int]]:
    """(farmer, plots, net) of every farmer in ``paths``, in farmer order, each summed over them."""
    merged = heapq.merge(*(_rows(p) for p in paths), key=itemgetter(0))
    for farmer, group in itertools.groupby(merged, key=itemgetter(0)):
        p = q = 0
        for _f, a, b in group:
            p += a
            q += b
        yield farmer, p, q


def _in_groups(paths: Sequence[Path]) -> list[Path]:
    """``paths`` merged in groups of :data:`MAX_OPEN` until at most that many remain."""
    paths = list(paths)
    level = 0
    while len(paths) > MAX_OPEN:
        level += 1
        merged = []
        for g in range(0, len(paths), MAX_OPEN):
            target = paths[0].with_name(f"farmer_sums.merge{level}-{g // MAX_OPEN:05d}.csv")
            _write(target, _summed(paths[g : g + MAX_OPEN]))
            merged.append(target)
        paths = merged
    return paths


def merge_farmer_sums(paths: Sequence[Path], out: Path, share: float | None = None) -> int:
    """``farmers.csv`` at ``out`` from the chunks' sums at ``paths`` (module notes; ``share``: the
    farmers' share of the net [0-1], :func:`methodology.accounting.farmer_table`); returns the
    number of farmers."""
    n = 0
    ids: list[str] = []
    plots: list[int] = []
    nets: list[int] = []

    def flush(header: bool) -> None:
        sums = pd.DataFrame(
            {"plots": np.array(plots, dtype=np.int64), "net": np.array(nets, dtype=np.int64)},
            index=pd.Index(ids, dtype=object, name="farmer_id"),
        )
        farmer_table(sums, share).to_csv(out, mode="w" if header else "a", header=header, index=False)
        ids.clear(), plots.clear(), nets.clear()

    for farmer, p, q in _summed(_in_groups(paths)):
        ids.append(farmer), plots.append(p), nets.append(q)
        n += 1
        if len(ids) == BLOCK_ROWS:
            flush(header=n == BLOCK_ROWS)
    if ids or n == 0:
        flush(header=n <= BLOCK_ROWS)
    return n
