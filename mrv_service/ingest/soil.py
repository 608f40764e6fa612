"""Ingest soil-sample lab results (CSV or XLSX) with derived SOC and SOC stock.

DATA_FORMATS.md section 3. Where only soil organic matter (SOM) is given, SOC is derived with the
conventional van Bemmelen factor (:data:`SOM_TO_SOC`); the layer's SOC stock follows
:func:`soc_stock_t_ha`. Samples are upserted on (project, sample_id).

Beyond the values of a row, the ingest checks:

* the sampling date: required, not in the future, not before :data:`SAMPLE_DATE_MIN`;
* coordinates (lon/lat): recognised when swapped, inside China, and within the setting
  ``plots.max_distance_km`` of the project's region centre (as plots are);
* the layers of one sampling site (the same plot, or the same point, on the same date): they
  must start at 0 cm and follow each other without overlap or gap, together with the samples of
  that site already stored (a sample re-uploaded under its ``sample_id`` replaces its old layer;
  :mod:`~mrv_service.ingest.soil_layers`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from geodata.plots import distance_km, in_china, looks_swapped
from models.units import SOM_TO_SOC
from mrv_service.ingest.cells import (
    CellError,
    is_blank,
    number_cell,
    parse_date,
    parse_id,
    parse_number,
    stored_length,
    text_cell,
)
from mrv_service.ingest.fields import SOIL_FIELDS
from mrv_service.ingest.region import project_region
from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.soil_layers import check_layers, stored_layers
from mrv_service.ingest.upload import begin_upload, read_upload_table
from mrv_service.ingest.vocabularies import SOIL_METHODS, normalise_token
from mrv_service.store.models import Plot, SoilSample

__all__ = ["SOM_TO_SOC", "SAMPLE_DATE_MIN", "soc_from_som", "soc_stock_t_ha", "ingest_soil"]

SAMPLE_DATE_MIN = dt.date(1950, 1, 1)
"""Earliest accepted sampling date (a service choice): the baselines of a soil-carbon project
rest on recent samples, and an earlier date is a typing mistake (1923 for 2023) or an empty
spreadsheet date (1899-12-30)."""


def soc_from_som(som_g_kg: Any) -> Any:
    """SOC from SOM: SOC [g/kg] = SOM [g/kg] x 0.58 (:data:`SOM_TO_SOC`).

    Examples
    --------
    >>> round(soc_from_som(25.0), 3)  # 25 g/kg SOM
    14.5
    """
    return som_g_kg * SOM_TO_SOC


def soc_stock_t_ha(soc_g_kg: Any, bulk_density_g_cm3: Any, depth_cm: Any, coarse_fraction: Any = 0.0) -> Any:
    """SOC stock of a soil layer [t C/ha].

    Parameters
    ----------
    soc_g_kg : numeric
        SOC content of the fine earth [g C kg-1].
    bulk_density_g_cm3 : numeric
        Bulk density [g cm-3].
    depth_cm : numeric
        Layer thickness [cm].
    coarse_fraction : numeric
        Volume fraction of coarse fragments (> 2 mm) [1].

    Returns
    -------
    numeric
        SOC stock [t C ha-1].

    Notes
    -----
    stock = SOC x BD x depth x (1 - coarse) x 0.1 (DATA_FORMATS.md section 3): g/kg x g/cm3 x cm
    gives 1e-3 g C per cm2, and 1e-3 g/cm2 = 1e-9 t / 1e-8 ha = 0.1 t C/ha.

    Examples
    --------
    >>> soc_stock_t_ha(10.0, 1.3, 20.0)  # 1 % SOC, BD 1.3, 0-20 cm
    26.0
    """
    return soc_g_kg * bulk_density_g_cm3 * depth_cm * (1.0 - coarse_fraction) * 0.1


def _plot_for_points(lon: list[float], lat: list[float], plot_geoms: np.ndarray) -> np.ndarray:
    """Index of the plot containing each point (-1 when none), via an STRtree."""
    out = np.full(len(lon), -1)
    if len(plot_geoms) == 0 or len(lon) == 0:
        return out
    tree = shapely.STRtree(plot_geoms)
    pts = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    p_idx, g_idx = tree.query(pts, predicate="within")
    out[p_idx] = g_idx
    return out


def ingest_soil(
    session: Session,
    project_name: str,
    path: str | Path,
    *,
    uploaded_by: str = "cli",
    id_salt: str | None = None,
) -> UploadReport:
    """Validate a soil-sample file and upsert its samples with derived SOC and stock.

    Parameters
    ----------
    session : Session
        Committed by the function (accepted upload, or the rejected ``Upload`` row).
    project_name : str
        Existing project.
    path : path
        CSV or XLSX lab results (DATA_FORMATS.md section 3).
    uploaded_by : str
        Who uploaded it.
    id_salt : str, optional
        Unused; accepted so all ingest functions share a signature.

    Returns
    -------
    UploadReport

    Raises
    ------
    IngestError
        When any row has an error (nothing written; the upload is recorded as rejected).
    """
    del id_salt
    run = begin_upload(session, project_name, path, "soil", uploaded_by)
    if run.already_ingested:
        return run.report
    project, report = run.project, run.report
    table = read_upload_table(run, SOIL_FIELDS)
    columns = table.columns
    if "soc" not in columns and "som" not in columns:
        report.error(
            None,
            None,
            "neither an SOC (有机碳) nor an SOM (有机质) column",
            "add the lab's SOC or SOM column [g/kg]",
        )
    if "plot_id" not in columns and not ("lon" in columns and "lat" in columns):
        report.error(
            None,
            None,
            "neither plot_id (地块编号) nor lon/lat (经度/纬度) columns",
            "add the plot id or the coordinates",
        )
    run.reject_if_errors()

    stored_plots = session.execute(
        select(Plot.id, Plot.external_id, Plot.geometry_wkt).where(Plot.project_id == project.id)
    ).all()
    plot_pk = {r.external_id: r.id for r in stored_plots}
    plot_ext = {r.id: r.external_id for r in stored_plots}
    centre, max_km = project_region(project)
    today = dt.date.today()
    limits = {name: stored_length(SoilSample, name) for name in ("sample_id", "lab", "method")}
    parsed: list[dict[str, Any]] = []
    first_row: dict[str, int] = {}
    point_rows: list[int] = []

    for row_no, values in table.rows:
        row = table.row(report, row_no, values)
        cell, err, warn = row.cell, row.error, row.warning
        start = len(report.issues)
        num: dict[str, float | None] = {}
        swapped = False
        if "lon" in columns and "lat" in columns:
            try:
                x, y = parse_number(cell("lon")), parse_number(cell("lat"))
            except ValueError:
                x = y = None
            if x is not None and y is not None and bool(looks_swapped(x, y)):
                swapped = True
                err(
                    "lon",
                    f"longitude and latitude look swapped: the longitude {x:g} is in China's latitude "
                    f"range and the latitude {y:g} in its longitude range",
                    "swap the two columns: 经度/lon is the longitude (east, 73-135), 纬度/lat the "
                    "latitude (north, 18-54)",
                )
        for name, c in columns.items():
            if c.spec.kind == "number":
                if swapped and name in ("lon", "lat"):
                    num[name] = None
                    continue
                try:
                    num[name] = number_cell(c, cell(name))
                except CellError as exc:
                    err(name, exc.message, exc.fix)
                    num[name] = None
        sample_id = parse_id(cell("sample_id"))
        if sample_id is not None:
            try:
                text_cell(sample_id, "the sample id", limits["sample_id"])
            except CellError as exc:
                err("sample_id", exc.message, exc.fix)
                sample_id = None
        if sample_id is None:
            if is_blank(cell("sample_id")):
                err("sample_id", "sample_id is empty", "enter the lab's sample id (样品编号)")
        elif sample_id in first_row:
            err(
                "sample_id",
                f"sample_id {sample_id!r} already used in row {first_row[sample_id]}",
                "give every sample its own id",
            )
        else:
            first_row[sample_id] = row_no
        plot_ref = parse_id(cell("plot_id"))
        plot_id = None
        lon, lat = num.get("lon"), num.get("lat")
        if plot_ref is not None:
            plot_id = plot_pk.get(plot_ref)
            if plot_id is None:
                err(
                    "plot_id",
                    f"plot {plot_ref!r} is not in project {project.name!r}",
                    "correct the plot id, or upload the plot first",
                )
        elif (lon is None or lat is None) and not swapped:
            err(
                "plot_id",
                "neither a plot_id nor lon/lat",
                "enter the plot id (地块编号) or the sampling point's 经度/纬度 (EPSG:4326)",
            )
        if lon is not None and lat is not None:
            if not in_china(lon, lat):
                err(
                    "lon",
                    f"the point ({lon:g}, {lat:g}) lies outside China",
                    "check the coordinates: 经度/lon is the longitude (east), 纬度/lat the latitude "
                    "(north), in degrees (EPSG:4326)",
                )
            elif centre is not None:
                km = float(distance_km(lon, lat, *centre))
                if km > max_km:
                    err(
                        "lon",
                        f"the point ({lon:g}, {lat:g}) lies {km:.1f} km from the project's county centre "
                        f"({centre[0]:.4f}, {centre[1]:.4f}) given in project.json, farther than the "
                        f"{max_km:g} km allowed",
                        "check the coordinates, or the project's region (region.lon/lat in "
                        "project.json; the distance allowed is the setting plots.max_distance_km)",
                    )
        raw_date = cell("date")
        date = None
        try:
            date = parse_date(raw_date)
        except (ValueError, TypeError):
            err("date", f"{raw_date!r} is not a date", "write dates as YYYY-MM-DD, e.g. 2023-10-08")
        else:
            if date is None:
                err(
                    "date", "the sampling date is empty", "enter the date the samples were taken (YYYY-MM-DD)"
                )
            elif date > today:
                err("date", f"{date.isoformat()} is in the future", "enter the date the samples were taken")
                date = None
            elif date < SAMPLE_DATE_MIN:
                err(
                    "date",
                    f"{date.isoformat()} is before {SAMPLE_DATE_MIN.year}",
                    "enter the date the samples were taken (a typing mistake, or an empty spreadsheet "
                    "date shown as 1899/1900?)",
                )
                date = None
        top, bottom = num.get("depth_top"), num.get("depth_bottom")
        if top is None and "depth_top" in columns and is_blank(cell("depth_top")):
            err("depth_top", "the top depth is empty", "enter the layer's top depth in cm (e.g. 0)")
        if bottom is None and "depth_bottom" in columns and is_blank(cell("depth_bottom")):
            err("depth_bottom", "the bottom depth is empty", "enter the layer's bottom depth in cm (e.g. 20)")
        if top is not None and bottom is not None and bottom <= top:
            err(
                "depth_bottom",
                f"bottom depth {bottom:g} cm is not below the top depth {top:g} cm",
                "enter depths as distances from the surface, top < bottom (e.g. 0 and 20)",
            )
        soc_in, som = num.get("soc"), num.get("som")
        soc = (
            soc_in if soc_in is not None else (float(f"{soc_from_som(som):.9g}") if som is not None else None)
        )
        if soc is None:
            soc_headers = {columns[n].header for n in ("soc", "som") if n in columns}
            if not any(i.column in soc_headers for i in report.issues[start:]):
                err(
                    "soc" if "soc" in columns else "som",
                    "neither SOC nor SOM is given",
                    "enter the lab's SOC or SOM [g/kg]",
                )
        bd = num.get("bulk_density")
        coarse = num.get("coarse_fraction") or 0.0
        stock = None
        if bd is None:
            warn(
                "bulk_density",
                "no bulk density: the SOC stock cannot be computed",
                "add the bulk density (容重) in g/cm3",
            )
        raw_method = cell("method")
        method = None if is_blank(raw_method) else SOIL_METHODS.get(normalise_token(raw_method))
        lab = None
        try:
            if method is None:
                method = text_cell(raw_method, "the method", limits["method"])
        except CellError as exc:
            err("method", exc.message, exc.fix)
        try:
            lab = text_cell(cell("lab"), "the lab", limits["lab"])
        except CellError as exc:
            err("lab", exc.message, exc.fix)
        if any(i.severity == "error" for i in report.issues[start:]):
            continue
        assert sample_id is not None and top is not None and bottom is not None and soc is not None
        if bd is not None:
            stock = float(f"{soc_stock_t_ha(soc, bd, bottom - top, coarse):.9g}")
        if plot_id is None:
            point_rows.append(len(parsed))
        parsed.append(
            {
                "sample_id": sample_id,
                "plot_id": plot_id,
                "lon": lon,
                "lat": lat,
                "date": date,
                "depth_top_cm": top,
                "depth_bottom_cm": bottom,
                "soc_measured_g_kg": soc_in,
                "som_g_kg": som,
                "bulk_density_g_cm3": bd,
                "coarse_fraction": coarse,
                "lab": lab,
                "method": method,
                "soc_g_kg": soc,
                "soc_stock_t_ha": stock,
                "source_row": row_no,
            }
        )

    check_layers(report, table, columns, parsed, stored_layers(session, project.id, parsed), plot_ext)
    run.reject_if_errors()

    if point_rows:  # samples given by coordinates: the plot that contains the point
        geoms = shapely.from_wkt([r.geometry_wkt for r in stored_plots]) if stored_plots else np.array([])
        hit = _plot_for_points(
            [parsed[k]["lon"] for k in point_rows], [parsed[k]["lat"] for k in point_rows], geoms
        )
        for k, h in zip(point_rows, hit, strict=True):
            if h >= 0:
                parsed[k]["plot_id"] = stored_plots[h].id
            else:
                report.warning(
                    parsed[k]["source_row"],
                    columns["lon"].header,
                    f"point ({parsed[k]['lon']:.6f}, {parsed[k]['lat']:.6f}) lies in no plot of the project; stored without a plot",
                    "check the coordinates (longitude first, EPSG:4326)",
                )

    run.record()
    fields = [k for k in parsed[0] if k not in ("sample_id", "source_row")] if parsed else []
    existing = {
        r.sample_id: r
        for r in session.execute(
            select(SoilSample.id, SoilSample.sample_id, *[getattr(SoilSample, f) for f in fields]).where(
                SoilSample.project_id == project.id
            )
        )
    }
    run.upsert(
        SoilSample, parsed, existing, key=lambda rec: rec["sample_id"], fields=fields, project_id=project.id
    )
    return run.finish()
