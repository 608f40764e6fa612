"""Tests of the sample county's synthetic Sentinel-2 L2A-like imagery (mrv_service.sample.imagery).

One tiny county (24 strip plots in EPSG:32651 near Lishu, one season) is written once per module;
the tests read it back the way a user would (pystac + rasterio) and compute the indices by hand
from DN with the Earth Search v1 scale/offset, never through the generator's own code.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pystac
import pytest
import rasterio
import rasterio.features
from pyproj import Transformer
from shapely.geometry import box

from models.errors import MRVError
from mrv_service.sample.imagery import (
    SampleImageryError,
    acquisition_schedule,
    draw_surface_states,
    mgrs_tile,
    solar_position,
    write_imagery,
)

YEAR = 2023
SEED = 20261121
PRACTICES = [("plough", "removed"), ("no_till", "mulched"), ("rotary", "retained")]
SOWING = pd.Timestamp(f"{YEAR}-05-01")
HARVEST = pd.Timestamp(f"{YEAR}-10-03")

# Earth Search v1 sentinel-2-l2a conventions (raster:bands of a real item, 2025, processing baseline >= 04.00)
ES_SCALE = 0.0001
ES_OFFSET = -0.1


def _county(n_cols: int = 8, n_rows: int = 3) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Strip plots 40 m x 150 m (0.6 ha) along field roads, 20 m apart, at about 43.42 N 124.37 E."""
    x0, y0 = 610_900.0, 4_808_400.0  # EPSG:32651 of 124.37 E 43.42 N
    geoms, rows = [], []
    for k in range(n_cols * n_rows):
        i, j = k % n_cols, k // n_cols
        x, y = x0 + i * 60.0, y0 + j * 170.0
        geoms.append(box(x, y, x + 40.0, y + 150.0))
        tillage, residue = PRACTICES[k % 3]
        rows.append(
            {
                "plot_id": f"LS{k:03d}",
                "year": YEAR,
                "tillage": tillage,
                "residue": residue,
                "sowing_date": SOWING,
                "harvest_date": HARVEST,
            }
        )
    plots = gpd.GeoDataFrame({"plot_id": [r["plot_id"] for r in rows]}, geometry=geoms, crs="EPSG:32651")
    return plots, pd.DataFrame(rows)


@pytest.fixture(scope="module")
def county():
    return _county()


@pytest.fixture(scope="module")
def sample(tmp_path_factory, county):
    plots, states = county
    calls: list[int] = []

    def wrapper(iterable):  # the tqdm.tqdm convention: progress(iterable) -> iterable
        for x in iterable:
            calls.append(1)
            yield x

    out = tmp_path_factory.mktemp("sample")
    summary = write_imagery(out, plots, states, seed=SEED, years=[YEAR], progress=wrapper)
    return out, summary, calls


@pytest.fixture(scope="module")
def items(sample):
    out, _, _ = sample
    catalog = pystac.Catalog.from_file(str(out / "imagery" / "catalog.json"))
    return sorted(catalog.get_items(recursive=True), key=lambda it: it.datetime)


def _read(item: pystac.Item, key: str) -> tuple[np.ndarray, rasterio.Affine]:
    with rasterio.open(item.assets[key].get_absolute_href()) as src:
        return src.read(1), src.transform


def _reflectance(dn: np.ndarray) -> np.ndarray:
    return dn.astype(float) * ES_SCALE + ES_OFFSET


def _interior(geom, transform, shape) -> np.ndarray:
    """Pixels whose centre lies 10 m inside the plot (no mixing with the road)."""
    return rasterio.features.geometry_mask([geom.buffer(-10.0)], shape, transform, invert=True)


def _clear_items(items, start: str, end: str, max_cloud: float = 30.0):
    lo, hi = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    chosen = [
        it for it in items if lo <= it.datetime.date() <= hi and it.properties["eo:cloud_cover"] <= max_cloud
    ]
    assert chosen, f"no item with <= {max_cloud} % cloud between {start} and {end}"
    return chosen


def _plot_index(item, geom, kind: str) -> float:
    """Mean NDVI (10 m) or NDTI (20 m) over the clear (SCL 4/5) interior pixels of one plot."""
    scl, t20 = _read(item, "scl")
    if kind == "ndvi":
        red, t10 = _read(item, "red")
        nir, _ = _read(item, "nir")
        clear = np.repeat(np.repeat(np.isin(scl, [4, 5]), 2, 0), 2, 1)
        a, b = _reflectance(nir), _reflectance(red)
        mask = _interior(geom, t10, red.shape) & clear
    else:
        s16, _ = _read(item, "swir16")
        s22, _ = _read(item, "swir22")
        a, b = _reflectance(s16), _reflectance(s22)
        mask = _interior(geom, t20, scl.shape) & np.isin(scl, [4, 5])
    if mask.sum() < 3:
        return math.nan
    return float(((a - b) / (a + b))[mask].mean())


# --------------------------------------------------------------------------------------------- catalog


def test_summary_and_progress(sample, items):
    out, summary, calls = sample
    n = len(acquisition_schedule([YEAR], SEED))
    assert summary["n_items"] == len(items) == n
    assert calls == [1] * n
    assert summary["n_cogs"] == 7 * n
    assert summary["n_files"] == 7 * n + n + 2  # COGs + item JSON + collection + catalog
    files = [p for p in (out / "imagery").rglob("*") if p.is_file()]
    assert summary["bytes"] == sum(p.stat().st_size for p in files)
    assert summary["dates"] == [it.datetime.date().isoformat() for it in items]
    west, south, east, north = summary["bbox"]
    assert 124.3 < west < east < 124.45 and 43.38 < south < north < 43.46
    assert summary["mgrs_tile"] == "51TXJ"


def test_catalog_collection_and_items_are_stac(sample, items):
    out, _, _ = sample
    catalog = pystac.Catalog.from_file(str(out / "imagery" / "catalog.json"))
    (collection,) = list(catalog.get_children())
    assert isinstance(collection, pystac.Collection)
    assert collection.id == "sentinel-2-l2a"
    assert collection.license == "proprietary"
    assert collection.providers and "synthetic" in collection.description.lower()
    coll_json = json.loads((out / "imagery" / "sentinel-2-l2a" / "collection.json").read_text())
    assert set(coll_json["item_assets"]) == {"blue", "green", "red", "nir", "swir16", "swir22", "scl"}
    assert coll_json["summaries"]["platform"]
    t0, t1 = collection.extent.temporal.intervals[0]
    assert t0 == items[0].datetime and t1 == items[-1].datetime
    # self-contained: every link and asset href is relative
    for path in (out / "imagery").rglob("*.json"):
        doc = json.loads(path.read_text())
        assert all(not link["href"].startswith(("/", "http")) for link in doc["links"]), path
        assert all(a["href"].startswith("./") for a in doc.get("assets", {}).values()), path

    # the extensions an Earth Search v1 item declares, as written on disk
    needed = {
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/sentinel-2/v1.0.0/schema.json",
        "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
        "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    }
    for item in items:
        on_disk = json.loads(Path(item.get_self_href()).read_text())
        assert needed <= set(on_disk["stac_extensions"])
        assert on_disk["properties"]["proj:epsg"] == 32651  # Earth Search style (projection v1.1.0)
        # pystac migrates projection v1.1.0 to v2.0.0 on read: proj:code is what it keeps
        assert item.properties["proj:code"] == "EPSG:32651"
        assert any("/projection/" in uri for uri in item.stac_extensions)
        assert item.collection_id == "sentinel-2-l2a"
        p = item.properties
        assert p["s2:processing_baseline"] == "05.10"
        assert p["platform"] in {"sentinel-2a", "sentinel-2b"} and p["constellation"] == "sentinel-2"
        assert p["grid:code"] == "MGRS-51TXJ"
        assert item.id == f"S{p['platform'][-2:].upper()}_51TXJ_{item.datetime:%Y%m%d}_0_L2A"
        assert set(item.assets) == {"blue", "green", "red", "nir", "swir16", "swir22", "scl"}
        # round trip: pystac writes back exactly the JSON on disk
        again = pystac.Item.from_dict(on_disk, migrate=False).to_dict(
            include_self_link=False, transform_hrefs=False
        )
        for key in ("id", "geometry", "bbox", "properties", "assets", "stac_extensions", "collection"):
            assert again[key] == on_disk[key], key


def test_every_asset_is_a_tiled_deflate_cog_with_overviews(items):
    for item in items:
        for key, asset in item.assets.items():
            rb = asset.extra_fields["raster:bands"][0]
            with rasterio.open(asset.get_absolute_href()) as src:
                assert src.crs.to_epsg() == 32651
                assert src.profile["tiled"] is True and src.block_shapes == [(256, 256)]
                assert src.overviews(1), f"{item.id} {key} has no overviews"
                assert src.compression.name == "deflate"
                assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
                assert src.nodata == 0 and src.dtypes[0] == rb["data_type"]
                assert list(src.shape) == asset.extra_fields["proj:shape"]
                assert list(src.transform)[:6] == asset.extra_fields["proj:transform"]
            if key != "scl":
                assert rb["scale"] == ES_SCALE and rb["offset"] == ES_OFFSET
                assert asset.extra_fields["gsd"] == (20 if key.startswith("swir") else 10)


def test_10m_and_20m_grids_align(items):
    item = items[0]
    _, t10 = _read(item, "red")
    b11, t20 = _read(item, "swir16")
    red, _ = _read(item, "red")
    assert (t10.c, t10.f) == (t20.c, t20.f)  # same origin
    assert (t20.a, t20.e) == (2 * t10.a, 2 * t10.e) == (20.0, -20.0)
    assert red.shape == (2 * b11.shape[0], 2 * b11.shape[1])
    assert t10.c % 20 == 0 and t10.f % 20 == 0  # origin on the 20 m grid, like Sentinel-2 tiles


# --------------------------------------------------------------------------------------------- reflectance


def test_dn_offset_gives_intended_reflectance(items, county):
    """Earth Search: reflectance = DN * 0.0001 - 0.1. The generator's end-members put ploughed
    black soil at red ~0.10 (x soil brightness 0.9-1.1, x (1 - 0.45 w) at surface wetness w, which
    averages 0.2 in spring) and a full maize
    canopy at NIR ~0.43 (0.95 x 0.45 + 0.05 x soil); without the -0.1 offset both would read 0.1 high."""
    plots, states = county
    ploughed = plots.geometry[0]
    spring = _clear_items(items, f"{YEAR}-04-25", f"{YEAR}-06-05")[0]
    red, t10 = _read(spring, "red")
    red_soil = np.median(_reflectance(red)[_interior(ploughed, t10, red.shape)])
    assert 0.07 <= red_soil <= 0.13
    summer = min(
        _clear_items(items, f"{YEAR}-07-15", f"{YEAR}-08-31"), key=lambda i: i.properties["eo:cloud_cover"]
    )
    nir, t10 = _read(summer, "nir")
    nir_canopy = np.median(_reflectance(nir)[_interior(ploughed, t10, nir.shape)])
    assert 0.36 <= nir_canopy <= 0.50


def test_ndvi_follows_maize_phenology(items, county):
    plots, _ = county
    ploughed = [g for g, (t, _) in zip(plots.geometry, PRACTICES * 8, strict=True) if t == "plough"]
    july = min(
        _clear_items(items, f"{YEAR}-07-05", f"{YEAR}-08-10"), key=lambda i: i.properties["eo:cloud_cover"]
    )
    spring = _clear_items(items, f"{YEAR}-04-25", f"{YEAR}-06-05")  # ploughed 19 April, sown 1 May
    peak = np.nanmean([_plot_index(july, g, "ndvi") for g in ploughed])
    bare = np.nanmean([_plot_index(it, g, "ndvi") for it in spring for g in ploughed])
    assert peak > 0.6
    assert bare < 0.3
    after = _clear_items(items, f"{YEAR}-10-10", f"{YEAR}-11-30")  # harvested 3 October
    assert np.nanmean([_plot_index(it, g, "ndvi") for it in after for g in ploughed]) < 0.3


def test_ndti_separates_no_till_mulch_from_ploughed_soil(items, county):
    """NDTI = (B11 - B12) / (B11 + B12) rises with residue cover (van Deventer et al. 1997,
    PE&RS 63:87-93; Zheng et al. 2012, RSE 117:177-183): mulched no-till plots must read
    clearly above ploughed, straw-removed plots in spring, before the canopy closes."""
    plots, _ = county
    by_practice = {p: [] for p in PRACTICES}
    for geom, practice in zip(plots.geometry, PRACTICES * 8, strict=True):
        by_practice[practice].append(geom)
    spring = _clear_items(items, f"{YEAR}-04-25", f"{YEAR}-06-05")
    ndti = {
        p: np.nanmean([_plot_index(it, g, "ndti") for it in spring for g in geoms])
        for p, geoms in by_practice.items()
    }
    no_till, plough = ndti[("no_till", "mulched")], ndti[("plough", "removed")]
    assert no_till > plough + 0.08
    assert no_till > 0.12 and plough < 0.08


def test_tillage_date_times_the_residue_burial(tmp_path, county):
    """Same seed, same plots: a rotary pass on 5 April buries the straw (35 % of the cover left)
    before the late-April scenes, a pass on 25 May does not, so those scenes read a clearly
    higher NDTI with the late pass. Clouds and noise are identical in both runs."""
    plots, states = county
    few = plots.iloc[:6]
    rotary = states[states["plot_id"].isin(few["plot_id"]) & (states["tillage"] == "rotary")].copy()
    rotary_plots = few[few["plot_id"].isin(rotary["plot_id"])]
    ndti = {}
    for label, day in (("early", f"{YEAR}-04-05"), ("late", f"{YEAR}-05-25")):
        rotary["tillage_date"] = pd.Timestamp(day)
        write_imagery(tmp_path / label, rotary_plots, rotary, seed=3, years=[YEAR])
        cat = pystac.Catalog.from_file(str(tmp_path / label / "imagery" / "catalog.json"))
        its = sorted(cat.get_items(recursive=True), key=lambda i: i.datetime)
        window = _clear_items(its, f"{YEAR}-04-10", f"{YEAR}-05-20", max_cloud=60.0)
        ndti[label] = np.nanmean([_plot_index(it, g, "ndti") for it in window for g in rotary_plots.geometry])
    assert ndti["late"] > ndti["early"] + 0.04


# --------------------------------------------------------------------------------------------- surface states

# The class ranges as documented in mrv_service/sample/imagery.py and the sample README
# (typed here by hand, not imported): residue cover right after harvest by straw handling, and
# the fraction of cover one tillage pass leaves (Purdue/NRCS residue-remaining tables).
COVER_RANGES = {
    "removed": (0.05, 0.45),
    "burned": (0.00, 0.10),
    "retained": (0.50, 0.85),
    "mulched": (0.45, 0.98),
}
REMAINING_RANGES = {
    "plough": (0.00, 0.10),
    "rotary": (0.20, 0.50),
    "reduced": (0.50, 0.70),
    "subsoiling": (0.70, 0.90),
    "no_till": (0.85, 0.95),
}


def _many_states(n_per_class: int = 1000) -> pd.DataFrame:
    residues, tillages = list(COVER_RANGES), list(REMAINING_RANGES)
    n = n_per_class * len(residues) * len(tillages)
    return pd.DataFrame(
        {
            "plot_id": [f"P{i:05d}" for i in range(n)],
            "year": YEAR,
            "residue": [residues[i % len(residues)] for i in range(n)],
            "tillage": [tillages[(i // len(residues)) % len(tillages)] for i in range(n)],
        }
    )


def test_drawn_residue_cover_and_tillage_remaining_lie_in_their_class_ranges():
    drawn = draw_surface_states(_many_states(200), np.random.default_rng(11))
    for residue, (lo, hi) in COVER_RANGES.items():
        c = drawn.loc[drawn["residue"] == residue, "residue_cover"]
        assert lo <= c.min() and c.max() <= hi, residue
        # symmetric Beta(1.5, 1.5) draws: the mean is the midpoint; with 1000 draws its standard
        # error is 0.25 x width / sqrt(1000) <= 0.005
        assert c.mean() == pytest.approx((lo + hi) / 2, abs=0.02), residue
        assert c.std() > 0.2 * (hi - lo), residue  # spread over the range, not one number
    means = drawn.groupby("residue")["residue_cover"].mean()
    # documented order of the class means: mulched 0.715 > retained 0.675 > removed 0.25 > burned 0.05
    assert means["mulched"] > means["retained"] > means["removed"] + 0.3 > means["burned"] + 0.3
    for tillage, (lo, hi) in REMAINING_RANGES.items():
        k = drawn.loc[drawn["tillage"] == tillage, "tillage_remaining"]
        assert lo <= k.min() and k.max() <= hi and k.mean() == pytest.approx((lo + hi) / 2, abs=0.02)
    char = drawn.set_index("residue")["char_cover"]
    assert char["burned"].between(0.40, 0.80).all() and (char.drop("burned") == 0).all()
    # deterministic for a seed; values already given are kept
    again = draw_surface_states(_many_states(200), np.random.default_rng(11))
    pd.testing.assert_frame_equal(drawn, again)
    given = _many_states(1).assign(residue_cover=0.5)
    assert (draw_surface_states(given, np.random.default_rng(1))["residue_cover"] == 0.5).all()


COVERS = [0.0, 0.3, 0.6, 0.9]  # given per plot, cycling over the 24 strip plots


@pytest.fixture(scope="module")
def cover_runs(tmp_path_factory, county):
    """The strip county with a given residue cover per plot (no-till: no pass until next sowing),
    written at wetness 0 (air-dry) and 1 (saturated) with the same seed (same clouds and noise)."""
    plots, states = county
    st = states.assign(
        tillage="no_till", residue="mulched", residue_cover=[COVERS[k % 4] for k in range(len(states))]
    )
    out = {}
    for label, wetness in (("dry", 0.0), ("wet", 1.0)):
        d = tmp_path_factory.mktemp(label)
        write_imagery(d, plots, st, seed=SEED, years=[YEAR], wetness=wetness)
        cat = pystac.Catalog.from_file(str(d / "imagery" / "catalog.json"))
        its = sorted(cat.get_items(recursive=True), key=lambda i: i.datetime)
        after = _clear_items(its, f"{YEAR}-10-08", f"{YEAR}-11-30", max_cloud=60.0)  # harvested 3 October
        ndti = np.array([np.nanmean([_plot_index(it, g, "ndti") for it in after]) for g in plots.geometry])
        out[label] = pd.Series(ndti).groupby([COVERS[k % 4] for k in range(len(plots))]).mean()
        out[label + "_plots"] = ndti
    return out


def test_post_harvest_ndti_rises_with_residue_cover(cover_runs):
    """Linear mixture of dry maize residue (B11 0.34, B12 0.22) and dry black soil (0.195, 0.19),
    soil brightness 1, by hand: cover 0.9 -> B11 = 0.9 x 0.34 + 0.1 x 0.195 = 0.3255,
    B12 = 0.9 x 0.22 + 0.1 x 0.19 = 0.2170, NDTI = 0.1085 / 0.5425 = 0.200; cover 0.6 -> 0.074 / 0.490
    = 0.151; cover 0.3 -> 0.0395 / 0.4375 = 0.090; bare soil -> 0.005 / 0.385 = 0.013.  Per-plot soil
    brightness (0.9-1.1), SWIR shape and residue condition scatter these by about +/- 0.02."""
    dry = cover_runs["dry"]
    for cover, expected in ((0.0, 0.013), (0.3, 0.090), (0.6, 0.151), (0.9, 0.200)):
        assert dry[cover] == pytest.approx(expected, abs=0.03), cover
    assert dry.is_monotonic_increasing
    per_plot = cover_runs["dry_plots"]
    covers = np.array([COVERS[k % 4] for k in range(len(per_plot))])
    ok = ~np.isnan(per_plot)
    r = np.corrcoef(covers[ok], per_plot[ok])[0, 1]
    assert r**2 > 0.8  # the published NDTI-cover fits reach R2 0.8-0.9; a dry scene is at the top


def test_wet_soil_compresses_the_bare_vs_residue_ndti_contrast(cover_runs):
    """Saturated surface (wetness 1), by hand: soil B11 = 0.195 x (1 - 0.40) = 0.117,
    B12 = 0.19 x (1 - 0.42) = 0.110, NDTI 0.030; residue B11 = 0.34 x (1 - 0.45) = 0.187,
    B12 = 0.22 x (1 - 0.30) = 0.154; cover 0.9 -> B11 = 0.180, B12 = 0.150, NDTI = 0.092.  The
    contrast cover 0.9 - bare falls from 0.187 (dry) to 0.062 (wet); plots scatter around the
    scene's wetness, so some are a little drier than saturated."""
    dry, wet = cover_runs["dry"], cover_runs["wet"]
    contrast_dry, contrast_wet = dry[0.9] - dry[0.0], wet[0.9] - wet[0.0]
    assert contrast_dry == pytest.approx(0.187, abs=0.03)
    assert contrast_wet == pytest.approx(0.062, abs=0.035)
    assert contrast_wet < 0.6 * contrast_dry
    assert wet[0.0] > dry[0.0]  # wet black soil: B12 darkens a little more than B11
    assert wet.is_monotonic_increasing  # still ordered, only compressed


def test_burned_fields_are_darker_than_removed_ones_for_weeks_after_the_burn(tmp_path, county):
    """Straw burned on 8 October leaves char (dark, about 0.03-0.05 in every band) over 40-80 % of
    the surface (mean 0.6), fading with an e-folding time of 30 days, and a few stalk bases
    (residue cover 0-0.10, mean 0.05); removed fields keep 5-45 % residue (mean 0.25) on the soil."""
    plots, states = county
    burned = np.arange(len(states)) % 2 == 0
    st = states.assign(
        tillage="rotary",  # spring pass: nothing buries the char in autumn
        residue=np.where(burned, "burned", "removed"),
        burn_date=pd.Timestamp(f"{YEAR}-10-08"),
    )
    write_imagery(tmp_path, plots, st, seed=SEED, years=[YEAR])
    cat = pystac.Catalog.from_file(str(tmp_path / "imagery" / "catalog.json"))
    its = sorted(cat.get_items(recursive=True), key=lambda i: i.datetime)
    weeks = _clear_items(its, f"{YEAR}-10-09", f"{YEAR}-11-19", max_cloud=60.0)  # six weeks after
    for key in ("blue", "green", "red", "nir", "swir16", "swir22"):
        means = {True: [], False: []}
        for it in weeks:
            dn, transform = _read(it, key)
            scl, _ = _read(it, "scl")
            clear = np.isin(scl, [4, 5])
            if dn.shape != scl.shape:
                clear = np.repeat(np.repeat(clear, 2, 0), 2, 1)
            refl = _reflectance(dn)
            for geom, b in zip(plots.geometry, burned, strict=True):
                mask = _interior(geom, transform, dn.shape) & clear
                if mask.sum() >= 3:
                    means[bool(b)].append(refl[mask].mean())
        assert np.mean(means[True]) < np.mean(means[False]) - 0.005, key
    # the first clear scene after the burn, 21 days on for this seed: char 0.6 e^(-21/30) = 0.30,
    # NIR = 0.65 x 0.135 + 0.05 x 0.28 + 0.30 x 0.04 = 0.114 against 0.75 x 0.135 + 0.25 x 0.28 = 0.171
    # on dry removed fields (both a little darker where the soil is wet)
    first = weeks[0]
    assert (first.datetime.date() - dt.date(YEAR, 10, 8)).days <= 21
    nir, t10 = _read(first, "nir")
    clear = np.repeat(np.repeat(np.isin(_read(first, "scl")[0], [4, 5]), 2, 0), 2, 1)
    level = {True: [], False: []}
    for geom, b in zip(plots.geometry, burned, strict=True):
        mask = _interior(geom, t10, nir.shape) & clear
        if mask.sum() >= 3:
            level[bool(b)].append(_reflectance(nir)[mask].mean())
    assert np.mean(level[True]) == pytest.approx(0.114, abs=0.02)
    assert np.mean(level[False]) - np.mean(level[True]) > 0.025


# --------------------------------------------------------------------------------------------- clouds


def test_clouds_are_flagged_in_scl_and_cloud_cover_matches(items):
    covers = []
    for item in items:
        scl, _ = _read(item, "scl")
        blue, _ = _read(item, "blue")
        frac = 100.0 * np.isin(scl, [8, 9, 10]).sum() / (scl != 0).sum()
        assert item.properties["eo:cloud_cover"] == pytest.approx(frac, abs=1e-4)
        covers.append(frac)
        thick = np.repeat(np.repeat(scl == 9, 2, 0), 2, 1)
        clear = np.repeat(np.repeat(np.isin(scl, [4, 5]), 2, 0), 2, 1)
        if thick.sum() > 20 and clear.sum() > 20:
            # thick cloud is bright in blue, the clear ground is not
            assert _reflectance(blue)[thick].mean() > 0.25 > 0.15 > _reflectance(blue)[clear].mean()
    assert max(covers) > 70.0  # at least one mostly cloudy scene
    assert sum(5.0 < c < 60.0 for c in covers) >= 2  # partly cloudy scenes
    assert sum(c < 2.0 for c in covers) >= 5  # and clear ones
    assert any(np.isin(_read(it, "scl")[0], [3]).any() for it in items)  # cloud shadows exist


# --------------------------------------------------------------------------------------------- determinism


def test_same_seed_same_pixels_other_seed_other_pixels(tmp_path, county):
    plots, states = county
    few = plots.iloc[:6]
    st = states[states["plot_id"].isin(few["plot_id"])]
    a = write_imagery(tmp_path / "a", few, st, seed=5, years=[YEAR])

    class Bar:  # tqdm-like progress object
        n = 0

        def update(self, k):
            self.n += k

    bar = Bar()
    b = write_imagery(
        tmp_path / "b", few.iloc[::-1], st, seed=5, years=[YEAR], progress=bar
    )  # row order is irrelevant
    assert bar.n == b["n_items"]
    c = write_imagery(tmp_path / "c", few, st, seed=6, years=[YEAR])
    assert a["dates"] == b["dates"]
    item_dirs = sorted(p.parent.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("SCL.tif"))
    for item_dir in item_dirs[4:7]:
        for band in ("B04", "B11", "SCL"):
            with rasterio.open(tmp_path / "a" / item_dir / f"{band}.tif") as s1:
                with rasterio.open(tmp_path / "b" / item_dir / f"{band}.tif") as s2:
                    np.testing.assert_array_equal(s1.read(), s2.read())
    assert c["dates"] != a["dates"] or c["cloud_cover"] != a["cloud_cover"]


# --------------------------------------------------------------------------------------------- helpers


def test_schedule_is_on_the_5_day_revisit_grid():
    sched = acquisition_schedule([2021, 2022], seed=1)
    assert sched == acquisition_schedule([2022, 2021], seed=1)
    days = [a.date for a in sched]
    assert days == sorted(days) and len(set(days)) == len(days)
    assert all((d - days[0]).days % 5 == 0 for d in days)
    for year in (2021, 2022):
        season = [a for a in sched if a.date.year == year]
        assert 14 <= len(season) <= 16
        assert sum(dt.date(year, 4, 1) <= a.date <= dt.date(year, 10, 31) for a in season) >= 13
        assert sum(a.sky == "mostly" for a in season) == 2
    # S2A and S2B alternate on consecutive 5-day slots
    for a in sched:
        slot = (a.date - days[0]).days // 5
        other = (
            sched[0].platform
            if slot % 2 == 0
            else ({"sentinel-2a", "sentinel-2b"} - {sched[0].platform}).pop()
        )
        assert a.platform == other


def _reference_items(imagery_dir):
    """Real Earth Search items: (datetime, lon, lat, sun elevation, sun azimuth, zone, band, square)."""
    ic = json.loads(
        (imagery_dir / "stac" / "earthsearch_v1_sentinel-2_2025-07-31_itemcollection.json").read_text()
    )
    for f in ic["features"]:
        p = f["properties"]
        if p["mgrs:grid_square"] == "PT":
            continue  # its data centroid lies in the tile's overlap strip, in the next UTM zone
        c = p["proj:centroid"]
        yield (
            dt.datetime.fromisoformat(p["datetime"]),
            c["lon"],
            c["lat"],
            p["view:sun_elevation"],
            p["view:sun_azimuth"],
            p["mgrs:utm_zone"],
            p["mgrs:latitude_band"],
            p["mgrs:grid_square"],
        )
    item = json.loads(
        (
            imagery_dir / "rio-tiler-pds" / "S2A_29RKH_20200219_0_L2A" / "S2A_29RKH_20200219_0_L2A.json"
        ).read_text()
    )
    p = item["properties"]
    # centre of the 109.8 km tile from the B02 asset's proj:transform (origin 199980, 2800020)
    lon, lat = Transformer.from_crs(32629, 4326, always_xy=True).transform(199980 + 54900, 2800020 - 54900)
    yield (
        dt.datetime.fromisoformat(p["datetime"]),
        lon,
        lat,
        p["view:sun_elevation"],
        p["view:sun_azimuth"],
        29,
        "R",
        "KH",
    )


def test_mgrs_and_sun_angles_match_real_earth_search_items(imagery_dir):
    refs = list(_reference_items(imagery_dir))
    assert len(refs) >= 6
    for when, lon, lat, elev, az, zone, band, square in refs:
        assert mgrs_tile(lon, lat) == (zone, band, square)
        # Earth Search angles are tile means from the granule metadata: agree within 1 degree
        e, a = solar_position(when, lon, lat)
        assert e == pytest.approx(elev, abs=1.0) and a == pytest.approx(az, abs=1.0)


def test_sun_position_hand_calculation():
    # 21 June 2024 02:36 UTC at 124.37 E 43.42 N: local solar time ~10:52 (eq. of time ~ -1.5 min),
    # hour angle -17 deg, declination 23.44 deg:
    # sin(el) = sin 43.42 sin 23.44 + cos 43.42 cos 23.44 cos 17 = 0.2734 + 0.6373 -> el = 65.6 deg
    e, _ = solar_position(dt.datetime(2024, 6, 21, 2, 36, tzinfo=dt.UTC), 124.37, 43.42)
    assert e == pytest.approx(65.6, abs=0.3)


# --------------------------------------------------------------------------------------------- errors


def test_bad_input_is_rejected_with_the_offending_value(tmp_path, county):
    plots, states = county
    with pytest.raises(SampleImageryError, match="LS001"):
        write_imagery(tmp_path, plots, states[states["plot_id"] != "LS001"], seed=1, years=[YEAR])
    bad = states.copy()
    bad.loc[0, "tillage"] = "harrow"
    with pytest.raises(ValueError, match="'harrow'"):
        write_imagery(tmp_path, plots, bad, seed=1, years=[YEAR])
    with pytest.raises(MRVError, match="no CRS"):
        no_crs = gpd.GeoDataFrame({"plot_id": plots["plot_id"]}, geometry=list(plots.geometry))
        write_imagery(tmp_path, no_crs, states, seed=1, years=[YEAR])
    with pytest.raises(SampleImageryError, match="sowing_date"):
        write_imagery(tmp_path, plots, states.drop(columns="sowing_date"), seed=1, years=[YEAR])
    late = states.copy()
    late.loc[2, "harvest_date"] = pd.Timestamp(f"{YEAR}-04-01")
    with pytest.raises(SampleImageryError, match="LS002.*not after"):
        write_imagery(tmp_path, plots, late, seed=1, years=[YEAR])
    early = states.assign(residue="burned", burn_date=pd.Timestamp(f"{YEAR}-09-01"))
    with pytest.raises(SampleImageryError, match="burn_date .* before harvest_date"):
        write_imagery(tmp_path, plots, early, seed=1, years=[YEAR])
    with pytest.raises(SampleImageryError, match="residue_cover=1.5"):
        write_imagery(tmp_path, plots, states.assign(residue_cover=1.5), seed=1, years=[YEAR])
    with pytest.raises(SampleImageryError, match="wetness=2"):
        write_imagery(tmp_path, plots, states, seed=1, years=[YEAR], wetness=2)
    assert not (tmp_path / "imagery" / "catalog.json").exists()
