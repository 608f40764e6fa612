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
    "hash_password",
    "verify_password",
]

log = logging.getLogger(__name__)

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


def create_user(session: Session, org_name: str, email: str, role: str) -> tuple[User, str]:
    """Create a user of organisation ``org_name`` (created when absent) and a first API token.

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
    begin_write(session)
    if session.scalars(select(User).where(User.email == email)).one_or_none() is not None:
        raise UserError(f"a user with e-mail {email!r} exists already; use another address")
    org = get_or_create_organisation(session, org_name.strip())
    user = User(organisation_id=org.id, email=email, role=role)
    session.add(user)
    session.flush()
    token = create_token(session, user)
    log.info("created user %s (%s) in organisation %r", email, role, org.name)
    return user, token


def user_for_token(session: Session, token: str) -> User | None:
    """The user whose unrevoked API token is ``token``; None for an unknown or revoked one."""
    if not token:
        return None
    stmt = (
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == token_sha256(token), ApiToken.revoked.is_(False))
    )
    return session.scalars(stmt).one_or_none()


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
