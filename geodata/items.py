"""STAC items parsed into frozen metadata records: :class:`ParsedItem`, :class:`ParsedAsset`.

Metadata only, no pixels (the pattern of odc-stac's ``ParsedItem``); the search is
:mod:`geodata.stac`'s job and pixel loading :mod:`geodata.raster`'s.

Reflectance scale and offset, per reflectance asset (the constants and references are in
:mod:`geodata.sentinel2`):

1. the asset's ``raster:bands`` ``scale``/``offset`` when either is given (Earth Search v1 and
   the sample county write them, already matching the pixels);
2. otherwise scale = 1/10000 (``REFLECTANCE_SCALE``, [1]_) and the offset follows the processing
   baseline: ``BOA_ADD_OFFSET`` = -1000 DN = -0.1 from baseline 04.00 (25 January 2022) on, 0
   before it [2]_. The baseline is read from ``s2:processing_baseline``, else from the ``Nxxyy``
   field of the ESA product name (sentinel2 reference [4]) in ``s2:product_uri``,
   ``s2:product_id``, ``sentinel:product_id`` (Earth Search v0) or the item id, else from the
   ``_Nxx.yy`` end of ``s2:datatake_id``, ``s2:granule_id`` or ``s2:datastrip_id``;
3. if no baseline can be read the offset is 0 and a :class:`~geodata.errors.ReflectanceOffsetWarning`
   says the offset could not be determined (:func:`geodata.stac.search_items` warns once for all
   such items). Should those items be of baseline >= 04.00, their reflectance is 0.1 too high,
   which no pixel check can tell; the opposite error, an offset applied to data that did not need
   it, is caught by the per-scene negative-reflectance check of :mod:`geodata.pipeline`.

References
----------
.. [1] ESA, "Sentinel-2 Products Specification Document", S2-PDGS-TAS-DI-PSD, issue 15, 2021
   (:mod:`geodata.sentinel2` reference [1]).
.. [2] ESA, "Sentinel-2: new processing baseline 04.00", 25 January 2022
   (:mod:`geodata.sentinel2` reference [2]).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pystac
import shapely
from shapely.geometry import shape as shapely_shape

from geodata.errors import ReflectanceOffsetWarning, StacSearchError
from geodata.sentinel2 import (
    BAND_ALIASES,
    BOA_ADD_OFFSET,
    OFFSET_BASELINE,
    REFLECTANCE_SCALE,
    baseline_from_name,
)

__all__ = ["ParsedAsset", "ParsedItem", "parse_item"]

# BAND_ALIASES, REFLECTANCE_SCALE, BOA_ADD_OFFSET and OFFSET_BASELINE come from
# geodata.sentinel2, their one home.

_REFLECTANCE = {k for k in BAND_ALIASES if k != "scl"}

_BASELINE_NAME_FIELDS = ("s2:product_uri", "s2:product_id", "sentinel:product_id")
"""Item properties holding an ESA product name (``..._N0400_...``), in the order they are read."""
_BASELINE_ID_FIELDS = ("s2:datatake_id", "s2:granule_id", "s2:datastrip_id")
"""Item properties ending with ``_Nxx.yy``, read after the product names and the item id."""


@dataclass(frozen=True)
class ParsedAsset:
    """Metadata of one raster asset (one band) of an item."""

    key: str
    """Canonical band key (``red``, ``swir16``, ``scl`` ...)."""
    href: str
    """Absolute href (URL or local path), after the ``modifier`` (e.g. signed)."""
    shape: tuple[int, int] | None
    """``proj:shape`` (rows, cols) [pixels], if given."""
    transform: tuple[float, ...] | None
    """``proj:transform`` (first six affine coefficients), if given."""
    scale: float
    """Multiplier from DN to physical value [1 per DN]."""
    offset: float
    """Added after scaling [1]."""
    nodata: float | None
    """DN that marks no data (Sentinel-2 L2A: 0)."""
    epsg: int | None
    """EPSG code of the asset if it differs from the item's (rare), else the item's."""
    offset_source: str = "raster:bands"
    """Where ``scale``/``offset`` come from: ``raster:bands``, ``baseline`` (the item's processing
    baseline, see :attr:`ParsedItem.baseline_source`), ``undetermined`` (no baseline: offset 0)
    or ``none`` (SCL, a class map)."""


@dataclass(frozen=True)
class ParsedItem:
    """Metadata of one scene: what search and planning need, no pixels."""

    id: str
    """STAC item id."""
    collection: str | None
    """Collection id."""
    datetime: dt.datetime
    """Acquisition time (UTC, tz-aware)."""
    epsg: int | None
    """EPSG code of the item's grid (``proj:epsg`` or ``proj:code``)."""
    bbox: tuple[float, float, float, float]
    """Footprint bounding box in EPSG:4326 [degree]."""
    geometry: Any = field(compare=False, repr=False)
    """Footprint (shapely geometry, EPSG:4326)."""
    cloud_cover: float | None
    """``eo:cloud_cover`` [%]; None if the item has none."""
    processing_baseline: str | None
    """Processing baseline (e.g. ``"04.00"``): ``s2:processing_baseline``, else the one read from
    the product name (see :attr:`baseline_source`); None if neither is known."""
    assets: Mapping[str, ParsedAsset] = field(compare=False, repr=False)
    """Canonical band key -> asset."""
    raw_asset_keys: tuple[str, ...] = ()
    """All asset keys of the source item (for error messages)."""
    baseline_source: str | None = None
    """Where :attr:`processing_baseline` was read: ``s2:processing_baseline``, ``s2:product_uri``,
    ``s2:product_id``, ``sentinel:product_id``, ``id``, ``s2:datatake_id`` ...; None if unknown."""

    @property
    def offset_undetermined(self) -> bool:
        """True if a reflectance asset got offset 0 only because no baseline could be read."""
        return any(a.offset_source == "undetermined" for a in self.assets.values())


# ------------------------------------------------------------------------------------ parsing


@contextlib.contextmanager
def _quiet_migration():
    """Silence pystac's storage-extension migration warning, and only it.

    pystac cannot parse the bucket of https hrefs in Earth Search c1 items' old storage fields and
    warns on every item; those fields are not used here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Could not parse bucket/account from href", category=UserWarning
        )
        yield


def _baseline_tuple(baseline: str | None) -> tuple[int, int] | None:
    if not baseline:
        return None
    try:
        major, minor = str(baseline).split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def _item_baseline(
    item_id: str, props: Mapping[str, Any]
) -> tuple[tuple[int, int] | None, str | None, str | None]:
    """``(baseline, text, source)`` of an item by the rule of the module notes."""
    text = props.get("s2:processing_baseline")
    baseline = _baseline_tuple(text)
    if baseline is not None:
        return baseline, str(text), "s2:processing_baseline"
    candidates = [(k, props.get(k)) for k in _BASELINE_NAME_FIELDS]
    candidates.append(("id", item_id))
    candidates += [(k, props.get(k)) for k in _BASELINE_ID_FIELDS]
    for key, value in candidates:
        if isinstance(value, str):
            found = baseline_from_name(value)
            if found is not None:
                return found, f"{found[0]:02d}.{found[1]:02d}", key
    return None, None, None


def _epsg_of(props: Mapping[str, Any]) -> int | None:
    if props.get("proj:epsg") is not None:
        return int(props["proj:epsg"])
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        return int(code.split(":")[1])
    return None


def _parse_asset(key: str, asset: pystac.Asset, item_epsg: int | None, baseline) -> ParsedAsset:
    d = asset.extra_fields
    bands = d.get("raster:bands") or []
    band0 = bands[0] if bands else {}
    if key == "scl":
        scale, offset, source = 1.0, 0.0, "none"
    elif "scale" in band0 or "offset" in band0:
        scale = float(band0.get("scale", 1.0))
        offset = float(band0.get("offset", 0.0))
        source = "raster:bands"
    elif baseline is not None:
        scale = REFLECTANCE_SCALE
        offset = BOA_ADD_OFFSET if baseline >= OFFSET_BASELINE else 0.0
        source = "baseline"
    else:
        scale, offset, source = REFLECTANCE_SCALE, 0.0, "undetermined"
    nodata = band0.get("nodata", 0)
    shape = d.get("proj:shape")
    transform = d.get("proj:transform")
    return ParsedAsset(
        key=key,
        href=asset.get_absolute_href() or asset.href,
        shape=tuple(int(v) for v in shape) if shape else None,
        transform=tuple(float(v) for v in transform[:6]) if transform else None,
        scale=scale,
        offset=offset,
        nodata=None if nodata is None else float(nodata),
        epsg=_epsg_of(d) or item_epsg,
        offset_source=source,
    )


def _undetermined_message(ids: Sequence[str]) -> str:
    head = ", ".join(repr(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else "")
    return (
        f"the reflectance offset of {len(ids)} item(s) could not be determined ({head}): no "
        "raster:bands scale/offset, no s2:processing_baseline and no baseline (Nxxyy) in the product "
        "id, so no offset is applied; if they were processed with baseline 04.00 or later their "
        "reflectance is 0.1 too high. Add s2:processing_baseline or raster:bands to the items"
    )


def parse_item(item: pystac.Item | Mapping[str, Any]) -> ParsedItem:
    """Parse a STAC item into a :class:`ParsedItem` (metadata only).

    Parameters
    ----------
    item : pystac.Item or dict
        A Sentinel-2 L2A item (Earth Search v0/v1, Planetary Computer, or the sample county's).

    Returns
    -------
    ParsedItem
        Assets are keyed by canonical band key (:data:`BAND_ALIASES`); assets the pipeline does not
        know are left out. Scale and offset follow the rule of the module notes.

    Raises
    ------
    StacSearchError
        If the item has no datetime.

    Warns
    -----
    ReflectanceOffsetWarning
        If a reflectance asset has no ``raster:bands`` scale/offset and no processing baseline can
        be read: its offset is 0.
    """
    parsed = _parse_item(item)
    if parsed.offset_undetermined:
        warnings.warn(ReflectanceOffsetWarning(_undetermined_message([parsed.id])), stacklevel=2)
    return parsed


def _parse_item(item: pystac.Item | Mapping[str, Any]) -> ParsedItem:
    """:func:`parse_item` without the warning (the search issues one for all items)."""
    if not isinstance(item, pystac.Item):
        with _quiet_migration():
            item = pystac.Item.from_dict(dict(item), preserve_dict=True)
    props = item.properties
    when = item.datetime or (
        pystac.utils.str_to_datetime(props["start_datetime"]) if props.get("start_datetime") else None
    )
    if when is None:
        raise StacSearchError(
            f"STAC item {item.id!r} has no datetime nor start_datetime; cannot place it in time"
        )
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    epsg = _epsg_of(props)
    baseline, baseline_text, baseline_source = _item_baseline(item.id, props)
    assets = {}
    for canon, aliases in BAND_ALIASES.items():
        for a in aliases:
            if a in item.assets:
                assets[canon] = _parse_asset(canon, item.assets[a], epsg, baseline)
                break
    geom = shapely_shape(item.geometry) if item.geometry else shapely.box(*item.bbox)
    bbox = tuple(float(v) for v in (item.bbox or geom.bounds))
    cc = props.get("eo:cloud_cover")
    return ParsedItem(
        id=item.id,
        collection=item.collection_id,
        datetime=when.astimezone(dt.UTC),
        epsg=epsg,
        bbox=bbox,  # type: ignore[arg-type]
        geometry=geom,
        cloud_cover=None if cc is None else float(cc),
        processing_baseline=baseline_text,
        assets=MappingProxyType(assets),
        raw_asset_keys=tuple(item.assets),
        baseline_source=baseline_source,
    )
