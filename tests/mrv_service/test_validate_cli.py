"""``mrv validate`` end to end on the bundled sites (tests/data/soc_long_term), with few draws."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from mrv_service.cli import cli

SITES = Path(__file__).resolve().parents[1] / "data" / "soc_long_term"
LAST_LINE = re.compile(
    r"^validation: \d+ comparisons, bias -?\d+\.\d\d t C/ha, RMSE \d+\.\d\d t C/ha, "
    r"90% interval coverage \d+(\.\d)?%$"
)


def test_validate_end_to_end(tmp_path: Path):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["validate", str(SITES), "--out", str(out), "--draws", "8"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert any(ln.startswith("[") and "read Sidney" in ln for ln in lines)
    rep = json.loads((out / "validation.json").read_text())
    for key in (
        "statistics",
        "statistics_rate",
        "comparisons",
        "calibration_sites",
        "held_out_sites",
        "calibrated_parameters",
        "prediction_error_rate",
        "validated_rate_range",
        "skipped_sites",
        "skipped_treatments",
        "sites",
    ):
        assert key in rep, key
    # the default calibration subset: every other site (alphabetically) with a tillage or residue pair
    assert rep["calibration_sites"] == ["FivePoints", "Sidney"]
    assert rep["held_out_sites"] == ["IthacaNE"]
    params = rep["calibrated_parameters"]
    assert 0.2 <= params["surface_to_soil"] <= 1.0 and 0.0 <= params["tillage_scale"] <= 3.0
    cats = {(r["split"], r["kind"], r["category"]) for r in rep["statistics"]}
    assert ("held_out", "difference", "tillage") in cats and ("held_out", "difference", "residue") in cats
    assert rep["prediction_error_rate"]["pooled"]["sd"] > 0
    assert rep["headline"]["line"] == lines[-1]
    page = (out / "validation.html").read_text()
    assert "<svg" in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page


def test_validate_no_usable_site(tmp_path: Path):
    bad = tmp_path / "sites" / "Broken"
    bad.mkdir(parents=True)
    (bad / "soc_obd.csv").write_text("Yr,Broken_A\n2000,4000\n")
    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "sites"), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    assert "Traceback" not in res.output
    assert "no usable site" in res.output
    assert f"{bad / 'soc_obd.csv'}:1" in res.output  # the skipped site's reason names file and line


def test_validate_skips_a_bad_site(tmp_path: Path):
    sites = tmp_path / "sites"
    shutil.copytree(SITES / "Sidney", sites / "Sidney")
    shutil.copytree(SITES / "Sidney", sites / "Sidney2")
    (sites / "Sidney2").chmod(0o755)
    for f in (sites / "Sidney2").iterdir():
        f.chmod(0o644)
    (sites / "Sidney2" / "soils.in").write_text("0 20 1.3 0.3\n")
    res = CliRunner().invoke(
        cli,
        ["validate", str(sites), "--out", str(tmp_path / "o"), "--draws", "4", "--calibrate-sites", "none"],
    )
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    rep = json.loads((tmp_path / "o" / "validation.json").read_text())
    assert "soils.in:1" in rep["skipped_sites"]["Sidney2"] and "columns" in rep["skipped_sites"]["Sidney2"]
    assert LAST_LINE.match(res.output.strip().splitlines()[-1])
