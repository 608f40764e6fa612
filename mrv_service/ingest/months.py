"""Calendar months for the weather ingest: month cells, month names, month arithmetic, ``YYYY-MM``.

A month is the :class:`datetime.date` of its first day.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

import numpy as np

from mrv_service.ingest.cells import CellValueError, is_blank, parse_date

__all__ = ["MONTH_WORDS", "month_start", "next_month", "month_range", "parse_month", "fmt_month"]


MONTH_WORDS = {
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
            raise CellValueError(
                value, "a month", "write it as YYYY-MM or YYYY-MM-DD (e.g. 2024-05)"
            ) from None
        return month


def next_month(m: dt.date) -> dt.date:
    """The first day of the month after ``m`` (a first day)."""
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
        m = next_month(m)
    return out


_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})\s*[-/]\s*(\d{1,2})\s*[-/]\s*0?1$"),
)
_MONTH_FIX = "write the month as YYYY-MM (e.g. 2024-05), YYYY/MM, 2024年5月 or YYYYMM"


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
            raise CellValueError(
                value, "a month (a date on the 1st)", "write the month as YYYY-MM (e.g. 2024-05)"
            )
        return value
    if isinstance(value, bool):
        raise CellValueError(value, "a month", _MONTH_FIX)
    if isinstance(value, float):
        if not value.is_integer():
            raise CellValueError(
                value, "a month", "write it as YYYYMM (2024.1 could be January or October) or YYYY-MM"
            )
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for pattern in _MONTH_PATTERNS:
        m = pattern.match(text)
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            try:
                return dt.date(year, month, 1)  # ValueError for month 13
            except ValueError:
                raise CellValueError(value, "a month", _MONTH_FIX) from None
    raise CellValueError(value, "a month", _MONTH_FIX)


def fmt_month(m: dt.date) -> str:
    """``YYYY-MM`` of a month."""
    return f"{m.year:04d}-{m.month:02d}"
