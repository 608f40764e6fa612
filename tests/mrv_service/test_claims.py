"""A plot claimed by two projects in the store: found on geometry, reported by plot, refused in
the project registered later."""

from __future__ import annotations

import json

import geopandas as gpd
from click.testing import CliRunner

from mrv_service.cli import cli
from mrv_service.config import load_settings
from mrv_service.sample.demo import load_sample
from mrv_service.store.claims import overlapping_claims
from mrv_service.store.db import make_engine, session_scope
from mrv_service.store.projects import get_project
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env


def test_second_project_overlapping_the_first_is_reported_by_plot(small_county, tmp_path):
    env = cli_env(tmp_path)
    load_sample(load_settings(env, sample_dir=small_county), echo=lambda _m: None)
    # a second aggregator signs up 5 of the same fields under its own ids
    plots = gpd.read_file(small_county / "plots.geojson").head(5)
    plots["plot_id"] = [f"OTHER-{i}" for i in range(5)]
    plots.to_file(tmp_path / "other.geojson", driver="GeoJSON")
    pj = json.loads((small_county / "project.json").read_text(encoding="utf-8"))
    pj["name"] = "other-aggregator"
    (tmp_path / "other.json").write_text(json.dumps(pj, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["project", "create", str(tmp_path / "other.json")], env=env).exit_code == 0
    r = runner.invoke(cli, ["ingest", "plots", "other-aggregator", str(tmp_path / "other.geojson")], env=env)
    assert r.exit_code == 0, r.output
    eng = make_engine(env["MRV_DATABASE_URL"])
    with session_scope(eng) as s:
        later = overlapping_claims(s, get_project(s, "other-aggregator"))
        first = overlapping_claims(s, get_project(s, SAMPLE_PROJECT))
    eng.dispose()
    # each of the 5 plots overlaps the field it copies, by all of its area
    assert set(later["plot_id"]) == {f"OTHER-{i}" for i in range(5)}
    assert later["refused"].all() and (later["other_project"] == SAMPLE_PROJECT).all()
    assert (later["overlap_fraction"] > 0.99).all()
    # the first project keeps its plots: it sees the overlaps, none of them refused
    assert len(first) == len(later) and not first["refused"].any()
