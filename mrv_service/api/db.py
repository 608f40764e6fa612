"""The store session of a request: one per request, closed when the request ends."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["db_session", "init_app"]


def db_session() -> Session:
    """The request's session (opened on first use). Views that write call ``commit()``."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["mrv"]["sessionmaker"]()
    return g.db_session


def _close(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def init_app(app: Flask, engine) -> None:
    app.extensions.setdefault("mrv", {})
    app.extensions["mrv"]["engine"] = engine
    app.extensions["mrv"]["sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close)
