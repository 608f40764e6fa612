"""Baseline and project scenarios of a carbon project, on one model chain.

Per plot:

1. the project scenario is the management as logged; the **baseline scenario repeats the plot's
   own look-back schedule** (VM0042 v2.2 section 6: the baseline management is the schedule of
   the historical look-back period, repeated): in project year ``y`` the tillage and residue
   records are those of look-back year ``baseline_years[(y - y0) mod n]``, moved to year ``y``;
   sowing, harvest, yield and fertiliser stay as logged (crop productivity is not credited). A
   plot without tillage or residue records in that look-back year gets the region's common
   practice (:data:`COMMON_PRACTICE`) and is listed in :attr:`ScenarioResult.baseline_defaulted`.
   A plot that already retained straw or did not till in the look-back gets no credit for
   continuing: its baseline does the same;
2. both scenarios run through :func:`models.chain.simulate` from one spin-up under the look-back
   management fitted to the measured SOC (surface residue pool, tillage rate modifier, RothC-26.3);
3. **what is credited** is the soil organic carbon (DPM + RPM + BIO + HUM + IOM of the modelled
   layer; surface residue excluded) at the **same point of every year**, the end of
   ``crediting_month`` (default August: before the harvest of a Northeast China spring crop, when
   last season's residue has had a growing season to decompose and this season's has not yet
   fallen): per vintage ``y``, the project minus baseline difference at the point of ``y`` minus
   the difference at the point of ``y - 1`` (zero before the first project year). The drift of both
   scenarios towards their own equilibrium cancels in the difference (VM0042 v2.2 Eq. 14-16).

Pure: DataFrames and Datasets in, Datasets and dataclasses out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from models.chain import (
    ScenarioWarning,
    SoilCarbonParameters,
    SpinUp,
    climate_zone_of,
    climatology,
    manure_draws_warning,
    simulate,
    spin_up,
)
from models.crediting import DEFAULT_CREDITING_MONTH
from models.errors import ModelInputError
from models.inputs import CarbonInputParameters, build_carbon_inputs
from models.soil import DEFAULT_DEPTH_CM

__all__ = [
    "COMMON_PRACTICE",
    "DEFAULT_CREDITING_MONTH",
    "ScenarioManagement",
    "ScenarioResult",
    "ScenarioWarning",
    "SoilCarbonParameters",
    "baseline_activities",
    "chain_management",
    "climatology",
    "crediting_points",
    "changed_plots",
    "monte_carlo_scenarios",
    "run_scenarios",
    "scenario_management",
    "simulate",
]

COMMON_PRACTICE = {"tillage": "rotary", "residue": "removed"}
"""The region's common practice, for plots whose look-back logs lack a tillage or residue record:
rotary tillage with the straw removed, the practice named as the main driver of black-soil
degradation in Northeast China (Bulletin of the Chinese Academy of Sciences 36(10), 2021,
"Science and technology boosting black soil granary construction"; shared/domain/lishu.md
section 5)."""

_PRACTICE = ("tillage", "residue")


def _shift_year(dates: pd.Series, years: pd.Series | np.ndarray | int) -> pd.Series:
    """Dates moved by whole years, row by row (29 February becomes 28 February in a common year;
    the time of day is kept)."""
    dates = pd.to_datetime(dates)
    year = dates.dt.year.to_numpy() + np.asarray(years)
    month = dates.dt.month.to_numpy()
    day = dates.dt.day.to_numpy()
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    day = np.where((month == 2) & (day == 29) & ~leap, 28, day)
    moved = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}))
    return pd.Series(moved.to_numpy() + (dates - dates.dt.normalize()).to_numpy(), index=dates.index)


def baseline_activities(
    activities: pd.DataFrame,
    project_start: pd.Timestamp | str,
    baseline_years: Sequence[int],
    *,
    common_practice: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The baseline scenario's records: each plot's own look-back practice, repeated.

    Parameters
    ----------
    activities : pandas.DataFrame
        Canonical activity records (``docs/DATA_FORMATS.md`` section 2) of every plot.
    project_start : timestamp or str
        First day of the project period.
    baseline_years : sequence of int
        The look-back years, repeated in order over the project years.
    common_practice : dict, optional
        Tillage and residue methods for plots without look-back records (default
        :data:`COMMON_PRACTICE`).

    Returns
    -------
    records : pandas.DataFrame
        Records before ``project_start`` unchanged; from it on, the logged records except tillage
        and residue, plus the plot's tillage and residue records of the matching look-back year
        moved to the project year (a harvest row's own residue fields are cleared). Where the
        plot has no such record in that look-back year, one record of the common practice: tillage
        4 days before the year's first sowing, residue on the day of its first harvest (none
        without that anchor).
    defaulted : list of str
        Plots given the common practice for at least one year.
    """
    practice = common_practice or COMMON_PRACTICE
    years = sorted(int(y) for y in baseline_years)
    if not years:
        raise ModelInputError("the baseline needs the look-back years (baseline_years in project.json)")
    df = activities.copy()
    df["date"] = pd.to_datetime(df["date"])
    start = pd.Timestamp(project_start)
    in_project = df["date"] >= start
    keep = df[~(in_project & df["activity"].isin(_PRACTICE))].copy()
    harvest_rows = (keep["date"] >= start) & (keep["activity"] == "harvest")
    for col in ("residue_fraction", "method"):
        if col in keep.columns:
            keep.loc[harvest_rows, col] = np.nan
    proj = df[in_project]
    project_years = np.array(sorted(set(proj["date"].dt.year)), dtype=int)
    y0 = start.year
    # every (plot with project records, project year, practice) and its look-back year
    plots = pd.unique(proj["plot_id"])
    slots = pd.DataFrame(
        {
            "plot_id": np.repeat(plots, len(project_years) * len(_PRACTICE)),
            "year": np.tile(np.repeat(project_years, len(_PRACTICE)), len(plots)),
            "activity": np.tile(np.array(_PRACTICE, dtype=object), len(plots) * len(project_years)),
        }
    )
    slots["source_year"] = np.array(years)[(slots["year"].to_numpy() - y0) % len(years)]
    slots["rank"] = np.arange(len(slots))
    back = df[(~in_project) & df["activity"].isin(_PRACTICE)].copy()
    back["source_year"] = back["date"].dt.year
    back["row"] = np.arange(len(back))
    moved = slots.merge(back, on=["plot_id", "source_year", "activity"], how="inner")
    moved["date"] = _shift_year(moved["date"], moved["year"] - moved["source_year"])
    moved = moved.sort_values(["rank", "row"], kind="stable")
    missing = slots[~slots["rank"].isin(moved["rank"])]
    defaulted = sorted({str(p) for p in missing["plot_id"]})
    # the common practice, anchored on the year's first sowing (tillage) or harvest (residue)
    anchor_of = {"tillage": "sowing", "residue": "harvest"}
    anchors = proj[proj["activity"].isin(anchor_of.values())].assign(year=lambda f: f["date"].dt.year)
    anchors = anchors.drop_duplicates(["plot_id", "year", "activity"], keep="first")
    anchors = anchors.rename(columns={"activity": "anchor", "date": "anchor_date"})
    fill = missing.assign(anchor=missing["activity"].map(anchor_of)).merge(
        anchors[["plot_id", "year", "anchor", "anchor_date"]], on=["plot_id", "year", "anchor"], how="inner"
    )
    fill["date"] = fill["anchor_date"] - pd.to_timedelta(
        np.where(fill["activity"] == "tillage", 4, 0), unit="D"
    )
    fill["method"] = fill["activity"].map(practice)
    fill = fill.sort_values("rank", kind="stable")
    parts = [f for f in (moved, fill[["plot_id", "date", "activity", "method", "rank"]]) if len(f)]
    added = pd.concat(parts).sort_values("rank", kind="stable") if parts else None
    out = keep
    if added is not None:
        out = pd.concat([keep, added[[c for c in df.columns if c in added.columns]]], ignore_index=True)
    out = out.sort_values(["plot_id", "date"], kind="stable").reset_index(drop=True)
    return out, defaulted


@dataclass(frozen=True)
class ScenarioManagement:
    """Monthly management of both scenarios and of the spin-up, in the model chain's variables
    (:func:`scenario_management`); build once, run many (deterministic and Monte Carlo)."""

    project: xr.Dataset
    """Project scenario over (plot, month) of the run."""
    baseline: xr.Dataset
    """Baseline scenario over (plot, month) of the run."""
    spinup: xr.Dataset
    """The look-back months (their calendar-month means are the spin-up year)."""
    baseline_defaulted: tuple[str, ...]
    """Plots whose baseline took the common practice for want of look-back records."""


def chain_management(inputs: xr.Dataset) -> xr.Dataset:
    """The model chain's management from :func:`models.inputs.build_carbon_inputs` output:
    roots enter the soil directly (``c_inp``), above-ground residue left on the field goes to the
    surface (``surface_inp``)."""
    out = inputs[["fym", "pc", "dpm_rpm", "incorporation", "tillage"]].copy()
    out["c_inp"] = inputs["c_inp_bg"].assign_attrs(
        units="t C ha-1 month-1", long_name="plant C entering the soil directly (roots)"
    )
    out["surface_inp"] = inputs["c_inp_ag"].assign_attrs(
        units="t C ha-1 month-1", long_name="above-ground residue C left on the surface"
    )
    return out


def _months_of(inputs: xr.Dataset, months: pd.PeriodIndex) -> xr.Dataset:
    """``inputs`` over a consecutive run of its months, as new (C-ordered) arrays."""
    first = int(np.searchsorted(inputs["month"].values, months[0].to_timestamp(how="start").to_datetime64()))
    return inputs.isel(month=slice(first, first + len(months))).copy(deep=True)


def scenario_management(
    activities: pd.DataFrame,
    plots: list[str],
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    project_start: str | pd.Timestamp,
    baseline_years: Sequence[int],
    params: CarbonInputParameters | None = None,
) -> ScenarioManagement:
    """Monthly management of both scenarios and the look-back (:func:`run_scenarios` steps 1-2)."""
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    p = params or CarbonInputParameters(default_retained_fraction=0.0)
    years = sorted(int(y) for y in baseline_years)
    spin_months = pd.period_range(pd.Timestamp(f"{years[0]}-01"), pd.Timestamp(f"{years[-1]}-12"), freq="M")
    # the project's and the look-back's months from one pass over the logs: a month's inputs do
    # not depend on the months around it (build_carbon_inputs takes every record, then drops
    # what falls outside its months), so both are cut from the months that span the two
    both = build_carbon_inputs(
        activities,
        pd.period_range(min(months[0], spin_months[0]), max(months[-1], spin_months[-1]), freq="M"),
        params=p,
        plots=plots,
    )
    project, spin = (_months_of(both, m) for m in (months, spin_months))
    base_acts, defaulted = baseline_activities(activities, project_start, baseline_years)
    baseline = build_carbon_inputs(base_acts, months, params=p, plots=plots)
    return ScenarioManagement(
        chain_management(project), chain_management(baseline), chain_management(spin), tuple(defaulted)
    )


@dataclass(frozen=True)
class ScenarioResult:
    """Outputs of :func:`run_scenarios`."""

    baseline: xr.Dataset
    """Model outputs of the baseline scenario over (plot, month[, draw])."""
    project: xr.Dataset
    """Model outputs of the project scenario."""
    spinup: SpinUp
    """The shared start state."""
    soil_points: xr.DataArray
    """Project minus baseline soil SOC at each year's crediting point [t C ha-1] over
    (plot, year[, draw])."""
    vintages: xr.DataArray
    """Credited soil SOC change per vintage [t C ha-1] over (plot, year[, draw]): the increment of
    :attr:`soil_points` over the previous year (module notes)."""
    litter_points: xr.DataArray
    """Project minus baseline surface residue C at the crediting points [t C ha-1] (not credited)."""
    management: ScenarioManagement
    """The management both scenarios ran."""

    @property
    def delta_soc(self) -> xr.DataArray:
        """Credited soil SOC change over all vintages [t C ha-1] (the last crediting point)."""
        return self.vintages.sum("year").assign_attrs(
            units="t C ha-1", long_name="credited soil SOC change, all vintages"
        )

    @property
    def baseline_defaulted(self) -> tuple[str, ...]:
        """Plots whose baseline used the common practice."""
        return self.management.baseline_defaulted


def crediting_points(values: xr.DataArray, crediting_month: int = DEFAULT_CREDITING_MONTH) -> xr.DataArray:
    """The values at the end of ``crediting_month`` of each year, along a ``year`` dimension."""
    month = pd.DatetimeIndex(values["month"].values)
    sel = np.flatnonzero(month.month == crediting_month)
    out = values.isel(month=sel)
    return out.assign_coords(year=("month", month[sel].year)).swap_dims(month="year").drop_vars("month")


def run_scenarios(
    activities: pd.DataFrame,
    weather: xr.Dataset,
    soil: xr.Dataset,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    project_start: str | pd.Timestamp,
    baseline_years: Sequence[int],
    depth_cm: float = DEFAULT_DEPTH_CM,
    params: SoilCarbonParameters | None = None,
    input_params: CarbonInputParameters | None = None,
    draws: xr.Dataset | None = None,
    management: ScenarioManagement | None = None,
    crediting_month: int = DEFAULT_CREDITING_MONTH,
    variables: tuple[str, ...] | None = None,
) -> ScenarioResult:
    """Baseline and project runs for every plot, from one spin-up, and the credited change.

    Parameters
    ----------
    activities : pandas.DataFrame
        Canonical activity records of every plot (``docs/DATA_FORMATS.md`` section 2).
    weather : xarray.Dataset
        Monthly ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] (open pan) along ``month``.
    soil : xarray.Dataset
        Along ``plot``: ``clay`` [%] and ``soc_initial`` [t C ha-1] (soil SOC of the layer at
        ``start``).
    start, end : timestamp or str
        First and last month of the run.
    project_start : timestamp or str
        First day of the project period.
    baseline_years : sequence of int
        The look-back years (their management is the spin-up and, repeated, the baseline).
    depth_cm : float
        Depth of the modelled layer [cm].
    params : SoilCarbonParameters, optional
        Model chain parameters.
    input_params : CarbonInputParameters, optional
        Carbon-input choices.
    draws : xarray.Dataset, optional
        Monte Carlo draws (:func:`models.chain.simulate`).
    management : ScenarioManagement, optional
        Built by :func:`scenario_management` for these plots and periods (shared between a
        deterministic run and its Monte Carlo); built here otherwise.
    crediting_month : int
        Month whose end is the yearly crediting point (:data:`DEFAULT_CREDITING_MONTH`).
    variables : tuple of str, optional
        RothC outputs to keep (``("SOC",)`` for large Monte Carlo runs).

    Returns
    -------
    ScenarioResult
    """
    plots = [str(p) for p in soil["plot"].values]
    if management is None:
        management = scenario_management(
            activities,
            plots,
            start=start,
            end=end,
            project_start=project_start,
            baseline_years=baseline_years,
            params=input_params,
        )
    p = params or SoilCarbonParameters()
    zone = climate_zone_of(weather)
    spun = spin_up(
        management.spinup, weather, soil, depth_cm=depth_cm, params=p, draws=draws, climate_zone=zone
    )
    runs = {
        name: simulate(
            mgmt, weather, soil, depth_cm=depth_cm, params=p, draws=draws, spun=spun, variables=variables
        )
        for name, mgmt in (("baseline", management.baseline), ("project", management.project))
    }
    order = [d for d in ("plot", "year", "draw") if d]
    soil_pts = crediting_points(runs["project"]["SOC"] - runs["baseline"]["SOC"], crediting_month)
    litter_pts = crediting_points(runs["project"]["surface"] - runs["baseline"]["surface"], crediting_month)
    first = int(pd.Timestamp(project_start).year)
    soil_pts = soil_pts.sel(year=soil_pts["year"] >= first)
    litter_pts = litter_pts.sel(year=litter_pts["year"] >= first)
    vint = soil_pts.diff("year", label="upper")
    vint = xr.concat([soil_pts.isel(year=[0]), vint], dim="year")
    tr = [d for d in order if d in soil_pts.dims] + [d for d in soil_pts.dims if d not in order]
    return ScenarioResult(
        baseline=runs["baseline"],
        project=runs["project"],
        spinup=spun,
        soil_points=soil_pts.transpose(*tr).assign_attrs(
            units="t C ha-1",
            long_name=f"project minus baseline soil SOC at the end of month {crediting_month}",
        ),
        vintages=vint.transpose(*tr).assign_attrs(
            units="t C ha-1", long_name="credited soil SOC change of the vintage"
        ),
        litter_points=litter_pts.transpose(*tr).assign_attrs(
            units="t C ha-1", long_name="project minus baseline surface residue C (not credited)"
        ),
        management=management,
    )


def changed_plots(management: ScenarioManagement) -> xr.DataArray:
    """Plots whose project and baseline management differ in any month (bool along ``plot``); the
    others get exactly no credit (identical runs)."""
    diff = xr.zeros_like(management.project["c_inp"], dtype=bool)
    for name in ("c_inp", "surface_inp", "incorporation", "fym", "pc", "dpm_rpm", "tillage"):
        diff = diff | (management.project[name] != management.baseline[name])
    return diff.any("month")


def monte_carlo_scenarios(
    activities: pd.DataFrame,
    weather: xr.Dataset,
    soil: xr.Dataset,
    *,
    draws: xr.Dataset,
    management: ScenarioManagement,
    chunk_draws: int = 100,
    **kwargs,
) -> tuple[xr.DataArray, xr.DataArray]:
    """:func:`run_scenarios` over many draws: the credited vintages and the surface residue
    difference of every draw.

    With the chain's surface pool and tillage effect on and draws among
    :data:`models.scenario_montecarlo.FUSED_DRAWS` (the project run's case), the compiled pass of
    :func:`models.scenario_montecarlo.monte_carlo_vintages` (the same numbers, tested to 1e-9
    t C ha-1); otherwise :func:`run_scenarios` ``chunk_draws`` draws at a time (memory grows with
    the chunk, not with the number of draws).

    Returns
    -------
    vintages, litter_points : xarray.DataArray
        Over (draw, plot, year) [t C ha-1] (:class:`ScenarioResult`).
    """
    from models.scenario_montecarlo import FUSED_DRAWS, monte_carlo_vintages

    p = kwargs.get("params") or SoilCarbonParameters()
    if p.surface_pool and p.tillage_effect and set(draws.data_vars) <= FUSED_DRAWS:
        return monte_carlo_vintages(
            management,
            weather,
            soil,
            draws,
            project_start=kwargs["project_start"],
            depth_cm=kwargs.get("depth_cm", DEFAULT_DEPTH_CM),
            params=p,
            crediting_month=kwargs.get("crediting_month", DEFAULT_CREDITING_MONTH),
        )
    vint, litter, adjusted = [], [], set()
    n = int(draws.sizes["draw"])
    for i in range(0, n, max(1, int(chunk_draws))):
        part = draws.isel(draw=slice(i, i + chunk_draws))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            res = run_scenarios(
                activities, weather, soil, draws=part, management=management, variables=("SOC",), **kwargs
            )
        for w in caught:
            if isinstance(w.message, ScenarioWarning):
                adjusted.update(w.message.plots)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        vint.append(res.vintages.transpose("draw", "plot", "year"))
        litter.append(res.litter_points.transpose("draw", "plot", "year"))
    if adjusted:
        warnings.warn(manure_draws_warning(sorted(adjusted)), stacklevel=2)
    return xr.concat(vint, "draw"), xr.concat(litter, "draw")
