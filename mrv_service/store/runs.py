"""The run registry: one ``Run`` row per ``mrv run``, and the rule that a project runs once at a time.

A run is ``running`` from :func:`start_run` to :func:`finish_run`. The partial unique index
``uq_runs_project_running`` lets the database refuse a second running run of the same project
(SQLite and PostgreSQL alike). A run whose process died (killed, machine restarted) would block
its project for ever; :func:`start_run` therefore checks the recorded process: a run is stale
when it ran on this host and its process no longer exists, or (any host: a Dask worker elsewhere)
when its :func:`heartbeat` stopped more than :data:`STALE_AFTER_S` ago. A stale run is marked
``failed`` and the new run proceeds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.errors import MRVError
from mrv_service.store.audit import append_for_project
from mrv_service.store.db import begin_write
from mrv_service.store.models import Project, Run

__all__ = [
    "RunInProgressError",
    "start_run",
    "adopt_run",
    "fail_if_stale",
    "set_stage",
    "finish_run",
    "latest_run",
    "RUNNING",
    "heartbeat",
    "HEARTBEAT_INTERVAL_S",
    "STALE_AFTER_S",
]

log = logging.getLogger(__name__)

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


class RunInProgressError(MRVError, RuntimeError):
    """Another run of the same project is in progress."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


HEARTBEAT_INTERVAL_S = 10.0
"""How often the process executing a run writes ``runs.heartbeat_at`` [s]."""

STALE_AFTER_S = 300.0
"""A run whose heartbeat is older than this is stale [s]: 30 missed beats. Generous, because a
long compiled step (numba holds the GIL) can delay the heartbeat thread by tens of seconds."""


def _aware(t: dt.datetime) -> dt.datetime:
    """``t`` as an aware UTC time (SQLite returns the stored UTC times without their zone)."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _stale(run: Run, stale_after: float = STALE_AFTER_S) -> bool:
    """A running run whose process is gone: recorded on this host with its pid no longer alive,
    or (on any host) with a heartbeat older than ``stale_after`` [s]. A run queued but not yet
    taken over has no heartbeat; its process is the API server that queued it."""
    if run.heartbeat_at is not None:
        age = (_now() - _aware(run.heartbeat_at)).total_seconds()
        if age > stale_after:
            return True
    return run.hostname == socket.gethostname() and not _process_alive(run.pid)


@contextlib.contextmanager
def heartbeat(engine, run_id: int, interval: float = HEARTBEAT_INTERVAL_S) -> Iterator[None]:
    """Keep ``runs.heartbeat_at`` of a running run fresh while the block executes it: written
    once at entry, then every ``interval`` seconds by a daemon thread (which dies with the
    process, so a killed worker's heartbeat stops). A failed write is logged, never raised."""
    stop = threading.Event()

    def beat() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(
                    update(Run).where(Run.id == run_id, Run.status == RUNNING).values(heartbeat_at=_now())
                )
        except Exception as exc:  # a busy database must not stop the run
            log.warning("heartbeat of run %s not written: %s", run_id, exc)

    def loop() -> None:
        while not stop.wait(interval):
            beat()

    beat()
    thread = threading.Thread(target=loop, name=f"mrv-run-{run_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def start_run(
    session: Session,
    project: Project,
    *,
    stages: Sequence[str],
    seed: int | None,
    out_dir: str,
    actor: str = "cli",
) -> Run:
    """Register a running run of ``project`` (committed) or refuse if one is in progress.

    The start is appended to the audit trail (``run_started``, by ``actor``) in the same
    transaction.

    Raises
    ------
    RunInProgressError
        When another run of the project is running in a live process (or on another host).
    """
    for _attempt in range(3):
        begin_write(session)
        run = Run(
            project_id=project.id,
            status=RUNNING,
            stages=list(stages),
            seed=seed,
            out_dir=out_dir,
            pid=os.getpid(),
            hostname=socket.gethostname(),
            started_at=_now(),
            timings={},
            summary={},
        )
        session.add(run)
        try:
            session.flush()
            append_for_project(
                session,
                project.id,
                action="run_started",
                actor=actor,
                payload={"run_id": run.id, "stages": list(stages), "seed": seed, "out_dir": out_dir},
            )
            session.commit()
            log.info("run %r of project %r started (stages %r)", run.id, project.name, list(stages))
            return run
        except IntegrityError:
            session.rollback()
        begin_write(session)
        other = session.scalars(
            select(Run).where(Run.project_id == project.id, Run.status == RUNNING)
        ).first()
        if other is None:
            continue  # it finished in between: try again
        if _stale(other):
            session.execute(
                update(Run)
                .where(Run.id == other.id, Run.status == RUNNING)
                .values(
                    status=FAILED,
                    finished_at=_now(),
                    error=f"process {other.pid} on {other.hostname} ended without finishing the run "
                    f"(found by run of pid {os.getpid()}); its outputs were not published",
                )
            )
            append_for_project(
                session,
                project.id,
                action="run_failed",
                actor="system",
                payload={"run_id": other.id, "status": FAILED, "error": "process ended without finishing"},
            )
            session.commit()
            log.warning(
                "run %r of project %r was left running by a dead process; marked failed",
                other.id,
                project.name,
            )
            continue
        raise RunInProgressError(
            f"project {project.name!r} has a run in progress (run {other.id}, process {other.pid} on "
            f"{other.hostname}, started {other.started_at:%Y-%m-%d %H:%M:%S} UTC, stage {other.stage or 'starting'}); "
            "wait for it to finish, or stop that process first"
        )
    raise RunInProgressError(f"could not register a run of project {project.name!r}; try again")


def adopt_run(session: Session, project: Project, run_id: int) -> Run:
    """Take over a run registered by :func:`start_run` in another process (the API server): the
    run is recorded as this process's (pid, host), so that its death is found (committed).

    Raises
    ------
    RunInProgressError
        When run ``run_id`` is not a running run of ``project`` (it failed or was cancelled).
    """
    begin_write(session)
    run = session.get(Run, run_id)
    if run is None or run.project_id != project.id or run.status != RUNNING:
        session.rollback()
        raise RunInProgressError(f"run {run_id} of project {project.name!r} is not waiting to run")
    run.pid = os.getpid()
    run.hostname = socket.gethostname()
    session.commit()
    return run


def fail_if_stale(session: Session, run: Run, stale_after: float = STALE_AFTER_S) -> bool:
    """Mark ``run`` failed when it is running but its process is gone (see :func:`_stale`;
    committed); True when it did. Its outputs were never published, so the previous results are
    unchanged."""
    if run.status != RUNNING or not _stale(run, stale_after):
        return False
    begin_write(session)
    done = session.execute(
        update(Run)
        .where(Run.id == run.id, Run.status == RUNNING, Run.pid == run.pid)
        .values(
            status=FAILED,
            finished_at=_now(),
            error=f"process {run.pid} on {run.hostname} ended without finishing the run "
            "(found on a status check); its outputs were not published",
        )
    ).rowcount
    if done:
        append_for_project(
            session,
            run.project_id,
            action="run_failed",
            actor="system",
            payload={"run_id": run.id, "status": FAILED, "error": "process ended without finishing"},
        )
    session.commit()
    session.refresh(run)
    return bool(done)


def set_stage(session: Session, run: Run, stage: str) -> None:
    """Record the stage a run has reached (committed)."""
    session.execute(update(Run).where(Run.id == run.id).values(stage=stage))
    session.commit()


def finish_run(
    session: Session,
    run: Run,
    *,
    ok: bool,
    timings: dict[str, float],
    summary: dict[str, Any] | None = None,
    error: str | None = None,
    actor: str = "cli",
) -> None:
    """Mark a run succeeded or failed with its timings, summary or error (committed), and
    append ``run_finished`` or ``run_failed`` to the audit trail in the same transaction."""
    append_for_project(
        session,
        run.project_id,
        action="run_finished" if ok else "run_failed",
        actor=actor,
        payload={
            "run_id": run.id,
            "status": SUCCEEDED if ok else FAILED,
            "timings_s": {k: round(float(v), 3) for k, v in timings.items()},
            "error": error,
        },
    )
    session.execute(
        update(Run)
        .where(Run.id == run.id)
        .values(
            status=SUCCEEDED if ok else FAILED,
            finished_at=_now(),
            timings={k: round(float(v), 3) for k, v in timings.items()},
            summary=summary or {},
            error=error,
            # a succeeded run is complete in the same commit (a poller never sees it succeeded at 95 %)
            **({"percentage": 100.0} if ok else {}),
        )
    )
    session.commit()


def latest_run(session: Session, project: Project, status: str | None = SUCCEEDED) -> Run | None:
    """The most recent run of the project (with that status)."""
    stmt = select(Run).where(Run.project_id == project.id)
    if status is not None:
        stmt = stmt.where(Run.status == status)
    return session.scalars(stmt.order_by(Run.id.desc()).limit(1)).first()
