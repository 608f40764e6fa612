"""Plots + static STAC catalog -> Dataset(plot, time): hand values, exactextract, real cubes, failures."""

from __future__ import annotations

import io
import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from exactextract import exact_extract
from pyproj import CRS

from geodata.errors import CRSError, ImageryUnavailableError, ImageryWarning
from geodata.features import bsi, ndti, ndvi
from geodata.masks import scl_valid_mask
from geodata.pipeline import PlotNotCoveredWarning, SceneSkippedWarning, plot_time_series

from .conftest import malawi_plots_in, utc, write_s2_catalog, write_tif

T10 = Affine(10, 0, 500000, 0, -10, 4800000)
SHAPE = (40, 40)  # 400 m x 400 m
DN = {"blue": 1500, "green": 1600, "red": 2000, "nir": 5000, "swir16": 3000, "swir22": 2500}


def _const_scene(sid, when, red=2000, cloudy_rows20=0, **kw):
    dn = {}
    for b, v in DN.items():
        shape = SHAPE if b in ("blue", "green", "red", "nir") else (20, 20)
        dn[b] = np.full(shape, red if b == "red" else v, np.uint16)
    scl = np.full((20, 20), 4, np.uint8)
    scl[:cloudy_rows20] = 9
    dn["scl"] = scl
    return {"id": sid, "datetime": when, "dn": dn, **kw}


def _plots(crs=4326):
    g = gpd.GeoDataFrame(
        {
            "plot_id": ["clear", "half", "outside"],
            "geometry": [
                shapely.box(500100, 4799650, 500200, 4799700),  # rows 30-35: never cloudy; 50 px
                shapely.box(500100, 4799750, 500200, 4799850),  # rows 15-25: 5 of 10 rows cloudy in B
                shapely.box(600000, 4700000, 600100, 4700100),  # 100 km away
            ],
        },
        crs="EPSG:32651",
    )
    return g.to_crs(crs)


@pytest.fixture
def const_catalog(tmp_path):
    scenes = [
        _const_scene("S2A_A", utc(2024, 5, 1, 2, 40)),
        # cloud (SCL 9) in 20 m rows 0-9 = 10 m rows 0-19
        _const_scene("S2B_B", utc(2024, 5, 6, 2, 40), red=2500, cloudy_rows20=10),
    ]
    return write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)


def test_hand_values_on_constant_scenes(const_catalog):
    # DN -> reflectance with scale 1e-4, offset -0.1: blue 0.05, red 0.10 (B: 0.15), nir 0.40,
    # swir16 0.20, swir22 0.15. NDVI A = 0.30/0.50 = 0.6, B = 0.25/0.55 = 0.454545...;
    # NDTI = 0.05/0.35 = 0.142857...; BSI A = (0.30 - 0.45)/(0.30 + 0.45) = -0.2.
    with pytest.warns(PlotNotCoveredWarning, match="outside"):
        ds = plot_time_series(const_catalog, _plots())
    assert ds.sizes == {"plot": 3, "time": 2}
    assert ds["plot"].values.tolist() == ["clear", "half", "outside"]
    assert pd.DatetimeIndex(ds.time.values).strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-05-01 02:40",
        "2024-05-06 02:40",
    ]
    c = ds.sel(plot="clear")
    np.testing.assert_allclose(c["red"].values, [0.10, 0.15], atol=1e-12)
    np.testing.assert_allclose(c["ndvi"].values, [0.6, 0.25 / 0.55], rtol=1e-12)
    np.testing.assert_allclose(c["ndti"].values, [0.05 / 0.35] * 2, rtol=1e-12)
    assert float(c["bsi"][0]) == pytest.approx(-0.2, rel=1e-12)
    np.testing.assert_allclose(c["count"].values, [50.0, 50.0], rtol=1e-9)  # 100 m x 50 m = 50 px
    # "half": 5 of its 10 rows under cloud on B -> valid fraction 0.5 < 0.8 -> NaN, not usable
    h = ds.sel(plot="half")
    np.testing.assert_allclose(h["valid_fraction"].values, [1.0, 0.5], rtol=1e-9)  # via EPSG:4326 and back
    assert h["usable"].values.tolist() == [True, False] and np.isnan(float(h["red"][1]))
    # not observed (no scene covers it): valid_fraction and count NaN, not 0
    o = ds.sel(plot="outside")
    assert o["observed"].values.tolist() == [False, False]
    assert np.isnan(o["valid_fraction"].values).all() and np.isnan(o["count"].values).all()
    assert ds.attrs["usable_plot_dates"] == 3
    for v in ("red", "ndvi", "ndti", "bsi", "valid_fraction", "count", "observed", "usable", "item_id"):
        assert ds[v].attrs["units"] == "1"
    # lon/lat along plot: the clear plot's centre (500150, 4799675) in EPSG:32651 -> EPSG:4326
    assert float(ds.lon.sel(plot="clear")) == pytest.approx(123.0018, abs=1e-3)
    assert float(ds.lat.sel(plot="clear")) == pytest.approx(43.3502, abs=1e-3)


def test_threshold_is_configurable_and_any_plot_crs(const_catalog):
    plots = _plots(crs=32651).iloc[:2]  # UTM input; no plot outside
    ds = plot_time_series(const_catalog, plots, min_valid_fraction=0.4, bands=("red",), indices=("ndvi",))
    assert ds.sel(plot="half")["red"].values == pytest.approx([0.10, 0.15])
    assert ds.attrs["usable_plot_dates"] == 4
    assert set(ds.data_vars) == {"red", "ndvi", "observed", "valid_fraction", "count", "usable", "item_id"}


def test_failures_give_warnings_not_a_crash(tmp_path):
    scenes = [
        _const_scene("ok", utc(2024, 5, 1, 2, 40)),
        _const_scene("no_swir22", utc(2024, 5, 6, 2, 40), drop=("swir22",)),
        _const_scene(
            "bad_href", utc(2024, 5, 11, 2, 40), href_override={"nir": str(tmp_path / "nowhere" / "B08.tif")}
        ),
        _const_scene("crs_mismatch", utc(2024, 5, 16, 2, 40), file_epsg={"red": 32650}),
        _const_scene("no_scl", utc(2024, 5, 21, 2, 40), drop=("scl",)),
    ]
    cat = write_s2_catalog(tmp_path / "cat", scenes, T10, SHAPE)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ds = plot_time_series(cat, _plots())
    msgs = {type(w.message).__name__: [] for w in rec}
    for w in rec:
        msgs[type(w.message).__name__].append(str(w.message))
    assert all(issubclass(w.category, ImageryWarning) for w in rec)
    assert sum(issubclass(w.category, SceneSkippedWarning) for w in rec) == 4  # one per bad scene
    skipped = " | ".join(msgs["SceneSkippedWarning"])
    assert "'no_swir22' has no asset for band(s) ['swir22']" in skipped
    assert "bad_href" in skipped and "nowhere/B08.tif" in skipped
    assert "crs_mismatch" in skipped and "EPSG:32650" in skipped
    assert "'no_scl' has no SCL asset" in skipped
    assert len(msgs["PlotNotCoveredWarning"]) == 1 and "'outside'" in msgs["PlotNotCoveredWarning"][0]
    # the good scene still gives its values
    assert ds.sizes["time"] == 1 and float(ds["ndvi"].sel(plot="clear")[0]) == pytest.approx(0.6)
    # with require_scl=False the SCL-less scene is used, unmasked
    with pytest.warns(ImageryWarning):
        ds2 = plot_time_series(cat, _plots(), require_scl=False, bands=("red",), indices=())
    assert "no_scl" in ds2["item_id"].values


def test_errors_for_bad_requests(const_catalog):
    with pytest.raises(ImageryUnavailableError, match="no scene"):
        plot_time_series(const_catalog, _plots().iloc[:1], datetime="2020")
    plots = _plots().iloc[:1]
    with pytest.raises(CRSError, match="no CRS"):
        plot_time_series(
            const_catalog, gpd.GeoDataFrame(plots.drop(columns="geometry"), geometry=list(plots.geometry))
        )


def test_random_scenes_match_exactextract_with_20m_bands(tmp_path, imagery_dir):
    # Random DN; 20 m B11/B12/SCL; 25 real Malawi shapes. Reference: exactextract on rasters built
    # independently here: per-pixel NDVI on the 10 m grid with the SCL mask repeated 2 x 2, and
    # per-pixel NDTI on the native 20 m grid with the 20 m SCL mask.
    rng = np.random.default_rng(42)
    # vegetation-like DN ranges (NDVI ~0.4-0.9, NDTI ~0-0.45) so relative comparisons are not
    # taken of means near zero
    lo_hi = {"blue": (1100, 1600), "green": (1200, 1900), "red": (1100, 2500), "nir": (3000, 6000)}
    dn = {b: rng.integers(*lo_hi[b], SHAPE).astype(np.uint16) for b in lo_hi}
    dn["swir16"] = rng.integers(2500, 4000, (20, 20)).astype(np.uint16)
    dn["swir22"] = rng.integers(1500, 2400, (20, 20)).astype(np.uint16)
    scl = rng.choice(np.array([4, 5, 8, 9, 3], np.uint8), size=(20, 20), p=[0.6, 0.25, 0.05, 0.05, 0.05])
    dn["scl"] = scl
    cat = write_s2_catalog(
        tmp_path / "cat", [{"id": "R", "datetime": utc(2024, 6, 1, 3), "dn": dn}], T10, SHAPE
    )
    plots = malawi_plots_in(imagery_dir, (500000, 4799600, 500400, 4800000), 32651, n=25, margin=0)
    ds = plot_time_series(cat, plots, min_valid_fraction=0.0)
    refl = {b: a.astype(float) * 1e-4 - 0.1 for b, a in dn.items() if b != "scl"}
    ok10 = np.repeat(np.repeat(scl_valid_mask(scl), 2, 0), 2, 1)
    write_tif(
        tmp_path / "ndvi.tif", np.where(ok10, ndvi(refl["red"], refl["nir"]), np.nan), T10, nodata=np.nan
    )
    t20 = T10 @ Affine.scale(2)
    write_tif(
        tmp_path / "ndti.tif",
        np.where(scl_valid_mask(scl), ndti(refl["swir16"], refl["swir22"]), np.nan),
        t20,
        nodata=np.nan,
    )
    for name in ("ndvi", "ndti"):
        ee = exact_extract(str(tmp_path / f"{name}.tif"), plots, ["mean"], output="pandas")
        np.testing.assert_allclose(ds[name].values[:, 0], ee["mean"].to_numpy(), rtol=1e-6)


def _cube_catalog(root, nc, var_map, epsg, *, nodata=0, scl=None, collection="sentinel-2-l2a"):
    """Write an openEO cube's dates as 10 m GeoTIFFs + a static catalog (raster:bands scale 1e-4, offset 0)."""
    x, y = nc.x.values, nc.y.values
    t = Affine(10, 0, x[0] - 5, 0, -10, y[0] + 5)
    scenes = []
    for k, when in enumerate(pd.DatetimeIndex(nc.t.values)):
        d = {key: nc[var].values[k].astype(np.uint16) for key, var in var_map.items()}
        if scl:
            d["scl"] = nc[scl].values[k].astype(np.uint8)
        # the cubes hold dates only; S2 passes over Belgium at about 10:30 UTC
        scenes.append(
            {"id": f"cube_{when:%Y%m%d}", "datetime": utc(when.year, when.month, when.day, 10, 30), "dn": d}
        )
    cat = write_s2_catalog(
        root,
        scenes,
        t,
        (len(y), len(x)),
        epsg=epsg,
        twenty_m=(),
        nodata=nodata,
        offset=0.0,
        collection_id=collection,
    )
    return cat, t


def test_real_mol_cube_scl_mask_and_exactextract(tmp_path, imagery_dir):
    # Real S2 L2A (Mol, BE, April 2023), 12 dates, only 04-05 and 04-15 clear; 20 real plot shapes
    # plus one plot equal to the pixel (row 10, col 20) whose NDVI on 04-15 is hand-computed in
    # test_features: (3840 - 370)/(3840 + 370) = 0.824228...
    nc = xr.open_dataset(imagery_dir / "openeo-gfmap" / "cdse_sentinel2_l2a_mol-BE_2023-04.nc")
    epsg = CRS.from_wkt(nc["crs"].attrs["crs_wkt"]).to_epsg()
    assert epsg == 32631
    cat, t = _cube_catalog(
        tmp_path / "cat",
        nc,
        {"red": "S2-L2A-B04", "nir": "S2-L2A-B08", "swir16": "S2-L2A-B11"},
        epsg,
        scl="S2-L2A-SCL",
    )
    h, w = nc.sizes["y"], nc.sizes["x"]
    plots = malawi_plots_in(imagery_dir, (t.c, t.f - 10 * h, t.c + 10 * w, t.f), epsg, n=20, margin=0)
    px = gpd.GeoDataFrame(
        {"plot_id": ["pixel_r10_c20"]},
        geometry=[shapely.box(643460, 5676370, 643470, 5676380)],
        crs=f"EPSG:{epsg}",
    )
    plots = pd.concat([plots, px], ignore_index=True)
    ds = plot_time_series(cat, plots, bands=("red", "nir", "swir16"), indices=("ndvi",))
    assert ds.sizes["time"] == 12
    usable_days = pd.DatetimeIndex(ds.time.values[ds["usable"].any("plot").values]).strftime("%m-%d").tolist()
    assert usable_days == ["04-05", "04-15"]
    assert float(ds["ndvi"].sel(plot="pixel_r10_c20").isel(time=5)) == pytest.approx(
        0.3470 / 0.4210, rel=1e-12
    )
    # exactextract on the same pixels (masked by SCL 4/5, reflectance = DN x 1e-4)
    for k in (1, 5):
        ok = scl_valid_mask(nc["S2-L2A-SCL"].values[k])
        red = nc["S2-L2A-B04"].values[k] * 1e-4
        nir = nc["S2-L2A-B08"].values[k] * 1e-4
        for name, arr in (("red", red), ("ndvi", ndvi(red, nir))):
            write_tif(tmp_path / f"{name}{k}.tif", np.where(ok, arr, np.nan), t, epsg=epsg, nodata=np.nan)
            ee = exact_extract(str(tmp_path / f"{name}{k}.tif"), plots, ["mean", "count"], output="pandas")
            got = ds[name].isel(time=k).values
            use = ds["usable"].isel(time=k).values
            assert use.sum() >= 15
            np.testing.assert_allclose(got[use], ee["mean"].to_numpy()[use], rtol=1e-6)
            np.testing.assert_allclose(ds["count"].isel(time=k).values, ee["count"].to_numpy(), rtol=1e-6)


def test_real_worldcereal_ndti_bsi_without_scl(tmp_path, imagery_dir):
    # Cloud-free monthly composites with B11/B12 (no SCL: require_scl=False); 65535 = nodata, and
    # Dec 2020 / Jan 2021 are entirely nodata.
    nc = xr.open_dataset(imagery_dir / "worldcereal" / "worldcereal_preprocessed_inputs.nc")
    epsg = CRS.from_wkt(nc["crs"].attrs["crs_wkt"]).to_epsg()
    vm = {
        "blue": "S2-L2A-B02",
        "red": "S2-L2A-B04",
        "nir": "S2-L2A-B08",
        "swir16": "S2-L2A-B11",
        "swir22": "S2-L2A-B12",
    }
    cat, t = _cube_catalog(tmp_path / "cat", nc, vm, epsg, nodata=65535)
    plots = malawi_plots_in(imagery_dir, (t.c, t.f - 1000, t.c + 1000, t.f), epsg, n=30, margin=0)
    ds = plot_time_series(
        cat, plots, bands=("red", "swir16", "swir22"), indices=("ndti", "bsi"), require_scl=False
    )
    months = pd.DatetimeIndex(ds.time.values).strftime("%Y-%m").tolist()
    # every pixel is nodata: the scenes' footprints meet the plots but hold no data for them, so
    # these plot-dates are not observed (valid_fraction NaN), unlike a cloudy date (0)
    empty = [months.index("2020-12"), months.index("2021-01")]
    assert not ds["observed"].isel(time=empty).values.any()
    assert np.isnan(ds["valid_fraction"].isel(time=empty).values).all()
    assert ds["observed"].drop_isel(time=empty).values.all()
    k = months.index("2021-03")
    r = {b: nc[v].values[k].astype(float) * 1e-4 for b, v in vm.items()}
    for name, arr in (
        ("ndti", ndti(r["swir16"], r["swir22"])),
        ("bsi", bsi(r["blue"], r["red"], r["nir"], r["swir16"])),
    ):
        write_tif(tmp_path / f"{name}.tif", arr, t, epsg=epsg, nodata=np.nan)
        ee = exact_extract(str(tmp_path / f"{name}.tif"), plots, ["mean"], output="pandas")
        np.testing.assert_allclose(ds[name].isel(time=k).values, ee["mean"].to_numpy(), rtol=1e-6)


def test_real_earth_search_cog_scene(tmp_path, imagery_dir):
    # The real Earth Search v1 item + COGs (downsampled to 100 m / 200 m), links dropped, local hrefs.
    scene = imagery_dir / "rio-tiler-pds" / "S2A_29RKH_20200219_0_L2A"
    d = json.loads((scene / "S2A_29RKH_20200219_0_L2A.json").read_text())
    d["links"] = []
    files = {"red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12", "scl": "SCL"}
    for key, name in files.items():
        d["assets"][key]["href"] = str(scene / f"{name}.tif")
    (tmp_path / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": [d]}))
    # three 1.5 km x 1 km plots (15 x 10 px at 100 m), offset by 30 m from the grid
    plots = gpd.GeoDataFrame(
        {"plot_id": ["p1", "p2", "p3"]},
        geometry=[
            shapely.box(x, y, x + 1500, y + 1000)
            for x, y in [(230010, 2750030), (260030, 2720010), (290050, 2780070)]
        ],
        crs="EPSG:32629",
    )
    ds = plot_time_series(
        tmp_path / "items.json", plots, bands=("red", "nir"), indices=("ndvi", "ndti"), min_valid_fraction=0.0
    )
    assert ds.sizes == {"plot": 3, "time": 1}
    with rasterio.open(scene / "B04.tif") as src:
        red = src.read(1) * 1e-4
        t = src.transform
    with rasterio.open(scene / "SCL.tif") as src:
        ok = scl_valid_mask(np.repeat(np.repeat(src.read(1), 2, 0), 2, 1))
    write_tif(tmp_path / "red.tif", np.where(ok, red, np.nan), t, epsg=32629, nodata=np.nan)
    ee = exact_extract(str(tmp_path / "red.tif"), plots, ["mean"], output="pandas")
    np.testing.assert_allclose(ds["red"].values[:, 0], ee["mean"].to_numpy(), rtol=1e-6)
    assert np.all(np.isfinite(ds["ndti"].values))


def test_distributed_client_and_progress(const_catalog):
    distributed = pytest.importorskip("distributed")
    calls = []
    plots = _plots().iloc[:2]
    local = plot_time_series(const_catalog, plots, progress=calls.append)
    assert calls == [1, 1]  # one step per scene
    tqdm = pytest.importorskip("tqdm")
    with tqdm.tqdm(file=io.StringIO()) as bar:
        plot_time_series(const_catalog, plots, progress=bar.update)
        assert (bar.n, bar.total) == (2, 2)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            remote = plot_time_series(const_catalog, plots, dask_client=client)
    xr.testing.assert_identical(local, remote)


@pytest.mark.slow
def test_sample_county_catalog_gives_every_plot_a_series(tmp_path):
    # The bundled sample county (docs/DATA_FORMATS.md section 4), small: every plot gets usable
    # dates, and NDVI follows the generator's documented season (about 0.15 on bare soil in April,
    # about 0.85 at the July/August peak; mrv_service/sample/imagery.py module notes).
    sample = pytest.importorskip("mrv_service.sample.generator")
    pytest.importorskip("mrv_service.sample.imagery")
    sample.create_sample(tmp_path / "county", n_plots=12, imagery=True)
    plots = gpd.read_file(tmp_path / "county" / "plots.geojson")
    ds = plot_time_series(tmp_path / "county" / "imagery" / "catalog.json", plots[["plot_id", "geometry"]])
    assert ds.sizes["plot"] == len(plots) and ds["usable"].any("time").all()
    assert ds.attrs["usable_plot_dates"] == int(ds["usable"].sum()) > 0
    month = pd.DatetimeIndex(ds.time.values).month
    april = ds["ndvi"].isel(time=np.flatnonzero(month == 4)).median().item()
    peak = ds["ndvi"].isel(time=np.flatnonzero((month == 7) | (month == 8))).max("time").median().item()
    assert april < 0.3 and peak > 0.7
