"""Benchmark: per-plot coverage-weighted means, this project vs exactextract, on one S2-sized tile.

Builds a seeded 10980 x 10980 uint16 tile at 10 m (EPSG:32651, tiled 512, DEFLATE, as a COG) in a
temporary folder and 10,000 plots of 0.1-1 ha (irregular quadrilaterals and pentagons), then
prints in one run:

* the bare COG decode time of the tile (``rasterio`` ``read(1)``);
* the one-off cost of the project's exact coverage weights (once per tile grid);
* per band-date: the project's time (decode of the COG blocks holding plot pixels + gather +
  sparse product, the pipeline's code path) and exactextract's
  (``exact_extract(..., ["mean"], strategy="raster-sequential")``), as plots per second;
* the zonal step alone (gather + sparse product) relative to the decode time;
* the largest relative difference between the two sets of means (must be <= 1e-6);

and, as its last line, ``speedup vs exactextract: X``.

Run ``python benchmarks/zonal.py`` (full size, a few minutes; about 1 GB RAM) or small:
``python benchmarks/zonal.py --size 2000 --plots 500``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd  # noqa: E402
import rasterio  # noqa: E402
import rasterio.shutil  # noqa: E402
import shapely  # noqa: E402
from affine import Affine  # noqa: E402
from rasterio.windows import Window  # noqa: E402

from geodata.raster import DEFAULT_READ_THREADS, Grid, read_pixels  # noqa: E402
from geodata.stac import ParsedAsset  # noqa: E402
from geodata.zonal import coverage_weights, gathered_stats  # noqa: E402

EPSG = 32651
ORIGIN = (300000.0, 4900020.0)  # a UTM 51N tile corner, like T51TXx tiles [m]


def make_tile(path: Path, size: int, rng: np.random.Generator) -> None:
    """Seeded smooth field plus noise, uint16 DN in 500-6000, written as a tiled DEFLATE COG.

    Written in strips to a tiled GeoTIFF, then copied with GDAL's COG driver (block-streamed),
    so memory stays small even at 10980 x 10980.
    """
    coarse = rng.uniform(800, 5000, size=(size // 64 + 2, size // 64 + 2))
    xi = np.linspace(0, coarse.shape[1] - 1.001, size)
    x0 = xi.astype(int)
    fx = (xi - x0)[None, :]
    yall = np.linspace(0, coarse.shape[0] - 1.001, size)
    profile = {
        "driver": "GTiff",
        "height": size,
        "width": size,
        "count": 1,
        "dtype": "uint16",
        "crs": f"EPSG:{EPSG}",
        "transform": Affine(10, 0, ORIGIN[0], 0, -10, ORIGIN[1]),
        "nodata": 0,
        "compress": "DEFLATE",
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "BIGTIFF": "IF_SAFER",
    }
    tmp = path.with_suffix(".strips.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, size, 512):
            r1 = min(size, r0 + 512)
            yi = yall[r0:r1]
            y0 = yi.astype(int)
            fy = (yi - y0)[:, None]
            # bilinear upsample of the coarse field (fields, landscape) + pixel noise
            field = (
                coarse[y0][:, x0] * (1 - fy) * (1 - fx)
                + coarse[y0 + 1][:, x0] * fy * (1 - fx)
                + coarse[y0][:, x0 + 1] * (1 - fy) * fx
                + coarse[y0 + 1][:, x0 + 1] * fy * fx
            )
            field += rng.normal(0, 150, size=field.shape)
            dst.write(np.clip(field, 500, 6000).astype(np.uint16), 1, window=Window(0, r0, size, r1 - r0))
    rasterio.shutil.copy(tmp, path, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=512, OVERVIEWS="NONE")
    tmp.unlink()


def make_plots(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` irregular quadrilaterals/pentagons of 0.1-1 ha inside the tile (EPSG:32651)."""
    extent = size * 10.0
    area = rng.uniform(1000.0, 10000.0, n)  # 0.1-1 ha [m2]
    k = rng.integers(4, 6, n)
    cx = ORIGIN[0] + rng.uniform(150, extent - 150, n)
    cy = ORIGIN[1] - rng.uniform(150, extent - 150, n)
    out = []
    for i in range(n):
        ang = np.sort(rng.uniform(0, 2 * np.pi, k[i]))
        ang = (
            np.linspace(0, 2 * np.pi, k[i], endpoint=False)
            + rng.uniform(0, np.pi)
            + 0.25 * (ang - ang.mean())
        )
        rad = rng.uniform(0.8, 1.2, k[i])
        aspect = rng.uniform(1.0, 3.0)
        xs = rad * np.cos(ang) * aspect
        ys = rad * np.sin(ang)
        poly = shapely.Polygon(np.c_[xs, ys])
        if not poly.is_valid:
            poly = shapely.convex_hull(poly)
        s = np.sqrt(area[i] / poly.area)
        rot = rng.uniform(0, 180)
        poly = shapely.affinity.rotate(shapely.affinity.scale(poly, s, s, origin=(0, 0)), rot, origin=(0, 0))
        out.append(shapely.affinity.translate(poly, cx[i], cy[i]))
    return np.array(out, dtype=object)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10980, help="tile side [pixels] (default 10980)")
    ap.add_argument("--plots", type=int, default=10000, help="number of plots (default 10000)")
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats per method (best is kept)")
    ap.add_argument("--tmpdir", type=str, default=None, help="where to write the COG (default: system temp)")
    ap.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_READ_THREADS,
        help=f"threads decoding COG blocks in the project's read (default {DEFAULT_READ_THREADS}; exactextract uses 1)",
    )
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    from exactextract import exact_extract

    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        path = Path(tmp) / "tile_B04.tif"
        t0 = time.perf_counter()
        make_tile(path, args.size, rng)
        print(
            f"tile: {args.size} x {args.size} uint16 10 m COG (DEFLATE, 512 blocks), written in {time.perf_counter() - t0:.1f} s"
        )
        geoms = make_plots(args.plots, args.size, rng)
        areas = shapely.area(geoms) / 1e4
        print(
            f"plots: {args.plots}, area {areas.min():.2f}-{areas.max():.2f} ha (median {np.median(areas):.2f})"
        )

        # bare decode
        dec = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            with rasterio.open(path) as src:
                full = src.read(1)
            dec.append(time.perf_counter() - t0)
        t_decode = min(dec)
        del full
        print(f"bare COG decode of the tile: {t_decode:.3f} s")

        # project: weights once
        with rasterio.open(path) as src:
            grid = Grid(EPSG, src.transform, (src.height, src.width))
        warm = coverage_weights(geoms[:10], grid.transform, grid.shape)  # JIT warm-up
        del warm
        t0 = time.perf_counter()
        weights = coverage_weights(geoms, grid.transform, grid.shape)
        t_weights = time.perf_counter() - t0
        print(
            f"project coverage weights (once per tile grid): {t_weights:.3f} s, "
            f"{len(weights.pixels)} touched pixels, nnz {weights.matrix.nnz}"
        )
        asset = ParsedAsset("red", str(path), None, None, 1.0, 0.0, 0.0, EPSG)
        rows, cols = np.divmod(weights.pixels, grid.shape[1])
        proj, zonal = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            vals = read_pixels(asset, grid, rows, cols, threads=args.threads)
            t1 = time.perf_counter()
            stats = gathered_stats(weights, vals)
            t2 = time.perf_counter()
            proj.append(t2 - t0)
            zonal.append(t2 - t1)
        t_proj = min(proj)
        t_zonal = min(zonal)
        mine = stats.mean[:, 0]

        # exactextract
        gdf = gpd.GeoDataFrame({"plot": np.arange(args.plots)}, geometry=geoms, crs=EPSG)
        ee_t = []
        for _ in range(max(1, min(args.repeats, 2))):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = exact_extract(str(path), gdf, ["mean"], strategy="raster-sequential", output="pandas")
            ee_t.append(time.perf_counter() - t0)
        t_ee = min(ee_t)
        ref = df["mean"].to_numpy(dtype=float)
        rel = np.nanmax(np.abs(mine - ref) / np.abs(ref))

        n = args.plots
        print(
            f"project per band-date ({args.threads} decode thread(s)): {t_proj:.3f} s  -> "
            f"{n / t_proj:,.0f} plots/s per band-date"
        )
        print(
            f"exactextract (raster-sequential) per band-date: {t_ee:.3f} s  -> {n / t_ee:,.0f} plots/s per band-date"
        )
        print(
            f"zonal step alone (gather + sparse product): {t_zonal * 1e3:.1f} ms = "
            f"{100 * t_zonal / t_decode:.2f} % of the bare decode time; project total vs bare decode: "
            f"{100 * (t_proj - t_decode) / t_decode:+.1f} %"
        )
        print(
            f"one-off weights amortised over 10 band-dates: {n / (t_proj + t_weights / 10):,.0f} plots/s per band-date"
        )
        ok = rel <= 1e-6
        print(
            f"max relative difference of means vs exactextract: {rel:.2e} ({'OK' if ok else 'FAIL'}: limit 1e-6)"
        )
        print(f"speedup vs exactextract: {t_ee / t_proj:.2f}")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
