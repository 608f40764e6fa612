"""Tests of the methodology definitions (methodology/definitions/*.yaml) and their loader.

Expected rules and values come from shared/domain: international_methodologies.md (VM0042 v2.2,
VCS Methodology Requirements v5.0 section 2.4, AFOLU non-permanence procedure v5.0),
ccer_rules_and_templates.md (管理办法 2023 Arts. 10, 17) and cms083.md (only a TOC fragment of
CMS-083-V01 was found).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from methodology.definition import (
    STATUSES,
    Definition,
    DefinitionError,
    available_definitions,
    load_definition,
    load_schema,
)
from models.errors import MRVError

NAMES = ("CMS-083-V01", "VM0042-v2.2")


def _packaged(name: str) -> dict[str, Any]:
    text = resources.files("methodology").joinpath("definitions", f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _write(tmp_path: Path, data: dict[str, Any], stem: str | None = None) -> Path:
    path = tmp_path / f"{stem or data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        if "verification" in node:
            yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def test_both_definitions_ship_as_package_data():
    assert set(NAMES) <= set(available_definitions())
    assert load_schema()["$schema"].endswith("2020-12/schema")


@pytest.mark.parametrize("name", NAMES)
def test_definition_loads_and_validates(name):
    d = load_definition(name)
    assert isinstance(d, Definition)
    assert d.id == name
    assert d.default_approach in d.approaches
    assert d.ministry_issued is False
    basis = d.rule("ministry_issued_basis")
    assert basis["verification"] in STATUSES and basis["source"].strip()
    # every parameter: a number inside its range, a unit, a source, a status, a description
    assert {"EF1", "EF4", "EF5", "Frac_GASF", "Frac_GASM", "Frac_LEACH", "N2O_N_to_N2O", "C_to_CO2"} <= set(
        d.parameters
    )
    assert {"GWP_N2O", "GWP_CH4", "diesel_density", "diesel_NCV", "diesel_EF_CO2", "buffer_rate"} <= set(
        d.parameters
    )
    assert {"z_90", "t_0667", "unc_no_deduction_threshold", "unc_exclusion_threshold"} <= set(d.parameters)
    for p in d.parameters.values():
        assert p.range[0] <= p.value <= p.range[1], p.name
        assert p.unit.strip() and p.source.strip() and p.description.strip()
        assert p.verification in STATUSES
    assert d.param("N2O_N_to_N2O") == pytest.approx(44 / 28)
    assert d.param("C_to_CO2") == pytest.approx(44 / 12)
    assert d.param("z_90") == pytest.approx(1.6449)
    assert d.param("t_0667") == pytest.approx(0.4307)
    # every item carries a status and a non-empty source
    items = list(_walk(d.to_dict()))
    assert len(items) > 40
    for path, item in items:
        assert item["verification"] in STATUSES, path
        assert str(item.get("source", "")).strip(), path


def test_vm0042_rules():
    d = load_definition("VM0042-v2.2")
    unc = d.rule("uncertainty")
    assert unc["rule"] == "vcs_mr_v5"  # Eq. 74 defers to VCS MR section 2.4
    assert unc["confidence"] == pytest.approx(0.90)
    assert "Eq. 74" in unc["source"] and "2.4" in unc["source"]
    buffer = d.rule("buffer")
    assert buffer["rule"] == "afolu_npr"
    assert buffer["rate"] == pytest.approx(0.12)
    assert buffer["applies_to"] == "removals"
    assert "Non-Permanence" in buffer["source"]
    assert d.parameters["buffer_rate"].value == pytest.approx(0.12)
    assert "Non-Permanence" in d.parameters["buffer_rate"].source
    assert list(d.approaches) == ["1", "2", "3"]
    assert d.approaches["1"]["name"] == "measure and model"
    assert d.approaches["2"]["name"] == "measure and re-measure"
    pools = {p["name"]: p for p in d.to_dict()["boundary"]["pools"]}
    assert pools["soil organic carbon"]["included"] is True
    assert pools["litter"]["included"] is False
    assert d.parameters["GWP_N2O"].value == 265 and d.parameters["GWP_CH4"].value == 28  # AR5
    emissions = d.rule("emissions")
    assert emissions["method"] == "ipcc_2019_tier1" and emissions["ch4"] is False


def test_cms083_is_mostly_reconstructed():
    d = load_definition("CMS-083-V01")
    assert d.rule("buffer")["rule"] == "none"
    assert d.rule("buffer")["verification"] == "reconstructed"
    unc = d.rule("uncertainty")
    assert unc["rule"] == "vcs_mr_v5" and unc["verification"] == "reconstructed"
    # the TOC headings are the only official CMS-083 content
    gases = d.to_dict()["boundary"]["gases"]
    official = {g["source_category"] for g in gases if g["verification"] == "official"}
    assert official == {
        "soil organic carbon stock change",
        "cropland N2O (农田N2O排放)",
        "fossil fuel burned by farm machinery for tillage",
    }
    assert all(p.verification == "reconstructed" for p in d.parameters.values())


def test_hard_rules_are_the_relaunched_schemes():
    for name in NAMES:
        rules = load_definition(name).rule("hard_rules")
        assert rules["construction_start_after"] == "2012-11-08"
        assert rules["reductions_after"] == "2020-09-22"
        assert rules["instalment_window_years"] == 5
        assert rules["verification"] == "official"
        assert "Art. 17" in rules["source"]


def test_items_by_status_lists_the_annex():
    cms = load_definition("CMS-083-V01").items_by_status()
    assert set(cms) == {"secondary", "reconstructed"}
    assert len(cms["reconstructed"]) >= 40
    for path in ("parameters.EF1", "uncertainty", "buffer", "leakage", "emissions", "applicability[C1]"):
        assert path in cms["reconstructed"]
    assert "boundary.pools[litter]" in cms["reconstructed"]
    assert "ministry_issued_basis" in cms["secondary"]
    listed = {p for paths in cms.values() for p in paths}
    assert "hard_rules" not in listed  # official items are not in the annex
    assert "boundary.pools[soil organic carbon]" not in listed

    vm = load_definition("VM0042-v2.2").items_by_status()
    assert "parameters.EF1" in vm["secondary"] and "uncertainty" in vm["secondary"]
    assert "verification_rule" in vm["reconstructed"]
    assert "buffer" not in vm["secondary"] + vm["reconstructed"]


def test_definition_is_read_only():
    d = load_definition("VM0042-v2.2")
    with pytest.raises(TypeError):
        d.data["id"] = "other"  # type: ignore[index]
    block = d.rule("buffer")
    block["rate"] = 0.5
    assert d.rule("buffer")["rate"] == pytest.approx(0.12)
    with pytest.raises(DefinitionError, match="parameters.nope"):
        d.param("nope")
    with pytest.raises(DefinitionError, match="not a rule block"):
        d.rule("parameters")


def test_load_by_path_and_unknown_name(tmp_path):
    path = _write(tmp_path, _packaged("VM0042-v2.2"))
    assert load_definition(path).id == "VM0042-v2.2"
    assert load_definition(str(path)).param("EF1") == pytest.approx(0.01)
    with pytest.raises(DefinitionError, match="CMS-083-V01, VM0042-v2.2") as err:
        load_definition("VM0099")
    assert isinstance(err.value, MRVError) and isinstance(err.value, ValueError)
    with pytest.raises(DefinitionError, match="file not found"):
        load_definition(tmp_path / "missing.yaml")


def _drop(*keys: str) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return mutate


def _set(value: Any, *keys: str | int) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return mutate


BROKEN = [
    pytest.param(
        _drop("parameters", "EF1", "source"), "parameters.EF1.source", "add `source:`", id="no-source"
    ),
    pytest.param(_drop("parameters", "EF5", "unit"), "parameters.EF5.unit", "add `unit:`", id="no-unit"),
    pytest.param(
        _set("verified", "parameters", "EF4", "verification"),
        "parameters.EF4.verification",
        "use one of: official, secondary, reconstructed",
        id="bad-verification",
    ),
    pytest.param(
        _set(0.5, "parameters", "EF1", "value"),
        "parameters.EF1.value",
        "correct the value",
        id="out-of-range",
    ),
    pytest.param(
        _set("gs402", "uncertainty", "rule"), "uncertainty.rule", "use one of: vcs_mr_v5", id="unknown-rule"
    ),
    pytest.param(
        _set("  ", "boundary", "pools", 2, "source"),
        "boundary.pools[litter].source",
        "fill it in",
        id="blank-source",
    ),
    pytest.param(
        _drop("parameters", "EF5"), "parameters.EF5", "add parameters.EF5", id="rule-needs-parameter"
    ),
    pytest.param(_set("9", "default_approach"), "default_approach", "use one of: 1, 2, 3", id="bad-default"),
    pytest.param(_set(1.0, "version"), "version", "quote it", id="unquoted-version"),
    pytest.param(
        _set("2020-13-01", "hard_rules", "reductions_after"),
        "hard_rules.reductions_after",
        "date",
        id="bad-date",
    ),
    pytest.param(_set(0.05, "buffer", "rate"), "buffer.rate", "use 0", id="rate-without-buffer"),
]


@pytest.mark.parametrize(("mutate", "key_path", "fix"), BROKEN)
def test_broken_copy_names_file_key_path_and_fix(tmp_path, mutate, key_path, fix):
    data = _packaged("CMS-083-V01")
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(DefinitionError) as err:
        load_definition(path)
    message = str(err.value)
    assert str(path) in message
    assert f"  {key_path}:" in message
    assert "Fix:" in message and fix in message
    assert err.value.file == str(path)
    assert key_path in [p[0] for p in err.value.problems]


def test_vm0042_buffer_below_the_minimum_fails(tmp_path):
    data = _packaged("VM0042-v2.2")
    data["buffer"]["rate"] = 0.05
    data["parameters"]["buffer_rate"]["value"] = 0.05
    data["parameters"]["buffer_rate"]["range"] = [0.05, 0.6]
    with pytest.raises(DefinitionError, match=r"buffer\.rate: 0\.05 is less than the minimum of 0\.12"):
        load_definition(_write(tmp_path, data))


def test_id_must_match_file_name(tmp_path):
    path = _write(tmp_path, _packaged("CMS-083-V01"), stem="my-copy")
    with pytest.raises(DefinitionError, match="set `id: my-copy` or rename the file"):
        load_definition(path)


def test_malformed_yaml_names_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("id: x\ntitle: a\nid: y\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="line 3.*appears twice.*keep one of the two"):
        load_definition(path)
    path.write_text("id: [x\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="not valid YAML at line"):
        load_definition(path)
