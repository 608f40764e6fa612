"""Detectors of a plot-season's practice from its imagery features (scikit-learn estimators).

* :class:`PracticeDetector`: tillage (``tilled``: plough, rotary vs ``conservation``: no-till,
  reduced, subsoiling; the IPCC Tier 1 levels, :data:`models.ipcc_tier1.TILLAGE_LEVEL_OF_METHOD`)
  or residue (``retained``: retained, mulched vs ``removed``; ``burned`` its own class where the
  labels hold it). A histogram gradient-boosting classifier (it takes the NaN of a window without
  clear observations as information, no imputation) wrapped in sigmoid (Platt) calibration, so
  that ``predict_proba`` is a probability a reconciliation rule can threshold.
* :class:`SeasonDateEstimator`: sowing or harvest day of year from the NDVI green-up or
  senescence day plus a lag learned from logged dates (the median residual: robust to a few
  wrong logs).
* :class:`GreenCoverDetector`: green cover outside the main season (cover crop, volunteer
  growth) from the highest off-season NDVI against a threshold.

They follow the estimator contract (``fit``/``predict``/``predict_proba``, ``get_params``) so
that :mod:`models.verification.evaluation` scores them with grouped cross-validation and a user
retrains them on labelled plots (``mrv verify train``). Pure: DataFrames in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from models.errors import ModelInputError
from models.ipcc_tier1 import TILLAGE_LEVEL_OF_METHOD
from models.verification.features import FEATURE_UNITS

__all__ = [
    "GREEN_COVER_NDVI",
    "PRACTICES",
    "GreenCoverDetector",
    "PracticeDetector",
    "SeasonDateEstimator",
    "practice_class",
]

PRACTICES = ("tillage", "residue")
"""Practices with a classifier; dates and green cover have their own estimators."""

RESIDUE_CLASS = {"retained": "retained", "mulched": "retained", "removed": "removed", "burned": "burned"}

GREEN_COVER_NDVI = 0.35
"""Off-season NDVI above which a plot is taken to carry green cover [1]: above the 0.15-0.3 of
bare soil and crop residue and below the ~0.5+ of a closed canopy (sparse-vegetation NDVI range
of e.g. the MODIS vegetation index user guide; the default until a user's labels refit it)."""


def practice_class(practice: str, methods: Sequence[object]) -> np.ndarray:
    """The detector class of logged or labelled canonical methods.

    Examples
    --------
    >>> practice_class("tillage", ["plough", "rotary", "no_till", "reduced"]).tolist()
    ['tilled', 'tilled', 'conservation', 'conservation']
    >>> practice_class("residue", ["mulched", "retained", "removed", "burned", None]).tolist()
    ['retained', 'retained', 'removed', 'burned', None]
    """
    out = []
    for m in methods:
        if m is None or (isinstance(m, float) and np.isnan(m)) or m == "":
            out.append(None)
        elif practice == "tillage":
            level = TILLAGE_LEVEL_OF_METHOD.get(str(m))
            if level is None:
                raise ModelInputError(
                    f"tillage method {m!r} is not canonical ({sorted(TILLAGE_LEVEL_OF_METHOD)})"
                )
            out.append("tilled" if level == "full_till" else "conservation")
        elif practice == "residue":
            if str(m) not in RESIDUE_CLASS:
                raise ModelInputError(f"residue method {m!r} is not canonical ({sorted(RESIDUE_CLASS)})")
            out.append(RESIDUE_CLASS[str(m)])
        else:
            raise ModelInputError(f"practice {practice!r} has no classes; use one of {PRACTICES}")
    return np.array(out, dtype=object)


def _frame(X: pd.DataFrame | np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ModelInputError(
                f"the features lack column(s) {missing[:5]}; build them with season_features"
            )
        return X[list(columns)]
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(columns):
        raise ModelInputError(f"expected {len(columns)} feature columns, got shape {arr.shape}")
    return pd.DataFrame(arr, columns=list(columns))


class PracticeDetector(ClassifierMixin, BaseEstimator):
    """Tillage or residue class of a plot-season from its features (module notes).

    Parameters
    ----------
    practice : {"tillage", "residue"}
        What it detects (for reports; the classes come from ``y``).
    features : sequence of str, optional
        Feature columns (default every column of :data:`models.verification.features.FEATURE_UNITS`).
    max_iter : int
        Boosting iterations.
    learning_rate : float
        Boosting learning rate.
    calibration_folds : int
        Folds of the sigmoid calibration (fewer when a class is smaller).
    random_state : int
        Seed.
    """

    def __init__(
        self,
        practice: str = "tillage",
        features: Sequence[str] | None = None,
        max_iter: int = 150,
        learning_rate: float = 0.1,
        calibration_folds: int = 3,
        random_state: int = 0,
    ):
        self.practice = practice
        self.features = features
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    def _columns(self) -> list[str]:
        return list(self.features) if self.features is not None else list(FEATURE_UNITS)

    def fit(self, X: pd.DataFrame, y: Sequence[str]) -> PracticeDetector:
        """Fit on labelled plot-seasons (``y``: classes such as :func:`practice_class` gives)."""
        Xf = _frame(X, self._columns())
        # a column with fewer than two distinct values carries nothing (and the histogram binning
        # cannot bin it): it is left out, and out of predict
        keep = [c for c in Xf.columns if Xf[c].nunique(dropna=True) >= 2]
        if not keep:
            raise ModelInputError("every feature is constant or missing over the labelled plot-seasons")
        Xf = Xf[keep]
        yy = np.asarray(y, dtype=object)
        if len(yy) != len(Xf):
            raise ModelInputError(f"{len(Xf)} feature rows but {len(yy)} labels")
        classes, counts = np.unique(yy.astype(str), return_counts=True)
        if classes.size < 2:
            raise ModelInputError(
                f"the {self.practice} labels hold one class only ({classes.tolist()}); label plot-seasons of both kinds"
            )
        base = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, random_state=self.random_state
        )
        folds = int(min(self.calibration_folds, counts.min()))
        if folds >= 2:
            self.model_ = CalibratedClassifierCV(base, method="sigmoid", cv=folds).fit(Xf, yy.astype(str))
        else:  # a class with one example: no calibration possible
            self.model_ = base.fit(Xf, yy.astype(str))
        self.classes_ = np.asarray(self.model_.classes_, dtype=object)
        self.columns_ = keep
        self.n_features_in_ = len(self._columns())
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities, columns in :attr:`classes_` order."""
        return self.model_.predict_proba(_frame(X, self._columns())[self.columns_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class SeasonDateEstimator(RegressorMixin, BaseEstimator):
    """Sowing or harvest day of year from the NDVI curve (module notes).

    Parameters
    ----------
    event : {"sowing", "harvest"}
        ``sowing`` uses ``greenup_doy`` (sowing = green-up - lag), ``harvest`` uses
        ``senescence_doy`` (harvest = senescence + lag).
    """

    _COLUMN = {"sowing": "greenup_doy", "harvest": "senescence_doy"}

    def __init__(self, event: str = "sowing"):
        self.event = event

    def _x(self, X: pd.DataFrame) -> np.ndarray:
        if self.event not in self._COLUMN:
            raise ModelInputError(f"event {self.event!r}: use 'sowing' or 'harvest'")
        return _frame(X, [self._COLUMN[self.event]]).to_numpy(float)[:, 0]

    def fit(self, X: pd.DataFrame, y: Sequence[float]) -> SeasonDateEstimator:
        """Learn the lag [d]: the median of (logged day of year - NDVI day of year)."""
        x = self._x(X)
        yy = np.asarray(y, dtype=float)
        ok = ~np.isnan(x) & ~np.isnan(yy)
        if not ok.any():
            raise ModelInputError(
                f"no plot-season has both a logged {self.event} date and an NDVI curve to fit on"
            )
        self.lag_ = float(np.median(yy[ok] - x[ok]))
        self.n_features_in_ = 1
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Estimated day of year (NaN where the NDVI curve gives none)."""
        return self._x(X) + self.lag_


class GreenCoverDetector(ClassifierMixin, BaseEstimator):
    """Green cover outside the main season from ``offseason_ndvi_max`` (module notes).

    Parameters
    ----------
    threshold : float
        Off-season NDVI above which there is green cover [1] (:data:`GREEN_COVER_NDVI`); ``fit``
        with both classes present moves it to the midpoint between the classes' medians.
    scale : float
        Width of the logistic that turns the NDVI margin into a probability [1].
    """

    def __init__(self, threshold: float = GREEN_COVER_NDVI, scale: float = 0.05):
        self.threshold = threshold
        self.scale = scale

    def fit(self, X: pd.DataFrame, y: Sequence[object] | None = None) -> GreenCoverDetector:
        """Keep the threshold, or refit it from labels (``cover`` / ``none``)."""
        x = _frame(X, ["offseason_ndvi_max"]).to_numpy(float)[:, 0]
        self.threshold_ = float(self.threshold)
        if y is not None:
            yy = np.asarray(y, dtype=object).astype(str)
            a, b = x[(yy == "cover") & ~np.isnan(x)], x[(yy == "none") & ~np.isnan(x)]
            if a.size and b.size:
                self.threshold_ = float((np.median(a) + np.median(b)) / 2.0)
        self.classes_ = np.array(["cover", "none"], dtype=object)
        self.n_features_in_ = 1
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of ``cover`` and ``none`` (0.5 each where no off-season observation)."""
        x = _frame(X, ["offseason_ndvi_max"]).to_numpy(float)[:, 0]
        p = 1.0 / (1.0 + np.exp(-(x - self.threshold_) / self.scale))
        p = np.where(np.isnan(p), 0.5, p)
        return np.column_stack([p, 1.0 - p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``cover`` or ``none``."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
