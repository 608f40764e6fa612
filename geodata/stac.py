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

Reflectance scale and offset come from the asset's ``raster:bands`` when present. Without them,
Sentinel-2 L2A DN are reflectance x 10000 [1]_, and from processing baseline 04.00 (25 January
2022) a ``BOA_ADD_OFFSET`` of -1000 DN applies [2]_, i.e. reflectance = DN x 0.0001 - 0.1.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pystac
import shapely
from shapely.geometry import shape as shapely_shape

from geodata.errors import ImageryUnavailableError

log = logging.getLogger(__name__)

__all__ = [
    "BAND_ALIASES",
    "ParsedAsset",
    "ParsedItem",
    "StacSearchError",
    "parse_datetime_range",
    "parse_item",
    "search_items",
]

REFLECTANCE_SCALE = 1e-4
"""Sentinel-2 L2A quantification value: reflectance = DN / 10000 [1] ([1]_ in the module docs)."""
BOA_ADD_OFFSET = -0.1
"""Offset [1] added after scaling from processing baseline 04.00 (-1000 DN x 1e-4, [2]_)."""
OFFSET_BASELINE = (4, 0)
"""First processing baseline with ``BOA_ADD_OFFSET`` ([2]_)."""

#: Canonical (Earth Search v1) band keys and the asset keys other catalogs use for them
#: (Planetary Computer and Earth Search v0 use band names ``B04`` ...).
BAND_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "coastal": ("coastal", "B01"),
        "blue": ("blue", "B02"),
        "green": ("green", "B03"),
        "red": ("red", "B04"),
        "rededge1": ("rededge1", "B05"),
        "rededge2": ("rededge2", "B06"),
        "rededge3": ("rededge3", "B07"),
        "nir": ("nir", "B08"),
        "nir08": ("nir08", "B8A"),
        "nir09": ("nir09", "B09"),
        "swir16": ("swir16", "B11"),
        "swir22": ("swir22", "B12"),
        "scl": ("scl", "SCL"),
    }
)
_REFLECTANCE = {k for k in BAND_ALIASES if k != "scl"}


class StacSearchError(ImageryUnavailableError):
    """A STAC source could not be opened or searched (unreachable URL, missing file, bad JSON)."""


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
    """``s2:processing_baseline`` (e.g. ``"04.00"``), if given."""
    assets: Mapping[str, ParsedAsset] = field(compare=False, repr=False)
    """Canonical band key -> asset."""
    raw_asset_keys: tuple[str, ...] = ()
    """All asset keys of the source item (for error messages)."""


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
        scale, offset = 1.0, 0.0
    elif "scale" in band0 or "offset" in band0:
        scale = float(band0.get("scale", 1.0))
        offset = float(band0.get("offset", 0.0))
    else:
        scale = REFLECTANCE_SCALE
        offset = BOA_ADD_OFFSET if (baseline is not None and baseline >= OFFSET_BASELINE) else 0.0
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
        know are left out.

    Raises
    ------
    StacSearchError
        If the item has no datetime.
    """
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
    baseline = _baseline_tuple(props.get("s2:processing_baseline"))
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
        processing_baseline=props.get("s2:processing_baseline"),
        assets=MappingProxyType(assets),
        raw_asset_keys=tuple(item.assets),
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


def _keep(
    item: ParsedItem,
    collections: set[str] | None,
    bbox: tuple[float, float, float, float] | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    ids: set[str] | None,
    max_cloud_cover: float | None,
) -> bool:
    if collections is not None and item.collection not in collections:
        return False
    if ids is not None and item.id not in ids:
        return False
    if start is not None and item.datetime < start:
        return False
    if end is not None and item.datetime > end:
        return False
    if bbox is not None:
        if not shapely.intersects(item.geometry, shapely.box(*bbox)):
            return False
    # items without eo:cloud_cover are kept: the SCL mask still screens their pixels
    if max_cloud_cover is not None and item.cloud_cover is not None and item.cloud_cover > max_cloud_cover:
        return False
    return True


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
    max_items,
) -> Iterable[pystac.Item]:
    from pystac_client import Client
    from pystac_client.conformance import ConformanceClasses
    from pystac_client.exceptions import APIError

    try:
        client = Client.open(url)
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
        Stop after this many items from the server.

    Returns
    -------
    list of ParsedItem
        Sorted by datetime, then id.

    Raises
    ------
    StacSearchError
        If the source cannot be opened or searched.
    """
    if isinstance(collections, str):
        collections = [collections]
    nbbox = _normalise_bbox(bbox)
    start, end = parse_datetime_range(datetime)
    if _is_url(source):
        raw = _search_api(
            str(source),
            collections=collections,
            bbox=nbbox,
            datetime=datetime,
            ids=ids,
            max_cloud_cover=max_cloud_cover,
            max_items=max_items,
        )
    else:
        raw = _iter_static(source)
    cset = set(collections) if collections else None
    iset = set(ids) if ids else None
    out = []
    with _quiet_migration():
        items = list(raw)
    for item in items:
        if modifier is not None:
            res = modifier(item)
            item = res if isinstance(res, pystac.Item) else item
        parsed = parse_item(item)
        if _keep(parsed, cset, nbbox, start, end, iset, max_cloud_cover):
            out.append(parsed)
    out.sort(key=lambda p: (p.datetime, p.id))
    log.info("STAC search of %r: %r items", str(source), len(out))
    return out
