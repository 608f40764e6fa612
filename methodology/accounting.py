"""Credit accounting: from the models' SOC change to net credited removals per vintage, plot,
farmer and project, by the rules a methodology definition names.

Per vintage ``y`` (a calendar year of the crediting period) and Monte Carlo draw ``d``:

1. SOC removals ``R[d, p, y] = ΔSOC[d, p, y] x A_p x 44/12`` [t CO2e] (IPCC 2006 Vol. 4 Eq. 2.2
   conversion; ΔSOC the credited change of the vintage [t C ha-1], A_p the plot area [ha]).
   Negative changes are kept and reported, never clipped.
2. The uncertainty deduction on the project's removals, computed from the draws of the project
   sum (sums inside each draw, never sums of plot percentiles):

   * ``vcs_mr_v5`` (VCS Methodology Requirements v5.0 section 2.4; VM0042 v2.2 Eqs. 44-45 apply it
     to the soil part): U = half-width of the 90 % interval / |mean|; no deduction if U <= 10 %;
     else the deduction is ``U / 1.6449 x 0.4307`` of the estimate (the worked example of the
     requirements: U = 32.9 % -> 8.6 %, 100,000 t -> 91,400 t); U > 100 % over the whole period
     excludes the removals (for SOC the period must be assessed over >= 10 years); a single
     vintage above 100 % in a period that is not takes the period's deduction;
   * ``vm0042_eq74``: UNC = sd / |mean| x t_0.667 (VM0042 v2.2 Eq. 74, t_0.667 = 0.4307 for large
     n), the same quantity with the draws' standard deviation;
   * ``none``.

   A net loss (negative mean) is made larger by the deduction, not smaller (VM0042 v2.2 Eq. 44's
   I_soil = -1).
3. The non-permanence buffer on the carbon-stock part only: ``rate x max(0, removals after the
   deduction)`` (AFOLU Non-Permanence Risk procedure v5.0: minimum rating 12 %; N2O, CH4 and
   fossil CO2 get none).
4. Net = removals after the deduction - buffer - (project - baseline emissions) - leakage.

Per plot the project's deduction factor applies pro rata and the project's buffer is shared
among the plots that gain, in proportion to their gain (so plots add up to the project and no plot
carries a negative buffer); per farmer the plots' nets add up, times the farmer's share where the project defines
one. Pure: DataArrays in, Datasets and dicts out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import ModelInputError
from models.estimate import INTERVAL
from models.exact_sums import fixed, unfixed
from models.units import C_TO_CO2

__all__ = [
    "AccountingRules",
    "ProjectAccounting",
    "account",
    "plot_accounting",
    "project_accounting",
    "by_farmer",
    "farmer_table",
    "organic_amendment_leakage",
    "soc_removals",
    "uncertainty_deduction",
]

UNCERTAINTY_RULES = ("vcs_mr_v5", "vm0042_eq74", "none")
BUFFER_RULES = ("afolu_npr", "none")
LEAKAGE_RULES = ("zero", "vm0042_eq33")


@dataclasses.dataclass(frozen=True)
class AccountingRules:
    """The accounting rules of a methodology definition (their constants cite their source)."""

    uncertainty: str = "vcs_mr_v5"
    """One of :data:`UNCERTAINTY_RULES` (module notes)."""
    buffer: str = "afolu_npr"
    """``afolu_npr`` (a rate on removals) or ``none``."""
    buffer_rate: float = 0.12
    """Buffer rate [1]: the minimum overall non-permanence risk rating 12 (AFOLU NPR procedure v5.0)."""
    z90: float = 1.6449
    """Two-sided 90 % normal quantile (VCS MR v5.0 section 2.4) [1]."""
    t_0667: float = 0.4307
    """One-sided t-value at 66.7 % for large n (VM0042 v2.2 Eq. 74; VCS MR v5.0) [1]."""
    no_deduction_below: float = 0.10
    """Relative uncertainty up to which no deduction is made (VCS MR v5.0 section 2.4) [1]."""
    exclude_above: float = 1.0
    """Relative uncertainty above which the removals are excluded (same section) [1]."""
    leakage: str = "zero"
    """Leakage rule (:data:`LEAKAGE_RULES`); ``zero`` needs ``leakage_reason``; ``vm0042_eq33`` is
    :func:`organic_amendment_leakage`."""
    manure_c_retention: float = 0.12
    """Share of imported organic-amendment C that would have stayed in soil elsewhere [1]
    (VM0042 v2.2 Eq. 33, after Maillard & Angers 2014)."""
    leakage_reason: str = ""
    """Why leakage is zero (or how it was computed), for the documents."""

    def __post_init__(self) -> None:
        if self.uncertainty not in UNCERTAINTY_RULES:
            raise ModelInputError(
                f"uncertainty rule {self.uncertainty!r} is unknown; use one of {UNCERTAINTY_RULES}"
            )
        if self.buffer not in BUFFER_RULES:
            raise ModelInputError(f"buffer rule {self.buffer!r} is unknown; use one of {BUFFER_RULES}")
        if self.leakage not in LEAKAGE_RULES:
            raise ModelInputError(f"leakage rule {self.leakage!r} is unknown; use one of {LEAKAGE_RULES}")
        if not 0.0 <= self.buffer_rate < 1.0:
            raise ModelInputError(f"buffer rate {self.buffer_rate!r} must lie in [0, 1)")


def organic_amendment_leakage(
    manure_c_project: xr.DataArray, manure_c_baseline: xr.DataArray, rules: AccountingRules
) -> xr.DataArray:
    """Leakage from organic amendments brought onto the plots [t CO2e] (VM0042 v2.2 section 8.4
    Eq. 33): the extra manure C of the project over the baseline, times the share that would have
    stayed in soil where it came from, x 44/12: ``LE = max(0, M_p - M_b) x 0.12 x 44/12``.

    Parameters
    ----------
    manure_c_project, manure_c_baseline : xarray.DataArray
        Manure and compost C applied per plot and year [t C] (fresh mass x C content x area).

    Examples
    --------
    >>> p = xr.DataArray([[2.0], [0.5]], dims=("plot", "year"))
    >>> b = xr.DataArray([[1.0], [0.5]], dims=("plot", "year"))
    >>> organic_amendment_leakage(p, b, AccountingRules()).round(3).values.ravel().tolist()  # 1 x 0.12 x 44/12
    [0.44, 0.0]
    """
    extra = (manure_c_project - manure_c_baseline).clip(min=0.0)
    return (extra * rules.manure_c_retention * C_TO_CO2).assign_attrs(units="t CO2e")


def soc_removals(vintages: xr.DataArray, area_ha: xr.DataArray) -> xr.DataArray:
    """SOC removals per draw, plot and vintage [t CO2e]: ΔSOC [t C ha-1] x area [ha] x 44/12."""
    if vintages.attrs.get("units") not in (None, "t C ha-1"):
        raise ModelInputError(f"vintages must be in t C ha-1, got {vintages.attrs.get('units')!r}")
    out = vintages * area_ha * C_TO_CO2
    return out.assign_attrs(units="t CO2e", long_name="SOC removals (project minus baseline)")


def uncertainty_deduction(per_draw: np.ndarray, rules: AccountingRules) -> dict[str, Any]:
    """The relative uncertainty of a project total and the share to deduct (module notes, step 2).

    Parameters
    ----------
    per_draw : numpy.ndarray
        The project total [t CO2e] in each Monte Carlo draw.

    Returns
    -------
    dict
        ``mean``, ``p5``, ``p95`` [t CO2e], ``u90`` [1] (half-width of the 90 % interval over
        |mean|; ``sd / |mean|`` x t_0.667 for ``vm0042_eq74``), ``deduction`` [1] (share of the
        estimate), ``excluded`` (bool: U above :attr:`AccountingRules.exclude_above`).

    Examples
    --------
    The VCS worked example: U = 32.9 % -> 0.329 / 1.6449 x 0.4307 = 8.6 %.

    >>> draws = 100_000 + 32_900 / 1.6449 * np.random.default_rng(0).standard_normal(200_000)
    >>> d = uncertainty_deduction(draws, AccountingRules())
    >>> round(d["u90"], 3), round(d["deduction"], 3)
    (0.329, 0.086)
    """
    x = np.asarray(per_draw, dtype=float)
    mean = float(x.mean())
    p5, p95 = (float(v) for v in np.quantile(x, INTERVAL))
    sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
    if mean == 0.0:
        u = 0.0 if p95 == p5 else float("inf")
    elif rules.uncertainty == "vm0042_eq74":
        u = sd / abs(mean)
    else:
        u = (p95 - p5) / 2.0 / abs(mean)
    if rules.uncertainty == "none" or u <= rules.no_deduction_below:
        deduction = 0.0
    elif rules.uncertainty == "vm0042_eq74":
        deduction = u * rules.t_0667
    else:
        deduction = u / rules.z90 * rules.t_0667
    return {
        "mean": mean,
        "p5": p5,
        "p95": p95,
        "u90": u,
        "deduction": float(deduction),
        "excluded": bool(rules.uncertainty != "none" and u > rules.exclude_above),
    }


def _interval(x: np.ndarray) -> dict[str, float]:
    lo, hi = np.quantile(x, INTERVAL)
    return {"mean": round(float(np.mean(x)), 3), "p5": round(float(lo), 3), "p95": round(float(hi), 3)}


def account(
    removals: xr.DataArray,
    emissions: xr.DataArray | None,
    leakage: xr.DataArray | None,
    rules: AccountingRules,
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Net credited removals per plot and vintage, and the project's accounting (module notes).

    Parameters
    ----------
    removals : xarray.DataArray
        :func:`soc_removals` over (draw, plot, year) [t CO2e].
    emissions : xarray.DataArray, optional
        Project minus baseline emissions over (plot, year) [t CO2e] (signed: a practice that
        emits less gives a negative value, which adds to the credit).
    leakage : xarray.DataArray, optional
        Leakage over (plot, year) [t CO2e]; None with a ``zero`` rule.

    Returns
    -------
    per_plot : xarray.Dataset
        Over (plot, year), each [t CO2e]: ``removals`` (mean of the draws),
        ``uncertainty_deduction``, ``buffer``, ``emissions``, ``leakage``, ``net``.
    project : dict
        Per vintage and over the period: removals (mean and 90 % interval), U90, deduction share
        and amount, buffer, emissions, leakage, net (mean and 90 % interval), ``excluded`` and
        the reason; ``credited_t_co2e``: the net over the vintages (excluded removals count 0,
        the emissions still count).
    """
    if removals.attrs.get("units") != "t CO2e":
        raise ModelInputError("removals must be in t CO2e (use soc_removals)")
    r = removals.transpose("draw", "plot", "year")
    zeros = xr.zeros_like(r.isel(draw=0, drop=True))
    e = zeros if emissions is None else emissions.reindex_like(zeros).fillna(0.0)
    if leakage is None:
        lk = zeros
    else:
        lk = leakage.reindex_like(zeros).fillna(0.0)
    years = [int(y) for y in r["year"].values]
    totals = r.sum("plot").values  # (draw, year)
    acc = project_accounting(totals, years, e.sum("plot").values, lk.sum("plot").values, rules)
    plot_mean = r.mean("draw")
    gains = (plot_mean * acc.factor_da()).clip(min=0.0).sum("plot").values
    return plot_accounting(plot_mean, e, lk, acc, gains), acc.project


@dataclasses.dataclass(frozen=True)
class ProjectAccounting:
    """The project's accounting (:func:`project_accounting`) and what its plots' shares need."""

    project: dict[str, Any]
    """Per vintage and over the period (:func:`account`'s ``project``)."""
    years: list[int]
    factor: np.ndarray
    """Per vintage: 1 - the signed uncertainty deduction share [1]."""
    buffer: np.ndarray
    """Per vintage: the project's buffer [t CO2e] (mean of the draws)."""

    def factor_da(self) -> xr.DataArray:
        return xr.DataArray(self.factor, dims="year", coords={"year": self.years})


def project_accounting(
    totals: np.ndarray,
    years: list[int],
    emissions: np.ndarray,
    leakage: np.ndarray,
    rules: AccountingRules,
) -> ProjectAccounting:
    """Steps 2-4 of the module notes for the project, from its totals.

    Parameters
    ----------
    totals : numpy.ndarray
        The project's removals summed over plots inside each draw, over (draw, year) [t CO2e].
    years : list of int
        The vintages, along the second axis.
    emissions, leakage : numpy.ndarray
        Project minus baseline emissions and leakage summed over plots, per vintage [t CO2e].
    """
    if rules.leakage == "zero" and not rules.leakage_reason:
        raise ModelInputError(
            "a zero leakage rule needs its reason (the methodology definition's leakage.reason)"
        )
    period = uncertainty_deduction(totals.sum(axis=1), rules)
    excluded_period = period["excluded"]
    ded_share = np.zeros(len(years))
    buffers = np.zeros(len(years))
    vint: dict[int, Any] = {}
    net_draws = np.zeros_like(totals)
    net_total = 0.0
    for j, y in enumerate(years):
        d = uncertainty_deduction(totals[:, j], rules)
        share = d["deduction"]
        assessed = "vintage"
        if d["excluded"]:
            # a single early vintage may exceed the limit when the period does not (VCS MR v5.0
            # section 2.4, SOC over >= 10 years): it takes the period's deduction; if the period
            # is excluded too, nothing is credited
            share, assessed = (period["deduction"], "period") if not excluded_period else (1.0, "excluded")
        ded_share[j] = share if d["mean"] >= 0 else -share  # a net loss grows (I_soil = -1)
        adj = totals[:, j] * (1.0 - ded_share[j])
        buf = np.maximum(adj, 0.0) * rules.buffer_rate if rules.buffer != "none" else np.zeros_like(adj)
        e_y = float(emissions[j])
        l_y = float(leakage[j])
        net_draws[:, j] = adj - buf - e_y - l_y
        adj_mean = d["mean"] * (1.0 - ded_share[j])
        buffers[j] = max(adj_mean, 0.0) * rules.buffer_rate if rules.buffer != "none" else 0.0
        net = adj_mean - buffers[j] - e_y - l_y
        net_total += net
        vint[y] = {
            "removals": {k: round(v, 3) for k, v in d.items() if k in ("mean", "p5", "p95")},
            "u90": round(d["u90"], 4) if np.isfinite(d["u90"]) else None,
            "deduction_share": round(abs(ded_share[j]), 4),
            "deduction_assessed_over": assessed,
            "uncertainty_deduction": round(d["mean"] - adj_mean, 3),
            "buffer": round(buffers[j], 3),
            "emissions": round(e_y, 3),
            "leakage": round(l_y, 3),
            "net": round(net, 3),
            "net_interval": _interval(net_draws[:, j]),
        }
    reason = (
        f"U90 of the period's removals is {period['u90']:.0%} > {rules.exclude_above:.0%}: excluded "
        "(VCS Methodology Requirements v5.0 section 2.4; for SOC the uncertainty is to be assessed over "
        ">= 10 years)"
        if excluded_period
        else None
    )
    project = {
        "rules": dataclasses.asdict(rules),
        "vintages": vint,
        "period": {
            "removals": {k: round(period[k], 3) for k in ("mean", "p5", "p95")},
            "u90": round(period["u90"], 4) if np.isfinite(period["u90"]) else None,
            "net": round(net_total, 3),
            "net_interval": _interval(net_draws.sum(axis=1)),
        },
        "excluded": excluded_period,
        "excluded_reason": reason,
        # excluded removals are already deducted in full (share 1): what remains is the emissions
        # and leakage side, a net emission if positive, reported as it is; the plots' nets add up
        # to it (their deduction pro rata, the buffer shared among the gaining plots)
        "credited_t_co2e": round(net_total, 3),
        "units": "t CO2e",
    }
    return ProjectAccounting(project, list(years), 1.0 - ded_share, buffers)


def plot_accounting(
    plot_mean: xr.DataArray,
    emissions: xr.DataArray,
    leakage: xr.DataArray,
    acc: ProjectAccounting,
    total_gain: np.ndarray,
) -> xr.Dataset:
    """Per plot and vintage: the project's deduction pro rata and its buffer shared among the
    plots that gain, in proportion to their gain (module notes).

    Parameters
    ----------
    plot_mean : xarray.DataArray
        Each plot's removals, mean of the draws, over (plot, year) [t CO2e].
    emissions, leakage : xarray.DataArray
        Over (plot, year) [t CO2e].
    acc : ProjectAccounting
    total_gain : numpy.ndarray
        Per vintage: the sum over the project's plots of ``max(0, plot_mean x factor)`` [t CO2e].
    """
    factor = acc.factor_da()
    adj_plot = plot_mean * factor
    gains = adj_plot.clip(min=0.0)
    total = xr.DataArray(np.asarray(total_gain, float), dims="year", coords={"year": acc.years})
    project_buffer = xr.DataArray(acc.buffer, dims="year", coords={"year": acc.years})
    buf_plot = xr.where(total > 0, gains / total.where(total > 0, 1.0) * project_buffer, 0.0)
    per_plot = xr.Dataset(
        {
            "removals": plot_mean,
            "uncertainty_deduction": plot_mean - adj_plot,
            "buffer": buf_plot,
            "emissions": emissions,
            "leakage": leakage,
            "net": adj_plot - buf_plot - emissions - leakage,
        }
    )
    for v in per_plot.data_vars:
        per_plot[v].attrs["units"] = "t CO2e"
    return per_plot


def by_farmer(
    per_plot: xr.Dataset, farmer_of_plot: Mapping[str, str], share: float | None = None
) -> pd.DataFrame:
    """Net credited removals per farmer [t CO2e]: the sum of the farmer's plots (all vintages),
    and the farmer's part where the project defines a share [1] (:func:`farmer_table`)."""
    net = per_plot["net"].sum("year").to_series()
    df = pd.DataFrame({"plot_id": net.index.astype(str), "net": fixed(net.to_numpy())})
    df["farmer_id"] = df["plot_id"].map(dict(farmer_of_plot))
    if df["farmer_id"].isna().any():
        missing = df.loc[df["farmer_id"].isna(), "plot_id"].tolist()[:5]
        raise ModelInputError(f"plots without a farmer: {missing}")
    return farmer_table(df.groupby("farmer_id").agg(plots=("plot_id", "size"), net=("net", "sum")), share)


def farmer_table(sums: pd.DataFrame, share: float | None = None) -> pd.DataFrame:
    """The farmers' table from sums per farmer (index ``farmer_id``; ``plots``, ``net`` in exact
    quanta of t CO2e, :mod:`models.exact_sums`; a farmer may appear in several rows, one per chunk
    of plots): ``farmer_id``, ``plots``, ``net_t_co2e`` [t CO2e] and, where the project defines
    the farmers' share [1], ``farmer_share_t_co2e`` [t CO2e]."""
    out = sums.groupby(level=0, sort=True).sum()
    table = pd.DataFrame(
        {
            "farmer_id": out.index.astype(str),
            "plots": out["plots"].to_numpy(int),
            "net_t_co2e": unfixed(out["net"].to_numpy()),
        }
    )
    if share is not None:
        if not 0.0 <= share <= 1.0:
            raise ModelInputError(f"the farmers' share {share!r} must lie in [0, 1]")
        table["farmer_share_t_co2e"] = table["net_t_co2e"] * share
    return table
