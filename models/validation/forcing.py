"""Daily weather to RothC's monthly forcing: temperature, rainfall and open-pan evaporation.

* monthly mean air temperature ``tmp`` [degC]: the mean over the month's days of (Tmax + Tmin) / 2;
* monthly rainfall ``rain`` [mm]: the sum of the daily precipitation [cm] x 10;
* monthly open-pan evaporation ``evap`` [mm]: the monthly sum of the daily reference
  evapotranspiration of Hargreaves & Samani [1]_ (FAO-56 eq. 52 [2]_), with the extraterrestrial
  radiation from the latitude and the day of year (FAO-56 eq. 21-25), divided by RothC's pan factor
  :attr:`models.rothc.RothCParameters.evap_factor` (RothC multiplies open-pan evaporation by it to
  get evapotranspiration, Coleman & Jenkinson [3]_ section 2.3; this undoes it).

Missing days (DayCent writes -99.99) are left out: a month with at least ``min_valid_fraction`` of
its days valid gets the mean (temperature) or the mean scaled to the month's length (rainfall and
evaporation) of its valid days; other months, and months outside the record, take the mean of that
calendar month over the record's complete months (its climatology), flagged in ``*_filled``.

References
----------
.. [1] G. H. Hargreaves and Z. A. Samani, "Reference crop evapotranspiration from temperature",
   Applied Engineering in Agriculture 1(2):96-99, 1985, doi:10.13031/2013.26773.
.. [2] R. G. Allen, L. S. Pereira, D. Raes and M. Smith, "Crop evapotranspiration: guidelines for
   computing crop water requirements", FAO Irrigation and Drainage Paper 56, FAO, Rome, 1998:
   eq. 20 (1 MJ m-2 day-1 = 0.408 mm day-1), eq. 21-25 (Ra), eq. 52 (Hargreaves), Example 8.
.. [3] K. Coleman and D. S. Jenkinson, "RothC - A model for the turnover of carbon in soil. Model
   description and users guide (updated June 2014)", Rothamsted Research, Harpenden, 2014.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import ModelInputError
from models.rothc import RothCParameters

__all__ = [
    "SOLAR_CONSTANT",
    "MJ_TO_MM",
    "extraterrestrial_radiation",
    "hargreaves_pet",
    "monthly_forcing",
    "add_irrigation",
]

SOLAR_CONSTANT = 0.0820
"""Solar constant G_sc [MJ m-2 min-1] (FAO-56 [2]_ eq. 21)."""

MJ_TO_MM = 0.408
"""Evaporation equivalent of radiation [mm day-1 per MJ m-2 day-1] (FAO-56 [2]_ eq. 20, the
inverse of the latent heat of vaporisation 2.45 MJ kg-1)."""

HARGREAVES_COEFFICIENT = 0.0023
"""Empirical coefficient of the Hargreaves equation [degC-1.5] ([1]_; FAO-56 eq. 52)."""

HARGREAVES_OFFSET = 17.8
"""Temperature offset of the Hargreaves equation [degC] ([1]_; FAO-56 eq. 52)."""


def extraterrestrial_radiation(lat_deg: Any, doy: Any) -> Any:
    """Daily extraterrestrial radiation Ra [MJ m-2 day-1] (FAO-56 eq. 21-25).

    Parameters
    ----------
    lat_deg : numeric
        Latitude [degree], negative south.
    doy : numeric
        Day of the year J [1-366].

    Returns
    -------
    numeric
        Ra [MJ m-2 day-1].

    Notes
    -----
    Ra = (24 x 60 / pi) G_sc d_r [w_s sin(phi) sin(delta) + cos(phi) cos(delta) sin(w_s)] (eq. 21),
    d_r = 1 + 0.033 cos(2 pi J / 365) (eq. 23), delta = 0.409 sin(2 pi J / 365 - 1.39) (eq. 24),
    w_s = arccos(-tan(phi) tan(delta)) (eq. 25), phi the latitude in radians (eq. 22). Beyond the
    polar circles the arccos argument is clipped to [-1, 1] (polar day or night).

    Examples
    --------
    FAO-56 Example 8, 3 September (J = 246) at 20 degrees S: Ra = 32.2 MJ m-2 day-1.

    >>> round(float(extraterrestrial_radiation(-20.0, 246)), 1)
    32.2
    """
    phi = np.radians(np.asarray(lat_deg, dtype=float))
    j = np.asarray(doy, dtype=float)
    if np.any((j < 1) | (j > 366)):
        raise ModelInputError(f"day of year must lie in 1-366, got {doy!r}")
    dr = 1.0 + 0.033 * np.cos(2.0 * np.pi * j / 365.0)
    delta = 0.409 * np.sin(2.0 * np.pi * j / 365.0 - 1.39)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(delta), -1.0, 1.0))
    ra = (
        24.0
        * 60.0
        / np.pi
        * SOLAR_CONSTANT
        * dr
        * (ws * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(ws))
    )
    return np.maximum(ra, 0.0)


def hargreaves_pet(tmax: Any, tmin: Any, ra: Any) -> Any:
    """Daily reference evapotranspiration [mm day-1] by Hargreaves & Samani [1]_.

    Parameters
    ----------
    tmax, tmin : numeric
        Daily maximum and minimum air temperature [degC].
    ra : numeric
        Extraterrestrial radiation [MJ m-2 day-1] (:func:`extraterrestrial_radiation`).

    Returns
    -------
    numeric
        ET0 [mm day-1], 0 where the equation gives a negative value (T_mean < -17.8 degC).

    Notes
    -----
    ET0 = 0.0023 (T_mean + 17.8) (T_max - T_min)^0.5 x 0.408 Ra, T_mean = (T_max + T_min) / 2
    (FAO-56 eq. 52 with Ra as evaporation equivalent, eq. 20). A day with T_max < T_min (a
    recording error) counts as a zero range.

    Examples
    --------
    FAO-56 Example 8's Ra (32.2 MJ m-2 day-1), T_max 30, T_min 20 degC:
    0.0023 x 42.8 x sqrt(10) x 0.408 x 32.2 = 4.09 mm day-1.

    >>> round(float(hargreaves_pet(30.0, 20.0, 32.2)), 2)
    4.09
    """
    tx = np.asarray(tmax, dtype=float)
    tn = np.asarray(tmin, dtype=float)
    tmean = 0.5 * (tx + tn)
    rng = np.sqrt(np.maximum(tx - tn, 0.0))
    pet = HARGREAVES_COEFFICIENT * (tmean + HARGREAVES_OFFSET) * rng * MJ_TO_MM * np.asarray(ra, dtype=float)
    return np.maximum(pet, 0.0)


def _monthly(values: np.ndarray, keys: np.ndarray, n_days: np.ndarray, how: str, min_valid: float):
    """Per month key: mean (``how="mean"``) or month-length-scaled sum of the valid days; NaN when
    fewer than ``min_valid`` of the month's days are valid."""
    df = pd.DataFrame({"k": keys, "v": values})
    g = df.groupby("k")["v"]
    mean = g.mean()
    count = g.count()
    nd = pd.Series(n_days, index=keys).groupby(level=0).first()
    ok = count >= min_valid * nd
    out = mean if how == "mean" else mean * nd
    return out.where(ok)


def monthly_forcing(
    dates: Any,
    tmax: Any,
    tmin: Any,
    precip_cm: Any,
    lat_deg: float,
    start_year: int,
    end_year: int,
    *,
    min_valid_fraction: float = 0.8,
    parameters: RothCParameters | None = None,
) -> xr.Dataset:
    """RothC's monthly forcing from daily weather, Jan ``start_year`` to Dec ``end_year``.

    Parameters
    ----------
    dates : array-like of datetime64
        Days of the record (any order, each day once).
    tmax, tmin : array-like
        Daily maximum and minimum air temperature [degC]; NaN where missing.
    precip_cm : array-like
        Daily precipitation [cm]; NaN where missing.
    lat_deg : float
        Latitude of the site [degree].
    start_year, end_year : int
        Calendar years of the run.
    min_valid_fraction : float
        Share of valid days a month needs to be computed from its own days [1].
    parameters : RothCParameters, optional
        Source of the pan factor (default the official constants, ``evap_factor`` = 0.75).

    Returns
    -------
    xarray.Dataset
        Along ``month`` (month-start timestamps): ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm]
        (open pan), ``pet`` [mm] (Hargreaves), and ``tmp_filled``, ``rain_filled``,
        ``evap_filled`` [1] (1 where the month took the calendar-month climatology).

    Raises
    ------
    ModelInputError
        When a calendar month has no complete month anywhere in the record (nothing to fill from).
    """
    par = parameters or RothCParameters()
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    if d.has_duplicates:
        raise ModelInputError("daily weather has duplicate days; keep one record per day")
    tx = np.asarray(tmax, dtype=float)
    tn = np.asarray(tmin, dtype=float)
    pr = np.asarray(precip_cm, dtype=float)
    if not (len(d) == tx.size == tn.size == pr.size):
        raise ModelInputError("dates, tmax, tmin and precip_cm must have the same length")
    keys = (d.year * 12 + d.month - 1).to_numpy()
    n_days = d.days_in_month.to_numpy()
    ra = extraterrestrial_radiation(lat_deg, d.dayofyear.to_numpy())
    pet = hargreaves_pet(tx, tn, ra)
    pet = np.where(np.isnan(tx) | np.isnan(tn), np.nan, pet)
    tmean = 0.5 * (tx + tn)
    series = {
        "tmp": _monthly(tmean, keys, n_days, "mean", min_valid_fraction),
        "rain": _monthly(pr * 10.0, keys, n_days, "sum", min_valid_fraction),
        "pet": _monthly(pet, keys, n_days, "sum", min_valid_fraction),
    }
    want = np.arange(start_year * 12, (end_year + 1) * 12)
    out: dict[str, np.ndarray] = {}
    filled: dict[str, np.ndarray] = {}
    for name, s in series.items():
        s = s.dropna()
        clim = s.groupby(s.index % 12).mean()
        missing_cm = sorted(set(range(12)) - set(clim.index))
        if missing_cm:
            raise ModelInputError(
                f"daily weather has no complete month for calendar month(s) {[m + 1 for m in missing_cm]} "
                f"({name}); the record needs at least one month with {min_valid_fraction:.0%} of its days valid"
            )
        vals = s.reindex(want).to_numpy()
        gap = np.isnan(vals)
        vals[gap] = clim.reindex(want[gap] % 12).to_numpy()
        out[name] = vals
        filled[name] = gap.astype(float)
    months = pd.to_datetime({"year": want // 12, "month": want % 12 + 1, "day": 1})
    ds = xr.Dataset(
        {
            "tmp": (
                "month",
                out["tmp"],
                {"units": "degC", "long_name": "mean air temperature, (Tmax + Tmin) / 2"},
            ),
            "rain": ("month", out["rain"], {"units": "mm", "long_name": "rainfall"}),
            "evap": (
                "month",
                out["pet"] / par.evap_factor,
                {
                    "units": "mm",
                    "long_name": "open-pan evaporation, Hargreaves PET / RothC evap_factor",
                    "evap_factor": par.evap_factor,
                },
            ),
            "pet": (
                "month",
                out["pet"],
                {"units": "mm", "long_name": "reference evapotranspiration (Hargreaves)"},
            ),
            "tmp_filled": ("month", filled["tmp"], {"units": "1", "long_name": "tmp from the climatology"}),
            "rain_filled": (
                "month",
                filled["rain"],
                {"units": "1", "long_name": "rain from the climatology"},
            ),
            "evap_filled": ("month", filled["pet"], {"units": "1", "long_name": "evap from the climatology"}),
        },
        coords={"month": pd.DatetimeIndex(months)},
    )
    ds.attrs["pet_method"] = "Hargreaves & Samani (1985), FAO-56 eq. 52, Ra from FAO-56 eq. 21-25"
    ds.attrs["latitude"] = float(lat_deg)
    return ds


def add_irrigation(
    weather: xr.Dataset,
    irrigation: xr.DataArray,
    auto_irrigation: xr.DataArray,
    parameters: RothCParameters | None = None,
) -> xr.Dataset:
    """Per-plot weather with irrigation water added to rainfall.

    Parameters
    ----------
    weather : xarray.Dataset
        ``tmp``, ``rain``, ``evap`` [mm] along ``month``.
    irrigation : xarray.DataArray
        Scheduled irrigation [mm month-1] over (plot, month).
    auto_irrigation : xarray.DataArray
        Share of the month under automatic irrigation [1] over (plot, month).
    parameters : RothCParameters, optional
        Source of ``evap_factor``.

    Returns
    -------
    xarray.Dataset
        ``tmp``, ``rain``, ``evap`` over (plot, month), ``rain`` including irrigation.

    Notes
    -----
    Automatic irrigation (refill to field capacity whenever the soil dries) adds the share ``f`` of
    the month's remaining deficit, ``f max(0, evap_factor E_pan - rain - irrigation)``: RothC's
    topsoil moisture deficit then does not grow in that month (its water balance is
    rain - evap_factor E_pan, Coleman & Jenkinson [3]_ section 2.3).
    """
    par = parameters or RothCParameters()
    rain = weather["rain"] + irrigation
    deficit = (par.evap_factor * weather["evap"] - rain).clip(min=0.0)
    rain = rain + auto_irrigation * deficit
    out = xr.Dataset(
        {
            "tmp": weather["tmp"].broadcast_like(rain),
            "rain": rain.assign_attrs(units="mm", long_name="rainfall plus irrigation"),
            "evap": weather["evap"].broadcast_like(rain),
        }
    )
    out["tmp"].attrs = dict(weather["tmp"].attrs)
    out["evap"].attrs = dict(weather["evap"].attrs)
    return out.transpose("plot", "month")
