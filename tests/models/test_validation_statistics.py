"""Comparison statistics and rates against hand calculations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.validation.rates import prediction_error, to_rates, validated_range
from models.validation.statistics import statistics, summarize


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": ["A", "A", "B"],
            "kind": ["difference"] * 3,
            "category": ["tillage", "tillage", "residue"],
            "observed": [2.0, -1.0, 0.5],
            "modelled": [1.0, 0.0, 2.5],
            "lower": [0.0, -0.5, 2.0],
            "upper": [2.5, 0.5, 3.0],
            "median": [1.0, 0.0, 2.5],
            "sd_observed": [1.0, 2.0, 2.0],
            "years": [10, 10, 4],
        }
    )


def test_statistics_by_hand():
    # errors (modelled - observed): -1, +1, +2
    # bias = (-1 + 1 + 2) / 3 = 0.6667;  RMSE = sqrt((1 + 1 + 4) / 3) = sqrt(2) = 1.4142
    # inside [lower, upper]: 2.0 in [0, 2.5] yes; -1.0 in [-0.5, 0.5] no; 0.5 in [2, 3] no -> 1/3
    # PMU = sqrt((1 + 4 + 4) / 3) = sqrt(3) = 1.7321 >= |bias| -> bias test passes
    s = statistics(_rows())
    assert s["n"] == 3 and s["n_sites"] == 2
    assert s["bias"] == pytest.approx(2.0 / 3.0)
    assert s["rmse"] == pytest.approx(np.sqrt(2.0))
    assert s["coverage"] == pytest.approx(1.0 / 3.0)
    assert s["pmu"] == pytest.approx(np.sqrt(3.0))
    assert s["vmd0053_bias_pass"] is True
    assert s["vmd0053_coverage_pass"] is False


def test_summarize_per_category_and_overall():
    t = summarize(_rows()).set_index("category")
    assert t.loc["tillage", "n"] == 2 and t.loc["tillage", "bias"] == pytest.approx(0.0)  # (-1 + 1) / 2
    assert t.loc["residue", "rmse"] == pytest.approx(2.0)
    assert t.loc["overall", "n"] == 3


def test_rates_and_prediction_error_by_hand():
    # only the 10-year rows stay (>= 5 years): observed 0.2, -0.1; modelled 0.1, 0.0 [t C/ha/yr]
    r = to_rates(_rows())
    assert list(r["observed"]) == pytest.approx([0.2, -0.1])
    assert list(r["modelled"]) == pytest.approx([0.1, 0.0])
    # residuals -0.1, +0.1: sd (ddof 1) = sqrt((0.01 + 0.01) / 1) = 0.1414, bias 0
    pe = prediction_error(r)
    assert pe["pooled"]["sd"] == pytest.approx(np.sqrt(0.02))
    assert pe["by_category"]["tillage"]["bias"] == pytest.approx(0.0)
    # 5-95 % of the observed rates -0.1, 0.2: -0.1 + 0.05 x 0.3 = -0.085, -0.1 + 0.95 x 0.3 = 0.185
    assert validated_range(r)["tillage"]["observed_range"] == pytest.approx((-0.085, 0.185))
