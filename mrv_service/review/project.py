"""A project's latest results for analysts (notebooks): the public Python API of the review.

:func:`open_project` finds a project's latest succeeded run in the store and returns a
:class:`ProjectResults`, which reads what the review pages show, from the same functions: the
run's summary and per-plot results, the plots with their geometry, the flags with their review
status, and one plot's evidence (imagery time series, image chips, SOC trajectory, activity log,
verdicts and reviews) through :mod:`mrv_service.review.evidence`; the charts are
:mod:`mrv_service.review.charts`.

>>> from mrv_service.review.project import open_project          # doctest: +SKIP
>>> p = open_project("lishu-conservation-tillage")                # after `make demo`
>>> p.results().nlargest(5, "net_t_co2e")                         # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import xarray as xr

from models.errors import MRVError
from mrv_service.config import Settings, load_settings
from mrv_service.review import evidence

__all__ = ["ProjectResults", "NoResultsError", "open_project"]


class NoResultsError(MRVError, LookupError):
    """The project has no succeeded run yet (or is unknown)."""


@dataclasses.dataclass(frozen=True)
class ProjectResults:
    """The latest succeeded run of one project (see :func:`open_project`)."""

    settings: Settings
    name: str
    project_id: int
    run_id: int
    out_dir: Path

    def _session(self):
        from mrv_service.store.db import make_engine, session_scope

        engine = make_engine(self.settings.database_url)
        return engine, session_scope(engine)

    def _read(self, fn):
        engine, scope = self._session()
        try:
            with scope as session:
                return fn(session)
        finally:
            engine.dispose()

    @cached_property
    def summary(self) -> dict[str, Any]:
        """``summary.json`` of the run (headline, verification, RothC, Tier 1, accounting)."""
        return json.loads((self.out_dir / "summary.json").read_text(encoding="utf-8"))

    def vintages(self) -> dict[str, Any]:
        """The accounting per vintage year [t CO2e] (``summary["accounting"]["vintages"]``)."""
        return self.summary["accounting"]["vintages"]

    def results(self) -> pd.DataFrame:
        """``plot_results.csv``: one row per plot (practices, SOC [t C/ha], change and credit [t CO2e])."""
        return pd.read_csv(self.out_dir / "plot_results.csv", dtype={"plot_id": str, "farmer_id": str})

    def plots(self) -> gpd.GeoDataFrame:
        """The plots (EPSG:4326) with their results."""
        from mrv_service.store.models import Project
        from mrv_service.store.reads import load_plots

        plots = self._read(lambda s: load_plots(s, s.get(Project, self.project_id))[0])
        res = self.results().drop(columns=["farmer_id", "village", "area_ha"], errors="ignore")
        return plots.merge(res, on="plot_id", how="left")

    def flags(self) -> pd.DataFrame:
        """The run's verification flags with their review status (``review_status``)."""
        from mrv_service.store.models import Run
        from mrv_service.store.verification import run_flags

        return self._read(lambda s: run_flags(s, s.get(Run, self.run_id)))

    def verdicts(self, plot_id: str | None = None) -> pd.DataFrame:
        """``practice_verdicts.csv`` (logged vs detected practice per plot-season), of one plot or all."""
        v = pd.read_csv(self.out_dir / "practice_verdicts.csv", dtype={"plot_id": str})
        return v if plot_id is None else v[v["plot_id"] == str(plot_id)].reset_index(drop=True)

    def activities(self, plot_id: str) -> pd.DataFrame:
        """The plot's activity records as stored (canonical units)."""
        from mrv_service.store.models import Project
        from mrv_service.store.reads import load_activities

        acts = self._read(lambda s: load_activities(s, s.get(Project, self.project_id))[0])
        return acts[acts["plot_id"] == str(plot_id)].reset_index(drop=True)

    def reviews(self, plot_id: str | None = None) -> pd.DataFrame:
        """Reviewers' standing decisions (:mod:`mrv_service.store.reviews`), of one plot or all."""
        from mrv_service.store.reviews import project_reviews

        r = self._read(lambda s: project_reviews(s, self.project_id))
        return r if plot_id is None else r[r["plot_id"] == str(plot_id)].reset_index(drop=True)

    def series(self, plot_id: str) -> pd.DataFrame:
        """The plot's imagery time series (time, ndvi, ndti, usable, item_id)."""
        return evidence.plot_series(self.out_dir, plot_id)

    def chip_dates(self, plot_id: str) -> list[dict[str, Any]]:
        """The plot's usable imagery dates."""
        return evidence.chip_dates(self.out_dir, plot_id)

    def chip(self, plot_id: str, date: str, kind: str = "truecolor", size_px: int = 256) -> bytes:
        """A PNG of the plot's outline over the scene of ``date`` (``truecolor`` or ``ndvi``)."""
        geometry = self.plots().set_index("plot_id").geometry[str(plot_id)]
        return evidence.plot_chip_png(self.out_dir, plot_id, geometry, date, kind, size_px=size_px)

    def trajectory(self, plot_id: str) -> xr.Dataset | None:
        """The plot's SOC and litter trajectories with the uncertainty band [t C/ha]."""
        return evidence.plot_trajectory(self.out_dir, plot_id)


def open_project(name: str, settings: Settings | None = None) -> ProjectResults:
    """The latest succeeded run of project ``name`` (settings: ``MRV_*`` environment variables).

    Raises
    ------
    NoResultsError
        When the project is unknown or has no succeeded run (the message says what to run).
    """
    from sqlalchemy import select

    from mrv_service.store.db import init_db, make_engine, session_scope
    from mrv_service.store.models import Project
    from mrv_service.store.runs import latest_run

    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as s:
            project = s.scalars(select(Project).where(Project.name == name)).one_or_none()
            if project is None:
                known = ", ".join(s.scalars(select(Project.name).order_by(Project.name))) or "none"
                raise NoResultsError(f"no project {name!r} in {settings.database_url} (projects: {known})")
            run = latest_run(s, project)
            if run is None:
                raise NoResultsError(f"project {name!r} has no succeeded run yet; run `mrv run {name}` first")
            return ProjectResults(settings, project.name, project.id, run.id, Path(run.out_dir))
    finally:
        engine.dispose()
