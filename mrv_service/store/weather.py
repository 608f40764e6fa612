"""Read side of the weather store: a project's stations and monthly weather as DataFrames.

The run reads its RothC climate forcing here (``weather.source = store``): what
:func:`mrv_service.ingest.weather.ingest_weather` loaded, in canonical units.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from mrv_service.store.models import Project, WeatherMonth, WeatherStation
from mrv_service.store.projects import get_project

__all__ = ["STATION_COLUMNS", "MONTHLY_COLUMNS", "load_weather"]

STATION_COLUMNS = ("station_id", "name", "lon", "lat")
"""Columns of the stations DataFrame: id, name (None when not uploaded), longitude and latitude
[degree, EPSG:4326] (NaN when not uploaded)."""

MONTHLY_COLUMNS = ("station_id", "month", "tmean_degC", "precip_mm", "pan_evap_mm")
"""Columns of the monthly DataFrame: station id, month (datetime64, first day), mean air
temperature [degC], precipitation [mm], open-pan evaporation [mm] (named as in the sample
county's ``weather_monthly.csv`` and :func:`models.weather.monthly_forcing`)."""


def load_weather(session: Session, project: Project | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A project's weather stations and monthly weather.

    Parameters
    ----------
    session : Session
        Database session (only read).
    project : Project or str
        The project, or its name (:func:`~mrv_service.store.projects.get_project` raises
        :class:`~mrv_service.store.projects.ProjectNotFoundError` for an unknown name).

    Returns
    -------
    stations : pandas.DataFrame
        :data:`STATION_COLUMNS`, one row per station, sorted by ``station_id``; project-wide
        weather is station ``project``.
    monthly : pandas.DataFrame
        :data:`MONTHLY_COLUMNS`, one row per station and month, sorted by ``station_id`` and
        ``month``; ``month`` is ``datetime64[ns]`` (first day of the month), the quantities
        float64 in canonical units (pan evaporation converted from PET where the upload gave PET).
        Both frames are empty (with these columns) when nothing was uploaded.
    """
    if isinstance(project, str):
        project = get_project(session, project)
    station_rows = session.execute(
        select(WeatherStation.station_id, WeatherStation.name, WeatherStation.lon, WeatherStation.lat)
        .where(WeatherStation.project_id == project.id)
        .order_by(WeatherStation.station_id)
    ).all()
    stations = pd.DataFrame([tuple(r) for r in station_rows], columns=list(STATION_COLUMNS))
    stations = stations.astype({"station_id": object, "name": object, "lon": "float64", "lat": "float64"})
    month_rows = session.execute(
        select(
            WeatherStation.station_id,
            WeatherMonth.month,
            WeatherMonth.tmean_degc,
            WeatherMonth.precip_mm,
            WeatherMonth.pan_evap_mm,
        )
        .join(WeatherStation, WeatherMonth.station_pk == WeatherStation.id)
        .where(WeatherStation.project_id == project.id)
        .order_by(WeatherStation.station_id, WeatherMonth.month)
    ).all()
    monthly = pd.DataFrame([tuple(r) for r in month_rows], columns=list(MONTHLY_COLUMNS))
    monthly["month"] = pd.to_datetime(monthly["month"]).astype("datetime64[ns]")
    monthly = monthly.astype(
        {"station_id": object, "tmean_degC": "float64", "precip_mm": "float64", "pan_evap_mm": "float64"}
    )
    return stations, monthly
