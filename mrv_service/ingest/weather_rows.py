"""One data row of a weather file: its day or month, and its quantities in canonical units.

Errors go to the row (:class:`~mrv_service.ingest.upload.TableRow`). The station of a row is
read by :mod:`mrv_service.ingest.weather_stations`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np

from mrv_service.ingest.cells import (
    CellError,
    CellValueError,
    is_blank,
    number_cell,
    parse_date,
    parse_number,
)
from mrv_service.ingest.fields import Column
from mrv_service.ingest.months import MONTH_WORDS, fmt_month, parse_month
from mrv_service.ingest.upload import TableRow
from mrv_service.ingest.weather_fields import (
    DAILY_RANGES,
    EVAP_FACTOR,
    FIRST_YEAR,
    MONTHLY_RANGES,
    PAN_PER_PET,
    fmt_number,
    round_stored,
)

__all__ = ["row_period", "time_column", "row_values"]


def row_period(row: TableRow, columns: dict[str, Column], today: dt.date) -> tuple[str, dt.date] | None:
    """``("day", date)`` or ``("month", first day)`` of a data row; errors go to the row."""
    cell, err = row.cell, row.error
    result: tuple[str, dt.date] | None = None
    field = "date"
    if "date" in columns and not is_blank(cell("date")):
        raw = cell("date")
        try:
            day = parse_date(raw)
            assert day is not None
            result = ("day", day)
        except (ValueError, TypeError):
            try:
                month = parse_month(raw)
                assert month is not None
                result = ("month", month)
            except (ValueError, TypeError):
                err(
                    "date",
                    f"{raw!r} is neither a date nor a month",
                    "write days as YYYY-MM-DD (e.g. 2024-05-01) and months as YYYY-MM (e.g. 2024-05)",
                )
                return None
    elif "day" in columns and not is_blank(cell("day")):
        field = "day"
        year, month = _year_and_month(row, columns)
        if year is None or month is None:
            return None
        raw = cell("day")
        try:
            result = ("day", dt.date(year, month, _small_int(raw, "日")))
        except (ValueError, TypeError):
            err(
                "day",
                f"day {raw!r} is not a day of {year:04d}-{month:02d}",
                "enter the day of the month (1-31)",
            )
            return None
    elif "month" in columns and not is_blank(cell("month")):
        field = "month"
        if "year" in columns:
            year, month = _year_and_month(row, columns)
            if year is None or month is None:
                return None
            result = ("month", dt.date(year, month, 1))
        else:
            raw = cell("month")
            try:
                parsed = parse_month(raw)
                assert parsed is not None
                result = ("month", parsed)
            except (ValueError, TypeError):
                err(
                    "month",
                    f"{raw!r} is not a month",
                    "write the month as YYYY-MM (e.g. 2024-05) or 2024年5月, or add a year (年) column",
                )
                return None
    else:
        field = "date" if "date" in columns else "month"
        err(field, "neither a date nor a month", "enter the day (日期, YYYY-MM-DD) or the month (年 and 月)")
        return None
    kind, when = result
    first = dt.date(today.year, today.month, 1)
    if when.year < FIRST_YEAR:
        err(
            field,
            f"{when.isoformat() if kind == 'day' else fmt_month(when)} is before {FIRST_YEAR}",
            "check the year",
        )
        return None
    if kind == "day" and when > today:
        err(field, f"{when.isoformat()} is in the future", "enter observed days only")
        return None
    if kind == "month" and when > first:
        err(field, f"month {fmt_month(when)} is in the future", "enter observed months only; check the year")
        return None
    if kind == "month" and when == first:
        err(
            field,
            f"month {fmt_month(when)} has not ended yet",
            "upload the month after its last day, when its totals are known",
        )
        return None
    return result


def time_column(columns: dict[str, Column], kind: str) -> str:
    """The field naming a row's day (``date`` or ``day``) or month (``month`` or ``date``)."""
    order = ("date", "day", "month") if kind == "day" else ("month", "date")
    return next(n for n in order if n in columns)


def _year_and_month(row: TableRow, columns: dict[str, Column]) -> tuple[int | None, int | None]:
    """The year and month number of a row with year (年) and month (月) columns."""
    raw_year, raw_month = row.cell("year"), row.cell("month")
    year = month = None
    if is_blank(raw_year):
        row.error("year", "the year is empty", "enter the year, e.g. 2024")
    else:
        try:
            year = _small_int(raw_year, "年")
            if not 1 <= year <= 9999:
                raise CellValueError(raw_year, "a year", "enter the year, e.g. 2024")
        except (ValueError, TypeError):
            year = None
            row.error("year", f"{raw_year!r} is not a year", "enter the year as a number, e.g. 2024")
    if is_blank(raw_month):
        row.error("month", "the month is empty", "enter the month number, 1-12")
        return year, None
    try:
        month = _small_int(raw_month, "月", MONTH_WORDS)
        if not 1 <= month <= 12:
            raise CellValueError(raw_month, "a month number", "enter the month as 1-12 (or 5月, May)")
    except (ValueError, TypeError):
        try:  # a full month (2024-05) next to a year column: accepted when the years agree
            full = parse_month(raw_month)
        except (ValueError, TypeError):
            full = None
        if full is not None and (year is None or full.year == year):
            return full.year, full.month
        row.error("month", f"{raw_month!r} is not a month number", "enter the month as 1-12 (or 5月, May)")
        return year, None
    return year, month


def _small_int(value: Any, suffix: str, words: Mapping[str, int] | None = None) -> int:
    """An integer cell (``2024``, ``5.0``, ``5月``, ``May``); raises ValueError otherwise."""
    if isinstance(value, bool):
        raise CellValueError(value, "a whole number", f"enter a whole number, e.g. 5 or 5{suffix}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellValueError(value, "a whole number", f"enter a whole number, e.g. 5 or 5{suffix}")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if words and text.lower() in words:
        return words[text.lower()]
    text = text.removesuffix(suffix).strip()
    if not re.fullmatch(r"\d{1,4}", text):
        raise CellValueError(value, "a whole number", f"enter a whole number, e.g. 5 or 5{suffix}")
    return int(text)


def row_values(
    row: TableRow, columns: dict[str, Column], evap_field: str, kind: str | None
) -> dict[str, float] | None:
    """Temperature [degC], precipitation [mm] and pan evaporation [mm] of a row, checked against
    the daily or monthly bounds (only the sign when the row's period is unknown)."""
    bounds = DAILY_RANGES if kind == "day" else MONTHLY_RANGES
    per = "daily" if kind == "day" else "monthly"
    out: dict[str, float] = {}
    ok = True
    for field, name in (("tmean", "tmean"), ("precip", "precip"), ("evap", evap_field)):
        c = columns[name]
        raw = row.cell(name)
        if is_blank(raw):
            row.error(
                name,
                f"{c.spec.label} is empty",
                f"enter {c.spec.label} [{c.spec.unit}]; a station that did not record it needs the value from a nearby station",
            )
            ok = False
            continue
        try:
            value = number_cell(c, raw)
        except CellError as exc:
            row.error(name, exc.message, exc.fix)
            ok = False
            continue
        assert value is not None
        bound_key = "pan_evap" if field == "evap" else field
        shown = (
            f"{fmt_number(parse_number(raw) or 0.0)} {c.unit}"
            if c.factor != 1.0
            else f"{fmt_number(value)} {c.spec.unit}"
        )
        if c.factor != 1.0:
            shown += f" (= {fmt_number(value)} {c.spec.unit})"
        if name == "pet":
            value = round_stored(value * PAN_PER_PET)
            shown += f" (= pan evaporation {fmt_number(value)} mm, PET / {EVAP_FACTOR:g})"
        if field != "tmean" and value < 0:
            row.error(
                name,
                f"{c.spec.label} {shown} is negative",
                f"enter 0 or the measured amount; {c.spec.label} cannot be negative",
            )
            ok = False
            continue
        low, high = bounds[bound_key]
        if kind is not None and not low <= value <= high:
            what = (
                {"tmean": "mean temperature", "precip": "precipitation", "pan_evap": "pan evaporation"}[name]
                if name != "pet"
                else "PET"
            )
            unit = "degC" if field == "tmean" else "mm of pan evaporation" if name == "pet" else "mm"
            row.error(
                name,
                f"{per} {what} {shown} is outside the plausible range {fmt_number(low)} to {fmt_number(high)} {unit}",
                "check the value and the unit in the column header (CMA files store tenths: 0.1℃, 0.1mm)",
            )
            ok = False
            continue
        out[field] = value
    return out if ok else None
