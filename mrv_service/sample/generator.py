"""Seeded generator of the bundled sample county: Lishu County (梨树县), Jilin.

Maize smallholders of a few villages switch from ploughing with straw removal (baseline
seasons 2021-2023) to no-till with straw mulch (project seasons 2024-2025). The generator
writes the files of ``docs/DATA_FORMATS.md`` section 4 into one directory:

================================  ==========================================================
``plots.geojson``                 strip plots, EPSG:4326, properties of section 1
``farmers.csv``                   farmer_id, farmer_name, village, national_id (synthetic)
``activity_logs_baseline.csv``    seasons 2021-2023, Chinese headers, per-mu units
``activity_logs_project.xlsx``    seasons 2024-2025, English headers, per-ha units
``soil_samples.csv``              baseline samples on ~10 % of plots, Chinese headers
``weather_monthly.csv``           2001-2025 monthly climate from the county's normals
``plot_properties.csv``           synthetic per-plot truth (clay_pct, soc_0_30_t_ha)
``truth.csv``                     logged versus true practice per plot and season
``project.json``                  project metadata (section 4 keys)
``README.md``                     which numbers are facts (with sources) and which are synthetic
``imagery/``                      Sentinel-2-like COGs + static STAC catalog (separate module)
================================  ==========================================================

Everything is drawn from :func:`numpy.random.default_rng` streams spawned from one
:class:`numpy.random.SeedSequence`, so a seed fixes every byte of the CSV and GeoJSON output;
the weather stream does not depend on the number of plots.

The code is split into a pure part (:func:`generate`, which returns a :class:`SampleData` of
DataFrames) and an I/O edge (:func:`write_sample`, :func:`create_sample`).

Facts and sources used (see also the README written into the sample directory)
-----------------------------------------------------------------------------
* County location 43°25′N 124°22′E and monthly daily-mean and mean-daily-maximum temperature
  normals 1991-2020 of the Lishu station: English Wikipedia "Lishu County" climate box [1]_
  (verified in the stored copy).
* Monthly precipitation normals: **not Lishu's own** (its precipitation row was not in any stored
  copy); the nearest station whose monthly normals could be read, Xinchengzi (Shenbei New Area,
  Shenyang, about 167 km SSW of Lishu), CMA 1991-2020 [3]_, 651 mm/yr, probably some 10 % wetter
  than Lishu (Changchun, 87 km NE, reports 564 mm/yr). Replace with the Lishu or Siping (WMO 54157)
  CMA normals when available.
* Monthly evaporation: **computed, not measured**: Hargreaves ET0 (FAO-56 eq. 52) from the Lishu
  temperature normals at 43.42° N (:mod:`mrv_service.sample.climate`), 895 mm/yr, converted to
  open-pan evaporation with RothC's factor (pan = ET0 / 0.75). The whole search, the transcribed
  tables and the checks are in ``docs/CLIMATE_SOURCES.md``.
* County mean topsoil SOM 18.93 g kg-1 (2006) and 20.84 g kg-1 (2018) [2]_; SOC = SOM x 0.58
  (van Bemmelen factor, NY/T 1121.6-2006).
* Maize yield 9-11 t ha-1 and 180-250 kg N ha-1: **unverified** regional estimates
  (``china_sample_context.md`` section 2); diesel use per operation: **synthetic**.

References
----------
.. [1] Wikipedia, "Lishu County", climate data for Lishu (1991-2020 normals),
   https://en.wikipedia.org/wiki/Lishu_County (read via
   https://nakenako.serv00.net/https-en.m.wikipedia.org/wiki/Lishu_County).
.. [2] Y. Yan, W. Ji, B. Li, G. Wang, S. Chen, D. Zhu, Z. Liu, "Quantification of the effects
   of long-term straw return on soil organic matter spatiotemporal variation: a case study in a
   typical black soil region", SOIL 9, 351-364, 2023, doi:10.5194/soil-9-351-2023.
.. [3] Wikipedia, "Shenbei New Area", climate data for Xinchengzi, Shenbei New Area, elevation
   62 m (1991-2020 normals), source China Meteorological Administration (read via
   https://click.kcodes.me/wiki/Shenbei_New_Area).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import STRtree

from models.errors import MRVError
from models.units import KG_PER_JIN, MU_PER_HA, SOM_TO_SOC
from mrv_service.ingest.weather_fields import PAN_PER_PET
from mrv_service.sample.climate import monthly_hargreaves_et0

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Fixed design of the sample project
# --------------------------------------------------------------------------------------------

DEFAULT_SEED = 20240424
"""Default seed of the sample county (any integer works; this one is just fixed)."""
DEFAULT_N_PLOTS = 1200
"""Default number of plots [1]."""
MAX_N_PLOTS = 500_000
"""Largest ``n_plots`` accepted (scale runs use 100,000) [1]."""

BASELINE_YEARS = (2021, 2022, 2023)
"""Baseline seasons: ploughing or rotary tillage with straw removed (离田)."""
PROJECT_YEARS = (2024, 2025)
"""Project seasons: about 60 % of plots switch to no-till with straw mulch (免耕 + 覆盖还田)."""
SEASONS = BASELINE_YEARS + PROJECT_YEARS
WEATHER_YEARS = tuple(range(2001, 2026))
"""Years of ``weather_monthly.csv``."""

PROJECT_NAME = "lishu-conservation-tillage"
PROJECT_NAME_ZH = "梨树县玉米保护性耕作增汇项目"
METHODOLOGY_ID = "CMS-083-V01"
CREDITING_PERIOD = ("2024-01-01", "2033-12-31")
COUNTY_ZH = "梨树县"
REGION = {"province": "吉林省", "city": "四平市", "county": COUNTY_ZH}

LISHU_LAT = 43.0 + 25.0 / 60.0
"""Latitude of Lishu County, 43°25′N [deg] (Wikipedia, ref. [1] of the module docstring)."""
LISHU_LON = 124.0 + 22.0 / 60.0
"""Longitude of Lishu County, 124°22′E [deg] (same source)."""
UTM_EPSG = 32651
"""WGS 84 / UTM zone 51N, the projected CRS the geometry is built in."""
SAMPLE_OFFSET_M = (7000.0, -6000.0)
"""Synthetic placement of the sample's centre east/north of the county reference point [m]
(keeps the fields off the county seat; the real land use there is unknown)."""

ADOPTION_FRACTION = 0.60
"""Target share of plots logged as no-till with straw mulch in the project seasons [1]."""
CONTRADICTED_FRACTION = 0.05
"""Share of plot-seasons whose logged practice the imagery contradicts [1]."""
SOIL_SAMPLE_FRACTION = 0.10
"""Share of plots with baseline soil samples [1]."""
PLOTS_PER_FARMER = 4.0
"""Mean plots per farmer: 1,200 plots -> 300 farmers [1] (synthetic)."""
PLOTS_PER_VILLAGE = 120.0
"""Mean plots per village: 1,200 plots -> 10 villages [1] (synthetic)."""

# Plot geometry (synthetic shape parameters, metres / hectares)
PLOT_AREA_MEDIAN_HA = 0.40
PLOT_AREA_SIGMA = 0.55
PLOT_AREA_RANGE_HA = (0.12, 1.80)
"""Target-area clip [ha]; the jittered quadrilaterals then stay inside 0.1-2 ha."""
STRIP_MIN_WIDTH_M = 12.0
BLOCK_DEPTH_M = (120.0, 260.0)
BLOCK_WIDTH_M = (250.0, 550.0)
FIELD_ROAD_M = (6.0, 10.0)
BOUNDARY_GAP_M = 0.3
"""Half-width of the unploughed ridge between neighbouring strips [m]: plots never touch."""
VILLAGE_GAP_M = (60.0, 120.0)


# Monthly climate normals of the sample county, Jan..Dec (sources and search log:
# docs/CLIMATE_SOURCES.md)
TMEAN_NORMAL_DEGC = np.array([-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8])
"""Daily mean temperature, 1991-2020 normals, Lishu station (elevation 160 m) [degC]; VERIFIED in
the stored copy of the Wikipedia climate box (ref. [1] of the module docstring; year 7.2)."""
TMAX_NORMAL_DEGC = np.array([-8.1, -2.7, 5.5, 15.5, 22.8, 27.0, 28.5, 27.5, 23.0, 14.5, 3.0, -5.9])
"""Mean daily maximum temperature, 1991-2020 normals, Lishu station [degC]; VERIFIED in the same
climate box (ref. [1]; year 12.5). Used only to compute :data:`PET_NORMAL_MM`."""
PRECIP_NORMAL_MM = np.array([4.6, 7.6, 14.1, 31.3, 58.9, 84.0, 188.2, 149.6, 44.9, 39.3, 19.4, 9.1])
"""Monthly precipitation, 1991-2020 normals [mm] (year 651): NOT Lishu's own. Transcribed from the
CMA normals of Xinchengzi, Shenbei New Area, Shenyang (elevation 62 m, about 167 km SSW of Lishu;
ref. [3]), the nearest station whose monthly precipitation normals could be read in the stored
sources. Likely about 10 % wetter than Lishu (Changchun observatory, 87 km NE: 564.1 mm/yr over 30
years). Replace with the Lishu or Siping (WMO 54157) CMA normals when they are available."""
PET_NORMAL_MM = monthly_hargreaves_et0(TMEAN_NORMAL_DEGC, TMAX_NORMAL_DEGC, LISHU_LAT)
"""Monthly reference evapotranspiration [mm] (year about 895): COMPUTED, not measured, with the
Hargreaves equation (FAO-56 eq. 52; Hargreaves & Samani 1985) from the verified Lishu mean and
mean-maximum temperature normals, Tmin = 2 Tmean - Tmax and extraterrestrial radiation at 43.42° N
(:func:`mrv_service.sample.climate.monthly_hargreaves_et0`). No measured evaporation normals of
Lishu, Siping or Changchun were found; FAO-56 Penman-Monteith ET0 averages 955.7 mm/yr over 46
Jilin stations (1961-2018, decreasing west to east), so the estimate is of the right size. The
weather file stores open-pan evaporation = ET0 x :data:`PAN_PER_PET` (= ET0 / 0.75, RothC's own
factor)."""

SOM_COUNTY_MEAN_G_KG = 20.84
"""County mean topsoil SOM in 2018 [g kg-1] (Yan et al. 2023, SOIL 9:351; 18.93 in 2006)."""

# Synthetic diesel use per operation [L ha-1] (not from a source: ploughing > rotary > no-till)
DIESEL_L_HA = {
    "plough": 20.0,
    "rotary": 12.0,
    "sowing": 4.0,
    "sowing_no_till": 6.0,
    "harvest": 16.0,
    "residue_removed": 6.0,
    "residue_retained": 5.0,
    "topdress": 2.0,
    "manure": 3.0,
}
"""Synthetic diesel rates per field operation [L ha-1]; ploughing uses more than rotary
tillage, and a no-till season needs no tillage pass at all. Not from a measured source."""

# Canonical vocabulary -> Chinese (DATA_FORMATS.md section 2)
ZH = {
    "sowing": "播种",
    "harvest": "收获",
    "tillage": "耕作",
    "residue": "秸秆处理",
    "fertiliser": "施肥",
    "manure": "施有机肥",
    "irrigation": "灌溉",
    "maize": "玉米",
    "plough": "翻耕",
    "rotary": "旋耕",
    "no_till": "免耕",
    "removed": "离田",
    "retained": "还田",
    "mulched": "覆盖还田",
    "compound": "复合肥",
    "urea": "尿素",
    "cattle": "牛粪",
    "pig": "猪粪",
    "compost": "堆肥",
}
NOTES = {
    "": ("", ""),
    "coop": ("合作社代耕", "cooperative contractor"),
    "seed_water": ("坐水种", "water applied with the seed"),
    "drought": ("抗旱补灌", "supplemental irrigation in drought"),
    "bale": ("秸秆打捆离田", "straw baled and removed"),
}

BASELINE_COLUMNS = (
    "地块编号",
    "日期",
    "作业类型",
    "作物",
    "方式",
    "秸秆还田比例(%)",
    "产量(斤/亩)",
    "肥料品种",
    "施用量(公斤/亩)",
    "含氮量(%)",
    "有机肥类型",
    "有机肥用量(公斤/亩)",
    "有机肥含碳量(%)",
    "有机肥含氮量(%)",
    "灌溉量(m3/亩)",
    "柴油(升)",
    "备注",
)
"""Headers of ``activity_logs_baseline.csv`` (Chinese, per-mu units, diesel in L per plot)."""
PROJECT_COLUMNS = (
    "plot_id",
    "date",
    "activity",
    "crop",
    "method",
    "residue_fraction",
    "yield (t/ha)",
    "product",
    "product_rate (kg/ha)",
    "n_content (%)",
    "manure_type",
    "manure_rate (t/ha)",
    "manure_c (%)",
    "manure_n (%)",
    "irrigation (mm)",
    "diesel (L/ha)",
    "notes",
)
"""Headers of ``activity_logs_project.xlsx`` (English, per-ha units, diesel in L ha-1)."""
SOIL_COLUMNS = (
    "样品编号",
    "地块编号",
    "采样日期",
    "上层深度(cm)",
    "下层深度(cm)",
    "有机碳(g/kg)",
    "有机质(g/kg)",
    "容重(g/cm3)",
    "检测机构",
    "检测方法",
)
"""Headers of ``soil_samples.csv`` (DATA_FORMATS.md section 3)."""
PLOT_PROPERTIES = (
    "plot_id",
    "farmer_id",
    "farmer_name",
    "village",
    "national_id",
    "county",
    "cropping_system",
)
"""Feature properties of ``plots.geojson`` (DATA_FORMATS.md section 1), in this order."""
FARMER_COLUMNS = ("farmer_id", "farmer_name", "village", "national_id")
WEATHER_COLUMNS = ("year", "month", "tmean_degC", "precip_mm", "pan_evap_mm")
TRUTH_COLUMNS = (
    "plot_id",
    "year",
    "logged_tillage",
    "true_tillage",
    "logged_residue",
    "true_residue",
    "contradicted",
)
PLOT_TRUTH_COLUMNS = ("plot_id", "clay_pct", "soc_0_30_t_ha")
EXCEL_MAX_DATA_ROWS = 1_048_575
"""Excel's sheet limit (1,048,576 rows) minus the header row."""

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class SampleError(MRVError, ValueError):
    """An argument of the sample generator is out of range."""


class SampleExistsError(MRVError, FileExistsError):
    """The target directory already holds files and ``overwrite`` was not given."""


class SampleGenerationError(MRVError, RuntimeError):
    """The generator broke one of its own guarantees (a bug) or a dependency is missing."""


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class SampleData:
    """The generated sample county in memory (no file written yet)."""

    seed: int
    """Seed the data was generated from."""
    plots: gpd.GeoDataFrame
    """One row per plot in EPSG:32651: plot_id, farmer_id, farmer_name, village, national_id,
    county, cropping_system, area_ha, adopter (bool), geometry."""
    farmers: pd.DataFrame
    """farmer_id, farmer_name, village, national_id, tillage_habit, fert_strategy."""
    villages: pd.DataFrame
    """village, region_code, n_farmers, n_plots."""
    logs: pd.DataFrame
    """Canonical activity log (one row per operation, canonical units, all seasons)."""
    states: pd.DataFrame
    """TRUE practice per plot and season: plot_id, year, tillage, residue, sowing_date,
    harvest_date, tillage_date, burn_date, and the drawn surface fractions residue_cover (after
    harvest), tillage_remaining and char_cover [1] (the input of the imagery writer; see
    :func:`mrv_service.sample.imagery.draw_surface_states`)."""
    truth: pd.DataFrame
    """Logged versus true practice per plot and season (``truth.csv``)."""
    weather: pd.DataFrame
    """Monthly weather 2001-2025 (``weather_monthly.csv``)."""
    soil_samples: pd.DataFrame
    """Baseline soil samples as written (Chinese headers)."""
    plot_properties: pd.DataFrame
    """Synthetic per-plot truth: plot_id, clay_pct [%], soc_0_30_t_ha [t C ha-1]."""


@dataclasses.dataclass(frozen=True)
class SampleSummary:
    """What :func:`create_sample` wrote."""

    directory: Path
    """The sample directory."""
    seed: int
    """Seed used."""
    n_plots: int
    """Number of plots [1]."""
    n_farmers: int
    """Number of farmers [1]."""
    n_villages: int
    """Number of villages [1]."""
    total_area_ha: float
    """Total plot area [ha]."""
    median_area_ha: float
    """Median plot area [ha]."""
    adoption_fraction: float
    """Share of plots logged as no-till in the last project season [1]."""
    contradicted_fraction: float
    """Share of plot-seasons whose log contradicts the true practice [1]."""
    bounds_lonlat: tuple[float, float, float, float]
    """(min lon, min lat, max lon, max lat) of the plots [deg]."""
    files: tuple[str, ...]
    """Files written, relative to ``directory``."""
    imagery: Mapping[str, Any] | None = None
    """Summary returned by the imagery writer, or ``None`` when imagery was skipped."""


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def national_id_check_digit(first17: str) -> str:
    """Check character of an 18-digit resident identity number (GB 11643-1999).

    Parameters
    ----------
    first17 : str
        The first 17 digits (region code, birth date YYYYMMDD, sequence number).

    Returns
    -------
    str
        ``"0"``-``"9"`` or ``"X"``.

    Notes
    -----
    ISO 7064 MOD 11-2 as specified in GB 11643-1999: :math:`S = \\sum_i a_i W_i` with
    weights :math:`W_i = 2^{i-1} \\bmod 11` for positions 18..2 (7, 9, 10, 5, 8, 4, 2, 1, 6, 3,
    7, 9, 10, 5, 8, 4, 2), and the check character is ``"10X98765432"[S mod 11]``.

    Examples
    --------
    >>> national_id_check_digit("11010519491231002")  # the standard's own example
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise SampleError(f"national id body must be 17 digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _stream_rngs(seed: int, names: Sequence[str]) -> dict[str, np.random.Generator]:
    """Independent generators per component, spawned from one SeedSequence."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def _allocate(rng: np.random.Generator, total: int, n_bins: int, concentration: float) -> np.ndarray:
    """Split ``total`` items into ``n_bins`` bins of at least one item each."""
    if n_bins <= 0:
        return np.zeros(0, dtype=int)
    extra = total - n_bins
    weights = rng.gamma(concentration, 1.0, size=n_bins)
    return 1 + rng.multinomial(extra, weights / weights.sum())


_SURNAMES = list("王李张刘陈杨赵孙于高马徐朱郭吴周胡林何姜韩曲宋董冯郑曹田崔付")
_GIVEN = list("国建志春玉凤秀明金海军文华丽英福宝德淑桂成立永贵兰霞平山占树雪艳东伟强刚青云芳庆全生喜财荣杰")
_VILLAGE_CORES = [
    "太平",
    "永安",
    "兴隆",
    "长发",
    "双龙",
    "胜利",
    "前进",
    "红旗",
    "富强",
    "同心",
    "万发",
    "三合",
    "五里",
    "七家",
    "八里",
    "榆树",
    "柳条",
    "杏花",
    "白杨",
    "黄花",
    "靠山",
    "河湾",
    "泉眼",
    "孤家子",
    "腰站",
    "二龙",
    "四合",
    "六合",
    "丰收",
    "和平",
]
_VILLAGE_PREFIXES = ["东", "西", "南", "北", "前", "后", "新", "大"]
_CN_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]


def _village_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` unique synthetic village names ending in 村 (any match with a real village is chance)."""
    cores = [_VILLAGE_CORES[i] for i in rng.permutation(len(_VILLAGE_CORES))]
    pool = [c + "村" for c in cores]
    pool += [p + c + "村" for p in _VILLAGE_PREFIXES for c in cores]
    if len(pool) < n:  # numbered villages (太平二村 ...) for big counties
        pool += [
            p + c + num + "村" for num in _CN_NUMERALS[1:] for p in [""] + _VILLAGE_PREFIXES for c in cores
        ]
    if len(pool) < n:  # > 2,700 villages: a running number keeps names unique
        pool += [f"{cores[j % len(cores)]}{j}号村" for j in range(n - len(pool))]
    return pool[:n]


def _person_names(rng: np.random.Generator, n: int) -> list[str]:
    """Synthetic Chinese personal names: a common surname and one or two given characters."""
    sur = rng.integers(0, len(_SURNAMES), size=n)
    g1 = rng.integers(0, len(_GIVEN), size=n)
    g2 = rng.integers(0, len(_GIVEN), size=n)
    two = rng.random(n) < 0.7
    return [
        _SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if t else "")
        for s, a, b, t in zip(sur, g1, g2, two, strict=True)
    ]


def _national_ids(rng: np.random.Generator, region_codes: Sequence[str]) -> list[str]:
    """Unique synthetic 18-digit ids with a valid GB 11643 check digit.

    The region code starts with ``99``, which GB/T 2260 does not assign to any province, so the
    numbers cannot belong to anyone.
    """
    start = dt.date(1950, 1, 1).toordinal()
    stop = dt.date(1995, 12, 31).toordinal()
    seen: set[str] = set()
    out: list[str] = []
    for code in region_codes:
        while True:
            birth = dt.date.fromordinal(int(rng.integers(start, stop + 1)))
            body = f"{code}{birth:%Y%m%d}{int(rng.integers(1, 1000)):03d}"
            if body not in seen:
                seen.add(body)
                break
        out.append(body + national_id_check_digit(body))
    return out


# --------------------------------------------------------------------------------------------
# Geometry: villages of field blocks cut into strips
# --------------------------------------------------------------------------------------------


def _layout_village(rng: np.random.Generator, areas_ha: np.ndarray) -> np.ndarray:
    """Quadrilateral strips for one village in a local frame [m], shape (n, 4, 2).

    Blocks of depth ``D`` (120-260 m) between field roads (6-10 m) are cut into strips side by
    side; the strip boundaries are jittered (at most 2.5 m and 10 % of the narrower neighbour)
    so that plots are irregular quadrilaterals, and every strip is inset by
    :data:`BOUNDARY_GAP_M` from the shared boundary, so neighbours never overlap or touch.
    Blocks fill rows of a roughly square village.
    """
    n = len(areas_ha)
    coords = np.empty((n, 4, 2))
    row_target = math.sqrt(float(areas_ha.sum()) * 1e4 * 1.15)
    x0 = y0 = row_height = 0.0
    i = 0
    while i < n:
        depth = float(np.round(rng.uniform(*BLOCK_DEPTH_M)))
        width_target = rng.uniform(*BLOCK_WIDTH_M)
        widths: list[float] = []
        while i + len(widths) < n and (not widths or sum(widths) < width_target):
            a = areas_ha[i + len(widths)] * 1e4
            widths.append(float(np.clip(a / depth, STRIP_MIN_WIDTH_M, PLOT_AREA_RANGE_HA[1] * 1e4 / depth)))
        w = np.asarray(widths)
        k = len(w)
        block_width = float(w.sum())
        if x0 > 0 and x0 + block_width > row_target:
            y0 += row_height + rng.uniform(*FIELD_ROAD_M)
            x0 = row_height = 0.0
        edges = np.concatenate([[0.0], np.cumsum(w)])
        neighbour = np.minimum(np.concatenate([[w[0]], w]), np.concatenate([w, [w[-1]]]))
        cap = np.minimum(2.5, 0.1 * neighbour)
        xb = edges + np.clip(rng.normal(0.0, 1.2, k + 1), -cap, cap)
        xt = edges + np.clip(rng.normal(0.0, 1.2, k + 1), -cap, cap)
        yb = np.clip(rng.normal(0.0, 0.8, k + 1), -1.5, 1.5)
        yt = depth + np.clip(rng.normal(0.0, 0.8, k + 1), -1.5, 1.5)
        g = BOUNDARY_GAP_M
        block = np.stack(
            [
                np.stack([xb[:-1] + g, yb[:-1]], axis=-1),
                np.stack([xb[1:] - g, yb[1:]], axis=-1),
                np.stack([xt[1:] - g, yt[1:]], axis=-1),
                np.stack([xt[:-1] + g, yt[:-1]], axis=-1),
            ],
            axis=1,
        )
        coords[i : i + k] = block + np.array([x0, y0])
        x0 += block_width + rng.uniform(*FIELD_ROAD_M)
        row_height = max(row_height, depth)
        i += k
    return coords


def _place_villages(rng: np.random.Generator, local: list[np.ndarray]) -> list[np.ndarray]:
    """Rotate each village slightly and pack the villages in rows, 60-120 m apart [m, UTM 51N]."""
    rotated = []
    for coords in local:
        theta = math.radians(rng.uniform(-10.0, 10.0) + (90.0 if rng.random() < 0.3 else 0.0))
        c, s = math.cos(theta), math.sin(theta)
        centre = (coords.reshape(-1, 2).min(axis=0) + coords.reshape(-1, 2).max(axis=0)) / 2
        xy = coords - centre
        rotated.append(np.stack([c * xy[..., 0] - s * xy[..., 1], s * xy[..., 0] + c * xy[..., 1]], axis=-1))
    lo = np.array([r.reshape(-1, 2).min(axis=0) for r in rotated])
    size = np.array([r.reshape(-1, 2).max(axis=0) for r in rotated]) - lo
    # shelf packing (next fit, tallest first): villages left to right in rows about as wide
    # as the county is tall
    gap = rng.uniform(*VILLAGE_GAP_M)
    row_width = 1.1 * math.sqrt(float(((size[:, 0] + gap) * (size[:, 1] + gap)).sum()))
    corner = np.empty((len(rotated), 2))
    x = y = row_height = 0.0
    row: list[int] = []
    for v in np.argsort(-size[:, 1], kind="stable"):
        if row and x + size[v, 0] > row_width:
            for u in row:  # spread villages vertically within their row's slack
                corner[u, 1] = y + rng.uniform(0.0, row_height - size[u, 1])
            y += row_height + gap
            x = row_height = 0.0
            row = []
        corner[v, 0] = x
        x += size[v, 0] + gap
        row_height = max(row_height, float(size[v, 1]))
        row.append(v)
    for u in row:
        corner[u, 1] = y + rng.uniform(0.0, row_height - size[u, 1])
    extent = np.array([row_width, y + row_height])
    x_ref, y_ref = Transformer.from_crs(4326, UTM_EPSG, always_xy=True).transform(LISHU_LON, LISHU_LAT)
    origin = np.array([x_ref + SAMPLE_OFFSET_M[0], y_ref + SAMPLE_OFFSET_M[1]]) - extent / 2
    return [r - lo[v] + origin + corner[v] for v, r in enumerate(rotated)]


def _assert_valid_geometry(geoms: np.ndarray, plot_ids: Sequence[str]) -> np.ndarray:
    """Assert validity, the 0.1-2 ha range and no overlaps; return areas [ha]."""
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        raise SampleGenerationError(f"invalid plot geometry for {np.asarray(plot_ids)[bad][:5].tolist()}")
    area = shapely.area(geoms) / 1e4
    out = (area < 0.1) | (area > 2.0)
    if out.any():
        raise SampleGenerationError(
            f"plot areas outside 0.1-2 ha: {dict(zip(np.asarray(plot_ids)[out][:5], area[out][:5], strict=True))}"
        )
    left, right = STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    if pairs.any():
        ids = np.asarray(plot_ids)
        example = list(zip(ids[left[pairs]][:5], ids[right[pairs]][:5], strict=True))
        raise SampleGenerationError(f"{int(pairs.sum())} plot pairs intersect, e.g. {example}")
    return area


# --------------------------------------------------------------------------------------------
# People and plots
# --------------------------------------------------------------------------------------------


def _build_plots(
    rng: np.random.Generator, n_plots: int
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    n_villages = max(1, round(n_plots / PLOTS_PER_VILLAGE))
    n_farmers = min(n_plots, max(n_villages, round(n_plots / PLOTS_PER_FARMER)))
    farmers_per_village = _allocate(rng, n_farmers, n_villages, 8.0)
    plots_per_farmer = _allocate(rng, n_plots, n_farmers, 2.0)
    village_names = _village_names(rng, n_villages)
    region_codes = [f"99{(v + 1) % 10000:04d}" for v in range(n_villages)]
    farmer_village = np.repeat(np.arange(n_villages), farmers_per_village)
    farmer_ids = [f"F{i + 1:05d}" for i in range(n_farmers)]
    farmers = pd.DataFrame(
        {
            "farmer_id": farmer_ids,
            "farmer_name": _person_names(rng, n_farmers),
            "village": [village_names[v] for v in farmer_village],
            "national_id": _national_ids(rng, [region_codes[v] for v in farmer_village]),
            "village_idx": farmer_village,
            # Conventional habit: spring rotary tillage (旋耕) or autumn mouldboard ploughing (秋翻)
            "tillage_habit": np.where(rng.random(n_farmers) < 0.35, "plough", "rotary"),
            # Fertiliser: one-shot compound at sowing (一炮轰) or compound + urea top-dress
            "fert_strategy": np.where(rng.random(n_farmers) < 0.55, "one_shot", "split"),
        }
    )

    # Areas per plot (lognormal, median 0.4 ha), plots of a farmer scattered over the village
    plot_farmer_all = np.repeat(np.arange(n_farmers), plots_per_farmer)
    local, farmer_order = [], []
    for v in range(n_villages):
        owners = plot_farmer_all[farmer_village[plot_farmer_all] == v]
        owners = owners[rng.permutation(len(owners))]
        areas = np.clip(
            PLOT_AREA_MEDIAN_HA * np.exp(rng.normal(0.0, PLOT_AREA_SIGMA, len(owners))), *PLOT_AREA_RANGE_HA
        )
        local.append(_layout_village(rng, areas))
        farmer_order.append(owners)
    placed = _place_villages(rng, local)
    coords = np.concatenate(placed)
    plot_farmer = np.concatenate(farmer_order)
    geoms = shapely.polygons(coords)
    plot_ids = [f"LS-{i + 1:06d}" for i in range(n_plots)]
    area = _assert_valid_geometry(geoms, plot_ids)

    plots = gpd.GeoDataFrame(
        {
            "plot_id": plot_ids,
            "farmer_id": farmers["farmer_id"].to_numpy()[plot_farmer],
            "farmer_name": farmers["farmer_name"].to_numpy()[plot_farmer],
            "village": farmers["village"].to_numpy()[plot_farmer],
            "national_id": farmers["national_id"].to_numpy()[plot_farmer],
            "county": COUNTY_ZH,
            "cropping_system": "spring_maize",
            "area_ha": area,
            "farmer_idx": plot_farmer,
            "village_idx": farmer_village[plot_farmer],
        },
        geometry=geoms,
        crs=f"EPSG:{UTM_EPSG}",
    )
    villages = pd.DataFrame(
        {
            "village": village_names,
            "region_code": region_codes,
            "n_farmers": farmers_per_village,
            "n_plots": np.bincount(plots["village_idx"], minlength=n_villages),
        }
    )
    return plots, farmers, villages


def _choose_adopters(
    rng: np.random.Generator, plots: pd.DataFrame, n_farmers: int, n_villages: int
) -> np.ndarray:
    """Plot-level adoption flag: whole farmers adopt (village propensity), a few only partly.

    Farmers are drawn in a weighted random order (Efraimidis-Spirakis keys with a village
    propensity) until the adopters hold :data:`ADOPTION_FRACTION` of the plots after the
    partial adopters (10 % of adopting farmers, each keeping about half of their plots
    conventional) are accounted for.
    """
    n_plots = len(plots)
    village_weight = rng.uniform(0.4, 2.5, n_villages)
    farmer_village = np.zeros(n_farmers, dtype=int)
    farmer_village[plots["farmer_idx"].to_numpy()] = plots["village_idx"].to_numpy()
    keys = rng.random(n_farmers) ** (1.0 / village_weight[farmer_village])
    order = np.argsort(-keys, kind="stable")
    counts = np.bincount(plots["farmer_idx"], minlength=n_farmers)
    partial_share = 0.10
    target = ADOPTION_FRACTION * n_plots / (1.0 - partial_share * 0.5)
    cum = np.cumsum(counts[order])
    n_adopt = int(np.searchsorted(cum, target)) + 1
    adopting = np.zeros(n_farmers, dtype=bool)
    adopting[order[: min(n_adopt, n_farmers)]] = True
    partial = adopting & (rng.random(n_farmers) < partial_share)
    plot_farmer = plots["farmer_idx"].to_numpy()
    keep_conventional = partial[plot_farmer] & (rng.random(n_plots) < 0.5)
    return adopting[plot_farmer] & ~keep_conventional


# --------------------------------------------------------------------------------------------
# Weather
# --------------------------------------------------------------------------------------------


def _simulate_weather(rng: np.random.Generator) -> pd.DataFrame:
    """Monthly weather 2001-2025 around the normals, with seeded year-to-year variation.

    Temperature: :data:`TMEAN_NORMAL_DEGC` + a year anomaly (sd 0.6 degC) + a monthly anomaly
    (sd 1.5 degC in Nov-Mar, 0.9 degC otherwise). Precipitation: gamma-distributed around
    :data:`PRECIP_NORMAL_MM` (CV 0.45 in May-Sep, 0.8 otherwise) times a year wetness factor
    (lognormal, sd 0.12). Pan evaporation: :data:`PET_NORMAL_MM` / 0.75, raised 3 % per degC of
    warm anomaly and lowered in wet months, lognormal noise sd 0.05. The normals are those of the
    module constants (real, nearest-station or computed, as their docstrings say); all spreads
    are synthetic. The 25-year means stay within the noise of the normals (tested).
    """
    years = np.array(WEATHER_YEARS)
    ny = len(years)
    month = np.arange(1, 13)
    cold = np.isin(month, [11, 12, 1, 2, 3])
    t_anom = rng.normal(0.0, 0.6, (ny, 1)) + rng.normal(0.0, 1.0, (ny, 12)) * np.where(cold, 1.5, 0.9)
    tmean = TMEAN_NORMAL_DEGC + t_anom
    cv = np.where((month >= 5) & (month <= 9), 0.45, 0.8)
    shape = 1.0 / cv**2
    wet = np.exp(rng.normal(0.0, 0.12, (ny, 1)))
    precip = rng.gamma(shape, PRECIP_NORMAL_MM * wet / shape, (ny, 12))
    ratio = precip / PRECIP_NORMAL_MM
    pan = (
        PET_NORMAL_MM
        * PAN_PER_PET
        * np.exp(0.03 * t_anom)
        * (1.0 - 0.15 * np.clip(ratio - 1.0, -1.0, 1.5))
        * np.exp(rng.normal(0.0, 0.05, (ny, 12)))
    )
    return pd.DataFrame(
        {
            "year": np.repeat(years, 12),
            "month": np.tile(month, ny),
            "tmean_degC": np.round(tmean.ravel(), 1),
            "precip_mm": np.round(precip.ravel(), 1),
            "pan_evap_mm": np.round(pan.ravel(), 1),
        }
    )


# --------------------------------------------------------------------------------------------
# Management: truth, contradictions and the canonical activity log
# --------------------------------------------------------------------------------------------


def _dates(year: np.ndarray, month: int, day: int, offset_days: np.ndarray) -> np.ndarray:
    base = pd.to_datetime({"year": year, "month": month, "day": day}).to_numpy()
    return base + np.round(offset_days).astype("timedelta64[D]")


def _simulate_management(
    rng: np.random.Generator,
    plots: pd.DataFrame,
    farmers: pd.DataFrame,
    weather: pd.DataFrame,
    som_anomaly: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (states, truth, canonical logs) for every plot and season."""
    n_plots, n_years = len(plots), len(SEASONS)
    n_farmers = len(farmers)
    n_villages = int(plots["village_idx"].max()) + 1
    adopter_plot = _choose_adopters(rng, plots, n_farmers, n_villages)

    # plot-season arrays, plot-major
    p = np.repeat(np.arange(n_plots), n_years)
    y_idx = np.tile(np.arange(n_years), n_plots)
    year = np.asarray(SEASONS)[y_idx]
    n = len(p)
    f = plots["farmer_idx"].to_numpy()[p]
    v = plots["village_idx"].to_numpy()[p]
    area = plots["area_ha"].to_numpy()[p]
    habit = farmers["tillage_habit"].to_numpy()[f]
    strategy = farmers["fert_strategy"].to_numpy()[f]
    project = year >= PROJECT_YEARS[0]
    adopt = adopter_plot[p] & project

    logged_tillage = np.where(adopt, "no_till", habit).astype(object)
    logged_residue = np.where(adopt, "mulched", "removed").astype(object)
    true_tillage = logged_tillage.copy()
    true_residue = logged_residue.copy()

    # ~5 % contradicted plot-seasons, three times as likely where no-till is claimed
    n_bad = round(CONTRADICTED_FRACTION * n)
    weight = np.where(adopt, 3.0, 1.0)
    bad = np.zeros(n, dtype=bool)
    if n_bad:
        bad[rng.choice(n, size=n_bad, replace=False, p=weight / weight.sum())] = True
    type_a = rng.random(n) < 0.6
    # claimed no-till + mulch: truly tilled bare soil (type A) or no-till with straw removed (B)
    ca = bad & adopt & type_a
    cb = bad & adopt & ~type_a
    true_tillage[ca] = habit[ca]
    true_residue[ca | cb] = "removed"
    # conventional plots: straw logged as retained (还田) but truly removed
    cc = bad & ~adopt
    logged_residue[cc] = "retained"

    # dates
    vy = v * n_years + y_idx
    sow_v = rng.normal(0.0, 3.0, n_villages * n_years)[vy]
    har_v = rng.normal(0.0, 4.0, n_villages * n_years)[vy]
    sowing = _dates(year, 4, 28, np.clip(sow_v + rng.normal(0.0, 2.5, n), -10, 14))
    harvest = _dates(year, 10, 1, np.clip(har_v + rng.normal(0.0, 3.0, n), -11, 14))
    residue_date = harvest + rng.integers(2, 13, n).astype("timedelta64[D]")
    rotary_date = sowing - rng.integers(2, 11, n).astype("timedelta64[D]")
    plough_date = residue_date + rng.integers(5, 21, n).astype("timedelta64[D]")

    def tillage_date(kind: np.ndarray) -> np.ndarray:
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        out[kind == "rotary"] = rotary_date[kind == "rotary"]
        out[kind == "plough"] = plough_date[kind == "plough"]
        return out

    states = pd.DataFrame(
        {
            "plot_id": plots["plot_id"].to_numpy()[p],
            "year": year,
            "tillage": true_tillage.astype(str),
            "residue": true_residue.astype(str),
            "sowing_date": sowing.astype("datetime64[ns]"),
            "harvest_date": harvest.astype("datetime64[ns]"),
            "tillage_date": tillage_date(true_tillage),
            # the straw of a burned season burns on its logged residue date (no burning in the
            # sample's truth today; the imagery draws char from this date where there is)
            "burn_date": np.where(true_residue == "burned", residue_date, np.datetime64("NaT")).astype(
                "datetime64[ns]"
            ),
        }
    )
    truth = pd.DataFrame(
        {
            "plot_id": states["plot_id"],
            "year": year,
            "logged_tillage": logged_tillage.astype(str),
            "true_tillage": true_tillage.astype(str),
            "logged_residue": logged_residue.astype(str),
            "true_residue": true_residue.astype(str),
            "contradicted": bad,
        }
    )

    # yields [t ha-1]: ~10 t/ha (unverified regional estimate), weather year effect, plot effect
    w = weather.set_index(["year", "month"])
    gs = w.loc[list(SEASONS)].query("5 <= month <= 9")["precip_mm"].groupby(level="year").sum()
    gs_ratio = gs.to_numpy() / PRECIP_NORMAL_MM[4:9].sum()
    year_effect = 0.9 * np.clip(np.log(gs_ratio), -0.6, 0.25) + rng.normal(0.0, 0.3, n_years)
    plot_effect = rng.normal(0.0, 0.45, n_plots) + 0.06 * som_anomaly
    yield_t_ha = np.clip(
        10.0
        + year_effect[y_idx]
        + plot_effect[p]
        + rng.normal(0.0, 0.25, n_villages * n_years)[vy]
        + rng.normal(0.0, 0.5, n),
        6.0,
        13.5,
    )
    mj = w.loc[list(SEASONS)].query("5 <= month <= 7")["precip_mm"].groupby(level="year").sum()
    dry = np.clip(1.0 - mj.to_numpy() / PRECIP_NORMAL_MM[4:7].sum(), 0.0, 1.0)

    diesel_noise = np.exp(rng.normal(0.0, 0.15, (n, 8)))
    frames: list[pd.DataFrame] = []

    # text columns are categoricals with fixed categories (a 100,000-plot county has 3.5 million
    # log rows; per-row Python strings would take gigabytes)
    text = {
        "plot_id": pd.CategoricalDtype(plots["plot_id"].to_numpy()),
        "activity": pd.CategoricalDtype(
            ["tillage", "sowing", "fertiliser", "manure", "irrigation", "harvest", "residue"]
        ),
        "method": pd.CategoricalDtype(["", "plough", "rotary", "no_till", "removed", "retained", "mulched"]),
        "product": pd.CategoricalDtype(["", "compound", "urea"]),
        "manure_type": pd.CategoricalDtype(["", "cattle", "pig", "compost"]),
        "notes": pd.CategoricalDtype(list(NOTES)),
    }

    def categorical(key: str, value: Any, mask: np.ndarray) -> pd.Categorical:
        dtype = text[key]
        if isinstance(value, np.ndarray):
            codes = dtype.categories.get_indexer(value[mask])
        else:
            codes = np.full(int(mask.sum()), dtype.categories.get_loc(value))
        if (codes < 0).any():
            raise SampleGenerationError(f"unexpected {key} value in {set(np.asarray(value)[mask])}")
        return pd.Categorical.from_codes(codes, dtype=dtype)

    def add(mask: np.ndarray, date: np.ndarray, activity: str, rank: int, **cols: Any) -> None:
        data: dict[str, Any] = {
            "plot_id": pd.Categorical.from_codes(p[mask], dtype=text["plot_id"]),
            "year": year[mask],
            "date": date[mask],
            "activity": categorical("activity", activity, mask),
            "rank": rank,
            "row": np.flatnonzero(mask),
        }
        for key in ("method", "product", "manure_type", "notes"):
            data[key] = categorical(key, cols.pop(key, ""), mask)
        for key, value in cols.items():
            data[key] = value[mask] if isinstance(value, np.ndarray) else value
        frames.append(pd.DataFrame(data))

    coop = np.where(rng.random(n) < 0.15, "coop", "")
    # tillage
    till = logged_tillage.astype(str)
    diesel_till = np.select(
        [till == "plough", till == "rotary"], [DIESEL_L_HA["plough"], DIESEL_L_HA["rotary"]], np.nan
    )
    add(
        np.ones(n, dtype=bool),
        np.where(till == "no_till", sowing, tillage_date(logged_tillage)).astype("datetime64[ns]"),
        "tillage",
        1,
        method=till,
        diesel_l_ha=diesel_till * diesel_noise[:, 0],
        notes=np.where(till == "no_till", "", coop),
    )
    # sowing (no-till planters are heavier: more diesel than a conventional planter)
    add(
        np.ones(n, dtype=bool),
        sowing,
        "sowing",
        2,
        diesel_l_ha=np.where(till == "no_till", DIESEL_L_HA["sowing_no_till"], DIESEL_L_HA["sowing"])
        * diesel_noise[:, 1],
    )
    # fertiliser: compound at sowing (种肥同播); split farmers top-dress urea in June
    one_shot = strategy == "one_shot"
    n_content_f = np.where(
        farmers["fert_strategy"].to_numpy() == "one_shot",
        rng.choice([26.0, 28.0, 30.0], n_farmers),
        rng.choice([15.0, 17.0, 18.0], n_farmers),
    )
    compound_kg_mu = np.where(
        one_shot, np.clip(rng.normal(45.0, 5.0, n), 35, 60), np.clip(rng.normal(40.0, 5.0, n), 28, 55)
    )
    add(
        np.ones(n, dtype=bool),
        sowing,
        "fertiliser",
        3,
        product="compound",
        product_rate_kg_ha=compound_kg_mu * MU_PER_HA,
        n_content_pct=n_content_f[f],
    )
    split = ~one_shot
    urea_kg_mu = np.clip(rng.normal(17.0, 3.0, n), 10, 25)
    add(
        split,
        _dates(year, 6, 10, rng.integers(0, 21, n)),
        "fertiliser",
        4,
        product="urea",
        product_rate_kg_ha=urea_kg_mu * MU_PER_HA,
        n_content_pct=46.0,
        diesel_l_ha=DIESEL_L_HA["topdress"] * diesel_noise[:, 2],
    )
    # occasional manure before spring work (synthetic contents of fresh manure)
    manure = rng.random(n) < 0.06
    mtype = rng.choice(np.array(["cattle", "pig", "compost"]), n, p=[0.7, 0.2, 0.1])
    mc = np.select([mtype == "cattle", mtype == "pig"], [7.5, 10.0], 16.0) + rng.normal(0.0, 0.8, n)
    mn = np.select([mtype == "cattle", mtype == "pig"], [0.38, 0.55], 1.2) + rng.normal(0.0, 0.04, n)
    add(
        manure,
        sowing - rng.integers(12, 26, n).astype("timedelta64[D]"),
        "manure",
        0,
        manure_type=mtype,
        manure_rate_t_ha=rng.uniform(1000.0, 2500.0, n) * MU_PER_HA / 1000.0,
        manure_c_pct=mc,
        manure_n_pct=mn,
        diesel_l_ha=DIESEL_L_HA["manure"] * diesel_noise[:, 3],
    )
    # occasional irrigation: 坐水种 at sowing or supplemental in July, more in dry years
    irrigate = rng.random(n) < 0.02 + 0.15 * dry[y_idx]
    at_sowing = rng.random(n) < 0.5
    add(
        irrigate,
        np.where(at_sowing, sowing, _dates(year, 7, 1, rng.integers(0, 25, n))).astype("datetime64[ns]"),
        "irrigation",
        5,
        irrigation_mm=np.where(at_sowing, rng.uniform(15, 30, n), rng.uniform(25, 45, n)) * 1.5,
        notes=np.where(at_sowing, "seed_water", "drought"),
    )
    # harvest
    add(
        np.ones(n, dtype=bool),
        harvest,
        "harvest",
        6,
        yield_t_ha=yield_t_ha,
        diesel_l_ha=DIESEL_L_HA["harvest"] * diesel_noise[:, 4],
    )
    # residue fate as logged
    res = logged_residue.astype(str)
    frac = np.select(
        [res == "removed", res == "retained"],
        [0.0, 1.0],
        np.clip(np.round(rng.uniform(0.75, 1.05, n), 1), 0.8, 1.0),
    )
    add(
        np.ones(n, dtype=bool),
        np.where(res == "mulched", harvest, residue_date).astype("datetime64[ns]"),
        "residue",
        7,
        method=res,
        residue_fraction=frac,
        diesel_l_ha=np.select(
            [res == "removed", res == "retained"],
            [DIESEL_L_HA["residue_removed"], DIESEL_L_HA["residue_retained"]],
            np.nan,
        )
        * diesel_noise[:, 5],
        notes=np.where((res == "removed") & (rng.random(n) < 0.3), "bale", ""),
    )
    logs = pd.concat(frames, ignore_index=True)
    logs["crop"] = pd.Categorical.from_codes(np.zeros(len(logs), dtype=int), categories=["maize"])
    logs["area_ha"] = area[logs["row"].to_numpy()]
    order = np.lexsort((logs["rank"].to_numpy(), logs["date"].to_numpy(), logs["row"].to_numpy()))
    logs = logs.iloc[order].reset_index(drop=True)
    return states, truth, logs.drop(columns=["rank", "row"])


def _draw_surface(rng: np.random.Generator, states: pd.DataFrame) -> pd.DataFrame:
    """Add each plot-season's drawn residue cover, tillage-remaining fraction and char cover.

    The class ranges and their sources live with the imagery
    (:func:`mrv_service.sample.imagery.draw_surface_states`); without the imagery module the
    states stay as they are (the imagery writer would draw the same columns itself).
    """
    try:
        from mrv_service.sample.imagery import draw_surface_states
    except ImportError:  # pragma: no cover - the imagery module ships with the package
        return states
    return draw_surface_states(states, rng)


# --------------------------------------------------------------------------------------------
# Soils
# --------------------------------------------------------------------------------------------


def _simulate_soils(
    rng: np.random.Generator, plots: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Per-plot soil truth, baseline samples and the SOM anomaly [g kg-1] (for yields).

    Clay 18-38 % with a lighter-textured north-west (as Yan et al. 2023 describe for the
    county) and village effects; topsoil (0-20 cm) SOM around the 2018 county mean of
    20.84 g kg-1, higher on heavier soils; 20-30 cm SOC 70-85 % of the topsoil value; bulk
    density 1.20-1.36 g cm-3 (0-20) and up to 1.40 (20-30). Spreads are synthetic.
    """
    n = len(plots)
    n_villages = int(plots["village_idx"].max()) + 1
    cent = shapely.centroid(plots.geometry.values)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    gradient = ((x - x.mean()) - (y - y.mean())) / span  # +: south-east, -: north-west
    v = plots["village_idx"].to_numpy()
    clay = np.clip(
        28.0 + 4.0 * gradient + rng.normal(0.0, 1.5, n_villages)[v] + rng.normal(0.0, 1.5, n), 18.0, 38.0
    )
    som_top = np.clip(
        SOM_COUNTY_MEAN_G_KG
        + 0.35 * (clay - 28.0)
        + rng.normal(0.0, 1.0, n_villages)[v]
        + rng.normal(0.0, 2.0, n),
        12.0,
        32.0,
    )
    soc_top = som_top * SOM_TO_SOC
    soc_sub = soc_top * rng.uniform(0.70, 0.85, n)
    bd_top = np.clip(rng.normal(1.27, 0.04, n), 1.20, 1.36)
    bd_sub = np.clip(bd_top + rng.uniform(0.03, 0.08, n), 1.20, 1.40)
    # stock [t C ha-1] = SOC [g kg-1] x BD [g cm-3] x thickness [cm] x 0.1 (DATA_FORMATS.md s.3)
    stock = soc_top * bd_top * 20 * 0.1 + soc_sub * bd_sub * 10 * 0.1
    properties = pd.DataFrame(
        {"plot_id": plots["plot_id"], "clay_pct": np.round(clay, 1), "soc_0_30_t_ha": np.round(stock, 2)}
    )

    n_s = max(1, round(SOIL_SAMPLE_FRACTION * n))
    chosen = np.sort(rng.choice(n, size=n_s, replace=False))
    dichromate = rng.random(n_s) < 0.6
    dates = _dates(np.full(n_s, 2023), 10, 15, rng.integers(0, 21, n_s))
    rows = []
    for layer, (top, bottom, soc, bd) in enumerate(((0, 20, soc_top, bd_top), (20, 30, soc_sub, bd_sub))):
        measured = soc[chosen] * np.exp(rng.normal(0.0, 0.08, n_s))  # within-field + lab error
        bd_meas = np.clip(np.round(bd[chosen] + rng.normal(0.0, 0.03, n_s), 2), 1.20, 1.40)
        rows.append(
            pd.DataFrame(
                {
                    "样品编号": [f"LS2023-{k + 1:05d}-{layer + 1}" for k in range(n_s)],
                    "地块编号": plots["plot_id"].to_numpy()[chosen],
                    "采样日期": pd.DatetimeIndex(dates).strftime("%Y-%m-%d"),
                    "上层深度(cm)": top,
                    "下层深度(cm)": bottom,
                    "有机碳(g/kg)": np.where(dichromate, np.nan, np.round(measured, 2)),
                    "有机质(g/kg)": np.where(dichromate, np.round(measured / SOM_TO_SOC, 1), np.nan),
                    "容重(g/cm3)": bd_meas,
                    "检测机构": np.where(dichromate, "示例农业检测中心(虚构)", "示例土壤实验室(虚构)"),
                    "检测方法": np.where(dichromate, "重铬酸钾氧化法", "干烧法"),
                    "_order": np.arange(n_s) * 2 + layer,
                }
            )
        )
    samples = pd.concat(rows).sort_values("_order").drop(columns="_order").reset_index(drop=True)
    return samples, properties, som_top - SOM_COUNTY_MEAN_G_KG


# --------------------------------------------------------------------------------------------
# Pure entry point
# --------------------------------------------------------------------------------------------


def _check_args(seed: int, n_plots: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SampleError(f"seed must be a non-negative integer, got {seed!r}")
    if (
        isinstance(n_plots, bool)
        or not isinstance(n_plots, int | np.integer)
        or not 1 <= n_plots <= MAX_N_PLOTS
    ):
        raise SampleError(f"n_plots must be an integer from 1 to {MAX_N_PLOTS:,}, got {n_plots!r}")


def generate(seed: int = DEFAULT_SEED, n_plots: int = DEFAULT_N_PLOTS) -> SampleData:
    """Generate the sample county in memory (no I/O).

    Parameters
    ----------
    seed : int
        Seed of all random streams; the same seed gives the same data.
    n_plots : int
        Number of plots [1], 1 to :data:`MAX_N_PLOTS`; farmers (about n/4) and villages
        (about n/120) scale with it.

    Returns
    -------
    SampleData
    """
    _check_args(seed, n_plots)
    # "surface" is spawned last, so the other four streams (and every CSV) do not depend on it
    rngs = _stream_rngs(int(seed), ["plots", "weather", "soils", "management", "surface"])
    plots, farmers, villages = _build_plots(rngs["plots"], int(n_plots))
    weather = _simulate_weather(rngs["weather"])
    samples, properties, som_anomaly = _simulate_soils(rngs["soils"], plots)
    states, truth, logs = _simulate_management(rngs["management"], plots, farmers, weather, som_anomaly)
    states = _draw_surface(rngs["surface"], states)
    plots = plots.assign(
        adopter=(truth["logged_tillage"].to_numpy() == "no_till").reshape(-1, len(SEASONS)).any(1)
    )
    return SampleData(
        seed=int(seed),
        plots=plots,
        farmers=farmers,
        villages=villages,
        logs=logs,
        states=states,
        truth=truth,
        weather=weather,
        soil_samples=samples,
        plot_properties=properties,
    )


# --------------------------------------------------------------------------------------------
# Writers (I/O edge)
# --------------------------------------------------------------------------------------------


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", na_rep="")


def _write_geojson(plots: gpd.GeoDataFrame, path: Path) -> tuple[float, float, float, float]:
    """RFC 7946 GeoJSON (EPSG:4326, no ``crs`` member), coordinates rounded to 1e-7 deg (~1 cm)."""
    coords = shapely.get_coordinates(shapely.get_exterior_ring(plots.geometry.values))
    lon, lat = Transformer.from_crs(UTM_EPSG, 4326, always_xy=True).transform(coords[:, 0], coords[:, 1])
    lon, lat = np.round(lon, 7), np.round(lat, 7)
    n_vertex = 5  # quadrilateral + closing vertex
    if len(lon) != n_vertex * len(plots):
        raise SampleGenerationError("every plot must be a quadrilateral")
    ring = np.stack([lon, lat], axis=-1).reshape(len(plots), n_vertex, 2).tolist()
    props = plots[list(PLOT_PROPERTIES)].to_dict(orient="records")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write('{"type": "FeatureCollection", "features": [\n')
        for k, (p, r) in enumerate(zip(props, ring, strict=True)):
            feature = {
                "type": "Feature",
                "properties": p,
                "geometry": {"type": "Polygon", "coordinates": [r]},
            }
            fh.write(json.dumps(feature, ensure_ascii=False) + (",\n" if k < len(props) - 1 else "\n"))
        fh.write("]}\n")
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _fmt(values: pd.Series, decimals: int) -> pd.Series:
    """Round, keeping blanks; whole numbers as integers (nullable Int64) when decimals == 0."""
    out = values.astype(float).round(decimals)
    return out.astype("Int64") if decimals == 0 else out


def _baseline_table(logs: pd.DataFrame) -> pd.DataFrame:
    """Baseline seasons as a farmers' cooperative would keep them: Chinese, per mu, L per plot."""
    b = logs[logs["year"].isin(BASELINE_YEARS)]

    def zh(column: pd.Series) -> pd.Series:
        return column.map(lambda x: ZH.get(x, x))

    return pd.DataFrame(
        {
            "地块编号": b["plot_id"],
            "日期": b["date"].dt.strftime("%Y/%m/%d"),
            "作业类型": zh(b["activity"]),
            "作物": zh(b["crop"]),
            "方式": zh(b["method"]),
            "秸秆还田比例(%)": _fmt(b["residue_fraction"] * 100.0, 0),
            "产量(斤/亩)": _fmt(b["yield_t_ha"] * 1000.0 / MU_PER_HA / KG_PER_JIN, 0),
            "肥料品种": zh(b["product"]),
            "施用量(公斤/亩)": _fmt(b["product_rate_kg_ha"] / MU_PER_HA, 0),
            "含氮量(%)": _fmt(b["n_content_pct"], 0),
            "有机肥类型": zh(b["manure_type"]),
            "有机肥用量(公斤/亩)": _fmt(b["manure_rate_t_ha"] * 1000.0 / MU_PER_HA, 0),
            "有机肥含碳量(%)": _fmt(b["manure_c_pct"], 1),
            "有机肥含氮量(%)": _fmt(b["manure_n_pct"], 2),
            "灌溉量(m3/亩)": _fmt(b["irrigation_mm"] / 1.5, 0),  # 1 m3/mu = 1.5 mm
            "柴油(升)": _fmt(b["diesel_l_ha"] * b["area_ha"], 1),
            "备注": b["notes"].map(lambda k: NOTES[k][0]),
        },
        columns=list(BASELINE_COLUMNS),
    )


def _project_table(logs: pd.DataFrame) -> pd.DataFrame:
    """Project seasons as the project's monitoring system exports them: English, per ha."""
    b = logs[logs["year"].isin(PROJECT_YEARS)]
    return pd.DataFrame(
        {
            "plot_id": b["plot_id"],
            "date": b["date"].dt.normalize(),
            "activity": b["activity"],
            "crop": b["crop"],
            "method": b["method"],
            "residue_fraction": _fmt(b["residue_fraction"], 2),
            "yield (t/ha)": _fmt(b["yield_t_ha"], 2),
            "product": b["product"],
            "product_rate (kg/ha)": _fmt(b["product_rate_kg_ha"], 1),
            "n_content (%)": _fmt(b["n_content_pct"], 1),
            "manure_type": b["manure_type"],
            "manure_rate (t/ha)": _fmt(b["manure_rate_t_ha"], 2),
            "manure_c (%)": _fmt(b["manure_c_pct"], 1),
            "manure_n (%)": _fmt(b["manure_n_pct"], 2),
            "irrigation (mm)": _fmt(b["irrigation_mm"], 1),
            "diesel (L/ha)": _fmt(b["diesel_l_ha"], 1),
            "notes": b["notes"].map(lambda k: NOTES[k][1]),
        },
        columns=list(PROJECT_COLUMNS),
    )


_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "{sheets}</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_XLSX_CHUNK_ROWS = 100_000


def _xlsx_column(values: pd.Series, letter: str, rows: np.ndarray) -> pd.Series:
    """SpreadsheetML ``<c>`` elements of one column (empty string for a blank cell)."""
    ref = letter + pd.Series(rows.astype(str), index=values.index)
    blank = values.isna() | (values.astype(object) == "")
    if pd.api.types.is_datetime64_any_dtype(values):
        serial = ((values.to_numpy().astype("datetime64[D]") - _EXCEL_EPOCH).astype(int)).astype(str)
        cell = '<c r="' + ref + '" s="1"><v>' + serial + "</v></c>"
    elif pd.api.types.is_numeric_dtype(values):
        number = values.astype(float).astype(str)
        cell = '<c r="' + ref + '"><v>' + number + "</v></c>"
    else:
        text = values.astype(str).str.replace("&", "&amp;").str.replace("<", "&lt;").str.replace(">", "&gt;")
        cell = '<c r="' + ref + '" t="inlineStr"><is><t>' + text + "</t></is></c>"
    return cell.where(~blank, "")


def _write_xlsx(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as an XLSX workbook, one sheet ``activity_logs``.

    A minimal SpreadsheetML package (inline strings, dates as serial numbers styled
    ``yyyy-mm-dd``) written with vectorised string operations: openpyxl's writer needs minutes
    for the 1.3 million rows of a 100,000-plot county. Zip entries carry a fixed timestamp, so
    the file is byte-identical for a given seed. Beyond Excel's row limit the rows continue in
    sheets ``activity_logs_2``, ``activity_logs_3``...
    """
    import zipfile

    letters = [chr(ord("A") + i) for i in range(len(table.columns))]
    if len(letters) > 26:
        raise SampleGenerationError("the XLSX writer handles at most 26 columns")
    n_sheets = max(1, math.ceil(len(table) / EXCEL_MAX_DATA_ROWS))
    header_cells = "".join(
        f'<c r="{letter}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for letter, name in zip(letters, table.columns, strict=True)
    )
    fixed = (1980, 1, 1, 0, 0, 0)

    def put(zf: zipfile.ZipFile, name: str, text: str) -> None:
        info = zipfile.ZipInfo(name, date_time=fixed)
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, text.encode("utf-8"))

    names = ["activity_logs"] + [f"activity_logs_{k + 1}" for k in range(1, n_sheets)]
    with zipfile.ZipFile(path, "w") as zf:
        sheets_ct = "".join(
            f'<Override PartName="/xl/worksheets/sheet{k + 1}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for k in range(n_sheets)
        )
        put(zf, "[Content_Types].xml", _XLSX_STATIC["[Content_Types].xml"].replace("{sheets}", sheets_ct))
        put(zf, "_rels/.rels", _XLSX_STATIC["_rels/.rels"])
        put(
            zf,
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            + "".join(f'<sheet name="{n}" sheetId="{k + 1}" r:id="rId{k + 1}"/>' for k, n in enumerate(names))
            + "</sheets></workbook>",
        )
        put(
            zf,
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{k + 1}" '
                'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                f'Target="worksheets/sheet{k + 1}.xml"/>'
                for k in range(n_sheets)
            )
            + f'<Relationship Id="rId{n_sheets + 1}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
            'Target="styles.xml"/></Relationships>',
        )
        put(zf, "xl/styles.xml", _XLSX_STATIC["xl/styles.xml"])
        for k in range(n_sheets):
            part = table.iloc[k * EXCEL_MAX_DATA_ROWS : (k + 1) * EXCEL_MAX_DATA_ROWS]
            info = zipfile.ZipInfo(f"xl/worksheets/sheet{k + 1}.xml", date_time=fixed)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as fh:
                fh.write(
                    (
                        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        f'<sheetData><row r="1">{header_cells}</row>'
                    ).encode()
                )
                for lo in range(0, len(part), _XLSX_CHUNK_ROWS):  # bounded memory for big counties
                    chunk = part.iloc[lo : lo + _XLSX_CHUNK_ROWS]
                    rows = np.arange(lo + 2, lo + len(chunk) + 2)
                    body = pd.Series("", index=chunk.index)
                    for letter, column in zip(letters, chunk.columns, strict=True):
                        body = body + _xlsx_column(chunk[column], letter, rows)
                    row_xml = (
                        '<row r="' + pd.Series(rows.astype(str), index=chunk.index) + '">' + body + "</row>"
                    )
                    fh.write("".join(row_xml.tolist()).encode("utf-8"))
                fh.write(b"</sheetData></worksheet>")
    if n_sheets > 1:
        log.warning("project log has %r rows: split over %r sheets (Excel row limit)", len(table), n_sheets)


SAMPLE_VERSION = 3
"""Version of the generated sample county's content: raise it whenever the generator writes
different files for the same seed (``mrv demo`` refuses a sample of another version, whose files
would mix with the new ones in the store). 2: real climate (docs/CLIMATE_SOURCES.md).
3: per plot-season residue cover and tillage, soil moisture, burn char (imagery only; the
tables and logs are those of version 2)."""


def _project_json(seed: int, n_plots: int) -> dict[str, Any]:
    return {
        "name": PROJECT_NAME,
        "name_zh": PROJECT_NAME_ZH,
        "methodology_id": METHODOLOGY_ID,
        "region": {**REGION, "lon": round(LISHU_LON, 5), "lat": round(LISHU_LAT, 5)},
        "crediting_period": {"start": CREDITING_PERIOD[0], "end": CREDITING_PERIOD[1]},
        "baseline_years": list(BASELINE_YEARS),
        "project_years": list(PROJECT_YEARS),
        # the run settings: imagery from the bundled static catalog (a path relative to this file)
        "settings": {"imagery": {"source": "imagery/catalog.json"}},
        "seed": seed,
        "n_plots": n_plots,
        "sample_version": SAMPLE_VERSION,
    }


def _render_readme(context: Mapping[str, Any]) -> str:
    text = resources.files("mrv_service.sample").joinpath("README_TEMPLATE.md").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(text).render(**context)


def write_sample(data: SampleData, directory: Path) -> tuple[list[str], tuple[float, float, float, float]]:
    """Write every vector/table file of the sample (no imagery, no README) into ``directory``.

    Returns the relative file names written and the lon/lat bounds of the plots.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    (directory / "project.json").write_text(
        json.dumps(_project_json(data.seed, len(data.plots)), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    files.append("project.json")
    bounds = _write_geojson(data.plots, directory / "plots.geojson")
    files.append("plots.geojson")
    tables = {
        "farmers.csv": data.farmers[list(FARMER_COLUMNS)],
        "activity_logs_baseline.csv": _baseline_table(data.logs),
        "soil_samples.csv": data.soil_samples[list(SOIL_COLUMNS)],
        "weather_monthly.csv": data.weather[list(WEATHER_COLUMNS)],
        "plot_properties.csv": data.plot_properties[list(PLOT_TRUTH_COLUMNS)],
        "truth.csv": data.truth[list(TRUTH_COLUMNS)],
    }
    for name, table in tables.items():
        _write_csv(table, directory / name)
        files.append(name)
    _write_xlsx(_project_table(data.logs), directory / "activity_logs_project.xlsx")
    files.append("activity_logs_project.xlsx")
    return files, bounds


def _with_progress(progress: Callable[..., Iterable[Any]] | None, steps: list[Any]) -> Iterable[Any]:
    """Wrap the step list with the injected progress callable (tqdm-like: ``progress(iterable)``)."""
    return steps if progress is None else progress(steps)


def create_sample(
    directory: Path,
    *,
    seed: int = DEFAULT_SEED,
    n_plots: int = DEFAULT_N_PLOTS,
    imagery: bool = True,
    progress: Callable[..., Iterable[Any]] | None = None,
    overwrite: bool = False,
) -> SampleSummary:
    """Generate and write the sample county into ``directory``.

    Parameters
    ----------
    directory : Path
        Target directory; created if missing. It must be empty unless ``overwrite``.
    seed : int
        Seed of every random stream (default :data:`DEFAULT_SEED`).
    n_plots : int
        Number of plots [1]: a few for unit tests, 1,200 by default, 100,000 for scale runs.
    imagery : bool
        Also write the Sentinel-2-like COGs and STAC catalog
        (:func:`mrv_service.sample.imagery.write_imagery`); skip for big or fast runs.
    progress : callable, optional
        tqdm-like wrapper ``progress(iterable) -> iterable`` (e.g. ``tqdm.tqdm``); also handed
        to the imagery writer.
    overwrite : bool
        Write into a non-empty directory, replacing the sample's files.

    Returns
    -------
    SampleSummary

    Raises
    ------
    SampleError
        ``seed`` or ``n_plots`` out of range.
    SampleExistsError
        ``directory`` holds files and ``overwrite`` is false.
    SampleGenerationError
        The imagery module is missing (pass ``imagery=False``) or a geometry guarantee broke.
    """
    directory = Path(directory)
    _check_args(seed, n_plots)
    if directory.exists() and not directory.is_dir():
        raise SampleExistsError(f"{directory} exists and is not a directory; choose another path")
    if directory.is_dir() and any(directory.iterdir()) and not overwrite:
        raise SampleExistsError(
            f"{directory} is not empty; choose an empty or new directory, or pass overwrite=True (--overwrite)"
        )
    ctx = SimpleNamespace(files=[], imagery=None)

    def build() -> None:
        ctx.data = generate(seed, n_plots)

    def write_vectors() -> None:
        ctx.files, ctx.bounds = write_sample(ctx.data, directory)

    def write_images() -> None:
        try:
            from mrv_service.sample.imagery import write_imagery
        except ImportError as exc:
            raise SampleGenerationError(
                "mrv_service.sample.imagery is not available; create the sample with imagery=False (--no-imagery)"
            ) from exc
        years = sorted({*BASELINE_YEARS, *PROJECT_YEARS})
        plots_utm = ctx.data.plots[["plot_id", "farmer_id", "village", "area_ha", "geometry"]]
        states = ctx.data.states.copy()
        ctx.imagery = write_imagery(directory, plots_utm, states, seed=seed, years=years, progress=progress)
        ctx.files.append("imagery/catalog.json")

    def write_readme() -> None:
        ctx.files.append("README.md")
        (directory / "README.md").write_text(_render_readme(_readme_context(ctx)), encoding="utf-8")

    steps: list[tuple[str, Callable[[], None]]] = [("generate", build), ("write files", write_vectors)]
    if imagery:
        steps.append(("imagery", write_images))
    steps.append(("README", write_readme))
    for name, step in _with_progress(progress, steps):
        log.info("sample county: %s", name)
        step()

    data: SampleData = ctx.data
    last = data.truth["year"] == PROJECT_YEARS[-1]
    return SampleSummary(
        directory=directory,
        seed=int(seed),
        n_plots=len(data.plots),
        n_farmers=len(data.farmers),
        n_villages=len(data.villages),
        total_area_ha=float(data.plots["area_ha"].sum()),
        median_area_ha=float(data.plots["area_ha"].median()),
        adoption_fraction=float((data.truth.loc[last, "logged_tillage"] == "no_till").mean()),
        contradicted_fraction=float(data.truth["contradicted"].mean()),
        bounds_lonlat=ctx.bounds,
        files=tuple(sorted(ctx.files)),
        imagery=ctx.imagery,
    )


def _readme_context(ctx: SimpleNamespace) -> dict[str, Any]:
    data: SampleData = ctx.data
    area = data.plots["area_ha"]
    last = data.truth["year"] == PROJECT_YEARS[-1]
    x0, y0, x1, y1 = data.plots.total_bounds
    return {
        "seed": data.seed,
        "n_plots": len(data.plots),
        "n_farmers": len(data.farmers),
        "n_villages": len(data.villages),
        "villages": ", ".join(data.villages["village"].head(12)) + ("…" if len(data.villages) > 12 else ""),
        "area_total": f"{area.sum():.1f}",
        "area_median": f"{area.median():.2f}",
        "area_min": f"{area.min():.2f}",
        "area_max": f"{area.max():.2f}",
        "extent_km": f"{(x1 - x0) / 1000:.1f} x {(y1 - y0) / 1000:.1f}",
        "bounds": ", ".join(f"{b:.4f}" for b in ctx.bounds),
        "adoption": f"{100 * (data.truth.loc[last, 'logged_tillage'] == 'no_till').mean():.0f}",
        "contradicted": f"{100 * data.truth['contradicted'].mean():.1f}",
        "n_soil_plots": data.soil_samples["地块编号"].nunique(),
        "imagery": ctx.imagery is not None,
        "files": sorted(ctx.files),
        "diesel": DIESEL_L_HA,
        "tmean": ", ".join(f"{t:.1f}" for t in TMEAN_NORMAL_DEGC),
        "tmax": ", ".join(f"{t:.1f}" for t in TMAX_NORMAL_DEGC),
        "precip": ", ".join(f"{t:.1f}" for t in PRECIP_NORMAL_MM),
        "precip_year": f"{PRECIP_NORMAL_MM.sum():.0f}",
        "pet": ", ".join(f"{t:.0f}" for t in PET_NORMAL_MM),
        "pet_year": f"{PET_NORMAL_MM.sum():.0f}",
        "pan": ", ".join(f"{t:.0f}" for t in PET_NORMAL_MM * PAN_PER_PET),
        "pan_year": f"{(PET_NORMAL_MM * PAN_PER_PET).sum():.0f}",
        "lat": f"{LISHU_LAT:.4f}",
        "lon": f"{LISHU_LON:.4f}",
        "project": _project_json(data.seed, len(data.plots)),
    }
