"""What the project summary of the models stage needs from a chunk of plots, and how chunks add up.

A run by plot chunk (:mod:`mrv_service.run.chunks`) keeps every plot's draws on the worker that
computed them; the project's figures need only sums over plots inside each draw (the totals per
vintage, per practice change, of the plots that changed practice, of the litter) and a few counts.
:class:`ModelsPartials` holds them for one chunk, in exact quanta (:mod:`models.exact_sums`), so
:func:`combine` gives the same project sums for any chunking and any number of workers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from models.exact_sums import fixed_sum

__all__ = ["ModelsPartials", "PracticeGroup", "combine", "partials_of"]


@dataclasses.dataclass
class PracticeGroup:
    """Sums over the plots of one practice change (logged baseline -> project labels)."""

    plots: int
    hectares: int
    """Area [quanta of ha]."""
    c_draws: np.ndarray
    """Credited soil SOC change x area, all vintages, per draw [quanta of t C]."""
    tier1_c: int
    """IPCC Tier 1 annual change x area [quanta of t C yr-1]."""
    tier1_baseline: str
    tier1_project: str
    """Tier 1 levels of the group's first plot (in plot order): the group's practice categories."""

    def add(self, other: PracticeGroup) -> None:
        self.plots += other.plots
        self.hectares += other.hectares
        self.c_draws = self.c_draws + other.c_draws
        self.tier1_c += other.tier1_c


@dataclasses.dataclass
class ModelsPartials:
    """Sums over one chunk's plots (or the project's, after :func:`combine`)."""

    n_plots: int
    years: list[int]
    soc0: int
    """Initial SOC [quanta of t C ha-1], summed over plots."""
    delta_mean: int
    """Mean credited change of each plot [quanta of t C ha-1], summed over plots."""
    vintage_c: np.ndarray
    """Credited change x area per (draw, year) [quanta of t C]."""
    litter_c: np.ndarray
    """Surface litter difference at the last crediting point x area per draw [quanta of t C]."""
    litter: np.ndarray
    """The same per hectare, summed over plots, per draw [quanta of t C ha-1]."""
    switching_plots: int
    switching_ha: int
    switching_c: np.ndarray
    """Over the plots whose management changed: area [quanta of ha] and change x area per draw."""
    groups: dict[tuple[str, str], PracticeGroup]
    unverified_c: np.ndarray | None
    """Change x area per draw before the misclassification draw [quanta of t C] (None without it)."""
    keep: int
    keep_n: int
    """Probability that every credited claim of a plot-season holds [quanta], summed, and count."""
    tier1_c: int
    """IPCC Tier 1 annual change x area [quanta of t C yr-1]."""
    no_till_plots: int
    zones: dict[str, str]
    plots_per_station: dict[str, int]
    max_station_km: float | None
    soil_measured: int
    soil_project_mean: int
    records_replaced: int
    defaulted_plots: int
    reviews: dict[str, int]
    rejected_seasons: int


def partials_of(
    table: pd.DataFrame,
    changed: np.ndarray,
    vintages: xr.DataArray,
    litter_last: xr.DataArray,
    area: xr.DataArray,
    *,
    unverified: xr.DataArray | None,
    p_keep: np.ndarray | None,
    zones: dict[str, str],
    tier1_end_tillage: Sequence[str],
    records_replaced: int,
    defaulted_plots: int,
    reviews: pd.DataFrame,
    rejected_seasons: int,
) -> ModelsPartials:
    """The partial sums of one chunk.

    ``table`` holds the chunk's plots in plot order, unrounded: ``plot_id``, ``area_ha``,
    ``station_id``, ``station_distance_km``, ``baseline_practice``, ``project_practice``,
    ``soc_initial_t_c_ha``, ``soc_initial_source``, ``delta_soc_t_c_ha`` (mean of the draws),
    ``tier1_baseline``, ``tier1_project``, ``tier1_delta_t_c_ha_yr``."""
    c_plot = (vintages * area).transpose("draw", "plot", "year").values  # [t C]
    c_total = c_plot.sum(axis=2)  # (draw, plot)
    groups: dict[tuple[str, str], PracticeGroup] = {}
    sub = table[changed]
    pos = {p: i for i, p in enumerate(table["plot_id"])}
    for (base, proj), g in sub.groupby(["baseline_practice", "project_practice"], sort=True):
        idx = [pos[p] for p in g["plot_id"]]
        groups[(str(base), str(proj))] = PracticeGroup(
            plots=len(idx),
            hectares=int(fixed_sum(g["area_ha"].to_numpy(float))),
            c_draws=fixed_sum(c_total[:, idx], axis=1),
            tier1_c=int(fixed_sum((g["tier1_delta_t_c_ha_yr"] * g["area_ha"]).to_numpy(float))),
            tier1_baseline=str(g["tier1_baseline"].iloc[0]),
            tier1_project=str(g["tier1_project"].iloc[0]),
        )
    stations = table["station_id"].value_counts()
    dist = table["station_distance_km"]
    return ModelsPartials(
        n_plots=len(table),
        years=[int(y) for y in vintages["year"].values],
        soc0=int(fixed_sum(table["soc_initial_t_c_ha"].to_numpy(float))),
        delta_mean=int(fixed_sum(table["delta_soc_t_c_ha"].to_numpy(float))),
        vintage_c=fixed_sum(c_plot, axis=1),
        litter_c=fixed_sum((litter_last * area).transpose("draw", "plot").values, axis=1),
        litter=fixed_sum(litter_last.transpose("draw", "plot").values, axis=1),
        switching_plots=int(changed.sum()),
        switching_ha=int(fixed_sum(table.loc[changed, "area_ha"].to_numpy(float))),
        switching_c=fixed_sum(c_total[:, changed], axis=1),
        groups=groups,
        unverified_c=None
        if unverified is None
        else fixed_sum((unverified.sum("year") * area).transpose("draw", "plot").values, axis=1),
        keep=0 if p_keep is None else int(fixed_sum(p_keep)),
        keep_n=0 if p_keep is None else int(np.size(p_keep)),
        tier1_c=int(fixed_sum((table["tier1_delta_t_c_ha_yr"] * table["area_ha"]).to_numpy(float))),
        no_till_plots=int((np.asarray(tier1_end_tillage) == "no_till").sum()),
        zones=dict(zones),
        plots_per_station={str(k): int(v) for k, v in stations.items()},
        max_station_km=None if dist.isna().all() else float(dist.max()),
        soil_measured=int((table["soc_initial_source"] == "measured").sum()),
        soil_project_mean=int((table["soc_initial_source"] == "project_mean").sum()),
        records_replaced=int(records_replaced),
        defaulted_plots=int(defaulted_plots),
        reviews={
            d: int((reviews["decision"] == d).sum()) for d in ("accept", "override", "request_evidence")
        },
        rejected_seasons=int(rejected_seasons),
    )


def combine(parts: Sequence[ModelsPartials]) -> ModelsPartials:
    """The project's sums from its chunks' (in plot order: a practice group keeps the Tier 1 levels
    of its first plot). Integer sums: the result does not depend on the chunking."""
    if not parts:
        raise ValueError("no chunk to combine")
    first = parts[0]
    out = dataclasses.replace(
        first,
        vintage_c=first.vintage_c.copy(),
        litter_c=first.litter_c.copy(),
        litter=first.litter.copy(),
        switching_c=first.switching_c.copy(),
        unverified_c=None if first.unverified_c is None else first.unverified_c.copy(),
        groups={k: dataclasses.replace(g) for k, g in first.groups.items()},
        zones=dict(first.zones),
        plots_per_station=dict(first.plots_per_station),
        reviews=dict(first.reviews),
    )
    for p in parts[1:]:
        out.n_plots += p.n_plots
        out.soc0 += p.soc0
        out.delta_mean += p.delta_mean
        out.vintage_c = out.vintage_c + p.vintage_c
        out.litter_c = out.litter_c + p.litter_c
        out.litter = out.litter + p.litter
        out.switching_plots += p.switching_plots
        out.switching_ha += p.switching_ha
        out.switching_c = out.switching_c + p.switching_c
        for k, g in p.groups.items():
            if k in out.groups:
                out.groups[k].add(g)
            else:
                out.groups[k] = dataclasses.replace(g)
        if out.unverified_c is not None and p.unverified_c is not None:
            out.unverified_c = out.unverified_c + p.unverified_c
        out.keep += p.keep
        out.keep_n += p.keep_n
        out.tier1_c += p.tier1_c
        out.no_till_plots += p.no_till_plots
        out.zones.update(p.zones)
        for k, v in p.plots_per_station.items():
            out.plots_per_station[k] = out.plots_per_station.get(k, 0) + v
        if p.max_station_km is not None:
            out.max_station_km = max(out.max_station_km or 0.0, p.max_station_km)
        out.soil_measured += p.soil_measured
        out.soil_project_mean += p.soil_project_mean
        out.records_replaced += p.records_replaced
        out.defaulted_plots += p.defaulted_plots
        for k, v in p.reviews.items():
            out.reviews[k] = out.reviews.get(k, 0) + v
        out.rejected_seasons += p.rejected_seasons
    out.groups = dict(sorted(out.groups.items()))
    return out
