"""The surface residue pool (models/surface.py) against hand calculations.

Notation of the module: each month S' = S exp(-k a / 12) (decay), T = f (S - S') + b (S' + I)
(flux into the soil), S_new = (1 - b)(S' + I) (input, then burial); respired on the surface
(1 - f)(S - S').
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.errors import ModelInputError
from models.surface import (
    BURIAL_FRACTION,
    BURIAL_FRACTION_RANGE,
    periodic_surface_residue,
    surface_residue,
)

# Lishu 1991-2020 daily-mean temperature normals (shared/domain/lishu.md section 2.1), turned into
# RothC's temperature modifier a = 47.91 / (1 + exp(106.06 / (T + 18.27))) (0 below -5 degC) by hand.
LISHU_TMP = [-13.6, -8.5, -0.1, 9.5, 17.0, 21.9, 24.1, 22.8, 17.1, 8.6, -1.9, -10.8]


def _a_by_hand(tmp):
    return np.array([0.0 if t < -5.0 else 47.91 / (1.0 + math.exp(106.06 / (t + 18.27))) for t in tmp])


def test_decay_with_a_of_one_by_hand():
    # 2 t C in month 0, k = 0.3 yr-1, a = 1, f = 0.4, no burial:
    # month 0: the empty pool decays (nothing), then +2 -> S0 = 2, flux 0
    # month 1: S1 = 2 exp(-0.3/12) = 2 exp(-0.025) = 2 x 0.9753099120 = 1.9506198241
    #          flux = 0.4 x (2 - 1.9506198241) = 0.0197520704
    # month 2: S2 = 2 exp(-0.05) = 1.9024588490
    pool, flux = surface_residue(np.array([2.0, 0.0, 0.0]), np.zeros(3), np.ones(3), 0.3, 0.4)
    np.testing.assert_allclose(pool, [2.0, 1.9506198240566652, 1.902458849001428], rtol=0, atol=1e-12)
    np.testing.assert_allclose(flux[:2], [0.0, 0.01975207037733391], rtol=0, atol=1e-12)
    # month 2's flux: 0.4 x (1.9506198241 - 1.9024588490) = 0.4 x 0.0481609751 = 0.0192643900
    assert flux[2] == pytest.approx(0.4 * (1.9506198240566652 - 1.902458849001428), abs=1e-12)


def test_decay_slowed_by_temperature_modifier_below_one():
    # a = 0.5 halves the monthly rate: S1 = 2 exp(-0.3 x 0.5 / 12) = 2 exp(-0.0125) = 1.9751556010;
    # a = 0 (below -5 degC) stops it: S stays 2 and nothing reaches the soil.
    pool, flux = surface_residue(np.array([2.0, 0.0]), np.zeros(2), np.array([1.0, 0.5]), 0.3, 0.4)
    assert pool[1] == pytest.approx(1.9751556009877629, abs=1e-12)
    assert flux[1] == pytest.approx(0.4 * (2.0 - 1.9751556009877629), abs=1e-12)
    pool0, flux0 = surface_residue(np.array([2.0, 0.0, 0.0]), np.zeros(3), np.zeros(3), 0.3, 0.4)
    np.testing.assert_array_equal(pool0, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(flux0, [0.0, 0.0, 0.0])


def test_fraction_to_soil_splits_the_loss():
    # the loss of month 1 is 2 (1 - exp(-0.025)) = 0.0493801759; f = 1 sends all of it to the soil,
    # f = 0 none (all respired on the surface); the pool itself does not depend on f.
    loss = 2.0 * (1.0 - math.exp(-0.025))
    for f, expected in ((1.0, loss), (0.0, 0.0), (0.25, 0.25 * loss)):
        pool, flux = surface_residue(np.array([2.0, 0.0]), np.zeros(2), np.ones(2), 0.3, f)
        assert flux[1] == pytest.approx(expected, abs=1e-14)
        assert pool[1] == pytest.approx(2.0 * math.exp(-0.025), abs=1e-14)


def test_plough_in_the_harvest_month_buries_the_fresh_straw():
    # Start with 1 t on the surface; month 0 brings 2 t and a plough pass (b = 0.95); k = 0.3,
    # a = 1, f = 0.4. Order decay -> input -> burial:
    #   decay:  S' = 1 exp(-0.025) = 0.9753099120, to soil 0.4 x (1 - 0.9753099120) = 0.0098760352
    #   input:  0.9753099120 + 2 = 2.9753099120
    #   burial: 0.95 x 2.9753099120 = 2.8265444164 buried, 0.05 x 2.9753099120 = 0.1487654956 left
    #   flux = 0.0098760352 + 2.8265444164 = 2.8364204516
    # (burial before the input would leave 0.05 x 0.9753 + 2 = 2.0488 on the surface)
    pool, flux = surface_residue(np.array([2.0]), np.array([0.95]), np.ones(1), 0.3, 0.4, initial=1.0)
    assert pool[0] == pytest.approx(0.14876549560141664, abs=1e-12)
    assert flux[0] == pytest.approx(2.8364204516155826, abs=1e-12)


def test_carbon_is_conserved_month_by_month():
    # input = pool change + flux to soil + respired on the surface, respired = (1 - f) x loss with
    # loss = S_prev (1 - exp(-k a / 12)) (the decay factor computed here by hand).
    rng = np.random.default_rng(7)
    n = 36
    inp = np.where(rng.random(n) < 0.3, rng.uniform(0.0, 3.0, n), 0.0)
    burial = np.where(rng.random(n) < 0.2, rng.choice(list(BURIAL_FRACTION.values()), n), 0.0)
    a = np.tile(_a_by_hand(LISHU_TMP), 3)
    k, f, s0 = 0.45, 0.3, 1.7
    pool, flux = surface_residue(inp, burial, a, k, f, initial=s0)
    prev = np.concatenate([[s0], pool[:-1]])
    loss = prev * (1.0 - np.exp(-k * a / 12.0))
    respired = (1.0 - f) * loss
    np.testing.assert_allclose(inp, (pool - prev) + flux + respired, rtol=0, atol=1e-12)
    # the whole run: total input = stock change + total to soil + total respired
    assert inp.sum() == pytest.approx(pool[-1] - s0 + flux.sum() + respired.sum(), abs=1e-11)


def test_cells_are_independent_and_shapes_kept():
    # a (plot, month) array gives each row its own run: row 1 is row 0 doubled (the pool is linear
    # in the input and the initial value), row 2 has its own decay rate and initial value.
    inp = np.array([[2.0, 0.0, 1.0], [4.0, 0.0, 2.0], [2.0, 0.0, 1.0]])
    pool, flux = surface_residue(
        inp, np.zeros(3), np.ones(3), np.array([0.3, 0.3, 0.6]), 0.5, initial=np.array([0.0, 0.0, 1.0])
    )
    assert pool.shape == flux.shape == (3, 3)
    np.testing.assert_allclose(pool[1], 2 * pool[0], rtol=1e-15)
    # row 2, month 0: 1 x exp(-0.6/12) + 2 = 0.9512294245 + 2
    assert pool[2, 0] == pytest.approx(math.exp(-0.05) + 2.0, abs=1e-12)


def test_periodic_state_equals_a_long_run_from_zero():
    # A year with Lishu temperatures, 3 t of straw in October and a rotary pass in April (b = 0.75),
    # repeated 80 times from an empty surface. The year's map is S_Dec -> q S_Dec + r with
    # q = 0.25 exp(-k sum(a)/12) < 0.25, so after 80 years the run is within 0.25^80 x S* (< 1e-40)
    # of the periodic state.
    a = _a_by_hand(LISHU_TMP)
    inp = np.zeros(12)
    inp[9] = 3.0
    burial = np.zeros(12)
    burial[3] = 0.75
    pool_p, flux_p = periodic_surface_residue(inp, burial, a, 0.3, 0.5)
    pool_r, flux_r = surface_residue(np.tile(inp, 80), np.tile(burial, 80), np.tile(a, 80), 0.3, 0.5)
    np.testing.assert_allclose(pool_p, pool_r[-12:], rtol=0, atol=1e-9)
    np.testing.assert_allclose(flux_p, flux_r[-12:], rtol=0, atol=1e-9)
    # Without burial, a = 1: q = exp(-0.3) = 0.7408, so 80 years leave 0.7408^80 x S* = 3.8e-11 x 5.9
    inp1 = np.zeros(12)
    inp1[0] = 2.0
    pool_p1, _ = periodic_surface_residue(inp1, np.zeros(12), np.ones(12), 0.3, 0.5)
    pool_r1, _ = surface_residue(np.tile(inp1, 80), np.zeros(960), np.ones(960), 0.3, 0.5)
    np.testing.assert_allclose(pool_p1, pool_r1[-12:], rtol=0, atol=1e-9)


def test_periodic_state_closed_form_by_hand():
    # 2 t in October, a plough pass (b = 0.95) in April, a = 1, k = 0.3, f = 1.
    # From a December stock S: Jan-Apr decay 4 months and April buries 95 %, May-Dec decay 8 more:
    #   q = 0.05 exp(-0.3) = 0.0370409110;
    # the October input decays November and December: r = 2 exp(-0.3 x 2/12) = 2 exp(-0.05) = 1.9024588490
    # S*(Dec) = r / (1 - q) = 1.9024588490 / 0.9629590890 = 1.9756382912
    # S*(Oct) = S*(Dec) x exp(-0.25) x 0.05 + 2 = 2.0769314324 (10 months of decay, the burial, the input)
    inp = np.zeros(12)
    inp[9] = 2.0
    burial = np.zeros(12)
    burial[3] = 0.95
    pool, flux = periodic_surface_residue(inp, burial, np.ones(12), 0.3, 1.0)
    assert pool[-1] == pytest.approx(1.9756382911805814, abs=1e-12)
    assert pool[9] == pytest.approx(2.0769314324118646, abs=1e-12)
    # with f = 1 nothing is respired, so over the periodic year all of the input reaches the soil
    assert flux.sum() == pytest.approx(2.0, abs=1e-12)


def test_periodic_docstring_case_no_burial():
    # 2 t in January, a = 1, no burial, k = 0.3: q = exp(-0.3) = 0.7408182207,
    # r = 2 exp(-0.3 x 11/12) = 2 exp(-0.275) = 1.5191461; S* = 1.5191461 / 0.2591817793 = 5.8613
    # and with f = 0.5 half the yearly input (1.0 t) reaches the soil.
    inp = np.zeros(12)
    inp[0] = 2.0
    pool, flux = periodic_surface_residue(inp, np.zeros(12), np.ones(12), 0.3, 0.5)
    expected = 2.0 * math.exp(-0.275) / (1.0 - math.exp(-0.3))
    assert pool[-1] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(5.8613, abs=5e-5)
    assert flux.sum() == pytest.approx(1.0, abs=1e-12)


def test_bad_inputs_name_the_problem():
    z = np.zeros(12)
    with pytest.raises(ModelInputError, match="incorporation must lie in"):
        surface_residue(z, np.full(12, 1.2), np.ones(12), 0.3, 0.5)
    with pytest.raises(ModelInputError, match="incorporation"):
        surface_residue(z, np.full(12, -0.1), np.ones(12), 0.3, 0.5)
    with pytest.raises(ModelInputError, match="surface_inp must be finite and >= 0"):
        surface_residue(np.full(12, -1.0), z, np.ones(12), 0.3, 0.5)
    with pytest.raises(ModelInputError, match="surface_inp"):
        surface_residue(np.full(12, np.nan), z, np.ones(12), 0.3, 0.5)
    with pytest.raises(ModelInputError, match="surface decay must be >= 0"):
        surface_residue(z, z, np.ones(12), -0.1, 0.5)
    with pytest.raises(ModelInputError, match="fraction to soil"):
        surface_residue(z, z, np.ones(12), 0.3, 1.5)
    one = np.zeros(12)
    one[0] = 1.0
    # k = 0 and no tillage: the straw never leaves the surface, no periodic state
    with pytest.raises(ModelInputError, match="never leaves the surface"):
        periodic_surface_residue(one, z, np.ones(12), 0.0, 0.5)
    # the same when every month is frozen (a = 0)
    with pytest.raises(ModelInputError, match="positive surface decay"):
        periodic_surface_residue(one, z, z, 0.3, 0.5)
    with pytest.raises(ModelInputError, match="12 months"):
        periodic_surface_residue(np.zeros(11), np.zeros(11), np.ones(11), 0.3, 0.5)


def test_burial_fractions_within_their_ranges_and_the_implement_table():
    assert set(BURIAL_FRACTION) == set(BURIAL_FRACTION_RANGE)
    for method, value in BURIAL_FRACTION.items():
        lo, hi = BURIAL_FRACTION_RANGE[method]
        assert 0.0 <= lo <= value <= hi <= 1.0, method
    # Purdue AY-280 / NRCS residue-remaining table (module reference [4]): residue left after one
    # pass: mouldboard plough ~5 %, rotary tiller ~25 %, chisel ~50 %, sweeps ~90 %; buried = 1 - left
    assert BURIAL_FRACTION["plough"] == pytest.approx(1 - 0.05)
    assert BURIAL_FRACTION["rotary"] == pytest.approx(1 - 0.25)
    assert BURIAL_FRACTION["reduced"] == pytest.approx(1 - 0.50)
    assert BURIAL_FRACTION["subsoiling"] == pytest.approx(1 - 0.90)
    # no-till planter leaves 85-95 %: 5-15 % buried
    assert 0.05 <= BURIAL_FRACTION["no_till"] <= 0.15
