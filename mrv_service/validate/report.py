"""``validation.json`` and ``validation.html``: what ``mrv validate`` writes.

* ``validation.json``: the settings, the calibration (sites, held-out sites, default and calibrated
  parameters, the grid searched), the statistics per split (``calibration``, ``held_out``,
  ``all``), kind (``change``, ``difference``) and practice category, in t C ha-1 and as rates in
  t C ha-1 yr-1, the prediction error of a practice effect and the validated rate range per
  category, every comparison, every site (control, pairs, skipped treatments, notes) and the
  skipped sites with their reasons. NaN is written as null.
* ``validation.html``: one self-contained page (no script, no network): the headline, the tables,
  and an observed-vs-modelled plot per category as inline SVG (:mod:`mrv_service.validate.svgplot`).
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.validation.experiment import FREE_PARAMETERS
from models.validation.rates import MIN_RATE_YEARS, RANGE_QUANTILES
from mrv_service.validate.pipeline import ValidationResult
from mrv_service.validate.svgplot import scatter_svg

__all__ = ["REPORT_VERSION", "headline_line", "report_dict", "write_report"]

REPORT_VERSION = 1
"""Version of the ``validation.json`` layout."""

_STAT_COLUMNS = (
    "split",
    "kind",
    "category",
    "n",
    "n_sites",
    "bias",
    "rmse",
    "coverage",
    "coverage_with_measurement",
    "pmu",
    "vmd0053_bias_pass",
    "vmd0053_coverage_pass",
)


def _clean(x: Any) -> Any:
    """JSON-safe values: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if not math.isfinite(v) else v
    if x is None or isinstance(x, str):
        return x
    if hasattr(x, "items"):
        return {str(k): _clean(v) for k, v in x.items()}
    return str(x)


def _records(df: pd.DataFrame, columns: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    if columns is not None:
        df = df[[c for c in columns if c in df.columns]]
    return [_clean(r) for r in df.to_dict(orient="records")]


def headline_line(result: ValidationResult) -> str:
    """The last line ``mrv validate`` prints (held-out paired differences, all categories)."""
    h = result.headline()
    n = int(h.get("n") or 0)
    if n == 0:
        return "validation: 0 comparisons, bias n/a t C/ha, RMSE n/a t C/ha, 90% interval coverage n/a%"
    cov = h.get("coverage")
    cov_s = "n/a" if cov is None or not math.isfinite(cov) else f"{100.0 * cov:.1f}"
    return (
        f"validation: {n} comparisons, bias {h['bias']:.2f} t C/ha, RMSE {h['rmse']:.2f} t C/ha, "
        f"90% interval coverage {cov_s}%"
    )


def _site_entry(s: Any, split: str, scales: dict[str, float]) -> dict[str, Any]:
    return {
        "split": split,
        "start_year": s.start_year,
        "end_year": s.end_year,
        "latitude": s.data.info.latitude,
        "clay_pct": s.inputs.clay_pct,
        "depth_cm": s.inputs.depth_cm,
        "control": s.inputs.control,
        "treatments": sorted(s.records),
        "input_scale": scales,
        "pairs": [dataclasses.asdict(p) for p in s.pairs],
        "confounded": [{"a": a, "b": b, "categories": list(c)} for a, b, c in s.confounded],
        "skipped_treatments": dict(s.skipped_treatments),
        "weather_months_filled": dict(s.weather_filled),
        "notes": list(s.notes),
    }


def report_dict(result: ValidationResult, command: str = "") -> dict[str, Any]:
    """The content of ``validation.json``."""
    used = {k: getattr(result.params_used, k) for k in FREE_PARAMETERS}
    default = {k: getattr(result.params_default, k) for k in FREE_PARAMETERS}
    table = result.calibration_table
    calibration = {
        "sites": result.calibration,
        "held_out": result.held_out,
        "subset_rule": result.settings.get("calibration"),
        "objective": "RMSE [t C ha-1] of the paired differences of categories "
        + ", ".join(result.settings.get("calibration_categories", []))
        + " at the calibration sites",
        "parameters_default": default,
        "parameters_calibrated": used if result.calibration else None,
        "ranges": {k: list(result.params_default.ranges[k]) for k in FREE_PARAMETERS},
        "grid_points": 0 if table is None else int(len(table)),
        "grid_rmse_min_max": None
        if table is None
        else [float(table["rmse"].min()), float(table["rmse"].max())],
        "grid_best": _records(table.sort_values("rmse").head(10)) if table is not None else [],
    }
    skipped_treatments = {s.name: dict(s.skipped_treatments) for s in result.sites if s.skipped_treatments}
    out = {
        "report_version": REPORT_VERSION,
        "command": command,
        "created": result.settings.get("created"),
        "sites_dir": result.settings.get("sites_dir"),
        "settings": result.settings,
        "headline": {**result.headline(), "line": headline_line(result)},
        "calibration_sites": result.calibration,
        "held_out_sites": result.held_out,
        "calibrated_parameters": used,
        "calibration": calibration,
        "units": {
            "statistics": "t C ha-1 (bias, rmse, pmu); coverage as a fraction",
            "statistics_rate": "t C ha-1 yr-1 (bias, rmse, pmu); coverage as a fraction",
            "comparisons": "t C ha-1 (observed, modelled, lower, upper, median, sd_observed), years since the start",
        },
        "statistics": _records(result.statistics, _STAT_COLUMNS),
        "statistics_rate": _records(result.rate_statistics, _STAT_COLUMNS),
        "prediction_error_rate": {
            **result.prediction_error,
            "units": "t C ha-1 yr-1",
            "source": f"sd of modelled minus observed paired-difference rates at the held-out sites, "
            f">= {MIN_RATE_YEARS} years after the start",
        },
        "validated_rate_range": {
            "by_category": dict(result.rate_range),
            "units": "t C ha-1 yr-1",
            "source": f"{RANGE_QUANTILES[0]:.0%}-{RANGE_QUANTILES[1]:.0%} quantiles of the observed paired-difference "
            f"rates of every site, >= {MIN_RATE_YEARS} years after the start",
        },
        "comparisons": _records(result.comparisons),
        "sites": {
            s.name: _site_entry(
                s,
                "calibration" if s.name in result.calibration else "held_out",
                result.input_scales.get(s.name, {}),
            )
            for s in result.sites
        },
        "skipped_sites": result.skipped_sites,
        "skipped_treatments": skipped_treatments,
    }
    return _clean(out)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.pass{color:#1a7f37}.fail{color:#b42318}.plots{display:flex;flex-wrap:wrap;gap:12px}
code{background:#f5f5f5;padding:1px 4px}
"""


def _fmt(v: Any, digits: int = 2, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return '<span class="pass">pass</span>' if v else '<span class="fail">fail</span>'
    if pct:
        return f"{100.0 * float(v):.0f}%"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{float(v):.{digits}f}"


def _stats_table(rows: list[dict[str, Any]], unit: str) -> str:
    head = (
        "<tr><th class=l>split</th><th class=l>kind</th><th class=l>category</th><th>n</th><th>sites</th>"
        f"<th>bias [{unit}]</th><th>RMSE [{unit}]</th><th>90% coverage</th><th>coverage incl. meas.</th>"
        f"<th>PMU [{unit}]</th><th>bias test</th></tr>"
    )
    body = []
    for r in rows:
        body.append(
            f"<tr><td class=l>{html.escape(str(r['split']))}</td><td class=l>{html.escape(str(r['kind']))}</td>"
            f"<td class=l>{html.escape(str(r['category']))}</td><td>{_fmt(r['n'])}</td><td>{_fmt(r['n_sites'])}</td>"
            f"<td>{_fmt(r['bias'])}</td><td>{_fmt(r['rmse'])}</td><td>{_fmt(r['coverage'], pct=True)}</td>"
            f"<td>{_fmt(r['coverage_with_measurement'], pct=True)}</td><td>{_fmt(r['pmu'])}</td>"
            f"<td>{_fmt(r['vmd0053_bias_pass'])}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _plots(df: pd.DataFrame, unit: str) -> str:
    if df.empty:
        return "<p>No comparisons.</p>"
    out = []
    for cat in sorted(df["category"].unique()):
        g = df[df["category"] == cat]
        kind = "change" if cat == "change" else "difference"
        title = f"{cat} ({kind}, n={len(g)})"
        out.append(
            scatter_svg(
                g["observed"].to_numpy(float),
                g["modelled"].to_numpy(float),
                g["lower"].to_numpy(float),
                g["upper"].to_numpy(float),
                (g["split"] == "held_out").to_numpy(),
                title=title,
                unit=unit,
            )
        )
    return '<div class="plots">' + "".join(out) + "</div>"


def _html(result: ValidationResult, rep: dict[str, Any]) -> str:
    cal = rep["calibration"]
    params = "".join(
        f"<tr><td class=l>{k}</td><td>{_fmt(cal['parameters_default'][k], 3)}</td>"
        f"<td>{_fmt((cal['parameters_calibrated'] or {}).get(k), 3)}</td>"
        f"<td>{cal['ranges'][k][0]:g}-{cal['ranges'][k][1]:g}</td></tr>"
        for k in FREE_PARAMETERS
    )
    pe = rep["prediction_error_rate"]
    rr = rep["validated_rate_range"]["by_category"]
    cats = sorted(set(pe["by_category"]) | set(rr) - {"overall"})
    pe_rows = "".join(
        f"<tr><td class=l>{html.escape(c)}</td><td>{_fmt((pe['by_category'].get(c) or {}).get('n'))}</td>"
        f"<td>{_fmt((pe['by_category'].get(c) or {}).get('sd'), 3)}</td>"
        f"<td>{_fmt((rr.get(c) or {}).get('n'))}</td>"
        f"<td>{_fmt(((rr.get(c) or {}).get('observed_range') or [None, None])[0], 3)} to "
        f"{_fmt(((rr.get(c) or {}).get('observed_range') or [None, None])[1], 3)}</td></tr>"
        for c in cats
    )
    pe_rows += f"<tr><th class=l>pooled</th><td>{_fmt(pe['pooled']['n'])}</td><td>{_fmt(pe['pooled']['sd'], 3)}</td><td></td><td></td></tr>"
    skipped = "".join(
        f"<tr><td class=l>{html.escape(k)}</td><td class=l>{html.escape(v)}</td></tr>"
        for k, v in rep["skipped_sites"].items()
    )
    skipped_t = "".join(
        f"<tr><td class=l>{html.escape(site)}</td><td class=l>{html.escape(t)}</td><td class=l>{html.escape(r)}</td></tr>"
        for site, d in rep["skipped_treatments"].items()
        for t, r in d.items()
    )
    abs_rows = [r for r in rep["statistics"]]
    rate_rows = [r for r in rep["statistics_rate"]]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Soil-carbon model validation</title>
<style>{_CSS}</style></head><body>
<h1>Soil-carbon model validation (VMD0053 style)</h1>
<p><code>{html.escape(rep["command"] or "")}</code><br>created {html.escape(str(rep["created"]))},
sites from <code>{html.escape(str(rep["sites_dir"]))}</code>, {rep["settings"]["n_draws"]} Monte Carlo draws
(seed {rep["settings"]["seed"]}), measurement CV {rep["settings"]["measurement_cv"]:.0%}.</p>
<p><b>{html.escape(rep["headline"]["line"])}</b> (held-out paired differences)</p>
<h2>Calibration</h2>
<p>Calibration sites: {html.escape(", ".join(rep["calibration_sites"]) or "none")}.<br>
Held out: {html.escape(", ".join(rep["held_out_sites"]) or "none")}.<br>
Objective: {html.escape(cal["objective"])}; {cal["grid_points"]} grid points, RMSE
{_fmt((cal["grid_rmse_min_max"] or [None])[0], 3)} to {_fmt((cal["grid_rmse_min_max"] or [None, None])[-1], 3)} t C/ha.</p>
<table><tr><th class=l>parameter</th><th>default</th><th>calibrated</th><th>range</th></tr>{params}</table>
<h2>Statistics [t C/ha]</h2>
<p>change: a treatment's SOC change since the start; difference: the change of one treatment minus
that of its pair (the practice effect). Coverage: share of observations inside the model's 90 %
Monte Carlo interval; incl. meas.: the interval widened by the measurement sd. Bias test
(VMD0053): |bias| &le; PMU, the pooled measurement uncertainty.</p>
{_stats_table(abs_rows, "t C/ha")}
<h2>Statistics as rates [t C/ha/yr] (comparisons &ge; {MIN_RATE_YEARS} years after the start)</h2>
{_stats_table(rate_rows, "t C/ha/yr")}
<h2>Prediction error and validated range of practice effects [t C/ha/yr]</h2>
<table><tr><th class=l>category</th><th>n held out</th><th>prediction error (sd)</th><th>n all</th>
<th>observed range (5-95 %)</th></tr>{pe_rows}</table>
<h2>Observed vs modelled [t C/ha]</h2>
<p>Filled: held-out sites; open: calibration sites; whiskers: 90 % interval; line: 1:1.</p>
{_plots(result.comparisons, "t C/ha")}
<h2>Skipped sites</h2>
<table><tr><th class=l>site</th><th class=l>reason</th></tr>{skipped or "<tr><td class=l colspan=2>none</td></tr>"}</table>
<h2>Skipped treatments</h2>
<table><tr><th class=l>site</th><th class=l>treatment</th><th class=l>reason</th></tr>{skipped_t or "<tr><td class=l colspan=3>none</td></tr>"}</table>
</body></html>
"""


def write_report(result: ValidationResult, out_dir: Path, command: str = "") -> tuple[Path, Path]:
    """Write ``validation.json`` and ``validation.html`` into ``out_dir`` (created if absent).

    Returns
    -------
    tuple of pathlib.Path
        The two files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rep = report_dict(result, command)
    jpath = out_dir / "validation.json"
    hpath = out_dir / "validation.html"
    jpath.write_text(json.dumps(rep, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    hpath.write_text(_html(result, rep), encoding="utf-8")
    return jpath, hpath
