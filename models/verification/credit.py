"""The detection error carried into the credit: a misclassification draw per plot-season.

A credited change rests on claimed practices (no-till, straw mulch ...) that the imagery
verifies with a known error. In every Monte Carlo draw each claimed practice that earns credit
(its class differs from the plot's own look-back class) is true with probability ``keep``:

* verified by the imagery: the detector's out-of-fold **precision** of that class (of the
  plot-seasons it called so, the share that truly were);
* contradicted at ``warning`` level (used as logged): one minus the precision of the detected
  class (the chance the detector is the one that is wrong);
* contradicted at ``critical`` level: the models already take the detected practice
  (:func:`models.verification.reconcile.apply_decisions`); no draw (``keep`` = 1);
* unverifiable: the project's **confirmation rate** of that logged class (the share of its
  verifiable claims the imagery confirmed; 0.5 where it has none to go by).

Where a claim is false in a draw, the plot earns no credit for that vintage (vintage ``y`` is the
change to the crediting point of season ``y``; its practice claims are those of season ``y``):
the project's mean falls by the expected share of false claims and its interval widens. No
public methodology prescribes this; it is this project's documented default
(``verification.misclassification_draw`` in the project settings turns it off).

Pure: DataFrames in, DataArrays out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from models.frequent import most_frequent
from models.random_streams import plot_generator

__all__ = ["FALLBACK_CONFIRMATION", "claim_keep_probability", "confirmation_rates", "misclassification_draws"]

FALLBACK_CONFIRMATION = 0.5
"""Probability that an unverifiable claim holds when the project has no verifiable claim of that
class to estimate it from [1] (no information either way)."""


def confirmation_rates(verdicts: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Share of each practice's verifiable claims per logged class that the imagery confirmed."""
    out: dict[str, dict[str, float]] = {}
    ok = verdicts[verdicts["status"].isin(("verified", "warning", "critical"))]
    for (practice, cls), g in ok.groupby(["practice", "logged"]):
        out.setdefault(str(practice), {})[str(cls)] = float((g["status"] == "verified").mean())
    return out


def claim_keep_probability(
    verdicts: pd.DataFrame,
    precision: Mapping[str, Mapping[str, float | None]],
    confirmation: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.Series:
    """Probability that each plot-season's claimed practice is true (module notes).

    Parameters
    ----------
    verdicts : pandas.DataFrame
        :func:`models.verification.reconcile.practice_flags` verdicts.
    precision : mapping
        Per practice and class, the detector's out-of-fold precision [1].
    confirmation : mapping, optional
        :func:`confirmation_rates` (default: from ``verdicts``).

    Returns
    -------
    pandas.Series
        ``keep`` [1] aligned with ``verdicts``.

    Examples
    --------
    >>> v = pd.DataFrame({"practice": ["residue"] * 3, "logged": ["retained"] * 3,
    ...                   "detected": ["retained", "removed", None],
    ...                   "status": ["verified", "warning", "unverifiable"]})
    >>> claim_keep_probability(v, {"residue": {"retained": 0.95, "removed": 0.9}}).round(3).tolist()
    [0.95, 0.1, 0.5]
    """
    conf = confirmation_rates(verdicts) if confirmation is None else confirmation
    keep = np.ones(len(verdicts))
    for i, row in enumerate(verdicts.itertuples(index=False)):
        prec = precision.get(str(row.practice), {})
        if row.status == "verified":
            p = prec.get(str(row.logged))
            keep[i] = 1.0 if p is None or not np.isfinite(p) else float(p)
        elif row.status == "warning":
            p = prec.get(str(row.detected))
            keep[i] = 0.5 if p is None or not np.isfinite(p) else 1.0 - float(p)
        elif row.status == "unverifiable":
            keep[i] = float(conf.get(str(row.practice), {}).get(str(row.logged), FALLBACK_CONFIRMATION))
    return pd.Series(keep, index=verdicts.index, name="keep")


def misclassification_draws(
    verdicts: pd.DataFrame,
    keep: pd.Series,
    plots: Sequence[str],
    years: Sequence[int],
    baseline_years: Sequence[int],
    n_draws: int,
    seed: int,
) -> xr.DataArray:
    """0/1 multiplier of each plot's vintage per draw: 1 where every credited claim of the season
    is true in that draw (module notes).

    Parameters
    ----------
    verdicts : pandas.DataFrame
        Verdicts of every plot-season and practice (look-back and project years).
    keep : pandas.Series
        :func:`claim_keep_probability`, aligned with ``verdicts``.
    plots : sequence of str
    years : sequence of int
        Vintage years (their seasons' claims are drawn).
    baseline_years : sequence of int
        The look-back years: a claim earns credit where its class differs from the plot's most
        frequent look-back class of that practice.
    n_draws, seed : int

    Returns
    -------
    xarray.DataArray
        Over (draw, plot, year) [1], 0 or 1; ``attrs["p_keep"]``: the probability over (plot, year)
        that every credited claim holds, ``attrs["expected_keep_mean"]`` its mean.
    """
    v = verdicts.assign(keep=keep.to_numpy())
    back = v[v["year"].isin(list(baseline_years)) & v["logged"].notna()]
    usual = most_frequent(back.sort_values("year", kind="stable"), ["plot_id", "practice"], "logged")
    proj = v[v["year"].isin(list(years)) & v["logged"].notna()]
    proj = proj.assign(plot_id=proj["plot_id"].astype(str), year=proj["year"].astype(int))
    usual_of = proj.join(usual.rename("usual"), on=["plot_id", "practice"])["usual"]
    proj = proj[(usual_of.isna() | (usual_of != proj["logged"])) & (proj["keep"] < 1.0)]
    p_keep = np.ones((len(plots), len(years)))
    out = np.ones((n_draws, len(plots), len(years)))
    pos = {p: i for i, p in enumerate(plots)}
    ypos = {int(y): j for j, y in enumerate(years)}
    proj = proj.sort_values(["plot_id", "year", "practice"], kind="stable")
    rows_i = proj["plot_id"].map(pos).to_numpy()
    rows_j = proj["year"].map(ypos).to_numpy()
    keeps = proj["keep"].to_numpy(float)
    pids = proj["plot_id"].to_numpy()
    # each plot its own stream, its claims drawn in (year, practice) order: a plot's draws do not
    # depend on the other plots (models.random_streams), so a run by plot chunk gives the same
    rng, current = None, None
    for pid, i, j, k in zip(pids, rows_i, rows_j, keeps, strict=True):
        if pid != current:
            rng, current = plot_generator(seed, "misclassification", pid), pid
        if pd.isna(i) or pd.isna(j):
            continue
        i, j = int(i), int(j)
        out[:, i, j] *= rng.random(n_draws) < k
        p_keep[i, j] *= k
    da = xr.DataArray(
        out,
        dims=("draw", "plot", "year"),
        coords={"draw": np.arange(n_draws), "plot": list(plots), "year": list(years)},
        attrs={"units": "1", "long_name": "1 where the season's credited practice claims hold in the draw"},
    )
    da.attrs["expected_keep_mean"] = float(p_keep.mean())
    da.attrs["p_keep"] = p_keep
    return da
