"""Practice verification: features on hand-made series, detectors under grouped cross-validation,
reconciliation rules on crafted cases, and the misclassification draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sklearn.metrics import cohen_kappa_score, matthews_corrcoef

from models.estimate import interval
from models.verification.credit import claim_keep_probability, misclassification_draws
from models.verification.detectors import PracticeDetector, SeasonDateEstimator, practice_class
from models.verification.evaluation import classifier_report, date_report, grouped_predictions
from models.verification.features import FEATURE_UNITS, season_features
from models.verification.reconcile import apply_decisions, date_flags, practice_flags

# ---------------------------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------------------------

DATES = pd.to_datetime(
    ["2024-03-20", "2024-04-10", "2024-05-05", "2024-05-25", "2024-06-15", "2024-07-10", "2024-08-05",
     "2024-09-01", "2024-09-20", "2024-10-20", "2024-11-10", "2025-03-25", "2025-04-15"]
)  # fmt: skip


def _series(
    ndti_autumn: float, ndti_spring_early: float, ndti_spring_late: float, cloudy: tuple[int, ...] = ()
):
    """One plot: NDVI low off season, a canopy June-September; NDTI per window as given."""
    doy = DATES.dayofyear.to_numpy()
    in_2024 = DATES.year == 2024
    ndvi = np.where(
        in_2024, 0.15 + 0.7 / (1 + np.exp(-(doy - 170) / 8)) - 0.7 / (1 + np.exp(-(doy - 255) / 6)), 0.15
    )
    ndti = np.full(len(DATES), 0.30)  # canopy
    ndti[[0, 1]] = ndti_spring_early
    ndti[[2, 3]] = ndti_spring_late
    ndti[[9, 10]] = ndti_autumn
    ndti[[11, 12]] = ndti_autumn - 0.01  # the same straw after the winter
    usable = np.ones(len(DATES), dtype=bool)
    usable[list(cloudy)] = False
    # swir16/swir22 from NDTI with swir22 = 0.2: swir16 = 0.2 (1 + ndti) / (1 - ndti)
    s22 = np.full(len(DATES), 0.2)
    s16 = s22 * (1 + ndti) / (1 - ndti)
    bsi = np.where(ndvi < 0.3, 0.05, -0.2)
    return ndvi, ndti, s16, s22, bsi, usable


def _dataset(*plots):
    names = ["ndvi", "ndti", "swir16", "swir22", "bsi", "usable"]
    data = {n: (("plot", "time"), np.array([p[k] for p in plots])) for k, n in enumerate(names)}
    return xr.Dataset(data, coords={"plot": [f"P{i}" for i in range(len(plots))], "time": DATES})


def test_season_features_on_a_hand_made_series():
    bare = _series(0.03, 0.03, 0.02)
    mulch = _series(0.18, 0.17, 0.15, cloudy=(10,))  # 10 November cloudy: one autumn observation left
    f = season_features(_dataset(bare, mulch), [2024]).set_index("plot_id")
    assert list(f.columns[1:]) == list(FEATURE_UNITS)
    assert f.loc["P0", "autumn_ndti_median"] == pytest.approx(0.03)
    assert f.loc["P1", "autumn_ndti_median"] == pytest.approx(0.18)
    assert f.loc["P0", "autumn_n"] == 2 and f.loc["P1", "autumn_n"] == 1  # the cloudy date is a gap
    assert f.loc["P1", "next_spring_ndti_min"] == pytest.approx(0.17)
    # spring pass: median of 0.17, 0.17 (early) minus 0.15 (late)
    assert f.loc["P1", "spring_ndti_drop"] == pytest.approx(0.02)
    # STI = swir16 / swir22 = (1 + NDTI) / (1 - NDTI): 1.18 / 0.82 for 0.18
    assert f.loc["P1", "autumn_sti_median"] == pytest.approx(1.18 / 0.82)
    # green-up and senescence of the logistic curve: day 170 and 255, within the revisit-limited error
    assert abs(f.loc["P0", "greenup_doy"] - 170) <= 8 and abs(f.loc["P0", "senescence_doy"] - 255) <= 8
    assert f.loc["P0", "greenup_doy"] < f.loc["P0", "senescence_doy"]
    # bare-soil observations (BSI > 0, NDVI < 0.3) counted in the autumn window
    assert f.loc["P0", "autumn_bare_n"] == 2
    # a season without next spring's images: its next-spring features are NaN with n = 0
    f25 = season_features(_dataset(bare), [2025]).iloc[0]
    assert f25["next_spring_n"] == 0 and np.isnan(f25["next_spring_ndti_min"])


# ---------------------------------------------------------------------------------------------
# detectors and evaluation
# ---------------------------------------------------------------------------------------------


def _labelled(n_villages=10, per_village=20, seed=3):
    """Feature rows whose autumn NDTI depends on the residue class, with overlap (noise sd 0.03)."""
    rng = np.random.default_rng(seed)
    n = n_villages * per_village * 2
    village = np.repeat([f"V{i}" for i in range(n_villages)], per_village * 2)
    plot = np.repeat([f"P{i}" for i in range(n // 2)], 2)
    residue = rng.choice(["mulched", "removed"], size=n, p=[0.4, 0.6])
    X = pd.DataFrame(np.nan, index=range(n), columns=list(FEATURE_UNITS))
    mean = np.where(residue == "mulched", 0.16, 0.05)
    X["autumn_ndti_median"] = mean + rng.normal(0, 0.03, n)
    X["autumn_ndti_min"] = X["autumn_ndti_median"] - 0.01
    X["autumn_n"] = 2.0
    return X, practice_class("residue", residue), village, plot


def test_detector_with_grouped_cross_validation():
    X, y, village, plot = _labelled()
    pred, proba = grouped_predictions(PracticeDetector("residue", max_iter=60), X, y, village, n_splits=5)
    rep = classifier_report(y, pred, proba, plot, n_boot=300, seed=1)
    # the classes are 0.11 apart with sd 0.03 each: the Bayes error is Phi(-0.055/0.03) ~ 3 %
    assert rep["accuracy"]["value"] > 0.9
    # kappa and MCC as scikit-learn computes them on the same predictions
    assert rep["kappa"]["value"] == pytest.approx(
        cohen_kappa_score(y.astype(str), pred.astype(str)), abs=1e-4
    )
    assert rep["mcc"]["value"] == pytest.approx(matthews_corrcoef(y.astype(str), pred.astype(str)), abs=1e-4)
    lo, hi = rep["accuracy"]["ci95"]
    assert lo < rep["accuracy"]["value"] < hi and hi - lo < 0.1
    assert sum(map(sum, rep["confusion"])) == len(y)
    assert 0 <= rep["brier"] < 0.15  # calibrated probabilities: far better than 0.5 of a coin
    # a detector sees no village of its test fold: every out-of-fold prediction came from a model
    # fitted without the plot's village (GroupKFold), checked by refitting one fold by hand
    det = PracticeDetector("residue", max_iter=60).fit(X[village != "V0"], y[village != "V0"])
    assert set(det.classes_) == {"retained", "removed"}
    assert det.predict_proba(X[village == "V0"]).shape == ((village == "V0").sum(), 2)


def test_detector_refuses_one_class_labels():
    X, y, _, _ = _labelled()
    with pytest.raises(Exception, match="one class only"):
        PracticeDetector("residue").fit(X, np.full(len(y), "removed", dtype=object))


def test_date_estimator_learns_the_lag_and_reports_the_error():
    rng = np.random.default_rng(0)
    green = rng.uniform(155, 175, 200)
    X = pd.DataFrame({"greenup_doy": green})
    sowing = green - 40 + rng.normal(0, 4, 200)  # sown 40 days before green-up, +-4 days
    est = SeasonDateEstimator("sowing").fit(X, sowing)
    assert est.lag_ == pytest.approx(-40, abs=1.0)
    rep = date_report(sowing, est.predict(X), np.arange(200) // 4, n_boot=200)
    assert rep["mae_days"]["value"] == pytest.approx(4 * np.sqrt(2 / np.pi), abs=0.6)  # E|N(0, 4)| = 3.19


# ---------------------------------------------------------------------------------------------
# reconciliation
# ---------------------------------------------------------------------------------------------


def _crafted():
    seasons = pd.DataFrame(
        {
            "plot_id": ["A", "B", "C", "D", "E"],
            "year": [2024] * 5,
            "tillage": ["no_till", "no_till", "no_till", "no_till", None],
        }
    )
    feats = pd.DataFrame({c: [1.0, 1.0, 1.0, 0.0, 1.0] for c in ("spring_early_n", "spring_late_n")})
    feats["autumn_n"] = [1.0, 1.0, 1.0, 1.0, 1.0]
    feats["next_spring_n"] = 0.0
    classes = np.array(["conservation", "tilled"], dtype=object)
    proba = np.array([[0.95, 0.05], [0.1, 0.9], [0.35, 0.65], [0.1, 0.9], [0.5, 0.5]])
    return seasons, feats, classes, proba


def test_reconciliation_rules_on_crafted_cases():
    seasons, feats, classes, proba = _crafted()
    flags, verdicts = practice_flags(seasons, feats, "tillage", proba, classes)
    status = dict(zip(verdicts["plot_id"], verdicts["status"], strict=True))
    # A agrees; B is contradicted with p 0.9 >= 0.8; C with 0.65; D has 1 clear off-season image
    assert status == {
        "A": "verified",
        "B": "critical",
        "C": "warning",
        "D": "unverifiable",
        "E": "not_logged",
    }
    by_plot = flags.set_index("plot_id")
    assert list(flags.columns) == [
        "plot_id",
        "year",
        "practice",
        "logged",
        "detected",
        "probability",
        "severity",
        "reason",
    ]
    assert by_plot.loc["B", "detected"] == "tilled" and by_plot.loc["B", "probability"] == 0.9
    assert by_plot.loc["D", "severity"] == "unverifiable" and "1 clear" in by_plot.loc["D", "reason"]
    assert set(flags["plot_id"]) == {"B", "C", "D"}  # verified and unlogged seasons raise no flag
    # no detector: every logged claim is unverifiable, not passed
    none_flags, _ = practice_flags(seasons, feats, "tillage", None, None)
    assert set(none_flags["severity"]) == {"unverifiable"} and len(none_flags) == 4


def test_critical_contradiction_is_modelled_as_detected():
    acts = pd.DataFrame(
        {
            "plot_id": ["B", "B", "B", "B"],
            "date": pd.to_datetime(["2023-10-25", "2024-04-25", "2024-04-28", "2024-10-05"]),
            "activity": ["tillage", "tillage", "sowing", "residue"],
            "method": ["plough", "no_till", None, "mulched"],
            "residue_fraction": [np.nan, np.nan, np.nan, 1.0],
        }
    )
    verdicts = pd.DataFrame(
        {"plot_id": ["B", "B"], "year": [2024, 2024], "practice": ["tillage", "residue"],
         "detected": ["tilled", "removed"], "status": ["critical", "critical"]}
    )  # fmt: skip
    out, changes = apply_decisions(acts, verdicts)
    # the plot's own tilled method (plough in 2023), and the straw as removed with no logged fraction
    assert out["method"].tolist() == ["plough", "plough", None, "removed"]
    assert np.isnan(out["residue_fraction"].iloc[3])
    assert changes[["practice", "logged", "used"]].values.tolist() == [
        ["tillage", "no_till", "plough"],
        ["residue", "mulched", "removed"],
    ]


def test_date_flags_beyond_the_tolerance():
    seasons = pd.DataFrame(
        {"plot_id": ["A", "B", "C"], "year": [2024] * 3, "sowing_doy": [120.0, 120.0, 120.0]}
    )
    feats = pd.DataFrame({"season_n": [8.0, 8.0, 2.0]})
    flags = date_flags(seasons, feats, "sowing", np.array([130.0, 165.0, 120.0]))
    assert flags["plot_id"].tolist() == ["B", "C"]
    b = flags.iloc[0]
    assert b["severity"] == "critical" and b["logged"] == "2024-04-29" and b["detected"] == "2024-06-13"
    assert flags.iloc[1]["severity"] == "unverifiable"


# ---------------------------------------------------------------------------------------------
# misclassification draw
# ---------------------------------------------------------------------------------------------


def test_misclassification_draw_lowers_the_mean_and_widens_the_interval():
    # 50 plots that switched to mulch in 2024 (removed in the look-back), each credited 1 t C/ha;
    # the imagery verified every claim with a residue precision of 0.8
    plots = [f"P{i}" for i in range(50)]
    rows = [(p, 2023, "residue", "removed", "removed", "verified") for p in plots]
    rows += [(p, 2024, "residue", "retained", "retained", "verified") for p in plots]
    verdicts = pd.DataFrame(rows, columns=["plot_id", "year", "practice", "logged", "detected", "status"])
    keep = claim_keep_probability(verdicts, {"residue": {"retained": 0.8, "removed": 0.95}})
    assert keep[verdicts["year"] == 2024].eq(0.8).all()
    draws = misclassification_draws(verdicts, keep, plots, [2024], [2023], n_draws=2000, seed=4)
    vint = xr.DataArray(np.ones((2000, 50, 1)), dims=("draw", "plot", "year"), coords=draws.coords)
    total = (vint * draws).sum(("plot", "year")).assign_attrs(units="t C ha-1")
    plain = interval(vint.sum(("plot", "year")).assign_attrs(units="t C ha-1"))
    s = interval(total)
    # each plot kept with p 0.8: the sum is Binomial(50, 0.8): mean 40, sd sqrt(50 x 0.8 x 0.2) = 2.83
    assert float(s["mean"]) == pytest.approx(40.0, abs=0.3)
    assert float(s["sd"]) == pytest.approx(np.sqrt(8.0), abs=0.2)
    assert float(s["p95"] - s["p5"]) > float(plain["p95"] - plain["p5"]) == 0.0
    # the look-back year's claim earns no credit, so it is never drawn
    assert draws.attrs["expected_keep_mean"] == pytest.approx(0.8)
