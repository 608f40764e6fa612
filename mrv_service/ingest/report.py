"""Upload reports, the ingest error, and the bookkeeping every upload shares.

Every upload (plots, activity logs, soil samples) produces an :class:`UploadReport`: the rows
accepted, rejected and warned, each problem as an :class:`Issue` naming file, row, column, the
bad value and the fix, and what was written (inserted, updated, unchanged). The report is stored
with the :class:`~mrv_service.store.models.Upload` row, rendered as JSON (:meth:`UploadReport.to_json`)
and as text (:meth:`UploadReport.to_text`). A rejected upload raises :class:`IngestError`
carrying its report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import MRVError
from mrv_service.store.audit import append
from mrv_service.store.locks import lock_project
from mrv_service.store.models import Project, Upload

__all__ = [
    "Issue",
    "UploadReport",
    "IngestError",
    "file_sha256",
    "previous_upload",
    "record_upload",
    "finish_upload",
    "MAX_STORED_ISSUES",
]

MAX_STORED_ISSUES = 2000
"""Issues kept in the stored/JSON report (the counts always cover all of them)."""
MAX_TEXT_ISSUES = 200
"""Issues printed by :meth:`UploadReport.to_text`."""

ACCEPTED = "accepted"
REJECTED = "rejected"
ALREADY_INGESTED = "already_ingested"


@dataclasses.dataclass(frozen=True)
class Issue:
    """One problem in an uploaded file."""

    severity: str
    """``error`` (the upload is rejected) or ``warning`` (accepted, reported)."""
    file: str
    """File name as uploaded."""
    row: int | None
    """Row as a spreadsheet shows it (header = row 1), or the 1-based feature number of a plot
    file; ``None`` for a problem with the whole file."""
    column: str | None
    """The column (header as written in the file) or field; ``None`` for a whole row or file."""
    message: str
    """What is wrong, quoting the bad value."""
    fix: str = ""
    """What to do about it."""
    plot_id: str | None = None
    """The plot concerned, when known."""
    row_label: str | None = None
    """How to name the row (default ``row N``; plot files use ``feature N (plot_id X)``, XLSX
    continuation sheets ``sheet 'name' row N``)."""

    @property
    def where(self) -> str:
        """``file row N, column C`` as far as known."""
        parts = [self.file]
        if self.row_label:
            parts.append(self.row_label)
        elif self.row is not None:
            parts.append(f"row {self.row}")
        text = " ".join(parts)
        if self.column:
            word = "field" if self.row_label and self.row_label.startswith("feature") else "column"
            text += f", {word} {self.column}"
        return text

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text}; {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["text"] = str(self)
        return d


@dataclasses.dataclass
class UploadReport:
    """What happened to one uploaded file."""

    kind: str
    """``plots``, ``logs`` or ``soil``."""
    file: str
    """File name."""
    project: str
    """Project name."""
    sha256: str = ""
    """SHA-256 of the file's bytes (hex)."""
    status: str = ACCEPTED
    """``accepted``, ``rejected`` or ``already_ingested`` (same bytes seen before: nothing changed)."""
    rows_total: int = 0
    """Data rows (or features) read."""
    inserted: int = 0
    """Records written new."""
    updated: int = 0
    """Records that existed under the same natural key and changed."""
    unchanged: int = 0
    """Records that existed under the same natural key, identical."""
    issues: list[Issue] = dataclasses.field(default_factory=list)
    """All errors and warnings, in file order."""
    upload_id: int | None = None
    """Id of the stored :class:`~mrv_service.store.models.Upload` (None when nothing was recorded)."""
    previous_upload_id: int | None = None
    """For ``already_ingested``: the upload that ingested these bytes."""
    uploaded_by: str = ""
    uploaded_at: str = ""
    """ISO timestamp (UTC)."""

    # --- issue helpers -------------------------------------------------------------------
    def error(self, row: int | None, column: str | None, message: str, fix: str = "", **kw: Any) -> None:
        """Add an error-level issue."""
        self.issues.append(Issue("error", self.file, row, column, message, fix, **kw))

    def warning(self, row: int | None, column: str | None, message: str, fix: str = "", **kw: Any) -> None:
        """Add a warning-level issue."""
        self.issues.append(Issue("warning", self.file, row, column, message, fix, **kw))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    @property
    def rows_rejected(self) -> int:
        """Rows with at least one error."""
        return len({i.row for i in self.issues if i.severity == "error" and i.row is not None})

    @property
    def rows_warned(self) -> int:
        """Rows with a warning and no error."""
        bad = {i.row for i in self.issues if i.severity == "error"}
        return len({i.row for i in self.issues if i.severity == "warning" and i.row is not None} - bad)

    @property
    def rows_accepted(self) -> int:
        """Rows without an error (written only when the upload as a whole is accepted)."""
        if self.status == ALREADY_INGESTED:
            return 0
        file_level = any(i.severity == "error" and i.row is None for i in self.issues)
        return 0 if file_level else self.rows_total - self.rows_rejected

    # --- rendering -----------------------------------------------------------------------
    def to_dict(self, max_issues: int | None = MAX_STORED_ISSUES) -> dict[str, Any]:
        """The report as JSON-ready data (at most ``max_issues`` issues listed)."""
        issues = self.issues if max_issues is None else self.issues[:max_issues]
        return {
            "kind": self.kind,
            "file": self.file,
            "project": self.project,
            "sha256": self.sha256,
            "status": self.status,
            "uploaded_by": self.uploaded_by,
            "uploaded_at": self.uploaded_at,
            "upload_id": self.upload_id,
            "previous_upload_id": self.previous_upload_id,
            # flat counts (as in the Upload table) ...
            "rows_total": self.rows_total,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rows_warned": self.rows_warned,
            "rows_inserted": self.inserted,
            "rows_updated": self.updated,
            "rows_unchanged": self.unchanged,
            # ... and grouped
            "rows": {
                "total": self.rows_total,
                "accepted": self.rows_accepted,
                "rejected": self.rows_rejected,
                "warned": self.rows_warned,
            },
            "records": {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged},
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "issues": [i.to_dict() for i in issues],
            "issues_truncated": len(self.issues) - len(issues),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The report as a JSON string (UTF-8 text, Chinese kept readable)."""
        kwargs.setdefault("ensure_ascii", False)
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    def summary(self) -> str:
        """One line: status and counts."""
        if self.status == ALREADY_INGESTED:
            return f"{self.file}: already ingested (upload {self.previous_upload_id}, same SHA-256), nothing changed"
        head = f"{self.file} ({self.kind}, project {self.project}): {self.status.upper()}"
        rows = (
            f"{self.rows_total} rows: {self.rows_accepted} accepted, {self.rows_rejected} rejected, "
            f"{self.rows_warned} with warnings"
        )
        if self.status == REJECTED:
            return f"{head}; {rows}; nothing was written"
        return f"{head}; {rows}; records: {self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"

    def to_text(self, max_issues: int = MAX_TEXT_ISSUES) -> str:
        """A readable report: the summary line, then errors, then warnings."""
        lines = [self.summary()]
        for label, items in (("errors", self.errors), ("warnings", self.warnings)):
            if not items:
                continue
            lines.append(f"{len(items)} {label}:")
            lines.extend(f"  - {i}" for i in items[:max_issues])
            if len(items) > max_issues:
                lines.append(f"  ... and {len(items) - max_issues} more {label} (see the JSON report)")
        return "\n".join(lines)


class IngestError(MRVError, ValueError):
    """An upload was rejected; ``report`` says why (every error with file, row, column and fix)."""

    def __init__(self, report: UploadReport):
        self.report = report
        first = "; ".join(str(i) for i in report.errors[:5])
        more = len(report.errors) - 5
        super().__init__(f"{report.summary()}: {first}" + (f" (and {more} more errors)" if more > 0 else ""))


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def previous_upload(session: Session, project: Project, kind: str, sha256: str) -> Upload | None:
    """The accepted upload of the same bytes for this project and kind, if any."""
    return session.scalars(
        select(Upload)
        .where(
            Upload.project_id == project.id,
            Upload.kind == kind,
            Upload.sha256 == sha256,
            Upload.status == ACCEPTED,
        )
        .order_by(Upload.id)
        .limit(1)
    ).one_or_none()


def record_upload(session: Session, project: Project, report: UploadReport) -> Upload:
    """Add (and flush) the :class:`Upload` row for a report; sets ``report.upload_id``."""
    now = dt.datetime.now(dt.UTC)
    report.uploaded_at = now.isoformat(timespec="seconds")
    upload = Upload(
        project_id=project.id,
        kind=report.kind,
        file_name=report.file,
        sha256=report.sha256,
        uploaded_by=report.uploaded_by,
        uploaded_at=now,
        status=report.status,
        rows_total=report.rows_total,
        rows_accepted=report.rows_accepted,
        rows_rejected=report.rows_rejected,
        rows_warned=report.rows_warned,
        rows_inserted=report.inserted,
        rows_updated=report.updated,
        rows_unchanged=report.unchanged,
        report={},
    )
    session.add(upload)
    session.flush()
    report.upload_id = upload.id
    upload.report = report.to_dict()
    return upload


def _audit_upload(session: Session, project: Project, report: UploadReport) -> None:
    """Append the upload to the audit trail (in the upload's transaction, before its commit)."""
    append(
        session,
        action="upload",
        actor=report.uploaded_by or "unknown",
        organisation_id=project.organisation_id,
        project_id=project.id,
        payload={
            "upload_id": report.upload_id,
            "kind": report.kind,
            "file": report.file,
            "sha256": report.sha256,
            "status": report.status,
            "rows_total": report.rows_total,
            "rows_accepted": report.rows_accepted,
            "rows_rejected": report.rows_rejected,
            "records": {
                "inserted": report.inserted,
                "updated": report.updated,
                "unchanged": report.unchanged,
            },
        },
    )


def finish_upload(
    session: Session, project: Project, report: UploadReport, upload: Upload | None = None
) -> None:
    """Commit an accepted upload, or roll back and record a rejected one, then raise.

    The data writes and the ``Upload`` row form one transaction: on errors everything pending is
    rolled back, the ``Upload`` is recorded as rejected with its report (committed on its own,
    in a transaction that takes the project lock again:
    :func:`~mrv_service.store.locks.lock_project`), and :class:`IngestError` is raised.
    """
    if report.has_errors:
        session.rollback()
        # the rejected Upload row is written under the project lock too: on SQLite a transaction
        # that reads (the expired project) and then writes must begin with BEGIN IMMEDIATE
        project = lock_project(session, project)
        report.status = REJECTED
        report.inserted = report.updated = report.unchanged = 0
        record_upload(session, project, report)
        _audit_upload(session, project, report)
        session.commit()
        raise IngestError(report)
    if upload is not None:
        upload.rows_inserted, upload.rows_updated, upload.rows_unchanged = (
            report.inserted,
            report.updated,
            report.unchanged,
        )
        upload.rows_total, upload.rows_accepted = report.rows_total, report.rows_accepted
        upload.rows_rejected, upload.rows_warned = report.rows_rejected, report.rows_warned
        upload.report = report.to_dict()
    _audit_upload(session, project, report)
    session.commit()
