"""Spectral indices and SCL masks: hand calculations and real Sentinel-2 pixels."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from geodata.features import bsi, compute_indices, ndti, ndvi
from geodata.masks import SCL_CLASSES, MaskConfig, scl_valid_mask


def test_ndvi_of_one_real_pixel_by_hand(imagery_dir):
    # openEO/CDSE cube, 2023-04-15 (t=5, SCL 4 = vegetation), row 10, col 20 (x 643465, y 5676375):
    # B04 = 370 DN, B08 = 3840 DN (reflectance x 1e4, no offset in this product).
    # NDVI = (0.3840 - 0.0370) / (0.3840 + 0.0370) = 0.3470 / 0.4210 = 0.824228028...
    ds = xr.open_dataset(imagery_dir / "openeo-gfmap" / "cdse_sentinel2_l2a_mol-BE_2023-04.nc")
    red = float(ds["S2-L2A-B04"].values[5, 10, 20]) * 1e-4
    nir = float(ds["S2-L2A-B08"].values[5, 10, 20]) * 1e-4
    assert (red, nir) == pytest.approx((0.0370, 0.3840))
    assert float(ndvi(red, nir)) == pytest.approx(0.3470 / 0.4210, rel=1e-12)
    assert float(ndvi(red, nir)) == pytest.approx(0.824228028, rel=1e-8)


def test_indices_by_hand():
    # NDTI: B11 0.30, B12 0.20 -> 0.10 / 0.50 = 0.2
    assert float(ndti(0.30, 0.20)) == pytest.approx(0.2, rel=1e-12)
    # BSI: B02 0.05, B04 0.10, B08 0.20, B11 0.35 -> (0.45 - 0.25) / (0.45 + 0.25) = 0.2857142857
    assert float(bsi(0.05, 0.10, 0.20, 0.35)) == pytest.approx(0.2 / 0.7, rel=1e-12)
    # zero denominator -> NaN, not inf or an error
    assert np.isnan(ndvi(0.0, 0.0)) and np.isnan(ndti(np.array([0.1]), np.array([-0.1])))[0]
    # arrays and NaN propagate
    out = ndvi(np.array([0.1, np.nan]), np.array([0.3, 0.3]))
    assert out[0] == pytest.approx(0.5) and np.isnan(out[1])


def test_real_ndti_of_worldcereal_composite_is_plausible(imagery_dir):
    # 2021-03 composite (t=4) over Belgian cropland: median NDTI of bare/residue fields is
    # positive, about 0.1-0.3 (van Deventer et al. 1997 ranges); computed from B11/B12 DN.
    ds = xr.open_dataset(imagery_dir / "worldcereal" / "worldcereal_preprocessed_inputs.nc")
    b11 = ds["S2-L2A-B11"].values[4].astype(float) * 1e-4
    b12 = ds["S2-L2A-B12"].values[4].astype(float) * 1e-4
    v = ndti(b11, b12)
    # pixel (0, 0) by hand from its DN values
    d11, d12 = ds["S2-L2A-B11"].values[4, 0, 0], ds["S2-L2A-B12"].values[4, 0, 0]
    assert v[0, 0] == pytest.approx((int(d11) - int(d12)) / (int(d11) + int(d12)), rel=1e-12)
    assert 0.05 < np.nanmedian(v) < 0.35


def test_compute_indices_errors():
    bands = {"red": np.array([0.1]), "nir": np.array([0.3])}
    assert compute_indices(bands, ("ndvi",))["ndvi"][0] == pytest.approx(0.5)
    with pytest.raises(KeyError, match="missing \\['swir16', 'swir22'\\]"):
        compute_indices(bands, ("ndti",))
    with pytest.raises(KeyError, match="unknown index"):
        compute_indices(bands, ("evi",))


def test_scl_mask_classes(imagery_dir):
    assert len(SCL_CLASSES) == 12 and SCL_CLASSES[9] == "cloud_high_probability"
    codes = np.arange(12)
    assert codes[scl_valid_mask(codes)].tolist() == [4, 5]
    assert codes[scl_valid_mask(codes, MaskConfig(keep_water=True, keep_unclassified=True))].tolist() == [
        4,
        5,
        6,
        7,
    ]
    # the real Mol cube: only 2023-04-05 and 2023-04-15 have clear pixels (imagery README: 2/12 dates);
    # 04-05 has 3900 class 4 + 272 class 5 of 4224 pixels -> 4172 clear.
    ds = xr.open_dataset(imagery_dir / "openeo-gfmap" / "cdse_sentinel2_l2a_mol-BE_2023-04.nc")
    clear = scl_valid_mask(ds["S2-L2A-SCL"].values).sum(axis=(1, 2))
    assert np.flatnonzero(clear).tolist() == [1, 5]
    assert clear[1] == 4172
