"""The stages of a run, as functions with explicit inputs and outputs.

The CLI (``mrv run``), the API and notebooks call the same functions:

* :func:`imagery_stage`: the per-plot Sentinel-2 time series (``Dataset(plot, time)``) in memory,
  for a notebook; ``mrv run`` runs the same search by plot chunk
  (:func:`mrv_service.run.imagery_chunks.run_imagery`, the same rows and summary);
* the readiness checks of the models stage (:func:`check_models_ready`, :func:`model_periods`,
  :func:`assign_stations`); the stage itself is :func:`mrv_service.run.models_stage.models_stage`.

They take :class:`~mrv_service.run.inputs.ProjectInputs` (tables read from the store) and return a
dataclass holding data and a JSON-ready summary; they write no file and open no database.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import MRVError
from models.weather import missing_months, nearest_station
from mrv_service.run.imagery_summary import imagery_counts, imagery_summary
from mrv_service.run.inputs import ProjectInfo, ProjectInputs

__all__ = [
    "RunNotReadyError",
    "ImageryOutcome",
    "imagery_stage",
    "model_periods",
    "assign_stations",
    "check_models_ready",
    "used_stations",
]

log = logging.getLogger(__name__)


class RunNotReadyError(MRVError, ValueError):
    """The project lacks something a stage needs (the message lists what and how to add it)."""


# --- imagery ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImageryOutcome:
    """Result of :func:`imagery_stage`."""

    features: xr.Dataset
    """Per-plot statistics, dims (plot, time) (:func:`geodata.pipeline.plot_time_series`)."""
    summary: dict[str, Any]
    """Scenes, plot-dates, usable plot-dates, search parameters."""


def imagery_search(project: ProjectInfo, default_source: str | None) -> dict[str, Any]:
    """The imagery search of a project: source, collections, dates, cloud limit, item cap, bands.

    Raises
    ------
    RunNotReadyError
        When neither the project nor ``MRV_STAC_URL`` names an imagery source.
    """
    s = project.settings
    source = s["imagery.source"] or default_source
    if not source:
        raise RunNotReadyError(
            f"project {project.name!r} has no imagery source; set one with "
            f"`mrv project set {project.name} imagery.source=URL` (a STAC API such as "
            "https://earth-search.aws.element84.com/v1, or the path of a local catalog.json), or set MRV_STAC_URL"
        )
    years = project.baseline_years + project.project_years
    start = s["imagery.start"] or (f"{min(years)}-01-01" if years else None)
    end = s["imagery.end"] or (f"{max(years)}-12-31" if years else None)
    return {
        "source": str(source),
        "collections": list(s["imagery.collections"]),
        "datetime": f"{start or '..'}/{end or '..'}",
        "max_cloud_cover": s["imagery.max_cloud_cover"],
        "max_items": int(s["imagery.max_items"]),
        "bands": list(s["imagery.bands"]),
        "require_scl": bool(s["imagery.require_scl"]),
        "min_valid_fraction": float(s["imagery.min_valid_fraction"]),
    }


def search_options(search: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`geodata.pipeline.plot_time_series` (and of its by-chunk
    form) that an :func:`imagery_search` sets."""
    keys = (
        "datetime",
        "max_cloud_cover",
        "max_items",
        "min_valid_fraction",
        "bands",
        "collections",
        "require_scl",
    )
    return {k: search[k] for k in keys}


def imagery_stage(
    inputs: ProjectInputs,
    *,
    default_source: str | None = None,
    headers: dict[str, str] | None = None,
    dask_client: Any = None,
    progress: Callable[[int], Any] | None = None,
) -> ImageryOutcome:
    """Per-plot Sentinel-2 time series of the project's plots.

    Parameters
    ----------
    inputs : ProjectInputs
    default_source : str, optional
        Imagery source when the project sets none (``MRV_STAC_URL``).
    headers : dict, optional
        HTTP headers for a STAC API (an API key from ``MRV_STAC_API_KEY``).
    dask_client : distributed.Client, optional
        Run the scene reads on this cluster (default: local threads).
    progress : callable, optional
        Advanced by one per scene read.
    """
    from geodata.pipeline import plot_time_series

    search = imagery_search(inputs.project, default_source)
    plots = inputs.plots[["plot_id", "geometry"]]
    ds = plot_time_series(
        search["source"],
        plots,
        **search_options(search),
        headers=headers,
        dask_client=dask_client,
        progress=progress,
    )
    summary = imagery_summary(search, ds.attrs, imagery_counts(ds))
    return ImageryOutcome(ds, summary)


# --- soil-carbon models ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelPeriods:
    """The months a model run covers (first and last month, ``YYYY-MM``)."""

    spinup_start: str
    """First month of the look-back whose management, averaged per calendar month, is the spin-up year."""
    spinup_end: str
    run_start: str
    """First month of the project run (the crediting start)."""
    run_end: str
    """December of the last project year."""

    @property
    def weather_start(self) -> str:
        return min(self.spinup_start, self.run_start)

    @property
    def weather_end(self) -> str:
        return max(self.spinup_end, self.run_end)


def model_periods(project: ProjectInfo) -> ModelPeriods:
    """Spin-up (the baseline years) and run (crediting start to the last project year) months."""
    problems = []
    if not project.baseline_years:
        problems.append("no baseline years (the look-back seasons): add baseline_years to project.json")
    if not project.project_years:
        problems.append("no project years: add project_years to project.json")
    if problems:
        raise RunNotReadyError(f"project {project.name!r}: " + "; ".join(problems))
    return ModelPeriods(
        spinup_start=f"{min(project.baseline_years)}-01",
        spinup_end=f"{max(project.baseline_years)}-12",
        run_start=f"{project.crediting_start:%Y-%m}",
        run_end=f"{max(project.project_years)}-12",
    )


def assign_stations(inputs: ProjectInputs) -> pd.DataFrame:
    """The weather station of every plot: the nearest one with a location, within the limit.

    Returns
    -------
    pandas.DataFrame
        Indexed by plot_id: ``station_id`` and ``distance_km`` [km] (NaN for project-wide weather).

    Raises
    ------
    RunNotReadyError
        No weather, several stations without locations, or plots beyond
        ``weather.max_station_distance_km``.
    """
    table = _nearest_stations(inputs, inputs.with_plots().plots)
    _check_distances(inputs, [table])
    return table.drop(columns="_km")


def used_stations(inputs: ProjectInputs) -> list[str]:
    """The weather stations the plots use (:func:`assign_stations`), sorted, with the plots read
    one chunk at a time (:meth:`ProjectInputs.plot_frames`); raises as it does."""
    used: set[str] = set()
    far: list[pd.DataFrame] = []
    limit = float(inputs.project.settings["weather.max_station_distance_km"])
    for plots in inputs.plot_frames():
        table = _nearest_stations(inputs, plots)
        used |= set(table["station_id"])
        far.append(table[table["_km"] > limit])
    _check_distances(inputs, far)
    return sorted(used)


def _nearest_stations(inputs: ProjectInputs, plots: pd.DataFrame) -> pd.DataFrame:
    """Each of ``plots``' nearest located station (:func:`models.weather.nearest_station`, from its
    representative point): ``station_id``, ``distance_km`` [km] rounded to 10 m, and ``_km`` [km]
    unrounded, which the limit is checked against (:func:`_check_distances`)."""
    st = inputs.weather_stations
    name = inputs.project.name
    ids = plots["plot_id"].astype(str).to_numpy()
    if st.empty:
        raise RunNotReadyError(
            f"project {name!r} has no weather; upload monthly weather with `mrv ingest weather {name} FILE` "
            "(docs/DATA_FORMATS.md section 5)"
        )
    if len(st) == 1 and st[["lon", "lat"]].isna().any(axis=None):
        # project-wide weather without a location: every plot uses it
        return pd.DataFrame(
            {"station_id": st["station_id"].iloc[0], "distance_km": np.nan, "_km": np.nan},
            index=pd.Index(ids, name="plot_id"),
        )
    located = st.dropna(subset=["lon", "lat"])
    if len(located) < len(st):
        missing = sorted(set(st["station_id"]) - set(located["station_id"]))
        raise RunNotReadyError(
            f"project {name!r} has {len(st)} weather stations but {missing} have no location, so plots "
            "cannot be assigned to their nearest station; upload the stations' lon/lat (经度/纬度)"
        )
    cen = plots.geometry.representative_point()
    idx, dist = nearest_station(
        cen.x.to_numpy(), cen.y.to_numpy(), located["lon"].to_numpy(), located["lat"].to_numpy()
    )
    return pd.DataFrame(
        {"station_id": located["station_id"].to_numpy()[idx], "distance_km": np.round(dist, 2), "_km": dist},
        index=pd.Index(ids, name="plot_id"),
    )


def _check_distances(inputs: ProjectInputs, tables: list[pd.DataFrame]) -> None:
    """Refuse plots farther than ``weather.max_station_distance_km`` from every station
    (``tables``: :func:`_nearest_stations` of all plots or only the far ones, in plot order)."""
    name = inputs.project.name
    limit = float(inputs.project.settings["weather.max_station_distance_km"])
    far = pd.concat([t[t["_km"] > limit] for t in tables])
    if len(far):
        raise RunNotReadyError(
            f"{len(far)} plot(s) lie farther than {limit:g} km from every weather station "
            f"(first: {list(far.index[:5])}, {far['_km'].max():.0f} km); upload a nearer station's weather, "
            f"or raise the limit with `mrv project set {name} weather.max_station_distance_km=KM`"
        )


def check_models_ready(inputs: ProjectInputs) -> None:
    """Refuse to start the models stage when the weather does not cover the months it needs.

    Raises
    ------
    RunNotReadyError
        Naming each station's missing months and the months the run needs.
    """
    periods = model_periods(inputs.project)
    months = inputs.weather_months
    gaps = {}
    for sid in used_stations(inputs):
        have = months.loc[months["station_id"] == sid, "month"]
        miss = missing_months(have, periods.weather_start, periods.weather_end)
        if miss:
            gaps[sid] = miss
    if gaps:
        listed = "; ".join(f"station {sid}: {_month_ranges(m)}" for sid, m in gaps.items())
        raise RunNotReadyError(
            f"the weather of project {inputs.project.name!r} does not cover the months the run needs "
            f"({periods.weather_start} to {periods.weather_end}: spin-up over the baseline years and the "
            f"project period): missing {listed}; upload them with `mrv ingest weather {inputs.project.name} FILE`"
        )


def _month_ranges(months: list[str]) -> str:
    """``2024-01..2024-03, 2025-12`` from a sorted list of ``YYYY-MM``."""
    periods = [pd.Period(m, "M") for m in months]
    runs, start, prev = [], periods[0], periods[0]
    for p in periods[1:]:
        if p != prev + 1:
            runs.append((start, prev))
            start = p
        prev = p
    runs.append((start, prev))
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in runs)
