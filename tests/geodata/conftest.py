"""Fixtures of the imagery tests: a local rustac STAC API server, tiny synthetic static catalogs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from affine import Affine

from tests.stac_server import serve_stac

EPSG = 32651
BANDS_10M = ("blue", "green", "red", "nir")
BANDS_20M = ("swir16", "swir22", "scl")
FILE_NAMES = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "nir": "B08",
    "swir16": "B11",
    "swir22": "B12",
    "scl": "SCL",
}


def write_tif(
    path: Path, array: np.ndarray, transform: Affine, epsg: int = EPSG, nodata=0, blocksize=256
) -> None:
    """Write a tiled DEFLATE GeoTIFF (one band)."""
    h, w = array.shape
    profile = {
        "driver": "GTiff",
        "height": h,
        "width": w,
        "count": 1,
        "dtype": array.dtype,
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
    }
    if h >= 16 and w >= 16:
        profile.update(
            tiled=True, blockxsize=min(blocksize, 16 * (w // 16)), blockysize=min(blocksize, 16 * (h // 16))
        )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)


def write_s2_catalog(
    root: Path,
    scenes: list[dict],
    transform10: Affine,
    shape10: tuple[int, int],
    epsg: int = EPSG,
    collection_id: str = "sentinel-2-l2a",
    twenty_m: tuple[str, ...] = BANDS_20M,
    nodata: int = 0,
    scale: float = 0.0001,
    offset: float = -0.1,
) -> Path:
    """A static STAC catalog following docs/DATA_FORMATS.md section 4 (Earth Search v1 keys).

    Each scene dict: ``id``, ``datetime`` (tz-aware), ``dn`` (band key -> uint16/uint8 array; 10 m
    bands at ``shape10``, swir16/swir22/scl at half size), optional ``cloud_cover``, ``drop``
    (asset keys to leave out), ``href_override`` (band -> href), ``epsg`` (item proj:epsg).
    Returns the path of catalog.json.
    """
    from pyproj import Transformer

    root.mkdir(parents=True, exist_ok=True)
    cat = pystac.Catalog("sample-imagery", "synthetic Sentinel-2 L2A-like scenes")
    h, w = shape10
    t20 = transform10 @ Affine.scale(2)
    left, top = transform10.c, transform10.f
    right, bottom = left + w * transform10.a, top + h * transform10.e
    tr = Transformer.from_crs(epsg, 4326, always_xy=True)
    xs, ys = tr.transform([left, right, right, left], [bottom, bottom, top, top])
    geom = {"type": "Polygon", "coordinates": [[*zip(xs, ys, strict=True), (xs[0], ys[0])]]}
    bbox = [min(xs), min(ys), max(xs), max(ys)]
    coll = pystac.Collection(
        collection_id,
        "synthetic",
        pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[None, None]])),
    )
    cat.add_child(coll)
    for sc in scenes:
        d = root / "scenes" / sc["id"]
        d.mkdir(parents=True, exist_ok=True)
        props = {
            "eo:cloud_cover": sc.get("cloud_cover", 5.0),
            "proj:shape": list(shape10),
            "proj:epsg": sc.get("epsg", epsg),
            "s2:processing_baseline": "05.10",
        }
        item = pystac.Item(sc["id"], geom, bbox, sc["datetime"], props, collection=collection_id)
        for key, arr in sc["dn"].items():
            if key in sc.get("drop", ()):
                continue
            is10 = key not in twenty_m
            tf = transform10 if is10 else t20
            path = d / f"{FILE_NAMES[key]}.tif"
            nd = 0 if key == "scl" else nodata
            write_tif(path, arr, tf, epsg=sc.get("file_epsg", {}).get(key, epsg), nodata=nd)
            rb = {"nodata": nd, "data_type": str(arr.dtype), "spatial_resolution": 10 if is10 else 20}
            if key != "scl":
                rb.update(scale=scale, offset=offset)
            href = sc.get("href_override", {}).get(key, str(path))
            item.add_asset(
                key,
                pystac.Asset(
                    href,
                    media_type=pystac.MediaType.COG,
                    roles=["data"],
                    extra_fields={
                        "proj:shape": list(arr.shape),
                        "proj:transform": list(tf)[:6],
                        "raster:bands": [rb],
                    },
                ),
            )
        coll.add_item(item)
    cat.normalize_hrefs(str(root))
    cat.make_all_asset_hrefs_relative()
    cat.save(pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def malawi_plots_in(imagery_dir: Path, bounds, epsg: int, n: int, seed: int = 7, margin: float = 30.0):
    """Real Malawi field polygons (shapes and sizes unchanged) moved into ``bounds`` of a UTM grid.

    The 287 polygons are projected to their own UTM zone, the ``n`` drawn (seeded) among those that
    fit are translated to random positions inside ``bounds`` (left, bottom, right, top) [m] and
    labelled with ``epsg``. Returns a GeoDataFrame (plot_id, croptype, geometry) in that CRS.
    """
    import geopandas as gpd
    import shapely

    g = gpd.read_file(imagery_dir / "openeo-gfmap" / "malawi_extraction_polygons.gpkg")
    g = g.to_crs(g.estimate_utm_crs())
    rng = np.random.default_rng(seed)
    left, bottom, right, top = bounds
    b = g.geometry.bounds
    fits = ((b.maxx - b.minx) < (right - left - 2 * margin)) & (
        (b.maxy - b.miny) < (top - bottom - 2 * margin)
    )
    idx = rng.choice(np.flatnonzero(fits.to_numpy()), size=n, replace=False)
    geoms = []
    for i in idx:
        geom = g.geometry.iloc[i]
        gx0, gy0, gx1, gy1 = geom.bounds
        x = rng.uniform(left + margin, right - margin - (gx1 - gx0))
        y = rng.uniform(bottom + margin, top - margin - (gy1 - gy0))
        geoms.append(shapely.affinity.translate(geom, x - gx0, y - gy0))
    return gpd.GeoDataFrame(
        {"plot_id": [f"MW{i:03d}" for i in idx], "croptype": g["croptype"].to_numpy()[idx]},
        geometry=geoms,
        crs=f"EPSG:{epsg}",
    )


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def rustac_server(imagery_dir):
    """A real STAC API (rustac, in-memory) on loopback serving the two real item collections."""
    stac = imagery_dir / "stac"
    files = [
        stac / "pc_sentinel-2-l2a_2019-01-01_itemcollection.json",
        stac / "earthsearch_v1_sentinel-2_2025-07-31_itemcollection.json",
    ]
    with serve_stac(files) as url:
        yield url
