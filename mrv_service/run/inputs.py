"""Everything a run reads from the store, read once in one consistent snapshot.

:func:`load_project_inputs` takes the project lock while it reads (so an upload committing at the
same moment is either wholly in or wholly out), and returns plain tables: the stages never see a
session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from mrv_service.project_settings import effective_settings
from mrv_service.run.activity_parts import ActivityParts, write_activity_parts
from mrv_service.run.plot_parts import PlotParts, write_plot_parts
from mrv_service.store.locks import lock_project
from mrv_service.store.projects import project_summary
from mrv_service.store.reads import (
    RowsDigest,
    load_activities,
    load_plots,
    load_soil_layers,
    load_uploads,
    rows_digest,
    stream_activities,
    stream_plots,
)
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
    plots: gpd.GeoDataFrame | None
    """plot_id, farmer_id, village, area_ha [ha], geometry (EPSG:4326), sorted by plot_id; None
    when they were written by chunk (:attr:`plot_parts`)."""
    activities: pd.DataFrame | None
    """Canonical activity records (DATA_FORMATS.md section 2); None when they were written by
    chunk (:attr:`activity_parts`)."""
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
    activity_parts: ActivityParts | None = None
    """The activity records written by plot chunk (then ``activities`` is None), or None."""
    plot_parts: PlotParts | None = None
    """The plots written by chunk (then ``plots`` is None), or None."""

    @property
    def n_plots(self) -> int:
        return len(self.plots) if self.plot_parts is None else len(self.plot_parts)

    def with_plots(self) -> ProjectInputs:
        """These inputs with their plots as one table (read from :attr:`plot_parts`)."""
        if self.plot_parts is None:
            return self
        return dataclasses.replace(self, plots=self.plot_parts.whole(), plot_parts=None)

    def with_tables(self) -> ProjectInputs:
        """These inputs with their plots and activity records as tables: a chunk's task reads its
        own part files (:meth:`~mrv_service.run.activity_parts.ActivityParts.only`,
        :meth:`~mrv_service.run.plot_parts.PlotParts.only`) with this."""
        inputs = self.with_plots()
        if inputs.activity_parts is None:
            return inputs
        if len(inputs.activity_parts.slices) != 1:
            raise ValueError("the activity records of several chunks are not read into one table")
        return dataclasses.replace(inputs, activities=inputs.activity_parts.chunk(0), activity_parts=None)

    def plot_frames(self) -> Iterator[gpd.GeoDataFrame]:
        """The plots chunk by chunk (:attr:`plot_parts`), or all at once: a pass over every plot
        that holds one chunk at a time."""
        if self.plot_parts is None:
            yield self.plots
        else:
            yield from self.plot_parts.frames()

    def activity_frames(self) -> Iterator[tuple[list[str], pd.DataFrame]]:
        """(plot ids, their activity records) of every chunk of :attr:`activity_parts`, or of all
        the plots at once: what a project-wide figure from the records adds up over."""
        if self.activity_parts is None:
            ids = [str(i) for f in self.plot_frames() for i in f["plot_id"]]
            yield ids, self.activities
            return
        if self.plot_parts is not None:
            for i in range(len(self.activity_parts.slices)):
                yield self.plot_parts.ids(i), self.activity_parts.chunk(i)
            return
        ids = self.plots["plot_id"].astype(str).to_numpy()
        for i, part in enumerate(self.activity_parts.slices):
            yield list(ids[part]), self.activity_parts.chunk(i)


def load_project_inputs(
    session: Session, project_name: str, *, by_chunk: tuple[Path, int] | None = None
) -> ProjectInputs:
    """Read a project's inputs in one transaction holding the project lock.

    ``by_chunk``: (directory, plots per chunk): the plots and their activity records are streamed
    into part files by chunk of the plots (in plot order, :mod:`mrv_service.run.plot_parts`,
    :mod:`mrv_service.run.activity_parts`) instead of held as tables; ``plots`` and
    ``activities`` are then None, :attr:`ProjectInputs.plot_frames` and
    :attr:`ProjectInputs.activity_frames` give them chunk by chunk.

    The session's transaction is ended (rolled back: nothing was written) before returning, which
    releases the lock.
    """
    project = lock_project(session, project_name)
    parts = plot_parts = None
    try:
        if by_chunk is None:
            plots, d_plots = load_plots(session, project)
            activities, d_acts = load_activities(session, project)
        else:
            directory, size = by_chunk
            digest = RowsDigest()
            plot_parts = write_plot_parts(stream_plots(session, project), size, directory / "plots", digest)
            plots, d_plots = None, digest.result()
            digest = RowsDigest()
            parts = write_activity_parts(
                stream_activities(session, project),
                plot_parts.ids,
                plot_parts.slices,
                directory / "activities",
                digest,
            )
            activities, d_acts = None, digest.result()
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
        activity_parts=parts,
        plot_parts=plot_parts,
    )
