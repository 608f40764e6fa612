"""STAC search against a real rustac STAC API on loopback and a local static catalog, item parsing."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import pystac
import pytest

from geodata.stac import StacSearchError, parse_datetime_range, parse_item, search_items

from .conftest import utc

PC = "pc_sentinel-2-l2a_2019-01-01_itemcollection.json"
ES = "earthsearch_v1_sentinel-2_2025-07-31_itemcollection.json"


@pytest.fixture(scope="module")
def raw_features(imagery_dir):
    """The real items as JSON dicts (used to derive expected answers independently of the code)."""
    feats = []
    for name in (PC, ES):
        feats += json.loads((imagery_dir / "stac" / name).read_text())["features"]
    return feats


def _ids(items):
    return sorted(i.id for i in items)


def test_api_collections(rustac_server, raw_features):
    got = search_items(rustac_server, collections=["sentinel-2-c1-l2a"])
    assert _ids(got) == sorted(f["id"] for f in raw_features if f["collection"] == "sentinel-2-c1-l2a")
    assert len(got) == 6
    # 33 Planetary Computer + 6 Earth Search items share the id "sentinel-2-l2a"
    assert len(search_items(rustac_server, collections="sentinel-2-l2a")) == 39


def test_api_bbox(rustac_server):
    # Earth Search c1 items whose bbox intersects lon -41..-39.5, lat -5..-4 (tiles 24MUV, 24MVV, 24MUA;
    # read off the item bboxes: 24MWV starts at lon -39.00, 20EPT is at lat -60).
    got = search_items(rustac_server, collections=["sentinel-2-c1-l2a"], bbox=[-41, -5, -39.5, -4])
    assert _ids(got) == [
        "S2B_T24MUA_20250731T130245_L2A",
        "S2B_T24MUV_20250731T130245_L2A",
        "S2B_T24MVV_20250731T130245_L2A",
    ]


def test_api_datetime_and_ids(rustac_server, raw_features):
    # All 33 PC items are from 2019-01-01; the ES items are from 2025-07-31.
    assert len(search_items(rustac_server, collections=["sentinel-2-l2a"], datetime="2019-01-01")) == 33
    got = search_items(rustac_server, datetime="2025-07-31T13:03:00Z/2025-07-31T13:03:21Z")
    expect = sorted(
        f["id"]
        for f in raw_features
        if "2025-07-31T13:03:00" <= f["properties"]["datetime"][:19] <= "2025-07-31T13:03:21"
    )
    assert _ids(got) == expect and len(expect) == 2
    one = search_items(rustac_server, ids=["S2B_24MUV_20250731_0_L2A"])
    assert [i.id for i in one] == ["S2B_24MUV_20250731_0_L2A"]


def test_api_cloud_filter_is_applied_on_the_client(rustac_server, raw_features):
    # rustac does not advertise `query` (it would silently return 0 items); the limit is applied
    # client-side. Cloud covers < 30 % in sentinel-2-l2a: PC 28.83, 29.93; ES 24.68, 25.34, 26.03.
    got = search_items(rustac_server, collections=["sentinel-2-l2a"], max_cloud_cover=30)
    expect = sorted(
        f["id"]
        for f in raw_features
        if f["collection"] == "sentinel-2-l2a" and f["properties"]["eo:cloud_cover"] <= 30
    )
    assert _ids(got) == expect and len(got) == 5
    assert all(i.cloud_cover <= 30 for i in got)


def test_api_modifier_is_injected(rustac_server):
    # A Planetary-Computer-style signer: appends a SAS token to every asset href.
    def sign(obj):
        if isinstance(obj, pystac.Item):
            for a in obj.assets.values():
                a.href = a.href + "?sig=TEST"
        return obj

    got = search_items(
        rustac_server, collections=["sentinel-2-l2a"], datetime="2019-01-01", modifier=sign, max_items=3
    )
    assert got and all(a.href.endswith("?sig=TEST") for i in got for a in i.assets.values())


def test_static_catalog_same_semantics(tmp_path, imagery_dir, rustac_server):
    # The ES items written as a static catalog (collection -> items) answer like the server.
    feats = json.loads((imagery_dir / "stac" / ES).read_text())["features"]
    cat = pystac.Catalog("test", "static copy of real Earth Search items")
    colls = {}
    for f in feats:
        f = dict(f, links=[])
        with warnings.catch_warnings():  # pystac storage-extension migration noise on c1 items
            warnings.filterwarnings("ignore", message="Could not parse bucket", category=UserWarning)
            item = pystac.Item.from_dict(f)
        cid = f["collection"]
        if cid not in colls:
            colls[cid] = pystac.Collection(
                cid,
                cid,
                pystac.Extent(
                    pystac.SpatialExtent([[-180, -90, 180, 90]]), pystac.TemporalExtent([[None, None]])
                ),
            )
            cat.add_child(colls[cid])
        colls[cid].add_item(item)
    cat.normalize_hrefs(str(tmp_path / "cat"))
    cat.save(pystac.CatalogType.SELF_CONTAINED)
    path = tmp_path / "cat" / "catalog.json"
    for kw in (
        {"collections": ["sentinel-2-c1-l2a"], "bbox": [-41, -5, -39.5, -4]},
        {"collections": ["sentinel-2-l2a"], "max_cloud_cover": 30},
        {"ids": ["S2B_24MUV_20250731_0_L2A"]},
        {"datetime": "2025-07-31T13:03:00Z/2025-07-31T13:03:21Z"},
    ):
        # the server also holds the Planetary Computer items (ids S2A_MSIL2A_...); the copy does not
        api = [i for i in search_items(rustac_server, **kw) if not i.id.startswith("S2A_MSIL2A")]
        assert api, kw
        assert _ids(search_items(path, **kw)) == _ids(api), kw
    # the folder also works
    assert len(search_items(tmp_path / "cat")) == 12


def test_static_item_collection_file(imagery_dir):
    # An item collection file is searched like a catalog. Footprints meeting lon 173.6-173.7,
    # lat 57.6-57.65 (from the item bboxes: 60VUK 173.58-174.15/57.61-58.37, 60VUJ
    # 173.64-173.76/57.55-57.70, 59VPE 172.68-174.15/57.62-58.55, 59VPD 172.64-173.77/56.74-57.73).
    got = search_items(imagery_dir / "stac" / PC, bbox=[173.6, 57.6, 173.7, 57.65])
    assert sorted(i.id.split("_")[4] for i in got) == ["T59VPD", "T59VPE", "T60VUJ", "T60VUK"]


def test_parse_real_items(imagery_dir):
    # Earth Search v1 c1 item, baseline 05.11: raster:bands scale 1e-4, offset -0.1, nodata 0.
    feats = json.loads((imagery_dir / "stac" / ES).read_text())["features"]
    es = parse_item(next(f for f in feats if f["id"] == "S2B_T20EPT_20250731T131905_L2A"))
    assert es.epsg == 32720 and es.cloud_cover == pytest.approx(26.02542)
    assert es.datetime == utc(2025, 7, 31, 13, 19, 22, 930000)
    red = es.assets["red"]
    assert (red.scale, red.offset, red.nodata) == (0.0001, -0.1, 0.0)
    assert red.shape == (10980, 10980) and red.transform == (10, 0, 600000, 0, -10, 3300040)
    assert es.assets["scl"].scale == 1.0 and es.assets["scl"].offset == 0.0
    # Planetary Computer item, keys B04/B11/SCL, no raster:bands, baseline 02.12: 1e-4, offset 0.
    pc = parse_item(json.loads((imagery_dir / "stac" / PC).read_text())["features"][0])
    assert set(pc.assets) >= {"red", "nir", "swir16", "swir22", "scl"}
    assert pc.assets["swir16"].href.endswith("_B11_20m.tif")
    assert (pc.assets["red"].scale, pc.assets["red"].offset) == (0.0001, 0.0)
    # the same item claiming baseline 04.00 gets the BOA_ADD_OFFSET of -1000 DN = -0.1
    d = json.loads((imagery_dir / "stac" / PC).read_text())["features"][0]
    d["properties"]["s2:processing_baseline"] = "04.00"
    assert parse_item(d).assets["red"].offset == -0.1
    # rio-tiler-pds Earth Search v1 item (baseline 02.14, offset 0 in raster:bands)
    rt = imagery_dir / "rio-tiler-pds" / "S2A_29RKH_20200219_0_L2A" / "S2A_29RKH_20200219_0_L2A.json"
    item = parse_item(json.loads(rt.read_text()))
    assert item.epsg == 32629 and item.processing_baseline == "02.14" and item.assets["nir"].offset == 0.0


def test_datetime_ranges():
    assert parse_datetime_range("2024") == (utc(2024, 1, 1), utc(2024, 12, 31, 23, 59, 59, 999999))
    s, e = parse_datetime_range("2023-02-10/..")
    assert s == utc(2023, 2, 10) and e is None
    s, e = parse_datetime_range((dt.date(2024, 5, 1), "2024-05-31"))
    assert s == utc(2024, 5, 1) and e == utc(2024, 5, 31, 23, 59, 59, 999999)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_datetime_range("May 2024")


def test_unreachable_api_and_missing_catalog_raise_clear_errors(tmp_path):
    with pytest.raises(StacSearchError, match="127.0.0.1:9"):
        search_items("http://127.0.0.1:9/", collections=["sentinel-2-l2a"])
    with pytest.raises(StacSearchError, match="does not exist"):
        search_items(tmp_path / "nope" / "catalog.json")
    with pytest.raises(LookupError):  # ImageryUnavailableError is a LookupError
        search_items(tmp_path)
