"""The canonical fields of the upload schemas: plots, activity logs, soil samples.

:data:`PLOT_FIELDS`, :data:`LOG_FIELDS`, :data:`SOIL_FIELDS` map every accepted header
(canonical English name or Chinese alias, optionally with a unit in brackets, e.g.
``施氮量(公斤/亩)`` or ``n_rate (kg/ha)``) to a canonical field with its canonical unit
(DATA_FORMATS.md sections 1-3); :func:`~mrv_service.ingest.headers.map_headers` maps a file's
headers to them.

Plausible ranges are rejection thresholds for typing and unit mistakes chosen for this service
(not literature values): N 0-600 kg N/ha and yield 0-25 t/ha per the project brief; the others
are stated with each field. Numeric fields also have a floor for positive values
(:attr:`FieldSpec.min_positive`): zero may be meaningful (no fertiliser, a failed harvest), but
a value between zero and the floor is almost always a unit mistake (9.5 t/ha typed under a kg/ha
header reads as 0.0095 t/ha) and is rejected naming the likely mistake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from models.units import KG_PER_JIN, MU_PER_HA
from mrv_service.ingest.units import FRACTION_UNITS, KG_PER_HA_UNITS, PERCENT_UNITS
from mrv_service.ingest.vocabularies import ACTIVITIES, CROPS, MANURE_TYPES

__all__ = ["FieldSpec", "Column", "PLOT_FIELDS", "LOG_FIELDS", "SOIL_FIELDS"]


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One canonical field of an upload schema."""

    name: str
    """Canonical name (DATA_FORMATS.md)."""
    aliases: tuple[str, ...]
    """Other accepted header names (Chinese first), normalised with
    :func:`~mrv_service.ingest.vocabularies.normalise_token`."""
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
    stored in a sized column are checked against the column
    (:func:`~mrv_service.ingest.cells.stored_length`)."""
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
            units=FRACTION_UNITS,
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
            units={**KG_PER_HA_UNITS, "t/ha": 1000.0},
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
            units=PERCENT_UNITS,
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
            units=KG_PER_HA_UNITS,
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
            units={**PERCENT_UNITS, "g/kg": 0.1},
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
            units={**PERCENT_UNITS, "g/kg": 0.1},
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
                  unit="1", units=FRACTION_UNITS, default_unit="1", low=0.0, high=0.9),
        FieldSpec("lab", ("检测机构", "laboratory"), label="the lab"),
        FieldSpec("method", ("检测方法", "analysis_method"), label="the method"),
    )
}  # fmt: skip
"""Fields of a soil-sample file (DATA_FORMATS.md section 3)."""
