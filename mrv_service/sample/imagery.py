"""Sentinel-2 L2A-like image time series of the sample county, as COGs with a static STAC catalog.

The sample county (``mrv sample create DIR``) needs imagery that the real pipeline can read
exactly as it reads Earth Search: a static STAC catalog ``DIR/imagery/catalog.json`` with one
collection ``sentinel-2-l2a`` whose items copy the layout of Earth Search v1 items (asset keys
``blue``/``green``/``red``/``nir`` at 10 m, ``swir16``/``swir22``/``scl`` at 20 m, uint16 DN with
``raster:bands`` scale 0.0001 and offset -0.1, EPSG:32651, ``eo:cloud_cover`` and the ``s2:``
scene-classification percentages).  See ``docs/DATA_FORMATS.md`` section 4.

Every pixel is synthetic.  The reflectance of a plot on a date is a linear mixture of five
end-members (green maize canopy, senescent canopy, maize residue, black soil, and clouds/snow
where present) whose fractions follow the plot's *true* management in ``states``: sowing and
harvest dates drive the canopy, tillage and straw handling drive the surface residue cover.
The end-member spectra and every rate below are *synthetic-shaped*: chosen to reproduce the
published behaviour of NDVI and NDTI (values noted beside each constant), not measured.

What the imagery is designed to show
------------------------------------
* NDVI = (B08 - B04) / (B08 + B04): about 0.15 on ploughed bare soil, green-up from June,
  about 0.85 at the late-July/August peak, senescence in September, harvest in early October.
* NDTI = (B11 - B12) / (B11 + B12) [1]_: crop residue absorbs near 2.1 um (cellulose/lignin),
  so B12 drops and NDTI rises with residue cover; bare soil stays near 0.0-0.05 and residue-
  covered soil reaches about 0.15-0.25 outside the canopy season [2]_ [3]_.  Green canopy also
  has a high NDTI, which is why residue is read from the spring/autumn minimum ("minNDTI") [2]_.
* Timing of the residue signal: season Y's straw handling shows from harvest Y (October-
  November) through spring Y+1 until that spring's tillage; an autumn plough (``tillage_date``
  after harvest, the default for ``plough``) bares the soil from its date on.  So spring Y
  shows season Y-1's straw and autumn tillage plus season Y's spring pass: a plot that adopts
  no-till with mulch in Y still looks bare in spring Y and shows its mulch from harvest Y on.
* Clouds (SCL 8/9), cirrus (SCL 10) and cloud shadows (SCL 3, cast away from the sun) are
  blobs drawn on a 20 m grid and shared by all bands; ``eo:cloud_cover`` is computed from SCL.

References
----------
.. [1] A. P. van Deventer, A. D. Ward, P. H. Gowda and J. G. Lyon, "Using Thematic Mapper data
   to identify contrasting soil plains and tillage practices", Photogramm. Eng. Remote Sens.
   63(1), 87-93, 1997.
.. [2] B. Zheng, J. B. Campbell and K. M. de Beurs, "Remote sensing of crop residue cover using
   multi-temporal Landsat imagery", Remote Sens. Environ. 117, 177-183, 2012,
   doi:10.1016/j.rse.2011.09.016.
.. [3] B. Zheng, J. B. Campbell, G. Serbin and J. M. Galbraith, "Remote sensing of crop residue
   and tillage practices: present capabilities and future prospects", Soil Tillage Res. 138,
   26-34, 2014, doi:10.1016/j.still.2013.12.009.
.. [4] G. Doxani et al., "Atmospheric Correction Inter-Comparison Exercise", Remote Sens. 10(2),
   352, 2018, doi:10.3390/rs10020352.
.. [5] ESA, "Sentinel-2 Products Specification Document" (S2-PDGS-TAS-DI-PSD), L2A scene
   classification values; and the processing-baseline 04.00 note introducing the radiometric
   offset BOA_ADD_OFFSET = -1000 (DN = 10000 * reflectance + 1000).
.. [6] NOAA Global Monitoring Laboratory, "General Solar Position Calculations" (Fourier
   series of J. W. Spencer, Search 2(5), 172, 1971).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pystac
import rasterio
import rasterio.features
import rasterio.warp
from affine import Affine
from pyproj import Transformer
from scipy import ndimage
from shapely.geometry import box, mapping, shape

from geodata.area import utm_epsg
from geodata.sentinel2 import BANDS as S2_BANDS
from geodata.sentinel2 import (
    BOA_ADD_OFFSET,
    BOA_ADD_OFFSET_DN,
    NODATA,
    QUANTIFICATION_VALUE,
    REFLECTANCE_SCALE,
    SCL_CLASS_TABLE,
    SCL_CODES,
    SENTINEL2_L2A_COLLECTIONS,
    Band,
)
from models.errors import MRVError

log = logging.getLogger(__name__)

__all__ = [
    "Acquisition",
    "SampleImageryError",
    "acquisition_schedule",
    "canopy_fractions",
    "mgrs_tile",
    "solar_position",
    "write_imagery",
]


class SampleImageryError(MRVError, ValueError):
    """The plots or states given to the imagery generator are unusable."""


# ---------------------------------------------------------------------------------------------
# Product conventions (copied from real Earth Search v1 ``sentinel-2-l2a`` items, 2025)
# ---------------------------------------------------------------------------------------------

EPSG = 32651
"""UTM zone 51N (WGS 84), the zone of Lishu County (124.37 E) [-]."""

COLLECTION_ID = SENTINEL2_L2A_COLLECTIONS[0]
"""``sentinel-2-l2a``, the Earth Search v1 collection id."""

# Scale, offset, nodata, band table and SCL codes come from geodata.sentinel2 (their one home):
# reflectance = DN * REFLECTANCE_SCALE + BOA_ADD_OFFSET (processing baseline >= 04.00) [5]_, i.e.
# DN = QUANTIFICATION_VALUE * reflectance - BOA_ADD_OFFSET_DN; NODATA = 0.

PROCESSING_BASELINE = "05.10"
"""All items are written as if (re)processed with baseline 05.10, as the Collection-1 reprocessing
does for old dates, so the offset applies to every item."""

COG_MEDIA_TYPE = pystac.MediaType.COG
BLOCKSIZE = 256
"""COG tile size [pixel]; real Sentinel-2 COGs use 512 or 1024 on 10980-pixel tiles."""

GRID_SNAP = 20.0
"""Raster origin snapped to multiples of 20 m [m], as Sentinel-2 tile origins are, so the
10 m and 20 m grids share an origin."""

MARGIN = 300.0
"""Margin around the plots' bounding box [m]."""


@dataclass(frozen=True)
class _Band(Band):
    """A band of :data:`geodata.sentinel2.BANDS` with the sample's synthetic per-pixel noise."""

    noise_sd: float
    """Per-pixel noise standard deviation [1 reflectance], order of the L2A surface-reflectance
    uncertainty found by ACIX [4]_ (synthetic-shaped)."""


_NOISE_SD: dict[str, float] = {
    "blue": 0.004,
    "green": 0.004,
    "red": 0.005,
    "nir": 0.008,
    "swir16": 0.006,
    "swir22": 0.005,
}
"""Synthetic noise per band [1 reflectance] (see :attr:`_Band.noise_sd`)."""

_S2_BANDS = {b.key: b for b in S2_BANDS}

BANDS: tuple[_Band, ...] = tuple(
    _Band(**dataclasses.asdict(_S2_BANDS[key]), noise_sd=sd) for key, sd in _NOISE_SD.items()
)
"""The six reflectance bands in the order of every spectrum array below."""

SCL_NO_DATA = SCL_CODES["no_data"]
SCL_SATURATED = SCL_CODES["saturated_or_defective"]
SCL_DARK = SCL_CODES["dark_area_pixels"]
SCL_CLOUD_SHADOW = SCL_CODES["cloud_shadows"]
SCL_VEGETATION = SCL_CODES["vegetation"]
SCL_NOT_VEGETATED = SCL_CODES["not_vegetated"]
SCL_WATER = SCL_CODES["water"]
SCL_UNCLASSIFIED = SCL_CODES["unclassified"]
SCL_CLOUD_MEDIUM = SCL_CODES["cloud_medium_probability"]
SCL_CLOUD_HIGH = SCL_CODES["cloud_high_probability"]
SCL_CIRRUS = SCL_CODES["thin_cirrus"]
SCL_SNOW = SCL_CODES["snow"]
SCL_CLASSES: tuple[tuple[int, str, str], ...] = SCL_CLASS_TABLE
"""Sentinel-2 L2A scene classification (SCL) values [5]_ (from :mod:`geodata.sentinel2`)."""

NDVI_VEGETATION = 0.4
"""NDVI above which a clear land pixel is classed SCL 4 (vegetation) [1] (synthetic rule)."""

# ---------------------------------------------------------------------------------------------
# End-member spectra [1 reflectance], bands B02, B03, B04, B08, B11, B12 (synthetic-shaped)
# ---------------------------------------------------------------------------------------------

SPECTRA: dict[str, np.ndarray] = {
    # full green maize canopy: NDVI 0.88, NDTI 0.38
    "green_canopy": np.array([0.030, 0.070, 0.030, 0.450, 0.200, 0.090]),
    # senescent standing maize before harvest: NDVI 0.37, NDTI 0.19
    "dry_canopy": np.array([0.070, 0.100, 0.130, 0.280, 0.320, 0.220]),
    # dry maize straw on the surface: NDVI 0.22, NDTI 0.21 (cellulose absorption lowers B12) [1]_ [3]_
    "residue": np.array([0.100, 0.140, 0.180, 0.280, 0.340, 0.220]),
    # dark Mollisol (black soil), dry: NDVI 0.15, NDTI 0.01
    "soil": np.array([0.060, 0.080, 0.100, 0.135, 0.195, 0.190]),
    # compacted earth field road: NDVI 0.16, NDTI 0.07
    "road": np.array([0.100, 0.130, 0.160, 0.220, 0.300, 0.260]),
    # village roofs, concrete and yards: NDVI 0.18
    "built": np.array([0.120, 0.130, 0.140, 0.200, 0.240, 0.220]),
    # deciduous shelter-belt trees in leaf: NDVI 0.85
    "tree_canopy": np.array([0.030, 0.060, 0.030, 0.380, 0.170, 0.080]),
    # leaf-off trees, bark and litter: NDVI 0.24
    "tree_leafoff": np.array([0.070, 0.090, 0.110, 0.180, 0.240, 0.190]),
    # pond water: NDVI < 0
    "water": np.array([0.060, 0.070, 0.050, 0.030, 0.020, 0.015]),
    # optically thick cloud
    "cloud": np.array([0.450, 0.430, 0.420, 0.450, 0.320, 0.220]),
    # fresh snow: bright in VIS/NIR, dark in SWIR (NDSI 0.80)
    "snow": np.array([0.750, 0.720, 0.680, 0.600, 0.080, 0.060]),
}
"""End-member spectra.  Synthetic-shaped: numbers picked so that the mixtures give the NDVI and
NDTI levels reported in [1]_-[3]_, not taken from a spectral library."""

CIRRUS_HAZE = np.array([0.040, 0.040, 0.035, 0.030, 0.020, 0.012])
"""Additive reflectance of thin cirrus [1] (synthetic-shaped)."""

SHADOW_FACTOR = (0.30, 0.45)
"""Range of the fraction of surface reflectance left in a cloud shadow [1] (synthetic-shaped)."""

RESIDUE_COVER_AFTER_HARVEST: dict[str, float] = {
    "removed": 0.10,  # stubble only, straw baled off the field (离田)
    "burned": 0.03,  # ash and a few stalk bases (焚烧)
    "retained": 0.60,  # chopped straw returned (还田), until tillage
    "mulched": 0.85,  # whole straw left as mulch (覆盖还田)
}
"""Surface residue cover right after harvest by straw handling [1 fraction] (synthetic-shaped;
conservation tillage is defined by >= 30 % cover at planting, IPCC 2006 Vol. 4 Table 5.5)."""

RESIDUE_REMAINING_AFTER_TILLAGE: dict[str, float] = {
    "plough": 0.05,  # mouldboard plough inverts the soil and buries ~95 % (翻耕)
    "rotary": 0.35,  # rotary tiller mixes residue into the top 10-15 cm (旋耕)
    "reduced": 0.60,
    "subsoiling": 0.80,
    "no_till": 0.90,  # only the no-till planter's row cleaner disturbs residue (免耕)
}
"""Fraction of surface residue cover left after a tillage pass [1] (synthetic-shaped,
ordered as in extension tables of residue remaining after tillage implements: inverting tools
leave ~5 %, rototilling 25-50 %, planters ~90 %)."""

DEFAULT_TILLAGE_TIMING: dict[str, tuple[str, int]] = {
    "plough": ("harvest", 20),  # autumn mouldboard ploughing after harvest (秋翻)
    "rotary": ("sowing", -4),  # spring rotary tillage a few days before sowing (旋耕)
    "reduced": ("sowing", -4),
    "subsoiling": ("harvest", 20),
    "no_till": ("sowing", 0),  # the no-till planter pass itself
}
"""Date of the tillage pass when ``states`` has no ``tillage_date``: (anchor, offset [d]) relative
to the season's sowing or harvest date (synthetic; the NE China practice of autumn ploughing and
spring rotary tillage)."""

WINTER_RESIDUE_RETENTION = 0.95
"""Residue cover kept through the frozen winter [1] (synthetic)."""

RESIDUE_DECAY_PER_DAY = 0.0015
"""First-order decline of residue cover in the growing season [d-1] (synthetic)."""

EMERGENCE_TO_HALF_COVER_DAYS = 52.0
"""Days from sowing to 50 % green cover [d] (synthetic, puts green-up in June for early-May
sowing and full cover by mid-July)."""

GREEN_UP_SCALE_DAYS = 7.0
"""Logistic time scale of green-up [d] (synthetic)."""

HALF_SENESCENCE_BEFORE_HARVEST_DAYS = 20.0
"""Days before harvest at which half the canopy is senescent [d] (synthetic)."""

SENESCENCE_SCALE_DAYS = 6.0
"""Logistic time scale of senescence [d] (synthetic)."""

OVERPASS_UTC = dt.time(2, 36, 21)
"""Acquisition time [UTC]: Sentinel-2 crosses at ~10:30 mean local solar time, i.e. ~02:30 UTC
at 124.4 E."""

REFERENCE_SLOT = dt.date(2021, 1, 2)
"""A date of the synthetic 5-day revisit grid (S2A on even slots, S2B on odd slots)."""

REVISIT_DAYS = 5
"""Combined Sentinel-2A/B revisit at the equator [d]."""

IN_SEASON_DATES = 14
"""Acquisitions kept per season, 1 April - 31 October [-]."""

OFF_SEASON_TARGETS = ((3, 22), (11, 8))
"""(month, day) near which one off-season acquisition per year is kept (late March, early
November)."""


# ---------------------------------------------------------------------------------------------
# Acquisition schedule
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acquisition:
    """One synthetic Sentinel-2 overpass over the sample county."""

    datetime: dt.datetime
    """Acquisition time [UTC]."""
    platform: str
    """``sentinel-2a`` or ``sentinel-2b``."""
    sky: str
    """``clear``, ``partly`` or ``mostly`` (cloudy)."""
    cloud_target: float
    """Target fraction of the scene under cloud (SCL 8/9) [1]."""

    @property
    def date(self) -> dt.date:
        """Acquisition date [UTC]."""
        return self.datetime.date()


def acquisition_schedule(years: Sequence[int], seed: int) -> list[Acquisition]:
    """The dates, platforms and sky conditions of the sample time series.

    Dates lie on a 5-day revisit grid; per year ``IN_SEASON_DATES`` dates spread over
    1 April - 31 October plus one in late March and one in early November.  Of each year's
    dates two are mostly cloudy (75-95 % cloud), five partly cloudy (8-50 %) and the rest
    clear (0-1.5 %).

    Parameters
    ----------
    years : sequence of int
        Calendar years.
    seed : int
        Seed; the same seed and year give the same dates.

    Returns
    -------
    list of Acquisition
        Sorted by time.
    """
    out: list[Acquisition] = []
    for year in sorted(set(int(y) for y in years)):
        rng = np.random.default_rng([int(seed), 4, year])
        first = _slot_at_or_after(dt.date(year, 4, 1))
        last = _slot_at_or_after(dt.date(year, 10, 31)) - 1
        wanted = np.linspace(first, last, IN_SEASON_DATES)
        slots = set()
        for w in wanted:
            s = int(round(w)) + int(rng.integers(-1, 2))
            s = min(max(s, first), last)
            while s in slots and s < last:
                s += 1
            slots.add(s)
        for month, day in OFF_SEASON_TARGETS:
            slots.add(_slot_at_or_after(dt.date(year, month, day)) + int(rng.integers(0, 2)))
        ordered = sorted(slots)
        skies = np.array(["clear"] * len(ordered), dtype=object)
        order = rng.permutation(len(ordered))
        skies[order[:2]] = "mostly"
        skies[order[2:7]] = "partly"
        for slot, sky in zip(ordered, skies, strict=True):
            if sky == "mostly":
                target = float(rng.uniform(0.75, 0.95))
            elif sky == "partly":
                target = float(rng.uniform(0.08, 0.50))
            else:
                target = float(rng.uniform(0.0, 0.015)) if rng.random() < 0.5 else 0.0
            day = REFERENCE_SLOT + dt.timedelta(days=REVISIT_DAYS * slot)
            when = dt.datetime.combine(day, OVERPASS_UTC, tzinfo=dt.UTC)
            platform = "sentinel-2a" if slot % 2 == 0 else "sentinel-2b"
            out.append(Acquisition(when, platform, str(sky), target))
    return out


def _slot_at_or_after(day: dt.date) -> int:
    return -((REFERENCE_SLOT - day).days // REVISIT_DAYS)


# ---------------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------------


def mgrs_tile(lon: float, lat: float) -> tuple[int, str, str]:
    """MGRS grid zone, latitude band and 100 km square of a point.

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude [degree], WGS 84, between 80 S and 84 N; the Norway and Svalbard
        zone exceptions are not applied.

    Returns
    -------
    (int, str, str)
        UTM zone, latitude band letter, two-letter 100 km square (MGRS "AA" lettering:
        column letters cycle A-H, J-R, S-Z by zone modulo 3; row letters A-V without I and O,
        offset by 5 in even zones).

    Examples
    --------
    >>> mgrs_tile(124.37, 43.42)  # Lishu County
    (51, 'T', 'XJ')
    """
    epsg = int(utm_epsg(lon, lat))  # the project's one UTM-zone rule (geodata.area)
    zone = epsg % 100
    bands = "CDEFGHJKLMNPQRSTUVWX"
    band = bands[min(int((lat + 80.0) // 8.0), len(bands) - 1)]
    # southern hemisphere: the false northing of 10 000 km is a multiple of the 2 000 km row cycle
    tr = Transformer.from_crs(4326, epsg, always_xy=True)
    e, n = tr.transform(lon, lat)
    col_sets = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")
    col = col_sets[zone % 3][int(e // 100_000) - 1]
    rows = "ABCDEFGHJKLMNPQRSTUV"
    row = rows[(int(n // 100_000) + (5 if zone % 2 == 0 else 0)) % 20]
    return zone, band, col + row


def solar_position(when: dt.datetime, lon: float, lat: float) -> tuple[float, float]:
    """Sun elevation and azimuth from the NOAA/Spencer Fourier series [6]_.

    Parameters
    ----------
    when : datetime.datetime
        Time [UTC].
    lon, lat : float
        Position [degree].

    Returns
    -------
    (float, float)
        Sun elevation [degree] and azimuth [degree clockwise from north].

    Notes
    -----
    gamma = 2 pi / 365 (doy - 1 + (hour - 12) / 24); declination and equation of time from the
    Fourier series; true solar time = UTC minutes + eqtime + 4 lon; hour angle
    H = tst / 4 - 180; cos(zenith) = sin(phi) sin(delta) + cos(phi) cos(delta) cos(H);
    azimuth = atan2(sin H, cos H sin(phi) - tan(delta) cos(phi)) + 180.

    Examples
    --------
    >>> el, az = solar_position(dt.datetime(2024, 6, 21, 2, 36, tzinfo=dt.UTC), 124.37, 43.42)
    >>> round(el), round(az)
    (66, 139)
    """
    doy = when.timetuple().tm_yday
    hour = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    tst = hour * 60 + eqtime + 4 * lon
    ha = math.radians(tst / 4 - 180)
    phi = math.radians(lat)
    cos_zen = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(ha)
    zen = math.acos(max(-1.0, min(1.0, cos_zen)))
    az = (
        math.degrees(math.atan2(math.sin(ha), math.cos(ha) * math.sin(phi) - math.tan(decl) * math.cos(phi)))
        + 180
    )
    return 90 - math.degrees(zen), az % 360


@dataclass(frozen=True)
class _Grid:
    transform10: Affine
    shape10: tuple[int, int]
    transform20: Affine
    shape20: tuple[int, int]
    bbox_utm: tuple[float, float, float, float]


def _grid_for(bounds: Sequence[float], margin: float = MARGIN) -> _Grid:
    x0 = math.floor((bounds[0] - margin) / GRID_SNAP) * GRID_SNAP
    y0 = math.floor((bounds[1] - margin) / GRID_SNAP) * GRID_SNAP
    x1 = math.ceil((bounds[2] + margin) / GRID_SNAP) * GRID_SNAP
    y1 = math.ceil((bounds[3] + margin) / GRID_SNAP) * GRID_SNAP
    w20, h20 = int(round((x1 - x0) / 20)), int(round((y1 - y0) / 20))
    return _Grid(
        transform10=Affine(10.0, 0.0, x0, 0.0, -10.0, y1),
        shape10=(2 * h20, 2 * w20),
        transform20=Affine(20.0, 0.0, x0, 0.0, -20.0, y1),
        shape20=(h20, w20),
        bbox_utm=(x0, y0, x1, y1),
    )


# ---------------------------------------------------------------------------------------------
# Phenology and residue (pure numpy)
# ---------------------------------------------------------------------------------------------


def _logistic(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def canopy_fractions(
    day: np.datetime64, sowing: np.ndarray, harvest: np.ndarray, fv_max: np.ndarray | float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Green and senescent maize canopy cover on a date.

    Parameters
    ----------
    day : numpy.datetime64
        The date.
    sowing, harvest : numpy.ndarray of datetime64[D]
        Sowing and harvest dates of each plot in the season containing ``day``.
    fv_max : array_like
        Maximum canopy cover [1].

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Green cover f_v and senescent (dry, standing) cover f_s [1]; both 0 from harvest on.

    Notes
    -----
    grow = fv_max * L((t - t_sow - 52 d) / 7 d), sen = L((t - t_harv + 20 d) / 6 d),
    f_v = grow (1 - sen), f_s = grow sen, with L the logistic function.  Synthetic-shaped:
    for sowing on 1 May, f_v is about 0.05 on 1 June, 0.9 by mid-July, falls through September.
    """
    t_sow = (day - sowing).astype("timedelta64[D]").astype(float)
    t_harv = (day - harvest).astype("timedelta64[D]").astype(float)
    grow = np.asarray(fv_max) * _logistic((t_sow - EMERGENCE_TO_HALF_COVER_DAYS) / GREEN_UP_SCALE_DAYS)
    sen = _logistic((t_harv + HALF_SENESCENCE_BEFORE_HARVEST_DAYS) / SENESCENCE_SCALE_DAYS)
    after = t_harv >= 0
    fv = np.where(after, 0.0, grow * (1.0 - sen))
    fs = np.where(after, 0.0, grow * sen)
    return fv, fs


@dataclass(frozen=True)
class _Season:
    """Per-plot arrays of one season and the one before (aligned with the sorted plot order)."""

    sowing: np.ndarray
    """Sowing dates (datetime64[D])."""
    harvest: np.ndarray
    """Harvest dates (datetime64[D])."""
    till_day: np.ndarray
    """Date of this season's tillage pass (or of the no-till planter pass)."""
    remaining: np.ndarray
    """Fraction of residue cover this season's tillage leaves [1]."""
    cover_post: np.ndarray
    """Residue cover right after this season's harvest [1]."""
    prev_harvest: np.ndarray
    prev_till_day: np.ndarray
    prev_remaining: np.ndarray
    prev_cover_post: np.ndarray


def _residue_cover(day: np.datetime64, season: _Season) -> np.ndarray:
    """Surface residue cover [1] of each plot on a date of the season's calendar year.

    Events in order: the previous harvest leaves ``cover_post`` of the previous season, an
    autumn tillage pass of the previous season cuts it, winter keeps
    ``WINTER_RESIDUE_RETENTION`` of it, a spring tillage pass (or the no-till planter) of this
    season cuts it again, it decays at ``RESIDUE_DECAY_PER_DAY`` from 1 April, this season's
    harvest resets it to this season's ``cover_post``, and an autumn pass after that cuts it.
    """
    c = season.prev_cover_post.copy()
    autumn_prev = (season.prev_till_day >= season.prev_harvest) & (season.prev_till_day <= day)
    c = np.where(autumn_prev, c * season.prev_remaining, c) * WINTER_RESIDUE_RETENTION
    spring = (season.till_day < season.harvest) & (season.till_day <= day)
    c = np.where(spring, c * season.remaining, c)
    since_april = float(max((day - np.datetime64(str(day)[:4] + "-04-01")).astype(int), 0))
    c = c * math.exp(-RESIDUE_DECAY_PER_DAY * since_april)
    after_harvest = day >= season.harvest
    autumn = (season.till_day >= season.harvest) & (season.till_day <= day)
    post = np.where(autumn, season.cover_post * season.remaining, season.cover_post)
    return np.where(after_harvest, post, c)


def _mix(fv, fs, residue, soil_factor) -> np.ndarray:
    """Linear spectral mixture, one row per plot: (n, 6) [1]."""
    fv = np.asarray(fv, float)[:, None]
    fs = np.asarray(fs, float)[:, None]
    c = np.asarray(residue, float)[:, None]
    soil = SPECTRA["soil"][None, :] * np.asarray(soil_factor, float)[:, None]
    ground = c * SPECTRA["residue"] + (1.0 - c) * soil
    return fv * SPECTRA["green_canopy"] + fs * SPECTRA["dry_canopy"] + (1.0 - fv - fs) * ground


def _lookup(table: dict[str, Any], values: pd.Series, field: str, plot_ids: pd.Series) -> np.ndarray:
    bad = ~values.isin(list(table))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SampleImageryError(
            f"states: {field}={values.iloc[i]!r} for plot {plot_ids.iloc[i]!r} is not one of "
            f"{sorted(table)}; use one of these method names"
        )
    return values.map(table).to_numpy(dtype=float)


def _clean_dates(st: pd.DataFrame, col: str, required: bool) -> pd.Series:
    when = pd.to_datetime(st[col])
    if when.dt.tz is not None:
        when = when.dt.tz_localize(None)
    if required and when.isna().any():
        row = st[when.isna()].iloc[0]
        raise SampleImageryError(
            f"states: {col} is empty for plot {row['plot_id']!r} year {row['year']}; give a date"
        )
    return when.dt.normalize()


def _season_arrays(rows: pd.DataFrame, pid: pd.Series, year: int) -> dict[str, np.ndarray]:
    """Dates and factors of one season's rows (already aligned with the plots)."""
    tillage = rows["tillage"].reset_index(drop=True)
    residue = rows["residue"].reset_index(drop=True)
    sowing = rows["sowing_date"].to_numpy().astype("datetime64[D]")
    harvest = rows["harvest_date"].to_numpy().astype("datetime64[D]")
    if np.any(harvest <= sowing):
        i = int(np.flatnonzero(harvest <= sowing)[0])
        raise SampleImageryError(
            f"states: plot {pid.iloc[i]!r} year {year} has harvest_date {harvest[i]} not after sowing_date {sowing[i]}"
        )
    remaining = _lookup(RESIDUE_REMAINING_AFTER_TILLAGE, tillage, "tillage", pid)
    anchor = np.where(tillage.map(lambda t: DEFAULT_TILLAGE_TIMING[t][0] == "harvest"), harvest, sowing)
    offset = tillage.map(lambda t: DEFAULT_TILLAGE_TIMING[t][1]).to_numpy().astype("timedelta64[D]")
    till_day = anchor + offset
    given = rows["tillage_date"].to_numpy().astype("datetime64[D]")
    till_day = np.where(np.isnat(given), till_day, given)
    return {
        "sowing": sowing,
        "harvest": harvest,
        "till_day": till_day,
        "remaining": remaining,
        "cover_post": _lookup(RESIDUE_COVER_AFTER_HARVEST, residue, "residue", pid),
    }


def _seasons(plot_ids: np.ndarray, states: pd.DataFrame, years: Sequence[int]) -> dict[int, _Season]:
    need = {"plot_id", "year", "tillage", "residue", "sowing_date", "harvest_date"}
    missing = need - set(states.columns)
    if missing:
        raise SampleImageryError(
            f"states lacks column(s) {sorted(missing)}; it needs one row per plot and year with {sorted(need)}"
        )
    st = states.copy()
    st["plot_id"] = st["plot_id"].astype(str)
    st["year"] = st["year"].astype(int)
    st["sowing_date"] = _clean_dates(st, "sowing_date", required=True)
    st["harvest_date"] = _clean_dates(st, "harvest_date", required=True)
    if "tillage_date" in st.columns:
        st["tillage_date"] = _clean_dates(st, "tillage_date", required=False)
    else:
        st["tillage_date"] = pd.NaT
    st = st.drop_duplicates(["plot_id", "year"], keep="last").set_index(["plot_id", "year"])
    pid = pd.Series(plot_ids)
    out: dict[int, _Season] = {}
    for year in years:
        rows = st.reindex(pd.MultiIndex.from_arrays([plot_ids, np.full(len(plot_ids), year)]))
        absent = rows["tillage"].isna().to_numpy()
        if absent.any():
            raise SampleImageryError(
                f"states has no row for year {year} of plot(s) {list(plot_ids[absent][:5])}"
                f"{' ...' if absent.sum() > 5 else ''}; give one row per plot and year"
            )
        cur = _season_arrays(rows, pid, year)
        # the season before: its own row where given, else this season's practice one year earlier
        prev_rows = st.reindex(pd.MultiIndex.from_arrays([plot_ids, np.full(len(plot_ids), year - 1)]))
        known = prev_rows["tillage"].notna().to_numpy()
        guess = rows.copy()
        for col in ("sowing_date", "harvest_date", "tillage_date"):
            guess[col] = guess[col] - pd.DateOffset(years=1)
        prev_rows = prev_rows.where(
            pd.Series(known, index=prev_rows.index), guess.set_axis(prev_rows.index), axis=0
        )
        prev = _season_arrays(prev_rows, pid, year - 1)
        out[year] = _Season(
            **cur,
            prev_harvest=prev["harvest"],
            prev_till_day=prev["till_day"],
            prev_remaining=prev["remaining"],
            prev_cover_post=prev["cover_post"],
        )
    return out


# Background land cover classes (label values above the plots)
_BG_CLASSES = ("road", "built", "trees", "cropland", "water")


def _background_spectra(day: np.datetime64, soil_factor: float) -> np.ndarray:
    """Spectra of the background classes on a date: (5, 6) [1]."""
    year = int(str(day)[:4])
    sow = np.array([np.datetime64(f"{year}-05-01")])
    harv = np.array([np.datetime64(f"{year}-10-05")])
    # non-project maize fields: rotary tillage, straw removed (conventional practice)
    fv, fs = canopy_fractions(day, sow, harv, 0.93)
    removed = np.array([RESIDUE_COVER_AFTER_HARVEST["removed"]])
    rotary = np.array([RESIDUE_REMAINING_AFTER_TILLAGE["rotary"]])
    till = sow + np.timedelta64(DEFAULT_TILLAGE_TIMING["rotary"][1], "D")
    season = _Season(sow, harv, till, rotary, removed, harv - 365, till - 365, rotary, removed)
    c = _residue_cover(day, season)
    crop = _mix(fv, fs, c, [soil_factor])[0]
    # deciduous trees: leaf-on 5 May - 10 October
    doy = (day - np.datetime64(f"{year}-01-01")).astype(int)
    leaf = float(_logistic((doy - 125) / 5.0) * _logistic((283 - doy) / 6.0))
    trees = leaf * SPECTRA["tree_canopy"] + (1 - leaf) * SPECTRA["tree_leafoff"]
    road = (1 - 0.25 * leaf) * SPECTRA["road"] + 0.25 * leaf * SPECTRA["green_canopy"]
    built = (1 - 0.2 * leaf) * SPECTRA["built"] + 0.2 * leaf * SPECTRA["tree_canopy"]
    return np.stack([road, built, trees, crop, SPECTRA["water"]])


def _background_labels(plot_label: np.ndarray, n_plots: int, seed: int) -> np.ndarray:
    """Give every non-plot 10 m pixel a land-cover label n_plots + 1 + class index."""
    labels = plot_label.copy()
    outside = plot_label == 0
    if not outside.any():
        return labels
    dist = ndimage.distance_transform_edt(outside)
    rng = np.random.default_rng([int(seed), 3])
    field = ndimage.gaussian_filter(rng.standard_normal(plot_label.shape), sigma=15, mode="wrap")
    q = np.quantile(field[outside], [0.04, 0.20, 0.34])
    far = np.select(
        [field <= q[0], field <= q[1], field <= q[2]],
        [_BG_CLASSES.index("water"), _BG_CLASSES.index("built"), _BG_CLASSES.index("trees")],
        default=_BG_CLASSES.index("cropland"),
    )
    cls = np.where(dist <= 3, _BG_CLASSES.index("road"), far)
    labels[outside] = n_plots + 1 + cls[outside]
    return labels


# ---------------------------------------------------------------------------------------------
# Atmosphere: clouds, cirrus, shadows, snow on the 20 m grid
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sky:
    cloud_weight: np.ndarray
    """Cloud opacity 0..1 (0 = clear), 20 m."""
    cloud_high: np.ndarray
    cloud_any: np.ndarray
    cirrus: np.ndarray
    shadow: np.ndarray
    shadow_factor: float
    snow: np.ndarray


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-12)


def _sky(
    acq: Acquisition, shape20: tuple[int, int], rng: np.random.Generator, sun: tuple[float, float]
) -> _Sky:
    h, w = shape20
    elev, az = sun
    cloud_height = rng.uniform(500.0, 2500.0)  # cumulus base to top [m] (synthetic)
    length = cloud_height / math.tan(math.radians(max(elev, 5.0))) / 20.0  # shadow shift [pixel]
    drow = int(round(math.cos(math.radians(az)) * length))
    dcol = int(round(-math.sin(math.radians(az)) * length))
    pad = max(abs(drow), abs(dcol)) + 1
    sigma = rng.uniform(8.0, 20.0)  # blob scale [pixel of 20 m]
    f = _smooth_field(rng, (h + 2 * pad, w + 2 * pad), sigma)
    inner = (slice(pad, pad + h), slice(pad, pad + w))
    zeros = np.zeros((h, w), bool)
    if acq.cloud_target <= 0:
        cloud_pad = np.zeros_like(f, bool)
        weight = np.zeros((h, w))
    else:
        thr = np.quantile(f, 1.0 - acq.cloud_target)
        cloud_pad = np.zeros_like(f, bool)
        cloud_pad[inner] = f[inner] > thr  # only clouds over the scene cast shadows into it
        weight = np.where(cloud_pad[inner], np.clip(0.35 + 0.65 * (f[inner] - thr) / 0.8, 0.0, 1.0), 0.0)
    cloud_any = cloud_pad[inner]
    cloud_high = cloud_any & (weight >= 0.7)
    # shadow: the cloud mask moved away from the sun
    src = cloud_pad[pad - drow : pad - drow + h, pad - dcol : pad - dcol + w]
    shadow = src & ~cloud_any
    cirrus = zeros
    if acq.sky != "clear" and rng.random() < 0.5:
        g = _smooth_field(rng, (h, w), 2 * sigma)
        cirrus = (g > np.quantile(g, 1.0 - rng.uniform(0.05, 0.3))) & ~cloud_any
    snow = zeros
    if acq.date.month in (11, 12, 1, 2, 3):
        s = _smooth_field(rng, (h, w), 10.0)
        snow = (s > np.quantile(s, 1.0 - rng.uniform(0.0, 0.35))) & ~cloud_any
    return _Sky(
        weight, cloud_high, cloud_any, cirrus, shadow & ~cirrus, float(rng.uniform(*SHADOW_FACTOR)), snow
    )


def _up(a: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(a, 2, axis=-2), 2, axis=-1)


def _down(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[-2] // 2, a.shape[-1] // 2
    return a.reshape(*a.shape[:-2], h, 2, w, 2).mean(axis=(-3, -1))


def _apply_sky(refl: np.ndarray, sky: _Sky) -> np.ndarray:
    """Overlay snow, shadow, cirrus and cloud on a (6, H, W) reflectance field at 10 m."""
    out = refl.copy()
    snow = _up(sky.snow)
    out[:, snow] = SPECTRA["snow"][:, None]
    shadow = _up(sky.shadow)
    out[:, shadow] = out[:, shadow] * sky.shadow_factor + 0.005
    cirrus = _up(sky.cirrus)
    out[:, cirrus] += CIRRUS_HAZE[:, None]
    wgt = _up(sky.cloud_weight)
    cloudy = wgt > 0
    out[:, cloudy] = (1 - wgt[cloudy]) * out[:, cloudy] + wgt[cloudy] * SPECTRA["cloud"][:, None]
    return out


def _scl(red20: np.ndarray, nir20: np.ndarray, water20: np.ndarray, sky: _Sky) -> np.ndarray:
    ndvi = (nir20 - red20) / np.maximum(nir20 + red20, 1e-6)
    scl = np.where(ndvi > NDVI_VEGETATION, SCL_VEGETATION, SCL_NOT_VEGETATED).astype(np.uint8)
    scl[water20] = SCL_WATER
    scl[sky.snow] = SCL_SNOW
    scl[sky.shadow] = SCL_CLOUD_SHADOW
    scl[sky.cirrus] = SCL_CIRRUS
    scl[sky.cloud_any] = SCL_CLOUD_MEDIUM
    scl[sky.cloud_high] = SCL_CLOUD_HIGH
    return scl


def _to_dn(refl: np.ndarray) -> np.ndarray:
    """DN = round(10000 * reflectance + 1000), clipped to 1..65535 (0 is nodata) [5]_."""
    dn = np.rint(refl * float(QUANTIFICATION_VALUE) - BOA_ADD_OFFSET_DN)
    return np.clip(dn, 1, 65535).astype(np.uint16)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _overview_count(shape: tuple[int, int]) -> int:
    """Overview levels down to about 32 pixels, and at least one."""
    return max(1, int(math.floor(math.log2(max(shape) / 32.0))) if max(shape) > 32 else 1)


def _write_cog(path: Path, data: np.ndarray, transform: Affine, resampling: str) -> None:
    profile = {
        "driver": "COG",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": f"EPSG:{EPSG}",
        "transform": transform,
        "nodata": NODATA,
        "compress": "DEFLATE",
        "predictor": 2,
        "level": 1,  # DEFLATE level: noisy reflectance barely compresses at higher levels, only slower
        "blocksize": BLOCKSIZE,
        "overview_resampling": resampling,
        "overview_count": _overview_count(data.shape),
        "bigtiff": "NO",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def _file_fields(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"file:checksum": "1220" + digest, "file:size": path.stat().st_size}


_EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/file/v2.1.0/schema.json",
    "https://stac-extensions.github.io/grid/v1.1.0/schema.json",
    "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sentinel-2/v1.0.0/schema.json",
    "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
    "https://stac-extensions.github.io/classification/v1.1.0/schema.json",
]
"""Extension schemas declared by every item (those of an Earth Search v1 item, plus file and
classification for the SCL class list)."""

_SCL_CLASSES_FIELD = [{"value": v, "name": n, "description": d} for v, n, d in SCL_CLASSES]


def _asset_template(band: _Band | None) -> dict[str, Any]:
    """Fields shared by an asset and its ``item_assets`` definition (Earth Search v1 layout)."""
    if band is None:
        return {
            "type": COG_MEDIA_TYPE,
            "title": "Scene classification map (SCL)",
            "gsd": 20,
            "raster:bands": [{"nodata": NODATA, "data_type": "uint8", "spatial_resolution": 20}],
            "classification:classes": _SCL_CLASSES_FIELD,
            "roles": ["data"],
        }
    return {
        "type": COG_MEDIA_TYPE,
        "title": band.title,
        "eo:bands": [
            {
                "name": band.name,
                "common_name": band.key,
                "center_wavelength": band.center_wavelength,
                "full_width_half_max": band.full_width_half_max,
            }
        ],
        "gsd": band.gsd,
        "raster:bands": [
            {
                "nodata": NODATA,
                "data_type": "uint16",
                "spatial_resolution": band.gsd,
                "scale": REFLECTANCE_SCALE,
                "offset": BOA_ADD_OFFSET,
            }
        ],
        "roles": ["data", "reflectance"],
    }


_DESCRIPTION = (
    "SYNTHETIC Sentinel-2 L2A-like surface reflectance of the sample county, generated by "
    "soil-carbon-mrv (mrv_service.sample.imagery) for tests and demos. No pixel is a Copernicus "
    "observation: reflectance follows each plot's true tillage, straw handling, sowing and harvest "
    "through synthetic-shaped end-member mixtures; clouds, shadows and snow are random blobs. The "
    "layout copies Earth Search v1 'sentinel-2-l2a' (asset keys, raster:bands scale 0.0001 and "
    "offset -0.1, SCL classes). The MGRS tile id is derived from the scene centre but names no "
    "real product; relative orbit, product URI and datatake ids are synthetic."
)


def _with_progress(progress: Any, schedule: list[Acquisition]) -> tuple[Any, Callable[[], None]]:
    """Hook the injected progress reporter: (iterable over the schedule, per-item callback).

    A tqdm-like *instance* (it has ``update``) is updated by 1 per item; any other callable is a
    wrapper ``progress(iterable) -> iterable`` such as ``tqdm.tqdm`` (the convention of
    :func:`mrv_service.sample.generator.create_sample`).
    """
    if progress is None:
        return schedule, lambda: None
    update = getattr(progress, "update", None)
    if callable(update) and not isinstance(progress, type):
        return schedule, lambda: update(1)
    if callable(progress):
        return progress(schedule), lambda: None
    raise SampleImageryError(
        f"progress={progress!r} is neither a wrapper progress(iterable) -> iterable (e.g. tqdm.tqdm) "
        "nor an object with update(n); pass one of these or None"
    )


def _normalise_plots(plots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "plot_id" not in plots.columns:
        raise SampleImageryError(
            "plots lacks the column 'plot_id'; give one polygon per plot with its plot_id"
        )
    if plots.crs is None:
        raise SampleImageryError(f"plots has no CRS; set it (expected EPSG:{EPSG}) with GeoDataFrame.set_crs")
    if len(plots) == 0:
        raise SampleImageryError("plots is empty; give at least one plot polygon")
    if plots.crs.to_epsg() != EPSG:
        plots = plots.to_crs(EPSG)
    bad = ~plots.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        row = plots[bad].iloc[0]
        raise SampleImageryError(
            f"plot {row['plot_id']!r} has a {row.geometry.geom_type} geometry; plots must be polygons"
        )
    out = plots[["plot_id", "geometry"]].copy()
    out["plot_id"] = out["plot_id"].astype(str)
    if out["plot_id"].duplicated().any():
        dup = out.loc[out["plot_id"].duplicated(), "plot_id"].iloc[0]
        raise SampleImageryError(f"plot_id {dup!r} occurs more than once in plots; plot ids must be unique")
    return out.sort_values("plot_id", kind="stable").reset_index(drop=True)


def write_imagery(
    directory: Path,
    plots: gpd.GeoDataFrame,
    states: pd.DataFrame,
    *,
    seed: int,
    years: Sequence[int],
    progress: Callable[[Iterable[Any]], Iterable[Any]] | Any | None = None,
) -> dict:
    """Write the sample county's Sentinel-2 L2A-like time series and its static STAC catalog.

    Parameters
    ----------
    directory : pathlib.Path
        The sample county directory; files go to ``directory/imagery/`` (created).
    plots : geopandas.GeoDataFrame
        Columns ``plot_id`` and ``geometry`` (polygons), EPSG:32651 (other CRSs are reprojected).
    states : pandas.DataFrame
        The true management, one row per plot and year: ``plot_id``, ``year``, ``tillage``
        (plough, rotary, no_till; also reduced, subsoiling), ``residue`` (removed, mulched,
        retained; also burned), ``sowing_date`` and ``harvest_date``; optional ``tillage_date``
        (the date of the tillage pass; empty or absent: ``DEFAULT_TILLAGE_TIMING``).  The row of
        the year before the first year, if given, sets the first spring's surface; otherwise
        the first year's practice is assumed for it.
    seed : int
        Random seed; the same seed, plots, states and years give identical pixels.
    years : sequence of int
        Calendar years to cover (about 16 acquisitions each).
    progress : callable or tqdm-like object, optional
        A wrapper ``progress(iterable) -> iterable`` such as ``tqdm.tqdm`` (wrapped around the
        acquisitions, one per item), or an object with ``update(n)`` (a tqdm or click progress
        bar), updated by 1 per item.  The number of items is
        ``len(acquisition_schedule(years, seed))``.

    Returns
    -------
    dict
        ``catalog`` (path of catalog.json), ``n_items``, ``n_files`` (COGs and JSON written),
        ``n_cogs``, ``bytes`` (size of all files written), ``bbox`` (WGS 84 [degree]),
        ``epsg``, ``shape_10m``, ``shape_20m``, ``mgrs_tile``, ``dates`` (ISO dates) and
        ``cloud_cover`` (per item [%]).

    Raises
    ------
    SampleImageryError
        If the plots lack ids, CRS or polygon geometry, or the states lack a column, a row for a
        plot and year, or use an unknown tillage/residue name.
    """
    directory = Path(directory)
    years = sorted(set(int(y) for y in years))
    if not years:
        raise SampleImageryError("years is empty; give at least one calendar year, e.g. [2021, 2022]")
    gdf = _normalise_plots(plots)
    plot_ids = gdf["plot_id"].to_numpy()
    n = len(gdf)
    seasons = _seasons(plot_ids, states, years)

    grid = _grid_for(gdf.total_bounds)
    h10, w10 = grid.shape10
    label = rasterio.features.rasterize(
        ((geom, i + 1) for i, geom in enumerate(gdf.geometry)),
        out_shape=grid.shape10,
        transform=grid.transform10,
        fill=0,
        all_touched=False,
        dtype="int32",
    )
    label = _background_labels(label, n, seed)
    water20 = _down((label == n + 1 + _BG_CLASSES.index("water")).astype(float)) >= 0.5

    static = np.random.default_rng([int(seed), 1])
    soil_brightness = static.uniform(0.9, 1.1, n)
    fv_max = static.uniform(0.88, 0.97, n)

    to_ll = Transformer.from_crs(EPSG, 4326, always_xy=True)
    footprint_utm = box(*grid.bbox_utm)
    footprint = shape(rasterio.warp.transform_geom(f"EPSG:{EPSG}", "EPSG:4326", mapping(footprint_utm)))
    bbox_ll = [round(v, 6) for v in footprint.bounds]
    clon, clat = to_ll.transform(footprint_utm.centroid.x, footprint_utm.centroid.y)
    zone, band_letter, square = mgrs_tile(clon, clat)
    tile = f"{zone}{band_letter}{square}"

    root = directory / "imagery"
    coll_dir = root / COLLECTION_ID
    coll_dir.mkdir(parents=True, exist_ok=True)
    schedule = acquisition_schedule(years, seed)
    transform_list10 = list(grid.transform10)[:6]
    transform_list20 = list(grid.transform20)[:6]

    items: list[pystac.Item] = []
    cloud_covers: list[float] = []
    n_cogs = 0
    iterate, step = _with_progress(progress, schedule)
    for acq in iterate:
        day = np.datetime64(acq.date.isoformat(), "D")
        year = acq.date.year
        rng = np.random.default_rng([int(seed), 2, acq.date.toordinal()])
        moisture = rng.uniform(0.85, 1.05)  # wetter soil is darker (synthetic)
        season = seasons.get(year)
        if season is None:  # off-season date in a year without states cannot happen: years == seasons
            raise SampleImageryError(f"no states for year {year}")
        fv, fs = canopy_fractions(day, season.sowing, season.harvest, fv_max)
        cover = _residue_cover(day, season)
        lut = np.empty((n + 1 + len(_BG_CLASSES), 6))
        lut[0] = SPECTRA["soil"]
        lut[1 : n + 1] = _mix(fv, fs, cover, soil_brightness * moisture)
        lut[n + 1 :] = _background_spectra(day, moisture)
        gain = 1.0 + rng.normal(0.0, 0.01, 6)  # residual atmospheric-correction error per band
        lut *= gain
        refl = lut.T[:, label]  # (6, H, W) at 10 m
        sun = solar_position(acq.datetime, clon, clat)
        sky = _sky(acq, grid.shape20, rng, sun)
        land20 = _down(refl[[2, 3]])
        scl = _scl(land20[0], land20[1], water20, sky)
        seen = _apply_sky(refl, sky)

        item_id = f"{'S2A' if acq.platform == 'sentinel-2a' else 'S2B'}_{tile}_{acq.date:%Y%m%d}_0_L2A"
        item_dir = coll_dir / item_id
        item_dir.mkdir(parents=True, exist_ok=True)
        assets: dict[str, pystac.Asset] = {}
        for b, spec in enumerate(BANDS):
            if spec.gsd == 10:
                arr = seen[b] + rng.normal(0.0, spec.noise_sd, (h10, w10))
                transform, tlist, shp = grid.transform10, transform_list10, grid.shape10
            else:
                arr = _down(seen[b]) + rng.normal(0.0, spec.noise_sd, grid.shape20)
                transform, tlist, shp = grid.transform20, transform_list20, grid.shape20
            path = item_dir / f"{spec.name}.tif"
            _write_cog(path, _to_dn(arr), transform, "average")
            fields = _asset_template(spec)
            fields.update({"proj:shape": list(shp), "proj:transform": tlist, **_file_fields(path)})
            assets[spec.key] = _make_asset(path, fields)
        path = item_dir / "SCL.tif"
        _write_cog(path, scl, grid.transform20, "nearest")
        fields = _asset_template(None)
        fields.update(
            {"proj:shape": list(grid.shape20), "proj:transform": transform_list20, **_file_fields(path)}
        )
        assets["scl"] = _make_asset(path, fields)
        n_cogs += len(assets)

        props = _item_properties(acq, scl, sun, zone, band_letter, square, tile, clon, clat)
        cloud_covers.append(props["eo:cloud_cover"])
        item = pystac.Item(
            id=item_id,
            geometry=mapping(footprint),
            bbox=bbox_ll,
            datetime=acq.datetime,
            properties=props,
            stac_extensions=list(_EXTENSIONS),
        )
        for key, asset in assets.items():
            item.add_asset(key, asset)
        items.append(item)
        step()

    collection = _collection(items, bbox_ll, schedule)
    for item in items:
        collection.add_item(item)
    catalog = pystac.Catalog(
        id="sample-county-imagery",
        title="Sample county imagery (synthetic)",
        description="Static STAC catalog of the sample county's synthetic Sentinel-2 L2A-like time series.",
    )
    catalog.add_child(collection)
    catalog.normalize_hrefs(str(root))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)

    # count what this call wrote (an older run may have left other items in the directory)
    written = [root / "catalog.json", coll_dir / "collection.json"]
    for item in items:
        written.append(Path(item.get_self_href()))
        written.extend(Path(a.get_absolute_href()) for a in item.assets.values())
    summary = {
        "catalog": str(root / "catalog.json"),
        "n_items": len(items),
        "n_files": len(written),
        "n_cogs": n_cogs,
        "bytes": int(sum(p.stat().st_size for p in written)),
        "bbox": bbox_ll,
        "epsg": EPSG,
        "shape_10m": list(grid.shape10),
        "shape_20m": list(grid.shape20),
        "mgrs_tile": tile,
        "dates": [a.date.isoformat() for a in schedule],
        "cloud_cover": cloud_covers,
    }
    log.info(
        "wrote %r imagery items (%r COGs, %r bytes) over %r to %r",
        summary["n_items"],
        n_cogs,
        summary["bytes"],
        grid.shape10,
        str(root),
    )
    return summary


def _make_asset(path: Path, fields: dict[str, Any]) -> pystac.Asset:
    fields = dict(fields)
    return pystac.Asset(
        href=str(path.resolve()),
        media_type=fields.pop("type"),
        title=fields.pop("title"),
        roles=fields.pop("roles"),
        extra_fields=fields,
    )


def _item_properties(
    acq: Acquisition,
    scl: np.ndarray,
    sun: tuple[float, float],
    zone: int,
    band_letter: str,
    square: str,
    tile: str,
    clon: float,
    clat: float,
) -> dict[str, Any]:
    valid = scl != SCL_NO_DATA
    total = max(int(valid.sum()), 1)

    def pct(*classes: int) -> float:
        return round(100.0 * float(np.isin(scl[valid], classes).sum()) / total, 6)

    sat = "S2A" if acq.platform == "sentinel-2a" else "S2B"
    generated = acq.datetime + dt.timedelta(hours=1, minutes=24, seconds=13)
    t_acq = f"{acq.datetime:%Y%m%dT%H%M%S}"
    t_gen = f"{generated:%Y%m%dT%H%M%S}"
    pb = PROCESSING_BASELINE.replace(".", "")
    stamp = generated.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "description": _DESCRIPTION,
        "created": stamp,
        "updated": stamp,
        "platform": acq.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": pct(SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS),
        "proj:epsg": EPSG,
        "proj:code": f"EPSG:{EPSG}",
        "proj:centroid": {"lat": round(clat, 5), "lon": round(clon, 5)},
        "mgrs:utm_zone": zone,
        "mgrs:latitude_band": band_letter,
        "mgrs:grid_square": square,
        "grid:code": f"MGRS-{tile}",
        "view:sun_azimuth": round(sun[1], 6),
        "view:sun_elevation": round(sun[0], 6),
        "s2:degraded_msi_data_percentage": 0,
        "s2:nodata_pixel_percentage": 0,
        "s2:saturated_defective_pixel_percentage": 0,
        "s2:dark_features_percentage": pct(SCL_DARK),
        "s2:cloud_shadow_percentage": pct(SCL_CLOUD_SHADOW),
        "s2:vegetation_percentage": pct(SCL_VEGETATION),
        "s2:not_vegetated_percentage": pct(SCL_NOT_VEGETATED),
        "s2:water_percentage": pct(SCL_WATER),
        "s2:unclassified_percentage": pct(SCL_UNCLASSIFIED),
        "s2:medium_proba_clouds_percentage": pct(SCL_CLOUD_MEDIUM),
        "s2:high_proba_clouds_percentage": pct(SCL_CLOUD_HIGH),
        "s2:thin_cirrus_percentage": pct(SCL_CIRRUS),
        "s2:snow_ice_percentage": pct(SCL_SNOW),
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": PROCESSING_BASELINE,
        "s2:product_uri": f"{sat}_MSIL2A_{t_acq}_N{pb}_R089_T{tile}_{t_gen}.SAFE",
        "s2:generation_time": generated.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "s2:datatake_id": f"G{sat}_{t_acq}_000000_N{PROCESSING_BASELINE}",
        "s2:datatake_type": "INS-NOBS",
        "s2:sequence": "0",
        "earthsearch:boa_offset_applied": True,
        "processing:software": {"soil-carbon-mrv sample imagery": "1"},
    }


def _collection(
    items: list[pystac.Item], bbox_ll: list[float], schedule: list[Acquisition]
) -> pystac.Collection:
    item_assets = {spec.key: _asset_template(spec) for spec in BANDS}
    item_assets["scl"] = _asset_template(None)
    covers = [it.properties["eo:cloud_cover"] for it in items]
    extent = pystac.Extent(
        pystac.SpatialExtent([bbox_ll]),
        pystac.TemporalExtent([[schedule[0].datetime, schedule[-1].datetime]]),
    )
    summaries = pystac.Summaries(
        {
            "platform": sorted({a.platform for a in schedule}),
            "constellation": ["sentinel-2"],
            "instruments": ["msi"],
            "gsd": [10, 20],
            "proj:epsg": [EPSG],
            "s2:processing_baseline": [PROCESSING_BASELINE],
            "eo:cloud_cover": {"minimum": min(covers), "maximum": max(covers)},
            "eo:bands": [item_assets[spec.key]["eo:bands"][0] for spec in BANDS],
        }
    )
    providers = [
        pystac.Provider(
            name="soil-carbon-mrv sample generator",
            roles=[pystac.ProviderRole.PRODUCER, pystac.ProviderRole.PROCESSOR, pystac.ProviderRole.HOST],
            description="Synthetic imagery written by mrv_service.sample.imagery; not a Copernicus product.",
        ),
    ]
    return pystac.Collection(
        id=COLLECTION_ID,
        title="Sentinel-2 Level-2A (synthetic sample county)",
        description=_DESCRIPTION,
        extent=extent,
        license="proprietary",
        keywords=["sentinel", "copernicus", "esa", "msi", "l2a", "synthetic", "sample"],
        providers=providers,
        summaries=summaries,
        stac_extensions=[
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/classification/v1.1.0/schema.json",
        ],
        extra_fields={"item_assets": item_assets},
    )
