"""Sentinel-2 L2A product conventions, in one place: bands, scene classes, scale and offset.

The STAC item parser (:mod:`geodata.items`), the masks (:mod:`geodata.masks`), the per-plot pipeline
(:mod:`geodata.pipeline`) and the sample-county writer (:mod:`mrv_service.sample.imagery`) all
take these facts from here.

References
----------
.. [1] ESA, "Sentinel-2 Products Specification Document", S2-PDGS-TAS-DI-PSD, issue 15, 2021:
   L2A surface reflectance quantification value 10000; scene classification (SCL) values.
.. [2] ESA, "Sentinel-2: new processing baseline 04.00", 25 January 2022: from baseline 04.00
   L2A DN carry ``BOA_ADD_OFFSET`` = -1000, i.e. reflectance = (DN - 1000) / 10000.
.. [3] Element 84, Earth Search v1 ``sentinel-2-l2a`` and ``sentinel-2-c1-l2a`` collections:
   asset keys (``blue``, ``red``, ``swir16``, ``scl`` ...) and ``eo:bands`` wavelengths.
.. [4] ESA, "Sentinel-2 MSI User Guide: Naming Convention", Sentinel Online,
   https://sentinels.copernicus.eu/web/sentinel/user-guides/sentinel-2-msi/naming-convention
   (and [1]_, "Product naming"): a product name ``MMM_MSIL2A_YYYYMMDDTHHMMSS_Nxxyy_ROOO_Txxxxx_
   <discriminator>.SAFE`` carries the PDGS processing baseline as ``Nxxyy`` (``N0400`` = 04.00);
   datatake, datastrip and granule ids end with ``_Nxx.yy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "Band",
    "BANDS",
    "BAND_ALIASES",
    "BAND_NAMES",
    "REFLECTANCE_BANDS",
    "SCL_CLASSES",
    "SCL_CLASS_TABLE",
    "SCL_CODES",
    "QUANTIFICATION_VALUE",
    "REFLECTANCE_SCALE",
    "BOA_ADD_OFFSET_DN",
    "BOA_ADD_OFFSET",
    "OFFSET_BASELINE",
    "NODATA",
    "SENTINEL2_L2A_COLLECTIONS",
    "baseline_from_name",
]


@dataclass(frozen=True)
class Band:
    """One Sentinel-2 MSI band as STAC catalogs name it."""

    key: str
    """Earth Search v1 asset key ([3]_)."""
    name: str
    """ESA band name, also the asset key of Planetary Computer and Earth Search v0."""
    title: str
    center_wavelength: float
    """Centre wavelength [um] ([3]_ eo:bands)."""
    full_width_half_max: float
    """Bandwidth [um] ([3]_ eo:bands)."""
    gsd: int
    """Ground sampling distance [m]."""


BANDS: tuple[Band, ...] = (
    Band("coastal", "B01", "Coastal aerosol - 60m", 0.443, 0.027, 60),
    Band("blue", "B02", "Blue - 10m", 0.49, 0.098, 10),
    Band("green", "B03", "Green - 10m", 0.56, 0.045, 10),
    Band("red", "B04", "Red - 10m", 0.665, 0.038, 10),
    Band("rededge1", "B05", "Red edge 1 - 20m", 0.704, 0.019, 20),
    Band("rededge2", "B06", "Red edge 2 - 20m", 0.74, 0.018, 20),
    Band("rededge3", "B07", "Red edge 3 - 20m", 0.783, 0.028, 20),
    Band("nir", "B08", "NIR 1 - 10m", 0.842, 0.145, 10),
    Band("nir08", "B8A", "NIR 2 - 20m", 0.865, 0.033, 20),
    Band("nir09", "B09", "NIR 3 - 60m", 0.945, 0.026, 60),
    Band("swir16", "B11", "SWIR 1.6\u03bcm - 20m", 1.61, 0.143, 20),
    Band("swir22", "B12", "SWIR 2.2\u03bcm - 20m", 2.19, 0.242, 20),
)
"""The reflectance bands of an L2A product (B10, cirrus, is not in L2A)."""

REFLECTANCE_BANDS: tuple[str, ...] = tuple(b.key for b in BANDS)
"""Asset keys of the reflectance bands."""

BAND_NAMES: MappingProxyType[str, str] = MappingProxyType({b.key: b.name for b in BANDS})
"""Asset key -> ESA band name (``red`` -> ``B04``)."""

BAND_ALIASES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {**{b.key: (b.key, b.name) for b in BANDS}, "scl": ("scl", "SCL")}
)
"""Canonical (Earth Search v1) key -> the asset keys catalogs use for it."""

SCL_CLASS_TABLE: tuple[tuple[int, str, str], ...] = (
    (0, "no_data", "No data"),
    (1, "saturated_or_defective", "Saturated or defective pixel"),
    (2, "dark_area_pixels", "Dark area pixels (cast shadows)"),
    (3, "cloud_shadows", "Cloud shadows"),
    (4, "vegetation", "Vegetation"),
    (5, "not_vegetated", "Not vegetated"),
    (6, "water", "Water"),
    (7, "unclassified", "Unclassified"),
    (8, "cloud_medium_probability", "Cloud medium probability"),
    (9, "cloud_high_probability", "Cloud high probability"),
    (10, "thin_cirrus", "Thin cirrus"),
    (11, "snow", "Snow or ice"),
)
"""Scene classification values: (code, name, description) ([1]_)."""

SCL_CLASSES: MappingProxyType[int, str] = MappingProxyType({c: n for c, n, _ in SCL_CLASS_TABLE})
"""SCL code -> class name."""

SCL_CODES: MappingProxyType[str, int] = MappingProxyType({n: c for c, n, _ in SCL_CLASS_TABLE})
"""SCL class name -> code (``SCL_CODES["vegetation"] == 4``)."""

QUANTIFICATION_VALUE = 10000
"""L2A ``BOA_QUANTIFICATION_VALUE``: DN per unit reflectance [DN] ([1]_)."""

REFLECTANCE_SCALE = 1 / QUANTIFICATION_VALUE
"""L2A quantification: reflectance per DN [1 DN-1] ([1]_); exactly the float ``1e-4``."""

BOA_ADD_OFFSET_DN = -1000
"""``BOA_ADD_OFFSET`` from processing baseline 04.00 [DN] ([2]_)."""

BOA_ADD_OFFSET = BOA_ADD_OFFSET_DN * REFLECTANCE_SCALE
"""The same offset in reflectance [1]: reflectance = DN x 1e-4 - 0.1."""

OFFSET_BASELINE = (4, 0)
"""First processing baseline with the offset ([2]_)."""

NODATA = 0
"""DN of no-data pixels in L2A bands and SCL."""

SENTINEL2_L2A_COLLECTIONS: tuple[str, ...] = ("sentinel-2-l2a", "sentinel-2-c1-l2a")
"""STAC collection ids of Sentinel-2 L2A that the pipeline knows ([3]_; Planetary Computer uses
``sentinel-2-l2a`` too)."""

_NAME_BASELINE = re.compile(r"(?:^|_)N(\d{2})(\d{2})(?=_|\.|$)")
"""``_Nxxyy_`` in a product name ([4]_)."""
_ID_BASELINE = re.compile(r"_N(\d{2})\.(\d{2})(?=_|\.|$)")
"""``_Nxx.yy`` at the end of a datatake, datastrip or granule id ([4]_)."""


def baseline_from_name(name: str | None) -> tuple[int, int] | None:
    """The processing baseline written into a Sentinel-2 product, datatake or granule name.

    Parameters
    ----------
    name : str or None
        A product name (``s2:product_uri``, ``s2:product_id``, Earth Search v0
        ``sentinel:product_id``, many item ids) or a datatake/datastrip/granule id.

    Returns
    -------
    tuple of int or None
        ``(major, minor)``, e.g. ``(2, 12)`` for ``N0212`` or ``N02.12``; None if the name
        carries no baseline ([4]_).

    Examples
    --------
    >>> baseline_from_name("S2B_MSIL2A_20190629T212529_N0212_R043_T06VVN_20201006T080531.SAFE")
    (2, 12)
    >>> baseline_from_name("GS2B_20190629T212529_012081_N02.12")
    (2, 12)
    >>> baseline_from_name("S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531") is None
    True
    """
    if not name:
        return None
    text = str(name)
    m = _NAME_BASELINE.search(text) or _ID_BASELINE.search(text)
    return (int(m.group(1)), int(m.group(2))) if m else None
