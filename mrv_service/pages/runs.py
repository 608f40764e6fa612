"""Runs from the pages: start one (admin, developer; queued on Dask as over the API), follow its
progress (``status.json``, polled by the dashboard's progress bar), and download the latest
run's documents (only the fixed names of :data:`mrv_service.api.results.DOCUMENTS`)."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, flash, jsonify, redirect, url_for
from sqlalchemy import select

from mrv_service.api.errors import ApiError
from mrv_service.pages.auth import require_page
from mrv_service.pages.common import bp, latest_succeeded_run, project_or_404, session
from mrv_service.pages.i18n import t
from mrv_service.store.models import Run

__all__: list[str] = []


@bp.post("/projects/<int:project_id>/runs")
@require_page("write")
def start_run(project_id: int):
    """Start a run of every stage; back to the dashboard, whose progress bar follows it."""
    from flask_login import current_user

    from mrv_service.api.runs import STAGE_CHOICES, queue_run

    project = project_or_404(project_id)
    try:
        run = queue_run(project, stages=list(STAGE_CHOICES), seed=None, actor=current_user.email)
    except ApiError as exc:
        if exc.code not in (409, 503):
            raise
        flash(exc.error["message"], "error")
    else:
        flash(t("run_started", run_id=run.id), "info")
    return redirect(url_for("pages.dashboard", project_id=project_id) + "#runs")


@bp.get("/projects/<int:project_id>/runs/<int:run_id>/status.json")
def run_status(project_id: int, run_id: int):
    """A run's status, stage and percentage (a run whose process is gone is marked failed)."""
    from mrv_service.store.runs import fail_if_stale

    project = project_or_404(project_id)
    s = session()
    run = s.scalars(select(Run).where(Run.id == run_id, Run.project_id == project.id)).one_or_none()
    if run is None:
        abort(404)
    if run.status == "running":
        fail_if_stale(s, run)
    return jsonify(
        {
            "id": run.id,
            "status": run.status,
            "stage": run.stage,
            "percentage": run.percentage,
            "error": run.error,
        }
    )


@bp.get("/projects/<int:project_id>/documents/<string:name>")
def document(project_id: int, name: str):
    """Download a document of the latest succeeded run (DOCX, HTML or JSON)."""
    from mrv_service.api.results import DOCUMENTS

    project = project_or_404(project_id)
    if name not in DOCUMENTS:
        abort(404)
    run = latest_succeeded_run(project)
    if run is None:
        abort(404)
    path = Path(run.out_dir) / name
    if not path.is_file():
        abort(404)
    return Response(
        path.read_bytes(),
        mimetype=DOCUMENTS[name],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
