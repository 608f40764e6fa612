"""Cells: what a table cell holds, parsed into a value of its field.

Parsers for ids, numbers, dates and vocabulary codes; :func:`number_cell` converts a number to its
field's canonical unit and checks it against the field's plausible range and floor
(:class:`~mrv_service.ingest.fields.FieldSpec`); :func:`text_cell` checks text against the size of
the store column it goes to. An XLSX formula without a computed value arrives as a
:class:`FormulaCell`.

Text written to a store column of limited size is checked against that size, read from the
SQLAlchemy model (:func:`stored_length`, :func:`text_cell`), so that PostgreSQL (which would
raise) and SQLite (which would keep any length) behave alike.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import MRVError
from mrv_service.ingest.fields import Column
from mrv_service.ingest.vocabularies import normalise_token, vocabulary_hint

__all__ = [
    "CellValueError",
    "UnknownSpellingError",
    "CellError",
    "FormulaCell",
    "is_blank",
    "column_name",
    "parse_id",
    "parse_id_column",
    "text_column",
    "oversized_cells",
    "parse_number",
    "parse_date",
    "parse_enum",
    "EXCEL_EPOCH",
    "EXCEL_SERIAL_RANGE",
    "number_cell",
    "stored_length",
    "text_cell",
]

_NUMBER_FIX = "enter a number, e.g. 12.5 or 1,234.5 (a unit belongs in the column header)"
_DATE_FIX = "write dates as YYYY-MM-DD (e.g. 2024-05-01), YYYY/MM/DD or 2024年5月1日"


class CellValueError(MRVError, ValueError):
    """A cell does not hold a value of the expected kind (a number, a date, a month, a coordinate).

    Raised by the cell parsers: :func:`parse_number`, :func:`parse_date`, the month parsers
    (:mod:`~mrv_service.ingest.months`, :mod:`~mrv_service.ingest.weather_rows`) and the
    degree-minute coordinates (:mod:`~mrv_service.ingest.weather_stations`). It is a ``ValueError``:
    their callers catch that and report the row with their own message. ``value`` is the cell as
    read, ``expected`` the kind of value it should hold and ``fix`` what to enter.
    """

    def __init__(self, value: Any, expected: str, fix: str):
        super().__init__(f"{value!r} is not {expected}; {fix}")
        self.value = value
        self.expected = expected
        self.fix = fix


class UnknownSpellingError(MRVError, KeyError):
    """A cell holds a spelling that its vocabulary does not know (raised by :func:`parse_enum`).

    ``value`` is the cell as read; the message lists the accepted codes.
    """

    def __init__(self, value: Any, vocabulary: Mapping[str, str]):
        super().__init__(f"{value!r} is not a known spelling; use one of {vocabulary_hint(vocabulary)}")
        self.value = value

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class CellError(MRVError, ValueError):
    """A cell's value is unusable; ``message`` quotes it and ``fix`` says what to enter."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message = message
        self.fix = fix


class FormulaCell:
    """An XLSX cell holding a formula without a computed (cached) value.

    A workbook written by a program (openpyxl, pandas) and never opened in a spreadsheet program
    stores formulas only; reading it with ``data_only=True`` gives None, as if the cell were empty.
    :func:`~mrv_service.ingest.tables.read_table` puts this object in such cells instead; :func:`number_cell` rejects it and
    :func:`~mrv_service.ingest.upload.read_upload_table` reports it for the row.
    """

    __slots__ = ("cell", "formula")

    def __init__(self, cell: str, formula: str):
        self.cell = cell
        """Cell reference, e.g. ``D5``."""
        self.formula = formula
        """The formula as written, with its ``=``."""

    @property
    def message(self) -> str:
        return f"cell {self.cell} holds the formula {self.formula} but no computed value"

    fix = "open and save the file in Excel or WPS (which computes the formulas), or paste the values"

    def __repr__(self) -> str:
        return f"FormulaCell({self.cell!r}, {self.formula!r})"

    def __str__(self) -> str:
        return self.formula


def is_blank(value: Any) -> bool:
    """True for None, NaN and whitespace-only strings."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def column_name(index: int) -> str:
    """Spreadsheet column letter of a 0-based column index (0 -> ``A``, 27 -> ``AB``)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def parse_id(value: Any) -> str | None:
    """An id cell (plot, farmer, sample) as text; ``None`` for a blank cell.

    Integers that a spreadsheet or GDAL delivered as floats (``1001.0``) or numpy integers lose
    their ``.0``/type, so ``1001`` and ``"1001"`` name the same record.
    """
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, np.integer):
        value = int(value)
    return str(value).strip()


def _all_text(values: Sequence[Any]) -> bool:
    """Every cell is text or empty (``None``)."""
    return set(map(type, values)) <= {str, type(None)}


def parse_id_column(values: Sequence[Any]) -> list[str | None]:
    """:func:`parse_id` of every cell of a column.

    A column of text and empty cells (what GDAL gives for a string attribute) is stripped in one pass, without
    :func:`parse_id`'s per-cell type checks (about 1 s for the two id columns of 100,000 plots);
    any other column goes cell by cell. The results are the same.
    """
    if _all_text(values):
        return [v.strip() or None if v is not None else None for v in values]
    return [parse_id(v) for v in values]


def text_column(values: Sequence[Any]) -> list[str | None]:
    """Every cell of a text column stripped; ``None`` for a blank cell (:func:`is_blank`)."""
    if _all_text(values):
        return [v.strip() or None if v is not None else None for v in values]
    return [None if is_blank(v) else str(v).strip() for v in values]


def parse_number(value: Any) -> float | None:
    """Parse a number from a cell (``None`` for a blank cell).

    Accepts ints/floats, full-width digits, thousands separators (``1,234.5``) and a trailing
    ``%`` (returned as the number before it; the caller knows the unit).

    Raises
    ------
    CellValueError
        When the cell is not a (finite) number; a ``ValueError``.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellValueError(value, "a number", "enter the number itself, not TRUE or FALSE")
    if isinstance(value, int | float):
        x = float(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().rstrip("%").strip()
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", text):
            text = text.replace(",", "")
        try:
            x = float(text)
        except ValueError:
            raise CellValueError(value, "a number", _NUMBER_FIX) from None
    if not math.isfinite(x):
        raise CellValueError(value, "a finite number", _NUMBER_FIX)
    return x


EXCEL_EPOCH = dt.date(1899, 12, 30)
"""Day 0 of spreadsheet serial dates (1900 date system as Excel and LibreOffice count it)."""
EXCEL_SERIAL_RANGE = (29_221, 73_051)
"""Serial numbers read as dates when a date cell holds a bare number: 1980-01-01 to 2099-12-31."""

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: .*)?$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value: Any) -> dt.date | None:
    """Parse a date cell: ISO ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY年M月D日``, a spreadsheet date
    or a bare spreadsheet serial number (:data:`EXCEL_SERIAL_RANGE`).

    Returns None for a blank cell; raises :class:`CellValueError` (a ``ValueError``) otherwise when
    not a valid date.
    """
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and EXCEL_SERIAL_RANGE[0] <= value <= EXCEL_SERIAL_RANGE[1]
    ):
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return dt.date(y, mo, d)  # ValueError for 2024-02-30
            except ValueError as exc:
                raise CellValueError(value, f"a valid date ({exc})", _DATE_FIX) from None
    raise CellValueError(value, "a date", _DATE_FIX)


def parse_enum(value: Any, vocabulary: Mapping[str, str]) -> str | None:
    """Canonical code of a cell (None for blank); raises :class:`UnknownSpellingError` (a
    ``KeyError``) for an unknown spelling."""
    if is_blank(value):
        return None
    try:
        return vocabulary[normalise_token(value)]
    except KeyError:
        raise UnknownSpellingError(value, vocabulary) from None


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def number_cell(column: Column, raw: Any, area_ha: float | None = None) -> float | None:
    """Parse a numeric cell and convert it to the field's canonical unit.

    Parameters
    ----------
    column : Column
        The mapped column (its header unit and factor).
    raw : cell value
    area_ha : float, optional
        Plot area [ha]: needed for per-area units of per-plot fields (diesel in L/ha), and used
        to judge a per-plot amount (diesel in L) per hectare.

    Returns
    -------
    float or None
        The value in the canonical unit (None for a blank cell), rounded to 9 significant digits
        so that the same number gives the same stored value whatever the file type.

    Raises
    ------
    CellError
        Not a number (or an XLSX formula without a computed value), outside the plausible range,
        zero where zero is impossible, or positive but below the field's floor
        (:attr:`FieldSpec.min_positive`, a likely unit mistake).
    """
    spec = column.spec
    if isinstance(raw, FormulaCell):
        raise CellError(raw.message, raw.fix)
    try:
        value = parse_number(raw)
    except ValueError:
        raise CellError(
            f"{raw!r} is not a number", f"enter {spec.label} as a number in {column.unit or spec.unit}"
        ) from None
    if value is None:
        return None
    factor = column.factor
    if isinstance(raw, str) and raw.strip().endswith(("%", "％")) and "%" in spec.units:
        factor = spec.units["%"]
    canonical = value * factor
    per_ha = canonical
    per = " per ha" if spec.per_area else ""
    if column.per_area:
        if area_ha is None:  # pragma: no cover - callers pass the area
            raise CellError(
                f"{raw!r} is per area but the plot area is unknown", "give the amount per plot in L"
            )
        canonical = canonical * area_ha
    elif spec.per_area and area_ha:
        per_ha = canonical / area_ha  # a per-plot amount (diesel in L), judged per hectare
    shown = f"{_fmt(value)} {column.unit}" if column.unit else _fmt(value)
    if spec.per_area and not column.per_area and area_ha:
        converted = f" (= {_fmt(per_ha)} {spec.unit} per ha on this {_fmt(area_ha)} ha plot)"
    else:
        converted = f" (= {_fmt(per_ha)} {spec.unit})" if factor != 1.0 else ""
    if spec.low is not None and spec.high is not None and not (spec.low <= per_ha <= spec.high):
        raise CellError(
            f"{shown}{converted} is outside the plausible range {_fmt(spec.low)}-{_fmt(spec.high)} {spec.unit}{per}",
            "check the value and the unit in the column header",
        )
    if per_ha == 0.0 and not spec.zero_ok:
        raise CellError(
            f"{shown} is not a possible value of {spec.label}",
            f"enter the measured value in {column.unit or spec.unit}, or leave the cell empty",
        )
    if spec.min_positive is not None and 0.0 < per_ha < spec.min_positive:
        hint = f" (most often {spec.floor_hint})" if spec.floor_hint else ""
        raise CellError(
            f"{shown}{converted} is below {_fmt(spec.min_positive)} {spec.unit}{per}, the smallest "
            f"plausible value of {spec.label}: likely a unit mistake{hint}",
            "check the value and the unit in the column header",
        )
    return float(f"{canonical:.9g}")


def stored_length(model: type, column: str) -> int | None:
    """The size of a store column (``String(n)``) in characters; None when unbounded (Text, JSON).

    Parameters
    ----------
    model : SQLAlchemy model class
        E.g. :class:`~mrv_service.store.models.Farmer`.
    column : str
        Column name, e.g. ``name``.

    Examples
    --------
    >>> from mrv_service.store.models import Farmer
    >>> stored_length(Farmer, "name")
    200
    """
    return getattr(model.__table__.c[column].type, "length", None)


def text_cell(raw: Any, label: str, limit: int | None) -> str | None:
    """A text cell, stripped, checked against the size of the store column it is written to.

    PostgreSQL refuses a longer string (DataError) and any NUL character; SQLite keeps both. The
    check makes both stores behave alike and the upload report say which field is too long.

    Parameters
    ----------
    raw : cell value
    label : str
        How messages name the field, e.g. ``the farmer's name``.
    limit : int or None
        Longest text [characters]: :func:`stored_length` of the column, or
        :attr:`FieldSpec.max_length` for text kept inside JSON; None for no limit.

    Returns
    -------
    str or None
        None for a blank cell.

    Raises
    ------
    CellError
        Longer than ``limit`` (naming its length and the limit), or holding a NUL character.
    """
    if is_blank(raw):
        return None
    text = str(raw).strip()
    if "\x00" in text:
        raise CellError(
            f"{label} holds a NUL character (0x00), which the store cannot keep",
            "delete the control character (it often comes from a UTF-16 or binary export) and save as UTF-8",
        )
    if limit is not None and len(text) > limit:
        start = text[:20] + "..."
        raise CellError(
            f"{label} ({start!r}) is {len(text):,} characters long; the store keeps at most {limit}",
            f"shorten it to at most {limit} characters",
        )
    return text


def oversized_cells(
    values: Sequence[str | None], label: str, limit: int | None
) -> list[tuple[int, CellError]]:
    """The cells of a parsed text column (:func:`text_column`, :func:`parse_id_column`) that
    :func:`text_cell` refuses, as ``(index, error)``; the column is scanned in one pass and only
    those cells are checked one by one."""
    out = []
    for i in [
        k
        for k, v in enumerate(values)
        if v is not None and ("\x00" in v or (limit is not None and len(v) > limit))
    ]:
        try:
            text_cell(values[i], label, limit)
        except CellError as exc:
            out.append((i, exc))
    return out
