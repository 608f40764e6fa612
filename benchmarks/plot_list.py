"""Benchmark: p50/p95 latency of the review pages' plot list at 100,000 plots (SQLite).

    .venv/bin/python benchmarks/plot_list.py [--plots 100000] [--requests 60] [--explain] [--store DIR]

Generates the sample county without imagery and loads its project and plots into a fresh SQLite
store (``benchmarks/api_latency.py``'s ``prepare``: as ``mrv sample create --no-imagery``,
``mrv project create`` and ``mrv ingest plots``; it also adds a finished run row), then fills
that run's ``plot_results`` (one row per plot: credit, practice, worst flag severity, number of
flags) and ``verification_flags`` (5 % of the plot-seasons of 2021-2025 for tillage and residue,
random severities and review states), signs a user in, and times ``GET /projects/{id}/plots``
with the Flask test client (in process: the app, its queries and the template, not the HTTP
server) for several filter and sort combinations, at random pages where the case pages.

Prints p50/p95/max per case [ms] and, last, ``plot list p95 at N plots: X ms``: the p95 of the
slowest case. ``--explain`` prints SQLite's query plan of each case's statements. ``--store DIR``
keeps the generated store in DIR and reuses it on the next call (generating 100,000 plots takes
about two minutes).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import prepare  # noqa: E402  (benchmarks/ is not a package)

PASSWORD = "benchmark password"
SEVERITIES = ("info", "warning", "critical", "unverifiable")
SEVERITY_WEIGHTS = (0.1, 0.4, 0.3, 0.2)
REVIEW_STATES = ("open", "accepted", "rejected", "evidence_requested", "overridden")
REVIEW_WEIGHTS = (0.8, 0.1, 0.04, 0.04, 0.02)
PRACTICES = ("tillage", "residue")
YEARS = range(2021, 2026)
FLAG_SHARE = 0.05


def _time(label: str, func, *args, **kwargs):
    t = time.perf_counter()
    out = func(*args, **kwargs)
    print(f"  {label}: {time.perf_counter() - t:.1f} s", flush=True)
    return out


def fill_results(settings, project_id: int, run_id: int, seed: int) -> dict:
    """The run's flags and plot results (random, seeded); returns a village and a farmer id."""
    from sqlalchemy import insert, select

    from mrv_service.store.db import make_engine, session_scope
    from mrv_service.store.models import Farmer, Plot, PlotResult, VerificationFlag
    from mrv_service.store.users import create_user

    rng = np.random.default_rng(seed)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as s:
            create_user(s, "bench", "pages@example.org", "agronomist", password=PASSWORD)
        with session_scope(engine) as s:
            plot_ids = [i for (i,) in s.execute(select(Plot.id).where(Plot.project_id == project_id))]
            village, farmer = s.execute(
                select(Farmer.village, Farmer.external_id).where(Farmer.project_id == project_id).limit(1)
            ).one()
        flags, worst, count = [], {}, {}
        for pid in plot_ids:
            for year in YEARS:
                for practice in PRACTICES:
                    if rng.random() >= FLAG_SHARE:
                        continue
                    severity = SEVERITIES[rng.choice(4, p=SEVERITY_WEIGHTS)]
                    flags.append(
                        {
                            "run_id": run_id,
                            "project_id": project_id,
                            "plot_id": pid,
                            "season_year": year,
                            "practice": practice,
                            "logged": "no_till" if practice == "tillage" else "mulched",
                            "detected": "tilled" if practice == "tillage" else "removed",
                            "probability": float(rng.uniform(0.5, 1.0)),
                            "severity": severity,
                            "reason": "benchmark flag",
                            "review_status": REVIEW_STATES[rng.choice(5, p=REVIEW_WEIGHTS)],
                        }
                    )
                    count[pid] = count.get(pid, 0) + 1
                    if (
                        SEVERITIES.index(severity) > SEVERITIES.index(worst.get(pid, "info"))
                        or pid not in worst
                    ):
                        worst[pid] = severity
        net = rng.normal(0.3, 0.4, len(plot_ids))
        results = [
            {
                "run_id": run_id,
                "project_id": project_id,
                "plot_id": pid,
                "baseline_practice": "plough + removed",
                "project_practice": ("no_till + mulched", "rotary + removed")[int(rng.random() < 0.3)],
                "delta_t_co2e": float(n) + 0.05,
                "delta_t_co2e_p5": float(n) - 1.0,
                "delta_t_co2e_p95": float(n) + 1.1,
                "net_t_co2e": float(n),
                "worst_severity": worst.get(pid),
                "n_flags": count.get(pid, 0),
            }
            for pid, n in zip(plot_ids, net, strict=True)
        ]
        with engine.begin() as conn:
            for i in range(0, len(flags), 20_000):
                conn.execute(insert(VerificationFlag), flags[i : i + 20_000])
            for i in range(0, len(results), 20_000):
                conn.execute(insert(PlotResult), results[i : i + 20_000])
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")  # as a long-lived store has statistics
    finally:
        engine.dispose()
    print(f"  {len(flags)} flags, {len(results)} plot results", flush=True)
    return {"village": village, "farmer": farmer}


def sign_in(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": "pages@example.org", "password": PASSWORD, "csrf_token": token})
    if r.status_code != 302:
        raise SystemExit(f"sign-in failed: {r.status_code}")


def cases(pid: int, n_plots: int, picks: dict, rng: random.Random) -> dict[str, callable]:
    pages = max(1, (n_plots + 49) // 50)
    base = f"/projects/{pid}/plots"

    def rand_page() -> int:
        return rng.randint(1, pages)

    return {
        "plot id, page 1": lambda: base,
        "plot id, random page": lambda: f"{base}?page={rand_page()}",
        "plot id desc, random page": lambda: f"{base}?sort=plot&desc=1&page={rand_page()}",
        "area desc, page 1": lambda: f"{base}?sort=area&desc=1",
        "area, random page": lambda: f"{base}?sort=area&page={rand_page()}",
        "credit desc, page 1": lambda: f"{base}?sort=credit&desc=1",
        "credit, random page": lambda: f"{base}?sort=credit&page={rand_page()}",
        "severity desc, page 1": lambda: f"{base}?sort=severity&desc=1",
        "village": lambda: f"{base}?village={picks['village']}",
        "farmer": lambda: f"{base}?farmer={picks['farmer']}",
        "severity=critical, credit desc": lambda: f"{base}?severity=critical&sort=credit&desc=1",
        "practice+severity+review=open": lambda: f"{base}?practice=residue&severity=critical&review=open",
        "review=evidence_requested, page 2": lambda: f"{base}?review=evidence_requested&page=2",
        "review=unflagged, area desc, random page": lambda: (
            f"{base}?review=unflagged&sort=area&desc=1&page={rng.randint(1, pages * 9 // 10)}"
        ),
        "village + severity desc": lambda: f"{base}?village={picks['village']}&sort=severity&desc=1",
    }


def explain(app, pid: int, run_id: int, picks: dict) -> None:
    from sqlalchemy import text

    from mrv_service.pages.queries import PlotFilters, list_statements

    combos = {
        "plot id, page 1000": (PlotFilters(), "plot", False, 1000),
        "area desc": (PlotFilters(), "area", True, 1),
        "credit desc, page 1000": (PlotFilters(), "credit", True, 1000),
        "severity desc": (PlotFilters(), "severity", True, 1),
        "village": (PlotFilters(village=picks["village"]), "plot", False, 1),
        "practice+severity+review": (
            PlotFilters(practice="residue", severity="critical", review="open"),
            "plot",
            False,
            1,
        ),
        "unflagged": (PlotFilters(review="unflagged"), "area", True, 1),
    }
    engine = app.extensions["mrv"]["engine"]
    with engine.connect() as conn:
        for label, (filters, sort, desc, page) in combos.items():
            for kind, stmt in list_statements(pid, run_id, filters, sort, desc, page):
                compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
                plan = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
                print(f"\n-- {label} ({kind})")
                for row in plan:
                    print("   ", row[-1])


def _store(root: Path, n_plots: int, seed: int) -> tuple[dict, dict]:
    """A prepared store under ``root`` (reused when ``root/bench.json`` says it has ``n_plots``)."""
    from mrv_service.config import load_settings

    marker = root / "bench.json"
    if marker.is_file():
        saved = json.loads(marker.read_text(encoding="utf-8"))
        if saved["plots"] == n_plots and saved["seed"] == seed:
            print(f"  reusing the store in {root}", flush=True)
            settings = load_settings({"MRV_DATA_DIR": str(root / "data")})
            return {"settings": settings, **saved["env"]}, saved["picks"]
    root.mkdir(parents=True, exist_ok=True)
    env = prepare(root, n_plots)
    picks = _time(
        "flags and plot results", fill_results, env["settings"], env["project_id"], env["run_id"], seed
    )
    saved = {k: env[k] for k in ("project_id", "run_id")}
    marker.write_text(
        json.dumps({"plots": n_plots, "seed": seed, "env": saved, "picks": picks}), encoding="utf-8"
    )
    return env, picks


def bench(root: Path, args) -> list[tuple[str, np.ndarray]]:
    """Time every case on the store under ``root``; returns (case, times [ms]) pairs."""
    from mrv_service.api import create_app

    print(f"\n== {args.plots} plots ==", flush=True)
    env, picks = _store(root, args.plots, args.seed)
    app = create_app(env["settings"])
    rows = []
    try:
        if args.explain:
            explain(app, env["project_id"], env["run_id"], picks)
        client = app.test_client()
        sign_in(client)
        rng = random.Random(args.seed)
        for label, url in cases(env["project_id"], args.plots, picks, rng).items():
            for _ in range(3):  # warm-up
                client.get(url())
            times = []
            for _ in range(args.requests):
                u = url()
                t = time.perf_counter()
                r = client.get(u)
                r.get_data()
                times.append((time.perf_counter() - t) * 1000.0)
                if r.status_code != 200:
                    raise SystemExit(f"GET {u}: {r.status_code}")
            rows.append((label, np.asarray(times)))
    finally:
        app.extensions["mrv"]["engine"].dispose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plots", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=60, help="timed requests per case (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--explain", action="store_true", help="print the query plans")
    ap.add_argument(
        "--store", type=Path, default=None, help="keep (and reuse) the generated store in this folder"
    )
    args = ap.parse_args()
    print("command: " + " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]))
    if args.store is None:
        with tempfile.TemporaryDirectory() as tmp:
            rows = bench(Path(tmp), args)
    else:
        rows = bench(args.store.absolute(), args)
    print(f"\nplot list latency [ms], Flask test client, SQLite, one thread, {args.plots} plots:")
    print(f"{'p50':>8}  {'p95':>8}  {'max':>8}  {'n':>4}  case")
    for label, t in rows:
        p50, p95 = np.percentile(t, [50, 95])
        print(f"{p50:8.1f}  {p95:8.1f}  {t.max():8.1f}  {len(t):>4}  {label}")
    worst = max(float(np.percentile(t, 95)) for _, t in rows)
    print(f"plot list p95 at {args.plots} plots: {worst:.0f} ms")


if __name__ == "__main__":
    main()
