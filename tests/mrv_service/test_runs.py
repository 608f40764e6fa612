"""The run registry on SQLite and PostgreSQL: one running run per project, dead runs found."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

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


# --- heartbeat: a run on another host ------------------------------------------------------------


def _running_row(engine, project_id: int, *, host: str, pid: int, heartbeat) -> int:
    from mrv_service.store.models import Run

    with engine.begin() as conn:
        return conn.execute(
            sa.insert(Run)
            .values(
                project_id=project_id,
                status="running",
                stages=[],
                out_dir="/nowhere",
                pid=pid,
                hostname=host,
                started_at=dt.datetime.now(dt.UTC),
                heartbeat_at=heartbeat,
                timings={},
                summary={},
            )
            .returning(Run.id)
        ).scalar_one()


@pytest.mark.parametrize(
    ("host", "beat_age_s", "stale"),
    [
        ("worker-7.example", 400.0, True),  # another host, heartbeat stopped 400 s ago (> 300 s)
        ("worker-7.example", 20.0, False),  # another host, beating: its pid cannot be checked here
        ("worker-7.example", None, False),  # queued, not yet taken over: no heartbeat yet
        ("this host", 20.0, True),  # this host: a dead pid is stale at once, heartbeat or not
    ],
)
def test_a_run_on_another_host_is_stale_when_its_heartbeat_stops(engine, project, host, beat_age_s, stale):
    from mrv_service.store.models import Run
    from mrv_service.store.runs import fail_if_stale

    with session_scope(engine) as s:
        project_id = get_project(s, project).id
    now = dt.datetime.now(dt.UTC)
    beat = None if beat_age_s is None else now - dt.timedelta(seconds=beat_age_s)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    run_id = _running_row(
        engine,
        project_id,
        host=socket.gethostname() if host == "this host" else host,
        pid=pid,
        heartbeat=beat,
    )
    try:
        with session_scope(engine) as s:
            assert fail_if_stale(s, s.get(Run, run_id)) is stale
            assert s.get(Run, run_id).status == ("failed" if stale else "running")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(Run).where(Run.id == run_id))


def test_heartbeat_keeps_the_row_fresh_and_stops_with_the_block(engine, project):
    from mrv_service.store.models import Run
    from mrv_service.store.runs import heartbeat

    with session_scope(engine) as s:
        project_id = get_project(s, project).id
    run_id = _running_row(engine, project_id, host="worker-7.example", pid=1, heartbeat=None)

    def beat_at():
        with engine.connect() as conn:
            return conn.execute(sa.select(Run.heartbeat_at).where(Run.id == run_id)).scalar_one()

    try:
        with heartbeat(engine, run_id, interval=0.05):
            first = beat_at()
            assert first is not None  # written at entry
            time.sleep(0.3)
            assert beat_at() > first  # and again by the thread
        last = beat_at()
        time.sleep(0.2)
        assert beat_at() == last  # stopped with the block
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(Run).where(Run.id == run_id))
