"""Ingest farm activity logs (CSV or XLSX, Chinese or English headers) into the store.

Each row is one field operation (DATA_FORMATS.md section 2). Headers are mapped to canonical
fields and their bracketed units converted (:mod:`mrv_service.ingest.headers`); every row is
validated (known plot, parseable date, known activity and method, numbers numeric and plausible);
any error rejects the whole file. Accepted rows are upserted on a natural key
``(plot, date|activity|discriminator)``, so the same rows in another file change nothing.

Attributes stored per activity (canonical units):

=============  ===========================================================================
activity       attributes
=============  ===========================================================================
sowing         crop
harvest        crop, yield [t ha-1], residue_fraction [1]
tillage        method (plough, rotary, reduced, no_till, subsoiling)
residue        method (removed, burned, retained, mulched), residue_fraction [1]
fertiliser     product, product_rate [kg ha-1], n_content [%], n_rate [kg N ha-1]
manure         manure_type, manure_rate [t ha-1 fresh], manure_c [%], manure_n [%]
irrigation     irrigation [mm]
cover_crop     cover_crop (species)
fuel           diesel [L per plot]
=============  ===========================================================================

``diesel`` [L per plot] and ``notes`` are accepted on any row.

Text values are checked against where they are stored: ``method`` against the size of its
column, the fertiliser ``product`` and the ``cover_crop`` species against the room left for them
in the record's natural key (:data:`~mrv_service.ingest.activity_rules.DISCRIMINATOR_MAX_LENGTH`),
``notes`` against the service's limit (:attr:`~mrv_service.ingest.fields.FieldSpec.max_length`).
The rules of each activity are :mod:`~mrv_service.ingest.activity_rules`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mrv_service.ingest.activity_rules import (
    ALWAYS_KEPT,
    DISCRIMINATOR_MAX_LENGTH,
    RELEVANT_FIELDS,
    UREA_N_CONTENT_PCT,
    check_activity,
    natural_key,
)
from mrv_service.ingest.cells import (
    CellError,
    is_blank,
    number_cell,
    parse_date,
    parse_id,
    stored_length,
    text_cell,
)
from mrv_service.ingest.fields import LOG_FIELDS
from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.upload import begin_upload, read_upload_table
from mrv_service.ingest.vocabularies import (
    ACTIVITIES,
    CROPS,
    MANURE_TYPES,
    PRODUCTS,
    RESIDUE_METHODS,
    TILLAGE_METHODS,
    normalise_token,
    vocabulary_hint,
)
from mrv_service.store.models import ActivityRecord, Plot

__all__ = [
    "ingest_logs",
    "RELEVANT_FIELDS",
    "UREA_N_CONTENT_PCT",
    "natural_key",
    "DISCRIMINATOR_MAX_LENGTH",
]

_METHODS = {"tillage": TILLAGE_METHODS, "residue": RESIDUE_METHODS}


def ingest_logs(
    session: Session,
    project_name: str,
    path: str | Path,
    *,
    uploaded_by: str = "cli",
    id_salt: str | None = None,
) -> UploadReport:
    """Validate an activity-log file and upsert its records.

    Parameters
    ----------
    session : Session
        Committed by the function (accepted upload, or the rejected ``Upload`` row).
    project_name : str
        Existing project whose plots the rows refer to.
    path : path
        CSV (UTF-8) or XLSX, headers in Chinese or English (DATA_FORMATS.md section 2).
    uploaded_by : str
        Who uploaded it.
    id_salt : str, optional
        Unused (logs hold no national ids); accepted so all ingest functions share a signature.

    Returns
    -------
    UploadReport

    Raises
    ------
    IngestError
        When any row has an error (nothing written; the upload is recorded as rejected).
    """
    del id_salt
    run = begin_upload(session, project_name, path, "logs", uploaded_by)
    if run.already_ingested:
        return run.report
    project, report = run.project, run.report
    table = read_upload_table(run, LOG_FIELDS)
    columns = table.columns
    run.reject_if_errors()

    plots = {
        r.external_id: (r.id, r.area_ha)
        for r in session.execute(
            select(Plot.external_id, Plot.id, Plot.area_ha).where(Plot.project_id == project.id)
        )
    }
    years = set(project.baseline_years or []) | set(project.project_years or [])
    today = dt.date.today()
    activity_hint = vocabulary_hint(ACTIVITIES)
    parsed: list[dict[str, Any]] = []
    seen: dict[tuple[int, str], tuple[int, dict[str, Any]]] = {}

    for row_no, values in table.rows:
        row = table.row(report, row_no, values)
        cell, err, warn = row.cell, row.error, row.warning
        n_errors = len(report.issues)
        plot_id = parse_id(cell("plot_id"))
        plot = plots.get(plot_id) if plot_id is not None else None
        if plot_id is None:
            err("plot_id", "plot_id is empty", "enter the plot's id (地块编号) as in the plot file")
        elif plot is None:
            err(
                "plot_id",
                f"plot {plot_id!r} is not in project {project.name!r}",
                "correct the plot id, or upload the plot first (mrv ingest plots)",
            )
        raw_date = cell("date")
        date = None
        try:
            date = parse_date(raw_date)
            if date is None:
                err("date", "the date is empty", "enter the date of the operation as YYYY-MM-DD")
            elif date > today:
                err("date", f"{date.isoformat()} is in the future", "enter the date the operation took place")
                date = None
            elif years and date.year not in years:
                warn(
                    "date",
                    f"{date.isoformat()} is outside the project's baseline and project years {sorted(years)}",
                )
        except (ValueError, TypeError):
            err(
                "date",
                f"{raw_date!r} is not a date",
                "write dates as YYYY-MM-DD, e.g. 2024-05-01 (or 2024年5月1日)",
            )
        raw_activity = cell("activity")
        activity = ACTIVITIES.get(normalise_token(raw_activity)) if not is_blank(raw_activity) else None
        if activity is None:
            err(
                "activity",
                "the activity is empty" if is_blank(raw_activity) else f"unknown activity {raw_activity!r}",
                f"use one of {activity_hint}",
            )
        raw_crop = cell("crop")
        crop = None
        if not is_blank(raw_crop):
            crop = CROPS.get(normalise_token(raw_crop))
            if crop is None:
                err("crop", f"unknown crop {raw_crop!r}", f"use one of {vocabulary_hint(CROPS)}")

        raw_method = cell("method")
        method = None
        if activity in _METHODS:
            vocab = _METHODS[activity]
            method = vocab.get(normalise_token(raw_method)) if not is_blank(raw_method) else None
            if method is None:
                err(
                    "method",
                    f"a {activity} row needs its method"
                    if is_blank(raw_method)
                    else f"unknown {activity} method {raw_method!r}",
                    f"use one of {vocabulary_hint(vocab)}",
                )
        elif not is_blank(raw_method):
            token = normalise_token(raw_method)
            method = TILLAGE_METHODS.get(token) or RESIDUE_METHODS.get(token)
            if method is None:
                try:
                    method = text_cell(raw_method, "the method", stored_length(ActivityRecord, "method"))
                except CellError as exc:
                    err("method", exc.message, exc.fix)

        attrs: dict[str, Any] = {}
        bad: set[str] = set()
        area = plot[1] if plot is not None else None
        for name, c in columns.items():
            spec = c.spec
            if spec.kind != "number":
                continue
            raw = cell(name)
            if is_blank(raw):
                continue
            if c.per_area and area is None:
                continue  # unknown plot: already an error
            try:
                value = number_cell(c, raw, area_ha=area)
            except CellError as exc:
                err(name, exc.message, exc.fix)
                bad.add(name)
                continue
            attrs[name] = value
        for name, vocab in (("manure_type", MANURE_TYPES),):
            raw = cell(name)
            if not is_blank(raw):
                code = vocab.get(normalise_token(raw))
                if code is None:
                    err(
                        name,
                        f"unknown {name.replace('_', ' ')} {raw!r}",
                        f"use one of {vocabulary_hint(vocab)}",
                    )
                else:
                    attrs[name] = code
        for name in ("product", "cover_crop", "notes"):
            raw = cell(name)
            if not is_blank(raw):
                limit = LOG_FIELDS[name].max_length if name == "notes" else DISCRIMINATOR_MAX_LENGTH
                try:
                    text = text_cell(raw, LOG_FIELDS[name].label, limit)
                except CellError as exc:
                    err(name, exc.message, exc.fix)
                    continue
                attrs[name] = PRODUCTS.get(normalise_token(text), text) if name == "product" else text

        if activity is not None:
            relevant = set(RELEVANT_FIELDS[activity]) | set(ALWAYS_KEPT)
            for name in sorted(set(attrs) - relevant):
                if attrs[name] not in (0, 0.0, ""):
                    warn(name, f"{name} is not used for a {activity} row and was ignored")
                del attrs[name]
            check_activity(activity, crop, attrs, bad, err, warn)

        if len(report.issues) > n_errors and any(
            i.severity == "error" and i.row == row_no for i in report.issues[n_errors:]
        ):
            continue
        assert plot is not None and date is not None and activity is not None
        key = natural_key(date, activity, crop, method, attrs)
        record = {
            "plot_id": plot[0],
            "date": date,
            "activity": activity,
            "crop": crop,
            "method": method,
            "attributes": attrs,
            "natural_key": key,
            "source_row": row_no,
        }
        dup = seen.get((plot[0], key))
        if dup is not None:
            first_row, first = dup
            same = (first["crop"], first["method"], first["attributes"]) == (crop, method, attrs)
            if same:
                warn(
                    "date",
                    f"repeats row {first_row} (same plot, date and activity); counted once",
                    "delete the duplicate row",
                )
            else:
                err(
                    "date",
                    f"conflicts with row {first_row}: same plot {plot_id}, date {date} and {activity} with other values",
                    "merge the two rows into one, or correct the date or activity of one of them",
                )
            continue
        seen[(plot[0], key)] = (row_no, record)
        parsed.append(record)

    run.reject_if_errors()

    run.record()
    existing = {
        (r.plot_id, r.natural_key): r
        for r in session.execute(
            select(
                ActivityRecord.id,
                ActivityRecord.plot_id,
                ActivityRecord.natural_key,
                ActivityRecord.crop,
                ActivityRecord.method,
                ActivityRecord.attributes,
            )
            .join(Plot, ActivityRecord.plot_id == Plot.id)
            .where(Plot.project_id == project.id)
        )
    }
    run.upsert(
        ActivityRecord,
        parsed,
        existing,
        key=lambda rec: (rec["plot_id"], rec["natural_key"]),
        fields=("crop", "method", "attributes"),
    )
    return run.finish()
