"""End to end: a small generated sample county ingests cleanly, twice."""

from __future__ import annotations

import json

import pytest

from mrv_service.ingest import ingest_logs, ingest_plots, ingest_soil
from mrv_service.store.db import session_scope
from mrv_service.store.projects import ensure_project_from_json, project_summary
from tests.mrv_service.conftest import table_counts

sample = pytest.importorskip("mrv_service.sample")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    directory = tmp_path_factory.mktemp("county")
    sample.create_sample(directory, seed=7, n_plots=40, imagery=False)
    return directory


def test_sample_county_ingests_and_reingests(engine, county):
    project_json = json.loads((county / "project.json").read_text(encoding="utf-8"))
    uploads = [
        (ingest_plots, "plots.geojson"),
        (ingest_logs, "activity_logs_baseline.csv"),
        (ingest_logs, "activity_logs_project.xlsx"),
        (ingest_soil, "soil_samples.csv"),
    ]
    with session_scope(engine) as s:
        project = ensure_project_from_json(s, project_json).name
    for func, name in uploads:
        with session_scope(engine) as s:
            report = func(s, project, county / name, id_salt="salt")
        assert report.status == "accepted", report.to_text()
        assert report.errors == [] and report.inserted == report.rows_total > 0, report.to_text()
    before = table_counts(engine)
    for func, name in uploads:
        with session_scope(engine) as s:
            assert func(s, project, county / name, id_salt="salt").status == "already_ingested"
    assert table_counts(engine) == before
    with session_scope(engine) as s:
        summary = project_summary(s, project)
    assert summary["plots"] == 40
    assert set(summary["activity_records"]["by_type"]) >= {"sowing", "harvest", "tillage", "fertiliser"}
    assert summary["soil_samples"] > 0
