"""Ingest farm activity logs (CSV or XLSX, Chinese or English headers) into the store.

Each row is one field operation (DATA_FORMATS.md section 2). Headers are mapped to canonical
fields and their bracketed units converted (:mod:`mrv_service.ingest.schema`); every row is
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
in the record's natural key (:data:`DISCRIMINATOR_MAX_LENGTH`), ``notes`` against the service's
limit (:attr:`~mrv_service.ingest.schema.FieldSpec.max_length`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.schema import (
    ACTIVITIES,
    CROPS,
    LOG_FIELDS,
    MANURE_TYPES,
    PRODUCTS,
    RESIDUE_METHODS,
    TILLAGE_METHODS,
    CellError,
    is_blank,
    normalise_token,
    number_cell,
    parse_date,
    parse_id,
    stored_length,
    text_cell,
    vocabulary_hint,
)
from mrv_service.ingest.upload import begin_upload, read_upload_table
from mrv_service.store.models import ActivityRecord, Plot

__all__ = [
    "ingest_logs",
    "RELEVANT_FIELDS",
    "UREA_N_CONTENT_PCT",
    "natural_key",
    "DISCRIMINATOR_MAX_LENGTH",
]

UREA_N_CONTENT_PCT = 46.0
"""N content of urea [%] used when a urea row gives no N content: total N >= 46.0 % for
agricultural urea (GB/T 2440-2017, Urea, Table 1)."""

RELEVANT_FIELDS: dict[str, tuple[str, ...]] = {
    "sowing": (),
    "harvest": ("yield", "residue_fraction"),
    "tillage": (),
    "residue": ("residue_fraction",),
    "fertiliser": ("product", "product_rate", "n_content", "n_rate"),
    "manure": ("manure_type", "manure_rate", "manure_c", "manure_n"),
    "irrigation": ("irrigation",),
    "cover_crop": ("cover_crop",),
    "fuel": (),
}
"""Attribute fields kept per activity (``diesel`` and ``notes`` are kept on every row)."""
_ALWAYS = ("diesel", "notes")
_METHODS = {"tillage": TILLAGE_METHODS, "residue": RESIDUE_METHODS}

DISCRIMINATOR_MAX_LENGTH = (
    stored_length(ActivityRecord, "natural_key")
    - len("YYYY-MM-DD||")
    - max(len(a) for a in set(ACTIVITIES.values()))
)
"""Longest free-text discriminator of a natural key (the fertiliser product, the cover-crop
species) [characters]: the ``natural_key`` column's size less ``date|activity|`` for the longest
activity code (300 - 12 - 10 = 278 today), so that any key fits its column."""


def natural_key(
    date: dt.date, activity: str, crop: str | None, method: str | None, attrs: dict[str, Any]
) -> str:
    """``date|activity|discriminator`` identifying an operation on a plot.

    The discriminator separates operations of one type on one day that are genuinely distinct:
    the tillage method (subsoiling and rotary on the same day), the fertiliser product, the
    manure type, the crop of a sowing or harvest, the cover-crop species.
    """
    disc = {
        "tillage": method,
        "fertiliser": attrs.get("product"),
        "manure": attrs.get("manure_type"),
        "sowing": crop,
        "harvest": crop,
        "cover_crop": attrs.get("cover_crop"),
    }.get(activity)
    return f"{date.isoformat()}|{activity}|{disc or ''}"


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
            relevant = set(RELEVANT_FIELDS[activity]) | set(_ALWAYS)
            for name in sorted(set(attrs) - relevant):
                if attrs[name] not in (0, 0.0, ""):
                    warn(name, f"{name} is not used for a {activity} row and was ignored")
                del attrs[name]
            _check_activity(activity, crop, attrs, bad, err, warn)

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


def _check_activity(activity: str, crop: str | None, attrs: dict[str, Any], bad: set[str], err, warn) -> None:
    """Per-activity required fields and derived values (fills ``attrs['n_rate']`` when derivable).

    Fields in ``bad`` already have an error in this row and are not reported again as missing.
    """
    if activity == "harvest" and attrs.get("yield") == 0.0:
        warn(
            "yield",
            "a yield of 0: recorded as a failed harvest",
            "if the harvest did not fail, enter the yield with its unit",
        )
    if activity in ("sowing", "harvest") and crop is None:
        warn("crop", f"a {activity} row without a crop", "enter the crop (作物), e.g. maize/玉米")
    elif activity == "fertiliser":
        rate, content = attrs.get("product_rate"), attrs.get("n_content")
        if content is None and rate is not None and attrs.get("product") == "urea":
            content = attrs["n_content"] = UREA_N_CONTENT_PCT
            warn("n_content", f"no N content for urea; {UREA_N_CONTENT_PCT:g} % assumed (GB/T 2440-2017)")
        derived = rate * content / 100.0 if rate is not None and content is not None else None
        if bad & {"n_rate", "product_rate", "n_content"}:
            pass
        elif attrs.get("n_rate") is None:
            if derived is None:
                err(
                    "n_rate",
                    "a fertiliser row needs the N rate, or the product rate with its N content",
                    "fill in 施氮量/n_rate, or 施用量/product_rate and 含氮量/n_content",
                )
            elif derived > LOG_FIELDS["n_rate"].high:
                err(
                    "product_rate",
                    f"product rate x N content = {derived:.6g} kg N/ha, above the plausible "
                    f"{LOG_FIELDS['n_rate'].high:g} kg N/ha",
                    "check the product rate, the N content and their units",
                )
            else:
                attrs["n_rate"] = float(f"{derived:.9g}")
        elif derived is not None and abs(derived - attrs["n_rate"]) > 0.1 * max(attrs["n_rate"], 1.0):
            warn(
                "n_rate",
                f"N rate {attrs['n_rate']:.6g} kg N/ha differs from product rate x N content = {derived:.6g} kg N/ha; "
                "the N rate was kept",
                "check the three values",
            )
    elif activity == "manure":
        if attrs.get("manure_rate") is None and "manure_rate" not in bad:
            err(
                "manure_rate",
                "a manure row needs the manure rate",
                "fill in 有机肥用量/manure_rate (fresh mass)",
            )
        if attrs.get("manure_type") is None:
            warn(
                "manure_type",
                "a manure row without the manure type",
                f"use one of {vocabulary_hint(MANURE_TYPES)}",
            )
    elif activity == "irrigation" and attrs.get("irrigation") is None and "irrigation" not in bad:
        err("irrigation", "an irrigation row needs the amount", "fill in 灌溉量/irrigation in mm or m3/mu")
    elif activity == "fuel" and attrs.get("diesel") is None and "diesel" not in bad:
        err("diesel", "a fuel row needs the diesel amount", "fill in 柴油/diesel in L (or L/mu, L/ha)")
    elif activity == "cover_crop" and attrs.get("cover_crop") is None:
        warn("cover_crop", "a cover_crop row without the species", "enter the species (覆盖作物)")
