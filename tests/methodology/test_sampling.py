"""The sampling design (strata, sample size, points) and the equivalent-soil-mass comparison."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import affinity

from methodology.sampling import (
    SamplingError,
    esm_soc_stock,
    fixed_depth_soc_stock,
    remeasurement_change,
    sample_points,
    sample_size,
    soil_mass,
    stratify,
)

Z90 = 1.6448536269514722  # standard normal 95th percentile (two-sided 90 %)


# --- sample size ---------------------------------------------------------------------------------


def test_one_stratum_by_hand():
    # N = 200 units, S = 8 t C/ha, mean 45 t C/ha, E = 10 % x 45 = 4.5 t C/ha, z = 1.6449:
    # n0 = (1.6449 x 8 / 4.5)^2 = 2.9242^2 = 8.551; with the FPC n = n0 / (1 + n0/N)
    # = 8.551 / (1 + 8.551/200) = 8.551 / 1.04276 = 8.200 -> 9 samples
    r = sample_size([200], [8.0], 45.0, precision=0.10, confidence=0.90)
    assert r.z == pytest.approx(1.6449, abs=1e-4)
    assert r.E == pytest.approx(4.5)
    n0 = (Z90 * 8 / 4.5) ** 2
    assert n0 == pytest.approx(8.551, abs=1e-3)
    assert r.n == pytest.approx(n0 / (1 + n0 / 200), rel=1e-12)
    assert r.n == pytest.approx(8.200, abs=1e-3)
    assert r.table["n_h"].tolist() == [9]
    assert r.n_total == 9


def test_two_strata_neyman_by_hand():
    # N_h = 600, 400 (N = 1000), W_h = 0.6, 0.4; S_h = 10, 5 t C/ha; mean 50, E = 5, V = (5/1.6449)^2 = 9.2403
    # sum W_h S_h = 6 + 2 = 8; sum W_h S_h^2 = 60 + 10 = 70
    # n = 8^2 / (9.2403 + 70/1000) = 64 / 9.3103 = 6.874
    # Neyman: n_h = n N_h S_h / sum N_h S_h = 6.874 x 6000/8000 = 5.156 -> 6, 6.874 x 2000/8000 = 1.719 -> 2
    r = sample_size(pd.Series([600, 400], index=["a", "b"]), [10.0, 5.0], 50.0)
    assert r.V == pytest.approx(9.2403, abs=1e-4)
    assert r.n == pytest.approx(6.874, abs=1e-3)
    assert r.table["n_h_exact"].round(3).tolist() == [5.156, 1.719]
    assert r.table["n_h"].to_dict() == {"a": 6, "b": 2}
    assert r.n_total == 8
    # proportional: n0 = 70 / 9.2403 = 7.576, n = 7.576 / (1 + 7.576/1000) = 7.519 -> 4.511, 3.007 -> 5, 4
    p = sample_size(pd.Series([600, 400], index=["a", "b"]), [10.0, 5.0], 50.0, allocation="proportional")
    assert p.n == pytest.approx(7.519, abs=1e-3)
    assert p.table["n_h"].to_dict() == {"a": 5, "b": 4}
    assert r.n < p.n  # Neyman needs fewer samples when the S_h differ


def test_minimum_per_stratum_and_census_cap():
    r = sample_size(pd.Series([500, 3], index=["big", "tiny"]), [0.0, 0.0], 40.0)
    assert r.n == 0.0
    # at least 2 per stratum, at most the stratum's own units
    assert r.table["n_h"].to_dict() == {"big": 2, "tiny": 2}
    r = sample_size(pd.Series([1, 1000], index=["one", "big"]), [9.0, 9.0], 40.0)
    assert r.table.loc["one", "n_h"] == 1


def test_bad_inputs_are_refused():
    with pytest.raises(SamplingError, match="mean must be positive"):
        sample_size([10], [1.0], 0.0)
    with pytest.raises(SamplingError, match="N_h"):
        sample_size([0], [1.0], 10.0)
    with pytest.raises(SamplingError, match="allocation"):
        sample_size([10], [1.0], 10.0, allocation="optimal")


# --- strata ----------------------------------------------------------------------------------------


def _utm_plots(specs: dict[str, shapely.Geometry]) -> gpd.GeoDataFrame:
    """Plots given in UTM 51N (near Lishu, Jilin), returned in EPSG:4326 as the store gives them."""
    g = gpd.GeoDataFrame({"plot_id": list(specs)}, geometry=list(specs.values()), crs="EPSG:32651")
    g["area_ha"] = g.area / 1e4
    return g.to_crs("EPSG:4326")


X0, Y0 = 613_000.0, 4_806_000.0


def test_stratify_practice_by_covariate_quantiles():
    plots = _utm_plots(
        {f"p{i}": shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(6)}
    )
    practice = pd.Series(
        ["no_till + mulched"] * 4 + ["rotary + removed"] * 2, index=[f"p{i}" for i in range(6)]
    )
    # measured SOC 40, 44, 48, 52, 46 and one plot without a sample; the median of the five is 46:
    # below it "low", from it on "high"
    soc = pd.Series([40.0, 44.0, 48.0, 52.0, 46.0, np.nan], index=practice.index)
    labels, table = stratify(plots, practice, soc)
    assert labels.to_dict() == {
        "p0": "no_till + mulched / SOC low",
        "p1": "no_till + mulched / SOC low",
        "p2": "no_till + mulched / SOC high",
        "p3": "no_till + mulched / SOC high",
        "p4": "rotary + removed / SOC high",
        "p5": "rotary + removed / SOC unmeasured",
    }
    low = table.loc["no_till + mulched / SOC low"]
    assert low["plots"] == 2
    assert low["area_ha"] == pytest.approx(2.0)
    assert low["covariate_mean"] == pytest.approx(42.0)
    assert low["covariate_sd"] == pytest.approx(np.std([40, 44], ddof=1))
    assert np.isnan(low["class_low"]) and low["class_high"] == pytest.approx(46.0)
    assert table.loc["rotary + removed / SOC unmeasured", "covariate_n"] == 0
    # a practice is split only where each class has >= 2 measured plots: rotary (1 high, 0 low) is not
    labels, table = stratify(plots, practice, soc, min_plots_per_class=2)
    assert labels["p1"] == "no_till + mulched / SOC low"
    assert labels[["p4", "p5"]].tolist() == ["rotary + removed / SOC all"] * 2
    assert table.loc["rotary + removed / SOC all", "covariate_n"] == 1


# --- points ------------------------------------------------------------------------------------------


def _point_plots() -> gpd.GeoDataFrame:
    l_shape = shapely.Polygon(
        [(0, 0), (120, 0), (120, 40), (40, 40), (40, 120), (0, 120)]
    )  # a reflex corner at (40, 40)
    return _utm_plots(
        {
            "A": shapely.box(X0, Y0, X0 + 100, Y0 + 50),
            # 200 x 100 with a 20 x 20 hole in the middle
            "B": shapely.Polygon(
                shapely.box(X0 + 300, Y0, X0 + 500, Y0 + 100).exterior.coords,
                [shapely.box(X0 + 390, Y0 + 40, X0 + 410, Y0 + 60).exterior.coords],
            ),
            "C": shapely.box(X0, Y0 + 200, X0 + 80, Y0 + 300),
            "D": shapely.box(X0 + 200, Y0 + 200, X0 + 215, Y0 + 215),  # 15 m wide: nothing 10 m from an edge
            "E": affinity.translate(l_shape, X0 + 600, Y0 + 200),
            "F": shapely.box(X0 + 800, Y0, X0 + 812, Y0 + 300),  # 12 m wide: the only plot of s3
        }
    )


STRATA = pd.Series({"A": "s1", "B": "s1", "C": "s2", "D": "s2", "E": "s2", "F": "s3"})


def test_points_inside_their_plots_away_from_the_edge():
    plots = _point_plots()
    pts = sample_points(plots, {"s1": 40, "s2": 30, "s3": 2}, STRATA, buffer_m=10, seed=7)
    assert list(pts.columns) == ["point_id", "plot_id", "stratum", "lon", "lat", "geometry"]
    assert pts.crs.to_epsg() == 4326
    assert pts.groupby("stratum").size().to_dict() == {"s1": 40, "s2": 30}
    assert (pts["stratum"] == STRATA.reindex(pts["plot_id"]).to_numpy()).all()
    assert "D" not in set(pts["plot_id"]) and "F" not in set(pts["plot_id"])
    # every sampleable plot gets some (near-certain at 30-40 points per stratum)
    assert {"A", "B", "C", "E"} <= set(pts["plot_id"])
    # check in UTM: inside the plot (not in B's hole), at least 10 m from the outer ring and the holes
    utm = plots.estimate_utm_crs()
    plots_utm = plots.set_index("plot_id").geometry.to_crs(utm)
    xy = gpd.GeoSeries(gpd.points_from_xy(pts["lon"], pts["lat"]), crs="EPSG:4326").to_crs(utm)
    geoms = plots_utm.reindex(pts["plot_id"]).to_numpy()
    assert shapely.within(xy.to_numpy(), geoms).all()
    dist = shapely.distance(xy.to_numpy(), shapely.boundary(geoms))
    assert dist.min() >= 10 - 1e-3
    # skipped with reasons: the two narrow plots, and stratum s3 as a whole
    reasons = {(s["plot_id"], s["stratum"]): s["reason"] for s in pts.attrs["skipped"]}
    assert "10 m" in reasons[("D", "s2")] and "edge" in reasons[("D", "s2")]
    assert ("F", "s3") in reasons
    assert "2 point(s) not drawn" in reasons[(None, "s3")]


def test_points_are_reproducible_from_the_seed():
    plots = _point_plots()
    a = sample_points(plots, {"s1": 10, "s2": 8}, STRATA, buffer_m=10, seed=3)
    b = sample_points(plots, {"s1": 10, "s2": 8}, STRATA, buffer_m=10, seed=3)
    c = sample_points(plots, {"s1": 10, "s2": 8}, STRATA, buffer_m=10, seed=4)
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
    )
    assert not np.allclose(a["lon"], c["lon"])


def test_points_proportional_to_sampleable_area():
    # A (100 x 50) shrinks to 80 x 30 = 2400 m2; C (80 x 100) to 60 x 80 = 4800 m2: C twice as likely
    plots = _point_plots()
    strata = pd.Series({"A": "s", "B": "x", "C": "s", "D": "x", "E": "x", "F": "x"})
    pts = sample_points(plots, {"s": 3000}, strata, buffer_m=10, seed=1)
    share_c = (pts["plot_id"] == "C").mean()
    assert share_c == pytest.approx(2 / 3, abs=0.03)  # sd of the share ~ 0.009


# --- equivalent soil mass ----------------------------------------------------------------------------

# Baseline profile (layer: BD [g/cm3], SOC [g/kg]; mass = BD x thickness x 100 [Mg/ha], C = mass x SOC / 1000):
#   0-20 cm: 1.2, 20 -> 2400 Mg/ha, 48.0 t C/ha
#  20-30 cm: 1.3, 12 -> 1300 Mg/ha, 15.6 t C/ha
#  30-40 cm: 1.4,  8 -> 1400 Mg/ha, 11.2 t C/ha
# 0-30 cm: 3700 Mg/ha (the reference mass), 63.6 t C/ha.
BASELINE = pd.DataFrame(
    {
        "top": [0, 20, 30],
        "bottom": [20, 30, 40],
        "bulk_density": [1.2, 1.3, 1.4],
        "soc_g_kg": [20.0, 12.0, 8.0],
    }
)
# No-till compacts the top layer to 16 cm at BD 1.5 (2400 Mg/ha, the same 48.0 t C/ha: no SOC gained); the layers
# below move up 4 cm unchanged:
#   0-16 cm: 1.5, 20 -> 2400 Mg/ha, 48.0 t C/ha
#  16-26 cm: 1.3, 12 -> 1300 Mg/ha, 15.6 t C/ha
#  26-36 cm: 1.4,  8 -> 1400 Mg/ha, 11.2 t C/ha
COMPACTED = pd.DataFrame(
    {
        "top": [0, 16, 26],
        "bottom": [16, 26, 36],
        "bulk_density": [1.5, 1.3, 1.4],
        "soc_g_kg": [20.0, 12.0, 8.0],
    }
)


def test_compaction_fakes_a_gain_at_fixed_depth_but_not_on_esm():
    # fixed depth 0-30 cm of the compacted profile: 48.0 + 15.6 + 4 cm x 1.4 x 8 x 0.1 (= 4.48) = 68.08 t C/ha,
    # a "gain" of 68.08 - 63.6 = +4.48 t C/ha that is only 4 cm of subsoil pulled into the 30 cm
    # ESM: the compacted profile holds the reference 3700 Mg/ha at 26 cm, with 48.0 + 15.6 = 63.6 t C/ha -> 0
    assert soil_mass(BASELINE, 30) == pytest.approx(3700.0)
    assert fixed_depth_soc_stock(BASELINE, 30) == pytest.approx(63.6)
    assert esm_soc_stock(COMPACTED, BASELINE, 30) == pytest.approx(63.6)
    t = remeasurement_change(BASELINE, COMPACTED)
    assert t.loc["fixed_depth", "remeasured_t_c_ha"] == pytest.approx(68.08)
    assert t.loc["fixed_depth", "change_t_c_ha"] == pytest.approx(4.48)
    assert t.loc["fixed_depth", "remeasured_mass_mg_ha"] == pytest.approx(2400 + 1300 + 560)
    assert t.loc["equivalent_soil_mass", "change_t_c_ha"] == pytest.approx(0.0, abs=1e-9)
    assert t.loc["equivalent_soil_mass", "remeasured_depth_cm"] == pytest.approx(26.0)
    assert t.loc["equivalent_soil_mass", "remeasured_mass_mg_ha"] == pytest.approx(3700.0)


def test_esm_on_fixed_increments_is_close_not_exact():
    # The compacted soil sampled at fixed 0-20 / 20-30 / 30-36 cm increments mixes soil of different SOC:
    #   0-20: 0-16 (2400 Mg, 48.0 t C) + 16-20 (4 cm x 1.3 x 100 = 520 Mg, 6.24 t C) -> 2920 Mg, 54.24 t C
    #  20-30: 20-26 (780 Mg, 9.36 t C) + 26-30 (560 Mg, 4.48 t C)                    -> 1340 Mg, 13.84 t C
    #  30-36: 840 Mg, 6.72 t C
    # ESM at 3700 Mg: 54.24 + (3700 - 2920) / 1340 x 13.84 = 54.24 + 8.056 = 62.296 t C/ha -> change -1.30
    # (linear interpolation inside the mixed 20-30 layer), against +4.48 at fixed depth
    mass = np.array([2920.0, 1340.0, 840.0])
    carbon = np.array([54.24, 13.84, 6.72])
    thick = np.array([20.0, 10.0, 6.0])
    sampled = pd.DataFrame(
        {
            "top": [0, 20, 30],
            "bottom": [20, 30, 36],
            "bulk_density": mass / thick / 100,
            "soc_g_kg": carbon / mass * 1000,
        }
    )
    t = remeasurement_change(BASELINE, sampled)
    assert t.loc["fixed_depth", "change_t_c_ha"] == pytest.approx(4.48)
    assert t.loc["equivalent_soil_mass", "remeasured_t_c_ha"] == pytest.approx(62.296, abs=1e-3)
    assert t.loc["equivalent_soil_mass", "change_t_c_ha"] == pytest.approx(-1.304, abs=1e-3)


def test_esm_needs_enough_soil_and_contiguous_layers():
    loose = BASELINE.assign(bulk_density=[1.0, 1.0, 1.0]).iloc[:2]  # 0-30 cm holds 3000 < 3700 Mg/ha
    with pytest.raises(SamplingError, match="sample it deeper"):
        esm_soc_stock(loose, BASELINE)
    gap = BASELINE.assign(top=[0, 22, 30])
    with pytest.raises(SamplingError, match="without gap"):
        remeasurement_change(gap, COMPACTED)
