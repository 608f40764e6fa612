"""Windowed COG reads on a target grid: the real Earth Search COG scene and small synthetic files."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest
import rasterio
from affine import Affine

from geodata.errors import CRSError, RasterReadError
from geodata.raster import Grid, grid_of, read_pixels, read_window
from geodata.stac import ParsedAsset, parse_item

from .conftest import write_tif

SCENE = "S2A_29RKH_20200219_0_L2A"
FILES = {"red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12", "scl": "SCL"}


@pytest.fixture(scope="module")
def rt_item(imagery_dir):
    """The real Earth Search v1 item with hrefs pointing at the local COG fixtures.

    Its `links` are dropped first (tests/data/imagery/README.md: the s3:// self link would make
    pystac resolve local paths against s3://).
    """
    d = json.loads((imagery_dir / "rio-tiler-pds" / SCENE / f"{SCENE}.json").read_text())
    d["links"] = []
    for key, name in FILES.items():
        d["assets"][key]["href"] = str(imagery_dir / "rio-tiler-pds" / SCENE / f"{name}.tif")
    return parse_item(d)


def test_real_cog_grid_comes_from_the_file(rt_item):
    # The fixture is downsampled 10x: proj:transform says 10 m, the file is 100 m.
    assert rt_item.assets["red"].transform[0] == 10
    g = grid_of(rt_item.assets["red"])
    assert g.epsg == 32629 and g.shape == (1098, 1098) and g.transform.a == 100


def test_real_cog_reflectance_and_scl_upsampling(rt_item, imagery_dir):
    # grid-aligned 20 x 20 px window: columns 500-519, rows 580-599 of the 100 m grid
    grid = grid_of(rt_item.assets["red"]).subgrid((249980, 2740020, 251980, 2742020))
    assert grid.shape == (20, 20)
    red = read_window(rt_item.assets["red"], grid)
    scl = read_window(rt_item.assets["scl"], grid)
    b11 = read_window(rt_item.assets["swir16"], grid)
    r0, c0 = 580, 500
    with rasterio.open(imagery_dir / "rio-tiler-pds" / SCENE / "B04.tif") as src:
        dn = src.read(1, window=((r0, r0 + 20), (c0, c0 + 20)))
    # baseline 02.14: reflectance = DN x 1e-4, offset 0 (raster:bands of the item)
    np.testing.assert_allclose(red, dn * 1e-4, rtol=0, atol=1e-15)
    # 200 m SCL/B11 on the 100 m grid: nearest by pixel centre = each 200 m pixel repeated 2 x 2.
    # r0 = 580 and c0 = 500 are even, so the 20 x 20 window holds 10 x 10 whole 200 m pixels.
    assert r0 % 2 == 0 and c0 % 2 == 0
    with rasterio.open(imagery_dir / "rio-tiler-pds" / SCENE / "SCL.tif") as src:
        s20 = src.read(1, window=((r0 // 2, r0 // 2 + 10), (c0 // 2, c0 // 2 + 10)))
    np.testing.assert_array_equal(scl, np.repeat(np.repeat(s20, 2, 0), 2, 1).astype(float))
    with rasterio.open(imagery_dir / "rio-tiler-pds" / SCENE / "B11.tif") as src:
        b20 = src.read(1, window=((r0 // 2, r0 // 2 + 10), (c0 // 2, c0 // 2 + 10)))
    np.testing.assert_allclose(b11, np.repeat(np.repeat(b20, 2, 0), 2, 1) * 1e-4, atol=1e-15)


def test_odd_window_offset_upsampling(tmp_path):
    # 20 m raster [[1, 2], [3, 4]]; a 10 m grid window starting one 10 m pixel in (odd offset)
    # sees, row by row: [1, 2, 2], [3, 4, 4], [3, 4, 4] (centres fall in those 20 m pixels).
    t20 = Affine(20, 0, 0, 0, -20, 40)
    write_tif(tmp_path / "b.tif", np.array([[1, 2], [3, 4]], dtype=np.uint16), t20, nodata=0)
    asset = ParsedAsset("swir16", str(tmp_path / "b.tif"), None, None, 1.0, 0.0, 0.0, 32651)
    grid = Grid(32651, Affine(10, 0, 10, 0, -10, 30), (3, 3))
    np.testing.assert_array_equal(read_window(asset, grid), [[1, 2, 2], [3, 4, 4], [3, 4, 4]])


def test_offset_nodata_and_outside_pixels(tmp_path):
    # DN 1500 with scale 1e-4 and offset -0.1 (baseline >= 04.00) -> 0.15 - 0.1 = 0.05;
    # DN 0 is nodata -> NaN; pixels outside the file -> NaN.
    t = Affine(10, 0, 500000, 0, -10, 4800000)
    write_tif(tmp_path / "r.tif", np.array([[1500, 0], [1000, 11000]], dtype=np.uint16), t)
    asset = ParsedAsset("red", str(tmp_path / "r.tif"), None, None, 1e-4, -0.1, 0.0, 32651)
    out = read_pixels(asset, Grid(32651, t, (2, 2)), np.array([0, 0, 1, 1, 5]), np.array([0, 1, 0, 1, 5]))
    np.testing.assert_allclose(out, [0.05, np.nan, 0.0, 1.0, np.nan], atol=1e-15)


def test_unreachable_href_and_crs_mismatch(tmp_path):
    t = Affine(10, 0, 500000, 0, -10, 4800000)
    grid = Grid(32651, t, (2, 2))
    missing = ParsedAsset("red", str(tmp_path / "gone.tif"), None, None, 1e-4, 0.0, 0.0, 32651)
    with pytest.raises(RasterReadError, match="gone.tif"):
        read_pixels(missing, grid, np.array([0]), np.array([0]))
    with pytest.raises(OSError):  # RasterReadError is an OSError
        grid_of(missing)
    write_tif(tmp_path / "z50.tif", np.ones((2, 2), np.uint16), t, epsg=32650)
    wrong = ParsedAsset("red", str(tmp_path / "z50.tif"), None, None, 1e-4, 0.0, 0.0, 32651)
    with pytest.raises(CRSError, match="EPSG:32650 but its STAC item says EPSG:32651"):
        read_pixels(wrong, grid, np.array([0]), np.array([0]))
    # file agrees with its item but not with the plots' grid
    with pytest.raises(CRSError, match="plots' grid is EPSG:32651"):
        read_pixels(replace(wrong, epsg=32650), grid, np.array([0]), np.array([0]))


def test_a_dask_workers_task_decodes_in_one_thread():
    """The cluster already runs one task per core: a task's read adds no decode threads."""
    distributed = pytest.importorskip("distributed")
    from geodata.raster import DEFAULT_READ_THREADS, read_threads

    assert read_threads() == DEFAULT_READ_THREADS == min(4, os.cpu_count() or 1)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as c,
        distributed.Client(c) as client,
    ):
        assert client.submit(read_threads, pure=False).result() == 1
