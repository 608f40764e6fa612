"""Benchmark: ``mrv run`` on the sample county, per stage, with a cold and a warm numba cache.

    .venv/bin/python benchmarks/run_project.py [--plots 1200] [--sample DIR] [--repeat 2]

Creates the sample county (unless ``--sample`` names one), loads it into a fresh SQLite store
(as ``mrv demo`` does), then runs ``mrv run`` in a new process: first with an empty numba cache
directory (cold: the RothC kernels compile), then again with the same cache (warm). Prints the
wall time of each process (Python start and imports included), the per-stage times the run
records in summary.json, and the peak resident memory of each run process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mrv_service.config import load_settings
from mrv_service.sample import create_sample
from mrv_service.sample.demo import load_sample

PROJECT = "lishu-conservation-tillage"


#: ``mrv run`` in a new interpreter that reports its own peak resident memory [KiB] at exit.
_CHILD = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write(f'MAXRSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "from mrv_service.cli import main\n"
    f"sys.argv = ['mrv', '-q', 'run', {PROJECT!r}]\n"
    "main()\n"
)


def _run(env: dict[str, str], cwd: Path) -> tuple[float, dict, float]:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"mrv run failed:\n{proc.stdout}\n{proc.stderr}")
    rss_kib = max(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("MAXRSS"))
    summary = json.loads((Path(env["MRV_OUTPUT_DIR"]) / PROJECT / "summary.json").read_text(encoding="utf-8"))
    return wall, summary["run"]["timings_s"], rss_kib / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plots", type=int, default=1200, help="plots of the generated county")
    ap.add_argument("--sample", type=Path, default=None, help="an existing sample county directory")
    ap.add_argument("--repeat", type=int, default=2, help="warm runs (the best is printed)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sample = args.sample
        if sample is None:
            sample = tmp / "lishu"
            t = time.perf_counter()
            create_sample(sample, n_plots=args.plots)
            print(f"sample county: {args.plots} plots generated in {time.perf_counter() - t:.1f} s")
        env = {
            "MRV_DATA_DIR": str(tmp / "data"),
            "MRV_DATABASE_URL": f"sqlite:///{tmp / 'mrv.sqlite'}",
            "MRV_OUTPUT_DIR": str(tmp / "out"),
            "MRV_SAMPLE_DIR": str(sample),
            "NUMBA_CACHE_DIR": str(tmp / "numba-cache"),
        }
        t = time.perf_counter()
        load_sample(load_settings(env), echo=lambda _m: None)
        print(f"load (project create + 5 uploads, SQLite): {time.perf_counter() - t:.1f} s")
        rows = [("cold numba cache", *_run(env, tmp))]
        warm = [_run(env, tmp) for _ in range(max(1, args.repeat))]
        rows.append(("warm numba cache", *min(warm, key=lambda r: r[0])))
        stages = ["inputs", "imagery", "models", "total"]
        print(
            f"{'mrv run':<18} {'process':>8} "
            + " ".join(f"{s:>8}" for s in stages)
            + f" {'peak RSS':>9}  [s, MiB]"
        )
        for label, wall, timings, rss in rows:
            print(
                f"{label:<18} {wall:8.1f} "
                + " ".join(f"{timings.get(s, 0):8.2f}" for s in stages)
                + f" {rss:9.0f}"
            )
        cold, hot = rows[0][1], rows[1][1]
        print(
            f"run: {args.plots if args.sample is None else 'given'} plots, cold {cold:.1f} s, warm {hot:.1f} s per mrv run process"
        )


if __name__ == "__main__":
    main()
