"""The ``mrv`` command line: a click group whose commands are thin wrappers over library functions.

Logging is configured here and nowhere else (STYLE.md section 9).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from mrv_service import __version__
from mrv_service.commands import ingest as ingest_cmd
from mrv_service.commands import project as project_cmd
from mrv_service.commands import rothc as rothc_cmd
from mrv_service.commands import sample as sample_cmd


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

    Settings come from MRV_* environment variables (MRV_DATABASE_URL, MRV_DATA_DIR,
    MRV_STAC_URL, MRV_DASK_SCHEDULER, MRV_OUTPUT_DIR); see README.md.
    """
    configure_logging(verbose - quiet)


cli.add_command(sample_cmd.group)
cli.add_command(ingest_cmd.group)
cli.add_command(project_cmd.group)
cli.add_command(rothc_cmd.group)


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: MRV_OUTPUT_DIR, else ./out).",
)
@click.option(
    "--sample",
    "sample_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sample county directory (default: MRV_SAMPLE_DIR, else data/sample/lishu); created if absent.",
)
def demo(out_dir: Path | None, sample_dir: Path | None) -> None:
    """Run the main job on the bundled sample county and write OUT/summary.json."""
    from mrv_service.config import load_settings
    from mrv_service.pipeline import run_demo

    overrides = {}
    if out_dir is not None:
        overrides["output_dir"] = out_dir.absolute()
    if sample_dir is not None:
        overrides["sample_dir"] = sample_dir.absolute()
    settings = load_settings(**overrides)
    summary = run_demo(settings, echo=click.echo)
    st, img, rc, t1 = summary["store"], summary["imagery"], summary["rothc"], summary["ipcc_tier1"]
    click.echo("")
    click.echo(
        f"project     {summary['project']} ({summary['project_zh']}), methodology {summary['methodology_id']}"
    )
    click.echo(
        f"store       {st['plots']} plots, {st['farmers']} farmers, {st['hectares']:.1f} ha, "
        f"{st['activity_records']['total']} activity records, {st['soil_samples']} soil samples, {st['flags']['open']} open flags"
    )
    click.echo(
        f"imagery     {img['scenes']} scenes, {img['usable_plot_dates']} of {img['plot_dates']} plot-dates usable "
        f"(cloud-masked), {img['plots_with_usable_dates']} plots with usable dates"
    )
    click.echo(
        f"RothC       {rc['run']}: mean initial SOC {rc['mean_initial_soc_t_c_ha']:.1f} t C/ha, "
        f"project - baseline {rc['mean_delta_soc_t_c_ha']:.2f} t C/ha = {rc['total_delta_soc_t_co2e']:.0f} t CO2e "
        "(before deductions)"
    )
    if "monte_carlo" in rc:
        mc = rc["monte_carlo"]
        click.echo(
            f"            Monte Carlo ({mc['draws']} draws): {mc['total_t_co2e_p2_5']:.0f} to "
            f"{mc['total_t_co2e_p97_5']:.0f} t CO2e (95 % interval)"
        )
    click.echo(
        f"IPCC Tier 1 {t1['climate_zone']}, {t1['soil_class']}: {t1['annual_delta_soc_t_co2e']:.1f} t CO2e/yr "
        f"({t1['plots_no_till']} no-till plots)"
    )
    click.echo(f"written     {settings.output_dir / 'summary.json'} (+ {', '.join(summary['outputs'][1:])})")


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
