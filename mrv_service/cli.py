"""The ``mrv`` command line: a click group whose commands are thin wrappers over library functions.

Logging is configured here and nowhere else (STYLE.md section 9).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from mrv_service import __version__
from mrv_service.commands import audit as audit_cmd
from mrv_service.commands import document as document_cmd
from mrv_service.commands import ingest as ingest_cmd
from mrv_service.commands import methodology as methodology_cmd
from mrv_service.commands import project as project_cmd
from mrv_service.commands import rothc as rothc_cmd
from mrv_service.commands import run as run_cmd
from mrv_service.commands import sample as sample_cmd
from mrv_service.commands import sampling as sampling_cmd
from mrv_service.commands import serve as serve_cmd
from mrv_service.commands import users as users_cmd
from mrv_service.commands import validate as validate_cmd
from mrv_service.commands import verify as verify_cmd


def configure_logging(verbosity: int) -> None:
    level = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-2, min(verbosity, 2)), logging.DEBUG
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
@click.option("-q", "--quiet", count=True, help="Less log output.")
@click.version_option(__version__, prog_name="mrv")
def cli(verbose: int, quiet: int) -> None:
    """Soil-carbon MRV for aggregated smallholder plots: ingest plots and farm logs, read
    Sentinel-2 imagery, model soil organic carbon (RothC-26.3, IPCC Tier 1) and prepare CCER
    documents.

    A project's job: `mrv project create project.json`, `mrv ingest plots|logs|soil|weather
    PROJECT FILE`, `mrv run PROJECT`. `mrv demo` does all of it on the bundled sample county.

    Settings come from MRV_* environment variables (MRV_DATABASE_URL, MRV_DATA_DIR,
    MRV_STAC_URL, MRV_STAC_API_KEY, MRV_DASK_SCHEDULER, MRV_DASK_WORKERS, MRV_CHUNK_PLOTS,
    MRV_OUTPUT_DIR); see README.md.
    """
    configure_logging(verbose - quiet)


cli.add_command(sample_cmd.group)
cli.add_command(ingest_cmd.group)
cli.add_command(project_cmd.group)
cli.add_command(rothc_cmd.group)
cli.add_command(verify_cmd.group)
cli.add_command(sampling_cmd.group)
cli.add_command(methodology_cmd.group)
cli.add_command(document_cmd.document_command)
cli.add_command(users_cmd.group)
cli.add_command(serve_cmd.serve_command)


cli.add_command(run_cmd.run_command)
cli.add_command(validate_cmd.validate_command)
cli.add_command(audit_cmd.group)


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory of the run (default: MRV_OUTPUT_DIR/PROJECT, i.e. out/lishu-conservation-tillage).",
)
@click.option(
    "--sample",
    "sample_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sample county directory (default: MRV_SAMPLE_DIR, else data/sample/lishu); created if absent.",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the Monte Carlo draws.")
def demo(out_dir: Path | None, sample_dir: Path | None, seed: int | None) -> None:
    """The main job on the bundled sample county: create it if absent, create its project and
    ingest its files (as `mrv project create` and `mrv ingest` would), train the practice
    detectors on half the villages' field labels (as `mrv verify train` would; once), then
    `mrv run` it and check the flags on the other villages against the sample's truth."""
    from mrv_service.config import load_settings
    from mrv_service.sample.demo import (
        has_detectors,
        load_sample,
        sample_verification_check,
        train_sample_detectors,
    )
    from mrv_service.sample.generator import SampleError

    overrides = {"sample_dir": sample_dir.absolute()} if sample_dir is not None else {}
    settings = load_settings(**overrides)
    try:
        project = load_sample(settings, echo=click.echo)
    except SampleError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("")
    if not has_detectors(settings, project):
        # the aggregator's field checks: train on half the villages (as `mrv verify train` would)
        run_cmd.execute(project, out_dir, seed, ("imagery",))
        click.echo("")
        train_sample_detectors(settings, project, out_dir, echo=click.echo)
        click.echo("")
    run_cmd.execute(project, out_dir, seed, ())
    check = sample_verification_check(settings, project, out_dir.absolute() if out_dir else None)
    c = check["contradictions"]
    click.echo(
        f"check       held-out villages: {c['found']} of {c['planted']} planted contradictions flagged, "
        f"{c['flagged_plot_seasons']} plot-seasons flagged ({check['false_flags']} not contradicted); "
        f"{check['note']} (verification_check.json)"
    )


def main() -> None:
    """Console-script entry point."""
    from mrv_service.config import SettingsError

    try:
        cli()
    except SettingsError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
