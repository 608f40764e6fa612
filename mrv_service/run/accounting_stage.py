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
    ProjectAccounting,
    farmer_table,
    organic_amendment_leakage,
    plot_accounting,
    project_accounting,
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
from models.exact_sums import fixed, fixed_sum, unfixed
from models.scenarios import baseline_activities
from mrv_service.run.inputs import ProjectInputs

__all__ = [
    "AccountingChunk",
    "AccountingOutcome",
    "accounting_chunk",
    "accounting_lines",
    "accounting_plots",
    "accounting_project",
    "accounting_stage",
    "gain_sum",
    "rules_of",
    "season_amounts",
]


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


@dataclasses.dataclass(frozen=True)
class AccountingChunk:
    """The accounting of some plots before the project's deductions (:func:`accounting_chunk`)."""

    plots: xr.Dataset
    """Over (plot, year) [t CO2e]: ``removals`` (mean of the draws), ``emissions`` (project minus
    baseline), ``leakage``; over plot: ``refused`` (overlap with an earlier project) and the
    ``farmer_id`` coordinate."""
    totals: np.ndarray
    """Removals summed over the plots inside each draw, (draw, year) [quanta of t CO2e]."""
    emissions: np.ndarray
    leakage: np.ndarray
    """Summed over the plots, per vintage [quanta of t CO2e]."""
    by_source: dict[str, int]
    """Emissions difference by source summed over plots and vintages [quanta of t CO2e]."""


def accounting_chunk(
    inputs: ProjectInputs, vintages: xr.DataArray, refused: list[str], *, climate_zone: str
) -> AccountingChunk:
    """Steps 1-2 of the module notes for the plots of ``inputs`` (all or a chunk): removals,
    emissions and leakage per plot and vintage, refused plots zeroed, and their sums."""
    project = inputs.project
    defn = load_definition(project.methodology_id)
    rules = rules_of(defn)
    plots = inputs.plots
    ids = plots["plot_id"].astype(str).tolist()
    area = xr.DataArray(
        plots["area_ha"].to_numpy(float), dims="plot", coords={"plot": ids}, attrs={"units": "ha"}
    )
    years = [int(y) for y in vintages["year"].values]
    refused = sorted(set(refused) & set(ids))
    v = vintages.copy()
    if refused:
        v.loc[{"plot": refused}] = 0.0
    removals = soc_removals(v.assign_attrs(units="t C ha-1"), area).transpose("draw", "plot", "year")
    base_acts, _ = baseline_activities(
        inputs.activities, f"{project.crediting_start:%Y-%m-%d}", list(project.baseline_years)
    )
    emis, manure_c = {}, {}
    for name, acts in (("project", inputs.activities), ("baseline", base_acts)):
        amounts = season_amounts(acts, ids, years)
        emis[name] = scenario_emissions(amounts, area, defn, climate_zone)
        manure_c[name] = _grid(amounts, "manure_c_t_ha") * area
    diff = emissions_difference(emis["project"], emis["baseline"])
    zeros = xr.zeros_like(removals.isel(draw=0, drop=True))
    leakage = zeros
    if rules.leakage == "vm0042_eq33":
        leakage = organic_amendment_leakage(manure_c["project"], manure_c["baseline"], rules)
    if refused:
        diff.loc[{"plot": refused}] = 0.0
        leakage.loc[{"plot": refused}] = 0.0
    e = diff["total_t_co2e"].reindex_like(zeros).fillna(0.0)
    lk = leakage.reindex_like(zeros).fillna(0.0)
    table = xr.Dataset(
        {
            "removals": removals.mean("draw").assign_attrs(units="t CO2e"),
            "emissions": e.assign_attrs(units="t CO2e"),
            "leakage": lk.assign_attrs(units="t CO2e"),
            "refused": ("plot", np.isin(ids, refused), {"units": "1"}),
        },
        coords={"farmer_id": ("plot", plots["farmer_id"].astype(str).to_numpy())},
    )
    return AccountingChunk(
        plots=table,
        totals=fixed_sum(removals.values, axis=1),
        emissions=fixed_sum(e.transpose("plot", "year").values, axis=0),
        leakage=fixed_sum(lk.transpose("plot", "year").values, axis=0),
        by_source={k: int(fixed_sum(diff[k].values)) for k in diff.data_vars},
    )


def accounting_project(
    inputs: ProjectInputs,
    parts: list[AccountingChunk],
    claims: pd.DataFrame,
    *,
    application_date: dt.date,
    crediting_month: int,
    climate_zone: str,
) -> tuple[ProjectAccounting, dict[str, Any]]:
    """Steps 2-5 of the module notes for the project, from its chunks' sums (in any order: the
    sums are exact); the ``accounting`` section of ``summary.json`` without ``farmers``."""
    project = inputs.project
    defn = load_definition(project.methodology_id)
    rules = rules_of(defn)
    years = [int(y) for y in parts[0].plots["year"].values]
    totals = unfixed(sum(p.totals for p in parts))
    e_y = unfixed(sum(p.emissions for p in parts))
    l_y = unfixed(sum(p.leakage for p in parts))
    acc = project_accounting(totals, years, e_y, l_y, rules)
    refused = claims[claims["refused"]] if len(claims) else claims
    checks = scheme_checks(
        implementation_start=project.crediting_start,
        vintages=years,
        crediting_month=crediting_month,
        application_date=application_date,
        ministry_issued=defn.ministry_issued,
        methodology_id=defn.id,
        hard_rules=defn.rule("hard_rules"),
        overlapping_plots=len(set(refused["plot_id"].astype(str))) if len(refused) else 0,
    )
    sources = parts[0].by_source.keys()
    summary = {
        "methodology": {"id": defn.id, "ministry_issued": defn.ministry_issued},
        **acc.project,
        "emissions_by_source_t_co2e": {
            k: round(float(unfixed(sum(p.by_source[k] for p in parts))), 3) for k in sources
        },
        "emission_factors": {
            "climate": "dry" if "dry" in climate_zone else "wet",
            "gwp_n2o": defn.param("GWP_N2O"),
            "gwp_ch4": defn.param("GWP_CH4"),
        },
        "refused_plots": refused.to_dict("records") if len(refused) else [],
        "scheme_checks": checks,
        "application_date": f"{application_date:%Y-%m-%d}",
    }
    return acc, summary


def gain_sum(chunk: xr.Dataset, acc: ProjectAccounting) -> np.ndarray:
    """Per vintage: the chunk's sum of ``max(0, removals x factor)`` [quanta of t CO2e] (the
    buffer's shares, :func:`methodology.accounting.plot_accounting`)."""
    gains = (chunk["removals"] * acc.factor_da()).clip(min=0.0)
    return fixed_sum(gains.transpose("plot", "year").values, axis=0)


def accounting_plots(
    chunk: xr.Dataset, acc: ProjectAccounting, total_gain: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chunk's columns of ``plot_results.csv`` (net per vintage and the parts) and its sums
    per farmer (``plots``, ``net`` [quanta of t CO2e])."""
    per_plot = plot_accounting(
        chunk["removals"], chunk["emissions"], chunk["leakage"], acc, unfixed(total_gain)
    )
    ids = [str(p) for p in chunk["plot"].values]
    table = pd.DataFrame({"plot_id": ids})
    for y in acc.years:
        table[f"net_t_co2e_{y}"] = per_plot["net"].sel(year=y).round(4).values
    for part in ("removals", "uncertainty_deduction", "buffer", "emissions", "leakage", "net"):
        table[f"{part}_t_co2e"] = per_plot[part].sum("year").round(4).values
    table["refused_overlap"] = chunk["refused"].values.astype(bool)
    net = fixed(per_plot["net"].transpose("plot", "year").values).sum(axis=1)
    farmers = (
        pd.DataFrame({"farmer_id": chunk["farmer_id"].values.astype(str), "net": net})
        .groupby("farmer_id", sort=True)
        .agg(plots=("net", "size"), net=("net", "sum"))
    )
    return table, farmers


def accounting_stage(
    inputs: ProjectInputs,
    vintages: xr.DataArray,
    claims: pd.DataFrame,
    *,
    application_date: dt.date,
    crediting_month: int,
    climate_zone: str,
) -> AccountingOutcome:
    """Steps 1-5 of the module notes for every plot of the project in one chunk (a run by plot
    chunk calls the parts per chunk: the same result)."""
    refused = sorted(set(claims.loc[claims["refused"], "plot_id"].astype(str))) if len(claims) else []
    part = accounting_chunk(inputs, vintages, refused, climate_zone=climate_zone)
    acc, summary = accounting_project(
        inputs,
        [part],
        claims,
        application_date=application_date,
        crediting_month=crediting_month,
        climate_zone=climate_zone,
    )
    table, farmers = accounting_plots(part.plots, acc, gain_sum(part.plots, acc))
    share = inputs.project.settings.get("accounting.farmer_share")
    farmers_out = farmer_table(farmers, None if share is None else float(share))
    summary["farmers"] = int(len(farmers_out))
    return AccountingOutcome(table, farmers_out, summary)


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
