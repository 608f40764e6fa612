"""Organisations and projects: create them idempotently, look them up, summarise them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from models.errors import MRVError
from mrv_service.store.models import (
    ActivityRecord,
    Farmer,
    Organisation,
    Plot,
    PlotFlag,
    Project,
    SoilSample,
    Upload,
)

__all__ = [
    "ProjectNotFoundError",
    "ProjectConflictError",
    "get_or_create_organisation",
    "create_project",
    "ensure_project_from_json",
    "get_project",
    "project_summary",
    "list_projects",
]

log = logging.getLogger(__name__)


class ProjectNotFoundError(MRVError, LookupError):
    """No project of that name in the store."""

    def __str__(self) -> str:  # LookupError/KeyError-style quoting off
        return str(self.args[0]) if self.args else ""


class ProjectConflictError(MRVError, ValueError):
    """A project of that name exists with different attributes."""


def get_or_create_organisation(session: Session, name: str) -> Organisation:
    """The organisation (tenant) called ``name``, created when absent (flushed, not committed)."""
    org = session.scalars(select(Organisation).where(Organisation.name == name)).one_or_none()
    if org is None:
        org = Organisation(name=name)
        session.add(org)
        session.flush()
        log.info("created organisation %r", name)
    return org


def _as_date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ProjectConflictError(f"{field} {value!r} is not a date; write it as YYYY-MM-DD") from exc


def _years(values: Iterable[Any] | None) -> list[int]:
    return sorted(int(v) for v in (values or []))


def create_project(
    session: Session,
    org: Organisation,
    *,
    name: str,
    name_zh: str | None = None,
    methodology_id: str,
    region: Mapping[str, Any],
    crediting_start: dt.date | str,
    crediting_end: dt.date | str,
    baseline_years: Iterable[int],
    project_years: Iterable[int] = (),
    update: bool = False,
) -> Project:
    """Create a project, or return the existing one when its attributes are the same.

    Parameters
    ----------
    session : Session
    org : Organisation
        The owning tenant.
    name : str
        Unique within the organisation.
    name_zh : str, optional
        Chinese project name.
    methodology_id : str
        e.g. ``CMS-083-V01`` or ``VM0042-v2.2``.
    region : mapping
        ``province``, ``city``, ``county`` and optionally ``lon``/``lat`` [degree].
    crediting_start, crediting_end : date or ISO string
        Crediting period.
    baseline_years, project_years : iterable of int
        Calendar years of the baseline and project seasons.
    update : bool
        When a project of that name exists with different attributes: ``False`` raises
        :class:`ProjectConflictError`, ``True`` updates it.

    Returns
    -------
    Project
        Flushed (it has an id), not committed.
    """
    start, end = _as_date(crediting_start, "crediting_start"), _as_date(crediting_end, "crediting_end")
    if end <= start:
        raise ProjectConflictError(
            f"project {name!r}: crediting period ends ({end}) before it starts ({start}); swap the dates"
        )
    wanted: dict[str, Any] = {
        "name_zh": name_zh,
        "methodology_id": methodology_id,
        "province": region.get("province"),
        "city": region.get("city"),
        "county": region.get("county"),
        "region": dict(region),
        "crediting_start": start,
        "crediting_end": end,
        "baseline_years": _years(baseline_years),
        "project_years": _years(project_years),
    }
    project = session.scalars(
        select(Project).where(Project.organisation_id == org.id, Project.name == name)
    ).one_or_none()
    if project is None:
        project = Project(organisation_id=org.id, name=name, **wanted)
        session.add(project)
        session.flush()
        log.info("created project %r", name)
        return project
    differences = {k: (getattr(project, k), v) for k, v in wanted.items() if getattr(project, k) != v}
    if differences and not update:
        listed = "; ".join(f"{k}: stored {old!r}, given {new!r}" for k, (old, new) in differences.items())
        raise ProjectConflictError(
            f"project {name!r} already exists with other attributes ({listed}); "
            "use another project name, or pass update=True to change the stored project"
        )
    for k, (_old, new) in differences.items():
        setattr(project, k, new)
    if differences:
        session.flush()
        log.info("updated project %r: %r", name, sorted(differences))
    return project


def ensure_project_from_json(
    session: Session, project_json: Mapping[str, Any], org_name: str = "default"
) -> Project:
    """Create (or find, unchanged) the project described by a sample-county ``project.json``.

    Keys (DATA_FORMATS.md section 4): ``name``, ``name_zh``, ``methodology_id``, ``region``,
    ``crediting_period`` {``start``, ``end``}, ``baseline_years``, ``project_years``.
    """
    missing = [k for k in ("name", "methodology_id", "region", "crediting_period") if k not in project_json]
    if missing:
        raise ProjectConflictError(
            f"project.json lacks {', '.join(missing)}; see docs/DATA_FORMATS.md section 4 for its keys"
        )
    period = project_json["crediting_period"]
    org = get_or_create_organisation(session, org_name)
    return create_project(
        session,
        org,
        name=project_json["name"],
        name_zh=project_json.get("name_zh"),
        methodology_id=project_json["methodology_id"],
        region=project_json["region"],
        crediting_start=period["start"],
        crediting_end=period["end"],
        baseline_years=project_json.get("baseline_years", ()),
        project_years=project_json.get("project_years", ()),
    )


def get_project(session: Session, name: str, org_name: str | None = None) -> Project:
    """The project called ``name`` (optionally within organisation ``org_name``).

    Raises
    ------
    ProjectNotFoundError
        When there is no such project (or the name is ambiguous across organisations).
    """
    stmt = select(Project).where(Project.name == name)
    if org_name is not None:
        stmt = stmt.join(Organisation).where(Organisation.name == org_name)
    found = session.scalars(stmt).all()
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise ProjectNotFoundError(
            f"project name {name!r} exists in {len(found)} organisations; name the organisation too"
        )
    known = session.scalars(select(Project.name).order_by(Project.name)).all()
    hint = f"known projects: {', '.join(known)}" if known else "the store holds no project yet"
    raise ProjectNotFoundError(
        f"project {name!r} not found ({hint}); create it first, e.g. `mrv project create project.json`"
    )


def project_summary(session: Session, name: str) -> dict[str, Any]:
    """Counts and totals of one project, as a JSON-ready dict.

    Returns
    -------
    dict
        ``name``, ``name_zh``, ``organisation``, ``methodology_id``, ``region``,
        ``crediting_period``, ``baseline_years``, ``project_years``, ``plots``, ``farmers``,
        ``hectares`` [ha], ``activity_records`` (total and ``by_type``), ``soil_samples``,
        ``uploads`` (by status), ``flags`` (plots with at least one open flag, and open flags).
    """
    project = get_project(session, name)
    pid = project.id
    n_plots, hectares = session.execute(
        select(func.count(Plot.id), func.coalesce(func.sum(Plot.area_ha), 0.0)).where(Plot.project_id == pid)
    ).one()
    n_farmers = session.scalar(select(func.count(Farmer.id)).where(Farmer.project_id == pid))
    by_type = dict(
        session.execute(
            select(ActivityRecord.activity, func.count(ActivityRecord.id))
            .join(Plot, ActivityRecord.plot_id == Plot.id)
            .where(Plot.project_id == pid)
            .group_by(ActivityRecord.activity)
            .order_by(ActivityRecord.activity)
        ).all()
    )
    n_samples = session.scalar(select(func.count(SoilSample.id)).where(SoilSample.project_id == pid))
    uploads = dict(
        session.execute(
            select(Upload.status, func.count(Upload.id))
            .where(Upload.project_id == pid)
            .group_by(Upload.status)
        ).all()
    )
    open_flags = (
        select(PlotFlag.plot_id)
        .join(Plot, PlotFlag.plot_id == Plot.id)
        .where(Plot.project_id == pid, PlotFlag.status == "open")
    )
    flagged_plots = session.scalar(select(func.count(distinct(open_flags.subquery().c.plot_id))))
    n_open = session.scalar(select(func.count()).select_from(open_flags.subquery()))
    return {
        "name": project.name,
        "name_zh": project.name_zh,
        "organisation": project.organisation.name,
        "methodology_id": project.methodology_id,
        "region": dict(project.region or {}),
        "crediting_period": {
            "start": project.crediting_start.isoformat(),
            "end": project.crediting_end.isoformat(),
        },
        "baseline_years": list(project.baseline_years or []),
        "project_years": list(project.project_years or []),
        "plots": int(n_plots),
        "farmers": int(n_farmers or 0),
        "hectares": round(float(hectares), 4),
        "activity_records": {
            "total": int(sum(by_type.values())),
            "by_type": {k: int(v) for k, v in by_type.items()},
        },
        "soil_samples": int(n_samples or 0),
        "uploads": {k: int(v) for k, v in sorted(uploads.items())},
        "flags": {"plots_flagged": int(flagged_plots or 0), "open": int(n_open or 0)},
    }


def list_projects(session: Session) -> list[dict[str, Any]]:
    """All projects with their organisation, methodology, county, plot count and hectares."""
    plot_totals = (
        select(Plot.project_id, func.count(Plot.id).label("n"), func.sum(Plot.area_ha).label("ha"))
        .group_by(Plot.project_id)
        .subquery()
    )
    rows = session.execute(
        select(Project, Organisation.name, plot_totals.c.n, plot_totals.c.ha)
        .join(Organisation, Project.organisation_id == Organisation.id)
        .outerjoin(plot_totals, plot_totals.c.project_id == Project.id)
        .order_by(Organisation.name, Project.name)
    ).all()
    return [
        {
            "name": p.name,
            "name_zh": p.name_zh,
            "organisation": org,
            "methodology_id": p.methodology_id,
            "county": p.county,
            "crediting_period": {"start": p.crediting_start.isoformat(), "end": p.crediting_end.isoformat()},
            "plots": int(n or 0),
            "hectares": round(float(ha or 0.0), 4),
        }
        for p, org, n, ha in rows
    ]
