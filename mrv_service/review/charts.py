"""SVG charts of one plot and one project for the review pages (matplotlib, Agg).

Each function returns an SVG string to inline in a page: it starts with ``<svg`` (no XML prolog,
no DOCTYPE), is about 640 x 280 px (``width``/``height`` in px, with a ``viewBox`` so CSS may
scale it), carries ``class="chart chart-KIND"``, ``role="img"`` and a bilingual ``aria-label``,
and references nothing outside itself (no fonts, images or links; ``href`` only to its own
``#id`` definitions, SVG 2 style, so the only URI left is the SVG namespace).

- :func:`timeseries_svg`: a plot's NDVI and NDTI over time with the logged field operations and,
  per season, the logged against the detected practice;
- :func:`trajectory_svg`: a plot's soil SOC under the baseline and the project with the project's
  5-95 % band, and the surface litter C of both;
- :func:`credit_by_vintage_svg`: a project's removals per vintage with their 5-95 % interval and
  the net credited amount.

Text stays text (``svg.fonttype = "none"``), so the browser draws the Chinese labels with its own
fonts (a CSS font stack of common Simplified Chinese faces, :data:`CSS_FONT_STACK`); labels are
Chinese first, English after. The data groups carry classes a page or a test may select:
``series series-NAME`` (one line, band or set of bars each), ``activity activity-KIND`` (one
logged operation each), ``verdict verdict-STATUS`` (one season's practice each).

rcParams are set only inside :func:`matplotlib.rc_context` while a chart is drawn, under the lock
the document figures use (:data:`mrv_service.documents.figures.RENDER_LOCK`), as rc_context
restores the values it found on entry and two threads interleaving would leave one's settings.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator, StrMethodFormatter  # noqa: E402

from mrv_service.documents.figures import RENDER_LOCK, cjk_font  # noqa: E402

__all__ = [
    "CHART_SIZE_PX",
    "CSS_FONT_STACK",
    "ACTIVITY_STYLE",
    "timeseries_svg",
    "trajectory_svg",
    "credit_by_vintage_svg",
]

CHART_SIZE_PX: tuple[int, int] = (640, 280)
"""Width and height of every chart [px]."""

CSS_FONT_STACK = (
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', "
    "'WenQuanYi Micro Hei', 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif"
)
"""font-family of every text element: Simplified Chinese faces of Linux, macOS, Windows first."""

ACTIVITY_STYLE: Mapping[str, tuple[str, str, str]] = {
    "tillage": ("耕作", "tillage", "#8c510a"),
    "sowing": ("播种", "sowing", "#1b7837"),
    "harvest": ("收获", "harvest", "#d95f02"),
    "residue": ("秸秆处理", "residue", "#7570b3"),
}
"""Activities drawn on the time series: Chinese label, English label, line colour."""

_METHOD_ZH = {
    "plough": "翻耕",
    "rotary": "旋耕",
    "reduced": "少耕",
    "no_till": "免耕",
    "subsoiling": "深松",
    "removed": "离田",
    "burned": "焚烧",
    "retained": "还田",
    "mulched": "覆盖",
}
"""Short Chinese names of the canonical methods (:mod:`mrv_service.ingest.vocabularies`)."""

_PRACTICE_ZH = {"tillage": "耕作", "residue": "秸秆"}
_VERDICT_ZH = {"tilled": "翻旋耕", "conservation": "免少耕", "removed": "离田", "retained": "还田"}
_STATUS_STYLE = {  # mark, colour
    "verified": ("✓", "#1b7837"),
    "warning": ("!", "#d95f02"),
    "critical": ("×", "#c51b7d"),
    "unverifiable": ("?", "#777777"),
}
_CLUSTER_DAYS = 20
"""Logged operations closer than this [days] share one label (their lines are all drawn)."""

_DATE_FORMATS = ["%Y", "%m月", "%d日", "%H:%M", "%H:%M", "%S"]
_ZERO_FORMATS = ["", "%Y", "%m月", "%d日", "%H:%M", "%H:%M"]
"""Date ticks: years, then months as ``04月`` (the year at January and as the axis offset)."""

_NDVI_COLOUR, _NDTI_COLOUR = "#1b7837", "#8c510a"
_BASE_COLOUR, _PROJ_COLOUR = "#555555", "#1a9850"


# --- shared rendering ----------------------------------------------------------------------------


def _style(kind: str) -> dict[str, Any]:
    family = cjk_font()
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": f"mrv-chart-{kind}",  # deterministic ids, content-addressed
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
        "font.size": 10,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 10,
        "legend.fontsize": 8,
        "legend.frameon": False,
    }


def _render(kind: str, label: str, draw: Callable[[Figure], None]) -> str:
    """Draw with ``draw(fig)`` on a fresh figure and return the cleaned-up SVG (module notes)."""
    width, height = CHART_SIZE_PX
    buf = io.StringIO()
    with RENDER_LOCK, matplotlib.rc_context(_style(kind)), warnings.catch_warnings():
        # glyphs the server's fonts lack are only measured, never drawn: the browser draws them
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        fig = Figure(figsize=(width / 72, height / 72), dpi=72, layout="constrained")
        draw(fig)
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _clean(buf.getvalue(), kind, label)


_GROUP_CLASS = re.compile(r'<g id="((series|activity|verdict)-[^"]*)"')


def _clean(svg: str, kind: str, label: str) -> str:
    svg = svg[svg.index("<svg") :]
    svg = _GROUP_CLASS.sub(lambda m: f'<g class="{m.group(2)} {m.group(1).split("--")[0]}"', svg)
    svg = re.sub(r'<g id="[^"]*"', "<g", svg)  # matplotlib's group ids would repeat across charts
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace("xlink:href=", "href=")
    svg = re.sub(r"font-family: [^;\"]*", f"font-family: {CSS_FONT_STACK}", svg)
    width, height = CHART_SIZE_PX
    esc = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    svg = re.sub(
        r'^<svg width="[^"]*" height="[^"]*"',
        f'<svg class="chart chart-{kind}" role="img" aria-label="{esc}" width="{width}" height="{height}"',
        svg,
    )
    return svg.strip() + "\n"


def _gid(artist: Any, name: str, n: int | None = None) -> None:
    """Tag an artist for :func:`_clean`: ``series-ndvi`` -> ``class="series series-ndvi"``
    (``--n`` keeps the ids of several artists of one series apart until then)."""
    artist.set_gid(name if n is None else f"{name}--{n}")


def _no_data(ax: Any, zh: str, en: str) -> None:
    ax.text(0.5, 0.5, f"{zh} {en}", transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


# --- the plot's time series ------------------------------------------------------------------------


def _activity_rows(activities: pd.DataFrame | None) -> pd.DataFrame:
    if activities is None or len(activities) == 0:
        return pd.DataFrame({"date": pd.to_datetime([]), "activity": [], "method": []})
    a = activities.copy()
    a["date"] = pd.to_datetime(a["date"], errors="coerce")
    a["method"] = a["method"] if "method" in a else None
    a = a[a["activity"].isin(list(ACTIVITY_STYLE)) & a["date"].notna()]
    return a.sort_values("date").reset_index(drop=True)


def _draw_activities(ax: Any, acts: pd.DataFrame) -> None:
    label_ax = ax.get_xaxis_transform()
    group: list[int] = []
    groups = []
    for k, d in enumerate(acts["date"]):
        if group and (d - acts["date"][group[0]]).days > _CLUSTER_DAYS:
            groups.append(group)
            group = []
        group.append(k)
    groups += [group] if group else []
    for g in groups:
        words = []
        for k in g:
            row = acts.iloc[k]
            zh, _, colour = ACTIVITY_STYLE[row["activity"]]
            line = ax.axvline(row["date"], color=colour, lw=0.9, ls=(0, (3, 2)), alpha=0.9, zorder=1)
            _gid(line, f"activity-{row['activity']}", k)
            words.append(_METHOD_ZH.get(str(row["method"]), zh[:2]))
        text = "·".join(dict.fromkeys(words))
        ax.text(
            acts["date"][g[0]], 0.98, text, transform=label_ax, rotation=90, ha="right", va="top", fontsize=7
        )


def _draw_verdicts(band: Any, verdicts: pd.DataFrame) -> None:
    band.set_ylim(0, 1)
    band.axis("off")
    band.text(
        0.0,
        1.0,
        "记录 logged → 检测 detected",
        transform=band.transAxes,
        fontsize=7,
        va="bottom",
        color="0.3",
    )
    for year, rows in verdicts.sort_values(["year", "practice"]).groupby("year", sort=True):
        x = pd.Timestamp(int(year), 7, 1)
        for j, (_, r) in enumerate(rows.iterrows()):
            status = str(r["status"])
            mark, colour = _STATUS_STYLE.get(status, ("?", "#777777"))
            logged, detected = (_VERDICT_ZH.get(str(r[c]), str(r[c])) for c in ("logged", "detected"))
            text = f"{_PRACTICE_ZH.get(str(r['practice']), str(r['practice']))} {logged}"
            text += f" {mark}" if logged == detected or detected in ("", "nan") else f"→{detected} {mark}"
            t = band.text(x, 0.72 - 0.45 * j, text, ha="center", va="center", fontsize=7, color=colour)
            _gid(t, f"verdict-{status}", int(year) * 10 + j)


def timeseries_svg(
    series: pd.DataFrame, activities: pd.DataFrame | None, verdicts: pd.DataFrame | None = None
) -> str:
    """A plot's NDVI and NDTI over time, its logged operations and its practice verdicts.

    Parameters
    ----------
    series : pandas.DataFrame
        :func:`mrv_service.review.evidence.plot_series`: ``time``, ``ndvi``, ``ndti`` [1],
        ``usable``. Only usable dates are drawn (markers, joined by lines); NDVI on the left axis,
        NDTI on the right.
    activities : pandas.DataFrame or None
        The plot's logs: ``date``, ``activity``, ``method``; tillage, sowing, harvest and residue
        rows become dashed vertical lines coloured by activity (:data:`ACTIVITY_STYLE`), labelled
        at the top with the method in Chinese (operations within 20 days share a label).
    verdicts : pandas.DataFrame, optional
        ``practice_verdicts.csv`` rows of the plot: ``year``, ``practice``, ``logged``,
        ``detected``, ``status``; a band above the chart gives per season "logged → detected" and
        a mark (✓ verified, ! warning, × critical, ? unverifiable).

    Returns
    -------
    str
        SVG, ``class="chart chart-timeseries"``; groups ``series-ndvi``, ``series-ndti``,
        ``activity-*`` (one per operation), ``verdict-*`` (one per season and practice).
    """
    s = series[series["usable"].astype(bool)] if "usable" in series else series
    s = s.assign(time=pd.to_datetime(s["time"])).sort_values("time")
    acts = _activity_rows(activities)
    has_band = verdicts is not None and len(verdicts) > 0

    def draw(fig: Figure) -> None:
        if has_band:
            band, ax = fig.subplots(2, 1, sharex=True, height_ratios=[1, 5])
        else:
            ax, band = fig.subplots(), None
        if s.empty:
            _no_data(ax, "无可用影像", "no usable image")
            return
        (ndvi_line,) = ax.plot(s["time"], s["ndvi"], "-o", color=_NDVI_COLOUR, ms=3, lw=1)
        _gid(ndvi_line, "series-ndvi")
        ax.set_ylabel("植被指数 NDVI", color=_NDVI_COLOUR)
        ax.set_ylim(-0.1, 1.0)
        right = ax.twinx()
        right.spines["right"].set_visible(True)
        (ndti_line,) = right.plot(s["time"], s["ndti"], "-s", color=_NDTI_COLOUR, ms=2.5, lw=1)
        _gid(ndti_line, "series-ndti")
        right.set_ylabel("耕作指数 NDTI", color=_NDTI_COLOUR)
        _draw_activities(ax, acts)
        locator = AutoDateLocator(minticks=4, maxticks=12)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(
            ConciseDateFormatter(locator, formats=_DATE_FORMATS, zero_formats=_ZERO_FORMATS)
        )
        ax.grid(axis="y", color="0.92")
        handles = [
            Line2D([], [], color=_NDVI_COLOUR, marker="o", ms=3, label="植被指数 NDVI"),
            Line2D([], [], color=_NDTI_COLOUR, marker="s", ms=2.5, label="耕作指数 NDTI"),
        ]
        for act in dict.fromkeys(acts["activity"]):
            zh, en, colour = ACTIVITY_STYLE[act]
            handles.append(Line2D([], [], color=colour, ls=(0, (3, 2)), label=f"{zh} {en}"))
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
        if band is not None:
            _draw_verdicts(band, verdicts)

    return _render("timeseries", "植被指数与耕作指数时间序列 NDVI and NDTI time series", draw)


# --- the plot's SOC trajectory ---------------------------------------------------------------------


def trajectory_svg(traj: Any) -> str:
    """A plot's soil SOC and surface litter C under the baseline and the project [t C ha-1].

    Parameters
    ----------
    traj : xarray.Dataset
        :func:`mrv_service.review.evidence.plot_trajectory` (dimension ``year``).

    Returns
    -------
    str
        SVG, ``class="chart chart-trajectory"``: solid lines ``series-soc-baseline`` and
        ``series-soc-project``, the band ``series-band`` = ``soc_baseline + [delta_p5,
        delta_p95]`` (the project's 5-95 % over the Monte Carlo draws), dashed lines
        ``series-litter-baseline`` and ``series-litter-project``.
    """
    years = np.asarray(traj["year"].values, int)
    v = {name: np.asarray(traj[name].values, float) for name in traj.data_vars}

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        if years.size == 0:
            _no_data(ax, "无模拟结果", "no model results")
            return
        base = v["soc_baseline"]
        band = ax.fill_between(
            years,
            base + v["delta_p5"],
            base + v["delta_p95"],
            color=_PROJ_COLOUR,
            alpha=0.18,
            lw=0,
            label="项目 5-95% 区间 project 5-95 % band",
        )
        _gid(band, "series-band")
        lines = [
            ("soc_baseline", _BASE_COLOUR, "-", "基线 土壤有机碳 baseline SOC"),
            ("soc_project", _PROJ_COLOUR, "-", "项目 土壤有机碳 project SOC"),
            ("litter_baseline", _BASE_COLOUR, "--", "基线 地表残茬碳 baseline litter C"),
            ("litter_project", _PROJ_COLOUR, "--", "项目 地表残茬碳 project litter C"),
        ]
        # soil SOC on the left axis (scaled to its change, not from 0: a change of 0.5 t C/ha on
        # a stock of 45 would be invisible), surface litter on the right from 0
        litter_ax = ax.twinx()
        for name, colour, ls, label in lines:
            on = litter_ax if name.startswith("litter") else ax
            (line,) = on.plot(years, v[name], ls=ls, color=colour, marker="o", ms=2.5, lw=1.3, label=label)
            _gid(line, "series-" + name.replace("_", "-"))
        ax.set_ylabel("土壤有机碳 soil SOC (t C/ha)")
        litter_ax.set_ylabel("地表残茬碳 litter C (t C/ha)")
        litter_ax.set_ylim(
            bottom=0, top=max(1.0, float(np.nanmax([v["litter_baseline"], v["litter_project"]])) * 1.15)
        )
        ax.set_xlabel("年 year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", color="0.92")
        fig.legend(loc="outside lower center", ncol=3)

    return _render("trajectory", "土壤有机碳轨迹 SOC trajectory", draw)


# --- the project's credit per vintage --------------------------------------------------------------


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def credit_by_vintage_svg(vintages: Mapping[str, Mapping[str, Any]]) -> str:
    """A project's removals per vintage with their 5-95 % interval, and the net credited [t CO2e].

    Parameters
    ----------
    vintages : mapping
        ``summary.json`` ``accounting.vintages``: year (str) -> ``removals`` {``mean``, ``p5``,
        ``p95``}, ``net`` ... [t CO2e].

    Returns
    -------
    str
        SVG, ``class="chart chart-vintages"``: one bar per vintage (``series-removals``), their
        5-95 % error bars (``series-removals-interval``), diamonds of the net credited amount
        (``series-net``, after emissions, leakage, buffer and the uncertainty deduction).
    """
    years = sorted(vintages, key=lambda y: int(y))
    rem = [vintages[y].get("removals") or {} for y in years]
    mean = np.array([_num(r.get("mean")) for r in rem])
    p5 = np.array([_num(r.get("p5")) for r in rem])
    p95 = np.array([_num(r.get("p95")) for r in rem])
    net = np.array([_num(vintages[y].get("net")) for y in years])

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        if not years:
            _no_data(ax, "无年度数据", "no vintage data")
            return
        x = np.arange(len(years))
        bars = ax.bar(
            x, mean, 0.55, color="#a6dba0", edgecolor="#1b7837", label="清除量 removals (均值 mean)"
        )
        for k, patch in enumerate(bars.patches):
            _gid(patch, "series-removals", k)
        yerr = np.vstack([np.clip(mean - p5, 0, None), np.clip(p95 - mean, 0, None)])
        err = ax.errorbar(
            x,
            mean,
            yerr=np.nan_to_num(yerr),
            fmt="none",
            ecolor="black",
            elinewidth=1,
            capsize=4,
            label="5-95% 区间 5-95 % interval",
        )
        for k, coll in enumerate(err.lines[2]):
            _gid(coll, "series-removals-interval", k)
        (marks,) = ax.plot(x, net, "D", color="#c51b7d", ms=6, ls="none", label="净核证量 net credited")
        _gid(marks, "series-net")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks(x, years)
        ax.set_xlabel("年度 vintage")
        ax.set_ylabel("t CO2e")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.grid(axis="y", color="0.92")
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncol=3)

    return _render("vintages", "各年度清除量与净核证量 removals and net credit per vintage", draw)
