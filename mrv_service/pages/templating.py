"""Template filters of the pages: numbers with their digits, percentages, times, query links."""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from markupsafe import Markup, escape

__all__ = ["register_filters", "num", "pct", "when", "page_url", "inline_svg", "SVG_PRESENTATION_ATTRIBUTES"]

SVG_PRESENTATION_ATTRIBUTES = frozenset(
    {
        "clip-path", "clip-rule", "color", "display", "dominant-baseline", "fill", "fill-opacity",
        "fill-rule", "font-family", "font-size", "font-style", "font-variant", "font-weight",
        "letter-spacing", "marker-end", "marker-mid", "marker-start", "mask", "opacity", "paint-order",
        "shape-rendering", "stop-color", "stop-opacity", "stroke", "stroke-dasharray",
        "stroke-dashoffset", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-opacity",
        "stroke-width", "text-anchor", "text-decoration", "vector-effect", "visibility", "word-spacing",
        "alignment-baseline", "baseline-shift", "writing-mode",
    }
)  # fmt: skip
"""CSS properties that SVG also takes as attributes (SVG 2, section "Presentation attributes")."""

_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S)
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')


def _finite(value: Any) -> float | str | None:
    """``value`` as a finite float; its text when it is not a number; None when missing."""
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return x if math.isfinite(x) else None


def num(value: Any, digits: int = 1, signed: bool = False) -> str:
    """``value`` with ``digits`` decimals and thin thousands separators; "–" when missing."""
    x = _finite(value)
    if not isinstance(x, float):
        return "–" if x is None else x
    text = f"{x:+,.{digits}f}" if signed else f"{x:,.{digits}f}"
    return text.replace(",", "\u2009").replace("-", "\u2212")


def pct(value: Any, digits: int = 0) -> str:
    """A probability [0-1] as a percentage."""
    x = _finite(value)
    if not isinstance(x, float):
        return "–" if x is None else x
    return f"{100 * x:.{digits}f} %"


def when(value: Any) -> str:
    """A time as ``YYYY-MM-DD HH:MM`` UTC (stored times are UTC; SQLite drops the zone)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M") + " UTC"
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        return when(value.to_pydatetime())
    return str(value)


def page_url(**changes: Any) -> str:
    """The current page's path with some query arguments changed (None removes one; repeated
    arguments such as ``date`` are kept)."""
    args = request.args.copy()
    args.pop("lang", None)
    for key, value in changes.items():
        args.pop(key, None)
        if value is not None and value != "":
            args[key] = str(value)
    query = urlencode(list(args.items(multi=True)))
    return request.path + ("?" + query if query else "")


def _attributes(declarations: str) -> str:
    out = []
    for declaration in declarations.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name in SVG_PRESENTATION_ATTRIBUTES and value:
            out.append(f' {name}="{escape(value)}"')
    return "".join(out)


def inline_svg(svg: str) -> Markup:
    """A chart's SVG (:mod:`mrv_service.review.charts`, matplotlib) made fit to inline under the
    pages' Content-Security-Policy (``style-src 'self'``: no ``style`` attribute, no ``<style>``
    element): every ``style="a: b"`` becomes the presentation attribute ``a="b"`` (same look:
    SVG takes these properties as attributes), and matplotlib's one rule,
    ``*{stroke-linejoin: round; stroke-linecap: butt}``, becomes inherited attributes of the root.
    The SVG is trusted output of the service's own chart code (its text is escaped by it)."""
    root_defaults = ""
    for rule in _STYLE_ELEMENT.findall(svg):
        body = rule.strip()
        if body.startswith("*{") and body.endswith("}"):
            root_defaults += _attributes(body[2:-1])
    svg = _STYLE_ELEMENT.sub("", svg)
    svg = _STYLE_ATTRIBUTE.sub(lambda m: _attributes(html.unescape(m.group(1))), svg)
    if root_defaults:
        svg = svg.replace("<svg", "<svg" + root_defaults, 1)
    return Markup(svg)


def register_filters(app: Flask) -> None:
    from mrv_service.pages.auth import can

    app.jinja_env.filters.update(num=num, pct=pct, when=when)
    app.jinja_env.globals.update(page_url=page_url, can=can)
