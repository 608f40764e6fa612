"""`mrv ingest ...` and `mrv project ...` on a SQLite store in tmp_path."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from mrv_service.commands import ingest as ingest_cmd
from mrv_service.commands import project as project_cmd
from tests.mrv_service.conftest import DATA


@pytest.fixture
def cli():
    root = click.Group("mrv")
    root.add_command(ingest_cmd.group)
    root.add_command(project_cmd.group)
    return root


@pytest.fixture
def runner(tmp_path):
    return CliRunner(
        env={"MRV_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "MRV_ID_SALT": "cli-salt"}
    )


def test_project_and_ingest_commands(cli, runner, project_json_path, plots_shp_zip):
    r = runner.invoke(cli, ["project", "list"])
    assert r.exit_code == 0 and "no projects yet" in r.output
    r = runner.invoke(cli, ["project", "create", str(project_json_path)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["ingest", "plots", str(plots_shp_zip), "--project", "test-lishu"])
    assert r.exit_code == 0, r.output
    assert "plots.zip (plots, project test-lishu): ACCEPTED; 4 rows: 4 accepted" in r.output
    r = runner.invoke(cli, ["ingest", "logs", str(DATA / "logs_zh.csv"), "--project", "test-lishu", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["records"] == {"inserted": 8, "updated": 0, "unchanged": 0}
    r = runner.invoke(cli, ["ingest", "logs", str(DATA / "logs_zh.csv"), "--project", "test-lishu"])
    assert r.exit_code == 0 and "already ingested" in r.output

    r = runner.invoke(cli, ["ingest", "logs", str(DATA / "logs_bad_nrate.csv"), "--project", "test-lishu"])
    assert r.exit_code == 1
    assert "REJECTED" in r.output
    assert (
        "logs_bad_nrate.csv row 3, column 施氮量(公斤/亩): 'abc' is not a number; enter the N rate as a number in kg/mu"
        in r.output
    )

    r = runner.invoke(cli, ["project", "show", "test-lishu", "--json"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert (shown["plots"], shown["farmers"], shown["activity_records"]["total"]) == (4, 3, 8)
    assert shown["hectares"] == pytest.approx(3.76, abs=1e-4)
    assert shown["uploads"] == {"accepted": 2, "rejected": 1}
    r = runner.invoke(cli, ["project", "show", "test-lishu"])
    assert r.exit_code == 0 and "hectares          3.76" in r.output and "flags" in r.output
    r = runner.invoke(cli, ["project", "list"])
    assert "test-lishu  [default]  CMS-083-V01  梨树县  4 plots  3.76 ha" in r.output


def test_unknown_project_is_a_usage_error(cli, runner):
    r = runner.invoke(cli, ["ingest", "soil", str(DATA / "soil_som.csv"), "--project", "nope"])
    assert r.exit_code == 2 and "project 'nope' not found" in r.output
