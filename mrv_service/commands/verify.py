"""``mrv verify train PROJECT LABELS.csv``: train the project's practice detectors on labelled
plot-seasons (a thin wrapper over :func:`mrv_service.verify.service.train_project`)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["group"]


@click.group("verify")
def group() -> None:
    """Practice verification: detectors of tillage, residue and season dates from Sentinel-2.

    `mrv run` reconciles every plot-season's logs with what the imagery shows and writes
    flags.csv; without trained detectors every tillage and residue claim is unverifiable.
    """


@group.command("train")
@click.argument("project")
@click.argument("labels", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the estimators."
)
def train(project: str, labels: Path, seed: int) -> None:
    """Train the detectors of PROJECT on LABELS (CSV: plot_id, year, tillage, residue: the
    practice field checks saw; empty where not checked). Needs the imagery features of a run
    (`mrv run PROJECT --stage imagery`). Scores each detector with villages held out (accuracy,
    kappa, MCC, per-class precision and recall, 95 % bootstrap intervals), fits it on every label
    and makes it the project's active detector; sowing and harvest dates are fitted on the
    project's logged dates."""
    from models.errors import MRVError
    from mrv_service.config import load_settings
    from mrv_service.store.projects import ProjectNotFoundError
    from mrv_service.verify.service import train_project

    try:
        out = train_project(load_settings(), project, labels, seed=seed, echo=click.echo)
    except ProjectNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="PROJECT") from exc
    except MRVError as exc:
        raise click.ClickException(str(exc)) from exc
    if not out["trained"]:
        raise click.ClickException("no detector trained: " + "; ".join(out["skipped"]))
    click.echo(f"trained     {', '.join(out['trained'])}: active for the next `mrv run {project}`")
