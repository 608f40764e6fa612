"""The DOCX form of a CCER document (python-docx).

- A4 pages, a cover page (title and a cover table, no page number), then one ``Heading 1`` per
  section titled ``"项目基本要求 Basic requirements"`` (the navigation pane and a table of contents
  work from these), ``Heading 2`` for sub-headings.
- Tables: a caption paragraph above (``"表 3  … / Table 3  …"``), a styled header row repeated on
  each page, numbers right-aligned. Figures: the PNG, its caption below (``"图 1  …"``).
- Chinese fonts: the East Asian font is declared on the document defaults and on the Normal,
  heading and caption styles (``w:rFonts/@w:eastAsia``): Word and WPS choose the font of Chinese
  characters from that attribute only, the ``ascii``/``hAnsi`` fonts serve Latin text.
- A footer with the page number (a ``PAGE`` field) and a header with the document title.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

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

__all__ = ["EAST_ASIAN_FONT", "LATIN_FONT", "write_docx"]

EAST_ASIAN_FONT = "SimSun"
"""Font of Chinese text (宋体). Word and WPS on Windows have it; elsewhere (LibreOffice on Linux)
the viewer substitutes a CJK serif face such as "Noto Serif CJK SC" (fonts-noto-cjk), which
fontconfig maps SimSun to. Declared by name only: no font is embedded."""

EAST_ASIAN_HEADING_FONT = "SimSun"
"""Font of Chinese headings (the same face, bold)."""

LATIN_FONT = "Times New Roman"
"""Font of Latin letters and digits (ascii/hAnsi)."""

BODY_SIZE = Pt(10.5)  # 五号
FIGURE_WIDTH = Cm(15.5)
FIGURE_MAX_HEIGHT = Cm(14.5)
HEADER_FILL = "D9E2F3"


# --- low-level XML helpers ---------------------------------------------------------------------------


def _rpr(parent):
    """The ``w:rPr`` child of ``parent`` (a style or ``w:rPrDefault``), created if missing."""
    rpr = parent.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        parent.append(rpr)
    return rpr


def _set_fonts(rpr, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Declare ``east_asia`` and ``latin`` on ``w:rPr/w:rFonts``, dropping theme-font attributes,
    which would override the explicit names."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    # Word and WPS take the font of Chinese characters from w:eastAsia alone; on Linux, LibreOffice
    # substitutes SimSun with "Noto Serif CJK SC" (fonts-noto-cjk) through fontconfig
    rfonts.set(qn("w:eastAsia"), east_asia)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _set_doc_defaults(document) -> None:
    """East Asian font and language on ``w:docDefaults`` (text in no style at all)."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)

    _set_fonts(_rpr(rpr_default), EAST_ASIAN_FONT)


def _setup_styles(document) -> None:
    _set_doc_defaults(document)
    styles = document.styles
    normal = styles["Normal"]
    normal.font.size = BODY_SIZE
    _set_fonts(normal.element.get_or_add_rPr(), EAST_ASIAN_FONT)
    pf = normal.paragraph_format
    pf.space_after = Pt(4)
    pf.line_spacing = 1.25
    for level, size in ((1, 15), (2, 12.5), (3, 11)):
        style = styles[f"Heading {level}"]
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0, 0, 0)
        _set_fonts(style.element.get_or_add_rPr(), EAST_ASIAN_HEADING_FONT)
        style.paragraph_format.space_before = Pt(12 if level == 1 else 8)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
    for name in ("Title", "Caption"):
        style = styles[name]
        _set_fonts(
            style.element.get_or_add_rPr(), EAST_ASIAN_HEADING_FONT if name == "Title" else EAST_ASIAN_FONT
        )
        style.font.color.rgb = RGBColor(0, 0, 0)
    caption = styles["Caption"]
    caption.font.size = Pt(9.5)
    caption.font.bold = True
    caption.font.italic = False
    caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.space_before = Pt(6)
    caption.paragraph_format.space_after = Pt(4)


def _setup_page(document) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(25)
    section.left_margin = section.right_margin = Mm(25)
    section.header_distance = section.footer_distance = Mm(12)
    section.different_first_page_header_footer = True  # the cover carries no header or number


def _add_field(paragraph, instr: str, placeholder: str = "1") -> None:
    """A complex field (``PAGE``, ``NUMPAGES``) with a cached result, as Word writes it."""

    def run_with(child):
        run = paragraph.add_run()
        run._r.append(child)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instr} "
    run_with(text)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    paragraph.add_run(placeholder)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _setup_header_footer(document, doc: Mapping[str, Any]) -> None:
    section = document.sections[0]
    header = section.header.paragraphs[0]
    header.text = f"{doc.get('title_zh') or ''}"
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for run in header.runs:
        run.font.size = Pt(8)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("第 ")
    _add_field(footer, "PAGE")
    footer.add_run(" 页 / 共 ")
    _add_field(footer, "NUMPAGES")
    footer.add_run(" 页")
    for run in footer.runs:
        run.font.size = Pt(9)


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _table_alt_text(table, caption: str) -> None:
    """``w:tblCaption``: the table's alternative text (accessibility; identifies the cover)."""
    tblpr = table._tbl.tblPr
    el = OxmlElement("w:tblCaption")
    el.set(qn("w:val"), caption[:250])
    tblpr.append(el)


def _cell_paragraph(cell, text: str, *, bold: bool = False, align=None, size: Pt | None = None):
    para = cell.paragraphs[0]
    para.paragraph_format.first_line_indent = None
    para.paragraph_format.space_after = Pt(0)
    para.paragraph_format.line_spacing = 1.0
    if align is not None:
        para.alignment = align
    run = para.add_run(text)
    run.bold = bold
    if size is not None:
        run.font.size = size
    return para


# --- content --------------------------------------------------------------------------------------


def _add_cover(document, doc: Mapping[str, Any]) -> None:
    for _ in range(3):
        document.add_paragraph()
    title = document.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(str(doc.get("title_zh") or ""))
    run.font.size = Pt(22)
    run.bold = True
    if doc.get("title_en"):
        sub = document.add_paragraph()
        sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
        r = sub.add_run(str(doc["title_en"]))
        r.font.size = Pt(14)
    document.add_paragraph()
    rows = cover_rows(doc)
    table = document.add_table(rows=len(rows), cols=2)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _table_alt_text(table, "封面 Cover")
    table.autofit = False
    widths = (Cm(5.2), Cm(10.8))
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # w:gridCol, which LibreOffice follows
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].width, row.cells[1].width = widths  # w:tcW, which Word follows
        _shade(row.cells[0], HEADER_FILL)
        _cell_paragraph(row.cells[0], label, bold=True)
        _cell_paragraph(row.cells[1], value)
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _add_text(document, text: str) -> None:
    for chunk in str(text).split("\n\n"):
        if not chunk.strip():
            continue
        para = document.add_paragraph()
        para.paragraph_format.first_line_indent = Pt(2 * BODY_SIZE.pt)  # 首行缩进两字
        lines = chunk.split("\n")
        for i, line in enumerate(lines):
            run = para.add_run(line)
            if i < len(lines) - 1:
                run.add_break()


def _add_caption(document, zh: str, en: str, *, keep_with_next: bool):
    para = document.add_paragraph(style="Caption")
    para.add_run(zh)
    if en:
        para.add_run().add_break()
        run = para.add_run(en)
        run.bold = False
    para.paragraph_format.keep_with_next = keep_with_next
    return para


def _add_table(document, block: Mapping[str, Any], number: int) -> None:
    zh, en = table_caption(number, block)
    _add_caption(document, zh, en, keep_with_next=True)
    columns = [str(c) for c in block.get("columns") or []]
    rows = [list(r) for r in block.get("rows") or []]
    ncols = max([len(columns)] + [len(r) for r in rows]) or 1
    table = document.add_table(rows=1 + len(rows), cols=ncols)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _table_alt_text(table, zh)
    small = Pt(9) if ncols > 4 else None
    header = table.rows[0]
    _repeat_header(header)
    for j in range(ncols):
        cell = header.cells[j]
        _shade(cell, HEADER_FILL)
        _cell_paragraph(
            cell,
            columns[j] if j < len(columns) else "",
            bold=True,
            align=WD_ALIGN_PARAGRAPH.CENTER,
            size=small,
        )
    for row, values in zip(table.rows[1:], rows, strict=True):  # one pass: rows[i] walks them all
        cells = row.cells
        for j in range(ncols):
            v = values[j] if j < len(values) else None
            align = WD_ALIGN_PARAGRAPH.RIGHT if is_numeric_cell(v) else WD_ALIGN_PARAGRAPH.LEFT
            _cell_paragraph(cells[j], cell_text(v), align=align, size=small)
    document.add_paragraph().paragraph_format.space_after = Pt(2)


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">II", head[16:24])


def _add_figure(document, block: Mapping[str, Any], ref: FigureRef) -> None:
    para = document.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.paragraph_format.keep_with_next = True
    width, height = _png_size(ref.path)
    if height * FIGURE_WIDTH > FIGURE_MAX_HEIGHT * width:  # a tall map: limit its height instead
        para.add_run().add_picture(str(ref.path), height=FIGURE_MAX_HEIGHT)
    else:
        para.add_run().add_picture(str(ref.path), width=FIGURE_WIDTH)
    zh, en = figure_caption(ref.number, block)
    _add_caption(document, zh, en, keep_with_next=False)


def write_docx(doc: Mapping[str, Any], figures: Mapping[str, FigureRef], path: Path) -> Path:
    """Write ``doc`` as DOCX at ``path``; ``figures`` are the rendered PNGs by figure id
    (:func:`mrv_service.documents.render.render_figures`)."""
    document = Document()
    _setup_page(document)
    _setup_styles(document)
    _setup_header_footer(document, doc)
    props = document.core_properties
    props.title = str(doc.get("title_zh") or "")
    props.subject = str(doc.get("title_en") or "")
    props.language = "zh-CN"
    props.author = str((doc.get("project") or {}).get("owner") or "")
    props.comments = f"run {doc.get('run_id') or ''}"

    _add_cover(document, doc)
    numbers_ = number_blocks(doc)
    counts = {"table": 0, "figure": 0}
    for section in doc.get("sections") or []:
        document.add_heading(section_heading(section), level=1)
        for block in section.get("blocks") or []:
            btype = block.get("type")
            if btype == "paragraph":
                _add_text(document, block.get("text") or "")
            elif btype == "heading":
                document.add_heading(str(block.get("text") or ""), level=2)
            elif btype == "list":
                for item in block.get("items") or []:
                    document.add_paragraph(str(item), style="List Bullet")
            elif btype == "table":
                counts["table"] += 1
                _add_table(document, block, block_number(numbers_, block, counts["table"]))
            elif btype == "figure":
                counts["figure"] += 1
                _add_figure(document, block, figures[str(block.get("id") or f"F{counts['figure']}")])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path
