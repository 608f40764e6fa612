"""Vocabularies: Chinese and English spellings of activities, methods, crops, manure types,
fertiliser products and soil analysis methods, mapped to canonical codes (DATA_FORMATS.md
sections 2-3).

Spellings are compared after :func:`normalise_token`, as header names are
(:func:`~mrv_service.ingest.headers.map_headers`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = [
    "normalise_token",
    "ACTIVITIES",
    "TILLAGE_METHODS",
    "RESIDUE_METHODS",
    "CROPS",
    "MANURE_TYPES",
    "PRODUCTS",
    "SOIL_METHODS",
    "vocabulary_hint",
]


def normalise_token(value: Any) -> str:
    """Lower-case, NFKC-normalised (full-width to ASCII), spaces and hyphens as ``_``."""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


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


def vocabulary_hint(vocabulary: Mapping[str, str]) -> str:
    """``maize/玉米, soybean/大豆 ...`` for messages."""
    codes: dict[str, str] = {}
    for spelling, code in vocabulary.items():
        if spelling != code and code not in codes and not spelling.isascii():
            codes[code] = spelling
    for code in dict.fromkeys(vocabulary.values()):
        codes.setdefault(code, code)
    return ", ".join(f"{c}/{z}" if z != c else c for c, z in codes.items())
