"""Engine, schema migrations and sessions of the store.

* :func:`make_engine` builds an engine for SQLite (the default; foreign keys switched on) or
  PostgreSQL (``postgresql+psycopg://user@host:port/db``);
* :func:`init_db` creates or upgrades the schema by running the Alembic migrations of
  ``mrv_service/store/migrations`` to ``head`` (programmatically, no ``alembic.ini`` needed);
* :func:`session_scope` is a transactional ``with`` block.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = ["MIGRATIONS_DIR", "make_engine", "alembic_config", "init_db", "current_revision", "session_scope"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Alembic script directory (``env.py``, ``versions/``)."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine for the store.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/mrv.sqlite`` (the parent directory is created),
        ``sqlite://`` (in memory, one shared connection) or ``postgresql+psycopg://...``.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.Engine
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        if database in ("", ":memory:"):
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(u, **kwargs)


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for the store, built in code.

    When ``engine`` is given, ``env.py`` runs the migrations on it (``config.attributes``);
    otherwise on ``sqlalchemy.url`` (set it with ``cfg.set_main_option``).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        cfg.attributes["engine"] = engine
    return cfg


def init_db(engine: Engine) -> str:
    """Create or upgrade the store's schema (``alembic upgrade head``) and return the revision.

    Safe to call on every start: an up-to-date database is left unchanged.
    """
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    log.info("store at revision %r on %r", head, engine.url.render_as_string(hide_password=True))
    return head or ""


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits at the end of the block and rolls back on an exception.

    Examples
    --------
    >>> engine = make_engine("sqlite://")
    >>> revision = init_db(engine)
    >>> with session_scope(engine) as session:
    ...     org = get_or_create_organisation(session, "default")  # doctest: +SKIP
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
