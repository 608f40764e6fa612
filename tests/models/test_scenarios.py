"""The baseline/project model chain (models/scenarios.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from models.scenarios import baseline_activities, climatology, run_scenarios


def _weather(years=range(2018, 2026)) -> xr.Dataset:
    # Lishu 1991-2020 daily-mean temperature normals (shared/domain/lishu.md section 2.1) and the
    # placeholder precipitation / pan evaporation of china_sample_context.md section 4.
    tmp = [-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8]
    rain = [4, 6, 12, 25, 55, 90, 150, 130, 55, 28, 12, 6]
    pan = [7, 13, 40, 107, 160, 173, 167, 147, 107, 67, 27, 9]
    n = len(list(years))
    months = pd.date_range(f"{min(years)}-01-01", periods=12 * n, freq="MS")
    return xr.Dataset(
        {
            "tmp": ("month", np.tile(tmp, n).astype(float), {"units": "degC"}),
            "rain": ("month", np.tile(rain, n).astype(float), {"units": "mm"}),
            "evap": ("month", np.tile(pan, n).astype(float), {"units": "mm"}),
        },
        coords={"month": months},
    )


def _season(plot, year, tillage, residue, fraction=None, yield_t=10.0):
    rows = [
        dict(plot_id=plot, date=f"{year}-04-20", activity="tillage", method=tillage),
        dict(plot_id=plot, date=f"{year}-04-25", activity="sowing", crop="maize"),
        dict(plot_id=plot, date=f"{year}-09-30", activity="harvest", crop="maize", **{"yield": yield_t}),
        dict(
            plot_id=plot, date=f"{year}-10-05", activity="residue", method=residue, residue_fraction=fraction
        ),
    ]
    return rows


def _activities(adopt: bool) -> pd.DataFrame:
    rows = []
    for y in (2021, 2022, 2023):
        rows += _season("A", y, "plough", "removed") + _season("B", y, "plough", "removed")
    for y in (2024, 2025):
        rows += _season(
            "A",
            y,
            "no_till" if adopt else "plough",
            "mulched" if adopt else "removed",
            1.0 if adopt else None,
        )
        rows += _season("B", y, "plough", "removed")
    df = pd.DataFrame(rows)
    df["date"] = pd.to_datetime(df["date"])
    return df


def _soil():
    return xr.Dataset(
        {"clay": ("plot", [30.0, 30.0]), "soc_initial": ("plot", [45.0, 38.0])}, coords={"plot": ["A", "B"]}
    )


def test_baseline_activities_undo_the_practice_change_only_in_the_project_period():
    acts = _activities(adopt=True)
    base = baseline_activities(acts, "2024-01-01")
    proj = base[base["date"] >= "2024-01-01"]
    assert set(proj.loc[proj["activity"] == "tillage", "method"]) == {"plough"}
    assert set(proj.loc[proj["activity"] == "residue", "method"]) == {"removed"}
    assert proj.loc[proj["activity"] == "residue", "residue_fraction"].isna().all()
    # yields and dates are kept; the baseline period is untouched
    pd.testing.assert_series_equal(base["yield"], acts["yield"])
    before = acts["date"] < "2024-01-01"
    pd.testing.assert_frame_equal(base[before], acts[before])


def test_climatology_is_the_calendar_month_mean():
    w = _weather()
    w["tmp"][0] = -23.6  # January 2018 10 degC colder: the Jan mean over 8 years drops by 10/8
    clim = climatology(w)
    assert clim.sizes["month"] == 12
    assert float(clim["tmp"][0]) == pytest.approx(-13.6 - 10 / 8, abs=1e-12)
    assert clim["tmp"].attrs["units"] == "degC"


def test_scenarios_start_at_the_measured_soc_and_only_the_adopting_plot_gains():
    res = run_scenarios(
        _activities(adopt=True),
        _weather(),
        _soil(),
        start="2024-01",
        end="2025-12",
        project_start="2024-01-01",
        spinup_start="2021-01",
        spinup_end="2023-12",
    )
    # The inverse spin-up puts the equilibrium exactly at the measured stock.
    np.testing.assert_allclose(res.initial["SOC"].values, [45.0, 38.0], atol=1e-6)
    # Plot B never changes practice: project and baseline runs are the same model on the same inputs.
    assert float(res.delta_soc.sel(plot="B")) == 0.0
    # Plot A retains all straw of two 10 t/ha harvests: 2 x 3.654 t C ha-1 above-ground residue C
    # (IPCC 2019 Eq. 11.6/11.7, Table 11.1a, hand value asserted in test_inputs.py). Part of it has
    # decomposed by the end of 2025, so the gain is positive and below the added carbon.
    gain = float(res.delta_soc.sel(plot="A"))
    assert 0.0 < gain < 2 * 3.654
    assert res.delta_soc.attrs["units"] == "t C ha-1"
    for var in ("SOC", "DPM", "HUM"):
        assert res.project[var].attrs["units"] == "t C ha-1"


def test_no_practice_change_gives_no_credit():
    res = run_scenarios(
        _activities(adopt=False),
        _weather(),
        _soil(),
        start="2024-01",
        end="2025-12",
        project_start="2024-01-01",
    )
    np.testing.assert_array_equal(res.delta_soc.values, [0.0, 0.0])


def test_monte_carlo_draws_scale_the_gain_exactly_with_the_carbon_input():
    # From a fixed initial state RothC is linear in its inputs, and project and baseline differ
    # only in the carbon input, so the attributable gain is linear in a shared c_inp factor:
    # a draw with factor 0.5 must give exactly half the deterministic gain, 2.0 twice it. The spin-up
    # is refitted to the measured SOC in every draw, so the factor does not move the start.
    factor = xr.DataArray([0.5, 1.0, 2.0], dims="draw", attrs={"units": "1"})
    draws = xr.Dataset({"c_inp_factor": factor})
    kw = dict(start="2024-01", end="2025-12", project_start="2024-01-01")
    det = run_scenarios(_activities(adopt=True), _weather(), _soil(), **kw)
    mc = run_scenarios(_activities(adopt=True), _weather(), _soil(), draws=draws, **kw)
    assert mc.delta_soc.dims == ("draw", "plot")
    expected = np.outer([0.5, 1.0, 2.0], det.delta_soc.values)
    np.testing.assert_allclose(mc.delta_soc.values, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mc.initial["SOC"].values, [[45.0, 38.0]] * 3, atol=1e-6)


def test_monte_carlo_initial_soc_draws_start_each_draw_at_its_own_stock():
    soc = xr.DataArray([[40.0, 30.0], [50.0, 42.0]], dims=("draw", "plot"), coords={"plot": ["A", "B"]})
    mc = run_scenarios(
        _activities(adopt=True),
        _weather(),
        _soil(),
        start="2024-01",
        end="2025-12",
        project_start="2024-01-01",
        draws=xr.Dataset({"soc_initial": soc, "c_inp_factor": xr.DataArray([1.0, 1.0], dims="draw")}),
    )
    np.testing.assert_allclose(mc.initial["SOC"].values, soc.values, atol=1e-6)
    assert (mc.delta_soc.sel(plot="B") == 0).all()
