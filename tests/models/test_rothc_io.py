"""RothC_input.dat reader/writer and the ``mrv rothc run`` command, against the official files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from models.rothc_io import (
    MONTHLY_COLUMNS,
    RothCInputFileError,
    format_rothc_input,
    parse_rothc_input,
    read_rothc_input,
    split_spinup,
)
from mrv_service.commands.rothc import group

CASES = ["case0_shipped_example", "case1_clay45_depth30_arable"]


@pytest.mark.parametrize("case", CASES)
def test_read_matches_tidy_inputs(rothc_reference_dir, case):
    d = rothc_reference_dir / "cases" / case
    ds, meta = read_rothc_input(d / "RothC_input.dat")
    tidy = pd.read_csv(d / "inputs_monthly.csv")
    params = pd.read_csv(d / "params.csv").set_index("name")["value"]
    assert (meta.opt_rmmoist, meta.opt_smdbare, meta.nsteps) == (1, 1, 840)
    assert ds.sizes == {"plot": 1, "month": 840}
    for var, col in [("tmp", "tmp_C"), ("rain", "rain_mm"), ("evap", "evap_openpan_mm"), ("c_inp", "c_inp_tC_ha"),
                     ("fym", "fym_tC_ha"), ("pc", "pc"), ("dpm_rpm", "dpm_rpm"), ("modern", "modern_pct")]:  # fmt: skip
        np.testing.assert_array_equal(ds[var].values[0], tidy[col].to_numpy(float), err_msg=var)
        assert ds[var].attrs["units"]
    np.testing.assert_array_equal(ds.year.values, tidy.year)
    np.testing.assert_array_equal(ds.calendar_month.values, tidy.month)
    for k in ("clay", "depth", "iom"):
        assert float(ds[k][0]) == float(params[k])


def test_read_official_v2_and_v1_layouts(rothc_reference_dir):
    # RothC_Code v2.0.0: 8 soil fields incl. minRM_Moist; RothC_Py v1.0.0: no option lines, clay 13 %, depth 25 cm
    ds, meta = read_rothc_input(rothc_reference_dir / "shipped_example" / "RothC_Code" / "RothC_input.dat")
    assert meta.soil["minRM_Moist"] == 0.2 and meta.soil["BD"] == 1.27
    ds1, meta1 = read_rothc_input(rothc_reference_dir / "shipped_example" / "RothC_Py" / "RothC_input.dat")
    assert meta1.opt_rmmoist is None and float(ds1.clay[0]) == 13.0 and float(ds1.depth[0]) == 25.0
    dsr, _ = read_rothc_input(rothc_reference_dir / "shipped_example" / "RothC_R" / "RothC_input.dat")
    np.testing.assert_array_equal(dsr.c_inp.values, ds.c_inp.values)  # Pl_inp column name
    assert float(ds.c_inp[0, 19]) == 1.4643  # 1939-08 plant input of the shipped example


def test_format_round_trips(rothc_reference_dir):
    ds, _ = read_rothc_input(rothc_reference_dir / "cases" / CASES[1] / "RothC_input.dat")
    text = format_rothc_input(ds, title="t")
    back, meta = parse_rothc_input(text)
    assert meta.nsteps == 840 and meta.title == "t"
    for v in ds.data_vars:
        np.testing.assert_array_equal(back[v].values, ds[v].values, err_msg=v)
    np.testing.assert_array_equal(back.year.values, ds.year.values)
    spin, run = split_spinup(back)
    assert spin.sizes["month"] == 12 and run.sizes["month"] == 828


def test_bad_files_say_where(tmp_path, rothc_reference_dir):
    good = (rothc_reference_dir / "cases" / CASES[0] / "RothC_input.dat").read_text()
    lines = good.splitlines()
    with pytest.raises(RothCInputFileError, match="table ends after 100 monthly rows"):
        parse_rothc_input("\n".join(lines[:110]), "x.dat")
    bad = lines.copy()
    bad[20] = bad[20].replace("1.44", "abc")
    with pytest.raises(RothCInputFileError, match="line 21"):
        parse_rothc_input("\n".join(bad), "x.dat")
    with pytest.raises(RothCInputFileError, match="no such file"):
        read_rothc_input(tmp_path / "missing.dat")


@pytest.mark.parametrize("case", CASES)
def test_cli_run_reproduces_reference_monthly(tmp_path, rothc_reference_dir, case):
    d = rothc_reference_dir / "cases" / case
    out = tmp_path / "monthly.csv"
    res = CliRunner().invoke(group, ["run", str(d / "RothC_input.dat"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    mine = pd.read_csv(out)
    ref = pd.read_csv(d / "reference_monthly.csv")
    assert tuple(mine.columns) == MONTHLY_COLUMNS
    assert len(mine) == len(ref) == 828
    for col in MONTHLY_COLUMNS:
        np.testing.assert_allclose(mine[col], ref[col], rtol=0, atol=1e-4, err_msg=col)
    # the pools in fact match to rounding (Fortran literals emulated)
    np.testing.assert_allclose(mine.SOC_tC_ha, ref.SOC_tC_ha, rtol=0, atol=1e-9)


def test_cli_equilibrium_out_and_bad_option(tmp_path, rothc_reference_dir):
    d = rothc_reference_dir / "cases" / CASES[0]
    eq = tmp_path / "eq.csv"
    res = CliRunner().invoke(
        group,
        ["run", str(d / "RothC_input.dat"), "--out", str(tmp_path / "m.csv"), "--equilibrium-out", str(eq)],
    )
    assert res.exit_code == 0, res.output
    mine = pd.read_csv(eq).iloc[0]
    ref = pd.read_csv(d / "reference_equilibrium.csv").iloc[0]
    assert mine.spinup_months == ref.spinup_months == 20916
    for col in ("DPM", "RPM", "BIO", "HUM", "SOC", "Total_Rage_yr"):
        assert mine[col] == pytest.approx(ref[col], abs=1e-6), col
    text = (d / "RothC_input.dat").read_text().splitlines()
    text[4] = "    2          1"
    (tmp_path / "opt2.dat").write_text("\n".join(text))
    res = CliRunner().invoke(group, ["run", str(tmp_path / "opt2.dat"), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code != 0 and "opt_RMmoist = 2" in res.output
