"""The CCER documents' content on a small county run: the PDD's sections in order, every number in a
table traceable to a value with its source, the report's accounting period, the conformance check
from the command line, and the documents step of `mrv run`."""

from __future__ import annotations

import copy
import json
import re
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from methodology.definition import load_definition
from mrv_service.cli import cli
from mrv_service.config import load_settings
from mrv_service.documents import write_run_documents
from mrv_service.documents.content import (
    DocumentContentError,
    build_pdd,
    build_reduction_report,
    count_verdicts,
    default_accounting_period,
    write_json,
)
from mrv_service.documents.pdd_content import PDD_SECTIONS
from mrv_service.documents.report_content import REPORT_SECTIONS
from mrv_service.run.inputs import load_project_inputs
from mrv_service.sample.demo import load_sample
from mrv_service.store.db import make_engine, session_scope
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

P = SAMPLE_PROJECT
NUMERIC = re.compile(r"^[-+−]?[\d,]*\.?\d+(e[-+]?\d+)?\s*(%|‰)?$", re.I)


@pytest.fixture(scope="module")
def finished(small_county, tmp_path_factory):
    """The small county loaded and run once (`mrv run`): (env, output directory, inputs)."""
    root = tmp_path_factory.mktemp("documents")
    env = cli_env(root)
    settings = load_settings(env, sample_dir=small_county)
    load_sample(settings, echo=lambda _m: None)
    r = CliRunner().invoke(cli, ["run", P], env=env)
    assert r.exit_code == 0, r.output
    engine = make_engine(env["MRV_DATABASE_URL"])
    with session_scope(engine) as session:
        inputs = load_project_inputs(session, P)
    engine.dispose()
    return env, root / "out" / P, inputs, r.output


@pytest.fixture(scope="module")
def pdd(finished):
    _, out, inputs, _ = finished
    return build_pdd(out, inputs, load_definition(inputs.project.methodology_id), id_salt="test-salt")


def _tables(doc):
    for section in doc["sections"]:
        for block in section["blocks"]:
            if block["type"] == "table":
                yield section, block


def _numeric(cell) -> bool:
    if isinstance(cell, bool):
        return False
    return isinstance(cell, int | float) or (isinstance(cell, str) and bool(NUMERIC.match(cell.strip())))


@pytest.mark.slow
def test_the_pdd_has_the_sections_in_order(pdd):
    assert [s["id"] for s in pdd["sections"]] == [sid for sid, _, _ in PDD_SECTIONS]
    assert [s["title_zh"] for s in pdd["sections"]][:8] == [
        "封面",
        "项目基本要求",
        "项目类型和领域",
        "项目描述",
        "方法学选择",
        "方法学应用",
        "开工日期",
        "计入期及寿命期限",
    ]
    assert pdd["kind"] == "pdd" and pdd["methodology"]["id"] == "CMS-083-V01"
    assert pdd["project"]["construction_start"] == "2024-01-01"
    # the figures the renderer needs, and their data
    kinds = [b["kind"] for s in pdd["sections"] for b in s["blocks"] if b["type"] == "figure"]
    assert kinds == ["location_map", "vintage_chart", "sampling_map"]
    assert len(pdd["figure_data"]["location_map"]["plots_geojson"]["features"]) == 40
    assert pdd["figure_data"]["sampling_map"]["points_geojson"]["features"]
    assert pdd["figure_data"]["vintage_chart"]["years"] == [2024, 2025]
    # tables and figures numbered in order, so the renderer's numbers match the ids
    ids = [b["id"] for _, b in _tables(pdd)]
    assert ids == [f"T{i}" for i in range(1, len(ids) + 1)]


@pytest.mark.slow
def test_every_number_in_a_table_has_a_value_with_its_source(pdd):
    values = pdd["values"]
    checked = 0
    for section, table in _tables(pdd):
        assert len(table["value_keys"]) == len(table["rows"])
        for row, keys in zip(table["rows"], table["value_keys"], strict=True):
            assert len(row) == len(table["columns"]) == len(keys)
            for cell, key in zip(row, keys, strict=True):
                if not _numeric(cell):
                    continue
                checked += 1
                assert key in values, (section["id"], table["id"], cell)
                v = values[key]
                assert v["unit"] and v["source"]["inputs"], key
                if isinstance(cell, str):
                    assert float(cell.replace(",", "")) == v["value"]
                else:
                    assert cell == v["value"]
    assert checked > 100
    # the plots table: one row per plot, farmers pseudonymised
    plots = pdd["plots"]
    assert len(plots) == 40 and all(p["farmer_hash"].startswith("FH") for p in plots)
    assert not any(p["farmer_hash"] == p["plot_id"] for p in plots)
    # plots and vintages add up
    total = sum(p["credited_t_co2e"] for p in plots)
    assert total == pytest.approx(sum(v["credited_t_co2e"] for v in pdd["vintages"]), abs=0.01)


def test_a_large_project_lists_villages_and_keeps_every_plot_in_the_json(finished, monkeypatch):
    """Above PLOT_TABLE_MAX plots the participants table sums villages (the small county's 40
    plots stand in for a county of 100,000); the JSON still lists every plot."""
    from mrv_service.documents import pdd_content

    _, out, inputs, _ = finished
    monkeypatch.setattr(pdd_content, "PLOT_TABLE_MAX", 10)
    doc = build_pdd(out, inputs, load_definition(inputs.project.methodology_id), id_salt="test-salt")
    table = next(t for s, t in _tables(doc) if s["id"] == "participants")
    assert table["columns"][0] == "村 Village"
    results = pd.read_csv(out / "plot_results.csv", dtype={"plot_id": str})
    villages = results.groupby("village")
    assert [r[0] for r in table["rows"]] == sorted(villages.groups)
    for row in table["rows"]:  # plots and area per village, from plot_results.csv by hand
        g = villages.get_group(row[0])
        assert (row[1], row[2]) == (len(g), g["farmer_id"].nunique())
        assert float(str(row[3]).replace(",", "")) == pytest.approx(g["area_ha"].sum(), abs=1e-4)
    assert len(doc["plots"]) == len(results) == 40


def test_a_large_projects_maps_carry_a_point_on_each_plot(finished, monkeypatch):
    """Above MAP_OUTLINES_MAX plots the maps' data hold a point inside each plot (the county's 40
    plots stand in for 100,000), with the same properties, and the figures draw them."""
    import shapely

    from mrv_service.documents import content, figures

    _, out, inputs, _ = finished
    outlines = build_pdd(out, inputs, load_definition(inputs.project.methodology_id), id_salt="test-salt")
    monkeypatch.setattr(content, "MAP_OUTLINES_MAX", 10)
    doc = build_pdd(out, inputs, load_definition(inputs.project.methodology_id), id_salt="test-salt")
    polygons = {p.plot_id: p.geometry for p in inputs.plots.to_crs(4326).itertuples()}
    for name in ("location_map", "sampling_map"):
        feats = doc["figure_data"][name]["plots_geojson"]["features"]
        before = outlines["figure_data"][name]["plots_geojson"]["features"]
        assert len(feats) == len(before) == 40
        for f, g in zip(feats, before, strict=True):
            assert f["geometry"]["type"] == "Point" and g["geometry"]["type"] != "Point"
            assert f["properties"] == g["properties"]
            assert polygons[f["properties"]["plot_id"]].contains(shapely.Point(f["geometry"]["coordinates"]))
    fig = figures.location_map(doc["figure_data"]["location_map"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("one point each" in t or "每块以一点表示" in t for t in labels)
    assert len(fig.axes[0].collections) >= 2  # the project area and the plots' points
    figures.sampling_map(doc["figure_data"]["sampling_map"])


@pytest.mark.slow
def test_the_report_covers_its_accounting_period(finished):
    _, out, inputs, _ = finished
    defn = load_definition(inputs.project.methodology_id)
    report = build_reduction_report(out, inputs, defn, "2025-01-01", "2025-12-31")
    assert [s["id"] for s in report["sections"]] == [sid for sid, _, _ in REPORT_SECTIONS]
    assert report["accounting_period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert [v["year"] for v in report["vintages"]] == [2025]
    assert sum(p["credited_t_co2e"] for p in report["plots"]) == pytest.approx(
        report["vintages"][0]["credited_t_co2e"], abs=0.01
    )
    flow = next(
        b for s in report["sections"] if s["id"] == "data_flow" for b in s["blocks"] if b["type"] == "table"
    )
    assert flow["columns"][1:] == ["测量 Measured", "记录 Recorded", "传递 Transferred", "汇总 Aggregated"]
    assert any("plots.geojson" in str(c) for row in flow["rows"] for c in row)
    with pytest.raises(DocumentContentError, match="not inside the crediting period"):
        build_reduction_report(out, inputs, defn, "2019-01-01", "2025-12-31")
    with pytest.raises(DocumentContentError, match="no vintage"):
        build_reduction_report(out, inputs, defn, "2026-01-01", "2026-12-31")
    assert default_accounting_period(inputs)[0].isoformat() == "2024-01-01"


def test_the_reports_verdict_table_counts_the_verdicts_read_in_blocks(finished):
    """``practice_verdicts.csv`` is counted 7 rows at a time (blocks split practices and years);
    the counts are those of the whole file, and the report's table shows them."""
    _, out, inputs, _ = finished
    whole = pd.read_csv(out / "practice_verdicts.csv")
    assert len(whole) > 20  # several blocks
    by_hand = whole.groupby(["practice", "year", "status"]).size()
    counts = count_verdicts(out / "practice_verdicts.csv", block_rows=7)
    assert counts.set_index(["practice", "year", "status"])["n"].to_dict() == by_hand.to_dict()
    assert count_verdicts(out / "no such file.csv") is None
    report = build_reduction_report(
        out, inputs, load_definition(inputs.project.methodology_id), "2025-01-01", "2025-12-31"
    )
    values = report["values"]
    for (practice, year), g in whole[whole["year"] == 2025].groupby(["practice", "year"]):
        key = f"implementation.verdicts.{practice}.{year}"
        assert values[f"{key}.logged"]["value"] == len(g)
        for status in ("verified", "warning", "critical", "unverifiable"):
            assert values[f"{key}.{status}"]["value"] == int((g["status"] == status).sum())


@pytest.mark.slow
def test_mrv_run_ends_with_the_documents(finished):
    _, out, _, output = finished
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "pdd.json" in summary["outputs"] and "reduction_report.json" in summary["outputs"]
    assert all((out / f).is_file() for f in summary["outputs"])
    assert "documents   pdd.json" in output
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    assert "pdd.json" in manifest["outputs"]
    doc = json.loads((out / "pdd.json").read_text(encoding="utf-8"))
    assert doc["run_id"] == summary["run"]["run_id"]
    report = json.loads((out / "reduction_report.json").read_text(encoding="utf-8"))
    assert report["accounting_period"] == {"start": "2024-01-01", "end": "2025-12-31"}


@pytest.mark.slow
def test_without_the_renderer_only_the_json_is_written(finished, tmp_path, monkeypatch):
    import shutil

    _, out, inputs, _ = finished
    run_dir = tmp_path / "run"
    shutil.copytree(out, run_dir)
    for f in run_dir.glob("pdd.*"):
        f.unlink()
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    monkeypatch.setitem(sys.modules, "mrv_service.documents.render", None)  # import fails
    written = write_run_documents(run_dir, inputs, summary, id_salt="x")
    assert written == ["pdd.json", "reduction_report.json"]


@pytest.mark.slow
def test_methodology_check_passes_on_the_pdd_and_fails_when_a_key_is_removed(finished, pdd, tmp_path):
    env = finished[0]
    runner = CliRunner()
    good = write_json(pdd, tmp_path / "pdd.json")
    r = runner.invoke(cli, ["methodology", "check", str(good)], env=env)
    assert r.exit_code == 0, r.output
    assert "passed" in r.output and "methodology_issued" in r.output  # listed, not failing
    assert "unverified" in r.output

    r = runner.invoke(cli, ["methodology", "check", str(good), "--for-registration"], env=env)
    assert r.exit_code == 1 and "FAIL  blocker      methodology_issued" in r.output

    broken = copy.deepcopy(pdd)
    del broken["project"]["construction_start"]
    bad = write_json(broken, tmp_path / "broken.json")
    r = runner.invoke(cli, ["methodology", "check", str(bad), "--quiet-unverified"], env=env)
    assert r.exit_code == 1
    line = next(x for x in r.output.splitlines() if "project.construction_start" in x)
    assert line.startswith("FAIL") and "[start_date]" in line and "Fix:" in line

    old = copy.deepcopy(pdd)
    old["project"]["construction_start"] = "2010-01-01"
    p = write_json(old, tmp_path / "old.json")
    assert runner.invoke(cli, ["methodology", "check", str(p)], env=env).exit_code == 0
    r = runner.invoke(cli, ["methodology", "check", str(p), "--for-registration"], env=env)
    assert r.exit_code == 1 and "construction_start" in r.output

    late = runner.invoke(
        cli,
        ["methodology", "check", str(good), "--for-registration", "--application-date", "2032-01-01"],
        env=env,
    )
    assert late.exit_code == 1 and "instalment_window" in late.output


def test_methodology_check_refuses_a_bad_file_without_traceback(tmp_path):
    runner = CliRunner()
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    for path, words in ((junk, "not valid JSON"), (tmp_path / "absent.json", "no such file")):
        r = runner.invoke(cli, ["methodology", "check", str(path)])
        assert r.exit_code == 1 and words in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
    arr = tmp_path / "list.json"
    arr.write_text("[]", encoding="utf-8")
    r = runner.invoke(cli, ["methodology", "check", str(arr)])
    assert r.exit_code == 1 and "not a document object" in r.output
    r = runner.invoke(cli, ["methodology", "check", str(arr), "--application-date", "soon"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output


@pytest.mark.slow
def test_mrv_document_renders_from_the_latest_run(finished, tmp_path):
    env = finished[0]
    runner = CliRunner()
    out = tmp_path / "docs"
    r = runner.invoke(
        cli, ["document", P, "--kind", "report", "--period", "2024:2025", "--out", str(out)], env=env
    )
    assert r.exit_code == 0, r.output
    assert (out / "reduction_report.json").is_file()
    assert "0 failing finding(s)" in r.output
    r = runner.invoke(cli, ["document", P, "--kind", "report", "--period", "2024-01-01"], env=env)
    assert r.exit_code == 2 and "START:END" in r.output
    r = runner.invoke(cli, ["document", "no-such-project", "--kind", "pdd"], env=env)
    assert r.exit_code == 2 and "no-such-project" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)

    pytest.importorskip("mrv_service.documents.render")
    r = runner.invoke(cli, ["document", P, "--kind", "pdd", "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert (out / "pdd.json").is_file() and (out / "pdd.docx").is_file() and (out / "pdd.html").is_file()


@pytest.mark.slow
def test_every_number_in_the_docx_is_in_the_json_with_its_source(finished):
    # walk the rendered DOCX's tables: every cell that reads as a number must be the text the
    # renderer writes for some value of pdd.json (render.cell_text), and that value has a source
    import docx

    from mrv_service.documents.render import cell_text, is_numeric_cell

    _, out, _, _ = finished
    doc = json.loads((out / "pdd.json").read_text(encoding="utf-8"))
    known = {cell_text(v["value"]) for v in doc["values"].values() if v.get("source")}
    known |= {cell_text(str(k.split(".", 1)[1])) for k in doc["values"] if k.startswith("year.")}
    numbers, missing = 0, []
    for table in docx.Document(str(out / "pdd.docx")).tables[1:]:  # [0]: the cover (names, dates, run id)
        for row in table.rows[1:]:  # the header row holds column names
            for cell in row.cells:
                text = cell.text.strip()
                if text and is_numeric_cell(text.replace(",", "")):
                    numbers += 1
                    if text not in known:
                        missing.append(text)
    assert numbers > 50
    assert not missing, f"numbers in the DOCX without a sourced value in pdd.json: {missing[:10]}"
