"""The whole ``mrv run`` chain on Dask distributed: bit-identical results on 1, 2 or 4 worker
processes and any chunk size, and when a worker is SIGKILLed in the middle of the models stage
(Dask runs its chunk again elsewhere; the chunk's files are written by atomic rename)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from mrv_service.config import load_settings
from mrv_service.run.runner import run_project
from mrv_service.sample.demo import load_sample
from mrv_service.store.db import make_engine, session_scope
from mrv_service.store.projects import update_project_settings
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

APPLIED = dt.date(2026, 11, 30)
"""The county's ``accounting.application_date``."""

TABLES = ("plot_results.csv", "flags.csv", "practice_verdicts.csv", "farmers.csv")
DATASETS = ("plot_features.nc", "plot_trajectories.nc")
DOCUMENTS = ("pdd.json", "reduction_report.json")


@pytest.fixture(scope="module")
def county(small_county, tmp_path_factory):
    """The 40-plot county in a store, and its outputs run in one chunk in this process."""
    tmp = tmp_path_factory.mktemp("run-workers")
    env = load_settings(cli_env(tmp), sample_dir=small_county)
    load_sample(env, echo=lambda _m: None)
    # the application date is the run's day by default: set, so that runs either side of
    # midnight compare equal
    engine = make_engine(env.database_url)
    with session_scope(engine) as session:
        update_project_settings(session, SAMPLE_PROJECT, {"accounting.application_date": APPLIED})
    engine.dispose()
    reference = tmp / "reference"
    run_project(env.replace(chunk_plots=10_000), SAMPLE_PROJECT, out_dir=reference)
    return env, tmp, reference


def _same_outputs(a: Path, b: Path) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_csv(a / name, dtype={"plot_id": str}),
            pd.read_csv(b / name, dtype={"plot_id": str}),
            check_exact=True,
        )
    for name in DATASETS:
        with xr.open_dataset(a / name) as x, xr.open_dataset(b / name) as y:
            xr.testing.assert_identical(x.load(), y.load())
    sa, sb = (json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in (a, b))
    for s in (sa, sb):
        s.pop("run")
    assert sa == sb
    for name in DOCUMENTS:  # every figure and table of the documents, their run id and issue time aside
        da, db = (
            json.loads(re.sub(r"\brun \d+\b", "run #", (d / name).read_text(encoding="utf-8")))
            for d in (a, b)
        )
        for d in (da, db):
            d.pop("generated_at"), d.pop("run_id")
        assert da == db, name


def test_the_chunks_add_up_to_the_one_chunk_run_in_this_process(county):
    env, tmp, reference = county
    out = tmp / "chunks-of-7"
    summary = run_project(env.replace(chunk_plots=7), SAMPLE_PROJECT, out_dir=out)
    _same_outputs(reference, out)
    assert summary["accounting"]["farmers"] > 0 and summary["rothc"]["switching_plots"]["plots"] > 0
    assert summary["accounting"]["application_date"] == "2026-11-30"  # the project's setting, not today


@pytest.mark.parametrize(("workers", "chunk"), [(1, 40), (2, 13), (4, 5)])
def test_the_run_is_identical_on_1_2_and_4_workers(county, workers, chunk):
    env, tmp, reference = county
    out = tmp / f"workers-{workers}"
    summary = run_project(env.replace(dask_workers=workers, chunk_plots=chunk), SAMPLE_PROJECT, out_dir=out)
    _same_outputs(reference, out)
    assert summary["run"]["timings_s"]["models"] > 0
    assert not (out / ".chunks").exists()  # the chunks' files are not published


def test_a_worker_killed_mid_run_changes_nothing(county):
    env, tmp, reference = county
    out = tmp / "killed"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)  # worker address -> pid
        result: dict = {}
        run_env = env.replace(dask_scheduler=cluster.scheduler_address, chunk_plots=4)

        def target() -> None:
            try:
                result["summary"] = run_project(run_env, SAMPLE_PROJECT, out_dir=out)
            except BaseException as exc:  # reported below
                result["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        deadline = time.monotonic() + 300
        victim = None
        while victim is None:  # a worker busy with a chunk of the models stage
            busy = [a for a, keys in client.processing().items() if any("models-" in str(k) for k in keys)]
            victim = busy[0] if busy else None
            assert time.monotonic() < deadline and thread.is_alive(), f"no models task seen running: {result}"
            time.sleep(0.01)
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(timeout=600)
        assert not thread.is_alive()
        assert "error" not in result, result.get("error")
        assert (
            victim not in client.scheduler_info()["workers"]
        )  # that worker is gone (the nanny starts another)
    _same_outputs(reference, out)
