"""Benchmark: ``mrv run`` end to end on a generated county of 100,000 plots, on 1 and 2 Dask workers.

    .venv/bin/python benchmarks/scale.py [--plots 100000] [--sample DIR] [--workers 1 2]
                                         [--database postgresql+psycopg://USER@HOST:PORT/postgres [--reuse]]

Creates the county with its imagery (``mrv sample create --plots N``, unless ``--sample`` names
one), loads it into a fresh store (SQLite by default; with ``--database``, a new database
``mrv_scale`` on that PostgreSQL server, PostGIS and COPY where available; ``--reuse`` runs on
the county an earlier call left there), then runs
``mrv -q run PROJECT`` in a new process once per worker count, with ``MRV_DASK_WORKERS=N`` (a
LocalCluster of N worker processes, one thread each). While a run goes, the resident memory of the
run's process and of every process it starts (the workers) is sampled every 0.2 s.

Prints, per run: the wall time of each stage (from the run's summary.json) and of the whole
process, plots per second, the peak resident memory of the run's process, of the largest worker
and of all of them together, and of the run's process in each phase (cut at run.log's times); the
cores busy in each phase (CPU time of the run's process and its workers over wall time, and its
kernel share); the file pages the runs read again after the kernel evicted them (a VM that
pages out cold memory on its own, DAMON, makes the COGs and chunk files be read from disk again);
one core's speed just before and after each run (``benchmarks/cores.py``'s arithmetic, 2 s), and
a warning when it moved by more than 10 % (a VM whose cores run at another speed for the second
run gives a ratio that is not the code's); then the speed-up of each stage, and last:
``scale: N plots, 2 workers vs 1: X.XXx`` (whole ``mrv run`` process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

PROJECT = "lishu-conservation-tillage"
STAGES = ("inputs", "imagery", "verification", "models", "documents")


def _sample_memory(
    proc: psutil.Process,
    peaks: dict[int, tuple[str, int]],
    total: list[int],
    stop: threading.Event,
    trace: list[tuple[float, int]],
    cpu: list[tuple[float, float, float]],
):
    """Peak RSS per process of the tree under ``proc`` and of the whole tree [bytes]; ``trace``
    gets (time, RSS of the run's process) of every sample, ``cpu`` (time, CPU seconds of the
    whole tree, of which system)."""
    seen: dict[int, tuple[float, float]] = {}
    while not stop.is_set():
        try:
            tree = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        now = 0
        for p in tree:
            try:
                rss = p.memory_info().rss
                kind = "run" if p.pid == proc.pid else ("worker" if _is_worker(p) else "other")
                times = p.cpu_times()
            except psutil.Error:
                continue
            now += rss
            seen[p.pid] = (times.user + times.system, times.system)
            if kind == "run":
                trace.append((time.time(), rss))
            if rss > peaks.get(p.pid, ("", 0))[1]:
                peaks[p.pid] = (kind, rss)
        total[0] = max(total[0], now)
        # a process that has ended keeps its last CPU times in the sum
        cpu.append((time.time(), sum(c for c, _k in seen.values()), sum(k for _c, k in seen.values())))
        stop.wait(0.2)


def _is_worker(p: psutil.Process) -> bool:
    """A Dask worker process: spawned by a nanny of the run's LocalCluster (``spawn_main``), not
    multiprocessing's resource tracker."""
    try:
        return "spawn_main" in " ".join(p.cmdline())
    except psutil.Error:
        return False


def _refaults() -> int | None:
    """File pages read again after the kernel evicted them, since boot (``/proc/vmstat``
    ``workingset_refault_file``; None where it is not reported)."""
    try:
        for line in Path("/proc/vmstat").read_text(encoding="ascii").splitlines():
            key, _, value = line.partition(" ")
            if key == "workingset_refault_file":
                return int(value)
    except OSError:
        pass
    return None


def _proactive_reclaim() -> str | None:
    """What the kernel's DAMON does on its own, when it pages out cold memory (a VM's proactive
    reclaim), else None."""
    root = Path("/sys/kernel/mm/damon/admin/kdamonds")
    try:
        for state in root.glob("*/state"):
            if state.read_text(encoding="ascii").strip() != "on":
                continue
            for action in state.parent.glob("contexts/*/schemes/*/action"):
                if action.read_text(encoding="ascii").strip() == "pageout":
                    quotas = action.parent / "quotas"
                    mib = int((quotas / "bytes").read_text(encoding="ascii")) / 2**20
                    ms = int((quotas / "reset_interval_ms").read_text(encoding="ascii"))
                    return f"the kernel's DAMON pages out cold file pages, up to {mib:.0f} MiB per {ms} ms"
    except (OSError, ValueError):
        return None
    return None


def _run(env: dict[str, str], workers: int) -> dict:
    run_env = {**os.environ, **env, "MRV_DASK_WORKERS": str(workers)}
    refaults = _refaults()
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mrv_service.cli", "-q", "run", PROJECT],
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peaks: dict[int, tuple[str, int]] = {}
    total = [0]
    trace: list[tuple[float, int]] = []
    cpu: list[tuple[float, float, float]] = []
    stop = threading.Event()
    sampler = threading.Thread(
        target=_sample_memory, args=(psutil.Process(proc.pid), peaks, total, stop, trace, cpu), daemon=True
    )
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"mrv run failed ({workers} workers):\n{out}\n{err}")
    summary = json.loads((Path(env["MRV_OUTPUT_DIR"]) / PROJECT / "summary.json").read_text(encoding="utf-8"))
    gib = 1024.0**3
    after = _refaults()
    reread = (
        None if refaults is None or after is None else (after - refaults) * os.sysconf("SC_PAGE_SIZE") / gib
    )
    worker_peaks = [rss for kind, rss in peaks.values() if kind == "worker"]
    marks = _phase_marks(Path(env["MRV_OUTPUT_DIR"]) / PROJECT / "run.log")
    return {
        "workers": workers,
        "reread_gib": reread,
        "wall": wall,
        "stages": summary["run"]["timings_s"],
        "run_peak_gib": max((rss for kind, rss in peaks.values() if kind == "run"), default=0) / gib,
        "worker_peak_gib": max(worker_peaks, default=0) / gib,
        "total_peak_gib": total[0] / gib,
        "credited": summary["accounting"]["credited_t_co2e"],
        "run_phase_gib": _phase_peaks(marks, trace),
        "phase_cores": _phase_cores(marks, cpu),
        "imagery_parts": [
            line.split(" INFO ", 1)[1]
            for line in (Path(env["MRV_OUTPUT_DIR"]) / PROJECT / "run.log")
            .read_text(encoding="utf-8")
            .splitlines()
            if " INFO imagery: " in line or " INFO models: " in line
        ],
    }


PHASES = ("inputs", "imagery", "verification", "models", "documents", "publish")


def _phase_marks(run_log: Path) -> list[tuple[float, str]]:
    """(time, phase) where each phase starts, from run.log's times (to the second): a stage's
    start, the documents after the models, the publish after 'complete'."""
    import datetime as dt
    import re

    marks: list[tuple[float, str]] = []
    for line in run_log.read_text(encoding="utf-8").splitlines():
        m = re.match(r"(\S+) INFO (?:stage (\w+): started|stage models: done|run \d+: complete)", line)
        if not m:
            continue
        when = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").timestamp()
        phase = m.group(2) or ("documents" if "models: done" in line else "publish")
        marks.append((when, phase))
    return marks


def _phase_of(t: float, marks: list[tuple[float, str]]) -> str:
    phase = "inputs"
    for when, name in marks:
        if t >= when:
            phase = name
    return phase


def _phase_peaks(marks: list[tuple[float, str]], trace: list[tuple[float, int]]) -> dict[str, float]:
    """Peak RSS of the run's process in each phase [GiB]."""
    out: dict[str, float] = {}
    for t, rss in trace:
        phase = _phase_of(t, marks)
        out[phase] = max(out.get(phase, 0.0), rss / 1024.0**3)
    return out


def _phase_cores(
    marks: list[tuple[float, str]], cpu: list[tuple[float, float, float]]
) -> dict[str, tuple[float, float]]:
    """Cores busy in each phase, all processes of the run together (CPU seconds over wall
    seconds, between the phase's first and last sample), and the share of it in the kernel."""
    spans: dict[str, list[tuple[float, float, float]]] = {}
    for sample in cpu:
        spans.setdefault(_phase_of(sample[0], marks), []).append(sample)
    out = {}
    for phase, s in spans.items():
        (t0, c0, k0), (t1, c1, k1) = s[0], s[-1]
        if t1 - t0 >= 1.0:
            out[phase] = ((c1 - c0) / (t1 - t0), (k1 - k0) / (c1 - c0) if c1 > c0 else 0.0)
    return out


def _database(url: str | None, tmp: Path, *, fresh: bool = True) -> str:
    if not url:
        return f"sqlite:///{tmp / 'mrv.sqlite'}"
    import sqlalchemy as sa

    if fresh:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(sa.text("DROP DATABASE IF EXISTS mrv_scale WITH (FORCE)"))
            c.execute(sa.text("CREATE DATABASE mrv_scale"))
        engine.dispose()
    return str(sa.engine.make_url(url).set(database="mrv_scale").render_as_string(hide_password=False))


def _core_speed(seconds: float = 2.0) -> float:
    """One core's speed now: :func:`cores._arithmetic` (``benchmarks/cores.py``) in this process."""
    if str(Path(__file__).parent) not in sys.path:
        sys.path.insert(0, str(Path(__file__).parent))
    from cores import _arithmetic

    return _arithmetic(seconds, "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plots", type=int, default=100_000, help="plots of the generated county")
    ap.add_argument("--sample", type=Path, default=None, help="an existing sample county directory")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run")
    ap.add_argument("--database", default=None, help="a PostgreSQL server URL (default: SQLite)")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="with --database: run on the county a previous run of this benchmark left in mrv_scale (no load)",
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="keep the runs' outputs here (default: a temporary folder)"
    )
    args = ap.parse_args()

    from mrv_service.config import load_settings
    from mrv_service.sample.demo import load_sample

    with tempfile.TemporaryDirectory(prefix="mrv-scale-") as tmp:
        tmp = Path(tmp)
        sample = args.sample
        n_plots = args.plots
        if sample is None:
            sample = tmp / "lishu"
            t = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mrv_service.cli",
                    "sample",
                    "create",
                    "--plots",
                    str(n_plots),
                    "--no-progress",
                    str(sample),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            size = sum(f.stat().st_size for f in (sample / "imagery").rglob("*") if f.is_file()) / 1024.0**3
            print(
                f"sample county: {n_plots} plots, imagery {size:.1f} GiB, generated in {time.perf_counter() - t:.0f} s"
            )
        else:
            n_plots = len(json.loads((sample / "plots.geojson").read_text(encoding="utf-8"))["features"])
        env = {
            "MRV_DATA_DIR": str(tmp / "data"),
            "MRV_DATABASE_URL": _database(args.database, tmp, fresh=not (args.reuse and args.database)),
            "MRV_OUTPUT_DIR": str(args.out or tmp / "out"),
            "MRV_SAMPLE_DIR": str(sample),
            "MRV_STAC_URL": "",
        }
        db = "PostgreSQL" if args.database else "SQLite"
        if args.reuse and args.database:
            print(f"load: skipped, the county in {db} database mrv_scale is reused")
        else:
            t = time.perf_counter()
            load_sample(load_settings(env), echo=lambda _m: None)
            print(f"load (project create + 5 uploads, {db}): {time.perf_counter() - t:.0f} s", flush=True)
        runs = []
        for n in args.workers:
            before = _core_speed()
            runs.append({**_run(env, n), "speed": (before, _core_speed())})

    print(
        f"{'workers':>7} " + " ".join(f"{s:>12}" for s in STAGES) + f" {'mrv run':>9} {'plots/s':>8}"
        f" {'run GiB':>8} {'worker GiB':>10} {'all GiB':>8}   [s unless stated]"
    )
    for r in runs:
        print(
            f"{r['workers']:>7} "
            + " ".join(f"{r['stages'].get(s, 0):>12.1f}" for s in STAGES)
            + f" {r['wall']:>9.1f} {n_plots / r['wall']:>8.1f} {r['run_peak_gib']:>8.2f} {r['worker_peak_gib']:>10.2f}"
            f" {r['total_peak_gib']:>8.2f}"
        )
    print(
        "peak RSS of the run's process by phase [GiB]: "
        + "; ".join(
            f"{r['workers']} worker(s): "
            + ", ".join(f"{k} {r['run_phase_gib'].get(k, 0):.2f}" for k in PHASES)
            for r in runs
        )
    )
    print(
        "cores busy by phase (CPU s / wall s of the run's processes; kernel share): "
        + "; ".join(
            f"{r['workers']} worker(s): "
            + ", ".join(
                f"{k} {r['phase_cores'][k][0]:.2f} ({r['phase_cores'][k][1]:.0%})"
                for k in PHASES
                if k in r["phase_cores"]
            )
            for r in runs
        )
    )
    for r in runs:
        for line in r["imagery_parts"]:
            print(f"{r['workers']} worker(s): {line}")
    reclaim = _proactive_reclaim()
    print(
        "file pages read again after eviction: "
        + "; ".join(
            f"{r['workers']} worker(s) {r['reread_gib']:.1f} GiB"
            if r["reread_gib"] is not None
            else "not reported"
            for r in runs
        )
        + (f" ({reclaim})" if reclaim else "")
    )
    print(
        "one core's speed before / after each run (benchmarks/cores.py arithmetic, loops/s): "
        + "; ".join(f"{r['workers']} worker(s) {r['speed'][0]:.1f} / {r['speed'][1]:.1f}" for r in runs)
    )
    speeds = [x for r in runs for x in r["speed"]]
    if max(speeds) > 1.1 * min(speeds):
        print(
            "  the machine's speed changed by more than 10 % between the runs: their ratios mix the code's "
            "scaling with the machine's (a virtual machine's core speed follows its host's load)"
        )
    credited = {r["credited"] for r in runs}
    print(
        f"credited t CO2e: {sorted(credited)} ({'identical' if len(credited) == 1 else 'DIFFERENT'} across runs)"
    )
    by = {r["workers"]: r for r in runs}
    if 1 in by and 2 in by:
        one, two = by[1], by[2]
        for s in STAGES:
            a, b = one["stages"].get(s, 0), two["stages"].get(s, 0)
            if a and b:
                print(f"  {s:<12} {a:8.1f} s -> {b:8.1f} s: {a / b:.2f}x")
        print(f"scale: {n_plots} plots, 2 workers vs 1: {one['wall'] / two['wall']:.2f}x")


if __name__ == "__main__":
    main()
