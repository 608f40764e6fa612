"""Training a project's detectors and loading them for a run (the store and file edges of
:mod:`mrv_service.verify.train`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from models.errors import MRVError
from mrv_service.config import Settings
from mrv_service.run.inputs import load_project_inputs
from mrv_service.run.runner import default_out_dir
from mrv_service.store.db import init_db, make_engine, session_scope
from mrv_service.store.verification import register_detector
from mrv_service.verify.files import save_detector
from mrv_service.verify.labels import read_labels
from mrv_service.verify.train import train_detectors

__all__ = ["VerifyError", "train_project"]


class VerifyError(MRVError, ValueError):
    """Training cannot start (the message says what to do)."""


def _features(settings: Settings, project: str, path: Path | None = None) -> xr.Dataset:
    path = path or default_out_dir(settings, project) / "plot_features.nc"
    if not path.is_file():
        raise VerifyError(
            f"no imagery features for project {project!r} ({path} is missing): run `mrv run {project} --stage imagery` first"
        )
    with xr.open_dataset(path) as ds:
        return ds.load()


def train_project(
    settings: Settings,
    project: str,
    labels: Path | pd.DataFrame,
    *,
    seed: int = 0,
    data_note: str | None = None,
    features_path: Path | None = None,
    echo: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Train, save and register the project's detectors from a labels file (or table), on the
    imagery features of the project's last run (``features_path`` to use another file).

    Returns
    -------
    dict
        ``trained``: per practice the training hash, size and metrics; ``skipped``: reasons.
    """
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            inputs = load_project_inputs(session, project)
        ds = _features(settings, project, features_path)
        years = {*inputs.project.baseline_years, *inputs.project.project_years}
        ids = set(inputs.plots["plot_id"].astype(str))
        if isinstance(labels, pd.DataFrame):
            table = labels
        else:
            table = read_labels(Path(labels), ids, years)
        trained, skipped = train_detectors(inputs, ds, table, seed=seed, data_note=data_note)
        out: dict[str, Any] = {"trained": {}, "skipped": skipped}
        for t in trained:
            rel = save_detector(settings.data_dir, project, t.practice, t.training_sha256, t.estimator)
            with session_scope(engine) as session:
                register_detector(
                    session, project, t.practice, rel, t.training_sha256, t.n_training, t.metrics
                )
            out["trained"][t.practice] = {
                "training_sha256": t.training_sha256,
                "n_training": t.n_training,
                "model_path": rel,
                "metrics": t.metrics,
            }
            echo(_line(t.practice, t.n_training, t.metrics))
        for s in skipped:
            echo(f"skipped     {s}")
        return out
    finally:
        engine.dispose()


def _line(practice: str, n: int, m: dict[str, Any]) -> str:
    if "accuracy" in m:
        acc, kap = m["accuracy"], m["kappa"]
        rec = ", ".join(f"{c} {v['value']:.2f}" for c, v in m["recall"].items() if v["value"] is not None)
        return (
            f"{practice:<11} {n} labelled plot-seasons, {m['n_villages']} villages: overall accuracy "
            f"{acc['value']:.3f} (95 % {acc['ci95'][0]:.3f}-{acc['ci95'][1]:.3f}), kappa {kap['value']:.3f}, "
            f"MCC {m['mcc']['value']:.3f}; recall {rec} (held-out villages)"
        )
    mae = m["mae_days"]
    return (
        f"{practice:<11} {n} plot-seasons with logged dates: error {mae['value']:.1f} days mean absolute "
        f"(95 % {mae['ci95'][0]:.1f}-{mae['ci95'][1]:.1f}), bias {m['bias_days']['value']:+.1f} days (held-out villages)"
    )
