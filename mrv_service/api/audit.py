"""``/api/v1/audit``: the audit trail entries of the caller's organisation."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from mrv_service.api.auth import current_user, require
from mrv_service.api.db import db_session
from mrv_service.api.schemas import MAX_LIMIT

__all__ = ["blp"]

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="The hash-chained audit trail.")


class AuditArgsSchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))
    after = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "The `next` value of the previous page (an entry's `seq`)."},
    )


class AuditEntrySchema(Schema):
    seq = fields.Integer(required=True, metadata={"description": "Position in the whole log (1, 2, ...)."})
    created_at = fields.String(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    organisation_id = fields.Integer(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    payload = fields.Dict(keys=fields.String())
    prev_sha256 = fields.String(required=True)
    entry_sha256 = fields.String(required=True)
    signature = fields.String(required=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema), required=True)
    next = fields.Integer(allow_none=True, required=True, metadata={"description": "Pass as `after`."})


@blp.route("/audit")
class Audit(MethodView):
    @blp.arguments(AuditArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    @require("read")
    def get(self, args):
        """The organisation's audit entries in log order (`seq`), `limit` per page."""
        from mrv_service.store.audit import entries

        limit = args["limit"]
        rows = entries(db_session(), current_user().organisation_id, limit=limit + 1, after=args["after"])
        items = rows[:limit]
        return {"items": items, "next": items[-1].seq if len(rows) > limit else None}
