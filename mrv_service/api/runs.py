"""``/api/v1/projects/{id}/runs``: start a run in the background (Dask), follow it, cancel it.

A run is registered in the request (so a second concurrent run of the project is refused with
409 at once) and executed by a Dask worker (:mod:`mrv_service.api.jobs`). A run whose process was
killed is marked failed when its status is read (and when the service starts): at once when it ran
on the server's host, after :data:`~mrv_service.store.runs.STALE_AFTER_S` without a heartbeat
when it ran on another host (a scheduler given by ``MRV_DASK_SCHEDULER``).
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select, update

from mrv_service.api.auth import current_user, require
from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError
from mrv_service.api.projects import project_of_caller
from mrv_service.api.schemas import PageArgsSchema, UtcDateTime
from mrv_service.store.models import Run

__all__ = ["blp", "run_of_caller", "jobs_of_app", "queue_run"]

blp = Blueprint("runs", __name__, url_prefix="/api/v1", description="Runs of a project, in the background.")

STAGE_CHOICES = ("imagery", "verification", "models")


class RunStartSchema(Schema):
    stages = fields.List(
        fields.String(validate=validate.OneOf(STAGE_CHOICES)),
        load_default=None,
        validate=validate.Length(min=1, max=3),
        metadata={"description": "Stages to compute (default all); the others are carried over."},
    )
    seed = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "Seed of the Monte Carlo (default the methodology's)."},
    )


class RunSchema(Schema):
    id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["running", "succeeded", "failed"]})
    stage = fields.String(
        allow_none=True, metadata={"description": "The stage in progress (or last reached)."}
    )
    percentage = fields.Float(allow_none=True, metadata={"description": "How far the run is [0-100]."})
    stages = fields.List(fields.String())
    seed = fields.Integer(allow_none=True)
    cancel_requested = fields.Boolean()
    started_at = UtcDateTime(allow_none=True)
    heartbeat_at = UtcDateTime(
        allow_none=True,
        metadata={"description": "Last sign of life of the worker executing the run (null while queued)."},
    )
    finished_at = UtcDateTime(allow_none=True)
    timings = fields.Dict(keys=fields.String(), metadata={"description": "Wall time per stage [s]."})
    error = fields.String(allow_none=True)
    summary = fields.Dict(keys=fields.String(), metadata={"description": "Headline figures."})


class RunPageSchema(Schema):
    items = fields.List(fields.Nested(RunSchema), required=True)
    next = fields.Integer(allow_none=True, required=True)


class RunQueuedSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "The run's id."})
    status = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "Where to follow it."})


def jobs_of_app():
    """The app's :class:`~mrv_service.api.jobs.RunJobs` (created on first use)."""
    from mrv_service.api.jobs import RunJobs

    ext = current_app.extensions["mrv"]
    if ext.get("jobs") is None:
        ext["jobs"] = RunJobs(
            ext["settings"],
            processes=bool(current_app.config.get("MRV_DASK_PROCESSES", True)),
            n_workers=int(current_app.config.get("MRV_DASK_WORKERS", 1)),
        )
    return ext["jobs"]


def queue_run(project, *, stages, seed: int | None, actor: str) -> Run:
    """Register a run of ``project`` and submit it to Dask (the API's ``POST .../runs`` and the
    pages' "start a run"); ``stages`` in :data:`STAGE_CHOICES` (put in their order).

    Raises
    ------
    ApiError
        409 ``run_in_progress`` when the project has a run in progress; 503
        ``queue_unavailable`` when Dask refused the job (the run is then recorded as failed).
    """
    from mrv_service.run.runner import default_out_dir
    from mrv_service.store.runs import RunInProgressError, start_run

    settings = current_app.extensions["mrv"]["settings"]
    stages = [s for s in STAGE_CHOICES if s in stages]
    session = db_session()
    session.rollback()  # start_run begins its own write transaction
    try:
        run = start_run(
            session,
            project,
            stages=stages,
            seed=seed,
            out_dir=str(default_out_dir(settings, project.name)),
            actor=actor,
        )
    except RunInProgressError as exc:
        raise ApiError(
            409,
            str(exc),
            code="run_in_progress",
            fix="Wait for the run in progress to finish (GET its status), or cancel it (DELETE).",
        ) from exc
    try:
        jobs_of_app().submit(project.name, run.id, stages, seed)
    except Exception as exc:
        from mrv_service.store.runs import finish_run

        finish_run(session, run, ok=False, timings={}, error=f"could not queue the run: {exc}", actor="api")
        raise ApiError(
            503,
            "The run could not be queued on Dask.",
            code="queue_unavailable",
            fix="Check MRV_DASK_SCHEDULER (or unset it) and retry.",
        ) from exc
    return run


def _recover(run: Run) -> Run:
    from mrv_service.store.runs import fail_if_stale

    if run.status == "running":
        fail_if_stale(db_session(), run)
    return run


def run_of_caller(project_id: int, run_id: int) -> Run:
    """Run ``run_id`` of the caller's project ``project_id``; 404 for any other."""
    project = project_of_caller(project_id)
    run = (
        db_session().scalars(select(Run).where(Run.id == run_id, Run.project_id == project.id)).one_or_none()
    )
    if run is None:
        raise ApiError(
            404,
            f"There is no run {run_id} of project {project_id} in your organisation.",
            field="run_id",
            fix=f"List the project's runs with GET /api/v1/projects/{project_id}/runs.",
        )
    return run


@blp.route("/projects/<int:project_id>/runs")
class Runs(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, RunPageSchema)
    @require("read")
    def get(self, args, project_id: int):
        """The project's runs, newest first, `limit` per page (`after`: the `next` of the previous page)."""
        project = project_of_caller(project_id)
        stmt = select(Run).where(Run.project_id == project.id)
        if args["after"] is not None:
            stmt = stmt.where(Run.id < args["after"])
        rows = db_session().scalars(stmt.order_by(Run.id.desc()).limit(args["limit"] + 1)).all()
        items = [_recover(r) for r in rows[: args["limit"]]]
        return {"items": items, "next": items[-1].id if len(rows) > args["limit"] else None}

    @blp.arguments(RunStartSchema, required=False)
    @blp.response(202, RunQueuedSchema)
    @blp.alt_response(409, description="The project has a run in progress.")
    @require("write")
    def post(self, args, project_id: int):
        """Start a run of the project in the background (admin, developer): 202 with its id;
        follow it with GET .../runs/{run_id}. 409 when the project has a run in progress."""
        args = args or {}
        project = project_of_caller(project_id)
        stages = args.get("stages") or list(STAGE_CHOICES)
        run = queue_run(project, stages=stages, seed=args.get("seed"), actor=current_user().email)
        return {"id": run.id, "status": run.status, "url": f"/api/v1/projects/{project_id}/runs/{run.id}"}


@blp.route("/projects/<int:project_id>/runs/<int:run_id>")
class RunById(MethodView):
    @blp.response(200, RunSchema)
    @require("read")
    def get(self, project_id: int, run_id: int):
        """A run's state, stage, percentage, timings and error (a run whose process is gone is
        marked failed here)."""
        return _recover(run_of_caller(project_id, run_id))

    @blp.response(202, RunSchema)
    @require("write")
    def delete(self, project_id: int, run_id: int):
        """Cancel a run (admin, developer): it stops at its next safe point, publishing nothing;
        202 with its state. A finished run is left as it is."""
        run = _recover(run_of_caller(project_id, run_id))
        if run.status == "running":
            session = db_session()
            session.execute(update(Run).where(Run.id == run.id).values(cancel_requested=True))
            session.commit()
            session.refresh(run)
        return run
