"""The models stage of a run: baseline and project scenarios, their Monte Carlo, IPCC Tier 1.

Per weather station group of plots (:func:`mrv_service.run.stages.assign_stations`):

1. both scenarios' monthly management (:func:`models.scenarios.scenario_management`): the
   project as logged, the baseline repeating each plot's own look-back (common practice where
   logs are missing, flagged);
2. one deterministic run with the central parameters (the SOC of both scenarios at the last
   crediting point, reported per plot for review);
3. the Monte Carlo (:func:`models.scenarios.monte_carlo_scenarios`: the compiled pass of
   :mod:`models.scenario_montecarlo`) over the draws of
   :func:`models.uncertainty.scenario_draws`, made once for the whole project (the result does not
   depend on the grouping), with the model's prediction error from the validation
   (:mod:`models.calibration`) added per draw to plots whose management changed;
4. IPCC Tier 1 on the same footing (each plot's own look-back levels to its project levels).

The estimate is the mean of the draws and its 90 % interval (:mod:`models.estimate`), per plot and
for the project (sums inside each draw); only soil carbon is credited, the surface litter is
reported beside it. A practice group whose modelled rate lies outside the validated range of its
practices gets a warning (:mod:`models.plausibility`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from methodology.definition import load_definition
from models import calibration, ipcc_tier1
from models.chain import SoilCarbonParameters
from models.estimate import add_model_error, plot_estimates
from models.frequent import most_frequent
from models.plausibility import practice_categories
from models.scenarios import (
    ScenarioResult,
    changed_plots,
    crediting_points,
    monte_carlo_scenarios,
    run_scenarios,
    scenario_management,
)
from models.soil import initial_soc_stock
from models.uncertainty import scenario_draws
from models.units import C_TO_CO2
from models.verification.credit import misclassification_draws
from models.verification.reconcile import apply_decisions, apply_verification_rule
from models.verification.reviews import apply_reviews, rejected_seasons
from models.weather import monthly_forcing
from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.models_partials import ModelsPartials, combine, partials_of
from mrv_service.run.models_summary import models_summary, vintage_years
from mrv_service.run.stages import assign_stations, check_models_ready, model_periods

__all__ = [
    "ModelsChunk",
    "ModelsOutcome",
    "models_chunk",
    "models_stage",
    "models_summary",
    "practice_labels",
]

#: Draws per Monte Carlo chunk: memory grows with it, not with the number of draws.
CHUNK_DRAWS = 100


@dataclasses.dataclass(frozen=True)
class ModelsOutcome:
    """Result of :func:`models_stage`."""

    per_plot: pd.DataFrame
    """One row per plot: area, station, practices, initial SOC, both scenarios' SOC at the last
    crediting point, the credited change (mean of the draws, 90 % interval) [t C ha-1] and
    [t CO2e], the surface litter difference, and the Tier 1 levels and change."""
    summary: dict[str, Any]
    """``rothc`` (``soil``, ``litter``, ``monte_carlo``, ``switching_plots``, ``plausibility``),
    ``by_practice``, ``ipcc_tier1``, ``weather``, ``soil``."""
    results: dict[str, ScenarioResult]
    """Deterministic scenario results per weather station."""
    warnings: tuple[str, ...] = ()
    """Warnings for the run log (plausibility, defaulted baselines)."""
    vintages: xr.DataArray | None = None
    """The credited soil SOC change of every draw over (draw, plot, year) [t C ha-1], model error
    and misclassification draw included (the accounting's input)."""


def practice_labels(activities: pd.DataFrame, plots: list[str], years: list[int]) -> pd.Series:
    """The logged practice of each plot over some years: ``tillage + residue`` methods, the most
    frequent of each (``not logged`` where none)."""
    df = activities[activities["activity"].isin(("tillage", "residue"))]
    dates = pd.to_datetime(df["date"])
    df = df[dates.dt.year.isin(years)].assign(_date=dates).sort_values("_date", kind="stable")

    def most(sub: pd.DataFrame, activity: str) -> pd.Series:
        return most_frequent(sub[sub["activity"] == activity], "plot_id", "method")

    till, res = most(df, "tillage"), most(df, "residue")
    ids = pd.Index(plots, name="plot_id")
    return till.reindex(ids).fillna("not logged") + " + " + res.reindex(ids).fillna("not logged")


@dataclasses.dataclass(frozen=True)
class ModelsChunk:
    """What :func:`models_chunk` computed for some plots."""

    per_plot: pd.DataFrame
    """The rows of ``plot_results.csv`` the models give (:attr:`ModelsOutcome.per_plot`)."""
    partials: ModelsPartials
    """The sums the project summary needs (:func:`models_summary`)."""
    results: dict[str, ScenarioResult]
    vintages: xr.DataArray
    """Credited soil SOC change over (draw, plot, year) [t C ha-1]."""


def models_chunk(
    inputs: ProjectInputs,
    *,
    seed: int,
    n_draws: int | None = None,
    progress: Callable[[int], Any] | None = None,
    chunk_draws: int = CHUNK_DRAWS,
    verdicts: pd.DataFrame | None = None,
    soc_project_mean: float | None = None,
) -> ModelsChunk:
    """Scenarios, Monte Carlo and Tier 1 for the plots of ``inputs`` (all or a chunk of them).

    Every plot's result depends only on its own inputs, the station's weather, the seed and, for
    plots without soil samples, ``soc_project_mean`` (the mean of the project's sampled plots
    [t C ha-1]; default: of the plots given): the same for any chunk the plot is run in.
    """
    project = inputs.project
    s = project.settings
    replaced = pd.DataFrame(columns=["plot_id", "year", "practice", "logged", "used"])
    rule = load_definition(project.methodology_id).rule("verification_rule")["rule"]
    if verdicts is not None:
        verdicts = apply_reviews(apply_verification_rule(verdicts, rule), inputs.reviews)
        overridden = verdicts["status"] == "overridden"
        if rule == "detected" or overridden.any():
            replace = overridden | ((verdicts["status"] == "critical") & (rule == "detected"))
            decided, replaced = apply_decisions(inputs.activities, verdicts[replace])
            inputs = dataclasses.replace(inputs, activities=decided)
    check_models_ready(inputs)
    periods = model_periods(project)
    depth = float(s["model.depth_cm"])
    clay_pct = float(s["soil.clay_pct"])
    crediting_month = int(s["model.crediting_month"])
    n_draws = int(n_draws or s["model.monte_carlo_draws"])
    params = SoilCarbonParameters(**calibration.ADOPTED)
    plots = inputs.plots
    ids = plots["plot_id"].astype(str).tolist()
    area = xr.DataArray(
        plots["area_ha"].to_numpy(float), dims="plot", coords={"plot": ids}, attrs={"units": "ha"}
    )
    soc = initial_soc_stock(inputs.soil_layers, ids, depth, project_mean=soc_project_mean)
    soc0 = xr.DataArray(
        soc["soc_initial"].to_numpy(float), dims="plot", coords={"plot": ids}, attrs={"units": "t C ha-1"}
    )
    stations = assign_stations(inputs)
    draws = scenario_draws(
        soc0,
        n_draws,
        seed,
        clay_pct=clay_pct,
        model_error=True,
    )
    kw = dict(
        start=periods.run_start,
        end=periods.run_end,
        project_start=f"{project.crediting_start:%Y-%m-%d}",
        baseline_years=project.baseline_years,
        depth_cm=depth,
        params=params,
        crediting_month=crediting_month,
    )
    results: dict[str, ScenarioResult] = {}
    det_rows, vint_parts, litter_parts, changed_parts, defaulted, zones = [], [], [], [], [], {}
    for sid in sorted(set(stations["station_id"])):
        group = [p for p in ids if stations.at[p, "station_id"] == sid]
        weather = monthly_forcing(inputs.weather_months[inputs.weather_months["station_id"] == sid])
        acts = inputs.activities[inputs.activities["plot_id"].isin(group)]
        soil = xr.Dataset(
            {
                "clay": ("plot", np.full(len(group), clay_pct), {"units": "%"}),
                "soc_initial": soc0.sel(plot=group),
            },
            coords={"plot": group},
        )
        mgmt = scenario_management(
            acts,
            group,
            start=kw["start"],
            end=kw["end"],
            project_start=kw["project_start"],
            baseline_years=kw["baseline_years"],
        )
        res = run_scenarios(acts, weather, soil, management=mgmt, **kw)
        results[sid] = res
        zones[sid] = res.spinup.climate_zone
        det_rows.append(_points(res, crediting_month))
        vint, litter = monte_carlo_scenarios(
            acts, weather, soil, draws=draws.sel(plot=group), management=mgmt, chunk_draws=chunk_draws, **kw
        )
        vint_parts.append(vint)
        litter_parts.append(litter)
        changed_parts.append(changed_plots(mgmt))
        defaulted += list(mgmt.baseline_defaulted)
        if progress is not None:
            progress(len(group))

    changed = xr.concat(changed_parts, "plot").sel(plot=ids)
    raw = xr.concat(vint_parts, "plot").sel(plot=ids)
    litter = xr.concat(litter_parts, "plot").sel(plot=ids)
    det = pd.concat(det_rows).reindex(ids)
    years = [int(y) for y in raw["year"].values]
    vint_len = vintage_years(years, crediting_month, pd.Timestamp(project.crediting_start))
    labels_base = practice_labels(inputs.activities, ids, list(project.baseline_years))
    labels_proj = practice_labels(inputs.activities, ids, list(project.project_years))
    t1 = _tier1(inputs, ids, zones, stations, project.baseline_years, project.project_years)
    cats = [
        practice_categories(f"{a} / {b}", f"{c} / {d}", lb, lp) if ch else ()
        for a, b, c, d, lb, lp, ch in zip(
            t1["start_tillage"], t1["start_input"], t1["end_tillage"], t1["end_input"],
            labels_base, labels_proj, changed.values, strict=True,
        )
    ]  # fmt: skip
    err = xr.DataArray([_model_error(c, bool(ch)) for c, ch in zip(cats, changed.values, strict=True)], dims="plot",
                       coords={"plot": ids}, attrs={"units": "t C ha-1 yr-1"})  # fmt: skip
    misclassified = None
    unverified = None
    # excluded plot-seasons (by the rule, or rejected by a reviewer) earn nothing, whether or
    # not the misclassification draw runs
    excluded_by_review = set(rejected_seasons(inputs.reviews))
    excluded = set(excluded_by_review)
    if verdicts is not None and rule == "exclude":
        out = verdicts[verdicts["status"] == "critical"]
        excluded |= set(zip(out["plot_id"].astype(str), out["year"].astype(int), strict=True))
    for pid, yr in sorted(excluded):
        if pid in ids and yr in years:
            raw.loc[{"plot": pid, "year": yr}] = 0.0
    if verdicts is not None and bool(s["verification.misclassification_draw"]):
        misclassified = misclassification_draws(
            verdicts, verdicts["keep"], ids, years, project.baseline_years, n_draws, seed + 1
        )
        unverified = add_model_error(raw, draws["model_error"], err, vint_len)
        raw = raw.transpose("draw", "plot", "year") * misclassified.values
    vintages = add_model_error(raw, draws["model_error"], err, vint_len)
    for pid, yr in sorted(excluded):  # an excluded season claims nothing: no model error either
        if pid in ids and yr in years:
            vintages.loc[{"plot": pid, "year": yr}] = 0.0

    est = plot_estimates(vintages, area)
    span_yr = float(vint_len.sum())  # project start to the last crediting point [yr]
    litter_last = litter.isel(year=-1)
    tier1_baseline = (t1["start_tillage"] + " / " + t1["start_input"]).to_numpy()
    tier1_project = (t1["end_tillage"] + " / " + t1["end_input"]).to_numpy()
    exact = pd.DataFrame(
        {
            "plot_id": ids,
            "area_ha": plots["area_ha"].to_numpy(float),
            "station_id": stations["station_id"].to_numpy(),
            "station_distance_km": stations["distance_km"].to_numpy(),
            "baseline_practice": labels_base.to_numpy(),
            "project_practice": labels_proj.to_numpy(),
            "soc_initial_t_c_ha": soc["soc_initial"].to_numpy(float),
            "soc_initial_source": soc["source"].to_numpy(),
            "delta_soc_t_c_ha": est["delta_t_c_ha_mean"].values,
            "tier1_baseline": tier1_baseline,
            "tier1_project": tier1_project,
            "tier1_delta_t_c_ha_yr": t1["delta"].to_numpy(float),
        }
    )
    table = pd.DataFrame(
        {
            "plot_id": ids,
            "farmer_id": plots["farmer_id"].to_numpy(),
            "village": plots["village"].to_numpy(),
            "area_ha": plots["area_ha"].round(4).to_numpy(),
            "station_id": stations["station_id"].to_numpy(),
            "station_distance_km": stations["distance_km"].to_numpy(),
            "baseline_practice": labels_base.to_numpy(),
            "project_practice": labels_proj.to_numpy(),
            "baseline_common_practice": np.isin(ids, defaulted),
            "soc_initial_t_c_ha": soc["soc_initial"].round(3).to_numpy(),
            "soc_initial_source": soc["source"].to_numpy(),
            "soc_baseline_end_t_c_ha": det["baseline"].round(3).to_numpy(),
            "soc_project_end_t_c_ha": det["project"].round(3).to_numpy(),
            "delta_soc_t_c_ha": est["delta_t_c_ha_mean"].round(4).values,
            "delta_soc_t_c_ha_p5": est["delta_t_c_ha_p5"].round(4).values,
            "delta_soc_t_c_ha_p95": est["delta_t_c_ha_p95"].round(4).values,
            "rate_t_c_ha_yr": (est["delta_t_c_ha_mean"] / span_yr).round(4).values,
            "delta_t_co2e": est["t_co2e_mean"].round(3).values,
            "delta_t_co2e_p5": est["t_co2e_p5"].round(3).values,
            "delta_t_co2e_p95": est["t_co2e_p95"].round(3).values,
            "delta_t_co2e_sd": (vintages.sum("year").std("draw", ddof=1) * area * C_TO_CO2).round(3).values,
            "litter_delta_t_c_ha": litter_last.mean("draw").round(4).values,
            "tier1_baseline": tier1_baseline,
            "tier1_project": tier1_project,
            "tier1_delta_t_c_ha_yr": t1["delta"].round(4).to_numpy(),
            "model_error_t_c_ha_yr": err.round(4).values,
        }
    )
    table.loc[~changed.values, ["delta_soc_t_c_ha_p5", "delta_soc_t_c_ha_p95"]] = 0.0
    p_keep = None
    if misclassified is not None:
        p_keep = misclassified.attrs["p_keep"]
    partials = partials_of(
        exact,
        changed.values,
        vintages,
        litter_last,
        area,
        unverified=unverified,
        p_keep=p_keep,
        zones=zones,
        tier1_end_tillage=t1["end_tillage"].to_numpy(),
        records_replaced=len(replaced),
        defaulted_plots=len(set(defaulted)),
        reviews=inputs.reviews,
        rejected_seasons=len([k for k in excluded_by_review if k[1] in years and k[0] in ids]),
    )
    return ModelsChunk(table, partials, results, vintages.assign_attrs(units="t C ha-1"))


def models_stage(
    inputs: ProjectInputs,
    *,
    seed: int,
    n_draws: int | None = None,
    progress: Callable[[int], Any] | None = None,
    chunk_draws: int = CHUNK_DRAWS,
    verdicts: pd.DataFrame | None = None,
) -> ModelsOutcome:
    """Scenarios, Monte Carlo and the Tier 1 comparison for every plot (module notes), in one
    chunk (a run by plot chunk calls :func:`models_chunk` per chunk and :func:`models_summary`
    on the combined sums: the same figures).

    Parameters
    ----------
    inputs : ProjectInputs
    seed : int
        Seed of the Monte Carlo draws.
    n_draws : int, optional
        Number of draws (default: the project's ``model.monte_carlo_draws``).
    progress : callable, optional
        Called with the number of plots of each station group when the group is done.
    chunk_draws : int
        Draws run at once.
    verdicts : pandas.DataFrame, optional
        The verification stage's ``practice_verdicts.csv``: critical contradictions are modelled
        as detected (:func:`models.verification.reconcile.apply_decisions`) and, with the setting
        ``verification.misclassification_draw``, each credited claim holds in a draw with its
        probability (:mod:`models.verification.credit`).
    """
    chunk = models_chunk(
        inputs, seed=seed, n_draws=n_draws, progress=progress, chunk_draws=chunk_draws, verdicts=verdicts
    )
    summary, warnings_ = models_summary(
        inputs, combine([chunk.partials]), seed=seed, n_draws=n_draws, verification_used=verdicts is not None
    )
    return ModelsOutcome(chunk.per_plot, summary, chunk.results, tuple(warnings_), chunk.vintages)


def _model_error(categories: tuple[str, ...], changed: bool) -> float:
    """Prediction error of a plot's practice effect [t C ha-1 yr-1]: the errors of its categories
    added in quadrature (:data:`models.calibration.MODEL_ERROR_RATE`); the pooled error for a
    change in no validated category; 0 for identical scenarios."""
    if not changed:
        return 0.0
    known = [calibration.MODEL_ERROR_RATE[c] for c in categories if c in calibration.MODEL_ERROR_RATE]
    if not known:
        return float(calibration.MODEL_ERROR_RATE["pooled"])
    return float(np.sqrt(np.sum(np.square(known))))


def _points(res: ScenarioResult, crediting_month: int) -> pd.DataFrame:
    """Both scenarios' soil SOC at the last crediting point (deterministic run)."""
    ids = [str(p) for p in res.baseline["plot"].values]
    base = crediting_points(res.baseline["SOC"], crediting_month).isel(year=-1)
    proj = crediting_points(res.project["SOC"], crediting_month).isel(year=-1)
    return pd.DataFrame(
        {"baseline": base.values, "project": proj.values}, index=pd.Index(ids, name="plot_id")
    )


def _tier1(
    inputs: ProjectInputs,
    ids: list[str],
    zones: dict[str, str],
    stations: pd.DataFrame,
    baseline_years: list[int],
    project_years: list[int],
) -> pd.DataFrame:
    """IPCC Tier 1 (2019 Refinement) annual change per plot: its own look-back levels to its
    project levels (:func:`models.ipcc_tier1.plot_period_levels`), in its station's climate zone."""
    levels = ipcc_tier1.plot_period_levels(inputs.activities, ids, baseline_years, project_years)
    zone = stations.loc[ids, "station_id"].map(zones).to_numpy()
    t1 = ipcc_tier1.tier1_stock_change(
        zone,
        inputs.project.settings["soil.ipcc_soil_class"],
        start={
            "tillage": levels["start_tillage"].to_numpy(),
            "input_level": levels["start_input"].to_numpy(),
        },
        end={"tillage": levels["end_tillage"].to_numpy(), "input_level": levels["end_input"].to_numpy()},
    )
    out = levels.copy()
    out["delta"] = np.broadcast_to(np.asarray(t1.delta_c, dtype=float), (len(ids),))
    return out
