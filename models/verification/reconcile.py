"""Reconciliation of the farmers' logs with what the imagery shows: flags, and the practice the
models take.

For every plot-season and practice the logged class (:func:`models.verification.detectors.
practice_class` of the logged method) is compared with the detector's calibrated probabilities:

* **unverifiable**: too few clear observations behind the features (:data:`MIN_OBSERVATIONS`),
  or no detector: flagged ``unverifiable``, never passed silently;
* **contradicted**: the detected class differs from the logged one; ``critical`` when its
  probability is at least :data:`CRITICAL_PROBABILITY`, else ``warning``;
* **dates**: the estimated sowing / harvest day differs from the logged one by more than
  :data:`DATE_TOLERANCE_DAYS` (``warning``, ``critical`` beyond twice that);
* **green cover** outside the main season that no log explains: ``info``.

Into the estimate (:func:`decide`), the project's default rule:

* a verified or weakly contradicted (``warning``) record is used as logged;
* a ``critical`` contradiction is replaced by the detected practice (what the imagery shows,
  e.g. a no-till claim on ploughed bare soil is modelled as the plot's own tillage), in the
  baseline look-back as in the project years;
* every claimed practice keeps a probability of being true (:mod:`models.verification.credit`):
  the detector's per-class precision where the imagery agrees, one minus the precision of the
  detected class where it does not, and the project's confirmation rate where unverifiable.

Pure: DataFrames in, DataFrames out.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from models.frequent import most_frequent
from models.verification.detectors import practice_class

__all__ = [
    "CRITICAL_PROBABILITY",
    "DATE_TOLERANCE_DAYS",
    "FLAG_COLUMNS",
    "MIN_OBSERVATIONS",
    "SEVERITIES",
    "DETECTED_METHOD",
    "VERIFICATION_RULES",
    "apply_decisions",
    "apply_verification_rule",
    "date_flags",
    "green_cover_flags",
    "practice_flags",
]

FLAG_COLUMNS = ("plot_id", "year", "practice", "logged", "detected", "probability", "severity", "reason")
"""Columns of a flag table (``flags.csv``); ``year`` is the season's year."""

SEVERITIES = ("info", "warning", "critical", "unverifiable")
"""Flag severities, least to most blocking (``unverifiable`` blocks until evidence is given)."""

CRITICAL_PROBABILITY = 0.8
"""Probability of the detected class at or above which a contradiction is ``critical`` [1]."""

MIN_OBSERVATIONS: Mapping[str, int] = MappingProxyType({"tillage": 2, "residue": 2, "dates": 4})
"""Clear observations a verdict needs: off-season ones (``spring_early``, ``spring_late``,
``autumn``, ``next_spring``) for tillage and residue, in-season ones (``season_n``) for dates."""

DATE_TOLERANCE_DAYS = 20.0
"""Estimated minus logged sowing or harvest day beyond which a date is flagged [d]: about three
times the revisit-limited error of a half-amplitude NDVI date with Sentinel-2's 5-day revisit and
clouds (the sample county measures its own error in ``summary.json``)."""

_OFFSEASON = ("spring_early_n", "spring_late_n", "autumn_n", "next_spring_n")


def _offseason_n(features: pd.DataFrame) -> np.ndarray:
    return features[list(_OFFSEASON)].fillna(0.0).sum(axis=1).to_numpy()


def practice_flags(
    seasons: pd.DataFrame,
    features: pd.DataFrame,
    practice: str,
    proba: np.ndarray | None,
    classes: np.ndarray | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flags of one practice (tillage or residue) and each plot-season's verdict.

    Parameters
    ----------
    seasons : pandas.DataFrame
        ``plot_id``, ``year`` and the logged canonical method in column ``practice`` (NaN where
        nothing was logged that season), aligned row by row with ``features``.
    features : pandas.DataFrame
        :func:`models.verification.features.season_features` rows of the same plot-seasons.
    practice : {"tillage", "residue"}
    proba, classes : numpy.ndarray or None
        The detector's probabilities (rows of ``features``) and its class order; None when the
        project has no trained detector (every claim is then unverifiable).

    Returns
    -------
    flags : pandas.DataFrame
        :data:`FLAG_COLUMNS`, one row per flagged plot-season.
    verdicts : pandas.DataFrame
        Per plot-season: ``plot_id``, ``year``, ``practice``, ``logged`` (class), ``detected``
        (class or None), ``p_logged`` and ``p_detected`` [1], ``status`` (``verified``,
        ``warning``, ``critical``, ``unverifiable``, ``not_logged``).
    """
    if len(seasons) != len(features):
        raise ValueError("seasons and features must be aligned row by row")
    logged_method = seasons[practice].to_numpy(dtype=object)
    logged = practice_class(practice, logged_method)
    n = _offseason_n(features)
    enough = n >= MIN_OBSERVATIONS[practice]
    rows, verdict = [], []
    for i in range(len(seasons)):
        pid, year = str(seasons["plot_id"].iat[i]), int(seasons["year"].iat[i])
        lg = logged[i]
        if lg is None:
            verdict.append((pid, year, practice, None, None, np.nan, np.nan, "not_logged"))
            continue
        if proba is None or classes is None:
            rows.append((pid, year, practice, logged_method[i], None, np.nan, "unverifiable",
                         f"no trained {practice} detector for this project: train one with `mrv verify train`"))  # fmt: skip
            verdict.append((pid, year, practice, lg, None, np.nan, np.nan, "unverifiable"))
            continue
        if not enough[i]:
            rows.append((pid, year, practice, logged_method[i], None, np.nan, "unverifiable",
                         f"{int(n[i])} clear off-season observation(s), {MIN_OBSERVATIONS[practice]} needed"))  # fmt: skip
            verdict.append((pid, year, practice, lg, None, np.nan, np.nan, "unverifiable"))
            continue
        j = int(np.argmax(proba[i]))
        det, p_det = str(classes[j]), float(proba[i, j])
        p_log = float(proba[i, list(classes).index(lg)]) if lg in list(classes) else 0.0
        if det == lg:
            verdict.append((pid, year, practice, lg, det, p_log, p_det, "verified"))
            continue
        severity = "critical" if p_det >= CRITICAL_PROBABILITY else "warning"
        rows.append((pid, year, practice, logged_method[i], det, round(p_det, 4), severity,
                     f"logged {logged_method[i]} ({lg}); the imagery shows {det} with probability {p_det:.2f}"))  # fmt: skip
        verdict.append((pid, year, practice, lg, det, p_log, p_det, severity))
    flags = pd.DataFrame(rows, columns=list(FLAG_COLUMNS))
    verdicts = pd.DataFrame(
        verdict,
        columns=["plot_id", "year", "practice", "logged", "detected", "p_logged", "p_detected", "status"],
    )
    return flags, verdicts


def date_flags(
    seasons: pd.DataFrame, features: pd.DataFrame, event: str, estimated_doy: np.ndarray
) -> pd.DataFrame:
    """Flags of logged sowing or harvest dates against the imagery's estimate.

    Parameters
    ----------
    seasons : pandas.DataFrame
        ``plot_id``, ``year`` and ``{event}_doy`` (logged day of year, NaN if none).
    features : pandas.DataFrame
        The plot-seasons' features (for ``season_n``).
    event : {"sowing", "harvest"}
    estimated_doy : numpy.ndarray
        :class:`models.verification.detectors.SeasonDateEstimator` estimates.

    Returns
    -------
    pandas.DataFrame
        :data:`FLAG_COLUMNS`; ``logged``/``detected`` as ISO dates, ``probability`` empty.
    """
    logged = seasons[f"{event}_doy"].to_numpy(float)
    est = np.asarray(estimated_doy, dtype=float)
    n = features["season_n"].fillna(0.0).to_numpy()
    rows = []
    for i in range(len(seasons)):
        if np.isnan(logged[i]):
            continue
        pid, year = str(seasons["plot_id"].iat[i]), int(seasons["year"].iat[i])
        day = pd.Timestamp(year=year, month=1, day=1) + pd.Timedelta(days=int(logged[i]) - 1)
        if n[i] < MIN_OBSERVATIONS["dates"] or np.isnan(est[i]):
            rows.append((pid, year, event, f"{day:%Y-%m-%d}", None, np.nan, "unverifiable",
                         f"{int(n[i])} clear in-season observation(s) and no NDVI curve to date the {event}"))  # fmt: skip
            continue
        diff = est[i] - logged[i]
        if abs(diff) <= DATE_TOLERANCE_DAYS:
            continue
        when = pd.Timestamp(year=year, month=1, day=1) + pd.Timedelta(days=round(est[i]) - 1)
        severity = "critical" if abs(diff) > 2 * DATE_TOLERANCE_DAYS else "warning"
        rows.append((pid, year, event, f"{day:%Y-%m-%d}", f"{when:%Y-%m-%d}", np.nan, severity,
                     f"the NDVI curve dates the {event} {abs(diff):.0f} days {'later' if diff > 0 else 'earlier'} than logged"))  # fmt: skip
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))


def green_cover_flags(seasons: pd.DataFrame, cover_proba: np.ndarray) -> pd.DataFrame:
    """``info`` flags where the imagery shows green cover outside the main season and no
    ``cover_crop`` record of that season explains it.

    Parameters
    ----------
    seasons : pandas.DataFrame
        ``plot_id``, ``year``, ``cover_crop_logged`` (bool).
    cover_proba : numpy.ndarray
        Probability of green cover per plot-season
        (:class:`models.verification.detectors.GreenCoverDetector`).
    """
    p = np.asarray(cover_proba, dtype=float)
    logged = seasons["cover_crop_logged"].to_numpy(bool)
    hit = (p >= 0.5) & ~logged
    return pd.DataFrame(
        {
            "plot_id": seasons["plot_id"].to_numpy()[hit].astype(str),
            "year": seasons["year"].to_numpy()[hit].astype(int),
            "practice": "green_cover",
            "logged": "none",
            "detected": "cover",
            "probability": np.round(p[hit], 4),
            "severity": "info",
            "reason": "green cover outside the main season (cover crop or volunteer growth) that no log records",
        },
        columns=list(FLAG_COLUMNS),
    )


#: The canonical method a critical contradiction is modelled with, per practice and detected class.
DETECTED_METHOD: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "tillage": MappingProxyType({"conservation": "no_till"}),  # "tilled": the plot's own tilled method
        "residue": MappingProxyType({"retained": "retained", "removed": "removed", "burned": "burned"}),
    }
)


def apply_decisions(
    activities: pd.DataFrame, verdicts: pd.DataFrame, default_tilled: str = "rotary"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The activity records the models take: each ``critical`` contradiction replaced by the
    detected practice (module notes), each ``overridden`` verdict by the reviewer's method (its
    ``override`` column, :func:`models.verification.reviews.apply_reviews`).

    A season detected as tilled takes the plot's own most frequent tilled method among its logs
    (``default_tilled``, the region's common practice, if it logged none); a residue record takes
    the detected handling with its default retained fraction (the logged fraction is dropped).

    Parameters
    ----------
    activities : pandas.DataFrame
        Canonical activity records.
    verdicts : pandas.DataFrame
        :func:`practice_flags` verdicts of tillage and residue (concatenated).

    Returns
    -------
    records : pandas.DataFrame
        The records with the replacements.
    changes : pandas.DataFrame
        ``plot_id``, ``year``, ``practice``, ``logged``, ``used``: one row per replaced record.
    """
    out = activities.copy()
    out["date"] = pd.to_datetime(out["date"])
    crit = verdicts[verdicts["status"].isin(("critical", "overridden"))]
    changes = []
    if crit.empty:
        return out, pd.DataFrame(changes, columns=["plot_id", "year", "practice", "logged", "used"])
    year = out["date"].dt.year
    till = out[out["activity"] == "tillage"]
    tilled_methods = till[practice_class("tillage", till["method"]) == "tilled"] if len(till) else till
    habit = most_frequent(tilled_methods.sort_values("date", kind="stable"), "plot_id", "method")
    for row in crit.itertuples(index=False):
        pid, yr, practice = str(row.plot_id), int(row.year), str(row.practice)
        if row.status == "overridden":  # a reviewer's method (models.verification.reviews)
            used = str(row.override)
        elif practice == "tillage":
            used = DETECTED_METHOD["tillage"].get(str(row.detected)) or str(habit.get(pid, default_tilled))
        else:
            used = DETECTED_METHOD["residue"][str(row.detected)]
        sel = (out["plot_id"].astype(str) == pid) & (year == yr) & (out["activity"] == practice)
        for before in out.loc[sel, "method"].unique():
            changes.append((pid, yr, practice, str(before), used))
        out.loc[sel, "method"] = used
        if practice == "residue" and "residue_fraction" in out.columns:
            out.loc[sel, "residue_fraction"] = np.nan
            harvest = (out["plot_id"].astype(str) == pid) & (year == yr) & (out["activity"] == "harvest")
            out.loc[harvest, "residue_fraction"] = np.nan
    return out, pd.DataFrame(changes, columns=["plot_id", "year", "practice", "logged", "used"])


VERIFICATION_RULES = ("detected", "exclude", "discount")
"""What a methodology does with a critically contradicted plot-season: model the detected
practice, exclude the season's credit, or keep the claim at its probability (a discount)."""


def apply_verification_rule(verdicts: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Verdicts with ``keep`` set by the methodology's rule for critical contradictions.

    ``detected``: unchanged (the models take the detected practice, :func:`apply_decisions`;
    keep 1); ``exclude``: keep 0 (the caller also zeroes the season's credit); ``discount``: the
    claim kept at one minus the probability of the detected class.

    Examples
    --------
    >>> v = pd.DataFrame({"status": ["critical", "verified"], "p_detected": [0.9, 0.95], "keep": [1.0, 0.97]})
    >>> apply_verification_rule(v, "discount")["keep"].round(2).tolist()
    [0.1, 0.97]
    """
    if rule not in VERIFICATION_RULES:
        raise ValueError(f"verification rule {rule!r} is unknown; use one of {VERIFICATION_RULES}")
    out = verdicts.copy()
    crit = out["status"] == "critical"
    if rule == "exclude":
        out.loc[crit, "keep"] = 0.0
    elif rule == "discount":
        out.loc[crit, "keep"] = 1.0 - out.loc[crit, "p_detected"].astype(float)
    return out
