"""The figures of the CCER documents (matplotlib, Agg backend; geopandas for the maps).

Each builder takes its entry of the document's ``figure_data`` and returns an unsaved
:class:`matplotlib.figure.Figure` (so a caller or a test can inspect its artists);
:func:`render_figure` builds one, writes it as PNG and closes it.

- :func:`location_map`: the plots coloured by credited t CO2e over the project-area outline, with
  a scale bar (measured in the plots' UTM zone), a north arrow, a colour bar and lon/lat ticks.
  The repository holds no county boundary, so the outline drawn is the plots' convex hull buffered
  by :data:`PROJECT_AREA_BUFFER_M`, and its legend entry says so (it is no administrative line).
- :func:`vintage_chart`: credited t CO2e per vintage with its 90 % interval as error bars, the
  removals beside it.
- :func:`sampling_map`: the soil sampling points over the plots, coloured by stratum.

Chinese text needs a CJK font: :func:`cjk_font` looks for one with :mod:`matplotlib.font_manager`
(Noto Sans/Serif CJK SC, Source Han, WenQuanYi, SimHei, ...). Where none is installed, every label
is the English one and Chinese data strings (county, strata) are replaced by ASCII ones, so no
figure shows tofu boxes (the documents' captions stay bilingual). No network is used.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: documents are rendered on servers and in CI

import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import Normalize, TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import Formatter, MaxNLocator, StrMethodFormatter  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402

log = logging.getLogger(__name__)

__all__ = [
    "FIGURE_BUILDERS",
    "PROJECT_AREA_BUFFER_M",
    "cjk_font",
    "location_map",
    "render_figure",
    "sampling_map",
    "vintage_chart",
]

PROJECT_AREA_BUFFER_M = 500.0
"""Buffer [m] around the plots' convex hull drawn as the project-area outline."""

RENDER_LOCK = threading.Lock()
"""rcParams are global: one figure is built and saved at a time (a server may render concurrently)."""

DPI = 200
"""Resolution of the PNG files: 200 dpi at 16 cm wide is print quality for A4."""

_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Serif SC",
    "Noto Sans SC",
    "Noto Serif SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "SimSun",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Droid Sans Fallback",
)
"""CJK font families tried, most preferred first (Simplified Chinese faces before others)."""

_CJK_FILE_HINT = re.compile(
    r"cjk|wqy|wenquanyi|simhei|simsun|msyh|sourcehan|droidsansfallback|uming|ukai", re.I
)
_PROBE = "项目核证减排量图例"

_COUNTY_EN = {"梨树县": "Lishu County"}
"""English names of counties the figures may label when no CJK font is installed."""


# --- fonts ---------------------------------------------------------------------------------------


def _covers_chinese(path: str) -> bool:
    try:
        from matplotlib.ft2font import FT2Font

        font = FT2Font(path)
        return all(font.get_char_index(ord(ch)) for ch in _PROBE)
    except Exception:  # an unreadable font file is simply not a candidate
        return False


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font that draws Chinese, or ``None`` (then the figures
    use English labels only). Fonts installed after matplotlib built its font cache are found by
    scanning the system font folders for CJK-looking file names."""
    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in by_name and _covers_chinese(by_name[family]):
            return family
    # matplotlib's cache may predate the font's installation: add CJK-looking files by hand
    try:
        files = font_manager.findSystemFonts()
    except Exception:  # pragma: no cover - fc-list missing or broken
        files = []
    added = []
    for path in sorted(files):
        if _CJK_FILE_HINT.search(Path(path).name) and _covers_chinese(path):
            try:
                font_manager.fontManager.addfont(path)
                added.append(path)
            except Exception:  # pragma: no cover - a file matplotlib cannot parse
                continue
    if added:
        names = {f.name for f in font_manager.fontManager.ttflist if f.fname in added}
        for family in _CJK_FAMILIES:
            if family in names:
                return family
        return sorted(names)[0]
    log.info("no CJK font installed: figure labels are in English only")
    return None


def _t(zh: str, en: str) -> str:
    """A figure label: Chinese where a CJK font exists, else English (no tofu)."""
    return zh if cjk_font() else en


def _safe(text: Any, fallback: str) -> str:
    """``text`` if it can be drawn (ASCII, or a CJK font exists), else ``fallback``."""
    s = "" if text is None else str(text)
    if cjk_font() or s.isascii():
        return s
    return fallback


def _style() -> dict[str, Any]:
    family = cjk_font()
    # DejaVu Sans after the CJK face: matplotlib falls back per glyph to it (minus, subscripts)
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    return {
        "font.family": "sans-serif",
        "font.sans-serif": fonts,
        "axes.unicode_minus": False,
        "font.size": 9,
        "axes.titlesize": 10,
        "savefig.dpi": DPI,
    }


# --- geometry helpers ----------------------------------------------------------------------------


def _gdf(fc: Mapping[str, Any] | None):
    """A GeoDataFrame in EPSG:4326 from a GeoJSON FeatureCollection (empty for None)."""
    import geopandas as gpd

    features = list((fc or {}).get("features") or [])
    if not features:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    return gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]


def _as_points(plots) -> bool:
    """The plots came as points (a large project, :data:`~mrv_service.documents.content.MAP_OUTLINES_MAX`)."""
    return len(plots) > 0 and bool((plots.geom_type == "Point").all())


def _dot_size(n: int) -> float:
    """Marker area [pt^2] of a plot drawn as a point: smaller as plots get many."""
    return float(np.clip(20_000 / n, 0.05, 2.0))


def _nice_length(target: float) -> float:
    """The largest 1/2/5 x 10^k not above ``target`` (> 0)."""
    exp = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * exp <= target:
            return m * exp
    return exp


def _fmt_km(metres: float) -> str:
    if metres >= 1000:
        km = metres / 1000
        return f"{km:g} km"
    return f"{metres:g} m"


def _add_scale_bar(ax, utm_crs, *, fraction: float = 0.3) -> list:
    """A two-segment scale bar in the lower left of a lon/lat axes, its length a round number of
    metres measured in ``utm_crs`` (the true distance along the parallel at the bar). Returns the
    artists added."""
    from pyproj import Transformer

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lon0 = x0 + 0.05 * (x1 - x0)
    lat0 = y0 + 0.06 * (y1 - y0)
    to_utm = Transformer.from_crs("EPSG:4326", utm_crs, always_xy=True)
    to_ll = Transformer.from_crs(utm_crs, "EPSG:4326", always_xy=True)
    ex0, ny0 = to_utm.transform(lon0, lat0)
    ex1, _ = to_utm.transform(x1, lat0)
    length_m = _nice_length(max(fraction * (ex1 - ex0) / 0.95, 1.0))
    half_lon, _ = to_ll.transform(ex0 + length_m / 2, ny0)
    end_lon, _ = to_ll.transform(ex0 + length_m, ny0)
    h = 0.012 * (y1 - y0)
    artists = [
        ax.add_patch(Rectangle((lon0, lat0), half_lon - lon0, h, fc="black", ec="black", lw=0.6, zorder=6)),
        ax.add_patch(
            Rectangle((half_lon, lat0), end_lon - half_lon, h, fc="white", ec="black", lw=0.6, zorder=6)
        ),
    ]
    ty = lat0 + 1.8 * h
    unit = 1000.0 if length_m >= 1000 else 1.0
    for lon, label in ((lon0, "0"), (half_lon, f"{length_m / 2 / unit:g}"), (end_lon, _fmt_km(length_m))):
        artists.append(ax.text(lon, ty, label, ha="center", va="bottom", fontsize=7, zorder=6))
    artists.append(
        ax.text(
            lon0,
            lat0 - 1.2 * h,
            _t(f"比例尺（{utm_crs.name}）", f"scale ({utm_crs.name})"),
            ha="left",
            va="top",
            fontsize=6,
            color="0.3",
            zorder=6,
        )
    )
    return artists


def _add_north_arrow(ax) -> list:
    arrow = ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.84),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9, "headlength": 8},
        zorder=7,
    )
    return [arrow]


class _DegreeFormatter(Formatter):
    """Tick labels ``124.35°E`` / ``43.40°N`` with as many decimals as the tick step needs."""

    def __init__(self, positive: str, negative: str):
        self.positive, self.negative = positive, negative
        self.decimals = 2

    def format_ticks(self, values):
        steps = np.diff(np.asarray(values, dtype=float))
        steps = steps[steps > 0]
        if steps.size:
            self.decimals = max(0, -math.floor(math.log10(float(steps.min())) + 1e-9))
        return [self(v, i) for i, v in enumerate(values)]

    def __call__(self, x, pos=None):
        hemi = self.positive if x >= 0 else self.negative
        return f"{abs(x):.{self.decimals}f}°{hemi}"


def _lonlat_axes(ax) -> None:
    for axis, pos, neg in ((ax.xaxis, "E", "W"), (ax.yaxis, "N", "S")):
        axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
        axis.set_major_formatter(_DegreeFormatter(pos, neg))
    ax.tick_params(labelsize=7)
    ax.set_xlabel(_t("经度", "Longitude"))
    ax.set_ylabel(_t("纬度", "Latitude"))


def _extent(gdfs: Sequence, pad: float = 0.08) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """(xlim, ylim) around the union of ``gdfs``' bounds plus ``pad`` of their size, with extra
    room at the bottom for the scale bar; None when all are empty."""
    bounds = np.array([g.total_bounds for g in gdfs if len(g)])
    if not len(bounds):
        return None
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    dx = max(maxx - minx, 1e-3) * pad
    dy = max(maxy - miny, 1e-3) * pad
    return (minx - dx, maxx + dx), (miny - 2.5 * dy, maxy + dy)


def _map_figure(extent, *, map_width: float, extra_height: float) -> tuple[Figure, Any]:
    """A figure 6.4 in wide whose height follows the map's shape (4326 drawn at 1/cos(lat))."""
    if extent is None:
        fig = Figure(figsize=(6.4, 4.0))
        return fig, fig.add_subplot()
    (x0, x1), (y0, y1) = extent
    stretch = 1 / math.cos(math.radians((y0 + y1) / 2))
    ratio = (y1 - y0) * stretch / (x1 - x0)
    height = float(np.clip(map_width * ratio, 2.6, 5.0)) + extra_height
    fig = Figure(figsize=(6.4, height))
    ax = fig.add_subplot()
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(stretch)
    return fig, ax


def _no_data(fig: Figure, ax, text: str) -> Figure:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="0.3")
    ax.set_axis_off()
    return fig


def _project_area(plots, utm_crs):
    """The plots' convex hull buffered by :data:`PROJECT_AREA_BUFFER_M`, in EPSG:4326."""
    import geopandas as gpd

    hull = plots.to_crs(utm_crs).geometry.union_all().convex_hull.buffer(PROJECT_AREA_BUFFER_M)
    return gpd.GeoSeries([hull], crs=utm_crs).to_crs("EPSG:4326")


# --- figures ---------------------------------------------------------------------------------------


def _legend_below(ax, handles, *, title: str | None = None, ncol: int = 1):
    """A legend under the axes' x label (offset in points, whatever the axes' height)."""
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-34, units="points")
    return ax.legend(
        handles=handles,
        title=title,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=below,
        ncol=ncol,
        fontsize=7,
        title_fontsize=7,
        frameon=False,
    )


def location_map(data: Mapping[str, Any]) -> Figure:
    """The project location map: plots coloured by credited t CO2e over the project area."""
    plots = _gdf(data.get("plots_geojson"))
    county = data.get("county")
    county_label = _safe(county, _COUNTY_EN.get(str(county), "")) if county else ""
    title = _t("项目地理位置与地块核证减排量", "Project location and credited removals per plot")
    if county_label:
        title += f"（{county_label}）" if cjk_font() else f" ({county_label})"
    with matplotlib.rc_context(_style()):
        if plots.empty:
            fig, ax = _map_figure(None, map_width=0, extra_height=0)
            ax.set_title(title)
            return _no_data(fig, ax, _t("无地块数据", "no plot data"))
        utm = plots.estimate_utm_crs()
        area = _project_area(plots, utm)
        fig, ax = _map_figure(_extent([area]), map_width=4.6, extra_height=1.9)
        ax.set_title(title)
        area.plot(ax=ax, facecolor="#f3f1e7", edgecolor="#555555", linewidth=1.0, linestyle="--", zorder=1)

        if "credited_t_co2e" in plots:
            values = np.asarray(_to_float(plots["credited_t_co2e"]), dtype=float)
        else:
            values = np.full(len(plots), np.nan)
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if lo < 0 < hi:
            norm, cmap = TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi), matplotlib.colormaps["RdYlGn"]
        elif hi <= 0 and lo < 0:
            norm, cmap = Normalize(vmin=lo, vmax=0.0), matplotlib.colormaps["Reds_r"]
        else:
            norm, cmap = Normalize(vmin=0.0, vmax=hi if hi > 0 else 1.0), matplotlib.colormaps["YlGn"]
        missing = (0.75, 0.75, 0.75, 1.0)
        colours = np.where(np.isfinite(values)[:, None], cmap(norm(np.nan_to_num(values))), missing)
        if _as_points(plots):  # many plots: a point on each (content.MAP_OUTLINES_MAX)
            ax.scatter(plots.geometry.x, plots.geometry.y, s=_dot_size(len(plots)), c=colours, lw=0, zorder=2)
        else:
            # edges thin out as plots get many, so small plots keep their colour
            edge = 0.3 if len(plots) < 200 else 0.15
            plots.plot(ax=ax, color=colours, edgecolor="#333333", linewidth=edge, zorder=2)
        _lonlat_axes(ax)

        cbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7, pad=0.03)
        cbar.set_label(_t("地块核证减排量（t CO$_2$e）", "Credited removals per plot (t CO$_2$e)"))
        cbar.ax.tick_params(labelsize=7)

        handles = [
            Patch(
                facecolor="#f3f1e7",
                edgecolor="#555555",
                linestyle="--",
                label=_t(
                    f"项目区范围：地块凸包外扩 {PROJECT_AREA_BUFFER_M:g} m（示意，非行政边界）",
                    f"Project area: plots' convex hull + {PROJECT_AREA_BUFFER_M:g} m (not an admin. boundary)",
                ),
            ),
            Patch(
                facecolor=cmap(0.7),
                edgecolor="#333333",
                label=_t(f"项目地块（{len(plots)} 块）", f"Project plots ({len(plots)})")
                + (_t("，每块以一点表示", ", one point each") if _as_points(plots) else ""),
            ),
        ]
        n_missing = int((~np.isfinite(values)).sum())
        if n_missing:
            handles.append(
                Patch(
                    facecolor=missing,
                    edgecolor="#333333",
                    label=_t(f"无核证值地块（{n_missing} 块）", f"Plots not credited ({n_missing})"),
                )
            )
        _legend_below(ax, handles)
        _add_scale_bar(ax, utm)
        _add_north_arrow(ax)
        fig.tight_layout()
    return fig


def _to_float(series) -> np.ndarray:
    """A column as floats, None and non-numbers as NaN."""
    import pandas as pd

    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _floats(values: Sequence[Any] | None, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    for i, v in enumerate(list(values or [])[:n]):
        try:
            out[i] = float(v) if v is not None else np.nan
        except (TypeError, ValueError):
            out[i] = np.nan
    return out


def vintage_chart(data: Mapping[str, Any]) -> Figure:
    """Credited t CO2e per vintage with the 90 % interval as error bars, and the removals."""
    years = [str(y) for y in data.get("years") or []]
    n = len(years)
    credited = _floats(data.get("credited"), n)
    low = _floats(data.get("ci90_low"), n)
    high = _floats(data.get("ci90_high"), n)
    removals = _floats(data.get("removals"), n)
    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=(6.4, 3.8))
        ax = fig.add_subplot()
        ax.set_title(_t("各年度核证减排量与项目清除量", "Credited removals and project removals per vintage"))
        if not n:
            return _no_data(fig, ax, _t("无年度数据", "no vintage data"))
        x = np.arange(n)
        w = 0.38
        yerr = np.vstack([np.clip(credited - low, 0, None), np.clip(high - credited, 0, None)])
        yerr = np.where(np.isfinite(yerr), yerr, 0.0)
        ax.bar(
            x - w / 2,
            credited,
            w,
            color="#31a354",
            edgecolor="#006d2c",
            yerr=yerr,
            capsize=4,
            error_kw={"elinewidth": 1.0, "ecolor": "black"},
            label=_t("核证减排量（误差线：90% 置信区间）", "Credited (error bars: 90% interval)"),
        )
        ax.bar(
            x + w / 2, removals, w, color="#9ecae1", edgecolor="#3182bd", label=_t("项目清除量", "Removals")
        )
        fs = 7 if n <= 6 else 6
        for xi, v, top in zip(x - w / 2, credited, credited + yerr[1], strict=True):
            if np.isfinite(v):  # above the error bar's cap, where it cannot overlap it
                ax.annotate(
                    f"{v:,.0f}",
                    (xi, max(top, v, 0)),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=fs,
                )
        for xi, v in zip(x + w / 2, removals, strict=True):
            if np.isfinite(v):
                ax.annotate(
                    f"{v:,.0f}",
                    (xi, max(v, 0)),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=fs,
                )
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks(x, years)
        ax.set_xlabel(_t("年度（vintage）", "Vintage"))
        ax.set_ylabel("t CO$_2$e")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        top = np.nanmax(np.concatenate([credited + yerr[1], removals, [0.0]]))
        if np.isfinite(top) and top > 0:
            ax.set_ylim(top=top * 1.22)
        ax.legend(loc="upper left", fontsize=7)
        ax.grid(axis="y", color="0.9")
        ax.set_axisbelow(True)
        fig.tight_layout()
    return fig


def sampling_map(data: Mapping[str, Any]) -> Figure:
    """The soil sampling points over the plots, both coloured by stratum."""
    points = _gdf(data.get("points_geojson"))
    plots = _gdf(data.get("plots_geojson"))
    title = _t("土壤采样点与分层", "Soil sampling points and strata")
    with matplotlib.rc_context(_style()):
        if points.empty and plots.empty:
            fig, ax = _map_figure(None, map_width=0, extra_height=0)
            ax.set_title(title)
            return _no_data(fig, ax, _t("无采样数据", "no sampling data"))
        labels: list[str] = []
        for g in (points, plots):
            if "stratum" in g:
                labels += [str(v) for v in g["stratum"].dropna().unique()]
        strata = sorted(set(labels))
        fig, ax = _map_figure(
            _extent([plots, points]),
            map_width=5.2,
            extra_height=1.3 + 0.16 * math.ceil(max(len(strata), 1) / 2),
        )
        ax.set_title(title)
        names = {s: _safe(s, f"stratum {i + 1}") for i, s in enumerate(strata)}
        cmap = matplotlib.colormaps["tab10" if len(strata) <= 10 else "tab20"]
        colour = {s: cmap(i % cmap.N) for i, s in enumerate(strata)}
        if not plots.empty:
            if "stratum" in plots:
                fill = [
                    (*colour[str(v)][:3], 0.35) if str(v) in colour else (0.85, 0.85, 0.85, 1)
                    for v in plots["stratum"]
                ]
            else:
                fill = [(0.85, 0.85, 0.82, 1.0)] * len(plots)
            if _as_points(plots):
                ax.scatter(
                    plots.geometry.x, plots.geometry.y, s=_dot_size(len(plots)), c=fill, lw=0, zorder=1
                )
            else:
                plots.plot(ax=ax, color=fill, edgecolor="#666666", linewidth=0.25, zorder=1)
        size = float(np.clip(3000 / max(len(points), 1), 4, 22))
        point_strata = points["stratum"].astype(str) if "stratum" in points else None
        handles = []
        if point_strata is not None and strata:
            for s in strata:
                sel = points[point_strata == s]
                if len(sel):
                    ax.scatter(
                        sel.geometry.x,
                        sel.geometry.y,
                        s=size,
                        color=colour[s],
                        edgecolor="black",
                        linewidth=0.4,
                        zorder=3,
                    )
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker="o",
                        ls="",
                        color=colour[s],
                        markeredgecolor="black",
                        label=f"{names[s]} (n={len(sel)})",
                    )
                )
        elif not points.empty:
            ax.scatter(
                points.geometry.x,
                points.geometry.y,
                s=size,
                color="#d62728",
                edgecolor="black",
                linewidth=0.4,
                zorder=3,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="",
                    color="#d62728",
                    markeredgecolor="black",
                    label=_t(f"采样点（{len(points)} 个）", f"Sampling points ({len(points)})"),
                )
            )
        _lonlat_axes(ax)
        if handles:
            _legend_below(
                ax,
                handles,
                title=_t("分层（采样点数）", "Stratum (points)"),
                ncol=2 if len(handles) > 2 else 1,
            )
        ref = plots if len(plots) else points
        _add_scale_bar(ax, ref.estimate_utm_crs())
        _add_north_arrow(ax)
        fig.tight_layout()
    return fig


FIGURE_BUILDERS = {"location_map": location_map, "vintage_chart": vintage_chart, "sampling_map": sampling_map}
"""The figure builders by the ``kind`` of a document's figure block."""


def render_figure(kind: str, data: Mapping[str, Any], path: Path) -> Path:
    """Build the figure ``kind`` from ``data`` and write it as PNG at ``path``."""
    try:
        builder = FIGURE_BUILDERS[kind]
    except KeyError:
        raise ValueError(f"unknown figure kind {kind!r}: one of {sorted(FIGURE_BUILDERS)}") from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with RENDER_LOCK:
        fig = builder(data)
        with matplotlib.rc_context(_style()):
            fig.savefig(
                path,
                dpi=DPI,
                format="png",
                facecolor="white",
                bbox_inches="tight",
                pad_inches=0.08,
                metadata={"Software": None},
            )
    return path
