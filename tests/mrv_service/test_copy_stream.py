"""CopyStream: rows sent slice by slice into the upload's transaction (a COPY thread on PostgreSQL,
one INSERT on SQLite), written only when the transaction commits."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from mrv_service.ingest.copy_stream import CopyStream
from mrv_service.store.db import session_scope
from mrv_service.store.models import Farmer
from mrv_service.store.projects import get_project

COLUMNS = ("project_id", "external_id", "name", "created_at")
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _farmers(engine) -> list[str]:
    with session_scope(engine) as s:
        return sorted(s.scalars(sa.select(Farmer.external_id)))


def test_slices_commit_with_the_transaction(engine, project):
    with session_scope(engine) as s:
        pid = get_project(s, project).id
        with CopyStream(s, Farmer, COLUMNS) as stream:
            stream.put([(pid, "F1", "王芳", NOW), (pid, "F2", None, NOW)])
            stream.put([])
            stream.put([(pid, "F3", "李强", NOW)])
            assert stream.close() == 3
        assert s.scalar(sa.select(Farmer.name).where(Farmer.external_id == "F1")) == "王芳"
        s.rollback()
    assert _farmers(engine) == []  # nothing outlives a rollback
    with session_scope(engine) as s:
        with CopyStream(s, Farmer, COLUMNS) as stream:
            stream.put([(pid, "F1", "王芳", NOW)])
            stream.close()
        s.commit()
    assert _farmers(engine) == ["F1"]


def test_abort_writes_nothing_and_leaves_the_session_to_roll_back(engine, project):
    with session_scope(engine) as s:
        pid = get_project(s, project).id
        stream = CopyStream(s, Farmer, COLUMNS)
        stream.put([(pid, "F1", None, NOW)])
        stream.abort()
        stream.abort()  # twice is harmless
        s.rollback()
        assert s.scalar(sa.select(sa.func.count()).select_from(Farmer)) == 0


def test_an_exception_inside_the_block_aborts_the_stream(engine, project):
    with session_scope(engine) as s:
        pid = get_project(s, project).id
        with pytest.raises(KeyError), CopyStream(s, Farmer, COLUMNS) as stream:
            stream.put([(pid, "F1", None, NOW)])
            raise KeyError("a bug in the caller")
        s.rollback()
    assert _farmers(engine) == []


def test_a_row_the_store_refuses_raises_at_close(engine, project):
    with session_scope(engine) as s:
        pid = get_project(s, project).id
        stream = CopyStream(s, Farmer, COLUMNS)
        stream.put([(pid, None, "no id", NOW)])  # external_id is NOT NULL
        with pytest.raises(Exception, match="(?i)null"):
            stream.close()
        s.rollback()
    assert _farmers(engine) == []
