"""Units as written in upload headers: normalised keys and the factors to canonical units.

A header may carry its unit in brackets (``施氮量(公斤/亩)``, ``n_rate (kg/ha)``;
:func:`~mrv_service.ingest.headers.split_header`); :func:`normalise_unit` turns it into a short
ASCII key that the fields' unit tables (:attr:`~mrv_service.ingest.fields.FieldSpec.units`) map to
a factor.

Unit conversions (exact by definition of the units):

* 1 mu (亩) = 10,000/15 m2 = 1/15 ha, so a rate per mu x 15 = the rate per ha;
* 1 jin (斤, 市斤) = 0.5 kg;
* 1 m3 of water spread over 1 mu (666.7 m2) = 1.5 mm; over 1 ha = 0.1 mm;
* 1 g/cm3 = 1 t/m3; 1 % = 10 g/kg.
"""

from __future__ import annotations

import re
import unicodedata

from models.units import KG_PER_JIN, MU_PER_HA

__all__ = ["normalise_unit", "KG_PER_HA_UNITS", "PERCENT_UNITS", "FRACTION_UNITS"]


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


KG_PER_HA_UNITS = {"kg/ha": 1.0, "kg/mu": MU_PER_HA, "jin/mu": KG_PER_JIN * MU_PER_HA}
"""Header units of a mass per area (normalised) -> factor to kg/ha."""
PERCENT_UNITS = {"%": 1.0, "1": 100.0}
"""Header units of a percentage (``%``, or a fraction ``1``) -> factor to %."""
FRACTION_UNITS = {"1": 1.0, "%": 0.01}
"""Header units of a fraction (``1``, or ``%``) -> factor to the fraction [1]."""
