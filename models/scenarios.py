"""Baseline and project scenarios on one code path: the model chain (pvlib ``ModelChain`` style).

The chain, per plot:

1. monthly management inputs (plant C, manure C, cover, DPM/RPM) from the logged activities
   (:func:`models.inputs.build_carbon_inputs`) for the project scenario as logged, and for the
   baseline scenario, in which the project-period tillage and residue records are replaced by
   the baseline practice (:func:`baseline_activities`);
2. spin-up: the plant input that puts the RothC equilibrium at the measured initial SOC under
   the baseline practice and the climate normals (:func:`models.rothc.fit_plant_input_to_soc`,
   IOM from Falloon et al. 1998), then the equilibrium pools;
3. both scenarios run month by month from that state (:func:`models.rothc.run_rothc`);
4. the attributable SOC change is the project minus the baseline stock at the end of the run,
   so the drift of both towards their own equilibrium cancels (the "project minus baseline"
   structure of VM0042 v2.2 Eq. 14-16 and of CMS-083's SOC change; see ``methodology/``).

Everything here is pure: DataFrames and Datasets in, Datasets and dataclasses out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import ModelInputError, MRVWarning
from models.inputs import CarbonInputParameters, build_carbon_inputs
from models.montecarlo import apply_draws
from models.rothc import equilibrium, falloon_iom, fit_plant_input_to_soc, run_rothc
from models.soil import DEFAULT_DEPTH_CM

#: Fraction of modern carbon in fresh inputs [%]; only the radiocarbon outputs use it
#: (RothC_input.dat "modern" column; 100 = modern atmosphere, Coleman & Jenkinson 2014 guide).
DEFAULT_MODERN_PCT = 100.0


class ScenarioWarning(MRVWarning):
    """A plot's inputs were adjusted to make the scenario run (the message says how)."""


#: Practices that replace the project-period records in the baseline scenario.
BASELINE_PRACTICE = {"tillage": "plough", "residue": "removed"}


def baseline_activities(
    activities: pd.DataFrame,
    project_start: pd.Timestamp | str,
    *,
    tillage: str = BASELINE_PRACTICE["tillage"],
    residue: str = BASELINE_PRACTICE["residue"],
) -> pd.DataFrame:
    """The baseline scenario's activity records: the project-period practice change undone.

    Records dated on or after ``project_start`` keep their dates, crops, yields and fertiliser,
    but every tillage record gets the baseline ``tillage`` method and every residue record the
    baseline ``residue`` method with no retained fraction: the counterfactual "what the farmer
    would have done" of a practice-change project.

    Parameters
    ----------
    activities : pandas.DataFrame
        Canonical activity records (``docs/DATA_FORMATS.md`` section 2).
    project_start : timestamp or str
        First day of the project period.
    tillage, residue : str
        Baseline practice (canonical method names).

    Returns
    -------
    pandas.DataFrame
        A copy with the project-period tillage and residue records replaced.
    """
    out = activities.copy()
    start = pd.Timestamp(project_start)
    in_project = pd.to_datetime(out["date"]) >= start
    is_till = in_project & (out["activity"] == "tillage")
    is_res = in_project & (out["activity"] == "residue")
    out.loc[is_till, "method"] = tillage
    out.loc[is_res, "method"] = residue
    if "residue_fraction" in out.columns:
        out.loc[is_res, "residue_fraction"] = np.nan
    return out


def climatology(weather: xr.Dataset) -> xr.Dataset:
    """Mean of each calendar month over the weather record (the spin-up climate).

    Parameters
    ----------
    weather : xarray.Dataset
        ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] along ``month`` (datetime coordinate).

    Returns
    -------
    xarray.Dataset
        The same variables along a 12-step ``month`` coordinate (Jan..Dec of year 2000).
    """
    clim = weather.groupby("month.month").mean("month")
    clim = clim.rename(month="calendar_month")
    months = pd.date_range("2000-01-01", periods=12, freq="MS")
    clim = clim.rename(calendar_month="month").assign_coords(month=months)
    for name in clim.data_vars:
        clim[name].attrs = dict(weather[name].attrs)
    return clim


def rothc_inputs(
    weather: xr.Dataset,
    management: xr.Dataset,
    clay_pct: xr.DataArray,
    *,
    depth_cm: float = DEFAULT_DEPTH_CM,
    iom: xr.DataArray | float = 0.0,
) -> xr.Dataset:
    """Assemble the :func:`models.rothc.run_rothc` inputs from weather, management and soil.

    Parameters
    ----------
    weather : xarray.Dataset
        ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] along ``month``; must cover every month of
        ``management``.
    management : xarray.Dataset
        ``c_inp``, ``fym`` [t C ha-1 month-1], ``pc``, ``dpm_rpm`` [1] over (plot, month).
    clay_pct : xarray.DataArray
        Clay content [%] along ``plot``.
    depth_cm : float
        Soil depth modelled [cm].
    iom : xarray.DataArray or float
        Inert organic matter [t C ha-1].

    Returns
    -------
    xarray.Dataset
        Dims (plot, month) with every RothC input variable and its units.
    """
    months = management["month"]
    missing = np.setdiff1d(months.values, weather["month"].values)
    if missing.size:
        raise ModelInputError(
            f"weather lacks {missing.size} month(s) of the run, first {pd.Timestamp(missing[0]):%Y-%m}; "
            "extend weather_monthly.csv to cover the whole run"
        )
    w = weather[["tmp", "rain", "evap"]].sel(month=months)
    ds = xr.merge([management, w])
    ds["clay"] = clay_pct.astype(float).assign_attrs(units="%", long_name="clay content")
    ds["depth"] = xr.DataArray(float(depth_cm), attrs={"units": "cm", "long_name": "soil depth"})
    ds["iom"] = (xr.zeros_like(ds["clay"]) + iom).assign_attrs(
        units="t C ha-1", long_name="inert organic matter"
    )
    ds["modern"] = xr.DataArray(
        DEFAULT_MODERN_PCT, attrs={"units": "%", "long_name": "modern C fraction of inputs"}
    )
    return ds


def _drop_infeasible_manure(spin: xr.Dataset, soc0: xr.DataArray) -> xr.Dataset:
    """Zero the spin-up manure of plots whose measured SOC is below the manure-only equilibrium.

    Such a plot cannot be at equilibrium with that manure rate (the fitted plant input would be
    negative); its manure history is then not representative of the long-term baseline and the
    plant input alone carries the spin-up. With Monte Carlo draws a plot is dropped if any draw
    is infeasible. A :class:`ScenarioWarning` names the plots.
    """
    if not bool((spin["fym"] > 0).any()):
        return spin
    iom = xr.apply_ufunc(falloon_iom, soc0)
    manure_only = equilibrium(spin.assign(c_inp=xr.zeros_like(spin["c_inp"]), iom=iom), method="analytic")
    infeasible = manure_only["SOC"] >= soc0
    if "draw" in infeasible.dims:
        infeasible = infeasible.any("draw")
    bad = infeasible & (spin["fym"].sum("month") > 0)
    if "draw" in bad.dims:
        bad = bad.any("draw")
    if bool(bad.any()):
        names = [str(p) for p in spin["plot"].values[bad.values]]
        warnings.warn(
            f"{len(names)} plot(s) have a measured SOC below the equilibrium of their baseline manure alone "
            f"(first: {names[:5]}); their spin-up ignores manure. Check the manure records and the soil samples.",
            ScenarioWarning,
            stacklevel=3,
        )
        spin = spin.assign(fym=spin["fym"].where(~bad, 0.0).assign_attrs(spin["fym"].attrs))
    return spin


@dataclass(frozen=True)
class ScenarioManagement:
    """Monthly management inputs of both scenarios and the spin-up source
    (:func:`scenario_management`); build once, run many (deterministic and Monte Carlo)."""

    project: xr.Dataset
    """Inputs of the project scenario over (plot, month) of the run."""
    baseline: xr.Dataset
    """Inputs of the baseline scenario over (plot, month) of the run."""
    spinup_source: xr.Dataset
    """Inputs of the look-back months whose calendar-month means are the spin-up year."""


def scenario_management(
    activities: pd.DataFrame,
    plots: list[str],
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    project_start: str | pd.Timestamp,
    spinup_start: str | pd.Timestamp | None = None,
    spinup_end: str | pd.Timestamp | None = None,
    params: CarbonInputParameters | None = None,
) -> ScenarioManagement:
    """The management inputs :func:`run_scenarios` derives from the activity records (its steps 1
    and the spin-up source); parameters as there."""
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    p = params or CarbonInputParameters(default_retained_fraction=0.0)
    project_mgmt = build_carbon_inputs(activities, months, params=p, plots=plots)
    base_acts = baseline_activities(activities, project_start)
    baseline_mgmt = build_carbon_inputs(base_acts, months, params=p, plots=plots)
    if spinup_start is not None and spinup_end is not None:
        spin_months = pd.period_range(pd.Timestamp(spinup_start), pd.Timestamp(spinup_end), freq="M")
        spin_src = build_carbon_inputs(activities, spin_months, params=p, plots=plots)
    else:
        spin_src = baseline_mgmt.isel(month=slice(0, 12))
    return ScenarioManagement(project_mgmt, baseline_mgmt, spin_src)


@dataclass(frozen=True)
class ScenarioResult:
    """Outputs of :func:`run_scenarios`."""

    baseline: xr.Dataset
    """RothC outputs of the baseline scenario over (plot, month)."""
    project: xr.Dataset
    """RothC outputs of the project scenario over (plot, month)."""
    initial: xr.Dataset
    """Equilibrium state at the start of the run (end of the spin-up), over plot."""
    spinup_c_input: xr.DataArray
    """Fitted annual plant C input of the spin-up [t C ha-1 yr-1] over plot."""
    delta_soc: xr.DataArray
    """Project minus baseline SOC at the end of the run [t C ha-1] over plot."""
    project_inputs: xr.Dataset
    """Monthly management inputs of the project scenario."""
    baseline_inputs: xr.Dataset
    """Monthly management inputs of the baseline scenario."""


def run_scenarios(
    activities: pd.DataFrame,
    weather: xr.Dataset,
    soil: xr.Dataset,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    project_start: str | pd.Timestamp,
    spinup_start: str | pd.Timestamp | None = None,
    spinup_end: str | pd.Timestamp | None = None,
    depth_cm: float = DEFAULT_DEPTH_CM,
    params: CarbonInputParameters | None = None,
    draws: xr.Dataset | None = None,
    management: ScenarioManagement | None = None,
) -> ScenarioResult:
    """Baseline and project RothC runs for every plot, from one spin-up.

    Parameters
    ----------
    activities : pandas.DataFrame
        Canonical activity records of every plot (``docs/DATA_FORMATS.md`` section 2).
    weather : xarray.Dataset
        Monthly ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] (open pan) along ``month``,
        covering the run; its calendar-month means are the spin-up climate.
    soil : xarray.Dataset
        Along ``plot`` (plot ids as coordinate): ``clay`` [%] and ``soc_initial`` [t C ha-1]
        (total SOC of the ``depth_cm`` layer at ``start``).
    start, end : timestamp or str
        First and last month of the run.
    project_start : timestamp or str
        First day of the project period (baseline practice before, logged practice after).
    spinup_start, spinup_end : timestamp or str, optional
        The baseline period whose logged management, averaged per calendar month, is the
        spin-up year (so a manure application every third year counts as a third of it).
        Default: the first 12 months of the run under the baseline practice.
    depth_cm : float
        Depth of the modelled layer [cm]; ``soc_initial`` must be for the same layer.
    params : CarbonInputParameters, optional
        Carbon-input choices.
    draws : xarray.Dataset, optional
        Monte Carlo draws (:func:`models.montecarlo.draw_parameters`) along ``draw`` (and
        ``plot`` for per-plot parameters): ``soc_initial`` [t C ha-1] replaces the measured stock;
        the others modify the RothC inputs by :data:`models.montecarlo.DEFAULT_RULES`
        (``c_inp_factor``, ``tmp_offset``, ``clay``, ...) in the spin-up and in both scenarios, so
        a shared draw moves baseline and project together. Every output then has a ``draw`` dim,
        all draws running in one vectorised RothC call per scenario.
    management : ScenarioManagement, optional
        Management inputs already built by :func:`scenario_management` for these plots and
        periods (e.g. shared by a deterministic run and its Monte Carlo); built here otherwise.

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
            spinup_start=spinup_start,
            spinup_end=spinup_end,
            params=params,
        )
    project_mgmt, baseline_mgmt, spin_src = management.project, management.baseline, management.spinup_source

    clay = soil["clay"]
    soc0 = soil["soc_initial"]
    input_draws = None
    if draws is not None:
        if "soc_initial" in draws:
            soc0 = xr.broadcast(draws["soc_initial"], soc0)[0].transpose("draw", "plot")
        input_draws = draws.drop_vars("soc_initial", errors="ignore")
    if bool((soc0 <= 0).any()):
        raise ModelInputError("soc_initial must be positive for every plot [t C ha-1]")

    # Spin-up year: the baseline management averaged per calendar month, under the climate normals.
    clim = climatology(weather)
    spin_mgmt = spin_src.groupby("month.month").mean("month").rename(month="month_of_year")
    spin_mgmt = spin_mgmt.rename(month_of_year="month").assign_coords(month=clim["month"].values)
    spin_mgmt["pc"] = (spin_mgmt["pc"] >= 0.5).astype(float).assign_attrs(units="1")
    for name in spin_mgmt.data_vars:
        spin_mgmt[name].attrs = dict(spin_src[name].attrs)
    spin = rothc_inputs(clim, spin_mgmt, clay, depth_cm=depth_cm)
    if input_draws is not None:
        spin = apply_draws(spin, input_draws)
    if "draw" in soc0.dims and "draw" not in spin.dims:
        spin["c_inp"] = spin["c_inp"].expand_dims(draw=soc0["draw"].values)
    spin = _drop_infeasible_manure(spin, soc0)
    fit = fit_plant_input_to_soc(spin, soc0.values, iom="falloon")
    spin = spin.assign(c_inp=fit["c_inp"].assign_coords(month=spin["month"]), iom=fit["iom"])
    # The true periodic steady state (not the official iteration, which stops ~1e-4 t C ha-1
    # short of it), so that the run starts exactly at the measured stock.
    init = equilibrium(spin, method="analytic")

    runs = {}
    for name, mgmt in (("baseline", baseline_mgmt), ("project", project_mgmt)):
        ds = rothc_inputs(weather, mgmt, clay, depth_cm=depth_cm)
        if input_draws is not None:
            ds = apply_draws(ds, input_draws)
        ds = ds.assign(iom=fit["iom"])
        runs[name] = run_rothc(ds, initial=init, variables=None if draws is None else ("SOC",))
    delta = runs["project"]["SOC"].isel(month=-1) - runs["baseline"]["SOC"].isel(month=-1)
    delta = delta.transpose(*[d for d in ("draw", "plot") if d in delta.dims])
    delta = delta.drop_vars("month", errors="ignore").assign_attrs(
        units="t C ha-1", long_name="project minus baseline SOC at the end of the run"
    )
    return ScenarioResult(
        baseline=runs["baseline"],
        project=runs["project"],
        initial=init,
        spinup_c_input=fit["annual_c_inp"],
        delta_soc=delta,
        project_inputs=project_mgmt,
        baseline_inputs=baseline_mgmt,
    )
