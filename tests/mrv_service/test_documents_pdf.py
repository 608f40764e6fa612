"""The CCER documents as a person sees them: DOCX -> PDF (LibreOffice headless) -> page images (pdftoppm).

Needs ``soffice`` (Debian's ``libreoffice-writer``), ``pdftoppm``/``pdftotext``/``pdffonts``/``pdfinfo``
(``poppler-utils``) and a CJK font (``fonts-noto-cjk``): ``bash scripts/install_doc_tools.sh``
installs what is missing. Without them the tests are skipped, unless ``MRV_REQUIRE_DOC_TOOLS=1``
(CI), in which case they fail.

How "the Chinese glyphs render" is checked (no tofu boxes), three ways, all of which must hold:

1. ``pdftotext`` gives back the Chinese text. Alone this proves little: LibreOffice writes the
   text's Unicode even for glyphs it drew as empty boxes, so it is only the first step.
2. ``pdffonts`` lists an embedded CJK font (Noto Sans/Serif CJK, Source Han, SimSun, WenQuanYi,
   ...): the font that LibreOffice used, directly or as its substitute for the font the DOCX names
   (it has no SimSun here and takes Noto Sans CJK SC for it, or Noto Serif CJK SC when the text is
   marked ``w:lang w:eastAsia="zh-CN"``, as the documents' DOCX writer marks it).
3. The picture: a line of Chinese (a known one, or on the demo's PDD the longest all-Chinese word
   of page 1) is located on the page (``pdftotext -bbox``), cut into its character cells (CJK
   glyphs are all one em wide), and the cells of different characters are compared: the share of
   the ink in each square of an 8 x 8 grid over the ink's bounding box. Real glyphs of different characters differ; a font without CJK glyphs draws
   every one of them as the same ``.notdef`` box (or as nothing), so all cells look alike. The
   check fails when fewer than ``MIN_DISTINCT_SHARE`` of those pairs differ by ``CELL_DIFF``
   (measured here, L1 distance: real glyphs 0.28 to 1.4, median 0.85; tofu boxes 0 to 0.22).

``test_the_tofu_check_fails_without_a_cjk_font`` is the control: the same DOCX converted with
fontconfig told to reject every Chinese/Japanese/Korean font (``FONTCONFIG_FILE``), which is the
rendering of a machine without ``fonts-noto-cjk``; checks 2 and 3 must then fail. So a green run
shows that the checks can tell, on this machine, a CJK rendering from a tofu one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

TOOLS = ("soffice", "pdftoppm", "pdftotext", "pdffonts", "pdfinfo")
FIX = "run `bash scripts/install_doc_tools.sh` (Debian: libreoffice-writer, poppler-utils, fonts-noto-cjk)"
CONVERT_TIMEOUT_S = 120

CJK_FONT = re.compile(
    r"CJK|SourceHan|SimSun|NSimSun|SimHei|FangSong|KaiTi|Song|WenQuanYi|wqy|UKai|UMing|Droid\s*Sans\s*Fallback"
    r"|Fandol|MicrosoftYaHei|PingFang|STSong|STHeiti",
    re.IGNORECASE,
)
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

HEADING = "项目基本要求 Basic requirements"
KNOWN = "梨树县玉米保护性耕作增汇项目"  # 14 different characters
NOT_BLANK_STD = 3.0  # grey-level standard deviation of a page with text on it (a blank page: 0)
MIN_DISTINCT_SHARE = 0.8  # share of character-cell pairs that must differ (tofu: 0)
CELL_DIFF = 0.3  # two cells differ when their 8 x 8 ink-share grids differ by this much (L1, 0..2)
INK_LEVEL = 64  # ink (255 - grey) that counts for a glyph's bounding box


def _require_tools() -> None:
    """Skip (fail under MRV_REQUIRE_DOC_TOOLS=1) when a tool or a CJK font is missing."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not missing and shutil.which("fc-list"):
        fonts = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True).stdout
        if not fonts.strip():
            missing.append("a CJK font (fonts-noto-cjk)")
    if not missing:
        return
    msg = f"document tools missing: {', '.join(missing)}; {FIX}"
    if os.environ.get("MRV_REQUIRE_DOC_TOOLS") == "1":
        pytest.fail(f"MRV_REQUIRE_DOC_TOOLS=1 but {msg}")
    pytest.skip(msg)


@pytest.fixture
def doc_tools():
    _require_tools()


# --- conversion and rendering ---------------------------------------------------------------------


def to_pdf(docx: Path, outdir: Path, env: dict[str, str] | None = None) -> Path:
    """``soffice --headless --convert-to pdf`` with a private profile (parallel runs do not clash)."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / f".lo-profile-{docx.stem}"
    cmd = [
        "soffice",
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(outdir),
        str(docx),
    ]
    r = subprocess.run(
        cmd, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, env={**os.environ, **(env or {})}
    )
    pdf = outdir / f"{docx.stem}.pdf"
    assert r.returncode == 0 and pdf.is_file(), f"soffice failed ({r.returncode}): {r.stdout}\n{r.stderr}"
    return pdf


def render(pdf: Path, page: int = 1, dpi: int = 60) -> np.ndarray:
    """Page ``page`` as a grey-level array (0 black .. 255 white), rasterised by ``pdftoppm``.

    ``pdftoppm -gray`` writes a PGM (the same rasteriser as ``-png``), read here without Pillow."""
    r = subprocess.run(
        ["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), str(pdf)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", r.stdout)
    assert m and int(m.group(3)) == 255, f"pdftoppm gave no 8-bit PGM for page {page} of {pdf}"
    width, height = int(m.group(1)), int(m.group(2))
    data = np.frombuffer(r.stdout, dtype=np.uint8, count=width * height, offset=m.end())
    return data.reshape(height, width).astype(float)


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))


def pdf_text(pdf: Path, first: int = 1, last: int | None = None) -> str:
    cmd = ["pdftotext", "-enc", "UTF-8", "-f", str(first)] + (["-l", str(last)] if last else [])
    return subprocess.run([*cmd, str(pdf), "-"], capture_output=True, check=True).stdout.decode("utf-8")


def embedded_cjk_fonts(pdf: Path) -> list[str]:
    """Names of the embedded fonts that are CJK fonts, from ``pdffonts``."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    names = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type... emb sub uni id gen: "emb" is the fifth field from the end
        if len(parts) >= 6 and parts[-5] == "yes" and CJK_FONT.search(parts[0]):
            names.append(parts[0].split("+", 1)[-1])
    return names


def words(pdf: Path, page: int = 1) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The words of a page with their boxes in points (``pdftotext -bbox``)."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    root = ET.fromstring(out)
    return [
        (w.text or "", tuple(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")))
        for w in root.iter()
        if w.tag.endswith("word")
    ]


def character_cells(img: np.ndarray, box, n: int, dpi: int) -> list[np.ndarray]:
    """The ``n`` equal-width character cells of a word box (points) as ink arrays (0 = paper)."""
    s = dpi / 72.0
    x0, y0, x1, y1 = box
    top, bottom = int(np.floor(y0 * s)), int(np.ceil(y1 * s))
    edges = np.linspace(x0 * s, x1 * s, n + 1)
    ink = 255.0 - img
    return [
        ink[top:bottom, int(round(a)) : int(round(b))] for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


def ink_grid(cell: np.ndarray, k: int = 8) -> np.ndarray:
    """The share of the cell's ink in each square of a k x k grid laid over the ink's own bounding
    box (so the sub-pixel shift of one cell to the next does not count; a blank cell: zeros)."""
    inked = cell > INK_LEVEL
    if not inked.any():
        return np.zeros((k, k))
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    ink = cell[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    grid = np.array(
        [
            [block.sum() for block in np.array_split(band, k, axis=1)]
            for band in np.array_split(ink, k, axis=0)
        ]
    )
    return grid / max(grid.sum(), 1.0)


def distinct_share(text: str, cells: list[np.ndarray]) -> float:
    """Share of the cell pairs of two different characters of ``text`` whose ink grids differ by
    more than CELL_DIFF (a repeated character is expected to look alike)."""
    grids = [ink_grid(c) for c in cells]
    pairs = [(a, b) for (ca, a), (cb, b) in combinations(zip(text, grids, strict=True), 2) if ca != cb]
    return sum(np.abs(a - b).sum() > CELL_DIFF for a, b in pairs) / len(pairs)


def glyph_problems(pdf: Path, text: str | None = None, page: int = 1, dpi: int = 150) -> list[str]:
    """What shows that the Chinese of ``page`` does not render (empty: it renders).

    ``text``: a word of Chinese characters known to be on the page; None: the longest word on the
    page made of Chinese characters alone, at least 4 different ones."""
    problems = []
    if not embedded_cjk_fonts(pdf):
        problems.append("no CJK font embedded in the PDF (pdffonts)")
    found = words(pdf, page)
    if text is None:
        han_words = [(w, b) for w, b in found if len(set(w)) >= 4 and all(HAN.match(ch) for ch in w)]
        if not han_words:
            return [*problems, f"no word of 4+ different Chinese characters on page {page}"]
        text, box = max(han_words, key=lambda wb: (len(wb[0]), wb[1][3] - wb[1][1]))
    else:
        boxes = [b for w, b in found if w == text]
        if not boxes:
            return [*problems, f"{text!r} not found on page {page} (pdftotext -bbox)"]
        box = boxes[0]
    share = distinct_share(text, character_cells(render(pdf, page, dpi), box, len(text), dpi))
    if share < MIN_DISTINCT_SHARE:
        problems.append(
            f"the {len(set(text))} different characters of {text!r} render alike ({share:.0%} of pairs differ): tofu"
        )
    return problems


def assert_not_blank(img: np.ndarray, what: str) -> None:
    assert img.std() > NOT_BLANK_STD, f"{what} is blank (grey std {img.std():.2f})"


# --- a small document made here -------------------------------------------------------------------


def _set_fonts(rpr_parent, font: str) -> None:
    """Declare ``font`` for Latin and East Asian text; drop theme fonts (they would override it)."""
    from docx.oxml.ns import qn

    rfonts = rpr_parent.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        rfonts.set(qn(attr), font)


def make_docx(path: Path, font: str) -> Path:
    """Heading 1, a paragraph of Chinese (large: the glyph check reads it) and a table, in ``font``."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    for name in ("Normal", "Heading 1"):
        _set_fonts(doc.styles[name].element, font)
    doc.add_heading(HEADING, level=1)
    para = doc.add_paragraph()
    run = para.add_run(KNOWN)
    run.font.size = Pt(28)
    doc.add_paragraph("项目业主：梨树县农业技术推广总站。计入期 2024-01-01 至 2033-12-31。")
    table = doc.add_table(rows=3, cols=2)
    table.style = "Table Grid"
    for i, (k, v) in enumerate([("项目名称", KNOWN), ("方法学", "CMS-083-V01"), ("面积 Area", "1200 公顷")]):
        table.cell(i, 0).text, table.cell(i, 1).text = k, v
    doc.save(str(path))
    return path


def check_small_document(pdf: Path) -> list[str]:
    """Everything the small document must show, as a list of problems."""
    assert_not_blank(render(pdf, 1, 60), "page 1")
    text = pdf_text(pdf)
    problems = [f"{s!r} not in the PDF's text" for s in (HEADING, KNOWN, "项目名称") if s not in text]
    return problems + glyph_problems(pdf, KNOWN)


@pytest.mark.parametrize(
    "font",
    [
        "Noto Serif CJK SC",  # installed by fonts-noto-cjk
        "SimSun",  # not installed: LibreOffice must substitute a CJK font for it
    ],
)
def test_a_chinese_docx_converts_to_pdf_with_its_glyphs(doc_tools, tmp_path, font):
    pdf = to_pdf(make_docx(tmp_path / "small.docx", font), tmp_path / "pdf")
    assert check_small_document(pdf) == []
    if font == "Noto Serif CJK SC":
        assert any("NotoSerifCJK" in f for f in embedded_cjk_fonts(pdf)), embedded_cjk_fonts(pdf)


NO_CJK_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont><rejectfont>
    <pattern><patelt name="lang"><string>zh-cn</string></patelt></pattern>
    <pattern><patelt name="lang"><string>zh-tw</string></patelt></pattern>
    <pattern><patelt name="lang"><string>zh-hk</string></patelt></pattern>
    <pattern><patelt name="lang"><string>ja</string></patelt></pattern>
    <pattern><patelt name="lang"><string>ko</string></patelt></pattern>
  </rejectfont></selectfont>
</fontconfig>
"""


def test_the_tofu_check_fails_without_a_cjk_font(doc_tools, tmp_path):
    """The control: with every CJK font hidden from LibreOffice, the page shows tofu boxes, the text
    is still extractable (so pdftotext alone cannot tell), and the font and glyph checks fail."""
    conf = tmp_path / "no-cjk-fonts.conf"
    conf.write_text(NO_CJK_FONTCONFIG, encoding="utf-8")
    docx = make_docx(tmp_path / "small.docx", "Noto Serif CJK SC")
    pdf = to_pdf(docx, tmp_path / "pdf", env={"FONTCONFIG_FILE": str(conf)})
    assert KNOWN in pdf_text(pdf)  # the text is there ...
    problems = check_small_document(pdf)  # ... but not its glyphs
    assert any("no CJK font embedded" in p for p in problems), problems
    assert any("tofu" in p for p in problems), problems


# --- the demo's project design document -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_pdd(request, tmp_path_factory) -> Path:
    """``pdd.docx`` of ``mrv demo`` on the 40-plot sample county (``mrv document`` if the run did not
    write it). Checks the tools first: the demo run is not worth making without them."""
    _require_tools()
    pytest.importorskip("mrv_service.documents.render", reason="the documents package is not there yet")
    from click.testing import CliRunner

    from mrv_service.cli import cli
    from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

    if "document" not in getattr(cli, "commands", {}):
        pytest.skip("`mrv document` is not there yet: the documents are not wired into the CLI")
    small_county = request.getfixturevalue("small_county")
    tmp = tmp_path_factory.mktemp("demo-pdd")
    env = cli_env(tmp)
    r = CliRunner().invoke(cli, ["demo", "--sample", str(small_county)], env=env)
    assert r.exit_code == 0, r.output
    pdd = tmp / "out" / SAMPLE_PROJECT / "pdd.docx"
    if not pdd.is_file():
        r = CliRunner().invoke(cli, ["document", SAMPLE_PROJECT, "--kind", "pdd"], env=env)
        assert r.exit_code == 0, r.output
    assert pdd.is_file(), f"no {pdd}"
    return pdd


@pytest.mark.slow
def test_the_demo_pdd_converts_to_pdf_and_its_first_pages_show_chinese(demo_pdd, tmp_path):
    from docx import Document

    headings = [
        p.text for p in Document(str(demo_pdd)).paragraphs if p.style.name.lower().startswith("heading")
    ]
    assert headings, "the PDD has no heading styles"
    pdf = to_pdf(demo_pdd, tmp_path / "pdf")
    n = page_count(pdf)
    assert n >= 3, f"the PDD has {n} pages"
    for page in range(1, min(n, 3) + 1):
        assert_not_blank(render(pdf, page, 60), f"page {page}")
    text = re.sub(r"\s+", "", pdf_text(pdf, 1, n))
    assert HAN.search(pdf_text(pdf, 1, 1)), "no Chinese text on page 1"
    for heading in [h for h in headings if HAN.search(h)][:5]:  # wrapped lines: compare without spaces
        assert re.sub(r"\s+", "", heading) in text, heading
    assert glyph_problems(pdf, None, page=1) == []
