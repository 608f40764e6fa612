"""The run's LocalCluster starts its workers with glibc's malloc thresholds raised
(``mrv_service.run.cluster.WORKER_MALLOC``), and the setting does what it is there for: a worker
keeps a freed scene's array in its heap for the next one instead of returning it to the system.
A chunk's task on the cluster runs numba's kernels on its own thread only (one worker thread is
one core's share)."""

from __future__ import annotations

import os

import pytest

from mrv_service.config import load_settings
from mrv_service.run.cluster import WORKER_MALLOC, ChunkPool, run_cluster, worker_spawn_environ

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

#: One array of 80 MB, above glibc's largest automatic mmap threshold (32 MiB, mallopt(3)).
ARRAY_BYTES = 80_000_000


def _kept_after_free() -> int:
    """Bytes of a freed 80 MB array that the process keeps for its next allocation [B]."""
    import numpy as np
    import psutil

    proc = psutil.Process()
    before = proc.memory_info().rss
    a = np.ones(ARRAY_BYTES // 8)
    a += 1
    del a
    return proc.memory_info().rss - before


def _environ() -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in WORKER_MALLOC}


def test_the_workers_keep_freed_scene_memory_for_the_next_scene(tmp_path, monkeypatch):
    # as a Dask cluster started earlier in this process leaves it (Dask's own default)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    before = _environ()
    env = load_settings(env={"MRV_DASK_WORKERS": "1", "MRV_DATA_DIR": str(tmp_path)})
    with run_cluster(env) as client:
        (seen,) = client.run(_environ).values()
        (kept,) = client.run(_kept_after_free).values()
    assert seen == WORKER_MALLOC
    # Dask's default maps the array afresh and unmaps it when freed: nothing kept, and the next
    # scene's array faults every page in again. Raised, the 80 MB stay in the heap.
    assert kept > 0.9 * ARRAY_BYTES, kept
    assert _environ() == before  # this process's environment is put back


def test_the_spawn_environ_keeps_dasks_other_settings():
    environ = worker_spawn_environ()
    assert environ["OMP_NUM_THREADS"] == "1"  # distributed.yaml's default, kept
    assert environ["MALLOC_TRIM_THRESHOLD_"] == str(1 << 30)


def test_the_services_cluster_starts_its_workers_the_same_way(tmp_path):
    from mrv_service.api.jobs import RunJobs

    before = _environ()
    jobs = RunJobs(load_settings(env={"MRV_DATA_DIR": str(tmp_path)}), processes=True, n_workers=1)
    try:
        (seen,) = jobs.client.run(_environ).values()
        assert _environ() == before
    finally:
        jobs.close()
    assert seen == WORKER_MALLOC


def _kernel_threads(_task: int) -> tuple[int, int]:
    """numba's thread count for this task, and the threads a parallel kernel used."""
    import numba
    import numpy as np

    @numba.njit(parallel=True)
    def thread_ids(n):
        out = np.empty(n, dtype=np.int64)
        for i in numba.prange(n):
            out[i] = numba.get_thread_id()
        return out

    return numba.get_num_threads(), len(set(thread_ids(10_000).tolist()))


def test_a_chunks_task_runs_the_kernels_on_its_own_thread(tmp_path):
    import numba

    cores = numba.config.NUMBA_NUM_THREADS
    if cores < 2:
        pytest.skip("one core: a kernel runs on one thread anyway")
    # in the run's own process (no cluster) the kernels use every core
    assert ChunkPool(None).map(_kernel_threads, int, 1, name="t") == [(cores, cores)]
    env = load_settings(env={"MRV_DASK_WORKERS": "2", "MRV_DATA_DIR": str(tmp_path)})
    with run_cluster(env) as client:
        seen = ChunkPool(client).map(_kernel_threads, int, 4, name="t")
        # outside a chunk's task the worker keeps numba's default
        assert set(client.run(lambda: __import__("numba").get_num_threads()).values()) == {cores}
    assert seen == [(1, 1)] * 4
    assert numba.get_num_threads() == cores
