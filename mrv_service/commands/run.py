"""``mrv run PROJECT [--out DIR] [--seed N] [--stage ...]``: a thin wrapper over
:func:`mrv_service.run.runner.run_project`."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from mrv_service.run.runner import STAGE_NAMES

__all__ = ["run_command", "execute"]


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """A ``kill`` (SIGTERM) ends the run like Ctrl-C does: the partial output is removed, the
    published results stay, the run is recorded as failed."""

    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. under a test runner)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def execute(project: str, out_dir: Path | None, seed: int | None, stages: tuple[str, ...]) -> dict:
    """Run the project with a progress bar and printed stage lines; errors become click errors."""
    from tqdm import tqdm

    from models.errors import MRVError
    from mrv_service.config import load_settings
    from mrv_service.run.runner import run_project
    from mrv_service.store.projects import ProjectNotFoundError

    bars: list = []

    def progress(stage: str):
        bar = tqdm(desc=stage, unit="scene", leave=False, disable=not sys.stderr.isatty())
        bars.append(bar)
        return bar.update

    try:
        with _sigterm_as_exit():
            return run_project(
                load_settings(),
                project,
                out_dir=out_dir.absolute() if out_dir else None,
                stages=stages or None,
                seed=seed,
                progress=progress,
                echo=click.echo,
            )
    except ProjectNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="PROJECT") from exc
    except MRVError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        for bar in bars:
            bar.close()


@click.command("run")
@click.argument("project")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: MRV_OUTPUT_DIR/PROJECT, i.e. out/PROJECT).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Seed of the Monte Carlo draws (default: fixed)."
)
@click.option(
    "--stage",
    "stages",
    type=click.Choice(STAGE_NAMES),
    multiple=True,
    help="Run only this stage (repeatable); the others are carried over from the last run when their "
    "inputs are unchanged.",
)
def run_command(project: str, out_dir: Path | None, seed: int | None, stages: tuple[str, ...]) -> None:
    """Run the whole job for PROJECT: Sentinel-2 imagery per plot, then the soil-carbon models
    (RothC-26.3 baseline and project scenarios with Monte Carlo, IPCC Tier 1), and write
    summary.json, plot_results.csv, plot_features.nc, run_manifest.json and run.log.

    The previous results stay in place until the new ones are complete; a second run of the same
    project at the same time is refused.
    """
    execute(project, out_dir, seed, stages)
