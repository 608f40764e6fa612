"""Ingest a plot file (GeoJSON, GeoPackage, zipped Shapefile) into the store.

Reading the file is :mod:`~mrv_service.ingest.plot_files`; the geometry checks are
:func:`geodata.plots.measure_plot_geometries` (slice by slice) and
:func:`geodata.plots.check_plot_overlaps`; validating and writing happen here.
One upload is one transaction, and any error rejects the whole file (nothing written, the upload
recorded as rejected with its report). Once the attributes passed, the new plots are sent to the
store a slice at a time while the next slice is checked
(:class:`~mrv_service.ingest.copy_stream.CopyStream`); an error found later rolls them back with
the rest. Writes are keyed on (project, plot_id), so the same plots uploaded again change nothing.

Besides the geometry, the ingest checks what only it knows: the project's region (plots farther
than the setting ``plots.max_distance_km`` from ``region.lon``/``region.lat`` are errors), the
sizes of the store columns the attributes go to (:func:`~mrv_service.ingest.cells.text_cell`),
and the text encoding of a Shapefile without a ``.cpg`` file
(:func:`~mrv_service.ingest.plot_files.dbf_encoding`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from geodata.errors import CRSError
from geodata.plots import PlotGeometryCheck, check_crs, check_plot_overlaps, measure_plot_geometries
from models.errors import MRVError
from mrv_service.ingest.cells import oversized_cells, parse_id_column, stored_length, text_column
from mrv_service.ingest.copy_stream import CopyStream
from mrv_service.ingest.fields import PLOT_FIELDS
from mrv_service.ingest.headers import map_headers
from mrv_service.ingest.plot_files import (
    PLOT_FILE_SUFFIXES,
    PlotFileEncodingError,
    dbf_encoding,
    read_plot_file,
)
from mrv_service.ingest.region import project_region
from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.upload import UploadRun, begin_upload
from mrv_service.store.models import Farmer, Plot, PlotFlag

__all__ = [
    "ingest_plots",
    "read_plot_file",
    "dbf_encoding",
    "hash_national_id",
    "PLOT_FILE_SUFFIXES",
    "PlotFileEncodingError",
    "project_region",
]

WKT_DIGITS = 9
"""Decimal places of stored WKT coordinates [degree] (1e-9 degree is about 0.1 mm)."""
_NATIONAL_ID = re.compile(r"^\d{17}[\dX]$")


class IngestSettingsError(MRVError, ValueError):
    """An ingest was called without a setting it needs (e.g. the national-id salt)."""


_STORED = {
    "plot_id": (Plot, "external_id"),
    "farmer_id": (Farmer, "external_id"),
    "farmer_name": (Farmer, "name"),
    "village": (Farmer, "village"),
    "county": (Plot, "county"),
    "cropping_system": (Plot, "cropping_system"),
}
"""Where each text attribute of a plot file is stored (its size is read from the model)."""


def hash_national_id(national_id: str, salt: str) -> str:
    """Salted SHA-256 (hex) of a national id; the raw number is never stored.

    The id is normalised first (spaces removed, upper-case ``X`` check digit), so the same
    person hashes the same way whatever the spelling.
    """
    if not salt:
        raise IngestSettingsError("an empty id_salt would store unsalted hashes; set MRV_ID_SALT")
    norm = re.sub(r"\s+", "", str(national_id)).upper()
    return hashlib.sha256(f"{salt}:{norm}".encode()).hexdigest()


SLICE_PLOTS = 10_000
"""Plots checked and sent to the store at a time: the server inserts one slice while the next is
checked (:class:`~mrv_service.ingest.copy_stream.CopyStream`)."""
_VALUES = (
    "farmer_id",
    "geometry_wkt",
    "area_ha",
    "centroid_lon",
    "centroid_lat",
    "utm_epsg",
    "county",
    "cropping_system",
)
"""The columns of a plot that an upload sets or changes."""
_PLOT_COLUMNS = ("project_id", "external_id", "upload_id", "created_at", "updated_at", *_VALUES)
"""The columns of a new plot row, in the order the ingest builds them."""


def _write_farmers(
    run: UploadRun,
    farmer_first: dict[str, int],
    stored_farmers: dict[int, Any],
    names: list[str | None],
    villages: list[str | None],
    national_ids: list[str | None],
    id_salt: str,
) -> dict[str, int]:
    """Insert the new farmers and update the changed ones (each farmer as its first plot gives
    it); returns the primary key of every farmer of the project by external id."""
    project_id, now = run.project.id, run.now
    stored_by_ext = {r.external_id: r for r in stored_farmers.values()}
    new, changed = [], []
    for fid, i in farmer_first.items():
        h = hash_national_id(national_ids[i], id_salt) if national_ids[i] else None
        values = {"name": names[i], "village": villages[i], "national_id_hash": h}
        old = stored_by_ext.get(fid)
        if old is None:
            new.append({"project_id": project_id, "external_id": fid, "created_at": now, **values})
        else:
            # only fill in or change what the file gives; blanks keep the stored value
            diff = {k: v for k, v in values.items() if v is not None and getattr(old, k) != v}
            if diff:
                changed.append({"id": old.id, **diff})
    run.write_rows(Farmer, new, changed)
    if not new:
        return {r.external_id: pk for pk, r in stored_farmers.items()}
    # one query for all ids (no IN list: 100,000 ids exceed SQLite's parameter limit)
    return dict(
        run.session.execute(
            select(Farmer.external_id, Farmer.id).where(Farmer.project_id == project_id)
        ).all()
    )


def _plot_rows(
    part: PlotGeometryCheck,
    plot_ids: list[str | None],
    farmer_pks: list[int],
    counties: list[str | None],
    cropping: list[str | None],
    stored_by_id: dict[str, Any],
    keys: tuple[int, int, dt.datetime],
) -> tuple[list[tuple[Any, ...]], dict[int, dict[str, Any]], int]:
    """The store rows of a slice of checked plots.

    Returns the new plots as rows of :data:`_PLOT_COLUMNS`, the stored plots the file changes
    (``UPDATE`` values by their position in the slice) and how many stored plots it leaves as
    they are. ``keys`` are the project id, the upload id and the time of the upload [UTC].
    """
    project_id, upload_id, now = keys
    wkt = shapely.to_wkt(part.geometry, rounding_precision=WKT_DIGITS, trim=True).tolist()
    values = zip(
        farmer_pks,
        wkt,
        part.area_ha.tolist(),
        part.centroid_lon.tolist(),
        part.centroid_lat.tolist(),
        part.utm_epsg.tolist(),
        counties,
        cropping,
        strict=True,
    )
    if not stored_by_id:  # a first upload: every plot is new
        return (
            [(project_id, pid, upload_id, now, now, *v) for pid, v in zip(plot_ids, values, strict=True)],
            {},
            0,
        )
    new, changed, unchanged = [], {}, 0
    for k, (pid, v) in enumerate(zip(plot_ids, values, strict=True)):
        old = stored_by_id.get(pid)
        if old is None:
            new.append((project_id, pid, upload_id, now, now, *v))
        elif (old.farmer_id, old.geometry_wkt, old.county, old.cropping_system) != (v[0], v[1], v[6], v[7]):
            changed[k] = {
                "id": old.id,
                "upload_id": upload_id,
                "updated_at": now,
                **dict(zip(_VALUES, v, strict=True)),
            }
        else:
            unchanged += 1
    return new, changed, unchanged


def ingest_plots(
    session: Session,
    project_name: str,
    path: str | Path,
    *,
    uploaded_by: str = "cli",
    id_salt: str,
) -> UploadReport:
    """Validate a plot file and write its plots and farmers to the store.

    Parameters
    ----------
    session : Session
        The function commits it (accepted upload, or the rejected ``Upload`` row) itself.
    project_name : str
        Existing project.
    path : path
        GeoJSON, GeoPackage or zipped Shapefile (DATA_FORMATS.md section 1).
    uploaded_by : str
        Who uploaded it (user name; ``cli`` from the command line).
    id_salt : str
        Salt for hashing national ids (``Settings.id_salt``).

    Returns
    -------
    UploadReport
        ``status`` ``accepted`` or ``already_ingested``.

    Raises
    ------
    IngestError
        When any feature has an error; carries the report. Nothing but the rejected ``Upload``
        row is written.
    """
    run = begin_upload(session, project_name, path, "plots", uploaded_by)
    if run.already_ingested:
        return run.report
    project, report, path = run.project, run.report, run.path

    if path.suffix.lower() not in PLOT_FILE_SUFFIXES:
        run.reject(
            None,
            f"unknown plot file type {path.suffix!r}",
            "upload GeoJSON, GeoPackage or a zipped Shapefile",
        )
    try:
        gdf, notes = read_plot_file(path)
    except PlotFileEncodingError as exc:
        run.reject(None, exc.message, exc.fix)
    except Exception as exc:  # pyogrio/GDAL raise DataSourceError, OSError, ...
        run.reject(None, f"cannot be read as a vector file ({exc})", "re-export it as GeoJSON or GeoPackage")
    for note in notes:
        report.warning(None, None, note)
    report.rows_total = len(gdf)
    if len(gdf) == 0:
        report.error(None, None, "holds no features", "export the plot layer with its polygons")
    try:
        crs = check_crs(gdf.crs, path.name)
    except CRSError as exc:
        report.error(None, "crs", str(exc))
        crs = None

    attr_cols = [c for c in gdf.columns if c != gdf.geometry.name]
    columns = map_headers(attr_cols, PLOT_FIELDS, report, header_row=None)
    run.reject_if_errors()
    assert crs is not None  # a CRS problem is an error in the report

    def col(name: str) -> list[Any]:
        c = columns.get(name)
        return list(gdf[c.header]) if c is not None else [None] * len(gdf)

    plot_ids, farmer_ids = parse_id_column(col("plot_id")), parse_id_column(col("farmer_id"))
    farmer_names, villages = text_column(col("farmer_name")), text_column(col("village"))
    national_ids = text_column(col("national_id"))
    county_given = text_column(col("county"))
    cropping = text_column(col("cropping_system"))
    values_of = {
        "plot_id": plot_ids,
        "farmer_id": farmer_ids,
        "farmer_name": farmer_names,
        "village": villages,
        "county": county_given,
        "cropping_system": cropping,
    }

    def label(i: int) -> str:
        pid = plot_ids[i]
        if pid and len(pid) > 40:
            pid = pid[:40] + "..."
        return f"feature {i + 1} (plot_id {pid})" if pid else f"feature {i + 1}"

    def err(i: int, column: str, message: str, fix: str) -> None:
        report.error(i + 1, column, message, fix, plot_id=plot_ids[i], row_label=label(i))

    def warn(i: int, column: str, message: str, fix: str) -> None:
        report.warning(i + 1, column, message, fix, plot_id=plot_ids[i], row_label=label(i))

    # -- attributes -------------------------------------------------------------------------
    # text written to sized store columns: PostgreSQL would refuse what SQLite keeps
    too_long: set[int] = set()
    for name, (model, column) in _STORED.items():
        if name not in columns:
            continue
        for i, exc in oversized_cells(values_of[name], PLOT_FIELDS[name].label, stored_length(model, column)):
            err(i, columns[name].header, exc.message, exc.fix)
            if name in ("plot_id", "farmer_id"):
                too_long.add(i)
    default_county = project.county
    counties = [c or default_county for c in county_given]

    stored = session.execute(
        select(
            Plot.id, Plot.external_id, Plot.farmer_id, Plot.geometry_wkt, Plot.county, Plot.cropping_system
        ).where(Plot.project_id == project.id)
    ).all()
    stored_by_id = {r.external_id: r for r in stored}
    stored_farmers = {
        r.id: r
        for r in session.execute(
            select(Farmer.id, Farmer.external_id, Farmer.name, Farmer.village, Farmer.national_id_hash).where(
                Farmer.project_id == project.id
            )
        ).all()
    }
    farmer_ext_by_pk = {pk: r.external_id for pk, r in stored_farmers.items()}

    first_seen: dict[str, int] = {}
    farmer_first: dict[str, int] = {}
    pid_col = columns["plot_id"].header
    fid_col = columns["farmer_id"].header
    for i in range(len(gdf)):
        pid, fid = plot_ids[i], farmer_ids[i]
        if i in too_long:
            continue
        if pid is None:
            err(i, pid_col, "plot_id is empty", "give every plot a unique plot_id (地块编号)")
        elif pid in first_seen:
            err(
                i,
                pid_col,
                f"plot_id {pid!r} already used by feature {first_seen[pid] + 1}",
                "give each plot its own plot_id, or delete the duplicate feature",
            )
        else:
            first_seen[pid] = i
        if fid is None:
            err(i, fid_col, "farmer_id is empty", "enter the operating household's farmer_id (农户编号)")
        elif pid is not None and pid in stored_by_id:
            owner_pk = stored_by_id[pid].farmer_id
            owner = farmer_ext_by_pk.get(owner_pk) if owner_pk is not None else None
            if owner is not None and owner != fid:
                err(
                    i,
                    pid_col,
                    f"plot_id {pid!r} is already stored for farmer {owner!r}, not {fid!r}",
                    "use a new plot_id for a different plot; if the plot changed hands, correct the stored plot first",
                )
        if fid is not None:
            j = farmer_first.setdefault(fid, i)
            if j != i and (farmer_names[i], villages[i]) != (farmer_names[j], villages[j]):
                warn(
                    i,
                    columns["farmer_name"].header if "farmer_name" in columns else fid_col,
                    f"farmer {fid!r} has another name/village than in feature {j + 1}; the first is kept",
                    "write the same farmer_name and village on every plot of a farmer",
                )
        if national_ids[i] is not None and not _NATIONAL_ID.match(
            re.sub(r"\s+", "", national_ids[i]).upper()
        ):
            # never echo the number itself
            warn(
                i,
                columns["national_id"].header,
                "national_id is not an 18-character resident id (17 digits and a digit or X); it was hashed as written",
                "check the number",
            )

    # -- geometry, and the writes ----------------------------------------------------------
    # When the attributes passed, the new plots go to the store slice by slice while the next
    # slice is checked (CopyStream: the server's per-row work runs beside the checks); any error
    # found later aborts the stream and the rejected upload rolls every row back.
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    existing = shapely.from_wkt([r.geometry_wkt for r in stored]) if stored else None
    centre, max_km = project_region(project)
    salt_missing = not id_salt and any(n is not None for n in national_ids)
    stream: CopyStream | None = None
    if not report.has_errors and not salt_missing:
        upload, now = run.record()
        farmer_pk = _write_farmers(
            run, farmer_first, stored_farmers, farmer_names, villages, national_ids, id_salt
        )
        # read before the stream starts: from here until it ends, its thread owns the connection,
        # and nothing below may query (an expired attribute would)
        keys = (project.id, upload.id, now)
        stream = CopyStream(session, Plot, _PLOT_COLUMNS)
    parts, changed_rows, touched = [], [], []
    try:
        for lo in range(0, len(gdf), SLICE_PLOTS):
            hi = min(len(gdf), lo + SLICE_PLOTS)
            part = measure_plot_geometries(
                geoms[lo:hi],
                crs,
                plot_ids[lo:hi],
                source=path.name,
                region_centre=centre,
                max_distance_km=max_km,
                region_label="the project's county centre ({lon:.4f}, {lat:.4f}) given in project.json",
                region_fix="check the coordinates and the CRS of the file, or the project's region "
                "(region.lon/lat in project.json; the distance allowed is the setting plots.max_distance_km)",
            )
            parts.append(part)
            if stream is not None and part.errors:
                stream.abort()  # the upload will be rejected: spare the server the rest
            elif stream is not None:
                new_rows, changed, unchanged = _plot_rows(
                    part,
                    plot_ids[lo:hi],
                    [farmer_pk[f] for f in farmer_ids[lo:hi]],
                    counties[lo:hi],
                    cropping[lo:hi],
                    stored_by_id,
                    keys,
                )
                stream.put(new_rows)
                changed_rows += changed.values()
                touched += [r[1] for r in new_rows] + [plot_ids[lo + k] for k in changed]
                report.unchanged += unchanged
        check = check_plot_overlaps(
            PlotGeometryCheck.concat(parts),
            plot_ids,
            crs_name=crs.name,
            existing_wgs84=existing,
            existing_ids=[r.external_id for r in stored],
        )
    except BaseException:
        if stream is not None:
            stream.abort()
        raise
    for issue in check.issues:
        if issue.index is None:  # the file as a whole (e.g. the plot set moved)
            report.error(None, "geometry", issue.message, issue.fix)
        else:
            (err if issue.severity == "error" else warn)(issue.index, "geometry", issue.message, issue.fix)
    report.issues.sort(key=lambda x: (x.row is not None, x.row or 0))

    if report.has_errors and stream is not None:
        stream.abort()
    run.reject_if_errors()
    if stream is None:  # no error: only the missing salt kept the writes back
        raise IngestSettingsError("the plot file holds national ids but id_salt is empty; set MRV_ID_SALT")
    report.inserted = stream.close()
    if changed_rows:
        session.execute(update(Plot), changed_rows)
    report.updated = len(changed_rows)

    # ingest warnings become open flags on the plots written now (replacing older ingest flags);
    # the flag kind names the canonical field, not the header as written (any length)
    field_of = {c.header: name for name, c in columns.items()}
    kind_limit = stored_length(PlotFlag, "kind") or 50
    touched_set = set(touched)
    flagged = [i for i in report.warnings if i.plot_id in touched_set and i.row is not None]
    if touched:
        pk = (
            dict(
                session.execute(select(Plot.external_id, Plot.id).where(Plot.project_id == project.id)).all()
            )
            if flagged
            else {}
        )
        changed_ids = [r["id"] for r in changed_rows]
        for k in range(0, len(changed_ids), 5000):  # chunks stay below SQLite's parameter limit
            session.execute(
                delete(PlotFlag).where(
                    PlotFlag.plot_id.in_(changed_ids[k : k + 5000]), PlotFlag.source == "ingest"
                )
            )
        if flagged:
            session.execute(
                insert(PlotFlag),
                [
                    {
                        "plot_id": pk[i.plot_id],
                        "source": "ingest",
                        "kind": f"plot_{field_of.get(i.column, i.column)}"[:kind_limit],
                        "severity": "warning",
                        "status": "open",
                        "message": str(i),
                        "upload_id": upload.id,
                        "created_at": now,
                    }
                    for i in flagged
                ],
            )
    return run.finish()
