"""Exact sums over plots: any grouping gives the same bits; a missing value is refused."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import ModelInputError
from models.exact_sums import QUANTUM, fixed, fixed_sum, unfixed


def test_any_chunking_gives_the_same_total_and_it_is_within_the_rounding_of_the_float_sum():
    x = np.random.default_rng(3).normal(0.5, 2.0, (1000, 20_000))  # draws x plots [t C]
    whole = fixed_sum(x, axis=1)
    for size in (1, 7, 333, 5000):
        parts = sum(fixed_sum(x[:, i : i + size], axis=1) for i in range(0, x.shape[1], size))
        assert (parts == whole).all()
    # float sums of the same chunks differ in their last bits; the exact total stays within
    # half a quantum per plot of the (more accurate) math.fsum
    import math

    ref = math.fsum(x[0])
    assert abs(float(unfixed(whole[0])) - ref) <= 0.5 * QUANTUM * x.shape[1]


def test_a_nan_is_refused_not_summed_as_zero():
    with pytest.raises(ModelInputError, match="1 of 3 value"):
        fixed(np.array([1.0, np.nan, 2.0]))
