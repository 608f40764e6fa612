"""Background runs of the API on Dask.

The API server never runs a project in a request: ``POST /api/v1/projects/{id}/runs`` registers
the run (``running``, in the server's name) and submits :func:`execute_run` to Dask. The worker
takes the run over (:func:`mrv_service.store.runs.adopt_run`: its own pid and host, so that a
worker killed with SIGKILL is found by the stale-run check), runs
:func:`mrv_service.run.runner.run_project` and records progress into the ``runs`` row
(``stage``, ``percentage``). ``DELETE`` of the run sets ``runs.cancel_requested``; the runner's
``stop`` check (:class:`RunTracker`) polls it at every safe point.

Dask: a ``distributed.LocalCluster`` started lazily on the first run (``processes=True``, one
worker process with two threads by default; the app config ``MRV_DASK_PROCESSES=False`` runs the
worker in threads of the server, for tests), or ``Client(MRV_DASK_SCHEDULER)`` when that is set.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select, update

from mrv_service.config import Settings

__all__ = ["RunJobs", "RunTracker", "execute_run", "recover_stale_runs", "stage_percentage"]

log = logging.getLogger(__name__)

#: Share of a run [%] reached when a stage starts and when it ends.
STAGE_SPAN: dict[str, tuple[float, float]] = {
    "inputs": (0.0, 5.0),
    "imagery": (5.0, 45.0),
    "verification": (45.0, 55.0),
    "models": (55.0, 95.0),
}


def stage_percentage(stage: str | None, units: int = 0, total: int | None = None) -> float:
    """How far a run is [0-100] in ``stage`` after ``units`` of work of ``total`` (unknown: an
    asymptotic share of the stage)."""
    lo, hi = STAGE_SPAN.get(stage or "inputs", (0.0, 5.0))
    if units <= 0:
        frac = 0.0
    elif total:
        frac = min(1.0, units / total)
    else:
        frac = units / (units + 20.0)
    return round(lo + (hi - lo) * frac, 1)


class RunTracker:
    """The runner's ``progress`` and ``stop`` of a run on a worker: writes the percentage into the
    ``runs`` row and reads ``cancel_requested`` from it (at most every ``interval`` seconds)."""

    def __init__(self, engine, run_id: int, n_plots: int | None = None, interval: float = 0.5) -> None:
        self.engine = engine
        self.run_id = run_id
        self.n_plots = n_plots
        self.interval = interval
        self.units: dict[str, int] = {}
        self._cancel = False
        self._last = 0.0
        self._lock = threading.Lock()

    def progress(self, stage: str) -> Callable[[int], None]:
        self.units.setdefault(stage, 0)

        def step(n: int = 1) -> None:
            self.units[stage] = self.units.get(stage, 0) + int(n)
            self._sync()

        return step

    def is_set(self) -> bool:
        """The runner's stop check (duck-typed :class:`threading.Event`)."""
        self._sync()
        return self._cancel

    def _sync(self, force: bool = False) -> None:
        from mrv_service.store.models import Run

        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        with self._lock:
            self._last = now
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(Run.stage, Run.cancel_requested, Run.status).where(Run.id == self.run_id)
                ).one_or_none()
                if row is None:
                    return
                self._cancel = bool(row.cancel_requested)
                if row.status != "running":
                    return
                stage = row.stage or "inputs"
                total = self.n_plots if stage == "models" else None
                pct = stage_percentage(stage, self.units.get(stage, 0), total)
                conn.execute(
                    update(Run)
                    .where(Run.id == self.run_id, Run.status == "running")
                    .values(percentage=func.max(func.coalesce(Run.percentage, 0.0), pct))
                    if conn.dialect.name == "sqlite"
                    else update(Run)
                    .where(Run.id == self.run_id, Run.status == "running")
                    .values(percentage=func.greatest(func.coalesce(Run.percentage, 0.0), pct))
                )


def execute_run(
    settings: Settings,
    project_name: str,
    run_id: int,
    stages: Sequence[str] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """The Dask task of a run: run ``project_name`` as the registered run ``run_id``.

    Returns ``{"run_id", "status", "error"}``; every outcome is recorded in the ``runs`` row.
    """
    from mrv_service.run.runner import run_project
    from mrv_service.store.db import make_engine, session_scope
    from mrv_service.store.models import Plot, Run
    from mrv_service.store.runs import RUNNING, finish_run

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            project_id = conn.execute(select(Run.project_id).where(Run.id == run_id)).scalar_one()
            n_plots = conn.execute(
                select(func.count()).select_from(Plot).where(Plot.project_id == project_id)
            ).scalar_one()
        tracker = RunTracker(engine, run_id, n_plots=n_plots or None)
        try:
            run_project(
                settings,
                project_name,
                stages=stages,
                seed=seed,
                progress=tracker.progress,
                stop=tracker,
                run_id=run_id,
            )
        except BaseException as exc:  # recorded in the runs row by run_project (or below)
            log.warning("run %s of project %r failed: %s", run_id, project_name, exc)
            with session_scope(engine) as s:
                run = s.get(Run, run_id)
                if run is not None and run.status == RUNNING and run.error is None:
                    # failed before run_project took the run over
                    finish_run(
                        s, run, ok=False, timings={}, error=f"{type(exc).__name__}: {exc}", actor="api"
                    )
            if not isinstance(exc, Exception):
                raise
            return {"run_id": run_id, "status": "failed", "error": str(exc)}
        return {"run_id": run_id, "status": "succeeded", "error": None}
    finally:
        engine.dispose()


class RunJobs:
    """The Dask client of an app (created on first use) and the runs submitted to it."""

    def __init__(self, settings: Settings, *, processes: bool = True, n_workers: int = 1) -> None:
        self.settings = settings
        self.processes = processes
        self.n_workers = n_workers
        self._client = None
        self._cluster = None
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                from distributed import Client

                from mrv_service.run.cluster import local_cluster

                if self.settings.dask_scheduler:
                    self._client = Client(self.settings.dask_scheduler, timeout="30s")
                else:
                    self._cluster = local_cluster(
                        n_workers=self.n_workers,
                        threads_per_worker=2,
                        processes=self.processes,
                        dashboard_address=":0",
                        silence_logs=logging.WARNING,
                    )
                    self._client = Client(self._cluster)
                atexit.register(self.close)
            return self._client

    def submit(
        self, project_name: str, run_id: int, stages: Sequence[str] | None = None, seed: int | None = None
    ) -> None:
        """Queue the run (it runs even when nobody waits for it)."""
        from distributed import fire_and_forget

        future = self.client.submit(
            execute_run,
            self.settings,
            project_name,
            run_id,
            list(stages) if stages else None,
            seed,
            key=f"mrv-run-{run_id}-{time.time_ns()}",
            pure=False,
        )
        fire_and_forget(future)

    def close(self) -> None:
        atexit.unregister(self.close)
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None


def recover_stale_runs(engine) -> list[int]:
    """Mark failed every running run whose process (on this host) is gone; their outputs were
    never published, so the previous results are unchanged. Called when the app starts."""
    from mrv_service.store.db import session_scope
    from mrv_service.store.models import Run
    from mrv_service.store.runs import RUNNING, fail_if_stale

    failed = []
    with session_scope(engine) as s:
        for run in s.scalars(select(Run).where(Run.status == RUNNING)).all():
            if fail_if_stale(s, run):
                failed.append(run.id)
    return failed
