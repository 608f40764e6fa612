"""Sign-in to the pages: e-mail and password (argon2id hash of the store's ``users``), a Flask
session cookie (signed with ``MRV_SECRET_KEY``, HttpOnly, SameSite=Lax) and the API's roles.

* Every page needs a signed-in user except the sign-in page and the static files; others are
  sent to ``/login?next=...`` (:func:`require_sign_in`, a ``before_request`` of the blueprint:
  a new page is protected without anyone remembering to decorate it).
* The signed-in user is also put in ``g.user`` as the API's :class:`~mrv_service.api.auth.Caller`,
  so the pages reuse the API's tenant-filtered look-ups (another organisation's ids are 404).
* Roles: :data:`mrv_service.api.auth.PERMISSIONS` (``read``: everyone, ``write``: admin and
  developer: runs; ``review``: admin and agronomist); :func:`require_page` answers 403 otherwise.
* A session names the user's id and a fingerprint of its password hash: changing the password
  (or deleting the user) ends its sessions.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from mrv_service.api.auth import PERMISSIONS, Caller
from mrv_service.pages.common import bp
from mrv_service.pages.i18n import remember_language, t
from mrv_service.store.models import User

__all__ = ["login_manager", "PageUser", "require_page", "can", "require_sign_in"]

log = logging.getLogger(__name__)

login_manager = LoginManager()
login_manager.login_view = "pages.login"
login_manager.session_protection = "basic"

PUBLIC_ENDPOINTS = frozenset({"pages.login", "pages.static", "pages.leaflet"})
"""Endpoints of the blueprint served without signing in."""


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


class PageUser(UserMixin):
    """The signed-in user (a detached copy of the store's row)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.email = user.email
        self.role = user.role
        self.organisation_id = user.organisation_id
        self._fingerprint = _fingerprint(user.password_hash)

    def get_id(self) -> str:
        return f"{self.id}:{self._fingerprint}"

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


@login_manager.user_loader
def _load_user(session_id: str) -> PageUser | None:
    from mrv_service.api.db import db_session

    user_id, _, fingerprint = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db_session().get(User, int(user_id))
    if user is None or user.password_hash is None or _fingerprint(user.password_hash) != fingerprint:
        return None
    return PageUser(user)


@login_manager.unauthorized_handler
def _unauthorized():
    flash(t("sign_in_first"), "info")
    return redirect(url_for("pages.login", next=_local_path(request.full_path)))


def can(permission: str) -> bool:
    """Whether the signed-in user's role has ``permission`` (templates hide what it may not do)."""
    return bool(current_user.is_authenticated and current_user.can(permission))


def require_page(permission: str) -> Callable:
    """Decorator of a page view: 403 unless the user's role has ``permission``."""
    roles = PERMISSIONS[permission]

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                raise Forbidden(
                    f"Role {current_user.role!r} may not do this (it needs one of: {', '.join(sorted(roles))})."
                )
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.before_request
def require_sign_in():
    """Remember ``?lang=``; send anonymous users to the sign-in page; put the user in ``g.user``."""
    remember_language()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    g.user = Caller(current_user.id, current_user.organisation_id, current_user.email, current_user.role, 0)
    return None


def _local_path(target: str | None) -> str | None:
    """``target`` when it is a path of this site (never another host: no open redirect)."""
    if not target:
        return None
    target = target.rstrip("?") if target.endswith("?") else target
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """An argon2 hash to verify against when the e-mail is unknown (same time either way)."""
    if not _DUMMY_HASH:
        from mrv_service.store.users import hash_password

        _DUMMY_HASH.append(hash_password("no-such-user-password"))
    return _DUMMY_HASH[0]


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password (CSRF-protected form)."""
    from mrv_service.api.db import db_session
    from mrv_service.store.users import verify_password

    next_path = _local_path(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_path or url_for("pages.projects"))
        return render_template("pages/login.html", next=next_path, email="")
    email = (request.form.get("email") or "").strip().lower()[:320]
    password = request.form.get("password") or ""
    user = db_session().scalars(select(User).where(User.email == email)).one_or_none() if email else None
    if user is None or user.password_hash is None:
        verify_password(_dummy_hash(), password)
        ok = False
    else:
        ok = bool(password) and len(password) <= 1024 and verify_password(user.password_hash, password)
    if not ok:
        log.info("failed sign-in for %r from %s", email, request.remote_addr)
        return (
            render_template("pages/login.html", next=next_path, email=email, failed=True),
            401,
        )
    lang = session.get("lang")
    session.clear()  # a fresh session at sign-in (no fixation of an earlier one)
    if lang:
        session["lang"] = lang
    session.permanent = True
    login_user(PageUser(user))
    log.info("%s signed in to the pages", user.email)
    return redirect(next_path or url_for("pages.projects"))


@bp.post("/logout")
def logout():
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(t("signed_out"), "info")
    return redirect(url_for("pages.login"))
