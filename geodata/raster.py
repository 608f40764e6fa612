"""Reading Sentinel-2 COG pixels that the plots need, on a common 10 m grid.

The pipeline never decodes whole scenes it does not need: it asks for the values of the *touched*
pixels of a 10 m grid window (the pixels some plot covers, from
:class:`geodata.zonal.CoverageWeights`), and :func:`read_pixels` decodes only the COG blocks that
contain them, one ``rasterio`` windowed read per block (``with rasterio.open(...)``).

20 m bands (B11, B12, SCL) are aligned to the 10 m grid by **nearest-neighbour upsampling by
pixel centre**: each 10 m pixel takes the value of the 20 m pixel that contains its centre. On the
Sentinel-2 tiling the 20 m grid shares the 10 m grid's origin, so each 10 m pixel lies wholly in
one 20 m pixel; the coverage-weighted mean over the upsampled 10 m pixels then equals the
coverage-weighted mean over the 20 m pixels exactly (coverage area is additive), which is what
exactextract computes on the native 20 m raster. The same mapping handles any other resolution
ratio (nearest neighbour), e.g. the 10x-downsampled test fixtures.

Values are converted to physical units with the asset's scale and offset
(:class:`geodata.items.ParsedAsset`); DN equal to the asset's nodata, and pixels outside the file,
become NaN.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geodata.errors import CRSError, RasterReadError
from geodata.items import ParsedAsset

log = logging.getLogger(__name__)

__all__ = ["Grid", "grid_of", "read_pixels", "read_window"]

#: Threads decoding COG blocks in one :func:`read_pixels` call: one per core, at most 4 (not on a
#: Dask worker: :func:`read_threads`).
DEFAULT_READ_THREADS = min(4, os.cpu_count() or 1)


def read_threads() -> int:
    """Threads decoding COG blocks by default: 1 in a task on a Dask worker, where the cluster
    already runs one task per core and more threads only contend for them (10,000 plots on
    2 cores: the imagery took 26.2 s on 2 workers and 35.7 s on 1 with
    :data:`DEFAULT_READ_THREADS` each, 18.5 and 27.8 s with 1; ``docs/SCALE.md``); elsewhere
    :data:`DEFAULT_READ_THREADS`."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):  # not in a Dask worker's task
        return DEFAULT_READ_THREADS
    return 1


_GDAL_ENV = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no directory listing per COG open (remote)
    "GDAL_HTTP_MULTIRANGE": "YES",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF",
}


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: CRS, transform and shape."""

    epsg: int | None
    """EPSG code of the grid's CRS (None if the file has no EPSG code)."""
    transform: Affine
    """Affine transform [CRS units per pixel]."""
    shape: tuple[int, int]
    """``(height, width)`` [pixels]."""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in CRS units."""
        t = self.transform
        h, w = self.shape
        xs = (t.c, t.c + w * t.a)
        ys = (t.f, t.f + h * t.e)
        return min(xs), min(ys), max(xs), max(ys)

    def subgrid(self, bounds: tuple[float, float, float, float]) -> Grid:
        """The smallest window of this grid covering ``bounds``, clipped to the grid."""
        inv = ~self.transform
        left, bottom, right, top = bounds
        cols = [inv.a * x + inv.c for x in (left, right)]
        rows = [inv.e * y + inv.f for y in (bottom, top)]
        eps = 1e-6  # [pixel] bounds on pixel edges must not pull in a neighbour row/column
        c0 = int(np.clip(np.floor(min(cols) + eps), 0, self.shape[1]))
        c1 = int(np.clip(np.ceil(max(cols) - eps), 0, self.shape[1]))
        r0 = int(np.clip(np.floor(min(rows) + eps), 0, self.shape[0]))
        r1 = int(np.clip(np.ceil(max(rows) - eps), 0, self.shape[0]))
        return Grid(self.epsg, self.transform @ Affine.translation(c0, r0), (r1 - r0, c1 - c0))


def _open(href: str):
    try:
        return rasterio.open(href)
    except RasterioError as exc:
        raise RasterReadError(
            f"cannot open raster {href!r}: {exc}. Check that the href exists and is reachable "
            "(local path, network access, or a signed URL via the search `modifier`)"
        ) from exc


def grid_of(asset: ParsedAsset) -> Grid:
    """The pixel grid of an asset, read from the file header (the truth, not ``proj:*`` metadata).

    Raises
    ------
    RasterReadError
        If the file cannot be opened.
    CRSError
        If the file's CRS differs from the item's ``proj:epsg``.
    """
    with rasterio.Env(**_GDAL_ENV), _open(asset.href) as src:
        epsg = _check_crs(src, asset)
        return Grid(epsg, src.transform, (src.height, src.width))


def _check_crs(src, asset: ParsedAsset) -> int | None:
    if src.crs is None:
        raise CRSError(
            f"raster {asset.href!r} has no CRS; Sentinel-2 COGs carry their UTM zone, re-export it"
        )
    epsg = src.crs.to_epsg()
    if asset.epsg is not None and epsg != asset.epsg:
        raise CRSError(
            f"raster {asset.href!r} is in EPSG:{epsg} but its STAC item says EPSG:{asset.epsg} "
            "(proj:epsg/proj:code); fix the item metadata or the file"
        )
    return epsg


def _to_physical(dn: np.ndarray, asset: ParsedAsset, nodata: float | None) -> np.ndarray:
    out = dn.astype(np.float64)
    bad = np.zeros(out.shape, bool) if nodata is None else (dn == nodata)
    if asset.scale != 1.0 or asset.offset != 0.0:
        out *= asset.scale
        out += asset.offset
    out[bad] = np.nan
    return out


def read_pixels(
    asset: ParsedAsset, grid: Grid, rows: np.ndarray, cols: np.ndarray, *, threads: int | None = None
) -> np.ndarray:
    """Physical values of an asset at given pixels of a target grid (nearest neighbour).

    Parameters
    ----------
    asset : ParsedAsset
        The band to read (its href, scale, offset, nodata).
    grid : Grid
        Target grid (e.g. the 10 m window the coverage weights were computed on).
    rows, cols : numpy.ndarray of int
        Pixel indices in ``grid`` (e.g. from ``divmod(weights.pixels, width)``).
    threads : int, optional
        Threads decoding blocks at once, each with its own dataset handle (GDAL releases the GIL
        while it inflates DEFLATE tiles). Default: :func:`read_threads`; 1 reads in the
        calling thread.

    Returns
    -------
    numpy.ndarray of float64
        ``DN * scale + offset`` [physical units] per requested pixel; NaN for nodata DN and pixels
        outside the file.

    Raises
    ------
    RasterReadError
        If the file cannot be opened or decoded.
    CRSError
        If the file's CRS differs from the grid's or the item's.

    Notes
    -----
    Target pixel centres ``(x, y) = T_grid * (col + 0.5, row + 0.5)`` are mapped into the file's
    pixel space with the inverse of its transform and floored: nearest-neighbour resampling.
    Only the file's internal blocks (COG tiles) holding requested pixels are decoded.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    out = np.full(rows.shape, np.nan)
    if rows.size == 0:
        return out
    with rasterio.Env(**_GDAL_ENV), _open(asset.href) as src:
        epsg = _check_crs(src, asset)
        if grid.epsg is not None and epsg != grid.epsg:
            raise CRSError(
                f"raster {asset.href!r} is in EPSG:{epsg} but the plots' grid is EPSG:{grid.epsg}; "
                "all bands of a scene must share one CRS"
            )
        st = src.transform
        if st.b != 0 or st.d != 0:
            raise CRSError(f"raster {asset.href!r} has a rotated transform; warp it north-up first")
        gt = grid.transform
        x = gt.c + (cols + 0.5) * gt.a
        y = gt.f + (rows + 0.5) * gt.e
        sc = np.floor((x - st.c) / st.a).astype(np.int64)
        sr = np.floor((y - st.f) / st.e).astype(np.int64)
        inside = (sc >= 0) & (sc < src.width) & (sr >= 0) & (sr < src.height)
        if not inside.any():
            return out
        idx = np.flatnonzero(inside)
        sr_i, sc_i = sr[idx], sc[idx]
        bh, bw = src.block_shapes[0]
        # read in chunks of whole internal blocks (at least 512 px) holding requested pixels
        ch = max(bh, 512) // bh * bh
        cw = max(bw, 512) // bw * bw
        chunk = (sr_i // ch) * ((src.width + cw - 1) // cw) + (sc_i // cw)
        order = np.argsort(chunk, kind="stable")
        bounds = np.flatnonzero(np.diff(chunk[order])) + 1
        nodata = src.nodata if src.nodata is not None else asset.nodata
        parts = np.split(order, bounds)
        n_threads = max(1, min(threads or read_threads(), len(parts)))

        def decode(handle, my_parts) -> None:
            for part in my_parts:
                r_lo, r_hi = sr_i[part].min(), sr_i[part].max() + 1
                c_lo, c_hi = sc_i[part].min(), sc_i[part].max() + 1
                block = handle.read(1, window=Window(c_lo, r_lo, c_hi - c_lo, r_hi - r_lo))
                dn = block[sr_i[part] - r_lo, sc_i[part] - c_lo]
                out[idx[part]] = _to_physical(dn, asset, nodata)

        def decode_own_handle(my_parts) -> None:
            with rasterio.Env(**_GDAL_ENV), _open(asset.href) as handle:
                decode(handle, my_parts)

        try:
            if n_threads == 1:
                decode(src, parts)
            else:
                # interleaved shares: neighbouring chunks (similar cost) go to different threads
                with ThreadPoolExecutor(n_threads) as pool:
                    list(pool.map(decode_own_handle, [parts[i::n_threads] for i in range(n_threads)]))
        except RasterioError as exc:
            raise RasterReadError(
                f"cannot decode raster {asset.href!r}: {exc}; the file may be truncated"
            ) from exc
    return out


def read_window(asset: ParsedAsset, grid: Grid) -> np.ndarray:
    """Physical values of an asset on a whole target grid window (nearest neighbour).

    Parameters
    ----------
    asset : ParsedAsset
    grid : Grid

    Returns
    -------
    numpy.ndarray of float64, shape ``grid.shape``
        NaN for nodata and outside the file.
    """
    h, w = grid.shape
    rows, cols = np.divmod(np.arange(h * w, dtype=np.int64), w)
    return read_pixels(asset, grid, rows, cols).reshape(h, w)
