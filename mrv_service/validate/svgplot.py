"""A small observed-vs-modelled scatter plot as inline SVG (no plotting library, no network).

Used by :mod:`mrv_service.validate.report` so that ``validation.html`` is one self-contained file.
"""

from __future__ import annotations

import html
import math

import numpy as np

__all__ = ["scatter_svg"]

_W, _H = 340, 320
_L, _R, _T, _B = 52, 12, 28, 44


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    span = hi - lo
    raw = span / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    out = []
    v = start
    while v <= hi + 1e-9 * span:
        out.append(round(v, 10))
        v += step
    return out


def scatter_svg(
    observed: np.ndarray,
    modelled: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    filled: np.ndarray,
    *,
    title: str,
    unit: str,
) -> str:
    """Observed (x) against modelled (y) with the model's interval as vertical whiskers.

    Parameters
    ----------
    observed, modelled : numpy.ndarray
        Values [``unit``].
    lower, upper : numpy.ndarray
        The model's interval [``unit``] (NaN: no whisker).
    filled : numpy.ndarray of bool
        Filled marker (held-out site) or open (calibration site).
    title, unit : str
        Plot title and axis unit.

    Returns
    -------
    str
        An ``<svg>`` element with a 1:1 line.
    """
    x = np.asarray(observed, float)
    y = np.asarray(modelled, float)
    lo = np.asarray(lower, float)
    hi = np.asarray(upper, float)
    vals = np.concatenate([x, y, lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        vals = np.array([-1.0, 1.0])
    a, b = float(vals.min()), float(vals.max())
    if b - a < 1e-9:
        a, b = a - 1.0, b + 1.0
    pad = 0.05 * (b - a)
    a, b = a - pad, b + pad
    pw, ph = _W - _L - _R, _H - _T - _B

    def px(v: float) -> float:
        return _L + (v - a) / (b - a) * pw

    def py(v: float) -> float:
        return _T + ph - (v - a) / (b - a) * ph

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
        'font-family="sans-serif" font-size="10">',
        f'<text x="{_W / 2:.0f}" y="16" text-anchor="middle" font-size="12">{html.escape(title)}</text>',
        f'<rect x="{_L}" y="{_T}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    for t in _ticks(a, b):
        parts.append(
            f'<line x1="{px(t):.1f}" y1="{_T + ph}" x2="{px(t):.1f}" y2="{_T + ph + 4}" stroke="#666"/>'
        )
        parts.append(f'<text x="{px(t):.1f}" y="{_T + ph + 15}" text-anchor="middle">{t:g}</text>')
        parts.append(f'<line x1="{_L - 4}" y1="{py(t):.1f}" x2="{_L}" y2="{py(t):.1f}" stroke="#666"/>')
        parts.append(f'<text x="{_L - 6}" y="{py(t) + 3:.1f}" text-anchor="end">{t:g}</text>')
    parts.append(
        f'<line x1="{px(a):.1f}" y1="{py(a):.1f}" x2="{px(b):.1f}" y2="{py(b):.1f}" stroke="#888" stroke-dasharray="4 3"/>'
    )
    if a < 0 < b:
        parts.append(f'<line x1="{px(0):.1f}" y1="{_T}" x2="{px(0):.1f}" y2="{_T + ph}" stroke="#ddd"/>')
        parts.append(f'<line x1="{_L}" y1="{py(0):.1f}" x2="{_L + pw}" y2="{py(0):.1f}" stroke="#ddd"/>')
    for xi, yi, lo_i, hi_i, f in zip(x, y, lo, hi, np.asarray(filled, bool), strict=True):
        if not (math.isfinite(xi) and math.isfinite(yi)):
            continue
        if math.isfinite(lo_i) and math.isfinite(hi_i):
            parts.append(
                f'<line x1="{px(xi):.1f}" y1="{py(lo_i):.1f}" x2="{px(xi):.1f}" y2="{py(hi_i):.1f}" '
                'stroke="#4c78a8" stroke-opacity="0.35"/>'
            )
        fill = "#4c78a8" if f else "none"
        parts.append(
            f'<circle cx="{px(xi):.1f}" cy="{py(yi):.1f}" r="2.6" fill="{fill}" stroke="#4c78a8" fill-opacity="0.8"/>'
        )
    parts.append(
        f'<text x="{_L + pw / 2:.0f}" y="{_H - 8}" text-anchor="middle">observed [{html.escape(unit)}]</text>'
    )
    parts.append(
        f'<text x="12" y="{_T + ph / 2:.0f}" text-anchor="middle" transform="rotate(-90 12 {_T + ph / 2:.0f})">'
        f"modelled [{html.escape(unit)}]</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
