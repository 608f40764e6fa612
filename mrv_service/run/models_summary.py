"""The project figures of the models stage from the sums over its plots (one chunk or many).

:func:`models_summary` turns :class:`~mrv_service.run.models_partials.ModelsPartials` (exact sums
over the plots inside each draw, counts) into the ``rothc``, ``by_practice``,
``verified_credit``, ``ipcc_tier1``, ``weather`` and ``soil`` sections of ``summary.json``, with
the plausibility warnings (:mod:`models.plausibility`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from methodology.definition import load_definition
from models import calibration
from models.chain import SoilCarbonParameters
from models.estimate import interval, total_estimates
from models.exact_sums import unfixed
from models.plausibility import check_rate, practice_categories
from models.scenarios import COMMON_PRACTICE
from models.uncertainty import SCENARIO_UNCERTAINTY
from models.units import C_TO_CO2
from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.models_partials import ModelsPartials
from mrv_service.run.stages import model_periods

__all__ = ["models_summary", "vintage_years"]


def vintage_years(years: list[int], crediting_month: int, start: pd.Timestamp) -> xr.DataArray:
    """Length of each vintage [yr]: project start to the first crediting point, then a year each."""
    ends = [pd.Timestamp(year=y, month=crediting_month, day=1) + pd.offsets.MonthEnd(0) for y in years]
    starts = [start - pd.Timedelta(days=1), *ends[:-1]]
    days = [(e - b).days for b, e in zip(starts, ends, strict=True)]
    return xr.DataArray(np.array(days) / 365.25, dims="year", coords={"year": years}, attrs={"units": "yr"})


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
    vint_len = vintage_years(years, crediting_month, pd.Timestamp(project.crediting_start))
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
