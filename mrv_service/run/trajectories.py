"""Per-plot SOC trajectories of a run (``plot_trajectories.nc``), for the plot pages.

At the start of the crediting period (the spun-up state, labelled with the year before the
first crediting point) and at each year's crediting point (end of ``model.crediting_month``):
both scenarios' soil SOC stock and surface residue litter from the deterministic run, and the
5th and 95th percentiles over the Monte Carlo draws of the cumulative credited soil SOC change
since the start (model error included). At the start both scenarios are one state, so the
change and its band are 0 there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from models.scenarios import ScenarioResult, crediting_points

__all__ = ["plot_trajectories"]

POOLS = ("DPM", "RPM", "BIO", "HUM")
"""RothC's active pools; with IOM they make the SOC stock (Coleman & Jenkinson 1996)."""

CHUNK_PLOTS = 2000
"""Plots whose draws are ranked at once (bounds the memory of the percentile)."""


def plot_trajectories(
    results: Mapping[str, ScenarioResult],
    vintages: xr.DataArray | None,
    plots: Sequence[str],
    crediting_month: int,
) -> xr.Dataset:
    """The trajectories of every plot (module notes) over (plot, year) [t C ha-1].

    Parameters
    ----------
    results : mapping
        The deterministic :class:`~models.scenarios.ScenarioResult` of each weather-station group.
    vintages : xarray.DataArray or None
        Credited soil SOC change per draw over (draw, plot, year) [t C ha-1] (None: no band).
    plots : sequence of str
        Plot ids, in the order of the output.
    crediting_month : int
    """
    parts = []
    for res in results.values():
        points = xr.Dataset(
            {
                f"{var}_{scen}": crediting_points(getattr(res, scen)[src], crediting_month)
                for var, src in (("soc", "SOC"), ("litter", "surface"))
                for scen in ("baseline", "project")
            }
        )
        first = int(points["year"].values[0]) - 1
        soc0 = sum(res.spinup.initial[pool] for pool in POOLS) + res.spinup.iom
        start = xr.Dataset(
            {
                **{f"soc_{scen}": soc0 for scen in ("baseline", "project")},
                **{f"litter_{scen}": res.spinup.surface for scen in ("baseline", "project")},
            }
        ).expand_dims(year=[first])
        parts.append(
            xr.concat(
                [start.drop_vars([c for c in start.coords if c not in ("plot", "year")]), points], "year"
            )
        )
    ds = xr.concat(parts, "plot").sel(plot=list(plots)).transpose("plot", "year")
    years = [int(y) for y in ds["year"].values]
    lo = np.zeros((len(plots), len(years)))
    hi = np.zeros((len(plots), len(years)))
    if vintages is not None:
        v = vintages.transpose("draw", "plot", "year").sel(plot=list(plots))
        cols = [years.index(int(y)) for y in v["year"].values]
        for start in range(0, len(plots), CHUNK_PLOTS):
            cum = np.cumsum(v.isel(plot=slice(start, start + CHUNK_PLOTS)).values, axis=2)
            p5, p95 = np.percentile(cum, [5.0, 95.0], axis=0)
            lo[start : start + len(p5)][:, cols] = p5
            hi[start : start + len(p95)][:, cols] = p95
    ds["delta_p5"] = (("plot", "year"), lo)
    ds["delta_p95"] = (("plot", "year"), hi)
    names = {
        "soc_baseline": "baseline soil SOC stock at the crediting point",
        "soc_project": "project soil SOC stock at the crediting point",
        "litter_baseline": "baseline surface residue litter C at the crediting point",
        "litter_project": "project surface residue litter C at the crediting point",
        "delta_p5": "5th percentile over draws of the cumulative credited soil SOC change",
        "delta_p95": "95th percentile over draws of the cumulative credited soil SOC change",
    }
    for name, long_name in names.items():
        ds[name] = ds[name].astype("float32").assign_attrs(units="t C ha-1", long_name=long_name)
    ds["plot"] = ds["plot"].astype(str)
    ds.attrs.update(crediting_month=int(crediting_month), source="mrv_service.run.trajectories")
    return ds
