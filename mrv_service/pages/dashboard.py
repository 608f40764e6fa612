"""The organisation's projects and a project's dashboard: plots, farmers and hectares; credit per
vintage with its 90 % interval; flags by practice and severity; review progress; runs;
documents; and the project map (:mod:`mrv_service.pages.maps`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import redirect, render_template, url_for
from markupsafe import Markup
from sqlalchemy import func, select

from mrv_service.pages.common import bp, project_context, project_or_404, session
from mrv_service.pages.templating import inline_svg
from mrv_service.store.models import Farmer, Plot, Project, Run, VerificationFlag

__all__: list[str] = []

log = logging.getLogger(__name__)

RUNS_SHOWN = 10


@bp.get("/")
def index():
    return redirect(url_for("pages.projects"))


@bp.get("/projects")
def projects():
    """The signed-in user's organisation's projects with their plots and hectares."""
    from mrv_service.api.auth import current_user

    s = session()
    org = current_user().organisation_id
    rows = s.execute(
        select(Project, func.count(Plot.id), func.coalesce(func.sum(Plot.area_ha), 0.0))
        .join(Plot, Plot.project_id == Project.id, isouter=True)
        .where(Project.organisation_id == org)
        .group_by(Project.id)
        .order_by(Project.name)
    ).all()
    items = [{"project": p, "plots": int(n), "hectares": float(ha)} for p, n, ha in rows]
    return render_template("pages/projects.html", items=items)


def _counts(project_id: int) -> dict[str, Any]:
    s = session()
    n_plots, hectares = s.execute(
        select(func.count(Plot.id), func.coalesce(func.sum(Plot.area_ha), 0.0)).where(
            Plot.project_id == project_id
        )
    ).one()
    n_farmers, n_villages = s.execute(
        select(func.count(Farmer.id), func.count(func.distinct(Farmer.village))).where(
            Farmer.project_id == project_id
        )
    ).one()
    return {
        "plots": int(n_plots),
        "hectares": float(hectares),
        "farmers": int(n_farmers),
        "villages": int(n_villages),
    }


def _vintages(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The accounting's vintages as rows, in year order."""
    vintages = ((summary.get("accounting") or {}).get("vintages")) or {}
    rows = []
    for year in sorted(vintages, key=str):
        v = vintages[year] or {}
        removals = v.get("removals") or {}
        net = v.get("net_interval") or {}
        deductions = sum(float(v.get(k) or 0.0) for k in ("uncertainty_deduction", "buffer"))
        rows.append(
            {
                "year": year,
                "removals": removals.get("mean"),
                "removals_p5": removals.get("p5"),
                "removals_p95": removals.get("p95"),
                "deductions": deductions,
                "emissions": v.get("emissions"),
                "leakage": v.get("leakage"),
                "net": v.get("net"),
                "net_p5": net.get("p5"),
                "net_p95": net.get("p95"),
                "excluded": v.get("deduction_assessed_over") == "excluded",
            }
        )
    return rows


def _credit_chart(summary: dict[str, Any]) -> Markup | None:
    vintages = ((summary.get("accounting") or {}).get("vintages")) or {}
    if not vintages:
        return None
    from mrv_service.review.charts import credit_by_vintage_svg

    return inline_svg(credit_by_vintage_svg(vintages))


def _review_progress(run: Run | None) -> dict[str, Any]:
    if run is None:
        return {"total": 0, "done": 0, "by_status": {}}
    by_status = dict(
        session()
        .execute(
            select(VerificationFlag.review_status, func.count())
            .where(VerificationFlag.run_id == run.id)
            .group_by(VerificationFlag.review_status)
        )
        .all()
    )
    total = int(sum(by_status.values()))
    return {"total": total, "done": total - int(by_status.get("open", 0)), "by_status": by_status}


def _runs(project: Project) -> tuple[list[Run], Run | None]:
    from mrv_service.store.runs import fail_if_stale

    s = session()
    runs = list(
        s.scalars(select(Run).where(Run.project_id == project.id).order_by(Run.id.desc()).limit(RUNS_SHOWN))
    )
    running = None
    for run in runs:
        if run.status == "running" and not fail_if_stale(s, run):
            running = run
    return runs, running


def _documents(run: Run | None) -> list[str]:
    from mrv_service.api.results import DOCUMENTS

    if run is None:
        return []
    out = Path(run.out_dir)
    return [name for name in DOCUMENTS if (out / name).is_file()]


@bp.get("/projects/<int:project_id>")
def dashboard(project_id: int):
    from mrv_service.store.verification import flag_counts

    project = project_or_404(project_id)
    ctx = project_context(project)
    run = ctx["run"]
    runs, running = _runs(project)
    documents = _documents(run)
    return render_template(
        "pages/dashboard.html",
        **ctx,
        counts=_counts(project.id),
        vintages=_vintages(ctx["summary"]),
        credited=(ctx["summary"].get("accounting") or {}).get("credited_t_co2e"),
        credit_chart=_credit_chart(ctx["summary"]),
        flags=flag_counts(session(), run) if run is not None else None,
        progress=_review_progress(run),
        runs=runs,
        running=running,
        documents={
            "pdd": [d for d in documents if d.startswith("pdd.")],
            "reduction_report": [d for d in documents if d.startswith("reduction_report.")],
        },
        map_config={
            "data_url": url_for("pages.map_data", project_id=project.id),
            "plot_url": url_for("pages.plot", project_id=project.id, plot_id="__ID__"),
            "mode": "credit",
        },
    )
