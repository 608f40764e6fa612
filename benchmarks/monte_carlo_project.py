"""The project Monte Carlo: draws x plots x years of both scenarios through the model chain.

Run: ``.venv/bin/python benchmarks/monte_carlo_project.py [--plots 10000] [--draws 1000]
[--years 20] [--plot-chunk 1000] [--switching 1.0]``.

Builds a synthetic project (sowing 15 April - 10 May and harvest 20 September - 10 October per
plot, so plots differ in their months of plant cover; by default EVERY plot switches from plough with straw removed to
no-till with straw mulched, so every plot runs both scenarios: the worst case; plots that keep
their practice get exactly zero without running; the sample county's Lishu climate repeated; a
3-year look-back), builds both scenarios' management (:func:`models.scenarios.scenario_management`),
makes the draws of :func:`models.uncertainty.scenario_draws`, then, a chunk of plots at a time,
runs :func:`models.scenarios.monte_carlo_scenarios` (the compiled pass of
:mod:`models.scenario_montecarlo`: spin-up fitted to each draw's SOC, the surface residue pool,
the tillage modifier and RothC for the baseline and the project), adds the model error and makes
the per-plot estimates and the project's per-draw sums (:mod:`models.estimate`). Prints the
management build time, the Monte Carlo time, the plot-month steps per second (both scenarios
counted), the peak RSS and, last, one line ``monte carlo: D draws x P plots x Y years in S s``.
The first (compiling) call runs on a tiny project and is not timed.
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

from models import calibration
from models.chain import SoilCarbonParameters
from models.estimate import add_model_error, interval, plot_estimates
from models.scenarios import ScenarioManagement, monte_carlo_scenarios, scenario_management
from models.uncertainty import scenario_draws
from models.units import C_TO_CO2

# Lishu 1991-2020 temperature normals (shared/domain/lishu.md section 2.1), the sample county's
# precipitation and Hargreaves pan evaporation (docs/CLIMATE_SOURCES.md), rounded
TMP = [-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8]
RAIN = [5, 7, 15, 30, 60, 95, 160, 140, 55, 25, 12, 7]
PAN = [15, 25, 60, 115, 170, 180, 170, 150, 110, 70, 30, 15]


def project(
    n_plots: int, years: int, start: int = 2024, switching: float = 1.0
) -> tuple[pd.DataFrame, xr.Dataset, xr.Dataset]:
    rng = np.random.default_rng(7)
    rows = []
    ids = [f"P{i:06d}" for i in range(n_plots)]
    n_switch = round(switching * n_plots)
    for i, pid in enumerate(ids):
        switch = i < n_switch
        y_t = 9.0 + rng.normal(0, 1.0)
        sow_day = int(rng.integers(0, 26))  # sown 15 April - 10 May, harvested 20 September - 10 October
        harvest_day = int(rng.integers(0, 21))
        for y in range(start - 3, start + years):
            proj = y >= start and switch
            sow = pd.Timestamp(f"{y}-04-15") + pd.Timedelta(days=sow_day)
            harvest = pd.Timestamp(f"{y}-09-20") + pd.Timedelta(days=harvest_day)
            rows += [
                (pid, sow - pd.Timedelta(days=5), "tillage", "no_till" if proj else "plough", None, None),
                (pid, sow, "sowing", None, "maize", None),
                (pid, harvest, "harvest", None, "maize", y_t),
                (
                    pid,
                    harvest + pd.Timedelta(days=5),
                    "residue",
                    "mulched" if proj else "removed",
                    None,
                    None,
                ),
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


def run(n_plots: int, n_draws: int, years: int, plot_chunk: int, switching: float = 1.0) -> dict[str, float]:
    acts, weather, soil = project(n_plots, years, switching=switching)
    start = 2024
    kw = dict(
        start=f"{start}-01", end=f"{start + years - 1}-12", project_start=f"{start}-01-01",
        baseline_years=[start - 3, start - 2, start - 1],
    )  # fmt: skip
    params = SoilCarbonParameters(**calibration.ADOPTED)
    t0 = time.perf_counter()
    ids = [str(p) for p in soil["plot"].values]
    mgmt = scenario_management(acts, ids, **kw)
    t1 = time.perf_counter()
    draws = scenario_draws(soil["soc_initial"], n_draws, seed=1, clay_pct=30.0, model_error=True)
    area = xr.DataArray(np.full(n_plots, 0.5), dims="plot", coords={"plot": ids})
    err = xr.full_like(area, calibration.MODEL_ERROR_RATE["pooled"])  # [t C ha-1 yr-1]
    vint_years = None
    project_c = 0.0  # (draw, year) sums [t C]
    for i in range(0, n_plots, plot_chunk):
        part = ids[i : i + plot_chunk]
        sub = ScenarioManagement(
            mgmt.project.sel(plot=part), mgmt.baseline.sel(plot=part), mgmt.spinup.sel(plot=part), ()
        )
        vint, _litter = monte_carlo_scenarios(
            acts, weather, soil.sel(plot=part), draws=draws.sel(plot=part), management=sub, params=params,
            depth_cm=30.0, **kw,
        )  # fmt: skip
        if vint_years is None:
            vint_years = xr.ones_like(vint["year"], dtype=float)  # 1-yr vintages from January
        vint = add_model_error(vint, draws["model_error"], err.sel(plot=part), vint_years)
        plot_estimates(vint, area.sel(plot=part))
        project_c = project_c + (vint * area.sel(plot=part)).sum("plot")
    total = (project_c.sum("year") * C_TO_CO2).assign_attrs(units="t CO2e")
    est = interval(total)
    t2 = time.perf_counter()
    return {
        "management_s": t1 - t0,
        "monte_carlo_s": t2 - t1,
        "total": {k: float(est[k]) for k in ("mean", "p5", "p95")},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plots", type=int, default=10_000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--plot-chunk", type=int, default=1000, help="plots per Monte Carlo chunk (memory)")
    ap.add_argument("--switching", type=float, default=1.0, help="share of plots that change practice")
    a = ap.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, numba threads {numba.get_num_threads()}, load (1 min) {os.getloadavg()[0]:.2f}"
    )
    t = time.perf_counter()
    run(4, 3, 2, 4)
    print(f"compile / cache load: {time.perf_counter() - t:.1f} s")
    r = run(a.plots, a.draws, a.years, a.plot_chunk, a.switching)
    steps = 2 * a.draws * round(a.switching * a.plots) * a.years * 12
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scenario management ({a.plots} plots, {a.years} years + 3 look-back): {r['management_s']:.1f} s")
    print(
        f"Monte Carlo + estimates: {r['monte_carlo_s']:.1f} s, {steps / r['monte_carlo_s']:,.0f} plot-month steps/s "
        f"(baseline and project of the {round(a.switching * a.plots)} switching plots), "
        f"chunk {a.plot_chunk} plots, peak RSS {rss:.0f} MiB"
    )
    tot = r["total"]
    print(f"project total: {tot['mean']:,.0f} t CO2e (90 % {tot['p5']:,.0f} to {tot['p95']:,.0f})")
    print(f"monte carlo: {a.draws} draws x {a.plots} plots x {a.years} years in {r['monte_carlo_s']:.1f} s")


if __name__ == "__main__":
    main()
