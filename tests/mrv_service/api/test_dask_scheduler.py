"""``MRV_DASK_SCHEDULER``: runs go to an existing Dask scheduler instead of a LocalCluster of the
service. The scheduler and its worker here are separate processes (``dask scheduler`` and
``dask worker``, as on a cluster); the run must execute in that worker process, report its
progress and heartbeat, and succeed."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

RUN_TIMEOUT_S = 600


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def _address(log: Path, proc: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Scheduler at:\s+(tcp://[\d.]+:\d+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        assert proc.poll() is None, log.read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError(f"no scheduler address in {log}")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A ``dask scheduler`` and one ``dask worker`` process with one thread (the run's task and its
    scene tasks share it: the run must hand it back); yields (address, worker pids)."""
    tmp = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    bindir = Path(sys.executable).parent
    sched = _start(
        [
            str(bindir / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--dashboard-address",
            ":0",
        ],
        env,
        tmp / "scheduler.log",
    )
    worker = None
    try:
        address = _address(tmp / "scheduler.log", sched)
        worker = _start(
            [str(bindir / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
            env,
            tmp / "worker.log",
        )
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
            pids = set(client.run(os.getpid).values())
        yield address, pids
    finally:
        for p in (worker, sched):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.mark.slow
def test_a_run_goes_to_the_scheduler_of_mrv_dask_scheduler(api_env, scheduler, monkeypatch):
    from mrv_service.api import create_app
    from mrv_service.config import load_settings

    address, worker_pids = scheduler
    # the address is read from the environment, as `mrv serve` does
    monkeypatch.setenv("MRV_DASK_SCHEDULER", address)
    assert load_settings().dask_scheduler == address
    settings = dataclasses.replace(api_env["settings"], dask_scheduler=address)
    app = create_app(settings, {"TESTING": True})
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {api_env['tokens']['developer']}"}
        pid = api_env["projects"]["sample"]
        r = client.post(f"/api/v1/projects/{pid}/runs", headers=headers, json={})
        assert r.status_code == 202, r.get_data(as_text=True)
        run_id = r.get_json()["id"]
        jobs = app.extensions["mrv"]["jobs"]
        assert jobs._cluster is None  # no LocalCluster of the service's own
        seen_pids, percentages = set(), []
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while True:
            body = client.get(f"/api/v1/projects/{pid}/runs/{run_id}", headers=headers).get_json()
            with app.extensions["mrv"]["engine"].connect() as conn:
                seen_pids.add(
                    conn.execute(sa.text("SELECT pid FROM runs WHERE id = :i"), {"i": run_id}).scalar()
                )
            if body["percentage"] is not None:
                percentages.append(body["percentage"])
            if body["status"] != "running":
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.3)
        assert body["status"] == "succeeded", body
        assert body["percentage"] == 100.0 and body["heartbeat_at"] is not None
        # queued by the server (its pid), then taken over by the dask worker process
        assert seen_pids <= worker_pids | {os.getpid()} and seen_pids & worker_pids
        with app.extensions["mrv"]["engine"].connect() as conn:
            final = conn.execute(sa.text("SELECT pid FROM runs WHERE id = :i"), {"i": run_id}).scalar()
        assert final in worker_pids
        assert percentages == sorted(percentages)
        assert client.get(f"/api/v1/projects/{pid}/documents/pdd.docx", headers=headers).status_code == 200
    finally:
        jobs = app.extensions["mrv"].get("jobs")
        if jobs is not None:
            jobs.close()
        app.extensions["mrv"]["engine"].dispose()
