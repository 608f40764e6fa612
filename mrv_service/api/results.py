"""``/api/v1/projects/{id}/results`` and ``/documents/{name}``: the latest published run's
headline figures and its documents (PDD, emission-reduction report)."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select

from mrv_service.api.auth import require
from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError
from mrv_service.api.projects import project_of_caller
from mrv_service.api.schemas import UtcDateTime
from mrv_service.store.models import Run, VerificationFlag

__all__ = ["blp", "DOCUMENTS"]

blp = Blueprint(
    "results", __name__, url_prefix="/api/v1", description="Results and documents of the latest run."
)

DOCUMENTS: dict[str, str] = {
    "pdd.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdd.html": "text/html; charset=utf-8",
    "pdd.json": "application/json",
    "reduction_report.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "reduction_report.html": "text/html; charset=utf-8",
    "reduction_report.json": "application/json",
}
"""The only names ``/documents/{name}`` serves (no other path of the output directory is reachable)."""


class ResultsSchema(Schema):
    run_id = fields.Integer(required=True)
    finished_at = UtcDateTime(allow_none=True)
    stages_run = fields.List(fields.String())
    accounting = fields.Dict(keys=fields.String(), metadata={"description": "Accounting, per vintage."})
    headline = fields.Dict(keys=fields.String(), metadata={"description": "Headline figures of the run."})
    flags = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "Flags per severity."}
    )
    flags_by_review_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    documents = fields.List(
        fields.String(), metadata={"description": "Names downloadable at /documents/{name}."}
    )


def _latest(project_id: int) -> tuple[Run, Path]:
    project = project_of_caller(project_id)
    run = (
        db_session()
        .scalars(
            select(Run)
            .where(Run.project_id == project.id, Run.status == "succeeded")
            .order_by(Run.id.desc())
            .limit(1)
        )
        .first()
    )
    if run is None:
        raise ApiError(
            404,
            f"Project {project_id} has no finished run yet.",
            code="no_results",
            fix=f"Start one with POST /api/v1/projects/{project_id}/runs and wait for it to succeed.",
        )
    return run, Path(run.out_dir)


@blp.route("/projects/<int:project_id>/results")
class Results(MethodView):
    @blp.response(200, ResultsSchema)
    @require("read")
    def get(self, project_id: int):
        """The latest succeeded run's headline: accounting per vintage and verification flag counts."""
        run, out = _latest(project_id)
        try:
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = {}
        s = db_session()
        by_severity = dict(
            s.execute(
                select(VerificationFlag.severity, func.count())
                .where(VerificationFlag.run_id == run.id)
                .group_by(VerificationFlag.severity)
            ).all()
        )
        by_review = dict(
            s.execute(
                select(VerificationFlag.review_status, func.count())
                .where(VerificationFlag.run_id == run.id)
                .group_by(VerificationFlag.review_status)
            ).all()
        )
        return {
            "run_id": run.id,
            "finished_at": run.finished_at,
            "stages_run": list(run.stages or []),
            "accounting": json.loads(json.dumps(summary.get("accounting") or {}, default=str)),
            "headline": run.summary or {},
            "flags": {str(k): int(v) for k, v in by_severity.items()},
            "flags_by_review_status": {str(k): int(v) for k, v in by_review.items()},
            "documents": [n for n in DOCUMENTS if (out / n).is_file()],
        }


@blp.route("/projects/<int:project_id>/documents/<string:name>")
class Document(MethodView):
    @blp.response(200, description="The document's bytes.", content_type="application/octet-stream")
    @require("read")
    def get(self, project_id: int, name: str):
        """Download a document of the latest succeeded run: `pdd.docx`, `pdd.html`, `pdd.json`,
        `reduction_report.docx`, `reduction_report.html` or `reduction_report.json`."""
        if name not in DOCUMENTS:
            project_of_caller(project_id)
            raise ApiError(
                404,
                f"There is no document {name!r}.",
                field="name",
                fix=f"Ask for one of: {', '.join(DOCUMENTS)}.",
            )
        _run, out = _latest(project_id)
        path = out / name
        if not path.is_file():
            raise ApiError(404, f"The latest run wrote no {name}.", field="name")
        return Response(
            path.read_bytes(),
            mimetype=DOCUMENTS[name],
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
