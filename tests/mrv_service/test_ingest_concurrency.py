"""Two uploads into one project at once give the same result as the two in sequence.

The concurrency tests start two OS processes (multiprocessing, fork server) that connect to the
store of the ``engine`` fixture (SQLite file or PostgreSQL database), wait at a barrier and then
upload at the same moment. Each asserts that neither process failed, that the two really ran at
the same time (both started before either finished), and that the store ends as after the same
two uploads run one after the other, in the order the project lock let them through (by upload
id), into a second project of the same store.

The other tests pin what this relies on: the lock is taken before an upload reads anything
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), a rejected upload is
recorded while another writer holds the lock, a caller's pending changes are kept, organisations
and projects created at once, and :func:`~mrv_service.store.db.init_db` under the new SQLite
transaction control.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from mrv_service.ingest import IngestError, ingest_logs, ingest_plots
from mrv_service.store.db import alembic_config, current_revision, init_db, make_engine, session_scope
from mrv_service.store.locks import ProjectLockError, lock_project
from mrv_service.store.models import ActivityRecord, Farmer, Organisation, Plot, Project, Upload
from mrv_service.store.projects import (
    ProjectConflictError,
    ensure_project_from_json,
    get_or_create_organisation,
)
from tests.mrv_service.conftest import DATA, PROJECT_JSON, SALT, SCHEMA_HEAD, X0, Y0, write_plots

PROCESSES = mp.get_context("forkserver")
"""Start method of the upload processes. Each is forked from multiprocessing's fork server, a
fresh interpreter that imported this module once (the ingest stack takes 5-10 s to import),
never from the pytest process: no connection, thread or lock of the test is inherited, as with
``spawn``, but a process starts in milliseconds."""
PROCESSES.set_forkserver_preload([__name__])
N_PLOTS = 300
"""Plots per generated file (20 columns x 15 rows of 60 m x 60 m squares, 80 m apart)."""
SEQUENTIAL = "sequential-run"
"""Name of the second project that the same uploads go into one after the other."""
INGEST = {"plots": ingest_plots, "logs": ingest_logs}


# --- generated uploads --------------------------------------------------------------------
def grid_plots(
    path: Path,
    *,
    prefix: str,
    n: int = N_PLOTS,
    dx: float = 0.0,
    dy: float = 0.0,
    ids: dict[int, str] | None = None,
) -> Path:
    """A GeoJSON (EPSG:4326) of ``n`` square plots of 0.36 ha on a grid in UTM zone 51N.

    The grid starts at the conftest origin (about 124.4 E, 43.4 N, Lishu County) shifted by
    ``dx``/``dy`` [m]; plot ids are ``prefix`` + number unless ``ids`` renames some (by index);
    plots belong to 50 farmers ``F000``-``F049``.
    """
    import shapely

    size, step, cols = 60.0, 80.0, 20
    geoms = [
        shapely.box(x, y, x + size, y + size)
        for i in range(n)
        for x, y in [(X0 + dx + step * (i % cols), Y0 + dy + step * (i // cols))]
    ]
    plot_ids = [(ids or {}).get(i, f"{prefix}{i:04d}") for i in range(n)]
    attrs = {
        "plot_id": plot_ids,
        "farmer_id": [f"F{i % 50:03d}" for i in range(n)],
        "farmer_name": [f"农户{i % 50:03d}" for i in range(n)],
        "village": ["二龙村"] * n,
        "cropping_system": ["spring_maize"] * n,
    }
    return write_plots(path, 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)


def write_logs(path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> Path:
    """A Chinese-header activity-log CSV: plot, date, activity, crop, method, yield [jin/mu]."""
    lines = ["地块编号,日期,作业类型,作物,方式,产量(斤/亩)"] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the two processes --------------------------------------------------------------------
def _ingest(engine: sa.Engine, kind: str, project: str, path: str) -> dict[str, Any]:
    """One upload as the CLI does it; the report as a dict (a rejected upload is a result)."""
    with session_scope(engine) as session:
        try:
            report = INGEST[kind](
                session, project, Path(path), uploaded_by=f"pid {os.getpid()}", id_salt=SALT
            )
        except IngestError as exc:
            report = exc.report
    return report.to_dict()


def _ensure_project(engine: sa.Engine, project_json: dict[str, Any]) -> int:
    with session_scope(engine) as session:
        return ensure_project_from_json(session, project_json).id


TASKS = {"ingest": _ingest, "ensure_project": _ensure_project}


def _worker(url: str, barrier, queue, index: int, task: str, args: tuple) -> None:
    """Child process: connect, import what the task needs, wait for the other, run the task."""
    try:
        import geopandas  # noqa: F401  (imported lazily by the plot ingest: not inside the race)

        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            warnings.simplefilter("error")  # as the test suite (pyproject filterwarnings)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="dateutil.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyogrio.*")
            barrier.wait(timeout=60)
            start = time.monotonic()
            result = TASKS[task](engine, *args)
            queue.put((index, {"result": result, "start": start, "end": time.monotonic()}))
        finally:
            engine.dispose()
    except BaseException:  # reported to the test, which fails with it
        queue.put((index, {"traceback": traceback.format_exc()}))


def run_at_once(engine: sa.Engine, task: str, *args: tuple) -> list[Any]:
    """Run ``TASKS[task](engine, *a)`` for each ``a`` in ``args``, each in its own process, all
    starting at the same moment; their results in the order of ``args``."""
    url = engine.url.render_as_string(hide_password=False)
    barrier, queue = PROCESSES.Barrier(len(args)), PROCESSES.Queue()
    procs = [
        PROCESSES.Process(target=_worker, args=(url, barrier, queue, i, task, a), daemon=True)
        for i, a in enumerate(args)
    ]
    for p in procs:
        p.start()
    try:
        outcomes = dict(queue.get(timeout=120) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    failures = [o["traceback"] for o in outcomes.values() if "traceback" in o]
    assert not failures, "a process failed:\n" + "\n".join(failures)
    assert [p.exitcode for p in procs] == [0] * len(procs)
    starts, ends = [o["start"] for o in outcomes.values()], [o["end"] for o in outcomes.values()]
    assert max(starts) < min(ends), "the processes did not run at the same time"
    return [outcomes[i]["result"] for i in range(len(args))]


def in_lock_order(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reports in the order their uploads took the project lock (``already_ingested`` last)."""
    return sorted(reports, key=lambda r: (r["upload_id"] is None, r["upload_id"] or 0))


def outcome(report: dict[str, Any]) -> tuple:
    """What must be the same concurrently and in sequence: file, status, counts, issue texts."""
    return (
        report["file"],
        report["status"],
        report["rows_inserted"],
        report["rows_updated"],
        report["rows_unchanged"],
        [i["text"] for i in report["issues"]],
    )


def store_state(engine: sa.Engine, project: str) -> dict[str, list[tuple]]:
    """Plots, farmers, activity records and uploads of a project, without ids and timestamps."""
    with engine.connect() as conn:
        pid = conn.execute(sa.select(Project.id).where(Project.name == project)).scalar_one()
        plots = conn.execute(
            sa.select(Plot.external_id, Farmer.external_id, Plot.geometry_wkt, Plot.area_ha, Plot.upload_id)
            .join(Farmer, Plot.farmer_id == Farmer.id, isouter=True)
            .where(Plot.project_id == pid)
        ).all()
        farmers = conn.execute(
            sa.select(Farmer.external_id, Farmer.name, Farmer.village).where(Farmer.project_id == pid)
        ).all()
        records = conn.execute(
            sa.select(
                Plot.external_id,
                ActivityRecord.natural_key,
                ActivityRecord.activity,
                ActivityRecord.crop,
                ActivityRecord.method,
                ActivityRecord.attributes,
                ActivityRecord.source_row,
                ActivityRecord.upload_id,
            )
            .join(Plot, ActivityRecord.plot_id == Plot.id)
            .where(Plot.project_id == pid)
        ).all()
        uploads = conn.execute(
            sa.select(Upload.id, Upload.kind, Upload.file_name, Upload.status, Upload.rows_total)
            .where(Upload.project_id == pid)
            .order_by(Upload.id)
        ).all()
    # upload ids differ between the projects: name the upload by its rank in the project
    rank = {u.id: k for k, u in enumerate(uploads)}
    return {
        "plots": sorted((p[0], p[1], p[2], round(p[3], 9), rank.get(p[4])) for p in plots),
        "farmers": sorted(tuple(f) for f in farmers),
        "records": sorted(
            (r[0], r[1], r[2], r[3], r[4], json.dumps(r[5], sort_keys=True), r[6], rank.get(r[7]))
            for r in records
        ),
        "uploads": [tuple(u[1:]) for u in uploads],
    }


def in_sequence(engine: sa.Engine, kind: str, paths: list[str]) -> list[dict[str, Any]]:
    """The same uploads one after the other into the project :data:`SEQUENTIAL`."""
    return [_ingest(engine, kind, SEQUENTIAL, p) for p in paths]


@pytest.fixture
def two_projects(engine) -> str:
    """The test project and the project :data:`SEQUENTIAL` (same attributes otherwise)."""
    with session_scope(engine) as s:
        ensure_project_from_json(s, PROJECT_JSON)
        ensure_project_from_json(s, {**PROJECT_JSON, "name": SEQUENTIAL})
    return PROJECT_JSON["name"]


# --- two processes at once ----------------------------------------------------------------
def test_overlapping_plot_files_at_once_accept_one_and_reject_the_other(engine, two_projects, tmp_path):
    a = str(grid_plots(tmp_path / "a.geojson", prefix="A"))
    b = str(grid_plots(tmp_path / "b.geojson", prefix="B", dx=30.0))  # every B plot covers half an A plot
    reports = run_at_once(engine, "ingest", ("plots", two_projects, a), ("plots", two_projects, b))
    first, second = in_lock_order(reports)
    assert (first["status"], second["status"]) == ("accepted", "rejected")
    other = "A" if second["file"] == "b.geojson" else "B"
    assert second["rows_rejected"] == N_PLOTS and all(
        f"overlaps stored plot {other}" in i["text"] for i in second["issues"]
    )
    sequential = in_sequence(engine, "plots", [f"{tmp_path}/{first['file']}", f"{tmp_path}/{second['file']}"])
    assert [outcome(r) for r in (first, second)] == [outcome(r) for r in sequential]
    state = store_state(engine, two_projects)
    assert state == store_state(engine, SEQUENTIAL)
    assert len(state["plots"]) == N_PLOTS and {p[0][0] for p in state["plots"]} == {first["file"][0].upper()}
    assert [u[2] for u in state["uploads"]] == ["accepted", "rejected"]  # both Upload rows kept


def test_disjoint_plot_files_sharing_one_plot_id_at_once_as_in_sequence(engine, two_projects, tmp_path):
    # the same plot id (same farmer) at another place in each file: the later upload moves it
    a = str(grid_plots(tmp_path / "a.geojson", prefix="A", ids={0: "SHARED"}))
    b = str(grid_plots(tmp_path / "b.geojson", prefix="B", dy=2000.0, ids={0: "SHARED"}))
    reports = run_at_once(engine, "ingest", ("plots", two_projects, a), ("plots", two_projects, b))
    first, second = in_lock_order(reports)
    assert (first["status"], second["status"]) == ("accepted", "accepted")
    assert (first["rows_inserted"], second["rows_inserted"], second["rows_updated"]) == (
        N_PLOTS,
        N_PLOTS - 1,
        1,
    )
    sequential = in_sequence(engine, "plots", [f"{tmp_path}/{first['file']}", f"{tmp_path}/{second['file']}"])
    assert [outcome(r) for r in (first, second)] == [outcome(r) for r in sequential]
    state = store_state(engine, two_projects)
    assert state == store_state(engine, SEQUENTIAL)
    assert len(state["plots"]) == 2 * N_PLOTS - 1 and len(state["farmers"]) == 50


def test_same_plot_file_at_once_is_ingested_once(engine, two_projects, tmp_path):
    path = str(grid_plots(tmp_path / "plots.geojson", prefix="P"))
    reports = run_at_once(engine, "ingest", ("plots", two_projects, path), ("plots", two_projects, path))
    first, second = in_lock_order(reports)
    assert (first["status"], second["status"]) == ("accepted", "already_ingested")
    assert second["previous_upload_id"] == first["upload_id"]
    sequential = in_sequence(engine, "plots", [path, path])
    assert [r["status"] for r in sequential] == ["accepted", "already_ingested"]
    state = store_state(engine, two_projects)
    assert state == store_state(engine, SEQUENTIAL)
    assert len(state["plots"]) == N_PLOTS and state["uploads"] == [
        ("plots", "plots.geojson", "accepted", N_PLOTS)
    ]


def test_overlapping_log_files_at_once_store_what_the_two_in_sequence_store(engine, two_projects, tmp_path):
    plots = grid_plots(tmp_path / "plots.geojson", prefix="P")
    for name in (two_projects, SEQUENTIAL):
        assert _ingest(engine, "plots", name, str(plots))["status"] == "accepted"
    ids = [f"P{i:04d}" for i in range(N_PLOTS)]
    # the same rows per plot in both files (so that both reach their reads at the same moment):
    # the same sowing (unchanged), another yield (updated), another tillage method (new)
    a = write_logs(
        tmp_path / "a.csv",
        [(p, "2023-05-01", "播种", "玉米", "", "") for p in ids]
        + [(p, "2023-10-01", "收获", "玉米", "", "1200") for p in ids]
        + [(p, "2023-04-20", "耕作", "玉米", "免耕", "") for p in ids],
    )
    b = write_logs(
        tmp_path / "b.csv",
        [(p, "2023-05-01", "播种", "玉米", "", "") for p in ids]
        + [(p, "2023-10-01", "收获", "玉米", "", "1300") for p in ids]
        + [(p, "2023-04-20", "耕作", "玉米", "翻耕", "") for p in ids],
    )
    reports = run_at_once(engine, "ingest", ("logs", two_projects, str(a)), ("logs", two_projects, str(b)))
    first, second = in_lock_order(reports)
    assert first["status"] == second["status"] == "accepted"
    assert (first["rows_inserted"], first["rows_updated"], first["rows_unchanged"]) == (3 * N_PLOTS, 0, 0)
    assert (second["rows_inserted"], second["rows_updated"], second["rows_unchanged"]) == (N_PLOTS,) * 3
    sequential = in_sequence(engine, "logs", [f"{tmp_path}/{first['file']}", f"{tmp_path}/{second['file']}"])
    assert [outcome(r) for r in (first, second)] == [outcome(r) for r in sequential]
    state = store_state(engine, two_projects)
    assert state == store_state(engine, SEQUENTIAL)
    assert len(state["records"]) == 4 * N_PLOTS


def test_ensure_project_at_once_creates_one_project(engine):
    ids = run_at_once(engine, "ensure_project", (PROJECT_JSON,), (PROJECT_JSON,))
    assert ids[0] == ids[1]
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count(Organisation.id))) == 1
        assert s.scalars(sa.select(Project.id)).all() == [ids[0]]


# --- the lock and the transaction control it relies on ---------------------------------------
def test_upload_locks_the_project_before_it_reads_stored_rows(engine, project, plots_geojson):
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_scope(engine) as s:
            ingest_plots(s, project, plots_geojson, id_salt=SALT)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    first_read = next(k for k, st in enumerate(statements) if " FROM uploads" in st or " FROM plots" in st)
    if engine.dialect.name == "sqlite":
        assert statements[0] == "BEGIN IMMEDIATE"
        assert not [st for st in statements if st.startswith("BEGIN") and st != "BEGIN IMMEDIATE"]
    else:
        lock = next(k for k, st in enumerate(statements) if st.endswith("FOR UPDATE"))
        assert "FROM projects WHERE projects.id = " in statements[lock] and lock < first_read


def test_rejected_upload_waits_for_the_lock_to_record_itself(engine, project):
    # while the rejected upload has rolled back, another writer takes the project lock for 0.5 s;
    # the rejected Upload row is then written under the lock (on SQLite a deferred transaction
    # reading the project and then inserting would fail with "database is locked" at once)
    held, done, hold_s = threading.Event(), threading.Event(), 0.5
    errors: list[BaseException] = []
    lock_taken_by_other: list[float] = []
    threads: list[threading.Thread] = []

    def other_writer():
        try:
            with session_scope(engine) as other:
                lock_project(other, project)
                held.set()
                time.sleep(hold_s)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
            held.set()

    def after_rollback(_session):
        if not done.is_set():
            done.set()
            threads.append(threading.Thread(target=other_writer))
            threads[0].start()
            assert held.wait(10)
            lock_taken_by_other.append(time.monotonic())

    with pytest.raises(IngestError, match="is not in project") as caught:
        with session_scope(engine) as s:
            event.listen(s, "after_rollback", after_rollback)
            ingest_logs(s, project, DATA / "logs_zh.csv")  # the project has no plots
    waited = time.monotonic() - lock_taken_by_other[0]
    threads[0].join(10)
    assert not errors and waited > 0.8 * hold_s  # it waited for the other writer's commit
    with session_scope(engine) as s:
        uploads = s.execute(sa.select(Upload.status, Upload.file_name)).all()
    assert caught.value.report.status == "rejected" and uploads == [("rejected", "logs_zh.csv")]


def test_upload_commits_the_callers_pending_changes_first(engine, project):
    with session_scope(engine) as s:
        s.execute(sa.select(Project.id)).all()  # a read: the transaction has begun (deferred)
        s.add(Organisation(name="pending-org"))  # not flushed
        with pytest.raises(IngestError):
            ingest_logs(s, project, DATA / "logs_zh.csv")  # rejected: the project has no plots
    with session_scope(engine) as s:
        assert s.scalars(sa.select(Organisation.name).order_by(Organisation.name)).all() == [
            "default",
            "pending-org",
        ]
        assert s.scalars(sa.select(Upload.status)).all() == ["rejected"]


def test_lock_project_in_a_transaction_that_has_already_read(engine, project):
    # no other writer: the lock is taken at once (SQLite: by a write that changes nothing)
    with session_scope(engine) as s:
        s.execute(sa.select(Project.id)).all()
        assert lock_project(s, project).name == project
    if engine.dialect.name != "sqlite":
        return
    # SQLite cannot make such a transaction wait: when another connection is writing, or has
    # written since the transaction's first read, the lock is refused at once, naming the fix
    for other_committed in (False, True):
        with session_scope(engine) as a:
            a.execute(sa.select(Project.id)).all()
            with session_scope(engine) as b:
                get_or_create_organisation(b, f"other-{other_committed}")  # BEGIN IMMEDIATE
                if other_committed:
                    b.commit()
                t = time.monotonic()
                with pytest.raises(ProjectLockError, match="roll back \\(or commit\\) the session"):
                    lock_project(a, project)
                assert time.monotonic() - t < 5
            a.rollback()
        with session_scope(engine) as s:
            assert lock_project(s, project).name == project


def _wait_until_blocked(engine: sa.Engine, thread: threading.Thread) -> None:
    """Until ``thread`` waits for a lock (PostgreSQL: a backend of this database waits on a
    lock; SQLite: the waiting connection cannot be seen, give it 0.3 s)."""
    if engine.dialect.name == "sqlite":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    with engine.connect() as conn:
        while time.monotonic() < deadline and thread.is_alive():
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the other session never waited for the lock")


@pytest.mark.parametrize("what", ["organisation", "project", "conflicting project"])
def test_creation_race_returns_the_row_the_other_session_created(engine, what):
    # session a has created (flushed, not committed) the row when session b looks for it: b
    # waits (SQLite: BEGIN IMMEDIATE; PostgreSQL: on the unique index, then its SAVEPOINT is
    # rolled back) and then finds a's row, exactly as if it had come second
    if what != "organisation":
        with session_scope(engine) as s:
            get_or_create_organisation(s, "default")
    other_json = (
        {**PROJECT_JSON, "methodology_id": "VM0042-v2.2"} if what == "conflicting project" else PROJECT_JSON
    )
    found: dict[str, Any] = {}

    def session_b():
        try:
            with session_scope(engine) as b:
                if what == "organisation":
                    found["id"] = get_or_create_organisation(b, "acme").id
                else:
                    found["id"] = ensure_project_from_json(b, other_json).id
        except BaseException as exc:
            found["error"] = exc

    with session_scope(engine) as a:
        if what == "organisation":
            created = get_or_create_organisation(a, "acme")
        else:
            created = ensure_project_from_json(a, PROJECT_JSON)
        b = threading.Thread(target=session_b)
        b.start()
        _wait_until_blocked(engine, b)
        created_id = created.id
    b.join(30)
    assert not b.is_alive()
    if what == "conflicting project":
        assert isinstance(found.get("error"), ProjectConflictError)
        assert "methodology_id: stored 'CMS-083-V01', given 'VM0042-v2.2'" in str(found["error"])
    else:
        assert "error" not in found and found["id"] == created_id
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count(Organisation.id))) == 1
        assert s.scalar(sa.select(sa.func.count(Project.id))) == (0 if what == "organisation" else 1)


# --- init_db under the new SQLite transaction control --------------------------------------
def test_init_db_on_a_fresh_sqlite_file(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        assert init_db(engine) == SCHEMA_HEAD == current_revision(engine)
        assert init_db(engine) == SCHEMA_HEAD
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_init_db_on_an_up_to_date_store_does_not_wait_for_a_writer(engine, project):
    with session_scope(engine) as writer:
        lock_project(writer, project)  # SQLite: the write lock of the whole file
        t = time.monotonic()
        assert init_db(engine) == SCHEMA_HEAD
        assert time.monotonic() - t < 5


def test_init_db_upgrades_a_store_with_data_and_keeps_every_row(engine):
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO organisations (id, name, created_at) VALUES (1, 'default', '2024-01-01')",
            "INSERT INTO projects (id, organisation_id, name, methodology_id, region, crediting_start, "
            "crediting_end, baseline_years, project_years, created_at) VALUES "
            "(1, 1, 'p', 'CMS-083-V01', '{}', '2024-01-01', '2033-12-31', '[]', '[]', '2024-01-01')",
            "INSERT INTO farmers (id, project_id, external_id, created_at) VALUES (1, 1, 'F1', '2024-01-01')",
            "INSERT INTO uploads (id, project_id, kind, file_name, sha256, uploaded_by, uploaded_at, status, "
            "rows_total, rows_accepted, rows_rejected, rows_warned, rows_inserted, rows_updated, "
            "rows_unchanged, report) VALUES (1, 1, 'plots', 'f', 'x', 'cli', '2024-01-01', 'accepted', "
            "0, 0, 0, 0, 0, 0, 0, '{}')",
        ):
            conn.exec_driver_sql(sql)
    assert current_revision(engine) == "0001"
    assert init_db(engine) == SCHEMA_HEAD == current_revision(engine)
    with engine.connect() as conn:
        counts = {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
            for t in ("organisations", "projects", "farmers", "uploads")
        }
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert counts == {"organisations": 1, "projects": 1, "farmers": 1, "uploads": 1}
