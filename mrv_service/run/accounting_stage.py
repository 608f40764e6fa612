"""The accounting step of ``mrv run`` (after the Monte Carlo, in the models stage): the project's
methodology definition applied to the credited SOC change.

1. the definition named by the project (``methodology_id``, :mod:`methodology.definition`);
2. project and baseline emissions per plot-season from the logs (:mod:`methodology.emissions`):
   synthetic and manure N, crop-residue N by straw handling, diesel, straw burning; the baseline
   repeats each plot's look-back tillage and residue records like the SOC baseline does
   (:func:`models.scenarios.baseline_activities`);
3. plots that overlap another project's plots and were registered later are refused
   (:mod:`mrv_service.store.claims`): no credit, listed by plot;
4. the accounting (:func:`methodology.accounting.account`): removals, uncertainty deduction,
   buffer, emissions, leakage, net per vintage, plot, farmer and project;
5. the scheme's hard rules (:func:`methodology.rules.scheme_checks`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from methodology.accounting import (
    AccountingRules,
    account,
    by_farmer,
    organic_amendment_leakage,
    soc_removals,
)
from methodology.definition import Definition, load_definition
from methodology.emissions import (
    SoilN2OFactors,
    above_ground_residue_ratio,
    crop_dry_matter,
    crop_residue_n,
    emissions_difference,
    project_emissions,
    residue_burned_fuel,
    straw_handling_fractions,
)
from methodology.rules import scheme_checks
from models.scenarios import baseline_activities
from mrv_service.run.inputs import ProjectInputs

__all__ = ["AccountingOutcome", "accounting_lines", "accounting_stage", "rules_of", "season_amounts"]


@dataclasses.dataclass(frozen=True)
class AccountingOutcome:
    """What the accounting produced."""

    per_plot: pd.DataFrame
    """Per plot: net credit per vintage and in all [t CO2e] and the parts (plot_results.csv)."""
    farmers: pd.DataFrame
    """Per farmer: plots and net [t CO2e] (farmers.csv)."""
    summary: dict[str, Any]
    """``accounting`` section of summary.json."""


def rules_of(defn: Definition) -> AccountingRules:
    """The accounting rules a definition names, with its constants."""
    unc, buf, lk = defn.rule("uncertainty"), defn.rule("buffer"), defn.rule("leakage")
    params = defn.parameters
    extra = {
        field: defn.param(name)
        for field, name in (
            ("z90", "z_90"),
            ("t_0667", "t_0667"),
            ("no_deduction_below", "unc_no_deduction_threshold"),
            ("exclude_above", "unc_exclusion_threshold"),
            ("manure_c_retention", "manure_C_retention"),
        )
        if name in params
    }
    return AccountingRules(
        uncertainty=str(unc["rule"]),
        buffer=str(buf["rule"]),
        buffer_rate=float(buf.get("rate") or 0.0),
        leakage=str(lk["rule"]),
        leakage_reason=str(lk.get("reason", "")),
        **extra,
    )


def _grid(amounts: pd.DataFrame, column: str) -> xr.DataArray:
    return amounts.set_index(["plot_id", "year"])[column].to_xarray().rename(plot_id="plot")


def scenario_emissions(
    amounts: pd.DataFrame, area: xr.DataArray, defn: Definition, climate_zone: str
) -> xr.Dataset:
    """One scenario's emissions per plot and year [t CO2e] (:func:`methodology.emissions.project_emissions`)
    with the definition's factors: the IPCC 2019 wet or dry set by the project's climate zone, the
    residue N of each season's straw handling (no record: no removal, IPCC 2019 Vol. 4 p. 11.16)."""
    dry = "dry" in climate_zone
    p = defn.param
    factors = SoilN2OFactors(
        frac_leach=p("Frac_LEACH_dry") if dry else p("Frac_LEACH"),
        ef1=p("EF1_dry") if dry else p("EF1_wet_synthetic"),
        ef1_other=p("EF1_dry") if dry else p("EF1_wet_other"),
        ef4=p("EF4_dry") if dry else p("EF4_wet"),
        ef5=p("EF5"),
        frac_gasf=p("Frac_GASF"),
        frac_gasm=p("Frac_GASM"),
    )
    handling = amounts["residue_method"].where(amounts["residue_method"].notna(), "retained")
    remove, burnt = straw_handling_fractions(handling.to_numpy(dtype=object))
    crop_dm = crop_dry_matter(amounts["yield_t_ha"].fillna(0.0).to_numpy() * 1000.0)
    ag_dm = above_ground_residue_ratio(crop_dm)
    work = amounts.assign(
        residue_n=crop_residue_n(crop_dm, ag_dm, frac_remove=remove, frac_burnt=burnt),
        burned_t_dm=residue_burned_fuel(ag_dm, burnt),
    )
    diesel_per_ha = _grid(work, "diesel_l") / area
    return project_emissions(
        _grid(work, "n_synthetic"),
        _grid(work, "n_manure"),
        _grid(work, "residue_n"),
        diesel_per_ha,
        _grid(work, "burned_t_dm"),
        area,
        n2o_factors=factors,
        gwp_n2o=p("GWP_N2O"),
        gwp_ch4=p("GWP_CH4"),
        diesel_density_kg_per_l=p("diesel_density"),
        diesel_ncv_mj_per_kg=p("diesel_NCV"),
        diesel_ef_co2_kg_per_tj=p("diesel_EF_CO2"),
    )


def season_amounts(activities: pd.DataFrame, plot_ids: list[str], years: list[int]) -> pd.DataFrame:
    """Per plot-season amounts that emit: ``n_synthetic`` [kg N ha-1], ``n_manure`` [kg N ha-1]
    (fresh manure [t ha-1] x 1000 x N [%] / 100), ``manure_c_t_ha`` [t C ha-1],
    ``yield_t_ha`` [t ha-1 fresh grain],
    ``residue_method`` (the season's last residue record), ``diesel_l`` [L per plot]."""
    a = activities.copy()
    a["date"] = pd.to_datetime(a["date"])
    a["year"] = a["date"].dt.year
    a["plot_id"] = a["plot_id"].astype(str)
    a = a[a["year"].isin(years)]
    grid = pd.MultiIndex.from_product([plot_ids, years], names=["plot_id", "year"])
    out = pd.DataFrame(index=grid)

    def col(name: str) -> pd.Series:
        return pd.to_numeric(a[name], errors="coerce") if name in a.columns else pd.Series(0.0, index=a.index)

    fert = a["activity"] == "fertiliser"
    out["n_synthetic"] = (
        col("n_rate").where(fert, 0.0).groupby([a["plot_id"], a["year"]]).sum().reindex(grid).fillna(0.0)
    )
    man = (a["activity"] == "manure") & col("manure_rate").notna() & col("manure_n").notna()
    n_man = (col("manure_rate") * 1000.0 * col("manure_n") / 100.0).where(man, 0.0)
    out["n_manure"] = n_man.groupby([a["plot_id"], a["year"]]).sum().reindex(grid).fillna(0.0)
    man_c = (a["activity"] == "manure") & col("manure_rate").notna() & col("manure_c").notna()
    c_man = (col("manure_rate") * col("manure_c") / 100.0).where(man_c, 0.0)
    out["manure_c_t_ha"] = c_man.groupby([a["plot_id"], a["year"]]).sum().reindex(grid).fillna(0.0)
    harvest = a["activity"] == "harvest"
    out["yield_t_ha"] = (
        col("yield").where(harvest).groupby([a["plot_id"], a["year"]]).sum(min_count=1).reindex(grid)
    )
    res = a[a["activity"] == "residue"].groupby(["plot_id", "year"])["method"].last()
    out["residue_method"] = res.reindex(grid)
    out["diesel_l"] = (
        col("diesel").fillna(0.0).groupby([a["plot_id"], a["year"]]).sum().reindex(grid).fillna(0.0)
    )
    return out.reset_index()


def accounting_stage(
    inputs: ProjectInputs,
    vintages: xr.DataArray,
    claims: pd.DataFrame,
    *,
    application_date: dt.date,
    crediting_month: int,
    climate_zone: str,
) -> AccountingOutcome:
    """Steps 1-5 of the module notes."""
    project = inputs.project
    defn = load_definition(project.methodology_id)
    rules = rules_of(defn)
    plots = inputs.plots
    ids = plots["plot_id"].astype(str).tolist()
    area = xr.DataArray(
        plots["area_ha"].to_numpy(float), dims="plot", coords={"plot": ids}, attrs={"units": "ha"}
    )
    years = [int(y) for y in vintages["year"].values]
    refused = sorted(set(claims.loc[claims["refused"], "plot_id"].astype(str))) if len(claims) else []
    v = vintages.copy()
    if refused:
        v.loc[{"plot": refused}] = 0.0
    removals = soc_removals(v.assign_attrs(units="t C ha-1"), area)
    base_acts, _ = baseline_activities(
        inputs.activities, f"{project.crediting_start:%Y-%m-%d}", list(project.baseline_years)
    )
    emis, manure_c = {}, {}
    for name, acts in (("project", inputs.activities), ("baseline", base_acts)):
        amounts = season_amounts(acts, ids, years)
        emis[name] = scenario_emissions(amounts, area, defn, climate_zone)
        manure_c[name] = _grid(amounts, "manure_c_t_ha") * area
    diff = emissions_difference(emis["project"], emis["baseline"])
    leakage = None
    if rules.leakage == "vm0042_eq33":
        leakage = organic_amendment_leakage(manure_c["project"], manure_c["baseline"], rules)
    if refused:
        diff.loc[{"plot": refused}] = 0.0
        if leakage is not None:
            leakage.loc[{"plot": refused}] = 0.0
    per_plot, proj = account(removals, diff["total_t_co2e"], leakage, rules)
    farmer_of = dict(zip(ids, plots["farmer_id"].astype(str), strict=True))
    share = project.settings.get("accounting.farmer_share")
    farmers = by_farmer(per_plot, farmer_of, share=None if share is None else float(share))
    table = pd.DataFrame({"plot_id": ids})
    for y in years:
        table[f"net_t_co2e_{y}"] = per_plot["net"].sel(year=y).round(4).values
    for part in ("removals", "uncertainty_deduction", "buffer", "emissions", "leakage", "net"):
        table[f"{part}_t_co2e"] = per_plot[part].sum("year").round(4).values
    table["refused_overlap"] = np.isin(ids, refused)
    checks = scheme_checks(
        implementation_start=project.crediting_start,
        vintages=years,
        crediting_month=crediting_month,
        application_date=application_date,
        ministry_issued=defn.ministry_issued,
        methodology_id=defn.id,
        hard_rules=defn.rule("hard_rules"),
        overlapping_plots=len(refused),
    )
    summary = {
        "methodology": {"id": defn.id, "ministry_issued": defn.ministry_issued},
        **proj,
        "emissions_by_source_t_co2e": {k: round(float(diff[k].sum()), 3) for k in diff.data_vars},
        "emission_factors": {
            "climate": "dry" if "dry" in climate_zone else "wet",
            "gwp_n2o": defn.param("GWP_N2O"),
            "gwp_ch4": defn.param("GWP_CH4"),
        },
        "refused_plots": claims[claims["refused"]].to_dict("records") if len(claims) else [],
        "scheme_checks": checks,
        "application_date": f"{application_date:%Y-%m-%d}",
        "farmers": int(len(farmers)),
    }
    return AccountingOutcome(table, farmers, summary)


def accounting_lines(summary: dict[str, Any]) -> list[str]:
    """The console lines of the accounting (``mrv run``)."""
    lines = []
    m = summary["methodology"]
    for y, v in summary["vintages"].items():
        ni = v["net_interval"]
        lines.append(
            f"credited    vintage {y}: {v['net']:.0f} t CO2e net (90 % interval {ni['p5']:.0f} to {ni['p95']:.0f}) = "
            f"removals {v['removals']['mean']:.0f} - uncertainty {v['uncertainty_deduction']:.0f} (U90 "
            f"{(v['u90'] or 0):.0%}) - buffer {v['buffer']:.0f} - emissions {v['emissions']:.1f} - leakage {v['leakage']:.0f}"
        )
    lines.append(
        f"credited    {m['id']}: {summary['credited_t_co2e']:.0f} t CO2e net over the vintages"
        + (f"; removals excluded: {summary['excluded_reason']}" if summary["excluded"] else "")
    )
    for c in summary["scheme_checks"]:
        if c["status"] != "pass":
            lines.append(f"{c['status'].upper():<11} {c['rule']}: {c['detail']}")
    return lines
