"""Bearer-token authentication and role checks of the API.

Every ``/api/v1`` request except the OpenAPI document and the docs page carries
``Authorization: Bearer TOKEN``; the token's user (and so its organisation, the tenant every
query is filtered by) is put in :data:`flask.g` as ``g.user``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from flask import current_app, g, request

from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError
from mrv_service.store.users import token_holder

__all__ = ["Caller", "PERMISSIONS", "authenticate", "require", "current_user"]

PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")
"""Paths (and, for the docs, their sub-paths: the assets) served without a token."""

PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"admin", "developer", "agronomist", "viewer"}),
    "write": frozenset({"admin", "developer"}),  # uploads, runs, settings, documents
    "review": frozenset({"admin", "agronomist"}),
    "admin": frozenset({"admin"}),
}


@dataclasses.dataclass(frozen=True)
class Caller:
    """The authenticated user of a request."""

    user_id: int
    organisation_id: int
    email: str
    role: str
    token_id: int
    """The API token of this request (a request cannot revoke it: see ``DELETE /tokens``)."""


def current_user() -> Caller:
    return g.user


def authenticate() -> None:
    """``before_request``: refuse over-long bodies (413) and requests without a valid token (401)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise ApiError(
            413,
            f"The request body ({request.content_length} bytes) is larger than the {limit} bytes accepted.",
        )
    path = request.path
    if not path.startswith("/api/v1/") and path != "/api/v1":
        return
    if path == PUBLIC_PATHS[0] or path == PUBLIC_PATHS[1] or path.startswith(PUBLIC_PATHS[1] + "/"):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "No API token was given.", field="Authorization")
    found = token_holder(db_session(), token.strip())
    if found is None:
        raise ApiError(401, "The API token is unknown or revoked.", field="Authorization")
    user, token_id = found
    g.user = Caller(user.id, user.organisation_id, user.email, user.role, token_id)


def require(permission: str) -> Callable:
    """Decorator of a view: 403 unless the caller's role has ``permission`` (:data:`PERMISSIONS`)."""
    roles = PERMISSIONS[permission]

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if g.user.role not in roles:
                raise ApiError(
                    403,
                    f"Role {g.user.role!r} may not do this (it needs one of: {', '.join(sorted(roles))}).",
                )
            return view(*args, **kwargs)

        return wrapper

    return decorate
