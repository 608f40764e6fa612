"""Activity records written by plot chunk (mrv_service.run.activity_parts): each chunk's table is
the whole table's rows of its plots, in the same order and with the same columns, whatever the
batches and flushes; the digest is that of all rows at once."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from mrv_service.run import activity_parts
from mrv_service.run.activity_parts import chunk_slices, write_activity_parts
from mrv_service.store.reads import RowsDigest, activities_frame, rows_digest


def _rows() -> list[tuple]:
    """Store rows (plot, date, natural key, activity, crop, method, attributes) of 9 plots, sorted
    by plot and date like the store's query; plot P3 alone logs diesel, P8 alone a product name."""
    rows = []
    for p in range(9):
        for k in range(5):
            attrs = {"depth_cm": 5.0 + k} if k % 2 else {}
            if p == 3 and k == 0:
                attrs["diesel"] = 12.5
            if p == 8 and k == 4:
                attrs["product"] = "尿素"
            activity = ("tillage", "residue", "fertiliser", "sowing", "harvest")[k]
            rows.append((f"P{p}", dt.date(2024, 4, 1 + k), f"k{k}", activity, "maize", "no_till", attrs))
    return rows


@pytest.mark.parametrize(("size", "flush", "batch"), [(4, 7, 5), (2, 1000, 45), (9, 3, 2), (1, 10, 10)])
def test_each_chunk_holds_the_whole_tables_rows_of_its_plots(tmp_path, monkeypatch, size, flush, batch):
    monkeypatch.setattr(activity_parts, "FLUSH_ROWS", flush)
    rows = _rows()
    whole = activities_frame(rows)
    ids = [f"P{p}" for p in range(9)]
    slices = chunk_slices(len(ids), size)
    digest = RowsDigest()
    batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    parts = write_activity_parts(batches, lambda i: ids[slices[i]], slices, tmp_path, digest)
    assert digest.result() == rows_digest(rows)
    assert digest.result()["rows"] == 45 and parts.columns == tuple(whole.columns)
    got = []
    for i, s in enumerate(slices):
        chunk = parts.chunk(i)
        expected = whole[whole["plot_id"].isin(ids[s])].reset_index(drop=True)
        # a column no row of the chunk has is NaN (float), as reindexing gives it
        pd.testing.assert_frame_equal(chunk, expected, check_dtype=False)
        got.append(chunk)
    assert len(pd.concat(got)) == len(whole)


def test_a_record_of_a_plot_not_in_the_chunks_order_is_refused(tmp_path):
    """The chunk of each record is found by walking the chunks' ids in the rows' order: a plot
    missing from the ids (or rows out of plot order) must stop the run, not drop records."""
    rows = _rows()
    ids = [f"P{p}" for p in range(9) if p != 4]  # P4's records have no plot
    with pytest.raises(ValueError, match="'P4'"):
        write_activity_parts(
            [rows], lambda i: ids[4 * i : 4 * i + 4], chunk_slices(8, 4), tmp_path, RowsDigest()
        )


def test_a_chunk_without_records_is_an_empty_table_with_the_columns(tmp_path):
    rows = [r for r in _rows() if r[0] not in ("P0", "P1", "P2")]
    ids = [f"P{p}" for p in range(9)]
    parts = write_activity_parts(
        [rows], lambda i: ids[3 * i : 3 * i + 3], chunk_slices(9, 3), tmp_path, RowsDigest()
    )
    empty = parts.chunk(0)
    assert empty.empty and list(empty.columns) == list(parts.columns)
    assert len(parts.chunk(1)) == 15


@pytest.mark.parametrize("batch", [3, 100_000])
def test_the_store_streams_the_records_load_activities_reads(
    with_plots, engine, tmp_path, monkeypatch, batch
):
    """On SQLite and PostgreSQL (a server-side cursor): the inputs read by chunk hold, chunk by
    chunk, the records and digest of the whole read."""
    import mrv_service.store.reads as reads
    from mrv_service.ingest import ingest_logs
    from mrv_service.run.inputs import load_project_inputs
    from mrv_service.store.db import session_scope
    from tests.mrv_service.conftest import DATA

    with session_scope(engine) as s:
        ingest_logs(s, with_plots, DATA / "logs_zh.csv")
    real = reads.stream_activities
    monkeypatch.setattr(
        "mrv_service.run.inputs.stream_activities", lambda session, project: real(session, project, batch)
    )
    with session_scope(engine) as s:
        whole = load_project_inputs(s, with_plots)
    with session_scope(engine) as s:
        chunked = load_project_inputs(s, with_plots, by_chunk=(tmp_path / "acts", 3))
    assert chunked.activities is None and len(whole.activities) == 8
    assert chunked.digests == whole.digests
    # the plots too: written by chunk, each chunk the whole table's rows, the run holding none
    assert chunked.plots is None and chunked.n_plots == len(whole.plots) == 4
    plot_chunks = list(chunked.plot_frames())
    assert [len(p) for p in plot_chunks] == [3, 1]
    pd.testing.assert_frame_equal(
        pd.concat(plot_chunks, ignore_index=True), whole.plots.reset_index(drop=True), check_like=False
    )
    assert chunked.plot_parts.total_bounds == tuple(whole.plots.total_bounds)
    pd.testing.assert_frame_equal(chunked.with_plots().plots, whole.plots)
    frames = list(chunked.activity_frames())
    assert [ids for ids, _ in frames] == [["P1", "P2", "P3"], ["P4"]]
    assert sum(len(f) for _, f in frames) == len(whole.activities)
    for ids, frame in frames:
        expected = whole.activities[whole.activities["plot_id"].isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert [ids for ids, _ in whole.activity_frames()] == [["P1", "P2", "P3", "P4"]]
