"""Canonical upload schemas: header aliases (zh/en), units, vocabularies and the table reader.

This module is the single place that knows ``docs/DATA_FORMATS.md`` sections 1-3:

* :data:`PLOT_FIELDS`, :data:`LOG_FIELDS`, :data:`SOIL_FIELDS` map every accepted header
  (canonical English name or Chinese alias, optionally with a unit in brackets, e.g.
  ``施氮量(公斤/亩)`` or ``n_rate (kg/ha)``) to a canonical field with its canonical unit;
* unit factors convert header units to canonical units (1 mu = 1/15 ha, 1 jin = 0.5 kg);
* vocabularies map Chinese and English spellings of activities, methods, crops and manure types
  to canonical codes;
* :func:`read_table` reads CSV or XLSX keeping the row numbers a spreadsheet shows (header = 1).

Unit conversions (exact by definition of the units):

* 1 mu (亩) = 10,000/15 m2 = 1/15 ha, so a rate per mu x 15 = the rate per ha;
* 1 jin (斤, 市斤) = 0.5 kg;
* 1 m3 of water spread over 1 mu (666.7 m2) = 1.5 mm; over 1 ha = 0.1 mm;
* 1 g/cm3 = 1 t/m3; 1 % = 10 g/kg.

Plausible ranges are rejection thresholds for typing and unit mistakes chosen for this service
(not literature values): N 0-600 kg N/ha and yield 0-25 t/ha per the project brief; the others
are stated with each field. Numeric fields also have a floor for positive values
(:attr:`FieldSpec.min_positive`): zero may be meaningful (no fertiliser, a failed harvest), but
a value between zero and the floor is almost always a unit mistake (9.5 t/ha typed under a kg/ha
header reads as 0.0095 t/ha) and is rejected naming the likely mistake.

Text written to a store column of limited size is checked against that size, read from the
SQLAlchemy model (:func:`stored_length`, :func:`text_cell`), so that PostgreSQL (which would
raise) and SQLite (which would keep any length) behave alike.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import io
import math
import re
import unicodedata
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import MRVError
from models.units import KG_PER_JIN, MU_PER_HA

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
]


def normalise_token(value: Any) -> str:
    """Lower-case, NFKC-normalised (full-width to ASCII), spaces and hyphens as ``_``."""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


_UNIT_WORDS = (
    ("立方厘米", "cm3"),
    ("立方米", "m3"),
    ("公斤", "kg"),
    ("千克", "kg"),
    ("毫米", "mm"),
    ("厘米", "cm"),
    ("公顷", "ha"),
    ("百分比", "%"),
    ("克", "g"),
    ("斤", "jin"),
    ("亩", "mu"),
    ("吨", "t"),
    ("升", "l"),
    ("米", "m"),
    ("方", "m3"),
    ("每", "/"),
    ("³", "3"),
)


def normalise_unit(unit: str | None) -> str:
    """Normalise a unit as written in a header to a short ASCII key.

    Examples
    --------
    >>> normalise_unit("公斤/亩"), normalise_unit("kg N ha-1"), normalise_unit("斤/亩")
    ('kg/mu', 'kg/ha', 'jin/mu')
    """
    if unit is None:
        return ""
    text = unicodedata.normalize("NFKC", unit).strip()
    for zh, en in _UNIT_WORDS:
        text = text.replace(zh, en)
    text = re.sub(r"\s+", "", text.lower())
    text = text.replace("kgn", "kg")
    text = re.sub(r"^(.+?)(ha|mu|kg|cm3|m3)-1$", r"\1/\2", text)
    if text in ("fraction", "-", "0-1"):
        text = "1"
    return text


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One canonical field of an upload schema."""

    name: str
    """Canonical name (DATA_FORMATS.md)."""
    aliases: tuple[str, ...]
    """Other accepted header names (Chinese first), normalised with :func:`normalise_token`."""
    kind: str = "text"
    """``text``, ``number``, ``date`` or ``enum``."""
    label: str = ""
    """How messages name the field, e.g. ``the N rate``."""
    unit: str | None = None
    """Canonical unit, CF style (``kg N ha-1``)."""
    units: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """Accepted header units (normalised) -> factor to the canonical unit."""
    default_unit: str = ""
    """Unit assumed when the header has none (normalised)."""
    per_area: frozenset[str] = frozenset()
    """Header units that are per area and must be multiplied by the plot area (diesel)."""
    low: float | None = None
    """Lowest plausible value in the canonical unit."""
    high: float | None = None
    """Highest plausible value in the canonical unit."""
    min_positive: float | None = None
    """Smallest plausible non-zero value in the canonical unit (per ha for per-plot amounts): a
    value with 0 < value < min_positive is rejected as a likely unit mistake (see
    :attr:`floor_hint`). A service choice, stated with each field."""
    zero_ok: bool = True
    """Whether 0 is a possible value (no fertiliser, a failed harvest); False for SOC and SOM."""
    floor_hint: str = ""
    """The unit mistake that most often gives a value below :attr:`min_positive` (for messages)."""
    max_length: int | None = None
    """Longest text [characters] of a text field stored without a column size (inside JSON); fields
    stored in a sized column are checked against the column (:func:`stored_length`)."""
    required: bool = False
    """The column must be present in the file."""
    vocabulary: Mapping[str, str] | None = None
    """For enums: normalised spelling -> canonical code."""

    @property
    def accepted_units(self) -> str:
        return ", ".join(u for u in self.units if u) or "none"


@dataclasses.dataclass(frozen=True)
class Column:
    """A file column mapped to a canonical field."""

    index: int
    """Position in the row (0-based)."""
    header: str
    """The header as written in the file."""
    spec: FieldSpec
    unit: str
    """Normalised header unit (or the default)."""
    factor: float
    """Multiply the value by this to get the canonical unit."""

    @property
    def per_area(self) -> bool:
        return self.unit in self.spec.per_area


def _vocab(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, spellings in table.items():
        for s in (code, *spellings):
            out[normalise_token(s)] = code
    return out


ACTIVITIES = _vocab(
    {
        "sowing": ("播种", "sow", "seeding", "planting", "种植"),
        "harvest": ("收获", "harvesting", "收割"),
        "tillage": ("耕作", "整地", "till"),
        "residue": ("秸秆处理", "residue_management", "straw", "秸秆"),
        "fertiliser": ("施肥", "fertilizer", "fertilisation", "fertilization", "化肥"),
        "manure": ("施有机肥", "有机肥", "organic_fertiliser", "organic_fertilizer"),
        "irrigation": ("灌溉", "irrigate", "浇水"),
        "cover_crop": ("覆盖作物", "cover", "cover_cropping"),
        "fuel": ("燃油", "fuel_use", "diesel", "柴油"),
    }
)
"""Activity types (DATA_FORMATS.md section 2)."""
TILLAGE_METHODS = _vocab(
    {
        "plough": ("翻耕", "plow", "ploughing", "plowing", "moldboard", "犁耕", "conventional"),
        "rotary": ("旋耕", "rotary_tillage", "rototill", "rotavator"),
        "reduced": ("少耕", "reduced_tillage", "minimum_tillage", "min_till"),
        "no_till": ("免耕", "notill", "no_tillage", "zero_tillage", "免耕播种", "direct_seeding"),
        "subsoiling": ("深松", "subsoil", "deep_loosening"),
    }
)
"""Tillage methods."""
RESIDUE_METHODS = _vocab(
    {
        "removed": ("离田", "removal", "remove", "秸秆离田"),
        "burned": ("焚烧", "burnt", "burn", "burning", "秸秆焚烧"),
        "retained": ("还田", "incorporated", "秸秆还田", "retain"),
        "mulched": ("覆盖还田", "mulch", "mulching", "秸秆覆盖", "秸秆覆盖还田"),
    }
)
"""Residue management methods."""
CROPS = _vocab(
    {
        "maize": ("玉米", "corn", "春玉米"),
        "soybean": ("大豆", "soy", "soya", "soybeans"),
        "wheat": ("小麦",),
        "rice": ("水稻", "稻谷", "paddy"),
    }
)
"""Crops."""
MANURE_TYPES = _vocab(
    {
        "cattle": ("牛粪", "cow", "cattle_manure"),
        "pig": ("猪粪", "swine", "pig_manure"),
        "chicken": ("鸡粪", "poultry", "chicken_manure"),
        "compost": ("堆肥", "composted"),
    }
)
"""Manure types."""
PRODUCTS = _vocab(
    {
        "urea": ("尿素",),
        "compound": ("复合肥", "npk", "复混肥", "compound_fertiliser", "compound_fertilizer"),
        "dap": ("磷酸二铵", "diammonium_phosphate", "二铵"),
        "ammonium_bicarbonate": ("碳铵", "碳酸氢铵"),
        "controlled_release": ("控释肥", "缓释肥", "slow_release"),
    }
)
"""Fertiliser products with a canonical code; other names are kept as written."""

_PER_AREA_MASS_KG = {"kg/ha": 1.0, "kg/mu": MU_PER_HA, "jin/mu": KG_PER_JIN * MU_PER_HA}
_PERCENT = {"%": 1.0, "1": 100.0}
_FRACTION = {"1": 1.0, "%": 0.01}

PLOT_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("plot_id", ("地块编号", "plot", "plotid", "地块id"), label="the plot id", required=True),
        FieldSpec(
            "farmer_id", ("农户编号", "farmer", "farmerid", "农户id"), label="the farmer id", required=True
        ),
        FieldSpec("farmer_name", ("农户姓名", "姓名", "name", "farmer_nam"), label="the farmer's name"),
        FieldSpec("village", ("村", "村名", "行政村"), label="the village"),
        FieldSpec("national_id", ("身份证号", "身份证", "id_number", "national_i"), label="the national id"),
        FieldSpec("county", ("县", "县区"), label="the county"),
        FieldSpec("cropping_system", ("种植制度", "cropping_s", "cropping"), label="the cropping system"),
    )
}
"""Attribute fields of a plot file (DATA_FORMATS.md section 1). The aliases include the
10-character names a Shapefile (DBF) truncates them to (``farmer_nam``, ``national_i``)."""

LOG_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("plot_id", ("地块编号", "plot", "plotid"), label="the plot id", required=True),
        FieldSpec("date", ("日期", "作业日期"), kind="date", label="the date", required=True),
        FieldSpec(
            "activity",
            ("作业类型", "activity_type", "operation", "type"),
            kind="enum",
            label="the activity",
            required=True,
            vocabulary=ACTIVITIES,
        ),
        FieldSpec("crop", ("作物",), kind="enum", label="the crop", vocabulary=CROPS),
        FieldSpec("method", ("方式", "作业方式"), kind="text", label="the method"),
        # Fraction of the crop residue left on the field [1].
        FieldSpec(
            "residue_fraction",
            ("秸秆还田比例", "还田比例"),
            kind="number",
            label="the residue fraction",
            unit="1",
            units=_FRACTION,
            default_unit="1",
            low=0.0,
            high=1.0,
        ),
        FieldSpec(
            "yield",
            ("产量", "yield_t_ha"),
            kind="number",
            label="the yield",
            unit="t ha-1",
            units={
                "t/ha": 1.0,
                "kg/ha": 1e-3,
                "kg/mu": MU_PER_HA * 1e-3,
                "jin/mu": KG_PER_JIN * MU_PER_HA * 1e-3,
                "t/mu": MU_PER_HA,
            },
            default_unit="t/ha",
            low=0.0,
            high=25.0,
            # Floor 0.3 t/ha (service choice): below it a maize, wheat, rice or soybean harvest is
            # not a harvest (soybean, the lowest-yielding crop here, gives ~2-3 t/ha); 0 stays
            # possible (a failed harvest, with a warning). 0.0095 is what 9.5 t/ha typed under a
            # kg/ha header gives, 0.0036 the same typed under jin/mu.
            min_positive=0.3,
            floor_hint="a yield in t/ha entered under a kg/ha or jin/mu header (9.5 t/ha read as "
            "9.5 kg/ha gives 0.0095 t/ha)",
        ),
        FieldSpec(
            "product", ("肥料品种", "肥料", "fertiliser_product", "fertilizer_product"), label="the product"
        ),
        # Product application rate; bound 0-3000 kg/ha (service choice: 200 kg/mu is already extreme).
        FieldSpec(
            "product_rate",
            ("施用量", "施肥量", "rate"),
            kind="number",
            label="the product rate",
            unit="kg ha-1",
            units={**_PER_AREA_MASS_KG, "t/ha": 1000.0},
            default_unit="kg/ha",
            low=0.0,
            high=3000.0,
            # Floor 1 kg/ha (service choice): even a foliar spray (e.g. KH2PO4 at 100-200 g/mu =
            # 1.5-3 kg/ha) is above it; 0.3 is what 0.3 t/ha typed under a kg/ha header gives.
            min_positive=1.0,
            floor_hint="a rate in t/ha entered under a kg/ha header (0.3 t/ha read as 0.3 kg/ha)",
        ),
        FieldSpec(
            "n_content",
            ("含氮量", "n_percent", "n_content_pct"),
            kind="number",
            label="the N content",
            unit="%",
            units=_PERCENT,
            default_unit="%",
            low=0.0,
            high=100.0,
        ),
        FieldSpec(
            "n_rate",
            ("施氮量", "n_applied", "nitrogen"),
            kind="number",
            label="the N rate",
            unit="kg N ha-1",
            units=_PER_AREA_MASS_KG,
            default_unit="kg/ha",
            low=0.0,
            high=600.0,
            # Floor 1 kg N/ha (service choice): a foliar urea spray (0.5 kg/mu at 46 % N) gives
            # ~3.5 kg N/ha; 0.18 is what 180 kg N/ha written in t/ha gives.
            min_positive=1.0,
            floor_hint="an N rate written in t/ha under a kg/ha header (0.18 for 180 kg N/ha)",
        ),
        FieldSpec(
            "manure_type",
            ("有机肥类型", "有机肥种类"),
            kind="enum",
            label="the manure type",
            vocabulary=MANURE_TYPES,
        ),
        # Fresh manure rate; bound 0-300 t/ha (service choice; 20 t/mu is implausible).
        FieldSpec(
            "manure_rate",
            ("有机肥用量", "有机肥施用量"),
            kind="number",
            label="the manure rate",
            unit="t ha-1",
            units={
                "t/ha": 1.0,
                "t/mu": MU_PER_HA,
                "kg/mu": MU_PER_HA * 1e-3,
                "kg/ha": 1e-3,
                "jin/mu": KG_PER_JIN * MU_PER_HA * 1e-3,
            },
            default_unit="t/ha",
            low=0.0,
            high=300.0,
            # Floor 0.1 t/ha fresh (service choice): commercial organic fertiliser pellets go on
            # at 100-300 kg/mu = 1.5-4.5 t/ha, farmyard manure at 15-45 t/ha; 0.03 is what 30 t/ha
            # typed under a kg/ha header gives.
            min_positive=0.1,
            floor_hint="a rate in t entered under a kg header (30 t/ha read as 30 kg/ha gives 0.03 t/ha)",
        ),
        # Carbon content of fresh manure; bound 0-60 % (pure organic matter is ~58 % C).
        FieldSpec(
            "manure_c",
            ("有机肥含碳量",),
            kind="number",
            label="the manure C content",
            unit="%",
            units={**_PERCENT, "g/kg": 0.1},
            default_unit="%",
            low=0.0,
            high=60.0,
            # Floor 0.5 % of fresh mass (service choice): dilute slurry (~2 % dry matter, ~40 % C
            # of it) holds ~0.8 % C; 0.08 is what 8 % written as a fraction gives.
            min_positive=0.5,
            floor_hint="a fraction entered in a % column (0.08 for 8 %)",
        ),
        # Nitrogen content of fresh manure; bound 0-10 % (service choice; poultry manure ~2-5 %).
        FieldSpec(
            "manure_n",
            ("有机肥含氮量",),
            kind="number",
            label="the manure N content",
            unit="%",
            units={**_PERCENT, "g/kg": 0.1},
            default_unit="%",
            low=0.0,
            high=10.0,
            # Floor 0.05 % of fresh mass (service choice): dilute slurry holds ~0.1-0.3 % N; 0.015
            # is what 1.5 % written as a fraction gives.
            min_positive=0.05,
            floor_hint="a fraction entered in a % column (0.015 for 1.5 %)",
        ),
        # Irrigation depth per event; bound 0-500 mm (service choice; a flood irrigation is ~100 mm).
        FieldSpec(
            "irrigation",
            ("灌溉量",),
            kind="number",
            label="the irrigation amount",
            unit="mm",
            units={"mm": 1.0, "m3/mu": 1.5, "m3/ha": 0.1},
            default_unit="mm",
            low=0.0,
            high=500.0,
            # Floor 1 mm (service choice): less wets the surface only (drip events are ~5-10 mm);
            # 0.06 is what 60 mm written in m gives.
            min_positive=1.0,
            floor_hint="a depth in m entered under a mm header (0.06 for 60 mm)",
        ),
        FieldSpec("cover_crop", ("覆盖作物", "cover_crop_species"), label="the cover crop"),
        # Diesel per plot [L]; per-area units are multiplied by the plot area. Bound: 0-200 L/ha
        # checked per hectare (service choice; mouldboard ploughing uses ~20-30 L/ha).
        FieldSpec(
            "diesel",
            ("柴油", "柴油用量", "diesel_l", "fuel_l"),
            kind="number",
            label="the diesel use",
            unit="L",
            units={"l": 1.0, "l/ha": 1.0, "l/mu": MU_PER_HA},
            default_unit="l",
            per_area=frozenset({"l/ha", "l/mu"}),
            low=0.0,
            high=200.0,
            # Floor 0.5 L/ha, checked per hectare (service choice): the lightest tractor pass
            # (spraying) uses ~1 L/ha; 0.005 is what 5 L written in m3 gives.
            min_positive=0.5,
            floor_hint="an amount in m3 entered under a litre header (0.005 for 5 L)",
        ),
        # Notes are kept in the record's JSON attributes (no column size); the service keeps at
        # most 1000 characters (a remark, not a document: reports and flags quote it).
        FieldSpec("notes", ("备注", "note", "comment", "comments"), label="the notes", max_length=1000),
    )
}
"""Fields of an activity log (DATA_FORMATS.md section 2)."""

SOIL_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("sample_id", ("样品编号", "sample", "样品号"), label="the sample id", required=True),
        FieldSpec("plot_id", ("地块编号", "plot"), label="the plot id"),
        FieldSpec("lon", ("经度", "longitude", "x"), kind="number", label="the longitude", unit="degree_east",
                  units={"": 1.0, "°": 1.0, "deg": 1.0, "degree": 1.0}, low=-180.0, high=180.0),
        FieldSpec("lat", ("纬度", "latitude", "y"), kind="number", label="the latitude", unit="degree_north",
                  units={"": 1.0, "°": 1.0, "deg": 1.0, "degree": 1.0}, low=-90.0, high=90.0),
        FieldSpec("date", ("采样日期", "日期", "sampling_date"), kind="date", label="the sampling date",
                  required=True),
        FieldSpec("depth_top", ("上层深度", "top", "depth_from"), kind="number", label="the top depth", unit="cm",
                  units={"cm": 1.0, "m": 100.0, "mm": 0.1}, default_unit="cm", low=0.0, high=300.0, required=True),
        FieldSpec("depth_bottom", ("下层深度", "bottom", "depth_to"), kind="number", label="the bottom depth",
                  unit="cm", units={"cm": 1.0, "m": 100.0, "mm": 0.1}, default_unit="cm", low=0.0, high=300.0,
                  required=True),
        # SOC / SOM [g/kg]; bounds 0-600 and 0-1000 g/kg (physical limits of the mass fraction).
        # Floors (service choice): 1 g/kg SOC (0.1 %) and 1.7 g/kg SOM (= 1 / 0.58); cropland soils
        # to 30 cm hold more, even sandy ones (~2-5 g/kg); 0.012 is 12 g/kg written as a fraction.
        # Zero is no possible SOC content.
        FieldSpec("soc", ("有机碳", "soc_g_kg", "organic_carbon"), kind="number", label="the SOC content",
                  unit="g kg-1", units={"g/kg": 1.0, "%": 10.0}, default_unit="g/kg", low=0.0, high=600.0,
                  min_positive=1.0, zero_ok=False,
                  floor_hint="a fraction entered as g/kg (0.012 for 12 g/kg = 1.2 %)"),
        FieldSpec("som", ("有机质", "som_g_kg", "organic_matter"), kind="number", label="the SOM content",
                  unit="g kg-1", units={"g/kg": 1.0, "%": 10.0}, default_unit="g/kg", low=0.0, high=1000.0,
                  min_positive=1.7, zero_ok=False,
                  floor_hint="a fraction entered as g/kg (0.025 for 25 g/kg = 2.5 %)"),
        # Bulk density 0.5-2.0 g/cm3 (DATA_FORMATS.md section 3).
        FieldSpec("bulk_density", ("容重", "bd"), kind="number", label="the bulk density", unit="g cm-3",
                  units={"g/cm3": 1.0, "t/m3": 1.0, "kg/m3": 1e-3}, default_unit="g/cm3", low=0.5, high=2.0),
        FieldSpec("coarse_fraction", ("砾石含量", "coarse", "gravel"), kind="number", label="the coarse fraction",
                  unit="1", units=_FRACTION, default_unit="1", low=0.0, high=0.9),
        FieldSpec("lab", ("检测机构", "laboratory"), label="the lab"),
        FieldSpec("method", ("检测方法", "analysis_method"), label="the method"),
    )
}  # fmt: skip
"""Fields of a soil-sample file (DATA_FORMATS.md section 3)."""

SOIL_METHODS = _vocab(
    {
        "dry_combustion": ("干烧法", "combustion", "elemental_analyser", "元素分析仪"),
        "dichromate": (
            "重铬酸钾氧化法",
            "walkley_black",
            "重铬酸钾",
            "potassium_dichromate",
            "油浴加热重铬酸钾氧化法",
        ),
        "loss_on_ignition": ("烧失法", "loi"),
    }
)
"""Soil organic carbon analysis methods; other names are kept as written."""

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


def is_blank(value: Any) -> bool:
    """True for None, NaN and whitespace-only strings."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


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


def parse_number(value: Any) -> float | None:
    """Parse a number from a cell (``None`` for a blank cell).

    Accepts ints/floats, full-width digits, thousands separators (``1,234.5``) and a trailing
    ``%`` (returned as the number before it; the caller knows the unit).

    Raises
    ------
    ValueError
        When the cell is not a number.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        x = float(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().rstrip("%").strip()
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", text):
            text = text.replace(",", "")
        x = float(text)
    if not math.isfinite(x):
        raise ValueError(value)
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

    Returns None for a blank cell; raises ValueError otherwise when not a valid date.
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
            return dt.date(y, mo, d)  # ValueError for 2024-02-30
    raise ValueError(value)


def parse_enum(value: Any, vocabulary: Mapping[str, str]) -> str | None:
    """Canonical code of a cell (None for blank); raises KeyError for an unknown spelling."""
    if is_blank(value):
        return None
    return vocabulary[normalise_token(value)]


def vocabulary_hint(vocabulary: Mapping[str, str]) -> str:
    """``maize/玉米, soybean/大豆 ...`` for messages."""
    codes: dict[str, str] = {}
    for spelling, code in vocabulary.items():
        if spelling != code and code not in codes and not spelling.isascii():
            codes[code] = spelling
    for code in dict.fromkeys(vocabulary.values()):
        codes.setdefault(code, code)
    return ", ".join(f"{c}/{z}" if z != c else c for c, z in codes.items())


# --------------------------------------------------------------------------- table reader

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


def column_name(index: int) -> str:
    """Spreadsheet column letter of a 0-based column index (0 -> ``A``, 27 -> ``AB``)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


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


class FormulaCell:
    """An XLSX cell holding a formula without a computed (cached) value.

    A workbook written by a program (openpyxl, pandas) and never opened in a spreadsheet program
    stores formulas only; reading it with ``data_only=True`` gives None, as if the cell were empty.
    :func:`read_table` puts this object in such cells instead; :func:`number_cell` rejects it and
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


def _xlsx_formula_cells(path: Path) -> dict[str, dict[tuple[int, int], FormulaCell]]:
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
        holds a :class:`FormulaCell`.
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
            formulas = _xlsx_formula_cells(path)
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


class CellError(MRVError, ValueError):
    """A cell's value is unusable; ``message`` quotes it and ``fix`` says what to enter."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message = message
        self.fix = fix


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
