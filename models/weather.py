"""Monthly weather as model forcing: station tables to RothC's climate inputs, plots to stations.

Pure: DataFrames in, Datasets and arrays out. The store query is
:func:`mrv_service.store.weather.load_weather`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import ModelInputError

__all__ = ["EARTH_RADIUS_KM", "great_circle_km", "nearest_station", "missing_months", "monthly_forcing"]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius [km] (IUGG mean radius R1 of GRS 80: H. Moritz, "Geodetic Reference System
1980", Journal of Geodesy 74, 128-133, 2000, doi:10.1007/s001900050278)."""


def great_circle_km(lon1, lat1, lon2, lat2):
    """Great-circle distance on a sphere of radius :data:`EARTH_RADIUS_KM` [km] (haversine).

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : array_like
        Coordinates [degree], broadcast together.

    Examples
    --------
    >>> round(float(great_circle_km(124.0, 43.0, 125.0, 43.0)), 1)  # 1 degree of longitude at 43 N
    81.3
    """
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def nearest_station(
    plot_lon: np.ndarray, plot_lat: np.ndarray, station_lon: np.ndarray, station_lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest station for each plot and its distance [km].

    Parameters
    ----------
    plot_lon, plot_lat : array_like
        Plot centroids [degree].
    station_lon, station_lat : array_like
        Station locations [degree].

    Returns
    -------
    index : numpy.ndarray of int
    distance_km : numpy.ndarray of float
    """
    d = great_circle_km(
        np.asarray(plot_lon, float)[:, None],
        np.asarray(plot_lat, float)[:, None],
        np.asarray(station_lon, float)[None, :],
        np.asarray(station_lat, float)[None, :],
    )
    idx = np.argmin(d, axis=1)
    return idx, d[np.arange(len(idx)), idx]


def missing_months(
    months: pd.Series | pd.DatetimeIndex, start: str | pd.Timestamp, end: str | pd.Timestamp
) -> list[str]:
    """The months of ``start``..``end`` (inclusive) absent from ``months``, as ``YYYY-MM``."""
    have = set(pd.PeriodIndex(pd.to_datetime(pd.Series(months)), freq="M"))
    need = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    return [str(p) for p in need if p not in have]


def monthly_forcing(months: pd.DataFrame) -> xr.Dataset:
    """One station's monthly weather as the RothC climate forcing along ``month``.

    Parameters
    ----------
    months : pandas.DataFrame
        ``month`` (first day, datetime-like), ``tmean_degC`` [degC], ``precip_mm`` [mm],
        ``pan_evap_mm`` [mm] (open-pan evaporation).

    Returns
    -------
    xarray.Dataset
        ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] along ``month`` (sorted).
    """
    if months.empty:
        raise ModelInputError("no weather months given; upload monthly weather (mrv ingest weather)")
    df = months.sort_values("month")
    t = pd.to_datetime(df["month"]).to_numpy()
    return xr.Dataset(
        {
            "tmp": (
                "month",
                df["tmean_degC"].to_numpy(float),
                {"units": "degC", "long_name": "mean air temperature"},
            ),
            "rain": ("month", df["precip_mm"].to_numpy(float), {"units": "mm", "long_name": "precipitation"}),
            "evap": (
                "month",
                df["pan_evap_mm"].to_numpy(float),
                {"units": "mm", "long_name": "open-pan evaporation"},
            ),
        },
        coords={"month": t},
    )
