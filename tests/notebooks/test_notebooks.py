"""The notebooks run top to bottom on the small sample county (nbclient, a real Jupyter kernel).

Each notebook is executed as a user would after `mrv run`: the store and the output folder come
from the MRV_* environment; a cell that raises fails the test with the cell's error."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from mrv_service.config import load_settings  # noqa: E402
from mrv_service.run.runner import run_project  # noqa: E402
from mrv_service.sample.demo import load_sample  # noqa: E402
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env  # noqa: E402

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::models.scenarios.ScenarioWarning")]


@pytest.fixture(scope="module")
def county_env(small_county, tmp_path_factory):
    env = cli_env(tmp_path_factory.mktemp("notebooks"))
    settings = load_settings(env, sample_dir=small_county)
    load_sample(settings, echo=lambda _m: None)
    run_project(settings, SAMPLE_PROJECT, echo=lambda *_a, **_k: None)
    return env


def _outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_there_are_at_least_two_notebooks():
    assert len(NOTEBOOKS) >= 2, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_the_sample_county(path, county_env, monkeypatch, tmp_path):
    for k, v in county_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("MRV_NOTEBOOK_PROJECT", SAMPLE_PROJECT)
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit notebooks without outputs"
    )
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the cell
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "image/svg+xml" in kinds  # its charts rendered
    assert "image/png" in kinds  # the map (01), the plot's image chips (02)
    text = "".join(o.get("text", "") for o in outputs)
    assert f"{SAMPLE_PROJECT}: run" in text and county_env["MRV_OUTPUT_DIR"] in text
