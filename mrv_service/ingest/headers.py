"""Header mapping: a file's column headers to the canonical fields and their units.

A header names a field (canonical English name or an alias, compared after
:func:`~mrv_service.ingest.vocabularies.normalise_token`) and may carry its unit in brackets
(``施氮量(公斤/亩)``, ``n_rate (kg/ha)``): :func:`split_header` separates the two and
:func:`map_headers` maps every column to its :class:`~mrv_service.ingest.fields.Column`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from mrv_service.ingest.fields import Column, FieldSpec
from mrv_service.ingest.units import normalise_unit
from mrv_service.ingest.vocabularies import normalise_token

__all__ = ["split_header", "map_headers"]

_NO_UNIT_OK = ("1", "degree_east", "degree_north")
"""Canonical units for which a header without a unit is unambiguous (fractions, degrees)."""

_HEADER = re.compile(r"^\s*(.*?)\s*[\(（\[【]\s*(.*?)\s*[\)）\]】]\s*$")


def split_header(header: Any) -> tuple[str, str | None]:
    """Split ``施氮量(公斤/亩)`` into (``施氮量``, ``公斤/亩``); the unit is None when absent."""
    text = unicodedata.normalize("NFKC", str(header)).strip()
    m = _HEADER.match(text)
    if m:
        return m.group(1), m.group(2)
    return text, None


def map_headers(
    headers: list[Any], fields: Mapping[str, FieldSpec], report: Any, header_row: int | None = None
) -> dict[str, Column]:
    """Map a file's headers to canonical fields; problems go to ``report`` (an UploadReport).

    Issues name the column and no row (they concern the whole file) unless ``header_row`` is given.

    Unknown columns are ignored with a warning; a unit not accepted for its field, two columns
    for the same field, or a missing required column is an error for the whole file.
    """
    lookup: dict[str, FieldSpec] = {}
    for spec in fields.values():
        for name in (spec.name, *spec.aliases):
            lookup[normalise_token(name)] = spec
    columns: dict[str, Column] = {}
    for index, raw in enumerate(headers):
        if raw is None or str(raw).strip() == "":
            continue
        header = str(raw).strip()
        name, unit_text = split_header(header)
        spec = lookup.get(normalise_token(name))
        if spec is None:
            report.warning(
                header_row,
                header,
                "column is not recognised and was ignored",
                "see docs/DATA_FORMATS.md for the columns",
            )
            continue
        if spec.name in columns:
            report.error(
                header_row,
                header,
                f"a second column for {spec.label} (the first is {columns[spec.name].header!r})",
                "delete one of the two columns",
            )
            continue
        unit = normalise_unit(unit_text) if unit_text is not None else spec.default_unit
        if spec.kind == "number" and unit not in spec.units:
            report.error(
                header_row,
                header,
                f"unit {unit_text!r} is not accepted for {spec.label}",
                f"use one of {spec.accepted_units} (e.g. 公斤/亩 = kg/mu, 斤/亩 = jin/mu)",
            )
            continue
        if (
            spec.kind == "number"
            and unit_text is None
            and len(spec.units) > 1
            and spec.unit not in _NO_UNIT_OK
        ):
            report.warning(
                header_row,
                header,
                f"no unit in the header; values are read as {spec.default_unit}",
                f"write the unit in brackets, e.g. {name}({spec.default_unit})",
            )
        columns[spec.name] = Column(index, header, spec, unit, spec.units.get(unit, 1.0))
    for spec in fields.values():
        if spec.required and spec.name not in columns:
            aliases = "/".join(a for a in spec.aliases[:1])
            report.error(
                header_row,
                None,
                f"required column {spec.name} ({aliases}) is missing",
                f"add a column headed {spec.name} or {aliases}",
            )
    return columns
