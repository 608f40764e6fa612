"""``mrv run PROJECT [--out DIR] [--seed N] [--stage ...]``: a thin wrapper over
:func:`mrv_service.run.runner.run_project`."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click

from mrv_service.run.runner import STAGE_NAMES

__all__ = ["run_command", "execute"]


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C (SIGINT) and ``kill`` (SIGTERM) ask the run to stop at its next safe point (it
    removes its partial output and records itself as failed; the published results stay). A
    second signal stops at once."""
    stop = threading.Event()

    def handler(signum, _frame):
        if stop.is_set():
            raise SystemExit(128 + signum)
        stop.set()
        click.echo(
            f"\n{signal.Signals(signum).name}: stopping the run at the next safe point (again to stop at once)",
            err=True,
        )

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread (e.g. under a test runner)
        yield stop
        return
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def execute(project: str, out_dir: Path | None, seed: int | None, stages: tuple[str, ...]) -> dict:
    """Run the project with a progress bar and printed stage lines; errors become click errors."""
    from tqdm import tqdm

    from models.errors import MRVError
    from mrv_service.config import load_settings
    from mrv_service.run.runner import run_project
    from mrv_service.store.projects import ProjectNotFoundError

    bars: list = []

    def progress(stage: str):
        unit = "scene" if stage == "imagery" else "plot"
        bar = tqdm(desc=stage, unit=unit, leave=False, disable=not sys.stderr.isatty())
        bars.append(bar)
        return bar.update

    try:
        with _stop_on_signals() as stop:
            return run_project(
                load_settings(),
                project,
                out_dir=out_dir.absolute() if out_dir else None,
                stages=stages or None,
                seed=seed,
                progress=progress,
                echo=click.echo,
                stop=stop,
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
