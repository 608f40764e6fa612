"""``/api/v1/projects/{id}/flags``: the verification flags of the project's latest succeeded
run, and their review by an agronomist (each decision in the audit trail)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from mrv_service.api.auth import current_user, require
from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError
from mrv_service.api.projects import project_of_caller
from mrv_service.api.schemas import PageArgsSchema
from mrv_service.store.models import Plot, VerificationFlag
from mrv_service.store.reviews import DECISIONS, OVERRIDE_METHODS
from mrv_service.store.verification import PRACTICES, REVIEW_STATUSES, SEVERITIES

__all__ = ["blp"]

blp = Blueprint("flags", __name__, url_prefix="/api/v1", description="Verification flags and their review.")


class FlagArgsSchema(PageArgsSchema):
    severity = fields.String(load_default=None, validate=validate.OneOf(SEVERITIES))
    practice = fields.String(load_default=None, validate=validate.OneOf(PRACTICES))
    plot_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Only the flags of this plot (its id in the plot upload)."},
    )
    review_status = fields.String(load_default=None, validate=validate.OneOf(REVIEW_STATUSES))


class FlagSchema(Schema):
    id = fields.Integer(required=True)
    run_id = fields.Integer(required=True)
    plot_id = fields.String(required=True, metadata={"description": "The plot's id in the plot upload."})
    year = fields.Integer(required=True, metadata={"description": "The season's calendar year."})
    practice = fields.String(required=True)
    logged = fields.String(allow_none=True)
    detected = fields.String(allow_none=True)
    probability = fields.Float(allow_none=True)
    severity = fields.String(required=True)
    reason = fields.String(required=True)
    review_status = fields.String(required=True, metadata={"enum": list(REVIEW_STATUSES)})


class FlagPageSchema(Schema):
    run_id = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "The run the flags are of (null: no run yet)."},
    )
    items = fields.List(fields.Nested(FlagSchema), required=True)
    next = fields.Integer(allow_none=True, required=True)


class ReviewSchema(Schema):
    decision = fields.String(
        required=True,
        validate=validate.OneOf(DECISIONS),
        metadata={
            "description": "accept: the logged practice stands; reject: the plot-season earns no credit; "
            "request_evidence: pending (give a note); override: model the practice as `method`. "
            "The next run takes the decision."
        },
    )
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    method = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(sorted({m for ms in OVERRIDE_METHODS.values() for m in ms})),
        metadata={
            "description": "With `override`: "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in OVERRIDE_METHODS.items())
        },
    )


def _flag_dict(flag: VerificationFlag, external_id: str) -> dict:
    return {
        "id": flag.id,
        "run_id": flag.run_id,
        "plot_id": external_id,
        "year": flag.season_year,
        "practice": flag.practice,
        "logged": flag.logged,
        "detected": flag.detected,
        "probability": flag.probability,
        "severity": flag.severity,
        "reason": flag.reason,
        "review_status": flag.review_status,
    }


@blp.route("/projects/<int:project_id>/flags")
class Flags(MethodView):
    @blp.arguments(FlagArgsSchema, location="query")
    @blp.response(200, FlagPageSchema)
    @require("read")
    def get(self, args, project_id: int):
        """The flags of the project's latest succeeded run, by id, `limit` per page; filter by
        severity, practice, plot and review status."""
        from mrv_service.store.runs import latest_run

        project = project_of_caller(project_id)
        session = db_session()
        run = latest_run(session, project)
        if run is None:
            return {"run_id": None, "items": [], "next": None}
        stmt = (
            select(VerificationFlag, Plot.external_id)
            .join(Plot, VerificationFlag.plot_id == Plot.id)
            .where(VerificationFlag.run_id == run.id, VerificationFlag.project_id == project.id)
        )
        for arg, column in (
            ("severity", VerificationFlag.severity),
            ("practice", VerificationFlag.practice),
            ("plot_id", Plot.external_id),
            ("review_status", VerificationFlag.review_status),
        ):
            if args[arg] is not None:
                stmt = stmt.where(column == args[arg])
        if args["after"] is not None:
            stmt = stmt.where(VerificationFlag.id > args["after"])
        result = session.execute(stmt.order_by(VerificationFlag.id).limit(args["limit"] + 1)).all()
        items = [_flag_dict(f, ext) for f, ext in result][: args["limit"]]
        return {
            "run_id": run.id,
            "items": items,
            "next": items[-1]["id"] if len(result) > args["limit"] else None,
        }


@blp.route("/projects/<int:project_id>/flags/<int:flag_id>/review")
class FlagReview(MethodView):
    @blp.arguments(ReviewSchema)
    @blp.response(200, FlagSchema)
    @require("review")
    def post(self, review, project_id: int, flag_id: int):
        """Review a flag (admin, agronomist): accept, reject, request evidence or override the
        practice of its plot-season. Sets the review status of the season's flags, keeps the
        decision for the next run and appends a `review` entry to the audit trail, in one
        transaction."""
        from mrv_service.store.db import begin_write
        from mrv_service.store.reviews import ReviewError, record_review

        session = db_session()
        session.commit()  # end the read transaction of the authentication: write from the start
        begin_write(session)
        project = project_of_caller(project_id)
        found = session.execute(
            select(VerificationFlag, Plot.external_id)
            .join(Plot, VerificationFlag.plot_id == Plot.id)
            .where(VerificationFlag.id == flag_id, VerificationFlag.project_id == project.id)
            .with_for_update()
        ).first()
        if found is None:
            raise ApiError(
                404,
                f"There is no flag {flag_id} in project {project_id}.",
                field="flag_id",
                fix=f"List the flags with GET /api/v1/projects/{project_id}/flags.",
            )
        flag, external_id = found
        try:
            record_review(
                session,
                project,
                plot_id=external_id,
                year=flag.season_year,
                practice=flag.practice,
                decision=review["decision"],
                reviewer=current_user().email,
                note=review["note"],
                method=review["method"],
                context={"flag_id": flag.id, "run_id": flag.run_id},
            )
        except ReviewError as exc:
            session.rollback()
            raise ApiError(
                422, f"{exc}.", field=exc.field, fix="Correct the field and send the review again."
            ) from exc
        session.commit()
        session.refresh(flag)
        return _flag_dict(flag, external_id)
