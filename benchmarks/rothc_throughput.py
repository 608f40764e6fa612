"""Throughput of the RothC-26.3 kernel: 100 000 plots x 30 years (360 months), and the spin-up time.

Run: ``.venv/bin/python benchmarks/rothc_throughput.py [--plots N] [--years Y] [--repeat R]``.
Prints timings; the LAST line reads ``plot-month steps/s: N`` for the production call
``run_rothc(inputs, initial, variables=("SOC", "CO2"))`` (monthly SOC stock and cumulative
respired C for every plot and month, no radiocarbon; 2 x 288 MB of output), timed as the whole
public call (input validation, the kernel, the output arrays, the xarray Dataset), best of
``--repeat``. Also printed: SOC only, the full non-radiocarbon set (DPM, RPM, BIO, HUM, IOM, SOC,
CO2, SMD, a, b, c: 10 x 288 MB written) and SOC + CO2 with radiocarbon tracked. The first call
compiles (or loads the numba cache) and is not timed. Figures depend on the load of the machine:
the 1-minute load average and numba's thread count are printed with them.

Inputs: the shipped Rothamsted weather (climate shared by all plots, dims ``month``, with seeded
noise), per-plot clay and IOM, depth 23 cm, and a per-plot-per-month plant input (dims
``plot, month``), seeded.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence

import numba
import numpy as np
import xarray as xr

from models.rothc import equilibrium, run_rothc

# Rothamsted spin-up climate of the shipped RothC example (RothC_input.dat rows 1-12)
TMP = [3.73, 3.08, 5.49, 7.4, 10.94, 14.4, 16.28, 16.24, 13.78, 9.51, 6.22, 4.09]
RAIN = [52.2, 42.9, 35.2, 52.0, 64.9, 46.3, 63.5, 60.6, 58.8, 63.4, 72.5, 60.9]
EVAP = [6.6, 17.3, 40.7, 70.5, 103.5, 117.3, 130.1, 106.9, 61.9, 29.5, 8.8, 3.9]
PC = [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1]

FULL = ("DPM", "RPM", "BIO", "HUM", "IOM", "SOC", "CO2", "SMD", "a", "b", "c")


def make_inputs(n_plots: int, n_months: int, seed: int = 42) -> xr.Dataset:
    """Benchmark inputs: shared monthly climate, per-plot soil and per-plot-month plant input."""
    rng = np.random.default_rng(seed)
    reps = -(-n_months // 12)
    tmp = np.tile(TMP, reps)[:n_months] + rng.normal(0.0, 1.0, n_months)
    rain = np.tile(RAIN, reps)[:n_months] * rng.lognormal(0.0, 0.3, n_months)
    share = np.array([0, 0, 0, 0.1, 0.2, 0.3, 0.3, 0.1, 0, 0, 0, 0])
    annual = rng.uniform(1.0, 5.0, n_plots)
    c_inp = annual[:, None] * np.tile(share, reps)[None, :n_months] * rng.uniform(0.8, 1.2, (n_plots, 1))
    return xr.Dataset(
        {
            "tmp": ("month", tmp, {"units": "degC"}),
            "rain": ("month", rain, {"units": "mm"}),
            "evap": ("month", np.tile(EVAP, reps)[:n_months], {"units": "mm"}),
            "pc": ("month", np.tile(PC, reps)[:n_months].astype(float), {"units": "1"}),
            "dpm_rpm": ((), 1.44, {"units": "1"}),
            "c_inp": (("plot", "month"), c_inp, {"units": "t C ha-1 month-1"}),
            "fym": ((), 0.0, {"units": "t C ha-1 month-1"}),
            "modern": ((), 100.0, {"units": "%"}),
            "clay": ("plot", rng.uniform(5.0, 50.0, n_plots), {"units": "%"}),
            "depth": ((), 23.0, {"units": "cm"}),
            "iom": ("plot", rng.uniform(1.0, 5.0, n_plots), {"units": "t C ha-1"}),
        },
        coords={"plot": np.arange(n_plots), "month": np.arange(n_months)},
    )


def best_time(call: Callable[[], object], repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls [s] (the result is dropped before the next call)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = call()
        best = min(best, time.perf_counter() - t0)
        del res
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plots", type=int, default=100_000)
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_months = 12 * args.years
    ds = make_inputs(args.plots, n_months)
    print(
        f"machine: {os.cpu_count()} CPUs, numba threads {numba.get_num_threads()}, "
        f"load average (1 min) {os.getloadavg()[0]:.2f}"
    )
    small = ds.isel(plot=slice(0, 4))
    t0 = time.perf_counter()
    for method in ("accelerated", "reference", "analytic"):
        equilibrium(small, method)
    run_rothc(small, equilibrium(small), variables=["SOC", "CO2"])
    run_rothc(small, equilibrium(small), variables=["SOC", "CO2"], radiocarbon=True)
    print(f"compile / cache load: {time.perf_counter() - t0:.2f} s")

    for method in ("accelerated", "analytic"):
        t0 = time.perf_counter()
        eq = equilibrium(ds, method)
        print(f"spin-up {method:11s} {args.plots} plots: {time.perf_counter() - t0:.3f} s")
    n_ref = min(args.plots, 1000)
    t0 = time.perf_counter()
    equilibrium(ds.isel(plot=slice(0, n_ref)), "reference")
    dt = time.perf_counter() - t0
    print(
        f"spin-up reference   {n_ref} plots: {dt:.3f} s (~{dt * args.plots / n_ref:.1f} s for {args.plots})"
    )

    steps = args.plots * n_months
    label = f"{args.plots} plots x {n_months} months"

    def timed(variables: Sequence[str], radiocarbon: bool) -> float:
        return best_time(lambda: run_rothc(ds, eq, variables=variables, radiocarbon=radiocarbon), args.repeat)

    for name, variables, radiocarbon in (
        ("SOC only", ("SOC",), False),
        ("full set (11 variables, no 14C)", FULL, False),
        ("SOC + CO2 with radiocarbon", ("SOC", "CO2"), True),
    ):
        dt = timed(variables, radiocarbon)
        print(f"transient {label}, {name}: {dt:.3f} s, {steps / dt:,.0f} plot-month steps/s")
    dt = timed(("SOC", "CO2"), False)
    print(f"transient {label}, SOC + CO2 (production call, no 14C): {dt:.3f} s")
    print(f"plot-month steps/s: {steps / dt:.0f}")


if __name__ == "__main__":
    main()
