"""Filters of a STAC search: datetime ranges, the bbox, and the client-side filter of parsed items.

The same filter semantics hold for a STAC API and a static catalog (:mod:`geodata.stac`): every
filter is applied again on the client to the parsed items (:class:`geodata.items.ParsedItem`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import Any

import shapely

from geodata.errors import ImageryRequestError
from geodata.items import ParsedItem

__all__ = ["parse_datetime_range"]


def _parse_instant(text: str, end: bool) -> dt.datetime:
    t = text.strip()
    try:
        if len(t) == 4:
            y = int(t)
            return (
                dt.datetime(y, 12, 31, 23, 59, 59, 999999, dt.UTC)
                if end
                else dt.datetime(y, 1, 1, tzinfo=dt.UTC)
            )
        if len(t) == 7:
            y, m = (int(v) for v in t.split("-"))
            if end:
                return dt.datetime(y, m, calendar.monthrange(y, m)[1], 23, 59, 59, 999999, dt.UTC)
            return dt.datetime(y, m, 1, tzinfo=dt.UTC)
        if len(t) == 10:
            d = dt.date.fromisoformat(t)
            return dt.datetime.combine(d, dt.time.max if end else dt.time.min, dt.UTC)
        v = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ImageryRequestError(
            f"datetime {text!r} is not ISO 8601; use e.g. '2024-05', '2024-05-01', "
            "'2024-05-01T00:00:00Z' or a range 'start/end' (open ends as '..')"
        ) from exc
    return v if v.tzinfo else v.replace(tzinfo=dt.UTC)


def _as_instant(v: Any, end: bool) -> dt.datetime | None:
    if v is None or (isinstance(v, str) and v.strip() in ("", "..")):
        return None
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=dt.UTC)
    if isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time.max if end else dt.time.min, dt.UTC)
    return _parse_instant(str(v), end)


def parse_datetime_range(value: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Normalise a STAC ``datetime`` argument to an inclusive UTC interval.

    Parameters
    ----------
    value : str, datetime, date, or pair of them, or None
        Same forms as pystac-client: ``"2024"``, ``"2024-05"``, ``"2024-05-01"`` (the whole
        year/month/day), ``"a/b"`` with ``..`` for an open end, or ``(a, b)``.

    Returns
    -------
    tuple
        ``(start, end)``, tz-aware UTC, either may be None (open).

    Raises
    ------
    geodata.errors.ImageryRequestError
        (a :class:`ValueError`) If a time is not ISO 8601 or a pair does not have two ends.

    Examples
    --------
    >>> s, e = parse_datetime_range("2024-02")
    >>> s.isoformat(), e.date().isoformat()
    ('2024-02-01T00:00:00+00:00', '2024-02-29')
    """
    if value is None:
        return None, None
    if isinstance(value, str):
        if "/" in value:
            a, b = value.split("/", 1)
            return _as_instant(a, False), _as_instant(b, True)
        return _as_instant(value, False), _as_instant(value, True)
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ImageryRequestError(
                f"datetime range {value!r} must have two ends (start, end); pass a pair, with None or "
                "'..' for an open end"
            )
        return _as_instant(value[0], False), _as_instant(value[1], True)
    return _as_instant(value, False), _as_instant(value, True)


def _normalise_bbox(bbox: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    b = tuple(float(v) for v in bbox)
    if len(b) != 4 or b[0] > b[2] or b[1] > b[3]:
        raise ImageryRequestError(
            f"bbox {bbox!r} must be (min_lon, min_lat, max_lon, max_lat) in EPSG:4326 degrees"
        )
    return b  # type: ignore[return-value]


def _drop_reason(
    item: ParsedItem,
    collections: set[str] | None,
    bbox: tuple[float, float, float, float] | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    ids: set[str] | None,
    max_cloud_cover: float | None,
) -> str | None:
    """The first filter an item fails (``collection``, ``ids``, ``datetime``, ``bbox``,
    ``cloud_cover``), or None if it passes them all."""
    if collections is not None and item.collection not in collections:
        return "collection"
    if ids is not None and item.id not in ids:
        return "ids"
    if start is not None and item.datetime < start:
        return "datetime"
    if end is not None and item.datetime > end:
        return "datetime"
    if bbox is not None:
        if not shapely.intersects(item.geometry, shapely.box(*bbox)):
            return "bbox"
    # items without eo:cloud_cover are kept: the SCL mask still screens their pixels
    if max_cloud_cover is not None and item.cloud_cover is not None and item.cloud_cover > max_cloud_cover:
        return "cloud_cover"
    return None


def _fmt_instant(v: dt.datetime | None) -> str:
    return ".." if v is None else v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_filters(collections, bbox, start, end, ids, max_cloud_cover) -> str:
    parts = [f"collections {list(collections)}" if collections else "all collections"]
    if bbox is not None:
        parts.append("bbox (" + ", ".join(f"{v:.5f}" for v in bbox) + ")")
    parts.append(
        "any date" if start is None and end is None else f"dates {_fmt_instant(start)}/{_fmt_instant(end)}"
    )
    parts.append("no cloud limit" if max_cloud_cover is None else f"cloud <= {max_cloud_cover:g} %")
    if ids:
        parts.append(f"ids {list(ids)[:5]}{' ...' if len(ids) > 5 else ''}")
    return ", ".join(parts)
