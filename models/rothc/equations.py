"""RothC-26.3 equation functions on numpy arrays (layer (a) of the package docstring).

Each function runs the compiled scalar kernel of the month step (:mod:`models.rothc.kernels`)
element-wise through a ``_vec_*`` loop, so the equations have one implementation. The citations
[1]_ and [3]_ are the references of the package docstring (:mod:`models.rothc`).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from models.errors import ModelInputError
from models.rothc.kernels import _a_scalar, _b_scalar, _smd_scalar, _soil_constants
from models.rothc.parameters import _DEFAULT_PARAMETERS, DELTA14C_MEAN_LIFE, RothCParameters

# --------------------------------------------------------------------------------------------
# Public equation functions (element-wise over numpy arrays; the same scalar kernels)
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy")
def _vec_a(tmp, par, out):  # pragma: no cover - compiled
    for i in range(tmp.size):
        out[i] = _a_scalar(tmp[i], par)


@numba.njit(cache=True, error_model="numpy")
def _vec_soil(clay, depth, par, out):  # pragma: no cover - compiled
    for i in range(clay.size):
        r = _soil_constants(clay[i], depth[i], par)
        out[0, i] = r[0]
        out[1, i] = r[1]
        out[2, i] = r[2]
        out[3, i] = r[3]


@numba.njit(cache=True, error_model="numpy")
def _vec_smd(smd, rain, evap, pc, clay, depth, par, out):  # pragma: no cover - compiled
    for i in range(smd.size):
        mt, s1, sb, _x = _soil_constants(clay[i], depth[i], par)
        out[i] = _smd_scalar(smd[i], rain[i], evap[i], pc[i], mt, sb, par)


@numba.njit(cache=True, error_model="numpy")
def _vec_b(smd, clay, depth, par, out):  # pragma: no cover - compiled
    for i in range(smd.size):
        mt, s1, sb, _x = _soil_constants(clay[i], depth[i], par)
        out[i] = _b_scalar(smd[i], mt, s1, par)


def _flat(*arrays: Any) -> tuple[tuple[int, ...], list[np.ndarray]]:
    b = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in arrays])
    return b[0].shape, [np.ascontiguousarray(x).ravel() for x in b]


def _scalar_or_array(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | float:
    out = out.reshape(shape)
    return float(out) if out.ndim == 0 else out


def rate_modifier_temperature(tmp: Any, parameters: RothCParameters | None = None) -> np.ndarray | float:
    """Rate modifying factor for temperature, a.

    Parameters
    ----------
    tmp : array_like
        Mean monthly air temperature [degC].
    parameters : RothCParameters, optional
        Model constants (default: the official Fortran literals).

    Returns
    -------
    a : ndarray or float
        Temperature rate modifier [1].

    Notes
    -----
    a = 47.91 / (1 + exp(106.06 / (T + 18.27))) for T >= -5 degC, else 0
    ([1]_ eq. 1; RothC.for:153-157).

    Examples
    --------
    >>> round(rate_modifier_temperature(3.99), 4)  # reference_monthly.csv, January 1939
    0.405
    """
    par = (parameters or _DEFAULT_PARAMETERS).as_array()
    shape, (t,) = _flat(tmp)
    out = np.empty_like(t)
    _vec_a(t, par, out)
    return _scalar_or_array(out, shape)


def max_tsmd(clay: Any, depth: Any = 23.0, parameters: RothCParameters | None = None) -> np.ndarray | float:
    """Maximum topsoil moisture deficit, maxTSMD.

    Parameters
    ----------
    clay : array_like
        Clay content [%].
    depth : array_like
        Depth of the modelled layer [cm].

    Returns
    -------
    max_tsmd : ndarray or float
        Maximum topsoil moisture deficit of a covered soil [mm] (negative).

    Notes
    -----
    maxTSMD = -(20 + 1.3 clay - 0.01 clay^2) depth / 23 ([1]_ eq. 2, which misprints 1.01 for 1.3;
    RothC.for:204-205).

    Examples
    --------
    >>> round(max_tsmd(23.4, 23.0), 4)
    -44.9444
    """
    par = (parameters or _DEFAULT_PARAMETERS).as_array()
    shape, (c, d) = _flat(clay, depth)
    out = np.empty((4, c.size))
    _vec_soil(c, d, par, out)
    return _scalar_or_array(out[0], shape)


def update_smd(
    smd: Any,
    rain: Any,
    evap: Any,
    pc: Any,
    clay: Any,
    depth: Any = 23.0,
    parameters: RothCParameters | None = None,
) -> np.ndarray | float:
    """Accumulated topsoil moisture deficit at the end of the month.

    Parameters
    ----------
    smd : array_like
        SMD at the end of the previous month [mm] (<= 0).
    rain, evap : array_like
        Monthly rainfall and open-pan evaporation [mm].
    pc : array_like
        Plant cover [1]: 1 covered, 0 bare.
    clay : array_like
        Clay content [%].
    depth : array_like
        Layer depth [cm].

    Returns
    -------
    smd : ndarray or float
        New SMD [mm].

    Notes
    -----
    DF = rain - 0.75 E; covered: SMD = max(maxTSMD, min(0, SMD + DF)); bare:
    SMD = max(min(0.556 maxTSMD, SMD), min(0, SMD + DF)) (RothC.for:218, 232-237; [1]_ section 2.3).

    Examples
    --------
    >>> round(update_smd(0.0, 40.4, 99.3, 1, 23.4), 3)  # 40.4 - 0.75 * 99.3
    -34.075
    """
    par = (parameters or _DEFAULT_PARAMETERS).as_array()
    shape, (s, r, e, p, c, d) = _flat(smd, rain, evap, pc, clay, depth)
    out = np.empty_like(s)
    _vec_smd(s, r, e, p, c, d, par, out)
    return _scalar_or_array(out, shape)


def rate_modifier_moisture(
    smd: Any, clay: Any, depth: Any = 23.0, parameters: RothCParameters | None = None
) -> np.ndarray | float:
    """Rate modifying factor for topsoil moisture, b.

    Parameters
    ----------
    smd : array_like
        Accumulated topsoil moisture deficit [mm] (<= 0).
    clay : array_like
        Clay content [%].
    depth : array_like
        Layer depth [cm].

    Returns
    -------
    b : ndarray or float
        Moisture rate modifier [1], between 0.2 and 1.

    Notes
    -----
    b = 1 if SMD > 0.444 maxTSMD, else 0.2 + (1 - 0.2) (maxTSMD - SMD) / (maxTSMD - 0.444 maxTSMD),
    with maxTSMD of the covered soil even when bare (RothC.for:242-247; [1]_ section 2.3).

    Examples
    --------
    >>> round(rate_modifier_moisture(-34.075, 23.4), 6)
    0.547973
    """
    par = (parameters or _DEFAULT_PARAMETERS).as_array()
    shape, (s, c, d) = _flat(smd, clay, depth)
    out = np.empty_like(s)
    _vec_b(s, c, d, par, out)
    return _scalar_or_array(out, shape)


def rate_modifier_cover(pc: Any, parameters: RothCParameters | None = None) -> np.ndarray | float:
    """Rate modifying factor for soil cover, c: 0.6 covered (pc = 1), 1.0 bare ([1]_ section 2.3;
    RothC.for:274-278).

    Parameters
    ----------
    pc : array_like
        Plant cover [1], 1 covered / 0 bare.

    Returns
    -------
    c : ndarray or float
        Cover rate modifier [1].
    """
    p = (parameters or _DEFAULT_PARAMETERS).c_covered
    out = np.where(np.asarray(pc, dtype=np.float64) > 0.5, p, 1.0)
    return float(out) if out.ndim == 0 else out


def clay_partition_ratio(clay: Any, parameters: RothCParameters | None = None) -> np.ndarray | float:
    """Ratio x = CO2 / (BIO + HUM) formed when soil organic matter decomposes.

    Parameters
    ----------
    clay : array_like
        Clay content [%].

    Returns
    -------
    x : ndarray or float
        CO2/(BIO+HUM) ratio [1]; x/(x+1) of the decomposed C is respired, 0.46/(x+1) goes to BIO and
        0.54/(x+1) to HUM.

    Notes
    -----
    x = 1.67 (1.85 + 1.60 exp(-0.0786 clay)) ([1]_ eq. 13; RothC.for:368).

    Examples
    --------
    >>> round(clay_partition_ratio(23.4), 4)
    3.5142
    """
    par = (parameters or _DEFAULT_PARAMETERS).as_array()
    shape, (c,) = _flat(clay)
    out = np.empty((4, c.size))
    _vec_soil(c, np.full_like(c, 23.0), par, out)
    return _scalar_or_array(out[3], shape)


def falloon_iom(toc: Any) -> np.ndarray | float:
    """Inert organic matter from total soil organic carbon (Falloon et al. 1998).

    Parameters
    ----------
    toc : array_like
        Total soil organic carbon of the layer [t C ha-1].

    Returns
    -------
    iom : ndarray or float
        Inert organic matter [t C ha-1].

    Notes
    -----
    IOM = 0.049 TOC^1.139 ([3]_; [1]_ eq. 19, section 1.8). The official code does not compute it:
    IOM is an input.

    Examples
    --------
    >>> round(falloon_iom(55.0), 3)
    4.704
    """
    t = np.asarray(toc, dtype=np.float64)
    if np.any(t < 0):
        raise ModelInputError(f"falloon_iom: total organic carbon must be >= 0 t C ha-1, got {t.min()!r}")
    out = 0.049 * t**1.139
    return float(out) if out.ndim == 0 else out


def delta14c_from_age(age: Any) -> np.ndarray | float:
    """delta 14C [permil] from radiocarbon age [yr]: 1000 (exp(-age / 8035) - 1) (Shell.for:286, 322).

    Examples
    --------
    >>> round(delta14c_from_age(50000.0), 2)
    -998.02
    """
    out = 1000.0 * (np.exp(-np.asarray(age, dtype=np.float64) / DELTA14C_MEAN_LIFE) - 1.0)
    return float(out) if out.ndim == 0 else out
