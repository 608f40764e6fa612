"""The plot list's query: filters, sorting and OFFSET/LIMIT paging, fast at 100,000 plots.

A page is a ``count(*)`` of the filtered plots, the page's plot ids on narrow statements that
indexes serve (a deferred join), then only those 50 plots joined with their farmer and their
``plot_results`` row of the run, and one small statement for their flags' review states.

Filters are conditions on ``plots`` alone, so the count needs no join and each subquery runs once:

* ``village``: ``plots.farmer_id IN (farmers of the project in that village)``
  (``ix_plots_farmer_id``);
* ``farmer``: the same with the farmer's id or name;
* ``practice``, ``severity``, ``review``: ``plots.id IN (plot ids of the run's flags with that
  practice / severity / review status)``, so ``practice=residue&severity=critical&review=open``
  means "plots with an open critical residue flag" (the dashboard's cells link to such lists);
  ``review=unflagged``: plots without any flag in the run.

Sorting (:func:`_segments`): plot id (the unique index on ``(project_id, external_id)``), area
(then the plot's row id), credit (``ix_plot_results_run_net``, plots without a credit last) or
the worst flag severity (least to most blocking: info, warning, critical, unverifiable; ties by
plot id). ``benchmarks/plot_list.py`` times it at 100,000 plots and prints the query plans.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, func, literal, select
from sqlalchemy.orm import Session

from mrv_service.store.models import Farmer, Plot, PlotResult, VerificationFlag

__all__ = [
    "PAGE_SIZE",
    "SORTS",
    "SEVERITY_ORDER",
    "REVIEW_FILTERS",
    "PlotFilters",
    "PlotListPage",
    "plot_list",
    "villages",
    "list_statements",
]

PAGE_SIZE = 50
"""Plots per page."""

SORTS = ("plot", "area", "credit", "severity")
"""Sort keys of the list: plot id, area [ha], credit [t CO2e], worst flag severity."""

SEVERITY_ORDER = ("info", "warning", "critical", "unverifiable")
"""Severities least to most blocking (:data:`models.verification.reconcile.SEVERITIES`)."""

UNFLAGGED = "unflagged"
REVIEW_FILTERS = ("open", "accepted", "rejected", "evidence_requested", "overridden", UNFLAGGED)
"""Values of the review-state filter: a flag review status, or ``unflagged`` (no flag in the run)."""


@dataclasses.dataclass(frozen=True)
class PlotFilters:
    """The list's filters (None: not filtered)."""

    village: str | None = None
    """Village name (exact)."""
    farmer: str | None = None
    """Farmer id or name (exact)."""
    practice: str | None = None
    """Plots with a flag on this practice (``tillage``, ``residue`` ...)."""
    severity: str | None = None
    """Plots with a flag of this severity."""
    review: str | None = None
    """Plots with a flag in this review state, or ``unflagged``."""

    def active(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v}


@dataclasses.dataclass(frozen=True)
class PlotListPage:
    """One page of the list."""

    rows: list[dict[str, Any]]
    """Plot id, area [ha], farmer id, name, village, credit ``net_t_co2e`` [t CO2e] with its
    ``delta_t_co2e_p5``/``p95``, project practice, worst severity, number of flags and
    ``reviews`` (review status -> number of the plot's flags)."""
    total: int
    """Plots matching the filters."""
    page: int
    pages: int


def _farmers_where(project_id: int, *conditions) -> Select:
    return select(Farmer.id).where(Farmer.project_id == project_id, *conditions)


def _flag_plots(project_id: int, run_id: int, filters: PlotFilters) -> Select:
    stmt = select(VerificationFlag.plot_id).where(
        VerificationFlag.project_id == project_id, VerificationFlag.run_id == run_id
    )
    if filters.practice:
        stmt = stmt.where(VerificationFlag.practice == filters.practice)
    if filters.severity:
        stmt = stmt.where(VerificationFlag.severity == filters.severity)
    if filters.review and filters.review != UNFLAGGED:
        stmt = stmt.where(VerificationFlag.review_status == filters.review)
    return stmt


def _filters_on(plot_id, project_id: int, run_id: int | None, filters: PlotFilters) -> list:
    """The filters as conditions on a column holding plot row ids: ``Plot.id`` (then village
    and farmer go through ``plots.farmer_id``) or ``PlotResult.plot_id``."""
    on_plots = plot_id is Plot.id
    where = []
    for value, condition in (
        (filters.village, Farmer.village == filters.village),
        (filters.farmer, (Farmer.external_id == filters.farmer) | (Farmer.name == filters.farmer)),
    ):
        if not value:
            continue
        farmers = _farmers_where(project_id, condition)
        where.append(
            Plot.farmer_id.in_(farmers)
            if on_plots
            else plot_id.in_(select(Plot.id).where(Plot.farmer_id.in_(farmers)))
        )
    flag_filter = bool(
        filters.practice or filters.severity or (filters.review and filters.review != UNFLAGGED)
    )
    if run_id is None:
        if flag_filter:
            where.append(literal(False))  # no run: no flags
        return where
    if flag_filter:
        where.append(plot_id.in_(_flag_plots(project_id, run_id, filters)))
    if filters.review == UNFLAGGED:
        where.append(
            plot_id.not_in(select(VerificationFlag.plot_id).where(VerificationFlag.run_id == run_id))
        )
    return where


def _conditions(project_id: int, run_id: int | None, filters: PlotFilters) -> list:
    """The filtered plots: conditions on ``plots``."""
    return [Plot.project_id == project_id, *_filters_on(Plot.id, project_id, run_id, filters)]


@dataclasses.dataclass(frozen=True)
class _Segment:
    """A run of the list's order: the ids of its plots in order, and how many there are."""

    ids: Select
    count: Select


def _segments(
    project_id: int, run_id: int | None, filters: PlotFilters, sort: str, descending: bool
) -> list[_Segment]:
    """The list's order as consecutive segments of plot ids, each walked along an index.

    * plot id: one segment on the unique index ``(project_id, external_id)``;
    * area: one segment, area then the plot's row id (sorted: no index holds the area);
    * credit: the plots with a credit in the run along ``ix_plot_results_run_net`` (ties in the
      run's plot order), then those without one by plot id (last both ways);
    * severity: one segment per severity along ``ix_plot_results_run_severity`` (ties in the
      run's plot order, both ways), then the plots without a flag by plot id (first ascending,
      last descending).

    Descending is the exact reverse of ascending for plot id, area and the credited plots.
    Without a run, credit and severity fall back to the plot id order.
    """
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r} is not one of {', '.join(SORTS)}")
    where = _conditions(project_id, run_id, filters)
    count = select(func.count()).select_from(Plot).where(*where)

    def direction(*columns):
        return [c.desc() if descending else c.asc() for c in columns]

    if sort == "plot":
        return [_Segment(select(Plot.id).where(*where).order_by(*direction(Plot.external_id)), count)]
    if sort == "area":
        return [_Segment(select(Plot.id).where(*where).order_by(*direction(Plot.area_ha, Plot.id)), count)]
    if run_id is None:  # no credit, no flags: nothing to sort on
        return [_Segment(select(Plot.id).where(*where).order_by(Plot.external_id), count)]
    on_results = [PlotResult.run_id == run_id, *_filters_on(PlotResult.plot_id, project_id, run_id, filters)]

    def results_segment(*conditions, order) -> _Segment:
        return _Segment(
            select(PlotResult.plot_id).where(*on_results, *conditions).order_by(*order),
            select(func.count()).select_from(PlotResult).where(*on_results, *conditions),
        )

    def other_plots(condition) -> _Segment:
        """The filtered plots without a result row matching ``condition``, by plot id."""
        rest = [
            *where,
            Plot.id.not_in(select(PlotResult.plot_id).where(PlotResult.run_id == run_id, condition)),
        ]
        return _Segment(
            select(Plot.id).where(*rest).order_by(Plot.external_id),
            select(func.count()).select_from(Plot).where(*rest),
        )

    if sort == "credit":
        credited = PlotResult.net_t_co2e.is_not(None)
        order = direction(PlotResult.net_t_co2e, PlotResult.id)
        return [results_segment(credited, order=order), other_plots(credited)]
    # severity
    ranks = [results_segment(PlotResult.worst_severity == s, order=[PlotResult.id]) for s in SEVERITY_ORDER]
    unflagged = other_plots(PlotResult.worst_severity.is_not(None))
    return [*reversed(ranks), unflagged] if descending else [unflagged, *ranks]


def _count_statement(project_id: int, run_id: int | None, filters: PlotFilters) -> Select:
    return select(func.count()).select_from(Plot).where(*_conditions(project_id, run_id, filters))


def _rows_statement(ids: Sequence[int], run_id: int | None) -> Select:
    """The columns of the list for the plots ``ids`` (in no particular order)."""
    return (
        select(
            Plot.id,
            Plot.external_id,
            Plot.area_ha,
            Farmer.external_id.label("farmer_id"),
            Farmer.name.label("farmer_name"),
            Farmer.village,
            PlotResult.net_t_co2e,
            PlotResult.delta_t_co2e,
            PlotResult.delta_t_co2e_p5,
            PlotResult.delta_t_co2e_p95,
            PlotResult.project_practice,
            PlotResult.worst_severity,
            PlotResult.n_flags,
        )
        .select_from(Plot)
        .join(Farmer, Farmer.id == Plot.farmer_id, isouter=True)
        .join(
            PlotResult, and_(PlotResult.plot_id == Plot.id, PlotResult.run_id == (run_id or -1)), isouter=True
        )
        .where(Plot.id.in_(list(ids)))
    )


def list_statements(
    project_id: int,
    run_id: int | None,
    filters: PlotFilters = PlotFilters(),
    sort: str = "plot",
    descending: bool = False,
    page: int = 1,
) -> list[tuple[str, Select]]:
    """The statements a page may run, labelled (``benchmarks/plot_list.py --explain`` prints
    their query plans): the count, each segment's count and page of ids, and the rows."""
    offset = (max(1, int(page)) - 1) * PAGE_SIZE
    out = [("count", _count_statement(project_id, run_id, filters))]
    for i, segment in enumerate(_segments(project_id, run_id, filters, sort, descending)):
        out.append((f"segment {i} count", segment.count))
        out.append((f"segment {i} ids", segment.ids.limit(PAGE_SIZE).offset(offset)))
    out.append(("rows", _rows_statement([1, 2, 3], run_id)))
    return out


def _page_ids(session: Session, segments: Sequence[_Segment], offset: int) -> list[int]:
    """Ids of the page at ``offset``, walking the segments; a segment is counted only when the
    page starts beyond its end."""
    ids: list[int] = []
    for segment in segments:
        got = [pid for (pid,) in session.execute(segment.ids.limit(PAGE_SIZE - len(ids)).offset(offset))]
        if got:
            ids += got
            if len(ids) >= PAGE_SIZE:
                break
            offset = 0  # the segment ended within the page: the next one starts it
        elif offset:
            offset = max(0, offset - int(session.execute(segment.count).scalar_one()))
    return ids


def plot_list(
    session: Session,
    project_id: int,
    run_id: int | None,
    filters: PlotFilters = PlotFilters(),
    sort: str = "plot",
    descending: bool = False,
    page: int = 1,
) -> PlotListPage:
    """One page (:data:`PAGE_SIZE` plots) of the project's plots with their results of run
    ``run_id`` (None: no run yet), filtered and sorted; a page past the end is the last page.

    The page's plot ids are found first on narrow statements that indexes serve (deferred
    join); only those plots are then joined with their farmer and result."""
    segments = _segments(project_id, run_id, filters, sort, descending)  # checks ``sort``
    total = int(session.execute(_count_statement(project_id, run_id, filters)).scalar_one())
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, int(page)), pages)
    ids = _page_ids(session, segments, (page - 1) * PAGE_SIZE) if total else []
    by_id = {r.id: dict(r._mapping) for r in session.execute(_rows_statement(ids, run_id))} if ids else {}
    rows = [by_id[i] for i in ids if i in by_id]
    _add_review_states(session, run_id, rows)
    return PlotListPage(rows=rows, total=total, page=page, pages=pages)


def _add_review_states(session: Session, run_id: int | None, rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        row["reviews"] = {}
    if run_id is None or not rows:
        return
    by_id = {row["id"]: row for row in rows}
    result = session.execute(
        select(VerificationFlag.plot_id, VerificationFlag.review_status, func.count())
        .where(VerificationFlag.run_id == run_id, VerificationFlag.plot_id.in_(list(by_id)))
        .group_by(VerificationFlag.plot_id, VerificationFlag.review_status)
    )
    for plot_id, status, n in result:
        by_id[plot_id]["reviews"][status] = int(n)


def villages(session: Session, project_id: int) -> list[str]:
    """The project's villages (from its farmers), sorted."""
    return [
        v
        for (v,) in session.execute(
            select(Farmer.village)
            .where(Farmer.project_id == project_id, Farmer.village.is_not(None))
            .distinct()
            .order_by(Farmer.village)
        )
    ]
