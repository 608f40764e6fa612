"""Pictures of the imagery for review pages: a plot's image chip and a project's backdrop (PNG).

- :func:`plot_chip`: a square PNG of one plot on one date, true colour or NDVI, the plot outline
  drawn on top and, given the scene classification (SCL), the pixels the pipeline would not use
  greyed out. Only the few pixels of the window around the plot are decoded (a windowed read of
  the COG blocks that hold them, :func:`geodata.raster.read_window`).
- :func:`background_png`: a true-colour picture of a project's extent in Web Mercator
  (EPSG:3857), for a Leaflet ``imageOverlay`` under the plot polygons; decimated reads from the
  COG overviews keep it cheap over a whole tile.

Pixel values
------------
DN are converted to surface reflectance with the item's ``raster:bands`` scale and offset, as the
pipeline does (:class:`geodata.items.ParsedAsset`). The defaults are those of Earth Search v1 and
the sample county's items, processing baseline 04.00 and later: reflectance = DN x 1e-4 - 0.1
(:data:`geodata.sentinel2.REFLECTANCE_SCALE`, :data:`geodata.sentinel2.BOA_ADD_OFFSET`, their one
home; ESA's ``BOA_QUANTIFICATION_VALUE`` 10000 and ``BOA_ADD_OFFSET`` -1000 [1]_ [2]_). Pass the
item's own ``scale``/``offset`` for other items (:mod:`mrv_service.review.evidence` does).

- **True colour**: B04/B03/B02 reflectance mapped linearly from :data:`TRUECOLOR_RANGE`
  (0 -> black, 0.3 -> full intensity, clipped; no gamma). A fixed stretch, so dates and plots
  compare; bright clouds saturate to white.
- **NDVI** = (B08 - B04) / (B08 + B04) per pixel (:func:`geodata.features.ndvi`, Rouse et al.
  1974), coloured with the diverging colormap :data:`NDVI_CMAP` (ColorBrewer BrBG: brown for bare
  soil and straw, white at the middle, blue-green for green canopy) over :data:`NDVI_RANGE`
  (-0.1 to 0.9, clipped) in :data:`NDVI_LEVELS` = 256 steps of 1/256 of the range (0.0039).
- **Masked pixels**: where ``scl_href`` is given, pixels whose SCL class is not kept (default
  4 vegetation and 5 not vegetated, :class:`geodata.masks.MaskConfig`, the pipeline's mask) are
  greyed: flat :data:`MASKED_RGB` in NDVI chips, their own luminance halved onto mid-grey in true
  colour chips (so a reviewer still sees the cloud or shadow). Pixels without data (DN = nodata,
  outside the file) are :data:`NODATA_RGB`.
- **Outline**: the plot boundary (exterior and holes) in :data:`OUTLINE_RGB` (magenta, in neither
  colormap nor farmland), 2 px wide, not antialiased, drawn after the nearest-neighbour
  upsampling to ``size_px``.

Errors are :class:`ChipError` subclasses that name the file or value and the fix; callers catch
:class:`models.errors.MRVError`.

References
----------
.. [1] ESA, "Sentinel-2 Products Specification Document", S2-PDGS-TAS-DI-PSD, issue 15, 2021
   (:mod:`geodata.sentinel2` reference [1]).
.. [2] ESA, "Sentinel-2: new processing baseline 04.00", 25 January 2022
   (:mod:`geodata.sentinel2` reference [2]).
.. [3] C. A. Brewer, ColorBrewer 2.0, diverging scheme "BrBG" (matplotlib colormap ``BrBG``).
"""

from __future__ import annotations

import functools
import io
import logging
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pyproj
import rasterio
import shapely
from affine import Affine
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from geodata.errors import CRSError, ImageryUnavailableError, RasterReadError
from geodata.features import ndvi as ndvi_index
from geodata.items import ParsedAsset
from geodata.masks import MaskConfig
from geodata.raster import Grid, grid_of, read_window
from geodata.sentinel2 import BAND_ALIASES, BOA_ADD_OFFSET, NODATA, REFLECTANCE_SCALE
from models.errors import MRVError

log = logging.getLogger(__name__)

__all__ = [
    "ATTRIBUTION",
    "ChipError",
    "ChipReadError",
    "ChipRequestError",
    "PlotOutsideRasterError",
    "CHIP_KINDS",
    "TRUECOLOR_RANGE",
    "NDVI_RANGE",
    "NDVI_CMAP",
    "NDVI_LEVELS",
    "OUTLINE_RGB",
    "OUTLINE_WIDTH_PX",
    "MASKED_RGB",
    "NODATA_RGB",
    "ndvi_colors",
    "plot_chip",
    "background_png",
]

ChipKind = Literal["truecolor", "ndvi"]

CHIP_KINDS: tuple[str, ...] = ("truecolor", "ndvi")
"""The kinds of chip :func:`plot_chip` draws."""

TRUECOLOR_RANGE: tuple[float, float] = (0.0, 0.3)
"""Reflectance [1] mapped to 0 and 255 in true colour chips (linear, clipped; service choice:
dark black-soil farmland reads better than with the common gain of 2.5, i.e. white at 0.4)."""

NDVI_RANGE: tuple[float, float] = (-0.1, 0.9)
"""NDVI [1] at the two ends of the colormap (clipped beyond); the white middle is at 0.4, between
bare soil or straw (below about 0.3) and green canopy (above about 0.5). Service choice."""

NDVI_CMAP = "BrBG"
"""matplotlib name of the NDVI colormap (ColorBrewer BrBG [3]_, colour-blind safe)."""

NDVI_LEVELS = 256
"""Colours in the NDVI colormap; an NDVI value v gets colour index
``floor((v - NDVI_RANGE[0]) / (NDVI_RANGE[1] - NDVI_RANGE[0]) * NDVI_LEVELS)``, clipped."""

OUTLINE_RGB: tuple[int, int, int] = (255, 0, 255)
"""Colour of the plot outline (magenta)."""

OUTLINE_WIDTH_PX = 2
"""Width of the plot outline [px of the chip]."""

MASKED_RGB: tuple[int, int, int] = (160, 160, 160)
"""Colour of masked pixels (SCL class not kept) in NDVI chips."""

NODATA_RGB: tuple[int, int, int] = (40, 40, 40)
"""Colour of pixels without data (nodata DN, outside the file)."""

ATTRIBUTION = "Contains modified Copernicus Sentinel data"
"""Attribution the Copernicus data policy asks for, written into every PNG (``Source``) and to be
shown beside the pictures."""

_NEEDS: Mapping[str, tuple[str, ...]] = {"truecolor": ("red", "green", "blue"), "ndvi": ("red", "nir")}
"""Bands (canonical keys) each chip kind reads."""

_WEB_MERCATOR_MAX_LAT = 85.05112878
"""Latitude [degree] where EPSG:3857 ends."""


class ChipError(MRVError):
    """A chip or background picture could not be drawn (base of this module's errors)."""


class ChipRequestError(ChipError, ValueError):
    """A parameter is invalid: chip kind, size, padding, bounds, or a band missing from the hrefs."""


class ChipReadError(ChipError, RasterReadError):
    """A COG is missing or cannot be read (the message names the file and the fix)."""


class PlotOutsideRasterError(ChipError, ImageryUnavailableError):
    """The plot or the requested extent lies outside the raster."""


# --- helpers ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def ndvi_colors() -> np.ndarray:
    """The NDVI colormap as a ``(NDVI_LEVELS, 3)`` uint8 RGB table (:data:`NDVI_CMAP`)."""
    from matplotlib import colormaps

    rgba = colormaps[NDVI_CMAP].resampled(NDVI_LEVELS)(np.arange(NDVI_LEVELS))
    table = np.round(rgba[:, :3] * 255).astype(np.uint8)
    table.flags.writeable = False
    return table


def _canonical(band_hrefs: Mapping[str, str]) -> dict[str, str]:
    """Band hrefs keyed by canonical key, whether given as ``red`` or ``B04``."""
    lookup = {alias.lower(): key for key, aliases in BAND_ALIASES.items() for alias in aliases}
    return {lookup.get(str(k).lower(), str(k)): str(v) for k, v in band_hrefs.items()}


def _need(band_hrefs: Mapping[str, str], keys: Sequence[str]) -> dict[str, str]:
    hrefs = _canonical(band_hrefs)
    missing = [k for k in keys if not hrefs.get(k)]
    if missing:
        raise ChipRequestError(
            f"band(s) {missing} missing from the hrefs given ({sorted(band_hrefs)}); pass them under their "
            "Earth Search keys (red, green, blue, nir) or ESA names (B04, B03, B02, B08)"
        )
    return hrefs


def _is_local(href: str) -> bool:
    return "://" not in href and not href.startswith("/vsi")


def _check_exists(href: str) -> None:
    if _is_local(href) and not os.path.isfile(href):
        raise ChipReadError(
            f"COG {href!r} does not exist: the run's imagery was moved or deleted since the run. Restore "
            "the imagery folder the project's catalog names (for the sample county: `mrv sample create`) "
            "or rerun the imagery stage (`mrv run PROJECT --stage imagery`)"
        )


def _asset(key: str, href: str, scale: float, offset: float) -> ParsedAsset:
    return ParsedAsset(
        key=key, href=href, shape=None, transform=None, scale=scale, offset=offset, nodata=NODATA, epsg=None
    )


def _read(asset: ParsedAsset, grid: Grid | None = None) -> Any:
    """:func:`grid_of` (no grid) or :func:`read_window`, with read errors as :class:`ChipReadError`."""
    _check_exists(asset.href)
    try:
        return grid_of(asset) if grid is None else read_window(asset, grid)
    except RasterReadError as exc:
        raise ChipReadError(f"{exc}. If the file is corrupt, restore it or rerun the imagery stage") from exc


@functools.lru_cache(maxsize=16)
def _transformer(src: int | str, dst: int | str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _to_crs(geom: BaseGeometry, epsg: int) -> BaseGeometry:
    t = _transformer(4326, epsg)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _fmt_bounds(b: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.5f}" for v in b) + ")"


def _chip_grid(raster: Grid, bounds: tuple[float, float, float, float], pad_m: float) -> Grid:
    """A square window of the raster's pixel grid around ``bounds`` plus ``pad_m``, not clipped."""
    t = raster.transform
    if t.b != 0 or t.d != 0:
        raise CRSError("the raster has a rotated transform; warp it north-up first")
    minx, miny, maxx, maxy = bounds
    half = max(maxx - minx, maxy - miny) / 2 + pad_m
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    c0 = math.floor((cx - half - t.c) / t.a)
    c1 = math.ceil((cx + half - t.c) / t.a)
    r0 = math.floor((cy + half - t.f) / t.e)
    r1 = math.ceil((cy - half - t.f) / t.e)
    n = max(c1 - c0, r1 - r0, 1)
    c0 -= (n - (c1 - c0)) // 2
    r0 -= (n - (r1 - r0)) // 2
    return Grid(raster.epsg, t @ Affine.translation(c0, r0), (n, n))


def _truecolor(rgb_refl: np.ndarray) -> np.ndarray:
    lo, hi = TRUECOLOR_RANGE
    with np.errstate(invalid="ignore"):
        scaled = np.clip((rgb_refl - lo) / (hi - lo), 0.0, 1.0) * 255.0
    return np.round(np.nan_to_num(scaled)).astype(np.uint8)


def _ndvi_rgb(index: np.ndarray) -> np.ndarray:
    lo, hi = NDVI_RANGE
    with np.errstate(invalid="ignore"):
        level = np.floor((index - lo) / (hi - lo) * NDVI_LEVELS)
    level = np.clip(np.nan_to_num(level), 0, NDVI_LEVELS - 1).astype(np.intp)
    return ndvi_colors()[level]


def _grey_out(rgb: np.ndarray) -> np.ndarray:
    lum = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    grey = np.round(lum * 0.5 + 64.0).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _rings(geom: BaseGeometry) -> Iterator[np.ndarray]:
    for part in getattr(geom, "geoms", [geom]):
        if part.geom_type == "Polygon":
            yield np.asarray(part.exterior.coords)[:, :2]
            for ring in part.interiors:
                yield np.asarray(ring.coords)[:, :2]
        elif part.geom_type in ("LineString", "LinearRing"):
            yield np.asarray(part.coords)[:, :2]


def _png(image: Image.Image, text: Mapping[str, str]) -> bytes:
    info = PngInfo()
    for key, value in {**text, "Source": ATTRIBUTION}.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=6, pnginfo=info)
    return buf.getvalue()


# --- plot chip -------------------------------------------------------------------------------------


def plot_chip(
    band_hrefs: Mapping[str, str],
    geometry_wgs84: BaseGeometry,
    kind: ChipKind,
    *,
    size_px: int = 256,
    pad_m: float = 40.0,
    scl_href: str | None = None,
    scale: float = REFLECTANCE_SCALE,
    offset: float = BOA_ADD_OFFSET,
    keep_classes: Sequence[int] | None = None,
) -> bytes:
    """A square PNG picture of one plot on one date, true colour or NDVI.

    Parameters
    ----------
    band_hrefs : mapping of str to str
        COG path or URL per band, keyed ``red``/``green``/``blue``/``nir`` (or ``B04``/``B03``/
        ``B02``/``B08``); true colour needs red, green, blue; NDVI red and nir. Extra keys are
        ignored. All bands must share the CRS of ``red``, whose 10 m grid the chip follows.
    geometry_wgs84 : shapely geometry
        The plot (Polygon or MultiPolygon) in EPSG:4326, lon/lat [degree].
    kind : {"truecolor", "ndvi"}
    size_px : int, default 256
        Width and height of the PNG [px]; the window's pixels are upsampled by nearest neighbour.
    pad_m : float, default 40
        Margin around the plot's bounding box [m of the raster CRS]; the window is the square
        around the padded box, widened to whole pixels.
    scl_href : str, optional
        Scene classification COG; when given, pixels of classes not in ``keep_classes`` are greyed.
    scale, offset : float
        Reflectance = DN x ``scale`` + ``offset`` [1]; default the Earth Search v1 / sample
        convention 1e-4 and -0.1 (module notes). Pass the item's ``raster:bands`` values.
    keep_classes : sequence of int, optional
        SCL codes of clear pixels; default :attr:`geodata.masks.MaskConfig.keep_classes` (4, 5).
        Pass a run's ``scl_keep_classes`` attribute to grey what that run masked.

    Returns
    -------
    bytes
        PNG, RGB, ``size_px`` x ``size_px`` (module notes: stretch, colormap, colours). Its text
        chunks say what it shows: ``kind``, ``crs`` (the raster's, ``EPSG:code``), ``bounds``
        (``left bottom right top`` of the picture's edges in that CRS [m]: the square window, on
        the raster's pixel edges) and ``Source`` (:data:`ATTRIBUTION`).

    Raises
    ------
    ChipRequestError
        (a :class:`ValueError`) For an unknown ``kind``, ``size_px`` < 16, a negative ``pad_m``,
        an empty geometry or a band missing from ``band_hrefs``.
    ChipReadError
        (an :class:`OSError`) If a COG does not exist or cannot be read.
    PlotOutsideRasterError
        (a :class:`LookupError`) If the plot does not overlap the raster.
    geodata.errors.CRSError
        If the raster has no EPSG code, or the bands' CRSs differ.
    """
    if kind not in _NEEDS:
        raise ChipRequestError(f"chip kind {kind!r} is unknown; choose one of {list(CHIP_KINDS)}")
    if int(size_px) != size_px or size_px < 16:
        raise ChipRequestError(f"size_px={size_px!r} must be an integer of at least 16")
    if not pad_m >= 0:
        raise ChipRequestError(f"pad_m={pad_m!r} must be a distance >= 0 [m]")
    if geometry_wgs84 is None or geometry_wgs84.is_empty:
        raise ChipRequestError("the plot geometry is empty; pass the plot's polygon in EPSG:4326")
    size_px = int(size_px)
    hrefs = _need(band_hrefs, _NEEDS[kind])
    assets = {k: _asset(k, hrefs[k], scale, offset) for k in _NEEDS[kind]}
    raster = _read(assets["red"])
    if raster.epsg is None:
        raise CRSError(f"raster {hrefs['red']!r} has no EPSG code; chips need a UTM-zone COG")
    geom = _to_crs(geometry_wgs84, raster.epsg)
    rb = raster.bounds
    if not geom.intersects(shapely.box(*rb)):
        raster_ll = transform_bounds(f"EPSG:{raster.epsg}", "EPSG:4326", *rb)
        raise PlotOutsideRasterError(
            f"the plot {_fmt_bounds(geometry_wgs84.bounds)} (lon/lat) lies outside raster {hrefs['red']!r}, "
            f"which spans {_fmt_bounds(raster_ll)}. Is the geometry in EPSG:4326 with lon before lat (not "
            "GCJ-02, not swapped), and is this the scene of the plot's date?"
        )
    grid = _chip_grid(raster, geom.bounds, float(pad_m))
    bands = {k: _read(a, grid) for k, a in assets.items()}
    if kind == "truecolor":
        rgb = _truecolor(np.stack([bands["red"], bands["green"], bands["blue"]], axis=-1))
        nodata = ~np.isfinite(bands["red"]) | ~np.isfinite(bands["green"]) | ~np.isfinite(bands["blue"])
    else:
        index = ndvi_index(bands["red"], bands["nir"])
        rgb = _ndvi_rgb(index)
        nodata = ~np.isfinite(index)
    if scl_href:
        scl = _read(_asset("scl", scl_href, 1.0, 0.0), grid)
        keep = MaskConfig().keep_classes if keep_classes is None else tuple(int(c) for c in keep_classes)
        masked = ~np.isin(scl, np.asarray(keep, float)) & ~nodata
        rgb[masked] = MASKED_RGB if kind == "ndvi" else _grey_out(rgb[masked].astype(float))
    rgb[nodata] = NODATA_RGB
    n = grid.shape[0]
    idx = ((np.arange(size_px) + 0.5) * n / size_px).astype(np.intp)
    image = Image.fromarray(np.ascontiguousarray(rgb[idx][:, idx]))  # (h, w, 3) uint8: RGB
    draw = ImageDraw.Draw(image)
    gt = grid.transform
    per_px = size_px / n  # chip pixels per raster pixel
    # a square brush of OUTLINE_WIDTH_PX centred on the line: Pillow's wide lines thin out to
    # one pixel on shallow slopes, one-pixel lines at sub-pixel offsets do not
    half = (OUTLINE_WIDTH_PX - 1) / 2
    offsets = np.linspace(-half, half, OUTLINE_WIDTH_PX)
    for ring in _rings(geom):
        xs = (ring[:, 0] - gt.c) / gt.a * per_px
        ys = (ring[:, 1] - gt.f) / gt.e * per_px
        for dx in offsets:
            for dy in offsets:
                draw.line(
                    list(zip((xs + dx).tolist(), (ys + dy).tolist(), strict=True)), fill=OUTLINE_RGB, width=1
                )
    gb = grid.bounds
    return _png(image, {"kind": kind, "crs": f"EPSG:{grid.epsg}", "bounds": " ".join(f"{v:.3f}" for v in gb)})


# --- project background ------------------------------------------------------------------------


@contextmanager
def _open(href: str, **kwargs: Any) -> Iterator[Any]:
    _check_exists(href)
    try:
        with rasterio.open(href, **kwargs) as src:
            yield src
    except RasterioError as exc:
        raise ChipReadError(
            f"cannot read COG {href!r}: {exc}. Restore the file or rerun the imagery stage "
            "(`mrv run PROJECT --stage imagery`)"
        ) from exc


def _overview_level(href: str, ground_res: float) -> tuple[int | None, float]:
    """The coarsest overview (``overview_level`` index, None = full resolution) no coarser than
    ``ground_res`` [m], and the full-resolution pixel size [m]."""
    with _open(href) as src:
        res = abs(src.transform.a)
        factors = src.overviews(1)
    level = None
    for k, f in enumerate(factors):
        if f * res <= ground_res:
            level = k
    return level, res


def _warp_band(
    href: str, dst_shape: tuple[int, int], dst_transform: Affine, bounds_wgs84, ground_res: float
) -> np.ndarray:
    """DN of one band on the EPSG:3857 destination grid (0 = no data)."""
    level, _ = _overview_level(href, ground_res)
    kwargs = {} if level is None else {"overview_level": level}
    with _open(href, **kwargs) as src:
        if src.crs is None:
            raise CRSError(f"raster {href!r} has no CRS; Sentinel-2 COGs carry their UTM zone, re-export it")
        left, bottom, right, top = transform_bounds("EPSG:4326", src.crs, *bounds_wgs84, densify_pts=21)
        with warnings.catch_warnings():
            # rasterio's window() multiplies an Affine with `*`, which affine >= 2.5 deprecates
            warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
            win = src.window(left, bottom, right, top)
        c0 = max(math.floor(win.col_off) - 1, 0)
        r0 = max(math.floor(win.row_off) - 1, 0)
        c1 = min(math.ceil(win.col_off + win.width) + 1, src.width)
        r1 = min(math.ceil(win.row_off + win.height) + 1, src.height)
        if c1 <= c0 or r1 <= r0:
            raise PlotOutsideRasterError(
                f"the extent {_fmt_bounds(bounds_wgs84)} (lon/lat) lies outside raster {href!r}; pass the "
                "project's extent in EPSG:4326 (west, south, east, north) and a scene that covers it"
            )
        window = Window(c0, r0, c1 - c0, r1 - r0)
        try:
            dn = src.read(1, window=window)
        except RasterioError as exc:
            raise ChipReadError(f"cannot decode COG {href!r}: {exc}; the file may be truncated") from exc
        out = np.zeros(dst_shape, dtype=dn.dtype)
        src_res = abs(src.transform.a)
        reproject(
            dn,
            out,
            src_transform=src.transform @ Affine.translation(c0, r0),
            src_crs=src.crs,
            src_nodata=src.nodata if src.nodata is not None else NODATA,
            dst_transform=dst_transform,
            dst_crs="EPSG:3857",
            dst_nodata=NODATA,
            resampling=Resampling.average if ground_res > 1.5 * src_res else Resampling.nearest,
        )
    return out


def background_png(
    band_hrefs: Mapping[str, str],
    bounds_wgs84: Sequence[float],
    max_px: int = 1024,
    *,
    scale: float = REFLECTANCE_SCALE,
    offset: float = BOA_ADD_OFFSET,
) -> tuple[bytes, tuple[float, float, float, float]]:
    """A true-colour picture of an extent in Web Mercator, for a Leaflet ``imageOverlay``.

    Parameters
    ----------
    band_hrefs : mapping of str to str
        COG per band: ``red``, ``green``, ``blue`` (or ``B04``, ``B03``, ``B02``).
    bounds_wgs84 : sequence of 4 float
        ``(west, south, east, north)`` [degree], EPSG:4326.
    max_px : int, default 1024
        Longest side of the picture [px]; never finer than the bands' own pixels.
    scale, offset : float
        Reflectance = DN x ``scale`` + ``offset`` (as :func:`plot_chip`).

    Returns
    -------
    png : bytes
        RGBA PNG on an EPSG:3857 grid spanning the bounds; transparent where no band has data.
        Colours: :data:`TRUECOLOR_RANGE` stretch. Text chunks ``crs``, ``bounds_wgs84``, ``Source``.
    bounds : tuple of float
        ``(west, south, east, north)`` [degree] of the picture's edges: pass
        ``[[south, west], [north, east]]`` to ``L.imageOverlay`` and it aligns with GeoJSON plots
        (a lon/lat box is a box in Web Mercator, so these are the bounds given).

    Raises
    ------
    ChipRequestError
        For bounds that are not a lon/lat box within +-85.05 degrees latitude, ``max_px`` < 16 or
        a band missing.
    ChipReadError
        If a COG does not exist or cannot be read.
    PlotOutsideRasterError
        If the extent does not overlap the rasters.

    Notes
    -----
    Per band: the overview whose pixels are at most the output's ground pixel size is opened
    (``overview_level``), the window covering the bounds is read, and
    :func:`rasterio.warp.reproject` resamples it onto the EPSG:3857 grid (average when
    shrinking, else nearest).
    """
    try:
        west, south, east, north = (float(v) for v in bounds_wgs84)
    except (TypeError, ValueError) as exc:
        raise ChipRequestError(
            f"bounds_wgs84={bounds_wgs84!r} must be four numbers (west, south, east, north) [degree]"
        ) from exc
    if not (-180 <= west < east <= 180 and -_WEB_MERCATOR_MAX_LAT <= south < north <= _WEB_MERCATOR_MAX_LAT):
        raise ChipRequestError(
            f"bounds_wgs84={_fmt_bounds((west, south, east, north))} is not a lon/lat box (west < east, "
            f"south < north, |lat| <= {_WEB_MERCATOR_MAX_LAT:.2f}); pass (west, south, east, north) in EPSG:4326"
        )
    if int(max_px) != max_px or max_px < 16:
        raise ChipRequestError(f"max_px={max_px!r} must be an integer of at least 16")
    hrefs = _need(band_hrefs, _NEEDS["truecolor"])
    to_merc = _transformer(4326, 3857)
    x0, y0 = to_merc.transform(west, south)
    x1, y1 = to_merc.transform(east, north)
    _, res = _overview_level(hrefs["red"], 0.0)
    lat_scale = math.cos(math.radians((south + north) / 2))  # ground m per Web Mercator unit
    merc_res = max((x1 - x0) / max_px, (y1 - y0) / max_px, res / lat_scale)
    width = max(1, math.ceil((x1 - x0) / merc_res - 1e-9))
    height = max(1, math.ceil((y1 - y0) / merc_res - 1e-9))
    dst_transform = Affine((x1 - x0) / width, 0.0, x0, 0.0, -(y1 - y0) / height, y1)
    ground_res = merc_res * lat_scale
    box = (west, south, east, north)
    dn = [
        _warp_band(hrefs[k], (height, width), dst_transform, box, ground_res)
        for k in ("red", "green", "blue")
    ]
    valid = (dn[0] != NODATA) & (dn[1] != NODATA) & (dn[2] != NODATA)
    refl = np.stack([d.astype(np.float64) * scale + offset for d in dn], axis=-1)
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = _truecolor(refl)
    rgba[..., 3] = np.where(valid, 255, 0)
    text = {"crs": "EPSG:3857", "bounds_wgs84": " ".join(f"{v:.7f}" for v in box)}
    return _png(Image.fromarray(rgba), text), box  # (h, w, 4) uint8: RGBA
