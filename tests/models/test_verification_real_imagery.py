"""The verification features (:mod:`models.verification.features`) on real Sentinel-2 fixtures.

The issue asks to run the features on the real fixtures (``tests/data/imagery``, see its README)
and to show that they behave: NDVI curves of real vegetated parcels rise and fall in season, and
residue indices of bare and vegetated pixels separate. Fixtures used:

* ``worldcereal/worldcereal_preprocessed_inputs.nc``: 12 monthly L2A composites (2020-11 ...
  2021-10) over 1 km2 of Belgian cropland (Hesbaye, 50.63 N 5.33 E) with every band the features
  need (B02, B04, B08, B11, B12). No parcels cover it, so the "plots" are 10 x 10 pixel (1 ha)
  blocks. This is the full ``season_features`` run with NDVI, NDTI and BSI.
* ``eo-learn-TestEOPatch/``: 68 real acquisitions (2015-07 ... 2017-12) of NDVI with a per-pixel
  cloud mask over 1 km2 of central Slovenia (45.87 N 14.56 E) and 88 real land-use parcels. It is
  the only fixture with a dense multi-date series over whole seasons and real parcels, but it holds
  NDVI only (no bands), so it exercises ``ndvi_curve`` and ``season_dates``.
* ``openeo-gfmap/cdse_sentinel2_l2a_mol-BE_2023-04.nc``: real L2A with real SCL holding both
  class 4 (vegetation) and 5 (not vegetated) on one date, but no B12 (no NDTI).
* ``rio-tiler-pds/S2A_29RKH_20200219_0_L2A``: real L2A COGs with B11, B12 and SCL, but a Saharan
  tile (24.3-25.3 N, 11-12 W, February): no pixel is SCL 4.

No fixture carries SCL 4 and 5 together with both SWIR bands, so the SCL 4 / 5 contrast is shown on
NDVI (Mol) and the NDTI contrast on the WorldCereal composite with pixels classed by NDVI
thresholds measured on the Mol SCL classes and the features module's own bare-soil rule.

Every number hard-coded below was measured on these fixtures (2026-11-21); each one is paired with
a physically motivated inequality that a wrong pipeline would fail.

Contains modified Copernicus Sentinel data 2015, 2016, 2017, 2020, 2021, 2023.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from affine import Affine
from rasterio.features import rasterize

from geodata.defaults import DEFAULT_MIN_VALID_FRACTION
from geodata.features import compute_indices, ndti, ndvi
from geodata.sentinel2 import OFFSET_BASELINE, REFLECTANCE_SCALE, SCL_CODES, baseline_from_name
from models.verification.features import (
    BARE_NDVI,
    FEATURE_UNITS,
    ndvi_curve,
    season_dates,
    season_features,
)

VEG, BARE = SCL_CODES["vegetation"], SCL_CODES["not_vegetated"]  # 4, 5

WORLDCEREAL_BANDS = {"blue": "B02", "red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12"}
WORLDCEREAL_NODATA = 65535  # README: 65535 is nodata (Dec 2020 and Jan 2021 are fully nodata)
BLOCK = 10  # pixels per side of a pseudo-plot: 10 x 10 px of 10 m = 1 ha

VEGETATED_NDVI = 0.64
"""NDVI above which a pixel counts as green vegetation where a cube has no SCL: the 5th percentile
of the NDVI of the SCL 4 (vegetation) pixels of the Mol cube on 2023-04-05 (measured;
``test_scl_vegetation_and_bare_soil_separate_in_ndvi``; 0.6397)."""


def _doy(month: int, day: int, year: int = 2021) -> int:
    return int(
        (np.datetime64(f"{year}-{month:02d}-{day:02d}") - np.datetime64(f"{year - 1}-12-31")).astype(int)
    )


def _cohen_d(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a - b) / pooled SD."""
    return float((a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2))


def _auc(a: np.ndarray, b: np.ndarray) -> float:
    """P(a random value of ``a`` > a random value of ``b``), ties counting 1/2 (Mann-Whitney U / nm)."""
    bs = np.sort(b)
    below = np.searchsorted(bs, a, side="left")
    ties = np.searchsorted(bs, a, side="right") - below
    return float((below + 0.5 * ties).sum() / (a.size * b.size))


def _curve_summary(curve: xr.DataArray) -> pd.DataFrame:
    """Day of year of each curve's maximum, its rise from 1 March and its fall after the maximum."""
    v = curve.values
    j = np.argmax(v, axis=1)  # callers pass curves without NaN rows
    rows = np.arange(v.shape[0])
    after = np.where(np.arange(v.shape[1])[None, :] >= j[:, None], v, np.inf)
    return pd.DataFrame(
        {
            "peak_doy": pd.DatetimeIndex(curve["day"].values[j]).dayofyear,
            "rise": v[rows, j] - v[:, 0],
            "fall": v[rows, j] - after.min(axis=1),
        },
        index=pd.Index(curve["plot"].values, name="plot_id"),
    )


# --------------------------------------------------------------------------------------------------
# WorldCereal monthly composites -> Dataset(plot, time) of 1 ha blocks
# --------------------------------------------------------------------------------------------------


def _worldcereal_reflectance(ds: xr.Dataset, t: int | slice = slice(None)) -> dict[str, np.ndarray]:
    """Surface reflectance [1] of the five bands, NaN where nodata: DN x 1e-4 with no offset (the
    composites cover 2020-11 ... 2021-10, before processing baseline 04.00 brought the -0.1 offset
    in January 2022; geodata.sentinel2)."""
    out = {}
    for key, band in WORLDCEREAL_BANDS.items():
        dn = ds[f"S2-L2A-{band}"].values[t].astype(float)
        out[key] = np.where(dn == WORLDCEREAL_NODATA, np.nan, dn * REFLECTANCE_SCALE)
    return out


@pytest.fixture(scope="module")
def worldcereal_blocks(imagery_dir) -> xr.Dataset:
    """The imagery stage's layout (geodata.dataset) built from the real composites.

    Per block and month: the mean of the per-pixel index (the project's definition,
    geodata.features) over the block's pixels with data in all five bands; ``usable`` if at least
    DEFAULT_MIN_VALID_FRACTION of the block has data (as geodata.dataset), and the means are NaN
    where not usable. A monthly composite is dated at mid-month (the file stamps the 1st of the
    month it summarises), so that the daily NDVI curve puts each month's value at its centre.
    """
    ds = xr.open_dataset(imagery_dir / "worldcereal" / "worldcereal_preprocessed_inputs.nc")
    bands = _worldcereal_reflectance(ds)
    values = compute_indices(bands, ("ndvi", "ndti", "bsi")) | {
        "swir16": bands["swir16"],
        "swir22": bands["swir22"],
    }
    clear = np.all([np.isfinite(b) for b in bands.values()], axis=0)  # (t, y, x)
    nt, ny, nx = clear.shape
    nb = (ny // BLOCK) * (nx // BLOCK)

    def blocks(a: np.ndarray) -> np.ndarray:  # (t, y, x) -> (block, t, pixel)
        a = a.reshape(nt, ny // BLOCK, BLOCK, nx // BLOCK, BLOCK)
        return a.transpose(1, 3, 0, 2, 4).reshape(nb, nt, BLOCK * BLOCK)

    n_clear = blocks(clear).sum(axis=2)
    usable = (n_clear / BLOCK**2 >= DEFAULT_MIN_VALID_FRACTION) & (n_clear > 0)
    data = {}
    for name, a in values.items():
        ok = blocks(clear & np.isfinite(a))
        total = np.where(ok, blocks(np.nan_to_num(a)), 0.0).sum(axis=2)
        n = ok.sum(axis=2)
        data[name] = (("plot", "time"), np.where(usable & (n > 0), total / np.maximum(n, 1), np.nan))
    data["usable"] = (("plot", "time"), usable)
    time = ds["t"].values.astype("datetime64[D]") + np.timedelta64(14, "D")
    return xr.Dataset(
        data,
        coords={"plot": [f"block{i:02d}" for i in range(nb)], "time": time.astype("datetime64[ns]")},
    )


def _cropped(ds: xr.Dataset) -> np.ndarray:
    """Blocks under an arable crop: bare or sparse in early spring (lowest NDVI of the Feb-Apr
    composites < 0.35: a seedbed or a young winter cereal) and a full canopy later (NDVI > 0.7).
    Grass, gardens, trees and roofs never reach both."""
    nd = ds["ndvi"].values  # NaN where not usable; no nanmin/nanmax (all-NaN rows would warn)
    month = pd.DatetimeIndex(ds["time"].values).month
    spring = nd[:, (month >= 2) & (month <= 4)]
    return (np.where(np.isnan(spring), np.inf, spring).min(axis=1) < 0.35) & (
        np.where(np.isnan(nd), -np.inf, nd).max(axis=1) > 0.7
    )


def test_worldcereal_blocks_have_the_imagery_stage_layout(worldcereal_blocks):
    ds = worldcereal_blocks
    assert ds.sizes == {"plot": 100, "time": 12}
    # Dec 2020 and Jan 2021 are nodata composites: not usable, their means NaN (never a guess).
    assert ds["usable"].sum("plot").values.tolist() == [100, 0, 0] + [100] * 9
    assert np.isnan(ds["ndvi"].values[:, 1:3]).all() and np.isfinite(ds["ndvi"].values[:, 3:]).all()
    # Float surface reflectance, not DN: SWIR1 of Belgian cropland is ~0.1-0.3, SWIR2 below it.
    s16, s22 = float(ds["swir16"].median()), float(ds["swir22"].median())
    assert 0.1 < s16 < 0.3 and 0.05 < s22 < s16


def test_worldcereal_crop_ndvi_rises_to_a_summer_peak_and_falls(worldcereal_blocks):
    """Crop blocks: the smoothed NDVI curve rises from spring, peaks in May-August and falls after.

    Belgian calendar: winter cereals green up in March-April, peak in May-June and are harvested
    in July-August; sugar beet, maize and potatoes are sown in April-May, close the canopy in
    June-July and are harvested from September. Either way the peak lies in May-August, green-up
    in March-June and senescence in June-October.
    """
    ds = worldcereal_blocks
    crop = _cropped(ds)
    assert crop.sum() == 33  # measured: 33 of the 100 blocks are arable by the rule above
    curve = ndvi_curve(ds.isel(plot=np.flatnonzero(crop)), 2021)
    assert not np.isnan(curve.values).any()
    shape = _curve_summary(curve)
    dates = season_dates(curve)

    # Peak inside the season, May-August (measured: day 140-203).
    assert shape["peak_doy"].between(_doy(5, 1), _doy(8, 31)).all()
    assert (shape["peak_doy"].min(), shape["peak_doy"].max()) == (140, 203)
    # Rises from 1 March by >= 0.3 NDVI in every block (measured min 0.41); falls after the peak
    # by >= 0.3 in all but two (measured median fall 0.51): a late crop still green in the October
    # composite (NDVI 0.73, fall 0.04) and a block whose autumn cover keeps NDVI at 0.6 (fall 0.22).
    assert (shape["rise"] >= 0.3).all()
    assert shape["rise"].min() == pytest.approx(0.406, abs=0.005)
    assert (shape["fall"] >= 0.3).sum() == 31
    assert shape["fall"].median() == pytest.approx(0.514, abs=0.005)

    # Green-up before the peak before senescence wherever both dates exist (32 of 33 blocks).
    both = dates.dropna(subset=["greenup_doy", "senescence_doy"])
    assert len(both) == 32
    assert (both["greenup_doy"] < shape.loc[both.index, "peak_doy"]).all()
    assert (shape.loc[both.index, "peak_doy"] < both["senescence_doy"]).all()
    assert dates["greenup_doy"].between(_doy(3, 1), _doy(6, 30)).all()
    assert both["senescence_doy"].between(_doy(6, 1), _doy(10, 31)).all()
    # Measured: green-up day 89-180, median 123 (3 May); senescence day 183-281, median 209
    # (28 July: winter cereals ripen and are cut); median amplitude 0.60.
    assert (dates["greenup_doy"].min(), dates["greenup_doy"].max()) == (89, 180)
    assert (both["senescence_doy"].min(), both["senescence_doy"].max()) == (183, 281)
    assert dates["greenup_doy"].median() == 123
    assert both["senescence_doy"].median() == 209
    assert dates["ndvi_amplitude"].median() == pytest.approx(0.596, abs=0.005)

    # Permanent cover (grass, gardens, trees, roofs) has a much flatter curve: measured median
    # amplitude 0.15, a quarter of the crops'.
    other = season_dates(ndvi_curve(ds.isel(plot=np.flatnonzero(~crop)), 2021))
    assert other["ndvi_amplitude"].median() == pytest.approx(0.15, abs=0.01)
    assert other["ndvi_amplitude"].median() < 0.5 * dates["ndvi_amplitude"].median()


def test_worldcereal_season_features_on_real_blocks(worldcereal_blocks):
    ds = worldcereal_blocks
    crop = _cropped(ds)
    f = season_features(ds, [2021])
    assert list(f.columns) == ["plot_id", "year", *FEATURE_UNITS] and len(f) == 100
    f = f.set_index("plot_id").loc[ds["plot"].values]
    # March-October composites (dated mid-month) fall in 1 March - 15 December: 8 per block.
    assert (f["season_n"] == 8).all()
    # No 2022 data: the next-spring window has no observation and its features are NaN.
    assert (f["next_spring_n"] == 0).all()
    next_spring = [c for c in f.columns if c.startswith("next_spring_") and not c.endswith("_n")]
    assert f[next_spring].isna().all().all()
    # The phenology columns are those of season_dates on the same curve.
    dates = season_dates(ndvi_curve(ds, 2021)).loc[ds["plot"].values]
    pd.testing.assert_frame_equal(f[dates.columns], dates.rename_axis("plot_id"), check_names=False)

    # The bare-soil rule (BSI > 0 and NDVI < BARE_NDVI) uses BSI, which the crop selection does not:
    # early spring (1 March - 20 April) shows bare soil in most crop blocks (measured 27 of 33) and
    # almost never under permanent cover (3 of 67); the median early-spring BSI is positive (bare
    # soil reflects more SWIR + red than NIR + blue) on crops, negative under cover.
    bare = f["spring_early_bare_n"] > 0
    assert (bare[crop].sum(), bare[~crop].sum()) == (27, 3)
    assert bare[crop].mean() > 0.7 > 0.1 > bare[~crop].mean()
    bsi_crop = f.loc[crop, "spring_early_bsi_median"].median()
    bsi_other = f.loc[~crop, "spring_early_bsi_median"].median()
    assert (bsi_crop, bsi_other) == pytest.approx((0.117, -0.113), abs=0.005)
    assert bsi_crop > 0 > bsi_other


# --------------------------------------------------------------------------------------------------
# eo-learn TestEOPatch: real parcels, 68 dates with a cloud mask
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eolearn_parcels(imagery_dir) -> tuple[xr.Dataset, pd.DataFrame]:
    """Per-parcel NDVI series of the 88 real land-use parcels over the eo-learn patch.

    The patch is 101 x 100 px (y, x) over the bbox in ``bbox.geojson`` (EPSG:32633), about 10 m
    pixels. A pixel belongs to the parcel containing its centre (rasterize); the parcel mean is the
    mean NDVI of its cloud-free pixels (``mask_CLM`` 1 = cloud); a date is usable when at least
    DEFAULT_MIN_VALID_FRACTION of the parcel's pixels are clear (as geodata.dataset). The NDVI was
    computed by eo-learn from L1C (top-of-atmosphere) bands, not L2A: its level is a little lower
    than surface-reflectance NDVI, its seasonal shape the same.
    """
    d = imagery_dir / "eo-learn-TestEOPatch"
    with np.load(d / "ndvi_clm.npz") as z:  # NDVI x 1000 as int16 and the cloud mask (README)
        ndvi_px = z["ndvi_x1000"].astype(float) / 1000.0
        cloud = z["clm"].astype(bool)
    stamps = np.array(json.loads((d / "timestamps.json").read_text()), dtype="datetime64[s]")
    # 2015-12-08 was acquired twice (both fully cloudy); keep one value per UTC day, like the
    # imagery stage.
    _, first = np.unique(stamps.astype("datetime64[D]"), return_index=True)
    ndvi_px, cloud, stamps = ndvi_px[first], cloud[first], stamps[first]
    bbox = json.loads((d / "bbox.geojson").read_text())
    xs, ys = zip(*bbox["coordinates"][0], strict=True)
    nt, ny, nx = ndvi_px.shape
    x0, y1 = min(xs), max(ys)
    transform = Affine((max(xs) - x0) / nx, 0.0, x0, 0.0, -(y1 - min(ys)) / ny, y1)
    parcels = gpd.read_file(d / "vector_timeless_LULC.gpkg")
    assert parcels.crs.to_epsg() == 32633 and bbox["crs"]["properties"]["name"].endswith("32633")
    n = len(parcels)
    label = rasterize(
        [(g, i + 1) for i, g in enumerate(parcels.geometry)], out_shape=(ny, nx), transform=transform, fill=0
    ).ravel()
    npx = np.bincount(label, minlength=n + 1)[1:]
    clear = ~cloud.reshape(nt, -1)
    flat = np.where(clear, ndvi_px.reshape(nt, -1), 0.0)
    total = np.stack([np.bincount(label, weights=flat[t], minlength=n + 1)[1:] for t in range(nt)], axis=1)
    count = np.stack(
        [np.bincount(label, weights=clear[t].astype(float), minlength=n + 1)[1:] for t in range(nt)], axis=1
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (count / npx[:, None] >= DEFAULT_MIN_VALID_FRACTION) & (count > 0)
    mean = np.where(usable, total / np.maximum(count, 1), np.nan)
    ds = xr.Dataset(
        {"ndvi": (("plot", "time"), mean), "usable": (("plot", "time"), usable)},
        coords={"plot": parcels["index"].astype(str).to_numpy(), "time": stamps.astype("datetime64[ns]")},
    )
    info = pd.DataFrame(
        {"lulc": parcels["LULC_NAME"].to_numpy(), "npx": npx},
        index=pd.Index(ds["plot"].values, name="plot_id"),
    )
    return ds, info


@pytest.mark.parametrize(
    ("year", "greenup_median", "senescence_median", "amplitude_median"),
    [(2016, 111, 298, 0.393), (2017, 92.5, 305, 0.592)],
)
def test_eolearn_parcels_green_up_in_spring_and_senesce_in_autumn(
    eolearn_parcels, year, greenup_median, senescence_median, amplitude_median
):
    """Meadows, forest and shrubland at 46 N just south of Ljubljana: grass greens up and
    broadleaves leaf out in April, the canopy stays green through summer and senesces (leaf fall,
    last cut) in October-November. The curve peaks between May and September, green-up lies in
    March-May and senescence from August to the curve's end (15 December), green-up always first.
    2016 has only 7-11 usable dates per parcel, so its curves are coarser than 2017's."""
    ds, info = eolearn_parcels
    vegetated = info["lulc"].isin(["grassland", "forest", "schrubland"]) & (info["npx"] >= 20)  # >= 0.2 ha
    assert vegetated.sum() == 26
    # A real cloudy series: of the 31 acquisitions from 1 March to 15 December 2017, the parcels
    # have 18-21 usable dates (2016: 7-11 of 17); the cloudy dates are gaps in the curve.
    t = pd.DatetimeIndex(ds["time"].values)
    in_season = (t >= f"{year}-03-01") & (t <= f"{year}-12-15")
    n_usable = ds["usable"].values[np.flatnonzero(vegetated)][:, in_season].sum(axis=1)
    assert n_usable.min() >= (7 if year == 2016 else 18) and n_usable.max() < in_season.sum()

    curve = ndvi_curve(ds.isel(plot=np.flatnonzero(vegetated)), year)
    assert not np.isnan(curve.values).any()
    shape = _curve_summary(curve)
    dates = season_dates(curve)
    assert shape["peak_doy"].between(_doy(5, 1, year), _doy(9, 30, year)).all()
    # measured minima: rise 0.13 (2016) / 0.24 (2017), fall 0.16 / 0.40
    assert (shape["rise"] > 0.1).all() and (shape["fall"] > 0.1).all()
    both = dates.dropna(subset=["greenup_doy", "senescence_doy"])
    assert len(both) >= 25  # measured: 25 of 26 in 2016, 26 in 2017
    assert (both["greenup_doy"] < shape.loc[both.index, "peak_doy"]).all()
    assert (shape.loc[both.index, "peak_doy"] < both["senescence_doy"]).all()
    assert both["greenup_doy"].between(_doy(3, 1, year), _doy(5, 31, year)).all()
    assert both["senescence_doy"].between(_doy(8, 1, year), _doy(12, 15, year)).all()
    # Measured medians on this patch: green-up 20 April 2016 / 2 April 2017, senescence late
    # October / 1 November.
    assert dates["greenup_doy"].median() == pytest.approx(greenup_median, abs=1)
    assert dates["senescence_doy"].median() == pytest.approx(senescence_median, abs=1)
    assert dates["ndvi_amplitude"].median() == pytest.approx(amplitude_median, abs=0.01)

    # The overlay is right: built-up parcels (roofs, yards) peak far lower than the vegetated ones.
    built = (info["lulc"] == "artificial surface") & (info["npx"] >= 20)
    built_peak = season_dates(ndvi_curve(ds.isel(plot=np.flatnonzero(built)), year))["ndvi_peak"]
    assert built_peak.median() < dates["ndvi_peak"].median() - 0.1


# --------------------------------------------------------------------------------------------------
# Single scenes: SCL vegetation vs bare soil
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "n_veg", "n_bare", "ndvi_veg", "ndvi_bare", "d", "auc"),
    [
        (1, 3900, 272, 0.867, 0.320, 5.05, 0.9951),  # 2023-04-05
        (5, 3948, 252, 0.870, 0.306, 4.76, 0.9934),  # 2023-04-15
    ],
)
def test_scl_vegetation_and_bare_soil_separate_in_ndvi(
    imagery_dir, t, n_veg, n_bare, ndvi_veg, ndvi_bare, d, auc
):
    """Real SCL 4 (vegetation) vs 5 (not vegetated) pixels of one clear Mol date (L2A, DN x 1e-4,
    no offset). Green leaves absorb red and scatter NIR, so NDVI of SCL 4 is far above SCL 5; leaf
    water absorbs at 1.6 um, so the vegetated pixels are also darker in B11 than the bare ones."""
    ds = xr.open_dataset(imagery_dir / "openeo-gfmap" / "cdse_sentinel2_l2a_mol-BE_2023-04.nc")
    scl = ds["S2-L2A-SCL"].values[t]
    red, nir, b11 = (
        ds[f"S2-L2A-{b}"].values[t].astype(float) * REFLECTANCE_SCALE for b in ("B04", "B08", "B11")
    )
    v = ndvi(red, nir)
    veg, bare = v[scl == VEG], v[scl == BARE]
    assert (veg.size, bare.size) == (n_veg, n_bare)
    # measured on this fixture
    assert (np.median(veg), np.median(bare)) == pytest.approx((ndvi_veg, ndvi_bare), abs=0.005)
    assert _cohen_d(veg, bare) == pytest.approx(d, abs=0.05)
    assert _auc(veg, bare) == pytest.approx(auc, abs=0.0005)
    # physics: a large, near-complete separation
    assert np.median(veg) - np.median(bare) > 0.4 and _auc(veg, bare) > 0.95 and _cohen_d(veg, bare) > 2
    assert np.percentile(veg, 5) > np.percentile(bare, 95)  # measured 0.64 > 0.49 and 0.61 > 0.49
    assert np.median(b11[scl == VEG]) < np.median(b11[scl == BARE])
    if t == 1:  # where VEGETATED_NDVI comes from
        assert np.percentile(veg, 5) == pytest.approx(VEGETATED_NDVI, abs=0.001)


def test_ndti_separates_bare_soil_from_green_vegetation_and_residue(imagery_dir):
    """NDTI = (B11 - B12) / (B11 + B12) of bare vs vegetated pixels of one real composite.

    The April 2021 WorldCereal composite (both SWIR bands; no SCL, so pixels are classed by the
    features module's own bare-soil rule, BSI > 0 and NDVI < BARE_NDVI, and by NDVI >=
    VEGETATED_NDVI, the NDVI that 95 % of real SCL-4 pixels exceed). Observed direction: green
    vegetation has a HIGH NDTI (~0.28): leaf water absorbs more at 2.2 um than at 1.6 um, as
    cellulose and lignin do in residue; bare mineral soil has a flat SWIR and an NDTI near 0.03.
    So NDTI tells residue from bare soil only outside the green canopy, which is why the features
    read it in the spring and autumn windows and check NDVI alongside.
    """
    ds = xr.open_dataset(imagery_dir / "worldcereal" / "worldcereal_preprocessed_inputs.nc")
    months = pd.DatetimeIndex(ds["t"].values).strftime("%Y-%m").tolist()

    def classes(month: str) -> tuple[np.ndarray, np.ndarray]:
        b = _worldcereal_reflectance(ds, months.index(month))
        i = compute_indices(b, ("ndvi", "ndti", "bsi"))
        bare = (i["bsi"] > 0) & (i["ndvi"] < BARE_NDVI)
        veg = i["ndvi"] >= VEGETATED_NDVI
        return i["ndti"][veg], i["ndti"][bare]

    veg, bare = classes("2021-04")
    # measured on this fixture
    assert (veg.size, bare.size) == (4479, 3008)
    assert (np.median(veg), np.median(bare)) == pytest.approx((0.278, 0.029), abs=0.003)
    assert _cohen_d(veg, bare) == pytest.approx(5.25, abs=0.05)
    assert _auc(veg, bare) == pytest.approx(0.9996, abs=0.0003)
    # physics: bare soil low, green vegetation high, little overlap
    assert np.median(bare) < 0.1 < 0.2 < np.median(veg)
    assert np.percentile(bare, 95) < np.percentile(veg, 5)  # measured 0.089 < 0.164

    # Residue: in the July composite the pixels meeting the same bare-soil rule are mostly ripe or
    # harvested winter cereals (straw, stubble; their NDVI curves above senesce in July). Dry
    # cellulose and lignin raise their NDTI well above that of the bare seedbeds of April (van
    # Deventer et al. 1997): the residue-vs-bare contrast the practice features rely on.
    _, bare_july = classes("2021-07")
    assert bare_july.size == 898
    assert np.median(bare_july) == pytest.approx(0.167, abs=0.003)
    assert np.median(bare_july) > np.median(bare) + 0.1


def test_ndti_of_scl_bare_desert_pixels_is_near_zero(imagery_dir):
    """The rio-tiler-pds COG scene (29RKH, 2020-02-19, Sahara) has real B11/B12 and SCL but no
    vegetation: 289,159 of its 301,401 pixels are SCL 5 (not vegetated), none SCL 4 (the rest is
    cloud and cirrus) - which is why the SCL 4 / 5 contrast above uses the Mol cube. Its bare sand
    and rock have a near-flat SWIR: NDTI near 0 and NDVI below the bare-soil threshold, the low end
    against which residue raises NDTI."""
    d = imagery_dir / "rio-tiler-pds" / "S2A_29RKH_20200219_0_L2A"
    item = json.loads((d / "S2A_29RKH_20200219_0_L2A.json").read_text())
    # baseline 02.14 < 04.00: reflectance = DN x 1e-4 with no offset
    assert baseline_from_name(item["properties"]["s2:product_uri"]) == (2, 14) < OFFSET_BASELINE
    arr = {}
    for b in ("B04", "B08", "B11", "B12", "SCL"):
        with rasterio.open(d / f"{b}.tif") as src:
            arr[b] = src.read(1)
    scl = arr["SCL"]
    assert (scl == VEG).sum() == 0 and (scl == BARE).sum() == 289159
    # B04/B08 are at 100 m, B11/B12/SCL at 200 m on the same origin: average 2 x 2 to 200 m.
    n = scl.shape[0]
    red, nir = (
        arr[b].astype(float).reshape(n, 2, n, 2).mean(axis=(1, 3)) * REFLECTANCE_SCALE for b in ("B04", "B08")
    )
    s16, s22 = (arr[b].astype(float) * REFLECTANCE_SCALE for b in ("B11", "B12"))
    sel = scl == BARE
    v, ti = ndvi(red, nir)[sel], ndti(s16, s22)[sel]
    # measured on this fixture
    assert np.median(v) == pytest.approx(0.066, abs=0.002)
    assert np.median(ti) == pytest.approx(0.022, abs=0.002)
    # physics: no green cover, flat SWIR
    assert np.percentile(v, 99) < BARE_NDVI and abs(np.median(ti)) < 0.05
