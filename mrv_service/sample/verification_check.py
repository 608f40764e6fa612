"""The sample county's verification check: detectors trained on half the villages' field labels,
judged on the other half against the generator's truth (``truth.csv``).

``mrv demo`` trains the detectors on the true practice of every plot-season of the training
villages (every other village, alphabetically), runs the project, then compares on the held-out
villages: the detected tillage and residue classes against the true ones (overall accuracy,
per-class precision and recall, cluster-bootstrap 95 % intervals) and the flags against the
planted contradictions (the share found, and the share of flags that are real). Everything here is
measured on synthetic imagery and labels: :data:`SYNTHETIC_NOTE` goes with every figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from models.verification.detectors import practice_class
from models.verification.evaluation import classifier_report

__all__ = ["SYNTHETIC_NOTE", "held_out_check", "sample_labels", "split_villages"]

SYNTHETIC_NOTE = (
    "measured on the sample county's SYNTHETIC imagery and labels (mrv_service/sample), not on real fields"
)


def split_villages(plots: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(training, held-out) villages: every other village in alphabetical order."""
    villages = sorted(plots["village"].astype(str).unique())
    return villages[0::2], villages[1::2]


def sample_labels(sample_dir: Path, plots: pd.DataFrame) -> pd.DataFrame:
    """Field labels of the training villages: the true practice of each of their plot-seasons."""
    truth = pd.read_csv(sample_dir / "truth.csv", dtype={"plot_id": str})
    train, _ = split_villages(plots)
    ids = set(plots.loc[plots["village"].astype(str).isin(train), "plot_id"].astype(str))
    t = truth[truth["plot_id"].isin(ids)]
    return pd.DataFrame(
        {
            "plot_id": t["plot_id"].to_numpy(),
            "year": t["year"].astype(int).to_numpy(),
            "tillage": t["true_tillage"].to_numpy(),
            "residue": t["true_residue"].to_numpy(),
        }
    )


def held_out_check(sample_dir: Path, plots: pd.DataFrame, out_dir: Path) -> dict[str, Any]:
    """Detection and contradiction figures on the held-out villages (module notes); written to
    ``out_dir/verification_check.json``."""
    truth = pd.read_csv(sample_dir / "truth.csv", dtype={"plot_id": str})
    verdicts = pd.read_csv(out_dir / "practice_verdicts.csv", dtype={"plot_id": str})
    flags = pd.read_csv(out_dir / "flags.csv", dtype={"plot_id": str})
    _, held = split_villages(plots)
    ids = set(plots.loc[plots["village"].astype(str).isin(held), "plot_id"].astype(str))
    truth = truth[truth["plot_id"].isin(ids)]
    out: dict[str, Any] = {"note": SYNTHETIC_NOTE, "held_out_villages": held, "plot_seasons": int(len(truth))}
    for practice in ("tillage", "residue"):
        v = verdicts[
            (verdicts["practice"] == practice) & verdicts["status"].isin(("verified", "warning", "critical"))
        ]
        m = v.merge(truth, on=["plot_id", "year"])
        if m.empty:
            out[practice] = None
            continue
        y_true = practice_class(practice, m[f"true_{practice}"])
        out[practice] = classifier_report(y_true, m["detected"].to_numpy(object), None, m["plot_id"], seed=0)
        out[practice]["unverifiable"] = int(
            (
                (verdicts["practice"] == practice)
                & (verdicts["status"] == "unverifiable")
                & verdicts["plot_id"].isin(ids)
            ).sum()
        )
    practice_flags = flags[
        flags["practice"].isin(("tillage", "residue")) & flags["severity"].isin(("warning", "critical"))
    ]
    flagged = practice_flags[practice_flags["plot_id"].isin(ids)][["plot_id", "year"]].drop_duplicates()
    key = truth.set_index(["plot_id", "year"])
    flagged_idx = pd.MultiIndex.from_frame(flagged)
    contradicted = key.index[key["contradicted"].astype(bool)]
    found = contradicted.intersection(flagged_idx)
    out["contradictions"] = {
        "planted": int(len(contradicted)),
        "found": int(len(found)),
        "recall": round(len(found) / len(contradicted), 4) if len(contradicted) else None,
        "flagged_plot_seasons": int(len(flagged_idx)),
        "precision": round(len(found) / len(flagged_idx), 4) if len(flagged_idx) else None,
    }
    missed = key.loc[contradicted.difference(flagged_idx)].reset_index()
    vv = verdicts.pivot_table(
        index=["plot_id", "year"],
        columns="practice",
        values=["status", "p_detected", "detected"],
        aggfunc="first",
    )
    vv.columns = [f"{a}_{b}" for a, b in vv.columns]
    missed = missed.merge(vv.reset_index(), on=["plot_id", "year"], how="left")
    out["missed"] = json.loads(missed.to_json(orient="records"))
    false_flags = flagged_idx.difference(contradicted)
    out["false_flags"] = int(len(false_flags))
    (out_dir / "verification_check.json").write_text(
        json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return out
