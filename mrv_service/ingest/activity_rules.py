"""The rules of each activity in an activity log (DATA_FORMATS.md section 2).

Which attribute fields an activity keeps (:data:`RELEVANT_FIELDS`), what a row of it needs and
what is derived (:func:`check_activity`: the N rate from the product rate and its N content),
and the natural key that identifies an operation on a plot (:func:`natural_key`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mrv_service.ingest.cells import stored_length
from mrv_service.ingest.fields import LOG_FIELDS
from mrv_service.ingest.vocabularies import ACTIVITIES, MANURE_TYPES, vocabulary_hint
from mrv_service.store.models import ActivityRecord

__all__ = [
    "RELEVANT_FIELDS",
    "ALWAYS_KEPT",
    "UREA_N_CONTENT_PCT",
    "DISCRIMINATOR_MAX_LENGTH",
    "natural_key",
    "check_activity",
]

UREA_N_CONTENT_PCT = 46.0
"""N content of urea [%] used when a urea row gives no N content: total N >= 46.0 % for
agricultural urea (GB/T 2440-2017, Urea, Table 1)."""

RELEVANT_FIELDS: dict[str, tuple[str, ...]] = {
    "sowing": (),
    "harvest": ("yield", "residue_fraction"),
    "tillage": (),
    "residue": ("residue_fraction",),
    "fertiliser": ("product", "product_rate", "n_content", "n_rate"),
    "manure": ("manure_type", "manure_rate", "manure_c", "manure_n"),
    "irrigation": ("irrigation",),
    "cover_crop": ("cover_crop",),
    "fuel": (),
}
"""Attribute fields kept per activity (``diesel`` and ``notes`` are kept on every row)."""
ALWAYS_KEPT = ("diesel", "notes")
"""Attribute fields kept on a row of any activity."""

DISCRIMINATOR_MAX_LENGTH = (
    stored_length(ActivityRecord, "natural_key")
    - len("YYYY-MM-DD||")
    - max(len(a) for a in set(ACTIVITIES.values()))
)
"""Longest free-text discriminator of a natural key (the fertiliser product, the cover-crop
species) [characters]: the ``natural_key`` column's size less ``date|activity|`` for the longest
activity code (300 - 12 - 10 = 278 today), so that any key fits its column."""


def natural_key(
    date: dt.date, activity: str, crop: str | None, method: str | None, attrs: dict[str, Any]
) -> str:
    """``date|activity|discriminator`` identifying an operation on a plot.

    The discriminator separates operations of one type on one day that are genuinely distinct:
    the tillage method (subsoiling and rotary on the same day), the fertiliser product, the
    manure type, the crop of a sowing or harvest, the cover-crop species.
    """
    disc = {
        "tillage": method,
        "fertiliser": attrs.get("product"),
        "manure": attrs.get("manure_type"),
        "sowing": crop,
        "harvest": crop,
        "cover_crop": attrs.get("cover_crop"),
    }.get(activity)
    return f"{date.isoformat()}|{activity}|{disc or ''}"


def check_activity(activity: str, crop: str | None, attrs: dict[str, Any], bad: set[str], err, warn) -> None:
    """Per-activity required fields and derived values (fills ``attrs['n_rate']`` when derivable).

    Fields in ``bad`` already have an error in this row and are not reported again as missing.
    """
    if activity == "harvest" and attrs.get("yield") == 0.0:
        warn(
            "yield",
            "a yield of 0: recorded as a failed harvest",
            "if the harvest did not fail, enter the yield with its unit",
        )
    if activity in ("sowing", "harvest") and crop is None:
        warn("crop", f"a {activity} row without a crop", "enter the crop (作物), e.g. maize/玉米")
    elif activity == "fertiliser":
        rate, content = attrs.get("product_rate"), attrs.get("n_content")
        if content is None and rate is not None and attrs.get("product") == "urea":
            content = attrs["n_content"] = UREA_N_CONTENT_PCT
            warn("n_content", f"no N content for urea; {UREA_N_CONTENT_PCT:g} % assumed (GB/T 2440-2017)")
        derived = rate * content / 100.0 if rate is not None and content is not None else None
        if bad & {"n_rate", "product_rate", "n_content"}:
            pass
        elif attrs.get("n_rate") is None:
            if derived is None:
                err(
                    "n_rate",
                    "a fertiliser row needs the N rate, or the product rate with its N content",
                    "fill in 施氮量/n_rate, or 施用量/product_rate and 含氮量/n_content",
                )
            elif derived > LOG_FIELDS["n_rate"].high:
                err(
                    "product_rate",
                    f"product rate x N content = {derived:.6g} kg N/ha, above the plausible "
                    f"{LOG_FIELDS['n_rate'].high:g} kg N/ha",
                    "check the product rate, the N content and their units",
                )
            else:
                attrs["n_rate"] = float(f"{derived:.9g}")
        elif derived is not None and abs(derived - attrs["n_rate"]) > 0.1 * max(attrs["n_rate"], 1.0):
            warn(
                "n_rate",
                f"N rate {attrs['n_rate']:.6g} kg N/ha differs from product rate x N content = {derived:.6g} kg N/ha; "
                "the N rate was kept",
                "check the three values",
            )
    elif activity == "manure":
        if attrs.get("manure_rate") is None and "manure_rate" not in bad:
            err(
                "manure_rate",
                "a manure row needs the manure rate",
                "fill in 有机肥用量/manure_rate (fresh mass)",
            )
        if attrs.get("manure_type") is None:
            warn(
                "manure_type",
                "a manure row without the manure type",
                f"use one of {vocabulary_hint(MANURE_TYPES)}",
            )
    elif activity == "irrigation" and attrs.get("irrigation") is None and "irrigation" not in bad:
        err("irrigation", "an irrigation row needs the amount", "fill in 灌溉量/irrigation in mm or m3/mu")
    elif activity == "fuel" and attrs.get("diesel") is None and "diesel" not in bad:
        err("diesel", "a fuel row needs the diesel amount", "fill in 柴油/diesel in L (or L/mu, L/ha)")
    elif activity == "cover_crop" and attrs.get("cover_crop") is None:
        warn("cover_crop", "a cover_crop row without the species", "enter the species (覆盖作物)")
