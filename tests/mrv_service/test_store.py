"""The store: migrations match the models on both databases; projects are idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mrv_service.ingest import ingest_logs, ingest_soil
from mrv_service.store.db import current_revision, init_db, make_engine, session_scope
from mrv_service.store.models import Base, Organisation, Project
from mrv_service.store.projects import (
    ProjectConflictError,
    ProjectNotFoundError,
    create_project,
    ensure_project_from_json,
    get_or_create_organisation,
    list_projects,
    project_summary,
)
from mrv_service.store.spatial import include_object
from tests.mrv_service.conftest import DATA, PROJECT_JSON, SCHEMA_HEAD


def test_migrations_create_exactly_the_models(engine):
    assert current_revision(engine) == SCHEMA_HEAD
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": include_object}), Base.metadata
        )
    assert diff == []
    tables = set(sa.inspect(engine).get_table_names())
    assert tables >= {
        "organisations",
        "projects",
        "farmers",
        "plots",
        "plot_flags",
        "activity_records",
        "soil_samples",
        "uploads",
        "alembic_version",
    }


def test_init_db_is_idempotent(engine):
    assert init_db(engine) == SCHEMA_HEAD
    assert current_revision(engine) == SCHEMA_HEAD


def test_in_memory_sqlite_needs_no_setup():
    engine = make_engine("sqlite://")
    init_db(engine)
    with session_scope(engine) as s:
        get_or_create_organisation(s, "acme")
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count(Organisation.id))) == 1
    engine.dispose()


def test_sqlite_enforces_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'mrv.sqlite'}")  # parent directory created
    init_db(engine)
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as s:
            s.add(
                Project(
                    organisation_id=999,
                    name="orphan",
                    methodology_id="x",
                    crediting_start=dt.date(2024, 1, 1),
                    crediting_end=dt.date(2030, 1, 1),
                )
            )
    engine.dispose()


def test_create_project_is_idempotent_and_detects_conflicts(engine):
    with session_scope(engine) as s:
        p1 = ensure_project_from_json(s, PROJECT_JSON)
        pid = p1.id
    with session_scope(engine) as s:
        p2 = ensure_project_from_json(s, PROJECT_JSON)
        assert p2.id == pid
        assert s.scalar(sa.select(sa.func.count(Project.id))) == 1
        stored = s.get(Project, pid)
        assert stored.crediting_start == dt.date(2024, 1, 1) and stored.crediting_end == dt.date(2033, 12, 31)
        assert stored.baseline_years == [2021, 2022, 2023] and stored.county == "梨树县"
    changed = {**PROJECT_JSON, "methodology_id": "VM0042-v2.2"}
    with pytest.raises(
        ProjectConflictError, match="methodology_id: stored 'CMS-083-V01', given 'VM0042-v2.2'"
    ):
        with session_scope(engine) as s:
            ensure_project_from_json(s, changed)
    with session_scope(engine) as s:
        org = get_or_create_organisation(s, "default")
        p = create_project(
            s,
            org,
            name=PROJECT_JSON["name"],
            name_zh=PROJECT_JSON["name_zh"],
            methodology_id="VM0042-v2.2",
            region=PROJECT_JSON["region"],
            crediting_start="2024-01-01",
            crediting_end="2033-12-31",
            baseline_years=[2021, 2022, 2023],
            project_years=[2024, 2025],
            update=True,
        )
        assert p.id == pid and p.methodology_id == "VM0042-v2.2"
    with pytest.raises(ProjectConflictError, match="ends"):
        with session_scope(engine) as s:
            ensure_project_from_json(
                s,
                {
                    **PROJECT_JSON,
                    "name": "x",
                    "crediting_period": {"start": "2030-01-01", "end": "2024-01-01"},
                },
            )


def test_summary_and_list(with_plots, engine):
    with session_scope(engine) as s:
        ingest_logs(s, with_plots, DATA / "logs_zh.csv")
        ingest_soil(s, with_plots, DATA / "soil_som.csv")
        summary = project_summary(s, with_plots)
        projects = list_projects(s)
    assert summary["plots"] == 4 and summary["farmers"] == 3
    assert summary["hectares"] == pytest.approx(0.5 + 0.5 + 0.8 + 1.96, abs=1e-4)  # conftest hand areas
    assert summary["activity_records"]["total"] == 8
    assert summary["soil_samples"] == 3
    assert summary["uploads"] == {"accepted": 3}
    assert summary["flags"] == {"plots_flagged": 0, "open": 0}
    assert summary["methodology_id"] == "CMS-083-V01" and summary["region"]["county"] == "梨树县"
    assert projects == [
        {
            "name": "test-lishu",
            "name_zh": "测试项目",
            "organisation": "default",
            "methodology_id": "CMS-083-V01",
            "county": "梨树县",
            "crediting_period": {"start": "2024-01-01", "end": "2033-12-31"},
            "plots": 4,
            "hectares": pytest.approx(3.76, abs=1e-4),
        }
    ]


def test_unknown_project_names_the_known_ones(project, engine):
    with session_scope(engine) as s:
        with pytest.raises(
            ProjectNotFoundError, match="project 'nope' not found \\(known projects: test-lishu\\)"
        ):
            project_summary(s, "nope")
