"""The HTML form of a CCER document: one self-contained UTF-8 file (Jinja2).

The figures are inlined as ``data:image/png;base64`` and the CSS sits in a ``<style>`` element, so
the file shows the same offline, with no CDN or other fetch. ``<html lang="zh-CN">``; every
section heading carries an id (``sec-<section id>``) and the contents list at the top links to
them; tables and figures carry their block ids (``T3``, ``F1``). A table cell that shows a value of
``doc["values"]`` names its key (``data-value-key``) and shows the value's unit and source as a
tooltip.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from mrv_service.documents.render import (
    FigureRef,
    block_number,
    cell_text,
    cover_rows,
    figure_caption,
    is_numeric_cell,
    number_blocks,
    section_heading,
    table_caption,
)

__all__ = ["TEMPLATE", "build_view", "write_html"]

TEMPLATE = "document.html.j2"
TEMPLATE_DIR = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _anchor(prefix: str, value: Any, fallback: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", str(value or "")).strip("-")
    return f"{prefix}{slug or fallback}"


def _value_tooltip(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return ""
    parts = []
    if entry.get("value") is not None:
        parts.append(f"{entry.get('value')} {entry.get('unit') or ''}".strip())
    source = entry.get("source")
    if source:
        text = source if isinstance(source, str) else json.dumps(source, ensure_ascii=False, default=str)
        parts.append(f"来源 source: {text}")
    return "\n".join(parts)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (split at blank lines), each a list of lines."""
    return [chunk.split("\n") for chunk in str(text).split("\n\n") if chunk.strip()]


def build_view(doc: Mapping[str, Any], figures: Mapping[str, FigureRef]) -> dict[str, Any]:
    """The template's context: the document flattened into strings, numbers and data URIs."""
    values = doc.get("values") or {}
    numbers_ = number_blocks(doc)
    counts = {"table": 0, "figure": 0}
    sections = []
    for si, section in enumerate(doc.get("sections") or [], start=1):
        blocks = []
        for block in section.get("blocks") or []:
            btype = block.get("type")
            if btype == "paragraph":
                blocks.append({"type": "paragraph", "paragraphs": _paragraphs(block.get("text") or "")})
            elif btype == "heading":
                blocks.append({"type": "heading", "text": str(block.get("text") or "")})
            elif btype == "list":
                blocks.append({"type": "list", "items": [str(i) for i in block.get("items") or []]})
            elif btype == "table":
                counts["table"] += 1
                number = block_number(numbers_, block, counts["table"])
                keys = block.get("value_keys") or []
                rows = []
                for i, row in enumerate(block.get("rows") or []):
                    row_keys = keys[i] if i < len(keys) and keys[i] else []
                    cells = []
                    for j, v in enumerate(row):
                        key = row_keys[j] if j < len(row_keys) else None
                        cells.append(
                            {
                                "text": cell_text(v),
                                "numeric": is_numeric_cell(v),
                                "key": key or "",
                                "title": _value_tooltip(values.get(key)) if key else "",
                            }
                        )
                    rows.append(cells)
                zh, en = table_caption(number, block)
                blocks.append(
                    {
                        "type": "table",
                        "id": _anchor("", block.get("id"), f"T{number}"),
                        "caption_zh": zh,
                        "caption_en": en,
                        "columns": [str(c) for c in block.get("columns") or []],
                        "rows": rows,
                    }
                )
            elif btype == "figure":
                counts["figure"] += 1
                ref = figures[str(block.get("id") or f"F{counts['figure']}")]
                zh, en = figure_caption(ref.number, block)
                blocks.append(
                    {
                        "type": "figure",
                        "id": _anchor("", ref.id, f"F{ref.number}"),
                        "src": _data_uri(ref.path),
                        "alt": f"{zh} / {en}",
                        "caption_zh": zh,
                        "caption_en": en,
                    }
                )
        sections.append(
            {
                "anchor": _anchor("sec-", section.get("id"), si),
                "heading": section_heading(section),
                "blocks": blocks,
            }
        )
    return {
        "title_zh": str(doc.get("title_zh") or ""),
        "title_en": str(doc.get("title_en") or ""),
        "cover": cover_rows(doc),
        "sections": sections,
        "run_id": str(doc.get("run_id") or ""),
        "generated_at": str(doc.get("generated_at") or ""),
    }


def write_html(doc: Mapping[str, Any], figures: Mapping[str, FigureRef], path: Path) -> Path:
    """Write ``doc`` as a self-contained HTML file at ``path``."""
    html = _env().get_template(TEMPLATE).render(**build_view(doc, figures))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
