"""Estimates from Monte Carlo draws (models/estimate.py) against analytic cases.

The analytic case: y = a + b x with x ~ Normal(mu, sd) is Normal(a + b mu, |b| sd), so its mean is
a + b mu and its 90 % interval a + b mu -/+ z |b| sd with z = z_0.95 = 1.6448536 (the standard
normal 95th percentile, e.g. Abramowitz & Stegun Table 26.5: 1.644854). With n = 200,000 seeded draws
the sampling standard errors are
  mean:       |b| sd / sqrt(n)                                    = 2.24e-3 x |b| sd
  quantile p: sqrt(p (1 - p) / n) / phi(z_p) x |b| sd,  phi(1.6449) = 0.10314
              -> sqrt(0.0475 / 200000) / 0.10314                  = 4.73e-3 x |b| sd
  sd:         sd / sqrt(2 (n - 1))                                = 1.58e-3 x |b| sd
and every check below allows 5 standard errors (a seeded draw: the test is deterministic; 5 SE
keeps it valid for any seed but one in ~1.7 million).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from models.estimate import INTERVAL, add_model_error, interval, plot_estimates, project_estimates

N = 200_000
Z95 = 1.6448536
SE_MEAN = 1.0 / np.sqrt(N)
SE_Q = np.sqrt(0.05 * 0.95 / N) / 0.10313564
SE_SD = 1.0 / np.sqrt(2 * (N - 1))
C_TO_CO2 = 44.0 / 12.0  # IPCC 2006 Vol. 4 Ch. 2 Eq. 2.2: t CO2 per t C


def _vintages(values: np.ndarray, plots, years=(2024, 2025)) -> xr.DataArray:
    """(draw, plot) totals spread evenly over the years as (draw, plot, year) vintages."""
    per_year = np.repeat(values[:, :, None] / len(years), len(years), axis=2)
    return xr.DataArray(
        per_year,
        dims=("draw", "plot", "year"),
        coords={"draw": np.arange(values.shape[0]), "plot": list(plots), "year": list(years)},
        attrs={"units": "t C ha-1"},
    )


def test_interval_by_hand():
    # the 101 values 0..100: mean 50; percentiles by linear interpolation at (n - 1) p = 5, 50, 95
    # fall on values 5, 50, 95; sd (ddof 1) = sqrt(2 x sum_{k=1}^{50} k^2 / 100) = sqrt(858.5) = 29.3001706
    v = xr.DataArray(
        np.arange(101.0)[:, None] * [1.0, -2.0], dims=("draw", "plot"), attrs={"units": "t C ha-1"}
    )
    s = interval(v)
    np.testing.assert_allclose(s["mean"].values, [50.0, -100.0], rtol=1e-15)
    np.testing.assert_allclose(s["p5"].values, [5.0, -190.0], rtol=1e-15)
    np.testing.assert_allclose(s["p50"].values, [50.0, -100.0], rtol=1e-15)
    np.testing.assert_allclose(s["p95"].values, [95.0, -10.0], rtol=1e-15)
    np.testing.assert_allclose(s["sd"].values, [29.300170647967224, 58.60034129593445], rtol=1e-12)
    assert INTERVAL == (0.05, 0.95)
    assert s.attrs["n_draws"] == 101
    for var in ("mean", "sd", "p5", "p50", "p95"):
        assert s[var].attrs["units"] == "t C ha-1"
    # no units on the input: dimensionless "1"
    assert interval(v.drop_attrs())["p95"].attrs["units"] == "1"


def test_plot_estimates_of_a_linear_response():
    # x ~ N(2, 0.5); plot P: y = 0.1 + 0.3 x (mean 0.7, 90 % interval 0.7 -/+ 1.6449 x 0.15);
    # plot Q: y = 0.1 - 0.3 x (mean -0.5; a negative slope swaps the tails). Area 2.5 ha each.
    rng = np.random.default_rng(20261121)
    x = rng.normal(2.0, 0.5, N)
    a, b, mu, sd = 0.1, 0.3, 2.0, 0.5
    vint = _vintages(np.stack([a + b * x, a - b * x], axis=1), ["P", "Q"])
    area = xr.DataArray([2.5, 2.5], dims="plot", coords={"plot": ["P", "Q"]})
    est = plot_estimates(vint, area)
    s = b * sd  # sd of y: 0.15
    mean_exp = np.array([a + b * mu, a - b * mu])
    np.testing.assert_allclose(est["delta_t_c_ha_mean"].values, mean_exp, rtol=0, atol=5 * SE_MEAN * s)
    np.testing.assert_allclose(est["delta_t_c_ha_p5"].values, mean_exp - Z95 * s, rtol=0, atol=5 * SE_Q * s)
    np.testing.assert_allclose(est["delta_t_c_ha_p95"].values, mean_exp + Z95 * s, rtol=0, atol=5 * SE_Q * s)
    # t CO2e = t C/ha x ha x 44/12, the same analytic values scaled by 2.5 x 3.6667 = 9.1667
    k = 2.5 * C_TO_CO2
    np.testing.assert_allclose(est["t_co2e_mean"].values, k * mean_exp, rtol=0, atol=5 * SE_MEAN * s * k)
    np.testing.assert_allclose(
        est["t_co2e_p5"].values, k * (mean_exp - Z95 * s), rtol=0, atol=5 * SE_Q * s * k
    )
    np.testing.assert_allclose(
        est["t_co2e_p95"].values, k * (mean_exp + Z95 * s), rtol=0, atol=5 * SE_Q * s * k
    )
    assert est["delta_t_c_ha_mean"].attrs["units"] == "t C ha-1"
    assert est["t_co2e_p95"].attrs["units"] == "t CO2e"
    assert est["delta_t_c_ha_mean"].dims == ("plot",)


def _project(correlated: bool):
    # two plots of 1 ha, y = x with x ~ N(0.5, 10) t C/ha; correlated: the same x for both plots
    rng = np.random.default_rng(7)
    x1 = rng.normal(0.5, 10.0, N)
    x2 = x1 if correlated else rng.normal(0.5, 10.0, N)
    vint = _vintages(np.stack([x1, x2], axis=1), ["P", "Q"])
    return project_estimates(vint, xr.DataArray([1.0, 1.0], dims="plot", coords={"plot": ["P", "Q"]}))


def test_project_total_is_summed_inside_each_draw():
    # total = (x1 + x2) x 44/12 t CO2e: mean 1.0 x 3.6667 = 3.667; sd 2 x 10 x 3.6667 = 73.33 when
    # the plots move together, sqrt(2) x 10 x 3.6667 = 51.85 when independent: the correlated
    # interval is wider by sqrt(2) = 1.41421 (relative SE of a 5-95 % width ratio at n = 200,000:
    # each width's quantile errors give ~0.2 %, the ratio of two ~0.28 %; 5 SE = 1.4 %; project
    # values are rounded to 0.1 t, < 0.1 % here).
    corr, ind = _project(True), _project(False)
    assert corr["draws"] == ind["draws"] == N
    assert corr["units"] == "t CO2e"
    assert sorted(corr["vintages"]) == [2024, 2025]
    for res, sd_total in ((corr, 2 * 10.0 * C_TO_CO2), (ind, np.sqrt(2) * 10.0 * C_TO_CO2)):
        tot = res["total"]
        assert tot["mean"] == pytest.approx(1.0 * C_TO_CO2, abs=5 * SE_MEAN * sd_total + 0.05)
        assert tot["sd"] == pytest.approx(sd_total, abs=5 * SE_SD * sd_total + 0.05)
        assert tot["p95"] == pytest.approx(C_TO_CO2 + Z95 * sd_total, abs=5 * SE_Q * sd_total + 0.05)
        assert tot["p5"] == pytest.approx(C_TO_CO2 - Z95 * sd_total, abs=5 * SE_Q * sd_total + 0.05)
        # each vintage carries half of every draw: half the sd
        assert res["vintages"][2024]["sd"] == pytest.approx(sd_total / 2, abs=5 * SE_SD * sd_total / 2 + 0.05)
    width_corr = corr["total"]["p95"] - corr["total"]["p5"]
    width_ind = ind["total"]["p95"] - ind["total"]["p5"]
    assert width_corr / width_ind == pytest.approx(np.sqrt(2), rel=0.014)
    assert corr["total"]["sd"] / ind["total"]["sd"] == pytest.approx(np.sqrt(2), rel=0.014)


def test_add_model_error_by_hand_and_only_on_changed_plots():
    # error = z_d x sigma_p x t_y: deviates z = (1, -2, 0.5) per draw (shared by the plots),
    # sigma = 0.1 t C/ha/yr for the changed plot P and 0 for Q (identical scenarios), vintage lengths
    # t = (1, 0.5) yr. P, draw 0: 0.3 + 1 x 0.1 x 1 = 0.4, 0.2 + 1 x 0.1 x 0.5 = 0.25;
    # draw 1: 0.1 - 2 x 0.1 = -0.1, 0.4 - 2 x 0.1 x 0.5 = 0.3; draw 2: 0.2 + 0.05 = 0.25, 0.2 + 0.025 = 0.225
    v = xr.DataArray(
        np.array([[[0.3, 0.2], [0.0, 0.0]], [[0.1, 0.4], [0.0, 0.0]], [[0.2, 0.2], [0.0, 0.0]]]),
        dims=("draw", "plot", "year"),
        coords={"plot": ["P", "Q"], "year": [2024, 2025]},
        attrs={"units": "t C ha-1", "long_name": "credited soil SOC change of the vintage"},
    )
    z = xr.DataArray([1.0, -2.0, 0.5], dims="draw")
    sigma = xr.DataArray([0.1, 0.0], dims="plot", coords={"plot": ["P", "Q"]})
    years = xr.DataArray([1.0, 0.5], dims="year", coords={"year": [2024, 2025]})
    out = add_model_error(v, z, sigma, years).transpose("draw", "plot", "year")
    np.testing.assert_allclose(
        out.sel(plot="P").values, [[0.4, 0.25], [-0.1, 0.3], [0.25, 0.225]], rtol=0, atol=1e-15
    )
    # the unchanged plot stays exactly 0 in every draw (two identical runs have no model error)
    np.testing.assert_array_equal(out.sel(plot="Q").values, 0.0)
    assert out.attrs == v.attrs
    # no deviates: nothing added
    assert add_model_error(v, None, sigma, years) is v


def test_interval_skips_nan_draws_by_hand():
    # plot 0 draws 0..10 (11 values): p5 at (n - 1) 0.05 = 0.5 -> 0.5, p95 at 9.5 -> 9.5;
    # plot 1 the same with draw 10 NaN: 0..9 (10 values) p5 at 9 x 0.05 = 0.45 -> 0.45,
    # p50 at 4.5 -> 4.5, p95 at 8.55 -> 8.55 (the NaN draw is skipped, as xarray's quantile does)
    a = np.arange(11.0)
    b = a.copy()
    b[10] = np.nan
    s = interval(xr.DataArray(np.stack([a, b], axis=1), dims=("draw", "plot"), coords={"plot": ["x", "y"]}))
    np.testing.assert_allclose(s["p5"].values, [0.5, 0.45], rtol=1e-14)
    np.testing.assert_allclose(s["p50"].values, [5.0, 4.5], rtol=1e-14)
    np.testing.assert_allclose(s["p95"].values, [9.5, 8.55], rtol=1e-14)
    assert list(s["p5"]["plot"].values) == ["x", "y"]
