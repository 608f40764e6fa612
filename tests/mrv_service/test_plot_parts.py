"""The plots written by chunk (mrv_service.run.plot_parts): each chunk's file holds the whole
table's rows at its positions, whatever the store's batches; the digest is load_plots'; the
bounds are the outlines'."""

from __future__ import annotations

import pandas as pd
import pytest

from mrv_service.run.activity_parts import chunk_slices
from mrv_service.run.plot_parts import write_plot_parts
from mrv_service.store.reads import RowsDigest, plot_digest_rows, plots_frame, rows_digest


def _rows(n: int) -> list[tuple]:
    """Store rows (plot id, area, WKT, farmer, village) of n square plots 0.001 degree wide, the
    k-th at lon 110 + 0.01 k, lat 30."""
    rows = []
    for k in range(n):
        x = 110 + 0.01 * k
        wkt = f"POLYGON (({x} 30, {x + 0.001} 30, {x + 0.001} 30.001, {x} 30.001, {x} 30))"
        rows.append((f"P{k:02d}", 0.1 + k / 100, wkt, f"F{k % 3}", "东村" if k % 2 else "西村"))
    return rows


@pytest.mark.parametrize(("n", "size", "batch"), [(7, 3, 2), (7, 3, 100), (6, 3, 1), (1, 5, 4), (0, 3, 2)])
def test_each_chunk_holds_the_whole_tables_rows_at_its_positions(tmp_path, n, size, batch):
    rows = _rows(n)
    whole = plots_frame(rows)
    digest = RowsDigest()
    parts = write_plot_parts([rows[i : i + batch] for i in range(0, n, batch)], size, tmp_path, digest)
    assert digest.result() == rows_digest(plot_digest_rows(rows))
    assert list(parts.slices) == chunk_slices(n, size) and len(parts) == n
    for i, s in enumerate(parts.slices):
        pd.testing.assert_frame_equal(parts.chunk(i), whole.iloc[s].reset_index(drop=True))
        assert parts.ids(i) == [r[0] for r in rows[s]]
        # lon/lat bounds of the chunk: first plot's west and south, last plot's east and north
        x0, x1 = 110 + 0.01 * s.start, 110 + 0.01 * (s.stop - 1) + 0.001
        assert parts.bounds[i] == pytest.approx((x0, 30, x1, 30.001))
        only = parts.only(i)
        assert len(only) == s.stop - s.start
        pd.testing.assert_frame_equal(only.whole(), parts.chunk(i))
    pd.testing.assert_frame_equal(parts.whole(), whole)
    if n:
        assert parts.total_bounds == pytest.approx((110, 30, 110 + 0.01 * (n - 1) + 0.001, 30.001))
    assert not list(tmp_path.glob(".*"))  # no temporary file left
