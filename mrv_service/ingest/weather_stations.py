"""Weather stations of an upload: the station of each row, its location, the location rule.

Stations: a file without station columns is project-wide weather (station ``project``). With a
``station_id`` (站号) column, or only a ``station_name`` (站名) column, every row names its
station; ``lon``/``lat`` (经度/纬度) give its location in EPSG:4326 degrees, or in the CMA
station-catalogue degree-minute form when the header says so (``经度(度分)``: 12422 = 124°22').
A station without a location is an error once the project has more than one station, because
the run could not tell which plots it covers.

The stations are written by :func:`mrv_service.ingest.weather.ingest_weather`.
"""

from __future__ import annotations

import dataclasses

from mrv_service.ingest.cells import CellError, CellValueError, is_blank, number_cell, parse_id
from mrv_service.ingest.fields import Column
from mrv_service.ingest.headers import split_header
from mrv_service.ingest.report import UploadReport
from mrv_service.ingest.upload import TableRow, UploadTable
from mrv_service.ingest.weather_fields import DDMM_UNITS, WEATHER_FIELDS, fmt_list, fmt_number, round_stored
from mrv_service.store.models import WeatherStation

__all__ = [
    "PROJECT_STATION",
    "Station",
    "row_station",
    "same_location",
    "ddmm_to_degrees",
    "check_station_locations",
]


PROJECT_STATION = "project"
"""``station_id`` of project-wide weather (a file without station columns)."""

_LOCATION_TOLERANCE_DEG = 1e-6
"""Two locations of a station closer than this [degree] are the same (about 0.1 m)."""


@dataclasses.dataclass
class Station:
    """A station as this file describes it."""

    key: str
    first_row: int
    name: str | None = None
    name_row: int | None = None
    lon: float | None = None
    lat: float | None = None
    location_row: int | None = None


def row_station(row: TableRow, columns: dict[str, Column], stations: dict[str, Station]) -> str | None:
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
        st = stations[key] = Station(key, row.row_no)
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
        elif not same_location((st.lon, st.lat), (lon, lat)):
            err(
                "lon",
                f"station {key!r} is at ({fmt_number(lon)}, {fmt_number(lat)}) here but at ({fmt_number(st.lon)}, {fmt_number(st.lat)}) "  # type: ignore[arg-type]
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
        if value is not None and c.unit in DDMM_UNITS:
            try:
                value = round_stored(ddmm_to_degrees(value))
            except ValueError:
                row.error(
                    name,
                    f"{fmt_number(value)} has {fmt_number(abs(value) % 100)} minutes in degree-minute form",
                    "write degree-minutes as DDDMM with minutes below 60 (12422 = 124°22'), or decimal degrees",
                )
                ok = False
                continue
        if value is not None and not -limit <= value <= limit:
            hint = (
                ""
                if c.unit in DDMM_UNITS
                else f", or head the column {split_header(c.header)[0]}(度分) if these are CMA degree-minutes "
                "(12422 = 124°22')"
            )
            row.error(
                name,
                f"{fmt_number(value)} is outside -{limit:g}..{limit:g} degrees",
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


def same_location(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> bool:
    """Whether two ``(lon, lat)`` are both given and within :data:`_LOCATION_TOLERANCE_DEG`."""
    return all(
        x is not None and y is not None and abs(x - y) <= _LOCATION_TOLERANCE_DEG
        for x, y in zip(a, b, strict=True)
    )


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
        raise CellValueError(
            value,
            "a degree-minute coordinate (its minutes, the last two digits, are 60 or more)",
            "write degree-minutes as DDDMM with minutes below 60 (12422 = 124°22'), or decimal degrees",
        )
    return sign * (degrees + minutes / 60.0)


def check_station_locations(
    stations: dict[str, Station],
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
    listed = fmt_list([repr(k) for k in keys])
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
