"""``mrv rothc``: run RothC-26.3 on the official Rothamsted input format (RothC_input.dat).

Thin click wrappers over :mod:`models.rothc_io` (file edge) and :mod:`models.rothc` (model).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

log = logging.getLogger(__name__)

group = click.Group("rothc", help="Run RothC-26.3 on the official Rothamsted input format.")


@group.command("run")
@click.argument("input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="CSV to write: one row per transient month (columns of reference_monthly.csv).",
)
@click.option(
    "--spinup",
    type=click.Choice(["accelerated", "reference", "analytic"]),
    default="accelerated",
    show_default=True,
    help="Spin-up: 'reference' iterates months as Shell.for does; 'accelerated' gives the same result "
    "faster; 'analytic' is the exact periodic steady state (differs from the official code by ~1e-4).",
)
@click.option(
    "--literals",
    type=click.Choice(["fortran", "double"]),
    default="fortran",
    show_default=True,
    help="Model constants as the official Fortran keeps them (single precision) or exact decimals.",
)
@click.option(
    "--equilibrium-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the state after the spin-up (one-row CSV, reference_equilibrium.csv columns).",
)
def run(input_file: Path, out_path: Path, spinup: str, literals: str, equilibrium_out: Path | None) -> None:
    """Run RothC-26.3 on INPUT_FILE (RothC_input.dat): spin-up on rows 1-12, then rows 13.. ."""
    from models.errors import MRVError
    from models.rothc import RothCParameters, equilibrium, run_rothc
    from models.rothc_io import monthly_table, read_rothc_input, split_spinup, write_monthly_csv

    try:
        ds, meta = read_rothc_input(input_file)
    except MRVError as exc:
        raise click.BadParameter(str(exc), param_hint="INPUT_FILE") from exc
    for name, val in (("opt_RMmoist", meta.opt_rmmoist), ("opt_SMDbare", meta.opt_smdbare)):
        if val not in (None, 1):
            raise click.BadParameter(
                f"{name} = {val} in {input_file}; only the standard RothC-26.3 option 1 is implemented",
                param_hint="INPUT_FILE",
            )
    params = RothCParameters.fortran() if literals == "fortran" else RothCParameters.double_precision()
    spin, transient = split_spinup(ds)
    try:
        eq = equilibrium(spin, method=spinup, parameters=params)
        result = run_rothc(transient, eq, radiocarbon=True, parameters=params)
    except MRVError as exc:
        raise click.ClickException(f"{input_file}: {exc}") from exc
    table = monthly_table(result, transient["year"].values, transient["calendar_month"].values)
    write_monthly_csv(table, out_path)
    log.info("RothC run of %r: %d months written to %r", str(input_file), len(table), str(out_path))
    if equilibrium_out is not None:
        e = eq.isel(plot=0)
        cols = {
            "spinup_months": "spinup_months",
            "DPM": "DPM",
            "RPM": "RPM",
            "BIO": "BIO",
            "HUM": "HUM",
            "IOM": "IOM",
            "SOC": "SOC",
            "SMD_mm": "SMD",
            "DPM_Rage_yr": "DPM_Rage",
            "RPM_Rage_yr": "RPM_Rage",
            "BIO_Rage_yr": "BIO_Rage",
            "HUM_Rage_yr": "HUM_Rage",
            "Total_Rage_yr": "Total_Rage",
            "delta14C_permil": "delta14C",
        }
        with open(equilibrium_out, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(",".join(cols) + "\n")
            fh.write(",".join(repr(e[v].item()) for v in cols.values()) + "\n")
    click.echo(
        f"{len(table)} months written to {out_path} (SOC {table['SOC_tC_ha'].iloc[-1]:.4f} t C/ha at the end)"
    )
