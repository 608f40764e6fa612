"""``/api/v1/organisation(s)``: the caller's own organisation (tenant)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from mrv_service.api.auth import current_user, require
from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError
from mrv_service.api.schemas import OrganisationSchema
from mrv_service.store.models import Organisation

blp = Blueprint("organisations", __name__, url_prefix="/api/v1", description="Your organisation.")


def _own(organisation_id: int) -> Organisation:
    if organisation_id != current_user().organisation_id:
        raise ApiError(404, f"There is no organisation {organisation_id}.", field="organisation_id")
    org = db_session().get(Organisation, organisation_id)
    if org is None:  # pragma: no cover - the caller's organisation exists
        raise ApiError(404, f"There is no organisation {organisation_id}.", field="organisation_id")
    return org


@blp.route("/organisation")
class OwnOrganisation(MethodView):
    @blp.response(200, OrganisationSchema)
    @require("read")
    def get(self):
        """The caller's organisation."""
        return _own(current_user().organisation_id)


@blp.route("/organisations/<int:organisation_id>")
class OrganisationById(MethodView):
    @blp.response(200, OrganisationSchema)
    @require("read")
    def get(self, organisation_id: int):
        """An organisation by id: only one's own (any other id is 404)."""
        return _own(organisation_id)
