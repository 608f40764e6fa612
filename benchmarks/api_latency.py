"""Benchmark: p50/p95 latency of the REST API's reads at 1,200 and 100,000 plots.

    .venv/bin/python benchmarks/api_latency.py [--plots 1200 --plots 100000] [--requests 300]

For each size: generates the sample county without imagery (as ``mrv sample create --plots N
--no-imagery``), loads its project and plots into a fresh SQLite store (as ``mrv project create``
and ``mrv ingest plots``), creates an admin and its token, then times with the Flask test client
(in process: the app, its queries and JSON, not the HTTP server):

* ``GET /api/v1/projects/{id}/plots?limit=100&after=X`` at random full pages (``X`` a random plot id);
* ``GET /api/v1/projects/{id}``;
* ``GET /api/v1/projects/{id}/runs/{run_id}`` (a run's status) when the app has the runs
  endpoint: a finished run row is added to the store for it.

Prints the wall time of each preparation step and p50/p95/max per endpoint [ms].
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _time(label: str, func, *args, **kwargs):
    t = time.perf_counter()
    out = func(*args, **kwargs)
    print(f"  {label}: {time.perf_counter() - t:.1f} s", flush=True)
    return out


def prepare(tmp: Path, n_plots: int) -> dict:
    """A store with the generated county's project and plots; returns ids and a token."""
    from mrv_service.config import load_settings
    from mrv_service.ingest import ingest_plots
    from mrv_service.sample import create_sample
    from mrv_service.store.db import init_db, make_engine, session_scope
    from mrv_service.store.models import Plot, Run
    from mrv_service.store.projects import ensure_project_from_json
    from mrv_service.store.users import create_user

    county = tmp / "county"
    _time(
        f"generate county ({n_plots} plots, no imagery)",
        create_sample,
        county,
        n_plots=n_plots,
        imagery=False,
    )
    settings = load_settings({"MRV_DATA_DIR": str(tmp / "data")}, sample_dir=county)
    project_json = json.loads((county / "project.json").read_text(encoding="utf-8"))
    project_json.pop("settings", None)  # the bundled imagery catalog is not there
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as s:
            project = ensure_project_from_json(s, project_json, base_dir=county, org_name="bench")
            name, project_id = project.name, project.id
        with session_scope(engine) as s:
            _time("ingest plots", ingest_plots, s, name, county / "plots.geojson", id_salt=settings.id_salt)
        with session_scope(engine) as s:
            _user, token = create_user(s, "bench", "bench@example.org", "admin")
            plot_ids = [i for (i,) in s.query(Plot.id).filter(Plot.project_id == project_id)]
            run = Run(project_id=project_id, status="succeeded", stages=[], out_dir=str(tmp / "out"))
            s.add(run)
            s.flush()
            run_id = run.id
    finally:
        engine.dispose()
    return {
        "settings": settings,
        "token": token,
        "project_id": project_id,
        "plot_ids": plot_ids,
        "run_id": run_id,
    }


def measure(client, headers, urls: list[str]) -> np.ndarray:
    """Wall time of each GET [ms]; every answer must be 200."""
    times = []
    for url in urls:
        t = time.perf_counter()
        response = client.get(url, headers=headers)
        body = response.get_data()
        times.append((time.perf_counter() - t) * 1000.0)
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code} {body[:300]!r}")
    return np.asarray(times)


def bench(n_plots: int, n_requests: int, seed: int) -> list[tuple[str, np.ndarray]]:
    from mrv_service.api import create_app

    print(f"\n== {n_plots} plots ==", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp), n_plots)
        app = create_app(env["settings"])
        client = app.test_client()
        headers = {"Authorization": f"Bearer {env['token']}"}
        pid = env["project_id"]
        rng = random.Random(seed)
        ids = env["plot_ids"]
        endpoints = {
            f"GET /api/v1/projects/{{id}}/plots?limit=100&after=X ({len(ids)} plots)": [
                f"/api/v1/projects/{pid}/plots?limit=100&after={rng.choice(ids[:-100] or ids)}"
                for _ in range(n_requests)
            ],
            "GET /api/v1/projects/{id}": [f"/api/v1/projects/{pid}"] * n_requests,
        }
        if any(
            r.rule == "/api/v1/projects/<int:project_id>/runs/<int:run_id>" for r in app.url_map.iter_rules()
        ):
            endpoints["GET /api/v1/projects/{id}/runs/{run_id}"] = [
                f"/api/v1/projects/{pid}/runs/{env['run_id']}"
            ] * n_requests
        results = []
        try:
            for label, urls in endpoints.items():
                measure(client, headers, urls[:10])  # warm-up
                results.append((label, measure(client, headers, urls)))
        finally:
            app.extensions["mrv"]["engine"].dispose()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--plots",
        type=int,
        action="append",
        default=None,
        help="plots in the county (repeat; default: 1200 and 100000)",
    )
    ap.add_argument("--requests", type=int, default=300, help="timed requests per endpoint (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = args.plots or [1200, 100_000]
    print("command: " + " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]))
    rows = []
    for n in sizes:
        for label, times in bench(n, args.requests, args.seed):
            rows.append((n, label, times))
    print("\nlatency [ms], Flask test client, SQLite, one thread:")
    print(f"{'plots':>8}  {'p50':>7}  {'p95':>7}  {'max':>7}  {'n':>5}  endpoint")
    for n, label, t in rows:
        p50, p95 = np.percentile(t, [50, 95])
        print(f"{n:>8}  {p50:7.2f}  {p95:7.2f}  {t.max():7.2f}  {len(t):>5}  {label}")


if __name__ == "__main__":
    main()
