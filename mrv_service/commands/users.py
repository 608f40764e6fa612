"""``mrv users create``: a user of an organisation (created if needed) and its API token."""

from __future__ import annotations

import sys

import click

__all__ = ["group"]

group = click.Group("users", help="Create users of organisations and their API tokens.")


@group.command("create")
@click.option("--org", "org_name", required=True, help="Organisation (tenant); created if absent.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "developer", "agronomist", "viewer"]),
    help="admin; developer (uploads, runs, documents); agronomist (reads, reviews); viewer (reads).",
)
@click.option("--email", required=True, help="The user's e-mail address (unique).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a password for the review pages' sign-in from stdin (its first line; at least "
    "10 characters; kept only as an argon2id hash). Without it the user has API tokens only.",
)
def create_cmd(org_name: str, role: str, email: str, password_stdin: bool) -> None:
    """Create a user and print its API token (shown once: only its hash is stored).

    `--password-stdin` also gives the user a password for the review pages, e.g.
    `printf '%s\\n' "$PASSWORD" | mrv users create --org acme --role agronomist --email a@acme.example --password-stdin`.
    """
    from mrv_service.config import load_settings
    from mrv_service.store.db import init_db, make_engine, session_scope
    from mrv_service.store.users import UserError, create_user

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.BadParameter("no password on stdin", param_hint="--password-stdin")
    engine = make_engine(load_settings().database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            try:
                user, token = create_user(session, org_name, email, role, password=password)
            except UserError as exc:
                raise click.BadParameter(str(exc)) from exc
            email = user.email
    finally:
        engine.dispose()
    signs_in = " (signs in to the review pages with the password given)" if password else ""
    click.echo(f"user {email} ({role}) in organisation {org_name}{signs_in}", err=True)
    click.echo("API token (shown once; send it as `Authorization: Bearer TOKEN`):", err=True)
    click.echo(token)
