"""Credit accounting on a three-plot project computed by hand, and the uncertainty deduction on
the VCS worked numbers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from methodology.accounting import AccountingRules, account, by_farmer, soc_removals, uncertainty_deduction

PLOTS = ["A", "B", "C"]
RULES = AccountingRules(leakage_reason="no straw was sold or burned before the project (surveyed)")


def _project(spread: float = 0.0, n_draws: int = 4000):
    rng = np.random.default_rng(1)
    base = np.array([0.3, 0.2, -0.1])  # t C ha-1 in vintage 2024
    v = base[None, :, None] + spread * rng.standard_normal((n_draws, 1, 1))  # shared error
    vint = xr.DataArray(
        v, dims=("draw", "plot", "year"), coords={"draw": np.arange(n_draws), "plot": PLOTS, "year": [2024]},
        attrs={"units": "t C ha-1"},
    )  # fmt: skip
    area = xr.DataArray([1.0, 2.0, 0.5], dims="plot", coords={"plot": PLOTS}, attrs={"units": "ha"})
    emis = xr.DataArray(
        [[0.05], [0.02], [-0.01]], dims=("plot", "year"), coords={"plot": PLOTS, "year": [2024]}
    )
    return soc_removals(vint, area), emis


def test_three_plot_project_by_hand():
    removals, emis = _project()
    per_plot, project = account(removals, emis, None, RULES)
    # removals: (0.3 x 1 + 0.2 x 2 - 0.1 x 0.5) t C x 44/12 = 0.65 x 3.66667 = 2.38333 t CO2e
    v = project["vintages"][2024]
    assert v["removals"]["mean"] == pytest.approx(2.38, abs=0.005)
    # no spread between draws: U90 = 0 <= 10 %, no deduction
    assert v["u90"] == 0.0 and v["uncertainty_deduction"] == 0.0
    # buffer 12 % of 2.38333 = 0.28600; emissions 0.05 + 0.02 - 0.01 = 0.06; leakage 0
    assert v["buffer"] == pytest.approx(0.286, abs=0.001)
    assert v["emissions"] == pytest.approx(0.06) and v["leakage"] == 0.0
    # net = 2.38333 - 0.28600 - 0.06 = 2.03733
    assert v["net"] == pytest.approx(2.0373, abs=0.001)
    assert project["credited_t_co2e"] == pytest.approx(2.0373, abs=0.001) and not project["excluded"]
    net = per_plot["net"].sel(year=2024)
    # per plot: A removes 1.1, B 1.46667, C -0.18333 t CO2e; the buffer 0.286 goes to the gainers
    # pro rata: A 0.286 x 1.1 / 2.56667 = 0.12257, B 0.16343, C 0 (a losing plot carries none)
    assert per_plot["buffer"].sel(year=2024).values.tolist() == pytest.approx(
        [0.12257, 0.16343, 0.0], abs=1e-4
    )
    # A 1.1 - 0.12257 - 0.05 = 0.92743; B 1.46667 - 0.16343 - 0.02 = 1.28324; C -0.18333 + 0.01 = -0.17333
    assert net.values.tolist() == pytest.approx([0.92743, 1.28324, -0.17333], abs=1e-4)
    assert float(net.sum()) == pytest.approx(v["net"], abs=0.01)  # plots add up to the project
    assert per_plot["net"].attrs["units"] == "t CO2e"
    farmers = by_farmer(per_plot, {"A": "F1", "B": "F1", "C": "F2"}, share=0.5)
    # F1: 0.92743 + 1.28324 = 2.21067, half of it 1.10533; F2: -0.17333 (a loss is reported)
    assert farmers["net_t_co2e"].tolist() == pytest.approx([2.21067, -0.17333], abs=1e-4)
    assert farmers["farmer_share_t_co2e"].tolist() == pytest.approx([1.10533, -0.08667], abs=1e-4)


def test_deduction_from_the_draws_of_the_project_sum():
    # a shared error of sd 0.1 t C ha-1 on every plot: the project's sd is 0.1 x 3.5 ha x 44/12 =
    # 1.28333 t CO2e; U90 = 1.6449 x 1.28333 / 2.38333 = 0.8857; deduction 0.8857 / 1.6449 x 0.4307
    # = 0.2319 of the estimate
    removals, emis = _project(spread=0.1)
    _, project = account(removals, emis, None, RULES)
    v = project["vintages"][2024]
    assert v["u90"] == pytest.approx(0.886, abs=0.03)
    assert v["deduction_share"] == pytest.approx(0.232, abs=0.01)
    assert v["uncertainty_deduction"] == pytest.approx(0.232 * 2.383, abs=0.03)
    assert v["net_interval"]["p5"] < v["net"] < v["net_interval"]["p95"]
    # summing the plots' own percentiles would ignore that the error is shared; here it is the same
    # error, so the sum of plot p5s equals the project p5 only because all plots move together


def test_vcs_worked_example_and_exclusion():
    # VCS Methodology Requirements v5.0 section 2.4: U = 32.9 % -> 8.6 % -> 100,000 t becomes 91,400 t
    draws = 100_000 + 32_900 / 1.6449 * np.random.default_rng(3).standard_normal(400_000)
    d = uncertainty_deduction(draws, AccountingRules())
    assert d["deduction"] == pytest.approx(0.086, abs=0.001)
    assert 100_000 * (1 - d["deduction"]) == pytest.approx(91_400, abs=150)
    # U <= 10 %: no deduction; U > 100 %: excluded
    small = uncertainty_deduction(
        100 + 5 / 1.6449 * np.random.default_rng(4).standard_normal(10_000), AccountingRules()
    )
    assert small["deduction"] == 0.0 and not small["excluded"]
    wide = uncertainty_deduction(
        100 + 150 / 1.6449 * np.random.default_rng(5).standard_normal(10_000), AccountingRules()
    )
    assert wide["excluded"]
    # VM0042 Eq. 74: sd / mean x 0.4307 = 20 / 100 x 0.4307 = 0.0861
    eq74 = uncertainty_deduction(
        100 + 20 * np.random.default_rng(6).standard_normal(200_000), AccountingRules("vm0042_eq74")
    )
    assert eq74["deduction"] == pytest.approx(0.0861, abs=0.001)


def test_a_net_loss_is_reported_and_the_deduction_enlarges_it():
    removals, emis = _project(spread=0.02)
    removals = -removals
    _, project = account(removals, None, None, RULES)
    v = project["vintages"][2024]
    assert v["removals"]["mean"] < 0 and v["net"] < v["removals"]["mean"]  # never clipped, made larger
    assert v["buffer"] == 0.0


def test_zero_leakage_needs_its_reason_and_rules_are_checked():
    removals, emis = _project()
    with pytest.raises(Exception, match="needs its reason"):
        account(removals, emis, None, AccountingRules())
    with pytest.raises(Exception, match="uncertainty rule"):
        AccountingRules(uncertainty="guess")


def test_an_early_vintage_over_100_percent_takes_the_periods_deduction():
    # vintage 2024: mean 1 t CO2e, sd 2 (U90 = 1.6449 x 2 / 1 = 329 %); vintage 2025: mean 20, sd 2
    # (U90 = 16.4 %, deduction 0.164 / 1.6449 x 0.4307 = 0.043); the period: mean 21, sd 2 x sqrt(2) = 2.83 -> U90 = 1.6449 x 2.83 / 21 = 22 %,
    # deduction 0.22 / 1.6449 x 0.4307 = 0.058, applied to 2024 instead of excluding it
    rng = np.random.default_rng(8)
    n = 20_000
    v = np.stack([1.0 + 2.0 * rng.standard_normal(n), 20.0 + 2.0 * rng.standard_normal(n)], axis=1)[
        :, None, :
    ]
    removals = xr.DataArray(
        v, dims=("draw", "plot", "year"), coords={"draw": np.arange(n), "plot": ["A"], "year": [2024, 2025]},
        attrs={"units": "t CO2e"},
    )  # fmt: skip
    _, project = account(removals, None, None, RULES)
    v24, v25 = project["vintages"][2024], project["vintages"][2025]
    assert v24["u90"] > 1.0 and v24["deduction_assessed_over"] == "period"
    assert v24["deduction_share"] == pytest.approx(0.058, abs=0.004)
    assert v25["deduction_assessed_over"] == "vintage" and v25["deduction_share"] == pytest.approx(
        0.043, abs=0.003
    )
    assert not project["excluded"] and project["credited_t_co2e"] > 0
