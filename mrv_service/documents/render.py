"""Render a CCER document model (the dict built by :mod:`mrv_service.documents.content`) as files.

:func:`write_documents` writes, in ``out_dir``::

    figures/<basename>_<figure id>.png   one per figure block (mrv_service.documents.figures)
    <basename>.docx                      python-docx (mrv_service.documents.docx_writer)
    <basename>.html                      self-contained HTML (mrv_service.documents.html_writer)

The helpers here (block numbering, caption and cell text) are shared by both writers, so the DOCX
and the HTML number and word their tables and figures the same way.

The model (the contract with the content builder)::

    {"kind": "pdd" | "reduction_report", "title_zh", "title_en", "generated_at", "run_id",
     "methodology": {"id", "version", "title", "ministry_issued"},
     "project": {"name", "name_zh", "construction_start", "region": {...}, "owner"},
     "crediting_period": {"start", "end"}, "accounting_period": {...} (report only),
     "vintages": [...], "plots": [...],
     "sections": [{"id", "title_zh", "title_en", "blocks": [
         {"type": "paragraph", "text"},
         {"type": "table", "id": "T3", "caption_zh", "caption_en", "columns", "rows", "value_keys"},
         {"type": "figure", "id": "F1", "kind", "caption_zh", "caption_en"}]}],
     "values": {key: {"value", "unit", "source"}}, "annexes": {...},
     "figure_data": {kind: {...}}}

Besides those three block types the writers accept ``{"type": "heading", "text"}`` (a sub-heading)
and ``{"type": "list", "items": [...]}``; any other type is an error (no content is dropped
silently).
"""

from __future__ import annotations

import logging
import math
import numbers
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = [
    "BLOCK_TYPES",
    "DocumentRenderError",
    "FigureRef",
    "cell_text",
    "cover_rows",
    "figure_caption",
    "is_numeric_cell",
    "iter_blocks",
    "number_blocks",
    "section_heading",
    "table_caption",
    "write_documents",
]

BLOCK_TYPES = ("paragraph", "table", "figure", "heading", "list")

KIND_NAMES = {
    "pdd": ("项目设计文件", "Project Design Document"),
    "reduction_report": ("减排量核算报告", "Emission Reduction Report"),
}


class DocumentRenderError(ValueError):
    """The document model breaks the contract (unknown block type, figure without data, ...)."""


@dataclass(frozen=True)
class FigureRef:
    """A rendered figure: its block id, number and PNG file."""

    id: str
    number: int
    kind: str
    path: Path


# --- walking and numbering -------------------------------------------------------------------------


def iter_blocks(doc: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(section, block) for every block of the document, in order; checks the block types."""
    for section in doc.get("sections") or []:
        for block in section.get("blocks") or []:
            btype = block.get("type")
            if btype not in BLOCK_TYPES:
                raise DocumentRenderError(
                    f"section {section.get('id')!r}: unknown block type {btype!r} (one of {', '.join(BLOCK_TYPES)})"
                )
            yield section, block


_ID_NUMBER = re.compile(r"^[A-Za-z]+[-_ ]?(\d+)$")


def number_blocks(doc: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """The numbers of the tables and figures: ``{"table": {id: n}, "figure": {id: n}}``.

    Where every id of a kind ends in a distinct number (``T3``, ``F1``) that number is used, so the
    text's cross-references ("见表 3") match; otherwise they are numbered 1, 2, ... in order."""
    out: dict[str, dict[str, int]] = {}
    for kind in ("table", "figure"):
        ids = [str(b.get("id") or "") for _, b in iter_blocks(doc) if b.get("type") == kind]
        matches = [_ID_NUMBER.match(i) for i in ids]
        if (
            ids
            and all(matches)
            and len({int(m.group(1)) for m in matches}) == len(ids)
            and len(set(ids)) == len(ids)
        ):
            out[kind] = {i: int(m.group(1)) for i, m in zip(ids, matches, strict=True)}
        else:
            out[kind] = {}
            for n, i in enumerate(ids, start=1):
                out[kind].setdefault(i or f"{kind}{n}", n)
    return out


def block_number(numbers_: Mapping[str, Mapping[str, int]], block: Mapping[str, Any], fallback: int) -> int:
    return numbers_[block["type"]].get(str(block.get("id") or ""), fallback)


# --- text shared by the writers ------------------------------------------------------------------


def section_heading(section: Mapping[str, Any]) -> str:
    """``"项目基本要求 Basic requirements"``: the bilingual heading of a section."""
    zh = str(section.get("title_zh") or "").strip()
    en = str(section.get("title_en") or "").strip()
    return f"{zh} {en}".strip() if en and en != zh else zh or en


def table_caption(number: int, block: Mapping[str, Any]) -> tuple[str, str]:
    """(``"表 3  ..."``, ``"Table 3  ..."``)."""
    return (
        f"表 {number}  {block.get('caption_zh') or ''}".rstrip(),
        f"Table {number}  {block.get('caption_en') or ''}".rstrip(),
    )


def figure_caption(number: int, block: Mapping[str, Any]) -> tuple[str, str]:
    """(``"图 1  ..."``, ``"Figure 1  ..."``)."""
    return (
        f"图 {number}  {block.get('caption_zh') or ''}".rstrip(),
        f"Figure {number}  {block.get('caption_en') or ''}".rstrip(),
    )


_NUMERIC_TEXT = re.compile(r"^[-+−]?[\d,]*\.?\d+(e[-+]?\d+)?\s*(%|‰)?$", re.I)


def is_numeric_cell(value: Any) -> bool:
    """A number, or text that reads as one (``"1,234.5"``, ``"-3.2"``, ``"12 %"``): right-aligned."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Number):
        return True
    return isinstance(value, str) and bool(_NUMERIC_TEXT.match(value.strip()))


def cell_text(value: Any) -> str:
    """The text of a table cell: numbers with thousands separators, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是 Yes" if value else "否 No"
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return "—"
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.1f}" if abs(v) < 1e5 else f"{v:,.0f}"
        if abs(v) >= 0.01:
            return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
        return f"{v:.3g}"
    return str(value)


def _period(p: Mapping[str, Any] | None) -> str:
    if not p:
        return "—"
    return f"{p.get('start') or '?'} — {p.get('end') or '?'}"


def cover_rows(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of the cover table."""
    project = doc.get("project") or {}
    meth = doc.get("methodology") or {}
    region = project.get("region") or {}
    kind_zh, kind_en = KIND_NAMES.get(str(doc.get("kind")), ("", ""))
    name = project.get("name_zh") or project.get("name") or "—"
    if project.get("name_zh") and project.get("name") and project["name"] != project["name_zh"]:
        name = f"{project['name_zh']}（{project['name']}）"
    place = "".join(str(region.get(k) or "") for k in ("province", "city", "county", "township")) or "—"
    meth_text = " ".join(str(meth.get(k)) for k in ("id", "title") if meth.get(k)) or "—"
    if meth.get("version"):
        meth_text += (
            f"（第 {meth['version']} 版）" if str(meth["version"]).isdigit() else f"（{meth['version']}）"
        )
    rows = [
        ("文件类型 Document", f"{kind_zh} {kind_en}".strip() or "—"),
        ("项目名称 Project", str(name)),
        ("项目业主 Project owner", str(project.get("owner") or "—")),
        ("项目所在地 Location", place),
        ("方法学 Methodology", meth_text),
    ]
    if meth.get("ministry_issued"):
        rows.append(("方法学发布 Issued by", str(meth["ministry_issued"])))
    if project.get("construction_start"):
        rows.append(("项目开工日期 Construction start", str(project["construction_start"])))
    rows.append(("计入期 Crediting period", _period(doc.get("crediting_period"))))
    if doc.get("accounting_period"):
        rows.append(("核算期 Accounting period", _period(doc.get("accounting_period"))))
    rows += [
        ("生成时间 Generated", str(doc.get("generated_at") or "—")),
        ("计算运行编号 Run ID", str(doc.get("run_id") or "—")),
    ]
    return rows


# --- the entry point ---------------------------------------------------------------------------------


def render_figures(doc: Mapping[str, Any], out_dir: Path, basename: str) -> dict[str, FigureRef]:
    """Write every figure block's PNG to ``out_dir/figures``; returns them by block id."""
    from mrv_service.documents.figures import render_figure

    numbers_ = number_blocks(doc)
    figure_data = doc.get("figure_data") or {}
    refs: dict[str, FigureRef] = {}
    n = 0
    for section, block in iter_blocks(doc):
        if block["type"] != "figure":
            continue
        n += 1
        fid = str(block.get("id") or f"F{n}")
        kind = str(block.get("kind"))
        if kind not in figure_data:
            raise DocumentRenderError(
                f"section {section.get('id')!r}: figure {fid!r} of kind {kind!r} has no figure_data[{kind!r}]"
            )
        if fid in refs:
            raise DocumentRenderError(f"two figures have the id {fid!r}")
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", fid)
        path = render_figure(kind, figure_data[kind], Path(out_dir) / "figures" / f"{basename}_{safe}.png")
        refs[fid] = FigureRef(fid, block_number(numbers_, block, n), kind, path)
    return refs


def write_documents(doc: dict, out_dir: Path, basename: str) -> list[Path]:
    """Write the figures, ``<basename>.docx`` and ``<basename>.html`` of ``doc`` in ``out_dir``.

    Returns the paths written: the figure PNGs (in document order), then the DOCX, then the HTML.

    Raises
    ------
    DocumentRenderError
        When ``doc`` breaks the contract (an unknown block type, a figure whose data is missing).
    """
    from mrv_service.documents.docx_writer import write_docx
    from mrv_service.documents.html_writer import write_html

    if not basename or "/" in basename or "\\" in basename:
        raise DocumentRenderError(f"basename must be a plain file name, got {basename!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    list(iter_blocks(doc))  # check the block types before writing anything
    t0 = time.perf_counter()
    figures = render_figures(doc, out_dir, basename)
    t1 = time.perf_counter()
    docx_path = write_docx(doc, figures, out_dir / f"{basename}.docx")
    html_path = write_html(doc, figures, out_dir / f"{basename}.html")
    log.info(
        "rendered %s: %d figure(s) in %.1f s, DOCX and HTML in %.1f s",
        basename,
        len(figures),
        t1 - t0,
        time.perf_counter() - t1,
    )
    return [f.path for f in figures.values()] + [docx_path, html_path]
