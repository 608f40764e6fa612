"""Training the detectors of a project (``mrv verify train``): pure apart from the estimators it
fits.

* tillage and residue: :class:`models.verification.detectors.PracticeDetector` on the labelled
  plot-seasons, scored first by grouped 5-fold cross-validation with whole villages held out
  (:mod:`models.verification.evaluation`), then fitted on every label;
* sowing and harvest dates: :class:`models.verification.detectors.SeasonDateEstimator` on the
  project's logged dates (the lag between the NDVI curve and the logged operation), scored the
  same way.

Each detector carries the SHA-256 of its training data (the labels or logged dates and the feature
rows it saw) and its metrics.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.verification.detectors import PracticeDetector, SeasonDateEstimator, practice_class
from models.verification.evaluation import classifier_report, date_report, grouped_predictions
from models.verification.features import season_features
from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.verification_stage import logged_seasons

__all__ = ["TrainedDetector", "train_detectors"]

CV_FOLDS = 5
"""Folds of the grouped cross-validation (whole villages per fold)."""


@dataclasses.dataclass(frozen=True)
class TrainedDetector:
    """A fitted detector and what it was trained and scored on."""

    practice: str
    estimator: Any
    training_sha256: str
    n_training: int
    metrics: dict[str, Any]


def _sha(*frames: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(f.to_csv(index=False, float_format="%.10g").encode("utf-8"))
    return h.hexdigest()


def train_detectors(
    inputs: ProjectInputs,
    features: xr.Dataset,
    labels: pd.DataFrame,
    *,
    seed: int = 0,
    data_note: str | None = None,
    n_boot: int = 1000,
) -> tuple[list[TrainedDetector], list[str]]:
    """Fit and score the detectors (module notes).

    Parameters
    ----------
    inputs : ProjectInputs
        The project (plots with their villages, activity records, periods).
    features : xarray.Dataset
        The imagery stage's per-plot series (``plot_features.nc``).
    labels : pandas.DataFrame
        :func:`mrv_service.verify.labels.read_labels` rows.
    seed : int
        Seed of the estimators and the bootstrap.
    data_note : str, optional
        Said with every metric (e.g. that the labels and imagery are synthetic).

    Returns
    -------
    trained : list of TrainedDetector
    skipped : list of str
        Why a practice got no detector.
    """
    project = inputs.project
    years = sorted({*project.baseline_years, *project.project_years})
    ids = inputs.plots["plot_id"].astype(str).tolist()
    village = dict(zip(ids, inputs.plots["village"].astype(str), strict=True))
    feats = season_features(features, years)
    trained, skipped = [], []
    base = {
        "evaluation": f"grouped {CV_FOLDS}-fold cross-validation, whole villages held out",
        "data_note": data_note,
    }
    for practice in ("tillage", "residue"):
        lab = labels[labels[practice].notna()][["plot_id", "year", practice]]
        X = lab.merge(feats, on=["plot_id", "year"], how="inner")
        y = practice_class(practice, X[practice])
        groups = X["plot_id"].map(village)
        if np.unique(y.astype(str)).size < 2 or groups.nunique() < 2:
            skipped.append(
                f"{practice}: the labels need both classes and plots from at least 2 villages "
                f"({len(X)} labelled plot-seasons, {groups.nunique()} village(s))"
            )
            continue
        det = PracticeDetector(practice, random_state=seed)
        pred, proba = grouped_predictions(det, X, y, groups, n_splits=CV_FOLDS)
        report = classifier_report(y, pred, proba, X["plot_id"], n_boot=n_boot, seed=seed)
        fitted = PracticeDetector(practice, random_state=seed).fit(X, y)
        metrics = {**base, **report, "n_villages": int(groups.nunique())}
        trained.append(TrainedDetector(practice, fitted, _sha(lab, X), int(len(X)), metrics))
    seasons = logged_seasons(inputs.activities, ids, years).merge(feats, on=["plot_id", "year"], how="left")
    for event in ("sowing", "harvest"):
        y = seasons[f"{event}_doy"].to_numpy(float)
        ok = ~np.isnan(y) & seasons[SeasonDateEstimator._COLUMN[event]].notna().to_numpy()
        X = seasons[ok].reset_index(drop=True)
        groups = X["plot_id"].map(village)
        if len(X) < 10 or groups.nunique() < 2:
            skipped.append(
                f"{event}: fewer than 10 plot-seasons with a logged date and an NDVI curve, or 1 village"
            )
            continue
        pred, _ = grouped_predictions(SeasonDateEstimator(event), X, y[ok], groups, n_splits=CV_FOLDS)
        report = date_report(y[ok], pred, X["plot_id"], n_boot=n_boot, seed=seed)
        fitted = SeasonDateEstimator(event).fit(X, y[ok])
        metrics = {
            **base,
            **report,
            "labels": "the project's logged dates",
            "lag_days": round(fitted.lag_, 2),
        }
        trained.append(
            TrainedDetector(event, fitted, _sha(X[["plot_id", "year", f"{event}_doy"]]), int(len(X)), metrics)
        )
    return trained, skipped
