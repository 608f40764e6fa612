"""The steps every upload goes through, shared by the plot, log and soil ingests.

An ingest function is::

    run = begin_upload(session, project_name, path, "logs", uploaded_by)
    if run.already_ingested:          # same bytes accepted before: nothing to do
        return run.report
    table = read_upload_table(run, LOG_FIELDS)   # CSV/XLSX kinds; plots read their own file
    ...                                # kind-specific checks, issues into run.report
    run.reject_if_errors()             # any error: roll back, record the rejected upload, raise
    run.record()                       # the Upload row, flushed (same transaction as the data)
    run.upsert(Model, records, ...)    # kind-specific writes (or run.write_rows)
    return run.finish()                # log the counts, commit (or reject and raise)

The transaction rules are those of :func:`~mrv_service.ingest.report.finish_upload`: the data
writes and the ``Upload`` row commit together; a rejected file writes only its ``Upload`` row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

from mrv_service.ingest.cells import FormulaCell, column_name, is_blank
from mrv_service.ingest.fields import Column, FieldSpec
from mrv_service.ingest.headers import map_headers
from mrv_service.ingest.report import (
    ALREADY_INGESTED,
    UploadReport,
    file_sha256,
    finish_upload,
    previous_upload,
    record_upload,
)
from mrv_service.ingest.tables import TableError, read_table
from mrv_service.store.locks import lock_project
from mrv_service.store.models import Project, Upload

__all__ = ["UploadRun", "UploadTable", "TableRow", "begin_upload", "read_upload_table"]


@dataclasses.dataclass
class UploadRun:
    """One upload in progress: the session, its project, the file and the report being filled."""

    session: Session
    project: Project
    path: Path
    report: UploadReport
    upload: Upload | None = None
    """The ``Upload`` row, once :meth:`record` added it."""
    now: dt.datetime | None = None
    """When :meth:`record` was called [UTC]: ``created_at``/``updated_at`` of the records written."""

    @property
    def already_ingested(self) -> bool:
        """The same bytes were accepted before for this project and kind (nothing to do)."""
        return self.report.status == ALREADY_INGESTED

    def reject(self, column: str | None, message: str, fix: str = "") -> NoReturn:
        """Reject the whole file with one file-level error (records the upload, raises)."""
        self.report.error(None, column, message, fix)
        self.reject_if_errors()
        raise AssertionError("unreachable: finish_upload raises on errors")  # pragma: no cover

    def reject_if_errors(self) -> None:
        """Roll back, record the rejected upload and raise :class:`IngestError` if the report
        holds an error; otherwise do nothing."""
        if self.report.has_errors:
            finish_upload(self.session, self.project, self.report)

    def record(self) -> tuple[Upload, dt.datetime]:
        """Add the :class:`~mrv_service.store.models.Upload` row (flushed, not committed) and
        return it with the timestamp [UTC] for the records written under it (also kept as
        :attr:`upload` and :attr:`now`)."""
        self.upload = record_upload(self.session, self.project, self.report)
        self.now = dt.datetime.now(dt.UTC)
        return self.upload, self.now

    def write_rows(
        self, model: type, new: list[dict[str, Any]], changed: list[dict[str, Any]]
    ) -> tuple[int, int]:
        """Bulk ``INSERT`` the new and ``UPDATE`` (by primary key ``id``) the changed rows of
        ``model``; returns ``(len(new), len(changed))``. On PostgreSQL the new rows go in with
        ``COPY`` (:func:`copy_rows`), in the upload's transaction."""
        if new:
            if self.session.get_bind().dialect.name == "postgresql" and _copyable(model, new[0]):
                copy_rows(self.session, model, new)
            else:
                self.session.execute(insert(model), new)
        if changed:
            self.session.execute(update(model), changed)
        return len(new), len(changed)

    def upsert(
        self,
        model: type,
        records: Iterable[dict[str, Any]],
        existing: Mapping[Hashable, Any],
        key: Callable[[dict[str, Any]], Hashable],
        fields: Sequence[str],
        **new_values: Any,
    ) -> None:
        """Write validated records on their natural key and count them in the report.

        A record whose ``key(record)`` is not in ``existing`` (stored rows with ``id`` and
        ``fields`` as attributes) is inserted with ``new_values``; one that differs from the
        stored row in any of ``fields`` has those fields (and its ``source_row``) updated;
        anything else is counted unchanged. Call :meth:`record` first.
        """
        assert self.upload is not None, "record() the upload before writing under it"
        upload_id, now = self.upload.id, self.now
        new, changed = [], []
        for rec in records:
            old = existing.get(key(rec))
            if old is None:
                new.append(
                    {**rec, **new_values, "upload_id": upload_id, "created_at": now, "updated_at": now}
                )
            elif any(getattr(old, f) != rec[f] for f in fields):
                changed.append(
                    {
                        "id": old.id,
                        **{f: rec[f] for f in fields},
                        "upload_id": upload_id,
                        "source_row": rec["source_row"],
                        "updated_at": now,
                    }
                )
            else:
                self.report.unchanged += 1
        self.report.inserted, self.report.updated = self.write_rows(model, new, changed)

    def finish(self) -> UploadReport:
        """Log the counts and commit the upload (see :func:`finish_upload`); returns the report."""
        assert self.upload is not None, "record() the upload before finishing it"
        report = self.report
        # logged under the ingest module of the kind (mrv_service.ingest.plots/logs/soil)
        logging.getLogger(f"mrv_service.ingest.{report.kind}").info(
            "%s %r: %d new, %d updated, %d unchanged",
            report.kind,
            report.file,
            report.inserted,
            report.updated,
            report.unchanged,
        )
        finish_upload(self.session, self.project, report, self.upload)
        return report


def begin_upload(
    session: Session, project_name: str, path: str | Path, kind: str, uploaded_by: str
) -> UploadRun:
    """Start an upload: lock the project, hash the file, check for an earlier upload.

    Parameters
    ----------
    session : Session
        Database session. If it has a transaction open (the caller queried or added
        something), that transaction is **committed first**, so that the upload runs in a
        transaction of its own that begins with the project lock; the caller's pending changes
        are thus saved, never dropped (the ingest functions commit the session anyway, and a
        rejected upload rolls back only its own writes).
    project_name : str
        Existing project (:func:`~mrv_service.store.projects.get_project` raises otherwise).
    path : path
        The uploaded file.
    kind : str
        ``plots``, ``logs``, ``soil`` or ``weather``.
    uploaded_by : str
        Who uploaded it.

    Returns
    -------
    UploadRun
        With ``report.status`` ``already_ingested`` (and ``previous_upload_id`` set) when an
        accepted upload of the same kind and project had the same SHA-256; check
        :attr:`UploadRun.already_ingested` and return the report unchanged then.

    Notes
    -----
    The project lock (:func:`~mrv_service.store.locks.lock_project`: ``SELECT ... FOR UPDATE``
    of the project row on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) is taken before any stored
    row is read and held until the upload commits or rolls back, so two uploads into one project
    at once run one after the other and give the same result as in sequence. The file is hashed
    before the lock; an ``already_ingested`` upload commits (releases the lock) at once.
    """
    path = Path(path)
    sha256 = file_sha256(path)
    if session.in_transaction():
        logging.getLogger(__name__).debug("committing the session's open transaction before the upload")
        session.commit()
    project = lock_project(session, project_name)
    report = UploadReport(kind=kind, file=path.name, project=project.name, uploaded_by=uploaded_by)
    report.sha256 = sha256
    prev = previous_upload(session, project, kind, report.sha256)
    if prev is not None:
        report.status = ALREADY_INGESTED
        report.previous_upload_id = prev.id
        session.commit()  # nothing to write: release the lock now
    return UploadRun(session, project, path, report)


@dataclasses.dataclass
class UploadTable:
    """A CSV/XLSX upload read and its headers mapped (see :func:`read_upload_table`)."""

    columns: dict[str, Column]
    """Canonical field name -> column of the file."""
    rows: list[tuple[int, list[Any]]]
    """``(row number as a spreadsheet shows it, cell values)`` per data row."""
    labels: dict[int, str]
    """Row labels of XLSX continuation sheets (``sheet 'name' row N``)."""

    def row(self, report: UploadReport, row_no: int, values: list[Any]) -> TableRow:
        """Accessors for one data row (cells by field name, issues naming the row)."""
        return TableRow(report, self.columns, self.labels.get(row_no), row_no, values)


def read_upload_table(run: UploadRun, fields: Mapping[str, FieldSpec]) -> UploadTable:
    """Read a CSV/XLSX upload and map its headers to ``fields``.

    An unreadable file rejects the upload (raises :class:`IngestError`; a broken CSV quote names
    the row where it opens); notes about the file become warnings; ``report.rows_total`` is set.
    Two kinds of cell problems are errors of their row, reported here for every kind of upload:
    a value in a column without a header (named by its letter and number), and an XLSX formula
    without a computed value (:class:`~mrv_service.ingest.cells.FormulaCell`); rows with a
    formula error are left out of :attr:`UploadTable.rows`, so their cells are not reported twice.
    Header problems are left in the report and not yet acted on, so the caller can add its own
    column checks before :meth:`UploadRun.reject_if_errors`.
    """
    report = run.report
    try:
        headers, rows, notes, labels = read_table(run.path)
    except TableError as exc:
        if exc.row is not None:
            report.rows_total = exc.row - 1  # the data rows read up to the broken one
        report.error(exc.row, exc.column, exc.message, exc.fix)
        run.reject_if_errors()
        raise AssertionError("unreachable: reject_if_errors raises on errors") from exc  # pragma: no cover
    for note in notes:
        report.warning(None, None, note)
    report.rows_total = len(rows)
    columns = map_headers(headers, fields, report)

    def header(c: int) -> str:
        if c < len(headers) and not is_blank(headers[c]):
            return str(headers[c]).strip()
        return f"{column_name(c)} (column {c + 1})"

    kept = []
    for row_no, values in rows:
        label = labels.get(row_no)
        stray = [
            c for c, v in enumerate(values) if not is_blank(v) and (c >= len(headers) or is_blank(headers[c]))
        ]
        if stray:
            c = stray[0]
            more = f" (and {len(stray) - 1} more cells without a header)" if len(stray) > 1 else ""
            value = str(values[c])
            shown = value if len(value) <= 40 else value[:40] + "..."
            report.error(
                row_no,
                header(c),
                f"holds {shown!r} but the column has no header{more}",
                "give the column a header, or delete the stray value (a row with one cell too many "
                "often has a delimiter inside an unquoted value)",
                row_label=label,
            )
        formulas = [(c, v) for c, v in enumerate(values) if isinstance(v, FormulaCell)]
        for c, cell in formulas:
            report.error(row_no, header(c), cell.message, cell.fix, row_label=label)
        if not formulas:
            kept.append((row_no, values))
    return UploadTable(columns, kept, labels)


@dataclasses.dataclass
class TableRow:
    """One data row of a table upload: its cells by field name and issues naming row and column."""

    report: UploadReport
    columns: dict[str, Column]
    label: str | None
    row_no: int
    values: list[Any]

    def cell(self, name: str) -> Any:
        """The raw value of field ``name`` (``None`` when the file has no such column)."""
        c = self.columns.get(name)
        return self.values[c.index] if c is not None and c.index < len(self.values) else None

    def _issue(self, severity: str, name: str, message: str, fix: str) -> None:
        column = self.columns[name].header if name in self.columns else name
        add = self.report.error if severity == "error" else self.report.warning
        add(self.row_no, column, message, fix, row_label=self.label)

    def error(self, name: str, message: str, fix: str) -> None:
        """An error on field ``name`` of this row (the column named by its header in the file)."""
        self._issue("error", name, message, fix)

    def warning(self, name: str, message: str, fix: str = "") -> None:
        """A warning on field ``name`` of this row."""
        self._issue("warning", name, message, fix)


ANALYZE_AFTER_ROWS = 10_000
"""Rows copied at once after which the table's planner statistics are refreshed."""


def _copyable(model: type, row: Mapping[str, Any]) -> bool:
    """Whether rows like ``row`` can go in by COPY: COPY skips SQLAlchemy's Python-side defaults,
    so every column with one must be given."""
    return all(c.name in row or c.primary_key or c.default is None for c in model.__table__.columns)


def copy_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` of ``model`` with PostgreSQL's ``COPY ... FROM STDIN`` (psycopg 3), in the
    session's transaction: several times faster than a multi-row ``INSERT`` for large uploads.
    JSON columns are sent as ``jsonb``; every row must have the keys of the first."""
    from psycopg.types.json import Jsonb
    from sqlalchemy import JSON

    session.flush()
    table = model.__table__
    cols = list(rows[0])
    json_cols = {c for c in cols if isinstance(table.c[c].type, JSON)}
    dbapi = session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in cols)
    with dbapi.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # noqa: S608
        for row in rows:
            copy.write_row([Jsonb(row[c]) if c in json_cols and row[c] is not None else row[c] for c in cols])
    refresh_statistics(session, table, len(rows))


def refresh_statistics(session: Session, table: Any, rows: int) -> None:
    """``ANALYZE`` the foreign-key columns of ``table`` after ``rows`` were bulk-written, when they
    are :data:`ANALYZE_AFTER_ROWS` or more.

    Fresh statistics of the keys the store selects by (project, farmer, upload): without them the
    planner guesses a few hundred rows per project and joins plots on both indexes at once,
    quadratic in the plots (a 100,000-plot overlap check took 159 s instead of 2 s). Only those
    columns: the whole table's statistics took 0.34-0.40 s at 100,000 plots, these 0.07 s;
    autovacuum refreshes the rest.
    """
    if rows < ANALYZE_AFTER_ROWS:
        return
    keys = ", ".join(f'"{c.name}"' for c in table.columns if c.foreign_keys)
    session.execute(text(f'ANALYZE "{table.name}" ({keys})' if keys else f'ANALYZE "{table.name}"'))
