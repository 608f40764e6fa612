"""Rendering a CCER document model as figures, DOCX and HTML (mrv_service.documents.render).

The model is a small fixture built here (the contract of mrv_service.documents.content): plots
as real polygons near Lishu (124.37 E, 43.42 N), two vintages, Chinese section titles.
"""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
from docx import Document
from docx.oxml.ns import qn
from PIL import Image

from mrv_service.documents import figures as figs
from mrv_service.documents.render import (
    DocumentRenderError,
    cell_text,
    is_numeric_cell,
    number_blocks,
    write_documents,
)

LON0, LAT0 = 124.37, 43.42

SECTIONS = [
    ("basic", "项目基本要求", "Basic requirements"),
    ("description", "项目描述", "Project description"),
    ("methodology", "方法学选择", "Choice of methodology"),
    ("monitoring", "监测计划", "Monitoring plan"),
]


def _square(lon: float, lat: float, w_m: float, h_m: float) -> dict:
    dlon = w_m / (111_320 * math.cos(math.radians(lat)))
    dlat = h_m / 110_574
    ring = [[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _plots_fc(n: int, seed: int = 1) -> dict:
    """``n`` rectangular field plots (80-160 m x 40-90 m) in 6 village clusters around Lishu."""
    rng = np.random.default_rng(seed)
    villages = [(LON0 + dx, LAT0 + dy) for dx, dy in rng.uniform(-0.05, 0.05, size=(6, 2))]
    features = []
    for i in range(n):
        vlon, vlat = villages[i % len(villages)]
        lon = vlon + rng.normal(0, 0.008)
        lat = vlat + rng.normal(0, 0.006)
        credited = float(rng.gamma(4.0, 1.2)) if i % 17 else None
        features.append(
            {
                "type": "Feature",
                "geometry": _square(lon, lat, rng.uniform(80, 160), rng.uniform(40, 90)),
                "properties": {
                    "plot_id": f"LS{i + 1:04d}",
                    "credited_t_co2e": credited,
                    "stratum": ["no_till / SOC high", "no_till / SOC low", "straw_return / SOC all"][i % 3],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _points_fc(plots: dict, every: int = 4) -> dict:
    features = []
    for k, f in enumerate(plots["features"][::every]):
        ring = f["geometry"]["coordinates"][0]
        lon = (ring[0][0] + ring[2][0]) / 2
        lat = (ring[0][1] + ring[2][1]) / 2
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "point_id": f"SP{k + 1:04d}",
                    "plot_id": f["properties"]["plot_id"],
                    "stratum": f["properties"]["stratum"],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def make_doc(n_plots: int = 24) -> dict:
    plots = _plots_fc(n_plots)
    source = {"run_id": "run-20250301-a1", "stage": "accounting", "file": "accounting/vintages.csv"}
    values = {
        "credited_2023": {"value": 1834.2, "unit": "t CO2e", "source": source},
        "credited_2024": {"value": 2012.7, "unit": "t CO2e", "source": source},
        "area_ha": {"value": 1204.5, "unit": "ha", "source": {"table": "plots"}},
    }
    blocks = {
        "basic": [
            {
                "type": "paragraph",
                "text": "本项目位于吉林省四平市梨树县，通过保护性耕作（免耕、秸秆还田）增加农田土壤有机碳储量。",
            },
            {
                "type": "table",
                "id": "T1",
                "caption_zh": "项目基本信息",
                "caption_en": "Basic project information",
                "columns": ["项目 Item", "数值 Value", "单位 Unit"],
                "rows": [["项目面积", 1204.5, "ha"], ["地块数", n_plots, "块"], ["计入期", "2023-2032", "—"]],
                "value_keys": [["", "area_ha", None], [None, None, None], [None, None, None]],
            },
        ],
        "description": [
            {"type": "paragraph", "text": "项目地块分布于六个村。\n\n各地块边界由业主提供。"},
            {
                "type": "figure",
                "id": "F1",
                "kind": "location_map",
                "caption_zh": "项目地理位置",
                "caption_en": "Project location",
            },
        ],
        "methodology": [
            {"type": "paragraph", "text": "本项目采用农田土壤碳汇方法学。"},
            {
                "type": "table",
                "id": "T2",
                "caption_zh": "各年度核证减排量",
                "caption_en": "Credited removals per vintage",
                "columns": ["年度 Vintage", "清除量 Removals (t CO2e)", "核证量 Credited (t CO2e)"],
                "rows": [["2023", 2100.0, 1834.2], ["2024", "2,301.4", 2012.7]],
                "value_keys": [[None, None, "credited_2023"], [None, None, "credited_2024"]],
            },
            {
                "type": "figure",
                "id": "F2",
                "kind": "vintage_chart",
                "caption_zh": "各年度核证减排量",
                "caption_en": "Credited removals per vintage",
            },
        ],
        "monitoring": [
            {
                "type": "figure",
                "id": "F3",
                "kind": "sampling_map",
                "caption_zh": "土壤采样点",
                "caption_en": "Soil sampling points",
            },
        ],
    }
    return {
        "kind": "pdd",
        "title_zh": "梨树县保护性耕作土壤碳汇项目设计文件",
        "title_en": "Lishu Conservation Tillage Soil Carbon Project: Project Design Document",
        "generated_at": "2025-03-01T08:00:00+08:00",
        "run_id": "run-20250301-a1",
        "methodology": {
            "id": "CCER-14-002-V01",
            "version": "01",
            "title": "农田土壤碳汇",
            "ministry_issued": "生态环境部",
        },
        "project": {
            "name": "Lishu soil carbon",
            "name_zh": "梨树县保护性耕作土壤碳汇项目",
            "construction_start": "2022-10-01",
            "region": {"province": "吉林省", "city": "四平市", "county": "梨树县"},
            "owner": "梨树县农业合作社联合社",
        },
        "crediting_period": {"start": "2023-01-01", "end": "2032-12-31"},
        "vintages": [2023, 2024],
        "plots": [f["properties"]["plot_id"] for f in plots["features"]],
        "sections": [
            {"id": sid, "title_zh": zh, "title_en": en, "blocks": blocks[sid]} for sid, zh, en in SECTIONS
        ],
        "values": values,
        "annexes": {},
        "figure_data": {
            "location_map": {"plots_geojson": plots, "county": "梨树县"},
            "vintage_chart": {
                "years": [2023, 2024],
                "credited": [1834.2, 2012.7],
                "ci90_low": [1650.0, 1790.3],
                "ci90_high": [2010.9, 2240.1],
                "removals": [2100.0, 2301.4],
            },
            "sampling_map": {"points_geojson": _points_fc(plots), "plots_geojson": plots},
        },
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    doc = make_doc()
    paths = write_documents(doc, out, "lishu_pdd")
    return doc, out, paths


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text)]


# --- files ---------------------------------------------------------------------------------------


def test_write_documents_returns_the_files(rendered):
    _, out, paths = rendered
    names = [p.relative_to(out).as_posix() for p in paths]
    assert names == [
        "figures/lishu_pdd_F1.png",
        "figures/lishu_pdd_F2.png",
        "figures/lishu_pdd_F3.png",
        "lishu_pdd.docx",
        "lishu_pdd.html",
    ]
    assert all(p.stat().st_size > 0 for p in paths)


def test_figures_are_not_blank(rendered):
    _, _, paths = rendered
    for p in paths[:3]:
        img = np.asarray(Image.open(p).convert("L"), dtype=float)
        assert min(img.shape) > 500, (p, img.shape)
        assert img.std() > 10, f"{p.name} looks blank"
        assert (img < 128).mean() > 0.005, f"{p.name} has almost no dark pixels"


# --- DOCX ------------------------------------------------------------------------------------------


def _body_items(document):
    """The body's paragraphs and tables in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)


def test_docx_headings_are_the_section_titles_in_order(rendered):
    _, out, _ = rendered
    document = Document(str(out / "lishu_pdd.docx"))
    h1 = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert h1 == [f"{zh} {en}" for _, zh, en in SECTIONS]


def test_docx_tables_have_captions_before_them(rendered):
    from docx.table import Table

    _, out, _ = rendered
    document = Document(str(out / "lishu_pdd.docx"))
    items = list(_body_items(document))
    tables = [i for i, item in enumerate(items) if isinstance(item, Table)]
    assert len(tables) == 3  # the cover and T1, T2
    cover, *data_tables = tables
    assert "项目名称" in items[cover].cell(1, 0).text
    captions = []
    for i in data_tables:
        before = items[i - 1]
        assert not isinstance(before, Table)
        assert before.text.startswith("表"), before.text
        assert before.style.name == "Caption"
        captions.append(before.text.split("\n")[0])
    assert captions == ["表 1  项目基本信息", "表 2  各年度核证减排量"]
    # the header row is bold and repeated, numbers are right-aligned
    t2 = items[data_tables[1]]
    assert all(r.bold for c in t2.rows[0].cells for r in c.paragraphs[0].runs)
    assert t2.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert t2.cell(1, 2).text == "1,834.2"
    assert t2.cell(1, 2).paragraphs[0].alignment == 2  # WD_ALIGN_PARAGRAPH.RIGHT
    assert t2.cell(2, 1).paragraphs[0].alignment == 2  # "2,301.4" given as text
    figure_captions = [p.text.split("\n")[0] for p in document.paragraphs if p.text.startswith("图")]
    assert figure_captions == ["图 1  项目地理位置", "图 2  各年度核证减排量", "图 3  土壤采样点"]
    assert len(document.inline_shapes) == 3


def test_docx_declares_east_asian_fonts_and_a4(rendered):
    _, out, _ = rendered
    document = Document(str(out / "lishu_pdd.docx"))
    for name in ("Normal", "Heading 1"):
        rfonts = document.styles[name].element.rPr.find(qn("w:rFonts"))
        assert rfonts.get(qn("w:eastAsia")) == "SimSun", name
        assert rfonts.get(qn("w:ascii")) and rfonts.get(qn("w:hAnsi"))
        assert rfonts.get(qn("w:asciiTheme")) is None
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297


def test_docx_footer_has_a_page_field(rendered):
    _, out, _ = rendered
    document = Document(str(out / "lishu_pdd.docx"))
    footer = document.sections[0].footer._element
    instr = [el.text.strip() for el in footer.iter(qn("w:instrText"))]
    assert "PAGE" in instr


# --- HTML ------------------------------------------------------------------------------------------


def test_html_is_self_contained(rendered):
    doc, out, _ = rendered
    html = (out / "lishu_pdd.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert '<meta charset="utf-8">' in html
    refs = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs and not [r for r in refs if re.match(r"\s*(https?:)?//", r, re.I)]
    assert "<link" not in html and "<script" not in html
    assert html.count('src="data:image/png;base64,') == 3
    for _, zh, en in SECTIONS:
        assert f"{zh} {en}" in html
        assert re.search(rf'<h2 id="sec-[^"]+">{zh} {en}</h2>', html)
    assert "表 2  各年度核证减排量" in html and "图 3  土壤采样点" in html
    assert 'data-value-key="credited_2023"' in html
    assert 'class="num"' in html


# --- figures ---------------------------------------------------------------------------------------


def test_location_map_has_scale_bar_north_arrow_colour_bar():
    doc = make_doc()
    fig = figs.location_map(doc["figure_data"]["location_map"])
    texts = _texts(fig)
    assert any(re.fullmatch(r"[\d.]+ k?m", t) for t in texts), texts
    assert any(t.endswith(" km") for t in texts), texts
    assert "N" in texts
    assert any("CO$_2$e" in t for t in texts)  # the colour bar's unit
    ax = fig.axes[0]
    assert "°E" in ax.xaxis.get_major_formatter()(LON0, 0)
    assert len(fig.axes) == 2  # the map and its colour bar
    # honest labelling of the outline: no county boundary exists in the repository
    label = " ".join(t for t in texts)
    assert ("非行政边界" in label) or ("not an admin. boundary" in label)


def test_scale_bar_length_is_metric():
    """The bar's label agrees with the distance it spans, measured on the ellipsoid."""
    from pyproj import Geod

    doc = make_doc()
    fig = figs.location_map(doc["figure_data"]["location_map"])
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_zorder() == 6]
    assert len(bars) == 2
    x0 = bars[0].get_x()
    x1 = bars[1].get_x() + bars[1].get_width()
    lat = bars[0].get_y()
    _, _, dist = Geod(ellps="WGS84").inv(x0, lat, x1, lat)
    end_label = [
        t.get_text() for t in ax.texts if t.get_text().endswith("km") or t.get_text().endswith(" m")
    ][-1]
    value, unit = end_label.split()
    metres = float(value) * (1000 if unit == "km" else 1)
    assert dist == pytest.approx(metres, rel=0.01)


def test_vintage_chart_and_sampling_map():
    doc = make_doc()
    fig = figs.vintage_chart(doc["figure_data"]["vintage_chart"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2023", "2024"]
    assert "CO$_2$e" in ax.get_ylabel()
    assert len(ax.containers) >= 2  # two bar groups (credited with error bars, removals)
    fig = figs.sampling_map(doc["figure_data"]["sampling_map"])
    legend = fig.axes[0].get_legend()
    assert len(legend.get_texts()) == 3
    assert any(t.endswith("km") for t in _texts(fig))


def test_figures_use_a_cjk_font_or_english_only():
    """With a CJK font the labels are Chinese; without one no label holds a Chinese character."""
    doc = make_doc()
    fig = figs.location_map(doc["figure_data"]["location_map"])
    has_cjk = any(re.search(r"[\u4e00-\u9fff]", t) for t in _texts(fig))
    assert has_cjk == (figs.cjk_font() is not None)


def test_figures_without_a_cjk_font_are_english_only(tmp_path, monkeypatch):
    """No CJK font: every label and data string drawn is ASCII-safe (no tofu). Drawing a glyph the
    font lacks warns, and the suite turns warnings into errors, so saving checks that too."""
    monkeypatch.setattr(figs, "cjk_font", lambda: None)
    doc = make_doc()
    data = doc["figure_data"]
    data["sampling_map"]["points_geojson"]["features"][0]["properties"]["stratum"] = "免耕 / 高"
    for kind, builder in figs.FIGURE_BUILDERS.items():
        fig = builder(data[kind])
        texts = _texts(fig)
        assert not [t for t in texts if re.search(r"[\u3000-\u9fff\uff00-\uffef]", t)], (kind, texts)
        figs.render_figure(kind, data[kind], tmp_path / f"{kind}.png")
    texts = _texts(figs.location_map(data["location_map"]))
    assert any("Lishu County" in t for t in texts)
    assert any("stratum" in t for t in _texts(figs.sampling_map(data["sampling_map"])))


def test_empty_figure_data_gives_a_no_data_figure(tmp_path):
    path = figs.render_figure("location_map", {"plots_geojson": {"features": []}}, tmp_path / "x.png")
    assert path.exists()
    fig = figs.vintage_chart({"years": []})
    assert any("data" in t or "数据" in t for t in _texts(fig))


# --- contract errors and helpers -------------------------------------------------------------------


def test_unknown_block_type_and_missing_figure_data_are_errors(tmp_path):
    doc = make_doc(6)
    doc["sections"][0]["blocks"].append({"type": "chart"})
    with pytest.raises(DocumentRenderError, match="unknown block type 'chart'"):
        write_documents(doc, tmp_path, "x")
    doc = make_doc(6)
    del doc["figure_data"]["sampling_map"]
    with pytest.raises(DocumentRenderError, match="sampling_map"):
        write_documents(doc, tmp_path, "x")


def test_numbering_follows_ids_else_order():
    doc = make_doc(6)
    assert number_blocks(doc) == {"table": {"T1": 1, "T2": 2}, "figure": {"F1": 1, "F2": 2, "F3": 3}}
    doc["sections"][2]["blocks"][1]["id"] = "vintages"
    assert number_blocks(doc)["table"] == {"T1": 1, "vintages": 2}


def test_cell_text_and_alignment():
    assert cell_text(None) == "—"
    assert cell_text(12345) == "12,345"
    assert cell_text(1834.25) == "1,834.2"
    assert cell_text(0.1234) == "0.123"
    assert is_numeric_cell("2,301.4") and is_numeric_cell("-3") and is_numeric_cell("12 %")
    assert not is_numeric_cell("CCER-14-002") and not is_numeric_cell(True)


def test_1200_plots_render_fast(tmp_path):
    doc = make_doc(1200)
    t0 = time.perf_counter()
    paths = write_documents(doc, tmp_path, "big")
    elapsed = time.perf_counter() - t0
    assert len(paths) == 5
    assert elapsed < 10, f"{elapsed:.1f} s"
