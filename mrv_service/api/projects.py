"""``/api/v1/projects``: the caller's organisation's projects and their run settings."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from mrv_service.api.auth import current_user, require
from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError
from mrv_service.api.schemas import (
    PageArgsSchema,
    ProjectPageSchema,
    ProjectSchema,
    SettingsChangeSchema,
    SettingsSchema,
)
from mrv_service.project_settings import ProjectSettingsError, set_setting, unset_setting
from mrv_service.store.models import Project

__all__ = ["blp", "project_of_caller"]

blp = Blueprint("projects", __name__, url_prefix="/api/v1", description="Projects and their run settings.")


def project_of_caller(project_id: int, *, for_update: bool = False) -> Project:
    """The project ``project_id`` of the caller's organisation; 404 for any other (OWASP API1:
    another tenant's project is indistinguishable from one that does not exist)."""
    stmt = select(Project).where(
        Project.id == project_id, Project.organisation_id == current_user().organisation_id
    )
    if for_update:
        stmt = stmt.with_for_update()
    project = db_session().scalars(stmt).one_or_none()
    if project is None:
        raise ApiError(
            404,
            f"There is no project {project_id} in your organisation.",
            field="project_id",
            fix="List your projects with GET /api/v1/projects.",
        )
    return project


@blp.route("/projects")
class Projects(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ProjectPageSchema)
    @require("read")
    def get(self, args):
        """The organisation's projects, by id, `limit` per page."""
        stmt = select(Project).where(Project.organisation_id == current_user().organisation_id)
        if args["after"] is not None:
            stmt = stmt.where(Project.id > args["after"])
        rows = db_session().scalars(stmt.order_by(Project.id).limit(args["limit"] + 1)).all()
        items = rows[: args["limit"]]
        return {"items": items, "next": items[-1].id if len(rows) > args["limit"] else None}


@blp.route("/projects/<int:project_id>")
class ProjectById(MethodView):
    @blp.response(200, ProjectSchema)
    @require("read")
    def get(self, project_id: int):
        """One project of the organisation."""
        return project_of_caller(project_id)


@blp.route("/projects/<int:project_id>/settings")
class ProjectSettings(MethodView):
    @blp.response(200, SettingsSchema)
    @require("read")
    def get(self, project_id: int):
        """The run settings set for the project (unset keys take their documented defaults)."""
        return {"settings": project_of_caller(project_id).settings or {}}

    @blp.arguments(SettingsChangeSchema)
    @blp.response(200, SettingsSchema)
    @require("write")
    def patch(self, change, project_id: int):
        """Set and unset run settings (admin, developer). `imagery.source` must be an http(s) URL
        here: the service does not read local paths named over the API."""
        project = project_of_caller(project_id, for_update=True)
        settings = dict(project.settings or {})
        try:
            for key in change["unset"]:
                settings = unset_setting(settings, key)
            for key, value in change["set"].items():
                if key == "imagery.source" and not (
                    isinstance(value, str) and value.startswith(("https://", "http://"))
                ):
                    raise ApiError(
                        422,
                        "imagery.source must be an http(s) URL of a STAC API over the API.",
                        field="set.imagery.source",
                        fix="Give a STAC API URL, or set a local catalog with `mrv project set` on the server.",
                    )
                settings = set_setting(settings, key, value)
        except ProjectSettingsError as exc:
            raise ApiError(422, str(exc), code="invalid_setting", field="set") from exc
        project.settings = settings
        db_session().commit()
        return {"settings": settings}
