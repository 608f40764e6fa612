"""The model chain (models/chain.py): spin-up, surface residue pool, tillage modifier, RothC-26.3."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from models.chain import SoilCarbonParameters, climate_zone_of, simulate, spin_up
from models.rothc import equilibrium, fit_plant_input_to_soc, run_rothc

# Lishu 1991-2020 daily-mean temperature normals (shared/domain/lishu.md section 2.1) and the
# placeholder precipitation / pan evaporation of china_sample_context.md section 4.
TMP = [-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8]
RAIN = [4, 6, 12, 25, 55, 90, 150, 130, 55, 28, 12, 6]
PAN = [7, 13, 40, 107, 160, 173, 167, 147, 107, 67, 27, 9]
DEPTH = 30.0
PLOTS = ["A", "B"]


def _weather(y0: int = 2021, y1: int = 2025) -> xr.Dataset:
    n = y1 - y0 + 1
    months = pd.date_range(f"{y0}-01-01", periods=12 * n, freq="MS")
    return xr.Dataset(
        {
            "tmp": ("month", np.tile(TMP, n).astype(float), {"units": "degC"}),
            "rain": ("month", np.tile(RAIN, n).astype(float), {"units": "mm"}),
            "evap": ("month", np.tile(PAN, n).astype(float), {"units": "mm"}),
        },
        coords={"month": months},
    )


def _management(
    y0: int,
    y1: int,
    *,
    tillage: str = "full_till",
    surface: float = 3.0,
    roots: float = 0.3,
    burial: float = 0.95,
    fym_b: float = 0.0,
) -> xr.Dataset:
    """Two plots, a maize-like year: roots 0.3 t C/month May-Sep (covered), residue ``surface`` t C
    on the surface in October, a tillage pass burying ``burial`` of the surface in April; plot B
    also gets ``fym_b`` t C manure in November."""
    n = y1 - y0 + 1
    months = pd.date_range(f"{y0}-01-01", periods=12 * n, freq="MS")
    moy = months.month.values
    shape = (len(PLOTS), len(months))

    def full(row):
        return np.broadcast_to(row, shape).copy()

    grow = (moy >= 5) & (moy <= 9)
    fym = np.zeros(shape)
    fym[1] = np.where(moy == 11, fym_b, 0.0)
    return xr.Dataset(
        {
            "c_inp": (("plot", "month"), full(np.where(grow, roots, 0.0)), {"units": "t C ha-1 month-1"}),
            "surface_inp": (
                ("plot", "month"),
                full(np.where(moy == 10, surface, 0.0)),
                {"units": "t C ha-1 month-1"},
            ),
            "incorporation": (("plot", "month"), full(np.where(moy == 4, burial, 0.0)), {"units": "1"}),
            "fym": (("plot", "month"), fym, {"units": "t C ha-1 month-1"}),
            "pc": (("plot", "month"), full(np.where(grow, 1.0, 0.0)), {"units": "1"}),
            "dpm_rpm": (("plot", "month"), np.full(shape, 1.44), {"units": "1"}),
            "tillage": (("plot", "month"), np.full(shape, tillage)),
        },
        coords={"plot": PLOTS, "month": months},
    )


def _soil() -> xr.Dataset:
    return xr.Dataset(
        {
            "clay": ("plot", [30.0, 20.0], {"units": "%"}),
            "soc_initial": ("plot", [45.0, 38.0], {"units": "t C ha-1"}),
        },
        coords={"plot": PLOTS},
    )


PLAIN = SoilCarbonParameters(surface_pool=False, tillage_effect=False)


def test_without_surface_pool_and_tillage_effect_the_chain_is_plain_rothc():
    weather, soil = _weather(), _soil()
    spin = _management(2021, 2023, fym_b=0.5)
    run = _management(2024, 2025, fym_b=0.5)
    out = simulate(run, weather, soil, spinup=spin, depth_cm=DEPTH, params=PLAIN)

    # Plain RothC by hand: every input (roots + residue) enters the soil in its month. The spin-up
    # year is the look-back's calendar-month mean (the three years are identical, so it is one of
    # them) under the calendar-month mean weather (all years identical: the normals); its plant
    # input is scaled so that the analytic equilibrium is the measured SOC with IOM from Falloon.
    year = spin.isel(month=slice(0, 12))
    rothc_in = xr.Dataset(
        {
            "tmp": ("month", np.asarray(TMP, float)),
            "rain": ("month", np.asarray(RAIN, float)),
            "evap": ("month", np.asarray(PAN, float)),
            "c_inp": (("plot", "month"), (year["c_inp"] + year["surface_inp"]).values),
            "fym": (("plot", "month"), year["fym"].values),
            "pc": (("plot", "month"), year["pc"].values),
            "dpm_rpm": (("plot", "month"), year["dpm_rpm"].values),
            "modern": 100.0,
            "clay": ("plot", soil["clay"].values),
            "depth": DEPTH,
            "iom": ("plot", [0.0, 0.0]),
        },
        coords={"month": np.arange(12), "plot": PLOTS},
    )
    fit = fit_plant_input_to_soc(rothc_in, soil["soc_initial"].values, iom="falloon")
    eq = equilibrium(rothc_in.assign(c_inp=fit["c_inp"], iom=fit["iom"]), method="analytic")
    forcing = weather.sel(month=run["month"])
    plain_in = xr.Dataset(
        {
            "tmp": forcing["tmp"],
            "rain": forcing["rain"],
            "evap": forcing["evap"],
            "c_inp": run["c_inp"] + run["surface_inp"],
            "fym": run["fym"],
            "pc": run["pc"],
            "dpm_rpm": run["dpm_rpm"],
            "modern": 100.0,
            "clay": soil["clay"],
            "depth": DEPTH,
            "iom": fit["iom"],
        }
    )
    plain = run_rothc(plain_in, initial=eq)
    for var in ("SOC", "DPM", "RPM", "BIO", "HUM", "CO2"):
        np.testing.assert_allclose(
            out[var].values, plain[var].transpose("plot", "month").values, rtol=1e-9, atol=1e-9
        )
    # no surface pool: the output's surface residue is zero throughout
    np.testing.assert_array_equal(out["surface"].values, 0.0)
    np.testing.assert_allclose(out["spinup_c_input"].values, fit["annual_c_inp"].values, rtol=1e-12)


def test_spin_up_reproduces_the_measured_soc():
    weather, soil = _weather(), _soil()
    spun = spin_up(_management(2021, 2023), weather, soil, depth_cm=DEPTH)
    # the analytic periodic steady state (December) is the measured SOC
    np.testing.assert_allclose(spun.initial["SOC"].values, [45.0, 38.0], rtol=0, atol=1e-6)
    # IOM from Falloon et al. (1998): 0.049 SOC^1.139 = 0.049 x 45^1.139 = 0.049 x 76.385 = 3.7429
    np.testing.assert_allclose(spun.iom.values, [0.049 * 45.0**1.139, 0.049 * 38.0**1.139], rtol=1e-12)
    assert spun.iom.values[0] == pytest.approx(3.7429, abs=1e-4)
    # Lishu normals: MAT 7.2 degC, MAP 573 mm < PET 0.75 x 1017 mm = 763 mm: cool temperate dry
    assert spun.climate_zone == climate_zone_of(weather) == "cool_temperate_dry"


def test_run_starts_at_the_measured_soc():
    # January (-13.6 degC) and February (-8.5 degC) are below RothC's -5 degC limit: a = 0, nothing
    # decomposes on the surface or in the soil, and no input falls in them. So the SOC at the end of
    # January and of February is the spin-up's December SOC, the measured stock.
    weather, soil = _weather(), _soil()
    out = simulate(_management(2024, 2025), weather, soil, spinup=_management(2021, 2023), depth_cm=DEPTH)
    np.testing.assert_allclose(out["SOC"].isel(month=[0, 1]).values, [[45.0, 45.0], [38.0, 38.0]], atol=1e-6)
    # March (-0.1 degC, a > 0) starts decomposing: the stock moves (the test above is not vacuous)
    assert np.all(np.abs(out["SOC"].isel(month=2).values - [45.0, 38.0]) > 1e-4)


def test_surface_residue_is_not_soil_carbon():
    # All straw mulched (3 t C in October) and no tillage at all: the residue sits on the surface.
    weather, soil = _weather(), _soil()
    spin = _management(2021, 2023, tillage="no_till", burial=0.0)
    run = _management(2024, 2025, tillage="no_till", burial=0.0)
    out = simulate(run, weather, soil, spinup=spin, depth_cm=DEPTH)
    sep, octo = out.sel(month="2024-09-01"), out.sel(month="2024-10-01")
    # surface pool in October by hand: S_Sep exp(-0.3 a(8.6 degC)/12) + 3, with
    # a(8.6) = 47.91 / (1 + exp(106.06 / 26.87)) = 0.907598 (no burial)
    a_oct = 47.91 / (1.0 + math.exp(106.06 / (8.6 + 18.27)))
    expected = sep["surface"].values * math.exp(-0.3 * a_oct / 12.0) + 3.0
    np.testing.assert_allclose(octo["surface"].values, expected, rtol=0, atol=1e-6)
    assert out["surface"].attrs["units"] == "t C ha-1"
    # SOC does not take the 3 t: in October it only loses what the soil pools decompose (~0.2 t of
    # ~45 t at 8.6 degC) and gains the small flux from the surface
    assert np.all(np.abs(octo["SOC"].values - sep["SOC"].values) < 0.5)
    # SOC is the soil pools and IOM only
    pools = out["DPM"] + out["RPM"] + out["BIO"] + out["HUM"] + out["IOM"]
    np.testing.assert_allclose(out["SOC"].values, pools.values, rtol=1e-12)
    # the same inputs without a surface pool: the 3 t enter the soil in October at once
    soil_only = simulate(
        run, weather, soil, spinup=spin, depth_cm=DEPTH, params=SoilCarbonParameters(surface_pool=False)
    )
    jump = soil_only["SOC"].sel(month="2024-10-01") - soil_only["SOC"].sel(month="2024-09-01")
    assert np.all(jump.values > 2.5)


def test_no_till_ends_with_more_soc_than_full_tillage():
    # Same spin-up (the full-till look-back), same inputs and burial; only the Tier 1 level differs.
    # No-till in a cool temperate dry zone: m = 1/1.03 (IPCC 2019 Table 5.5, F_MG 1.03), slower
    # decomposition of every soil pool, so more SOC from the first month that decomposes on.
    weather, soil = _weather(), _soil()
    spin = _management(2021, 2023)
    spun = spin_up(spin, weather, soil, depth_cm=DEPTH)
    nt = simulate(_management(2024, 2025, tillage="no_till"), weather, soil, depth_cm=DEPTH, spun=spun)
    ft = simulate(_management(2024, 2025, tillage="full_till"), weather, soil, depth_cm=DEPTH, spun=spun)
    diff = nt["SOC"] - ft["SOC"]
    np.testing.assert_array_equal(diff.isel(month=[0, 1]).values, 0.0)  # frozen months: a = 0
    assert np.all(diff.isel(month=slice(2, None)).values > 0)
    # and the gap widens year by year (SOC moving towards the higher no-till equilibrium)
    dec = diff.sel(month=diff["month"].dt.month == 12)
    assert np.all(dec.isel(month=1).values > dec.isel(month=0).values)
    # the surface pool does not depend on the tillage level (burial is the same)
    np.testing.assert_array_equal(nt["surface"].values, ft["surface"].values)
    # with the tillage effect switched off the two runs are the same model on the same inputs
    off = SoilCarbonParameters(tillage_effect=False)
    spun_off = spin_up(spin, weather, soil, depth_cm=DEPTH, params=off)
    a = simulate(
        _management(2024, 2025, tillage="no_till"), weather, soil, depth_cm=DEPTH, params=off, spun=spun_off
    )
    b = simulate(
        _management(2024, 2025, tillage="full_till"), weather, soil, depth_cm=DEPTH, params=off, spun=spun_off
    )
    np.testing.assert_array_equal(a["SOC"].values, b["SOC"].values)
