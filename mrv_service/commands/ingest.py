"""``mrv ingest plots|logs|soil FILE --project NAME``: validate and load uploads into the store.

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
    help="Validate and load plots, activity logs or soil samples into the store (one file, all or nothing).",
)


def _default_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a container
        return "cli"


def _run(kind: str, file: Path, project: str, uploaded_by: str | None, as_json: bool) -> None:
    from mrv_service.config import load_settings
    from mrv_service.ingest import IngestError, ingest_logs, ingest_plots, ingest_soil
    from mrv_service.store.db import init_db, make_engine, session_scope
    from mrv_service.store.projects import ProjectNotFoundError

    func = {"plots": ingest_plots, "logs": ingest_logs, "soil": ingest_soil}[kind]
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


def _command(kind: str, help_text: str) -> click.Command:
    @click.command(kind, help=help_text)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--project", "project", required=True, help="Name of the project (see `mrv project list`).")
    @click.option("--by", "uploaded_by", default=None, help="Who uploads the file (default: cli:<user>).")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
    def cmd(file: Path, project: str, uploaded_by: str | None, as_json: bool) -> None:
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
