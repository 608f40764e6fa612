"""Exact coverage weights and coverage-weighted means, checked against exactextract and by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from geodata.errors import CRSError, PlotGeometryError
from geodata.zonal import coverage_weights, gathered_stats, weighted_stats

from .conftest import malawi_plots_in, write_tif


def _ee_numpy(values, transform, gdf, ops, nodata=np.nan):
    h, w = values.shape
    left, top = transform.c, transform.f
    src = NumPyRasterSource(
        values,
        left,
        top + h * transform.e,
        left + w * transform.a,
        top,
        nodata=nodata,
        srs_wkt=gdf.crs.to_wkt(),
    )
    return exact_extract(src, gdf, ops, output="pandas")


def test_half_pixel_shift_by_hand():
    # A 10 m x 10 m square offset by half a pixel in x and y covers 4 pixels by 25 % each;
    # a 15 m x 10 m rectangle at x 0..15 covers pixel (0, 0) fully and (0, 1) by half.
    t = Affine(10, 0, 0, 0, -10, 20)
    w = coverage_weights([shapely.box(5, 5, 15, 15), shapely.box(0, 10, 15, 20)], t, (2, 2))
    dense = np.zeros((2, 4))
    dense[:, w.pixels] = w.matrix.toarray()
    np.testing.assert_allclose(dense[0], [0.25, 0.25, 0.25, 0.25], atol=1e-15)
    np.testing.assert_allclose(dense[1], [1.0, 0.5, 0.0, 0.0], atol=1e-15)
    # mean of [[1, 2], [3, 4]]: plot 0 -> (1+2+3+4)/4 = 2.5; plot 1 -> (1*1 + 0.5*2)/1.5 = 4/3
    s = weighted_stats(w, np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(s.mean[:, 0], [2.5, 4 / 3], rtol=1e-15)
    np.testing.assert_allclose(s.count[:, 0], [1.0, 1.5], rtol=1e-15)


def test_hole_and_multipolygon_area_balance():
    # Plot = 100 m x 100 m square minus a 20 m x 20 m hole, plus a separate 10 m x 5 m part:
    # area 10000 - 400 + 50 = 9650 m2 = 96.5 pixels of 100 m2; weights must sum to it.
    outer = shapely.box(3.3, 3.3, 103.3, 103.3).difference(shapely.box(40.1, 40.1, 60.1, 60.1))
    geom = shapely.MultiPolygon([outer, shapely.box(120.0, 7.5, 130.0, 12.5)])
    w = coverage_weights([geom], Affine(10, 0, 0, 0, -10, 200), (20, 20))
    assert w.matrix.sum() == pytest.approx(96.5, rel=1e-12)
    assert w.matrix.max() <= 1.0 and w.matrix.min() > 0
    # the hole's fully covered cells (x 50..60, y 50..60 is inside the hole) are absent
    assert w.plot_pixels[0] == pytest.approx(96.5, rel=1e-12)


def test_weights_equal_exactextract_coverage_on_real_malawi_polygons(imagery_dir):
    # 287 real smallholder polygons in their UTM zone on a 10 m grid covering them all.
    g = gpd.read_file(imagery_dir / "openeo-gfmap" / "malawi_extraction_polygons.gpkg")
    g = g.to_crs(g.estimate_utm_crs())
    x0, y0, x1, y1 = g.total_bounds
    left, top = np.floor(x0 / 10) * 10 - 20, np.ceil(y1 / 10) * 10 + 20
    shape = (int((top - y0) // 10) + 4, int((x1 - left) // 10) + 4)
    t = Affine(10, 0, left, 0, -10, top)
    w = coverage_weights(g.geometry, t, shape)
    ee = _ee_numpy(np.zeros(shape, dtype=np.float64), t, g, ["cell_id", "coverage"])
    worst = 0.0
    for i in range(len(g)):
        row = w.matrix.getrow(i)
        mine = dict(zip(w.pixels[row.indices].tolist(), row.data.tolist(), strict=True))
        cells = np.asarray(ee["cell_id"][i], dtype=np.int64)
        cov = np.asarray(ee["coverage"][i], dtype=np.float64)
        theirs = {int(c): float(v) for c, v in zip(cells, cov, strict=True) if v > 0}
        assert set(theirs) <= set(mine)
        for c in mine:
            worst = max(worst, abs(mine[c] - theirs.get(c, 0.0)))
    # exactextract stores coverage as float32: agreement to ~6e-8 (float32 epsilon 1.2e-7)
    assert worst < 2e-7
    # area balance: sum of coverage x 100 m2 equals each polygon's area
    np.testing.assert_allclose(np.asarray(w.matrix.sum(axis=1)).ravel() * 100.0, g.area.to_numpy(), rtol=1e-9)


def test_means_equal_exactextract_on_real_worldcereal_pixels(imagery_dir, tmp_path):
    # Real S2 B11 composite (2021-03), 100 x 100 px at 10 m, EPSG:32631, as a GeoTIFF;
    # 40 real Malawi field shapes moved into its extent; exactextract reads the same file.
    ds = xr.open_dataset(imagery_dir / "worldcereal" / "worldcereal_preprocessed_inputs.nc")
    x = ds.x.values
    y = ds.y.values
    t = Affine(10, 0, x[0] - 5, 0, -10, y[0] + 5)
    b11 = ds["S2-L2A-B11"].isel(t=4).values
    assert ds.t.values[4].astype("datetime64[M]") == np.datetime64("2021-03")
    b11 = b11.copy()
    b11[10:20, 30:45] = 65535  # some nodata inside plots
    write_tif(tmp_path / "b11.tif", b11, t, epsg=32631, nodata=65535)
    bounds = (t.c, t.f - 1000, t.c + 1000, t.f)
    plots = malawi_plots_in(imagery_dir, bounds, 32631, n=40, margin=0)
    ee = exact_extract(str(tmp_path / "b11.tif"), plots, ["mean", "count"], output="pandas")
    w = coverage_weights(plots.geometry, t, b11.shape)
    vals = np.where(b11 == 65535, np.nan, b11.astype(float))
    s = weighted_stats(w, vals)
    np.testing.assert_allclose(s.mean[:, 0], ee["mean"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.count[:, 0], ee["count"].to_numpy(), rtol=1e-6)
    # gathered path gives identical numbers
    s2 = gathered_stats(w, w.gather(vals[None]))
    np.testing.assert_array_equal(s.mean, s2.mean)


def test_plot_partly_outside_grid_has_partial_valid_fraction():
    # 20 m x 10 m plot, half of it left of the grid: valid fraction 0.5, mean of the inside part.
    t = Affine(10, 0, 100, 0, -10, 100)
    w = coverage_weights([shapely.box(90, 90, 110, 100)], t, (3, 3))
    s = weighted_stats(w, np.full((3, 3), 7.0))
    assert s.valid_fraction[0, 0] == pytest.approx(0.5)
    assert s.mean[0, 0] == pytest.approx(7.0)


def test_plot_outside_grid_gives_nan_and_zero_count():
    w = coverage_weights([shapely.box(1000, 1000, 1010, 1010)], Affine(10, 0, 0, 0, -10, 30), (3, 3))
    s = weighted_stats(w, np.ones((3, 3)))
    assert np.isnan(s.mean[0, 0]) and s.count[0, 0] == 0 and s.valid_fraction[0, 0] == 0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(PlotGeometryError, match="not a Polygon"):
        coverage_weights([shapely.Point(1, 1)], Affine(10, 0, 0, 0, -10, 30), (3, 3))
    with pytest.raises(CRSError, match="rotated"):
        coverage_weights([shapely.box(0, 0, 1, 1)], Affine(10, 1, 0, 0, -10, 30), (3, 3))
    w = coverage_weights([shapely.box(0, 0, 10, 10)], Affine(10, 0, 0, 0, -10, 30), (3, 3))
    with pytest.raises(ValueError, match="does not match"):
        w.gather(np.zeros((4, 4)))


def test_random_polygons_match_exactextract_means(rng):
    # 300 random 12-gons (0.1-1 ha) on a 300 x 300 grid with 10 % NaN pixels.
    n = 300
    cx, cy = rng.uniform(100, 2900, n), rng.uniform(100, 2900, n)
    r = rng.uniform(18, 56, n)
    geoms = [shapely.Point(a, b).buffer(c, quad_segs=3) for a, b, c in zip(cx, cy, r, strict=True)]
    gdf = gpd.GeoDataFrame({"i": np.arange(n)}, geometry=geoms, crs="EPSG:32651")
    t = Affine(10, 0, 0, 0, -10, 3000)
    vals = rng.uniform(0.02, 0.6, (300, 300))
    vals[rng.random(vals.shape) < 0.1] = np.nan
    ee = _ee_numpy(vals, t, gdf, ["mean"])
    s = weighted_stats(coverage_weights(geoms, t, vals.shape), vals)
    np.testing.assert_allclose(s.mean[:, 0], ee["mean"].to_numpy(), rtol=1e-6)


def test_rasterio_roundtrip_transform_used(tmp_path):
    # The weights' window transform is the grid's; a raster written with it reads back aligned.
    t = Affine(10, 0, 500000, 0, -10, 4800000)
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4) + 1
    write_tif(tmp_path / "a.tif", arr, t)
    with rasterio.open(tmp_path / "a.tif") as src:
        assert src.transform == t
        back = src.read(1)
    w = coverage_weights([shapely.box(500010, 4799970, 500020, 4799980)], t, (4, 4))
    # pixel row 2, col 1 (value 2*4 + 1 + 1 = 10)
    assert weighted_stats(w, back.astype(float)).mean[0, 0] == 10.0
