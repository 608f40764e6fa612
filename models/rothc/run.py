"""The RothC-26.3 runners (layer (c) of the package docstring).

:func:`equilibrium`, :func:`run_rothc`, :func:`rothc_step` and :func:`fit_plant_input_to_soc`, with
the input checks and flattening (``_CHECKS``, ``_prepare``, ``_dims``) that turn xarray inputs into
the compiled kernels' flat arrays and strides. The citation [3]_ is a reference of the package
docstring (:mod:`models.rothc`), as are the line references.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numba
import numpy as np
import xarray as xr

from models.errors import ModelInputError, MRVWarning
from models.rothc.equations import _vec_a, falloon_iom
from models.rothc.kernels import _run_kernel
from models.rothc.parameters import (
    _DEFAULT_PARAMETERS,
    _KERNEL_OUTPUTS,
    _RADIOCARBON_OUTPUTS,
    FORCING_VARIABLES,
    OUTPUT_VARIABLES,
    RATE_MODIFIER,
    SOIL_VARIABLES,
    RothCParameters,
)
from models.rothc.spinup import _equilibrium_kernel, _spinup_kernel
from models.rothc.state import RothCState, _state_array, _state_dataset


class RothCConvergenceWarning(MRVWarning):
    """The reference spin-up hit ``max_years`` before converging, or the equilibrium is undefined."""


# --------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------

_CHECKS: dict[str, tuple[float, float]] = {
    "tmp": (-90.0, 70.0),
    "rain": (0.0, np.inf),
    "evap": (-np.inf, np.inf),  # the official inputs hold small negative pan values (dew)
    "pc": (0.0, 1.0),
    "dpm_rpm": (0.0, np.inf),
    "c_inp": (0.0, np.inf),
    "fym": (0.0, np.inf),
    "modern": (0.0, np.inf),
    "clay": (0.0, 100.0),
    "depth": (1e-9, np.inf),
    "iom": (0.0, np.inf),
}


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _count_outside(vals, lo, hi):  # pragma: no cover - compiled
    """Number of values not in [lo, hi] (NaN counts), one parallel pass without temporaries."""
    bad = 0
    for i in numba.prange(vals.size):
        v = vals[i]
        if not (v >= lo and v <= hi):
            bad += 1
    return bad


def _all_within(flat: np.ndarray, lo: float, hi: float) -> bool:
    """True if every value of the 1-D array is in [lo, hi] (False for NaN)."""
    if flat.size > 1 << 16:  # large (plot, month) inputs: the compiled pass
        return _count_outside(flat, lo, hi) == 0
    return bool(np.all((flat >= lo) & (flat <= hi)))


def _prepare(
    inputs: xr.Dataset,
    names: Mapping[str, str],
    allowed: tuple[str, ...],
    months: int | None,
    par: np.ndarray,
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Validate and flatten input variables for the kernels: returns flat C-ordered float64
    arrays and their element strides along (draw, plot, month) (0 where broadcast). The air
    temperature is replaced by the temperature rate modifier a (computed once per value)."""
    arrays = []
    strides = np.zeros((len(names), 3), dtype=np.int64)
    for i, name in enumerate(names):
        if name not in inputs:
            raise ModelInputError(
                f"RothC input variable {name!r} [{names[name]}] is missing; the Dataset has {sorted(inputs.data_vars)}"
            )
        da = inputs[name]
        bad = [d for d in da.dims if d not in allowed]
        if bad:
            raise ModelInputError(f"RothC input {name!r} has dims {da.dims}; allowed dims are {allowed}")
        if months is not None and "month" in da.dims:
            da = da.isel(month=slice(0, months))
        order = [d for d in ("draw", "plot", "month") if d in da.dims]
        vals = np.require(da.transpose(*order).values, dtype=np.float64, requirements=["C"])
        lo, hi = _CHECKS[name]
        if not _all_within(vals.ravel(), lo, hi):  # also catches NaN
            flat = vals.ravel()
            j = int(np.flatnonzero(~((flat >= lo) & (flat <= hi)))[0])
            where = {d: int(i) for d, i in zip(order, np.unravel_index(j, vals.shape), strict=True)}
            raise ModelInputError(
                f"RothC input {name!r} = {float(flat[j])!r} at {where} is outside [{lo}, {hi}] {names[name]}; fix the value"
                " (NaN is not allowed)"
            )
        if name == "pc" and not np.all((vals == 0) | (vals == 1)):
            raise ModelInputError("RothC input 'pc' (plant cover) must be 0 (bare) or 1 (covered)")
        el = np.array(vals.strides, dtype=np.int64) // 8
        for d, s in zip(order, el, strict=True):
            strides[i, ("draw", "plot", "month").index(d)] = s
        flat_vals = vals.ravel()
        if name == "tmp":
            a = np.empty_like(flat_vals)
            _vec_a(flat_vals, par, a)
            flat_vals = a
            if RATE_MODIFIER in inputs:
                flat_vals, strides[i] = _apply_rate_modifier(inputs, da, a, allowed, months)
        arrays.append(flat_vals)
    return tuple(arrays), strides


def _apply_rate_modifier(
    inputs: xr.Dataset, tmp: xr.DataArray, a: np.ndarray, allowed: tuple[str, ...], months: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The temperature modifier ``a`` times the optional input ``rate_mod`` (broadcast together):
    a multiplier of every soil pool's decomposition rate, e.g. the tillage modifier of
    :mod:`models.tillage`. Returns the flat product and its (draw, plot, month) strides."""
    rm = inputs[RATE_MODIFIER]
    bad = [d for d in rm.dims if d not in allowed]
    if bad:
        raise ModelInputError(f"RothC input {RATE_MODIFIER!r} has dims {rm.dims}; allowed dims are {allowed}")
    if months is not None and "month" in rm.dims:
        rm = rm.isel(month=slice(0, months))
    vals = np.asarray(rm.values, dtype=np.float64)
    if not np.all((vals > 0) & (vals <= 10)):  # also NaN
        raise ModelInputError(f"RothC input {RATE_MODIFIER!r} must lie in (0, 10] [1]; fix the value")
    order_t = [d for d in ("draw", "plot", "month") if d in tmp.dims]
    tmp_t = tmp.transpose(*order_t)  # ``a`` is flat in this order (see _prepare)
    a_da = tmp_t.copy(data=a.reshape(tmp_t.shape))
    a_da, rm = xr.broadcast(a_da, rm)
    order = [d for d in ("draw", "plot", "month") if d in a_da.dims]
    prod = np.ascontiguousarray((a_da * rm).transpose(*order).values, dtype=np.float64)
    strides = np.zeros(3, dtype=np.int64)
    for d, s in zip(order, np.array(prod.strides, dtype=np.int64) // 8, strict=True):
        strides[("draw", "plot", "month").index(d)] = s
    return prod.ravel(), strides


def _dims(inputs: xr.Dataset, initial: Any) -> tuple[int, int, bool]:
    if "plot" not in inputs.dims:
        raise ModelInputError(f"RothC inputs need a 'plot' dimension; got dims {tuple(inputs.dims)}")
    ndraw = int(inputs.sizes.get("draw", 1))
    has_draw = "draw" in inputs.dims
    if isinstance(initial, xr.Dataset) and "draw" in initial.dims:
        if has_draw and initial.sizes["draw"] != ndraw:
            raise ModelInputError(
                f"initial state has {initial.sizes['draw']} draws but inputs have {ndraw}; they must match"
            )
        ndraw, has_draw = int(initial.sizes["draw"]), True
    return ndraw, int(inputs.sizes["plot"]), has_draw


# --------------------------------------------------------------------------------------------
# Runners
# --------------------------------------------------------------------------------------------


def equilibrium(
    inputs: xr.Dataset,
    method: str = "accelerated",
    parameters: RothCParameters | None = None,
    tol: float = 1e-6,
    max_years: int = 100_000,
) -> xr.Dataset:
    """Spin-up: the end-of-December state in equilibrium with a repeated 12-month cycle.

    Parameters
    ----------
    inputs : xarray.Dataset
        The :func:`run_rothc` inputs; months 0-11 are the spin-up year (as rows 1-12 of
        RothC_input.dat).
    method : {"accelerated", "reference", "analytic"}
        ``"reference"``: cycle the 12 months from all-zero pools, SMD 0 and ages 0 until
        |TOC(Dec) - TOC(previous Dec)| < ``tol`` t C ha-1 with TOC = DPM+RPM+BIO+HUM, exactly as
        Shell.for:199-272 does (the first December is compared with 0); about 20 000 monthly steps.
        ``"accelerated"`` (default): the same iteration and stopping rule, but once the SMD cycle
        repeats every further year is one application of the composed annual affine map (see
        Notes): the reference's result to rounding (~1e-12 t C ha-1), 20-50 times faster.
        ``"analytic"``: the exact periodic steady state, the limit of the iteration. The reference
        stops short of it by about tol/(1 - q), q the yearly contraction factor of HUM (0.99 at a
        Rothamsted climate): 1.4e-4 t C ha-1 HUM for the shipped example, so use it when the
        true equilibrium rather than the official code's is wanted.
    tol : float
        Reference convergence tolerance [t C ha-1] (Shell.for: 1e-6).
    max_years : int
        Cap on the reference iteration [yr]; a :class:`RothCConvergenceWarning` names the plots.

    Returns
    -------
    xarray.Dataset
        DPM, RPM, BIO, HUM, IOM, SOC [t C ha-1], SMD [mm], DPM_Rage ... HUM_Rage, Total_Rage [yr],
        delta14C [permil] and spinup_months [month] over (draw,) plot; usable as ``initial`` of
        :func:`run_rothc` (CO2 starts at 0).

    Notes
    -----
    For a fixed climate the month's map of the pool vector x = (DPM, RPM, BIO, HUM) is affine,
    x' = A_m x + u_m (decay diag(exp(-a b c k t)) plus the BIO/HUM transfer rows, inputs u_m). The
    December state of the periodic cycle solves (I - A_12...A_1) x = m, m the inputs carried through
    the year; the Ract vector obeys the same map times exp(-conr t). SMD is cycled until its
    December value repeats. Plots whose year has no decomposition at all (e.g. every month below
    -5 degC) have no equilibrium: NaN and a warning.
    """
    par_obj = parameters or _DEFAULT_PARAMETERS
    par = par_obj.as_array()
    if "month" not in inputs.dims or inputs.sizes["month"] < 12:
        raise ModelInputError(
            "equilibrium needs at least 12 months of inputs (the spin-up year, months 0-11)"
        )
    ndraw, nplot, has_draw = _dims(inputs, None)
    forc, fst = _prepare(inputs, FORCING_VARIABLES, ("draw", "plot", "month"), 12, par)
    soil, sst = _prepare(inputs, SOIL_VARIABLES, ("draw", "plot"), None, par)
    state = RothCState.zeros((ndraw, nplot))._ract((ndraw, nplot), par_obj.conr)
    ncell = ndraw * nplot
    months = np.zeros(ncell, dtype=np.int64)
    ok = np.ones(ncell, dtype=np.bool_)
    if method == "reference":
        _spinup_kernel(forc, fst, soil, sst, nplot, state, par, float(tol), int(max_years), months)
        ok = months > 0
        months = np.abs(months)
    elif method in ("accelerated", "analytic"):
        mode = 1 if method == "accelerated" else 0
        _equilibrium_kernel(
            forc, fst, soil, sst, nplot, state, par, mode, float(tol), int(max_years), False, months, ok
        )
    else:
        raise ModelInputError(
            f"equilibrium method {method!r} is unknown; use 'accelerated', 'reference' or 'analytic'"
        )
    if not np.all(ok):
        warnings.warn(
            f"RothC spin-up ({method}) did not reach an equilibrium for {int(np.sum(~ok))} plot(s): "
            f"not converged to {tol} t C ha-1 within {max_years} years, or no decomposition at all in the "
            "spin-up year (every month below -5 degC); raise max_years or check the inputs",
            RothCConvergenceWarning,
            stacklevel=2,
        )
    return _state_dataset(inputs, state, soil, sst, ndraw, nplot, has_draw, par_obj, months)


def run_rothc(
    inputs: xr.Dataset,
    initial: RothCState | xr.Dataset | None = None,
    *,
    spinup_inputs: xr.Dataset | None = None,
    spinup: str = "accelerated",
    variables: Sequence[str] | None = None,
    radiocarbon: bool = False,
    parameters: RothCParameters | None = None,
    return_state: bool = False,
) -> xr.Dataset | tuple[xr.Dataset, RothCState]:
    """Run RothC-26.3 month by month for many plots (and Monte Carlo draws) at once.

    Parameters
    ----------
    inputs : xarray.Dataset
        Dims (plot, month) or (draw, plot, month); every variable may use any subset of them
        (broadcast, e.g. climate over ``month`` only). Monthly forcing: tmp [degC], rain [mm],
        evap [mm] (open-pan), pc [1] (0 bare / 1 covered), dpm_rpm [1], c_inp [t C ha-1 month-1],
        fym [t C ha-1 month-1], modern [%]; soil (no month dim): clay [%], depth [cm], iom [t C ha-1].
        Optional ``rate_mod`` [1] (any of the dims): multiplies the temperature modifier ``a``,
        i.e. every pool's decomposition rate (the tillage effect of :mod:`models.tillage`; not part
        of RothC-26.3). The ``a`` output then includes it.
    initial : RothCState or xarray.Dataset, optional
        State at the end of the month before ``inputs`` (e.g. from :func:`equilibrium`). If None,
        the model is spun up to equilibrium on ``spinup_inputs`` (default: the first 12 months of
        ``inputs``) with method ``spinup``; then the run covers every month of ``inputs``.
    spinup_inputs : xarray.Dataset, optional
        The spin-up year (months 0-11 used), same variables as ``inputs``.
    spinup : {"accelerated", "reference", "analytic"}
        Spin-up method, see :func:`equilibrium`.
    variables : sequence of str, optional
        Output variables to keep (default all of :data:`OUTPUT_VARIABLES` except the radiocarbon
        ones, which need ``radiocarbon=True``). Keeping only ``("SOC",)`` saves memory on large runs.
    radiocarbon : bool
        Track 14C (ages, delta14C). Costs about 10-20 % more time (benchmarks/rothc_throughput.py).
    parameters : RothCParameters, optional
        Model constants; default the official Fortran literals.
    return_state : bool
        Also return the :class:`RothCState` at the end of the last month (to chain runs).

    Returns
    -------
    xarray.Dataset
        Dims (plot, month) or (draw, plot, month): DPM, RPM, BIO, HUM, IOM, SOC, CO2 [t C ha-1]
        (CO2 cumulative since the start of the run), SMD [mm], a, b, c [1], radiocarbon_age [yr] and
        delta14C [permil] if requested; each with ``units``. All values are at the end of the month.

    Notes
    -----
    The monthly step is RothC-26.3 as in RothC.for:121-483 (see the module docstring for each
    equation and its source). The compiled kernel runs blocks of 128 plots in parallel (numba
    ``prange``); within a block each month is one vectorised pass over the block's plots. The
    returned variables are (draw, plot, month) views of a month-major buffer (the kernel writes each
    month's plots contiguously), so their ``.values`` are not C-contiguous.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"tmp": ("month", [-10.0]), "rain": ("month", [0.0]), "evap": ("month", [0.0]),
    ...     "pc": ("month", [1.0]), "dpm_rpm": ("month", [1.44]), "c_inp": ("month", [0.0]),
    ...     "fym": ("month", [0.0]), "modern": ("month", [100.0]), "clay": ("plot", [20.0]),
    ...     "depth": ("plot", [23.0]), "iom": ("plot", [2.0])})
    >>> init = RothCState(dpm=0.1, rpm=5.0, bio=1.0, hum=30.0)
    >>> float(run_rothc(ds, init)["SOC"][0, 0])  # below -5 degC nothing decomposes
    38.1
    """
    par_obj = parameters or _DEFAULT_PARAMETERS
    par = par_obj.as_array()
    if "month" not in inputs.dims:
        raise ModelInputError(f"RothC inputs need a 'month' dimension; got dims {tuple(inputs.dims)}")
    if initial is None:
        initial = equilibrium(spinup_inputs if spinup_inputs is not None else inputs, spinup, par_obj)
    ndraw, nplot, has_draw = _dims(inputs, initial)
    nmonth = int(inputs.sizes["month"])
    forc, fst = _prepare(inputs, FORCING_VARIABLES, ("draw", "plot", "month"), None, par)
    soil, sst = _prepare(inputs, SOIL_VARIABLES, ("draw", "plot"), None, par)
    state = _state_array(initial, ndraw, nplot, has_draw, par_obj.conr)

    if variables is None:
        variables = [v for v in OUTPUT_VARIABLES if radiocarbon or v not in _RADIOCARBON_OUTPUTS]
    unknown = [v for v in variables if v not in OUTPUT_VARIABLES]
    if unknown:
        raise ModelInputError(
            f"unknown RothC output variable(s) {unknown}; choose from {list(OUTPUT_VARIABLES)}"
        )
    if not radiocarbon and any(v in _RADIOCARBON_OUTPUTS for v in variables):
        raise ModelInputError("radiocarbon_age/delta14C need radiocarbon=True")
    kept = [v for v in _KERNEL_OUTPUTS if v in variables]
    out_idx = np.array([kept.index(v) if v in kept else -1 for v in _KERNEL_OUTPUTS], dtype=np.int64)
    # month-major so that the kernel writes each month's block of cells contiguously; the
    # variables are returned as (plot, month) views of it
    out = np.empty((len(kept), nmonth, ndraw * nplot))
    _run_kernel(forc, fst, soil, sst, nplot, nmonth, state, par, out, out_idx, bool(radiocarbon))

    dims = ("draw", "plot", "month") if has_draw else ("plot", "month")
    coords = {d: inputs.coords[d] for d in ("draw", "plot", "month") if d in inputs.coords and d in dims}
    data = {}
    for v in variables:
        units, long_name = OUTPUT_VARIABLES[v]
        if v == "IOM":
            d_i = np.arange(ndraw)[:, None] * sst[2, 0] + np.arange(nplot)[None, :] * sst[2, 1]
            arr = np.broadcast_to(soil[2][d_i][:, :, None], (ndraw, nplot, nmonth))
        else:
            arr = out[kept.index(v)].reshape(nmonth, ndraw, nplot).transpose(1, 2, 0)
        data[v] = (dims, arr if has_draw else arr[0], {"units": units, "long_name": long_name})
    result = xr.Dataset(data, coords=coords)
    result.attrs["model"] = "RothC-26.3 (official RothC_Code v2.0.0 algorithm, opt_RMmoist=1, opt_SMDbare=1)"
    if return_state:
        return result, RothCState._from_ract(state, (ndraw, nplot), par_obj.conr)
    return result


def rothc_step(
    state: RothCState,
    forcing: Mapping[str, Any],
    soil: Mapping[str, Any],
    parameters: RothCParameters | None = None,
) -> tuple[RothCState, dict[str, np.ndarray]]:
    """Advance RothC one month on plain numpy arrays (the same compiled kernel as :func:`run_rothc`).

    Parameters
    ----------
    state : RothCState
        State at the end of the previous month; arrays broadcast to one common shape.
    forcing : mapping
        tmp [degC], rain [mm], evap [mm], pc [1], dpm_rpm [1], c_inp, fym [t C ha-1 month-1],
        modern [%]: scalars or arrays of the state's shape.
    soil : mapping
        clay [%], depth [cm], iom [t C ha-1].

    Returns
    -------
    (RothCState, dict)
        The new state and the month's a, b, c [1] and SOC [t C ha-1].
    """
    par_obj = parameters or _DEFAULT_PARAMETERS
    all_vals = [state.dpm, state.rpm, state.bio, state.hum, state.smd, state.co2]
    all_vals += [forcing[k] for k in FORCING_VARIABLES] + [soil[k] for k in SOIL_VARIABLES]
    shape = np.broadcast_shapes(*(np.shape(v) for v in all_vals))
    flat = (int(np.prod(shape, dtype=np.int64)),)
    ds = xr.Dataset(
        {k: (("plot", "month"), np.broadcast_to(np.asarray(forcing[k], float), shape).reshape(flat)[:, None])
         for k in FORCING_VARIABLES}
        | {k: (("plot",), np.broadcast_to(np.asarray(soil[k], float), shape).reshape(flat)) for k in SOIL_VARIABLES}
    )  # fmt: skip
    flat_state = RothCState(*(np.broadcast_to(np.asarray(getattr(state, f), float), shape).reshape(flat)
                              for f in RothCState._FIELDS))  # fmt: skip
    res, new = run_rothc(
        ds,
        flat_state,
        variables=["SOC", "a", "b", "c"],
        radiocarbon=True,
        parameters=par_obj,
        return_state=True,
    )
    new_state = RothCState(*(np.asarray(getattr(new, f)).reshape(shape) for f in RothCState._FIELDS))
    return new_state, {k: res[k].values[:, 0].reshape(shape) for k in ("SOC", "a", "b", "c")}


def fit_plant_input_to_soc(
    inputs: xr.Dataset,
    soc: Any,
    iom: str | Any = "given",
    parameters: RothCParameters | None = None,
) -> xr.Dataset:
    """Annual plant C input that puts the equilibrium SOC at a measured value (inverse spin-up).

    Parameters
    ----------
    inputs : xarray.Dataset
        :func:`run_rothc` inputs; months 0-11 are the spin-up year. The monthly shares of ``c_inp``
        set how the fitted annual input is spread over the year (if a plot's ``c_inp`` is zero all
        year it is spread evenly over the covered months, else over all months). FYM is kept as given.
    soc : array_like
        Measured total SOC (incl. IOM) per plot [t C ha-1], broadcast to (draw,) plot.
    iom : "given", "falloon" or array_like
        ``"given"``: IOM from ``inputs.iom``; ``"falloon"``: IOM = 0.049 SOC^1.139 from the measured
        SOC ([3]_); or the IOM values [t C ha-1].

    Returns
    -------
    xarray.Dataset
        ``annual_c_inp`` [t C ha-1 yr-1], ``c_inp`` [t C ha-1 month-1] (the fitted monthly inputs of the
        spin-up year), ``iom`` [t C ha-1]; ready to replace those variables of the inputs.

    Notes
    -----
    The equilibrium pools are linear in the inputs (the monthly map is affine in the pools and
    linear in the inputs; SMD and the rate modifiers do not depend on carbon), so
    SOC_eq(s) = IOM + s * S_1 + S_fym with S_1 the active equilibrium carbon per 1 t C ha-1 yr-1 of
    plant input and S_fym that of the manure. Hence s = (SOC - IOM - S_fym) / S_1 exactly; the fit
    is exact to rounding, given IOM. With ``iom="falloon"`` IOM comes from the measured SOC, so it
    is still exact. A measured SOC below IOM + S_fym needs a negative input: ModelInputError.
    """
    par_obj = parameters or _DEFAULT_PARAMETERS
    par = par_obj.as_array()
    ds = inputs.isel(month=slice(0, 12))
    ndraw, nplot, has_draw = _dims(ds, None)
    dims = ("draw", "plot") if has_draw else ("plot",)
    soc_arr = np.broadcast_to(np.asarray(soc, dtype=np.float64), (ndraw, nplot) if has_draw else (nplot,))
    soc_da = xr.DataArray(np.array(soc_arr), dims=dims)
    if isinstance(iom, str) and iom == "given":
        iom_da = ds["iom"].broadcast_like(soc_da)
    elif isinstance(iom, str) and iom == "falloon":
        iom_da = xr.DataArray(falloon_iom(soc_da.values), dims=dims)
    elif isinstance(iom, str):
        raise ModelInputError(f"iom={iom!r} is unknown; use 'given', 'falloon' or an array [t C ha-1]")
    else:
        iom_da = xr.DataArray(np.broadcast_to(np.asarray(iom, dtype=np.float64), soc_arr.shape), dims=dims)
    # monthly shares of the plant input
    c = ds["c_inp"].broadcast_like(ds["pc"]).broadcast_like(soc_da)
    annual = c.sum("month")
    even = (ds["pc"] > 0.5).broadcast_like(c).astype(float)
    even = xr.where(even.sum("month") > 0, even, 1.0)
    shares = xr.where(annual > 0, c / annual.where(annual > 0, 1.0), even / even.sum("month"))
    work = ds.copy()
    work["c_inp"] = shares
    ndraw2, nplot2, _ = _dims(work, None)
    forc, fst = _prepare(work, FORCING_VARIABLES, ("draw", "plot", "month"), 12, par)
    soil, sst = _prepare(work, SOIL_VARIABLES, ("draw", "plot"), None, par)
    zeros = RothCState.zeros((ndraw2, nplot2))
    st_unit = zeros._ract((ndraw2, nplot2), par_obj.conr)
    ok = np.zeros(ndraw2 * nplot2, dtype=np.bool_)
    months = np.zeros(ndraw2 * nplot2, dtype=np.int64)
    _equilibrium_kernel(forc, fst, soil, sst, nplot2, st_unit, par, 0, 1e-6, 1000, True, months, ok)
    work_fym = work.copy()
    work_fym["c_inp"] = xr.zeros_like(shares)
    forc2, fst2 = _prepare(work_fym, FORCING_VARIABLES, ("draw", "plot", "month"), 12, par)
    st_fym = zeros._ract((ndraw2, nplot2), par_obj.conr)
    ok2 = np.zeros_like(ok)
    _equilibrium_kernel(forc2, fst2, soil, sst, nplot2, st_fym, par, 0, 1e-6, 1000, False, months, ok2)
    shape = (ndraw2, nplot2) if has_draw else (nplot2,)
    s1 = st_unit[0:4].sum(axis=0).reshape(shape)
    sf = st_fym[0:4].sum(axis=0).reshape(shape)
    if not (np.all(ok) and np.all(ok2)):
        raise ModelInputError("fit_plant_input_to_soc: no equilibrium (no decomposition in the spin-up year)")
    target = soc_da.values - iom_da.values - sf
    if np.any(target < 0):
        j = int(np.flatnonzero(np.ravel(target) < 0)[0])
        raise ModelInputError(
            f"measured SOC {np.ravel(soc_da.values)[j]!r} t C ha-1 is below IOM + the manure-only equilibrium "
            f"({np.ravel(iom_da.values + sf)[j]!r}); no non-negative plant input reaches it - check SOC, IOM or FYM"
        )
    s = target / s1
    annual_da = xr.DataArray(
        s, dims=dims, attrs={"units": "t C ha-1 yr-1", "long_name": "fitted annual plant C input"}
    )
    monthly = (shares * annual_da).transpose(*dims, "month")
    monthly.attrs = {
        "units": "t C ha-1 month-1",
        "long_name": "fitted monthly plant C input of the spin-up year",
    }
    iom_da.attrs = {"units": "t C ha-1", "long_name": "inert organic matter used"}
    coords = {d: ds.coords[d] for d in (*dims, "month") if d in ds.coords}  # ds: months 0-11
    out = xr.Dataset({"annual_c_inp": annual_da, "c_inp": monthly, "iom": iom_da})
    return out.assign_coords({k: v for k, v in coords.items() if k in out.dims})
