"""Locks that serialise the writers of one project (uploads), on SQLite and PostgreSQL.

An upload reads stored rows (the previous upload of the same bytes, the stored plots for the
overlap and duplicate-id checks, the stored records for the natural-key upsert) and then writes
in the same transaction. Two uploads into one project at once must therefore not interleave:
:func:`lock_project`, called before the upload reads anything, makes the second one wait until
the first has committed or rolled back, so that it sees the first one's rows, exactly as if the
two had run one after the other.

* **PostgreSQL**: ``SELECT ... FROM projects WHERE id = :id FOR UPDATE``, a row lock on the
  project. Other uploads into the same project wait for it; uploads into other projects and
  plain readers do not. Under READ COMMITTED (PostgreSQL's default, and the store's) every
  statement after the lock sees what the previous holder committed.
* **SQLite**: the transaction begins with ``BEGIN IMMEDIATE`` (:data:`~mrv_service.store.db.SQLITE_BEGIN`),
  which takes the database's write lock: SQLite has one writer at a time, so this serialises
  the upload with every other writer of the file (other projects included); readers go on
  (write-ahead log). A waiting writer gives up after
  :data:`~mrv_service.store.db.SQLITE_BUSY_TIMEOUT_S` (:class:`ProjectLockError`). A
  transaction that already began (deferred) cannot wait for the lock: it takes it at once by a
  write that changes nothing, or gets :class:`ProjectLockError` when another connection writes.

Either lock is held until the session's transaction ends (commit or rollback).
"""

from __future__ import annotations

import logging

from sqlalchemy import inspect, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mrv_service.store.db import StoreBusyError, StoreError, begin_write, sqlite_begin_mode
from mrv_service.store.models import Project
from mrv_service.store.projects import ProjectNotFoundError, get_project

__all__ = ["ProjectLockError", "lock_project"]

log = logging.getLogger(__name__)


class ProjectLockError(StoreError):
    """A project could not be locked for writing (see :func:`lock_project`)."""


def _sqlite_write_lock_now(session: Session, project_id: int, name: str | None) -> None:
    """Take SQLite's write lock in a transaction that began deferred, by a write that changes
    nothing; SQLite cannot wait for it there, so another writer means :class:`ProjectLockError`."""
    try:
        session.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(name=Project.name)
            .execution_options(synchronize_session=False)
        )
    except OperationalError as exc:
        if "database is locked" not in str(exc.orig):
            raise
        raise ProjectLockError(
            f"cannot lock project {name!r}: the session's SQLite transaction began without the write "
            "lock (not with BEGIN IMMEDIATE) and another connection is writing the store or has written "
            "it since this transaction's first read, so it cannot wait; roll back (or commit) the "
            "session and lock the project first"
        ) from exc


def lock_project(session: Session, project: Project | str, *, org_name: str | None = None) -> Project:
    """Lock ``project`` for writing until the session's transaction ends, and return it.

    Call it first in a transaction that reads stored rows of the project and then writes on
    what it read (an upload): a second caller for the same project waits until the first has
    committed or rolled back, and then reads what the first wrote.

    Parameters
    ----------
    session : Session
        Best with no transaction open: on SQLite the transaction then begins with
        ``BEGIN IMMEDIATE``, which waits for other writers. In a transaction that began
        deferred (it has read, or written), SQLite's write lock is taken by a write that changes
        nothing (``UPDATE projects SET name = name``): at once when this transaction already
        writes or no other connection is writing and none has written since this transaction's
        first read; otherwise SQLite cannot wait and :class:`ProjectLockError` is raised. On
        PostgreSQL an open transaction is fine.
    project : Project or str
        The project, or its name (looked up with
        :func:`~mrv_service.store.projects.get_project` after the SQLite lock is taken).
    org_name : str, optional
        The project's organisation, when ``project`` is a name used by several.

    Returns
    -------
    Project
        The project as stored, read under the lock (its attributes refreshed).

    Raises
    ------
    ProjectLockError
        On SQLite, when another writer kept the lock longer than
        :data:`~mrv_service.store.db.SQLITE_BUSY_TIMEOUT_S`, or when the session's transaction
        began without the write lock and cannot take it now (see ``session``).
        PostgreSQL waits for the lock without a time limit (unless ``lock_timeout`` is set).
    ProjectNotFoundError
        When there is no such project (or it was deleted).

    Notes
    -----
    PostgreSQL: ``SELECT ... FROM projects WHERE id = :id FOR UPDATE``, a row lock on the
    project row, held until commit or rollback; other projects are not affected. SQLite:
    ``BEGIN IMMEDIATE`` (:func:`~mrv_service.store.db.begin_write`), the database's write
    lock, held until commit or rollback; every other writer of the file waits. See the module
    docstring.
    """
    # the name for messages, without loading an expired project before the lock
    name = project if isinstance(project, str) else inspect(project).dict.get("name")
    try:
        connection = begin_write(session)
    except StoreBusyError as exc:
        raise ProjectLockError(f"cannot lock project {name!r}: {exc}") from exc
    if isinstance(project, str):
        project = get_project(session, project, org_name)
    identity = inspect(project).identity
    if identity is None:
        raise ProjectNotFoundError(
            f"project {name!r} is not stored yet; create it (and flush or commit) first"
        )
    sqlite_locked = sqlite_begin_mode(connection) in ("IMMEDIATE", "EXCLUSIVE")
    if connection.dialect.name == "sqlite" and not sqlite_locked:
        _sqlite_write_lock_now(session, identity[0], name)
    locked = session.scalars(
        select(Project)
        .where(Project.id == identity[0])
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if locked is None:
        raise ProjectNotFoundError(
            f"project {name!r} was deleted by another process; create it again or choose another project"
        )
    log.debug("project %r locked for writing", locked.name)
    return locked
