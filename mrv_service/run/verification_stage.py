"""The verification stage of ``mrv run``: the logs against the imagery.

1. features of every plot-season of the look-back and project years from the imagery stage's
   ``plot_features.nc`` (:func:`models.verification.features.season_features`);
2. the project's active detectors (``mrv verify train``) give each plot-season's tillage and
   residue class probabilities, sowing and harvest dates and off-season green cover;
3. reconciliation (:mod:`models.verification.reconcile`) writes a flag per contradicted,
   unverifiable or mis-dated plot-season (``flags.csv``) and a verdict per plot-season and practice
   with the probability that the claimed practice holds (``practice_verdicts.csv``), which the
   models stage takes: critical contradictions modelled as detected, the misclassification draw
   (:mod:`models.verification.credit`).

Without trained detectors every logged tillage and residue claim is ``unverifiable``: nothing is
passed on trust.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.exact_sums import fixed_sum, unfixed
from models.ipcc_tier1 import TILLAGE_LEVEL_OF_METHOD
from models.tillage import LEVEL_ORDER
from models.verification.credit import claim_keep_probability
from models.verification.detectors import GreenCoverDetector
from models.verification.features import season_features
from models.verification.reconcile import (
    FLAG_COLUMNS,
    SEVERITIES,
    date_flags,
    green_cover_flags,
    practice_flags,
)
from mrv_service.run.inputs import ProjectInputs

__all__ = [
    "DetectorSet",
    "VerificationCounts",
    "VerificationOutcome",
    "logged_seasons",
    "verification_chunk",
    "verification_lines",
    "verification_stage",
    "verification_summary",
]

VERDICT_COLUMNS = (
    "plot_id",
    "year",
    "practice",
    "logged",
    "detected",
    "p_logged",
    "p_detected",
    "status",
    "keep",
)
"""Columns of ``practice_verdicts.csv``."""


@dataclasses.dataclass(frozen=True)
class DetectorSet:
    """The trained detectors a run uses (None where the project has none) and their records."""

    estimators: Mapping[str, Any]
    """``tillage``, ``residue``, ``sowing``, ``harvest`` -> fitted estimator or None."""
    records: Mapping[str, dict[str, Any]]
    """Per practice: ``training_sha256``, ``n_training``, ``metrics`` (as registered)."""


@dataclasses.dataclass(frozen=True)
class VerificationOutcome:
    """What the verification stage produced."""

    flags: pd.DataFrame
    """:data:`models.verification.reconcile.FLAG_COLUMNS`, one row per flagged plot-season."""
    verdicts: pd.DataFrame
    """:data:`VERDICT_COLUMNS`, one row per plot-season and practice."""
    summary: dict[str, Any]
    """``verification`` section of ``summary.json``."""


def logged_seasons(activities: pd.DataFrame, plot_ids: list[str], years: list[int]) -> pd.DataFrame:
    """Each plot-season's logged practice: the most disturbing tillage method of the calendar
    year, its last residue record, sowing and harvest days of year, whether a cover crop was logged.

    Returns
    -------
    pandas.DataFrame
        ``plot_id``, ``year``, ``tillage``, ``residue`` (canonical methods, None if unlogged),
        ``sowing_doy``, ``harvest_doy`` [day of year], ``cover_crop_logged`` (bool), for every plot
        and year in that order.
    """

    grid = pd.MultiIndex.from_product([plot_ids, years], names=["plot_id", "year"])
    out = pd.DataFrame(index=grid)
    a = activities.copy()
    a["date"] = pd.to_datetime(a["date"])
    a["year"] = a["date"].dt.year
    a["plot_id"] = a["plot_id"].astype(str)
    a = a[a["year"].isin(years)].sort_values(["plot_id", "date"], kind="stable")
    till = a[a["activity"] == "tillage"].copy()
    till["rank"] = till["method"].map(
        lambda m: LEVEL_ORDER.index(TILLAGE_LEVEL_OF_METHOD.get(str(m), "full_till"))
    )
    till = till.sort_values(["plot_id", "year", "rank"], kind="stable").groupby(["plot_id", "year"]).last()
    out["tillage"] = till["method"].reindex(grid)
    res = a[a["activity"] == "residue"].groupby(["plot_id", "year"]).last()
    out["residue"] = res["method"].reindex(grid)
    for event in ("sowing", "harvest"):
        ev = a[a["activity"] == event].groupby(["plot_id", "year"])["date"].first()
        out[f"{event}_doy"] = ev.dt.dayofyear.astype(float).reindex(grid)
    cover = a[a["activity"] == "cover_crop"].groupby(["plot_id", "year"]).size()
    out["cover_crop_logged"] = cover.reindex(grid).fillna(0).to_numpy() > 0
    out = out.reset_index()
    for col in ("tillage", "residue"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


@dataclasses.dataclass(frozen=True)
class VerificationCounts:
    """What the stage's summary needs from some plots (:func:`verification_summary` adds them up)."""

    plot_seasons: int
    flags: dict[tuple[str, str], int]
    """Flags per (practice, severity)."""
    statuses: dict[tuple[str, str], int]
    """Logged claims per (practice, verdict status)."""
    keep: int
    keep_n: int
    """Probability that the logged claim holds [quanta, :mod:`models.exact_sums`], summed over the
    logged claims, and their number."""


def verification_chunk(
    inputs: ProjectInputs, features: xr.Dataset, detectors: DetectorSet
) -> tuple[pd.DataFrame, pd.DataFrame, VerificationCounts]:
    """Steps 1-3 of the module notes for the plots of ``inputs`` (all or a chunk: each
    plot-season is judged on its own): flags and verdicts in plot order, and the counts."""
    project = inputs.project
    years = sorted({*project.baseline_years, *project.project_years})
    ids = inputs.plots["plot_id"].astype(str).tolist()
    seasons = logged_seasons(inputs.activities, ids, years)
    feats = season_features(features.sel(plot=ids), years)
    feats = seasons[["plot_id", "year"]].merge(feats, on=["plot_id", "year"], how="left")
    flags, verdicts = [], []
    for practice in ("tillage", "residue"):
        est = detectors.estimators.get(practice)
        proba = est.predict_proba(feats) if est is not None else None
        classes = np.asarray(est.classes_, dtype=object) if est is not None else None
        f, v = practice_flags(seasons, feats, practice, proba, classes)
        flags.append(f)
        verdicts.append(v)
    for event in ("sowing", "harvest"):
        est = detectors.estimators.get(event)
        if est is not None:
            flags.append(date_flags(seasons, feats, event, est.predict(feats)))
    cover = GreenCoverDetector().fit(feats)
    flags.append(green_cover_flags(seasons, cover.predict_proba(feats)[:, 0]))
    flag_table = (
        pd.concat([f for f in flags if len(f)], ignore_index=True)
        if any(len(f) for f in flags)
        else (pd.DataFrame(columns=list(FLAG_COLUMNS)))
    )
    flag_table = flag_table.sort_values(["plot_id", "year", "practice"], kind="stable").reset_index(drop=True)
    verdict = pd.concat(verdicts, ignore_index=True)
    precision = {
        p: {str(c): v.get("value") for c, v in (rec.get("metrics") or {}).get("precision", {}).items()}
        for p, rec in detectors.records.items()
    }
    verdict["keep"] = claim_keep_probability(verdict, precision).round(4)
    verdict = verdict.sort_values(["plot_id", "year", "practice"], kind="stable").reset_index(drop=True)
    counts = flag_table.groupby(["practice", "severity"]).size() if len(flag_table) else pd.Series(dtype=int)
    logged = verdict[verdict["status"] != "not_logged"]
    status = logged.groupby(["practice", "status"]).size()
    totals = VerificationCounts(
        plot_seasons=int(len(seasons)),
        flags={(str(p), str(s)): int(n) for (p, s), n in counts.items()},
        statuses={(str(p), str(s)): int(n) for (p, s), n in status.items()},
        keep=int(fixed_sum(logged["keep"].to_numpy(float))),
        keep_n=int(len(logged)),
    )
    return flag_table[list(FLAG_COLUMNS)], verdict[list(VERDICT_COLUMNS)], totals


def verification_summary(parts: list[VerificationCounts], detectors: DetectorSet) -> dict[str, Any]:
    """The ``verification`` section of ``summary.json`` from the counts of every chunk."""
    flags: dict[tuple[str, str], int] = {}
    statuses: dict[tuple[str, str], int] = {}
    for part in parts:
        for k, n in part.flags.items():
            flags[k] = flags.get(k, 0) + n
        for k, n in part.statuses.items():
            statuses[k] = statuses.get(k, 0) + n
    keep, keep_n = sum(p.keep for p in parts), sum(p.keep_n for p in parts)
    by = {
        p: {s: flags[(p, s)] for s in SEVERITIES if flags.get((p, s), 0)}
        for p in sorted({p for p, _ in flags})
    }
    return {
        "plot_seasons": sum(p.plot_seasons for p in parts),
        "flags": sum(flags.values()),
        "flags_by_practice_and_severity": by,
        "verdicts": {
            p: {s: n for (pp, s), n in sorted(statuses.items()) if pp == p} for p in ("tillage", "residue")
        },
        "detectors": {
            p: {
                "training_sha256": rec.get("training_sha256"),
                "n_training": rec.get("n_training"),
                "metrics": rec.get("metrics"),
            }
            for p, rec in detectors.records.items()
        },
        "untrained": sorted(
            p for p in ("tillage", "residue", "sowing", "harvest") if detectors.estimators.get(p) is None
        ),
        "mean_claim_probability": round(float(unfixed(keep)) / keep_n, 4) if keep_n else None,
    }


def verification_stage(
    inputs: ProjectInputs, features: xr.Dataset, detectors: DetectorSet
) -> VerificationOutcome:
    """Run steps 1-3 of the module notes for every plot of the project, in one chunk (a run by
    plot chunk calls :func:`verification_chunk` per chunk: the same result)."""
    flags, verdicts, counts = verification_chunk(inputs, features, detectors)
    return VerificationOutcome(flags, verdicts, verification_summary([counts], detectors))


def verification_lines(summary: dict[str, Any]) -> list[str]:
    """The stage's lines for the console (``mrv run``)."""
    by = summary["flags_by_practice_and_severity"]
    parts = [f"{p} " + ", ".join(f"{n} {s}" for s, n in sev.items()) for p, sev in by.items()]
    lines = [
        f"verification {summary['plot_seasons']} plot-seasons: {summary['flags']} flags"
        + (f" ({'; '.join(parts)})" if parts else "")
    ]
    for p, rec in summary["detectors"].items():
        m = rec.get("metrics") or {}
        if "accuracy" in m:
            acc = m["accuracy"]
            lines.append(
                f"             {p} detector: accuracy {acc['value']:.3f} (95 % {acc['ci95'][0]:.3f}-{acc['ci95'][1]:.3f}), "
                f"kappa {m['kappa']['value']:.3f} on held-out villages"
                + (f"; {m['data_note']}" if m.get("data_note") else "")
            )
        elif "mae_days" in m and m["mae_days"]:
            lines.append(
                f"             {p} date: {m['mae_days']['value']:.1f} days mean absolute error on held-out villages"
            )
    if summary["untrained"]:
        lines.append(
            f"             no trained detector for {', '.join(summary['untrained'])}: those claims are unverifiable "
            "(train with `mrv verify train PROJECT LABELS.csv`)"
        )
    return lines
