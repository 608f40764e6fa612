"""The columns of a weather file: field specs, header units, plausibility bounds, PET to pan.

What :func:`mrv_service.ingest.weather.ingest_weather` knows of the file's columns (DATA_FORMATS.md
section 5): the field specs and their header units, the glued-unit headers, reading the table
and the file-level column rules, the plausibility bounds, and the rounding and formatting of
numbers shared by the weather ingest's modules.

Canonical units: temperature [degC], precipitation and pan evaporation [mm per month]. Header
units in brackets are converted (``平均气温(0.1℃)``, ``降水量(0.1mm)``, ``precip (cm)``); a unit
glued to the name with an underscore or directly (``tmean_degC``, ``precip_mm``, ``降水量mm``)
is read as if it were in brackets, so the sample county's ``weather_monthly.csv`` columns
``year, month, tmean_degC, precip_mm, pan_evap_mm`` are understood as written.

PET is converted to open-pan evaporation: RothC-26.3 takes open-pan evaporation E and uses
0.75 E as the evaporative demand of the topsoil moisture deficit (Coleman & Jenkinson, RothC-26.3
guide, section 2.3; RothC.for:232), so pan = PET / 0.75 (:data:`PAN_PER_PET`, from
:attr:`models.rothc.RothCParameters.evap_factor`, the one home of the factor).

Plausibility bounds (:data:`MONTHLY_RANGES`, :data:`DAILY_RANGES`) are rejection thresholds for
typing and unit mistakes chosen for this service (not literature values), like those of
:mod:`mrv_service.ingest.fields`; a value in tenths read as whole units overshoots them tenfold.
"""

from __future__ import annotations

import dataclasses
import re

from models.rothc import RothCParameters
from mrv_service.ingest.fields import Column, FieldSpec
from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.units import normalise_unit
from mrv_service.ingest.upload import UploadRun, UploadTable, read_upload_table
from mrv_service.ingest.vocabularies import normalise_token

__all__ = [
    "WEATHER_FIELDS",
    "EVAP_FACTOR",
    "PAN_PER_PET",
    "MONTHLY_RANGES",
    "DAILY_RANGES",
    "FIRST_YEAR",
    "DDMM_UNITS",
    "read_weather_table",
    "check_columns",
    "round_stored",
    "fmt_number",
    "fmt_list",
]


EVAP_FACTOR = RothCParameters().evap_factor
"""RothC-26.3 ``evap_factor`` [1], read from :attr:`models.rothc.RothCParameters.evap_factor`."""
PAN_PER_PET = 1.0 / EVAP_FACTOR
"""Open-pan evaporation per unit PET [1]: RothC-26.3 multiplies open-pan evaporation by
``evap_factor`` = 0.75 to get the evaporative demand (Coleman & Jenkinson 2014, RothC-26.3
guide, section 2.3; RothC.for:232), so a PET given by the user is stored as pan = PET / 0.75
and the model's 0.75 x pan gives the PET back."""

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
DDMM_UNITS = ("ddmm", "度分")
"""Header units marking CMA degree-minute coordinates (``4326`` = 43°26')."""

_SPECS = (
    FieldSpec("station_id", ("站号", "台站号", "区站号", "站点编号", "station", "station_code", "stationid"),
              label="the station id"),
    FieldSpec("station_name", ("站名", "台站名称", "站点名称", "台站名", "station_nam"), label="the station name"),
    FieldSpec("lon", ("经度", "longitude", "long"), kind="number", label="the longitude", unit="degree_east",
              units={**_DEGREE_UNITS, "°e": 1.0, "degree_east": 1.0, **dict.fromkeys(DDMM_UNITS, 1.0)}),
    FieldSpec("lat", ("纬度", "latitude"), kind="number", label="the latitude", unit="degree_north",
              units={**_DEGREE_UNITS, "°n": 1.0, "degree_north": 1.0, **dict.fromkeys(DDMM_UNITS, 1.0)}),
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
``high``: the monthly and daily bounds differ and are checked by
:func:`~mrv_service.ingest.weather.ingest_weather`."""


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
    :func:`read_weather_table` files their columns under the quantity's name."""
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
"""What :func:`read_weather_table` maps headers with: :data:`WEATHER_FIELDS` (required
columns checked afterwards, across both header forms) and the glued-unit specs."""


def read_weather_table(run: UploadRun) -> UploadTable:
    """:func:`~mrv_service.ingest.upload.read_upload_table` with :data:`_HEADER_FIELDS`, then
    columns of glued-unit headers filed under their quantity (``tmean_degC`` -> ``tmean``);
    two columns for one quantity and a missing required column are reported as
    :func:`~mrv_service.ingest.headers.map_headers` reports them."""
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


def check_columns(columns: dict[str, Column], report: UploadReport) -> str | None:
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
            f"{EVAP_FACTOR:g} (RothC-26.3)",
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


# ------------------------------------------------------------------ numbers as stored and shown


def round_stored(x: float) -> float:
    """9 significant digits, as :func:`~mrv_service.ingest.cells.number_cell` stores values."""
    return float(f"{x:.9g}")


def fmt_number(x: float) -> str:
    """``x`` to 6 significant digits, for messages."""
    return f"{x:.6g}"


def fmt_list(items: list[str], limit: int = 6) -> str:
    """The first ``limit`` items joined by commas, and how many in all when there are more."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} ... ({len(items)} in all)"
