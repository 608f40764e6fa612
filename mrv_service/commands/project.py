"""``mrv project list|show|create|set``: the projects in the store and their run settings."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["group"]

group = click.Group("project", help="List, show, create projects and set their run settings.")


def _engine():
    from mrv_service.config import load_settings
    from mrv_service.store.db import init_db, make_engine

    engine = make_engine(load_settings().database_url)
    init_db(engine)
    return engine


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(as_json: bool) -> None:
    """List the projects with their plots and hectares."""
    from mrv_service.store.db import session_scope
    from mrv_service.store.projects import list_projects

    engine = _engine()
    try:
        with session_scope(engine) as session:
            projects = list_projects(session)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(projects, ensure_ascii=False, indent=2))
        return
    if not projects:
        click.echo("no projects yet; create one with `mrv project create project.json`")
        return
    for p in projects:
        click.echo(
            f"{p['name']}  [{p['organisation']}]  {p['methodology_id']}  {p['county'] or ''}  "
            f"{p['plots']} plots  {p['hectares']:.2f} ha"
        )


@group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_cmd(name: str, as_json: bool) -> None:
    """Show one project: plots, farmers, hectares, records, samples, uploads, flags."""
    from mrv_service.store.db import session_scope
    from mrv_service.store.projects import ProjectNotFoundError, project_summary

    engine = _engine()
    try:
        with session_scope(engine) as session:
            try:
                s = project_summary(session, name)
            except ProjectNotFoundError as exc:
                raise click.BadParameter(str(exc), param_hint="NAME") from exc
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(s, ensure_ascii=False, indent=2))
        return
    region = " ".join(str(s["region"].get(k, "")) for k in ("province", "city", "county")).strip()
    by_type = ", ".join(f"{k} {v}" for k, v in s["activity_records"]["by_type"].items()) or "none"
    lines = [
        f"{s['name']}" + (f" ({s['name_zh']})" if s["name_zh"] else ""),
        f"  organisation      {s['organisation']}",
        f"  methodology       {s['methodology_id']}",
        f"  region            {region}",
        f"  crediting period  {s['crediting_period']['start']} to {s['crediting_period']['end']}",
        f"  baseline years    {', '.join(map(str, s['baseline_years']))}",
        f"  project years     {', '.join(map(str, s['project_years']))}",
        f"  plots             {s['plots']}",
        f"  farmers           {s['farmers']}",
        f"  hectares          {s['hectares']:.2f}",
        f"  activity records  {s['activity_records']['total']} ({by_type})",
        f"  soil samples      {s['soil_samples']}",
        f"  uploads           {', '.join(f'{k} {v}' for k, v in s['uploads'].items()) or 'none'}",
        f"  flags             {s['flags']['plots_flagged']} plots with open flags ({s['flags']['open']} open)",
        "  settings (change with `mrv project set NAME KEY=VALUE`; * = set for this project)",
    ]
    from mrv_service.project_settings import describe

    for key, value, is_default, _help in describe(s.get("settings")):
        shown = ",".join(map(str, value)) if isinstance(value, list) else ("none" if value is None else value)
        lines.append(f"    {' ' if is_default else '*'} {key:<34} {shown}")
    click.echo("\n".join(lines))


@group.command("create")
@click.argument("project_json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", default="default", show_default=True, help="Organisation (tenant).")
def create_cmd(project_json: Path, org_name: str) -> None:
    """Create a project from a project.json (docs/DATA_FORMATS.md section 4); idempotent."""
    from mrv_service.store.db import session_scope
    from mrv_service.store.projects import ProjectConflictError, ensure_project_from_json

    try:
        data = json.loads(project_json.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{project_json.name} is not valid JSON ({exc})", param_hint="PROJECT_JSON"
        ) from exc
    engine = _engine()
    try:
        with session_scope(engine) as session:
            try:
                project = ensure_project_from_json(
                    session,
                    data,
                    org_name=org_name,
                    base_dir=project_json.parent.absolute(),
                    source=project_json.name,
                )
            except ProjectConflictError as exc:
                raise click.BadParameter(str(exc), param_hint="PROJECT_JSON") from exc
            name = project.name
    finally:
        engine.dispose()
    click.echo(f"project {name} ready")


@group.command("set")
@click.argument("name")
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@click.option(
    "--unset", "unset", multiple=True, metavar="KEY", help="Return KEY to its default (repeatable)."
)
def set_cmd(name: str, assignments: tuple[str, ...], unset: tuple[str, ...]) -> None:
    """Set run settings of project NAME, e.g. `imagery.max_cloud_cover=40`,
    `imagery.collections=sentinel-2-c1-l2a`, `imagery.source=https://earth-search.aws.element84.com/v1`,
    `model.depth_cm=30`. `mrv project show NAME` lists every key with its value and default.
    API keys are never stored: set MRV_STAC_API_KEY in the environment instead."""
    from mrv_service.project_settings import ProjectSettingsError, parse_setting
    from mrv_service.store.db import session_scope
    from mrv_service.store.projects import ProjectNotFoundError, update_project_settings

    if not assignments and not unset:
        raise click.UsageError("give at least one KEY=VALUE or --unset KEY (see `mrv project show NAME`)")
    changes: dict[str, object] = {}
    try:
        for a in assignments:
            key, sep, text = a.partition("=")
            if not sep:
                raise click.BadParameter(f"{a!r} is not KEY=VALUE", param_hint="KEY=VALUE")
            value = parse_setting(key.strip(), text)
            if isinstance(value, str) and key.strip() == "imagery.source" and "://" not in value:
                value = str(Path(value).expanduser().absolute())
            changes[key.strip()] = value
    except ProjectSettingsError as exc:
        raise click.BadParameter(str(exc), param_hint="KEY=VALUE") from exc
    engine = _engine()
    try:
        with session_scope(engine) as session:
            try:
                update_project_settings(session, name, changes, unset=list(unset))
            except ProjectNotFoundError as exc:
                raise click.BadParameter(str(exc), param_hint="NAME") from exc
            except ProjectSettingsError as exc:
                raise click.BadParameter(str(exc), param_hint="KEY=VALUE") from exc
    finally:
        engine.dispose()
    for key, value in changes.items():
        click.echo(f"{name}: {key} = {value}")
    for key in unset:
        click.echo(f"{name}: {key} back to its default")
