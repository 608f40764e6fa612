"""``mrv audit verify|list``: check the hash chain of the audit trail and list its entries."""

from __future__ import annotations

import json

import click

__all__ = ["group"]

group = click.Group("audit", help="Verify the hash-chained audit trail and list its entries.")


def _engine():
    from mrv_service.config import load_settings
    from mrv_service.store.db import init_db, make_engine

    engine = make_engine(load_settings().database_url)
    init_db(engine)
    return engine


@group.command("verify")
@click.option(
    "--expect-head",
    default=None,
    metavar="SHA256",
    help="An entry hash printed by an earlier verify: fail when it is no longer in the log "
    "(detects removal of the last entries).",
)
def verify_cmd(expect_head: str | None) -> None:
    """Walk the chain (hashes, links, HMAC signatures with MRV_AUDIT_KEY) and name the first
    altered, inserted, removed, reordered or wrongly signed entry; exit 1 when there is one."""
    from mrv_service.store.audit import verify
    from mrv_service.store.db import session_scope

    engine = _engine()
    try:
        with session_scope(engine) as session:
            result = verify(session, expect_head=expect_head)
    finally:
        engine.dispose()
    if not result.ok:
        click.echo(result.message(), err=True)
        raise SystemExit(1)
    click.echo(result.message())


@group.command("list")
@click.option("--org", "org_name", required=True, help="Organisation whose entries are listed.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--after", type=click.IntRange(min=0), default=None, help="Only entries with seq > AFTER.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def list_cmd(org_name: str, limit: int, after: int | None, as_json: bool) -> None:
    """List the audit entries of one organisation, oldest first."""
    from sqlalchemy import select

    from mrv_service.store.audit import entries
    from mrv_service.store.db import session_scope
    from mrv_service.store.models import Organisation

    engine = _engine()
    try:
        with session_scope(engine) as session:
            org_id = session.scalar(select(Organisation.id).where(Organisation.name == org_name))
            if org_id is None:
                raise click.BadParameter(f"no organisation {org_name!r}", param_hint="--org")
            rows = [
                {
                    "seq": e.seq,
                    "created_at": e.created_at,
                    "actor": e.actor,
                    "action": e.action,
                    "project_id": e.project_id,
                    "payload": e.payload,
                    "entry_sha256": e.entry_sha256,
                }
                for e in entries(session, org_id, limit=limit, after=after)
            ]
    finally:
        engine.dispose()
    for r in rows:
        if as_json:
            click.echo(json.dumps(r, ensure_ascii=False, sort_keys=True))
        else:
            click.echo(
                f"{r['seq']:>6}  {r['created_at']}  {r['action']:<16} {r['actor']:<20} "
                f"project {r['project_id']}  {json.dumps(r['payload'], ensure_ascii=False, sort_keys=True)}"
            )
