"""Settings from MRV_-prefixed environment variables."""

from __future__ import annotations

from pathlib import Path

from mrv_service.config import DEV_ID_SALT, load_settings


def test_defaults_live_in_the_working_tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(env={})
    assert s.data_dir == tmp_path / "data"
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'mrv.sqlite'}"
    assert s.output_dir == tmp_path / "out"
    assert s.sample_dir == tmp_path / "data" / "sample" / "lishu"
    assert s.stac_url is None and s.dask_scheduler is None
    assert s.id_salt == DEV_ID_SALT


def test_environment_and_overrides(tmp_path):
    env = {
        "MRV_DATA_DIR": str(tmp_path / "d"),
        "MRV_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:5432/mrv",
        "MRV_STAC_URL": "https://earth-search.aws.element84.com/v1",
        "MRV_DASK_SCHEDULER": "tcp://127.0.0.1:8786",
        "MRV_OUTPUT_DIR": str(tmp_path / "o"),
        "MRV_ID_SALT": "s3cret",
        "OTHER": "ignored",
    }
    s = load_settings(env=env)
    assert s.database_url.startswith("postgresql+psycopg://")
    assert s.stac_url.endswith("/v1")
    assert s.dask_scheduler == "tcp://127.0.0.1:8786"
    assert s.output_dir == tmp_path / "o"
    assert s.sample_dir == tmp_path / "d" / "sample" / "lishu"
    assert s.id_salt == "s3cret"
    t = load_settings(env=env, output_dir=Path("/x"))
    assert t.output_dir == Path("/x") and t.database_url == s.database_url


def test_dask_workers_and_chunk_size(tmp_path):
    s = load_settings(env={"MRV_DASK_WORKERS": "2", "MRV_CHUNK_PLOTS": "500"})
    assert (s.dask_workers, s.chunk_plots) == (2, 500)
    assert (load_settings(env={}).dask_workers, load_settings(env={}).chunk_plots) == (0, 2000)


def test_a_bad_worker_count_names_the_variable_and_the_fix():
    import pytest

    from mrv_service.config import SettingsError

    for name, value in (("MRV_DASK_WORKERS", "two"), ("MRV_DASK_WORKERS", "-1"), ("MRV_CHUNK_PLOTS", "0")):
        with pytest.raises(SettingsError, match=rf"{name}='{value}' must be a whole number >= \d; unset it"):
            load_settings(env={name: value})


def test_the_cli_reports_a_bad_setting_without_a_traceback(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "mrv_service.cli", "run", "p"],
        env={"PATH": "", "MRV_DASK_WORKERS": "many", "MRV_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "Error: MRV_DASK_WORKERS='many' must be a whole number >= 0" in r.stderr
    assert "Traceback" not in r.stderr
