"""Monte Carlo draws, summaries and the correlation of shared parameters (analytic checks)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from models.errors import ModelInputError
from models.montecarlo import (
    Z95,
    ParameterSpec,
    apply_draws,
    draw_parameters,
    run_monte_carlo,
    summarize,
    summarize_total,
    weather_noise,
)
from models.rothc import run_rothc


def test_draws_are_seeded_and_match_the_95pct_range():
    specs = {
        "f_sym": (1.0, 0.9, 1.1),  # symmetric -> normal, sd = 0.2 / (2 x 1.96) = 0.0510
        "f_skew": (1.0, 0.5, 1.6),  # skewed -> lognormal with 2.5/97.5 % at 0.5 / 1.6
        "u": {"mean": 0.5, "lower": 0.0, "upper": 1.0, "kind": "uniform"},
    }
    a = draw_parameters(specs, 20000, random_state=7)
    b = draw_parameters(specs, 20000, random_state=7)
    xr.testing.assert_identical(a, b)
    assert a.f_sym.attrs["distribution"] == "normal" and a.f_skew.attrs["distribution"] == "lognormal"
    assert float(a.f_sym.std()) == pytest.approx(0.2 / (2 * Z95), rel=0.03)
    q = np.quantile(a.f_skew.values, [0.025, 0.975])
    np.testing.assert_allclose(q, [0.5, 1.6], rtol=0.03)
    assert float(a.f_skew.median()) == pytest.approx(np.sqrt(0.5 * 1.6), rel=0.02)
    assert 0.0 <= float(a.u.min()) and float(a.u.max()) <= 1.0
    tn = ParameterSpec(0.1, 0.0, 0.5, kind="truncnorm").sample(np.random.default_rng(1), (5000,))
    assert tn.min() >= 0.0
    with pytest.raises(ModelInputError, match="lower <= mean <= upper"):
        draw_parameters({"x": (1.0, 2.0, 3.0)}, 10)


def test_shared_vs_independent_sum_linear_case_analytic():
    """Y = sum_p c_p f_p: shared f -> sd(Y) = s sum c_p ; independent -> s sqrt(sum c_p^2)."""
    plots = np.arange(10)
    c = xr.DataArray(
        np.linspace(1.0, 10.0, 10), dims="plot", coords={"plot": plots}, attrs={"units": "t C ha-1"}
    )
    s = 0.1 / Z95  # from the 95 % range (0.9, 1.1)
    n = 40000
    shared = draw_parameters({"f": (1.0, 0.9, 1.1)}, n, plots=plots, random_state=3)
    indep = draw_parameters(
        {"f": ParameterSpec(1.0, 0.9, 1.1, per_plot=True)}, n, plots=plots, random_state=3
    )
    tot_sh = summarize_total((c * shared.f).assign_attrs(units="t C ha-1"))
    tot_in = summarize_total((c * indep.f).assign_attrs(units="t C ha-1"))
    assert float(tot_sh.sd) == pytest.approx(s * float(c.sum()), rel=0.02)  # 0.0510 x 55 = 2.806
    assert float(tot_in.sd) == pytest.approx(
        s * float(np.sqrt((c**2).sum())), rel=0.02
    )  # 0.0510 x 19.62 = 1.001
    assert float(tot_sh["mean"]) == pytest.approx(55.0, rel=1e-3)
    area = xr.DataArray(np.full(10, 0.5), dims="plot", attrs={"units": "ha"})
    w = summarize_total((c * shared.f).assign_attrs(units="t C ha-1"), weights=area)
    assert w.p50.attrs["units"] == "t C" and float(w["mean"]) == pytest.approx(27.5, rel=1e-3)


def _inputs(n_plots: int, n_months: int = 36) -> xr.Dataset:
    tmp = [3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1]
    rain = [52.2, 42.9, 35.2, 52.0, 64.9, 46.3, 63.5, 60.6, 58.8, 63.4, 72.5, 60.9]
    evap = [6.6, 17.3, 40.7, 70.5, 103.5, 117.3, 130.1, 106.9, 61.9, 29.5, 8.8, 3.9]
    r = n_months // 12
    return xr.Dataset(
        {
            "tmp": ("month", np.tile(tmp, r)),
            "rain": ("month", np.tile(rain, r)),
            "evap": ("month", np.tile(evap, r)),
            "pc": ((), 1.0),
            "dpm_rpm": ((), 1.44),
            "c_inp": ("month", np.tile([0, 0, 0, 0.3, 0.6, 0.9, 1.2, 0.2, 0, 0, 0, 0], r) * 1.0),
            "fym": ((), 0.0),
            "modern": ((), 100.0),
            "clay": ("plot", np.linspace(10, 40, n_plots)),
            "depth": ((), 23.0),
            "iom": ("plot", np.full(n_plots, 3.0)),
        },
        coords={"plot": np.arange(n_plots), "month": np.arange(n_months)},
    )


def test_rothc_monte_carlo_one_call_shared_spread_is_larger():
    ds = _inputs(6)
    n = 64

    def model(x):
        return run_rothc(x, variables=["SOC"])

    def total_sd(per_plot: bool) -> float:
        spec = ParameterSpec(1.0, 0.8, 1.2, per_plot=per_plot)
        draws = draw_parameters(
            {"c_inp_factor": spec, "clay": (25.0, 24.0, 26.0)}, n, plots=ds["plot"].values, random_state=11
        )
        draws = xr.merge(
            [draws, weather_noise(n, ds["month"].values, tmp_sd=0.5, rain_cv=0.1, random_state=12)]
        )
        res = run_monte_carlo(model, ds, draws)
        assert res.SOC.dims == ("draw", "plot", "month") and res.SOC.attrs["units"] == "t C ha-1"
        per_plot_summary = summarize(res.SOC.isel(month=-1))
        assert set(per_plot_summary.data_vars) == {"mean", "sd", "p2_5", "p50", "p97_5"}
        assert (per_plot_summary.p2_5 <= per_plot_summary.p50).all() and per_plot_summary.sd.attrs["units"]
        return float(summarize_total(res.SOC.isel(month=-1)).sd)

    sd_shared, sd_indep = total_sd(False), total_sd(True)
    # 6 plots: perfectly correlated input factor -> about sqrt(6) = 2.4 times the independent spread
    assert sd_shared > 1.5 * sd_indep


def test_apply_draws_keeps_untouched_variables_small():
    ds = _inputs(3)
    draws = draw_parameters({"c_inp_factor": (1.0, 0.9, 1.1), "other": (2.0, 1.0, 3.0)}, 5, random_state=1)
    out = apply_draws(ds, draws)
    assert out.c_inp.dims == ("month", "draw") or set(out.c_inp.dims) == {"month", "draw"}
    assert out.tmp.dims == ("month",) and "other" in out
    np.testing.assert_allclose(out.c_inp.isel(draw=2).values, ds.c_inp.values * float(draws.c_inp_factor[2]))
