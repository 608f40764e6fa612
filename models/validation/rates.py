"""Comparisons as rates [t C ha-1 yr-1]: the form the project's plausibility guard and Monte Carlo use.

A project's model gives a practice effect as a rate (t C per ha and year); the validation turns
each comparison of :mod:`models.validation.statistics` into one by dividing its values (observed,
modelled, the interval bounds, the measurement sd) by the years since the experiment's start,
``rate = (X_t - X_0) / (t - t_0)``.

Only comparisons at least :data:`MIN_RATE_YEARS` after the start count as rates: over shorter
spans the measurement error dominates (a 5 % error of a 40 t C ha-1 stock is 2 t C ha-1, i.e.
2 t C ha-1 yr-1 after one year, more than any practice effect in these experiments), and VM0042
re-measures SOC at most every 5 years, so a project's rates are about spans of 5 years or more.

From the rates of the paired differences (practice effects) this module derives

* the **prediction error** of a practice effect (:func:`prediction_error`): the sample sd of the
  residuals ``modelled - observed`` [t C ha-1 yr-1] per category and pooled, from the held-out
  sites (the error a project Monte Carlo adds to a modelled rate);
* the **validated rate range** (:func:`validated_range`): the 5-95 % quantiles of the observed
  difference rates per category, the range of effects the experiments support.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MIN_RATE_YEARS", "RANGE_QUANTILES", "prediction_error", "to_rates", "validated_range"]

MIN_RATE_YEARS = 5
"""Shortest span since the start a rate is computed for [yr] (module notes)."""

RANGE_QUANTILES: tuple[float, float] = (0.05, 0.95)
"""Quantiles of the observed difference rates that bound the validated range [1]."""

_SCALED = ("observed", "modelled", "lower", "upper", "median", "sd_observed")


def to_rates(comparisons: pd.DataFrame, min_years: int = MIN_RATE_YEARS) -> pd.DataFrame:
    """Comparisons divided by their years since the start.

    Parameters
    ----------
    comparisons : pandas.DataFrame
        Rows of :data:`models.validation.statistics.COMPARISON_COLUMNS` plus ``years`` (years since
        the start [yr]).
    min_years : int
        Rows with fewer years are dropped.

    Returns
    -------
    pandas.DataFrame
        The kept rows with ``observed``, ``modelled``, ``lower``, ``upper``, ``median`` and
        ``sd_observed`` in [t C ha-1 yr-1].

    Examples
    --------
    >>> df = pd.DataFrame({"observed": [2.0, 1.0], "modelled": [1.0, 1.0], "lower": [0.0, 0.0],
    ...                    "upper": [3.0, 2.0], "median": [1.0, 1.0], "sd_observed": [1.0, 1.0],
    ...                    "years": [10, 2]})
    >>> to_rates(df)[["observed", "modelled", "years"]].values.tolist()
    [[0.2, 0.1, 10.0]]
    """
    if "years" not in comparisons:
        raise KeyError("comparisons need a 'years' column (years since the start)")
    keep = comparisons[comparisons["years"] >= min_years].copy()
    years = keep["years"].astype(float)
    for col in _SCALED:
        if col in keep:
            keep[col] = keep[col].astype(float) / years
    keep["years"] = years
    return keep.reset_index(drop=True)


def prediction_error(rates: pd.DataFrame) -> dict[str, Any]:
    """Sd of the residuals of rate comparisons, per category and pooled [t C ha-1 yr-1].

    Parameters
    ----------
    rates : pandas.DataFrame
        Rate rows (:func:`to_rates`) of paired differences, columns ``category``, ``observed``,
        ``modelled``.

    Returns
    -------
    dict
        ``by_category``: category -> {``n``, ``sd``, ``bias``, ``rmse``}; ``pooled``: the same over
        all rows. ``sd`` is the sample sd (ddof 1) of ``modelled - observed``; None with fewer than
        2 rows.

    Examples
    --------
    Residuals -0.1, 0.1 and 0.3: mean 0.1, sd sqrt((0.04 + 0 + 0.04) / 2) = 0.2.

    >>> df = pd.DataFrame({"category": ["tillage"] * 3, "observed": [0.2, 0.0, -0.2],
    ...                    "modelled": [0.1, 0.1, 0.1]})
    >>> pe = prediction_error(df)
    >>> round(pe["pooled"]["sd"], 6), round(pe["by_category"]["tillage"]["bias"], 6)
    (0.2, 0.1)
    """

    def one(g: pd.DataFrame) -> dict[str, Any]:
        err = g["modelled"].to_numpy(float) - g["observed"].to_numpy(float)
        n = int(err.size)
        return {
            "n": n,
            "sd": float(np.std(err, ddof=1)) if n >= 2 else None,
            "bias": float(err.mean()) if n else None,
            "rmse": float(np.sqrt(np.mean(err**2))) if n else None,
        }

    by = {str(k): one(g) for k, g in rates.groupby("category", sort=True)} if len(rates) else {}
    return {"by_category": by, "pooled": one(rates)}


def validated_range(
    rates: pd.DataFrame, quantiles: tuple[float, float] = RANGE_QUANTILES
) -> Mapping[str, dict[str, Any]]:
    """Range of the observed (and modelled) difference rates per category [t C ha-1 yr-1].

    Parameters
    ----------
    rates : pandas.DataFrame
        Rate rows of paired differences (:func:`to_rates`).
    quantiles : tuple of float
        Lower and upper quantile of the observed rates.

    Returns
    -------
    dict
        category -> {``n``, ``observed_range`` (the quantiles of the observed rates),
        ``modelled_min_max``}; key ``overall`` over every row.

    Examples
    --------
    >>> df = pd.DataFrame({"category": ["residue"] * 5, "observed": [0.0, 0.1, 0.2, 0.3, 0.4],
    ...                    "modelled": [0.1] * 5})
    >>> validated_range(df)["residue"]["observed_range"]
    (0.02, 0.38)
    """

    def one(g: pd.DataFrame) -> dict[str, Any]:
        obs = g["observed"].to_numpy(float)
        mod = g["modelled"].to_numpy(float)
        lo, hi = np.quantile(obs, quantiles)
        return {
            "n": int(obs.size),
            "observed_range": (round(float(lo), 6), round(float(hi), 6)),
            "modelled_min_max": (round(float(mod.min()), 6), round(float(mod.max()), 6)),
        }

    out = {str(k): one(g) for k, g in rates.groupby("category", sort=True)} if len(rates) else {}
    if len(rates):
        out["overall"] = one(rates)
    return out
