"""``mrv validate SITES_DIR [--out DIR]``: the soil-carbon model against long-term experiments.

A thin wrapper over :func:`mrv_service.validate.pipeline.validate` and
:func:`mrv_service.validate.report.write_report`. Progress lines go to stdout; the last line is
``validation: N comparisons, bias B t C/ha, RMSE R t C/ha, 90% interval coverage C%`` (the
held-out paired differences). A bad site is skipped with its reason; a folder with no usable site,
or any other failure, ends with a one-line error and a non-zero exit status (no traceback; ``-vv``
logs it).
"""

from __future__ import annotations

import logging
import shlex
import sys
import time
from pathlib import Path

import click

log = logging.getLogger(__name__)

__all__ = ["validate_command"]


def _site_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    if value.strip().lower() == "none":
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("validate")
@click.argument("sites_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/validation"),
    show_default=True,
    help="Directory for validation.json and validation.html.",
)
@click.option(
    "--draws",
    "n_draws",
    type=click.IntRange(min=1),
    default=None,
    help="Monte Carlo draws of the model parameters per site (default 200).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the Monte Carlo draws.")
@click.option(
    "--calibrate-sites",
    "calibrate_sites",
    default=None,
    metavar="SITE,SITE,...|none",
    help="Sites to calibrate on (default: every other site, alphabetically, of those with a tillage or "
    "residue pair); 'none' keeps the default parameters.",
)
def validate_command(
    sites_dir: Path, out_dir: Path, n_draws: int | None, seed: int | None, calibrate_sites: str | None
) -> None:
    """Validate the soil-carbon model chain on SITES_DIR, a folder of long-term experiments (one
    sub-folder per site: soc_obd.csv, DayCent .sch schedules, .wth weather, soils.in, .100 site file).

    Per site: carbon inputs by the documented rule (fitted to the first observed SOC under the
    pre-experiment practice), spin-up, every treatment run; modelled vs observed SOC change and
    paired-treatment differences per practice category (bias, RMSE, 90 % interval coverage, the
    VMD0053 bias test), in t C/ha and as rates in t C/ha/yr; calibration on a subset of sites, the
    rest held out. Writes OUT/validation.json and OUT/validation.html.
    """
    from models.errors import MRVError
    from mrv_service.validate.pipeline import DEFAULT_DRAWS, DEFAULT_SEED, validate
    from mrv_service.validate.report import headline_line, write_report

    t0 = time.monotonic()
    command = "mrv validate " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    if not sites_dir.is_dir():
        raise click.BadParameter(f"{sites_dir} is not a folder", param_hint="SITES_DIR")

    def say(msg: str) -> None:
        click.echo(f"[{time.monotonic() - t0:6.1f} s] {msg}")

    try:
        result = validate(
            sites_dir,
            calibrate_sites=_site_list(calibrate_sites),
            n_draws=n_draws or DEFAULT_DRAWS,
            seed=DEFAULT_SEED if seed is None else seed,
            progress=say,
        )
        jpath, hpath = write_report(result, out_dir, command=command)
    except MRVError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the command shows no traceback (-vv logs it)
        log.debug("mrv validate failed", exc_info=True)
        raise click.ClickException(
            f"validation failed: {type(exc).__name__}: {exc} (run with -vv for details)"
        ) from None
    say(f"wrote {jpath} and {hpath}")
    if result.skipped_sites:
        say(
            f"skipped {len(result.skipped_sites)} site(s): {', '.join(sorted(result.skipped_sites))} (reasons in {jpath.name})"
        )
    click.echo(headline_line(result))
