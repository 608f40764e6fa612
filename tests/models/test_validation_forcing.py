"""Daily weather -> RothC forcing: FAO-56 Example 8 (Ra) and the Hargreaves equation by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.validation.forcing import extraterrestrial_radiation, hargreaves_pet, monthly_forcing


def test_extraterrestrial_radiation_fao56_example_8():
    # FAO-56 Example 8: 3 September (J = 246) at 20 degrees S: dr = 0.985, delta = 0.120 rad,
    # ws = 1.527 rad, Ra = 32.2 MJ m-2 day-1.
    assert extraterrestrial_radiation(-20.0, 246) == pytest.approx(32.2, abs=0.05)


def test_hargreaves_by_hand():
    # ET0 = 0.0023 (Tmean + 17.8) sqrt(Tmax - Tmin) 0.408 Ra
    #     = 0.0023 x 42.8 x sqrt(10) x 0.408 x 32.2 = 4.0897 mm day-1
    assert hargreaves_pet(30.0, 20.0, 32.2) == pytest.approx(4.0897, abs=1e-4)
    assert hargreaves_pet(-30.0, -40.0, 10.0) == 0.0  # Tmean < -17.8 degC: no evaporation


def test_monthly_forcing_sums_days_and_undoes_pan_factor():
    days = pd.date_range("2001-01-01", "2001-12-31", freq="D")
    n = len(days)
    tmax = np.full(n, 30.0)
    tmin = np.full(n, 20.0)
    precip = np.full(n, 0.1)  # cm day-1
    ds = monthly_forcing(days, tmax, tmin, precip, -20.0, 2001, 2001)
    sep = ds.sel(month="2001-09-01")
    assert float(sep["tmp"]) == pytest.approx(25.0)
    assert float(sep["rain"]) == pytest.approx(30 * 1.0)  # 30 days x 0.1 cm x 10 mm/cm
    doy = pd.date_range("2001-09-01", "2001-09-30").dayofyear.to_numpy()
    pet = hargreaves_pet(30.0, 20.0, extraterrestrial_radiation(-20.0, doy)).sum()
    assert float(sep["pet"]) == pytest.approx(pet)
    assert float(sep["evap"]) == pytest.approx(pet / 0.75)  # RothC: ET = 0.75 x open pan
    assert float(ds["evap_filled"].sum()) == 0.0


def test_monthly_forcing_fills_missing_months_from_climatology():
    days = pd.date_range("2001-01-01", "2002-12-31", freq="D")
    tmax = np.where(days.year == 2001, 10.0, 20.0)
    tmax[(days.year == 2002) & (days.month == 3)] = np.nan
    ds = monthly_forcing(days, tmax, tmax - 10.0, np.zeros(len(days)), 45.0, 2001, 2003)
    assert float(ds["tmp"].sel(month="2002-03-01")) == pytest.approx(5.0)  # March 2001 only
    assert float(ds["tmp_filled"].sel(month="2002-03-01")) == 1.0
    assert float(ds["tmp"].sel(month="2003-06-01")) == pytest.approx(10.0)  # mean of 5 and 15
