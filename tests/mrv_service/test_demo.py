"""``mrv demo`` end to end on a small generated county (exactly ``mrv run`` after the sample is
loaded), and the default county's size via the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from mrv_service.cli import cli
from mrv_service.ingest.report import file_sha256
from mrv_service.sample import create_sample
from mrv_service.sample.demo import SAMPLE_UPLOADS

PROJECT = "lishu-conservation-tillage"


@pytest.fixture(scope="module")
def small_county(tmp_path_factory):
    d = tmp_path_factory.mktemp("county") / "lishu"
    create_sample(d, n_plots=40, imagery=True)
    return d


def _env(tmp_path):
    return {
        "MRV_DATA_DIR": str(tmp_path / "data"),
        "MRV_DATABASE_URL": f"sqlite:///{tmp_path / 'mrv.sqlite'}",
        "MRV_OUTPUT_DIR": str(tmp_path / "out"),
    }


@pytest.mark.slow
def test_demo_runs_every_stage_and_a_second_run_changes_nothing(small_county, tmp_path):
    runner = CliRunner()
    args = ["demo", "--sample", str(small_county)]
    first = runner.invoke(cli, args, env=_env(tmp_path))
    assert first.exit_code == 0, first.output
    out = tmp_path / "out" / PROJECT  # MRV_OUTPUT_DIR/PROJECT
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["outputs"] == [
        "summary.json",
        "plot_features.nc",
        "flags.csv",
        "practice_verdicts.csv",
        "plot_results.csv",
        "farmers.csv",
        "plot_trajectories.nc",
        "pdd.json",
        "figures/pdd_F1.png",
        "figures/pdd_F2.png",
        "figures/pdd_F3.png",
        "pdd.docx",
        "pdd.html",
        "reduction_report.json",
        "figures/reduction_report_F1.png",
        "reduction_report.docx",
        "reduction_report.html",
        "run_manifest.json",
        "run.log",
    ]
    assert all((out / f).is_file() for f in summary["outputs"])

    # the methodology accounting: per vintage with its interval, plots and farmers add up to it
    acc = summary["accounting"]
    assert acc["methodology"] == {"id": "CMS-083-V01", "ministry_issued": False}
    assert set(acc["vintages"]) == {"2024", "2025"}
    for v in acc["vintages"].values():
        assert v["net_interval"]["p5"] <= v["net"] <= v["net_interval"]["p95"]
        assert v["buffer"] == 0.0  # CMS-083-V01: no buffer rule published (reconstructed: none)
    plot_net = pd.read_csv(out / "plot_results.csv")["net_t_co2e"].sum()
    assert plot_net == pytest.approx(acc["period"]["net"], abs=0.05)
    assert pd.read_csv(out / "farmers.csv")["net_t_co2e"].sum() == pytest.approx(plot_net, abs=0.05)
    blockers = [c["rule"] for c in acc["scheme_checks"] if c["status"] == "blocker"]
    assert blockers == ["methodology_issued"]
    assert "credited    vintage 2024" in first.output and "90 % interval" in first.output

    # verification: one flag row per flagged plot-season, counted in the summary
    flags = pd.read_csv(out / "flags.csv")
    assert list(flags.columns) == [
        "plot_id",
        "year",
        "practice",
        "logged",
        "detected",
        "probability",
        "severity",
        "reason",
    ]
    ver = summary["verification"]
    assert ver["flags"] == len(flags) and ver["plot_seasons"] == 40 * 5
    counted = sum(n for sev in ver["flags_by_practice_and_severity"].values() for n in sev.values())
    assert counted == len(flags)
    assert set(flags["severity"]) <= {"info", "warning", "critical", "unverifiable"}
    assert "verification_check.json" in first.output and "SYNTHETIC" in first.output

    store = summary["store"]
    assert store["plots"] == 40
    assert store["soil_samples"] > 0

    # the manifest names every uploaded file by the SHA-256 of its bytes
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    uploaded = {u["file"]: u["sha256"] for u in manifest["inputs"]["uploads"]}
    assert uploaded == {f: file_sha256(small_county / f) for _, f in SAMPLE_UPLOADS}
    assert manifest["inputs"]["store_rows"]["plots"]["rows"] == 40
    assert manifest["seed"] == summary["run"]["seed"]

    img = summary["imagery"]
    assert img["plots_with_usable_dates"] == 40
    assert 0 < img["usable_plot_dates"] < img["plot_dates"]  # clouds drop some plot-dates
    assert img["plot_dates"] == 40 * img["dates"]

    rc = summary["rothc"]
    # t CO2e = t C x 44/12 (IPCC 2006 Vol. 4 Eq. 2.2 conversion)
    assert rc["total_delta_soc_t_co2e"] == pytest.approx(rc["total_delta_soc_t_c"] * 44 / 12, abs=0.02)
    per_plot = pd.read_csv(out / "plot_results.csv")
    assert len(per_plot) == 40
    # the area-weighted sum of the per-plot gains is the project total (rounding of the CSV only)
    total = (per_plot["delta_soc_t_c_ha"] * per_plot["area_ha"]).sum()
    assert total == pytest.approx(rc["total_delta_soc_t_c"], rel=1e-3)
    assert per_plot["delta_t_co2e"].sum() == pytest.approx(rc["total_delta_soc_t_co2e"], rel=1e-3)
    # plots whose logs show no practice change get exactly nothing; the adopters gain
    logged = pd.read_excel(small_county / "activity_logs_project.xlsx")
    adopters = set(logged.loc[logged["method"].isin(["no_till", "mulched", "retained"]), "plot_id"])
    unchanged = per_plot[~per_plot["plot_id"].isin(adopters)]
    assert (unchanged["delta_soc_t_c_ha"] == 0).all()
    # plots that switch from straw removed to no-till with the straw mulched gain; a plot that
    # already retained its straw in the look-back gets no credit for continuing to return it
    switch = per_plot["baseline_practice"].str.endswith("+ removed") & (
        per_plot["project_practice"] == "no_till + mulched"
    )
    assert switch.sum() > 10 and (per_plot.loc[switch, "delta_soc_t_c_ha"] > 0).all()
    # only soil carbon is credited; the mulch on the surface is reported beside it
    assert (per_plot.loc[switch, "litter_delta_t_c_ha"] > 0).all()
    assert rc["litter"]["total_t_c"] > 0 and rc["soil"]["total_t_co2e"]["mean"] == pytest.approx(
        rc["total_delta_soc_t_co2e"], abs=0.1
    )
    assert rc["monte_carlo"]["draws"] == 1000  # the default
    soil_total = rc["soil"]["total_t_co2e"]
    assert soil_total["p5"] < soil_total["mean"] < soil_total["p95"]
    assert "RothC" in first.output and "t CO2e" in first.output

    second = runner.invoke(cli, args, env=_env(tmp_path))
    assert second.exit_code == 0, second.output
    assert second.output.count("already ingested") == len(SAMPLE_UPLOADS)
    again = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert again["store"]["plots"] == 40
    assert again["rothc"] == rc  # same inputs, same seed: the same numbers
    assert again["run"]["run_id"] > summary["run"]["run_id"]


def test_demo_refuses_a_folder_that_is_not_a_sample_county(tmp_path):
    mine = tmp_path / "my-files"
    mine.mkdir()
    (mine / "plots.geojson").write_text("{}", encoding="utf-8")
    r = CliRunner().invoke(cli, ["demo", "--sample", str(mine)], env=_env(tmp_path))
    assert r.exit_code == 1
    assert "holds no sample county" in r.output and "mrv run" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)  # no traceback


@pytest.mark.slow
def test_default_county_has_1000_plots_and_300_farmers(tmp_path):
    county = tmp_path / "lishu"
    create_sample(county, imagery=False)
    runner = CliRunner()
    env = _env(tmp_path)
    r = runner.invoke(cli, ["project", "create", str(county / "project.json")], env=env)
    assert r.exit_code == 0, r.output
    name = json.loads((county / "project.json").read_text(encoding="utf-8"))["name"]
    for kind, f in (
        ("plots", "plots.geojson"),
        ("logs", "activity_logs_baseline.csv"),
        ("soil", "soil_samples.csv"),
    ):
        r = runner.invoke(cli, ["ingest", kind, name, str(county / f)], env=env)
        assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["project", "show", name, "--json"], env=env)
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["plots"] >= 1000
    assert shown["farmers"] >= 300
    assert 0.1 * shown["plots"] <= shown["hectares"] <= 2.0 * shown["plots"]
    # the sample's project.json carries its imagery source, stored as an absolute path
    assert shown["settings"] == {"imagery": {"source": str((county / "imagery" / "catalog.json").resolve())}}


def test_demo_refuses_a_sample_county_of_another_version(tmp_path):
    # a sample written before project.json carried "sample_version" (version 1: placeholder climate)
    old = tmp_path / "lishu"
    (old / "imagery").mkdir(parents=True)
    (old / "imagery" / "catalog.json").write_text("{}", encoding="utf-8")
    (old / "project.json").write_text(json.dumps({"name": PROJECT, "seed": 1}), encoding="utf-8")
    r = CliRunner().invoke(cli, ["demo", "--sample", str(old)], env=_env(tmp_path))
    assert r.exit_code == 1
    assert "sample version 1" in r.output and f"Delete {old}" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)  # no traceback
