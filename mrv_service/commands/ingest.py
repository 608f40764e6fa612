"""``mrv ingest plots|logs|soil|weather [PROJECT] FILE``: validate and load uploads into the store.

The project is the first argument (``mrv ingest logs my-project logs.xlsx``) or ``--project NAME``.

Thin wrappers over :mod:`mrv_service.ingest`; they print the upload report and exit with code 1
when the file is rejected.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click

__all__ = ["group"]

group = click.Group(
    "ingest",
    help="Validate and load plots, activity logs, soil samples or weather into the store (one file, all or nothing).",
)


def _default_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a container
        return "cli"


def _run(kind: str, file: Path, project: str, uploaded_by: str | None, as_json: bool) -> None:
    from mrv_service.config import load_settings
    from mrv_service.ingest import INGEST_FUNCTIONS, IngestError
    from mrv_service.store.db import init_db, make_engine, session_scope
    from mrv_service.store.projects import ProjectNotFoundError

    func = INGEST_FUNCTIONS[kind]
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        rejected = False
        with session_scope(engine) as session:
            try:
                report = func(
                    session,
                    project,
                    file,
                    uploaded_by=uploaded_by or _default_user(),
                    id_salt=settings.id_salt,
                )
            except IngestError as exc:
                report, rejected = exc.report, True
            except ProjectNotFoundError as exc:
                raise click.BadParameter(str(exc), param_hint="--project") from exc
    finally:
        engine.dispose()
    click.echo(report.to_json() if as_json else report.to_text())
    if rejected:
        raise click.exceptions.Exit(1)


def _project_and_file(args: tuple[str, ...], project: str | None) -> tuple[str, Path]:
    """``[PROJECT] FILE`` positional arguments, or ``FILE`` with ``--project``."""
    if len(args) == 2:
        if project is not None and project != args[0]:
            raise click.BadParameter(
                f"two projects given: {args[0]!r} and --project {project!r}; give one", param_hint="PROJECT"
            )
        project, file = args
    elif len(args) == 1:
        file = args[0]
        if project is None:
            raise click.UsageError(
                "name the project: `mrv ingest KIND PROJECT FILE` (see `mrv project list`)"
            )
    else:
        raise click.UsageError("give the project and one file: `mrv ingest KIND PROJECT FILE`")
    path = Path(file)
    if not path.is_file():
        raise click.BadParameter(f"{file!r} is not a file", param_hint="FILE")
    return project, path


def _command(kind: str, help_text: str) -> click.Command:
    @click.command(kind, help=help_text)
    @click.argument("args", nargs=-1, required=True, metavar="[PROJECT] FILE")
    @click.option(
        "--project", "project", default=None, help="Name of the project (instead of the first argument)."
    )
    @click.option("--by", "uploaded_by", default=None, help="Who uploads the file (default: cli:<user>).")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
    def cmd(args: tuple[str, ...], project: str | None, uploaded_by: str | None, as_json: bool) -> None:
        project, file = _project_and_file(args, project)
        _run(kind, file, project, uploaded_by, as_json)

    return cmd


group.add_command(
    _command(
        "plots",
        "Plot polygons: GeoJSON, GeoPackage or zipped Shapefile in EPSG:4326, EPSG:4490 or a projected CRS "
        "(docs/DATA_FORMATS.md section 1).",
    )
)
group.add_command(
    _command(
        "logs",
        "Farm activity logs: CSV or XLSX, Chinese or English headers, units in brackets "
        "(docs/DATA_FORMATS.md section 2).",
    )
)
group.add_command(_command("soil", "Soil-sample lab results: CSV or XLSX (docs/DATA_FORMATS.md section 3)."))
group.add_command(
    _command(
        "weather",
        "Monthly or daily weather, the RothC climate forcing: CSV or XLSX, Chinese or English headers "
        "(docs/DATA_FORMATS.md section 5). Monthly rows (年+月) or daily rows (日期, averaged or summed "
        "per month; every day must be present) with 平均气温/tmean [degC or 0.1 degC], 降水量/precip "
        "[mm, 0.1 mm or cm] and 蒸发量/pan_evap [mm] or 潜在蒸散量/ET0/pet [mm] (stored as pan = "
        "PET / 0.75, the RothC-26.3 factor). Optional 站号/station_id, 站名, 经度/lon and 纬度/lat: "
        "without them the file is project-wide weather; with several stations each plot uses its "
        "nearest.",
    )
)
