"""Surface residue: crop residue left on the soil surface, a carbon pool outside soil organic carbon.

RothC-26.3 has no surface litter: every plant input enters the soil pools DPM and RPM at once
(Coleman & Jenkinson [1]_ section 2.4). Straw left as mulch on a no-till field is not soil
organic carbon (VM0042 v2.2 [2]_ excludes litter from the SOC pool), and it decomposes more slowly
than straw mixed into the soil. This module keeps it in its own pool until it is either
decomposed on the surface or moved into the soil:

* residue C left on the field at harvest enters the surface pool ``S`` (``surface_inp``);
* each month ``S`` loses ``S (1 - exp(-k_S a t))`` with ``k_S`` the surface decay rate [yr-1],
  ``a`` RothC's temperature rate modifier ([1]_ eq. 1) and ``t = 1/12`` yr; of what it loses a
  fraction ``f_soil`` enters the soil as fresh plant material (fragmentation, soil fauna, leaching),
  the rest is respired on the surface;
* a tillage pass buries the fraction ``incorporation`` of what is on the surface that month, which
  enters the soil as plant material (:data:`BURIAL_FRACTION` per implement);
* the soil receives ``c_inp_to_soil = f_soil x loss + buried`` per month, split into DPM and RPM by
  the crop's DPM/RPM ratio like any plant input.

The surface pool depends only on the weather and the management, not on the soil pools, so it is
computed before RothC runs and RothC itself is unchanged (with no surface residue the model is
exactly RothC-26.3). Within a month the order is decay, then the month's surface input, then
burial (a plough pass after harvest in the same month buries the fresh straw).

Parameters and their ranges: :class:`models.scenarios.SoilCarbonParameters` (``surface_decay``,
``surface_to_soil``), calibrated on long-term experiments (``mrv validate``).

References
----------
.. [1] K. Coleman and D. S. Jenkinson, "RothC - A model for the turnover of carbon in soil. Model
   description and users guide (updated June 2014)", Rothamsted Research, 2014.
.. [2] Verra, "VM0042 Methodology for Improved Agricultural Land Management, v2.2", 2025: the SOC
   pool excludes litter (../shared/domain/international_methodologies.md, project boundary).
.. [3] W. J. Parton, D. S. Schimel, C. V. Cole and D. S. Ojima, "Analysis of factors controlling soil
   organic matter levels in Great Plains grasslands", Soil Sci. Soc. Am. J. 51:1173-1179, 1987,
   doi:10.2136/sssaj1987.03615995005100050015x (the Century model's surface and soil litter pools;
   surface structural litter decays at 3.9 yr-1 against 4.9 yr-1 in the soil, i.e. ~0.8 times as fast,
   and 45 % of what decomposes is respired on the surface).
.. [4] Purdue University Cooperative Extension Service, "Managing crop residue with farm machinery",
   Agronomy Guide AY-280; and the same implement table in USDA-NRCS conservation tillage guides:
   corn residue remaining after one pass of a mouldboard plough ~5 %, a rotary tiller to 15 cm ~25 %,
   a chisel plough with twisted points ~50 %, blades or sweeps (subsurface tools) ~90 %, a no-till
   planter 85-95 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numba
import numpy as np

from models.errors import ModelInputError
from models.rothc.kernels import _exp

__all__ = ["BURIAL_FRACTION", "BURIAL_FRACTION_RANGE", "periodic_surface_residue", "surface_residue"]

BURIAL_FRACTION: Mapping[str, float] = MappingProxyType(
    {
        "plough": 0.95,  # mouldboard plough: ~5 % of corn residue left on the surface [4]_
        "rotary": 0.75,  # rotary tiller to ~15 cm: ~25 % left [4]_
        "reduced": 0.50,  # chisel / disk (reduced tillage): ~50 % left [4]_
        "subsoiling": 0.10,  # subsurface shanks, blades or sweeps: ~90 % left [4]_
        "no_till": 0.05,  # the no-till planter's pass: 85-95 % left [4]_
    }
)
"""Fraction of the surface residue buried by one pass of each canonical tillage method [1]."""

BURIAL_FRACTION_RANGE: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "plough": (0.90, 1.00),
        "rotary": (0.50, 0.80),
        "reduced": (0.30, 0.70),
        "subsoiling": (0.05, 0.20),
        "no_till": (0.05, 0.15),
    }
)
"""Ranges of :data:`BURIAL_FRACTION` from the same tables [4]_ (residue, speed and depth vary)."""

TSTEP_YR = 1.0 / 12.0
"""Monthly time step [yr] (RothC's ``tstep``)."""


@numba.njit(cache=True, error_model="numpy", inline="always")
def _surface_step(s, inp, burial, decay, f):  # pragma: no cover - compiled
    """One month of the surface pool (:func:`surface_residue` notes): ``decay`` = exp(-k_S a t) of
    the month, then the month's input, then burial. Returns the pool at the end of the month and
    the C that entered the soil [t C ha-1]. Branch-free, so loops over cells calling it vectorise."""
    remaining = s * decay
    transfer = f * (s - remaining)
    s = remaining + inp
    buried = burial * s
    return s - buried, transfer + buried


@numba.njit(cache=True, error_model="numpy", parallel=True)
def _surface_kernel(inp, burial, a, k, f, s0, pool, to_soil):  # pragma: no cover - compiled
    """Month loop of the surface pool for every cell (rows of the 2-D arrays); the decay factor
    with ``_exp`` (:mod:`models.rothc.kernels`), as the compiled Monte Carlo computes it."""
    ncell, nmonth = inp.shape
    for i in numba.prange(ncell):
        s = s0[i]
        kk = k[i] * TSTEP_YR
        ff = f[i]
        for m in range(nmonth):
            s, flux = _surface_step(s, inp[i, m], burial[i, m], _exp(-kk * a[i, m]), ff)
            pool[i, m] = s
            to_soil[i, m] = flux


def surface_residue(
    surface_inp: np.ndarray,
    incorporation: np.ndarray,
    a: np.ndarray,
    decay: np.ndarray | float,
    to_soil: np.ndarray | float,
    initial: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly surface residue pool and its carbon flux into the soil.

    Parameters
    ----------
    surface_inp : numpy.ndarray, shape (..., month)
        Residue C left on the surface each month [t C ha-1 month-1].
    incorporation : numpy.ndarray, shape (..., month)
        Fraction of the surface pool buried by tillage in each month [1] (0 without tillage).
    a : numpy.ndarray, shape (..., month)
        RothC temperature rate modifier of each month [1] (:func:`models.rothc.rate_modifier_temperature`).
    decay : float or numpy.ndarray, shape (...)
        Surface decay rate constant ``k_S`` [yr-1].
    to_soil : float or numpy.ndarray, shape (...)
        Fraction of the decayed surface C entering the soil as plant material [1].
    initial : float or numpy.ndarray, shape (...)
        Surface pool before the first month [t C ha-1].

    Returns
    -------
    pool : numpy.ndarray, shape (..., month)
        Surface residue C at the end of each month [t C ha-1].
    to_soil_flux : numpy.ndarray, shape (..., month)
        C entering the soil from the surface each month [t C ha-1 month-1] (a plant input of RothC).

    Notes
    -----
    S_m' = S_{m-1} exp(-k_S a_m / 12);  T_m = f_soil (S_{m-1} - S_m') + b_m (S_m' + I_m);
    S_m = (1 - b_m)(S_m' + I_m), with I the surface input and b the burial fraction
    (module docstring).

    Examples
    --------
    Two tonnes of straw C in the first month, a = 1, and a plough pass in the twelfth: after ten
    more months 2 exp(-0.3 x 10/12) = 1.5576 t remain on the surface and 0.4 x (2 - 1.5576) =
    0.177 t went to the soil; the plough buries 95 % of 2 exp(-0.3 x 11/12) = 1.5191 t, leaving 0.0760 t.

    >>> inp = np.zeros(12); inp[0] = 2.0
    >>> burial = np.zeros(12); burial[11] = 0.95
    >>> pool, flux = surface_residue(inp, burial, np.ones(12), 0.3, 0.4)
    >>> round(float(pool[10]), 4), round(float(flux[1:11].sum()), 4), round(float(pool[11]), 4)
    (1.5576, 0.177, 0.076)
    """
    inp = np.asarray(surface_inp, dtype=np.float64)
    lead = inp.shape[:-1]
    n_month = inp.shape[-1]
    shape2 = (int(np.prod(lead, dtype=np.int64)), n_month)
    b = np.broadcast_to(np.asarray(incorporation, dtype=np.float64), inp.shape)
    aa = np.broadcast_to(np.asarray(a, dtype=np.float64), inp.shape)
    if np.any((b < 0) | (b > 1)) or not np.all(np.isfinite(b)):
        raise ModelInputError("incorporation must lie in [0, 1] (the fraction of the surface residue buried)")
    if np.any(inp < 0) or not np.all(np.isfinite(inp)):
        raise ModelInputError("surface_inp must be finite and >= 0 [t C ha-1 month-1]")
    k = np.broadcast_to(np.asarray(decay, dtype=np.float64), lead).reshape(-1)
    f = np.broadcast_to(np.asarray(to_soil, dtype=np.float64), lead).reshape(-1)
    s0 = np.broadcast_to(np.asarray(initial, dtype=np.float64), lead).reshape(-1)
    if np.any(k < 0) or np.any((f < 0) | (f > 1)):
        raise ModelInputError("surface decay must be >= 0 yr-1 and the fraction to soil within [0, 1]")
    pool = np.empty(shape2)
    flux = np.empty(shape2)
    _surface_kernel(
        np.ascontiguousarray(inp.reshape(shape2)),
        np.ascontiguousarray(b.reshape(shape2)),
        np.ascontiguousarray(aa.reshape(shape2)),
        np.ascontiguousarray(k),
        np.ascontiguousarray(f),
        np.ascontiguousarray(s0),
        pool,
        flux,
    )
    return pool.reshape(inp.shape), flux.reshape(inp.shape)


def periodic_surface_residue(
    surface_inp: np.ndarray,
    incorporation: np.ndarray,
    a: np.ndarray,
    decay: np.ndarray | float,
    to_soil: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """The surface pool in its periodic steady state under one year repeated (the spin-up).

    The year's map of the pool is affine, ``S_Dec = q S_Dec,prev + r`` with ``q`` the fraction of
    a December stock left after a year without input and ``r`` the December stock of a year
    started empty (:func:`surface_residue` is linear in its initial value and inputs), so the
    periodic December stock is ``S* = r / (1 - q)``; the year is then run from ``S*``.

    Parameters are those of :func:`surface_residue` over 12 months (``(..., 12)``).

    Returns
    -------
    pool, to_soil_flux : numpy.ndarray, shape (..., 12)
        As :func:`surface_residue`, for the periodic year.

    Examples
    --------
    Two tonnes each January, a = 1, no burial, k = 0.3: q = exp(-0.3) = 0.740818,
    r = 2 exp(-0.3 x 11/12) = 1.519145 (the January input decays eleven months), so
    S*(Dec) = 1.519145 / 0.259182 = 5.861 t C ha-1.

    >>> inp = np.zeros(12); inp[0] = 2.0
    >>> pool, flux = periodic_surface_residue(inp, np.zeros(12), np.ones(12), 0.3, 0.5)
    >>> round(float(pool[-1]), 3), round(float(flux.sum()), 3)  # flux = 0.5 x the yearly input
    (5.861, 1.0)
    """
    inp = np.asarray(surface_inp, dtype=np.float64)
    if inp.shape[-1] != 12:
        raise ModelInputError("the periodic surface pool needs 12 months (one spin-up year)")
    zero = np.zeros(inp.shape[:-1])
    first, _ = surface_residue(inp, incorporation, a, decay, to_soil, zero)
    r = first[..., -1]
    unit, _ = surface_residue(np.zeros_like(inp), incorporation, a, decay, to_soil, zero + 1.0)
    q = unit[..., -1]
    if np.any(q >= 1.0):
        raise ModelInputError(
            "the surface residue never leaves the surface in the spin-up year (no decay, no tillage); "
            "no periodic state - give a positive surface decay rate"
        )
    return surface_residue(inp, incorporation, a, decay, to_soil, r / (1.0 - q))
