"""``mrv sampling design PROJECT`` on the small sample county."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mrv_service.cli import cli
from mrv_service.config import load_settings
from mrv_service.sample.demo import load_sample
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

Z90 = 1.6448536269514722  # standard normal 95th percentile (two-sided 90 %)


@pytest.fixture
def loaded(small_county, tmp_path):
    """The small county in a fresh store (as `mrv demo` loads it); returns the CLI env."""
    env = cli_env(tmp_path)
    load_sample(load_settings(env, sample_dir=small_county), echo=lambda _m: None)
    return env


def test_design_writes_points_and_strata(loaded, tmp_path):
    r = CliRunner().invoke(cli, ["sampling", "design", SAMPLE_PROJECT, "--seed", "5"], env=loaded)
    assert r.exit_code == 0, r.output
    out = tmp_path / "out" / SAMPLE_PROJECT / "sampling"
    table = pd.read_csv(out / "sampling_design.csv")
    points = gpd.read_file(out / "sampling_design.geojson")
    assert "sample size n =" in r.output and "wrote" in r.output

    # the formula recomputed from the CSV's own N_h, S_h and mean (Neyman with the FPC):
    # n = (sum W_h S_h)^2 / (V + sum W_h S_h^2 / N), V = (E/z)^2, E = 10 % x mean;
    # n_h = ceil(n N_h S_h / sum N_h S_h), at least 2, at most N_h
    N_h, S_h, mean = (
        table["N_h"].to_numpy(float),
        table["S_h_t_c_ha"].to_numpy(float),
        table["mean_t_c_ha"][0],
    )
    N = N_h.sum()
    W = N_h / N
    V = (0.10 * mean / Z90) ** 2
    n = np.sum(W * S_h) ** 2 / (V + np.sum(W * S_h**2) / N)
    assert table["n"][0] == pytest.approx(n, rel=1e-9)
    h = int(np.argmax(N_h))  # the largest stratum
    expect = min(max(math.ceil(n * N_h[h] * S_h[h] / np.sum(N_h * S_h) - 1e-9), 2), int(N_h[h]))
    assert table["n_h"][h] == expect
    assert table["n_total"][0] == table["n_h"].sum()
    # the mean is the area-weighted mean of the strata's means
    assert mean == pytest.approx(np.sum(W * table["stratum_mean_t_c_ha"]))

    # points: one row per point, in the strata of the table, as many as drawn
    assert list(points.columns) == ["point_id", "plot_id", "stratum", "lon", "lat", "geometry"]
    assert len(points) == table["points_drawn"].sum()
    assert set(points["stratum"]) <= set(table["stratum"])
    assert points["point_id"].is_unique
    assert np.allclose(points.geometry.x, points["lon"]) and np.allclose(points.geometry.y, points["lat"])


def test_design_options_and_reproducibility(loaded, tmp_path):
    args = ["sampling", "design", SAMPLE_PROJECT, "--precision", "0.05", "--seed", "2", "--buffer-m", "5"]
    a = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a")], env=loaded)
    b = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b")], env=loaded)
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    ta = pd.read_csv(tmp_path / "a" / "sampling_design.csv")
    assert ta["precision"][0] == 0.05
    assert (tmp_path / "a" / "sampling_design.geojson").read_bytes() == (
        tmp_path / "b" / "sampling_design.geojson"
    ).read_bytes()
    # a tighter precision needs more samples than the default 10 %
    c = CliRunner().invoke(
        cli, ["sampling", "design", SAMPLE_PROJECT, "--out", str(tmp_path / "c")], env=loaded
    )
    assert c.exit_code == 0, c.output
    assert ta["n"][0] > pd.read_csv(tmp_path / "c" / "sampling_design.csv")["n"][0]


def test_unknown_project_is_a_clear_error(loaded, tmp_path):
    r = CliRunner().invoke(cli, ["sampling", "design", "lishu-conservation"], env=loaded)
    assert r.exit_code == 2
    assert "Invalid value for PROJECT: project 'lishu-conservation' not found" in r.output
    assert f"known projects: {SAMPLE_PROJECT}" in r.output and "mrv project create" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "out" / "lishu-conservation").exists()
