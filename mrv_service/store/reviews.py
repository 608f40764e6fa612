"""Reviewers' decisions on plot-seasons, which the next run takes.

An agronomist reviews a flagged practice of one plot-season (over the API or on the pages) and
decides (:data:`DECISIONS`):

* ``accept``: the logged practice stands (evidence seen); the run models it as logged and the
  claim holds with certainty in the Monte Carlo draw;
* ``reject``: the plot-season earns no credit;
* ``request_evidence``: pending; the run treats the season by the methodology's rule meanwhile;
* ``override``: the practice is modelled as the ``method`` the reviewer sets
  (:data:`OVERRIDE_METHODS`).

The latest decision per (project, plot, season, practice) is kept in ``season_reviews`` (every
decision is also appended to the hash-chained audit trail, with the reviewer and the time); the
flags of that practice-season in the project's runs show it as their ``review_status``
(:data:`STATUS_OF_DECISION`), and a new run's flags start from it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.errors import MRVError
from models.ipcc_tier1 import TILLAGE_LEVEL_OF_METHOD
from models.verification.detectors import RESIDUE_CLASS
from mrv_service.store.audit import append
from mrv_service.store.db import begin_write
from mrv_service.store.models import Plot, Project, SeasonReview, VerificationFlag

__all__ = [
    "DECISIONS",
    "STATUS_OF_DECISION",
    "OVERRIDE_METHODS",
    "REVIEW_COLUMNS",
    "ReviewError",
    "record_review",
    "reviews_of_plot",
    "project_reviews",
]

log = logging.getLogger(__name__)

STATUS_OF_DECISION = MappingProxyType(
    {
        "accept": "accepted",
        "reject": "rejected",
        "request_evidence": "evidence_requested",
        "override": "overridden",
    }
)
"""A decision -> the ``review_status`` of the flags it concerns."""

DECISIONS = tuple(STATUS_OF_DECISION)

OVERRIDE_METHODS = MappingProxyType(
    {"tillage": tuple(sorted(TILLAGE_LEVEL_OF_METHOD)), "residue": tuple(sorted(RESIDUE_CLASS))}
)
"""Practice -> the canonical methods a reviewer may set (those the models take)."""

REVIEWABLE_PRACTICES = ("tillage", "residue", "sowing", "harvest", "green_cover")

REVIEW_COLUMNS = ("plot_id", "year", "practice", "decision", "method", "note", "reviewer", "decided_at")
"""Columns of :func:`project_reviews` (``plot_id`` the plot's external id)."""

MAX_NOTE = 2000


class ReviewError(MRVError, ValueError):
    """A review cannot be recorded as given; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _check(decision: str, practice: str, method: str | None, note: str, year: int) -> str | None:
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}", "decision")
    if practice not in REVIEWABLE_PRACTICES:
        raise ReviewError(
            f"practice {practice!r} is not one of {', '.join(REVIEWABLE_PRACTICES)}", "practice"
        )
    if not 1900 <= int(year) <= 2200:
        raise ReviewError(f"year {year} is not a season's calendar year", "year")
    if len(note) > MAX_NOTE:
        raise ReviewError(f"the note has {len(note)} characters; keep it to {MAX_NOTE}", "note")
    if decision == "request_evidence" and not note.strip():
        raise ReviewError("a request for evidence needs a note saying what evidence to bring", "note")
    if decision != "override":
        if method:
            raise ReviewError(f"a method is only given with decision 'override', not {decision!r}", "method")
        return None
    allowed = OVERRIDE_METHODS.get(practice)
    if allowed is None:
        raise ReviewError(
            f"the {practice} practice cannot be overridden; only {', '.join(OVERRIDE_METHODS)} can "
            "(reject the season instead)",
            "practice",
        )
    if method not in allowed:
        raise ReviewError(f"method {method!r} for {practice} is not one of {', '.join(allowed)}", "method")
    return method


def record_review(
    session: Session,
    project: Project,
    *,
    plot_id: str,
    year: int,
    practice: str,
    decision: str,
    reviewer: str,
    note: str = "",
    method: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> SeasonReview:
    """Record a reviewer's decision on one practice of one plot-season (flushed; the caller
    commits): the standing decision, the flags' ``review_status`` and an audit entry
    (``context``, e.g. the flag reviewed, is added to the entry's payload).

    Raises
    ------
    ReviewError
        When the decision, practice, method, note or year is not valid, or the plot is not one of
        the project's (its ``field`` names the input).
    """
    note = (note or "").strip()
    method = _check(decision, practice, method, note, year)
    begin_write(session)
    plot_pk = session.scalar(
        select(Plot.id).where(Plot.project_id == project.id, Plot.external_id == str(plot_id))
    )
    if plot_pk is None:
        raise ReviewError(f"project {project.name!r} has no plot {plot_id!r}", "plot_id")
    row = session.scalars(
        select(SeasonReview).where(
            SeasonReview.project_id == project.id,
            SeasonReview.plot_id == plot_pk,
            SeasonReview.season_year == int(year),
            SeasonReview.practice == practice,
        )
    ).one_or_none()
    previous = None if row is None else row.decision
    if row is None:
        row = SeasonReview(project_id=project.id, plot_id=plot_pk, season_year=int(year), practice=practice)
        session.add(row)
    row.decision, row.method, row.note, row.reviewer = decision, method, note, reviewer
    row.decided_at = dt.datetime.now(dt.UTC)
    session.execute(
        update(VerificationFlag)
        .where(
            VerificationFlag.project_id == project.id,
            VerificationFlag.plot_id == plot_pk,
            VerificationFlag.season_year == int(year),
            VerificationFlag.practice == practice,
        )
        .values(review_status=STATUS_OF_DECISION[decision])
    )
    session.flush()
    append(
        session,
        action="review",
        actor=reviewer,
        organisation_id=project.organisation_id,
        project_id=project.id,
        payload={
            **dict(context or {}),
            "plot_id": str(plot_id),
            "year": int(year),
            "practice": practice,
            "decision": decision,
            "method": method,
            "note": note,
            "previous_decision": previous,
        },
    )
    log.info("review of %s %s %s: %s by %s", plot_id, year, practice, decision, reviewer)
    return row


def _frame(session: Session, *where) -> pd.DataFrame:
    rows = session.execute(
        select(
            Plot.external_id,
            SeasonReview.season_year,
            SeasonReview.practice,
            SeasonReview.decision,
            SeasonReview.method,
            SeasonReview.note,
            SeasonReview.reviewer,
            SeasonReview.decided_at,
        )
        .join(Plot, Plot.id == SeasonReview.plot_id)
        .where(*where)
        .order_by(Plot.external_id, SeasonReview.season_year, SeasonReview.practice)
    ).all()
    out = pd.DataFrame([tuple(r) for r in rows], columns=list(REVIEW_COLUMNS))
    out["year"] = out["year"].astype("int64")
    return out


def project_reviews(session: Session, project_id: int) -> pd.DataFrame:
    """The standing decisions of a project (:data:`REVIEW_COLUMNS`), for a run."""
    return _frame(session, SeasonReview.project_id == project_id)


def reviews_of_plot(session: Session, project_id: int, plot_external_id: str) -> list[dict]:
    """The standing decisions on one plot (:data:`REVIEW_COLUMNS` as dicts)."""
    frame = _frame(session, SeasonReview.project_id == project_id, Plot.external_id == str(plot_external_id))
    return frame.to_dict("records")
