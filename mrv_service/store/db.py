"""Engine, schema migrations and sessions of the store.

* :func:`make_engine` builds an engine for SQLite (the default) or PostgreSQL
  (``postgresql+psycopg://user@host:port/db``);
* :func:`init_db` creates or upgrades the schema by running the Alembic migrations of
  ``mrv_service/store/migrations`` to ``head`` (programmatically, no ``alembic.ini`` needed);
* :func:`session_scope` is a transactional ``with`` block.

Transactions on SQLite
----------------------
Python's ``sqlite3`` driver by default begins a transaction only before an INSERT, UPDATE or
DELETE, never before a SELECT or DDL, so reads are not repeatable, DDL is not transactional and
SAVEPOINTs do not nest in a transaction. :func:`make_engine` therefore takes transaction control
over, following SQLAlchemy's documented recipe for pysqlite: every new DBAPI connection gets
``isolation_level = None`` (the driver emits no BEGIN of its own) and the engine's ``begin``
event emits ``BEGIN`` itself. How it begins is an execution option of the connection,
:data:`SQLITE_BEGIN` (``DEFERRED`` by default; ``IMMEDIATE`` takes the database's write lock at
once, waiting for other writers up to :data:`SQLITE_BUSY_TIMEOUT_S`), e.g.::

    session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})

which is what :func:`mrv_service.store.locks.lock_project` does before an upload reads anything.
A deferred transaction that has read and then writes cannot wait for another writer (SQLite
answers ``database is locked`` at once), hence ``IMMEDIATE`` for read-then-write transactions.
File databases use the write-ahead log (``PRAGMA journal_mode=WAL``), so readers are not blocked
by a writer (WAL needs a local file system, not a network share). Foreign keys are switched on.
Do not combine these engines with SQLAlchemy's ``isolation_level="AUTOCOMMIT"`` on SQLite.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from models.errors import MRVError

__all__ = [
    "MIGRATIONS_DIR",
    "SQLITE_BEGIN",
    "SQLITE_BEGIN_MODES",
    "SQLITE_BUSY_TIMEOUT_S",
    "StoreError",
    "StoreBusyError",
    "make_engine",
    "begin_write",
    "sqlite_begin_mode",
    "alembic_config",
    "init_db",
    "current_revision",
    "session_scope",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Alembic script directory (``env.py``, ``versions/``)."""

SQLITE_BEGIN = "mrv_sqlite_begin"
"""Execution option of a connection: how its SQLite transactions begin, one of
:data:`SQLITE_BEGIN_MODES` (absent: ``DEFERRED``). Ignored on PostgreSQL."""
SQLITE_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")
"""``BEGIN DEFERRED`` takes locks when the first statement needs them; ``BEGIN IMMEDIATE`` takes
the write lock at once (other writers wait); ``EXCLUSIVE`` is the same as ``IMMEDIATE`` in WAL mode."""
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite connection waits for another connection's lock before it fails with
``database is locked`` [s] (``sqlite3.connect(timeout=...)``, i.e. the busy timeout)."""

_BEGUN = "mrv_sqlite_begun"
"""Key of the DBAPI connection's ``info`` dict: how its transaction in progress began."""
_INIT_DB_LOCK_KEY = 0x6D72765F696E6974
"""PostgreSQL advisory lock (``b"mrv_init"`` as a number) held while :func:`init_db` migrates."""


class StoreError(MRVError, RuntimeError):
    """The store cannot be set up or used as asked (engine options, migrations)."""


class StoreBusyError(StoreError):
    """Another connection kept the SQLite database locked for writing longer than the busy timeout."""


def _sqlite_on_connect(dbapi_connection, _record, *, wal: bool) -> None:
    # the driver must not emit BEGIN (nor COMMIT before DDL) itself: _sqlite_on_begin does
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        if wal:
            # persistent in the file; answers "wal" at once when it is already set
            cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    mode = str(connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")).upper()
    if mode not in SQLITE_BEGIN_MODES:
        raise StoreError(
            f"execution option {SQLITE_BEGIN}={mode!r} is not a SQLite transaction mode; "
            f"use one of {', '.join(SQLITE_BEGIN_MODES)}"
        )
    connection.exec_driver_sql(f"BEGIN {mode}")
    connection.info[_BEGUN] = mode


def _sqlite_on_end(connection: Connection) -> None:
    if connection.invalidated:  # the DBAPI connection is gone (e.g. an interrupted call): nothing to clear
        return
    connection.info.pop(_BEGUN, None)


def sqlite_begin_mode(connection: Connection) -> str | None:
    """How the transaction in progress on a SQLite ``connection`` began.

    Returns
    -------
    str or None
        ``DEFERRED``, ``IMMEDIATE`` or ``EXCLUSIVE``; ``None`` when no transaction was begun by
        an engine of :func:`make_engine` (or on another database).
    """
    return connection.info.get(_BEGUN)


def begin_write(session: Session) -> Connection:
    """The session's connection, its transaction begun for writing when the session has none.

    Parameters
    ----------
    session : Session

    Returns
    -------
    sqlalchemy.Connection
        The connection of the session's transaction.

    Raises
    ------
    StoreBusyError
        On SQLite, when another connection kept the write lock longer than
        :data:`SQLITE_BUSY_TIMEOUT_S`.

    Notes
    -----
    On SQLite, when the session has no transaction yet, it begins with ``BEGIN IMMEDIATE``: the
    call waits (up to :data:`SQLITE_BUSY_TIMEOUT_S`) until no other connection writes the
    database and then holds its write lock until the session commits or rolls back, so a read
    followed by a write cannot fail with ``database is locked``. When the session already has a
    transaction it is used as it began (:func:`sqlite_begin_mode` says how). On PostgreSQL the
    transaction begins as usual: rows are locked as they are written, and
    :func:`mrv_service.store.locks.lock_project` locks a project explicitly.
    """
    if session.in_transaction():
        return session.connection()
    try:
        return session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
    except OperationalError as exc:
        if "database is locked" not in str(exc.orig):
            raise
        raise StoreBusyError(
            f"the store {session.get_bind().url.render_as_string(hide_password=True)} is being written "
            f"by another process (e.g. an upload) that kept it locked for more than "
            f"{SQLITE_BUSY_TIMEOUT_S:g} s; retry when it has finished"
        ) from exc


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine for the store.

    On SQLite the engine controls transactions itself (see the module docstring): foreign keys
    on, the driver's own BEGIN handling off, ``BEGIN`` (or ``BEGIN IMMEDIATE`` with the
    :data:`SQLITE_BEGIN` execution option) emitted by the ``begin`` event, a busy timeout of
    :data:`SQLITE_BUSY_TIMEOUT_S` and, for files, the write-ahead log.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/mrv.sqlite`` (the parent directory is created),
        ``sqlite://`` (in memory, one shared connection) or ``postgresql+psycopg://...``.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine` (SQLite ``connect_args`` are merged with
        the defaults above).

    Returns
    -------
    sqlalchemy.Engine
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        connect_args = dict(kwargs.pop("connect_args", None) or {})
        memory = database in ("", ":memory:")
        if memory:
            kwargs.setdefault("poolclass", StaticPool)
            connect_args.setdefault("check_same_thread", False)
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        engine = create_engine(u, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", functools.partial(_sqlite_on_connect, wal=not memory))
        event.listen(engine, "begin", _sqlite_on_begin)
        event.listen(engine, "commit", _sqlite_on_end)
        event.listen(engine, "rollback", _sqlite_on_end)
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


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """Run a PRAGMA on the DBAPI connection outside any transaction (where SQLite honours
    ``foreign_keys``; inside one it is a silent no-op)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def init_db(engine: Engine) -> str:
    """Create or upgrade the store's schema (``alembic upgrade head``) and return the revision.

    Safe to call on every start: an up-to-date database is only read. Otherwise all pending
    migrations run in one transaction (DDL is transactional on both databases), serialised
    between processes: on SQLite under ``BEGIN IMMEDIATE`` (the database's write lock), on
    PostgreSQL under a transaction-level advisory lock; a process that waited finds the schema
    upgraded and does nothing. On SQLite, foreign keys are switched off while the migrations
    run (table rebuilds of Alembic's batch mode drop and re-create tables, and a dropped parent
    table would otherwise cascade its deletes to the child tables) and checked afterwards.

    Raises
    ------
    StoreError
        When the migrated SQLite database violates a foreign key (nothing is committed then).
    """
    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head() or ""
    if current_revision(engine) != head:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                connection = connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
                _sqlite_pragma(connection, "foreign_keys=OFF")
            try:
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INIT_DB_LOCK_KEY}
                        )
                    cfg.attributes["connection"] = connection
                    command.upgrade(cfg, "head")
                    if sqlite:
                        bad = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if bad:
                            raise StoreError(
                                f"the migrated store violates {len(bad)} foreign keys (first: table "
                                f"{bad[0][0]!r} row {bad[0][1]} -> {bad[0][2]!r}); nothing was changed; "
                                "repair the rows named, or restore a backup, and run again"
                            )
            finally:
                if sqlite:
                    _sqlite_pragma(connection, "foreign_keys=ON")
    log.info("store at revision %r on %r", head, engine.url.render_as_string(hide_password=True))
    return head


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
