"""Sentinel-2 L2A-like image time series of the sample county, as COGs with a static STAC catalog.

The sample county (``mrv sample create DIR``) needs imagery that the real pipeline can read
exactly as it reads Earth Search: a static STAC catalog ``DIR/imagery/catalog.json`` with one
collection ``sentinel-2-l2a`` whose items copy the layout of Earth Search v1 items (asset keys
``blue``/``green``/``red``/``nir`` at 10 m, ``swir16``/``swir22``/``scl`` at 20 m, uint16 DN with
``raster:bands`` scale 0.0001 and offset -0.1, EPSG:32651, ``eo:cloud_cover`` and the ``s2:``
scene-classification percentages).  See ``docs/DATA_FORMATS.md`` section 4.

Every pixel is synthetic.  The reflectance of a plot on a date is a linear mixture of six
end-members (green maize canopy, senescent canopy, maize residue, black soil, char of burned
straw, and clouds/snow where present) whose fractions follow the plot's *true* management in
``states``: sowing and harvest dates drive the canopy, tillage and straw handling drive the
surface residue cover, burning leaves char.  The end-member spectra and every rate below are
*synthetic-shaped*: chosen to reproduce the published behaviour of NDVI and NDTI (values and
sources noted beside each constant), not measured.  A detector's accuracy on this imagery is an
accuracy on synthetic data.

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
* Classes are not clean: each plot-season draws its residue cover after harvest from a range
  per straw handling (:data:`RESIDUE_COVER_AFTER_HARVEST`) and the fraction its tillage pass
  leaves from a range per implement (:data:`RESIDUE_REMAINING_AFTER_TILLAGE`, after the
  residue-remaining tables of US extension services [7]_ [8]_), see :func:`draw_surface_states`.
  Removed and mulched straw meet at 45 % cover.
* Soil moisture: every date has a surface wetness (:func:`surface_wetness`, wetter after the
  March snowmelt, dry in the windy spring) and each plot scatters around it.  Wetness darkens
  soil and residue and compresses the bare-vs-residue NDTI contrast [11]_ [12]_ [13]_
  (:data:`WET_DARKENING`); soils also differ in their SWIR shape [14]_.
* Burning: a ``burned`` season's straw lies on the field until ``burn_date`` (default 10 days
  after harvest), then 40-80 % of the surface turns to char, dark in every band [10]_ [15]_,
  fading over a few weeks (:data:`CHAR_FADE_DAYS`) or buried by tillage.
* Separability (measured once on the default county, seed and 1,200 plots of
  :func:`mrv_service.sample.generator.create_sample`, plot means of clear 20 m pixels in the
  November and late-March scenes): NDTI against the true residue cover of the date gives R2 0.88
  over all scenes, 0.92-0.94 on the driest November scenes (wetness 0.2-0.3) and 0.56-0.83 on
  wetter scenes; per plot-season minimum NDTI, median (5-95 %): no-till + mulch 0.14 (0.09-0.18),
  rotary + removed 0.065 (0.03-0.10), plough + removed 0.026 (0.00-0.05); in the project seasons
  a single threshold on it separates no-till + mulch from tilled + removed plot-seasons with 93 %
  accuracy (94 % and 97 % within each season; 92-97 % on single scenes).  Published figures: maize residue
  cover from NDTI/STI in Northeast China with R2 about 0.8-0.9 [16]_ [17]_, field-level tillage
  classification in smallholder systems at 62-88 % overall accuracy [18]_.
* Clouds (SCL 8/9), cirrus (SCL 10) and cloud shadows (SCL 3, cast away from the sun) are
  blobs drawn on a 20 m grid and shared by all bands; ``eo:cloud_cover`` is computed from SCL.
  Mixed pixels at plot edges (field roads) and per-pixel noise are kept.

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
.. [7] Residue-remaining-after-implement tables of US extension services for non-fragile (maize)
   residue: Purdue University Cooperative Extension Service, "Managing Crop Residue with Farm
   Machinery" (Agronomy guide, Soils (Tillage)), and the USDA-NRCS residue management guides;
   University of Illinois Extension, "60 Ways Farmers Can Protect Surface Water", no. 5 (rippers
   leave more residue than chisels).  The ranges are those summarised for this project
   (mouldboard plough ~0-10 %, rotary/rototiller ~20-50 %, chisel ~50-70 %, no-till planter
   ~85-95 %); the table pages themselves were not re-read.
.. [8] Table "Estimated percentage of residue remaining after each operation" of a soil science
   textbook's tillage chapter (ch. 16; read in a secondary web copy, author and edition not
   verified): mouldboard plough 5, lister 20, field cultivator 80, chisel spear/twisted point
   80/50, rototill 15 cm/7.5 cm 25/50, tandem disc 15 cm/7.5 cm 25/50, sweeps 90 [%].
.. [9] J. M. Gregory, "Soil cover prediction with various amounts and types of crop residue",
   Trans. ASAE 25(5), 1333-1337, 1982 (cover = 1 - exp(-a x residue mass)).
.. [10] C. H. Key and N. C. Benson, "Landscape Assessment: sampling and analysis methods", in
   FIREMON, USDA Forest Service Gen. Tech. Rep. RMRS-GTR-164-CD, 2006 (the Normalized Burn Ratio
   NBR = (NIR - SWIR2) / (NIR + SWIR2) and its post-fire drop).
.. [11] D. B. Lobell and G. P. Asner, "Moisture effects on soil reflectance", Soil Sci. Soc. Am.
   J. 66, 722-727, 2002 (reflectance falls exponentially with moisture over 400-2500 nm).
.. [12] M. Quemada and C. S. T. Daughtry, "Spectral indices to improve crop residue cover
   estimation under varying moisture conditions", Remote Sens. 8(8), 660, 2016,
   doi:10.3390/rs8080660.
.. [13] C. S. T. Daughtry and E. R. Hunt Jr., "Mitigating the effects of soil and residue water
   contents on remotely sensed estimates of crop residue cover", Remote Sens. Environ. 112,
   1647-1657, 2008.
.. [14] G. Serbin, C. S. T. Daughtry, E. R. Hunt Jr., D. J. Brown and G. W. McCarty, "Effect of
   soil spectral properties on remote sensing of crop residue cover", Soil Sci. Soc. Am. J.
   73(5), 1545-1558, 2009.
.. [15] A. M. S. Smith, J. U. H. Eitel and A. T. Hudak, "Spectral analysis of charcoal on soils:
   implications for wildland fire severity mapping methods", Int. J. Wildland Fire 19,
   976-983, 2010 (char mixes linearly with soil and darkens it).
.. [16] J. Ma, X. Jin, Z. Wen and K. Song, "Estimation of maize residue cover using Landsat-8 OLI
   image spectral information and textural features", Remote Sens. 7(11), 14559-14575, 2015,
   doi:10.3390/rs71114559 (NDTI model R2 0.84, RMSE 12.3 % cover, Northeast China).
.. [17] Remote Sens. 15(8), 2179, 2023, doi:10.3390/rs15082179 (corn residue cover after harvest
   and before sowing in Northeast China, Landsat-8 and Sentinel-2); Z. Liang et al., Remote
   Sens. 16(21), 3953, 2024, doi:10.3390/rs16213953 (maize residue cover, meadow soil region of
   Northeast China); Remote Sens. 17(1), 105, 2025, doi:10.3390/rs17010105 (tillage indices and
   machine learning for maize residue cover; NDTI and STI correlate best).  The R2 range
   0.80-0.92 is as summarised for this project, not re-read from the papers.
.. [18] Y. Liu, P. Rao, W. Zhou et al., "Using Sentinel-1, Sentinel-2, and Planet satellite data
   to map field-level tillage practices in smallholder systems", PLOS ONE 17(11), e0277425,
   2022, doi:10.1371/journal.pone.0277425 (overall accuracy 62.3 % with Sentinel-1 alone to
   87.7 % with all three sensors).
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
    "draw_surface_states",
    "mgrs_tile",
    "solar_position",
    "surface_wetness",
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
    # char and ash of burned straw: dark and nearly flat over VIS-SWIR [10]_ [15]_; NDVI 0.07, NDTI 0.02
    "char": np.array([0.030, 0.033, 0.035, 0.040, 0.048, 0.046]),
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

RESIDUE_COVER_AFTER_HARVEST: dict[str, tuple[float, float]] = {
    "removed": (0.05, 0.45),  # stubble and chaff, straw baled or carried off (离田)
    "burned": (0.00, 0.10),  # a few charred stalk bases once the straw is burned (焚烧)
    "retained": (0.50, 0.85),  # chopped straw spread before it is tilled in (粉碎还田)
    "mulched": (0.45, 0.98),  # whole straw left lying as mulch (覆盖还田)
}
"""Range of the surface residue cover right after harvest (after the burn for ``burned``), by
straw handling [1 fraction of the soil surface]; one value per plot-season is drawn from
:data:`SURFACE_DRAW_BETA` stretched over the range, so the class means are the midpoints
(removed 0.25, burned 0.05, retained 0.675, mulched 0.715).

Synthetic-shaped, no measured table behind the numbers: a ~10 t/ha maize crop leaves enough
stover to cover nearly all the surface if all of it stays (the exponential mass-cover relation
of Gregory 1982 [9]_), so mulch reaches 0.9-0.98; winter grazing, wind drift and uneven spreading
by the harvester bring some mulched fields down to ~0.45, and incomplete baling or a high cut
leaves up to ~0.45 on fields whose straw was removed, which is where the two classes meet.
Conservation tillage is defined by >= 30 % cover after planting (CTIC; the threshold also used
in extension guides [7]_)."""

RESIDUE_REMAINING_AFTER_TILLAGE: dict[str, tuple[float, float]] = {
    "plough": (0.00, 0.10),  # mouldboard plough inverts the soil (翻耕): 0-10 % [7]_ [8]_
    "rotary": (0.20, 0.50),  # rotary tiller/rototiller mixes the top 8-15 cm (旋耕): 20-50 % [7]_ [8]_
    "reduced": (0.50, 0.70),  # chisel with twisted points: 50-70 % [7]_ [8]_
    "subsoiling": (0.70, 0.90),  # ripper/subsoiler: between chisel spear points and sweeps [7]_ [8]_
    "no_till": (0.85, 0.95),  # only the no-till planter's openers disturb residue (免耕): 85-95 % [7]_
}
"""Range of the fraction of surface residue cover one tillage pass leaves [1], for non-fragile
(maize) residue; one value per plot-season, drawn like :data:`RESIDUE_COVER_AFTER_HARVEST`.

Sources: the residue-remaining-after-implement tables of US extension services (Purdue
"Managing Crop Residue with Farm Machinery", NRCS residue-management guides) [7]_, as summarised
for this project (mouldboard plough ~0-10 %, rotary/rototiller ~20-50 %, chisel ~50-70 %, no-till
planter ~85-95 %; the tables themselves were not re-read here), cross-checked against a
textbook table of single-pass values [8]_: mouldboard plough 5 %, rototilling 25 % (15 cm deep)
and 50 % (7.5 cm), chisel plough 50 % (twisted points) and 80 % (spear points), sweeps 90 %.
The subsoiling range is a judgement (synthetic-shaped): rippers leave more than chisels [7]_."""

SURFACE_DRAW_BETA = (1.5, 1.5)
"""Shape (a, b) of the Beta distribution stretched over each range above [-]: symmetric, so the
mean is the midpoint, with thinning tails toward the range ends (5.2 % of the draws fall in each
outer tenth of a range) (synthetic-shaped)."""

CHAR_COVER_AFTER_BURN = (0.40, 0.80)
"""Range of the fraction of the surface blackened by char and ash right after burning the straw
[1] (synthetic-shaped; drawn like the residue cover)."""

CHAR_FADE_DAYS = 30.0
"""E-folding time of the char signature [d]: wind, rain and snow disperse the ash and soil
creep covers the char, so a burned field reads dark for some weeks (synthetic-shaped; burn
indices such as NBR [10]_ are read from images taken within weeks of the fire for this reason).
A tillage pass buries char like residue (:data:`RESIDUE_REMAINING_AFTER_TILLAGE`)."""

BURN_DELAY_DAYS = 10
"""Days from harvest to the burn when ``states`` has no ``burn_date`` [d] (synthetic; straw is
burned in the weeks after the maize harvest or in spring before sowing)."""

PRE_BURN_COVER = 0.675
"""Residue cover of a ``burned`` plot between harvest and the burn [1]: the straw lies on the
field, taken as the midpoint of the ``retained`` range (synthetic)."""

WETNESS_MEAN_BY_MONTH: dict[int, float] = {
    1: 0.30, 2: 0.30, 3: 0.55, 4: 0.20, 5: 0.20, 6: 0.35,
    7: 0.45, 8: 0.45, 9: 0.35, 10: 0.30, 11: 0.30, 12: 0.30,
}  # fmt: skip
"""Mean surface wetness of an acquisition date by month [1, 0 = air-dry, 1 = saturated]
(synthetic-shaped from the county's climate: snowmelt wets the surface in late March, spring is
dry and windy (春旱), the rains come in July-August)."""

WETNESS_CONCENTRATION = 6.0
"""Concentration a + b of the Beta distribution of a date's wetness around its month mean [-]
(synthetic; a standard deviation of about 0.17 at a mean of 0.3)."""

WETNESS_PLOT_SIGMA = 0.25
"""Log-normal spread of a plot's wetness around the date's (w_plot = w_date exp(N(0, s)),
clipped to 1) [-] (synthetic: low spots, texture, and the shade of mulch keep some plots wetter)."""

WET_DARKENING: dict[str, np.ndarray] = {
    # B02, B03, B04, B08, B11, B12
    "soil": np.array([0.45, 0.45, 0.45, 0.40, 0.40, 0.42]),
    "residue": np.array([0.35, 0.35, 0.35, 0.30, 0.45, 0.30]),
}
"""Fraction of an end-member's reflectance lost when the surface is saturated [1]: reflectance =
dry x (1 - WET_DARKENING x w).  Water darkens soil across the whole spectrum [11]_ and masks the
cellulose-lignin absorption of residue near 2.1 um, so the residue-soil contrast of the SWIR
tillage indices shrinks as the surface wets [12]_ [13]_.  With these numbers the NDTI of dry
black soil (0.013) rises to 0.030 at w = 1 and that of dry maize residue (0.214) falls to 0.097:
the bare-vs-residue NDTI contrast drops from 0.20 to 0.07.  The direction is published; the
magnitudes are synthetic-shaped."""

SOIL_B12_SPREAD = 0.03
"""Half-width of the per-plot factor U(1 - s, 1 + s) on soil B12 [1]: soils differ in their SWIR
shape (mineralogy, organic matter), which shifts the bare-soil NDTI by about +/- 0.015 [14]_
(synthetic-shaped)."""

RESIDUE_BRIGHTNESS = (0.85, 1.10)
"""Range of a per-plot factor on the residue spectrum [1] (weathered, darker straw to fresh
straw; synthetic-shaped)."""

RESIDUE_B12_SPREAD = 0.05
"""Half-width of the per-plot factor on residue B12 [1] (depth of the cellulose absorption,
residue NDTI about 0.19-0.24; synthetic-shaped)."""

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


_NEVER = np.datetime64("9999-12-31", "D")
"""Burn date of a plot-season whose straw is not burned."""

SURFACE_COLUMNS = ("residue_cover", "tillage_remaining", "char_cover")
"""Per plot-season columns of ``states`` drawn by :func:`draw_surface_states` when absent."""


def _midpoint(table: dict[str, tuple[float, float]], key: str) -> float:
    lo, hi = table[key]
    return 0.5 * (lo + hi)


def _check_names(table: dict[str, Any], values: pd.Series, field: str, plot_ids: pd.Series) -> None:
    bad = ~values.isin(list(table))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SampleImageryError(
            f"states: {field}={values.iloc[i]!r} for plot {plot_ids.iloc[i]!r} is not one of "
            f"{sorted(table)}; use one of these method names"
        )


def _stretch(table: dict[str, tuple[float, float]], values: pd.Series, u: np.ndarray) -> np.ndarray:
    lo = values.map(lambda k: table[k][0]).to_numpy(dtype=float)
    hi = values.map(lambda k: table[k][1]).to_numpy(dtype=float)
    return lo + (hi - lo) * u


def draw_surface_states(states: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Draw each plot-season's residue cover, tillage-remaining fraction and char cover.

    Parameters
    ----------
    states : pandas.DataFrame
        One row per plot-season with ``plot_id``, ``tillage`` and ``residue`` (the method names
        of :data:`RESIDUE_REMAINING_AFTER_TILLAGE` and :data:`RESIDUE_COVER_AFTER_HARVEST`).
        Columns of :data:`SURFACE_COLUMNS` already present keep their non-empty values.
    rng : numpy.random.Generator
        The seeded generator; three Beta draws per row are taken in row order whatever is
        given, so the same rows in the same order always get the same values.

    Returns
    -------
    pandas.DataFrame
        A copy of ``states`` with ``residue_cover`` (surface cover right after harvest, after the
        burn for ``burned`` [1]), ``tillage_remaining`` (fraction of the cover the season's tillage
        pass leaves [1]) and ``char_cover`` (surface blackened right after the burn [1], 0 unless
        ``burned``), each drawn from :data:`SURFACE_DRAW_BETA` stretched over the class range.

    Raises
    ------
    SampleImageryError
        An unknown tillage or residue name, or a given value outside 0-1.
    """
    need = {"plot_id", "tillage", "residue"}
    if need - set(states.columns):
        raise SampleImageryError(
            f"states lacks column(s) {sorted(need - set(states.columns))}; it needs {sorted(need)}"
        )
    out = states.copy()
    pid = out["plot_id"].astype(str).reset_index(drop=True)
    tillage = out["tillage"].astype(str).reset_index(drop=True)
    residue = out["residue"].astype(str).reset_index(drop=True)
    _check_names(RESIDUE_REMAINING_AFTER_TILLAGE, tillage, "tillage", pid)
    _check_names(RESIDUE_COVER_AFTER_HARVEST, residue, "residue", pid)
    u = rng.beta(*SURFACE_DRAW_BETA, size=(len(out), 3))
    lo, hi = CHAR_COVER_AFTER_BURN
    drawn = {
        "residue_cover": _stretch(RESIDUE_COVER_AFTER_HARVEST, residue, u[:, 0]),
        "tillage_remaining": _stretch(RESIDUE_REMAINING_AFTER_TILLAGE, tillage, u[:, 1]),
        "char_cover": np.where(residue.to_numpy() == "burned", lo + (hi - lo) * u[:, 2], 0.0),
    }
    for col, values in drawn.items():
        if col in out.columns:
            given = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
            bad = (given < 0.0) | (given > 1.0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise SampleImageryError(
                    f"states: {col}={float(given[i])!r} for plot {pid.iloc[i]!r} is outside 0-1; give a fraction"
                )
            values = np.where(np.isnan(given), values, given)
        out[col] = values
    return out


def surface_wetness(day: dt.date, seed: int) -> float:
    """Surface wetness of an acquisition date, shared by the whole scene [1].

    Parameters
    ----------
    day : datetime.date
        Acquisition date.
    seed : int
        Seed of the sample.

    Returns
    -------
    float
        0 (air-dry) to 1 (saturated): a Beta draw with mean ``WETNESS_MEAN_BY_MONTH[month]`` and
        concentration :data:`WETNESS_CONCENTRATION`.  Each plot's wetness scatters around it by
        :data:`WETNESS_PLOT_SIGMA`.
    """
    rng = np.random.default_rng([int(seed), 6, day.toordinal()])
    m = WETNESS_MEAN_BY_MONTH[day.month]
    return float(rng.beta(m * WETNESS_CONCENTRATION, (1.0 - m) * WETNESS_CONCENTRATION))


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
    """Fraction of residue cover (and char) this season's tillage leaves [1]."""
    cover_post: np.ndarray
    """Residue cover right after this season's harvest, after the burn if burned [1]."""
    pre_burn: np.ndarray
    """Residue cover between harvest and the burn [1] (``cover_post`` if not burned)."""
    burn_day: np.ndarray
    """Date the season's straw is burned (``_NEVER`` if it is not)."""
    char0: np.ndarray
    """Char cover right after the burn [1]."""
    prev_harvest: np.ndarray
    prev_till_day: np.ndarray
    prev_remaining: np.ndarray
    prev_cover_post: np.ndarray
    prev_pre_burn: np.ndarray
    prev_burn_day: np.ndarray
    prev_char0: np.ndarray


def _char(day: np.datetime64, burn_day: np.ndarray, char0: np.ndarray) -> np.ndarray:
    """Char cover on ``day`` [1]: ``char0`` at the burn, fading with :data:`CHAR_FADE_DAYS`."""
    since = (day - burn_day).astype("timedelta64[D]").astype(float)
    return np.where(since >= 0, char0 * np.exp(-np.maximum(since, 0.0) / CHAR_FADE_DAYS), 0.0)


def _surface_cover(day: np.datetime64, season: _Season) -> tuple[np.ndarray, np.ndarray]:
    """Surface residue cover and char cover [1] of each plot on a date of the season's year.

    Events in order: the previous harvest leaves the previous season's straw (``pre_burn`` until
    its burn, ``cover_post`` after; char appears at the burn and fades), an autumn tillage pass
    of the previous season cuts residue and char by its ``remaining``, winter keeps
    ``WINTER_RESIDUE_RETENTION`` of the residue, a spring tillage pass (or the no-till planter)
    of this season cuts both again, residue decays at ``RESIDUE_DECAY_PER_DAY`` from 1 April,
    this season's harvest resets the surface to this season's straw, and an autumn pass after
    that cuts it.
    """
    s = season
    c = np.where(s.prev_burn_day <= day, s.prev_cover_post, s.prev_pre_burn)
    ch = _char(day, s.prev_burn_day, s.prev_char0)
    autumn_prev = (s.prev_till_day >= s.prev_harvest) & (s.prev_till_day <= day)
    k = np.where(autumn_prev, s.prev_remaining, 1.0)
    c, ch = c * k * WINTER_RESIDUE_RETENTION, ch * k
    spring = (s.till_day < s.harvest) & (s.till_day <= day)
    k = np.where(spring, s.remaining, 1.0)
    since_april = float(max((day - np.datetime64(str(day)[:4] + "-04-01")).astype(int), 0))
    c, ch = c * k * math.exp(-RESIDUE_DECAY_PER_DAY * since_april), ch * k
    after_harvest = day >= s.harvest
    autumn = (s.till_day >= s.harvest) & (s.till_day <= day)
    k = np.where(autumn, s.remaining, 1.0)
    post = np.where(s.burn_day <= day, s.cover_post, s.pre_burn) * k
    ch_post = _char(day, s.burn_day, s.char0) * k
    return np.where(after_harvest, post, c), np.where(after_harvest, ch_post, ch)


def _end_members(
    wet: np.ndarray, soil_factor: np.ndarray, residue_factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Soil and residue spectra of each plot at its wetness: two (n, 6) arrays [1].

    ``soil_factor`` and ``residue_factor`` are the per-plot (n, 6) factors on the dry spectra
    (brightness and SWIR shape); wetness darkens by :data:`WET_DARKENING`.
    """
    w = np.asarray(wet, float)[:, None]
    soil = SPECTRA["soil"] * soil_factor * (1.0 - WET_DARKENING["soil"] * w)
    residue = SPECTRA["residue"] * residue_factor * (1.0 - WET_DARKENING["residue"] * w)
    return soil, residue


def _mix(fv, fs, residue, char, soil_spec, residue_spec) -> np.ndarray:
    """Linear spectral mixture, one row per plot: (n, 6) [1].

    ground = c residue + k char + (1 - c - k) soil, pixel = f_v green + f_s dry canopy +
    (1 - f_v - f_s) ground, with c the residue cover and k the char cover (k <= 1 - c).
    """
    fv = np.asarray(fv, float)[:, None]
    fs = np.asarray(fs, float)[:, None]
    c = np.clip(np.asarray(residue, float), 0.0, 1.0)[:, None]
    k = np.minimum(np.clip(np.asarray(char, float), 0.0, 1.0)[:, None], 1.0 - c)
    ground = c * residue_spec + k * SPECTRA["char"] + (1.0 - c - k) * soil_spec
    return fv * SPECTRA["green_canopy"] + fs * SPECTRA["dry_canopy"] + (1.0 - fv - fs) * ground


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
    """Dates and fractions of one season's rows (already aligned with the plots and drawn)."""
    tillage = rows["tillage"].reset_index(drop=True)
    residue = rows["residue"].reset_index(drop=True)
    sowing = rows["sowing_date"].to_numpy().astype("datetime64[D]")
    harvest = rows["harvest_date"].to_numpy().astype("datetime64[D]")
    if np.any(harvest <= sowing):
        i = int(np.flatnonzero(harvest <= sowing)[0])
        raise SampleImageryError(
            f"states: plot {pid.iloc[i]!r} year {year} has harvest_date {harvest[i]} not after sowing_date {sowing[i]}"
        )
    anchor = np.where(tillage.map(lambda t: DEFAULT_TILLAGE_TIMING[t][0] == "harvest"), harvest, sowing)
    offset = tillage.map(lambda t: DEFAULT_TILLAGE_TIMING[t][1]).to_numpy().astype("timedelta64[D]")
    till_day = anchor + offset
    given = rows["tillage_date"].to_numpy().astype("datetime64[D]")
    till_day = np.where(np.isnat(given), till_day, given)
    burned = (residue == "burned").to_numpy()
    burn_given = rows["burn_date"].to_numpy().astype("datetime64[D]")
    burn_day = np.where(np.isnat(burn_given), harvest + np.timedelta64(BURN_DELAY_DAYS, "D"), burn_given)
    early = burned & (burn_day < harvest)
    if early.any():
        i = int(np.flatnonzero(early)[0])
        raise SampleImageryError(
            f"states: plot {pid.iloc[i]!r} year {year} has burn_date {burn_day[i]} before harvest_date "
            f"{harvest[i]}; the straw of a season is burned after its harvest"
        )
    cover_post = rows["residue_cover"].to_numpy(dtype=float)
    return {
        "sowing": sowing,
        "harvest": harvest,
        "till_day": till_day,
        "remaining": rows["tillage_remaining"].to_numpy(dtype=float),
        "cover_post": cover_post,
        "pre_burn": np.where(burned, PRE_BURN_COVER, cover_post),
        "burn_day": np.where(burned, burn_day, _NEVER),
        "char0": np.where(burned, rows["char_cover"].to_numpy(dtype=float), 0.0),
    }


def _seasons(
    plot_ids: np.ndarray, states: pd.DataFrame, years: Sequence[int], seed: int
) -> dict[int, _Season]:
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
    for col in ("tillage_date", "burn_date"):
        st[col] = _clean_dates(st, col, required=False) if col in st.columns else pd.NaT
    st = st.drop_duplicates(["plot_id", "year"], keep="last").sort_values(["plot_id", "year"], kind="stable")
    # per plot-season draws in (plot_id, year) order: independent of the row order of states
    st = draw_surface_states(st, np.random.default_rng([int(seed), 5])).set_index(["plot_id", "year"])
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
        for col in ("sowing_date", "harvest_date", "tillage_date", "burn_date"):
            guess[col] = guess[col] - pd.DateOffset(years=1)
        prev_rows = prev_rows.where(
            pd.Series(known, index=prev_rows.index), guess.set_axis(prev_rows.index), axis=0
        )
        prev = _season_arrays(prev_rows, pid, year - 1)
        out[year] = _Season(**cur, **{f"prev_{k}": v for k, v in prev.items() if k != "sowing"})
    return out


# Background land cover classes (label values above the plots)
_BG_CLASSES = ("road", "built", "trees", "cropland", "water")


def _background_spectra(day: np.datetime64, wet: float) -> np.ndarray:
    """Spectra of the background classes on a date at the scene's wetness: (5, 6) [1]."""
    year = int(str(day)[:4])
    sow = np.array([np.datetime64(f"{year}-05-01")])
    harv = np.array([np.datetime64(f"{year}-10-05")])
    # non-project maize fields: rotary tillage, straw removed (conventional practice), class means
    fv, fs = canopy_fractions(day, sow, harv, 0.93)
    removed = np.array([_midpoint(RESIDUE_COVER_AFTER_HARVEST, "removed")])
    rotary = np.array([_midpoint(RESIDUE_REMAINING_AFTER_TILLAGE, "rotary")])
    till = sow + np.timedelta64(DEFAULT_TILLAGE_TIMING["rotary"][1], "D")
    never, none = np.array([_NEVER]), np.zeros(1)
    season = _Season(
        sow, harv, till, rotary, removed, removed, never, none,
        harv - 365, till - 365, rotary, removed, removed, never, none,
    )  # fmt: skip
    c, ch = _surface_cover(day, season)
    soil, residue = _end_members(np.array([wet]), np.ones((1, 6)), np.ones((1, 6)))
    crop = _mix(fv, fs, c, ch, soil, residue)[0]
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
    wetness: float | None = None,
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
        (the date of the tillage pass; empty or absent: ``DEFAULT_TILLAGE_TIMING``), optional
        ``burn_date`` (the burn of a ``burned`` season's straw; empty or absent: harvest +
        ``BURN_DELAY_DAYS``) and the optional per plot-season fractions ``residue_cover``,
        ``tillage_remaining`` and ``char_cover`` (empty or absent: drawn by
        :func:`draw_surface_states` from the seed, rows taken in (plot_id, year) order).  The
        row of the year before the first year, if given, sets the first spring's surface;
        otherwise the first year's practice (and draws) are assumed for it.
    seed : int
        Random seed; the same seed, plots, states and years give identical pixels.
    years : sequence of int
        Calendar years to cover (about 16 acquisitions each).
    progress : callable or tqdm-like object, optional
        A wrapper ``progress(iterable) -> iterable`` such as ``tqdm.tqdm`` (wrapped around the
        acquisitions, one per item), or an object with ``update(n)`` (a tqdm or click progress
        bar), updated by 1 per item.  The number of items is
        ``len(acquisition_schedule(years, seed))``.
    wetness : float, optional
        Surface wetness of every date, 0 (air-dry) to 1 (saturated), instead of the seeded
        :func:`surface_wetness` of each date (for what-if runs and tests); plots still scatter
        around it by :data:`WETNESS_PLOT_SIGMA`.

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
    if wetness is not None and not 0.0 <= float(wetness) <= 1.0:
        raise SampleImageryError(
            f"wetness={wetness!r} is outside 0-1; give 0 (air-dry) to 1 (saturated) or None"
        )
    gdf = _normalise_plots(plots)
    plot_ids = gdf["plot_id"].to_numpy()
    n = len(gdf)
    seasons = _seasons(plot_ids, states, years, seed)

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
    # per-plot dry end-member factors: soil brightness and SWIR shape, residue condition
    soil_factor = np.repeat(soil_brightness[:, None], 6, axis=1)
    soil_factor[:, 5] *= static.uniform(1.0 - SOIL_B12_SPREAD, 1.0 + SOIL_B12_SPREAD, n)
    residue_factor = np.repeat(static.uniform(*RESIDUE_BRIGHTNESS, n)[:, None], 6, axis=1)
    residue_factor[:, 5] *= static.uniform(1.0 - RESIDUE_B12_SPREAD, 1.0 + RESIDUE_B12_SPREAD, n)

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
        wet_scene = surface_wetness(acq.date, seed) if wetness is None else float(wetness)
        scatter = np.random.default_rng([int(seed), 7, acq.date.toordinal()]).normal(
            0.0, WETNESS_PLOT_SIGMA, n
        )
        wet = np.clip(wet_scene * np.exp(scatter), 0.0, 1.0)
        season = seasons.get(year)
        if season is None:  # off-season date in a year without states cannot happen: years == seasons
            raise SampleImageryError(f"no states for year {year}")
        fv, fs = canopy_fractions(day, season.sowing, season.harvest, fv_max)
        cover, char = _surface_cover(day, season)
        soil_spec, residue_spec = _end_members(wet, soil_factor, residue_factor)
        lut = np.empty((n + 1 + len(_BG_CLASSES), 6))
        lut[0] = SPECTRA["soil"]
        lut[1 : n + 1] = _mix(fv, fs, cover, char, soil_spec, residue_spec)
        lut[n + 1 :] = _background_spectra(day, wet_scene)
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
