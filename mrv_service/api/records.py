"""``/api/v1/projects/{id}/activity-records`` and ``/soil-samples``: what the uploads stored."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from mrv_service.api.auth import require
from mrv_service.api.db import db_session
from mrv_service.api.projects import project_of_caller
from mrv_service.api.schemas import PageArgsSchema
from mrv_service.store.models import ActivityRecord, Plot, SoilSample

__all__ = ["blp"]

blp = Blueprint(
    "records", __name__, url_prefix="/api/v1", description="Activity records and soil samples of a project."
)


class RecordArgsSchema(PageArgsSchema):
    plot_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Only those of this plot (its id in the plot upload)."},
    )


class ActivityRecordSchema(Schema):
    id = fields.Integer(required=True)
    plot_id = fields.String(required=True, metadata={"description": "The plot's id in the plot upload."})
    date = fields.Date(required=True)
    activity = fields.String(required=True)
    crop = fields.String(allow_none=True)
    method = fields.String(allow_none=True)
    attributes = fields.Dict(keys=fields.String())
    upload_id = fields.Integer(allow_none=True)
    source_row = fields.Integer(allow_none=True)


class ActivityRecordPageSchema(Schema):
    items = fields.List(fields.Nested(ActivityRecordSchema), required=True)
    next = fields.Integer(allow_none=True, required=True)


class SoilSampleSchema(Schema):
    id = fields.Integer(required=True)
    sample_id = fields.String(required=True)
    plot_id = fields.String(allow_none=True, metadata={"description": "The plot sampled, when known."})
    lon = fields.Float(allow_none=True)
    lat = fields.Float(allow_none=True)
    date = fields.Date(allow_none=True)
    depth_top_cm = fields.Float(required=True)
    depth_bottom_cm = fields.Float(required=True)
    soc_measured_g_kg = fields.Float(allow_none=True)
    som_g_kg = fields.Float(allow_none=True)
    bulk_density_g_cm3 = fields.Float(allow_none=True)
    coarse_fraction = fields.Float(allow_none=True)
    lab = fields.String(allow_none=True)
    method = fields.String(allow_none=True)
    soc_g_kg = fields.Float(required=True)
    soc_stock_t_ha = fields.Float(allow_none=True)
    upload_id = fields.Integer(allow_none=True)
    source_row = fields.Integer(allow_none=True)


class SoilSamplePageSchema(Schema):
    items = fields.List(fields.Nested(SoilSampleSchema), required=True)
    next = fields.Integer(allow_none=True, required=True)


def _page(rows: list, limit: int) -> dict:
    items = rows[:limit]
    return {"items": items, "next": items[-1]["id"] if len(rows) > limit else None}


@blp.route("/projects/<int:project_id>/activity-records")
class ActivityRecords(MethodView):
    @blp.arguments(RecordArgsSchema, location="query")
    @blp.response(200, ActivityRecordPageSchema)
    @require("read")
    def get(self, args, project_id: int):
        """The project's activity records, by id, `limit` per page, optionally of one plot."""
        project = project_of_caller(project_id)
        stmt = (
            select(ActivityRecord, Plot.external_id)
            .join(Plot, ActivityRecord.plot_id == Plot.id)
            .where(Plot.project_id == project.id)
        )
        if args["plot_id"] is not None:
            stmt = stmt.where(Plot.external_id == args["plot_id"])
        if args["after"] is not None:
            stmt = stmt.where(ActivityRecord.id > args["after"])
        result = db_session().execute(stmt.order_by(ActivityRecord.id).limit(args["limit"] + 1)).all()
        rows = [
            {
                "id": r.id,
                "plot_id": ext,
                "date": r.date,
                "activity": r.activity,
                "crop": r.crop,
                "method": r.method,
                "attributes": r.attributes or {},
                "upload_id": r.upload_id,
                "source_row": r.source_row,
            }
            for r, ext in result
        ]
        return _page(rows, args["limit"])


_SOIL_FIELDS = tuple(n for n in SoilSampleSchema._declared_fields if n != "plot_id")


@blp.route("/projects/<int:project_id>/soil-samples")
class SoilSamples(MethodView):
    @blp.arguments(RecordArgsSchema, location="query")
    @blp.response(200, SoilSamplePageSchema)
    @require("read")
    def get(self, args, project_id: int):
        """The project's soil samples, by id, `limit` per page, optionally of one plot."""
        project = project_of_caller(project_id)
        stmt = (
            select(SoilSample, Plot.external_id)
            .outerjoin(Plot, SoilSample.plot_id == Plot.id)
            .where(SoilSample.project_id == project.id)
        )
        if args["plot_id"] is not None:
            stmt = stmt.where(Plot.external_id == args["plot_id"])
        if args["after"] is not None:
            stmt = stmt.where(SoilSample.id > args["after"])
        result = db_session().execute(stmt.order_by(SoilSample.id).limit(args["limit"] + 1)).all()
        rows = [{**{f: getattr(s, f) for f in _SOIL_FIELDS}, "plot_id": ext} for s, ext in result]
        return _page(rows, args["limit"])
