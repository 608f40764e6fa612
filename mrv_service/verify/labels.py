"""Labelled plot-seasons (field checks) for training the detectors: reading and checking.

A labels file is CSV (UTF-8, a header row) with one row per checked plot-season:

==========  ========================================================================
column      meaning
==========  ========================================================================
plot_id     the project's plot id (required)
year        the season's year (required)
tillage     the observed tillage method (plough, rotary, reduced, subsoiling, no_till) or empty
residue     the observed straw handling (removed, burned, retained, mulched) or empty
==========  ========================================================================

Every bad row is reported with the file, row, field and the fix; nothing is trained from a file
with errors.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.errors import MRVError
from models.ipcc_tier1 import TILLAGE_LEVEL_OF_METHOD

__all__ = ["LABEL_COLUMNS", "LabelsError", "read_labels"]

LABEL_COLUMNS = ("plot_id", "year", "tillage", "residue")
RESIDUE_METHODS = ("removed", "burned", "retained", "mulched")


class LabelsError(MRVError, ValueError):
    """The labels file cannot be used; the message names the file, rows, fields and the fix."""


def read_labels(path: Path, plot_ids: set[str], years: set[int]) -> pd.DataFrame:
    """Read and check a labels file.

    Parameters
    ----------
    path : Path
        The CSV file.
    plot_ids : set of str
        The project's plot ids.
    years : set of int
        Seasons with imagery features (the look-back and project years).

    Returns
    -------
    pandas.DataFrame
        :data:`LABEL_COLUMNS`, ``year`` int, empty methods as None; duplicates refused.

    Raises
    ------
    LabelsError
        With up to 10 row errors ("row N, field F: problem; fix").
    """
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise LabelsError(f"{path}: no such file") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise LabelsError(
            f"{path}: not a readable UTF-8 CSV ({exc}); save it as CSV UTF-8 with a header row"
        ) from exc
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in ("plot_id", "year") if c not in df.columns]
    if missing:
        raise LabelsError(f"{path}: missing column(s) {missing}; the header needs {list(LABEL_COLUMNS)}")
    if "tillage" not in df.columns and "residue" not in df.columns:
        raise LabelsError(f"{path}: no 'tillage' or 'residue' column; label at least one practice")
    for c in ("tillage", "residue"):
        if c not in df.columns:
            df[c] = ""
    errors: list[str] = []
    rows = []
    for i, r in enumerate(df.itertuples(index=False), start=2):
        pid = str(r.plot_id).strip()
        if pid not in plot_ids:
            errors.append(
                f"row {i}, field plot_id: {pid!r} is not a plot of this project; fix the id or upload the plot"
            )
            continue
        try:
            year = int(str(r.year).strip())
        except ValueError:
            errors.append(f"row {i}, field year: {r.year!r} is not a year; write e.g. 2024")
            continue
        if year not in years:
            errors.append(
                f"row {i}, field year: {year} is not a look-back or project season ({sorted(years)})"
            )
            continue
        till = str(r.tillage).strip().lower() or None
        res = str(r.residue).strip().lower() or None
        if till is not None and till not in TILLAGE_LEVEL_OF_METHOD:
            errors.append(
                f"row {i}, field tillage: {till!r} is not a tillage method; use one of {sorted(TILLAGE_LEVEL_OF_METHOD)} or leave it empty"
            )
            continue
        if res is not None and res not in RESIDUE_METHODS:
            errors.append(
                f"row {i}, field residue: {res!r} is not a straw handling; use one of {list(RESIDUE_METHODS)} or leave it empty"
            )
            continue
        rows.append((pid, year, till, res, i))
    out = pd.DataFrame(rows, columns=[*LABEL_COLUMNS, "row"])
    dup = out[out.duplicated(["plot_id", "year"], keep=False)]
    for (pid, year), g in dup.groupby(["plot_id", "year"]):
        errors.append(
            f"rows {', '.join(map(str, g['row']))}: plot {pid} season {year} is labelled more than once; keep one row"
        )
    if errors:
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise LabelsError(f"{path}: {len(errors)} bad row(s){more}:\n  " + "\n  ".join(errors[:10]))
    if out.empty:
        raise LabelsError(f"{path}: no labelled rows")
    return out.drop(columns="row")
