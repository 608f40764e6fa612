"""Ingest monthly or daily weather (CSV or XLSX) as the RothC-26.3 climate forcing per station.

DATA_FORMATS.md section 5. A file holds either monthly rows (``year`` + ``month``, or one
``month`` column as ``YYYY-MM``) or daily rows (``date``, or ``year`` + ``month`` + ``day``)
with the mean air temperature, the precipitation and either open-pan evaporation or potential
evapotranspiration (PET). Daily rows are aggregated to calendar months (temperature: the mean of
the days; precipitation and evaporation: the sums) and a month counts only when every calendar
day is present. Months are stored per station on the natural key (station, month), so the same
months again change nothing and a month with other values is updated.

Its parts: the columns, their units, PET to pan and the plausibility bounds in
:mod:`mrv_service.ingest.weather_fields`; calendar months in :mod:`mrv_service.ingest.months`;
the day or month and the quantities of a data row in :mod:`mrv_service.ingest.weather_rows`;
the station of a row and the location rule in :mod:`mrv_service.ingest.weather_stations`. This
module runs the upload: it aggregates daily rows to months, checks for missing months and writes
the stations and months.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import logging
import math
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mrv_service.ingest.fields import Column
from mrv_service.ingest.months import fmt_month, month_range, month_start, next_month, parse_month
from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.upload import UploadTable, begin_upload
from mrv_service.ingest.weather_fields import (
    DAILY_RANGES,
    FIRST_YEAR,
    MONTHLY_RANGES,
    PAN_PER_PET,
    WEATHER_FIELDS,
    check_columns,
    fmt_list,
    fmt_number,
    read_weather_table,
    round_stored,
)
from mrv_service.ingest.weather_rows import row_period, row_values, time_column
from mrv_service.ingest.weather_stations import (
    PROJECT_STATION,
    Station,
    check_station_locations,
    ddmm_to_degrees,
    row_station,
    same_location,
)
from mrv_service.store.models import WeatherMonth, WeatherStation

__all__ = [  # all but ingest_weather live in the modules imported above and are re-exported
    "WEATHER_FIELDS",
    "PAN_PER_PET",
    "MONTHLY_RANGES",
    "DAILY_RANGES",
    "FIRST_YEAR",
    "PROJECT_STATION",
    "ingest_weather",
    "month_start",
    "month_range",
    "ddmm_to_degrees",
    "parse_month",
]


log = logging.getLogger(__name__)

_STORED = ("tmean_degc", "precip_mm", "pan_evap_mm", "evap_source", "days")
"""WeatherMonth fields compared on re-upload (anything else differing is not a change)."""


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
    table = read_weather_table(run)
    columns = table.columns
    evap_field = check_columns(columns, report)
    run.reject_if_errors()
    assert evap_field is not None
    evap_source = "pan" if evap_field == "pan_evap" else "pet"

    today = dt.date.today()
    stations: dict[str, Station] = {}
    seen: dict[tuple[str, str, dt.date], _Obs] = {}
    obs: list[_Obs] = []
    first_of_kind: dict[str, tuple[int, dt.date]] = {}
    for row_no, values in table.rows:
        row = table.row(report, row_no, values)
        start = len(report.issues)
        station = row_station(row, columns, stations)
        period = row_period(row, columns, today)
        quantities = row_values(row, columns, evap_field, period[0] if period else None)
        if any(i.severity == "error" for i in report.issues[start:]):
            continue
        assert station is not None and period is not None and quantities is not None
        kind, when = period
        first_of_kind.setdefault(kind, (row_no, when))
        o = _Obs(station, kind, when, quantities["tmean"], quantities["precip"], quantities["evap"], row_no)
        dup = seen.get((station, kind, when))
        if dup is not None:
            shown = when.isoformat() if kind == "day" else fmt_month(when)
            where = "" if station == PROJECT_STATION else f" of station {station!r}"
            column = time_column(columns, kind)
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
        column = columns[time_column(columns, "day" if later == d_row else "month")].header
        report.error(
            later,
            column,
            f"row {m_row} is a monthly value ({fmt_month(m_when)}) and row {d_row} a daily value "
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
    check_station_locations(stations, stored, columns, table, report)
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
                f"month {fmt_month(month)}{where} has not ended yet ({len(days)} of {n_days} days)",
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
                f"month {fmt_month(month)}{where} has {len(days)} of {n_days} days; missing "
                f"{fmt_list([d.isoformat() for d in missing], 5)}",
                "fill the missing days, or upload the monthly values of this month instead",
                row_label=label,
            )
            continue
        tmean = round_stored(math.fsum(o.tmean for o in days) / n_days)
        precip = round_stored(math.fsum(o.precip for o in days))
        evap = round_stored(math.fsum(o.evap for o in days))
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
                f"the {what} of month {fmt_month(month)}{where} from its days is {fmt_number(value)} {unit}, outside the "
                f"plausible monthly range {fmt_number(low)} to {fmt_number(high)} {unit}",
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
            missing = month_range(next_month(prev), nxt)[:-1]
            if missing:
                report.error(
                    rows[nxt],
                    column,
                    f"{len(missing)} month{'s' if len(missing) > 1 else ''}{where} missing between "
                    f"{fmt_month(prev)} and {fmt_month(nxt)}: {fmt_list([fmt_month(m) for m in missing])}",
                    "fill in the missing months (RothC needs every month)",
                    row_label=table.labels.get(rows[nxt]),
                )


def _write_stations(
    session: Session,
    project_id: int,
    upload_id: int,
    stations: dict[str, Station],
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
        if st.location_row is not None and not same_location((old.lon, old.lat), (st.lon, st.lat)):
            if old.lon is not None:
                report.warning(
                    st.location_row,
                    columns["lon"].header,
                    f"station {key!r} was stored at ({fmt_number(old.lon)}, {fmt_number(old.lat)}) (upload {old.upload_id}); "  # type: ignore[arg-type]
                    f"its location is now ({fmt_number(st.lon)}, {fmt_number(st.lat)}) for all its months",  # type: ignore[arg-type]
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
