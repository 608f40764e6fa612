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
from models.estimate import add_model_error, interval, plot_estimates, total_estimates
from models.exact_sums import unfixed
from models.frequent import most_frequent
from models.plausibility import check_rate, practice_categories
from models.scenarios import (
    COMMON_PRACTICE,
    ScenarioResult,
    changed_plots,
    crediting_points,
    monte_carlo_scenarios,
    run_scenarios,
    scenario_management,
)
from models.soil import initial_soc_stock
from models.uncertainty import SCENARIO_UNCERTAINTY, scenario_draws
from models.units import C_TO_CO2
from models.verification.credit import misclassification_draws
from models.verification.reconcile import apply_decisions, apply_verification_rule
from models.verification.reviews import apply_reviews, rejected_seasons
from models.weather import monthly_forcing
from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.models_partials import ModelsPartials, combine, partials_of
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
    vint_len = _vintage_years(years, crediting_month, pd.Timestamp(project.crediting_start))
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


def models_summary(
    inputs: ProjectInputs,
    partials: ModelsPartials,
    *,
    seed: int,
    n_draws: int | None = None,
    verification_used: bool,
) -> tuple[dict[str, Any], list[str]]:
    """The project's figures (``rothc``, ``by_practice``, ``verified_credit``, ``ipcc_tier1``,
    ``weather``, ``soil`` of ``summary.json``) and the warnings, from the sums over its plots."""
    project = inputs.project
    s = project.settings
    rule = load_definition(project.methodology_id).rule("verification_rule")["rule"]
    periods = model_periods(project)
    depth = float(s["model.depth_cm"])
    crediting_month = int(s["model.crediting_month"])
    n_draws = int(n_draws or s["model.monte_carlo_draws"])
    params = SoilCarbonParameters(**calibration.ADOPTED)
    p = partials
    years = p.years
    vint_len = _vintage_years(years, crediting_month, pd.Timestamp(project.crediting_start))
    span_yr = float(vint_len.sum())
    draw = np.arange(n_draws)
    vint_c = xr.DataArray(unfixed(p.vintage_c), dims=("draw", "year"), coords={"draw": draw, "year": years})
    proj = total_estimates((vint_c * C_TO_CO2).assign_attrs(units="t CO2e"))
    total_c_draws = vint_c.sum("year")  # (draw,) [t C]
    by_practice, warnings_ = _by_practice(p, span_yr)
    sw_rate = (
        xr.DataArray(unfixed(p.switching_c), dims="draw") / float(unfixed(p.switching_ha)) / span_yr
        if p.switching_plots
        else None
    )
    project_cats = tuple(sorted({c for row in by_practice for c in row["categories"]}))
    project_check = (
        check_rate(float(sw_rate.mean()), project_cats) if sw_rate is not None else check_rate(0.0, ())
    )
    if project_check.warning:
        warnings_.insert(0, f"project (all plots that changed practice): {project_check.warning}")
    total_c = float(total_c_draws.mean())
    mc_total = interval((total_c_draws * C_TO_CO2).assign_attrs(units="t CO2e"))
    if p.defaulted_plots:
        warnings_.append(
            f"{p.defaulted_plots} plot(s) lack look-back tillage or residue records for some baseline year; "
            f"their baseline uses the region's common practice ({COMMON_PRACTICE['tillage']} tillage, straw "
            f"{COMMON_PRACTICE['residue']}): add their {min(project.baseline_years)}-{max(project.baseline_years)} logs"
        )
    zones = p.zones
    tier1_c = float(unfixed(p.tier1_c))
    summary = {
        "rothc": {
            "model": "RothC-26.3 with a surface residue pool outside SOC and a tillage rate modifier (models.chain)",
            "run": f"{periods.run_start} to {periods.run_end}",
            "spinup": (
                f"look-back management {periods.spinup_start} to {periods.spinup_end} under the station's "
                "monthly climatology, plant input fitted to the measured SOC"
            ),
            "depth_cm": depth,
            "credited_quantity": (
                f"soil organic carbon (DPM+RPM+BIO+HUM+IOM, 0-{depth:g} cm; surface residue excluded) at the end "
                f"of month {crediting_month} of each year, project minus baseline (models.scenarios)"
            ),
            "crediting_points": [f"{y}-{crediting_month:02d}" for y in years],
            "years_elapsed": round(span_yr, 3),
            "parameters": {k: getattr(params, k) for k in params.ranges}
            | {"source": calibration.PROVENANCE["source"]},
            "mean_initial_soc_t_c_ha": round(float(unfixed(p.soc0)) / p.n_plots, 3),
            "mean_delta_soc_t_c_ha": round(float(unfixed(p.delta_mean)) / p.n_plots, 4),
            "total_delta_soc_t_c": round(total_c, 2),
            "total_delta_soc_t_co2e": round(total_c * C_TO_CO2, 2),
            "soil": {
                "total_t_co2e": proj["total"],
                "vintages_t_co2e": proj["vintages"],
                "note": "credited: the mean of the draws and its 90 % interval (5th-95th percentile), "
                "before leakage, uncertainty and buffer deductions",
            },
            "litter": {
                "total_t_c": round(float(unfixed(p.litter_c).mean()), 2),
                "mean_t_c_ha": round(float(unfixed(p.litter).mean()) / p.n_plots, 4),
                "note": "project minus baseline surface residue C at the last crediting point; not soil carbon, not credited",
            },
            "switching_plots": {
                "plots": p.switching_plots,
                "hectares": round(float(unfixed(p.switching_ha)), 2),
                **(
                    {
                        "rate_t_c_ha_yr": {
                            k: round(float(v), 4)
                            for k, v in interval(sw_rate.assign_attrs(units="t C ha-1 yr-1")).items()
                        }
                    }
                    if sw_rate is not None
                    else {}
                ),
            },
            "monte_carlo": {
                "draws": n_draws,
                "seed": int(seed),
                "sources": sorted(
                    [
                        *(k for k, v in SCENARIO_UNCERTAINTY.items() if not v.per_plot),
                        "soc_initial",
                        "model_error",
                    ]
                ),
                "total_t_co2e_mean": round(float(mc_total["mean"]), 1),
                "total_t_co2e_sd": round(float(mc_total["sd"]), 1),
                "total_t_co2e_p5": round(float(mc_total["p5"]), 1),
                "total_t_co2e_p50": round(float(mc_total["p50"]), 1),
                "total_t_co2e_p95": round(float(mc_total["p95"]), 1),
                "relative_half_width_90": round(
                    (float(mc_total["p95"]) - float(mc_total["p5"])) / 2 / float(mc_total["mean"]), 4
                )
                if float(mc_total["mean"])
                else None,
            },
            "baseline": {
                "rule": "each plot repeats its own look-back tillage and residue records (VM0042 v2.2 section 6)",
                "plots_with_common_practice": p.defaulted_plots,
                "common_practice": dict(COMMON_PRACTICE),
            },
            "plausibility": {
                "project_rate_t_c_ha_yr": round(float(sw_rate.mean()), 4) if sw_rate is not None else None,
                "categories": list(project_cats),
                "validated_range_t_c_ha_yr": list(project_check.range) if project_check.range else None,
                "within_validated_range": project_check.within,
                "source": "models.calibration.VALIDATED_RATE_RANGE (docs/VALIDATION.md)",
                "warnings": list(warnings_),
            },
        },
        "by_practice": by_practice,
        "verified_credit": {
            "rule_for_contradicted_seasons": rule,
            "verification": "used"
            if verification_used
            else "not run (every logged practice taken as logged)",
            "records_replaced_by_detected_practice": p.records_replaced,
            "reviews_applied": {
                "accepted": p.reviews.get("accept", 0),
                "overridden": p.reviews.get("override", 0),
                "rejected_plot_seasons_excluded": p.rejected_seasons,
                "evidence_requested": p.reviews.get("request_evidence", 0),
            },
            "misclassification_draw": p.unverified_c is not None,
            **(
                {
                    "expected_share_of_claims_true": round(float(unfixed(p.keep)) / p.keep_n, 4),
                    "total_t_co2e_without_the_draw": round(
                        float(unfixed(p.unverified_c).mean()) * C_TO_CO2, 1
                    ),
                }
                if p.unverified_c is not None
                else {}
            ),
        },
        "ipcc_tier1": {
            "method": "IPCC 2019 Refinement Tier 1 (D = 20 yr, 0-30 cm), each plot's look-back levels to its project levels; "
            "no-till only where practised every year (Vol. 4 p. 5.33)",
            "climate_zone": sorted(set(zones.values()))[0]
            if len(set(zones.values())) == 1
            else dict(sorted(zones.items())),
            "soil_class": s["soil.ipcc_soil_class"],
            "plots_no_till": p.no_till_plots,
            "annual_delta_soc_t_c": round(tier1_c, 2),
            "annual_delta_soc_t_co2e": round(tier1_c * C_TO_CO2, 2),
        },
        "weather": {
            "stations": len(p.plots_per_station),
            "plots_per_station": dict(sorted(p.plots_per_station.items())),
            "max_station_distance_km": None if p.max_station_km is None else round(p.max_station_km, 2),
            "months": f"{periods.weather_start} to {periods.weather_end}",
        },
        "soil": {
            "plots_with_samples": p.soil_measured,
            "plots_with_project_mean": p.soil_project_mean,
            "clay_pct_default": float(s["soil.clay_pct"]),
        },
    }
    return summary, warnings_


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


def _vintage_years(years: list[int], crediting_month: int, start: pd.Timestamp) -> xr.DataArray:
    """Length of each vintage [yr]: project start to the first crediting point, then a year each."""
    ends = [pd.Timestamp(year=y, month=crediting_month, day=1) + pd.offsets.MonthEnd(0) for y in years]
    starts = [start - pd.Timedelta(days=1), *ends[:-1]]
    days = [(e - b).days for b, e in zip(starts, ends, strict=True)]
    return xr.DataArray(np.array(days) / 365.25, dims="year", coords={"year": years}, attrs={"units": "yr"})


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


def _by_practice(p: ModelsPartials, span_yr: float) -> tuple[list[dict[str, Any]], list[str]]:
    """RothC and Tier 1 side by side per practice change, and the plausibility check of each."""
    rows, warnings_ = [], []
    for (base, proj), g in p.groups.items():
        ha = float(unfixed(g.hectares))
        rate = xr.DataArray(unfixed(g.c_draws), dims="draw") / ha / span_yr
        st = interval(rate.assign_attrs(units="t C ha-1 yr-1"))
        t1_rate = float(unfixed(g.tier1_c)) / ha
        # no category when the labels match: the scenarios differ only by the look-back's
        # year-to-year variation, not by a practice change the project claims (nothing to check)
        cats = practice_categories(g.tier1_baseline, g.tier1_project, base, proj)
        check = check_rate(float(st["mean"]), cats)
        if check.warning:
            warnings_.append(f"{base} -> {proj}: {check.warning}")
        rows.append(
            {
                "baseline_practice": base,
                "project_practice": proj,
                "plots": g.plots,
                "hectares": round(ha, 2),
                "rothc_rate_t_c_ha_yr": {k: round(float(st[k]), 4) for k in ("mean", "p5", "p95")},
                "tier1_rate_t_c_ha_yr": round(t1_rate, 4),
                "categories": list(cats),
                "validated_range_t_c_ha_yr": [round(x, 3) for x in check.range] if check.range else None,
                "within_validated_range": check.within,
            }
        )
    return rows, warnings_


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
