"""The project Monte Carlo: draws x plots x years of both scenarios through the model chain.

Run: ``.venv/bin/python benchmarks/monte_carlo_project.py [--plots 10000] [--draws 1000]
[--years 20] [--chunk 100]``.

Builds a synthetic project (half the plots switch from plough with straw removed to no-till with
straw mulched, the other half keep ploughing; the sample county's Lishu climate repeated; a
3-year look-back), makes the draws of :func:`models.uncertainty.scenario_draws` and runs
:func:`models.scenarios.monte_carlo_scenarios` (spin-up fitted to each draw's SOC, the surface
residue pool, the tillage modifier and RothC for the baseline and the project, per draw), then
the estimates of :mod:`models.estimate`. Prints the management build time, the Monte Carlo time,
the plot-month steps per second (both scenarios counted), the peak RSS and, last, one line
``monte carlo: D draws x P plots x Y years in S s``. The first (compiling) call runs on a tiny
project and is not timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numba
import numpy as np
import pandas as pd
import xarray as xr

from models.estimate import plot_estimates, project_estimates
from models.scenarios import monte_carlo_scenarios, scenario_management
from models.uncertainty import scenario_draws

# Lishu 1991-2020 temperature normals (shared/domain/lishu.md section 2.1), the sample county's
# precipitation and Hargreaves pan evaporation (docs/CLIMATE_SOURCES.md), rounded
TMP = [-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8]
RAIN = [5, 7, 15, 30, 60, 95, 160, 140, 55, 25, 12, 7]
PAN = [15, 25, 60, 115, 170, 180, 170, 150, 110, 70, 30, 15]


def project(n_plots: int, years: int, start: int = 2024) -> tuple[pd.DataFrame, xr.Dataset, xr.Dataset]:
    rng = np.random.default_rng(7)
    rows = []
    ids = [f"P{i:06d}" for i in range(n_plots)]
    for i, pid in enumerate(ids):
        switch = i % 2 == 0
        y_t = 9.0 + rng.normal(0, 1.0)
        for y in range(start - 3, start + years):
            proj = y >= start and switch
            rows += [
                (pid, f"{y}-04-20", "tillage", "no_till" if proj else "plough", None, None),
                (pid, f"{y}-04-25", "sowing", None, "maize", None),
                (pid, f"{y}-09-30", "harvest", None, "maize", y_t),
                (pid, f"{y}-10-05", "residue", "mulched" if proj else "removed", None, None),
            ]
    acts = pd.DataFrame(rows, columns=["plot_id", "date", "activity", "method", "crop", "yield"])
    acts["date"] = pd.to_datetime(acts["date"])
    acts.loc[acts["method"] == "mulched", "residue_fraction"] = 1.0
    n = years + 3
    months = pd.date_range(f"{start - 3}-01-01", periods=12 * n, freq="MS")
    weather = xr.Dataset(
        {
            "tmp": ("month", np.tile(TMP, n).astype(float), {"units": "degC"}),
            "rain": ("month", np.tile(RAIN, n).astype(float), {"units": "mm"}),
            "evap": ("month", np.tile(PAN, n).astype(float), {"units": "mm"}),
        },
        coords={"month": months},
    )
    soil = xr.Dataset(
        {
            "clay": ("plot", np.full(n_plots, 30.0), {"units": "%"}),
            "soc_initial": ("plot", rng.uniform(35, 55, n_plots), {"units": "t C ha-1"}),
        },
        coords={"plot": ids},
    )
    return acts, weather, soil


def run(n_plots: int, n_draws: int, years: int, chunk: int) -> dict[str, float]:
    acts, weather, soil = project(n_plots, years)
    start = 2024
    kw = dict(
        start=f"{start}-01", end=f"{start + years - 1}-12", project_start=f"{start}-01-01",
        baseline_years=[start - 3, start - 2, start - 1],
    )  # fmt: skip
    t0 = time.perf_counter()
    ids = [str(p) for p in soil["plot"].values]
    mgmt = scenario_management(acts, ids, **kw)
    t1 = time.perf_counter()
    draws = scenario_draws(soil["soc_initial"], n_draws, seed=1, model_error_sd=0.1)
    vint, _litter = monte_carlo_scenarios(acts, weather, soil, draws=draws, management=mgmt, chunk_draws=chunk, **kw)
    area = xr.DataArray(np.full(n_plots, 0.5), dims="plot", coords={"plot": ids})
    plot_estimates(vint, area)
    proj = project_estimates(vint, area)
    t2 = time.perf_counter()
    return {"management_s": t1 - t0, "monte_carlo_s": t2 - t1, "total_mean": proj["total"]["mean"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plots", type=int, default=10_000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=100)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, numba threads {numba.get_num_threads()}, load (1 min) {os.getloadavg()[0]:.2f}")
    t = time.perf_counter()
    run(4, 3, 2, 3)
    print(f"compile / cache load: {time.perf_counter() - t:.1f} s")
    r = run(a.plots, a.draws, a.years, a.chunk)
    steps = 2 * a.draws * a.plots * a.years * 12
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scenario management ({a.plots} plots, {a.years} years + 3 look-back): {r['management_s']:.1f} s")
    print(
        f"Monte Carlo + estimates: {r['monte_carlo_s']:.1f} s, {steps / r['monte_carlo_s']:,.0f} plot-month steps/s "
        f"(baseline and project), chunk {a.chunk} draws, peak RSS {rss:.0f} MiB"
    )
    print(f"monte carlo: {a.draws} draws x {a.plots} plots x {a.years} years in {r['monte_carlo_s']:.1f} s")


if __name__ == "__main__":
    main()
