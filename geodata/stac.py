"""STAC search of Sentinel-2 L2A scenes, returning the items parsed into frozen metadata records.

One entry point, :func:`search_items`, serves any STAC API (Earth Search, Planetary Computer with an
injected URL-signing ``modifier``, a private stac-fastapi, a local rustac server) and a local
static catalog (``catalog.json``, a collection, an item collection or a single item JSON), with
the same filter semantics:

* collections, bbox, datetime and ids are sent to the API server;
* the cloud-cover limit is sent as a ``query`` only if the server advertises the STAC API
  *query* conformance class (rustac does not, and silently returns no items for it), and is
  **always** applied again on the client, as are all other filters (some servers ignore some);
* a static catalog is walked with pystac and filtered on the client.

Items are parsed into :class:`~geodata.items.ParsedItem` records (metadata only, no pixels; the
pattern of odc-stac's ``ParsedItem``) by :mod:`geodata.items`, which also holds the rule for each
asset's reflectance scale and offset (from ``raster:bands`` or the processing baseline); the
filters are :mod:`geodata.filters`; pixel loading is :mod:`geodata.raster`'s job.

Search size (``max_items``): the cap counts the items that pass **every** filter, server-side and
client-side alike, i.e. the scenes a run would read; so the same catalog gives the same answer on
a server with the ``query`` extension, on one without it (rustac: the cloud limit is applied on
the client, and the search pages on until ``max_items + 1`` items have passed it) and on a static
catalog. At most ``max_items + 1`` matching items are read; if there are that many the search
stops with :class:`~geodata.errors.TooManyItemsError` instead of silently truncating the result.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystac

from geodata.errors import (
    ImageryRequestError,
    ReflectanceOffsetWarning,
    StacSearchError,
    TooManyItemsError,
)
from geodata.filters import _describe_filters, _drop_reason, _normalise_bbox, parse_datetime_range
from geodata.items import (
    ParsedAsset,
    ParsedItem,
    _parse_item,
    _quiet_migration,
    _undetermined_message,
    parse_item,
)
from geodata.sentinel2 import BAND_ALIASES

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

# Re-exported from their homes: BAND_ALIASES from geodata.sentinel2 (which also holds
# REFLECTANCE_SCALE, BOA_ADD_OFFSET and OFFSET_BASELINE), ParsedAsset, ParsedItem and parse_item
# from geodata.items, parse_datetime_range from geodata.filters, StacSearchError and
# TooManyItemsError from geodata.errors.


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
    geodata.errors.ImageryRequestError
        (a :class:`ValueError`) If ``bbox``, ``datetime`` or ``max_items`` is invalid.

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
        raise ImageryRequestError(f"max_items={max_items!r} must be at least 1 (or None for no limit)")
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
