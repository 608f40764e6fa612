"""The imagery stage on Dask distributed: the same plot series, bit for bit, on 1, 2 or 4 worker
processes, and when a worker is killed with SIGKILL in the middle (Dask reschedules its scene
tasks on the others; each task is a pure function of its scene and the plots)."""

from __future__ import annotations

import os
import signal
import threading
import time

import geopandas as gpd
import pytest
import xarray as xr

from geodata.pipeline import plot_time_series

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    from mrv_service.sample.generator import create_sample

    d = tmp_path_factory.mktemp("workers") / "county"
    create_sample(d, n_plots=24, imagery=True)
    plots = gpd.read_file(d / "plots.geojson")[["plot_id", "geometry"]]
    catalog = d / "imagery" / "catalog.json"
    return catalog, plots, plot_time_series(catalog, plots)  # local threads: the reference


def _cluster(n: int):
    return distributed.LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )


@pytest.mark.parametrize("n_workers", [1, 2, 4])
def test_the_series_are_identical_on_1_2_and_4_workers(county, n_workers):
    catalog, plots, local = county
    with _cluster(n_workers) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == n_workers
        remote = plot_time_series(catalog, plots, dask_client=client)
    xr.testing.assert_identical(local, remote)


def test_a_worker_killed_mid_run_changes_nothing(county):
    catalog, plots, local = county
    with _cluster(2) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)  # worker address -> pid
        out: dict = {}
        thread = threading.Thread(
            target=lambda: out.setdefault("ds", plot_time_series(catalog, plots, dask_client=client)),
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + 60
        victim = None
        while victim is None:  # a worker busy with a scene task
            busy = [
                a for a, keys in client.processing().items() if any("scene-stats" in str(k) for k in keys)
            ]
            victim = busy[0] if busy else None
            assert time.monotonic() < deadline and thread.is_alive(), "no scene task seen running"
            time.sleep(0.01)
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(timeout=300)
        assert not thread.is_alive()
        assert (
            victim not in client.scheduler_info()["workers"]
        )  # that worker is gone (the nanny starts another)
    xr.testing.assert_identical(local, out["ds"])
