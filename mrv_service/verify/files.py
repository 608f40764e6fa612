"""Detector files: a fitted estimator saved with joblib under the data directory.

``MRV_DATA_DIR/detectors/PROJECT/PRACTICE-SHA12.joblib``; the store keeps the path relative to
the data directory with the training hash and metrics (:mod:`mrv_service.store.verification`).
joblib files are pickles: load only files this service wrote (the store's rows point to them).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import joblib

from models.errors import MRVError
from mrv_service.run.verification_stage import DetectorSet
from mrv_service.store.verification import active_detector

__all__ = ["DETECTED", "DetectorFileError", "load_detector", "load_detector_set", "save_detector"]

DETECTED = ("tillage", "residue", "sowing", "harvest")
"""Practices with a trained detector (green cover uses its literature threshold)."""


class DetectorFileError(MRVError, OSError):
    """A detector file is missing or unreadable."""


def save_detector(data_dir: Path, project: str, practice: str, sha256: str, estimator: Any) -> str:
    """Write the estimator atomically (temporary file, then rename); returns its path relative to
    ``data_dir``. Writing the same detector twice leaves one file."""
    rel = Path("detectors") / project / f"{practice}-{sha256[:12]}.joblib"
    path = data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(fd)
    try:
        joblib.dump(estimator, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return rel.as_posix()


def load_detector(data_dir: Path, rel_path: str) -> Any:
    """The estimator saved at ``data_dir / rel_path``."""
    path = data_dir / rel_path
    try:
        return joblib.load(path)
    except FileNotFoundError as exc:
        raise DetectorFileError(
            f"detector file {path} is missing; train again with `mrv verify train PROJECT LABELS.csv`"
        ) from exc
    except Exception as exc:  # a truncated or foreign file
        raise DetectorFileError(f"detector file {path} is unreadable ({exc}); train again") from exc


def load_detector_set(session, project: str, data_dir: Path) -> DetectorSet:
    """The project's active detectors (None where it has none)."""
    estimators: dict[str, Any] = {}
    records: dict[str, dict[str, Any]] = {}
    for practice in DETECTED:
        det = active_detector(session, project, practice)
        if det is None:
            estimators[practice] = None
            continue
        estimators[practice] = load_detector(data_dir, det.model_path)
        records[practice] = {
            "training_sha256": det.training_sha256,
            "n_training": det.n_training,
            "metrics": det.metrics,
        }
    return DetectorSet(estimators, records)
