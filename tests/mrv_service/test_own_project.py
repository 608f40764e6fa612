"""The README's "Your own project" walk-through, run as written: a hand-made project of 8 plots
inside the sample county's imagery (examples/my-project), created, loaded and run with the CLI."""

from __future__ import annotations

import json
import re
import shlex

import pandas as pd
import pytest
from click.testing import CliRunner

from mrv_service.cli import cli
from tests.mrv_service.conftest import cli_env

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
ADOPTERS = {"MC-01", "MC-02", "MC-04", "MC-05", "MC-07"}
"""Plots whose logs switch to no-till with straw mulch in 2024 (examples/my-project/activity_logs.csv)."""


def readme_commands() -> list[list[str]]:
    """The ``mrv`` commands of the README section "Your own project", in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your own project", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line.split("#", 1)[0])[1:] for line in block.splitlines() if line.startswith("mrv ")]


def test_the_readme_lists_the_walkthrough():
    cmds = readme_commands()
    assert [c[:2] for c in cmds] == [
        ["project", "create"],
        ["project", "set"],
        ["ingest", "plots"],
        ["ingest", "logs"],
        ["ingest", "soil"],
        ["ingest", "weather"],
        ["run", "my-coop"],
    ]


@pytest.mark.slow
def test_own_project_from_the_readme(default_county, tmp_path, monkeypatch):
    # the layout of a checkout after `make demo`: examples/ and the sample county in data/sample/lishu
    (tmp_path / "examples").symlink_to(REPO / "examples")
    (tmp_path / "data" / "sample").mkdir(parents=True)
    (tmp_path / "data" / "sample" / "lishu").symlink_to(default_county)
    monkeypatch.chdir(tmp_path)
    env = cli_env(tmp_path)
    runner = CliRunner()
    for args in readme_commands():
        r = runner.invoke(cli, args, env=env)
        assert r.exit_code == 0, f"mrv {' '.join(args)}:\n{r.output}"

    out = tmp_path / "out" / "my-coop"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["store"]["plots"] == 8 and summary["store"]["farmers"] == 3
    # 8 hand-made plots: 4 of 55 m x (60, 90, 70, 95) m in two rows -> 0.33 + 0.495 + 0.385 + 0.5225 ha,
    # twice = 3.465 ha (UTM 51N areas; the GeoJSON's 1e-7 degree rounding moves them by < 0.1 %)
    assert summary["store"]["hectares"] == pytest.approx(3.465, rel=1e-3)
    img = summary["imagery"]
    assert img["plots_with_usable_dates"] == 8  # inside the sample county's imagery
    # the project's cloud limit (80 %, project.json) left out the cloudiest scenes
    assert img["search"]["max_cloud_cover"] == 80 and 0 < img["scenes"] < 80
    results = pd.read_csv(out / "plot_results.csv").set_index("plot_id")
    assert (results["station_id"] == "DH-AWS").all()
    assert results["station_distance_km"].max() < 0.5  # the coop's own station
    assert (results.loc[sorted(ADOPTERS), "delta_soc_t_c_ha"] > 0).all()
    assert (results.drop(index=sorted(ADOPTERS))["delta_soc_t_c_ha"] == 0).all()
    measured = {"MC-01", "MC-03", "MC-05", "MC-08"}  # soil_samples.csv
    assert set(results.index[results["soc_initial_source"] == "measured"]) == measured
    # MC-01: 0-20 cm SOM 21.4 g/kg, BD 1.27; 20-30 cm SOM 15.9 g/kg, BD 1.33; SOC = SOM x 0.58:
    # 21.4 x 0.58 x 1.27 x 20 x 0.1 + 15.9 x 0.58 x 1.33 x 10 x 0.1 = 31.528 + 12.265 = 43.793 t C/ha
    assert results.loc["MC-01", "soc_initial_t_c_ha"] == pytest.approx(43.793, abs=1e-3)
    assert summary["rothc"]["monte_carlo"]["draws"] == 200  # project.json settings.model
    assert summary["weather"] == {
        "stations": 1,
        "plots_per_station": {"DH-AWS": 8},
        "max_station_distance_km": results["station_distance_km"].max(),
        "months": "2021-01 to 2025-12",
    }
