"""The plausibility guard (models/plausibility.py): practice categories and the validated-range check.

The ranges are passed explicitly (``ranges=``), so the tests do not depend on the calibration.
"""

from __future__ import annotations

import pytest

pytest.importorskip("models.calibration")

from models.plausibility import RateCheck, check_rate, practice_categories  # noqa: E402

RANGES = {"tillage": (-0.1, 0.3), "residue": (0.0, 0.5), "manure": (0.1, 1.2)}


@pytest.mark.parametrize(
    ("tier1_base", "tier1_proj", "base", "proj", "expected"),
    [
        # plough/rotary + removed -> no-till + mulch: both the Tier 1 tillage and input levels change
        (
            "full_till / low",
            "no_till / medium",
            "rotary + removed",
            "no_till + mulched",
            ("tillage", "residue"),
        ),
        # the same practice: nothing changes
        ("full_till / low", "full_till / low", "plough + removed", "plough + removed", ()),
        # rotary -> plough: the same Tier 1 level (full_till) but a different logged method
        ("full_till / low", "full_till / low", "rotary + removed", "plough + removed", ("tillage",)),
        # removed -> burned: both Tier 1 "low" input, different logged straw fate
        ("full_till / low", "full_till / low", "plough + removed", "plough + burned", ("residue",)),
        # straw retained, tillage unchanged: the input level changes only
        ("full_till / low", "full_till / medium", "plough + removed", "plough + retained", ("residue",)),
        # reduced tillage with the straw kept: tillage only
        (
            "full_till / medium",
            "reduced_till / medium",
            "plough + retained",
            "reduced + retained",
            ("tillage",),
        ),
        # spaces around the separators do not matter
        ("full_till/low", "no_till /low", "plough+removed", " no_till + removed ", ("tillage",)),
    ],
)
def test_practice_categories(tier1_base, tier1_proj, base, proj, expected):
    assert practice_categories(tier1_base, tier1_proj, base, proj) == expected


def test_rate_inside_a_single_category_range():
    c = check_rate(0.3, ["residue"], RANGES)
    assert c == RateCheck((0.0, 0.5), True, None)
    # the ends are inside (closed interval)
    assert check_rate(0.5, ["residue"], RANGES).within is True
    assert check_rate(0.0, ["residue"], RANGES).within is True


def test_rate_outside_a_single_category_range_warns():
    c = check_rate(0.55, ["residue"], RANGES)
    assert c.range == (0.0, 0.5)
    assert c.within is False
    assert "modelled rate 0.550 t C/ha/yr" in c.warning
    assert "0.000 to 0.500 t C/ha/yr for residue" in c.warning
    assert "interaction" not in c.warning  # one category: no joint-range caveat
    low = check_rate(-0.2, ["tillage"], RANGES)
    assert low.within is False and "-0.200" in low.warning and "-0.100 to 0.300" in low.warning


def test_two_categories_use_the_sum_of_their_ranges():
    # tillage (-0.1, 0.3) + residue (0.0, 0.5) = (-0.1, 0.8) by hand
    inside = check_rate(0.75, ["tillage", "residue"], RANGES)
    assert inside.range == pytest.approx((-0.1, 0.8), abs=1e-15)
    assert inside.within is True and inside.warning is None
    # 0.75 is outside either range alone
    assert check_rate(0.75, ["tillage"], RANGES).within is False
    assert check_rate(0.75, ["residue"], RANGES).within is False
    out = check_rate(0.9, ["tillage", "residue"], RANGES)
    assert out.within is False
    assert "-0.100 to 0.800 t C/ha/yr for tillage + residue" in out.warning
    assert "interaction is not validated" in out.warning
    # three categories: (-0.1 + 0.0 + 0.1, 0.3 + 0.5 + 1.2) = (0.0, 2.0)
    three = check_rate(1.9, ["tillage", "residue", "manure"], RANGES)
    assert three.range == pytest.approx((0.0, 2.0), abs=1e-15) and three.within is True


def test_category_not_in_the_table_has_no_range():
    assert check_rate(5.0, ["rotation"], RANGES) == RateCheck(None, None, None)
    assert check_rate(5.0, [], RANGES) == RateCheck(None, None, None)
    # a known and an unknown category: only the known one's range counts
    c = check_rate(0.2, ["tillage", "rotation"], RANGES)
    assert c.range == (-0.1, 0.3) and c.within is True
    c = check_rate(0.4, ["rotation", "tillage"], RANGES)
    assert c.within is False and "for tillage;" in c.warning and "interaction" not in c.warning
