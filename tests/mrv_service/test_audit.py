"""The audit trail: appends, the hash chain, tampering found by ``verify``, concurrent appends, and
the entries that uploads, runs, setting changes and documents leave (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mrv_service.cli import cli
from mrv_service.sample.demo import SAMPLE_UPLOADS
from mrv_service.store import audit
from mrv_service.store.db import make_engine, session_scope
from mrv_service.store.models import AuditEntry
from mrv_service.store.projects import get_or_create_organisation, get_project, update_project_settings
from mrv_service.store.spatial import include_object
from tests.mrv_service.conftest import SAMPLE_PROJECT, SCHEMA_HEAD, cli_env

KEY = "test-audit-key"
T = AuditEntry.__table__
_CONTENT = ("organisation_id", "project_id", "actor", "action", "payload", "created_at")
_CHAIN = ("prev_sha256", "entry_sha256", "signature")


def _ids(engine, project: str) -> tuple[int, int]:
    with session_scope(engine) as session:
        p = get_project(session, project)
        return p.organisation_id, p.id


@pytest.fixture
def logged(engine, project) -> int:
    """Five entries of the test project, signed with KEY; returns how many."""
    org_id, project_id = _ids(engine, project)
    for i in range(5):
        with session_scope(engine) as session:
            audit.append(
                session,
                action="upload",
                actor=f"user{i}@example.org",
                organisation_id=org_id,
                project_id=project_id,
                payload={"i": i, "file": "地块.geojson", "rows": [1, 2.5, None]},
                key=KEY,
            )
    return 5


def _verify(engine, key=KEY, **kw) -> audit.VerifyResult:
    with session_scope(engine) as session:
        return audit.verify(session, key, **kw)


def _rows(engine) -> dict[int, dict]:
    with engine.connect() as c:
        return {r.seq: dict(r._mapping) for r in c.execute(sa.select(T).order_by(T.c.seq))}


def _execute(engine, *statements) -> None:
    with engine.begin() as c:
        for s in statements:
            c.execute(s)


def test_appends_chain_and_verify(engine, logged):
    result = _verify(engine)
    assert result.ok, result.message()
    assert (result.n_entries, result.head_seq) == (5, 5)
    rows = _rows(engine)
    assert sorted(rows) == [1, 2, 3, 4, 5]
    assert rows[1]["prev_sha256"] == audit.GENESIS
    for seq in range(2, 6):
        assert rows[seq]["prev_sha256"] == rows[seq - 1]["entry_sha256"]
    # the payload reads back as hashed (canonical JSON, Chinese kept)
    assert rows[3]["payload"] == {"i": 2, "file": "地块.geojson", "rows": [1, 2.5, None]}
    assert rows[3]["created_at"].endswith("+00:00")
    assert "intact: 5 entries" in result.message()


def test_an_empty_log_verifies(engine):
    result = _verify(engine)
    assert result.ok and result.n_entries == 0 and result.head_seq is None


def test_an_edited_entry_is_altered(engine, logged):
    _execute(engine, sa.update(T).where(T.c.seq == 3).values(payload={"i": 99}))
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq, r.problem) == (False, 3, "altered"), r.message()


@pytest.mark.parametrize("column, value", [("actor", "mallory"), ("created_at", "2020-01-01T00:00:00+00:00")])
def test_other_edits_are_altered(engine, logged, column, value):
    _execute(engine, sa.update(T).where(T.c.seq == 4).values({column: value}))
    r = _verify(engine)
    assert (r.first_bad_seq, r.problem) == (4, "altered"), r.message()


@pytest.mark.parametrize("seq", [1, 3])
def test_a_deleted_entry_is_removed(engine, logged, seq):
    _execute(engine, sa.delete(T).where(T.c.seq == seq))
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq, r.problem) == (False, seq, "removed"), r.message()


def test_a_deleted_entry_with_the_later_ones_renumbered_is_removed(engine, logged):
    _execute(
        engine,
        sa.delete(T).where(T.c.seq == 3),
        sa.update(T).where(T.c.seq > 3).values(seq=T.c.seq + 1000),
        sa.update(T).where(T.c.seq > 1000).values(seq=T.c.seq - 1001),
    )
    assert sorted(_rows(engine)) == [1, 2, 3, 4]
    r = _verify(engine)
    assert (r.first_bad_seq, r.problem) == (3, "removed"), r.message()


def test_removing_the_tail_is_found_with_the_recorded_head(engine, logged):
    head = _verify(engine).head_sha256
    _execute(engine, sa.delete(T).where(T.c.seq == 5))
    assert _verify(engine).ok  # a shorter chain is valid on its own ...
    r = _verify(engine, expect_head=head)  # ... but not against the head recorded before
    assert (r.ok, r.problem) == (False, "removed"), r.message()


def _forged(rows: dict[int, dict], seq: int, prev: str, key: str) -> dict:
    fields = {
        "seq": seq,
        "prev_sha256": prev,
        "created_at": rows[1]["created_at"],
        "actor": "mallory",
        "action": "review",
        "organisation_id": rows[1]["organisation_id"],
        "project_id": rows[1]["project_id"],
        "payload": {"decision": "accepted"},
    }
    digest = audit.entry_hash(fields)
    return {**fields, "entry_sha256": digest, "signature": audit.sign(digest, key)}


def test_an_entry_inserted_in_the_middle_is_inserted(engine, logged):
    rows = _rows(engine)
    forged = _forged(rows, 3, rows[2]["entry_sha256"], "guessed-key")
    _execute(
        engine,
        sa.update(T).where(T.c.seq >= 3).values(seq=T.c.seq + 1000),
        sa.update(T).where(T.c.seq > 1000).values(seq=T.c.seq - 999),
        sa.insert(T).values(forged),
    )
    assert sorted(_rows(engine)) == [1, 2, 3, 4, 5, 6]
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq, r.problem) == (False, 3, "inserted"), r.message()


def test_an_entry_appended_without_the_key_has_a_bad_signature(engine, logged):
    rows = _rows(engine)
    _execute(engine, sa.insert(T).values(_forged(rows, 6, rows[5]["entry_sha256"], "guessed-key")))
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq, r.problem) == (False, 6, "bad signature"), r.message()


def test_an_entry_inserted_with_a_garbage_hash_is_found(engine, logged):
    rows = _rows(engine)
    forged = {**_forged(rows, 6, rows[5]["entry_sha256"], KEY), "entry_sha256": "f" * 64}
    _execute(engine, sa.insert(T).values(forged))
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq) == (False, 6) and r.problem in ("altered", "inserted"), r.message()


def _swap(engine, a: int, b: int, columns) -> None:
    rows = _rows(engine)
    _execute(
        engine,
        sa.update(T).where(T.c.seq == a).values({c: rows[b][c] for c in columns}),
        sa.update(T).where(T.c.seq == b).values({c: rows[a][c] for c in columns}),
    )


@pytest.mark.parametrize("columns", [_CONTENT + _CHAIN, _CONTENT], ids=["whole-entries", "contents-only"])
def test_a_swapped_pair_is_reordered(engine, logged, columns):
    _swap(engine, 2, 3, columns)
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq, r.problem) == (False, 2, "reordered"), r.message()


def test_swapped_seq_numbers_are_reordered(engine, logged):
    _execute(
        engine,
        sa.update(T).where(T.c.seq == 2).values(seq=1002),
        sa.update(T).where(T.c.seq == 4).values(seq=2),
        sa.update(T).where(T.c.seq == 1002).values(seq=4),
    )
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq, r.problem) == (False, 2, "reordered"), r.message()


def test_another_key_gives_a_bad_signature(engine, logged):
    r = _verify(engine, key="another-key")
    assert (r.ok, r.first_bad_seq, r.problem) == (False, 1, "bad signature"), r.message()


def test_concurrent_appends_keep_one_chain(engine, project):
    org_id, project_id = _ids(engine, project)
    n_threads, n_each = 4, 6
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_threads)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(n_each):
                with session_scope(engine) as session:
                    audit.append(
                        session,
                        action="run_started",
                        actor=f"worker{worker}",
                        organisation_id=org_id,
                        project_id=project_id,
                        payload={"i": i},
                        key=KEY,
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    r = _verify(engine)
    assert r.ok and r.n_entries == n_threads * n_each, r.message()


def test_entries_of_one_organisation(engine, project, logged):
    org_id, _ = _ids(engine, project)
    with session_scope(engine) as session:
        other = get_or_create_organisation(session, "other-org")
        session.flush()
        audit.append(session, action="x", actor="a", organisation_id=other.id, project_id=None, key=KEY)
        audit.append(session, action="system", actor="system", organisation_id=None, project_id=None, key=KEY)
        other_id = other.id
    with session_scope(engine) as session:
        mine = audit.entries(session, org_id)
        assert [e.seq for e in mine] == [1, 2, 3, 4, 5]
        assert [e.seq for e in audit.entries(session, org_id, limit=2, after=2)] == [3, 4]
        assert [e.seq for e in audit.entries(session, other_id)] == [6]
        assert [e.seq for e in audit.entries(session, None)] == [7]
    assert _verify(engine).ok


def test_a_setting_change_is_logged_in_its_transaction(engine, project):
    with session_scope(engine) as session:
        update_project_settings(session, project, {"imagery.max_cloud_cover": 40.0}, actor="alice")
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            update_project_settings(session, project, {"imagery.max_cloud_cover": 50.0})
            raise RuntimeError("rolled back: no entry")
    with session_scope(engine) as session:
        (entry,) = session.scalars(sa.select(AuditEntry)).all()
        assert (entry.action, entry.actor) == ("setting_change", "alice")
        assert entry.payload == {"set": {"imagery.max_cloud_cover": 40.0}, "unset": []}
        assert audit.verify(session).ok  # the development key, as appended


def test_uploads_and_a_run_through_the_cli_leave_a_valid_trail(small_county, tmp_path):
    env = cli_env(tmp_path, MRV_AUDIT_KEY="cli-audit-key")
    runner = CliRunner()
    r = runner.invoke(cli, ["project", "create", str(small_county / "project.json")], env=env)
    assert r.exit_code == 0, r.output
    for kind, file in SAMPLE_UPLOADS:
        r = runner.invoke(
            cli, ["ingest", kind, str(small_county / file), "--project", SAMPLE_PROJECT], env=env
        )
        assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["run", SAMPLE_PROJECT], env=env)
    assert r.exit_code == 0, r.output

    r = runner.invoke(cli, ["audit", "verify"], env=env)
    assert r.exit_code == 0, r.output
    assert "audit trail intact" in r.output

    eng = make_engine(env["MRV_DATABASE_URL"])
    with eng.connect() as c:
        org = c.execute(sa.text("SELECT name FROM organisations")).scalar_one()
    r = runner.invoke(cli, ["audit", "list", "--org", org, "--json"], env=env)
    assert r.exit_code == 0, r.output
    listed = [json.loads(line) for line in r.output.splitlines()]
    actions = [e["action"] for e in listed]
    assert actions[: len(SAMPLE_UPLOADS)] == ["upload"] * len(SAMPLE_UPLOADS)
    assert [e["payload"]["file"] for e in listed[: len(SAMPLE_UPLOADS)]] == [f for _, f in SAMPLE_UPLOADS]
    assert actions[len(SAMPLE_UPLOADS) :] == ["run_started", "document_issued", "run_finished"]
    docs = listed[-2]["payload"]["documents"]
    assert docs and all(len(h) == 64 for h in docs.values())

    # the key matters, and tampering makes the command fail with the entry named
    r = runner.invoke(cli, ["audit", "verify"], env={**env, "MRV_AUDIT_KEY": "wrong"})
    assert r.exit_code == 1 and "entry 1: bad signature" in r.output
    _execute(eng, sa.update(T).where(T.c.seq == 2).values(actor="mallory"))
    eng.dispose()
    r = runner.invoke(cli, ["audit", "verify"], env=env)
    assert r.exit_code == 1
    assert "broken at entry 2: altered" in r.output


def test_migration_0005_round_trip(engine, logged):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mrv_service.store.db import alembic_config, current_revision, init_db
    from mrv_service.store.models import Base

    assert current_revision(engine) == SCHEMA_HEAD
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0004")
    assert "audit_entries" not in sa.inspect(engine).get_table_names()
    assert init_db(engine) == SCHEMA_HEAD == current_revision(engine)
    with engine.connect() as conn:
        assert (
            compare_metadata(
                MigrationContext.configure(conn, opts={"include_object": include_object}), Base.metadata
            )
            == []
        )
    assert _verify(engine).n_entries == 0
