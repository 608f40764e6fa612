"""``mrv methodology check DOC.json [--for-registration] [--application-date DATE]``: the
conformance of a generated CCER document with its methodology definition and the CCER's hard
rules (:func:`methodology.conformance.check_document`).

Prints one line per finding (its status, item, section, why and the fix) and a closing count; the
exit status is 1 when a finding fails (a missing or out-of-range item always; a hard rule or a
blocker only with ``--for-registration``), else 0. A file that cannot be read or parsed ends with a
one-line error (no traceback).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path

import click

__all__ = ["group"]

log = logging.getLogger(__name__)


@click.group("methodology")
def group() -> None:
    """Methodology definitions and the conformance of generated documents."""


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD") from None


@group.command("check")
@click.argument("doc_path", metavar="DOC.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--for-registration",
    is_flag=True,
    help="Make the hard rules (2012-11-08 start, 2020-09-22, 5-year window, uniqueness) and the "
    "blockers (a methodology the Ministry has not issued) fail; without it they are listed only.",
)
@click.option(
    "--application-date",
    callback=_date,
    default=None,
    metavar="YYYY-MM-DD",
    help="Date of the application, for the 5-year instalment window (default: today).",
)
@click.option("--quiet-unverified", is_flag=True, help="Count the unverified items instead of listing each.")
def check(
    doc_path: Path, for_registration: bool, application_date: dt.date | None, quiet_unverified: bool
) -> None:
    """Check DOC.json (a pdd.json or reduction_report.json written by `mrv run` or `mrv document`)
    against its methodology definition: every required key and item the definition requires
    (missing: fails), values out of range (fails), items of the definition not read in official
    text (unverified: listed), and the CCER hard rules re-checked from the document's dates
    (fail only with --for-registration). Exit status 1 when a finding fails."""
    from methodology.conformance import check_document, failing
    from methodology.definition import DefinitionError, load_definition

    try:
        text = doc_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise click.ClickException(
            f"{doc_path}: no such file; give the path of a pdd.json or reduction_report.json"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{doc_path}: cannot be read ({exc}); give a UTF-8 JSON file") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise click.ClickException(
            f"{doc_path}: not valid JSON ({exc}); give a document written by `mrv document`"
        ) from None
    if not isinstance(doc, dict):
        raise click.ClickException(f"{doc_path}: holds a JSON {type(doc).__name__}, not a document object")
    meth = doc.get("methodology") if isinstance(doc.get("methodology"), dict) else {}
    definition = None
    mid = meth.get("id")
    if mid:
        try:
            definition = load_definition(str(mid))
        except DefinitionError as exc:
            click.echo(f"note        methodology {mid!r}: {exc.problems[0][1]}", err=True)
    findings = check_document(
        doc, definition, for_registration=for_registration, application_date=application_date
    )
    unverified = [f for f in findings if f.status == "unverified"]
    for f in findings:
        if quiet_unverified and f.status == "unverified":
            continue
        mark = "FAIL" if f.fails else ("note" if f.status in ("hard_rule", "blocker") else "info")
        click.echo(f"{mark:<5} {f.status:<12} {f.item} [{f.section}]: {f.why}. Fix: {f.fix}")
    bad = failing(findings)
    rules = [f for f in findings if f.status in ("hard_rule", "blocker")]
    kind = doc.get("kind", "document")
    tail = (
        f"{len(unverified)} item(s) of the definition not verified in official text (listed in the annex); "
        f"{len(rules)} hard-rule or blocker finding(s)"
        + ("" if for_registration else " (not failing: add --for-registration)")
    )
    if bad:
        click.echo(f"FAILED      {doc_path.name} ({kind}): {len(bad)} failing finding(s); {tail}")
        sys.exit(1)
    click.echo(f"passed      {doc_path.name} ({kind}): no failing finding; {tail}")
