"""What every page shares: the blueprint, the project of the signed-in user (404 for another
organisation's), the latest succeeded run and its ``summary.json``, whether the imagery is the
sample's synthetic imagery, and small formatting helpers."""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy.orm import Session

from mrv_service.api.db import db_session
from mrv_service.store.models import Plot, Project, Run

__all__ = [
    "bp",
    "session",
    "project_or_404",
    "latest_succeeded_run",
    "run_summary",
    "synthetic_imagery",
    "project_context",
    "cached",
]

log = logging.getLogger(__name__)

bp = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
"""The review pages (server-rendered HTML at ``/``; the REST API stays under ``/api/v1``)."""


def session() -> Session:
    """The request's store session (the API's: one per request, closed at its end)."""
    return db_session()


def project_or_404(project_id: int) -> Project:
    """Project ``project_id`` of the signed-in user's organisation; 404 for any other (another
    tenant's project is indistinguishable from one that does not exist)."""
    from mrv_service.api.projects import project_of_caller

    return project_of_caller(project_id)


def plot_or_404(project: Project, plot_id: str) -> Plot:
    """Plot ``plot_id`` (its id in the plot upload) of ``project``; 404 for any other."""
    from flask import abort
    from sqlalchemy import select

    plot = (
        session()
        .scalars(select(Plot).where(Plot.project_id == project.id, Plot.external_id == plot_id))
        .one_or_none()
    )
    if plot is None:
        abort(404)
    return plot


def latest_succeeded_run(project: Project) -> Run | None:
    from mrv_service.store.runs import latest_run

    return latest_run(session(), project)


_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def cached(key: tuple, compute: Callable[[], Any]) -> Any:
    """A small per-app LRU cache (results of finished runs never change: key them by run id and
    file times). ``compute`` runs outside the lock; two threads may compute the same value."""
    cache: OrderedDict = current_app.extensions["mrv"].setdefault("pages_cache", OrderedDict())
    with _CACHE_LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = compute()
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def run_summary(run: Run | None) -> dict[str, Any]:
    """The run's ``summary.json`` ({} without a run or a readable file)."""
    if run is None or not run.out_dir:
        return {}
    path = Path(run.out_dir) / "summary.json"
    mtime = _mtime(path)
    if mtime is None:
        return {}

    def read() -> dict[str, Any]:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("summary.json of run %r not readable: %s", run.id, exc)
            return {}

    return cached(("summary", str(path), mtime), read)


def _catalog_says_synthetic(source: str) -> bool:
    path = Path(source)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        catalog = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    text = " ".join(str(catalog.get(k, "")) for k in ("title", "description", "id"))
    return "synthetic" in text.lower()


def synthetic_imagery(summary: dict[str, Any]) -> bool:
    """Whether a run used the sample county's synthetic imagery: its imagery source is a local
    STAC catalog whose title or description says so (the sample's ``catalog.json``), or its
    detectors were trained on the sample's synthetic labels (their ``data_note``)."""
    imagery = summary.get("imagery") or {}
    source = ((imagery.get("search") or {}).get("source")) or ""
    if source and cached(("synthetic", source), lambda: _catalog_says_synthetic(source)):
        return True
    detectors = (summary.get("verification") or {}).get("detectors") or {}
    for detector in detectors.values():
        note = str(((detector or {}).get("metrics") or {}).get("data_note", ""))
        if "synthetic" in note.lower():
            return True
    return False


def project_context(project: Project) -> dict[str, Any]:
    """What the base layout shows of a project: the project, its latest succeeded run, that
    run's summary and whether its imagery is synthetic."""
    run = latest_succeeded_run(project)
    summary = run_summary(run)
    synthetic = synthetic_imagery(summary)
    if not synthetic and not summary:  # no run yet: the project's own imagery setting
        source = str(((project.settings or {}).get("imagery") or {}).get("source") or "")
        synthetic = bool(source) and cached(("synthetic", source), lambda: _catalog_says_synthetic(source))
    return {"project": project, "run": run, "summary": summary, "synthetic": synthetic}
