"""Plot chips and project backdrops (geodata.chips) against values read by hand from the COGs.

The sample county (``small_county``: 40 plots, Sentinel-2-like COGs at 10 m in EPSG:32651, SCL
with clouds) gives every band; the real Earth Search scene of ``tests/data/imagery`` (B04/B08/SCL
downsampled to 100/200 m, tests/data/imagery/README.md) checks NDVI and the overview path on real
pixels. Expected values come from ``rasterio`` reads of whole files and numpy, never from the
module's own readers.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from matplotlib import colormaps
from PIL import Image

from geodata.chips import (
    MASKED_RGB,
    NDVI_CMAP,
    NDVI_LEVELS,
    NDVI_RANGE,
    OUTLINE_RGB,
    TRUECOLOR_RANGE,
    ChipReadError,
    ChipRequestError,
    PlotOutsideRasterError,
    background_png,
    plot_chip,
)
from models.errors import MRVError
from tests.mrv_service.conftest import small_county  # noqa: F401  (the 40-plot county, session fixture)

STEP = (NDVI_RANGE[1] - NDVI_RANGE[0]) / NDVI_LEVELS
"""Width of one colour of the NDVI colormap [NDVI]."""
REAL_SCENE = "S2A_29RKH_20200219_0_L2A"


# --- reading by hand -------------------------------------------------------------------------------


def _item(json_path: Path) -> dict:
    """An item of the county's static catalog: absolute hrefs per band, scale and offset."""
    d = json.loads(json_path.read_text())
    hrefs = {k: str((json_path.parent / a["href"]).resolve()) for k, a in d["assets"].items()}
    rb = d["assets"]["red"]["raster:bands"][0]
    return {
        "id": d["id"],
        "date": d["properties"]["datetime"][:10],
        "hrefs": hrefs,
        "scale": rb["scale"],
        "offset": rb["offset"],
    }


def _sample(href: str, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """DN of the file's pixels holding the points (x, y in the file's CRS)."""
    with rasterio.open(href) as src:
        data = src.read(1)
        rows, cols = rasterio.transform.rowcol(src.transform, xs, ys)
    return data[np.asarray(rows), np.asarray(cols)]


def _centres(href: str) -> tuple[np.ndarray, np.ndarray, rasterio.Affine]:
    with rasterio.open(href) as src:
        t, (h, w) = src.transform, src.shape
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    xs, ys = rasterio.transform.xy(t, rows.ravel(), cols.ravel())
    return np.asarray(xs), np.asarray(ys), t


def _decode_chip(png: bytes) -> tuple[np.ndarray, tuple[float, float, float, float], dict]:
    img = Image.open(io.BytesIO(png))
    left, bottom, right, top = (float(v) for v in img.text["bounds"].split())
    return np.asarray(img.convert("RGB")), (left, bottom, right, top), dict(img.text)


def _chip_px(bounds, size, xs, ys) -> tuple[np.ndarray, np.ndarray]:
    left, bottom, right, top = bounds
    col = np.floor((np.asarray(xs) - left) / (right - left) * size).astype(int)
    row = np.floor((top - np.asarray(ys)) / (top - bottom) * size).astype(int)
    return row, col


def _ndvi_lut() -> dict[tuple[int, int, int], float]:
    """Colour -> NDVI at the middle of its level, from the documented colormap and range."""
    rgba = colormaps[NDVI_CMAP].resampled(NDVI_LEVELS)(np.arange(NDVI_LEVELS))
    table = np.round(rgba[:, :3] * 255).astype(int)
    levels: dict[tuple[int, int, int], list[int]] = {}
    for k, c in enumerate(table):
        levels.setdefault(tuple(int(v) for v in c), []).append(k)
    return {c: NDVI_RANGE[0] + (np.mean(ks) + 0.5) * STEP for c, ks in levels.items()}


# --- the county's scenes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def county(small_county):  # noqa: F811
    """The county's largest plot (EPSG:4326 and 32651), its 10 m pixel centres and its items."""
    plots = gpd.read_file(small_county / "plots.geojson")
    utm = plots.to_crs(32651)
    k = int(np.argmax(utm.area.values))
    items = [_item(p) for p in sorted((small_county / "imagery" / "sentinel-2-l2a").glob("*/*_L2A.json"))]
    xs, ys, t = _centres(items[0]["hrefs"]["red"])
    geom_utm = utm.geometry.iloc[k]
    inside = shapely.contains_xy(geom_utm, xs, ys)
    return {
        "plots": plots,
        "geom": plots.geometry.iloc[k],
        "geom_utm": geom_utm,
        "xs": xs,
        "ys": ys,
        "inside": inside,
        "items": items,
        "transform": t,
    }


def _refl(item, band, xs, ys):
    return _sample(item["hrefs"][band], xs, ys) * item["scale"] + item["offset"]


def _clear_green_scene(county) -> dict:
    """A summer scene whose pixels in the plot are all clear, NDVI inside the colour range."""
    xs, ys = county["xs"][county["inside"]], county["ys"][county["inside"]]
    for item in county["items"]:
        if item["date"][5:7] not in ("06", "07", "08"):
            continue
        scl = _sample(item["hrefs"]["scl"], xs, ys)
        red, nir = _refl(item, "red", xs, ys), _refl(item, "nir", xs, ys)
        ndvi = (nir - red) / (nir + red)
        if (
            np.isin(scl, (4, 5)).all()
            and (ndvi > NDVI_RANGE[0] + STEP).all()
            and (ndvi < NDVI_RANGE[1] - STEP).all()
        ):
            return item
    raise AssertionError("the county has no clear summer scene over its largest plot")


def _part_cloudy_scene(county) -> dict:
    """A scene where between 20 and 80 % of the pixels around the plot are cloud/shadow/snow."""
    b = county["geom_utm"].buffer(40).bounds
    near = (county["xs"] > b[0]) & (county["xs"] < b[2]) & (county["ys"] > b[1]) & (county["ys"] < b[3])
    for item in county["items"]:
        scl = _sample(item["hrefs"]["scl"], county["xs"][near], county["ys"][near])
        if 0.2 < np.mean(~np.isin(scl, (4, 5))) < 0.8:
            return item
    raise AssertionError("the county has no part-cloudy scene over its largest plot")


# --- plot chips ------------------------------------------------------------------------------------


def test_ndvi_chip_colours_decode_to_the_pixels_ndvi(county):
    item = _clear_green_scene(county)
    png = plot_chip(item["hrefs"], county["geom"], "ndvi", scale=item["scale"], offset=item["offset"])
    rgb, bounds, text = _decode_chip(png)
    assert rgb.shape == (256, 256, 3) and text["kind"] == "ndvi" and text["crs"] == "EPSG:32651"
    # every 10 m pixel whose centre is in the plot, NDVI from the COG DN x 1e-4 - 0.1 (item raster:bands)
    xs, ys = county["xs"][county["inside"]], county["ys"][county["inside"]]
    red, nir = _refl(item, "red", xs, ys), _refl(item, "nir", xs, ys)
    expected = (nir - red) / (nir + red)
    rows, cols = _chip_px(bounds, 256, xs, ys)
    colours = [tuple(int(v) for v in rgb[r, c]) for r, c in zip(rows, cols, strict=True)]
    lut = _ndvi_lut()
    keep = [c != OUTLINE_RGB for c in colours]  # a pixel centre under the 2 px outline
    assert sum(keep) >= 0.8 * len(colours) >= 20
    decoded = np.array([lut[c] for c, k in zip(colours, keep, strict=True) if k])
    np.testing.assert_allclose(decoded, expected[keep], atol=1.5 * STEP)
    assert abs(decoded.mean() - expected[keep].mean()) < STEP
    assert expected.std() > 2 * STEP  # the check sees real spatial variation, not a flat field


def test_chip_window_is_the_padded_square_on_the_raster_grid(county):
    item = _clear_green_scene(county)
    png = plot_chip(
        item["hrefs"],
        county["geom"],
        "ndvi",
        size_px=200,
        pad_m=40.0,
        scale=item["scale"],
        offset=item["offset"],
    )
    rgb, (left, bottom, right, top), _ = _decode_chip(png)
    assert rgb.shape == (200, 200, 3)
    minx, miny, maxx, maxy = county["geom_utm"].bounds
    side = right - left
    assert side == pytest.approx(top - bottom)  # square
    assert left <= minx - 40 and right >= maxx + 40 and bottom <= miny - 40 and top >= maxy + 40
    assert side <= max(maxx - minx, maxy - miny) + 80 + 2 * 10  # at most a pixel more each side
    t = county["transform"]
    assert (left - t.c) / 10 == pytest.approx(round((left - t.c) / 10)) and (top - t.f) / 10 == pytest.approx(
        round((top - t.f) / 10)
    )


def test_outline_is_drawn_on_the_plot_boundary(county):
    item = _clear_green_scene(county)
    size = 256
    png = plot_chip(item["hrefs"], county["geom"], "truecolor", scale=item["scale"], offset=item["offset"])
    rgb, bounds, _ = _decode_chip(png)
    ring = county["geom_utm"].exterior
    pts = [ring.interpolate(f, normalized=True) for f in np.linspace(0, 1, 60, endpoint=False)]
    rows, cols = _chip_px(bounds, size, [p.x for p in pts], [p.y for p in pts])
    assert all(tuple(rgb[r, c]) == OUTLINE_RGB for r, c in zip(rows, cols, strict=True))
    # and every outline-coloured pixel lies within the stroke (2 px) of the boundary
    left, bottom, right, top = bounds
    m_per_px = (right - left) / size
    rr, cc = np.nonzero((rgb == OUTLINE_RGB).all(axis=-1))
    x = left + (cc + 0.5) * m_per_px
    y = top - (rr + 0.5) * m_per_px
    dist = shapely.distance(county["geom_utm"].boundary, shapely.points(x, y))
    assert dist.max() <= 2 * m_per_px


def test_truecolor_chip_is_the_documented_linear_stretch(county):
    item = _clear_green_scene(county)
    png = plot_chip(item["hrefs"], county["geom"], "truecolor", scale=item["scale"], offset=item["offset"])
    rgb, bounds, _ = _decode_chip(png)
    xs, ys = county["xs"][county["inside"]], county["ys"][county["inside"]]
    rows, cols = _chip_px(bounds, 256, xs, ys)
    got = rgb[rows, cols].astype(int)
    keep = ~(got == OUTLINE_RGB).all(axis=1)
    lo, hi = TRUECOLOR_RANGE
    for k, band in enumerate(("red", "green", "blue")):
        want = np.round(np.clip((_refl(item, band, xs, ys) - lo) / (hi - lo), 0, 1) * 255)
        np.testing.assert_allclose(got[keep, k], want[keep], atol=1)


def test_cloud_and_shadow_pixels_are_greyed_by_scl(county):
    item = _part_cloudy_scene(county)
    size = 256
    common = {"scale": item["scale"], "offset": item["offset"], "scl_href": item["hrefs"]["scl"]}
    ndvi_rgb, bounds, _ = _decode_chip(plot_chip(item["hrefs"], county["geom"], "ndvi", **common))
    tc_rgb, bounds_tc, _ = _decode_chip(plot_chip(item["hrefs"], county["geom"], "truecolor", **common))
    assert bounds == bounds_tc
    rows, cols = _chip_px(bounds, size, county["xs"], county["ys"])
    on = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    rows, cols = rows[on], cols[on]
    scl = _sample(item["hrefs"]["scl"], county["xs"][on], county["ys"][on])  # 20 m SCL at the 10 m centres
    masked = ~np.isin(scl, (4, 5))
    ndvi_px = ndvi_rgb[rows, cols]
    outline = (ndvi_px == OUTLINE_RGB).all(axis=1)
    is_grey = (ndvi_px == MASKED_RGB).all(axis=1)
    assert masked[~outline].any() and (~masked[~outline]).any()
    np.testing.assert_array_equal(is_grey[~outline], masked[~outline])
    tc = tc_rgb[rows, cols].astype(int)
    neutral = (tc[:, 0] == tc[:, 1]) & (tc[:, 1] == tc[:, 2])
    assert neutral[masked & ~outline].all()
    assert not neutral[~masked & ~outline].all()


def test_chip_of_a_real_sentinel2_scene(imagery_dir):
    # The real Earth Search item: DN x 1e-4 with no offset (baseline 02.14, its raster:bands);
    # a 3 km square at the tile centre in 100 m pixels.
    folder = imagery_dir / "rio-tiler-pds" / REAL_SCENE
    hrefs = {"B04": str(folder / "B04.tif"), "B08": str(folder / "B08.tif")}
    xs, ys, _ = _centres(hrefs["B04"])
    cx, cy = 254_880.0, 2_745_120.0
    square = shapely.box(cx - 1500, cy - 1500, cx + 1500, cy + 1500)
    to_ll = pyproj.Transformer.from_crs(32629, 4326, always_xy=True)
    geom = shapely.transform(
        square.segmentize(100), lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1]))
    )
    png = plot_chip(hrefs, geom, "ndvi", scale=1e-4, offset=0.0, scl_href=str(folder / "SCL.tif"))
    rgb, bounds, text = _decode_chip(png)
    assert text["crs"] == "EPSG:32629" and "Copernicus" in text["Source"]
    inside = shapely.contains_xy(shapely.box(cx - 1400, cy - 1400, cx + 1400, cy + 1400), xs, ys)
    red = _sample(hrefs["B04"], xs[inside], ys[inside]) * 1e-4
    nir = _sample(hrefs["B08"], xs[inside], ys[inside]) * 1e-4
    expected = (nir - red) / (nir + red)
    rows, cols = _chip_px(bounds, 256, xs[inside], ys[inside])
    lut = _ndvi_lut()
    decoded = np.array([lut[tuple(int(v) for v in rgb[r, c])] for r, c in zip(rows, cols, strict=True)])
    np.testing.assert_allclose(decoded, np.clip(expected, *NDVI_RANGE), atol=1.5 * STEP)
    assert 0.0 < expected.mean() < 0.3  # the Saharan tile in February: bare, clear (SCL 5)


# --- errors ----------------------------------------------------------------------------------------


def test_missing_and_unreadable_cogs_name_the_file_and_the_fix(county, tmp_path):
    item = county["items"][0]
    gone = str(tmp_path / "B04.tif")
    with pytest.raises(ChipReadError) as err:
        plot_chip({**item["hrefs"], "red": gone}, county["geom"], "ndvi")
    assert isinstance(err.value, OSError) and isinstance(err.value, MRVError)
    assert gone in str(err.value) and "rerun the imagery stage" in str(err.value)
    (tmp_path / "B04.tif").write_bytes(b"not a tiff")
    with pytest.raises(ChipReadError, match="B04.tif"):
        plot_chip({**item["hrefs"], "red": gone}, county["geom"], "ndvi")
    with pytest.raises(ChipReadError, match="B04.tif"):
        background_png({**item["hrefs"], "red": gone}, county["plots"].total_bounds)


def test_plot_outside_the_raster_is_refused_with_the_likely_cause(county):
    item = county["items"][0]
    lon_lat_swapped = shapely.transform(county["geom"], lambda xy: xy[:, ::-1])
    with pytest.raises(PlotOutsideRasterError) as err:
        plot_chip(item["hrefs"], lon_lat_swapped, "truecolor")
    assert isinstance(err.value, LookupError)
    assert item["hrefs"]["red"] in str(err.value) and "EPSG:4326 with lon before lat" in str(err.value)
    with pytest.raises(PlotOutsideRasterError, match="lies outside raster"):
        background_png(item["hrefs"], (100.0, 30.0, 100.1, 30.1))


@pytest.mark.parametrize(
    ("hrefs_drop", "kwargs", "match"),
    [
        ((), {"kind": "falsecolor"}, "chip kind 'falsecolor' is unknown"),
        (("nir",), {"kind": "ndvi"}, r"band\(s\) \['nir'\] missing"),
        ((), {"kind": "ndvi", "size_px": 8}, "size_px=8"),
        ((), {"kind": "ndvi", "pad_m": -5}, "pad_m=-5"),
    ],
)
def test_bad_requests(county, hrefs_drop, kwargs, match):
    hrefs = {k: v for k, v in county["items"][0]["hrefs"].items() if k not in hrefs_drop}
    with pytest.raises(ChipRequestError, match=match):
        plot_chip(hrefs, county["geom"], **kwargs)


def test_background_rejects_bounds_that_are_not_a_lon_lat_box(county):
    with pytest.raises(ChipRequestError, match="west, south, east, north"):
        background_png(county["items"][0]["hrefs"], (43.3, 124.4, 43.4, 124.5))


# --- project backdrop ------------------------------------------------------------------------------


def test_background_pixels_sit_where_leaflet_puts_them(county):
    item = _clear_green_scene(county)
    bounds = tuple(float(v) for v in county["plots"].total_bounds)
    png, out_bounds = background_png(item["hrefs"], bounds, scale=item["scale"], offset=item["offset"])
    assert out_bounds == bounds
    img = Image.open(io.BytesIO(png))
    assert img.mode == "RGBA" and max(img.size) <= 1024 and img.text["crs"] == "EPSG:3857"
    rgba = np.asarray(img)
    height, width = rgba.shape[:2]
    # Leaflet's imageOverlay stretches the picture over [[south, west], [north, east]] in Web Mercator
    merc = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    x0, y0 = merc.transform(bounds[0], bounds[1])
    x1, y1 = merc.transform(bounds[2], bounds[3])
    assert width / height == pytest.approx((x1 - x0) / (y1 - y0), rel=0.01)
    to_ll = pyproj.Transformer.from_crs(32651, 4326, always_xy=True)
    pick = np.flatnonzero(county["inside"])
    xs, ys = county["xs"][pick], county["ys"][pick]
    lon, lat = to_ll.transform(xs, ys)
    mx, my = merc.transform(lon, lat)
    col = np.floor((np.asarray(mx) - x0) / (x1 - x0) * width).astype(int)
    row = np.floor((y1 - np.asarray(my)) / (y1 - y0) * height).astype(int)
    lo, hi = TRUECOLOR_RANGE
    for x, y, r, c in zip(xs, ys, row, col, strict=True):
        assert rgba[r, c, 3] == 255
        # the output pixel takes the source pixel holding its centre: one of the 3 x 3 around the point
        nx, ny = np.meshgrid(x + np.array([-10, 0, 10]), y + np.array([-10, 0, 10]))
        want = np.round(np.clip((_refl(item, "red", nx.ravel(), ny.ravel()) - lo) / (hi - lo), 0, 1) * 255)
        assert np.min(np.abs(want - int(rgba[r, c, 0]))) <= 1


def test_background_of_a_whole_real_tile_is_decimated(imagery_dir):
    folder = imagery_dir / "rio-tiler-pds" / REAL_SCENE
    b04 = str(folder / "B04.tif")
    hrefs = {"red": b04, "green": b04, "blue": b04}
    with rasterio.open(b04) as src:
        ll = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        dn = src.read(1)
    png, _ = background_png(hrefs, ll, max_px=200, scale=1e-4, offset=0.0)
    rgba = np.asarray(Image.open(io.BytesIO(png)))
    assert max(rgba.shape[:2]) <= 200 and min(rgba.shape[:2]) > 150
    h, w = rgba.shape[:2]
    assert rgba[h // 2, w // 2, 3] == 255 and rgba[h // 2, w // 2, 0] == rgba[h // 2, w // 2, 2]  # grey
    assert (rgba[..., 3] == 0).any()  # the UTM tile is not a lon/lat box: its corners are transparent
    # averaged to ~550 m pixels, the picture's mean grey is the tile's mean reflectance, stretched
    lo, hi = TRUECOLOR_RANGE
    tile = np.clip((dn[dn > 0] * 1e-4 - lo) / (hi - lo), 0, 1).mean() * 255
    assert rgba[..., 0][rgba[..., 3] == 255].mean() == pytest.approx(tile, rel=0.05)
    assert math.isfinite(tile)
