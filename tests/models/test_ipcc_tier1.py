"""Tests of the IPCC Tier 1 stock-change method against published and hand-calculated values.

Reference values come from shared/domain/ipcc_tier1_factors.md (transcriptions of IPCC 2006
Vol. 4 and the 2019 Refinement) and shared/domain/china_sample_context.md / lishu.md.
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest
import xarray as xr

from models import ipcc_tier1 as t1
from models.errors import ModelInputError, MRVError, ParameterLookupError


def test_ipcc_2006_worked_example():
    # IPCC 2006 Vol. 4 Ch. 5 worked example (ipcc_tier1_factors.md section 4.1): warm temperate
    # moist, HAC, SOC_REF 88 t C/ha, 1 Mha. Start: 400,000 ha full till / low input and
    # 600,000 ha full till / medium -> 58.78 Mt C. End: 200,000 full/low, 700,000 reduced/medium
    # (1.08), 100,000 no-till/medium (1.15) -> 64.06 Mt C. Change (64.06 - 58.78)/20 = 264,000 t C/yr.
    zone, soil = "warm_temperate_moist", "HAC"
    area_start = np.array([400_000.0, 600_000.0])
    area_end = np.array([200_000.0, 700_000.0, 100_000.0])
    ref = t1.soc_ref(zone, soil, edition="2006")
    assert ref == 88.0
    f_lu, f_mg, f_i = t1.management_factors(
        zone,
        "long_term_cultivated",
        np.array(["full_till", "full_till"]),
        np.array(["low", "medium"]),
        "2006",
    )
    soc_start = float(np.sum(area_start * t1.soc_stock(ref, f_lu, f_mg, f_i)))
    f_lu, f_mg, f_i = t1.management_factors(
        zone,
        "long_term_cultivated",
        np.array(["full_till", "reduced_till", "no_till"]),
        np.array(["low", "medium", "medium"]),
        "2006",
    )
    soc_end = float(np.sum(area_end * t1.soc_stock(ref, f_lu, f_mg, f_i)))
    assert soc_start / 1e6 == pytest.approx(58.78, abs=0.005)
    assert soc_end / 1e6 == pytest.approx(64.06, abs=0.005)
    # published change is rounded to 264,000 t C/yr (exact arithmetic: 264,132)
    assert t1.annual_stock_change(soc_end, soc_start) == pytest.approx(264_000, abs=500)


@pytest.mark.parametrize(
    ("zone", "end", "expected"),
    [
        # ipcc_tier1_factors.md section 4.3, 2019 factors, per ha, medium input unless noted.
        # C2 HAC: 43 x 0.77 x 1.00 = 33.11; no-till 43 x 0.77 x 1.03 = 34.1033;
        # (34.1033 - 33.11) / 20 = 0.049665 t C/ha/yr (table: 0.050)
        ("cool_temperate_dry", t1.Management(tillage="no_till"), 0.049665),
        # C1 HAC: 81 x 0.70 = 56.7; no-till 56.7 x 1.09 = 61.803; 5.103 / 20 = 0.25515 (table: 0.255)
        ("cool_temperate_moist", t1.Management(tillage="no_till"), 0.25515),
        # C1 HAC, no-till + high input: 56.7 x 1.09 x 1.11 = 68.60133; 11.90133 / 20 = 0.5950665 (0.595)
        (
            "cool_temperate_moist",
            t1.Management(tillage="no_till", input_level="high_without_manure"),
            0.5950665,
        ),
        # W2 HAC (North China Plain): 24 x 0.76 = 18.24; x 1.04 = 18.9696; 0.7296 / 20 = 0.03648 (0.036)
        ("warm_temperate_dry", t1.Management(tillage="no_till"), 0.03648),
    ],
)
def test_2019_hand_calculations(zone, end, expected):
    res = t1.tier1_stock_change(zone, "HAC", t1.Management(), end, edition="2019")
    assert res.delta_c == pytest.approx(expected, rel=1e-9)
    assert "Table 5.5 (Updated)" in res.sources["factors"]


def test_scalar_ndarray_dataarray_agree():
    # same case three ways: C2 HAC full till -> no-till = 0.049665 t C/ha/yr (hand calc above)
    scalar = t1.tier1_stock_change("cool_temperate_dry", "HAC", {}, {"tillage": "no_till"}).delta_c
    zones = np.array(["cool_temperate_dry", "cool_temperate_dry"])
    arr = t1.tier1_stock_change(zones, "HAC", t1.Management(), t1.Management(tillage="no_till")).delta_c
    da_zone = xr.DataArray(zones, dims="plot", coords={"plot": ["p1", "p2"]})
    da = t1.tier1_stock_change(da_zone, "HAC", t1.Management(), t1.Management(tillage="no_till")).delta_c
    assert isinstance(scalar, float)
    assert isinstance(arr, np.ndarray) and arr.shape == (2,)
    assert isinstance(da, xr.DataArray) and da.dims == ("plot",) and list(da["plot"].values) == ["p1", "p2"]
    np.testing.assert_allclose(scalar, 0.049665, rtol=1e-9)
    np.testing.assert_allclose(arr, [0.049665, 0.049665], rtol=1e-9)
    np.testing.assert_allclose(da.values, [0.049665, 0.049665], rtol=1e-9)
    assert da.attrs["units"] == "t C ha-1 yr-1"


def test_per_plot_management_arrays_mix_zones_and_practices():
    # plot 1: C2 HAC full -> no-till (0.049665); plot 2: C1 HAC full -> reduced till:
    # 81 x 0.70 x (1.04 - 1.00) / 20 = 0.1134
    zones = np.array(["cool_temperate_dry", "cool_temperate_moist"])
    end = t1.Management(tillage=np.array(["no_till", "reduced_till"]))
    res = t1.tier1_stock_change(zones, np.array(["HAC", "HAC"]), t1.Management(), end)
    np.testing.assert_allclose(res.delta_c, [0.049665, 0.1134], rtol=1e-9)
    np.testing.assert_allclose(res.soc_start, [33.11, 56.7], rtol=1e-12)


def test_lishu_is_cool_temperate_dry_and_lookups_return_table_values():
    # lishu.md / china_sample_context.md section 4: MAT 7.2 degC (1991-2020 normal, verified);
    # P ~573 mm, PET ~767 mm (placeholder normals, unverified). IPCC scheme: 0 < MAT <= 10 ->
    # cool temperate; P/PET = 0.75 < 1 -> dry. So C2, and the 2019 table values for C2 are
    # SOC_REF(HAC) 43, F_LU 0.77, F_MG reduced 0.98 / no-till 1.03, F_I low 0.95 / high 1.04 / manure 1.37.
    zone = t1.ipcc_climate_zone(7.2, 573.0, 767.0, elevation=160.0)
    assert zone == "cool_temperate_dry"
    assert t1.soc_ref(zone, "HAC") == 43.0
    assert t1.stock_change_factor("FLU", "long_term_cultivated", zone) == 0.77
    assert t1.stock_change_factor("FMG", "reduced_till", zone) == 0.98
    assert t1.stock_change_factor("FMG", "no_till", zone) == 1.03
    assert t1.stock_change_factor("FI", "low", zone) == 0.95
    assert t1.stock_change_factor("FI", "high_without_manure", zone) == 1.04
    assert t1.stock_change_factor("FI", "high_with_manure", zone) == 1.37
    # 2006 edition, 'cold temperate dry': SOC_REF 50, F_LU 0.80, no-till 1.10
    assert t1.soc_ref(zone, "HAC", edition="2006") == 50.0
    assert t1.stock_change_factor("FLU", "long_term_cultivated", zone, "2006") == 0.80
    assert t1.stock_change_factor("FMG", "no_till", zone, "2006") == 1.10
    # uncertainty carried with the value: 2019 Table 5.5 no-till C2 +/-4 % (2 sd)
    e = t1.stock_change_factor_entry("FMG", "no_till", zone)
    assert (e.uncertainty_pct, e.table, e.page) == (4.0, "Table 5.5 (Updated)", "5.27")
    # if the site were moist (P/PET > 1) it would be C1
    assert t1.ipcc_climate_zone(7.2, 800.0, 767.0) == "cool_temperate_moist"


@pytest.mark.parametrize(
    ("args", "kwargs", "zone"),
    [
        ((25.0, 1500.0, 1400.0), {"elevation": 1500.0}, "tropical_montane"),
        ((25.0, 2500.0, 1400.0), {}, "tropical_wet"),
        ((25.0, 1500.0, 1400.0), {}, "tropical_moist"),
        ((25.0, 800.0, 1400.0), {}, "tropical_dry"),
        ((25.0, 800.0, 1400.0), {"frost": True}, "warm_temperate_dry"),
        ((14.6, 530.0, 1000.0), {}, "warm_temperate_dry"),  # Shijiazhuang-like, domain section 4
        ((14.6, 1200.0, 1000.0), {}, "warm_temperate_moist"),
        ((10.0, 1200.0, 1000.0), {}, "cool_temperate_moist"),  # boundary belongs to the colder class
        ((-3.0, 400.0, 300.0), {"warmest_month_temperature": 16.0}, "boreal_moist"),
        ((-12.0, 200.0, 300.0), {"warmest_month_temperature": 6.0}, "polar_dry"),
    ],
)
def test_climate_zone_rules(args, kwargs, zone):
    assert t1.ipcc_climate_zone(*args, **kwargs) == zone


def test_climate_zone_vectorised_and_errors():
    da = xr.DataArray([7.2, 14.6], dims="plot")
    out = t1.ipcc_climate_zone(da, xr.DataArray([573.0, 1200.0], dims="plot"), 767.0)
    assert list(out.values) == ["cool_temperate_dry", "warm_temperate_moist"]
    with pytest.raises(ModelInputError, match="warmest_month_temperature"):
        t1.ipcc_climate_zone(-3.0, 400.0, 300.0)
    with pytest.raises(ModelInputError, match="pet"):
        t1.ipcc_climate_zone(7.0, 400.0, 0.0)


def test_lookup_errors_name_key_and_choices():
    with pytest.raises(
        ParameterLookupError, match=r"unknown climate zone 'cool_temperate'.*cool_temperate_dry"
    ):
        t1.soc_ref("cool_temperate", "HAC")
    with pytest.raises(KeyError, match=r"unknown FMG level 'zero_till'.*no_till"):
        t1.stock_change_factor("FMG", "zero_till", "cool_temperate_dry")
    with pytest.raises(MRVError, match=r"unknown edition '2013'.*2006, 2019"):
        t1.soc_ref("cool_temperate_dry", "HAC", edition="2013")
    # NO / NA cells of Table 2.3 (2019): spodic soils do not occur in C2
    with pytest.raises(ParameterLookupError, match="does not normally occur"):
        t1.soc_ref("cool_temperate_dry", "spodic")
    # the 2006 Table 2.3 has no polar row
    with pytest.raises(ParameterLookupError, match="no row for climate zone 'polar_dry'"):
        t1.soc_ref("polar_dry", "HAC", edition="2006")
    # tropical-montane tillage factors are not legible in the 2019 text copy
    with pytest.raises(ParameterLookupError, match="tropical_montane"):
        t1.stock_change_factor("FMG", "no_till", "tropical_montane")
    # the error surfaces from inside an array lookup too
    with pytest.raises(ParameterLookupError, match="'moist'"):
        t1.soc_ref(np.array(["cool_temperate_dry", "moist"]), "HAC")


def test_paddy_2019_ignores_tillage_and_input():
    # 2019 Table 5.5 (Updated): paddy F_LU 1.35, no F_MG/F_I -> 43 x 1.35 = 58.05 (C2 HAC)
    res = t1.tier1_stock_change(
        "cool_temperate_dry", "HAC", t1.Management(), t1.Management("paddy_rice", "no_till", "low")
    )
    assert res.soc_end == pytest.approx(58.05)
    assert res.factors_end == (1.35, 1.0, 1.0)


def test_period_longer_than_d_divides_by_t():
    # IPCC 2019 Ch. 5 section 5.2.3.4 step 8: T = 25 > D = 20 -> divide by 25
    assert t1.annual_stock_change(60.0, 50.0, t=25.0) == pytest.approx(0.4)
    assert t1.annual_stock_change(60.0, 50.0, t=10.0) == pytest.approx(0.5)
    np.testing.assert_allclose(t1.annual_stock_change(60.0, 50.0, t=np.array([10.0, 40.0])), [0.5, 0.25])
    with pytest.raises(ModelInputError):
        t1.annual_stock_change(60.0, 50.0, d=0.0)
    with pytest.raises(ModelInputError, match="f_mg"):
        t1.soc_stock(43.0, 0.77, -1.0, 1.0)


def test_sample_factors_shape_mean_and_spread(rng):
    n = 20_000
    ds = t1.sample_factors(rng, n, "2019", "cool_temperate_dry", tillage="no_till", soil_class="HAC")
    assert ds.f_lu.dims == ds.f_mg.dims == ds.f_i.dims == ds.soc_ref.dims == ("draw",)
    assert ds.f_mg.sizes["draw"] == n
    for v in ds.data_vars:
        assert "units" in ds[v].attrs
    # no-till C2: 1.03 +/- 4 % (2 sd) -> sd = 1.03 x 0.04 / 2 = 0.0206
    assert float(ds.f_mg.mean()) == pytest.approx(1.03, abs=0.001)
    assert float(ds.f_mg.std()) == pytest.approx(0.0206, rel=0.03)
    # SOC_REF C2 HAC 43 +/- 8 % as 95 % CI -> sd = 43 x 0.08 / 1.96 = 1.7551
    assert float(ds.soc_ref.std()) == pytest.approx(1.7551, rel=0.03)
    # reference level (medium input) has no error in the table -> constant
    assert float(ds.f_i.min()) == float(ds.f_i.max()) == 1.0


def test_sample_factors_levels_dimension_truncation_and_seed():
    ds = t1.sample_factors(
        np.random.default_rng(7), 5000, "2006", "tropical_dry", tillage=["full_till", "no_till"]
    )
    assert ds.f_mg.dims == ("draw", "tillage")
    assert list(ds.tillage.values) == ["full_till", "no_till"]
    # 2006 F_LU tropical dry 0.58 +/- 61 %: wide, but truncated at 0
    assert float(ds.f_lu.min()) > 0.0
    again = t1.sample_factors(
        np.random.default_rng(7), 5000, "2006", "tropical_dry", tillage=["full_till", "no_till"]
    )
    xr.testing.assert_identical(ds, again)
    with pytest.raises(ModelInputError):
        t1.sample_factors(np.random.default_rng(7), 0, "2019", "tropical_dry")


def test_soil_class_from_wrb():
    assert t1.soil_class_from_wrb("Phaeozems") == "HAC"  # NE China black soil
    assert t1.soil_class_from_wrb("chernozem") == "HAC"
    assert t1.soil_class_from_wrb("Ferralsols") == "LAC"
    assert t1.soil_class_from_wrb("Podzol") == "spodic"
    assert t1.soil_class_from_wrb("Cambisols", sand_pct=80.0, clay_pct=5.0) == "sandy"
    with pytest.raises(ParameterLookupError, match="Histosols"):
        t1.soil_class_from_wrb("Histosols")


@pytest.mark.parametrize("name", ["ipcc_soc_ref.csv", "ipcc_stock_change_factors.csv"])
def test_data_tables_carry_provenance(name):
    with resources.files("models").joinpath("data", name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["edition"] for r in rows} == {"2006", "2019"}
    for r in rows:
        assert r["source"] and r["table"] and r["page"], r
