"""A plot's page: its outline over image chips (true colour and NDVI) on chosen dates, the
NDVI/NDTI series with the logged activities and the detected practice, its flags with their
probability and reason, its SOC trajectory, soil samples and credit; and the review actions
(accept, reject, request evidence, override the practice), each written to the audit trail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from flask import Response, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from mrv_service.pages.auth import require_page
from mrv_service.pages.common import bp, cached, plot_or_404, project_context, project_or_404, session
from mrv_service.pages.i18n import t
from mrv_service.pages.templating import inline_svg
from mrv_service.store.models import (
    ActivityRecord,
    Farmer,
    Plot,
    PlotResult,
    Project,
    Run,
    SoilSample,
    VerificationFlag,
)

__all__ = ["DEFAULT_CHIP_DATES", "MAX_CHIP_DATES", "CHIP_PX"]

log = logging.getLogger(__name__)

DEFAULT_CHIP_DATES = 3
"""Dates shown when none are chosen: the latest season's earliest, greenest and last usable dates."""
MAX_CHIP_DATES = 6
CHIP_PX = 256
"""Width and height of an image chip [px]."""
CHIP_KINDS = ("truecolor", "ndvi")


def _evidence(call, *args, default=None):
    """``call(*args)`` of :mod:`mrv_service.review.evidence`; ``default`` when the run's outputs
    cannot give it (logged)."""
    from models.errors import MRVError

    try:
        return call(*args)
    except (MRVError, OSError, KeyError, ValueError) as exc:
        log.warning("%s%r: %s", getattr(call, "__name__", call), args[1:], exc)
        return default


def default_dates(dates: list[dict[str, Any]], n: int = DEFAULT_CHIP_DATES) -> list[str]:
    """The latest season's first, greenest and last usable dates (fewer when it has fewer)."""
    if not dates:
        return []
    last_year = dates[-1]["date"][:4]
    season = [d for d in dates if d["date"].startswith(last_year)]
    greenest = max(season, key=lambda d: d["ndvi"] if d["ndvi"] == d["ndvi"] else -9)
    chosen = []
    for d in (season[0], greenest, season[-1]):
        if d["date"] not in chosen:
            chosen.append(d["date"])
    return chosen[:n]


def _activities(plot: Plot) -> pd.DataFrame:
    rows = (
        session()
        .execute(
            select(ActivityRecord.date, ActivityRecord.activity, ActivityRecord.method, ActivityRecord.crop)
            .where(ActivityRecord.plot_id == plot.id)
            .order_by(ActivityRecord.date, ActivityRecord.activity)
        )
        .all()
    )
    return pd.DataFrame([tuple(r) for r in rows], columns=["date", "activity", "method", "crop"])


def _verdicts(run: Run, plot_id: str) -> pd.DataFrame | None:
    """The plot's rows of the run's ``practice_verdicts.csv`` (the detected practice per season)."""
    path = Path(run.out_dir) / "practice_verdicts.csv"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None

    def read() -> dict[str, pd.DataFrame]:
        frame = pd.read_csv(path, dtype={"plot_id": str})
        return {pid: g.reset_index(drop=True) for pid, g in frame.groupby("plot_id", sort=False)}

    by_plot = cached(("verdicts", str(path), mtime), read)
    return by_plot.get(plot_id)


def _series_chart(run: Run, plot: Plot) -> Markup | None:
    """The NDVI/NDTI chart (cached per run and plot: a run's outputs never change)."""
    from mrv_service.review.charts import timeseries_svg
    from mrv_service.review.evidence import plot_series

    def draw() -> Markup | None:
        series = _evidence(plot_series, Path(run.out_dir), plot.external_id)
        if series is None:
            return None
        return inline_svg(timeseries_svg(series, _activities(plot), _verdicts(run, plot.external_id)))

    return cached(("series_chart", run.id, plot.external_id), draw)


def _trajectory_chart(run: Run, plot: Plot) -> Markup | None:
    from mrv_service.review.charts import trajectory_svg
    from mrv_service.review.evidence import plot_trajectory

    def draw() -> Markup | None:
        traj = _evidence(plot_trajectory, Path(run.out_dir), plot.external_id)
        return None if traj is None else inline_svg(trajectory_svg(traj))

    return cached(("trajectory_chart", run.id, plot.external_id), draw)


def _flags(run: Run, plot: Plot) -> list[VerificationFlag]:
    return list(
        session().scalars(
            select(VerificationFlag)
            .where(VerificationFlag.run_id == run.id, VerificationFlag.plot_id == plot.id)
            .order_by(VerificationFlag.season_year, VerificationFlag.practice)
        )
    )


def _samples(plot: Plot) -> list[SoilSample]:
    return list(
        session().scalars(
            select(SoilSample)
            .where(SoilSample.plot_id == plot.id)
            .order_by(SoilSample.date, SoilSample.sample_id, SoilSample.depth_top_cm)
        )
    )


def render_plot(project: Project, plot_id: str, *, review_error: str | None = None, status: int = 200):
    from mrv_service.review.evidence import chip_dates
    from mrv_service.store.reviews import OVERRIDE_METHODS, reviews_of_plot

    plot = plot_or_404(project, plot_id)
    ctx = project_context(project)
    run = ctx["run"]
    s = session()
    farmer = s.get(Farmer, plot.farmer_id) if plot.farmer_id is not None else None
    dates: list[dict[str, Any]] = []
    chosen: list[str] = []
    series_chart = trajectory_chart = None
    flags: list[VerificationFlag] = []
    result = None
    if run is not None:
        dates = _evidence(chip_dates, Path(run.out_dir), plot.external_id, default=[]) or []
        available = {d["date"] for d in dates}
        asked = [d for d in request.args.getlist("date") if d in available]
        chosen = sorted(dict.fromkeys(asked))[:MAX_CHIP_DATES] or default_dates(dates)
        series_chart = _series_chart(run, plot)
        trajectory_chart = _trajectory_chart(run, plot)
        flags = _flags(run, plot)
        result = s.scalars(
            select(PlotResult).where(PlotResult.run_id == run.id, PlotResult.plot_id == plot.id)
        ).one_or_none()
    return (
        render_template(
            "pages/plot.html",
            **ctx,
            plot=plot,
            farmer=farmer,
            dates=dates,
            chosen=chosen,
            chip_kinds=CHIP_KINDS,
            chip_px=CHIP_PX,
            series_chart=series_chart,
            trajectory_chart=trajectory_chart,
            flags=flags,
            samples=_samples(plot),
            result=result,
            reviews=reviews_of_plot(s, project.id, plot.external_id),
            override_methods=OVERRIDE_METHODS,
            review_error=review_error,
            map_config={
                "data_url": url_for("pages.plot_map_data", project_id=project.id, plot_id=plot.external_id),
                "plot_url": url_for("pages.plot", project_id=project.id, plot_id="__ID__"),
                "mode": "flag",
            },
        ),
        status,
    )


@bp.get("/projects/<int:project_id>/plots/<string:plot_id>")
def plot(project_id: int, plot_id: str):
    return render_plot(project_or_404(project_id), plot_id)


@bp.get("/projects/<int:project_id>/plots/<string:plot_id>/chip.png")
def chip(project_id: int, plot_id: str):
    """The plot's image chip (``kind`` truecolor or ndvi) on a usable ``date`` (YYYY-MM-DD) of the
    latest succeeded run, with its outline drawn on it."""
    from mrv_service.review.evidence import plot_chip_png

    project = project_or_404(project_id)
    plot = plot_or_404(project, plot_id)
    run = project_context(project)["run"]
    kind = request.args.get("kind", "truecolor")
    date = request.args.get("date", "")
    if run is None or kind not in CHIP_KINDS or len(date) != 10:
        abort(404)
    geometry = shapely.from_wkt(plot.geometry_wkt)

    def render() -> bytes | None:
        return _evidence(plot_chip_png, Path(run.out_dir), plot.external_id, geometry, date, kind, CHIP_PX)

    png = cached(("chip", run.id, plot.external_id, date, kind), render)
    if png is None:
        abort(404)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@bp.post("/projects/<int:project_id>/plots/<string:plot_id>/review")
@require_page("review")
def review(project_id: int, plot_id: str):
    """Record a review decision on one practice of one plot-season (form fields ``year``,
    ``practice``, ``decision``, ``note``, ``method``), written to the audit trail."""
    from flask_login import current_user

    from mrv_service.store.reviews import ReviewError, record_review

    project = project_or_404(project_id)
    plot = plot_or_404(project, plot_id)
    form = request.form
    run = project_context(project)["run"]
    try:
        year = int(form.get("year", ""))
    except ValueError:
        return render_plot(project, plot.external_id, review_error="year: not a year", status=400)
    s = session()
    s.rollback()  # record_review begins its own write transaction
    try:
        record_review(
            s,
            project,
            plot_id=plot.external_id,
            year=year,
            practice=form.get("practice", ""),
            decision=form.get("decision", ""),
            reviewer=current_user.email,
            note=form.get("note", ""),
            method=(form.get("method") or None) if form.get("decision") == "override" else None,
            context={"via": "pages", "run_id": run.id if run is not None else None},
        )
    except ReviewError as exc:
        s.rollback()
        return render_plot(project, plot.external_id, review_error=str(exc), status=400)
    s.commit()
    flash(t("review_saved"), "info")
    return redirect(url_for("pages.plot", project_id=project.id, plot_id=plot.external_id) + "#flags")
