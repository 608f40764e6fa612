"""``/api/v1/users`` and ``/api/v1/tokens``: the organisation's users and their API tokens.

An admin creates users of its own organisation (``POST /users``, the first token shown once)
and sees all of them; every user sees itself (``/users/me``, ``/users/{own id}``) and issues and
revokes its own tokens. A token is shown only in the answer that issues it; the store keeps
its SHA-256. Creating a user and issuing or revoking a token append to the audit trail.
A request cannot revoke the token it is authenticated with (revoke it with another one), so
nobody locks themselves out by accident.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from mrv_service.api.auth import Caller, current_user, require
from mrv_service.api.db import db_session
from mrv_service.api.errors import ApiError
from mrv_service.api.schemas import PageArgsSchema, UserSchema, UtcDateTime
from mrv_service.store.models import ROLES, ApiToken, Organisation, User

__all__ = ["blp"]

blp = Blueprint(
    "users", __name__, url_prefix="/api/v1", description="Users of your organisation and their API tokens."
)


class UserCreateSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=320))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(
        load_default=None,
        validate=validate.Length(min=10, max=1024),
        metadata={"description": "For signing in to the pages (kept as an argon2id hash); optional."},
    )


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema), required=True)
    next = fields.Integer(allow_none=True, required=True)


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    created_at = UtcDateTime(required=True)
    revoked = fields.Boolean(required=True)


class TokenListSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema), required=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(
        required=True, metadata={"description": "The token: shown only here, send it as `Bearer TOKEN`."}
    )


class NewUserSchema(Schema):
    user = fields.Nested(UserSchema, required=True)
    token = fields.Nested(NewTokenSchema, required=True)


def _user_dict(u: User) -> dict:
    return {"id": u.id, "email": u.email, "role": u.role, "organisation_id": u.organisation_id}


def _token_dict(t: ApiToken) -> dict:
    return {"id": t.id, "user_id": t.user_id, "created_at": t.created_at, "revoked": bool(t.revoked)}


def _token_record(session, token: str) -> ApiToken:
    from sqlalchemy import select

    from mrv_service.store.users import token_sha256

    return session.scalars(select(ApiToken).where(ApiToken.token_sha256 == token_sha256(token))).one()


def _visible_user(caller: Caller, user_id: int) -> User:
    """User ``user_id`` if the caller may see it (itself; any of its organisation for an admin)."""
    from mrv_service.store.users import user_in_organisation

    user = user_in_organisation(db_session(), caller.organisation_id, user_id)
    if user is None or (caller.role != "admin" and user.id != caller.user_id):
        raise ApiError(
            404,
            f"There is no user {user_id} you can see.",
            field="user_id",
            fix="Use GET /api/v1/users/me for yourself; an admin lists the users with GET /api/v1/users.",
        )
    return user


def _write_session():
    from mrv_service.store.db import begin_write

    session = db_session()
    session.commit()  # end the read transaction of the authentication: write from the start
    begin_write(session)
    return session


def _audit(session, caller: Caller, action: str, payload: dict) -> None:
    from mrv_service.store.audit import append

    append(
        session,
        action=action,
        actor=caller.email,
        organisation_id=caller.organisation_id,
        project_id=None,
        payload=payload,
    )


@blp.route("/users/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    @require("read")
    def get(self):
        """The caller."""
        u = current_user()
        return {"id": u.user_id, "email": u.email, "role": u.role, "organisation_id": u.organisation_id}


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, UserPageSchema)
    @require("admin")
    def get(self, args):
        """The organisation's users (admin), by id, `limit` per page."""
        from mrv_service.store.users import list_users

        rows = list_users(db_session(), current_user().organisation_id, args["limit"] + 1, args["after"])
        items = rows[: args["limit"]]
        return {
            "items": [_user_dict(u) for u in items],
            "next": items[-1].id if len(rows) > args["limit"] else None,
        }

    @blp.arguments(UserCreateSchema)
    @blp.response(201, NewUserSchema, description="Created: the user and its first token (shown once).")
    @blp.alt_response(409, description="A user with this e-mail exists.")
    @require("admin")
    def post(self, body):
        """Create a user of the organisation (admin) with a first API token, shown once."""
        from sqlalchemy import select

        from mrv_service.store.users import UserError, create_user

        caller = current_user()
        session = _write_session()
        email = body["email"].strip().lower()
        if session.scalars(select(User.id).where(User.email == email)).first() is not None:
            raise ApiError(
                409,
                f"A user with e-mail {email!r} exists already.",
                field="email",
                fix="Use another address, or issue a new token to the existing user.",
            )
        org = session.get(Organisation, caller.organisation_id)
        try:
            user, token = create_user(session, org.name, email, body["role"], body["password"])
        except UserError as exc:
            session.rollback()
            raise ApiError(422, f"{exc}.", field="email" if "mail" in str(exc) else None) from exc
        record = _token_record(session, token)
        _audit(
            session,
            caller,
            "user_created",
            {"user_id": user.id, "email": user.email, "role": user.role, "token_id": record.id},
        )
        session.commit()
        return {"user": _user_dict(user), "token": {**_token_dict(record), "token": token}}, 201


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    @require("read")
    def get(self, user_id: int):
        """A user: oneself, or (admin) any user of the organisation."""
        return _user_dict(_visible_user(current_user(), user_id))


@blp.route("/users/<int:user_id>/tokens")
class UserTokens(MethodView):
    @blp.response(200, TokenListSchema)
    @require("read")
    def get(self, user_id: int):
        """A user's API tokens (their values are never shown again)."""
        from mrv_service.store.users import list_tokens

        user = _visible_user(current_user(), user_id)
        return {"items": [_token_dict(t) for t in list_tokens(db_session(), user.id)]}

    @blp.response(201, NewTokenSchema, description="Issued: the token, shown once.")
    @require("read")
    def post(self, user_id: int):
        """Issue a new API token to oneself or (admin) to a user of the organisation."""
        from mrv_service.store.users import create_token

        caller = current_user()
        session = _write_session()
        user = _visible_user(caller, user_id)
        token = create_token(session, user)
        record = _token_record(session, token)
        _audit(
            session, caller, "token_issued", {"user_id": user.id, "email": user.email, "token_id": record.id}
        )
        session.commit()
        return {**_token_dict(record), "token": token}, 201


@blp.route("/tokens/<int:token_id>")
class TokenById(MethodView):
    @blp.response(200, TokenSchema, description="Revoked (or revoked already).")
    @blp.alt_response(409, description="The token authenticates this request.")
    @require("read")
    def delete(self, token_id: int):
        """Revoke an API token: one's own, or (admin) one of a user of the organisation. Revoking
        a revoked token is a no-op. The token of this very request cannot be revoked (409)."""
        from mrv_service.store.users import revoke_token, user_in_organisation

        caller = current_user()
        session = _write_session()
        token = session.get(ApiToken, token_id)
        owner = (
            None if token is None else user_in_organisation(session, caller.organisation_id, token.user_id)
        )
        if owner is None or (caller.role != "admin" and owner.id != caller.user_id):
            raise ApiError(
                404,
                f"There is no token {token_id} you can revoke.",
                field="token_id",
                fix="List your tokens with GET /api/v1/users/me, then GET /api/v1/users/{id}/tokens.",
            )
        if token.id == caller.token_id:
            raise ApiError(
                409,
                f"Token {token_id} authenticates this request.",
                field="token_id",
                fix="Revoke it with another of your tokens (issue one with POST /api/v1/users/{id}/tokens).",
            )
        if revoke_token(session, token):
            _audit(
                session,
                caller,
                "token_revoked",
                {"user_id": owner.id, "email": owner.email, "token_id": token.id},
            )
        session.commit()
        return _token_dict(token)
