"""The verification store: flags per run and the detector registry, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mrv_service.store.db import alembic_config, current_revision, init_db, session_scope
from mrv_service.store.models import Base, Detector, Plot, Run
from mrv_service.store.projects import get_project
from mrv_service.store.runs import finish_run, start_run
from mrv_service.store.spatial import include_object
from mrv_service.store.verification import (
    FLAG_COLUMNS,
    STORED_FLAG_COLUMNS,
    DetectorConflictError,
    VerificationStoreError,
    active_detector,
    flag_counts,
    register_detector,
    replace_run_flags,
    run_flags,
)
from tests.mrv_service.conftest import SCHEMA_HEAD

SHA_A = "a" * 64
SHA_B = "b" * 64


def _count(engine, table: str, where: str = "") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} {where}")).scalar_one()


def _flags(changes: dict | None = None) -> pd.DataFrame:
    """Five flags of the fixture plots; ``changes`` maps (row, column) to a new value."""
    df = pd.DataFrame(
        {
            "plot_id": ["P1", "P1", "P2", "P3", "P4"],
            "year": [2024, 2024, 2024, 2025, 2025],
            "practice": ["tillage", "residue", "tillage", "green_cover", "sowing"],
            "logged": ["no_till", "retained", "no_till", None, "2025-05-01"],
            "detected": ["conventional", "retained", "no_till", None, None],
            "probability": [0.91, 0.8, 0.66, np.nan, None],
            "severity": ["critical", "info", "info", "unverifiable", "warning"],
            "reason": ["ploughed", "as logged", "as logged", "cloudy season", "no detector"],
        }
    )
    for (row, column), value in (changes or {}).items():
        df[column] = df[column].astype(object)
        df.at[row, column] = value
    return df


@pytest.fixture
def run_id(engine, with_plots) -> int:
    """A finished run of the test project (with its four plots P1 to P4)."""
    with session_scope(engine) as s:
        run = start_run(s, get_project(s, with_plots), stages=["verify"], seed=0, out_dir="out/run-1")
        finish_run(s, run, ok=True, timings={"verify": 1.0})
        return run.id


# --- schema -------------------------------------------------------------------------------------


def test_migration_0003_round_trip(engine, run_id):
    assert current_revision(engine) == SCHEMA_HEAD
    with session_scope(engine) as s:
        replace_run_flags(s, s.get(Run, run_id), _flags())
        register_detector(s, None, "tillage", "detectors/tillage.joblib", SHA_A, 10, {"f1": 0.9})
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0002")
    assert current_revision(engine) == "0002"
    tables = set(sa.inspect(engine).get_table_names())
    assert "verification_flags" not in tables and "detectors" not in tables and "runs" in tables
    assert _count(engine, "runs") == 1  # the earlier tables keep their rows
    assert init_db(engine) == SCHEMA_HEAD == current_revision(engine)
    with engine.connect() as conn:
        assert (
            compare_metadata(
                MigrationContext.configure(conn, opts={"include_object": include_object}), Base.metadata
            )
            == []
        )
    inspector = sa.inspect(engine)
    assert {i["name"] for i in inspector.get_indexes("detectors")} == {
        "ix_detectors_project_practice_active",
        "uq_detectors_project_practice_active",
        "uq_detectors_default_practice_active",
    }
    assert {i["name"] for i in inspector.get_indexes("verification_flags")} >= {
        "ix_verification_flags_run_id",
        "ix_verification_flags_project_plot",
        "ix_verification_flags_project_severity",
    }
    assert _count(engine, "verification_flags") == 0 and _count(engine, "detectors") == 0
    command.downgrade(cfg, "0002")
    command.upgrade(cfg, "head")
    assert current_revision(engine) == SCHEMA_HEAD


# --- flags --------------------------------------------------------------------------------------


def test_replace_run_flags_is_idempotent(engine, run_id):
    for _ in range(2):
        with session_scope(engine) as s:
            assert replace_run_flags(s, s.get(Run, run_id), _flags()) == 5
    assert _count(engine, "verification_flags") == 5
    with session_scope(engine) as s:
        stored = run_flags(s, s.get(Run, run_id))
    assert list(stored.columns) == list(STORED_FLAG_COLUMNS)
    assert stored["id"].is_unique and (stored["review_status"] == "open").all()
    expected = _flags().sort_values(["plot_id", "year", "practice"], ignore_index=True)
    pd.testing.assert_frame_equal(
        stored[list(FLAG_COLUMNS)], expected.astype({"probability": "float64"}), check_dtype=False
    )
    assert stored["year"].dtype == "int64" and stored["probability"].dtype == "float64"
    assert stored.loc[stored["practice"] == "green_cover", "logged"].tolist() == [None]

    # a different table replaces the run's flags; an empty one clears them
    with session_scope(engine) as s:
        assert replace_run_flags(s, s.get(Run, run_id), _flags().iloc[:2]) == 2
    assert _count(engine, "verification_flags") == 2
    with session_scope(engine) as s:
        assert replace_run_flags(s, s.get(Run, run_id), _flags().iloc[:0]) == 0
        assert list(run_flags(s, s.get(Run, run_id)).columns) == list(STORED_FLAG_COLUMNS)
    assert _count(engine, "verification_flags") == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({(3, "severity"): "bad"}, r"flags row 3, severity: 'bad' is not one of info, warning"),
        ({(0, "practice"): "ploughing"}, r"flags row 0, practice: 'ploughing' is not one of tillage"),
        ({(2, "probability"): 1.5}, r"flags row 2, probability: 1.5 is not a probability in \[0, 1\]"),
        ({(1, "year"): 2024.5}, r"flags row 1, year: 2024.5 is not a whole year"),
        ({(4, "detected"): "x" * 51}, r"flags row 4, detected: 'x+' is not a practice class"),
        ({(0, "reason"): " "}, r"flags row 0, reason: ' ' is not a reason"),
        (
            {(2, "plot_id"): "P1", (2, "practice"): "residue"},
            r"flags row 2: plot 'P1', year 2024, practice 'residue' is already flagged in row 1",
        ),
    ],
)
def test_a_bad_row_writes_nothing(engine, run_id, changes, message):
    with session_scope(engine) as s:
        replace_run_flags(s, s.get(Run, run_id), _flags().iloc[:1])
    with session_scope(engine) as s:
        with pytest.raises(VerificationStoreError, match=message):
            replace_run_flags(s, s.get(Run, run_id), _flags(changes))
        # the session goes on: the run keeps its earlier flag
        assert len(run_flags(s, s.get(Run, run_id))) == 1
    assert _count(engine, "verification_flags") == 1


def _blocks(flags: pd.DataFrame, size: int):
    """The table in blocks of ``size`` rows, labels kept (as ``pd.read_csv(chunksize=...)`` gives)."""
    return lambda: (flags.iloc[i : i + size] for i in range(0, len(flags), size))


def test_flags_in_blocks_are_stored_as_the_whole_table(engine, run_id):
    with session_scope(engine) as s:
        assert replace_run_flags(s, s.get(Run, run_id), _blocks(_flags(), 2)) == 5
        in_blocks = run_flags(s, s.get(Run, run_id)).drop(columns="id")
        assert replace_run_flags(s, s.get(Run, run_id), _flags()) == 5
        whole = run_flags(s, s.get(Run, run_id)).drop(columns="id")
    pd.testing.assert_frame_equal(in_blocks, whole)
    assert _count(engine, "verification_flags") == 5


def test_a_bad_row_in_a_later_block_writes_nothing(engine, run_id):
    with session_scope(engine) as s:
        replace_run_flags(s, s.get(Run, run_id), _flags().iloc[:1])
    # row 4 repeats row 1's plot, year and practice: found across blocks [0, 1], [2, 3], [4]
    bad = _flags({(4, "plot_id"): "P1", (4, "practice"): "residue", (4, "year"): 2024})
    with session_scope(engine) as s:
        with pytest.raises(
            VerificationStoreError, match=r"flags row 4: plot 'P1', .* already flagged in row 1"
        ):
            replace_run_flags(s, s.get(Run, run_id), _blocks(bad, 2))
        assert len(run_flags(s, s.get(Run, run_id))) == 1
    assert _count(engine, "verification_flags") == 1


def test_every_repeat_is_named_with_the_first_row_of_its_key(engine, run_id):
    """Rows labelled 10 to 15 in blocks of 2: 12 and 15 repeat 10's key (P1, 2024, tillage), 14
    repeats 13's (P3, 2025, green_cover); 11 has a bad year and is not a key."""
    bad = _flags({(2, "plot_id"): "P1"}).iloc[[0, 1, 2, 3, 3, 2]].reset_index(drop=True)
    bad["year"] = bad["year"].astype(object)
    bad.loc[1, "year"] = "soon"
    bad.loc[5, "practice"] = "tillage"
    bad.index = range(10, 16)
    with session_scope(engine) as s:
        with pytest.raises(VerificationStoreError) as caught:
            replace_run_flags(s, s.get(Run, run_id), _blocks(bad, 2))
    text = str(caught.value)
    assert text.startswith("flags of run") and "(4 errors)" in text
    assert [
        m.group(0)
        for m in re.finditer(
            r"flags row \d+: plot '\w+', year \d+, practice '\w+' is already flagged in row \d+", text
        )
    ] == [
        "flags row 12: plot 'P1', year 2024, practice 'tillage' is already flagged in row 10",
        "flags row 14: plot 'P3', year 2025, practice 'green_cover' is already flagged in row 13",
        "flags row 15: plot 'P1', year 2024, practice 'tillage' is already flagged in row 10",
    ]
    assert "flags row 11, year: 'soon' is not a whole year" in text
    assert _count(engine, "verification_flags") == 0


def test_unknown_plot_names_the_row_and_the_known_plots(engine, run_id):
    flags = _flags({(1, "plot_id"): "P9"})
    flags.index = [10, 11, 12, 13, 14]  # rows are named by their index label
    with session_scope(engine) as s:
        with pytest.raises(
            VerificationStoreError,
            match=r"flags of run \d+ not stored \(1 errors\): flags row 11, plot_id: plot 'P9' is not a "
            r"plot of project 'test-lishu' \(known: P1, P2, P3, P4\)",
        ):
            replace_run_flags(s, s.get(Run, run_id), flags)
    assert _count(engine, "verification_flags") == 0


def test_missing_columns_and_several_errors(engine, run_id):
    with session_scope(engine) as s:
        run = s.get(Run, run_id)
        with pytest.raises(VerificationStoreError, match="lack the columns probability, reason"):
            replace_run_flags(s, run, _flags().drop(columns=["probability", "reason"]))
        bad = _flags().assign(severity="nope")
        with pytest.raises(
            VerificationStoreError,
            match=r"\(10 errors\): flags row 0, severity: 'nope'.*\(and 5 more errors\)$",
        ):
            replace_run_flags(s, run, pd.concat([bad, bad.assign(year=2030)], ignore_index=True))
    assert _count(engine, "verification_flags") == 0


def test_flag_counts(engine, run_id):
    with session_scope(engine) as s:
        run = s.get(Run, run_id)
        empty = flag_counts(s, run)
        replace_run_flags(s, run, _flags())
        counts = flag_counts(s, run)
    assert empty["total"] == 0 and set(empty["by_severity"].values()) == {0}
    assert counts["total"] == 5
    assert counts["by_severity"] == {"info": 2, "warning": 1, "critical": 1, "unverifiable": 1}
    assert list(counts["by_practice"]) == ["tillage", "residue", "sowing", "harvest", "green_cover"]
    assert counts["by_practice"]["tillage"] == {
        "total": 2,
        "info": 1,
        "warning": 0,
        "critical": 1,
        "unverifiable": 0,
    }
    assert counts["by_practice"]["harvest"]["total"] == 0
    assert counts["by_practice"]["green_cover"]["unverifiable"] == 1


def test_deleting_a_run_or_plot_deletes_its_flags(engine, run_id):
    with session_scope(engine) as s:
        project = get_project(s, "test-lishu")
        other = start_run(s, project, stages=["verify"], seed=1, out_dir="out/run-2")
        finish_run(s, other, ok=True, timings={})
        replace_run_flags(s, s.get(Run, run_id), _flags())
        replace_run_flags(s, other, _flags())
        other_id = other.id
    assert _count(engine, "verification_flags") == 10
    with session_scope(engine) as s:
        s.delete(s.get(Run, run_id))
    assert _count(engine, "verification_flags") == 5
    assert _count(engine, "verification_flags", f"WHERE run_id = {other_id}") == 5
    with session_scope(engine) as s:
        s.execute(sa.delete(Plot).where(Plot.external_id == "P1"))
    assert _count(engine, "verification_flags") == 3


# --- detectors ----------------------------------------------------------------------------------


def test_register_detector_replaces_the_active_one_and_is_idempotent(engine, project):
    with session_scope(engine) as s:
        first = register_detector(
            s, project, "tillage", "detectors/tillage-1.joblib", SHA_A.upper(), 120, {"f1": np.float64(0.8)}
        )
        assert first.active and first.training_sha256 == SHA_A and first.metrics == {"f1": 0.8}
        assert active_detector(s, project, "tillage").id == first.id
        second = register_detector(
            s, project, "tillage", "detectors/tillage-2.joblib", SHA_B, 150, {"f1": 0.85}
        )
        s.refresh(first)
        assert second.active and not first.active
        assert active_detector(s, project, "tillage").id == second.id
        # the same model and training data again: the stored row
        again = register_detector(
            s, project, "tillage", "detectors/tillage-2.joblib", SHA_B, 150, {"f1": 0.85}
        )
        assert again.id == second.id and again.active
        # an earlier one again: activated again, no new row
        back = register_detector(s, project, "tillage", "detectors/tillage-1.joblib", SHA_A, 120, {"f1": 0.8})
        assert back.id == first.id and back.active
        s.refresh(second)
        assert not second.active
        with pytest.raises(DetectorConflictError, match="n_training 120 and metrics"):
            register_detector(s, project, "tillage", "detectors/tillage-1.joblib", SHA_A, 120, {"f1": 0.7})
        # another practice is independent
        residue = register_detector(s, project, "residue", "detectors/residue.joblib", SHA_A, 80, {})
        assert residue.active and active_detector(s, project, "tillage").id == first.id
    assert _count(engine, "detectors") == 3
    assert _count(engine, "detectors", "WHERE active") == 2


def test_default_detectors_and_fallback(engine, project):
    with session_scope(engine) as s:
        assert active_detector(s, project, "harvest") is None
        default = register_detector(s, None, "harvest", "bundled/harvest.joblib", SHA_A, 500, {"acc": 0.9})
        assert default.project_id is None
        assert active_detector(s, None, "harvest").id == default.id
        assert active_detector(s, project, "harvest").id == default.id
        assert active_detector(s, project, "harvest", default=False) is None
        own = register_detector(s, project, "harvest", "detectors/harvest.joblib", SHA_B, 40, {"acc": 0.95})
        assert active_detector(s, project, "harvest").id == own.id
        s.refresh(default)
        assert default.active  # a project's detector leaves the default active
        newer = register_detector(s, None, "harvest", "bundled/harvest-2.joblib", SHA_B, 600, {"acc": 0.92})
        s.refresh(default)
        assert newer.active and not default.active


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"practice": "weeding"}, "practice 'weeding' is not one of"),
        ({"model_path": "/srv/data/m.joblib"}, "is not a file path relative to the data directory"),
        ({"model_path": "../m.joblib"}, "is not a file path relative"),
        ({"model_path": "C:\\m.joblib"}, "is not a file path relative"),
        ({"training_sha256": "abc"}, "is not a hex SHA-256"),
        ({"n_training": 0}, "n_training 0 is not a number of samples"),
        ({"metrics": {"f1": float("nan")}}, "metrics are not storable as JSON"),
    ],
)
def test_register_detector_refuses_bad_arguments(engine, project, kwargs, message):
    args = {
        "practice": "tillage",
        "model_path": "detectors/t.joblib",
        "training_sha256": SHA_A,
        "n_training": 10,
        "metrics": {},
    }
    with session_scope(engine) as s:
        with pytest.raises(VerificationStoreError, match=message):
            register_detector(s, project, **{**args, **kwargs})
    assert _count(engine, "detectors") == 0


def test_model_path_is_stored_relative_with_posix_separators(engine, project):
    with session_scope(engine) as s:
        d = register_detector(s, project, "sowing", "detectors\\sowing.joblib", SHA_A, 5, {})
        assert d.model_path == "detectors/sowing.joblib"


def _detector(project_id, practice="tillage", active=True, path="d.joblib") -> Detector:
    return Detector(
        project_id=project_id,
        practice=practice,
        model_path=path,
        training_sha256=SHA_A,
        n_training=1,
        metrics={},
        active=active,
    )


@pytest.mark.parametrize("default", [False, True], ids=["project", "default"])
def test_the_database_refuses_two_active_detectors(engine, project, default):
    with session_scope(engine) as s:
        project_id = None if default else get_project(s, project).id
        s.add_all(
            [
                _detector(project_id),
                _detector(project_id, active=False, path="old.joblib"),
                _detector(project_id, active=False, path="older.joblib"),
                _detector(project_id, practice="residue"),
            ]
        )
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as s:
            s.add(_detector(project_id, path="second.joblib"))
    with session_scope(engine) as s:  # a default and a project detector may both be active
        other = get_project(s, project).id if default else None
        s.add(_detector(other, path="other.joblib"))
    assert _count(engine, "detectors", "WHERE active") == 3


def test_concurrent_registrations_leave_one_active(engine, project):
    """Two writers registering detectors of one practice at once (retried on PostgreSQL when
    the partial unique index refuses the second active row; serialised on SQLite)."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def register(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                with session_scope(engine) as s:
                    sha = f"{worker}{i}".ljust(64, "0")
                    register_detector(s, project, "tillage", f"detectors/{worker}-{i}.joblib", sha, 1, {})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(w,)) for w in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(engine, "detectors") == 10
    assert _count(engine, "detectors", "WHERE active") == 1


def test_concurrent_replacements_of_one_runs_flags_leave_one_table(engine, run_id):
    """Two writers of one run's flags at once: one after the other (the run's row lock on
    PostgreSQL, the write lock on SQLite), never a mix or a unique-constraint error."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def replace(rows: slice) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                with session_scope(engine) as s:
                    replace_run_flags(s, s.get(Run, run_id), _flags().iloc[rows])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=replace, args=(rows,)) for rows in (slice(0, 5), slice(0, 3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(engine, "verification_flags") in (3, 5)


def test_flags_of_a_deleted_run_are_refused(engine, run_id):
    with session_scope(engine) as s:
        run = s.get(Run, run_id)
        s.delete(run)
    with session_scope(engine) as s:
        with pytest.raises(VerificationStoreError, match=rf"run {run_id} is not in the store"):
            replace_run_flags(s, run, _flags())
    assert _count(engine, "verification_flags") == 0
