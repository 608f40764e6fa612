"""A run's per-plot results in the store (``plot_results``) and its ``plot_trajectories.nc``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import xarray as xr

from mrv_service.config import load_settings
from mrv_service.run.runner import run_project
from mrv_service.sample.demo import load_sample
from mrv_service.store.db import make_engine
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::models.scenarios.ScenarioWarning")]


@pytest.fixture(scope="module")
def run(small_county, tmp_path_factory):
    settings = load_settings(cli_env(tmp_path_factory.mktemp("plot-results")), sample_dir=small_county)
    load_sample(settings, echo=lambda _m: None)
    summary = run_project(settings, SAMPLE_PROJECT, echo=lambda *_a, **_k: None)
    engine = make_engine(settings.database_url)
    yield {"settings": settings, "summary": summary, "engine": engine}
    engine.dispose()


def _out(run):
    with run["engine"].connect() as c:
        return c.execute(
            sa.text("SELECT id, out_dir FROM runs WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1")
        ).one()


def test_plot_results_are_stored_with_the_worst_flag(run):
    run_id, out_dir = _out(run)
    csv = pd.read_csv(f"{out_dir}/plot_results.csv", dtype={"plot_id": str}).set_index("plot_id")
    flags = pd.read_csv(f"{out_dir}/flags.csv", dtype={"plot_id": str})
    with run["engine"].connect() as c:
        rows = pd.read_sql(
            sa.text(
                "SELECT p.external_id AS plot_id, r.baseline_practice, r.project_practice, r.delta_t_co2e, "
                "r.delta_t_co2e_p5, r.delta_t_co2e_p95, r.net_t_co2e, r.worst_severity, r.n_flags "
                "FROM plot_results r JOIN plots p ON p.id = r.plot_id "
                "WHERE r.run_id = :r"
            ),
            c,
            params={"r": run_id},
        ).set_index("plot_id")
    assert len(rows) == len(csv) == 40
    for col in ("delta_t_co2e", "delta_t_co2e_p5", "delta_t_co2e_p95", "net_t_co2e"):
        np.testing.assert_allclose(rows[col].reindex(csv.index), csv[col], rtol=0, atol=1e-12)
    assert (rows["project_practice"].reindex(csv.index) == csv["project_practice"]).all()
    # worst severity by hand: unverifiable > critical > warning > info
    order = {"info": 0, "warning": 1, "critical": 2, "unverifiable": 3}
    for pid, g in flags.groupby("plot_id"):
        assert rows.at[pid, "n_flags"] == len(g)
        assert rows.at[pid, "worst_severity"] == max(g["severity"], key=order.get)
    unflagged = sorted(set(csv.index) - set(flags["plot_id"]))
    assert all(rows.loc[unflagged, "n_flags"] == 0) and rows.loc[unflagged, "worst_severity"].isna().all()


def test_trajectories_end_where_the_plot_results_do(run):
    _run_id, out_dir = _out(run)
    csv = pd.read_csv(f"{out_dir}/plot_results.csv", dtype={"plot_id": str}).set_index("plot_id")
    with xr.open_dataset(f"{out_dir}/plot_trajectories.nc") as ds:
        ds = ds.load()
    assert set(ds.data_vars) == {
        "soc_baseline", "soc_project", "litter_baseline", "litter_project", "delta_p5", "delta_p95"
    }  # fmt: skip
    assert all(ds[v].attrs["units"] == "t C ha-1" for v in ds.data_vars)
    assert list(ds["plot"].values) == list(csv.index)
    last = ds.isel(year=-1).to_dataframe()
    # the soil SOC at the last crediting point: the same numbers plot_results.csv gives (3 decimals)
    np.testing.assert_allclose(last["soc_project"], csv["soc_project_end_t_c_ha"], atol=6e-4)
    np.testing.assert_allclose(last["soc_baseline"], csv["soc_baseline_end_t_c_ha"], atol=6e-4)
    # the band of the cumulative change holds the mean change of plot_results
    assert (last["delta_p5"] <= csv["delta_soc_t_c_ha"] + 1e-3).all()
    assert (last["delta_p95"] >= csv["delta_soc_t_c_ha"] - 1e-3).all()
    np.testing.assert_allclose(last["delta_p5"], csv["delta_soc_t_c_ha_p5"], atol=6e-4)
    np.testing.assert_allclose(last["delta_p95"], csv["delta_soc_t_c_ha_p95"], atol=6e-4)
    # the first point is the start of the crediting period: the initial SOC stock of the plot
    # (the spin-up is fitted to it), one state for both scenarios, no change yet
    start = ds.isel(year=0).to_dataframe()
    np.testing.assert_allclose(start["soc_baseline"], csv["soc_initial_t_c_ha"], atol=6e-4)
    np.testing.assert_array_equal(start["soc_baseline"].values, start["soc_project"].values)
    np.testing.assert_array_equal(start["litter_baseline"].values, start["litter_project"].values)
    assert float(np.abs(start[["delta_p5", "delta_p95"]].values).max()) == 0.0
    assert int(ds["year"][0]) == int(ds["year"][1]) - 1


def test_the_next_run_takes_a_reviewers_rejection(run):
    """A reviewer rejects both seasons of a credited plot; the next run's models stage gives the
    plot exactly nothing (every draw 0, so its interval is 0 too) and counts the decisions."""
    from mrv_service.store.db import session_scope
    from mrv_service.store.projects import get_project
    from mrv_service.store.reviews import record_review

    _run_id, out_dir = _out(run)
    before = pd.read_csv(f"{out_dir}/plot_results.csv", dtype={"plot_id": str}).set_index("plot_id")
    plot = before["delta_t_co2e"].abs().idxmax()
    assert before.at[plot, "delta_t_co2e"] != 0
    with session_scope(run["engine"]) as s:
        project = get_project(s, SAMPLE_PROJECT)
        for year in (2024, 2025):
            record_review(s, project, plot_id=plot, year=year, practice="tillage", decision="reject",
                          reviewer="agro@example.org", note="no evidence of the no-till drill")  # fmt: skip
            s.commit()
    summary = run_project(run["settings"], SAMPLE_PROJECT, stages=["models"], echo=lambda *_a, **_k: None)
    after = pd.read_csv(f"{out_dir}/plot_results.csv", dtype={"plot_id": str}).set_index("plot_id")
    assert after.at[plot, "delta_t_co2e"] == 0.0
    assert after.at[plot, "delta_t_co2e_p5"] == 0.0 and after.at[plot, "delta_t_co2e_p95"] == 0.0
    applied = summary["verified_credit"]["reviews_applied"]
    assert applied["rejected_plot_seasons_excluded"] == 2


def test_results_stored_in_blocks_are_those_stored_whole(run, monkeypatch):
    """The run's results written again 7 rows at a time: the same rows, counts and severities
    (those of the test above), and a second write leaves one copy."""
    from mrv_service.store.db import session_scope
    from mrv_service.store.models import Run
    from mrv_service.store.plot_results import replace_plot_results

    run_id, out_dir = _out(run)
    query = sa.text(
        "SELECT p.external_id, r.baseline_practice, r.project_practice, r.delta_t_co2e, r.net_t_co2e, "
        "r.worst_severity, r.n_flags FROM plot_results r JOIN plots p ON p.id = r.plot_id "
        "WHERE r.run_id = :r ORDER BY p.external_id"
    )
    with run["engine"].connect() as c:
        before = c.execute(query, {"r": run_id}).all()

    def blocks():
        return pd.read_csv(f"{out_dir}/plot_results.csv", dtype={"plot_id": str}, chunksize=7)

    for _ in range(2):
        with session_scope(run["engine"]) as s:
            assert replace_plot_results(s, s.get(Run, run_id), blocks) == 40
    with run["engine"].connect() as c:
        after = c.execute(query, {"r": run_id}).all()
    assert after == before and len(after) == 40
    assert sum(r.n_flags for r in after) == len(pd.read_csv(f"{out_dir}/flags.csv")) > 0
