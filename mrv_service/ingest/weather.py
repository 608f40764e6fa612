"""Ingest monthly or daily weather (CSV or XLSX) as the RothC-26.3 climate forcing per station.

DATA_FORMATS.md section 5. A file holds either monthly rows (``year`` + ``month``, or one
``month`` column as ``YYYY-MM``) or daily rows (``date``, or ``year`` + ``month`` + ``day``)
with the mean air temperature, the precipitation and either open-pan evaporation or potential
evapotranspiration (PET). Daily rows are aggregated to calendar months (temperature: the mean of
the days; precipitation and evaporation: the sums) and a month counts only when every calendar
day is present. Months are stored per station on the natural key (station, month), so the same
months again change nothing and a month with other values is updated.

Canonical units: temperature [degC], precipitation and pan evaporation [mm per month]. Header
units in brackets are converted (``平均气温(0.1℃)``, ``降水量(0.1mm)``, ``precip (cm)``); a unit
glued to the name with an underscore or directly (``tmean_degC``, ``precip_mm``, ``降水量mm``)
is read as if it were in brackets, so the sample county's ``weather_monthly.csv`` columns
``year, month, tmean_degC, precip_mm, pan_evap_mm`` are understood as written.

PET is converted to open-pan evaporation: RothC-26.3 takes open-pan evaporation E and uses
0.75 E as the evaporative demand of the topsoil moisture deficit (Coleman & Jenkinson, RothC-26.3
guide, section 2.3; RothC.for:232), so pan = PET / 0.75 (:data:`PAN_PER_PET`, from
:attr:`models.rothc.RothCParameters.evap_factor`, the one home of the factor).

Stations: a file without station columns is project-wide weather (station ``project``). With a
``station_id`` (站号) column, or only a ``station_name`` (站名) column, every row names its
station; ``lon``/``lat`` (经度/纬度) give its location in EPSG:4326 degrees, or in the CMA
station-catalogue degree-minute form when the header says so (``经度(度分)``: 12422 = 124°22').
A station without a location is an error once the project has more than one station, because
the run could not tell which plots it covers.

Plausibility bounds (:data:`MONTHLY_RANGES`, :data:`DAILY_RANGES`) are rejection thresholds for
typing and unit mistakes chosen for this service (not literature values), like those of
:mod:`mrv_service.ingest.schema`; a value in tenths read as whole units overshoots them tenfold.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import logging
import math
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.rothc import RothCParameters
from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.schema import (
    CellError,
    Column,
    FieldSpec,
    is_blank,
    normalise_token,
    normalise_unit,
    number_cell,
    parse_date,
    parse_id,
    parse_number,
    split_header,
)
from mrv_service.ingest.upload import TableRow, UploadRun, UploadTable, begin_upload, read_upload_table
from mrv_service.store.models import WeatherMonth, WeatherStation

__all__ = [
    "WEATHER_FIELDS",
    "PAN_PER_PET",
    "MONTHLY_RANGES",
    "DAILY_RANGES",
    "FIRST_YEAR",
    "PROJECT_STATION",
    "ingest_weather",
    "weather_coverage",
    "month_start",
    "month_range",
    "ddmm_to_degrees",
    "parse_month",
]

log = logging.getLogger(__name__)

_EVAP_FACTOR = RothCParameters().evap_factor
PAN_PER_PET = 1.0 / _EVAP_FACTOR
"""Open-pan evaporation per unit PET [1]: RothC-26.3 multiplies open-pan evaporation by
``evap_factor`` = 0.75 to get the evaporative demand (Coleman & Jenkinson 2014, RothC-26.3
guide, section 2.3; RothC.for:232), so a PET given by the user is stored as pan = PET / 0.75
and the model's 0.75 x pan gives the PET back."""

PROJECT_STATION = "project"
"""``station_id`` of project-wide weather (a file without station columns)."""

FIRST_YEAR = 1900
"""Months before this year are rejected as typing mistakes (service choice)."""

MONTHLY_RANGES: dict[str, tuple[float, float]] = {
    "tmean": (-50.0, 40.0),
    "precip": (0.0, 1500.0),
    "pan_evap": (0.0, 600.0),
}
"""Plausible monthly values in canonical units: mean temperature [degC], precipitation [mm],
open-pan evaporation [mm] (PET is checked after conversion to pan). Service choices."""

DAILY_RANGES: dict[str, tuple[float, float]] = {
    "tmean": (-60.0, 45.0),
    "precip": (0.0, 500.0),
    "pan_evap": (0.0, 50.0),
}
"""Plausible daily values in canonical units (as :data:`MONTHLY_RANGES`, per day)."""

_TEMPERATURE_UNITS = {
    "degc": 1.0,
    "°c": 1.0,
    "c": 1.0,
    "deg_c": 1.0,
    "celsius": 1.0,
    "摄氏度": 1.0,
    "0.1degc": 0.1,
    "0.1°c": 0.1,
    "0.1c": 0.1,
    "0.1deg_c": 0.1,
    "0.1摄氏度": 0.1,
}
"""Header units of temperature (normalised; ``℃`` reads as ``°c``) -> factor to degC. CMA
station files store tenths of a degree (``0.1℃``)."""
_DEPTH_UNITS = {"mm": 1.0, "0.1mm": 0.1, "cm": 10.0}
"""Header units of precipitation and evaporation depth (``毫米`` reads as ``mm``) -> factor to mm."""
_DEGREE_UNITS = {"": 1.0, "°": 1.0, "deg": 1.0, "degree": 1.0, "degrees": 1.0, "度": 1.0}
_DDMM_UNITS = ("ddmm", "度分")
"""Header units marking CMA degree-minute coordinates (``4326`` = 43°26')."""

_SPECS = (
    FieldSpec("station_id", ("站号", "台站号", "区站号", "站点编号", "station", "station_code", "stationid"),
              label="the station id"),
    FieldSpec("station_name", ("站名", "台站名称", "站点名称", "台站名", "station_nam"), label="the station name"),
    FieldSpec("lon", ("经度", "longitude", "long"), kind="number", label="the longitude", unit="degree_east",
              units={**_DEGREE_UNITS, "°e": 1.0, "degree_east": 1.0, **dict.fromkeys(_DDMM_UNITS, 1.0)}),
    FieldSpec("lat", ("纬度", "latitude"), kind="number", label="the latitude", unit="degree_north",
              units={**_DEGREE_UNITS, "°n": 1.0, "degree_north": 1.0, **dict.fromkeys(_DDMM_UNITS, 1.0)}),
    FieldSpec("date", ("日期", "观测日期", "day_date"), kind="date", label="the date"),
    FieldSpec("year", ("年", "年份", "yr"), label="the year"),
    FieldSpec("month", ("月", "月份", "年月", "year_month", "yearmonth", "mon"), label="the month"),
    FieldSpec("day", ("日",), label="the day"),
    FieldSpec("tmean", ("平均气温", "月平均气温", "日平均气温", "气温", "tmean", "t_mean", "tavg", "tmp", "temp",
                        "temperature", "mean_temperature", "air_temperature"),
              kind="number", label="the mean temperature", unit="degC", units=_TEMPERATURE_UNITS,
              default_unit="degc", required=True),
    FieldSpec("precip", ("降水量", "降水", "月降水量", "日降水量", "20_20时降水量", "20_20时累计降水量", "累计降水量",
                         "precipitation", "rain", "rainfall", "prcp", "prec"),
              kind="number", label="the precipitation", unit="mm", units=_DEPTH_UNITS, default_unit="mm",
              required=True),
    FieldSpec("pan_evap", ("蒸发量", "蒸发皿蒸发量", "小型蒸发皿蒸发量", "小型蒸发量", "蒸发", "pan_evaporation",
                           "evaporation", "evap", "e_pan", "pan"),
              kind="number", label="the pan evaporation", unit="mm", units=_DEPTH_UNITS, default_unit="mm"),
    FieldSpec("pet", ("潜在蒸散量", "参考作物蒸散量", "参考蒸散量", "潜在蒸散", "et0", "eto", "ref_et", "reference_et",
                      "potential_evapotranspiration"),
              kind="number", label="the potential evapotranspiration (PET)", unit="mm", units=_DEPTH_UNITS,
              default_unit="mm"),
)  # fmt: skip

WEATHER_FIELDS: dict[str, FieldSpec] = {f.name: f for f in _SPECS}
"""Fields of a weather file (DATA_FORMATS.md section 5). The quantities carry no ``low``/
``high``: the monthly and daily bounds differ and are checked by :func:`ingest_weather`."""

_STORED = ("tmean_degc", "precip_mm", "pan_evap_mm", "evap_source", "days")
"""WeatherMonth fields compared on re-upload (anything else differing is not a change)."""
_LOCATION_TOLERANCE_DEG = 1e-6
"""Two locations of a station closer than this [degree] are the same (about 0.1 m)."""
_MONTH_WORDS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
"""English month names (lower case) -> month number, for a month column next to a year column
(spelled out here: :mod:`calendar` names follow the locale)."""


# ---------------------------------------------------------------------------------------- months


def month_start(value: Any) -> dt.date:
    """The first day of the month of ``value``.

    Parameters
    ----------
    value : date, datetime, numpy.datetime64, pandas.Timestamp or str
        A day or month; strings as ``YYYY-MM`` or ``YYYY-MM-DD`` (see :func:`parse_month`).

    Returns
    -------
    datetime.date

    Examples
    --------
    >>> month_start(dt.date(2024, 5, 17))
    datetime.date(2024, 5, 1)
    """
    if isinstance(value, np.datetime64):
        value = value.astype("datetime64[D]").item()
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    try:
        return parse_date(value).replace(day=1)  # type: ignore[union-attr]
    except (ValueError, TypeError, AttributeError):
        month = parse_month(value)
        if month is None:
            raise ValueError(f"{value!r} is not a month") from None
        return month


def _next_month(m: dt.date) -> dt.date:
    return dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)


def month_range(start: Any, end: Any) -> list[dt.date]:
    """The first days of the months from ``start`` to ``end``, both included.

    Examples
    --------
    >>> [m.isoformat() for m in month_range("2023-11", "2024-02-10")]
    ['2023-11-01', '2023-12-01', '2024-01-01', '2024-02-01']
    """
    m, last = month_start(start), month_start(end)
    out = []
    while m <= last:
        out.append(m)
        m = _next_month(m)
    return out


def weather_coverage(months_by_station: Any, needed_start: Any, needed_end: Any) -> dict[str, list[dt.date]]:
    """The months each station lacks between ``needed_start`` and ``needed_end``.

    A pure helper for the run: RothC needs every month of the simulated period at the station
    that serves a plot.

    Parameters
    ----------
    months_by_station : mapping or DataFrame
        ``{station_id: months}`` (any iterable of days or months; anything with ``.items()``,
        e.g. ``monthly.groupby("station_id")["month"].agg(list)``), or the monthly DataFrame of
        :func:`mrv_service.store.weather.load_weather` itself (columns ``station_id``, ``month``).
    needed_start, needed_end : date-like
        First and last month needed (any day of them; both included).

    Returns
    -------
    dict
        ``{station_id: [first day of each missing month, ascending]}`` for every station given;
        an empty list means the station covers the period.

    Raises
    ------
    ValueError
        When ``needed_end`` is before ``needed_start``.

    Examples
    --------
    >>> weather_coverage({"project": ["2024-01", "2024-03"]}, "2024-01", "2024-03")
    {'project': [datetime.date(2024, 2, 1)]}
    """
    if month_start(needed_end) < month_start(needed_start):
        raise ValueError(f"needed_end {needed_end!r} is before needed_start {needed_start!r}")
    needed = month_range(needed_start, needed_end)
    columns = getattr(months_by_station, "columns", None)
    if columns is not None and "station_id" in columns and "month" in columns:
        months_by_station = months_by_station.groupby("station_id")["month"].agg(list)
    out: dict[str, list[dt.date]] = {}
    for station, months in months_by_station.items():
        have = {month_start(m) for m in months}
        out[str(station)] = [m for m in needed if m not in have]
    return out


_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})\s*[-/]\s*(\d{1,2})\s*[-/]\s*0?1$"),
)


def parse_month(value: Any) -> dt.date | None:
    """Parse a month cell: ``YYYY-MM``, ``YYYY/MM``, ``YYYY年M月``, ``YYYYMM`` or a date on the 1st.

    A spreadsheet turns a typed ``2024-05`` into the date 2024-05-01, so a date cell on the
    first of a month is that month. Numbers are read only as integers ``YYYYMM`` (``2024.1``
    could be January or October).

    Returns
    -------
    datetime.date or None
        First day of the month; None for a blank cell.

    Raises
    ------
    ValueError
        When the cell is not such a month.

    Examples
    --------
    >>> parse_month("2024年5月"), parse_month(202405)
    (datetime.date(2024, 5, 1), datetime.date(2024, 5, 1))
    """
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if value.day != 1:
            raise ValueError(value)
        return value
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for pattern in _MONTH_PATTERNS:
        m = pattern.match(text)
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            return dt.date(year, month, 1)  # ValueError for month 13
    raise ValueError(value)


def _small_int(value: Any, suffix: str, words: Mapping[str, int] | None = None) -> int:
    """An integer cell (``2024``, ``5.0``, ``5月``, ``May``); raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if words and text.lower() in words:
        return words[text.lower()]
    text = text.removesuffix(suffix).strip()
    if not re.fullmatch(r"\d{1,4}", text):
        raise ValueError(value)
    return int(text)


def ddmm_to_degrees(value: float) -> float:
    """A CMA degree-minute coordinate to decimal degrees.

    CMA station catalogues write a coordinate as degrees x 100 + minutes (``12422`` =
    124°22' E, ``4326`` = 43°26' N); a fractional part is decimal minutes.

    Raises
    ------
    ValueError
        When the minutes are 60 or more.

    Examples
    --------
    >>> round(ddmm_to_degrees(12422), 6), round(ddmm_to_degrees(-4330), 6)
    (124.366667, -43.5)
    """
    sign = -1.0 if value < 0 else 1.0
    degrees, minutes = divmod(abs(value), 100.0)
    if minutes >= 60.0:
        raise ValueError(value)
    return sign * (degrees + minutes / 60.0)


def _fmt_month(m: dt.date) -> str:
    return f"{m.year:04d}-{m.month:02d}"


def _fmt_list(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} ... ({len(items)} in all)"


def _g(x: float) -> str:
    return f"{x:.6g}"


def _round(x: float) -> float:
    """9 significant digits, as :func:`~mrv_service.ingest.schema.number_cell` stores values."""
    return float(f"{x:.9g}")


# ------------------------------------------------------------------------------------ the table


_GLUED_UNITS: dict[str, tuple[str, ...]] = {
    "tmean": (
        "degc",
        "°c",
        "c",
        "deg_c",
        "celsius",
        "摄氏度",
        "0.1degc",
        "0.1°c",
        "0.1c",
        "0.1deg_c",
        "0.1摄氏度",
    ),
    "precip": ("mm", "毫米", "0.1mm", "0.1毫米", "cm", "厘米"),
    "pan_evap": ("mm", "毫米", "0.1mm", "0.1毫米", "cm", "厘米"),
    "pet": ("mm", "毫米", "0.1mm", "0.1毫米", "cm", "厘米"),
}
"""Units understood when glued to a quantity's name, as :func:`normalise_token` leaves them
(lower case; ``℃`` is ``°c``): ``tmean_degC``, ``precip_mm``, ``降水量mm``, ``平均气温℃``."""


def _glued_specs() -> dict[str, FieldSpec]:
    """Header specs for names with a glued unit: per quantity and unit one spec named
    ``tmean[0.1°c]`` whose aliases are every name of the quantity joined to a spelling of the
    unit, with ``_`` or nothing between (``tmean_0.1°c``, ``平均气温0.1°c``), and whose only
    unit is that one (so the header needs no brackets and gets no "no unit" warning).
    :func:`_read_weather_table` files their columns under the quantity's name."""
    plain = {normalise_token(n) for s in WEATHER_FIELDS.values() for n in (s.name, *s.aliases)}
    out: dict[str, FieldSpec] = {}
    for field, spellings in _GLUED_UNITS.items():
        spec = WEATHER_FIELDS[field]
        names = [normalise_token(n) for n in (spec.name, *spec.aliases)]
        by_unit: dict[str, list[str]] = {}
        for spelling in spellings:
            unit = normalise_unit(spelling)
            assert unit in spec.units, (field, spelling)
            for name in names:
                for sep in ("_", ""):
                    token = f"{name}{sep}{spelling}"
                    if token not in plain:
                        by_unit.setdefault(unit, []).append(token)
        for unit, aliases in by_unit.items():
            key = f"{field}[{unit}]"
            out[key] = dataclasses.replace(
                spec, name=key, aliases=tuple(dict.fromkeys(aliases)), units={unit: spec.units[unit]},
                default_unit=unit, required=False,
            )  # fmt: skip
    return out


_HEADER_FIELDS: dict[str, FieldSpec] = {
    **{k: dataclasses.replace(s, required=False) for k, s in WEATHER_FIELDS.items()},
    **_glued_specs(),
}
"""What :func:`_read_weather_table` maps headers with: :data:`WEATHER_FIELDS` (required
columns checked afterwards, across both header forms) and the glued-unit specs."""


def _read_weather_table(run: UploadRun) -> UploadTable:
    """:func:`~mrv_service.ingest.upload.read_upload_table` with :data:`_HEADER_FIELDS`, then
    columns of glued-unit headers filed under their quantity (``tmean_degC`` -> ``tmean``);
    two columns for one quantity and a missing required column are reported as
    :func:`~mrv_service.ingest.schema.map_headers` reports them."""
    report = run.report
    table = read_upload_table(run, _HEADER_FIELDS)
    columns: dict[str, Column] = {}
    for c in sorted(table.columns.values(), key=lambda c: c.index):
        name = c.spec.name.split("[", 1)[0]
        if name in columns:
            report.error(
                None,
                c.header,
                f"a second column for {c.spec.label} (the first is {columns[name].header!r})",
                "delete one of the two columns",
            )
            continue
        columns[name] = c
    for spec in WEATHER_FIELDS.values():
        if spec.required and spec.name not in columns:
            report.error(
                None,
                None,
                f"required column {spec.name} ({spec.aliases[0]}) is missing",
                f"add a column headed {spec.name} or {spec.aliases[0]}, with its unit, e.g. "
                f"{spec.aliases[0]}({spec.default_unit})",
            )
    for i in range(len(report.issues)):  # the shared unit hint speaks of mu; give a weather example
        issue = report.issues[i]
        fix = re.sub(r"\(e\.g\. 公斤/亩[^)]*\)", "(e.g. 平均气温(℃), 降水量(0.1mm))", issue.fix)
        if fix != issue.fix:
            report.issues[i] = dataclasses.replace(issue, fix=fix)
    return dataclasses.replace(table, columns=columns)


def _check_columns(columns: dict[str, Column], report: UploadReport) -> str | None:
    """File-level column rules; returns the evaporation field (``pan_evap`` or ``pet``)."""
    has = columns.__contains__
    if not (has("date") or has("month")):
        report.error(
            None,
            None,
            "no date (日期) or month (月) column",
            "add year (年) and month (月) columns for monthly values, or a date (日期) column for daily values",
        )
    if has("year") and not has("month"):
        report.error(
            None,
            columns["year"].header,
            "a year (年) column without a month (月) column",
            "add the month column",
        )
    if has("day") and not (has("year") and has("month")):
        report.error(
            None,
            columns["day"].header,
            "a day (日) column needs year (年) and month (月) columns",
            "add them, or use one date (日期) column",
        )
    if has("pan_evap") and has("pet"):
        report.error(
            None,
            columns["pet"].header,
            f"both pan evaporation ({columns['pan_evap'].header!r}) and PET ({columns['pet'].header!r}) columns",
            "delete one of them: pan evaporation is used as it is, PET is converted to pan = PET / "
            f"{_EVAP_FACTOR:g} (RothC-26.3)",
        )
    elif not (has("pan_evap") or has("pet")):
        report.error(
            None,
            None,
            "no evaporation column",
            "add open-pan evaporation (蒸发量/pan_evap, mm) or potential evapotranspiration (潜在蒸散量/ET0/pet, mm)",
        )
    if has("lon") != has("lat"):
        have, lack = ("lon", "lat (纬度)") if has("lon") else ("lat", "lon (经度)")
        report.error(
            None, columns[have].header, f"a {have} column without a {lack} column", f"add the {lack} column"
        )
    return "pan_evap" if has("pan_evap") else "pet" if has("pet") else None


# --------------------------------------------------------------------------------------- rows


@dataclasses.dataclass
class _Obs:
    """One accepted data row: a day or a month of one station, in canonical units."""

    station: str
    kind: str
    """``day`` or ``month``."""
    period: dt.date
    """The day, or the first day of the month."""
    tmean: float
    precip: float
    evap: float
    """Open-pan evaporation [mm] (PET already converted, x :data:`PAN_PER_PET`)."""
    row: int


@dataclasses.dataclass
class _Station:
    """A station as this file describes it."""

    key: str
    first_row: int
    name: str | None = None
    name_row: int | None = None
    lon: float | None = None
    lat: float | None = None
    location_row: int | None = None


def _row_period(row: TableRow, columns: dict[str, Column], today: dt.date) -> tuple[str, dt.date] | None:
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
            f"{when.isoformat() if kind == 'day' else _fmt_month(when)} is before {FIRST_YEAR}",
            "check the year",
        )
        return None
    if kind == "day" and when > today:
        err(field, f"{when.isoformat()} is in the future", "enter observed days only")
        return None
    if kind == "month" and when > first:
        err(field, f"month {_fmt_month(when)} is in the future", "enter observed months only; check the year")
        return None
    if kind == "month" and when == first:
        err(
            field,
            f"month {_fmt_month(when)} has not ended yet",
            "upload the month after its last day, when its totals are known",
        )
        return None
    return result


def _time_column(columns: dict[str, Column], kind: str) -> str:
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
                raise ValueError(raw_year)
        except (ValueError, TypeError):
            year = None
            row.error("year", f"{raw_year!r} is not a year", "enter the year as a number, e.g. 2024")
    if is_blank(raw_month):
        row.error("month", "the month is empty", "enter the month number, 1-12")
        return year, None
    try:
        month = _small_int(raw_month, "月", _MONTH_WORDS)
        if not 1 <= month <= 12:
            raise ValueError(raw_month)
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


def _row_station(row: TableRow, columns: dict[str, Column], stations: dict[str, _Station]) -> str | None:
    """The station key of a row (``project`` without station columns); records its name and
    location in ``stations`` and reports conflicts with earlier rows."""
    cell, err = row.cell, row.error
    name = None if is_blank(cell("station_name")) else str(cell("station_name")).strip()
    if "station_id" in columns:
        key = parse_id(cell("station_id"))
        if key is None:
            err(
                "station_id",
                "the station id is empty",
                "enter the station's id (站号, e.g. 54157) on every row",
            )
            return None
    elif "station_name" in columns:
        key = name
        if key is None:
            err("station_name", "the station name is empty", "enter the station's name (站名) on every row")
            return None
    else:
        key = PROJECT_STATION
    key_field = "station_id" if "station_id" in columns else "station_name"
    for field, store_column, text in ((key_field, "station_id", key), ("station_name", "name", name)):
        limit = WeatherStation.__table__.c[store_column].type.length
        if text is not None and (len(text) > limit or "\x00" in text):
            err(
                field,
                f"{WEATHER_FIELDS[field].label} holds {len(text)} characters, more than the {limit} stored"
                if len(text) > limit
                else f"{WEATHER_FIELDS[field].label} holds a NUL character",
                f"shorten {WEATHER_FIELDS[field].label} to at most {limit} characters of plain text",
            )
            return None
    lon, lat, ok = _row_location(row, columns)
    if not ok:
        return None
    st = stations.get(key)
    if st is None:
        st = stations[key] = _Station(key, row.row_no)
    if name is not None:
        if st.name is None:
            st.name, st.name_row = name, row.row_no
        elif st.name != name:
            err(
                "station_name",
                f"station {key!r} is named {name!r} here but {st.name!r} in row {st.name_row}",
                "give each station id one name",
            )
            return None
    if lon is not None and lat is not None:
        if st.location_row is None:
            st.lon, st.lat, st.location_row = lon, lat, row.row_no
        elif not _same_location((st.lon, st.lat), (lon, lat)):
            err(
                "lon",
                f"station {key!r} is at ({_g(lon)}, {_g(lat)}) here but at ({_g(st.lon)}, {_g(st.lat)}) "  # type: ignore[arg-type]
                f"in row {st.location_row}",
                "give each station one location (lon, lat in EPSG:4326 degrees); a station that moved needs its own station_id",
            )
            return None
    return key


def _row_location(row: TableRow, columns: dict[str, Column]) -> tuple[float | None, float | None, bool]:
    """``(lon, lat, ok)`` of a row in EPSG:4326 degrees; both None when not given."""
    if "lon" not in columns:
        return None, None, True
    out: dict[str, float | None] = {}
    ok = True
    for name, limit, china in (("lon", 180.0, "73-135"), ("lat", 90.0, "18-54")):
        c = columns[name]
        try:
            value = number_cell(c, row.cell(name))
        except CellError as exc:
            row.error(name, exc.message, exc.fix)
            ok = False
            continue
        if value is not None and c.unit in _DDMM_UNITS:
            try:
                value = _round(ddmm_to_degrees(value))
            except ValueError:
                row.error(
                    name,
                    f"{_g(value)} has {_g(abs(value) % 100)} minutes in degree-minute form",
                    "write degree-minutes as DDDMM with minutes below 60 (12422 = 124°22'), or decimal degrees",
                )
                ok = False
                continue
        if value is not None and not -limit <= value <= limit:
            hint = (
                ""
                if c.unit in _DDMM_UNITS
                else f", or head the column {split_header(c.header)[0]}(度分) if these are CMA degree-minutes "
                "(12422 = 124°22')"
            )
            row.error(
                name,
                f"{_g(value)} is outside -{limit:g}..{limit:g} degrees",
                f"enter {c.spec.label} in decimal degrees, EPSG:4326 (farmland in China: about {china}){hint}",
            )
            ok = False
            continue
        out[name] = value
    if not ok:
        return None, None, False
    lon, lat = out.get("lon"), out.get("lat")
    if (lon is None) != (lat is None):
        missing = "lat" if lat is None else "lon"
        row.error(
            missing,
            f"{missing} is empty but {'lon' if lat is None else 'lat'} is given",
            "enter both lon and lat, or neither",
        )
        return None, None, False
    return lon, lat, True


def _same_location(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> bool:
    return all(
        x is not None and y is not None and abs(x - y) <= _LOCATION_TOLERANCE_DEG
        for x, y in zip(a, b, strict=True)
    )


def _row_values(
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
            f"{_g(parse_number(raw) or 0.0)} {c.unit}" if c.factor != 1.0 else f"{_g(value)} {c.spec.unit}"
        )
        if c.factor != 1.0:
            shown += f" (= {_g(value)} {c.spec.unit})"
        if name == "pet":
            value = _round(value * PAN_PER_PET)
            shown += f" (= pan evaporation {_g(value)} mm, PET / {_EVAP_FACTOR:g})"
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
                f"{per} {what} {shown} is outside the plausible range {_g(low)} to {_g(high)} {unit}",
                "check the value and the unit in the column header (CMA files store tenths: 0.1℃, 0.1mm)",
            )
            ok = False
            continue
        out[field] = value
    return out if ok else None


# --------------------------------------------------------------------------------- the ingest


def ingest_weather(
    session: Session,
    project_name: str,
    path: str | Path,
    *,
    uploaded_by: str = "cli",
    id_salt: str | None = None,
) -> UploadReport:
    """Validate a weather file and upsert its months per station.

    Parameters
    ----------
    session : Session
        Committed by the function (accepted upload, or the rejected ``Upload`` row).
    project_name : str
        Existing project.
    path : path
        CSV (UTF-8 or GB18030) or XLSX with monthly or daily rows (DATA_FORMATS.md section 5).
    uploaded_by : str
        Who uploaded it.
    id_salt : str, optional
        Unused; accepted so all ingest functions share a signature.

    Returns
    -------
    UploadReport
        ``inserted``/``updated``/``unchanged`` count station-months (:class:`WeatherMonth`);
        stations created or changed are logged, a changed location is a warning.

    Raises
    ------
    IngestError
        When any row has an error (nothing written; the upload is recorded as rejected).

    Notes
    -----
    Stored per month [canonical units]: mean air temperature [degC], precipitation [mm],
    open-pan evaporation [mm] (PET x :data:`PAN_PER_PET` when the file gave PET;
    ``evap_source`` says which), and for daily files the number of days aggregated.
    """
    del id_salt
    run = begin_upload(session, project_name, path, "weather", uploaded_by)
    if run.already_ingested:
        return run.report
    project, report = run.project, run.report
    table = _read_weather_table(run)
    columns = table.columns
    evap_field = _check_columns(columns, report)
    run.reject_if_errors()
    assert evap_field is not None
    evap_source = "pan" if evap_field == "pan_evap" else "pet"

    today = dt.date.today()
    stations: dict[str, _Station] = {}
    seen: dict[tuple[str, str, dt.date], _Obs] = {}
    obs: list[_Obs] = []
    first_of_kind: dict[str, tuple[int, dt.date]] = {}
    for row_no, values in table.rows:
        row = table.row(report, row_no, values)
        start = len(report.issues)
        station = _row_station(row, columns, stations)
        period = _row_period(row, columns, today)
        quantities = _row_values(row, columns, evap_field, period[0] if period else None)
        if any(i.severity == "error" for i in report.issues[start:]):
            continue
        assert station is not None and period is not None and quantities is not None
        kind, when = period
        first_of_kind.setdefault(kind, (row_no, when))
        o = _Obs(station, kind, when, quantities["tmean"], quantities["precip"], quantities["evap"], row_no)
        dup = seen.get((station, kind, when))
        if dup is not None:
            shown = when.isoformat() if kind == "day" else _fmt_month(when)
            where = "" if station == PROJECT_STATION else f" of station {station!r}"
            column = _time_column(columns, kind)
            if (dup.tmean, dup.precip, dup.evap) == (o.tmean, o.precip, o.evap):
                row.warning(
                    column,
                    f"repeats row {dup.row} ({shown}{where}, same values); counted once",
                    "delete the duplicate row",
                )
            else:
                row.error(
                    column,
                    f"{shown}{where} is also in row {dup.row} with other values",
                    "keep one of the two rows (correct the date of the other)",
                )
            continue
        seen[(station, kind, when)] = o
        obs.append(o)

    if len(first_of_kind) == 2:
        (m_row, m_when), (d_row, d_when) = first_of_kind["month"], first_of_kind["day"]
        later = max(m_row, d_row)
        column = columns[_time_column(columns, "day" if later == d_row else "month")].header
        report.error(
            later,
            column,
            f"row {m_row} is a monthly value ({_fmt_month(m_when)}) and row {d_row} a daily value "
            f"({d_when.isoformat()}): a file holds either monthly or daily rows",
            "upload the monthly and the daily rows as two files",
            row_label=table.labels.get(later),
        )
    run.reject_if_errors()

    months = _months(obs, evap_source, today, table, columns, report)
    _check_gaps(obs, table, columns, report)
    run.reject_if_errors()

    stored = {
        s.station_id: s
        for s in session.scalars(select(WeatherStation).where(WeatherStation.project_id == project.id))
    }
    _check_station_locations(stations, stored, columns, table, report)
    run.reject_if_errors()

    upload, _ = run.record()
    station_pk = _write_stations(session, project.id, upload.id, stations, stored, columns, table, report)
    records = []
    for rec in sorted(months, key=lambda r: (r["station"], r["month"])):
        records.append(
            {"station_pk": station_pk[rec["station"]], **{k: v for k, v in rec.items() if k != "station"}}
        )
    existing = {
        (r.station_pk, r.month): r
        for r in session.execute(
            select(
                WeatherMonth.id,
                WeatherMonth.station_pk,
                WeatherMonth.month,
                *[getattr(WeatherMonth, f) for f in _STORED],
            )
            .join(WeatherStation, WeatherMonth.station_pk == WeatherStation.id)
            .where(WeatherStation.project_id == project.id)
        )
    }
    run.upsert(WeatherMonth, records, existing, key=lambda r: (r["station_pk"], r["month"]), fields=_STORED)
    return run.finish()


def _months(
    obs: list[_Obs],
    evap_source: str,
    today: dt.date,
    table: UploadTable,
    columns: dict[str, Column],
    report: UploadReport,
) -> list[dict[str, Any]]:
    """Monthly records ``{station, month, tmean_degc, precip_mm, pan_evap_mm, evap_source, days,
    source_row}``: monthly rows as they are, daily rows aggregated over complete months."""
    out: list[dict[str, Any]] = []
    by_month: dict[tuple[str, dt.date], list[_Obs]] = {}
    for o in obs:
        if o.kind == "month":
            out.append(_record(o.station, o.period, o.tmean, o.precip, o.evap, evap_source, None, o.row))
        else:
            by_month.setdefault((o.station, o.period.replace(day=1)), []).append(o)
    column = (
        columns["date"].header if "date" in columns else columns["day"].header if "day" in columns else None
    )
    current = dt.date(today.year, today.month, 1)
    for (station, month), days in by_month.items():
        days.sort(key=lambda o: o.period)
        first_row = min(o.row for o in days)
        label = table.labels.get(first_row)
        where = "" if station == PROJECT_STATION else f" of station {station!r}"
        n_days = calendar.monthrange(month.year, month.month)[1]
        if month >= current:
            report.error(
                first_row,
                column,
                f"month {_fmt_month(month)}{where} has not ended yet ({len(days)} of {n_days} days)",
                "remove its days and upload them after the month ends",
                row_label=label,
            )
            continue
        if len(days) < n_days:
            present = {o.period for o in days}
            missing = [d for d in (month + dt.timedelta(days=k) for k in range(n_days)) if d not in present]
            report.error(
                first_row,
                column,
                f"month {_fmt_month(month)}{where} has {len(days)} of {n_days} days; missing "
                f"{_fmt_list([d.isoformat() for d in missing], 5)}",
                "fill the missing days, or upload the monthly values of this month instead",
                row_label=label,
            )
            continue
        tmean = _round(math.fsum(o.tmean for o in days) / n_days)
        precip = _round(math.fsum(o.precip for o in days))
        evap = _round(math.fsum(o.evap for o in days))
        bad = [
            (what, value, unit, low, high)
            for what, value, unit, (low, high) in (
                ("mean temperature", tmean, "degC", MONTHLY_RANGES["tmean"]),
                ("precipitation", precip, "mm", MONTHLY_RANGES["precip"]),
                ("pan evaporation", evap, "mm", MONTHLY_RANGES["pan_evap"]),
            )
            if not low <= value <= high
        ]
        for what, value, unit, low, high in bad:
            report.error(
                first_row,
                column,
                f"the {what} of month {_fmt_month(month)}{where} from its days is {_g(value)} {unit}, outside the "
                f"plausible monthly range {_g(low)} to {_g(high)} {unit}",
                "check the month's daily values and the unit in the column header",
                row_label=label,
            )
        if not bad:
            out.append(_record(station, month, tmean, precip, evap, evap_source, n_days, first_row))
    return out


def _record(
    station: str,
    month: dt.date,
    tmean: float,
    precip: float,
    evap: float,
    source: str,
    days: int | None,
    row: int,
) -> dict[str, Any]:
    return {
        "station": station,
        "month": month,
        "tmean_degc": tmean,
        "precip_mm": precip,
        "pan_evap_mm": evap,
        "evap_source": source,
        "days": days,
        "source_row": row,
    }


def _check_gaps(
    obs: list[_Obs], table: UploadTable, columns: dict[str, Column], report: UploadReport
) -> None:
    """A month missing between the first and the last month of a station is an error, reported
    on the first row of the month after the gap. A month with some of its days counts as present
    here (its missing days are reported on their own)."""
    column = next((columns[n].header for n in ("month", "date", "day") if n in columns), None)
    first_row: dict[str, dict[dt.date, int]] = {}
    for o in obs:
        rows = first_row.setdefault(o.station, {})
        month = o.period.replace(day=1)
        rows[month] = min(rows.get(month, o.row), o.row)
    for station, rows in first_row.items():
        months = sorted(rows)
        where = "" if station == PROJECT_STATION else f" of station {station!r}"
        for prev, nxt in zip(months, months[1:], strict=False):
            missing = month_range(_next_month(prev), nxt)[:-1]
            if missing:
                report.error(
                    rows[nxt],
                    column,
                    f"{len(missing)} month{'s' if len(missing) > 1 else ''}{where} missing between "
                    f"{_fmt_month(prev)} and {_fmt_month(nxt)}: {_fmt_list([_fmt_month(m) for m in missing])}",
                    "fill in the missing months (RothC needs every month)",
                    row_label=table.labels.get(rows[nxt]),
                )


def _check_station_locations(
    stations: dict[str, _Station],
    stored: dict[str, WeatherStation],
    columns: dict[str, Column],
    table: UploadTable,
    report: UploadReport,
) -> None:
    """With more than one station in the project (stored and this file), every station needs a
    location: otherwise the run cannot tell which plots a station covers."""
    keys = sorted(set(stored) | set(stations))
    if len(keys) < 2:
        return
    listed = _fmt_list([repr(k) for k in keys])
    fix_file = "add lon (经度) and lat (纬度) columns, EPSG:4326 degrees, for every station of the file"
    for key in keys:
        st, old = stations.get(key), stored.get(key)
        if (st is not None and st.location_row is not None) or (old is not None and old.lon is not None):
            continue
        if st is not None:
            column = (
                columns["lon"].header
                if "lon" in columns
                else columns["station_id"].header
                if "station_id" in columns
                else None
            )
            report.error(
                st.first_row,
                column,
                f"station {key!r} has no location, but the project would have {len(keys)} weather stations "
                f"({listed}): the run could not tell which plots it covers",
                fix_file,
                row_label=table.labels.get(st.first_row),
            )
        else:
            fix = (
                "upload the project-wide weather again with lon (经度) and lat (纬度) columns, or give this file's "
                "rows no station columns if they are the same project-wide weather"
                if key == PROJECT_STATION
                else f"upload station {key!r} again with lon (经度) and lat (纬度) columns"
            )
            report.error(
                None,
                None,
                f"stored station {key!r} (upload {old.upload_id}) has no location, but with this file the project "  # type: ignore[union-attr]
                f"would have {len(keys)} weather stations ({listed}): the run could not tell which plots it covers",
                fix,
            )


def _write_stations(
    session: Session,
    project_id: int,
    upload_id: int,
    stations: dict[str, _Station],
    stored: dict[str, WeatherStation],
    columns: dict[str, Column],
    table: UploadTable,
    report: UploadReport,
) -> dict[str, int]:
    """Insert the file's new stations, update changed names/locations; returns ``{key: pk}``."""
    for key in sorted(stations):
        st, old = stations[key], stored.get(key)
        if old is None:
            old = stored[key] = WeatherStation(
                project_id=project_id,
                station_id=key,
                name=st.name,
                lon=st.lon,
                lat=st.lat,
                upload_id=upload_id,
            )
            session.add(old)
            log.info("weather station %r created", key)
            continue
        changed = False
        if st.location_row is not None and not _same_location((old.lon, old.lat), (st.lon, st.lat)):
            if old.lon is not None:
                report.warning(
                    st.location_row,
                    columns["lon"].header,
                    f"station {key!r} was stored at ({_g(old.lon)}, {_g(old.lat)}) (upload {old.upload_id}); "  # type: ignore[arg-type]
                    f"its location is now ({_g(st.lon)}, {_g(st.lat)}) for all its months",  # type: ignore[arg-type]
                    "if the station moved, give the new site its own station_id",
                    row_label=table.labels.get(st.location_row),
                )
            old.lon, old.lat, changed = st.lon, st.lat, True
        if st.name is not None and st.name != old.name:
            old.name, changed = st.name, True
        if changed:
            old.upload_id = upload_id
            log.info("weather station %r updated", key)
    session.flush()
    return {key: stored[key].id for key in stations}
