"""XLSX formula cells without a computed (cached) value.

A workbook written by a program (openpyxl, pandas) and never opened in a spreadsheet program
stores its formulas only; reading it for values gives None, as if the cell were empty.
:func:`xlsx_formula_cells` finds such cells (a byte scan first, so workbooks without formulas are
not parsed twice) for :func:`~mrv_service.ingest.tables.read_table`, which puts a
:class:`~mrv_service.ingest.cells.FormulaCell` in them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from mrv_service.ingest.cells import FormulaCell, column_name

__all__ = ["xlsx_formula_cells"]

_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xlsx_sheet_members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> worksheet part name, from ``xl/workbook.xml`` and its relationships."""
    rels: dict[str, str] = {}
    with zf.open("xl/_rels/workbook.xml.rels") as fh:
        for el in ET.parse(fh).getroot():
            target = el.get("Target", "")
            rels[el.get("Id", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    out: dict[str, str] = {}
    with zf.open("xl/workbook.xml") as fh:
        for el in ET.parse(fh).getroot().iter():
            if _local(el.tag) != "sheet":
                continue
            rid = next((v for k, v in el.attrib.items() if k.startswith("{") and _local(k) == "id"), None)
            if rid in rels:
                out[el.get("name", "")] = rels[rid]
    return out


def _has_formula(zf: zipfile.ZipFile, member: str) -> bool:
    """True when a worksheet part holds an ``<f>`` element (a fast byte scan, no XML parse)."""
    tail = b""
    with zf.open(member) as fh:
        while chunk := fh.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def _formulas_without_values(zf: zipfile.ZipFile, member: str) -> dict[tuple[int, int], FormulaCell]:
    """``(row, column)`` (1-based) -> :class:`FormulaCell` for each formula cell of a worksheet
    part that has no cached value (no ``<v>``, or an empty one on a non-string cell)."""
    out: dict[tuple[int, int], FormulaCell] = {}
    shared: dict[str, tuple[str, str]] = {}
    row_no, col_no = 0, 0
    with zf.open(member) as fh:
        for event, el in ET.iterparse(fh, events=("start", "end")):
            tag = _local(el.tag)
            if event == "start":
                if tag == "row":
                    row_no = int(el.get("r") or row_no + 1)
                    col_no = 0
                continue
            if tag == "row":
                el.clear()
                continue
            if tag != "c":
                continue
            ref = el.get("r")
            m = _CELL_REF.match(ref or "")
            if m:
                letters, digits = m.groups()
                col_no = 0
                for ch in letters:
                    col_no = col_no * 26 + ord(ch) - 64
                row_no = int(digits)
            else:
                col_no += 1
                ref = f"{column_name(col_no - 1)}{row_no}"
            f = v = None
            for child in el:
                name = _local(child.tag)
                if name == "f":
                    f = child
                elif name == "v":
                    v = child
            if f is not None:
                text = f.text or ""
                si = f.get("si")
                if f.get("t") == "shared" and si is not None:
                    if text:
                        shared[si] = (ref, text)
                    elif si in shared:
                        text = f"{shared[si][1]} (shared from {shared[si][0]})"
                no_value = v is None or (v.text or "").strip() == ""
                if no_value and el.get("t") not in ("str", "inlineStr"):
                    out[(row_no, col_no)] = FormulaCell(ref, f"={text}" if text else "(a shared formula)")
            el.clear()
    return out


def xlsx_formula_cells(path: Path) -> dict[str, dict[tuple[int, int], FormulaCell]]:
    """Formula cells without a computed value, per sheet title (empty for most workbooks: sheets
    without any ``<f>`` element are not parsed)."""
    out: dict[str, dict[tuple[int, int], FormulaCell]] = {}
    with zipfile.ZipFile(path) as zf:
        for title, member in _xlsx_sheet_members(zf).items():
            if member in zf.namelist() and _has_formula(zf, member):
                cells = _formulas_without_values(zf, member)
                if cells:
                    out[title] = cells
    return out
