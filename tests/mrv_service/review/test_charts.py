"""SVG charts of the review pages (mrv_service.review.charts), parsed with xml.etree."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mrv_service.review.charts import credit_by_vintage_svg, timeseries_svg, trajectory_svg

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str, kind: str) -> ET.Element:
    assert svg.startswith("<svg")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("class") == f"chart chart-{kind}"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("640", "280", "0 0 640 280")
    # nothing outside the SVG: no URL but the namespace, hrefs only to the SVG's own ids
    assert re.findall(r"https?://[^\s\"'<>]*", svg) == ["http://www.w3.org/2000/svg"]
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    refs = [e.get("href") for e in root.iter() if e.get("href")]
    assert all(r.startswith("#") and r[1:] in ids for r in refs)
    assert "url(" not in svg.replace("url(#", "")
    return root


def _groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def _texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text") if t.text]


def _vertices(group: ET.Element) -> int:
    """Vertices of the first path of a line group (M + L commands)."""
    path = next(group.iter(f"{SVG}path"))
    return len(re.findall(r"[ML]", path.get("d")))


@pytest.fixture
def series() -> pd.DataFrame:
    # 12 dates of a season, 8 usable; NDVI rises to the canopy peak, NDTI falls after tillage
    time = pd.date_range("2024-03-27", periods=12, freq="20D")
    usable = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1], bool)
    ndvi = np.where(usable, [0.15, 0.16, 0, 0.2, 0.45, 0, 0.82, 0.8, 0, 0.55, 0, 0.2], np.nan)
    ndti = np.where(usable, [0.14, 0.13, 0, 0.05, 0.06, 0, 0.08, 0.09, 0, 0.1, 0, 0.12], np.nan)
    item = [f"S2A_51TXJ_{t:%Y%m%d}_0_L2A" for t in time]
    return pd.DataFrame({"time": time, "ndvi": ndvi, "ndti": ndti, "usable": usable, "item_id": item})


def test_timeseries_draws_usable_points_operations_and_verdicts(series):
    activities = pd.DataFrame(
        {
            "date": ["2024-04-20", "2024-05-02", "2024-09-30", "2024-10-05", "2024-06-10"],
            "activity": ["tillage", "sowing", "harvest", "residue", "fertiliser"],
            "method": ["no_till", None, None, "mulched", None],
        }
    )
    verdicts = pd.DataFrame(
        {
            "year": [2024, 2024],
            "practice": ["tillage", "residue"],
            "logged": ["conservation", "retained"],
            "detected": ["tilled", "retained"],
            "status": ["critical", "verified"],
        }
    )
    before = dict(matplotlib.rcParams)
    root = _parse(timeseries_svg(series, activities, verdicts), "timeseries")
    assert dict(matplotlib.rcParams) == before  # rcParams only inside the chart
    ndvi, ndti = _groups(root, "series-ndvi"), _groups(root, "series-ndti")
    assert len(ndvi) == len(ndti) == 1 and len(_groups(root, "series")) == 2
    assert _vertices(ndvi[0]) == _vertices(ndti[0]) == int(series["usable"].sum())
    # the four field operations drawn, the fertiliser row not
    assert len(_groups(root, "activity")) == 4
    for kind in ("tillage", "sowing", "harvest", "residue"):
        assert len(_groups(root, f"activity-{kind}")) == 1
    assert len(_groups(root, "verdict")) == 2 and len(_groups(root, "verdict-critical")) == 1
    texts = _texts(root)
    for label in (
        "植被指数 NDVI",
        "耕作指数 NDTI",
        "耕作 tillage",
        "播种 sowing",
        "收获 harvest",
        "秸秆处理 residue",
    ):
        assert label in texts
    assert "记录 logged → 检测 detected" in texts
    assert "耕作 免少耕→翻旋耕 ×" in texts and "秸秆 还田 ✓" in texts
    assert any("免耕" in t for t in texts)  # the operation's method, in Chinese
    assert "2024" in texts


def test_timeseries_without_logs_or_verdicts_and_without_usable_dates(series):
    root = _parse(timeseries_svg(series, None), "timeseries")
    assert (
        len(_groups(root, "series")) == 2 and not _groups(root, "activity") and not _groups(root, "verdict")
    )
    empty = series.assign(usable=False)
    root = _parse(timeseries_svg(empty, pd.DataFrame(columns=["date", "activity", "method"])), "timeseries")
    assert not _groups(root, "series") and "无可用影像 no usable image" in _texts(root)


def test_trajectory_lines_band_and_bilingual_legend():
    years = np.arange(2021, 2034)
    t = np.clip(years - 2023, 0, None)
    traj = xr.Dataset(
        {
            "soc_baseline": ("year", 48.0 + 0.02 * (years - 2021)),
            "soc_project": ("year", 48.0 + 0.02 * (years - 2021) + 0.26 * t),
            "litter_baseline": ("year", np.full(years.size, 0.4)),
            "litter_project": ("year", np.where(t > 0, 2.6, 0.4)),
            "delta_p5": ("year", -0.1 * t),
            "delta_p95": ("year", 0.6 * t),
        },
        coords={"year": years, "plot": "LS-000001"},
    )
    root = _parse(trajectory_svg(traj), "trajectory")
    for name in ("soc-baseline", "soc-project", "litter-baseline", "litter-project"):
        (g,) = _groups(root, f"series-{name}")
        assert _vertices(g) == years.size
    dashed = [
        g
        for g in _groups(root, "series")
        if "stroke-dasharray" in next(g.iter(f"{SVG}path")).get("style", "")
    ]
    assert {g.get("class") for g in dashed} == {
        "series series-litter-baseline",
        "series series-litter-project",
    }
    (band,) = _groups(root, "series-band")
    assert band.find(f".//{SVG}path") is not None
    texts = _texts(root)
    for label in (
        "基线 土壤有机碳 baseline SOC",
        "项目 土壤有机碳 project SOC",
        "基线 地表残茬碳 baseline litter C",
        "项目 地表残茬碳 project litter C",
        "项目 5-95% 区间 project 5-95 % band",
        "土壤有机碳 soil SOC (t C/ha)",
        "地表残茬碳 litter C (t C/ha)",
    ):
        assert label in texts


def test_credit_by_vintage_bars_intervals_and_net():
    vintages = {
        "2025": {
            "removals": {"mean": 596.971, "p5": -84.894, "p95": 1277.789},
            "net": -15.991,
            "emissions": 15.991,
        },
        "2024": {
            "removals": {"mean": 32.221, "p5": -372.062, "p95": 462.069},
            "net": -18.083,
            "emissions": 18.083,
        },
        "2026": {"removals": {"mean": 610.0, "p5": 120.0, "p95": 1100.0}, "net": 420.5, "emissions": 14.0},
    }
    root = _parse(credit_by_vintage_svg(vintages), "vintages")
    assert len(_groups(root, "series-removals")) == 3  # one bar per vintage
    (interval,) = _groups(root, "series-removals-interval")
    assert len(re.findall(r"M", "".join(p.get("d") for p in interval.iter(f"{SVG}path")))) == 3
    (net,) = _groups(root, "series-net")
    assert len(list(net.iter(f"{SVG}use"))) == 3  # three diamonds
    texts = _texts(root)
    assert [t for t in texts if t in vintages] == ["2024", "2025", "2026"]  # in year order
    for label in (
        "清除量 removals (均值 mean)",
        "5-95% 区间 5-95 % interval",
        "净核证量 net credited",
        "年度 vintage",
        "t CO2e",
    ):
        assert label in texts


def test_no_vintages():
    root = _parse(credit_by_vintage_svg({}), "vintages")
    assert "无年度数据 no vintage data" in _texts(root) and not _groups(root, "series")
