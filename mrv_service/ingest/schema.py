"""Canonical upload schemas: the names of ``docs/DATA_FORMATS.md`` sections 1-3, in one import.

The schema is split along its seams; this module re-exports their public names so that
``from mrv_service.ingest.schema import ...`` keeps working. Each name has one home:

* :mod:`~mrv_service.ingest.fields`: :class:`FieldSpec`, :class:`Column` and
  :data:`PLOT_FIELDS`, :data:`LOG_FIELDS`, :data:`SOIL_FIELDS`, which map every accepted header
  (canonical English name or Chinese alias, optionally with a unit in brackets, e.g.
  ``施氮量(公斤/亩)`` or ``n_rate (kg/ha)``) to a canonical field with its canonical unit, its
  plausible range and its floor (the reasoning is given per field);
* :mod:`~mrv_service.ingest.units`: :func:`normalise_unit` and the unit factors that convert
  header units to canonical units (1 mu = 1/15 ha, 1 jin = 0.5 kg);
* :mod:`~mrv_service.ingest.vocabularies`: the Chinese and English spellings of activities,
  methods, crops and manure types mapped to canonical codes, and :func:`normalise_token`;
* :mod:`~mrv_service.ingest.headers`: :func:`split_header` and :func:`map_headers`;
* :mod:`~mrv_service.ingest.cells`: the cell parsers (:func:`parse_number`, :func:`parse_date`,
  :func:`number_cell`, :func:`text_cell` ...) and :class:`CellError`;
* :mod:`~mrv_service.ingest.tables`: :func:`read_table`, which reads CSV or XLSX keeping the row
  numbers a spreadsheet shows (header = 1), and :class:`TableError`.
"""

from __future__ import annotations

from models.units import KG_PER_JIN, MU_PER_HA
from mrv_service.ingest.cells import (
    EXCEL_EPOCH,
    EXCEL_SERIAL_RANGE,
    CellError,
    FormulaCell,
    column_name,
    is_blank,
    number_cell,
    parse_date,
    parse_enum,
    parse_id,
    parse_number,
    stored_length,
    text_cell,
)
from mrv_service.ingest.fields import LOG_FIELDS, PLOT_FIELDS, SOIL_FIELDS, Column, FieldSpec
from mrv_service.ingest.headers import map_headers, split_header
from mrv_service.ingest.tables import CSV_FIELD_LIMIT, TableError, read_table
from mrv_service.ingest.units import normalise_unit
from mrv_service.ingest.vocabularies import (
    ACTIVITIES,
    CROPS,
    MANURE_TYPES,
    PRODUCTS,
    RESIDUE_METHODS,
    SOIL_METHODS,
    TILLAGE_METHODS,
    normalise_token,
    vocabulary_hint,
)

__all__ = [
    "MU_PER_HA",
    "KG_PER_JIN",
    "FieldSpec",
    "Column",
    "PLOT_FIELDS",
    "LOG_FIELDS",
    "SOIL_FIELDS",
    "ACTIVITIES",
    "TILLAGE_METHODS",
    "RESIDUE_METHODS",
    "CROPS",
    "MANURE_TYPES",
    "PRODUCTS",
    "normalise_token",
    "normalise_unit",
    "split_header",
    "map_headers",
    "parse_id",
    "parse_number",
    "parse_date",
    "parse_enum",
    "read_table",
    "TableError",
    "CellError",
    "FormulaCell",
    "number_cell",
    "text_cell",
    "stored_length",
    "column_name",
    "is_blank",
    "vocabulary_hint",
    "SOIL_METHODS",
    "CSV_FIELD_LIMIT",
    "EXCEL_EPOCH",
    "EXCEL_SERIAL_RANGE",
]
