"""``mrv document PROJECT --kind pdd|report [--period START:END] [--out DIR]``: the CCER documents
of a project's latest finished run, rendered alone (``mrv run`` writes them at its end).

Reads the run's output directory (the run row's ``out_dir``), the project's inputs from the store
(plot geometry, activity records, soil samples for the sampling design) and the project's
methodology definition; builds the document model (:mod:`mrv_service.documents.content`), writes
``<name>.json`` and renders ``<name>.docx``, ``<name>.html`` and the figures
(:func:`mrv_service.documents.render.write_documents`). ``pdd`` -> ``pdd.*``; ``report`` ->
``reduction_report.*`` for the accounting period START:END (default: the project years).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import click

__all__ = ["document_command", "parse_period"]

log = logging.getLogger(__name__)


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``2024-01-01:2025-12-31`` or ``2024:2025`` (whole years) -> (start, end)."""
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"{text!r}: give START:END, e.g. 2024-01-01:2025-12-31 or 2024:2025")
    out = []
    for i, part in enumerate(parts):
        part = part.strip()
        if part.isdigit() and len(part) == 4:
            out.append(dt.date(int(part), 1, 1) if i == 0 else dt.date(int(part), 12, 31))
        else:
            try:
                out.append(dt.date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"{part!r} is not a date (YYYY-MM-DD) or a year") from None
    return out[0], out[1]


def _period(_ctx, _param, value: str | None):
    if value is None:
        return None
    try:
        return parse_period(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("document")
@click.argument("project")
@click.option(
    "--kind",
    type=click.Choice(["pdd", "report"]),
    required=True,
    help="pdd: 项目设计文件; report: 减排量核算报告.",
)
@click.option(
    "--period",
    callback=_period,
    default=None,
    metavar="START:END",
    help="Accounting period of a report, e.g. 2024-01-01:2025-12-31 or 2024:2025 (default: the project years).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the documents (default: the run's output directory's documents/ folder).",
)
def document_command(project: str, kind: str, period, out_dir: Path | None) -> None:
    """Write the CCER document of PROJECT's latest finished run: KIND pdd (项目设计文件) or report
    (减排量核算报告 for --period), as JSON (every number with its source), DOCX and HTML."""
    from methodology.conformance import check_document, failing
    from methodology.definition import DefinitionError, load_definition
    from models.errors import MRVError
    from mrv_service.config import load_settings
    from mrv_service.documents import render_files
    from mrv_service.documents.content import (
        PDD_BASENAME,
        REPORT_BASENAME,
        build_pdd,
        build_reduction_report,
        default_accounting_period,
        write_json,
    )
    from mrv_service.run.inputs import load_project_inputs
    from mrv_service.run.runner import default_out_dir
    from mrv_service.store.db import init_db, make_engine, session_scope
    from mrv_service.store.projects import ProjectNotFoundError, get_project
    from mrv_service.store.runs import latest_run

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            proj = get_project(session, project)
            run = latest_run(session, proj)
            run_id, run_dir = (run.id, run.out_dir) if run is not None else (None, None)
            inputs = load_project_inputs(session, project)
    except ProjectNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="PROJECT") from None
    finally:
        engine.dispose()
    if run_id is None:
        raise click.ClickException(f"project {project!r} has no finished run; run `mrv run {project}` first")
    run_path = Path(run_dir) if run_dir else default_out_dir(settings, project)
    # by default beside the run's results, not over them (the run manifest hashes its own files)
    target = out_dir.absolute() if out_dir else run_path / "documents"
    try:
        definition = load_definition(inputs.project.methodology_id)
        if kind == "pdd":
            doc = build_pdd(run_path, inputs, definition, id_salt=settings.id_salt)
            basename = PDD_BASENAME
        else:
            start, end = period or default_accounting_period(inputs)
            doc = build_reduction_report(run_path, inputs, definition, start, end, id_salt=settings.id_salt)
            basename = REPORT_BASENAME
    except (MRVError, DefinitionError) as exc:
        raise click.ClickException(str(exc)) from None
    if doc.get("run_id") is not None and doc["run_id"] != run_id:
        click.echo(
            f"note        {run_path} holds run {doc['run_id']}, the latest finished run is {run_id}: "
            "the documents describe the files in that directory",
            err=True,
        )
    changed = _changed_inputs(run_path, inputs)
    if changed:
        click.echo(
            f"note        the store's {', '.join(changed)} changed since run {run_id}: the plot map and the sampling "
            f"design use the current rows, the figures the run's; run `mrv run {project}` for consistent documents",
            err=True,
        )
    try:
        written = [write_json(doc, target / f"{basename}.json")]
        rendered, problem = render_files(doc, target, basename)
    except OSError as exc:
        raise click.ClickException(
            f"could not write the documents in {target}: {exc}; choose another --out"
        ) from None
    written += rendered
    if problem:
        click.echo(f"warning     {problem}", err=True)
    findings = check_document(doc, definition, for_registration=False)
    bad, rules = failing(findings), [f for f in findings if f.status in ("hard_rule", "blocker")]
    click.echo(
        f"checked     {basename}.json: {len(bad)} failing finding(s), {len(rules)} registration blocker(s) "
        f"(`mrv methodology check {target / (basename + '.json')} --for-registration` lists them)"
    )
    click.echo(f"written     {target} ({', '.join(str(p.relative_to(target)) for p in written)})")


def _changed_inputs(run_path: Path, inputs) -> list[str]:
    """Store tables whose rows differ from those the run read (its run_manifest.json)."""
    import json

    try:
        manifest = json.loads((run_path / "run_manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    then = manifest.get("inputs", {}).get("store_rows") or {}
    return sorted(
        t for t, d in inputs.digests.items() if t in then and then[t].get("sha256") != d.get("sha256")
    )
