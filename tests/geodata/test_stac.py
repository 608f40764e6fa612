"""STAC search against a real rustac STAC API on loopback and a local static catalog, item parsing."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pystac
import pytest
from affine import Affine

from geodata.errors import ReflectanceOffsetWarning
from geodata.sentinel2 import baseline_from_name
from geodata.stac import (
    StacSearchError,
    TooManyItemsError,
    parse_datetime_range,
    parse_item,
    search_items,
    search_with_summary,
)

from .conftest import utc, write_s2_catalog

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

    got = search_items(rustac_server, collections=["sentinel-2-l2a"], datetime="2019-01-01", modifier=sign)
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


# ------------------------------------------------------------------ max_items: no silent truncation


def _tiny_catalog(root, clouds):
    """A static catalog of len(clouds) one-pixel-constant scenes with the given eo:cloud_cover."""
    t10 = Affine(10, 0, 500000, 0, -10, 4800000)
    dn = {k: np.full((4, 4), 2000, np.uint16) for k in ("blue", "green", "red", "nir")}
    dn |= {k: np.full((2, 2), 2000, np.uint16) for k in ("swir16", "swir22")}
    dn["scl"] = np.full((2, 2), 4, np.uint8)
    scenes = [
        {"id": f"s{i}", "datetime": utc(2024, 5, 1 + i, 2, 40), "dn": dn, "cloud_cover": c}
        for i, c in enumerate(clouds)
    ]
    return write_s2_catalog(root, scenes, t10, (4, 4))


def test_max_items_overflow_on_a_static_catalog(tmp_path):
    cat = _tiny_catalog(tmp_path / "cat", [5.0, 5.0, 60.0, 70.0])
    with pytest.raises(TooManyItemsError) as info:
        search_items(cat, max_items=3)
    msg = str(info.value)
    assert "matched more than 3 items (all collections, any date, no cloud limit)" in msg
    assert (
        "narrow the dates or the cloud limit, or raise max_items (the project setting imagery.max_items)"
        in msg
    )
    assert isinstance(info.value, StacSearchError)
    assert len(search_items(cat, max_items=4)) == 4
    # the cap counts items after the cloud filter: 2 pass it, so 2 is enough and 1 is not
    assert _ids(search_items(cat, max_cloud_cover=50, max_items=2)) == ["s0", "s1"]
    with pytest.raises(TooManyItemsError, match=r"more than 1 items \(.*cloud <= 50 %\)"):
        search_items(cat, max_cloud_cover=50, max_items=1)
    with pytest.raises(ValueError, match="max_items=0"):
        search_items(cat, max_items=0)


def test_max_items_overflow_on_the_rustac_api(rustac_server):
    # 39 sentinel-2-l2a items (33 PC + 6 ES); rustac has no `query`, so the cloud limit is applied
    # on the client, and the cap still counts the 5 items under 30 % (not the 39 the server sends).
    with pytest.raises(TooManyItemsError) as info:
        search_items(rustac_server, collections=["sentinel-2-l2a"], max_items=38)
    assert (
        f"the search of {rustac_server!r} matched more than 38 items (collections ['sentinel-2-l2a']"
        in str(info.value)
    )
    assert len(search_items(rustac_server, collections=["sentinel-2-l2a"], max_items=39)) == 39
    items, summary = search_with_summary(
        rustac_server, collections=["sentinel-2-l2a"], max_cloud_cover=30, max_items=5
    )
    assert len(items) == 5 and summary.read == 39 and summary.dropped == {"cloud_cover": 34}
    assert not summary.cloud_on_server
    with pytest.raises(TooManyItemsError, match="more than 4 items .*cloud <= 30 %"):
        search_items(rustac_server, collections=["sentinel-2-l2a"], max_cloud_cover=30, max_items=4)


def test_empty_api_search_probes_the_collections_held(rustac_server):
    # A search by a collection the server does not hold finds nothing; a second search without the
    # collection filter (same dates) says which collections the server holds there, as counted from
    # a search with no collection filter at all.
    window = "2025-07-31T13:03:00Z/2025-07-31T13:03:21Z"
    all_items = search_items(rustac_server, datetime=window)
    held = sorted({i.collection for i in all_items})
    asked = "no-such-collection"
    items, summary = search_with_summary(rustac_server, collections=[asked], datetime=window)
    assert items == [] and summary.read == 0
    assert summary.other_collections == {c: sum(i.collection == c for i in all_items) for c in held}
    assert f"(asked: {asked!r})" in summary.explain()


# ------------------------------------------------------------------ processing baseline and offset


def _odc_item(imagery_dir, name):
    """A real item of the odc-stac fixtures (opendatacube/odc-stac @ e8692ba, tests/data/, Apache-2.0)."""
    path = imagery_dir / "stac" / "odc-stac" / name
    if not path.is_file():
        pytest.fail(
            f"imagery fixture {path} is missing: copy stac/odc-stac/ of the imagery fixture set into "
            "imagery_dir (see its README)"
        )
    return json.loads(path.read_text())


PC_ODC = "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"
ES_V0 = "S2A_28QCH_20200714_0_L2A.json"
_BASELINE_PROPS = (
    "s2:processing_baseline",
    "s2:product_uri",
    "s2:datatake_id",
    "s2:granule_id",
    "s2:datastrip_id",
)


def _pc_features(imagery_dir):
    feats = json.loads((imagery_dir / "stac" / PC).read_text())["features"]
    for f in feats:
        f["links"] = []
    return feats


def test_baseline_from_the_product_id_of_real_items(imagery_dir):
    # The 33 real Planetary Computer items: no raster:bands; s2:processing_baseline "02.12", and
    # s2:product_uri "S2A_MSIL2A_20190101T000001_N0212_R116_T60VUK_20201007T214652.SAFE" ...
    # (their ids drop the N field). Without the property the product uri gives the same baseline.
    for f in _pc_features(imagery_dir):
        truth = f["properties"].pop("s2:processing_baseline")
        it = parse_item(f)
        assert (it.processing_baseline, it.baseline_source) == (truth, "s2:product_uri"), f["id"]
        assert (it.assets["red"].offset, it.assets["red"].offset_source) == (0.0, "baseline")
        # without the product uri: the datatake id, e.g. "GS2A_20190101T000001_018417_N02.12"
        del f["properties"]["s2:product_uri"]
        assert parse_item(f).baseline_source == "s2:datatake_id"
    # the same product reprocessed with baseline 04.00 is named ..._N0400_...: offset -0.1
    f = _pc_features(imagery_dir)[0]
    del f["properties"]["s2:processing_baseline"]
    f["properties"]["s2:product_uri"] = f["properties"]["s2:product_uri"].replace("_N0212_", "_N0400_")
    it = parse_item(f)
    assert it.processing_baseline == "04.00" and it.assets["swir16"].offset == -0.1
    # an item whose only baseline is in its id (ESA product name as id)
    f = _pc_features(imagery_dir)[0]
    for k in _BASELINE_PROPS:
        del f["properties"][k]
    f["id"] = "S2A_MSIL2A_20220101T000001_N0400_R116_T60VUK_20220101T020000"
    it = parse_item(f)
    assert (
        it.baseline_source == "id" and it.processing_baseline == "04.00" and it.assets["nir"].offset == -0.1
    )


def test_baseline_of_the_real_odc_stac_items(imagery_dir):
    # The odc-stac Planetary Computer item (collection sentinel-2-l2a, Azure hrefs, no raster:bands;
    # its id has no baseline, s2:product_uri is "..._N0212_R043_T06VVN_20201006T080531.SAFE").
    d = _odc_item(imagery_dir, PC_ODC)
    assert (parse_item(d).processing_baseline, parse_item(d).baseline_source) == (
        "02.12",
        "s2:processing_baseline",
    )
    del d["properties"]["s2:processing_baseline"]
    it = parse_item(d)
    assert (it.processing_baseline, it.baseline_source) == ("02.12", "s2:product_uri")
    assert (it.assets["red"].scale, it.assets["red"].offset) == (0.0001, 0.0)
    # The Earth Search v0 item (collection sentinel-s2-l2a-cogs): no s2:* fields, no raster:bands;
    # the baseline is in sentinel:product_id "S2A_MSIL2A_20200714T115221_N0214_R123_T28QCH_20200714T191310".
    d = _odc_item(imagery_dir, ES_V0)
    it = parse_item(d)
    assert it.collection == "sentinel-s2-l2a-cogs"
    assert (it.processing_baseline, it.baseline_source) == ("02.14", "sentinel:product_id")
    assert {k: it.assets[k].offset for k in ("red", "nir", "swir16")} == {
        "red": 0.0,
        "nir": 0.0,
        "swir16": 0.0,
    }
    d["properties"]["sentinel:product_id"] = d["properties"]["sentinel:product_id"].replace(
        "_N0214_", "_N0500_"
    )
    assert parse_item(d).assets["swir22"].offset == -0.1


def test_undetermined_offset_warns_once_per_search(tmp_path, imagery_dir):
    feats = _pc_features(imagery_dir)
    for f in feats:
        for k in _BASELINE_PROPS:
            f["properties"].pop(k, None)
    with pytest.warns(ReflectanceOffsetWarning, match=r"offset of 1 item\(s\) could not be determined"):
        it = parse_item(feats[0])
    assert it.offset_undetermined and it.processing_baseline is None
    assert it.assets["red"].offset == 0.0 and it.assets["red"].offset_source == "undetermined"
    assert it.assets["scl"].offset_source == "none"
    # all 33 stripped the same way: one warning for the search, naming the count
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        items = search_items(path)
    assert len(items) == 33 and len(rec) == 1 and rec[0].category is ReflectanceOffsetWarning
    assert "offset of 33 item(s) could not be determined" in str(rec[0].message)
    assert "s2:processing_baseline or raster:bands" in str(rec[0].message)


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("S2B_MSIL2A_20190629T212529_N0212_R043_T06VVN_20201006T080531.SAFE", (2, 12)),
        ("S2A_MSIL2A_20240101T023101_N0510_R046_T51TXM_20240101T052512", (5, 10)),
        ("GS2B_20190629T212529_012081_N02.12", (2, 12)),
        ("S2B_OPER_MSI_L2A_TL_ESRI_20201006T080533_A012081_T06VVN_N02.12", (2, 12)),
        ("S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531", None),
        ("S2B_T24MUA_20250731T130245_L2A", None),
        ("S2A_29RKH_20200219_0_L2A", None),
        ("", None),
    ],
)
def test_baseline_from_name(name, expect):
    assert baseline_from_name(name) == expect
