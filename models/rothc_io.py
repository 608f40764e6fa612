"""Reader/writer edge for the official Rothamsted RothC input format (``RothC_input.dat``).

This is the one module of ``models/`` that touches files (an explicitly named I/O edge, like
pvlib's ``iotools``): ``read_*`` opens a path, ``parse_*`` takes the text, ``write_*``/``format_*``
do the reverse. The model itself (:mod:`models.rothc`) never reads files.

Layout of ``RothC_input.dat`` as the official code reads it (Shell.for of RothC_Code v2.0.0 [1]_,
the shipped examples and the project's reference cases), whitespace/tab separated:

=====  ====================================================================================
line   content
=====  ====================================================================================
1-2    free text (title, comment)
3      units line of the options ``(-) (-)``                                (v2 format only)
4      ``opt_RMmoist  opt_SMDbare``                                          (v2 format only)
5      the two option values, e.g. ``1 1``                                   (v2 format only)
6      units line of the soil line ``(%) (cm) (t C/ha) (-) ...``
7      soil header ``clay depth iom nsteps`` [+ ``siltper BD OC minRM_Moist`` in v2.0.0]
8      soil values
9      units line of the monthly table
10     monthly header ``year month modern Tmp Rain Evap C_inp FYM PC DPM_RPM``
11-    ``nsteps`` monthly rows; rows 1-12 are the spin-up year, rows 13.. the transient run
=====  ====================================================================================

The v1 format of RothC_Py v1.0.0 has no option lines (soil units/header/values on lines 3-5,
monthly table header on line 7). RothC_R names the input columns ``Pl_inp``/``OA_inp``; both are
accepted (and mapped to ``c_inp``/``fym``).

References
----------
.. [1] Rothamsted Research, "RothC_Code" v2.0.0, github.com/Rothamsted-Models/RothC_Code, commit
   1e0dadcd3b89f892174494e404f0fb4aabc1c842 (Shell.for, RothC_input.dat), Apache-2.0.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import ModelInputError, MRVError

__all__ = [
    "RothCInputFileError",
    "RothCInputMetadata",
    "parse_rothc_input",
    "read_rothc_input",
    "format_rothc_input",
    "write_rothc_input",
    "split_spinup",
    "monthly_table",
    "write_monthly_csv",
    "MONTHLY_COLUMNS",
]


class RothCInputFileError(MRVError, ValueError):
    """A RothC_input.dat file does not follow the official layout."""


# monthly column of the file (lower case) -> (model variable, units)
_COLUMN_MAP: dict[str, tuple[str, str]] = {
    "modern": ("modern", "%"),
    "tmp": ("tmp", "degC"),
    "rain": ("rain", "mm"),
    "evap": ("evap", "mm"),
    "c_inp": ("c_inp", "t C ha-1 month-1"),
    "pl_inp": ("c_inp", "t C ha-1 month-1"),
    "fym": ("fym", "t C ha-1 month-1"),
    "oa_inp": ("fym", "t C ha-1 month-1"),
    "pc": ("pc", "1"),
    "dpm_rpm": ("dpm_rpm", "1"),
}
_FILE_COLUMNS = ("modern", "Tmp", "Rain", "Evap", "C_inp", "FYM", "PC", "DPM_RPM")
_FILE_VARS = ("modern", "tmp", "rain", "evap", "c_inp", "fym", "pc", "dpm_rpm")

#: Columns of the transient monthly table written by ``mrv rothc run`` (the shared
#: reference_monthly.csv layout).
MONTHLY_COLUMNS = (
    "year",
    "month",
    "DPM_tC_ha",
    "RPM_tC_ha",
    "BIO_tC_ha",
    "HUM_tC_ha",
    "IOM_tC_ha",
    "SOC_tC_ha",
    "CO2_cum_tC_ha",
    "SMD_mm",
    "RM_TMP",
    "RM_Moist",
    "RM_PC",
    "Total_Rage_yr",
    "delta14C_permil",
)
_MONTHLY_SOURCE = {
    "DPM_tC_ha": "DPM",
    "RPM_tC_ha": "RPM",
    "BIO_tC_ha": "BIO",
    "HUM_tC_ha": "HUM",
    "IOM_tC_ha": "IOM",
    "SOC_tC_ha": "SOC",
    "CO2_cum_tC_ha": "CO2",
    "SMD_mm": "SMD",
    "RM_TMP": "a",
    "RM_Moist": "b",
    "RM_PC": "c",
    "Total_Rage_yr": "radiocarbon_age",
    "delta14C_permil": "delta14C",
}


@dataclasses.dataclass(frozen=True)
class RothCInputMetadata:
    """What a RothC_input.dat holds besides the monthly table."""

    title: str
    """Line 1 (free text)."""
    comment: str
    """Line 2 (free text)."""
    opt_rmmoist: int | None
    """Moisture-function option (1 = standard RothC-26.3); None in the v1 format (implies 1)."""
    opt_smdbare: int | None
    """Bare-soil SMD option (1 = standard 0.556 maxTSMD limit); None in the v1 format (implies 1)."""
    nsteps: int
    """Number of monthly rows [month] (12 spin-up + transient)."""
    soil: dict[str, float]
    """Every soil field of line 8 by its header name (clay [%], depth [cm], iom [t C ha-1], ...)."""
    source: str
    """File name or '<string>'."""


def _fail(source: str, line: int, msg: str) -> RothCInputFileError:
    return RothCInputFileError(f"{source}, line {line}: {msg}")


def _floats(tokens: list[str], source: str, line: int, what: str) -> list[float]:
    try:
        return [float(t) for t in tokens]
    except ValueError as exc:
        raise _fail(source, line, f"{what} must be numbers, got {tokens!r} ({exc})") from exc


def parse_rothc_input(text: str, source: str = "<string>") -> tuple[xr.Dataset, RothCInputMetadata]:
    """Parse the text of a RothC_input.dat (v1 or v2 layout, see the module docstring).

    Parameters
    ----------
    text : str
        File content.
    source : str
        Name used in error messages.

    Returns
    -------
    (xarray.Dataset, RothCInputMetadata)
        Dataset with dims (plot: 1, month: nsteps): tmp [degC], rain [mm], evap [mm], pc [1],
        dpm_rpm [1], c_inp, fym [t C ha-1 month-1], modern [%]; clay [%], depth [cm],
        iom [t C ha-1] over plot; coordinates ``year`` and ``calendar_month`` along month (the
        file's first two columns). Ready for :func:`models.rothc.run_rothc` after
        :func:`split_spinup`.
    """
    lines = text.splitlines()
    if len(lines) < 8:
        raise RothCInputFileError(
            f"{source}: only {len(lines)} lines; a RothC_input.dat has at least 8 header lines"
        )
    opt_rm = opt_bare = None
    if "opt_rmmoist" in lines[3].lower():
        toks = lines[4].split()
        vals = _floats(toks[:2], source, 5, "the options opt_RMmoist, opt_SMDbare")
        if len(vals) < 2:
            raise _fail(source, 5, f"expected two option values, got {lines[4]!r}")
        opt_rm, opt_bare = int(vals[0]), int(vals[1])
        soil_hdr, first_table = 6, 9  # 0-based index of the soil header and monthly header
    else:
        soil_hdr, first_table = 3, 6
    names = lines[soil_hdr].split()
    vals = _floats(lines[soil_hdr + 1].split(), source, soil_hdr + 2, "the soil values")
    if len(vals) < len(names):
        raise _fail(source, soil_hdr + 2, f"{len(names)} soil fields {names} but only {len(vals)} values")
    soil = dict(zip(names, vals, strict=False))
    low = {k.lower(): v for k, v in soil.items()}
    for need in ("clay", "depth", "iom", "nsteps"):
        if need not in low:
            raise _fail(
                source, soil_hdr + 1, f"soil header {names} lacks {need!r} (expected clay depth iom nsteps)"
            )
    nsteps = int(low["nsteps"])
    if nsteps != low["nsteps"] or nsteps < 13:
        raise _fail(
            source,
            soil_hdr + 2,
            f"nsteps = {low['nsteps']!r}; it must be an integer >= 13 (12 spin-up months)",
        )
    if len(lines) <= first_table:
        raise _fail(source, first_table + 1, "the monthly table header is missing")
    header = [h.lower() for h in lines[first_table].split()]
    if header[:2] != ["year", "month"]:
        raise _fail(
            source,
            first_table + 1,
            f"monthly header must start with 'year month', got {lines[first_table]!r}",
        )
    cols: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in _COLUMN_MAP:
            cols[_COLUMN_MAP[h][0]] = i
    missing = [v for v in _FILE_VARS if v not in cols]
    if missing:
        raise _fail(
            source, first_table + 1, f"monthly header lacks {missing}; expected {' '.join(_FILE_COLUMNS)}"
        )
    rows = []
    for k in range(nsteps):
        ln = first_table + 1 + k
        if ln >= len(lines) or not lines[ln].strip():
            raise _fail(source, ln + 1, f"nsteps = {nsteps} but the table ends after {k} monthly rows")
        toks = lines[ln].split()
        if len(toks) < len(header):
            raise _fail(
                source, ln + 1, f"{len(toks)} values for {len(header)} columns {header}: {lines[ln]!r}"
            )
        rows.append(_floats(toks[: len(header)], source, ln + 1, "monthly values"))
    table = np.array(rows)
    data: dict[str, Any] = {}
    for var in _FILE_VARS:
        units = next(u for (v, u) in _COLUMN_MAP.values() if v == var)
        data[var] = (("plot", "month"), table[None, :, cols[var]], {"units": units})
    data["clay"] = ("plot", [low["clay"]], {"units": "%"})
    data["depth"] = ("plot", [low["depth"]], {"units": "cm"})
    data["iom"] = ("plot", [low["iom"]], {"units": "t C ha-1"})
    ds = xr.Dataset(
        data,
        coords={
            "plot": [Path(source).parent.name or source],
            "month": np.arange(nsteps),
            "year": ("month", table[:, 0].astype(np.int64)),
            "calendar_month": ("month", table[:, 1].astype(np.int64)),
        },
    )
    meta = RothCInputMetadata(
        title=lines[0].rstrip(),
        comment=lines[1].rstrip(),
        opt_rmmoist=opt_rm,
        opt_smdbare=opt_bare,
        nsteps=nsteps,
        soil=soil,
        source=source,
    )
    return ds, meta


def read_rothc_input(path: str | os.PathLike[str]) -> tuple[xr.Dataset, RothCInputMetadata]:
    """Read a RothC_input.dat file; see :func:`parse_rothc_input`."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8", errors="strict") as fh:
            text = fh.read()
    except FileNotFoundError as exc:
        raise RothCInputFileError(f"{p}: no such file; give the path of a RothC_input.dat") from exc
    except UnicodeDecodeError as exc:
        raise RothCInputFileError(f"{p}: not a text file ({exc})") from exc
    return parse_rothc_input(text, source=str(p))


def split_spinup(ds: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """Split the file's months into the spin-up year (rows 1-12) and the transient run (rows 13..),
    as Shell.for does."""
    if ds.sizes.get("month", 0) < 13:
        raise ModelInputError("a RothC input needs 12 spin-up months and at least one transient month")
    return ds.isel(month=slice(0, 12)), ds.isel(month=slice(12, None))


def _num(x: float) -> str:
    """Shortest text that reads back to the same float (integers without a decimal point)."""
    x = float(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def format_rothc_input(
    ds: xr.Dataset,
    title: str = "RothC input written by soil-carbon-mrv",
    comment: str = "soil line then monthly rows; first 12 rows = spin-up year",
    plot: Any = None,
) -> str:
    """Text of a v2 RothC_input.dat (options 1 1) for one plot of a :func:`run_rothc` input.

    The Dataset must hold the spin-up year followed by the transient months (as
    :func:`parse_rothc_input` returns them); ``year``/``calendar_month`` coordinates are written if
    present, else years 1.. and months 1-12. Variables without a month dim are repeated.
    """
    if "plot" in ds.dims:
        if plot is None and ds.sizes["plot"] != 1:
            raise ModelInputError(
                f"format_rothc_input writes one plot; the Dataset has {ds.sizes['plot']}: pass plot="
            )
        ds = ds.sel(plot=plot) if plot is not None else ds.isel(plot=0)
    if "draw" in ds.dims:
        raise ModelInputError(
            "format_rothc_input writes one plot without Monte Carlo draws; select a draw first"
        )
    n = int(ds.sizes["month"])
    year = ds["year"].values if "year" in ds.coords else np.arange(n) // 12 + 1
    cal = ds["calendar_month"].values if "calendar_month" in ds.coords else np.arange(n) % 12 + 1
    out = io.StringIO()
    out.write(f"{title}\n{comment}\n")
    out.write("   (-)       (-)\n opt_RMmoist  opt_SMDbare\n    1          1\n")
    out.write(" (%)     (cm)  (t C/ha)      (-)\nclay\tdepth\t    iom   nsteps\n")
    soil = [float(ds[v]) for v in ("clay", "depth", "iom")]
    out.write(f"{_num(soil[0])}\t{_num(soil[1])}\t {_num(soil[2])}      {n}\n")
    out.write("(-)    (-)       (%)    (C)     (mm)    (mm)  (t C/ha) (t C/ha) (-)      (-) \n")
    out.write("year  month    modern\tTmp\tRain\tEvap   C_inp\tFYM\tPC    DPM_RPM\n")
    cols = [np.broadcast_to(ds[v].values, (n,)) for v in _FILE_VARS]
    for i in range(n):
        out.write("\t".join([str(int(year[i])), str(int(cal[i]))] + [_num(c[i]) for c in cols]) + "\n")
    return out.getvalue()


def write_rothc_input(ds: xr.Dataset, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write :func:`format_rothc_input` to ``path``."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(format_rothc_input(ds, **kwargs))


def monthly_table(result: xr.Dataset, year: Any, calendar_month: Any) -> pd.DataFrame:
    """One row per month of a single-plot :func:`run_rothc` result, with :data:`MONTHLY_COLUMNS`.

    ``result`` must have been run with ``radiocarbon=True`` and all variables; ``year`` and
    ``calendar_month`` label the rows (e.g. the coordinates of the transient input).
    """
    if "draw" in result.dims:
        raise ModelInputError("monthly_table takes a result without draws")
    r = result.isel(plot=0) if "plot" in result.dims else result
    missing = [v for v in _MONTHLY_SOURCE.values() if v not in r]
    if missing:
        raise ModelInputError(
            f"result lacks {missing}; run run_rothc(..., radiocarbon=True) with all variables"
        )
    df = pd.DataFrame(
        {"year": np.asarray(year, dtype=np.int64), "month": np.asarray(calendar_month, dtype=np.int64)}
    )
    for col, var in _MONTHLY_SOURCE.items():
        df[col] = np.asarray(r[var].values, dtype=np.float64)
    return df[list(MONTHLY_COLUMNS)]


def write_monthly_csv(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a :func:`monthly_table` as CSV at full double precision (shortest round-trip repr)."""
    table.to_csv(path, index=False, float_format=None, lineterminator="\n")
