"""A project's audit trail: the entries of the hash-chained log about the project (uploads,
runs, reviews ...), newest first, with the actor and the time; 50 per page (``before``: the
``seq`` of the last entry shown)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from sqlalchemy import select

from mrv_service.pages.common import bp, project_context, project_or_404, session
from mrv_service.store.models import AuditEntry

__all__ = ["ENTRIES_PER_PAGE", "describe"]

ENTRIES_PER_PAGE = 50

_SHOWN_KEYS = (
    "plot_id",
    "year",
    "practice",
    "decision",
    "method",
    "note",
    "run_id",
    "status",
    "stages",
    "kind",
    "file_name",
    "error",
)


def describe(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The payload's fields a reader looks for first (review: plot, year, practice, decision,
    note; run: id, status; upload: kind, file), as (key, text) pairs."""
    out = []
    for key in _SHOWN_KEYS:
        value = payload.get(key)
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        out.append((key, str(value)[:300]))
    return out


@bp.get("/projects/<int:project_id>/audit")
def audit(project_id: int):
    project = project_or_404(project_id)
    ctx = project_context(project)
    stmt = select(AuditEntry).where(
        AuditEntry.organisation_id == project.organisation_id, AuditEntry.project_id == project.id
    )
    before = request.args.get("before", "")
    if before.isdigit():
        stmt = stmt.where(AuditEntry.seq < int(before))
    entries = list(session().scalars(stmt.order_by(AuditEntry.seq.desc()).limit(ENTRIES_PER_PAGE + 1)))
    more = len(entries) > ENTRIES_PER_PAGE
    entries = entries[:ENTRIES_PER_PAGE]
    return render_template(
        "pages/audit.html",
        **ctx,
        entries=[(e, describe(e.payload or {})) for e in entries],
        older=entries[-1].seq if more and entries else None,
    )
