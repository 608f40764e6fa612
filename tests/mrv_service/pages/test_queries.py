"""The plot list's query on the four fixture plots (P1-P4, tests/mrv_service/conftest.py), with a
run's results and flags written by hand and a page size of 3, so that every sort crosses a page
boundary and the credit sort crosses from the credited plots to those without credit. Runs on
SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mrv_service.pages import queries
from mrv_service.pages.queries import PlotFilters, plot_list
from mrv_service.store.db import session_scope
from mrv_service.store.models import Plot, PlotResult, Project, Run, VerificationFlag

# plot -> (net credit [t CO2e] or None, worst severity or None); P4 has no result row at all
RESULTS = {"P1": (0.5, "warning"), "P2": (0.5, "critical"), "P3": (None, None)}
# plot -> flags (practice, severity, review status)
FLAGS = {"P1": [("tillage", "warning", "open")], "P2": [("residue", "critical", "accepted")]}


@pytest.fixture
def listed(engine, with_plots, monkeypatch):
    """(engine, project id, run id) with the hand-made run; pages of 3 plots."""
    monkeypatch.setattr(queries, "PAGE_SIZE", 3)
    with session_scope(engine) as s:
        project = s.scalars(select(Project).where(Project.name == with_plots)).one()
        run = Run(project_id=project.id, status="succeeded", stages=[], out_dir="/nowhere")
        s.add(run)
        s.flush()
        pks = dict(s.execute(select(Plot.external_id, Plot.id).where(Plot.project_id == project.id)).all())
        for plot, (net, worst) in RESULTS.items():  # inserted in plot order: the run's order
            s.add(
                PlotResult(
                    run_id=run.id,
                    project_id=project.id,
                    plot_id=pks[plot],
                    net_t_co2e=net,
                    worst_severity=worst,
                    n_flags=len(FLAGS.get(plot, [])),
                )
            )
            s.flush()
        for plot, flags in FLAGS.items():
            for practice, severity, review in flags:
                s.add(
                    VerificationFlag(
                        run_id=run.id,
                        project_id=project.id,
                        plot_id=pks[plot],
                        season_year=2024,
                        practice=practice,
                        severity=severity,
                        reason="by hand",
                        review_status=review,
                    )
                )
        return engine, project.id, run.id


def _ids(listed, filters=None, sort="plot", descending=False, page=1) -> tuple[list[str], int, int]:
    engine, project_id, run_id = listed
    with session_scope(engine) as s:
        result = plot_list(s, project_id, run_id, filters or PlotFilters(), sort, descending, page)
    return [r["external_id"] for r in result.rows], result.total, result.pages


@pytest.mark.parametrize(
    "sort, descending, expected",
    [
        ("plot", False, ["P1", "P2", "P3", "P4"]),
        ("plot", True, ["P4", "P3", "P2", "P1"]),
        ("credit", False, ["P1", "P2", "P3", "P4"]),  # 0.5, 0.5 (the run's order), then no credit
        ("credit", True, ["P2", "P1", "P3", "P4"]),  # no credit stays last
        ("severity", False, ["P3", "P4", "P1", "P2"]),  # none, none, warning, critical
        ("severity", True, ["P2", "P1", "P3", "P4"]),
    ],
)
def test_sorting_across_pages(listed, sort, descending, expected):
    page1, total, pages = _ids(listed, sort=sort, descending=descending, page=1)
    page2, _, _ = _ids(listed, sort=sort, descending=descending, page=2)
    assert (total, pages) == (4, 2)
    assert page1 + page2 == expected


def test_area_sort(listed):
    """0.5 and 0.5 ha (as computed from the polygons), 0.8, 1.96 ha; descending is the reverse."""
    up = sum((_ids(listed, sort="area", page=p)[0] for p in (1, 2)), [])
    down = sum((_ids(listed, sort="area", descending=True, page=p)[0] for p in (1, 2)), [])
    assert sorted(up[:2]) == ["P1", "P2"] and up[2:] == ["P3", "P4"]
    assert down == up[::-1]


@pytest.mark.parametrize(
    "filters, expected",
    [
        (PlotFilters(village="二龙村"), ["P1", "P2"]),
        (PlotFilters(village="孤家子村"), ["P3", "P4"]),
        (PlotFilters(farmer="F1"), ["P1", "P2"]),
        (PlotFilters(farmer="王五"), ["P4"]),
        (PlotFilters(practice="tillage"), ["P1"]),
        (PlotFilters(severity="critical"), ["P2"]),
        (PlotFilters(practice="residue", severity="warning"), []),
        (PlotFilters(review="open"), ["P1"]),
        (PlotFilters(review="accepted"), ["P2"]),
        (PlotFilters(review="unflagged"), ["P3", "P4"]),
        (PlotFilters(village="二龙村", review="unflagged"), []),
    ],
)
def test_filters(listed, filters, expected):
    ids, total, _ = _ids(listed, filters)
    assert ids == expected and total == len(expected)
    # the same plots in credit order (the filtered credited plots, then the others)
    credit, _, _ = _ids(listed, filters, sort="credit")
    assert sorted(credit) == expected


def test_review_states_of_the_page(listed):
    engine, project_id, run_id = listed
    with session_scope(engine) as s:
        rows = plot_list(s, project_id, run_id).rows
    assert {r["external_id"]: r["reviews"] for r in rows} == {
        "P1": {"open": 1},
        "P2": {"accepted": 1},
        "P3": {},
    }


def test_without_a_run(listed):
    engine, project_id, _ = listed
    with session_scope(engine) as s:
        assert plot_list(s, project_id, None, PlotFilters(severity="critical")).total == 0
        assert plot_list(s, project_id, None, PlotFilters(review="unflagged")).total == 4
        rows = plot_list(s, project_id, None, sort="credit", descending=True).rows
    assert [r["external_id"] for r in rows] == ["P1", "P2", "P3"] and rows[0]["net_t_co2e"] is None


def test_an_unknown_sort_is_refused(listed):
    with pytest.raises(ValueError, match="sort 'colour' is not one of"):
        _ids(listed, sort="colour")
