"""The run registry on SQLite and PostgreSQL: one running run per project, dead runs found."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from mrv_service.store.db import session_scope
from mrv_service.store.projects import get_project
from mrv_service.store.runs import RunInProgressError, finish_run, latest_run, start_run


def test_one_running_run_per_project(engine, project):
    with session_scope(engine) as s:
        p = get_project(s, project)
        first = start_run(s, p, stages=["imagery"], seed=1, out_dir="/tmp/x")
    with session_scope(engine) as s:
        p = get_project(s, project)
        with pytest.raises(
            RunInProgressError, match=rf"has a run in progress \(run {first.id}, process {os.getpid()}"
        ):
            start_run(s, p, stages=["models"], seed=1, out_dir="/tmp/x")
    with session_scope(engine) as s:
        finish_run(s, first, ok=True, timings={"total": 1.5}, summary={"x": 1})
    with session_scope(engine) as s:
        p = get_project(s, project)
        second = start_run(s, p, stages=["models"], seed=2, out_dir="/tmp/x")
        assert second.id > first.id  # (PostgreSQL sequences skip the refused insert's id)
        assert latest_run(s, p).id == first.id  # the latest succeeded one
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM runs WHERE status = 'running'")).scalar_one() == 1


def test_a_run_left_running_by_a_dead_process_is_marked_failed(engine, project):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)  # a process that has ended
    with session_scope(engine) as s:
        p = get_project(s, project)
        run = start_run(s, p, stages=["imagery"], seed=1, out_dir="/tmp/x")
    with engine.begin() as c:
        c.execute(sa.text("UPDATE runs SET pid = :pid WHERE id = :id"), {"pid": dead_pid, "id": run.id})
    with session_scope(engine) as s:
        p = get_project(s, project)
        new = start_run(s, p, stages=["imagery"], seed=1, out_dir="/tmp/x")
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT id, status, error FROM runs ORDER BY id")).all()
    assert [(r[0], r[1]) for r in rows] == [(run.id, "failed"), (new.id, "running")]
    assert f"process {dead_pid}" in rows[0][2] and "ended without finishing the run" in rows[0][2]
