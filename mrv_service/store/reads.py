"""What a run reads from the store: a project's plots, activity records, soil layers and uploads,
each as a table in canonical units, and a SHA-256 digest of every table read (for the run manifest).

These are the only queries of the run; the stages receive the tables, never a session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from mrv_service.store.models import ActivityRecord, Farmer, Plot, Project, SoilSample, Upload

__all__ = [
    "ACTIVITY_COLUMNS",
    "RowsDigest",
    "activities_frame",
    "load_activities",
    "load_plots",
    "load_soil_layers",
    "load_uploads",
    "plot_digest_rows",
    "plot_keys",
    "plots_frame",
    "rows_digest",
    "stream_activities",
    "stream_plots",
]


def rows_digest(rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """Row count and SHA-256 of rows in a canonical JSON form (one line per row, as given).

    Callers pass rows in a deterministic order (sorted by a natural key), so the same stored
    data gives the same digest on SQLite and PostgreSQL.
    """
    digest = RowsDigest()
    digest.update(rows)
    return digest.result()


class RowsDigest:
    """:func:`rows_digest` of rows given in batches (the same digest as of all rows at once)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._n = 0

    def update(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self._h.update(
                json.dumps([_canonical(v) for v in row], ensure_ascii=False, sort_keys=True).encode()
            )
            self._h.update(b"\n")
            self._n += 1

    def result(self) -> dict[str, Any]:
        return {"rows": self._n, "sha256": self._h.hexdigest()}


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    return value


def load_plots(session: Session, project: Project) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The project's plots in EPSG:4326, sorted by plot id, and their digest.

    Returns
    -------
    plots : geopandas.GeoDataFrame
        ``plot_id``, ``farmer_id``, ``village``, ``area_ha`` [ha], ``geometry`` (EPSG:4326).
    digest : dict
        :func:`rows_digest` of (plot_id, farmer_id, area_ha, geometry WKT).
    """
    rows = session.execute(_plots_query(project)).all()
    return plots_frame(rows), rows_digest(plot_digest_rows(rows))


def stream_plots(session: Session, project: Project, batch: int = 20_000) -> Iterator[Sequence[Any]]:
    """The rows of :func:`load_plots` in batches of at most ``batch`` (a server-side cursor on
    PostgreSQL), in the same order: build tables with :func:`plots_frame`, digest with
    :class:`RowsDigest` over :func:`plot_digest_rows`."""
    result = session.execute(_plots_query(project).execution_options(yield_per=batch))
    yield from result.partitions()


def _plots_query(project: Project):
    return (
        select(Plot.external_id, Plot.area_ha, Plot.geometry_wkt, Farmer.external_id, Farmer.village)
        .join(Farmer, Plot.farmer_id == Farmer.id, isouter=True)
        .where(Plot.project_id == project.id)
        .order_by(Plot.external_id)
    )


def plot_digest_rows(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """What the plots' digest hashes of each store row: (plot_id, farmer_id, area_ha, WKT)."""
    return ((r[0], r[3], r[1], r[2]) for r in rows)


def plots_frame(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """The plots' table (:func:`load_plots`) of plot rows as the store gives them."""
    return gpd.GeoDataFrame(
        {
            "plot_id": [r[0] for r in rows],
            "farmer_id": [r[3] for r in rows],
            "village": [r[4] for r in rows],
            "area_ha": [float(r[1]) for r in rows],
        },
        geometry=shapely.from_wkt([r[2] for r in rows]) if len(rows) else [],
        crs="EPSG:4326",
    )


PLOT_KEYS_PER_QUERY = 5_000
"""Plot ids looked up per query by :func:`plot_keys` (PostgreSQL takes at most 65,535 bound
parameters in one statement)."""


def plot_keys(session: Session, project_id: int, external_ids: Iterable[str]) -> dict[str, int]:
    """The store keys of the named plots of a project (ids it does not have are left out),
    through the (project, external id) unique index: a run's block of rows is matched to its
    plots without reading every plot of the project."""
    wanted = sorted({str(i) for i in external_ids})
    keys: dict[str, int] = {}
    for k in range(0, len(wanted), PLOT_KEYS_PER_QUERY):
        part = wanted[k : k + PLOT_KEYS_PER_QUERY]
        keys.update(
            session.execute(
                select(Plot.external_id, Plot.id).where(
                    Plot.project_id == project_id, Plot.external_id.in_(part)
                )
            ).all()
        )
    return keys


def load_activities(session: Session, project: Project) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The project's activity records in the canonical schema (DATA_FORMATS.md section 2).

    Returns
    -------
    activities : pandas.DataFrame
        ``plot_id``, ``date`` (Timestamp), ``activity``, ``crop``, ``method`` and one column per
        attribute present (canonical units), sorted by plot, date and natural key.
    digest : dict
    """
    rows = session.execute(_activities_query(project)).all()
    return activities_frame(rows), rows_digest(rows)


def stream_activities(session: Session, project: Project, batch: int = 100_000) -> Iterator[Sequence[Any]]:
    """The rows of :func:`load_activities` in batches of at most ``batch``, read with a
    server-side cursor (PostgreSQL): the rows are never all in memory. Build tables with
    :func:`activities_frame`, digest with :class:`RowsDigest`."""
    result = session.execute(_activities_query(project).execution_options(yield_per=batch))
    yield from result.partitions()


def _activities_query(project: Project):
    return (
        select(
            Plot.external_id,
            ActivityRecord.date,
            ActivityRecord.natural_key,
            ActivityRecord.activity,
            ActivityRecord.crop,
            ActivityRecord.method,
            ActivityRecord.attributes,
        )
        .join(Plot, ActivityRecord.plot_id == Plot.id)
        .where(Plot.project_id == project.id)
        .order_by(Plot.external_id, ActivityRecord.date, ActivityRecord.natural_key)
    )


ACTIVITY_COLUMNS = ("plot_id", "date", "activity", "crop", "method")
"""The columns every activity record has, after its attributes' (:func:`activities_frame`)."""


def activities_frame(rows: Iterable[Sequence[Any]]) -> pd.DataFrame:
    """The canonical table (:func:`load_activities`) of activity rows as the store gives them."""
    records = []
    for pid, date, _key, activity, crop, method, attrs in rows:
        rec = dict(attrs or {})
        rec.update(plot_id=pid, date=pd.Timestamp(date), activity=activity, crop=crop, method=method)
        records.append(rec)
    return pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=list(ACTIVITY_COLUMNS))


def load_soil_layers(session: Session, project: Project) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The project's soil-sample layers that have a plot and an SOC stock.

    Returns
    -------
    layers : pandas.DataFrame
        ``sample_id``, ``plot_id``, ``date``, ``top`` and ``bottom`` [cm], ``stock`` [t C ha-1],
        ``soc_g_kg`` [g kg-1], ``bulk_density`` [g cm-3].
    digest : dict
        Over every sample of the project (also those without a plot or stock).
    """
    rows = session.execute(
        select(
            SoilSample.sample_id,
            Plot.external_id,
            SoilSample.date,
            SoilSample.depth_top_cm,
            SoilSample.depth_bottom_cm,
            SoilSample.soc_stock_t_ha,
            SoilSample.soc_g_kg,
            SoilSample.bulk_density_g_cm3,
        )
        .join(Plot, SoilSample.plot_id == Plot.id, isouter=True)
        .where(SoilSample.project_id == project.id)
        .order_by(SoilSample.sample_id)
    ).all()
    cols = ["sample_id", "plot_id", "date", "top", "bottom", "stock", "soc_g_kg", "bulk_density"]
    df = pd.DataFrame([tuple(r) for r in rows], columns=cols)
    usable = df[df["plot_id"].notna() & df["stock"].notna()].reset_index(drop=True)
    return usable, rows_digest(rows)


def load_uploads(session: Session, project: Project) -> list[dict[str, Any]]:
    """The project's accepted uploads: kind, file name, SHA-256, who and when, row counts."""
    rows = session.scalars(
        select(Upload).where(Upload.project_id == project.id, Upload.status == "accepted").order_by(Upload.id)
    ).all()
    return [
        {
            "upload_id": u.id,
            "kind": u.kind,
            "file": u.file_name,
            "sha256": u.sha256,
            "uploaded_by": u.uploaded_by,
            "uploaded_at": u.uploaded_at.isoformat(timespec="seconds") if u.uploaded_at else None,
            "rows_total": u.rows_total,
            "rows_inserted": u.rows_inserted,
            "rows_updated": u.rows_updated,
        }
        for u in rows
    ]
