"""Organisations and projects: create them idempotently, look them up, summarise them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.errors import MRVError
from mrv_service.project_settings import (
    ProjectSettingsError,
    resolve_paths,
    set_setting,
    unset_setting,
    validate_settings,
)
from mrv_service.store.audit import append
from mrv_service.store.db import begin_write
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
    "update_project_settings",
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


def _insert(session: Session, obj: Any) -> IntegrityError | None:
    """Insert (flush) ``obj`` in a SAVEPOINT; the :class:`IntegrityError` when a constraint
    refused it (the SAVEPOINT is rolled back, the rest of the transaction kept), else ``None``."""
    try:
        with session.begin_nested():
            session.add(obj)
    except IntegrityError as exc:
        return exc
    return None


def get_or_create_organisation(session: Session, name: str) -> Organisation:
    """The organisation (tenant) called ``name``, created when absent (flushed, not committed).

    Safe when several processes create the same organisation at once: on SQLite a session
    without a transaction begins it with ``BEGIN IMMEDIATE``
    (:func:`~mrv_service.store.db.begin_write`), so the second process waits for the first to
    commit and then finds its organisation; on PostgreSQL the insert runs in a SAVEPOINT, and
    when the other process's insert won (unique name), the organisation it created is read and
    returned. (On SQLite, call it with no transaction open, e.g. at the start of a
    :func:`~mrv_service.store.db.session_scope`, to be safe against concurrent writers.)
    """
    begin_write(session)
    stmt = select(Organisation).where(Organisation.name == name)
    org = session.scalars(stmt).one_or_none()
    if org is None:
        org = Organisation(name=name)
        refused = _insert(session, org)
        if refused is None:
            log.info("created organisation %r", name)
        else:
            # another process created it between our read and our insert: use that one
            org = session.scalars(stmt).one_or_none()
            if org is None:
                raise ProjectConflictError(
                    f"organisation {name!r} could neither be created nor found; check the store's "
                    "organisations table and retry"
                ) from refused
            log.info("organisation %r was created by another process at the same time; using it", name)
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
    settings: Mapping[str, Any] | None = None,
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
    settings : mapping, optional
        Run settings the owner sets (validated with
        :func:`mrv_service.project_settings.validate_settings`); the rest take their defaults.
    update : bool
        When a project of that name exists with different attributes: ``False`` raises
        :class:`ProjectConflictError`, ``True`` updates it.

    Returns
    -------
    Project
        Flushed (it has an id), not committed.

    Notes
    -----
    Safe when several processes create the same project at once, as
    :func:`get_or_create_organisation`: the process that loses the race compares its attributes
    with the project the winner stored (and raises :class:`ProjectConflictError` or updates it,
    as above).
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
        "settings": validate_settings(settings),
    }
    begin_write(session)
    stmt = select(Project).where(Project.organisation_id == org.id, Project.name == name)
    project = session.scalars(stmt).one_or_none()
    if project is None:
        project = Project(organisation_id=org.id, name=name, **wanted)
        refused = _insert(session, project)
        if refused is None:
            log.info("created project %r", name)
            return project
        # another process created it between our read and our insert: compare with that one
        project = session.scalars(stmt).one_or_none()
        if project is None:
            raise ProjectConflictError(
                f"project {name!r} could neither be created nor found in organisation {org.name!r}; "
                "check that the organisation still exists and retry"
            ) from refused
        log.info("project %r was created by another process at the same time", name)
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
    session: Session,
    project_json: Mapping[str, Any],
    org_name: str = "default",
    *,
    base_dir: Path | None = None,
    source: str = "project.json",
    update: bool = False,
) -> Project:
    """Create (or find, unchanged) the project a ``project.json`` describes.

    Keys (DATA_FORMATS.md section 4): ``name``, ``name_zh``, ``methodology_id``, ``region``,
    ``crediting_period`` {``start``, ``end``}, ``baseline_years``, ``project_years`` and,
    optionally, ``settings`` (:mod:`mrv_service.project_settings`). A relative
    ``settings.imagery.source`` is resolved against ``base_dir`` (the folder of the file).

    Raises
    ------
    ProjectConflictError
        When a key is missing or malformed (the message names it and the fix), or a project of
        that name exists with other attributes.
    """
    if not isinstance(project_json, Mapping):
        raise ProjectConflictError(
            f"{source} must hold a JSON object with the project's keys (docs/DATA_FORMATS.md section 4)"
        )
    missing = [k for k in ("name", "methodology_id", "region", "crediting_period") if k not in project_json]
    if missing:
        raise ProjectConflictError(
            f"{source} lacks {', '.join(missing)}; see docs/DATA_FORMATS.md section 4 for its keys"
        )
    name = project_json["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ProjectConflictError(f"{source}: name {name!r} must be a text of 1-200 characters")
    region = project_json["region"]
    if not isinstance(region, Mapping):
        raise ProjectConflictError(
            f'{source}: region must be an object such as {{"province": "吉林省", "county": "梨树县", '
            f'"lon": 124.37, "lat": 43.42}}, not {region!r}'
        )
    for key in ("lon", "lat"):
        value = region.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ProjectConflictError(
                f"{source}: region.{key} {value!r} must be a number in degrees (EPSG:4326)"
            )
    lon, lat = region.get("lon"), region.get("lat")
    if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ProjectConflictError(
            f"{source}: region lon/lat ({lon}, {lat}) are outside -180..180 / -90..90; check their order"
        )
    period = project_json["crediting_period"]
    if not isinstance(period, Mapping) or "start" not in period or "end" not in period:
        raise ProjectConflictError(
            f'{source}: crediting_period must be {{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}}, not {period!r}'
        )
    years = {}
    for key in ("baseline_years", "project_years"):
        value = project_json.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(y, int) and not isinstance(y, bool) and 1950 <= y <= 2100 for y in value
        ):
            raise ProjectConflictError(
                f"{source}: {key} must be a list of years such as [2021, 2022, 2023], not {value!r}"
            )
        years[key] = value
    overlap = set(years["baseline_years"]) & set(years["project_years"])
    if overlap:
        raise ProjectConflictError(
            f"{source}: years {sorted(overlap)} are both baseline and project years; a season is one or the other"
        )
    try:
        settings = validate_settings(project_json.get("settings"), source)
    except ProjectSettingsError as exc:
        raise ProjectConflictError(str(exc)) from exc
    if base_dir is not None:
        settings = resolve_paths(settings, base_dir)
    org = get_or_create_organisation(session, org_name)
    return create_project(
        session,
        org,
        name=name,
        name_zh=project_json.get("name_zh"),
        methodology_id=str(project_json["methodology_id"]),
        region=region,
        crediting_start=period["start"],
        crediting_end=period["end"],
        baseline_years=years["baseline_years"],
        project_years=years["project_years"],
        settings=settings,
        update=update,
    )


def update_project_settings(
    session: Session,
    name: str,
    changes: Mapping[str, Any],
    *,
    unset: Iterable[str] = (),
    actor: str = "cli",
) -> dict[str, Any]:
    """Set (already parsed) and unset run settings of a project; returns its stored settings.

    The change is appended to the audit trail (``setting_change``, by ``actor``) in the same
    transaction (flushed; the caller commits).

    Raises
    ------
    ProjectNotFoundError, mrv_service.project_settings.ProjectSettingsError
    """
    unset = list(unset)
    begin_write(session)
    project = get_project(session, name)
    settings = dict(project.settings or {})
    for key in unset:
        settings = unset_setting(settings, key)
    for key, value in changes.items():
        settings = set_setting(settings, key, value)
    project.settings = settings
    session.flush()
    append(
        session,
        action="setting_change",
        actor=actor,
        organisation_id=project.organisation_id,
        project_id=project.id,
        payload={"set": dict(changes), "unset": sorted(unset)},
    )
    log.info("project %r settings: set %r, unset %r", name, sorted(changes), sorted(unset))
    return settings


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
        "settings": dict(project.settings or {}),
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
