"""The compiled Monte Carlo of both scenarios against the model chain it fuses (xarray path).

The reference is :func:`models.scenarios.run_scenarios` with the same draws: spin-up, surface
pool, tillage modifier and RothC each over the whole (draw, plot, month) array. Both compute the
same equations in the same order, so they agree to rounding (1e-9 t C ha-1 asserted; 2e-14 seen).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from models import calibration
from models.chain import ScenarioWarning, SoilCarbonParameters
from models.errors import ModelInputError
from models.scenario_montecarlo import monte_carlo_vintages
from models.scenarios import ScenarioManagement, monte_carlo_scenarios, run_scenarios, scenario_management
from models.uncertainty import scenario_draws
from tests.models.test_scenarios import LOOKBACK, _frame, _season, _weather

PARAMS = SoilCarbonParameters(**calibration.ADOPTED)
RUN = dict(start="2024-01", end="2026-12", project_start="2024-01-01", baseline_years=LOOKBACK)
PLOTS = ["A", "B", "M", "R"]


def _manure(plot, year, rate=30.0, c=10.0):
    return [dict(plot_id=plot, date=f"{year}-04-10", activity="manure", manure_rate=rate, manure_c=c)]


def _activities() -> pd.DataFrame:
    """A: plough + removed -> no-till + mulch. B: plough + removed throughout (unchanged).
    M: 30 t ha-1 of manure at 10 % C every year and a switch to straw mulch, with a SOC low enough
    that some draws fall below the manure-only equilibrium. R: rotary + removed -> reduced + half
    the straw retained."""
    rows = []
    for y in LOOKBACK:
        rows += _season("A", y, "plough", "removed") + _season("B", y, "plough", "removed")
        rows += _season("M", y, "rotary", "removed") + _manure("M", y) + _season("R", y, "rotary", "removed")
    for y in (2024, 2025, 2026):
        rows += _season("A", y, "no_till", "mulched", 1.0) + _season("B", y, "plough", "removed")
        rows += _season("M", y, "rotary", "mulched", 1.0) + _manure("M", y)
        rows += _season("R", y, "reduced", "retained", 0.5)
    return _frame(rows)


def _soil(soc=(45.0, 38.0, 34.0, 52.0)) -> xr.Dataset:
    return xr.Dataset(
        {"clay": ("plot", [30.0] * 4), "soc_initial": ("plot", list(soc))}, coords={"plot": PLOTS}
    )


def _management() -> ScenarioManagement:
    mg = scenario_management(_activities(), PLOTS, **{k: RUN[k] for k in ("start", "end", "project_start")},
                             baseline_years=LOOKBACK)  # fmt: skip
    # a cover crop on A in the project's October-November (plant cover differs between scenarios)
    proj = mg.project.copy()
    months = pd.DatetimeIndex(proj["month"].values)
    cover = xr.DataArray(
        (months.month >= 10) & (months.month <= 11), dims="month", coords={"month": proj["month"]}
    )
    proj["pc"] = xr.where((proj["plot"] == "A") & cover, 1.0, proj["pc"]).transpose(*mg.project["pc"].dims)
    return ScenarioManagement(proj, mg.baseline, mg.spinup, mg.baseline_defaulted)


def _reference(mg, soil, draws):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        res = run_scenarios(_activities(), _weather(), soil, draws=draws, management=mg, params=PARAMS,
                            variables=("SOC",), **RUN)  # fmt: skip
    plots = sorted({p for w in caught if isinstance(w.message, ScenarioWarning) for p in w.message.plots})
    return (
        res.vintages.transpose("draw", "plot", "year"),
        res.litter_points.transpose("draw", "plot", "year"),
        plots,
    )


def test_fused_monte_carlo_equals_the_model_chain():
    mg, soil = _management(), _soil()
    draws = scenario_draws(soil["soc_initial"], 150, seed=5, model_error=True)
    ref_v, ref_l, ref_warned = _reference(mg, soil, draws.drop_vars("model_error"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        v, litter = monte_carlo_vintages(mg, _weather(), soil, draws, project_start=RUN["project_start"],
                                         depth_cm=30.0, params=PARAMS)  # fmt: skip
    warned = sorted({p for w in caught if isinstance(w.message, ScenarioWarning) for p in w.message.plots})
    assert v.dims == ("draw", "plot", "year") and v["year"].values.tolist() == [2024, 2025, 2026]
    assert v.attrs["units"] == "t C ha-1" and litter.attrs["units"] == "t C ha-1"
    # the case exercises what it claims: M's spin-up drops its manure in some draws, A and M gain
    assert ref_warned == ["M"] and warned == ["M"]
    assert float(ref_v.sel(plot="A").sum("year").mean()) > 0.3
    assert float(ref_v.sel(plot="M").sum("year").mean()) > 0.3
    assert float(abs(ref_v.sel(plot="R")).max()) > 0.01
    np.testing.assert_allclose(v.values, ref_v.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(litter.values, ref_l.values, rtol=0, atol=1e-9)
    # the unchanged plot: exactly zero in every draw, as identical runs give
    assert not np.any(v.sel(plot="B").values) and not np.any(litter.sel(plot="B").values)


@pytest.mark.filterwarnings("ignore::models.chain.ScenarioWarning")  # M: see the first test
def test_monte_carlo_scenarios_takes_the_fused_path_for_project_draws():
    mg, soil = _management(), _soil()
    draws = scenario_draws(soil["soc_initial"], 20, seed=2, model_error=True)
    v, _ = monte_carlo_scenarios(_activities(), _weather(), soil, draws=draws, management=mg, params=PARAMS,
                                 depth_cm=30.0, **RUN)  # fmt: skip
    ref_v, _, _ = _reference(mg, soil, draws.drop_vars("model_error"))
    np.testing.assert_allclose(v.values, ref_v.values, rtol=0, atol=1e-9)


@pytest.mark.filterwarnings("ignore::models.chain.ScenarioWarning")  # M: see the first test
def test_fused_monte_carlo_refuses_draws_it_does_not_apply():
    mg, soil = _management(), _soil()
    draws = scenario_draws(soil["soc_initial"], 3, seed=2).assign(evap_factor=("draw", [1.0, 1.1, 0.9]))
    with pytest.raises(ModelInputError, match="evap_factor"):
        monte_carlo_vintages(mg, _weather(), soil, draws, project_start=RUN["project_start"], depth_cm=30.0)
    # ... which monte_carlo_scenarios then runs through the model chain instead
    v, _ = monte_carlo_scenarios(_activities(), _weather(), soil, draws=draws, management=mg, params=PARAMS,
                                 depth_cm=30.0, **RUN)  # fmt: skip
    assert v.sizes["draw"] == 3 and float(v.sel(plot="A").sum("year").mean()) > 0.3
