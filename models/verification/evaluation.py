"""How well the detectors work: grouped cross-validation, confusion matrices, kappa, MCC and
bootstrap intervals, the way the open tillage/residue mapping literature evaluates (whole-field
hold-outs: e.g. the Sentinel-2 smallholder tillage study of PLOS ONE 2022,
doi:10.1371/journal.pone.0277425).

* Folds are whole villages (:class:`sklearn.model_selection.GroupKFold`): no plot, and no field of
  a village, is ever in both the training and the test part, so neighbouring fields with the same
  farmer habits and weather cannot leak.
* Overall accuracy, per-class precision and recall, Cohen's kappa [1]_ and the (multiclass)
  Matthews correlation coefficient [2]_ come from the out-of-fold confusion matrix.
* 95 % intervals: a cluster bootstrap over plots (all seasons of a plot in or out together; plot
  seasons are not independent), 1,000 resamples by default, percentile intervals.
* Calibration: the Brier score of the out-of-fold probabilities.

Pure: arrays and DataFrames in, dicts out.

References
----------
.. [1] J. Cohen, "A coefficient of agreement for nominal scales", Educ. Psychol. Meas. 20(1),
   37-46, 1960.
.. [2] J. Gorodkin, "Comparing two K-category assignments by a K-category correlation
   coefficient", Comput. Biol. Chem. 28(5-6), 367-374, 2004.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from models.errors import ModelInputError

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "confusion_metrics",
    "date_report",
    "classifier_report",
    "grouped_predictions",
]

DEFAULT_BOOTSTRAP = 1000
"""Bootstrap resamples of the 95 % intervals."""


def grouped_predictions(
    estimator: Any, X: pd.DataFrame, y: Sequence[object], groups: Sequence[object], n_splits: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions with whole groups (villages) held out.

    Returns
    -------
    predicted : numpy.ndarray
        Out-of-fold predictions (classes for a classifier, values for a regressor).
    proba : numpy.ndarray
        Out-of-fold class probabilities over the sorted classes of ``y`` (empty for a regressor).
    """
    g = np.asarray(groups, dtype=object).astype(str)
    yy = np.asarray(y, dtype=object)
    n_groups = np.unique(g).size
    if n_groups < 2:
        raise ModelInputError("grouped cross-validation needs labelled plots from at least 2 villages")
    folds = GroupKFold(n_splits=min(n_splits, n_groups))
    is_clf = hasattr(estimator, "predict_proba")
    classes = np.unique(yy.astype(str)) if is_clf else np.array([])
    pred = np.empty(len(yy), dtype=object if is_clf else float)
    proba = np.zeros((len(yy), classes.size))
    for train, test in folds.split(X, yy, g):
        model = clone(estimator).fit(X.iloc[train], yy[train])
        pred[test] = model.predict(X.iloc[test])
        if is_clf:
            p = model.predict_proba(X.iloc[test])
            for j, c in enumerate(model.classes_):
                proba[test, int(np.searchsorted(classes, str(c)))] = p[:, j]
    return pred, proba


def confusion_metrics(cm: np.ndarray) -> dict[str, Any]:
    """Accuracy, kappa, MCC, per-class precision and recall of a confusion matrix.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., k, k)
        Counts, rows = true class, columns = predicted class (leading dims: bootstrap resamples).

    Returns
    -------
    dict
        ``accuracy``, ``kappa``, ``mcc`` (shape ``...``), ``precision`` and ``recall`` (shape
        ``(..., k)``; NaN where a class is never predicted / never true).

    Examples
    --------
    45 + 40 right of 100 (Cohen's kappa: p_o = 0.85, p_e = 0.5 x 0.5 + 0.5 x 0.5 = 0.5 -> 0.7):

    >>> m = confusion_metrics(np.array([[45, 5], [10, 40]]))
    >>> round(float(m["accuracy"]), 3), round(float(m["kappa"]), 3), round(float(m["mcc"]), 4)
    (0.85, 0.7, 0.7035)
    """
    c = np.asarray(cm, dtype=float)
    n = c.sum(axis=(-2, -1))
    correct = np.trace(c, axis1=-2, axis2=-1)
    t = c.sum(axis=-1)  # true counts per class
    p = c.sum(axis=-2)  # predicted counts per class
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = correct / n
        pe = (t * p).sum(axis=-1) / n**2
        kappa = (acc - pe) / (1.0 - pe)
        cov_xy = correct * n - (t * p).sum(axis=-1)
        cov_xx = n**2 - (p * p).sum(axis=-1)
        cov_yy = n**2 - (t * t).sum(axis=-1)
        mcc = cov_xy / np.sqrt(cov_xx * cov_yy)
        diag = np.diagonal(c, axis1=-2, axis2=-1)
        precision = diag / p
        recall = diag / t
    return {"accuracy": acc, "kappa": kappa, "mcc": mcc, "precision": precision, "recall": recall}


def _cluster_bootstrap(per_cluster: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Sums of per-cluster arrays over ``n_boot`` resamples of the clusters (with replacement)."""
    rng = np.random.default_rng(seed)
    k = per_cluster.shape[0]
    weights = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    return np.tensordot(weights, per_cluster, axes=(1, 0))


def _ci(values: np.ndarray) -> list[float | None]:
    with np.errstate(invalid="ignore"):
        lo, hi = (
            np.nanpercentile(values, [2.5, 97.5], axis=0) if np.isfinite(values).any() else (np.nan, np.nan)
        )
    return [
        None if not np.isfinite(lo) else round(float(lo), 4),
        None if not np.isfinite(hi) else round(float(hi), 4),
    ]


def _r(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 4)


def classifier_report(
    y_true: Sequence[object],
    y_pred: Sequence[object],
    proba: np.ndarray | None,
    clusters: Sequence[object],
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """Scores of out-of-fold predictions with cluster-bootstrap 95 % intervals (module notes).

    Returns
    -------
    dict
        ``classes``, ``confusion`` (rows true, columns predicted), ``n``, ``accuracy``,
        ``kappa``, ``mcc`` (each ``{"value", "ci95"}``), ``precision`` / ``recall`` per class
        (same form), ``brier`` (mean squared error of the probabilities; None without them).
    """
    yt = np.asarray(y_true, dtype=object).astype(str)
    yp = np.asarray(y_pred, dtype=object).astype(str)
    classes = np.unique(np.concatenate([yt, yp]))
    ti = np.searchsorted(classes, yt)
    pi = np.searchsorted(classes, yp)
    cl = pd.factorize(np.asarray(clusters, dtype=object).astype(str))[0]
    k = classes.size
    per = np.zeros((cl.max() + 1, k, k))
    np.add.at(per, (cl, ti, pi), 1.0)
    cm = per.sum(axis=0)
    point = confusion_metrics(cm)
    boot = confusion_metrics(_cluster_bootstrap(per, n_boot, seed))

    def stat(name: str) -> dict[str, Any]:
        return {"value": _r(point[name]), "ci95": _ci(boot[name])}

    def per_class(name: str) -> dict[str, Any]:
        return {
            str(c): {"value": _r(point[name][j]), "ci95": _ci(boot[name][:, j])}
            for j, c in enumerate(classes)
        }

    brier = None
    if proba is not None and np.asarray(proba).size:
        pr = np.asarray(proba, dtype=float)
        if pr.shape == (len(yt), k):
            onehot = np.eye(k)[ti]
            brier = _r(float(np.mean(np.sum((pr - onehot) ** 2, axis=1))))
    return {
        "classes": [str(c) for c in classes],
        "confusion": cm.astype(int).tolist(),
        "n": int(len(yt)),
        "accuracy": stat("accuracy"),
        "kappa": stat("kappa"),
        "mcc": stat("mcc"),
        "precision": per_class("precision"),
        "recall": per_class("recall"),
        "brier": brier,
    }


def date_report(
    y_true: Sequence[float],
    y_pred: Sequence[float],
    clusters: Sequence[object],
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """Error of estimated dates [d]: mean absolute error, bias (estimate - logged) and RMSE with
    cluster-bootstrap 95 % intervals, over the plot-seasons with both."""
    yt = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    ok = ~np.isnan(yt) & ~np.isnan(yp)
    if not ok.any():
        return {"n": 0, "mae_days": None, "bias_days": None, "rmse_days": None}
    err = (yp - yt)[ok]
    cl = pd.factorize(np.asarray(clusters, dtype=object)[ok].astype(str))[0]
    per = np.zeros((cl.max() + 1, 3))
    np.add.at(per, cl, np.column_stack([np.abs(err), err, err**2]))
    cnt = np.bincount(cl).astype(float)
    sums = _cluster_bootstrap(np.column_stack([per, cnt]), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = sums[:, :3] / sums[:, 3:4]
    return {
        "n": int(ok.sum()),
        "mae_days": {"value": _r(np.mean(np.abs(err))), "ci95": _ci(b[:, 0])},
        "bias_days": {"value": _r(np.mean(err)), "ci95": _ci(b[:, 1])},
        "rmse_days": {"value": _r(np.sqrt(np.mean(err**2))), "ci95": _ci(np.sqrt(b[:, 2]))},
    }
