"""Runs over the API (queued on Dask), their progress, cancel, a killed run's recovery, the
results and documents of the latest run; tenant isolation and roles of these endpoints."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.mrv_service.api.test_api import assert_error

RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def runs_app(api_env):
    """The API app with a Dask LocalCluster of one worker process (started on the first run)."""
    from mrv_service.api import create_app

    app = create_app(api_env["settings"], {"TESTING": True, "MRV_DASK_PROCESSES": True})
    yield app
    jobs = app.extensions["mrv"].get("jobs")
    if jobs is not None:
        jobs.close()
    app.extensions["mrv"]["engine"].dispose()


@pytest.fixture
def rclient(runs_app):
    return runs_app.test_client()


def _pid_of_a_dead_process() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _insert_running(app, project_id: int, pid: int) -> int:
    engine = app.extensions["mrv"]["engine"]
    with engine.begin() as conn:
        return conn.execute(
            sa.text(
                "INSERT INTO runs (project_id, status, stages, stage, out_dir, pid, hostname, started_at, "
                "timings, summary, cancel_requested) VALUES (:p, 'running', '[]', 'models', '/nowhere', :pid, "
                ":host, '2026-01-01 00:00:00', '{}', '{}', 0) RETURNING id"
            ),
            {"p": project_id, "pid": pid, "host": socket.gethostname()},
        ).scalar_one()


def _delete_run(app, run_id: int) -> None:
    with app.extensions["mrv"]["engine"].begin() as conn:
        conn.execute(sa.text("DELETE FROM runs WHERE id = :i"), {"i": run_id})


def _wait(client, headers, url: str, timeout: float = RUN_TIMEOUT_S) -> tuple[dict, list[float]]:
    seen: list[float] = []
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        body = r.get_json()
        if body["percentage"] is not None:
            seen.append(body["percentage"])
        if body["status"] != "running":
            return body, seen
        assert time.monotonic() < deadline, f"run still running after {timeout} s: {body}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def finished_run(runs_app, api_env):
    """A run of the sample county started over the API and polled until it ended."""
    client = runs_app.test_client()
    headers = {"Authorization": f"Bearer {api_env['tokens']['developer']}"}
    pid = api_env["projects"]["sample"]
    r = client.post(f"/api/v1/projects/{pid}/runs", headers=headers, json={})
    assert r.status_code == 202, r.get_data(as_text=True)
    run_id = r.get_json()["id"]
    assert r.get_json()["url"] == f"/api/v1/projects/{pid}/runs/{run_id}"
    body, seen = _wait(client, headers, f"/api/v1/projects/{pid}/runs/{run_id}")
    return {"run_id": run_id, "body": body, "seen": seen}


# --- a run through the API ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_completes_with_progress_and_its_documents_download(rclient, auth, api_env, finished_run):
    pid = api_env["projects"]["sample"]
    body, seen = finished_run["body"], finished_run["seen"]
    assert body["status"] == "succeeded", body
    assert body["percentage"] == 100.0 and body["error"] is None
    assert body["stage"] == "models" and body["finished_at"]
    assert {"inputs", "imagery", "models", "total"} <= set(body["timings"])
    assert any(0 < p < 100 for p in seen), seen  # progress was reported while it ran
    assert seen == sorted(seen)
    # listed, newest first
    listing = rclient.get(f"/api/v1/projects/{pid}/runs", headers=auth("viewer")).get_json()
    assert listing["items"][0]["id"] == finished_run["run_id"]
    # the worker was another process (the LocalCluster's), recorded in the run row
    with rclient.application.extensions["mrv"]["engine"].connect() as conn:
        worker_pid = conn.execute(
            sa.text("SELECT pid FROM runs WHERE id = :i"), {"i": finished_run["run_id"]}
        ).scalar_one()
    assert worker_pid != os.getpid()

    results = rclient.get(f"/api/v1/projects/{pid}/results", headers=auth("viewer"))
    assert results.status_code == 200, results.get_data(as_text=True)
    res = results.get_json()
    assert res["run_id"] == finished_run["run_id"]
    assert res["accounting"]["vintages"]
    assert "pdd.docx" in res["documents"]
    assert isinstance(res["flags"], dict)

    docx = rclient.get(f"/api/v1/projects/{pid}/documents/pdd.docx", headers=auth("developer"))
    assert docx.status_code == 200
    assert docx.data[:2] == b"PK"
    assert "attachment" in docx.headers["Content-Disposition"]
    js = rclient.get(f"/api/v1/projects/{pid}/documents/pdd.json", headers=auth("viewer"))
    assert js.status_code == 200 and js.is_json


@pytest.mark.parametrize("name", ["run.log", "summary.json", "..%2Fmrv.sqlite", "pdd.pdf", "figures"])
def test_only_the_fixed_document_names_are_served(rclient, auth, api_env, name):
    pid = api_env["projects"]["sample"]
    r = rclient.get(f"/api/v1/projects/{pid}/documents/{name}", headers=auth())
    assert r.status_code == 404
    assert_error(r, 404)


def test_traversal_paths_do_not_reach_files(rclient, auth, api_env):
    pid = api_env["projects"]["sample"]
    for path in ("../../mrv.sqlite", "figures/x.png", "%2e%2e/summary.json"):
        r = rclient.get(f"/api/v1/projects/{pid}/documents/{path}", headers=auth())
        assert r.status_code == 404, path


# --- concurrency, cancel, killed run ---------------------------------------------------------------


def test_a_second_concurrent_run_is_refused_with_409(rclient, auth, api_env, runs_app):
    pid = api_env["projects"]["sample"]
    busy = _insert_running(runs_app, pid, os.getpid())  # a live process runs it
    try:
        err = assert_error(rclient.post(f"/api/v1/projects/{pid}/runs", headers=auth(), json={}), 409)
        assert err["code"] == "run_in_progress"
        assert f"run {busy}" in err["message"]
        assert err["fix"]
    finally:
        _delete_run(runs_app, busy)


def test_delete_sets_the_stop_flag_of_a_running_run(rclient, auth, api_env, runs_app):
    pid = api_env["projects"]["sample"]
    busy = _insert_running(runs_app, pid, os.getpid())
    try:
        r = rclient.delete(f"/api/v1/projects/{pid}/runs/{busy}", headers=auth("developer"))
        assert r.status_code == 202
        assert r.get_json()["cancel_requested"] is True
        # the worker's stop check reads it
        from mrv_service.api.jobs import RunTracker

        assert RunTracker(runs_app.extensions["mrv"]["engine"], busy).is_set() is True
    finally:
        _delete_run(runs_app, busy)


@pytest.mark.slow
def test_cancel_stops_a_queued_run_and_publishes_nothing(rclient, auth, api_env, finished_run):
    pid = api_env["projects"]["sample"]
    out = Path(rclient.application.extensions["mrv"]["settings"].output_dir)
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("summary.json")}
    r = rclient.post(f"/api/v1/projects/{pid}/runs", headers=auth("developer"), json={"stages": ["imagery"]})
    assert r.status_code == 202, r.get_data(as_text=True)
    run_id = r.get_json()["id"]
    d = rclient.delete(f"/api/v1/projects/{pid}/runs/{run_id}", headers=auth("developer"))
    assert d.status_code == 202
    body, _seen = _wait(rclient, auth("viewer"), f"/api/v1/projects/{pid}/runs/{run_id}")
    assert body["status"] == "failed"
    assert "interrupted" in body["error"] or "not waiting" in body["error"]
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("summary.json")} == before


@pytest.mark.slow
def test_a_killed_run_is_marked_failed_and_the_previous_results_stay(
    rclient, auth, api_env, runs_app, finished_run
):
    pid = api_env["projects"]["sample"]
    before = rclient.get(f"/api/v1/projects/{pid}/documents/pdd.docx", headers=auth()).data
    results_before = rclient.get(f"/api/v1/projects/{pid}/results", headers=auth()).get_json()
    dead = _insert_running(runs_app, pid, _pid_of_a_dead_process())  # its worker was SIGKILLed
    body = rclient.get(f"/api/v1/projects/{pid}/runs/{dead}", headers=auth("viewer")).get_json()
    assert body["status"] == "failed"
    assert "ended without finishing" in body["error"]
    assert (
        hashlib.sha256(
            rclient.get(f"/api/v1/projects/{pid}/documents/pdd.docx", headers=auth()).data
        ).digest()
        == hashlib.sha256(before).digest()
    )
    assert rclient.get(f"/api/v1/projects/{pid}/results", headers=auth()).get_json() == results_before


def test_a_killed_run_is_marked_failed_when_the_service_starts(api_env, runs_app):
    from mrv_service.api import create_app

    pid = api_env["projects"]["sample"]
    dead = _insert_running(runs_app, pid, _pid_of_a_dead_process())
    try:
        app = create_app(api_env["settings"], {"TESTING": True})
        app.extensions["mrv"]["engine"].dispose()
        with runs_app.extensions["mrv"]["engine"].connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM runs WHERE id = :i"), {"i": dead}).scalar_one()
        assert status == "failed"
    finally:
        _delete_run(runs_app, dead)


# --- roles and tenants --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "agronomist"])
def test_readers_cannot_start_or_cancel_a_run(rclient, auth, api_env, runs_app, who):
    pid = api_env["projects"]["sample"]
    assert_error(rclient.post(f"/api/v1/projects/{pid}/runs", headers=auth(who), json={}), 403, "forbidden")
    busy = _insert_running(runs_app, pid, os.getpid())
    try:
        assert_error(rclient.delete(f"/api/v1/projects/{pid}/runs/{busy}", headers=auth(who)), 403)
        assert rclient.get(f"/api/v1/projects/{pid}/runs/{busy}", headers=auth(who)).status_code == 200
    finally:
        _delete_run(runs_app, busy)


def test_every_new_endpoint_is_tenant_isolated(rclient, auth, api_env, runs_app):
    mine, theirs = api_env["projects"]["sample"], api_env["projects"]["other"]
    run_id = _insert_running(runs_app, mine, os.getpid())
    try:
        for who, project in (("other", mine), ("admin", theirs)):
            h = auth(who)
            assert_error(rclient.get(f"/api/v1/projects/{project}/runs", headers=h), 404)
            assert_error(rclient.post(f"/api/v1/projects/{project}/runs", headers=h, json={}), 404)
            assert_error(rclient.get(f"/api/v1/projects/{project}/runs/{run_id}", headers=h), 404)
            assert_error(rclient.delete(f"/api/v1/projects/{project}/runs/{run_id}", headers=h), 404)
            assert_error(rclient.get(f"/api/v1/projects/{project}/results", headers=h), 404)
            for name in ("pdd.docx", "pdd.html", "pdd.json", "reduction_report.json", "nope"):
                assert_error(rclient.get(f"/api/v1/projects/{project}/documents/{name}", headers=h), 404)
        # the other organisation's own project: its run id of ours is not reachable there either
        h = auth("other")
        assert_error(rclient.get(f"/api/v1/projects/{theirs}/runs/{run_id}", headers=h), 404)
        assert_error(rclient.delete(f"/api/v1/projects/{theirs}/runs/{run_id}", headers=h), 404)
        assert rclient.get(f"/api/v1/projects/{theirs}/runs", headers=h).get_json()["items"] == []
        with runs_app.extensions["mrv"]["engine"].connect() as conn:
            assert not conn.execute(
                sa.text("SELECT cancel_requested FROM runs WHERE id = :i"), {"i": run_id}
            ).scalar_one()
    finally:
        _delete_run(runs_app, run_id)


def test_results_before_any_run_is_404(rclient, auth, api_env):
    theirs = api_env["projects"]["other"]
    assert_error(rclient.get(f"/api/v1/projects/{theirs}/results", headers=auth("other")), 404, "no_results")
    assert_error(
        rclient.get(f"/api/v1/projects/{theirs}/documents/pdd.docx", headers=auth("other")), 404, "no_results"
    )


def test_post_validates_stages(rclient, auth, api_env):
    pid = api_env["projects"]["sample"]
    assert_error(rclient.post(f"/api/v1/projects/{pid}/runs", headers=auth(), json={"stages": ["nope"]}), 422)


_WORKER = """
import pickle, sys
from mrv_service.api.jobs import execute_run
settings, name, run_id = pickle.load(open(sys.argv[1], "rb"))
execute_run(settings, name, run_id)
"""


@pytest.mark.slow
def test_a_worker_killed_with_sigkill_ends_failed_and_the_previous_results_stay(
    rclient, auth, api_env, runs_app, finished_run, tmp_path
):
    """A real worker process takes a run over and is killed with SIGKILL mid-way."""
    import pickle
    import signal

    from mrv_service.run.runner import default_out_dir
    from mrv_service.store.db import session_scope
    from mrv_service.store.models import Project
    from mrv_service.store.runs import start_run

    pid = api_env["projects"]["sample"]
    settings = api_env["settings"]
    engine = runs_app.extensions["mrv"]["engine"]
    before = rclient.get(f"/api/v1/projects/{pid}/documents/pdd.docx", headers=auth()).data
    results_before = rclient.get(f"/api/v1/projects/{pid}/results", headers=auth()).get_json()
    with session_scope(engine) as s:
        project = s.get(Project, pid)
        out_dir = default_out_dir(settings, project.name)
        run_id = start_run(
            s, project, stages=["imagery", "verification", "models"], seed=None, out_dir=str(out_dir)
        ).id
        name = project.name
    args = tmp_path / "args.pickle"
    args.write_bytes(pickle.dumps((settings, name, run_id)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, str(args)], env=env)
    try:
        deadline = time.monotonic() + 120
        while True:  # wait until the worker has taken the run over and is computing
            with engine.connect() as conn:
                row = conn.execute(sa.text("SELECT pid, stage FROM runs WHERE id = :i"), {"i": run_id}).one()
            if row.pid == worker.pid and row.stage in ("imagery", "verification", "models"):
                break
            assert worker.poll() is None, "the worker ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    body = rclient.get(f"/api/v1/projects/{pid}/runs/{run_id}", headers=auth("viewer")).get_json()
    assert body["status"] == "failed", body
    assert "ended without finishing" in body["error"]
    after = rclient.get(f"/api/v1/projects/{pid}/documents/pdd.docx", headers=auth()).data
    assert hashlib.sha256(after).digest() == hashlib.sha256(before).digest()
    assert rclient.get(f"/api/v1/projects/{pid}/results", headers=auth()).get_json() == results_before
    # the project can run again (the killed run no longer blocks it)
    with engine.connect() as conn:
        running = conn.execute(
            sa.text("SELECT count(*) FROM runs WHERE project_id = :p AND status = 'running'"), {"p": pid}
        ).scalar_one()
    assert running == 0
