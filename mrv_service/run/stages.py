"""The stages of a run, as functions with explicit inputs and outputs.

The CLI (``mrv run``), the API and notebooks call the same functions:

* :func:`imagery_stage`: the per-plot Sentinel-2 time series (``Dataset(plot, time)``);
* :func:`models_stage`: RothC-26.3 baseline and project scenarios per plot, the Monte Carlo of the
  project total, and the IPCC Tier 1 comparison.

They take :class:`~mrv_service.run.inputs.ProjectInputs` (tables read from the store) and return a
dataclass holding data and a JSON-ready summary; they write no file and open no database.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models import ipcc_tier1
from models.errors import MRVError
from models.rothc import RothCParameters
from models.scenarios import ScenarioResult, climatology, run_scenarios, scenario_management
from models.soil import initial_soc_stock
from models.uncertainty import scenario_draws
from models.units import C_TO_CO2
from models.weather import missing_months, monthly_forcing, nearest_station
from mrv_service.run.inputs import ProjectInfo, ProjectInputs

__all__ = [
    "RunNotReadyError",
    "ImageryOutcome",
    "ModelsOutcome",
    "imagery_stage",
    "models_stage",
    "model_periods",
    "assign_stations",
    "check_models_ready",
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
        datetime=search["datetime"],
        max_cloud_cover=search["max_cloud_cover"],
        max_items=search["max_items"],
        min_valid_fraction=search["min_valid_fraction"],
        bands=search["bands"],
        collections=search["collections"],
        require_scl=search["require_scl"],
        headers=headers,
        dask_client=dask_client,
        progress=progress,
    )
    usable = ds["usable"]
    observed = ds["observed"] if "observed" in ds else None
    summary: dict[str, Any] = {
        "search": search,
        "scenes": int(ds.attrs.get("n_scenes", ds.sizes.get("time", 0))),
        "dates": int(ds.sizes.get("time", 0)),
        "plot_dates": int(ds.sizes.get("plot", 0) * ds.sizes.get("time", 0)),
        "usable_plot_dates": int(usable.sum()),
        "plots_with_usable_dates": int(usable.any("time").sum()),
    }
    if observed is not None:
        summary["observed_plot_dates"] = int(observed.sum())
        summary["observed_without_clear_pixels"] = int((observed & (ds["count"] == 0)).sum())
        summary["plots_never_observed"] = int((~observed.any("time")).sum())
    for key in ("skipped_scenes", "negative_reflectance"):
        if key in ds.attrs:
            value = ds.attrs[key]
            summary[key] = json.loads(value) if isinstance(value, str) else value
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
    st = inputs.weather_stations
    name = inputs.project.name
    ids = inputs.plots["plot_id"].astype(str).to_numpy()
    if st.empty:
        raise RunNotReadyError(
            f"project {name!r} has no weather; upload monthly weather with `mrv ingest weather {name} FILE` "
            "(docs/DATA_FORMATS.md section 5)"
        )
    if len(st) == 1 and st[["lon", "lat"]].isna().any(axis=None):
        # project-wide weather without a location: every plot uses it
        return pd.DataFrame(
            {"station_id": st["station_id"].iloc[0], "distance_km": np.nan},
            index=pd.Index(ids, name="plot_id"),
        )
    located = st.dropna(subset=["lon", "lat"])
    if len(located) < len(st):
        missing = sorted(set(st["station_id"]) - set(located["station_id"]))
        raise RunNotReadyError(
            f"project {name!r} has {len(st)} weather stations but {missing} have no location, so plots "
            "cannot be assigned to their nearest station; upload the stations' lon/lat (经度/纬度)"
        )
    cen = inputs.plots.geometry.representative_point()
    idx, dist = nearest_station(
        cen.x.to_numpy(), cen.y.to_numpy(), located["lon"].to_numpy(), located["lat"].to_numpy()
    )
    limit = float(inputs.project.settings["weather.max_station_distance_km"])
    far = dist > limit
    if far.any():
        raise RunNotReadyError(
            f"{int(far.sum())} plot(s) lie farther than {limit:g} km from every weather station "
            f"(first: {list(ids[far][:5])}, {dist[far].max():.0f} km); upload a nearer station's weather, "
            f"or raise the limit with `mrv project set {name} weather.max_station_distance_km=KM`"
        )
    return pd.DataFrame(
        {"station_id": located["station_id"].to_numpy()[idx], "distance_km": np.round(dist, 2)},
        index=pd.Index(ids, name="plot_id"),
    )


def check_models_ready(inputs: ProjectInputs) -> None:
    """Refuse to start the models stage when the weather does not cover the months it needs.

    Raises
    ------
    RunNotReadyError
        Naming each station's missing months and the months the run needs.
    """
    periods = model_periods(inputs.project)
    stations = assign_stations(inputs)
    months = inputs.weather_months
    gaps = {}
    for sid in sorted(set(stations["station_id"])):
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


@dataclasses.dataclass(frozen=True)
class ModelsOutcome:
    """Result of :func:`models_stage`."""

    per_plot: pd.DataFrame
    """One row per plot: area, station, initial SOC, end-of-run SOC of both scenarios, the change
    [t C ha-1] and [t CO2e], the Tier 1 levels and change."""
    summary: dict[str, Any]
    """``rothc`` (with ``monte_carlo``), ``ipcc_tier1``, ``weather``, ``soil``."""
    results: dict[str, ScenarioResult]
    """Deterministic scenario results per weather station."""


def models_stage(
    inputs: ProjectInputs,
    *,
    seed: int,
    n_draws: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> ModelsOutcome:
    """RothC-26.3 scenarios, their Monte Carlo and the IPCC Tier 1 comparison, per plot.

    Plots are grouped by weather station; each group runs as one vectorised RothC call per
    scenario (and per scenario for all draws of the Monte Carlo). The draws are made once for the
    whole project, so the result does not depend on the grouping.

    Parameters
    ----------
    inputs : ProjectInputs
    seed : int
        Seed of the Monte Carlo draws.
    n_draws : int, optional
        Number of draws (default: the project's ``model.monte_carlo_draws``).
    progress : callable, optional
        Called with the number of plots of each station group when the group is done.
    """
    project = inputs.project
    s = project.settings
    check_models_ready(inputs)
    periods = model_periods(project)
    depth = float(s["model.depth_cm"])
    clay_pct = float(s["soil.clay_pct"])
    n_draws = int(n_draws or s["model.monte_carlo_draws"])
    plots = inputs.plots
    ids = plots["plot_id"].astype(str).tolist()
    area = xr.DataArray(
        plots["area_ha"].to_numpy(float), dims="plot", coords={"plot": ids}, attrs={"units": "ha"}
    )

    soc = initial_soc_stock(inputs.soil_layers, ids, depth)
    soc0 = xr.DataArray(
        soc["soc_initial"].to_numpy(float), dims="plot", coords={"plot": ids}, attrs={"units": "t C ha-1"}
    )
    stations = assign_stations(inputs)
    draws = scenario_draws(soc0, n_draws, seed, clay_pct=clay_pct)

    run_kw = dict(
        start=periods.run_start,
        end=periods.run_end,
        project_start=f"{project.crediting_start:%Y-%m-%d}",
        spinup_start=periods.spinup_start,
        spinup_end=periods.spinup_end,
        depth_cm=depth,
    )
    results: dict[str, ScenarioResult] = {}
    deltas, draw_deltas, tier1_parts, zones = [], [], [], {}
    for sid in sorted(set(stations["station_id"])):
        group = [p for p in ids if stations.at[p, "station_id"] == sid]
        months = inputs.weather_months[inputs.weather_months["station_id"] == sid]
        weather = monthly_forcing(months)
        acts = inputs.activities[inputs.activities["plot_id"].isin(group)]
        soil = xr.Dataset(
            {
                "clay": ("plot", np.full(len(group), clay_pct), {"units": "%"}),
                "soc_initial": soc0.sel(plot=group),
            },
            coords={"plot": group},
        )
        periods_kw = {k: v for k, v in run_kw.items() if k != "depth_cm"}
        mgmt = scenario_management(acts, group, **periods_kw)  # once for both runs
        res = run_scenarios(acts, weather, soil, management=mgmt, **run_kw)
        results[sid] = res
        deltas.append(_end_states(res))
        mc = run_scenarios(acts, weather, soil, draws=draws.sel(plot=group), management=mgmt, **run_kw)
        draw_deltas.append(mc.delta_soc)
        t1, zone = _tier1(acts, group, weather, project)
        tier1_parts.append(t1)
        zones[sid] = zone
        if progress is not None:
            progress(len(group))

    per_plot = pd.concat(deltas).reindex(ids)
    tier1 = pd.concat(tier1_parts).reindex(ids)
    delta_draws = xr.concat(draw_deltas, dim="plot").sel(plot=ids)
    total_draws = (delta_draws * area).sum("plot") * C_TO_CO2

    table = pd.DataFrame(
        {
            "plot_id": ids,
            "farmer_id": plots["farmer_id"].to_numpy(),
            "village": plots["village"].to_numpy(),
            "area_ha": plots["area_ha"].round(4).to_numpy(),
            "station_id": stations["station_id"].to_numpy(),
            "station_distance_km": stations["distance_km"].to_numpy(),
            "soc_initial_t_c_ha": soc["soc_initial"].round(3).to_numpy(),
            "soc_initial_source": soc["source"].to_numpy(),
            "soc_baseline_end_t_c_ha": per_plot["baseline_end"].round(3).to_numpy(),
            "soc_project_end_t_c_ha": per_plot["project_end"].round(3).to_numpy(),
            "delta_soc_t_c_ha": per_plot["delta"].round(4).to_numpy(),
            "delta_t_co2e": (per_plot["delta"] * plots["area_ha"].to_numpy() * C_TO_CO2).round(3).to_numpy(),
            "delta_t_co2e_sd": (delta_draws.std("draw", ddof=1) * area * C_TO_CO2).round(3).to_numpy(),
            "tier1_tillage": tier1["tillage"].to_numpy(),
            "tier1_input": tier1["input"].to_numpy(),
            "tier1_delta_t_c_ha_yr": tier1["delta"].round(4).to_numpy(),
        }
    )
    total_c = float((per_plot["delta"].to_numpy() * plots["area_ha"].to_numpy()).sum())
    q = np.quantile(total_draws.values, [0.05, 0.025, 0.5, 0.95, 0.975])
    mean = float(total_draws.mean())
    tier1_total = float((tier1["delta"].to_numpy() * plots["area_ha"].to_numpy()).sum())
    summary = {
        "rothc": {
            "model": "RothC-26.3",
            "run": f"{periods.run_start} to {periods.run_end}",
            "spinup": f"management of {periods.spinup_start} to {periods.spinup_end} under the station's monthly climatology",
            "depth_cm": depth,
            "mean_initial_soc_t_c_ha": round(float(soc0.mean()), 3),
            "mean_delta_soc_t_c_ha": round(float(per_plot["delta"].mean()), 4),
            "total_delta_soc_t_c": round(total_c, 2),
            "total_delta_soc_t_co2e": round(total_c * C_TO_CO2, 2),
            "note": f"project minus baseline SOC stock change, 0-{depth:g} cm, before leakage, uncertainty and buffer deductions",
            "monte_carlo": {
                "draws": n_draws,
                "seed": int(seed),
                "total_t_co2e_mean": round(mean, 1),
                "total_t_co2e_sd": round(float(total_draws.std(ddof=1)), 1),
                "total_t_co2e_p5": round(float(q[0]), 1),
                "total_t_co2e_p2_5": round(float(q[1]), 1),
                "total_t_co2e_p50": round(float(q[2]), 1),
                "total_t_co2e_p95": round(float(q[3]), 1),
                "total_t_co2e_p97_5": round(float(q[4]), 1),
                "relative_half_width_95": round((float(q[4]) - float(q[1])) / 2 / mean, 4) if mean else None,
            },
        },
        "ipcc_tier1": {
            "method": "IPCC 2019 Refinement Tier 1 (D = 20 yr, 0-30 cm)",
            "climate_zone": sorted(set(zones.values()))[0] if len(set(zones.values())) == 1 else zones,
            "soil_class": s["soil.ipcc_soil_class"],
            "plots_no_till": int((tier1["tillage"] == "no_till").sum()),
            "annual_delta_soc_t_c": round(tier1_total, 2),
            "annual_delta_soc_t_co2e": round(tier1_total * C_TO_CO2, 2),
        },
        "weather": {
            "stations": int(len(set(stations["station_id"]))),
            "plots_per_station": {
                k: int(v) for k, v in stations["station_id"].value_counts().sort_index().items()
            },
            "max_station_distance_km": None
            if stations["distance_km"].isna().all()
            else round(float(stations["distance_km"].max()), 2),
            "months": f"{periods.weather_start} to {periods.weather_end}",
        },
        "soil": {
            "plots_with_samples": int((soc["source"] == "measured").sum()),
            "plots_with_project_mean": int((soc["source"] == "project_mean").sum()),
            "clay_pct_default": clay_pct,
        },
    }
    return ModelsOutcome(table, summary, results)


def _end_states(res: ScenarioResult) -> pd.DataFrame:
    ids = [str(p) for p in res.delta_soc["plot"].values]
    return pd.DataFrame(
        {
            "baseline_end": res.baseline["SOC"].isel(month=-1).values,
            "project_end": res.project["SOC"].isel(month=-1).values,
            "delta": res.delta_soc.values,
        },
        index=pd.Index(ids, name="plot_id"),
    )


def _tier1(
    acts: pd.DataFrame, plot_ids: list[str], weather: xr.Dataset, project: ProjectInfo
) -> tuple[pd.DataFrame, str]:
    """IPCC Tier 1 (2019 Refinement) annual change: the baseline practice against the practice
    logged in the last project year, per plot, in the station's climate zone."""
    last = max(project.project_years)
    if len(acts):
        acts = acts[pd.to_datetime(acts["date"]).dt.year == last]
        till = acts[acts["activity"] == "tillage"].groupby("plot_id")["method"].last()
        res = acts[acts["activity"] == "residue"].groupby("plot_id")["method"].last()
    else:
        till = res = pd.Series(dtype=object)
    ids = pd.Series(plot_ids)
    tillage, inputs = ipcc_tier1.practice_levels(ids.map(till).to_numpy(), ids.map(res).to_numpy())
    clim = climatology(weather)
    mat = float(clim["tmp"].mean())
    map_mm = float(clim["rain"].sum())
    # PET from open-pan evaporation with RothC's own pan factor (one home: RothCParameters)
    pet_mm = RothCParameters().evap_factor * float(clim["evap"].sum())
    zone = str(ipcc_tier1.ipcc_climate_zone(mat, map_mm, pet_mm))
    soil_class = project.settings["soil.ipcc_soil_class"]
    t1 = ipcc_tier1.tier1_stock_change(
        zone,
        soil_class,
        start={"tillage": "full_till", "input_level": "low"},
        end={"tillage": tillage, "input_level": inputs},
    )
    delta = np.broadcast_to(np.asarray(t1.delta_c, dtype=float), (len(plot_ids),))
    return pd.DataFrame(
        {"tillage": tillage, "input": inputs, "delta": delta}, index=pd.Index(plot_ids, name="plot_id")
    ), zone
