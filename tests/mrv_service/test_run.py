"""``mrv run PROJECT``: stages alone, carried-over results, interruption, concurrency, readiness."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mrv_service.cli import cli
from mrv_service.config import load_settings
from mrv_service.run.inputs import load_project_inputs
from mrv_service.run.models_stage import models_stage
from mrv_service.sample.demo import load_sample
from mrv_service.store.db import make_engine, session_scope
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

P = SAMPLE_PROJECT


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def loaded(small_county, tmp_path):
    """The small county in a fresh store (as `mrv demo` loads it); returns the CLI env."""
    env = cli_env(tmp_path)
    load_sample(load_settings(env, sample_dir=small_county), echo=lambda _m: None)
    return env


def _run(env, *args):
    r = CliRunner().invoke(cli, ["run", P, *args], env=env)
    return r


def _runs(env) -> list[tuple]:
    eng = make_engine(env["MRV_DATABASE_URL"])
    with eng.connect() as c:
        rows = c.execute(sa.text("SELECT id, status, error FROM runs ORDER BY id")).all()
    eng.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.slow
def test_a_stage_alone_carries_the_others_over_unchanged(loaded, tmp_path):
    first = _run(loaded)
    assert first.exit_code == 0, first.output
    out = tmp_path / "out" / P
    features = _sha(out / "plot_features.nc")
    s1 = json.loads((out / "summary.json").read_text(encoding="utf-8"))

    second = _run(loaded, "--stage", "models", "--seed", "7")
    assert second.exit_code == 0, second.output
    assert "imagery     carried over from run 1" in second.output
    s2 = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    assert _sha(out / "plot_features.nc") == features  # the same file, not recomputed
    assert s2["imagery"] == s1["imagery"]
    assert s2["run"]["stages_run"] == ["models"]
    assert s2["run"]["stages_carried_over"] == ["imagery", "verification"]
    assert manifest["stages"]["imagery"]["carried_over_from_run"] == 1
    assert manifest["inputs"]["imagery"]["items"]  # the carried stage keeps its inputs on record
    # another seed: other Monte Carlo draws, so another mean of the draws (the estimate), within its
    # own interval; the deterministic per-plot stocks are unchanged
    assert s2["rothc"]["monte_carlo"]["seed"] == 7
    mc1, mc2 = s1["rothc"]["monte_carlo"], s2["rothc"]["monte_carlo"]
    assert mc2["total_t_co2e_mean"] != mc1["total_t_co2e_mean"]
    assert mc1["total_t_co2e_p5"] < mc2["total_t_co2e_mean"] < mc1["total_t_co2e_p95"]


@pytest.mark.slow
def test_carrying_over_results_whose_inputs_changed_is_refused(loaded, tmp_path):
    assert _run(loaded).exit_code == 0
    out = tmp_path / "out" / P
    before = _sha(out / "summary.json")
    r = CliRunner().invoke(cli, ["project", "set", P, "imagery.max_cloud_cover=50"], env=loaded)
    assert r.exit_code == 0, r.output
    r = _run(loaded, "--stage", "models")
    assert r.exit_code == 1
    assert "imagery results of the last run (run 1) were computed from other inputs" in r.output
    assert "settings.imagery.max_cloud_cover" in r.output and "--stage imagery" in r.output
    assert _sha(out / "summary.json") == before  # the published results are untouched
    assert _runs(loaded)[-1][1] == "failed"


def _start_run(env: dict, out_root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mrv_service.cli", "run", P],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=out_root,
    )


def _wait_for_partial(out_root: Path, proc: subprocess.Popen, timeout: float = 120) -> Path:
    """The run's partial directory, once it exists (the run is then writing its results)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(out_root.glob(f".{P}.partial-{proc.pid}"))
        if found:
            return found[0]
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.02)
    raise AssertionError("the run never started writing")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_run_leaves_the_previous_results_intact(loaded, tmp_path, sig):
    assert _run(loaded).exit_code == 0
    out_root = tmp_path / "out"
    out = out_root / P
    published = {str(f.relative_to(out)): _sha(f) for f in out.rglob("*") if f.is_file()}

    proc = _start_run(loaded, tmp_path)
    partial = _wait_for_partial(out_root, proc)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    text = proc.stdout.read().decode()
    proc.stdout.close()
    assert "Traceback" not in text
    now = {str(f.relative_to(out)): _sha(f) for f in out.rglob("*") if f.is_file()}
    assert now == published, text  # the last complete results (documents' figures/ included)
    runs = _runs(loaded)
    if sig == signal.SIGKILL:  # no chance to clean up: the partial dir and a "running" row stay
        assert partial.exists() and runs[-1][1] == "running"
    else:  # Ctrl-C or kill: cleaned up and recorded
        assert not partial.exists() and runs[-1][1] == "failed" and runs[-1][2] == "interrupted"

    # the next run finds what a dead run left, marks it failed and publishes its own results
    again = _run(loaded)
    assert again.exit_code == 0, again.output
    assert not partial.exists()
    runs = _runs(loaded)
    assert [r[1] for r in runs] == ["succeeded", "failed", "succeeded"]
    if sig == signal.SIGKILL:
        assert "ended without finishing the run" in runs[1][2]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["run"]["run_id"] == 3


@pytest.mark.slow
def test_a_second_run_of_the_project_at_the_same_time_is_refused(loaded, tmp_path):
    proc = _start_run(loaded, tmp_path)
    _wait_for_partial(tmp_path / "out", proc)
    second = _run(loaded)
    assert second.exit_code == 1
    assert f"project {P!r} has a run in progress (run 1, process {proc.pid}" in second.output
    assert proc.wait(timeout=300) == 0, proc.stdout.read().decode()
    proc.stdout.close()
    assert [r[1] for r in _runs(loaded)] == ["succeeded"]  # the refused run left no row


def test_weather_gaps_stop_the_run_before_it_starts(small_county, tmp_path):
    county = tmp_path / "county"
    county.mkdir()
    for f in small_county.iterdir():
        if f.is_file():
            (county / f.name).write_bytes(f.read_bytes())
    (county / "imagery").symlink_to(small_county / "imagery")
    weather = pd.read_csv(county / "weather_monthly.csv")
    ym = weather["year"] * 100 + weather["month"]
    weather[(ym >= 202106) & (ym <= 202510)].to_csv(county / "weather_monthly.csv", index=False)
    env = cli_env(tmp_path)
    load_sample(load_settings(env, sample_dir=county), echo=lambda _m: None)
    r = _run(env)
    assert r.exit_code == 1
    assert "does not cover the months the run needs (2021-01 to 2025-12" in r.output
    assert "station project: 2021-01..2021-05, 2025-11..2025-12" in r.output
    assert not (tmp_path / "out" / P).exists()
    # the imagery stage alone needs no weather
    assert _run(env, "--stage", "imagery").exit_code == 0


def test_a_project_without_an_imagery_source_says_how_to_set_one(loaded, tmp_path):
    r = CliRunner().invoke(cli, ["project", "set", P, "--unset", "imagery.source"], env=loaded)
    assert r.exit_code == 0, r.output
    r = _run(loaded, "--stage", "imagery")
    assert r.exit_code == 1
    assert f"mrv project set {P} imagery.source=URL" in r.output and "MRV_STAC_URL" in r.output


def test_unknown_project_and_settings_errors(loaded):
    r = CliRunner().invoke(cli, ["run", "nope"], env=loaded)
    assert r.exit_code == 2 and "project 'nope' not found" in r.output
    r = CliRunner().invoke(cli, ["project", "set", P, "imagery.api_key=s3cr3t"], env=loaded)
    assert r.exit_code == 2 and "MRV_STAC_API_KEY" in r.output
    r = CliRunner().invoke(cli, ["project", "set", P, "imagery.max_cloud_cover=140"], env=loaded)
    assert r.exit_code == 2 and "outside 0-100" in r.output
    r = CliRunner().invoke(cli, ["project", "show", P], env=loaded)
    assert r.exit_code == 0
    shown = {
        line.replace("*", " ").split()[0]: line for line in r.output.splitlines() if line.startswith("    ")
    }
    assert shown["imagery.source"].lstrip().startswith("*")  # set by the project
    assert shown["model.depth_cm"].split()[-1] == "30.0"  # default


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::models.scenarios.ScenarioWarning")
def test_results_do_not_depend_on_how_plots_are_grouped_by_station(loaded):
    """Two stations, west and east of the plots: each plot runs with its nearest station's
    weather, and gets exactly what a one-station run of that weather gives it."""
    engine = make_engine(loaded["MRV_DATABASE_URL"])
    with session_scope(engine) as session:
        inputs = load_project_inputs(session, P)
    engine.dispose()
    cen = inputs.plots.geometry.representative_point()
    mid = float(np.median(cen.x))
    lat = float(cen.y.mean())
    months = inputs.weather_months
    west = months.assign(station_id="W")
    east = months.assign(
        station_id="E", tmean_degC=months["tmean_degC"] + 2.0, precip_mm=months["precip_mm"] * 0.8
    )
    stations = pd.DataFrame(
        {"station_id": ["E", "W"], "name": [None, None], "lon": [mid + 0.02, mid - 0.02], "lat": [lat, lat]}
    )
    two = dataclasses.replace(inputs, weather_stations=stations, weather_months=pd.concat([east, west]))
    res_two = models_stage(two, seed=11, n_draws=20).per_plot.set_index("plot_id")
    assert set(res_two["station_id"]) == {"E", "W"}
    for sid, frame in (("W", west), ("E", east)):
        one = dataclasses.replace(
            inputs, weather_stations=stations[stations["station_id"] == sid], weather_months=frame
        )
        res_one = models_stage(one, seed=11, n_draws=20).per_plot.set_index("plot_id")
        mine = res_two.index[res_two["station_id"] == sid]
        cols = ["soc_baseline_end_t_c_ha", "soc_project_end_t_c_ha", "delta_soc_t_c_ha", "delta_t_co2e_sd"]
        pd.testing.assert_frame_equal(res_two.loc[mine, cols], res_one.loc[mine, cols])
    # and the station's weather matters: the east plots end elsewhere under the west's weather
    east_plots = res_two.index[res_two["station_id"] == "E"]
    west_only = models_stage(
        dataclasses.replace(
            inputs, weather_stations=stations[stations["station_id"] == "W"], weather_months=west
        ),
        seed=11,
        n_draws=20,
    ).per_plot.set_index("plot_id")
    assert (
        res_two.loc[east_plots, "soc_baseline_end_t_c_ha"]
        != west_only.loc[east_plots, "soc_baseline_end_t_c_ha"]
    ).all()


def test_a_stop_request_stops_at_a_safe_point_and_publishes_nothing(loaded, tmp_path):
    import threading

    from mrv_service.run.runner import RunInterruptedError, run_project

    stop = threading.Event()
    stop.set()  # as a signal handler does
    with pytest.raises(RunInterruptedError, match="stopped on request; nothing was published"):
        run_project(load_settings(loaded), P, stop=stop)
    assert not (tmp_path / "out" / P).exists()
    assert not list((tmp_path / "out").glob(f".{P}.partial-*"))
    assert _runs(loaded) == [(1, "failed", "interrupted")]
