"""``mrv serve``: the REST API (:func:`mrv_service.api.create_app`) on waitress, a production WSGI server."""

from __future__ import annotations

import signal

import click

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
@click.option(
    "--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="Request worker threads."
)
def serve_command(host: str, port: int, threads: int) -> None:
    """Run the service's REST API (under /api/v1) with waitress, on the store of
    MRV_DATABASE_URL (default: SQLite in MRV_DATA_DIR). Create a user and its token first with
    `mrv users create`. Stop with Ctrl-C."""
    from waitress import create_server

    from mrv_service.api import create_app
    from mrv_service.config import load_settings

    settings = load_settings()
    app = create_app(settings)
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="mrv")
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    shown = f"[{host}]" if ":" in host else host
    bound = server.effective_port if hasattr(server, "effective_port") else port
    base = f"http://{shown}:{bound}"
    click.echo(f"mrv service on {base}/api/v1 ({threads} threads, store {_safe_url(settings.database_url)})")
    click.echo(f"API docs:         {base}/api/v1/docs")
    click.echo(f"OpenAPI document: {base}/api/v1/openapi.json")
    click.echo("Stop with Ctrl-C.")
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping ...", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        _close_app(app)
    click.echo("stopped", err=True)


def _interrupt(signum, _frame) -> None:
    """SIGINT (Ctrl-C) and SIGTERM stop the server the same way (also when the shell started it
    with SIGINT ignored, as it does for background jobs)."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _close_app(app) -> None:
    """Stop the app's background runs' Dask client/cluster (if started) and its database pool."""
    ext = app.extensions.get("mrv", {})
    jobs = ext.get("jobs")
    if jobs is not None and hasattr(jobs, "close"):
        try:
            jobs.close()
        except Exception as exc:  # noqa: BLE001 - shutting down: report, go on
            click.echo(f"closing the run queue: {exc}", err=True)
    engine = ext.get("engine")
    if engine is not None:
        engine.dispose()


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return "(unparsable URL)"
