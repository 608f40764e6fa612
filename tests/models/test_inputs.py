"""Tests of carbon-input derivation (residue C, manure C, monthly placement, cover) for RothC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import inputs as m
from models.errors import ModelInputError, ParameterLookupError

MONTHS_2024 = pd.period_range("2024-01", "2024-12", freq="M")

# 10 t/ha maize, IPCC 2019 Refinement (Table 11.1a p. 11.18: DRY 0.87, R_AG 1.0, RS 0.22;
# Eq. 5.0h p. 5.36: C = 0.42):
#   Crop  = 10 x 0.87            = 8.7 t d.m./ha      (Eq. 11.7)
#   AG_DM = 8.7 x 1.0            = 8.7 t d.m./ha
#   BGR   = (8.7 + 8.7) x 0.22   = 3.828 t d.m./ha    (Eq. 11.6)
#   C_AG  = 8.7 x 0.42           = 3.654 t C/ha
#   C_BG  = 3.828 x 0.42         = 1.60776 t C/ha     total 5.26176 t C/ha
C_AG_10 = 3.654
C_BG_10 = 1.60776


def test_residue_c_ratio_method_10t_maize():
    ag, bg = m.residue_carbon_ipcc(10.0, "maize")
    assert ag == pytest.approx(C_AG_10, rel=1e-12)
    assert bg == pytest.approx(C_BG_10, rel=1e-12)


def test_residue_c_regression_method_10t_maize():
    # Table 11.2 (p. 11.19) maize: AG_DM = 8.7 x 1.03 + 0.61 = 9.571 t d.m./ha
    # C_AG = 9.571 x 0.42 = 4.01982; BGR = (8.7 + 9.571) x 0.22 = 4.01962; C_BG = 1.6882404
    ag, bg = m.residue_carbon_ipcc(10.0, "maize", method="ipcc_regression")
    assert ag == pytest.approx(4.01982, rel=1e-12)
    assert bg == pytest.approx(1.6882404, rel=1e-12)


def test_residue_c_retained_fraction_and_arrays():
    # removed straw: no AG input, roots unchanged; 30 % retained: 0.3 x 3.654 = 1.0962
    ag, bg = m.residue_carbon_ipcc(np.array([10.0, 10.0]), "maize", np.array([0.0, 0.3]))
    np.testing.assert_allclose(ag, [0.0, 1.0962], rtol=1e-12)
    np.testing.assert_allclose(bg, [C_BG_10, C_BG_10], rtol=1e-12)
    with pytest.raises(ModelInputError, match="retained_fraction"):
        m.residue_carbon_ipcc(10.0, "maize", 1.2)
    with pytest.raises(ParameterLookupError, match=r"'sorghum'.*maize"):
        m.residue_carbon_ipcc(10.0, "sorghum")


def test_residue_c_harvest_index_method_hand_calc():
    # Bolinder et al. (2007) approach with explicit values: HI 0.5, S:R 5.6, extra-root 0.65, C 0.45
    # grain 8.7; straw 8.7 x 0.5/0.5 = 8.7; root (8.7 + 8.7)/5.6 = 3.107142857
    # C_AG = 8.7 x 0.45 = 3.915; C_BG = 3.107142857 x 1.65 x 0.45 = 2.307053571
    ag, bg = m.residue_carbon_harvest_index(
        10.0, "maize", harvest_index=0.5, shoot_root_ratio=5.6, extra_root_fraction=0.65, c_fraction=0.45
    )
    assert ag == pytest.approx(3.915, rel=1e-12)
    assert bg == pytest.approx(2.307053571, rel=1e-9)


def test_manure_carbon():
    # 30 t/ha fresh cattle manure at 12 % C of fresh mass -> 30 x 12 / 100 = 3.6 t C/ha
    assert m.manure_carbon(30.0, 12.0) == pytest.approx(3.6)
    with pytest.raises(ModelInputError, match="manure_c"):
        m.manure_carbon(30.0, 0.0)
    with pytest.raises(ModelInputError, match="manure_rate"):
        m.manure_carbon(float("nan"), 12.0)
    with pytest.raises(ModelInputError, match="manure_c"):
        m.manure_carbon(np.array([30.0, 20.0]), np.array([12.0, 101.0]))
    np.testing.assert_allclose(m.manure_carbon(np.array([30.0, 10.0]), np.array([12.0, 5.0])), [3.6, 0.5])


def test_retained_fraction_rules():
    assert m.retained_fraction("removed") == 0.0
    assert m.retained_fraction("burned") == 0.0
    assert m.retained_fraction("mulched") == 1.0
    assert m.retained_fraction("removed", 0.4) == 0.4  # logged fraction wins
    with pytest.raises(ModelInputError, match="valid methods"):
        m.retained_fraction("composted")


def _season(plot="p1", sow="2024-05-01", harvest="2024-09-30", yld=10.0, residue="mulched", **extra):
    rows = [
        dict(plot_id=plot, date=sow, activity="sowing", crop="maize"),
        {"plot_id": plot, "date": harvest, "activity": "harvest", "crop": "maize", "yield": yld},
    ]
    if residue is not None:
        rows.append(
            dict(
                plot_id=plot,
                date=pd.Timestamp(harvest) + pd.Timedelta(days=10),
                activity="residue",
                method=residue,
            )
        )
    return rows


def test_monthly_placement_cover_and_manure():
    # season 1 May - 30 Sep 2024: 31 + 30 + 31 + 31 + 30 = 153 days (both ends included).
    # Roots 1.60776 spread per day: 31-day months 1.60776 x 31/153 = 0.325755294,
    # 30-day months 0.315247059; all retained straw (3.654) in September (harvest month).
    # Manure 30 t/ha x 12 % = 3.6 t C/ha in April.
    df = pd.DataFrame(
        _season()
        + [dict(plot_id="p1", date="2024-04-15", activity="manure", manure_rate=30.0, manure_c=12.0)]
    )
    ds = m.build_carbon_inputs(df, MONTHS_2024)
    c = ds.c_inp.sel(plot="p1").values
    expected = np.zeros(12)
    expected[[4, 6, 7]] = 1.60776 * 31 / 153
    expected[5] = 1.60776 * 30 / 153
    expected[8] = 1.60776 * 30 / 153 + 3.654
    np.testing.assert_allclose(c, expected, rtol=1e-12, atol=1e-15)
    assert c.sum() == pytest.approx(5.26176, rel=1e-12)
    np.testing.assert_array_equal(ds.pc.sel(plot="p1").values, [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0])
    fym = np.zeros(12)
    fym[3] = 3.6
    np.testing.assert_allclose(ds.fym.sel(plot="p1").values, fym)
    np.testing.assert_array_equal(ds.dpm_rpm.values, 1.44)
    # the RothC-facing contract
    assert ds.c_inp.dims == ("plot", "month")
    assert ds.month.values[0] == np.datetime64("2024-01-01")
    units = {v: ds[v].attrs["units"] for v in ds.data_vars}
    assert units == {
        "c_inp": "t C ha-1 month-1",
        "c_inp_ag": "t C ha-1 month-1",
        "c_inp_bg": "t C ha-1 month-1",
        "fym": "t C ha-1 month-1",
        "pc": "1",
        "dpm_rpm": "1",
        "incorporation": "1",
        "tillage": "1",
        "tillage_logged": "1",
    }


def test_tillage_buries_surface_residue_and_sets_the_years_level():
    # an autumn mouldboard plough buries 95 % of the surface residue, a rotary pass in the same
    # month 75 % of the rest: 1 - 0.05 x 0.25 = 0.9875 (models.surface.BURIAL_FRACTION, extension
    # tables of residue remaining after one pass); the year takes its most disturbing level
    df = pd.DataFrame(
        _season()
        + [
            dict(plot_id="p1", date="2024-10-20", activity="tillage", method="plough"),
            dict(plot_id="p1", date="2024-10-25", activity="tillage", method="rotary"),
            dict(plot_id="p2", date="2024-05-01", activity="tillage", method="no_till"),
        ]
    )
    ds = m.build_carbon_inputs(df, MONTHS_2024, plots=["p1", "p2", "p3"])
    inc = ds.incorporation.sel(plot="p1").values
    assert inc[9] == pytest.approx(1 - 0.05 * 0.25, rel=1e-12)
    assert (np.delete(inc, 9) == 0).all()
    assert ds.incorporation.sel(plot="p2").values[4] == pytest.approx(0.05)
    assert (ds.tillage.sel(plot="p1").values == "full_till").all()
    assert (ds.tillage.sel(plot="p2").values == "no_till").all()
    # nothing logged: full tillage (no credit for an unlogged practice), and said so
    assert (ds.tillage.sel(plot="p3").values == "full_till").all()
    assert not ds.tillage_logged.sel(plot="p3").values.any()


def test_partial_months_cover_and_harvest_placement_of_roots():
    # sown 28 Apr (3 days in April < half) and harvested 5 Oct (5 days < half): pc only May-Sep.
    df = pd.DataFrame(_season(sow="2024-04-28", harvest="2024-10-05"))
    ds = m.build_carbon_inputs(df, MONTHS_2024)
    np.testing.assert_array_equal(ds.pc.values[0], [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0])
    # 161 growing days; April gets 3/161 of the root C
    assert ds.c_inp_bg.values[0, 3] == pytest.approx(C_BG_10 * 3 / 161)
    ds_h = m.build_carbon_inputs(df, MONTHS_2024, m.CarbonInputParameters(root_placement="harvest"))
    assert ds_h.c_inp.values[0, 9] == pytest.approx(C_AG_10 + C_BG_10)
    assert ds_h.c_inp.values[0, :9].sum() == 0.0


def test_mulch_as_cover_option():
    df = pd.DataFrame(_season())
    ds = m.build_carbon_inputs(df, MONTHS_2024, m.CarbonInputParameters(mulch_as_cover=True))
    np.testing.assert_array_equal(ds.pc.values[0], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    df = pd.DataFrame(_season(residue="removed"))
    ds = m.build_carbon_inputs(df, MONTHS_2024, m.CarbonInputParameters(mulch_as_cover=True))
    np.testing.assert_array_equal(ds.pc.values[0], [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0])


def test_removed_straw_and_logged_fraction_and_spring_burning():
    months = pd.period_range("2023-01", "2024-12", freq="M")
    rows = _season(plot="a", sow="2023-05-01", harvest="2023-09-30", residue=None)
    # straw burned in spring before the next sowing counts for the 2023 harvest
    rows.append(dict(plot_id="a", date="2024-04-20", activity="residue", method="burned"))
    rows += _season(plot="a", residue=None)
    rows.append(
        dict(plot_id="a", date="2024-10-02", activity="residue", method="retained", residue_fraction=0.5)
    )
    rows += _season(plot="b", residue="removed")
    ds = m.build_carbon_inputs(pd.DataFrame(rows), months)
    sep23, sep24 = 8, 20
    assert ds.c_inp_ag.sel(plot="a").values[sep23] == 0.0
    assert ds.c_inp_ag.sel(plot="a").values[sep24] == pytest.approx(0.5 * C_AG_10)
    assert ds.c_inp_ag.sel(plot="b").values.sum() == 0.0
    assert ds.c_inp_bg.sel(plot="b").values.sum() == pytest.approx(C_BG_10)


def test_plots_argument_and_outside_period():
    df = pd.DataFrame(_season(plot="p1"))
    ds = m.build_carbon_inputs(df, pd.period_range("2024-07", "2024-12", freq="M"), plots=["p0", "p1"])
    assert list(ds["plot"].values) == ["p0", "p1"]
    assert ds.c_inp.sel(plot="p0").values.sum() == 0.0
    # May and June root C fall before the period and are dropped: (31 + 30)/153 of 1.60776
    assert ds.c_inp.sel(plot="p1").values.sum() == pytest.approx(5.26176 - 1.60776 * 61 / 153)
    with pytest.raises(ModelInputError, match="not in `plots`"):
        m.build_carbon_inputs(df, MONTHS_2024, plots=["p0"])


def test_a_record_without_a_date_is_named():
    rows = _season()
    rows[1]["date"] = None  # the harvest, the file's row 1
    with pytest.raises(ModelInputError, match=r"row 1 \(plot 'p1', harvest\) has no date"):
        m.build_carbon_inputs(pd.DataFrame(rows), MONTHS_2024)


def test_errors_name_the_record_and_fix():
    df = pd.DataFrame(_season(residue=None))
    with pytest.raises(ModelInputError, match=r"plot 'p1'.*harvest on 2024-09-30.*default_retained_fraction"):
        m.build_carbon_inputs(df, MONTHS_2024)
    # IPCC Eq. 11.6 note: without removal data assume no removal -> explicit opt-in
    ds = m.build_carbon_inputs(df, MONTHS_2024, m.CarbonInputParameters(default_retained_fraction=1.0))
    assert ds.c_inp.values.sum() == pytest.approx(5.26176)
    no_sow = pd.DataFrame([r for r in _season() if r["activity"] != "sowing"])
    with pytest.raises(ModelInputError, match="no sowing record"):
        m.build_carbon_inputs(no_sow, MONTHS_2024)
    bad_manure = pd.DataFrame([dict(plot_id="p1", date="2024-04-15", activity="manure", manure_rate=30.0)])
    with pytest.raises(ModelInputError, match=r"manure on 2024-04-15.*manure_c"):
        m.build_carbon_inputs(bad_manure, MONTHS_2024)
    with pytest.raises(ModelInputError, match="consecutive"):
        m.build_carbon_inputs(pd.DataFrame(_season()), MONTHS_2024[[0, 2]])
    with pytest.raises(ModelInputError, match="lack column"):
        m.build_carbon_inputs(pd.DataFrame({"plot_id": ["p1"]}), MONTHS_2024)


def test_cover_crop_records_warn():
    df = pd.DataFrame(_season() + [dict(plot_id="p1", date="2024-10-15", activity="cover_crop")])
    with pytest.warns(m.InputsWarning, match="cover_crop"):
        m.build_carbon_inputs(df, MONTHS_2024)


def test_parameter_tables_have_provenance_and_dpm_rpm_values():
    for crop, table in m.RESIDUE_PARAMETERS.items():
        for name, p in table.items():
            assert p.source and p.table and p.page, (crop, name)
    assert m.residue_parameter("*", "c_fraction").value == 0.42
    assert m.residue_parameter("maize", "harvest_index").status == "unverified"
    # RothC-26.3 (Coleman & Jenkinson 1996): crops 1.44, unimproved grassland/scrub 0.67, woodland 0.25
    assert m.DPM_RPM_RATIOS["agricultural_crop"] == 1.44
    assert m.DPM_RPM_RATIOS["unimproved_grassland_scrub"] == 0.67
    assert m.DPM_RPM_RATIOS["deciduous_tropical_woodland"] == 0.25
