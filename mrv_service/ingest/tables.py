"""The table reader: a CSV or XLSX upload as a header row and numbered data rows.

:func:`read_table` reads CSV or XLSX keeping the row numbers a spreadsheet shows (header = 1);
a file that cannot be read as a table raises :class:`TableError`. CSV is decoded (UTF-8, UTF-16
with a BOM, GB18030) and its quoting read strictly, so an unclosed quote is reported with the
row where it opens instead of swallowing the rows below it; XLSX formula cells without a
computed value are found by :mod:`~mrv_service.ingest.xlsx_formulas`.
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from pathlib import Path
from typing import Any

from models.errors import MRVError
from mrv_service.ingest.cells import column_name, is_blank
from mrv_service.ingest.vocabularies import normalise_token
from mrv_service.ingest.xlsx_formulas import xlsx_formula_cells

__all__ = ["read_table", "TableError", "CSV_FIELD_LIMIT"]


class TableError(MRVError, ValueError):
    """A file cannot be read as a table (raised by :func:`read_table`, turned into a report error).

    ``message`` says what is wrong and ``fix`` what to do; ``row`` (as a spreadsheet shows it,
    header = 1) and ``column`` (the header, or the column letter) locate it when known.
    ``str(exc)`` is the message and the fix together.
    """

    def __init__(self, message: str, fix: str = "", *, row: int | None = None, column: str | None = None):
        super().__init__(f"{message}; {fix}" if fix else message)
        self.message = message
        self.fix = fix
        self.row = row
        self.column = column


CSV_FIELD_LIMIT = csv.field_size_limit()
"""Longest CSV cell read [characters]: Python's default (131,072), kept on purpose. No field of
these tables comes near it (the longest stored text is a few hundred characters); a cell that
long is a quote (") opened and never closed, and is reported as that with its row."""

_QUOTE_FIX = (
    "close the quote or delete it; in CSV a cell holding quotes, commas or line breaks must be "
    'wrapped in double quotes with each quote inside doubled ("") - saving from Excel or WPS as '
    '"CSV UTF-8" does this'
)


def _decode(data: bytes, file: str) -> tuple[str, str | None]:
    """Text of a CSV (UTF-8, with or without BOM; UTF-16 with BOM, as Excel's "Unicode text";
    GB18030 as a fallback with a warning)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "the file is UTF-16 (Excel 'Unicode text'); it was read as such"
        except UnicodeDecodeError as exc:
            raise TableError(f"{file} is not valid UTF-16 text; save it as CSV UTF-8") from exc
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "the file is not UTF-8; it was read as GB18030 (GBK)"
    except UnicodeDecodeError as exc:
        raise TableError(f"{file} is neither UTF-8 nor GB18030 text; save it as CSV UTF-8") from exc


def _quote_scan(line: str, delimiter: str) -> tuple[int, str] | None:
    """Where a CSV line's quoting goes wrong: ``(cell index, "unclosed" | "stray")`` or None.

    ``unclosed``: a cell opens a quote that the line does not close; ``stray``: text follows the
    closing quote of a quoted cell (``"ab"c``).
    """
    line = line.rstrip("\r\n")
    i, cell, n = 0, 0, len(line)
    while i <= n:
        if i < n and line[i] == '"':
            j = i + 1
            while True:
                k = line.find('"', j)
                if k < 0:
                    return cell, "unclosed"
                if line[k + 1 : k + 2] == '"':
                    j = k + 2
                    continue
                if k + 1 < n and line[k + 1] != delimiter:
                    return cell, "stray"
                i = k + 1
                break
        k = line.find(delimiter, i)
        if k < 0:
            return None
        i, cell = k + 1, cell + 1
    return None  # pragma: no cover - the loop returns


def _csv_rows(text: str, file: str) -> list[list[Any]]:
    """Parse CSV text strictly, turning quoting problems into :class:`TableError` with the row.

    Python's csv module reads an unclosed quote silently to the end of the file (or until a later
    quote), swallowing the rows in between into one cell; ``strict=True`` raises instead, and a
    cell that spans lines which look like whole rows is caught here as well.
    """
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[Any]] = []
    starts: list[int] = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_error(exc, text, start, reader.line_num, len(rows) + 1, rows, delimiter) from None
        rows.append(row)
        starts.append(start)
    if rows:
        width = len(rows[0])
        threshold = max(3, (width - 1) // 2)
        for k, row in enumerate(rows[1:], start=1):
            for c, value in enumerate(row):
                if "\n" not in value and "\r" not in value:
                    continue
                lines = value.splitlines()
                rowlike = [ln for ln in lines[1:] if ln.count(delimiter) >= threshold]
                if rowlike:
                    last = starts[k] + len(lines) - 1
                    raise TableError(
                        f"this cell spans lines {starts[k]}-{last} of the file and holds what look like "
                        f'whole rows ({rowlike[0][:60]!r}): a quote (") opened in it was not closed '
                        "where the cell should end, so the rows below were read into it",
                        _QUOTE_FIX,
                        row=k + 1,
                        column=_header_of(rows, c),
                    )
    return rows


def _header_of(rows: list[list[Any]], c: int | None) -> str | None:
    if c is None:
        return None
    if rows and c < len(rows[0]) and not is_blank(rows[0][c]):
        return str(rows[0][c]).strip()
    return f"{column_name(c)} (column {c + 1})"


def _csv_error(
    exc: csv.Error, text: str, start: int, line: int, row: int, rows: list[list[Any]], delimiter: str
) -> TableError:
    """A :class:`TableError` for a csv.Error met reading the record that starts at line ``start``."""
    raw = io.StringIO(text, newline="").readlines()
    where = _quote_scan(raw[start - 1], delimiter) if start - 1 < len(raw) else None
    cell, kind = where if where is not None else (None, None)
    if cell is None and start - 1 < len(raw):  # no quote: the longest cell of the line
        pieces = raw[start - 1].split(delimiter)
        cell = max(range(len(pieces)), key=lambda k: len(pieces[k]))
    column = _header_of(rows, cell)
    reason = str(exc)
    if "field larger than field limit" in reason:
        if kind == "unclosed":
            message = (
                f'a quote (") opened in this cell (line {start} of the file) is never closed where the '
                f"cell should end, so the following lines were read into it until it passed "
                f"{CSV_FIELD_LIMIT:,} characters"
            )
            return TableError(message, _QUOTE_FIX, row=row, column=column)
        return TableError(
            f"a cell holds more than {CSV_FIELD_LIMIT:,} characters (line {start} of the file), far more "
            "than any field takes",
            "check the file: it is probably not the table you meant to upload, or a cell holds a "
            "pasted document",
            row=row,
            column=column,
        )
    if "unexpected end of data" in reason or kind == "unclosed":
        message = f'a quote (") opened in this cell (line {start} of the file) is never closed' + (
            ", so everything to the end of the file was read as one cell"
            if "unexpected end of data" in reason
            else f"; it is closed only on line {line} in the middle of other text, so lines "
            f"{start}-{line} were read as one cell"
        )
        return TableError(message, _QUOTE_FIX, row=row, column=column)
    if kind == "stray":
        return TableError(
            f'text follows the closing quote of this cell (line {start} of the file), e.g. "ab"c',
            _QUOTE_FIX,
            row=row,
            column=column,
        )
    return TableError(
        f"cannot be read as CSV at line {line} of the file ({reason})",
        "save the file again as CSV UTF-8 from Excel or WPS",
        row=row,
        column=column,
    )


def read_table(
    path: str | Path,
) -> tuple[list[Any], list[tuple[int, list[Any]]], list[str], dict[int, str]]:
    """Read a CSV or XLSX table.

    Parameters
    ----------
    path : path
        ``.csv`` (UTF-8, or UTF-16 with a BOM, or GB18030; comma, semicolon or tab separated) or
        ``.xlsx``.

    Returns
    -------
    headers : list
        Row 1.
    rows : list of (row_number, values)
        Data rows with the row number a spreadsheet shows (header = 1); blank rows are skipped
        but keep the numbering. XLSX sheets after the first with the same header continue the
        table; their rows are numbered on after the first sheet's. A row keeps cells beyond the
        header's width (the caller reports them). An XLSX formula cell without a computed value
        holds a :class:`~mrv_service.ingest.cells.FormulaCell`.
    notes : list of str
        Warnings about the file as a whole (e.g. encoding fallback).
    labels : dict
        ``{row_number: "sheet 'activity_logs_2' row 5"}`` for rows of continuation sheets.

    Raises
    ------
    TableError
        When the file cannot be read as a table: not CSV/XLSX, undecodable, broken quoting (with
        the row where the quote opens), no header, or a header but no data rows.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    notes: list[str] = []
    labels: dict[int, str] = {}
    extra: list[tuple[int, list[Any]]] = []
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
                try:
                    sheets = [
                        (ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in wb.worksheets
                    ]
                finally:
                    wb.close()
        except Exception as exc:  # openpyxl raises many types for a corrupt file
            raise TableError(
                f"{path.name} cannot be read as an XLSX workbook ({exc}); save it again as .xlsx"
            ) from exc
        try:
            formulas = xlsx_formula_cells(path)
        except Exception as exc:  # an unusual package layout openpyxl read but we cannot map
            formulas = {}
            notes.append(f"formula cells could not be checked for computed values ({exc})")
        for title, sheet_rows in sheets:
            for (r, c), cell in formulas.get(title, {}).items():
                if r - 1 < len(sheet_rows):
                    values = sheet_rows[r - 1]
                    if c - 1 >= len(values):
                        values.extend([None] * (c - len(values)))
                    if values[c - 1] is None:
                        values[c - 1] = cell
        all_rows = sheets[0][1] if sheets else []
        # Further sheets with the same header continue the table (a log longer than Excel's
        # 1,048,576 rows per sheet); their rows get numbers after the first sheet's and a label.
        offset = len(all_rows)
        for title, sheet_rows in sheets[1:]:
            if all_rows and sheet_rows and _same_header(sheet_rows[0], all_rows[0]):
                for k, values in enumerate(sheet_rows[1:], start=2):
                    extra.append((offset + k, list(values)))
                    labels[offset + k] = f"sheet {title!r} row {k}"
                offset += len(sheet_rows)
            elif any(not is_blank(v) for r in sheet_rows for v in r):
                notes.append(f"sheet {title!r} has other headers than the first sheet and was not read")
    elif suffix in (".csv", ".txt", ".tsv"):
        text, note = _decode(path.read_bytes(), path.name)
        if note:
            notes.append(note)
        all_rows = _csv_rows(text, path.name)
    elif suffix == ".xls":
        raise TableError(f"{path.name} is an old .xls workbook; save it as .xlsx or as CSV UTF-8")
    else:
        raise TableError(f"{path.name}: unknown table format {suffix!r}; upload .csv or .xlsx")
    if not all_rows or all(is_blank(v) for v in all_rows[0]):
        raise TableError(f"{path.name} has no header in row 1; put the column names in the first row")
    headers = all_rows[0]
    width = len(headers)
    rows = []
    for i, values in [*enumerate(all_rows[1:], start=2), *extra]:
        if all(is_blank(v) for v in values):
            continue
        if len(values) < width:
            values = values + [None] * (width - len(values))
        rows.append((i, values))
    if not rows:
        raise TableError(
            "holds a header but no data rows",
            "fill in the data below the header row (row 1), or upload the file that holds them",
        )
    return headers, rows, notes, labels


def _same_header(a: list[Any], b: list[Any]) -> bool:
    def norm(r: list[Any]) -> list[str]:
        out = [normalise_token(v) if not is_blank(v) else "" for v in r]
        while out and out[-1] == "":
            out.pop()
        return out

    return norm(a) == norm(b)
