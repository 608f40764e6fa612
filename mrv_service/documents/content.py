"""The content of the CCER documents as one traceable model (a dict), built from a finished run.

:func:`build_pdd` (项目设计文件, :mod:`~mrv_service.documents.pdd_content`) and
:func:`build_reduction_report` (减排量核算报告, :mod:`~mrv_service.documents.report_content`) read a
run's output directory once (:func:`read_run`, the only file reading here) and return the
document model that :func:`mrv_service.documents.render.write_documents` renders as DOCX and HTML
and :func:`write_json` writes as ``<name>.json``::

    {"kind": "pdd" | "reduction_report", "title_zh", "title_en", "generated_at", "run_id",
     "methodology": {"id", "version", "title", "ministry_issued"},
     "project": {"name", "name_zh", "construction_start", "region", "owner"},
     "crediting_period": {"start", "end"}, "accounting_period": {"start", "end"} (report),
     "vintages": [{"year", "period_start", "period_end", "credited_t_co2e", "ci90_low_t_co2e",
                   "ci90_high_t_co2e", "removals_t_co2e", "uncertainty_deduction_t_co2e",
                   "buffer_t_co2e", "emissions_t_co2e", "leakage_t_co2e", "u90"}],
     "plots": [{"plot_id", "farmer_hash", "area_ha", "baseline_practice", "project_practice",
                "credited_t_co2e"}],
     "sections": [{"id", "title_zh", "title_en", "blocks": [paragraph | heading | table | figure]}],
     "values": {key: {"value", "unit", "source": {"inputs", "parameter", "equation"}}},
     "annexes": {"unverified_items": [{"path", "status", "source"}],
                 "blockers": [{"rule", "status", "detail"}]},
     "figure_data": {"location_map": {...}, "vintage_chart": {...}, "sampling_map": {...}}}

Traceability: every table cell that holds a number (or text that reads as one, such as a year)
names its key in the table's ``value_keys``, and that key is in ``values`` with its source: the
input file and rows, the parameter, the equation. The cell holds exactly ``values[key]["value"]``
(a year is the text ``"2024"`` for the value 2024). Paragraphs quote no quantities; they stay in
tables. Identifiers (plot ids, hashed farmer ids, ISO dates) are text.

The construction start (开工日期) of a cropland practice project is taken as the crediting start:
the first season under the project practice (``ProjectInfo.crediting_start``); the documents say
so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from models.errors import MRVError

__all__ = [
    "DocumentContentError",
    "Num",
    "RunFiles",
    "build_pdd",
    "build_reduction_report",
    "default_accounting_period",
    "farmer_hash",
    "practice_zh",
    "read_run",
    "vintage_period",
    "write_json",
]

PDD_BASENAME = "pdd"
REPORT_BASENAME = "reduction_report"
RUN_DOCUMENTS = (PDD_BASENAME, REPORT_BASENAME)
"""The documents of a run, by file base name, in the order a run writes them; each can be built
on its own (:func:`mrv_service.documents.write_run_documents`, ``only``)."""

DOCUMENT_VERSION = "01"
"""Version of the generated documents' layout (the official template is not available)."""

TEMPLATE_NOTE = (
    "本文件依据《温室气体自愿减排交易管理办法（试行）》（2023）及《温室气体自愿减排项目审定与减排量核查实施规则》"
    "（CNCA-CCER-01:2023）的审定、核查事项编排；官方《温室气体自愿减排项目设计与实施指南》所附模板未能获取，"
    "章节结构待模板获取后调整（template version TBD）。"
)


class DocumentContentError(MRVError, ValueError):
    """A run directory cannot make a document (missing file or section); the message names the fix."""


# --- reading the run ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunFiles:
    """The files of a finished run that the documents read."""

    run_dir: Path
    summary: dict[str, Any]
    """``summary.json`` (or the summary being written, for a run still in progress)."""
    plot_results: pd.DataFrame
    """``plot_results.csv``: one row per plot."""
    verdict_counts: pd.DataFrame | None
    """``practice_verdicts.csv`` counted: one row per (practice, year, status) with its number of
    plot-seasons ``n`` (None when the verification stage never ran); see :func:`count_verdicts`."""
    manifest: dict[str, Any] | None
    """``run_manifest.json`` (None while the run is being written)."""


def read_run(run_dir: Path, summary: Mapping[str, Any] | None = None) -> RunFiles:
    """Read a run's output directory (the only file access of the document builders).

    ``summary``, when given, is used instead of ``summary.json`` (the runner builds the documents
    before it writes that file).

    Raises
    ------
    DocumentContentError
        When the directory holds no finished run with the accounting (the models stage).
    """
    run_dir = Path(run_dir)
    if summary is None:
        path = run_dir / "summary.json"
        if not path.is_file():
            raise DocumentContentError(
                f"{run_dir} holds no summary.json: not the output directory of a finished run; "
                "run `mrv run PROJECT` first, or give the run's --out directory"
            )
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DocumentContentError(
                f"{path} is not valid JSON ({exc}); run `mrv run PROJECT` again"
            ) from None
    if "accounting" not in summary:
        raise DocumentContentError(
            f"the run in {run_dir} has no accounting (its models stage never ran); run `mrv run PROJECT` "
            "with all stages"
        )
    results = run_dir / "plot_results.csv"
    if not results.is_file():
        raise DocumentContentError(f"{results} is missing; run `mrv run PROJECT` again")
    ids = {"plot_id": str, "farmer_id": str}
    manifest_path = run_dir / "run_manifest.json"
    manifest = None
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            manifest = None
    return RunFiles(
        run_dir=run_dir,
        summary=dict(summary),
        plot_results=pd.read_csv(results, dtype=ids),
        verdict_counts=count_verdicts(run_dir / "practice_verdicts.csv"),
        manifest=manifest,
    )


VERDICT_BLOCK_ROWS = 200_000
"""Rows of ``practice_verdicts.csv`` read at a time (one per plot-season: 10 M at a million
plots, ``docs/SCALE.md``)."""


def count_verdicts(path: Path, block_rows: int = VERDICT_BLOCK_ROWS) -> pd.DataFrame | None:
    """``practice_verdicts.csv`` as counts: columns ``practice``, ``year``, ``status``, ``n`` (the
    plot-seasons with that verdict), read ``block_rows`` at a time so that the documents hold
    counts, not one row per plot-season. None when the file does not exist."""
    if not path.is_file():
        return None
    cols = ["practice", "year", "status"]
    parts = [
        block.groupby(cols, sort=False).size()
        for block in pd.read_csv(path, usecols=cols, chunksize=block_rows)
    ]
    if not parts:
        return pd.DataFrame({"practice": [], "year": [], "status": [], "n": []})
    counts = pd.concat(parts).groupby(level=[0, 1, 2], sort=True).sum()
    return counts.rename("n").reset_index()


def write_json(doc: Mapping[str, Any], path: Path) -> Path:
    """Write a document model as UTF-8 JSON (Chinese kept readable); returns ``path``.

    Without indentation: Python's JSON encoder indents only in its pure-Python path, 4-5x slower
    than its C encoder on a county's plot register (``python -m json.tool`` indents a copy).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
    return path


# --- small helpers -----------------------------------------------------------------------------------

_TILLAGE_ZH = {
    "plough": "翻耕",
    "rotary": "旋耕",
    "reduced": "少耕",
    "no_till": "免耕",
    "subsoiling": "深松",
    "conservation": "保护性耕作",
    "tilled": "翻耕/旋耕",
}
_RESIDUE_ZH = {
    "removed": "秸秆离田",
    "burned": "秸秆焚烧",
    "retained": "秸秆还田",
    "mulched": "秸秆覆盖还田",
}
_PRACTICE_ZH = {"tillage": "耕作方式", "residue": "秸秆处理", "sowing": "播种日期", "harvest": "收获日期"}
_PRACTICE_ZH["green_cover"] = "非生长季绿色覆盖"
_SEVERITY_ZH = {"info": "提示", "warning": "警告", "critical": "严重", "unverifiable": "无法核实"}
_STATUS_ZH = {"official": "官方原文", "secondary": "二手来源", "reconstructed": "推断重构"}


def practice_zh(label: Any) -> str:
    """``"翻耕 + 秸秆离田 (plough + removed)"`` from a practice label of the run."""
    text = "" if label is None or (isinstance(label, float) and math.isnan(label)) else str(label)
    if not text:
        return "未记录 (not logged)"
    parts = [p.strip() for p in text.split("+")]
    zh = [_TILLAGE_ZH.get(p) or _RESIDUE_ZH.get(p) or p for p in parts]
    return f"{' + '.join(zh)} ({text})" if zh != parts else text


def farmer_hash(farmer_id: Any, salt: str) -> str:
    """A pseudonymous farmer id for public documents: ``FH`` + 10 hex digits of the salted SHA-256."""
    digest = hashlib.sha256(f"{salt}:{farmer_id}".encode()).hexdigest()
    return "FH" + digest[:10].upper()


def vintage_period(year: int, crediting_month: int, crediting_start: dt.date) -> tuple[dt.date, dt.date]:
    """The days a vintage covers: from the day after the previous crediting point (or the crediting
    start, whichever is later) to the end of ``crediting_month`` of ``year`` (models.crediting)."""
    end = _month_end(year, crediting_month)
    start = _month_end(year - 1, crediting_month) + dt.timedelta(days=1)
    return max(start, crediting_start), end


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _slug(text: Any) -> str:
    return re.sub(r"[^0-9A-Za-z_\-\u4e00-\u9fff]+", "_", str(text)).strip("_") or "x"


@dataclasses.dataclass(frozen=True)
class Num:
    """A number registered in the document's ``values``, as a table cell."""

    key: str
    value: float | int
    display: str | None = None
    """Text shown in the cell instead of the number (a year: ``"2024"``)."""

    @property
    def cell(self) -> Any:
        return self.display if self.display is not None else self.value


class Builder:
    """Collects a document's sections, tables (numbered T1, T2, ...), figures (F1, ...) and values."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.sections: list[dict[str, Any]] = []
        self._tables = 0
        self._figures = 0

    # values
    def num(
        self,
        key: str,
        value: Any,
        unit: str,
        inputs: str,
        parameter: str | None = None,
        equation: str | None = None,
        *,
        digits: int | None = None,
        display: str | None = None,
    ) -> Num | None:
        """Register ``value`` under ``key`` with its source; None (an empty cell) when not finite."""
        if not _finite(value):
            return None
        if isinstance(value, bool):
            raise TypeError(f"value {key!r} is a bool, not a number")
        if isinstance(value, int) or (digits == 0 and float(value).is_integer()):
            v: float | int = int(value)
        else:
            v = float(value) if digits is None else round(float(value), digits)
            if v == 0:
                v = 0.0  # no negative zero in the documents
        old = self.values.get(key)
        if old is not None:
            if old["value"] != v:
                raise ValueError(
                    f"value {key!r} registered twice with different numbers: {old['value']} and {v}"
                )
            return Num(key, v, display)
        self.values[key] = {
            "value": v,
            "unit": unit,
            "source": {"inputs": inputs, "parameter": parameter, "equation": equation},
        }
        return Num(key, v, display)

    def year(self, year: int, inputs: str, equation: str | None = None) -> Num:
        n = self.num(f"year.{int(year)}", int(year), "a", inputs, None, equation, display=str(int(year)))
        assert n is not None
        return n

    # structure
    def section(self, sid: str, title_zh: str, title_en: str) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        self.sections.append({"id": sid, "title_zh": title_zh, "title_en": title_en, "blocks": blocks})
        return blocks

    @staticmethod
    def para(blocks: list[dict[str, Any]], text: str) -> None:
        blocks.append({"type": "paragraph", "text": text})

    @staticmethod
    def heading(blocks: list[dict[str, Any]], text: str) -> None:
        blocks.append({"type": "heading", "text": text})

    def table(
        self,
        blocks: list[dict[str, Any]],
        caption_zh: str,
        caption_en: str,
        columns: Iterable[str],
        rows: Iterable[Iterable[Any]],
    ) -> str:
        """Add a table; a cell is text, None or a :class:`Num`. Returns its id (``T<n>``)."""
        self._tables += 1
        tid = f"T{self._tables}"
        cols = list(columns)
        cells, keys = [], []
        for row in rows:
            r = list(row)
            if len(r) != len(cols):
                raise ValueError(
                    f"table {tid} ({caption_en}): a row has {len(r)} cells for {len(cols)} columns"
                )
            cells.append([c.cell if isinstance(c, Num) else c for c in r])
            keys.append([c.key if isinstance(c, Num) else None for c in r])
        blocks.append(
            {
                "type": "table",
                "id": tid,
                "caption_zh": caption_zh,
                "caption_en": caption_en,
                "columns": cols,
                "rows": cells,
                "value_keys": keys,
            }
        )
        return tid

    def figure(self, blocks: list[dict[str, Any]], kind: str, caption_zh: str, caption_en: str) -> str:
        self._figures += 1
        fid = f"F{self._figures}"
        blocks.append(
            {"type": "figure", "id": fid, "kind": kind, "caption_zh": caption_zh, "caption_en": caption_en}
        )
        return fid


# --- shared parts of both documents ----------------------------------------------------------------


def source_text(run: RunFiles, name: str, rows: str = "") -> str:
    """``"plot_results.csv (run 5, out/PROJECT): rows ..."``."""
    rid = run_id(run)
    where = f"{name} (run {rid})" if rid is not None else name
    return f"{where}: {rows}" if rows else where


def run_id(run: RunFiles) -> int | None:
    rid = (run.summary.get("run") or {}).get("run_id")
    if rid is None and run.manifest:
        rid = run.manifest.get("run_id")
    return int(rid) if rid is not None else None


def header(
    kind: str, run: RunFiles, inputs: Any, definition: Any, *, now: dt.datetime | None
) -> dict[str, Any]:
    """The top-level keys both documents share."""
    p = inputs.project
    now = now or dt.datetime.now(dt.UTC)
    name_zh = p.name_zh or p.name
    titles = {
        "pdd": (f"{name_zh} 项目设计文件", f"Project Design Document: {p.name}"),
        "reduction_report": (f"{name_zh} 减排量核算报告", f"Emission Reduction Accounting Report: {p.name}"),
    }[kind]
    data = definition.to_dict()
    return {
        "kind": kind,
        "title_zh": titles[0],
        "title_en": titles[1],
        "generated_at": now.isoformat(timespec="seconds"),
        "run_id": run_id(run),
        "document_version": DOCUMENT_VERSION,
        "methodology": {
            "id": definition.id,
            "version": definition.version,
            "title": definition.title,
            "title_zh": data.get("title_zh"),
            "issuer": definition.issuer,
            "ministry_issued": definition.ministry_issued,
        },
        "project": {
            "name": p.name,
            "name_zh": p.name_zh,
            "construction_start": p.crediting_start.isoformat(),
            "construction_start_basis": (
                "the crediting start: the first season under the project practice (开工日期取计入期开始日，"
                "即首个实施项目做法的季节)"
            ),
            "region": dict(p.region),
            "owner": p.organisation,
        },
        "crediting_period": {"start": p.crediting_start.isoformat(), "end": p.crediting_end.isoformat()},
    }


def crediting_month(inputs: Any) -> int:
    return int(inputs.project.settings.get("model.crediting_month") or 8)


def vintage_rows(run: RunFiles, inputs: Any, years: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """``vintages[]`` of the document (all the run's vintages, or those in ``years``)."""
    acc = run.summary["accounting"]
    month = crediting_month(inputs)
    out = []
    wanted = None if years is None else {int(y) for y in years}
    for key in sorted(acc["vintages"], key=int):
        y = int(key)
        if wanted is not None and y not in wanted:
            continue
        v = acc["vintages"][key]
        start, end = vintage_period(y, month, inputs.project.crediting_start)
        out.append(
            {
                "year": y,
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "credited_t_co2e": v["net"],
                "ci90_low_t_co2e": v["net_interval"]["p5"],
                "ci90_high_t_co2e": v["net_interval"]["p95"],
                "removals_t_co2e": v["removals"]["mean"],
                "removals_ci90_low_t_co2e": v["removals"]["p5"],
                "removals_ci90_high_t_co2e": v["removals"]["p95"],
                "uncertainty_deduction_t_co2e": v["uncertainty_deduction"],
                "deduction_share": v.get("deduction_share"),
                "deduction_assessed_over": v.get("deduction_assessed_over"),
                "buffer_t_co2e": v["buffer"],
                "emissions_t_co2e": v["emissions"],
                "leakage_t_co2e": v["leakage"],
                "u90": v.get("u90"),
            }
        )
    return out


def plot_rows(run: RunFiles, salt: str, years: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """``plots[]``: credited = the plot's net over all vintages, or over ``years``."""
    pr = run.plot_results
    if years is None:
        credited = pr["net_t_co2e"].astype(float)
    else:
        cols = [f"net_t_co2e_{int(y)}" for y in years if f"net_t_co2e_{int(y)}" in pr.columns]
        credited = pr[cols].astype(float).sum(axis=1) if cols else pd.Series(0.0, index=pr.index)
    out = []
    for row, c in zip(pr.itertuples(index=False), credited, strict=True):
        out.append(
            {
                "plot_id": str(row.plot_id),
                "farmer_hash": farmer_hash(row.farmer_id, salt),
                "village": getattr(row, "village", None),
                "area_ha": round(float(row.area_ha), 4),
                "baseline_practice": row.baseline_practice,
                "project_practice": row.project_practice,
                "credited_t_co2e": round(float(c), 4),
            }
        )
    return out


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, (list, tuple)):
        return [_round_coords(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _round_coords(v) for k, v in obj.items()}
    return obj


MAP_OUTLINES_MAX = 2000
"""Above this many plots the documents' maps carry each plot as a point on it, not its outline:
on a county map a 0.1-2 ha plot is a pixel or two wide either way, and 100,000 outlines would
make the document data some hundred MB (measured, ``docs/SCALE.md``)."""


def plots_geojson(inputs: Any, props: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326) of the plots with ``props[plot_id]`` as properties:
    their outlines, or a point on each (``representative_point``) above :data:`MAP_OUTLINES_MAX`
    plots."""
    from shapely.geometry import mapping

    feats = []
    plots = inputs.plots
    if plots is None or len(plots) == 0:
        return {"type": "FeatureCollection", "features": []}
    gdf = plots if plots.crs is None or plots.crs.to_epsg() == 4326 else plots.to_crs(4326)
    geoms = gdf.geometry
    if len(gdf) > MAP_OUTLINES_MAX:
        geoms = geoms.representative_point()
    for pid, geom in zip(gdf["plot_id"].astype(str), geoms, strict=True):
        if geom is None or geom.is_empty or pid not in props:
            continue
        if geom.geom_type == "Point":
            geometry = {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]}
        else:
            geometry = _round_coords(mapping(geom))
        feats.append(
            {"type": "Feature", "properties": {"plot_id": pid, **dict(props[pid])}, "geometry": geometry}
        )
    return {"type": "FeatureCollection", "features": feats}


def vintage_chart_data(vintages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "unit": "t CO2e",
        "years": [v["year"] for v in vintages],
        "credited": [v["credited_t_co2e"] for v in vintages],
        "ci90_low": [v["ci90_low_t_co2e"] for v in vintages],
        "ci90_high": [v["ci90_high_t_co2e"] for v in vintages],
        "removals": [v["removals_t_co2e"] for v in vintages],
        "removals_ci90_low": [v["removals_ci90_low_t_co2e"] for v in vintages],
        "removals_ci90_high": [v["removals_ci90_high_t_co2e"] for v in vintages],
    }


VINTAGE_EQUATIONS = {
    "removals": (
        "R_y = mean over Monte Carlo draws d of sum_p dSOC[d,p,y] x A_p x 44/12 (methodology.accounting step 1; "
        "dSOC = project minus baseline RothC SOC 0-30 cm at the crediting point)"
    ),
    "u90": "U90_y = (P95 - P5) / 2 / |mean| of the draws of R_y (VCS Methodology Requirements v5.0 s. 2.4)",
    "uncertainty_deduction": (
        "D_y = R_y x s_y; s_y = U90 / z_90 x t_0.667 when 10 % < U90 <= 100 %, 0 when U90 <= 10 %, "
        "1 (excluded) when the period's U90 > 100 % (methodology.accounting step 2)"
    ),
    "deduction_share": "s_y (see uncertainty_deduction)",
    "buffer": "B_y = buffer_rate x max(0, R_y - D_y) (methodology.accounting step 3)",
    "emissions": (
        "E_y = sum_p (project - baseline emissions) [N2O direct and indirect, diesel CO2, residue burning] "
        "(IPCC 2019 Refinement Vol. 4 Ch. 11 Eqs. 11.1, 11.9, 11.10; methodology.emissions)"
    ),
    "leakage": "L_y = max(0, M_p - M_b) x manure_C_retention x 44/12 (VM0042 v2.2 Eq. 33)",
    "net": "C_y = R_y - D_y - B_y - E_y - L_y (methodology.accounting step 4)",
    "net_interval": "5th and 95th percentile of C_y over the Monte Carlo draws",
}


def register_vintage(b: Builder, run: RunFiles, v: Mapping[str, Any]) -> dict[str, Num | None]:
    """The values of one vintage (keys ``vintage.<year>.<field>``) with their sources."""
    y = v["year"]
    src = source_text(run, "summary.json", f"accounting.vintages.{y}")
    e = VINTAGE_EQUATIONS
    k = f"vintage.{y}"
    return {
        "year": b.year(
            y, source_text(run, "summary.json", "accounting.vintages"), "vintage year of the crediting point"
        ),
        "removals": b.num(
            f"{k}.removals_t_co2e",
            v["removals_t_co2e"],
            "t CO2e",
            src + ".removals.mean",
            None,
            e["removals"],
        ),
        "removals_low": b.num(
            f"{k}.removals_ci90_low_t_co2e",
            v["removals_ci90_low_t_co2e"],
            "t CO2e",
            src + ".removals.p5",
            None,
            e["removals"],
        ),
        "removals_high": b.num(
            f"{k}.removals_ci90_high_t_co2e",
            v["removals_ci90_high_t_co2e"],
            "t CO2e",
            src + ".removals.p95",
            None,
            e["removals"],
        ),
        "u90": b.num(f"{k}.u90", v["u90"], "1", src + ".u90", "z_90, t_0667", e["u90"]),
        "share": b.num(
            f"{k}.deduction_share",
            v["deduction_share"],
            "1",
            src + ".deduction_share",
            None,
            e["deduction_share"],
        ),
        "deduction": b.num(
            f"{k}.uncertainty_deduction_t_co2e",
            v["uncertainty_deduction_t_co2e"],
            "t CO2e",
            src + ".uncertainty_deduction",
            "z_90, t_0667, unc_no_deduction_threshold, unc_exclusion_threshold",
            e["uncertainty_deduction"],
        ),
        "buffer": b.num(
            f"{k}.buffer_t_co2e", v["buffer_t_co2e"], "t CO2e", src + ".buffer", "buffer_rate", e["buffer"]
        ),
        "emissions": b.num(
            f"{k}.emissions_t_co2e",
            v["emissions_t_co2e"],
            "t CO2e",
            src + ".emissions",
            "EF1, EF4, EF5, GWP_N2O, diesel_EF_CO2",
            e["emissions"],
        ),
        "leakage": b.num(
            f"{k}.leakage_t_co2e",
            v["leakage_t_co2e"],
            "t CO2e",
            src + ".leakage",
            "manure_C_retention",
            e["leakage"],
        ),
        "credited": b.num(
            f"{k}.credited_t_co2e", v["credited_t_co2e"], "t CO2e", src + ".net", None, e["net"]
        ),
        "low": b.num(
            f"{k}.ci90_low_t_co2e",
            v["ci90_low_t_co2e"],
            "t CO2e",
            src + ".net_interval.p5",
            None,
            e["net_interval"],
        ),
        "high": b.num(
            f"{k}.ci90_high_t_co2e",
            v["ci90_high_t_co2e"],
            "t CO2e",
            src + ".net_interval.p95",
            None,
            e["net_interval"],
        ),
    }


def definition_sources(definition: Any) -> dict[str, tuple[str, str]]:
    """Key path (as :meth:`Definition.items_by_status` writes it) -> (status, source) of every
    item that carries a verification status."""
    out: dict[str, tuple[str, str]] = {}

    def label(item: Any) -> str | None:
        if not isinstance(item, Mapping):
            return None
        for key in ("id", "name", "item"):
            if isinstance(item.get(key), str) and item[key].strip():
                return item[key]
        if isinstance(item.get("gas"), str) and isinstance(item.get("source_category"), str):
            return f"{item['gas']}: {item['source_category']}"
        return None

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            if "verification" in node and path:
                out[path] = (str(node["verification"]), " ".join(str(node.get("source", "")).split()))
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{label(v) or i}]")

    walk(definition.to_dict(), "")
    return out


def unverified_items(definition: Any) -> list[dict[str, str]]:
    """``annexes.unverified_items``: every secondary or reconstructed item of the definition."""
    sources = definition_sources(definition)
    out = []
    for status, paths in definition.items_by_status().items():
        for path in paths:
            out.append(
                {
                    "path": path,
                    "status": status,
                    "source": sources.get(path, (status, "see the methodology definition file"))[1],
                }
            )
    return out


def param_num(b: Builder, definition: Any, name: str) -> Num | None:
    """A parameter of the definition as a value (its source: the definition and the literature)."""
    p = definition.parameters.get(name)
    if p is None:
        return None
    return b.num(
        f"param.{name}",
        p.value,
        p.unit,
        f"methodology definition {definition.id} (methodology/definitions/{definition.id}.yaml): parameters.{name}",
        f"{name}: {p.source} [{p.verification}]",
        p.description,
    )


def hard_rule_num(b: Builder, definition: Any, field: str, unit: str) -> Num | None:
    rules = definition.rule("hard_rules")
    if field not in rules:
        return None
    return b.num(
        f"rule.{field}",
        rules[field],
        unit,
        f"methodology definition {definition.id}: hard_rules.{field}",
        " ".join(str(rules.get("source", "")).split()),
        None,
        digits=0,
    )


def area_credit_cells(b: Builder, key: str, group: Any, rows_src: str) -> list[Num | None]:
    """The area [ha] and credit [t CO2e] cells of a group of plots (``plot_results.csv`` rows)."""
    return [
        b.num(
            f"{key}.area_ha",
            group["area_ha"].sum(),
            "ha",
            rows_src + ", column area_ha",
            None,
            "sum_p A_p",
            digits=4,
        ),
        b.num(
            f"{key}.credited_t_co2e",
            group["net_t_co2e"].sum(),
            "t CO2e",
            rows_src + ", column net_t_co2e",
            None,
            "sum_p C_p",
            digits=3,
        ),
    ]


def unverified_table(b: Builder, blocks: list, unverified: list[dict[str, Any]]) -> None:
    """The annex table of the definition's items not read in official text (both documents)."""
    b.table(
        blocks,
        "未经官方原文核实的方法学条目",
        "Methodology items not verified in official text",
        ["条目 Item (key path)", "核实状态 Status", "来源 Source"],
        [[u["path"], status_zh(u["status"]), u["source"]] for u in unverified],
    )


def location_map_data(inputs: Any, plots: list[dict[str, Any]], county: str) -> dict[str, Any]:
    """Figure data of the location map: the plots with their credit and area, and the county."""
    props = {
        pl["plot_id"]: {"credited_t_co2e": pl["credited_t_co2e"], "area_ha": pl["area_ha"]} for pl in plots
    }
    return {"plots_geojson": plots_geojson(inputs, props), "county": county}


def count_num(
    b: Builder, key: str, value: Any, unit: str, inputs: str, equation: str | None = None
) -> Num | None:
    return b.num(key, value, unit, inputs, None, equation, digits=0)


def unit_text(unit: str) -> str:
    """A unit for a table cell: ``"1"`` (dimensionless) as words, so no unit reads as a number."""
    return "无量纲 (dimensionless)" if str(unit).strip() == "1" else str(unit)


def status_zh(status: str) -> str:
    return f"{_STATUS_ZH.get(status, status)} ({status})"


def severity_zh(sev: str) -> str:
    return f"{_SEVERITY_ZH.get(sev, sev)} ({sev})"


def practice_kind_zh(p: str) -> str:
    return f"{_PRACTICE_ZH.get(p, p)} ({p})"


# --- the public builders -------------------------------------------------------------------------------


def build_pdd(
    run_dir: Path,
    inputs: Any,
    definition: Any,
    *,
    summary: Mapping[str, Any] | None = None,
    id_salt: str | None = None,
    now: dt.datetime | None = None,
    sampling: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The project design document (项目设计文件) of a finished run (module notes).

    Parameters
    ----------
    run_dir : pathlib.Path
        The run's output directory (``out/PROJECT``).
    inputs : mrv_service.run.inputs.ProjectInputs
        The project's inputs (plots with their geometry, activity records, soil samples).
    definition : methodology.definition.Definition
        The project's methodology definition.
    summary : mapping, optional
        The run's summary when ``summary.json`` is not written yet (the runner).
    id_salt : str, optional
        Salt of the farmers' pseudonymous ids (``MRV_ID_SALT``; default the development salt).
    now : datetime, optional
        ``generated_at`` (default: now, UTC).
    sampling : mapping, optional
        A sampling design (:func:`mrv_service.commands.sampling.design_from_inputs`); computed from
        ``inputs`` when omitted.
    """
    from mrv_service.documents.pdd_content import pdd_document

    return pdd_document(
        read_run(run_dir, summary), inputs, definition, id_salt=_salt(id_salt), now=now, sampling=sampling
    )


def build_reduction_report(
    run_dir: Path,
    inputs: Any,
    definition: Any,
    period_start: dt.date | str,
    period_end: dt.date | str,
    *,
    summary: Mapping[str, Any] | None = None,
    id_salt: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The emission-reduction accounting report (减排量核算报告) of a run for the accounting period
    (核算期) ``period_start`` to ``period_end``: the vintages whose crediting point falls in it.

    Raises
    ------
    DocumentContentError
        When the period is reversed, or lies outside the crediting period or holds no vintage.
    """
    from mrv_service.documents.report_content import report_document

    start, end = _as_date(period_start), _as_date(period_end)
    return report_document(
        read_run(run_dir, summary), inputs, definition, start, end, id_salt=_salt(id_salt), now=now
    )


def default_accounting_period(inputs: Any) -> tuple[dt.date, dt.date]:
    """The project years as an accounting period: 1 January of the first (not before the
    crediting start) to 31 December of the last (not after the crediting end)."""
    p = inputs.project
    years = list(p.project_years) or [p.crediting_start.year]
    start = max(dt.date(min(years), 1, 1), p.crediting_start)
    end = min(dt.date(max(years), 12, 31), p.crediting_end)
    return start, end


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DocumentContentError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


def _salt(id_salt: str | None) -> str:
    if id_salt:
        return id_salt
    from mrv_service.config import DEV_ID_SALT

    return DEV_ID_SALT
