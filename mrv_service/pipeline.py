"""The main job, stage by stage: sample county -> store -> imagery -> soil-carbon models -> summary.

``mrv demo`` runs :func:`run_demo`. Each stage is a function that takes what it needs and
returns plain data, so the API and notebooks can run the same stages one by one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ipcc_tier1
from models.scenarios import ScenarioResult, climatology, run_scenarios
from models.units import C_TO_CO2
from mrv_service.config import Settings
from mrv_service.store.db import init_db, make_engine, session_scope
from mrv_service.store.models import ActivityRecord, Farmer, Plot, Project, SoilSample
from mrv_service.store.projects import ensure_project_from_json, project_summary

log = logging.getLogger(__name__)

#: Clay content used when no plot-level texture is known [%]. Placeholder from the domain brief
#: (shared/domain/china_sample_context.md section 3: NE black soil 25-35 % clay, marked
#: unverified there); replace with measured texture before any real claim.
DEFAULT_CLAY_PCT = 30.0

#: IPCC soil class of Lishu's black soils (Mollisols/Phaeozems: high-activity clay), IPCC 2006
#: Vol. 4 Ch. 3 Annex 3A.5 Figure 3A.5.4 (HAC: lightly to moderately weathered soils).
DEFAULT_SOIL_CLASS = "HAC"

Echo = Callable[[str], Any]


# --- stage 1: sample county -------------------------------------------------------------------


def ensure_sample(sample_dir: Path, echo: Echo = print) -> dict[str, Any]:
    """Create the bundled sample county in ``sample_dir`` unless it is already there."""
    from mrv_service.sample import create_sample

    if (sample_dir / "project.json").exists() and (sample_dir / "imagery" / "catalog.json").exists():
        echo(f"sample county: {sample_dir} (present)")
    else:
        echo(f"sample county: generating in {sample_dir} ...")
        from tqdm import tqdm

        create_sample(
            sample_dir, progress=lambda steps: tqdm(steps, desc="sample county", unit="step", leave=False)
        )
    return json.loads((sample_dir / "project.json").read_text(encoding="utf-8"))


# --- stage 2: store and ingest ----------------------------------------------------------------

SAMPLE_UPLOADS = (
    ("plots", "plots.geojson"),
    ("logs", "activity_logs_baseline.csv"),
    ("logs", "activity_logs_project.xlsx"),
    ("soil", "soil_samples.csv"),
)


def ingest_sample(session: Session, project_json: dict, sample_dir: Path, settings: Settings) -> list[dict]:
    """Ingest the sample county's files; return one row per upload (status and row counts)."""
    from mrv_service.ingest import ingest_logs, ingest_plots, ingest_soil

    funcs = {"plots": ingest_plots, "logs": ingest_logs, "soil": ingest_soil}
    project = ensure_project_from_json(session, project_json)
    session.commit()
    rows = []
    for kind, name in SAMPLE_UPLOADS:
        report = funcs[kind](
            session, project.name, sample_dir / name, uploaded_by="mrv demo", id_salt=settings.id_salt
        )
        rows.append({"file": name, "kind": kind, **_report_counts(report)})
    return rows


#: Row counts of an upload report shown in the demo summary.
REPORT_COUNTS = (
    "status",
    "rows_total",
    "rows_accepted",
    "rows_rejected",
    "rows_warned",
    "rows_inserted",
    "rows_updated",
    "rows_unchanged",
)


def _report_counts(report) -> dict[str, Any]:
    d = report.to_dict()
    return {k: d[k] for k in REPORT_COUNTS if k in d}


def load_plots(session: Session, project: Project) -> gpd.GeoDataFrame:
    """The project's plots as a GeoDataFrame in EPSG:4326 (plot_id, farmer, area_ha, geometry)."""
    rows = session.execute(
        select(Plot.external_id, Plot.area_ha, Plot.geometry_wkt, Farmer.external_id, Farmer.village)
        .join(Farmer, Plot.farmer_id == Farmer.id, isouter=True)
        .where(Plot.project_id == project.id)
        .order_by(Plot.external_id)
    ).all()
    return gpd.GeoDataFrame(
        {
            "plot_id": [r[0] for r in rows],
            "area_ha": [r[1] for r in rows],
            "farmer_id": [r[3] for r in rows],
            "village": [r[4] for r in rows],
        },
        geometry=shapely.from_wkt([r[2] for r in rows]),
        crs="EPSG:4326",
    )


def load_activities(session: Session, project: Project) -> pd.DataFrame:
    """The project's activity records in the canonical schema (DATA_FORMATS.md section 2)."""
    rows = session.execute(
        select(
            Plot.external_id,
            ActivityRecord.date,
            ActivityRecord.activity,
            ActivityRecord.crop,
            ActivityRecord.method,
            ActivityRecord.attributes,
        )
        .join(Plot, ActivityRecord.plot_id == Plot.id)
        .where(Plot.project_id == project.id)
    ).all()
    records = []
    for pid, date, activity, crop, method, attrs in rows:
        rec = dict(attrs or {})
        rec.update(plot_id=pid, date=pd.Timestamp(date), activity=activity, crop=crop, method=method)
        records.append(rec)
    return pd.DataFrame.from_records(records)


def load_initial_soc(session: Session, project: Project, plot_ids: list[str], depth_cm: float) -> pd.Series:
    """Initial SOC stock [t C ha-1] of the 0-``depth_cm`` layer per plot.

    A sampling site is a plot on one sampling date; its layers (one lab result each) must cover
    0-``depth_cm`` without gaps, and their stocks are summed. A plot's stock is the mean over its
    sites. Plots without samples get the project mean of the sampled plots (one stratum, as the
    sample county has one soil class; stratified estimates come with the sampling design).
    """
    rows = session.execute(
        select(
            Plot.external_id,
            SoilSample.date,
            SoilSample.depth_top_cm,
            SoilSample.depth_bottom_cm,
            SoilSample.soc_stock_t_ha,
        )
        .join(Plot, SoilSample.plot_id == Plot.id)
        .where(SoilSample.project_id == project.id, SoilSample.soc_stock_t_ha.is_not(None))
    ).all()
    df = pd.DataFrame(rows, columns=["plot_id", "date", "top", "bottom", "stock"])
    df = df[(df["top"] >= 0) & (df["bottom"] <= depth_cm)]
    df["thick"] = df["bottom"] - df["top"]
    sites = df.groupby(["plot_id", "date"]).agg(
        stock=("stock", "sum"), thick=("thick", "sum"), top=("top", "min")
    )
    sites = sites[(sites["top"] == 0) & np.isclose(sites["thick"], depth_cm)]
    per_plot = sites.groupby("plot_id")["stock"].mean()
    if per_plot.empty:
        raise ValueError(f"project {project.name!r} has no soil samples covering 0-{depth_cm:g} cm")
    out = pd.Series(per_plot.mean(), index=pd.Index(plot_ids, name="plot"), name="soc_initial")
    out.loc[out.index.intersection(per_plot.index)] = per_plot
    return out


def read_weather(path: Path) -> xr.Dataset:
    """Monthly weather CSV (year, month, tmean_degC, precip_mm, pan_evap_mm) as RothC forcing."""
    df = pd.read_csv(path)
    months = pd.to_datetime(dict(year=df["year"], month=df["month"], day=1))
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
        coords={"month": months.to_numpy()},
    )


# --- stage 3: imagery ---------------------------------------------------------------------------


def imagery_features(settings: Settings, plots: gpd.GeoDataFrame) -> tuple[xr.Dataset, dict]:
    """Per-plot Sentinel-2 time series over the sample county catalog (or ``MRV_STAC_URL``)."""
    from geodata.pipeline import plot_time_series

    source = settings.stac_url or str(settings.sample_dir / "imagery" / "catalog.json")
    client = None
    if settings.dask_scheduler:
        from dask.distributed import Client

        client = Client(settings.dask_scheduler)
    from tqdm import tqdm

    with tqdm(desc="imagery", unit="scene", leave=False) as bar:
        ds = plot_time_series(source, plots[["plot_id", "geometry"]], dask_client=client, progress=bar.update)
    valid = ds["usable"]
    stats = {
        "scenes": int(ds.sizes.get("time", 0)),
        "plot_dates": int(ds.sizes.get("plot", 0) * ds.sizes.get("time", 0)),
        "usable_plot_dates": int(valid.sum()),
        "plots_with_usable_dates": int(valid.any("time").sum()),
    }
    return ds, stats


# --- stage 4: soil-carbon models ----------------------------------------------------------------


def soil_carbon(
    activities: pd.DataFrame,
    weather: xr.Dataset,
    plots: gpd.GeoDataFrame,
    soc_initial: pd.Series,
    project_json: dict,
    draws: xr.Dataset | None = None,
) -> tuple[ScenarioResult, dict]:
    """RothC baseline and project scenarios for every plot, with project totals."""
    # The soil samples date from the end of the baseline, so the run starts at the project
    # start from the measured stock (spun up under the baseline practice) and covers every
    # project year.
    years = sorted(project_json["project_years"])
    ids = plots["plot_id"].astype(str).tolist()
    soil = xr.Dataset(
        {
            "clay": ("plot", np.full(len(ids), DEFAULT_CLAY_PCT), {"units": "%"}),
            "soc_initial": ("plot", soc_initial.reindex(ids).to_numpy(float), {"units": "t C ha-1"}),
        },
        coords={"plot": ids},
    )
    result = run_scenarios(
        activities,
        weather,
        soil,
        start=project_json["crediting_period"]["start"],
        end=f"{years[-1]}-12",
        project_start=project_json["crediting_period"]["start"],
        spinup_start=f"{min(project_json['baseline_years'])}-01",
        spinup_end=f"{max(project_json['baseline_years'])}-12",
        draws=draws,
    )
    area = xr.DataArray(plots["area_ha"].to_numpy(float), dims="plot", coords={"plot": ids})
    total_c = float((result.delta_soc * area).sum())
    stats = {
        "model": "RothC-26.3",
        "run": f"{years[0]}-01 to {years[-1]}-12",
        "mean_initial_soc_t_c_ha": round(float(soil["soc_initial"].mean()), 3),
        "mean_delta_soc_t_c_ha": round(float(result.delta_soc.mean()), 4),
        "total_delta_soc_t_c": round(total_c, 2),
        "total_delta_soc_t_co2e": round(total_c * C_TO_CO2, 2),
        "note": "project minus baseline SOC stock change, 0-30 cm, before leakage, uncertainty and buffer deductions",
    }
    return result, stats


#: Monte Carlo of the demo: number of draws and seed.
MC_DRAWS = 100
MC_SEED = 20261121


def soil_carbon_uncertainty(
    activities: pd.DataFrame,
    weather: xr.Dataset,
    plots: gpd.GeoDataFrame,
    soc_initial: pd.Series,
    project_json: dict,
    *,
    n_draws: int = MC_DRAWS,
    seed: int = MC_SEED,
) -> dict:
    """Monte Carlo of the project total: all draws of all plots in one RothC call per scenario.

    Uncertain inputs (95 % ranges; the distributions are in :mod:`models.montecarlo`):

    * initial SOC per plot, independent: +/-20 % (a within-field CV of about 10 %, the low end of
      the 10-20 % in shared/domain/china_sample_context.md section 3, unverified there);
    * clay per plot, independent: 25-35 % (NE black soils, same source, unverified);
    * plant C input, shared by all plots: +/-20 % (residue-to-yield ratios and C fraction; an
      assumed range until the methodology fixes one);
    * temperature, shared: +/-1 degC (the spread of annual means around the 1991-2020 normals).

    Shared draws move every plot together, so the total's interval keeps their correlation.
    """
    from models.montecarlo import ParameterSpec, draw_parameters, summarize_total

    ids = plots["plot_id"].astype(str).tolist()
    rng = np.random.default_rng(seed)
    shared = draw_parameters(
        {"c_inp_factor": (1.0, 0.8, 1.2), "tmp_offset": (0.0, -1.0, 1.0)}, n_draws, random_state=rng
    )
    per_plot = draw_parameters(
        {
            "soc_factor": ParameterSpec(1.0, 0.8, 1.2, per_plot=True),
            "clay": ParameterSpec(30.0, 25.0, 35.0, kind="uniform", per_plot=True, units="%"),
        },
        n_draws,
        plots=ids,
        random_state=rng,
    )
    soc0 = xr.DataArray(soc_initial.reindex(ids).to_numpy(float), dims="plot", coords={"plot": ids})
    draws = xr.merge([shared, per_plot.drop_vars("soc_factor")])
    draws["soc_initial"] = (soc0 * per_plot["soc_factor"]).assign_attrs(units="t C ha-1")
    result, _ = soil_carbon(activities, weather, plots, soc_initial, project_json, draws=draws)
    area = xr.DataArray(
        plots["area_ha"].to_numpy(float), dims="plot", coords={"plot": ids}, attrs={"units": "ha"}
    )
    total = summarize_total(result.delta_soc, area)
    to_co2 = {k: round(float(total[k]) * C_TO_CO2, 1) for k in ("mean", "sd", "p2_5", "p50", "p97_5")}
    return {
        "draws": n_draws,
        "seed": seed,
        "total_t_co2e_mean": to_co2["mean"],
        "total_t_co2e_sd": to_co2["sd"],
        "total_t_co2e_p2_5": to_co2["p2_5"],
        "total_t_co2e_p97_5": to_co2["p97_5"],
        "relative_half_width_95": round((to_co2["p97_5"] - to_co2["p2_5"]) / 2 / to_co2["mean"], 4),
    }


def tier1_estimate(
    activities: pd.DataFrame, plots: gpd.GeoDataFrame, weather: xr.Dataset, project_json: dict
) -> dict:
    """IPCC Tier 1 (2019 Refinement) annual SOC change, baseline practice vs the logged project practice."""
    last = max(project_json["project_years"])
    acts = activities[pd.to_datetime(activities["date"]).dt.year == last]
    till = acts[acts["activity"] == "tillage"].groupby("plot_id")["method"].last()
    res = acts[acts["activity"] == "residue"].groupby("plot_id")["method"].last()
    ids = plots["plot_id"].astype(str)
    tillage = ids.map(till).map({"no_till": "no_till", "reduced": "reduced_till"}).fillna("full_till")
    inputs = ids.map(res).map({"retained": "medium", "mulched": "medium"}).fillna("low")
    clim = climatology(weather)
    mat = float(clim["tmp"].mean())
    map_mm = float(clim["rain"].sum())
    # PET from open-pan evaporation with RothC's own pan factor 0.75 (Coleman & Jenkinson,
    # RothC-26.3 guide, "evaporation ... multiplied by 0.75"; MODEL_NOTES.md step 2).
    pet_mm = 0.75 * float(clim["evap"].sum())
    zone = ipcc_tier1.ipcc_climate_zone(mat, map_mm, pet_mm)
    res_t1 = ipcc_tier1.tier1_stock_change(
        zone,
        DEFAULT_SOIL_CLASS,
        start={"tillage": "full_till", "input_level": "low"},
        end={"tillage": tillage.to_numpy(), "input_level": inputs.to_numpy()},
    )
    delta = np.asarray(res_t1.delta_c, dtype=float)
    total = float((delta * plots["area_ha"].to_numpy(float)).sum())
    return {
        "method": "IPCC 2019 Refinement Tier 1 (D = 20 yr, 0-30 cm)",
        "climate_zone": str(zone),
        "soil_class": DEFAULT_SOIL_CLASS,
        "plots_no_till": int((tillage == "no_till").sum()),
        "annual_delta_soc_t_c": round(total, 2),
        "annual_delta_soc_t_co2e": round(total * C_TO_CO2, 2),
    }


# --- the whole job ------------------------------------------------------------------------------


def run_demo(settings: Settings, echo: Echo = print) -> dict[str, Any]:
    """Run every stage on the sample county; write outputs and ``summary.json`` to the output dir."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out = settings.output_dir
    out.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    project_json = ensure_sample(settings.sample_dir, echo)
    timings["sample_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    engine = make_engine(settings.database_url)
    init_db(engine)
    with session_scope(engine) as session:
        uploads = ingest_sample(session, project_json, settings.sample_dir, settings)
        project = session.scalars(select(Project).where(Project.name == project_json["name"])).one()
        store_summary = project_summary(session, project.name)
        plots = load_plots(session, project)
        activities = load_activities(session, project)
        soc0 = load_initial_soc(session, project, plots["plot_id"].tolist(), depth_cm=30.0)
    timings["ingest_s"] = time.perf_counter() - t
    for u in uploads:
        if u.get("status") == "already_ingested":
            echo(f"ingest {u['file']}: already ingested (same SHA-256), nothing changed")
        else:
            echo(
                f"ingest {u['file']}: {u.get('status')} ({u.get('rows_accepted', 0)} rows accepted, "
                f"{u.get('rows_inserted', 0)} inserted, {u.get('rows_unchanged', 0)} unchanged, "
                f"{u.get('rows_warned', 0)} with warnings)"
            )

    t = time.perf_counter()
    features, imagery_stats = imagery_features(settings, plots)
    features.to_netcdf(out / "plot_features.nc")
    timings["imagery_s"] = time.perf_counter() - t
    echo(f"imagery: {imagery_stats['usable_plot_dates']} usable plot-dates of {imagery_stats['plot_dates']}")

    t = time.perf_counter()
    weather = read_weather(settings.sample_dir / "weather_monthly.csv")
    result, rothc_stats = soil_carbon(activities, weather, plots, soc0, project_json)
    rothc_stats["monte_carlo"] = soil_carbon_uncertainty(activities, weather, plots, soc0, project_json)
    tier1_stats = tier1_estimate(activities, plots, weather, project_json)
    per_plot = pd.DataFrame(
        {
            "plot_id": plots["plot_id"],
            "area_ha": plots["area_ha"].round(4),
            "soc_initial_t_c_ha": np.round(result.initial["SOC"].values, 3),
            "soc_baseline_end_t_c_ha": np.round(result.baseline["SOC"].isel(month=-1).values, 3),
            "soc_project_end_t_c_ha": np.round(result.project["SOC"].isel(month=-1).values, 3),
            "delta_soc_t_c_ha": np.round(result.delta_soc.values, 4),
        }
    )
    per_plot.to_csv(out / "plot_soc.csv", index=False)
    timings["models_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    summary = {
        "project": project_json["name"],
        "project_zh": project_json.get("name_zh"),
        "methodology_id": project_json.get("methodology_id"),
        "store": store_summary,
        "uploads": uploads,
        "imagery": imagery_stats,
        "rothc": rothc_stats,
        "ipcc_tier1": tier1_stats,
        "outputs": ["summary.json", "plot_features.nc", "plot_soc.csv"],
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return summary
