"""Reviewers' decisions applied to the practice verdicts a run models.

A reviewer's standing decision on one practice of one plot-season
(:mod:`mrv_service.store.reviews`) overrides what the imagery alone decided
(:mod:`models.verification.reconcile`):

* ``accept``: the logged practice is modelled and the claim holds with certainty (``keep`` 1),
  whatever the detector said: the reviewer has seen evidence the imagery could not;
* ``override``: the practice is modelled as the reviewer's ``method`` (status ``overridden``,
  replaced like a critical contradiction by
  :func:`models.verification.reconcile.apply_decisions`), ``keep`` 1;
* ``reject``: the whole plot-season earns no credit (:func:`rejected_seasons`; the verdict rows
  of that season get ``keep`` 0);
* ``request_evidence``: pending, the verdict is left as the imagery decided it.

This rule is the project's default (a reviewer's decision outranks a classifier's); no public
methodology describes how a validation-body review enters the estimate.

Pure: DataFrames in, DataFrames out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["apply_reviews", "rejected_seasons"]

VERDICT_STATUS = {"accept": "accepted", "override": "overridden", "reject": "rejected"}
"""Decision -> the verdict's ``status`` after the review (``request_evidence`` changes nothing)."""


def _key(df: pd.DataFrame) -> pd.Series:
    return (
        df["plot_id"].astype(str)
        + "|"
        + df["year"].astype(int).astype(str)
        + "|"
        + df["practice"].astype(str)
    )


def apply_reviews(verdicts: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Verdicts with the reviewers' decisions (module notes), plus an ``override`` column (the
    method an ``override`` sets, else None).

    An override of a practice-season without a verdict row (no detector, no imagery) adds one.

    Parameters
    ----------
    verdicts : pandas.DataFrame
        ``plot_id``, ``year``, ``practice``, ``logged``, ``detected``, ``p_logged``,
        ``p_detected``, ``status``, ``keep`` (``practice_verdicts.csv``).
    reviews : pandas.DataFrame
        ``plot_id``, ``year``, ``practice``, ``decision``, ``method``.

    Examples
    --------
    >>> v = pd.DataFrame({"plot_id": ["A", "A"], "year": [2024, 2025], "practice": ["tillage"] * 2,
    ...     "logged": ["conservation"] * 2, "detected": ["tilled"] * 2, "p_logged": [0.1, 0.1],
    ...     "p_detected": [0.9, 0.9], "status": ["critical"] * 2, "keep": [1.0, 1.0]})
    >>> r = pd.DataFrame({"plot_id": ["A"], "year": [2025], "practice": ["tillage"],
    ...     "decision": ["accept"], "method": [None]})
    >>> apply_reviews(v, r)[["year", "status", "keep"]].values.tolist()
    [[2024, 'critical', 1.0], [2025, 'accepted', 1.0]]
    """
    out = verdicts.copy()
    out["override"] = None
    if reviews is None or reviews.empty:
        return out
    decided = reviews[reviews["decision"].isin(tuple(VERDICT_STATUS))]
    decided = decided.assign(_k=_key(decided)).drop_duplicates("_k", keep="last").set_index("_k")
    keys = _key(out)
    hit = keys.isin(decided.index).to_numpy()
    if hit.any():
        d = decided.loc[keys[hit]]
        out.loc[hit, "status"] = d["decision"].map(VERDICT_STATUS).to_numpy()
        out.loc[hit, "keep"] = np.where(d["decision"].to_numpy() == "reject", 0.0, 1.0)
        out.loc[hit, "override"] = np.where(
            d["decision"].to_numpy() == "override", d["method"].to_numpy(), None
        )
    extra = decided[(decided["decision"] == "override") & ~decided.index.isin(keys)]
    if len(extra):
        add = pd.DataFrame(
            {
                "plot_id": extra["plot_id"].astype(str).to_numpy(),
                "year": extra["year"].astype(int).to_numpy(),
                "practice": extra["practice"].to_numpy(),
                "logged": None,
                "detected": None,
                "p_logged": np.nan,
                "p_detected": np.nan,
                "status": "overridden",
                "keep": 1.0,
                "override": extra["method"].to_numpy(),
            }
        )
        # row-wise (pd.concat would warn on the all-null columns of the added rows)
        cols = [c for c in out.columns if c in add.columns]
        out = pd.DataFrame({c: [*out[c].tolist(), *add[c].tolist()] for c in cols})
    return out


def rejected_seasons(reviews: pd.DataFrame) -> list[tuple[str, int]]:
    """(plot_id, year) of every plot-season a reviewer rejected (any of its practices)."""
    if reviews is None or reviews.empty:
        return []
    rej = reviews[reviews["decision"] == "reject"]
    return sorted({(str(p), int(y)) for p, y in zip(rej["plot_id"], rej["year"], strict=True)})
