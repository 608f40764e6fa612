"""The documents step of a run as a task (``mrv_service.run.documents_task``): its log records
reach the run's log once, whether it ran on a worker process or in the run's process."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pytest

from mrv_service.run.cluster import ChunkPool
from mrv_service.run.documents_task import LOGGER, run_documents
from mrv_service.run.inputs import ProjectInputs
from tests.mrv_service.conftest import project_info


def _inputs() -> ProjectInputs:
    project = project_info()
    empty = pd.DataFrame()
    plots = gpd.GeoDataFrame({"plot_id": []}, geometry=[], crs=4326)
    return ProjectInputs(project, plots, empty, empty, empty, empty, [], {}, {})


@pytest.fixture
def records():
    got: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            got.append(record)

    handler = Keep(logging.INFO)
    logging.getLogger(LOGGER).addHandler(handler)
    yield got
    logging.getLogger(LOGGER).removeHandler(handler)


@pytest.mark.parametrize(
    "where", ["run process", "worker process", "two worker processes", "worker thread of the run process"]
)
def test_the_documents_warnings_reach_the_run_once(tmp_path, records, where):
    """A run directory without plot_results.csv: neither document can be built, and each says
    so once in the run's log, in the documents' order, wherever they were built (one task per
    document on a cluster; a worker thread of this process logs through the same handlers)."""
    args = (tmp_path, _inputs(), {"accounting": {}}, "salt")
    if where == "run process":
        written = run_documents(ChunkPool(None), *args)
    else:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2 if where.startswith("two") else 1,
                threads_per_worker=1,
                processes=where != "worker thread of the run process",
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            written = run_documents(ChunkPool(client), *args)
    assert written == []
    texts = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(texts) == 2, texts
    assert texts[0].startswith("documents: pdd not written:") and "plot_results.csv is missing" in texts[0]
    assert texts[1].startswith("documents: reduction_report not written:")


def test_one_document_only(tmp_path, records):
    from mrv_service.documents import write_run_documents

    assert (
        write_run_documents(tmp_path, _inputs(), {"accounting": {}}, id_salt="s", only="reduction_report")
        == []
    )
    texts = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(texts) == 1 and texts[0].startswith("documents: reduction_report not written:"), texts
    with pytest.raises(ValueError, match="valid: pdd, reduction_report"):
        write_run_documents(tmp_path, _inputs(), {"accounting": {}}, only="report")
