"""Where a run's work runs: in its own process, on a local Dask cluster, or on a Dask scheduler.

:func:`run_cluster` gives the run a :class:`distributed.Client` (or None) from the settings:

* inside a Dask task (a run the service queued, on its LocalCluster or on ``MRV_DASK_SCHEDULER``):
  the worker's own client, which hands the task's thread back while the run's tasks run (a worker
  with one thread would otherwise wait on itself for ever);
* ``MRV_DASK_SCHEDULER``: a client of that scheduler;
* ``MRV_DASK_WORKERS=N``: a ``LocalCluster`` of N worker processes, one thread each, for the run,
  started with :data:`WORKER_MALLOC` (set the same in the workers' Dask configuration on a
  scheduler of your own: ``docs/SCALE.md``);
* neither: None, the run's own process (local threads for the imagery).

:class:`ChunkPool` maps a task function over chunks on that client, or in the process, and
returns the results in chunk order. On a cluster each task runs the compiled kernels on its own
thread only (:func:`on_its_thread`): Dask gives a run its parallelism across tasks, one per worker
thread. A worker that dies mid-task loses nothing: the scheduler runs
the task again elsewhere (``distributed.scheduler.allowed-failures``), and every task writes its
files under their final names with an atomic rename, so a second execution rewrites the same bytes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mrv_service.config import Settings
from mrv_service.run.stages import RunNotReadyError

__all__ = [
    "WORKER_MALLOC",
    "ChunkPool",
    "atomic_write",
    "local_cluster",
    "on_its_thread",
    "run_cluster",
    "worker_spawn_environ",
]

log = logging.getLogger(__name__)

#: glibc's malloc thresholds for the run's worker processes [bytes] (``mallopt(3)``:
#: ``M_TRIM_THRESHOLD``, ``M_MMAP_THRESHOLD``; read from the environment when a process starts).
#: Dask's default, ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.yaml``, "Automatically trim
#: memory" in Dask's worker-memory guide), returns every freed scene's arrays to the system, and
#: glibc maps any array above 32 MiB afresh: each scene's pages are faulted in again, some 36,000
#: faults/s per worker, and two workers contend in the kernel (46 % system time at 100,000 plots,
#: ``docs/SCALE.md``). Freed memory up to 1 GiB stays in the worker's heap for the next scene
#: instead; a worker's peak rises by about 0.3 GiB.
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 30)}


def worker_spawn_environ() -> dict[str, str]:
    """Dask's ``distributed.nanny.pre-spawn-environ`` with :data:`WORKER_MALLOC` over it."""
    import dask

    base = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    return {**{k: str(v) for k, v in base.items()}, **WORKER_MALLOC}


def local_cluster(**kwargs: Any) -> Any:
    """A :class:`distributed.LocalCluster` (``kwargs``) whose worker processes start with
    :data:`WORKER_MALLOC` (the run's cluster and the service's)."""
    from distributed import LocalCluster

    with _spawn_environ(worker_spawn_environ()):
        return LocalCluster(**kwargs)


@contextlib.contextmanager
def _spawn_environ(values: dict[str, str]) -> Iterator[None]:
    """Dask's nannies set ``values`` in this process's environment before they start a worker
    (the settings must be there when the worker process starts); put it back once they have
    started, so that a program this process starts later does not inherit them."""
    import dask

    before = {k: os.environ.get(k) for k in values}
    # Dask lets a variable already in the environment win over its configuration, and a cluster
    # started earlier in this process leaves its values there: set them here too
    os.environ.update(values)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": values}):
            yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def run_cluster(env: Settings) -> Iterator[Any]:
    """The run's Dask client, or None (module notes)."""
    from distributed import Client, get_worker, worker_client

    try:
        get_worker()
    except ValueError:  # not inside a Dask task
        pass
    else:  # a run the service queued: its tasks go to the cluster it runs on
        with worker_client() as client:
            yield client
        return
    if env.dask_scheduler:
        try:
            client = Client(env.dask_scheduler, timeout="30s")
        except OSError as exc:
            raise RunNotReadyError(
                f"the Dask scheduler MRV_DASK_SCHEDULER={env.dask_scheduler!r} is unreachable ({exc}); "
                "start it or unset MRV_DASK_SCHEDULER to run on local threads"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    if env.dask_workers:
        cluster = local_cluster(
            n_workers=env.dask_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # None still binds Dask's 8787 (the scheduler's HTTP routes)
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    yield None


def on_its_thread(fn: Callable[[Any], Any], task: Any) -> Any:
    """``fn(task)`` with numba's parallel kernels (the RothC runs, the spin-up, the Monte Carlo
    draws) on the calling thread only, then numba's thread count as it was.

    A Dask worker thread is one core's share of the cluster (workers x threads = cores): a kernel
    that started a thread per core of the machine in every task would make each worker use them
    all, so that one worker did the work of two and two oversubscribed the cores. This is the rule
    Dask applies to OpenMP, MKL and OpenBLAS (``OMP_NUM_THREADS=1`` and the others in
    ``distributed.nanny.pre-spawn-environ``, ``distributed.yaml``) for numba, whose default is one
    thread per core (``NUMBA_NUM_THREADS``). ``numba.set_num_threads`` holds for the calling
    thread only ("Setting the Number of Threads", numba's parallel guide); ``NUMBA_NUM_THREADS``
    cannot be used instead, because numba refuses a new value once its threads have started."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn(task)
    finally:
        numba.set_num_threads(before)


class ChunkPool:
    """Runs a task function over chunks on a Dask client, or one after another in this process."""

    def __init__(self, client: Any = None, *, label: str = "run"):
        self.client = client
        self.label = label

    @property
    def workers(self) -> int:
        """Dask workers (0 in this process)."""
        if self.client is None:
            return 0
        return len(self.client.scheduler_info().get("workers", {}))

    def map(
        self,
        fn: Callable[[Any], Any],
        make_task: Callable[[int], Any],
        n_tasks: int,
        *,
        name: str,
        done: Callable[[int], Any] | None = None,
    ) -> list[Any]:
        """``[fn(make_task(i)) for i in range(n_tasks)]``; ``done(i)`` after each task (a safe
        point to stop: it may raise, which cancels the tasks not yet run).

        On a cluster at most :attr:`in_flight` tasks are submitted at a time, each made just
        before it is submitted: the client never holds every chunk's inputs at once."""
        if self.client is None:
            out = []
            for i in range(n_tasks):
                out.append(fn(make_task(i)))
                if done is not None:
                    done(i)
            return out
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        results: list[Any] = [None] * n_tasks
        index: dict[str, int] = {}

        def submit(i: int) -> Any:
            fut = self.client.submit(
                on_its_thread, fn, make_task(i), key=f"{name}-{self.label}-{token}-{i:05d}", pure=False
            )
            index[fut.key] = i
            return fut

        queue = as_completed()
        submitted = []
        nxt = 0
        limit = self.in_flight
        try:
            while nxt < min(n_tasks, limit):
                submitted.append(submit(nxt))
                queue.add(submitted[-1])
                nxt += 1
            for fut in queue:
                i = index[fut.key]
                results[i] = fut.result()
                fut.release()
                if done is not None:
                    done(i)
                if nxt < n_tasks:
                    submitted.append(submit(nxt))
                    queue.add(submitted[-1])
                    nxt += 1
        except BaseException:
            self.client.cancel(submitted)
            raise
        return results

    @property
    def in_flight(self) -> int:
        """Tasks submitted at once: two per worker (one running, one ready), at least two."""
        return max(2, 2 * self.workers)


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` beside ``path``, then rename it to ``path`` (a rerun replaces it whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
