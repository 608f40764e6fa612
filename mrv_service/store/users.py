"""Users and their API tokens: create them, find the user of a token, hash passwords.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once and kept only as its hex
SHA-256 (a fast hash is right for a random 256-bit secret; passwords, which are not random,
are hashed with argon2id instead).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import MRVError
from mrv_service.store.db import begin_write
from mrv_service.store.models import ROLES, ApiToken, User
from mrv_service.store.projects import get_or_create_organisation

__all__ = [
    "UserError",
    "token_sha256",
    "create_user",
    "create_token",
    "user_for_token",
    "token_holder",
    "list_users",
    "user_in_organisation",
    "list_tokens",
    "revoke_token",
    "hash_password",
    "verify_password",
]

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
"""Shortest password accepted [characters] (NIST SP 800-63B §5.1.1.2 asks for at least 8)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(MRVError, ValueError):
    """A user cannot be created as asked (bad role or e-mail, e-mail taken)."""


def token_sha256(token: str) -> str:
    """hex SHA-256 of a token (what the store keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User) -> str:
    """A new API token of ``user`` (flushed); the token itself is returned once, never stored."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=token_sha256(token), revoked=False))
    session.flush()
    return token


def create_user(
    session: Session, org_name: str, email: str, role: str, password: str | None = None
) -> tuple[User, str]:
    """Create a user of organisation ``org_name`` (created when absent) and a first API token.

    ``password`` (for the pages' sign-in; at least :data:`MIN_PASSWORD` characters) is kept
    only as its argon2id hash; without it the user signs in with tokens only.

    Returns
    -------
    (User, str)
        The user (flushed, not committed) and its token (shown once; only its SHA-256 is kept).

    Raises
    ------
    UserError
        When ``role`` is not one of :data:`~mrv_service.store.models.ROLES`, the e-mail is
        malformed or belongs to a user already.
    """
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}; pick one of them")
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise UserError(f"e-mail {email!r} is not an address such as name@example.org")
    if not org_name or not org_name.strip() or len(org_name) > 200:
        raise UserError("the organisation name must be a text of 1-200 characters")
    if password is not None and not MIN_PASSWORD <= len(password) <= 1024:
        raise UserError(f"the password must have {MIN_PASSWORD} to 1024 characters")
    begin_write(session)
    if session.scalars(select(User).where(User.email == email)).one_or_none() is not None:
        raise UserError(f"a user with e-mail {email!r} exists already; use another address")
    org = get_or_create_organisation(session, org_name.strip())
    user = User(
        organisation_id=org.id,
        email=email,
        role=role,
        password_hash=None if password is None else hash_password(password),
    )
    session.add(user)
    session.flush()
    token = create_token(session, user)
    log.info("created user %s (%s) in organisation %r", email, role, org.name)
    return user, token


def user_for_token(session: Session, token: str) -> User | None:
    """The user whose unrevoked API token is ``token``; None for an unknown or revoked one."""
    found = token_holder(session, token)
    return None if found is None else found[0]


def token_holder(session: Session, token: str) -> tuple[User, int] | None:
    """(user, token id) of the unrevoked API token ``token``; None for an unknown or revoked one."""
    if not token:
        return None
    stmt = (
        select(User, ApiToken.id)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == token_sha256(token), ApiToken.revoked.is_(False))
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1])


def list_users(session: Session, organisation_id: int, limit: int, after: int | None = None) -> list[User]:
    """Users of one organisation by id, at most ``limit`` after id ``after``."""
    stmt = select(User).where(User.organisation_id == organisation_id)
    if after is not None:
        stmt = stmt.where(User.id > after)
    return list(session.scalars(stmt.order_by(User.id).limit(limit)))


def user_in_organisation(session: Session, organisation_id: int, user_id: int) -> User | None:
    """User ``user_id`` when it belongs to ``organisation_id`` (else None: tenants never meet)."""
    return session.scalars(
        select(User).where(User.id == user_id, User.organisation_id == organisation_id)
    ).one_or_none()


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """The API tokens of a user (their hashes never leave the store), oldest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def revoke_token(session: Session, token: ApiToken) -> bool:
    """Revoke ``token`` (flushed); False when it was revoked already (revoking is idempotent)."""
    if token.revoked:
        return False
    token.revoked = True
    session.flush()
    return True


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (for the pages' logins)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (an argon2 hash)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
