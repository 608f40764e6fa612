"""``mrv sample create DIR``: write the bundled sample county (a thin wrapper over
:func:`mrv_service.sample.create_sample`)."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from mrv_service.sample import DEFAULT_N_PLOTS, DEFAULT_SEED, create_sample
from mrv_service.sample.generator import (
    MAX_N_PLOTS,
    PROJECT_YEARS,
    SampleError,
    SampleExistsError,
    SampleGenerationError,
)

group = click.Group("sample", help="Create the bundled sample county (Lishu, Jilin).")


@group.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True, help="Random seed."
)
@click.option(
    "--plots",
    "n_plots",
    type=click.IntRange(1, MAX_N_PLOTS),
    default=DEFAULT_N_PLOTS,
    show_default=True,
    help="Number of plots (farmers and villages scale with it).",
)
@click.option("--no-imagery", is_flag=True, help="Skip the Sentinel-2-like COGs and STAC catalog.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty directory.")
@click.option("--progress/--no-progress", "show_progress", default=True, help="Show a progress bar.")
def create(
    directory: Path, seed: int, n_plots: int, no_imagery: bool, overwrite: bool, show_progress: bool
) -> None:
    """Write the sample county (plots, farmers, activity logs, soil samples, weather, imagery)
    into DIRECTORY: Lishu County (梨树县), Jilin, maize smallholders adopting no-till with straw
    mulch. The same seed always gives the same files."""
    from tqdm import tqdm

    progress = functools.partial(tqdm, desc="sample county", unit="step", disable=not show_progress)
    try:
        summary = create_sample(
            directory,
            seed=seed,
            n_plots=n_plots,
            imagery=not no_imagery,
            progress=progress,
            overwrite=overwrite,
        )
    except SampleExistsError as exc:
        raise click.BadParameter(str(exc), param_hint="DIRECTORY") from exc
    except (SampleError, SampleGenerationError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"sample county written to {summary.directory}: {summary.n_plots} plots "
        f"({summary.total_area_ha:.1f} ha, median {summary.median_area_ha:.2f} ha), "
        f"{summary.n_farmers} farmers, {summary.n_villages} villages, "
        f"{100 * summary.adoption_fraction:.0f} % no-till in {PROJECT_YEARS[-1]}, "
        f"{100 * summary.contradicted_fraction:.1f} % contradicted plot-seasons"
    )
    for name in summary.files:
        click.echo(f"  {name}")
