"""STAC search of Sentinel-2 L2A scenes and parsing of items into frozen metadata records.

One entry point, :func:`search_items`, serves any STAC API (Earth Search, Planetary Computer with an
injected URL-signing ``modifier``, a private stac-fastapi, a local rustac server) and a local
static catalog (``catalog.json``, a collection, an item collection or a single item JSON), with
the same filter semantics:

* collections, bbox, datetime and ids are sent to the API server;
* the cloud-cover limit is sent as a ``query`` only if the server advertises the STAC API
  *query* conformance class (rustac does not, and silently returns no items for it), and is
  **always** applied again on the client, as are all other filters (some servers ignore some);
* a static catalog is walked with pystac and filtered on the client.

Items are parsed into :class:`ParsedItem` records (metadata only, no pixels; the pattern of
odc-stac's ``ParsedItem``); pixel loading is :mod:`geodata.raster`'s job.

Search size (``max_items``): the cap counts the items that pass **every** filter, server-side and
client-side alike, i.e. the scenes a run would read; so the same catalog gives the same answer on
a server with the ``query`` extension, on one without it (rustac: the cloud limit is applied on
the client, and the search pages on until ``max_items + 1`` items have passed it) and on a static
catalog. At most ``max_items + 1`` matching items are read; if there are that many the search
stops with :class:`TooManyItemsError` instead of silently truncating the result.

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
   says the offset could not be determined (:func:`search_items` warns once for all such items).
   Should those items be of baseline >= 04.00, their reflectance is 0.1 too high, which no pixel
   check can tell; the opposite error, an offset applied to data that did not need it, is caught
   by the per-scene negative-reflectance check of :mod:`geodata.pipeline`.

References
----------
.. [1] ESA, "Sentinel-2 Products Specification Document", S2-PDGS-TAS-DI-PSD, issue 15, 2021
   (:mod:`geodata.sentinel2` reference [1]).
.. [2] ESA, "Sentinel-2: new processing baseline 04.00", 25 January 2022
   (:mod:`geodata.sentinel2` reference [2]).
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import json
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pystac
import shapely
from shapely.geometry import shape as shapely_shape

from geodata.errors import ImageryUnavailableError, ReflectanceOffsetWarning
from geodata.sentinel2 import (
    BAND_ALIASES,
    BOA_ADD_OFFSET,
    OFFSET_BASELINE,
    REFLECTANCE_SCALE,
    baseline_from_name,
)

log = logging.getLogger(__name__)

__all__ = [
    "BAND_ALIASES",
    "ParsedAsset",
    "ParsedItem",
    "SearchSummary",
    "StacSearchError",
    "TooManyItemsError",
    "parse_datetime_range",
    "parse_item",
    "search_items",
    "search_with_summary",
]

# BAND_ALIASES, REFLECTANCE_SCALE, BOA_ADD_OFFSET and OFFSET_BASELINE are re-exported from
# geodata.sentinel2, their one home.

_REFLECTANCE = {k for k in BAND_ALIASES if k != "scl"}

_BASELINE_NAME_FIELDS = ("s2:product_uri", "s2:product_id", "sentinel:product_id")
"""Item properties holding an ESA product name (``..._N0400_...``), in the order they are read."""
_BASELINE_ID_FIELDS = ("s2:datatake_id", "s2:granule_id", "s2:datastrip_id")
"""Item properties ending with ``_Nxx.yy``, read after the product names and the item id."""


class StacSearchError(ImageryUnavailableError):
    """A STAC source could not be opened or searched (unreachable URL, missing file, bad JSON)."""


class TooManyItemsError(StacSearchError):
    """A search matched more items than ``max_items``; its result would have been truncated."""


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


# ------------------------------------------------------------------------------------ filters


def _parse_instant(text: str, end: bool) -> dt.datetime:
    t = text.strip()
    try:
        if len(t) == 4:
            y = int(t)
            return (
                dt.datetime(y, 12, 31, 23, 59, 59, 999999, dt.UTC)
                if end
                else dt.datetime(y, 1, 1, tzinfo=dt.UTC)
            )
        if len(t) == 7:
            y, m = (int(v) for v in t.split("-"))
            if end:
                return dt.datetime(y, m, calendar.monthrange(y, m)[1], 23, 59, 59, 999999, dt.UTC)
            return dt.datetime(y, m, 1, tzinfo=dt.UTC)
        if len(t) == 10:
            d = dt.date.fromisoformat(t)
            return dt.datetime.combine(d, dt.time.max if end else dt.time.min, dt.UTC)
        v = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"datetime {text!r} is not ISO 8601; use e.g. '2024-05', '2024-05-01', "
            "'2024-05-01T00:00:00Z' or a range 'start/end' (open ends as '..')"
        ) from exc
    return v if v.tzinfo else v.replace(tzinfo=dt.UTC)


def _as_instant(v: Any, end: bool) -> dt.datetime | None:
    if v is None or (isinstance(v, str) and v.strip() in ("", "..")):
        return None
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=dt.UTC)
    if isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time.max if end else dt.time.min, dt.UTC)
    return _parse_instant(str(v), end)


def parse_datetime_range(value: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Normalise a STAC ``datetime`` argument to an inclusive UTC interval.

    Parameters
    ----------
    value : str, datetime, date, or pair of them, or None
        Same forms as pystac-client: ``"2024"``, ``"2024-05"``, ``"2024-05-01"`` (the whole
        year/month/day), ``"a/b"`` with ``..`` for an open end, or ``(a, b)``.

    Returns
    -------
    tuple
        ``(start, end)``, tz-aware UTC, either may be None (open).

    Examples
    --------
    >>> s, e = parse_datetime_range("2024-02")
    >>> s.isoformat(), e.date().isoformat()
    ('2024-02-01T00:00:00+00:00', '2024-02-29')
    """
    if value is None:
        return None, None
    if isinstance(value, str):
        if "/" in value:
            a, b = value.split("/", 1)
            return _as_instant(a, False), _as_instant(b, True)
        return _as_instant(value, False), _as_instant(value, True)
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"datetime range {value!r} must have two ends (start, end)")
        return _as_instant(value[0], False), _as_instant(value[1], True)
    return _as_instant(value, False), _as_instant(value, True)


def _normalise_bbox(bbox: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    b = tuple(float(v) for v in bbox)
    if len(b) != 4 or b[0] > b[2] or b[1] > b[3]:
        raise ValueError(f"bbox {bbox!r} must be (min_lon, min_lat, max_lon, max_lat) in EPSG:4326 degrees")
    return b  # type: ignore[return-value]


def _drop_reason(
    item: ParsedItem,
    collections: set[str] | None,
    bbox: tuple[float, float, float, float] | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    ids: set[str] | None,
    max_cloud_cover: float | None,
) -> str | None:
    """The first filter an item fails (``collection``, ``ids``, ``datetime``, ``bbox``,
    ``cloud_cover``), or None if it passes them all."""
    if collections is not None and item.collection not in collections:
        return "collection"
    if ids is not None and item.id not in ids:
        return "ids"
    if start is not None and item.datetime < start:
        return "datetime"
    if end is not None and item.datetime > end:
        return "datetime"
    if bbox is not None:
        if not shapely.intersects(item.geometry, shapely.box(*bbox)):
            return "bbox"
    # items without eo:cloud_cover are kept: the SCL mask still screens their pixels
    if max_cloud_cover is not None and item.cloud_cover is not None and item.cloud_cover > max_cloud_cover:
        return "cloud_cover"
    return None


def _fmt_instant(v: dt.datetime | None) -> str:
    return ".." if v is None else v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_filters(collections, bbox, start, end, ids, max_cloud_cover) -> str:
    parts = [f"collections {list(collections)}" if collections else "all collections"]
    if bbox is not None:
        parts.append("bbox (" + ", ".join(f"{v:.5f}" for v in bbox) + ")")
    parts.append(
        "any date" if start is None and end is None else f"dates {_fmt_instant(start)}/{_fmt_instant(end)}"
    )
    parts.append("no cloud limit" if max_cloud_cover is None else f"cloud <= {max_cloud_cover:g} %")
    if ids:
        parts.append(f"ids {list(ids)[:5]}{' ...' if len(ids) > 5 else ''}")
    return ", ".join(parts)


@dataclass
class SearchSummary:
    """What a search read and why items were left out (for error messages and run reports)."""

    source: str
    """The catalog path or API URL."""
    filters: str
    """The filters in words (collections, bbox, dates, cloud limit, ids)."""
    asked_collections: tuple[str, ...] | None = None
    """The collection ids asked for (None: all)."""
    read: int = 0
    """Items the source delivered (an API: after the filters the server applied itself)."""
    kept: int = 0
    """Items that passed every filter."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Items left out on the client, by the first filter they failed: ``collection``, ``ids``,
    ``datetime``, ``bbox``, ``cloud_cover``."""
    other_collections: dict[str, int] = field(default_factory=dict)
    """Collection id -> items of a collection not asked for: those left out on the client, or,
    for an API whose search by collection found nothing, those a second search without the
    collection filter found (at most 100 items read)."""
    cloud_on_server: bool = False
    """The cloud limit was also sent to the server (it advertises the STAC ``query`` extension)."""
    undetermined_offset: list[str] = field(default_factory=list)
    """Ids of kept items whose reflectance offset could not be determined (offset 0 used)."""

    def explain(self) -> str:
        """Why items were left out, in words; ``""`` if nothing was.

        Examples
        --------
        >>> s = SearchSummary("cat.json", "all collections", ("sentinel-2-l2a",), read=5)
        >>> s.other_collections = {"sentinel-2-c1-l2a": 5}
        >>> s.explain()
        "5 item(s) of collection 'sentinel-2-c1-l2a' (asked: 'sentinel-2-l2a')"
        """
        parts = []
        if self.other_collections:
            asked = ", ".join(repr(c) for c in self.asked_collections or ())
            parts.append(
                ", ".join(
                    f"{n} item(s) of collection {c!r}" for c, n in sorted(self.other_collections.items())
                )
                + f" (asked: {asked})"
            )
        words = {
            "ids": "with other ids",
            "datetime": "outside the dates",
            "bbox": "whose footprint misses the bbox",
            "cloud_cover": "above the cloud limit",
        }
        for reason, text in words.items():
            if self.dropped.get(reason):
                parts.append(f"{self.dropped[reason]} item(s) {text}")
        return "; ".join(parts)


# ------------------------------------------------------------------------------------ search


def _is_url(source: Any) -> bool:
    return isinstance(source, str) and source.split("://", 1)[0].lower() in ("http", "https")


def _iter_static(source: str | Path) -> Iterable[pystac.Item]:
    path = Path(source)
    if path.is_dir():
        path = path / "catalog.json"
    if not path.is_file():
        raise StacSearchError(
            f"static STAC catalog {str(path)!r} does not exist; pass the path of catalog.json "
            "(or its folder), a collection/item JSON, or an http(s) STAC API URL"
        )
    try:
        with open(path, encoding="utf-8") as fh:
            head = json.load(fh)
    except (OSError, ValueError) as exc:
        raise StacSearchError(f"cannot read STAC JSON {str(path)!r}: {exc}") from exc
    kind = head.get("type")
    if kind == "FeatureCollection":
        yield from pystac.ItemCollection.from_dict(head, preserve_dict=False)
        return
    obj = pystac.read_file(str(path.resolve()))
    if isinstance(obj, pystac.Item):
        yield obj
    elif isinstance(obj, pystac.Catalog):  # Collection is a Catalog
        yield from obj.get_items(recursive=True)
    else:
        raise StacSearchError(f"{str(path)!r} is a {type(obj).__name__}, not a catalog, collection or item")


def _search_api(
    url: str,
    *,
    collections,
    bbox,
    datetime,
    ids,
    max_cloud_cover,
    summary: SearchSummary | None = None,
    max_items: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterable[pystac.Item]:
    """Items of an API search, read lazily page by page (the caller stops when it has enough)."""
    from pystac_client import Client
    from pystac_client.conformance import ConformanceClasses
    from pystac_client.exceptions import APIError

    try:
        client = Client.open(url, headers=dict(headers) if headers else None)
        kwargs: dict[str, Any] = {
            "method": "POST",
            "collections": list(collections) if collections else None,
            "bbox": list(bbox) if bbox else None,
            "datetime": datetime,
            "ids": list(ids) if ids else None,
            "max_items": max_items,
        }
        if max_cloud_cover is not None and client.conforms_to(ConformanceClasses.QUERY):
            kwargs["query"] = {"eo:cloud_cover": {"lte": float(max_cloud_cover)}}
            if summary is not None:
                summary.cloud_on_server = True
        search = client.search(**{k: v for k, v in kwargs.items() if v is not None})
        yield from search.items()
    except APIError as exc:
        raise StacSearchError(
            f"STAC API {url!r} rejected the search or is unreachable: {exc}; check the URL, the network and that it is a STAC API root"
        ) from exc
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise StacSearchError(
            f"STAC API {url!r} is unreachable ({type(exc).__name__}: {exc}); check the URL and network, "
            "or use the local static catalog"
        ) from exc


_PROBE_ITEMS = 100
"""Items read by the diagnostic search without the collection filter."""


def _probe_collections(url: str, *, bbox, datetime, ids, headers=None) -> dict[str, int]:
    """Collections of the items an API holds for the same bbox/dates/ids (at most 100 read)."""
    counts: Counter[str] = Counter()
    try:
        with _quiet_migration():
            for item in _search_api(
                url,
                collections=None,
                bbox=bbox,
                datetime=datetime,
                ids=ids,
                max_cloud_cover=None,
                max_items=_PROBE_ITEMS,
                headers=headers,
            ):
                counts[item.collection_id or "(none)"] += 1
    except StacSearchError as exc:  # a diagnostic only: the empty result stands
        log.info("diagnostic search of %r without collections failed: %s", url, exc)
    return dict(counts)


def search_items(
    source: str | Path,
    *,
    collections: Sequence[str] | str | None = None,
    bbox: Sequence[float] | None = None,
    datetime: Any = None,
    ids: Sequence[str] | None = None,
    max_cloud_cover: float | None = None,
    modifier: Callable[[Any], Any] | None = None,
    max_items: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[ParsedItem]:
    """Search a STAC API or a local static catalog and parse the matching items.

    Parameters
    ----------
    source : str or pathlib.Path
        ``http(s)://`` STAC API root, or a local ``catalog.json`` / collection / item collection /
        item JSON (or a folder holding ``catalog.json``).
    collections : sequence of str, optional
        Collection ids, e.g. ``["sentinel-2-l2a"]``.
    bbox : sequence of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in EPSG:4326 [degree]; items whose footprint
        intersects it are kept.
    datetime : str, datetime or pair, optional
        Acquisition time filter (see :func:`parse_datetime_range`).
    ids : sequence of str, optional
        Item ids.
    max_cloud_cover : float, optional
        Keep items with ``eo:cloud_cover <= max_cloud_cover`` [%] (items without it are kept).
    modifier : callable, optional
        Called on each ``pystac.Item`` before parsing (for APIs and static catalogs alike), e.g.
        ``planetary_computer.sign_inplace`` to sign hrefs; it may modify the item in place or
        return a new one.
    max_items : int, optional
        Largest number of matching items [1] (None: no limit). Counted after every filter
        (server- and client-side, see the module notes); a search matching more raises
        :class:`TooManyItemsError` rather than returning a truncated list.
    headers : mapping, optional
        HTTP headers sent to a STAC API (e.g. an API key); ignored for static catalogs.

    Returns
    -------
    list of ParsedItem
        Sorted by datetime, then id.

    Raises
    ------
    StacSearchError
        If the source cannot be opened or searched.
    TooManyItemsError
        If more than ``max_items`` items match.

    Warns
    -----
    ReflectanceOffsetWarning
        Once, naming the matching items whose reflectance offset could not be determined.
    """
    items, _ = search_with_summary(
        source,
        collections=collections,
        bbox=bbox,
        datetime=datetime,
        ids=ids,
        max_cloud_cover=max_cloud_cover,
        modifier=modifier,
        max_items=max_items,
        headers=headers,
    )
    return items


def search_with_summary(
    source: str | Path,
    *,
    collections: Sequence[str] | str | None = None,
    bbox: Sequence[float] | None = None,
    datetime: Any = None,
    ids: Sequence[str] | None = None,
    max_cloud_cover: float | None = None,
    modifier: Callable[[Any], Any] | None = None,
    max_items: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[list[ParsedItem], SearchSummary]:
    """:func:`search_items`, also returning a :class:`SearchSummary` of what was read and left out.

    Parameters and exceptions are those of :func:`search_items`.

    Returns
    -------
    items : list of ParsedItem
        Sorted by datetime, then id.
    summary : SearchSummary
        Counts of items read, kept and left out by filter (e.g. to explain an empty result).
    """
    if isinstance(collections, str):
        collections = [collections]
    if max_items is not None and int(max_items) < 1:
        raise ValueError(f"max_items={max_items!r} must be at least 1 (or None for no limit)")
    nbbox = _normalise_bbox(bbox)
    start, end = parse_datetime_range(datetime)
    summary = SearchSummary(
        source=str(source),
        filters=_describe_filters(collections, nbbox, start, end, ids, max_cloud_cover),
        asked_collections=tuple(collections) if collections else None,
    )
    is_api = _is_url(source)
    if is_api:
        raw = _search_api(
            str(source),
            collections=collections,
            bbox=nbbox,
            datetime=datetime,
            ids=ids,
            max_cloud_cover=max_cloud_cover,
            summary=summary,
            headers=headers,
        )
    else:
        raw = _iter_static(source)
    cset = set(collections) if collections else None
    iset = set(ids) if ids else None
    out: list[ParsedItem] = []
    dropped: Counter[str] = Counter()
    other: Counter[str] = Counter()
    with _quiet_migration():
        for item in raw:
            summary.read += 1
            if modifier is not None:
                res = modifier(item)
                item = res if isinstance(res, pystac.Item) else item
            parsed = _parse_item(item)
            reason = _drop_reason(parsed, cset, nbbox, start, end, iset, max_cloud_cover)
            if reason is not None:
                dropped[reason] += 1
                if reason == "collection":
                    other[parsed.collection or "(none)"] += 1
                continue
            out.append(parsed)
            if max_items is not None and len(out) > max_items:
                raise TooManyItemsError(
                    f"the search of {str(source)!r} matched more than {max_items} items "
                    f"({summary.filters}); narrow the dates or the cloud limit, or raise max_items "
                    "(the project setting imagery.max_items)"
                )
    summary.kept = len(out)
    summary.dropped = dict(dropped)
    summary.other_collections = dict(other)
    if is_api and collections and summary.read == 0:
        probe = _probe_collections(str(source), bbox=nbbox, datetime=datetime, ids=ids, headers=headers)
        summary.other_collections = {c: n for c, n in probe.items() if c not in cset}  # type: ignore[operator]
    out.sort(key=lambda p: (p.datetime, p.id))
    summary.undetermined_offset = [p.id for p in out if p.offset_undetermined]
    if summary.undetermined_offset:
        warnings.warn(
            ReflectanceOffsetWarning(_undetermined_message(summary.undetermined_offset)), stacklevel=3
        )
    log.info("STAC search of %r: %r items", str(source), len(out))
    return out, summary
