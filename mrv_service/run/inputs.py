"""Everything a run reads from the store, read once in one consistent snapshot.

:func:`load_project_inputs` takes the project lock while it reads (so an upload committing at the
same moment is either wholly in or wholly out), and returns plain tables: the stages never see a
session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from mrv_service.project_settings import effective_settings
from mrv_service.store.locks import lock_project
from mrv_service.store.projects import project_summary
from mrv_service.store.reads import load_activities, load_plots, load_soil_layers, load_uploads, rows_digest
from mrv_service.store.reviews import project_reviews
from mrv_service.store.weather import load_weather

__all__ = ["ProjectInfo", "ProjectInputs", "load_project_inputs"]


@dataclasses.dataclass(frozen=True)
class ProjectInfo:
    """The project's identity, periods and effective settings."""

    name: str
    name_zh: str | None
    organisation: str
    methodology_id: str
    region: dict[str, Any]
    """province, city, county and (optionally) lon/lat of the county centre [degree]."""
    crediting_start: dt.date
    crediting_end: dt.date
    baseline_years: tuple[int, ...]
    """Look-back seasons (baseline practice, spin-up)."""
    project_years: tuple[int, ...]
    """Seasons under the project practice."""
    settings: dict[str, Any]
    """Effective settings by dotted key (:func:`mrv_service.project_settings.effective_settings`)."""
    stored_settings: dict[str, Any]
    """The settings the owner set (the rest are defaults)."""


@dataclasses.dataclass(frozen=True)
class ProjectInputs:
    """The store rows a run uses, as tables in canonical units."""

    project: ProjectInfo
    plots: gpd.GeoDataFrame
    """plot_id, farmer_id, village, area_ha [ha], geometry (EPSG:4326), sorted by plot_id."""
    activities: pd.DataFrame
    """Canonical activity records (DATA_FORMATS.md section 2)."""
    soil_layers: pd.DataFrame
    """Soil-sample layers with a plot and an SOC stock [t C ha-1]."""
    weather_stations: pd.DataFrame
    """station_id, name, lon, lat [degree]."""
    weather_months: pd.DataFrame
    """station_id, month, tmean_degC [degC], precip_mm [mm], pan_evap_mm [mm]."""
    uploads: list[dict[str, Any]]
    """Accepted uploads (kind, file, SHA-256, ...)."""
    digests: dict[str, dict[str, Any]]
    """Row count and SHA-256 of each table read (``plots``, ``activity_records``, ``soil_samples``,
    ``weather``)."""
    store_summary: dict[str, Any]
    """:func:`mrv_service.store.projects.project_summary` at read time."""
    reviews: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=["plot_id", "year", "practice", "decision", "method"])
    )
    """Reviewers' standing decisions (:func:`mrv_service.store.reviews.project_reviews`)."""


def load_project_inputs(session: Session, project_name: str) -> ProjectInputs:
    """Read a project's inputs in one transaction holding the project lock.

    The session's transaction is ended (rolled back: nothing was written) before returning, which
    releases the lock.
    """
    project = lock_project(session, project_name)
    try:
        plots, d_plots = load_plots(session, project)
        activities, d_acts = load_activities(session, project)
        soil, d_soil = load_soil_layers(session, project)
        stations, months = load_weather(session, project)
        uploads = load_uploads(session, project)
        summary = project_summary(session, project.name)
        reviews = project_reviews(session, project.id)
        info = ProjectInfo(
            name=project.name,
            name_zh=project.name_zh,
            organisation=project.organisation.name,
            methodology_id=project.methodology_id,
            region=dict(project.region or {}),
            crediting_start=project.crediting_start,
            crediting_end=project.crediting_end,
            baseline_years=tuple(sorted(int(y) for y in project.baseline_years or [])),
            project_years=tuple(sorted(int(y) for y in project.project_years or [])),
            settings=effective_settings(project.settings),
            stored_settings=dict(project.settings or {}),
        )
    finally:
        session.rollback()
    weather_digest = rows_digest(
        months.sort_values(["station_id", "month"]).itertuples(index=False, name=None) if len(months) else []
    )
    return ProjectInputs(
        project=info,
        plots=plots,
        activities=activities,
        soil_layers=soil,
        weather_stations=stations,
        weather_months=months,
        uploads=uploads,
        digests={
            "plots": d_plots,
            "activity_records": d_acts,
            "soil_samples": d_soil,
            "weather": weather_digest,
            "season_reviews": rows_digest(
                reviews[["plot_id", "year", "practice", "decision", "method"]].itertuples(
                    index=False, name=None
                )
            ),
        },
        store_summary=summary,
        reviews=reviews,
    )
