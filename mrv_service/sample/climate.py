"""Temperature-based reference evapotranspiration for the sample county's monthly normals.

No monthly evaporation normals (neither open-pan nor the Chinese 20 cm pan, 小型蒸发皿) of the
Lishu, Siping or Changchun stations could be read in any stored source (search log:
``docs/CLIMATE_SOURCES.md``). The sample county's evaporation is therefore computed from the
verified Lishu temperature normals with the Hargreaves & Samani (1985) equation in the form of
FAO-56 eq. 52, which FAO-56 gives as the alternative when only air temperature is available.
These are pure functions; :mod:`mrv_service.sample.generator` calls them on its normals.

References
----------
.. [1] R. G. Allen, L. S. Pereira, D. Raes, M. Smith, "Crop evapotranspiration - Guidelines for
   computing crop water requirements", FAO Irrigation and Drainage Paper 56, FAO, Rome, 1998,
   chapter 3: eq. 20 (radiation as equivalent evaporation, x 0.408), eqs. 21-25 (extraterrestrial
   radiation Ra for daily periods; example 8), the mid-month day of the year
   J = INTEGER(30.4 M - 15), and eq. 52 (Hargreaves ET0).
.. [2] G. H. Hargreaves, Z. A. Samani, "Reference crop evapotranspiration from temperature",
   Applied Engineering in Agriculture 1(2), 96-99, 1985, doi:10.13031/2013.26773.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "DAYS_PER_MONTH",
    "SOLAR_CONSTANT",
    "MJ_TO_MM",
    "mid_month_day_of_year",
    "extraterrestrial_radiation",
    "hargreaves_et0",
    "tmin_from_tmean_tmax",
    "monthly_hargreaves_et0",
]

DAYS_PER_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
"""Days of each month of a 365-day year, Jan..Dec [d] (normals are per calendar month)."""
SOLAR_CONSTANT = 0.0820
"""Solar constant G_sc [MJ m-2 min-1] (FAO-56 eq. 21)."""
MJ_TO_MM = 0.408
"""Radiation as equivalent evaporation [mm per MJ m-2] = 1 / 2.45 MJ kg-1 (FAO-56 eq. 20)."""


def mid_month_day_of_year(month: npt.ArrayLike) -> np.ndarray:
    """Day of the year at the middle of a month, J = INTEGER(30.4 M - 15) (FAO-56 chapter 3).

    Examples
    --------
    >>> mid_month_day_of_year([1, 7, 12]).tolist()
    [15, 197, 349]
    """
    m = np.asarray(month, dtype=float)
    return np.floor(30.4 * m - 15.0).astype(int)


def extraterrestrial_radiation(latitude_deg: float, day_of_year: npt.ArrayLike) -> np.ndarray:
    """Daily extraterrestrial radiation Ra [MJ m-2 d-1] (FAO-56 eqs. 21-25).

    Parameters
    ----------
    latitude_deg : float
        Latitude [deg], positive north (valid below about 55 deg, FAO-56).
    day_of_year : array_like
        Day of the year J [1-365].

    Returns
    -------
    ndarray
        Ra = 24 x 60 / pi x G_sc x dr x (ws sin(phi) sin(delta) + cos(phi) cos(delta) sin(ws)),
        with dr = 1 + 0.033 cos(2 pi J / 365), delta = 0.409 sin(2 pi J / 365 - 1.39) and
        ws = arccos(-tan(phi) tan(delta)).

    Examples
    --------
    FAO-56 example 8 (20 deg S, 3 September, J = 246): Ra = 32.2 MJ m-2 d-1.

    >>> round(float(extraterrestrial_radiation(-20.0, 246)), 1)
    32.2
    """
    j = np.asarray(day_of_year, dtype=float)
    phi = np.radians(latitude_deg)
    dr = 1.0 + 0.033 * np.cos(2.0 * np.pi * j / 365.0)
    delta = 0.409 * np.sin(2.0 * np.pi * j / 365.0 - 1.39)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(delta), -1.0, 1.0))
    return (
        24.0
        * 60.0
        / np.pi
        * SOLAR_CONSTANT
        * dr
        * (ws * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(ws))
    )


def hargreaves_et0(
    tmean: npt.ArrayLike, tmax: npt.ArrayLike, tmin: npt.ArrayLike, ra: npt.ArrayLike
) -> np.ndarray:
    """Hargreaves reference evapotranspiration [mm d-1] (FAO-56 eq. 52; Hargreaves & Samani 1985).

    ET0 = 0.0023 (Tmean + 17.8) (Tmax - Tmin)^0.5 x 0.408 Ra, with temperatures in degC and Ra
    in MJ m-2 d-1; Tmean + 17.8 below zero gives 0 (no evaporative demand).

    Examples
    --------
    Hand calculation: Tmean 20, Tmax 26, Tmin 14 degC, Ra 40 MJ m-2 d-1 ->
    0.0023 x 37.8 x sqrt(12) x 0.408 x 40 = 4.9151 mm d-1.

    >>> round(float(hargreaves_et0(20.0, 26.0, 14.0, 40.0)), 4)
    4.9151
    """
    tmean = np.asarray(tmean, dtype=float)
    trange = np.clip(np.asarray(tmax, dtype=float) - np.asarray(tmin, dtype=float), 0.0, None)
    return (
        0.0023 * np.clip(tmean + 17.8, 0.0, None) * np.sqrt(trange) * MJ_TO_MM * np.asarray(ra, dtype=float)
    )


def tmin_from_tmean_tmax(tmean: npt.ArrayLike, tmax: npt.ArrayLike) -> np.ndarray:
    """Mean daily minimum temperature derived as Tmin = 2 Tmean - Tmax [degC].

    An approximation used where only the mean and the mean daily maximum are stored: it makes
    (Tmax + Tmin) / 2 equal the station's daily mean. For Lishu in January it gives -19.1 degC
    against the published -18.6 degC (CMA daily means are not exactly (Tmax + Tmin) / 2).

    Examples
    --------
    >>> round(float(tmin_from_tmean_tmax(-13.6, -8.1)), 1)
    -19.1
    """
    return 2.0 * np.asarray(tmean, dtype=float) - np.asarray(tmax, dtype=float)


def monthly_hargreaves_et0(tmean: npt.ArrayLike, tmax: npt.ArrayLike, latitude_deg: float) -> np.ndarray:
    """Monthly Hargreaves ET0 [mm per month] from monthly mean and mean-maximum temperature normals.

    Parameters
    ----------
    tmean, tmax : array_like, shape (12,)
        Daily mean and mean daily maximum temperature normals, Jan..Dec [degC].
    latitude_deg : float
        Latitude of the station [deg].

    Returns
    -------
    ndarray, shape (12,)
        :func:`hargreaves_et0` with Tmin from :func:`tmin_from_tmean_tmax` and Ra at the
        mid-month day (:func:`mid_month_day_of_year`), times the days of the month.

    Examples
    --------
    Lishu in July (Tmean 24.1, Tmax 28.5 degC, 43.4167 deg N; Ra(J = 197) = 40.6 MJ m-2 d-1):
    0.0023 x 41.9 x sqrt(8.8) x 0.408 x 40.6 x 31 = 146.7 mm.

    >>> round(float(monthly_hargreaves_et0([24.1] * 12, [28.5] * 12, 43.0 + 25.0 / 60.0)[6]), 1)
    146.7
    """
    tmean = np.asarray(tmean, dtype=float)
    tmax = np.asarray(tmax, dtype=float)
    if tmean.shape != (12,) or tmax.shape != (12,):
        raise ValueError("monthly_hargreaves_et0 needs 12 monthly values of tmean and tmax")
    ra = extraterrestrial_radiation(latitude_deg, mid_month_day_of_year(np.arange(1, 13)))
    return hargreaves_et0(tmean, tmax, tmin_from_tmean_tmax(tmean, tmax), ra) * DAYS_PER_MONTH
