"""Tests of the bundled sample county generator (mrv_service.sample).

Reference values come from docs/DATA_FORMATS.md (headers, units, project keys), GB 11643-1999
(check digit), the climate normals (docs/CLIMATE_SOURCES.md) and county SOM cited in the generator, and the
assignment (>= 1,000 plots, about 300 farmers / 10 villages, 0.1-2 ha with median about
0.4 ha, about 60 % adoption, about 5 % contradicted plot-seasons).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from mrv_service.commands.sample import group
from mrv_service.sample import (
    DEFAULT_SEED,
    SampleError,
    SampleExistsError,
    create_sample,
    generate,
    national_id_check_digit,
)

REPO = Path(__file__).resolve().parents[2]
DATA_FORMATS = REPO / "docs" / "DATA_FORMATS.md"
DETERMINISTIC = [
    "plots.geojson",
    "farmers.csv",
    "activity_logs_baseline.csv",
    "activity_logs_project.xlsx",
    "soil_samples.csv",
    "weather_monthly.csv",
    "plot_properties.csv",
    "truth.csv",
    "project.json",
]
ALL_FILES = {
    "README.md",
    "project.json",
    "plots.geojson",
    "farmers.csv",
    "activity_logs_baseline.csv",
    "activity_logs_project.xlsx",
    "soil_samples.csv",
    "weather_monthly.csv",
    "plot_properties.csv",
    "truth.csv",
}
# Chinese header units -> the unit names DATA_FORMATS.md uses
ZH_UNITS = {"公斤/亩": "kg/mu", "斤/亩": "jin/mu", "升": "L", "m3/亩": "m3/mu", "%": "%"}
# 1 t/ha = 1000 kg / 15 mu = 66.67 kg/mu = 133.33 jin/mu (1 mu = 1/15 ha, 1 jin = 0.5 kg)
JIN_MU_PER_T_HA = 1000.0 / 15.0 / 0.5


def _contract_table(section: str) -> dict[str, dict]:
    """Rows of a DATA_FORMATS.md field table: canonical -> {unit, aliases, units}."""
    text = DATA_FORMATS.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0].startswith(("canonical", "---", "field")):
            continue
        m = re.match(r"(\w+)(?: \[(.+)\])?", cells[0])
        if not m:
            continue
        units = {m.group(2)} if m.group(2) else set()
        um = re.search(r"units?:? ([^;]+)", cells[2])
        if um:
            units |= {u.split("(")[0].strip() for u in um.group(1).split(",")}
        if "`%` in the header unit" in cells[2]:
            units.add("%")
        rows[m.group(1)] = {"aliases": {a.strip() for a in cells[1].split(",")}, "units": units}
    return rows


def _split_header(header: str) -> tuple[str, str | None]:
    m = re.fullmatch(r"(.+?)\s*\((.+)\)", header)
    return (m.group(1), m.group(2)) if m else (header, None)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, object]:
    directory = tmp_path_factory.mktemp("sample") / "lishu"
    return directory, create_sample(directory, n_plots=60, imagery=False)


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> tuple[Path, object]:
    directory = tmp_path_factory.mktemp("sample_default") / "lishu"
    return directory, create_sample(directory, imagery=False)


def _read_xlsx(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name="activity_logs", engine="openpyxl")


# -- GB 11643 check digit ---------------------------------------------------------------------


def test_check_digit_matches_gb11643_example():
    # GB 11643-1999 example 11010519491231002X: sum(a_i * W_i) = 7+9+0+5+0+20+2+9+24+27+7+18+30+5
    # +0+0+4 = 167; 167 mod 11 = 2 -> "10X98765432"[2] = "X".
    assert national_id_check_digit("11010519491231002") == "X"
    # 44052418800101001: 4*7+4*9+0+5*5+2*8+4*4+1*2+8*1+8*6+0+0+1*9+0+1*5+0+0+1*2 = 195;
    # 195 mod 11 = 8 -> "4".
    assert national_id_check_digit("44052418800101001") == "4"


@pytest.mark.parametrize("body", ["1234", "1101051949123100X", "110105194912310021"])
def test_check_digit_rejects_bad_body(body):
    with pytest.raises(SampleError, match="17 digits"):
        national_id_check_digit(body)


# -- small county, all files -------------------------------------------------------------------


def test_files_written(small):
    directory, summary = small
    assert {p.name for p in directory.iterdir()} == ALL_FILES
    assert set(summary.files) == ALL_FILES
    assert summary.n_plots == 60
    assert not (directory / "imagery").exists()


def test_project_json(small):
    directory, _ = small
    project = json.loads((directory / "project.json").read_text(encoding="utf-8"))
    assert project == {
        "name": "lishu-conservation-tillage",
        "name_zh": "梨树县玉米保护性耕作增汇项目",
        "methodology_id": "CMS-083-V01",
        "region": {
            "province": "吉林省",
            "city": "四平市",
            "county": "梨树县",
            "lon": 124.36667,
            "lat": 43.41667,
        },
        "crediting_period": {"start": "2024-01-01", "end": "2033-12-31"},
        "baseline_years": [2021, 2022, 2023],
        "project_years": [2024, 2025],
        "settings": {"imagery": {"source": "imagery/catalog.json"}},
        "seed": DEFAULT_SEED,
        "n_plots": 60,
        "sample_version": 3,
    }


def test_plots_geojson_contract(small):
    directory, _ = small
    raw = json.loads((directory / "plots.geojson").read_text(encoding="utf-8"))
    assert "crs" not in raw  # RFC 7946: EPSG:4326
    props = raw["features"][0]["properties"]
    fields = list(_contract_table("1. Plots")) or []
    assert list(props) == [
        "plot_id",
        "farmer_id",
        "farmer_name",
        "village",
        "national_id",
        "county",
        "cropping_system",
    ]
    assert set(props) <= set(fields) | {
        "plot_id",
        "farmer_id",
        "farmer_name",
        "village",
        "national_id",
        "county",
        "cropping_system",
    }
    plots = gpd.read_file(directory / "plots.geojson")
    assert plots.crs.to_epsg() == 4326
    assert plots["plot_id"].is_unique
    assert plots["plot_id"].str.fullmatch(r"LS-\d{6}").all()
    assert (plots["county"] == "梨树县").all()
    assert (plots["cropping_system"] == "spring_maize").all()
    assert plots["village"].str.endswith("村").all()
    # the plots lie within 25 km of Lishu (43°25'N 124°22'E)
    centre = plots.to_crs(32651).union_all().centroid
    ref = gpd.GeoSeries.from_xy([124 + 22 / 60], [43 + 25 / 60], crs=4326).to_crs(32651).iloc[0]
    assert centre.distance(ref) < 25_000


def test_farmers_and_national_ids(small):
    directory, summary = small
    farmers = pd.read_csv(directory / "farmers.csv", dtype=str)
    assert list(farmers.columns) == ["farmer_id", "farmer_name", "village", "national_id"]
    assert len(farmers) == summary.n_farmers == 15  # 60 plots / 4 plots per farmer
    ids = farmers["national_id"]
    assert ids.str.fullmatch(r"99\d{15}[\dX]").all()  # region 99xxxx: no such province
    assert ids.is_unique
    assert all(national_id_check_digit(i[:17]) == i[17] for i in ids)
    assert farmers["farmer_name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    plots = gpd.read_file(directory / "plots.geojson")
    merged = plots.merge(farmers, on="farmer_id", suffixes=("", "_f"), validate="many_to_one")
    assert (merged["national_id"] == merged["national_id_f"]).all()
    assert (merged["village"] == merged["village_f"]).all()


def test_baseline_log_headers_and_units(small):
    directory, _ = small
    logs = pd.read_csv(directory / "activity_logs_baseline.csv", dtype=str, keep_default_na=False)
    contract = _contract_table("2. Activity logs")
    alias_of = {a: name for name, row in contract.items() for a in row["aliases"]}
    for header in logs.columns:
        base, unit = _split_header(header)
        assert base in alias_of, f"{header!r} is no Chinese alias of DATA_FORMATS.md section 2"
        if unit is not None:
            assert ZH_UNITS[unit] in contract[alias_of[base]]["units"], header
    assert "产量(斤/亩)" in logs.columns and "施用量(公斤/亩)" in logs.columns and "柴油(升)" in logs.columns
    dates = pd.to_datetime(logs["日期"], format="%Y/%m/%d")
    assert set(dates.dt.year) == {2021, 2022, 2023}
    assert set(logs["作业类型"]) <= {"播种", "收获", "耕作", "秸秆处理", "施肥", "施有机肥", "灌溉"}
    assert set(logs.loc[logs["作业类型"] == "耕作", "方式"]) <= {"翻耕", "旋耕"}
    assert set(logs.loc[logs["作业类型"] == "秸秆处理", "方式"]) <= {"离田", "还田"}
    assert (logs.loc[logs["作业类型"] == "秸秆处理", "方式"] == "离田").mean() > 0.85


def test_project_log_headers_and_units(small):
    directory, _ = small
    logs = _read_xlsx(directory / "activity_logs_project.xlsx")
    contract = _contract_table("2. Activity logs")
    for header in logs.columns:
        base, unit = _split_header(header)
        assert base in contract, f"{header!r} is no canonical field of DATA_FORMATS.md section 2"
        if unit is not None:
            assert unit in contract[base]["units"], header
    assert set(pd.to_datetime(logs["date"]).dt.year) == {2024, 2025}
    assert set(logs["activity"]) <= {
        "sowing",
        "harvest",
        "tillage",
        "residue",
        "fertiliser",
        "manure",
        "irrigation",
    }
    assert set(logs.loc[logs["activity"] == "tillage", "method"]) <= {"plough", "rotary", "no_till"}
    assert set(logs.loc[logs["activity"] == "residue", "method"]) <= {"removed", "retained", "mulched"}


def test_soil_samples_contract_and_values(default):
    directory, summary = default
    samples = pd.read_csv(directory / "soil_samples.csv")
    contract = _contract_table("3. Soil samples")
    alias_of = {a: name for name, row in contract.items() for a in row["aliases"]}
    for header in samples.columns:
        base, unit = _split_header(header)
        assert base in alias_of, header
        if unit is not None:
            assert unit in contract[alias_of[base]]["units"], header
    plots_sampled = samples["地块编号"].nunique()
    assert plots_sampled == round(0.1 * summary.n_plots)
    assert samples["样品编号"].is_unique
    assert (samples["下层深度(cm)"] > samples["上层深度(cm)"]).all()
    assert samples["容重(g/cm3)"].between(1.2, 1.4).all()
    # every row has SOC or SOM (some SOM only), never both
    assert (samples["有机碳(g/kg)"].notna() ^ samples["有机质(g/kg)"].notna()).all()
    assert samples["有机碳(g/kg)"].isna().sum() > 0.3 * len(samples)
    top = samples[samples["上层深度(cm)"] == 0]
    som = top["有机质(g/kg)"].fillna(top["有机碳(g/kg)"] / 0.58)
    # Yan et al. 2023: county mean topsoil SOM 20.84 g/kg (2018); sample mean within +-1.5 g/kg
    assert som.mean() == pytest.approx(20.84, abs=1.5)


def test_plot_properties(small):
    directory, _ = small
    props = pd.read_csv(directory / "plot_properties.csv")
    assert list(props.columns) == ["plot_id", "clay_pct", "soc_0_30_t_ha"]
    assert props["clay_pct"].between(18, 38).all()
    # SOC 0-30 cm: ~12 g/kg x 1.27 x 20 x 0.1 + ~9.5 g/kg x 1.32 x 10 x 0.1 = 30.5 + 12.5 = 43 t C/ha
    assert props["soc_0_30_t_ha"].mean() == pytest.approx(43.0, abs=4.0)
    assert props["soc_0_30_t_ha"].between(20, 70).all()


# Monthly normals the weather file is generated around (sources: docs/CLIMATE_SOURCES.md).
# Lishu station, 1991-2020 normals, daily mean and mean daily maximum [degC]: English Wikipedia
# "Lishu County" climate box (stored copy https://nakenako.serv00.net/https-en.m.wikipedia.org/wiki/Lishu_County).
LISHU_TMEAN = [-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8]
LISHU_TMAX = [-8.1, -2.7, 5.5, 15.5, 22.8, 27.0, 28.5, 27.5, 23.0, 14.5, 3.0, -5.9]
# Precipitation [mm], 1991-2020 CMA normals of Xinchengzi, Shenbei New Area, Shenyang (elevation 62 m),
# the nearest station whose monthly normals could be read (Wikipedia "Shenbei New Area",
# stored copy https://click.kcodes.me/wiki/Shenbei_New_Area); year 651 mm.
XINCHENGZI_PRECIP = [4.6, 7.6, 14.1, 31.3, 58.9, 84.0, 188.2, 149.6, 44.9, 39.3, 19.4, 9.1]
# Hargreaves ET0 [mm] of the Lishu normals (hand-checked below for July); pan = ET0 / 0.75.
LISHU_ET0 = [5.2, 15.1, 45.1, 90.3, 136.8, 149.5, 146.7, 129.5, 96.3, 53.7, 19.9, 7.3]


def test_weather_from_normals(small):
    directory, _ = small
    w = pd.read_csv(directory / "weather_monthly.csv")
    assert list(w.columns) == ["year", "month", "tmean_degC", "precip_mm", "pan_evap_mm"]
    assert len(w) == 25 * 12 and w["year"].min() == 2001 and w["year"].max() == 2025
    assert (w["precip_mm"] >= 0).all() and (w["pan_evap_mm"] > 0).all()
    monthly = w.groupby("month").mean()
    # 25-year means against the normals, within the generator's synthetic noise:
    # temperature sd 0.6 (year) + 0.9-1.5 degC (month) -> 1.2 degC covers > 3 standard errors
    np.testing.assert_allclose(monthly["tmean_degC"], LISHU_TMEAN, atol=1.2)
    # precipitation: gamma CV 0.45 (May-Sep) or 0.8 (other months) times a year factor (sd 0.12);
    # 3 standard errors of a 25-year mean
    cv = np.where((np.arange(1, 13) >= 5) & (np.arange(1, 13) <= 9), 0.45, 0.8)
    three_se = 3 * np.sqrt(cv**2 + 0.12**2) / np.sqrt(25)
    rel = monthly["precip_mm"].to_numpy() / np.array(XINCHENGZI_PRECIP) - 1
    assert (np.abs(rel) < three_se).all(), rel.round(2)
    # pan evaporation: ET0 / 0.75 with 5 % noise and small temperature / wetness adjustments
    np.testing.assert_allclose(monthly["pan_evap_mm"], np.array(LISHU_ET0) / 0.75, rtol=0.08)
    annual = w.groupby("year")[["precip_mm", "pan_evap_mm"]].sum().mean()
    assert annual["precip_mm"] == pytest.approx(651, rel=0.1)  # Xinchengzi normals, 651 mm
    assert annual["pan_evap_mm"] == pytest.approx(895.5 / 0.75, rel=0.05)  # ET0 895.5 mm / 0.75


def test_weather_normals_and_their_sources():
    from mrv_service.sample import generator

    np.testing.assert_array_equal(generator.TMEAN_NORMAL_DEGC, LISHU_TMEAN)
    np.testing.assert_array_equal(generator.TMAX_NORMAL_DEGC, LISHU_TMAX)
    np.testing.assert_array_equal(generator.PRECIP_NORMAL_MM, XINCHENGZI_PRECIP)
    assert generator.PRECIP_NORMAL_MM.sum() == pytest.approx(651.0, abs=0.05)  # the box's "Year"
    np.testing.assert_allclose(generator.PET_NORMAL_MM, LISHU_ET0, atol=0.05)
    assert not any(name.endswith("PLACEHOLDER_MM") for name in dir(generator))
    text = (REPO / "mrv_service" / "sample" / "generator.py").read_text(encoding="utf-8")
    assert "Xinchengzi" in text and "Hargreaves" in text and "CLIMATE_SOURCES.md" in text


def test_hargreaves_pet_against_hand_calculation():
    import doctest
    import math

    from mrv_service.sample import climate

    # FAO-56 example 8: 20 deg S on 3 September (J = 246), Ra = 32.2 MJ m-2 d-1
    assert float(climate.extraterrestrial_radiation(-20.0, 246)) == pytest.approx(32.2, abs=0.05)
    # Lishu, July (J = INTEGER(30.4 x 7 - 15) = 197), latitude 43 deg 25 min N, by hand:
    lat = math.radians(43 + 25 / 60)
    dr = 1 + 0.033 * math.cos(2 * math.pi * 197 / 365)
    dec = 0.409 * math.sin(2 * math.pi * 197 / 365 - 1.39)
    ws = math.acos(-math.tan(lat) * math.tan(dec))
    ra = (
        24
        * 60
        / math.pi
        * 0.0820
        * dr
        * (ws * math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.sin(ws))
    )
    assert ra == pytest.approx(40.6, abs=0.05)  # MJ m-2 d-1
    tmean, tmax = 24.1, 28.5
    tmin = 2 * tmean - tmax  # 19.7 degC: Tmin derived, the stored climate box lacks it
    et0_day = 0.0023 * (tmean + 17.8) * math.sqrt(tmax - tmin) * 0.408 * ra  # FAO-56 eq. 52
    assert et0_day == pytest.approx(4.73, abs=0.01)  # mm d-1
    july = climate.monthly_hargreaves_et0(LISHU_TMEAN, LISHU_TMAX, 43 + 25 / 60)[6]
    assert july == pytest.approx(et0_day * 31, rel=1e-9)
    assert july == pytest.approx(146.7, abs=0.05)
    # winter months stay small and positive; Tmean + 17.8 < 0 gives no demand
    assert float(climate.hargreaves_et0(-20.0, -15.0, -25.0, 10.0)) == 0.0
    with pytest.raises(ValueError, match="12 monthly values"):
        climate.monthly_hargreaves_et0([1.0] * 11, [2.0] * 11, 43.4)
    # the module's own examples (doctests) hold
    result = doctest.testmod(climate)
    assert result.attempted >= 5 and result.failed == 0


def test_logs_agree_with_truth(small):
    directory, _ = small
    truth = pd.read_csv(directory / "truth.csv")
    assert list(truth.columns) == [
        "plot_id",
        "year",
        "logged_tillage",
        "true_tillage",
        "logged_residue",
        "true_residue",
        "contradicted",
    ]
    assert len(truth) == 60 * 5
    base = pd.read_csv(directory / "activity_logs_baseline.csv", dtype=str)
    proj = _read_xlsx(directory / "activity_logs_project.xlsx")
    zh = {"翻耕": "plough", "旋耕": "rotary", "离田": "removed", "还田": "retained"}
    base["year"] = pd.to_datetime(base["日期"], format="%Y/%m/%d").dt.year
    proj["year"] = pd.to_datetime(proj["date"]).dt.year
    logged = pd.concat(
        [
            base[base["作业类型"] == "耕作"].assign(kind="tillage", value=lambda d: d["方式"].map(zh)),
            base[base["作业类型"] == "秸秆处理"].assign(kind="residue", value=lambda d: d["方式"].map(zh)),
            proj[proj["activity"].isin(["tillage", "residue"])].assign(
                kind=lambda d: d["activity"], value=lambda d: d["method"]
            ),
        ]
    )
    logged["plot_id"] = logged["地块编号"].fillna(logged["plot_id"])
    wide = logged.pivot_table(index=["plot_id", "year"], columns="kind", values="value", aggfunc="first")
    merged = truth.set_index(["plot_id", "year"]).join(wide)
    assert (merged["tillage"] == merged["logged_tillage"]).all()
    assert (merged["residue"] == merged["logged_residue"]).all()
    contradicted = (merged["logged_tillage"] != merged["true_tillage"]) | (
        merged["logged_residue"] != merged["true_residue"]
    )
    assert (contradicted == merged["contradicted"]).all()


def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    directory, _ = small
    again = tmp_path / "again"
    create_sample(again, n_plots=60, imagery=False)
    for name in DETERMINISTIC:
        assert (again / name).read_bytes() == (directory / name).read_bytes(), name
    other = tmp_path / "other"
    create_sample(other, n_plots=60, seed=DEFAULT_SEED + 1, imagery=False)
    for name in ["plots.geojson", "activity_logs_baseline.csv", "weather_monthly.csv", "truth.csv"]:
        assert (other / name).read_bytes() != (directory / name).read_bytes(), name


def test_xlsx_continues_on_new_sheets_beyond_row_limit(small, tmp_path, monkeypatch):
    from mrv_service.sample import generator

    directory, _ = small
    monkeypatch.setattr(generator, "EXCEL_MAX_DATA_ROWS", 100)
    create_sample(tmp_path / "split", n_plots=60, imagery=False)
    sheets = pd.read_excel(tmp_path / "split" / "activity_logs_project.xlsx", sheet_name=None)
    whole = _read_xlsx(directory / "activity_logs_project.xlsx")
    n = len(whole)
    assert list(sheets) == ["activity_logs"] + [f"activity_logs_{k}" for k in range(2, -(-n // 100) + 1)]
    assert [len(df) for df in sheets.values()] == [100] * (n // 100) + ([n % 100] if n % 100 else [])
    joined = pd.concat(sheets.values(), ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)


def test_existing_directory_refused_unless_overwrite(small, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(SampleExistsError, match="not empty"):
        create_sample(target, n_plots=5, imagery=False)
    summary = create_sample(target, n_plots=5, imagery=False, overwrite=True)
    assert summary.n_plots == 5 and (target / "plots.geojson").exists()


@pytest.mark.parametrize("n_plots", [0, -3, True, 2.5, 10**7])
def test_bad_plot_count(n_plots, tmp_path):
    with pytest.raises(SampleError, match="n_plots"):
        create_sample(tmp_path / "x", n_plots=n_plots, imagery=False)


def test_generate_tiny_counties():
    for n in (1, 2, 7):
        data = generate(n_plots=n)
        assert len(data.plots) == n
        assert len(data.truth) == 5 * n
        assert len(data.soil_samples) == 2  # one plot, two layers


def test_states_carry_per_plot_season_surface_draws():
    """The true states handed to the imagery carry one residue cover (after harvest) and one
    tillage-remaining fraction per plot-season, drawn from the documented class ranges (removed
    0.05-0.45, mulched 0.45-0.98; plough 0-0.10, rotary 0.20-0.50, no-till planter 0.85-0.95, the
    Purdue/NRCS residue-remaining tables), from a stream of their own spawned after the others,
    so the same seed gives the same draws and the truth and logs are those of sample version 2."""
    data = generate(n_plots=200)
    st = data.states
    assert len(st) == 200 * 5 and st[["residue_cover", "tillage_remaining", "char_cover"]].notna().all().all()
    ranges = {"removed": (0.05, 0.45), "mulched": (0.45, 0.98)}
    for residue, (lo, hi) in ranges.items():
        c = st.loc[st["residue"] == residue, "residue_cover"]
        assert len(c) > 50 and lo <= c.min() and c.max() <= hi and c.nunique() == len(c)
    # class means at the range midpoints (symmetric draws): mulched 0.715, removed 0.25
    means = st.groupby("residue")["residue_cover"].mean()
    assert means["mulched"] == pytest.approx(0.715, abs=0.04) and means["removed"] == pytest.approx(
        0.25, abs=0.04
    )
    for tillage, (lo, hi) in {"plough": (0.0, 0.10), "rotary": (0.20, 0.50), "no_till": (0.85, 0.95)}.items():
        k = st.loc[st["tillage"] == tillage, "tillage_remaining"]
        assert len(k) > 20 and lo <= k.min() and k.max() <= hi
    assert (st["char_cover"] == 0).all() and st["burn_date"].isna().all()  # nothing burned in the truth
    again = generate(n_plots=200)
    pd.testing.assert_frame_equal(st, again.states)
    pd.testing.assert_frame_equal(data.truth, again.truth)


@pytest.mark.parametrize("n", [1, 270, 271, 2700, 5000])
def test_village_names_unique_at_any_scale(n):
    from mrv_service.sample.generator import _village_names

    names = _village_names(np.random.default_rng(0), n)
    assert len(names) == len(set(names)) == n
    assert all(name.endswith("村") for name in names)


def test_progress_callable_sees_each_step(tmp_path):
    seen = []

    def progress(iterable):
        for item in iterable:
            seen.append(item[0])
            yield item

    create_sample(tmp_path / "p", n_plots=5, imagery=False, progress=progress)
    assert seen == ["generate", "write files", "README"]


def test_cli_create(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        group, ["create", str(tmp_path / "c"), "--plots", "20", "--no-imagery", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "20 plots" in result.output
    assert (tmp_path / "c" / "plots.geojson").exists()
    again = runner.invoke(
        group, ["create", str(tmp_path / "c"), "--plots", "20", "--no-imagery", "--no-progress"]
    )
    assert again.exit_code == 2 and "not empty" in again.output
    bad = runner.invoke(group, ["create", str(tmp_path / "d"), "--plots", "0", "--no-imagery"])
    assert bad.exit_code == 2


# -- default county ------------------------------------------------------------------------------


def test_default_county_shape(default):
    directory, summary = default
    plots = gpd.read_file(directory / "plots.geojson").to_crs(32651)
    assert len(plots) == summary.n_plots == 1200
    assert 270 <= plots["farmer_id"].nunique() <= 330
    assert 9 <= plots["village"].nunique() <= 11
    area = plots.area / 1e4
    assert area.min() >= 0.1 and area.max() <= 2.0
    assert 0.33 <= area.median() <= 0.47
    # no overlaps (and no touching: strips are separated by boundary ridges)
    geoms = plots.geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()
    # quadrilaterals, compact extent (a few km)
    assert (shapely.get_num_coordinates(geoms) == 5).all()
    x0, y0, x1, y1 = plots.total_bounds
    assert max(x1 - x0, y1 - y0) < 8000
    # a farmer's plots stay in the farmer's village
    assert plots.groupby("farmer_id")["village"].nunique().max() == 1


def test_default_county_management(default):
    directory, _ = default
    truth = pd.read_csv(directory / "truth.csv")
    assert truth["contradicted"].mean() == pytest.approx(0.05, abs=0.005)
    proj = _read_xlsx(directory / "activity_logs_project.xlsx")
    till = proj[proj["activity"] == "tillage"].assign(year=lambda d: pd.to_datetime(d["date"]).dt.year)
    for year in (2024, 2025):
        share = (till.loc[till["year"] == year, "method"] == "no_till").mean()
        assert share == pytest.approx(0.60, abs=0.05)
    # whole farmers adopt, mostly: >= 80 % of farmers are all-or-nothing
    plots = gpd.read_file(directory / "plots.geojson")
    t25 = till[till["year"] == 2025].merge(plots[["plot_id", "farmer_id"]], on="plot_id")
    per_farmer = t25.groupby("farmer_id")["method"].agg(lambda m: (m == "no_till").mean())
    assert per_farmer.isin([0.0, 1.0]).mean() >= 0.8
    # baseline: no no-till; straw removed
    assert set(truth.loc[truth["year"] <= 2023, "true_tillage"]) <= {"plough", "rotary"}
    assert set(truth.loc[truth["year"] <= 2023, "true_residue"]) == {"removed"}
    # both kinds of contradiction occur
    bad = truth[truth["contradicted"]]
    assert ((bad["logged_tillage"] == "no_till") & (bad["true_tillage"] != "no_till")).any()
    assert ((bad["logged_residue"] != "removed") & (bad["true_residue"] == "removed")).any()


def test_default_county_agronomy_in_both_unit_systems(default):
    directory, _ = default
    base = pd.read_csv(directory / "activity_logs_baseline.csv")
    proj = _read_xlsx(directory / "activity_logs_project.xlsx")
    # yields about 9-11 t/ha (china_sample_context.md, unverified): jin/mu -> t/ha
    y_base = base.loc[base["作业类型"] == "收获", "产量(斤/亩)"] / JIN_MU_PER_T_HA
    y_proj = proj.loc[proj["activity"] == "harvest", "yield (t/ha)"]
    for y in (y_base, y_proj):
        assert 9.0 <= y.mean() <= 11.0
        assert 0.5 <= y.std() <= 1.5
    # N rate 180-250 kg N/ha per season: kg/mu x %N / 100 x 15 mu/ha
    base["year"] = pd.to_datetime(base["日期"], format="%Y/%m/%d").dt.year
    fert = base[base["作业类型"] == "施肥"]
    n_ha = (
        (fert["施用量(公斤/亩)"] * fert["含氮量(%)"] / 100 * 15)
        .groupby([fert["地块编号"], fert["year"]])
        .sum()
    )
    assert 180 <= n_ha.mean() <= 250
    pf = proj[proj["activity"] == "fertiliser"]
    n_ha_p = (
        (pf["product_rate (kg/ha)"] * pf["n_content (%)"] / 100)
        .groupby([pf["plot_id"], pf["date"].dt.year])
        .sum()
    )
    assert n_ha_p.mean() == pytest.approx(n_ha.mean(), rel=0.05)
    # sowing late April / early May, harvest late September / early October
    sow = pd.to_datetime(base.loc[base["作业类型"] == "播种", "日期"], format="%Y/%m/%d")
    assert sow.dt.strftime("%m-%d").between("04-15", "05-15").all()
    har = pd.to_datetime(proj.loc[proj["activity"] == "harvest", "date"])
    assert har.dt.strftime("%m-%d").between("09-15", "10-20").all()
    # diesel: a ploughing pass uses more per hectare than a no-till season's tillage (none)
    till = proj[proj["activity"] == "tillage"]
    assert till.loc[till["method"] == "no_till", "diesel (L/ha)"].isna().all()
    assert (
        till.loc[till["method"] == "plough", "diesel (L/ha)"].mean()
        > till.loc[till["method"] == "rotary", "diesel (L/ha)"].mean()
    )
    # occasional manure and irrigation
    assert 0.01 < (base["作业类型"] == "施有机肥").sum() / (base["作业类型"] == "收获").sum() < 0.15
    assert (base["作业类型"] == "灌溉").any()
