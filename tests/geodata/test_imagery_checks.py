"""Loud imagery failures, skip summaries, the negative-reflectance offset check and ``observed``.

Every catalog here is a synthetic static catalog (conftest ``write_s2_catalog``) on a 400 m x
400 m tile of EPSG:32651 (10 m grid ``T10``, 20 m bands at half size), so each answer is known by
hand: a plot of 100 m x 50 m on the grid covers exactly 50 pixels of 10 m.
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from geodata.errors import ImageryUnavailableError, ImageryWarning, ReflectanceOffsetWarning
from geodata.pipeline import (
    NEGATIVE_REFLECTANCE_MAX_SHARE,
    PlotNotCoveredWarning,
    SceneSkippedWarning,
    plot_time_series,
)
from geodata.stac import TooManyItemsError

from .conftest import utc, write_s2_catalog

T10 = Affine(10, 0, 500000, 0, -10, 4800000)
SHAPE = (40, 40)  # x 500000..500400, y 4799600..4800000
REFL = {"blue": 0.05, "green": 0.06, "red": 0.10, "nir": 0.40, "swir16": 0.20, "swir22": 0.15}
ALL_KEYS = ("blue", "green", "red", "nir", "swir16", "swir22", "scl")


def _dn(refl: float, boa_add_offset: bool = True) -> int:
    """DN of a reflectance: 10000 x reflectance (+ 1000 from processing baseline 04.00)."""
    return int(round(refl * 10000 + (1000 if boa_add_offset else 0)))


def _scene(sid, when, *, boa_add_offset=True, scl=None, nodata_cols10=None, **kw):
    """A constant scene; ``scl`` a (20, 20) array (default: all vegetation); ``nodata_cols10``: 10 m
    columns from which every band and SCL are nodata (0), as outside a partial swath."""
    dn = {}
    for b, r in REFL.items():
        shape = SHAPE if b in ("blue", "green", "red", "nir") else (20, 20)
        dn[b] = np.full(shape, _dn(r, boa_add_offset), np.uint16)
    dn["scl"] = np.full((20, 20), 4, np.uint8) if scl is None else scl.astype(np.uint8)
    if nodata_cols10 is not None:
        for a in dn.values():
            a[:, nodata_cols10 // (1 if a.shape == SHAPE else 2) :] = 0
    return {"id": sid, "datetime": when, "dn": dn, **kw}


def _plots(**boxes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"plot_id": list(boxes)}, geometry=[shapely.box(*b) for b in boxes.values()], crs="EPSG:32651"
    )


P_WEST = (500040, 4799900, 500140, 4799950)  # 10 m rows 5-9, cols 4-13: 50 px; 20 m rows 2-4
P_CLOUD = (500040, 4799700, 500140, 4799750)  # 10 m rows 25-29; 20 m rows 12-14
P_EAST = (500260, 4799900, 500360, 4799950)  # 10 m cols 26-35
P_AWAY = (600000, 4700000, 600100, 4700100)  # 100 km away


def _run(cat, plots, **kw):
    """plot_time_series recording every warning; returns (dataset or exception, warnings)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            out = plot_time_series(cat, plots, **kw)
        except ImageryUnavailableError as exc:
            out = exc
    return out, [w.message for w in rec]


# ------------------------------------------------------------------ every scene skipped: one error


def test_all_scenes_lack_a_band_is_one_error_naming_the_band(tmp_path):
    # Before: 3 SceneSkippedWarnings, a PlotNotCoveredWarning blaming the CRS, and an empty series.
    scenes = [_scene(f"s{i}", utc(2024, 5, 1 + i, 2, 40), drop=("swir22",)) for i in range(3)]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    err, warned = _run(cat, _plots(w=P_WEST))
    assert isinstance(err, ImageryUnavailableError) and warned == []
    msg = str(err)
    assert msg.startswith("all 3 scenes were skipped: band 'swir22' missing in 3 items (asset keys: [")
    assert "'scl'" in msg and "choose bands the catalog holds" in msg


def test_all_scenes_lack_scl_is_one_error(tmp_path):
    scenes = [_scene(f"s{i}", utc(2024, 5, 1 + i, 2, 40), drop=("scl",)) for i in range(3)]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    err, warned = _run(cat, _plots(w=P_WEST))
    assert isinstance(err, ImageryUnavailableError) and warned == []
    assert str(err).startswith("all 3 scenes were skipped: no SCL asset in 3 items")
    assert "require_scl=False" in str(err)


def test_all_hrefs_unreachable_is_one_error(tmp_path):
    gone = {k: str(tmp_path / "nowhere" / f"{k}.tif") for k in ALL_KEYS}
    scenes = [_scene(f"s{i}", utc(2024, 5, 1 + i, 2, 40), href_override=gone) for i in range(3)]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    err, warned = _run(cat, _plots(w=P_WEST))
    assert isinstance(err, ImageryUnavailableError) and warned == []
    msg = str(err)
    assert (
        "all 3 scenes were skipped: 3 items with unreachable or unreadable hrefs (first: cannot open raster"
        in msg
    )
    assert "nowhere/red.tif" in msg and "modifier" in msg


def test_reasons_are_aggregated_over_items_with_what_the_search_left_out(tmp_path):
    gone = {"nir": str(tmp_path / "nowhere" / "B08.tif")}
    scenes = [
        _scene("a", utc(2024, 5, 1, 2, 40), drop=("swir22",)),
        _scene("b", utc(2024, 5, 2, 2, 40), drop=("swir22", "scl")),  # counted under both reasons
        _scene("c", utc(2024, 5, 3, 2, 40), href_override=gone),
        _scene("cloudy1", utc(2024, 5, 4, 2, 40), cloud_cover=80.0),
        _scene("cloudy2", utc(2024, 5, 5, 2, 40), cloud_cover=90.0),
    ]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    err, warned = _run(cat, _plots(w=P_WEST), max_cloud_cover=50)
    assert isinstance(err, ImageryUnavailableError) and warned == []
    msg = str(err)
    assert msg.startswith("all 3 scenes were skipped: band 'swir22' missing in 2 items (asset keys: [")
    assert "; no SCL asset in 1 item (asset keys:" in msg
    assert "; 1 item with unreachable or unreadable hrefs (first: cannot open raster" in msg
    assert "nowhere/B08.tif" in msg
    assert "the search also left out 2 item(s) above the cloud limit" in msg


def test_other_collection_says_what_the_catalog_holds(tmp_path):
    # Before: "no scene in ... for collections=('sentinel-2-l2a',) ...; widen the filters".
    scenes = [_scene(f"s{i}", utc(2024, 5, 1 + i, 2, 40)) for i in range(3)]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE, collection_id="sentinel-2-c1-l2a")
    with pytest.raises(ImageryUnavailableError) as info:
        plot_time_series(cat, _plots(w=P_WEST))
    msg = str(info.value)
    assert "3 item(s) of collection 'sentinel-2-c1-l2a' (asked: 'sentinel-2-l2a')" in msg
    assert "collections=['sentinel-2-c1-l2a']" in msg
    ds = plot_time_series(cat, _plots(w=P_WEST), collections=["sentinel-2-c1-l2a"])
    assert ds.sizes["time"] == 3


def test_no_scene_covering_a_plot_is_an_error_giving_both_extents(tmp_path):
    # Two plots either side of the tile: their bbox meets the scene, no plot does.
    cat = write_s2_catalog(tmp_path / "cat", [_scene("s0", utc(2024, 5, 1, 2, 40))], T10, SHAPE)
    plots = _plots(west=(499000, 4799800, 499100, 4799850), east=(501000, 4799800, 501100, 4799850))
    err, warned = _run(cat, plots)
    assert isinstance(err, ImageryUnavailableError) and warned == []
    msg = str(err)
    assert msg.startswith("none of the 1 scene(s) found covers any plot (footprints lon ")
    assert "; plots lon " in msg and "check the plots' location and CRS" in msg


# ------------------------------------------------------------------ some scenes skipped: warnings + attrs


def test_partial_skips_warn_per_scene_and_are_counted_in_attrs(tmp_path):
    gone = {"nir": str(tmp_path / "nowhere" / "B08.tif")}
    scenes = [
        _scene("ok", utc(2024, 5, 1, 2, 40)),
        _scene("no_swir22", utc(2024, 5, 2, 2, 40), drop=("swir22",)),
        _scene("no_scl", utc(2024, 5, 3, 2, 40), drop=("scl",)),
        _scene("bad_href", utc(2024, 5, 4, 2, 40), href_override=gone),
    ]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    ds, warned = _run(cat, _plots(w=P_WEST))
    assert ds.sizes["time"] == 1 and ds.attrs["n_scenes"] == 1 and ds.attrs["n_scenes_found"] == 4
    assert sum(isinstance(w, SceneSkippedWarning) for w in warned) == 3
    assert all(isinstance(w, ImageryWarning) for w in warned)
    skipped = json.loads(ds.attrs["skipped_scenes"])
    assert skipped["n_skipped"] == 3
    assert skipped["by_reason"] == {"missing_band:swir22": 1, "no_scl": 1, "unreadable": 1}
    assert "band 'swir22' missing in 1 item" in skipped["summary"]
    # a clean run says so too
    clean = write_s2_catalog(tmp_path / "clean", scenes[:1], T10, SHAPE)
    ds2 = plot_time_series(clean, _plots(w=P_WEST))
    assert json.loads(ds2.attrs["skipped_scenes"]) == {"by_reason": {}, "n_skipped": 0, "summary": ""}


def test_plot_not_covered_warning_names_footprint_and_plot_extents(tmp_path):
    cat = write_s2_catalog(tmp_path / "cat", [_scene("s0", utc(2024, 5, 1, 2, 40))], T10, SHAPE)
    with pytest.warns(PlotNotCoveredWarning) as rec:
        plot_time_series(cat, _plots(w=P_WEST, away=P_AWAY))
    msg = str(rec[0].message)
    assert msg.startswith("1 plot(s) lie outside every scene footprint, their series are NaN: ['away']")
    # the tile's footprint (lon ~123.0000-123.0049) vs the plot 100 km away (lon ~124.2)
    assert "The footprints of the 1 scene(s) used span lon 123.0000..123.0049" in msg
    assert "these plots span lon 124.2" in msg
    assert msg.index("location") < msg.index("CRS")


def test_max_items_is_passed_to_the_search(tmp_path):
    scenes = [_scene(f"s{i}", utc(2024, 5, 1 + i, 2, 40)) for i in range(3)]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    with pytest.raises(TooManyItemsError, match="matched more than 2 items"):
        plot_time_series(cat, _plots(w=P_WEST), max_items=2)
    assert plot_time_series(cat, _plots(w=P_WEST), max_items=3).sizes["time"] == 3


# ------------------------------------------------------------------ offset check


def test_negative_reflectance_flags_a_scene_with_a_wrong_offset(tmp_path):
    # "wrong": DN without the +1000 of baseline 04.00 (an old product) but raster:bands offset -0.1,
    # so blue reads 0.05 - 0.1 = -0.05 (and red 0.10 - 0.1 = 0.00) on every clear pixel.
    # "right": the same surface with the +1000, but one pixel of blue at DN 900 (-0.01): 1 of the
    # 150 clear pixels under the three plots, a share under 1 %, recorded but not warned about.
    right = _scene("right", utc(2024, 5, 6, 2, 40))
    right["dn"]["blue"][7, 5] = 900  # 10 m row 7, col 5: inside plot "w"
    scenes = [_scene("wrong", utc(2024, 5, 1, 2, 40), boa_add_offset=False), right]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    with pytest.warns(ReflectanceOffsetWarning) as rec:
        ds = plot_time_series(cat, _plots(w=P_WEST, c=P_CLOUD, e=P_EAST))
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert msg.startswith("scene 'wrong': 100.0 % of its 150 clear pixels under the plots have a reflectance")
    assert "below -0.005 (band 'blue': 100.0 %)" in msg
    assert "its offset (-0.1, from raster:bands) is likely wrong" in msg
    share = json.loads(ds.attrs["negative_reflectance_share"])
    assert share == {"right": pytest.approx(1 / 150, abs=1e-6), "wrong": 1.0}
    assert 1 / 150 < NEGATIVE_REFLECTANCE_MAX_SHARE
    assert ds.attrs["negative_reflectance_tolerance"] == -0.005
    np.testing.assert_allclose(ds["blue"].sel(plot="w").values, [-0.05, (49 * 0.05 - 0.01) / 50], atol=1e-12)


# ------------------------------------------------------------------ observed vs cloudy vs not covered


def test_observed_cloudy_and_not_covered_are_distinct(tmp_path):
    # Day 1 (scene A): the cloud plot is under SCL 9 (20 m rows 10-15), and 10 m columns >= 20 are
    # nodata (a partial swath): the east plot is in A's footprint but A holds no data for it.
    # Day 2 (scene B): all clear. The away plot is in no scene.
    scl_a = np.full((20, 20), 4, np.uint8)
    scl_a[10:16] = 9
    scenes = [
        _scene("A", utc(2024, 5, 1, 2, 40), scl=scl_a, nodata_cols10=20),
        _scene("B", utc(2024, 5, 6, 2, 40)),
    ]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    plots = _plots(west=P_WEST, cloud=P_CLOUD, east=P_EAST, away=P_AWAY)
    with pytest.warns(PlotNotCoveredWarning, match="'away'"):
        ds = plot_time_series(cat, plots)
    nan = np.nan
    expect = {  # plot: (observed, valid_fraction, count, usable, item_id) for days 1 and 2
        "west": ([True, True], [1.0, 1.0], [50.0, 50.0], [True, True], ["A", "B"]),
        "cloud": ([True, True], [0.0, 1.0], [0.0, 50.0], [False, True], ["A", "B"]),
        "east": ([False, True], [nan, 1.0], [nan, 50.0], [False, True], ["", "B"]),
        "away": ([False, False], [nan, nan], [nan, nan], [False, False], ["", ""]),
    }
    for pid, (obs, vf, cnt, use, iid) in expect.items():
        p = ds.sel(plot=pid)
        assert p["observed"].values.tolist() == obs, pid
        np.testing.assert_allclose(p["valid_fraction"].values, vf, rtol=1e-9, err_msg=pid)
        np.testing.assert_allclose(p["count"].values, cnt, rtol=1e-9, err_msg=pid)
        assert p["usable"].values.tolist() == use, pid
        assert p["item_id"].values.tolist() == iid, pid
        assert np.isnan(p["red"].values[~np.array(use)]).all()
    assert ds["observed"].dtype == bool
    assert ds["observed"].attrs == {
        "units": "1",
        "long_name": "a scene covered the plot on that day",
        "comment": ds["observed"].attrs["comment"],
    }
    assert ds.attrs["observed_plot_dates"] == 5 and ds.attrs["usable_plot_dates"] == 4
    for v in ds.data_vars:
        assert "units" in ds[v].attrs, v
