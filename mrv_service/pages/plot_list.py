"""The plot list: filters (village, farmer, practice, flag severity, review state), sorting (plot
id, area, credit, severity) and pages of :data:`~mrv_service.pages.queries.PAGE_SIZE` plots
(:mod:`mrv_service.pages.queries`)."""

from __future__ import annotations

from flask import render_template, request

from mrv_service.pages.common import bp, project_context, project_or_404, session
from mrv_service.pages.queries import (
    REVIEW_FILTERS,
    SEVERITY_ORDER,
    SORTS,
    PlotFilters,
    plot_list,
    villages,
)
from mrv_service.store.verification import PRACTICES

__all__: list[str] = []

MAX_FILTER_LEN = 200


def _arg(name: str, allowed=None) -> str | None:
    value = (request.args.get(name) or "").strip()[:MAX_FILTER_LEN]
    if not value:
        return None
    if allowed is not None and value not in allowed:
        return None
    return value


def filters_of_request() -> tuple[PlotFilters, str, bool, int]:
    """The list's filters, sort key, direction and page from the query string (unknown values are
    ignored, as a hand-edited URL deserves a list rather than an error)."""
    filters = PlotFilters(
        village=_arg("village"),
        farmer=_arg("farmer"),
        practice=_arg("practice", PRACTICES),
        severity=_arg("severity", SEVERITY_ORDER),
        review=_arg("review", REVIEW_FILTERS),
    )
    sort = _arg("sort", SORTS) or "plot"
    descending = request.args.get("desc") == "1"
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    return filters, sort, descending, min(page, 10**7)


@bp.get("/projects/<int:project_id>/plots")
def plots(project_id: int):
    project = project_or_404(project_id)
    ctx = project_context(project)
    run = ctx["run"]
    filters, sort, descending, page = filters_of_request()
    result = plot_list(
        session(), project.id, run.id if run is not None else None, filters, sort, descending, page
    )
    return render_template(
        "pages/plots.html",
        **ctx,
        result=result,
        filters=filters,
        sort=sort,
        descending=descending,
        villages=villages(session(), project.id),
        practices=PRACTICES,
        severities=SEVERITY_ORDER,
        review_filters=REVIEW_FILTERS,
        sorts=SORTS,
    )
