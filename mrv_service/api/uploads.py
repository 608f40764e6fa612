"""``/api/v1/projects/{id}/uploads``: multipart uploads of plots, activity logs, soil samples
and weather, through the same ingest functions and with the same report as ``mrv ingest``.

The uploaded file is saved under ``<data dir>/uploads/tmp/`` (in a directory of its own, under
its own file name, so the report names the file as the user called it), ingested and deleted.
Its extension decides the reader, as on the command line.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import unicodedata
from pathlib import Path

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from mrv_service.api.auth import current_user, require
from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError, error_response
from mrv_service.api.projects import project_of_caller
from mrv_service.api.schemas import PageArgsSchema, UtcDateTime
from mrv_service.store.models import Upload

__all__ = ["blp", "UPLOAD_KINDS", "SUFFIXES"]

blp = Blueprint(
    "uploads",
    __name__,
    url_prefix="/api/v1",
    description="Uploads of plots, activity logs, soil samples and weather (validated; all or nothing).",
)

_TABLES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
SUFFIXES: dict[str, tuple[str, ...]] = {
    "plots": (".geojson", ".json", ".gpkg", ".zip"),
    "logs": _TABLES,
    "soil": _TABLES,
    "weather": _TABLES,
}
"""File name extensions accepted per kind (a bare ``.shp`` lacks its side files: zip them)."""
UPLOAD_KINDS = tuple(SUFFIXES)
_FORMATS = {
    "plots": "GeoJSON (.geojson), GeoPackage (.gpkg) or a zipped Shapefile (.zip)",
    "logs": "CSV (.csv) or XLSX (.xlsx)",
    "soil": "CSV (.csv) or XLSX (.xlsx)",
    "weather": "CSV (.csv) or XLSX (.xlsx)",
}
MAX_NAME_LEN = 200


class UploadFileSchema(Schema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "The file; its extension decides the reader.",
        },
    )


class IssueSchema(Schema):
    severity = fields.String(required=True)
    file = fields.String(required=True)
    row = fields.Integer(allow_none=True)
    column = fields.String(allow_none=True)
    message = fields.String(required=True)
    fix = fields.String()
    plot_id = fields.String(allow_none=True)
    row_label = fields.String(allow_none=True)
    text = fields.String()


class UploadReportSchema(Schema):
    """The upload report, as ``mrv ingest --json`` prints it."""

    kind = fields.String(required=True)
    file = fields.String(required=True)
    project = fields.String(required=True)
    sha256 = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["accepted", "rejected", "already_ingested"]})
    uploaded_by = fields.String()
    uploaded_at = fields.String()
    upload_id = fields.Integer(allow_none=True)
    previous_upload_id = fields.Integer(allow_none=True)
    rows_total = fields.Integer()
    rows_accepted = fields.Integer()
    rows_rejected = fields.Integer()
    rows_warned = fields.Integer()
    rows_inserted = fields.Integer()
    rows_updated = fields.Integer()
    rows_unchanged = fields.Integer()
    rows = fields.Dict(keys=fields.String(), values=fields.Integer())
    records = fields.Dict(keys=fields.String(), values=fields.Integer())
    n_errors = fields.Integer()
    n_warnings = fields.Integer()
    issues = fields.List(fields.Nested(IssueSchema))
    issues_truncated = fields.Integer()


class UploadItemSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    file_name = fields.String(required=True)
    sha256 = fields.String(required=True)
    uploaded_by = fields.String(required=True)
    uploaded_at = UtcDateTime(required=True)
    status = fields.String(required=True)
    rows_total = fields.Integer()
    rows_accepted = fields.Integer()
    rows_rejected = fields.Integer()
    rows_warned = fields.Integer()
    rows_inserted = fields.Integer()
    rows_updated = fields.Integer()
    rows_unchanged = fields.Integer()


class UploadPageSchema(Schema):
    items = fields.List(fields.Nested(UploadItemSchema), required=True)
    next = fields.Integer(allow_none=True, required=True)


class UploadArgsSchema(PageArgsSchema):
    kind = fields.String(load_default=None, validate=validate.OneOf(UPLOAD_KINDS))
    status = fields.String(
        load_default=None, validate=validate.OneOf(("accepted", "rejected", "already_ingested"))
    )


def safe_file_name(name: str | None) -> str:
    """The uploaded file's base name, kept as the user wrote it (Chinese included) but without
    directories, control characters or a leading dot."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    if len(name) > MAX_NAME_LEN:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: MAX_NAME_LEN - len(ext) - 1] + dot + ext)
            if dot and len(ext) < 10
            else name[:MAX_NAME_LEN]
        )
    return name


def _check_suffix(kind: str, name: str) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES[kind]:
        shown = repr(suffix) if suffix else "no extension"
        raise ApiError(
            422,
            f"{name or 'the file'} has {shown}; a {kind} upload is read by its extension: "
            f"{', '.join(SUFFIXES[kind])}.",
            code="unsupported_file_type",
            field="file",
            fix=f"Upload {_FORMATS[kind]}, with that extension in the file name"
            + (" (an old .xls workbook: save it as .xlsx)" if suffix == ".xls" else "")
            + (" (a Shapefile: zip the .shp with its .shx, .dbf, .prj and .cpg)" if suffix == ".shp" else "")
            + ".",
        )


@blp.route("/projects/<int:project_id>/uploads/<string:kind>")
class UploadKind(MethodView):
    @blp.arguments(UploadFileSchema, location="files")
    @blp.response(201, UploadReportSchema, description="Accepted: the report.")
    @blp.alt_response(200, schema=UploadReportSchema, description="The same bytes were ingested before.")
    @blp.alt_response(422, description="Rejected: the error shape, with the report under `report`.")
    @require("write")
    def post(self, files, project_id: int, kind: str):
        """Upload a plots, logs, soil or weather file (admin, developer): validated as a whole,
        written all or nothing; the same report as `mrv ingest KIND --json`."""
        from mrv_service.ingest import INGEST_FUNCTIONS, IngestError
        from mrv_service.store.db import StoreBusyError
        from mrv_service.store.locks import ProjectLockError

        if kind not in INGEST_FUNCTIONS:
            raise ApiError(
                404,
                f"There is no upload kind {kind!r}.",
                field="kind",
                fix=f"Use one of: {', '.join(UPLOAD_KINDS)}.",
            )
        project = project_of_caller(project_id)
        upload = files["file"]
        name = safe_file_name(getattr(upload, "filename", None))
        _check_suffix(kind, name)
        settings = current_app.extensions["mrv"]["settings"]
        tmp_root = Path(settings.data_dir) / "uploads" / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        tmp_dir = Path(tempfile.mkdtemp(prefix="upload-", dir=tmp_root))
        try:
            path = tmp_dir / name
            upload.save(str(path))
            session = db_session()
            try:
                report = INGEST_FUNCTIONS[kind](
                    session, project, path, uploaded_by=current_user().email, id_salt=settings.id_salt
                )
            except IngestError as exc:
                report = exc.report
                first = report.errors[0] if report.errors else None
                response = error_response(
                    422,
                    {
                        "code": "upload_rejected",
                        "message": str(exc),
                        "field": "file",
                        "fix": (first.fix or "Correct the rows named in `report.issues` and upload again.")
                        if first
                        else "Correct the file and upload again.",
                    },
                )
                response.set_data(
                    json.dumps({**response.get_json(), "report": report.to_dict()}, ensure_ascii=False)
                )
                return response
            except (ProjectLockError, StoreBusyError) as exc:
                raise ApiError(
                    409, str(exc), code="busy", fix="Retry when the other upload has finished."
                ) from exc
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        status = 200 if report.status == "already_ingested" else 201
        return report.to_dict(), status


@blp.route("/projects/<int:project_id>/uploads")
class Uploads(MethodView):
    @blp.arguments(UploadArgsSchema, location="query")
    @blp.response(200, UploadPageSchema)
    @require("read")
    def get(self, args, project_id: int):
        """The project's uploads (accepted and rejected), by id, `limit` per page."""
        project = project_of_caller(project_id)
        stmt = select(Upload).where(Upload.project_id == project.id)
        if args["kind"] is not None:
            stmt = stmt.where(Upload.kind == args["kind"])
        if args["status"] is not None:
            stmt = stmt.where(Upload.status == args["status"])
        if args["after"] is not None:
            stmt = stmt.where(Upload.id > args["after"])
        rows = db_session().scalars(stmt.order_by(Upload.id).limit(args["limit"] + 1)).all()
        items = rows[: args["limit"]]
        return {"items": items, "next": items[-1].id if len(rows) > args["limit"] else None}
