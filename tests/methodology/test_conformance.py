"""The conformance checker on a PDD built from a three-plot synthetic run: it passes; removing any
required key, a section the definition requires or a number's source fails and names it; the hard
rules fail only for registration."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from methodology.conformance import REQUIRED_KEYS, check_document, failing
from methodology.definition import load_definition
from methodology.rules import scheme_checks
from mrv_service.documents.content import RunFiles
from mrv_service.documents.pdd_content import PDD_SECTIONS, pdd_document
from mrv_service.run.inputs import ProjectInfo, ProjectInputs

DEFN = load_definition("CMS-083-V01")
APPLIED = dt.date(2026, 6, 1)


def _inputs() -> ProjectInputs:
    info = ProjectInfo(
        name="tiny",
        name_zh="小项目",
        organisation="示例合作社",
        methodology_id=DEFN.id,
        region={"province": "吉林省", "city": "四平市", "county": "梨树县"},
        crediting_start=dt.date(2024, 1, 1),
        crediting_end=dt.date(2033, 12, 31),
        baseline_years=(2021, 2022, 2023),
        project_years=(2024, 2025),
        settings={"model.crediting_month": 8, "model.depth_cm": 30.0},
        stored_settings={},
    )
    plots = gpd.GeoDataFrame(
        {
            "plot_id": ["A", "B", "C"],
            "farmer_id": ["F1", "F1", "F2"],
            "village": ["村一"] * 3,
            "area_ha": [1.0, 2.0, 0.5],
        },
        geometry=[
            box(124.40, 43.40, 124.401, 43.401),
            box(124.402, 43.40, 124.404, 43.401),
            box(124.405, 43.40, 124.4055, 43.401),
        ],
        crs="EPSG:4326",
    )
    acts = pd.DataFrame(
        {
            "plot_id": ["A", "B", "C"],
            "date": ["2024-05-01"] * 3,
            "activity": ["tillage"] * 3,
            "method": ["no_till", "no_till", "plough"],
        }
    )
    empty = pd.DataFrame()
    return ProjectInputs(
        project=info,
        plots=plots,
        activities=acts,
        soil_layers=empty,
        weather_stations=empty,
        weather_months=empty,
        uploads=[{"kind": "plots", "file": "plots.geojson", "sha256": "ab" * 32}],
        digests={},
        store_summary={},
    )


def _vintage(removals: float, emissions: float) -> dict:
    net = removals - emissions
    return {
        "removals": {"mean": removals, "p5": removals - 1.0, "p95": removals + 1.0},
        "u90": 0.05,
        "deduction_share": 0.0,
        "deduction_assessed_over": "vintage",
        "uncertainty_deduction": 0.0,
        "buffer": 0.0,
        "emissions": emissions,
        "leakage": 0.0,
        "net": net,
        "net_interval": {"mean": net, "p5": net - 1.0, "p95": net + 1.0},
    }


def _run() -> RunFiles:
    vint = {"2024": _vintage(2.0, 0.5), "2025": _vintage(4.0, 0.5)}
    checks = scheme_checks(
        implementation_start=dt.date(2024, 1, 1),
        vintages=[2024, 2025],
        crediting_month=8,
        application_date=APPLIED,
        ministry_issued=DEFN.ministry_issued,
        methodology_id=DEFN.id,
        hard_rules=DEFN.rule("hard_rules"),
    )
    summary = {
        "run": {"run_id": 7},
        "accounting": {
            "vintages": vint,
            "period": {
                "removals": {"mean": 6.0, "p5": 4.0, "p95": 8.0},
                "u90": 0.33,
                "net": 5.0,
                "net_interval": {"mean": 5.0, "p5": 3.0, "p95": 7.0},
            },
            "excluded": False,
            "credited_t_co2e": 5.0,
            "scheme_checks": checks,
            "emissions_by_source_t_co2e": {"n2o_direct_t_co2e": 1.0, "total_t_co2e": 1.0},
            "refused_plots": [],
        },
    }
    results = pd.DataFrame(
        {
            "plot_id": ["A", "B", "C"],
            "farmer_id": ["F1", "F1", "F2"],
            "village": ["村一"] * 3,
            "area_ha": [1.0, 2.0, 0.5],
            "baseline_practice": ["plough + removed"] * 3,
            "project_practice": ["no_till + mulched", "no_till + mulched", "plough + removed"],
            "net_t_co2e_2024": [0.5, 1.0, 0.0],
            "net_t_co2e_2025": [1.2, 2.3, 0.0],
            "net_t_co2e": [1.7, 3.3, 0.0],
        }
    )
    return RunFiles(Path("."), summary, results, None, None)


@pytest.fixture(scope="module")
def doc() -> dict:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    return pdd_document(_run(), _inputs(), DEFN, id_salt="test", now=now)


def _check(d: dict, registration: bool = False):
    return check_document(d, DEFN, for_registration=registration, application_date=APPLIED)


def test_the_fixture_document_passes(doc):
    assert [s["id"] for s in doc["sections"]] == [sid for sid, _, _ in PDD_SECTIONS]
    findings = _check(doc)
    assert failing(findings) == []
    # every item of the definition not read in official text is listed, informational only
    unverified = [f for f in findings if f.status == "unverified"]
    assert len(unverified) == sum(len(v) for v in DEFN.items_by_status().values()) > 0
    assert not any(f.fails for f in unverified)
    # CMS-083-V01 is not MEE-issued: listed always, failing only for registration
    blocker = [f for f in findings if f.item == "methodology_issued"]
    assert blocker and blocker[0].status == "blocker" and not blocker[0].fails
    assert [f.item for f in failing(_check(doc, registration=True))] == ["methodology_issued"]


def _remove(d: dict, key: str) -> None:
    if "[]." in key:
        lst, sub = key.split("[].")
        del d[lst][0][sub]
        return
    node = d
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    del node[last]


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_removing_a_required_key_fails_naming_it(doc, key):
    broken = copy.deepcopy(doc)
    _remove(broken, key)
    bad = failing(_check(broken))
    assert key in {f.item for f in bad}, [(f.item, f.why) for f in bad]
    f = next(f for f in bad if f.item == key)
    assert f.status == "missing" and f.fix and f.section


def test_a_construction_start_in_2010_fails_only_for_registration(doc):
    old = copy.deepcopy(doc)
    old["project"]["construction_start"] = "2010-01-01"
    assert failing(_check(old)) == []
    bad = failing(_check(old, registration=True))
    start = [f for f in bad if f.item == "construction_start"]
    assert start and start[0].status == "hard_rule" and "2012-11-08" in start[0].why
    assert start[0].section == "start_date"


def test_the_instalment_window_and_uniqueness_are_hard_rules(doc):
    late = check_document(doc, DEFN, for_registration=True, application_date=dt.date(2032, 1, 1))
    assert "instalment_window" in {f.item for f in failing(late)}
    twice = copy.deepcopy(doc)
    twice["annexes"]["blockers"].append(
        {"rule": "unique_claims", "status": "fail", "detail": "1 plot overlaps"}
    )
    assert failing(_check(twice)) == []
    assert "unique_claims" in {f.item for f in failing(_check(twice, registration=True))}


@pytest.mark.parametrize(
    ("section", "item"),
    [
        ("start_date", "start date (with evidence)"),
        ("environment_and_sustainability", "environmental impact and sustainable development"),
        ("methodology_choice", "choice of methodology"),
    ],
)
def test_a_definition_item_missing_from_the_sections_fails(doc, section, item):
    broken = copy.deepcopy(doc)
    broken["sections"] = [s for s in broken["sections"] if s["id"] != section]
    bad = failing(_check(broken))
    assert item in {f.item for f in bad}
    assert next(f for f in bad if f.item == item).section == section


def test_a_definition_table_missing_from_its_section_fails(doc):
    broken = copy.deepcopy(doc)
    for s in broken["sections"]:
        s["blocks"] = [
            b for b in s["blocks"] if "监测计划" not in str(b.get("caption_zh", "")) + str(b.get("text", ""))
        ]
    bad = failing(_check(broken))
    assert "monitoring plan" in {f.item for f in bad}


def test_a_number_without_its_source_fails(doc):
    broken = copy.deepcopy(doc)
    del broken["values"]["project.area_ha"]
    bad = failing(_check(broken))
    assert any(f.item.endswith(".values") and "project.area_ha" in f.why for f in bad)


@pytest.mark.parametrize(
    ("change", "item"),
    [
        (lambda d: d["plots"][0].update(area_ha=0.0), "plots[].area_ha"),
        (lambda d: d["vintages"][0].update(ci90_high_t_co2e=-10.0), "vintages[2024].credited_t_co2e"),
        (lambda d: d["crediting_period"].update(end="2020-01-01"), "crediting_period.end"),
        (lambda d: d["project"].update(construction_start="2024-13-01"), "project.construction_start"),
        (lambda d: d["plots"][1].update(credited_t_co2e=100.0), "plots[].credited_t_co2e"),
        (lambda d: d["methodology"].update(ministry_issued=True), "methodology.ministry_issued"),
        (lambda d: d["annexes"]["unverified_items"].pop(), "annexes.unverified_items"),
    ],
)
def test_out_of_range_values_fail(doc, change, item):
    broken = copy.deepcopy(doc)
    change(broken)
    bad = failing(_check(broken))
    assert item in {f.item for f in bad}, [(f.item, f.why) for f in bad]


def test_a_document_that_is_not_an_object_fails():
    assert failing(check_document([], DEFN, for_registration=False))
