"""A run's per-plot results in the store (``mrv_service.store.plot_results``), on SQLite and
PostgreSQL: written by block, each plot's flags counted in the database."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from mrv_service.store.db import session_scope
from mrv_service.store.models import Run
from mrv_service.store.plot_results import replace_plot_results
from mrv_service.store.projects import get_project
from mrv_service.store.runs import finish_run, start_run
from mrv_service.store.verification import replace_run_flags

FLAGS = pd.DataFrame(
    {
        "plot_id": ["P1", "P1", "P2", "P3", "P3", "P3"],
        "year": [2024, 2024, 2024, 2025, 2025, 2024],
        "practice": ["tillage", "residue", "tillage", "sowing", "tillage", "residue"],
        "logged": ["no_till", "retained", "no_till", "2025-05-01", "no_till", "retained"],
        "detected": ["conventional", "retained", "no_till", None, None, "retained"],
        "probability": [0.91, 0.8, 0.66, None, None, 0.7],
        "severity": ["critical", "info", "info", "warning", "unverifiable", "info"],
        "reason": ["ploughed", "as logged", "as logged", "no detector", "cloudy", "as logged"],
    }
)
RESULTS = pd.DataFrame(
    {
        "plot_id": ["P1", "P2", "P3", "P4", "P9"],  # P9: a plot deleted since the run read it
        "baseline_practice": ["plough + removed"] * 5,
        "project_practice": ["no_till + mulched", "no_till + mulched", None, "plough + removed", "x"],
        "delta_t_co2e": [1.5, 0.25, -0.5, 0.0, 9.0],
        "net_t_co2e": [1.0, 0.125, -0.75, 0.0, 9.0],
    }
)


def _stored(engine, run_id):
    with engine.connect() as c:
        return c.execute(
            sa.text(
                "SELECT p.external_id, r.project_practice, r.delta_t_co2e, r.net_t_co2e, r.delta_t_co2e_p5, "
                "r.worst_severity, r.n_flags FROM plot_results r JOIN plots p ON p.id = r.plot_id "
                "WHERE r.run_id = :r ORDER BY p.external_id"
            ),
            {"r": run_id},
        ).all()


@pytest.mark.parametrize("keys_per_query", [1, 5_000])
def test_results_are_stored_by_block_with_each_plots_flags_counted(
    engine, with_plots, monkeypatch, keys_per_query
):
    """Each block's plots are matched to their store keys by queries of ``keys_per_query`` ids
    (mrv_service.store.reads.plot_keys): one id per query must give the same rows."""
    monkeypatch.setattr("mrv_service.store.reads.PLOT_KEYS_PER_QUERY", keys_per_query)
    with session_scope(engine) as s:
        run = start_run(s, get_project(s, with_plots), stages=["verify"], seed=0, out_dir="out/run-1")
        finish_run(s, run, ok=True, timings={"verify": 1.0})
        run_id = run.id
    with session_scope(engine) as s:
        replace_run_flags(s, s.get(Run, run_id), FLAGS)

    def blocks():  # blocks of 2 rows: P1 P2 | P3 P4 | P9
        return (RESULTS.iloc[i : i + 2] for i in range(0, len(RESULTS), 2))

    for _ in range(2):  # written twice: one copy
        with session_scope(engine) as s:
            assert replace_plot_results(s, s.get(Run, run_id), blocks) == 4
    # by hand from FLAGS: P1 critical + info; P2 info; P3 warning, unverifiable, info (unverifiable
    # is the most blocking); P4 none. p5 is not in the table: null.
    assert _stored(engine, run_id) == [
        ("P1", "no_till + mulched", 1.5, 1.0, None, "critical", 2),
        ("P2", "no_till + mulched", 0.25, 0.125, None, "info", 1),
        ("P3", None, -0.5, -0.75, None, "unverifiable", 3),
        ("P4", "plough + removed", 0.0, 0.0, None, None, 0),
    ]
    with session_scope(engine) as s:  # the whole table: the same rows
        assert replace_plot_results(s, s.get(Run, run_id), RESULTS) == 4
    assert [r[-2:] for r in _stored(engine, run_id)] == [
        ("critical", 2),
        ("info", 1),
        ("unverifiable", 3),
        (None, 0),
    ]
