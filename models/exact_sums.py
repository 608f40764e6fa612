"""Sums over plots that do not depend on how the plots are grouped.

A project total is summed over plots inside each Monte Carlo draw. Run by plot chunk (on Dask
workers), the chunks' partial sums are added afterwards, and floating-point addition is not
associative: the total would change in its last bits with the chunk size. Each plot's value is
therefore rounded once to a fixed quantum (:data:`QUANTUM`, 2^-24 of the unit: 0.06 g for
t C or t CO2e) and summed as a 64-bit integer, which is exact and associative; the result is the
same for any chunking, and within 2^-25 x the number of plots of the float sum.
"""

from __future__ import annotations

import numpy as np

from models.errors import ModelInputError

__all__ = ["QUANTUM", "fixed", "fixed_sum", "unfixed"]

QUANTUM = 2.0**-24
"""Resolution of the exact sums [unit of the summed quantity]. Integer overflow is at
2^63 x QUANTUM = 5.5e11 units (t C or t CO2e), far above any project."""


def fixed(x: np.ndarray) -> np.ndarray:
    """``x`` in whole quanta (int64).

    Raises
    ------
    ModelInputError
        If a value is NaN or infinite (a float sum would carry it into the total; it must not
        vanish in an integer one).

    Examples
    --------
    >>> fixed(np.array([1.5, -0.25])).tolist()
    [25165824, -4194304]
    """
    a = np.asarray(x, dtype=float)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ModelInputError(
            f"{int(bad.sum())} of {a.size} value(s) to sum are NaN or infinite; a plot's result is "
            "missing (check the run log for the stage that produced it)"
        )
    return np.rint(a / QUANTUM).astype(np.int64)


def fixed_sum(x: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """The exact sum of ``x`` in quanta along ``axis`` (int64)."""
    return fixed(x).sum(axis=axis, dtype=np.int64)


def unfixed(n: np.ndarray | int) -> np.ndarray:
    """Quanta back to the unit (float64).

    Examples
    --------
    >>> a, b = np.array([0.1, 0.2, 0.3]), np.array([1e-3, 7.0])
    >>> float(unfixed(fixed_sum(a) + fixed_sum(b))) == float(unfixed(fixed_sum(np.r_[b, a])))
    True
    """
    return np.asarray(n, dtype=np.int64).astype(float) * QUANTUM
