"""Baseline and project scenarios (models/scenarios.py): the repeated look-back baseline, the
crediting points and the Monte Carlo in chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from models.errors import ModelInputError
from models.inputs import CarbonInputParameters, build_carbon_inputs
from models.scenarios import (
    COMMON_PRACTICE,
    DEFAULT_CREDITING_MONTH,
    baseline_activities,
    chain_management,
    changed_plots,
    climatology,
    crediting_points,
    monte_carlo_scenarios,
    run_scenarios,
    scenario_management,
)
from models.uncertainty import scenario_draws

LOOKBACK = [2021, 2022, 2023]
RUN = dict(start="2024-01", end="2025-12", project_start="2024-01-01", baseline_years=LOOKBACK)


def _weather(years=range(2018, 2027)) -> xr.Dataset:
    # Lishu 1991-2020 daily-mean temperature normals (shared/domain/lishu.md section 2.1) and the
    # placeholder precipitation / pan evaporation of china_sample_context.md section 4.
    tmp = [-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8]
    rain = [4, 6, 12, 25, 55, 90, 150, 130, 55, 28, 12, 6]
    pan = [7, 13, 40, 107, 160, 173, 167, 147, 107, 67, 27, 9]
    n = len(list(years))
    months = pd.date_range(f"{min(years)}-01-01", periods=12 * n, freq="MS")
    return xr.Dataset(
        {
            "tmp": ("month", np.tile(tmp, n).astype(float), {"units": "degC"}),
            "rain": ("month", np.tile(rain, n).astype(float), {"units": "mm"}),
            "evap": ("month", np.tile(pan, n).astype(float), {"units": "mm"}),
        },
        coords={"month": months},
    )


def _season(plot, year, tillage, residue, fraction=None, yield_t=10.0):
    """One maize season; ``tillage`` / ``residue`` None leaves that record out."""
    rows = []
    if tillage is not None:
        rows.append(dict(plot_id=plot, date=f"{year}-04-20", activity="tillage", method=tillage))
    rows += [
        dict(plot_id=plot, date=f"{year}-04-25", activity="sowing", crop="maize"),
        dict(plot_id=plot, date=f"{year}-09-30", activity="harvest", crop="maize", **{"yield": yield_t}),
    ]
    if residue is not None:
        rows.append(
            dict(
                plot_id=plot,
                date=f"{year}-10-05",
                activity="residue",
                method=residue,
                residue_fraction=fraction,
            )
        )
    return rows


def _frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["date"] = pd.to_datetime(df["date"])
    return df


def _activities() -> pd.DataFrame:
    """A: plough + straw removed in the look-back, no-till + mulch in the project (a change).
    B: plough + removed throughout. C: no-till + mulch throughout (already retained straw).
    D: no tillage or residue logs in the look-back (defaulted), no-till + mulch in the project."""
    rows = []
    for y in LOOKBACK:
        rows += _season("A", y, "plough", "removed") + _season("B", y, "plough", "removed")
        rows += _season("C", y, "no_till", "mulched", 1.0) + _season("D", y, None, None)
    for y in (2024, 2025):
        rows += _season("A", y, "no_till", "mulched", 1.0) + _season("B", y, "plough", "removed")
        rows += _season("C", y, "no_till", "mulched", 1.0) + _season("D", y, "no_till", "mulched", 1.0)
    return _frame(rows)


def _soil() -> xr.Dataset:
    return xr.Dataset(
        {"clay": ("plot", [30.0] * 4), "soc_initial": ("plot", [45.0, 38.0, 50.0, 40.0])},
        coords={"plot": ["A", "B", "C", "D"]},
    )


@pytest.fixture(scope="module")
def result():
    return run_scenarios(_activities(), _weather(), _soil(), **RUN)


# ---------------------------------------------------------------------------------------------
# baseline_activities
# ---------------------------------------------------------------------------------------------


def test_baseline_repeats_the_lookback_years_in_order():
    # Look-back 2021 plough + removed, 2022 no-till + mulched, 2023 rotary + retained (half);
    # project 2024-2027 with no-till + mulch. Year y uses baseline_years[(y - 2024) mod 3]:
    # 2024 -> 2021, 2025 -> 2022, 2026 -> 2023, 2027 -> 2021 again.
    rows = _season("E", 2021, "plough", "removed") + _season("E", 2022, "no_till", "mulched", 1.0)
    rows += _season("E", 2023, "rotary", "retained", 0.5)
    for y in (2024, 2025, 2026, 2027):
        rows += _season("E", y, "no_till", "mulched", 1.0, yield_t=8.0 + y - 2024)
    acts = _frame(rows)
    base, defaulted = baseline_activities(acts, "2024-01-01", LOOKBACK)
    assert defaulted == []
    proj = base[base["date"] >= "2024-01-01"]
    till = proj[proj["activity"] == "tillage"].set_index("date")["method"]
    res = proj[proj["activity"] == "residue"].set_index("date")
    expected_till = {
        "2024-04-20": "plough",
        "2025-04-20": "no_till",
        "2026-04-20": "rotary",
        "2027-04-20": "plough",
    }
    assert {str(d.date()): m for d, m in till.items()} == expected_till
    expected_res = {
        "2024-10-05": "removed",
        "2025-10-05": "mulched",
        "2026-10-05": "retained",
        "2027-10-05": "removed",
    }
    assert {str(d.date()): m for d, m in res["method"].items()} == expected_res
    np.testing.assert_array_equal(res["residue_fraction"].values, [np.nan, 1.0, 0.5, np.nan])
    # sowing, harvest and yields stay as logged; the look-back records are untouched
    harv = proj[proj["activity"] == "harvest"]
    np.testing.assert_array_equal(harv["yield"].values, [8.0, 9.0, 10.0, 11.0])
    pd.testing.assert_frame_equal(
        base[base["date"] < "2024-01-01"].reset_index(drop=True),
        acts[acts["date"] < "2024-01-01"].sort_values("date", kind="stable").reset_index(drop=True),
        check_like=True,
    )


def test_plot_without_lookback_logs_gets_the_common_practice():
    base, defaulted = baseline_activities(_activities(), "2024-01-01", LOOKBACK)
    assert defaulted == ["D"]
    assert COMMON_PRACTICE == {"tillage": "rotary", "residue": "removed"}
    d = base[(base["plot_id"] == "D") & (base["date"] >= "2024-01-01")]
    till = d[d["activity"] == "tillage"]
    res = d[d["activity"] == "residue"]
    # rotary tillage 4 days before each sowing (25 April -> 21 April), straw removed at harvest
    assert list(till["method"]) == ["rotary", "rotary"]
    assert [str(x.date()) for x in till["date"]] == ["2024-04-21", "2025-04-21"]
    assert list(res["method"]) == ["removed", "removed"]
    assert [str(x.date()) for x in res["date"]] == ["2024-09-30", "2025-09-30"]
    # the project's own no-till and mulch records of D are not in its baseline
    assert "no_till" not in set(d["method"].dropna()) and "mulched" not in set(d["method"].dropna())


def test_partial_lookback_logs_and_a_custom_common_practice():
    # F logged its tillage (no-till) in the look-back but never the straw: only the residue is
    # defaulted, here to a custom practice (burned), and the tillage comes from its own logs.
    rows = []
    for y in LOOKBACK:
        rows += _season("F", y, "no_till", None)
    rows += _season("F", 2024, "no_till", "mulched", 1.0)
    base, defaulted = baseline_activities(
        _frame(rows), "2024-01-01", LOOKBACK, common_practice={"tillage": "plough", "residue": "burned"}
    )
    assert defaulted == ["F"]
    p = base[base["date"] >= "2024-01-01"]
    assert list(p.loc[p["activity"] == "tillage", "method"]) == ["no_till"]
    assert str(p.loc[p["activity"] == "tillage", "date"].iloc[0].date()) == "2024-04-20"
    assert list(p.loc[p["activity"] == "residue", "method"]) == ["burned"]


def test_harvest_row_residue_fields_are_cleared():
    # a project harvest row carrying its own straw fate (mulched, fraction 1) must not leak the
    # project practice into the baseline: its residue fields are cleared there
    rows = []
    for y in LOOKBACK:
        rows += _season("G", y, "plough", "removed")
    rows += _season("G", 2024, "no_till", None)
    rows[-1].update(residue_fraction=1.0, method="mulched")
    acts = _frame(rows)
    base, defaulted = baseline_activities(acts, "2024-01-01", LOOKBACK)
    assert defaulted == []
    harv = base[(base["activity"] == "harvest") & (base["date"] >= "2024-01-01")]
    assert len(harv) == 1 and harv["residue_fraction"].isna().all() and harv["method"].isna().all()
    res = base[(base["activity"] == "residue") & (base["date"] >= "2024-01-01")]
    assert list(res["method"]) == ["removed"]
    # a look-back harvest row keeps its fields (only project rows are cleared)
    acts.loc[acts["date"] == "2021-09-30", ["method", "residue_fraction"]] = ["removed", 0.0]
    base2, _ = baseline_activities(acts, "2024-01-01", LOOKBACK)
    h21 = base2[base2["date"] == "2021-09-30"]
    assert list(h21["method"]) == ["removed"] and list(h21["residue_fraction"]) == [0.0]


def test_leap_day_moves_to_28_february():
    # look-back 2020 has its straw record on 29 February; project year 2021 (y0 = 2021) takes the
    # records of look-back 2020, moved by one year: 29 February -> 28 February 2021
    rows = [
        dict(plot_id="H", date="2020-02-29", activity="residue", method="removed"),
        dict(plot_id="H", date="2020-04-20", activity="tillage", method="plough"),
    ]
    rows += _season("H", 2021, "no_till", "mulched", 1.0)
    base, defaulted = baseline_activities(_frame(rows), "2021-01-01", [2020])
    assert defaulted == []
    p = base[base["date"] >= "2021-01-01"]
    assert [str(d.date()) for d in p.loc[p["activity"] == "residue", "date"]] == ["2021-02-28"]
    assert [str(d.date()) for d in p.loc[p["activity"] == "tillage", "date"]] == ["2021-04-20"]


def test_baseline_needs_lookback_years():
    with pytest.raises(ModelInputError, match="look-back years"):
        baseline_activities(_activities(), "2024-01-01", [])


# ---------------------------------------------------------------------------------------------
# run_scenarios
# ---------------------------------------------------------------------------------------------


def test_continuing_a_practice_gets_exactly_zero_credit(result):
    # B (plough + removed) and C (no-till + mulch, already retained in the look-back) continue their
    # look-back practice: baseline = project, the same model on the same inputs, so exactly 0.
    for plot in ("B", "C"):
        np.testing.assert_array_equal(result.vintages.sel(plot=plot).values, 0.0)
        np.testing.assert_array_equal(result.litter_points.sel(plot=plot).values, 0.0)
    np.testing.assert_array_equal(changed_plots(result.management).values, [True, False, False, True])


def test_switching_to_no_till_and_mulch_gets_a_positive_credit(result):
    # A: from plough + removed to no-till + mulch. 2024 (point: end of August, before the first
    # project harvest): only the tillage modifier differs (no-till, m = 1/1.03 in this cool temperate
    # dry climate, IPCC 2019 Table 5.5) -> slower decomposition, more SOC. 2025: also the 2024 straw
    # (10 t/ha maize) that moved from the surface into the soil. Both vintages positive.
    a = result.vintages.sel(plot="A")
    assert np.all(a.values > 0)
    assert float(result.delta_soc.sel(plot="A")) > 0
    # the straw is on the surface after the 2024 harvest: positive litter difference in 2025 only
    lit = result.litter_points.sel(plot="A")
    assert float(lit.sel(year=2024)) == 0.0 and float(lit.sel(year=2025)) > 0
    # D (defaulted baseline: rotary + removed) makes the same change against the common practice
    assert result.baseline_defaulted == ("D",)
    assert np.all(result.vintages.sel(plot="D").values > 0)
    assert result.delta_soc.attrs["units"] == "t C ha-1"
    assert result.vintages.dims == ("plot", "year")


def test_crediting_points_are_the_end_of_august_of_each_year(result):
    assert DEFAULT_CREDITING_MONTH == 8
    diff = result.project["SOC"] - result.baseline["SOC"]
    assert list(result.soil_points["year"].values) == [2024, 2025]
    for y in (2024, 2025):
        np.testing.assert_array_equal(
            result.soil_points.sel(year=y).values, diff.sel(month=f"{y}-08-01").values
        )
    # not September's value (the choice of month matters for plot A)
    assert float(result.soil_points.sel(plot="A", year=2025)) != float(diff.sel(plot="A", month="2025-09-01"))
    # vintages: the first point, then the yearly increments; their sum is the last point
    sp, v = result.soil_points, result.vintages
    np.testing.assert_array_equal(v.sel(year=2024).values, sp.sel(year=2024).values)
    np.testing.assert_allclose(
        v.sel(year=2025).values, (sp.sel(year=2025) - sp.sel(year=2024)).values, rtol=0, atol=1e-14
    )
    np.testing.assert_allclose(v.sum("year").values, sp.isel(year=-1).values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.delta_soc.values, sp.isel(year=-1).values, rtol=0, atol=1e-12)


def test_crediting_points_by_hand():
    # values 0..23 over Jan 2024 - Dec 2025: August is month index 7 and 19, December 11 and 23
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    v = xr.DataArray(np.arange(24.0), dims="month", coords={"month": months})
    pts = crediting_points(v)
    assert list(pts["year"].values) == [2024, 2025]
    np.testing.assert_array_equal(pts.values, [7.0, 19.0])
    np.testing.assert_array_equal(crediting_points(v, crediting_month=12).values, [11.0, 23.0])


def test_years_before_the_project_are_not_credited():
    # a run starting a year before the project: the 2023 point is dropped, the first vintage is 2024
    res = run_scenarios(
        _activities(),
        _weather(),
        _soil(),
        start="2023-01",
        end="2025-12",
        project_start="2024-01-01",
        baseline_years=LOOKBACK,
    )
    assert list(res.vintages["year"].values) == [2024, 2025]
    np.testing.assert_array_equal(res.vintages.sel(plot=["B", "C"]).values, 0.0)


def test_changed_plots_false_for_identical_management():
    acts = _activities()
    mg = scenario_management(
        acts,
        ["A", "B", "C", "D"],
        start="2024-01",
        end="2025-12",
        project_start="2024-01-01",
        baseline_years=LOOKBACK,
    )
    same = type(mg)(mg.project, mg.project, mg.spinup, ())
    assert not bool(changed_plots(same).any())
    np.testing.assert_array_equal(changed_plots(mg).values, [True, False, False, True])


def test_climatology_is_the_calendar_month_mean():
    w = _weather()
    w["tmp"][0] = -23.6  # January 2018 10 degC colder: the Jan mean over 9 years drops by 10/9
    clim = climatology(w)
    assert clim.sizes["month"] == 12
    assert float(clim["tmp"][0]) == pytest.approx(-13.6 - 10 / 9, abs=1e-12)
    assert clim["tmp"].attrs["units"] == "degC"


# ---------------------------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------------------------


def _mc(draws, chunk):
    acts, soil = _activities(), _soil()
    mg = scenario_management(
        acts,
        ["A", "B", "C", "D"],
        **{k: RUN[k] for k in ("start", "end", "project_start")},
        baseline_years=LOOKBACK,
    )
    return monte_carlo_scenarios(acts, _weather(), soil, draws=draws, management=mg, chunk_draws=chunk, **RUN)


def test_monte_carlo_in_chunks_equals_one_chunk():
    # every draw is an independent run, so splitting 7 draws into chunks of 3 (3 + 3 + 1) must give
    # the same numbers as one chunk of 7 (the draws include the shared temperature offset, whose
    # (month, draw) temperature array once met the tillage rate modifier in a scrambled order)
    draws = scenario_draws(_soil()["soc_initial"], 7, seed=11)
    v3, l3 = _mc(draws, 3)
    v7, l7 = _mc(draws, 7)
    assert v3.dims == ("draw", "plot", "year") and v3.sizes["draw"] == 7
    np.testing.assert_allclose(v3.values, v7.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(l3.values, l7.values, rtol=1e-12, atol=1e-12)
    # unchanged plots: exactly zero in every draw
    np.testing.assert_array_equal(v3.sel(plot=["B", "C"]).values, 0.0)


def test_project_and_look_back_months_cut_from_one_pass_over_the_logs():
    # scenario_management builds the inputs once over 2021-01..2025-12 and cuts the project's
    # (2024-01..2025-12) and the look-back's (2021-01..2023-12) months from it: each must be what
    # build_carbon_inputs gives over those months alone (a month's inputs do not depend on the
    # months around it), including roots of a season that straddles the cut (sown 2023, harvested 2024)
    acts = pd.concat(
        [
            _activities(),
            _frame(
                [
                    dict(plot_id="D", date="2023-11-01", activity="sowing", crop="wheat"),
                    {
                        "plot_id": "D",
                        "date": "2024-02-15",
                        "activity": "harvest",
                        "crop": "wheat",
                        "yield": 3.0,
                    },
                    dict(plot_id="D", date="2024-02-20", activity="residue", method="removed"),
                ]
            ),
        ],
        ignore_index=True,
    )
    plots = ["A", "B", "C", "D"]
    mg = scenario_management(
        acts, plots, start="2024-01", end="2025-12", project_start="2024-01-01", baseline_years=LOOKBACK
    )
    p = CarbonInputParameters(default_retained_fraction=0.0)
    for got, months in (
        (mg.project, pd.period_range("2024-01", "2025-12", freq="M")),
        (mg.spinup, pd.period_range("2021-01", "2023-12", freq="M")),
    ):
        xr.testing.assert_identical(
            got, chain_management(build_carbon_inputs(acts, months, params=p, plots=plots))
        )
    # the straddling season's roots fall on both sides of the cut: Nov-Dec 2023 in the look-back
    assert float(mg.spinup["c_inp"].sel(plot="D", month="2023-12").squeeze()) > 0
    assert float(mg.project["c_inp"].sel(plot="D", month="2024-01").squeeze()) > 0
