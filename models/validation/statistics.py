"""Observed vs modelled: the comparisons, bias, RMSE, interval coverage and the VMD0053 tests.

Two kinds of comparison, each a row of a :class:`pandas.DataFrame`:

* ``change``: one treatment's SOC change from the start year to a later observation year,
  observed ``SOC_t - SOC_0`` against modelled (annual means of the monthly model SOC, so that the
  within-year swing of fresh residue does not depend on the sampling month, which the data do not
  give);
* ``difference``: a pair's difference in change, ``(A_t - A_0) - (B_t - B_0)``, the practice
  effect a project claims (no-till minus plough, ...), classified by practice category
  (:mod:`models.validation.pairing`).

Statistics per group (:func:`summarize`): n, bias = mean(modelled - observed) [t C ha-1], RMSE
[t C ha-1], the share of observations inside the model's 90 % prediction interval (5-95 % of the
Monte Carlo draws of the model parameters), and VMD0053's two tests as encoded by third-party
implementations (``../shared/domain/international_methodologies.md`` section 2, secondary source,
not read in Verra's text): the **bias test** |bias| <= pooled measurement uncertainty, and the
**coverage test** >= 90 % of observations inside their 90 % prediction intervals.

Measurement uncertainty of an observed stock: a coefficient of variation :data:`MEASUREMENT_CV`
= 5 %, the plot-scale cropland end of the 5-35 % CV of SOC stocks across scales of Goidts et al.
[1]_. Errors of different measurements are independent, so a change has sd
``cv sqrt(SOC_t^2 + SOC_0^2)`` and a pair's difference adds the other treatment's two terms; a
starting value the treatments share (one measurement, ``soc_obd.csv`` repeats it) cancels in the
difference. The pooled measurement uncertainty of a group is the root mean square of its
comparisons' sds, ``PMU = sqrt(mean(sd_i^2))`` (the pooled sd; how VMD0053 pools is not verified).
A second coverage, with the measurement sd added in quadrature to the model interval, is reported
beside the one the brief asks for.

References
----------
.. [1] G. Goidts, B. van Wesemael and M. Crucifix, "Magnitude and sources of uncertainties in soil
   organic carbon (SOC) stock assessments at various scales", European Journal of Soil Science
   60(5):723-739, 2009, doi:10.1111/j.1365-2389.2009.01157.x (abstract: the CV of the SOC stock
   increased across scales from 5 to 35 %, higher for grassland than for cropland).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats as _stats

from models.validation.pairing import Pair

__all__ = [
    "COMPARISON_COLUMNS",
    "MEASUREMENT_CV",
    "Z90",
    "annual_mean",
    "change_comparisons",
    "paired_comparisons",
    "paired_draw_matrix",
    "statistics",
    "summarize",
]

MEASUREMENT_CV = 0.05
"""Coefficient of variation of a measured SOC stock [1] (Goidts et al. 2009 [1]_, plot scale)."""

Z90 = float(_stats.norm.ppf(0.95))
"""Half-width of a two-sided 90 % normal interval in sd (1.645)."""

COMPARISON_COLUMNS: tuple[str, ...] = (
    "site",
    "kind",
    "category",
    "treatment_a",
    "treatment_b",
    "label",
    "year",
    "observed",
    "modelled",
    "lower",
    "upper",
    "median",
    "sd_observed",
)
"""Columns of a comparison table ([t C ha-1] for the values; ``lower``/``upper`` the 5 and 95 %
quantiles of the Monte Carlo draws, NaN without draws)."""


def annual_mean(soc: xr.DataArray) -> xr.DataArray:
    """Mean over each calendar year of a monthly series (dim ``month`` -> ``year``)."""
    out = soc.groupby("month.year").mean("month")
    out.attrs = dict(soc.attrs)
    return out


def _value(da: xr.DataArray | None, plot: str, year: int) -> Any:
    if da is None:
        return None
    return da.sel(plot=plot, year=year)


def _quantiles(x: np.ndarray | None) -> tuple[float, float, float]:
    if x is None:
        return np.nan, np.nan, np.nan
    q = np.quantile(np.asarray(x, dtype=float), [0.05, 0.5, 0.95])
    return float(q[0]), float(q[1]), float(q[2])


def change_comparisons(
    site: str,
    observations: pd.DataFrame,
    modelled: xr.DataArray,
    draws: xr.DataArray | None = None,
    *,
    start_year: int,
    cv: float = MEASUREMENT_CV,
) -> pd.DataFrame:
    """SOC change since the start, per treatment and later observation year.

    Parameters
    ----------
    site : str
        Site name (a column of the result).
    observations : pandas.DataFrame
        Columns ``treatment``, ``year``, ``soc`` [t C ha-1] (missing values absent).
    modelled : xarray.DataArray
        Annual model SOC over (plot, year) [t C ha-1] (:func:`annual_mean`).
    draws : xarray.DataArray, optional
        The same over (draw, plot, year) from the Monte Carlo.
    start_year : int
        Year of the starting stock.
    cv : float
        Measurement CV of a stock [1].

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS`, ``kind`` = ``change``, ``category`` = ``change``.
    """
    rows = []
    obs = observations.set_index(["treatment", "year"])["soc"]
    for t in sorted(set(observations["treatment"])):
        if (t, start_year) not in obs.index or t not in modelled["plot"].values:
            continue
        o0 = float(obs[(t, start_year)])
        m0 = float(modelled.sel(plot=t, year=start_year))
        d0 = _value(draws, t, start_year)
        for (tt, year), ot in obs.items():
            if tt != t or year <= start_year or year not in modelled["year"].values:
                continue
            mt = float(modelled.sel(plot=t, year=year))
            dd = None if draws is None else (_value(draws, t, year) - d0).values
            lo, med, hi = _quantiles(dd)
            rows.append(
                (
                    site,
                    "change",
                    "change",
                    t,
                    "",
                    "change since the start",
                    int(year),
                    float(ot) - o0,
                    mt - m0,
                    lo,
                    hi,
                    med,
                    cv * float(np.hypot(ot, o0)),
                )
            )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def paired_comparisons(
    site: str,
    pairs: Iterable[Pair],
    observations: pd.DataFrame,
    modelled: xr.DataArray,
    draws: xr.DataArray | None = None,
    *,
    start_year: int,
    cv: float = MEASUREMENT_CV,
) -> pd.DataFrame:
    """Differences in SOC change between paired treatments, per common observation year.

    Parameters are those of :func:`change_comparisons`, plus ``pairs``
    (:func:`models.validation.pairing.find_pairs`).

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS`, ``kind`` = ``difference``, ``category`` = the pair's.
    """
    rows = []
    obs = observations.set_index(["treatment", "year"])["soc"]
    years_model = set(int(y) for y in modelled["year"].values)
    for p in pairs:
        keys = [(p.a, start_year), (p.b, start_year)]
        if any(k not in obs.index for k in keys) or any(x not in modelled["plot"].values for x in (p.a, p.b)):
            continue
        a0, b0 = float(obs[keys[0]]), float(obs[keys[1]])
        years = sorted(
            y
            for (t, y) in obs.index
            if t == p.a and y > start_year and (p.b, y) in obs.index and int(y) in years_model
        )
        ma0 = float(modelled.sel(plot=p.a, year=start_year))
        mb0 = float(modelled.sel(plot=p.b, year=start_year))
        for y in years:
            at, bt = float(obs[(p.a, y)]), float(obs[(p.b, y)])
            observed = (at - a0) - (bt - b0)
            modelled_d = (float(modelled.sel(plot=p.a, year=y)) - ma0) - (
                float(modelled.sel(plot=p.b, year=y)) - mb0
            )
            if draws is None:
                dd = None
            else:
                dd = (
                    (_value(draws, p.a, y) - _value(draws, p.a, start_year))
                    - (_value(draws, p.b, y) - _value(draws, p.b, start_year))
                ).values
            lo, med, hi = _quantiles(dd)
            terms = [at, bt] if a0 == b0 else [at, a0, bt, b0]
            sd = cv * float(np.sqrt(np.sum(np.square(terms))))
            rows.append(
                (
                    site,
                    "difference",
                    p.category,
                    p.a,
                    p.b,
                    p.label,
                    int(y),
                    observed,
                    modelled_d,
                    lo,
                    hi,
                    med,
                    sd,
                )
            )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def paired_draw_matrix(
    pairs: Iterable[Pair],
    observations: pd.DataFrame,
    draws: xr.DataArray,
    *,
    start_year: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Observed and per-draw modelled pair differences (for calibration on a parameter grid).

    Parameters
    ----------
    pairs, observations, start_year
        As :func:`paired_comparisons`.
    draws : xarray.DataArray
        Annual model SOC over (draw, plot, year).

    Returns
    -------
    observed : numpy.ndarray, shape (n,)
    modelled : numpy.ndarray, shape (n, n_draw)
    """
    obs_rows: list[float] = []
    mod_rows: list[np.ndarray] = []
    obs = observations.set_index(["treatment", "year"])["soc"]
    years_model = set(int(y) for y in draws["year"].values)
    for p in pairs:
        keys = [(p.a, start_year), (p.b, start_year)]
        if any(k not in obs.index for k in keys) or any(x not in draws["plot"].values for x in (p.a, p.b)):
            continue
        a0, b0 = float(obs[keys[0]]), float(obs[keys[1]])
        da = draws.sel(plot=p.a) - draws.sel(plot=p.a, year=start_year)
        db = draws.sel(plot=p.b) - draws.sel(plot=p.b, year=start_year)
        diff = (da - db).transpose("year", "draw")
        for t, y in obs.index:
            if t == p.a and y > start_year and (p.b, y) in obs.index and int(y) in years_model:
                obs_rows.append((float(obs[(p.a, y)]) - a0) - (float(obs[(p.b, y)]) - b0))
                mod_rows.append(diff.sel(year=y).values)
    if not obs_rows:
        return np.zeros(0), np.zeros((0, draws.sizes["draw"]))
    return np.asarray(obs_rows), np.vstack(mod_rows)


def statistics(df: pd.DataFrame) -> dict[str, Any]:
    """Bias, RMSE, interval coverage and the VMD0053 tests of one group of comparisons.

    Parameters
    ----------
    df : pandas.DataFrame
        Comparison rows (:data:`COMPARISON_COLUMNS`).

    Returns
    -------
    dict
        ``n``, ``n_sites``, ``bias`` and ``rmse`` [t C ha-1], ``coverage`` [1] (observed inside
        [lower, upper]; None without intervals), ``coverage_with_measurement`` [1] (the interval
        widened by the measurement sd: half-widths added in quadrature around the draws' median,
        ``Z90 sd_observed``), ``pmu`` [t C ha-1], ``vmd0053_bias_pass``, ``vmd0053_coverage_pass``.

    Examples
    --------
    >>> df = pd.DataFrame({"site": ["s", "s"], "observed": [1.0, -1.0], "modelled": [2.0, 0.0],
    ...                    "lower": [0.5, -0.5], "upper": [3.0, 0.5], "median": [2.0, 0.0],
    ...                    "sd_observed": [0.3, 0.4]})
    >>> s = statistics(df)
    >>> s["bias"], s["rmse"], s["coverage"], round(s["pmu"], 4), s["vmd0053_bias_pass"]
    (1.0, 1.0, 0.5, 0.3536, False)
    """
    n = int(len(df))
    if n == 0:
        return {
            "n": 0,
            "n_sites": 0,
            "bias": None,
            "rmse": None,
            "coverage": None,
            "coverage_with_measurement": None,
            "pmu": None,
            "vmd0053_bias_pass": None,
            "vmd0053_coverage_pass": None,
        }
    err = df["modelled"].to_numpy(float) - df["observed"].to_numpy(float)
    bias = float(err.mean())
    rmse = float(np.sqrt(np.mean(err**2)))
    sd = df["sd_observed"].to_numpy(float)
    pmu = float(np.sqrt(np.mean(sd**2)))
    lo, hi = df["lower"].to_numpy(float), df["upper"].to_numpy(float)
    obs = df["observed"].to_numpy(float)
    if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
        coverage = float(np.mean((obs >= lo) & (obs <= hi)))
        med = df["median"].to_numpy(float)
        lo_m = med - np.hypot(med - lo, Z90 * sd)
        hi_m = med + np.hypot(hi - med, Z90 * sd)
        coverage_m = float(np.mean((obs >= lo_m) & (obs <= hi_m)))
    else:
        coverage = coverage_m = None
    return {
        "n": n,
        "n_sites": int(df["site"].nunique()),
        "bias": bias,
        "rmse": rmse,
        "coverage": coverage,
        "coverage_with_measurement": coverage_m,
        "pmu": pmu,
        "vmd0053_bias_pass": bool(abs(bias) <= pmu),
        "vmd0053_coverage_pass": None if coverage is None else bool(coverage >= 0.90),
    }


def summarize(df: pd.DataFrame, by: Sequence[str] = ("category",)) -> pd.DataFrame:
    """:func:`statistics` per group of ``by`` and over all rows (group value ``overall``).

    Returns
    -------
    pandas.DataFrame
        One row per group, the ``by`` columns then the statistics.
    """
    rows = []
    if len(df):
        for key, g in df.groupby(list(by), sort=True):
            key = key if isinstance(key, tuple) else (key,)
            rows.append({**dict(zip(by, key, strict=True)), **statistics(g)})
    rows.append({**{b: "overall" for b in by}, **statistics(df)})
    return pd.DataFrame(rows)
