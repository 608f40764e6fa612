"""Spin-up kernels of RothC-26.3 (numba).

The reference spin-up of Shell.for:199-272 (``_spinup_year``, ``_spinup_kernel``) and the fast
ones from the composed annual affine map of the pools (``_compose``, ``_annual_map``, ``_solve4``,
``_equilibrium_kernel``: the accelerated iteration and the analytic periodic steady state), on the
month step and rate modifiers of :mod:`models.rothc.kernels`. :func:`models.rothc.equilibrium` and
:func:`models.rothc.fit_plant_input_to_soc` call them; line references as in the package docstring.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from models.rothc.kernels import (
    _b_scalar,
    _c_scalar,
    _exp,
    _idx,
    _month_step,
    _partition,
    _smd_scalar,
    _soil_constants,
)
from models.rothc.parameters import _CONR, _FYMD, _FYMH, _FYMR, _K_BIO, _K_DPM, _K_HUM, _K_RPM, _TSTEP


@numba.njit(cache=True, error_model="numpy")
def _spinup_year(
    forc, fst, nplot, cell, dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum,
    max_tsmd, smd_1bar, bare_smd, fco2, fb, fh, par,
):  # pragma: no cover - compiled  # fmt: skip
    """One pass of the spin-up year (months 0-11 of ``forc``) for one cell, month by month as
    Shell.for:199-272 cycles it; returns the pools, SMD, CO2 and radiocarbon pools after December."""
    for m in range(12):
        (dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum, _a, _b, _c) = _month_step(
            dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum,
            forc[0][_idx(cell, m, nplot, fst[0])],
            forc[1][_idx(cell, m, nplot, fst[1])],
            forc[2][_idx(cell, m, nplot, fst[2])],
            forc[3][_idx(cell, m, nplot, fst[3])],
            forc[4][_idx(cell, m, nplot, fst[4])],
            forc[5][_idx(cell, m, nplot, fst[5])],
            forc[6][_idx(cell, m, nplot, fst[6])],
            forc[7][_idx(cell, m, nplot, fst[7])],
            max_tsmd, smd_1bar, bare_smd, fco2, fb, fh, par, True,
        )  # fmt: skip
    return dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _spinup_kernel(forc, fst, soil, sst, nplot, state, par, tol, max_years, months_out):  # pragma: no cover
    """The reference spin-up (Shell.for:199-272): cycle months 0-11 from ``state`` until
    |TOC(Dec) - TOC(previous Dec)| < tol (first compared with 0), TOC = DPM+RPM+BIO+HUM.
    months_out[cell] = months run (negative if max_years was reached)."""
    ncell = state.shape[1]
    for cell in numba.prange(ncell):
        clay = soil[0][_idx(cell, 0, nplot, sst[0])]
        depth = soil[1][_idx(cell, 0, nplot, sst[1])]
        max_tsmd, smd_1bar, bare_smd, x = _soil_constants(clay, depth, par)
        fco2, fb, fh = _partition(x, par)
        dpm = state[0, cell]
        rpm = state[1, cell]
        bio = state[2, cell]
        hum = state[3, cell]
        smd = state[4, cell]
        co2 = state[5, cell]
        rdpm = state[6, cell]
        rrpm = state[7, cell]
        rbio = state[8, cell]
        rhum = state[9, cell]
        toc_prev = 0.0
        n = 0
        converged = False
        for _year in range(max_years):
            (dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum) = _spinup_year(
                forc, fst, nplot, cell, dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum,
                max_tsmd, smd_1bar, bare_smd, fco2, fb, fh, par,
            )  # fmt: skip
            n += 12
            toc = dpm + rpm + bio + hum
            if abs(toc - toc_prev) < tol:
                converged = True
                break
            toc_prev = toc
        state[0, cell] = dpm
        state[1, cell] = rpm
        state[2, cell] = bio
        state[3, cell] = hum
        state[4, cell] = smd
        state[5, cell] = 0.0  # CO2 reset after the spin-up (Shell.for:296)
        state[6, cell] = rdpm
        state[7, cell] = rrpm
        state[8, cell] = rbio
        state[9, cell] = rhum
        months_out[cell] = n if converged else -n


@numba.njit(cache=True, error_model="numpy")
def _solve4(A, y):  # pragma: no cover - compiled
    """Solve the 4x4 system A z = y in place (Gaussian elimination, partial pivoting); returns
    False when A is singular."""
    for k in range(4):
        p = k
        for i in range(k + 1, 4):
            if abs(A[i, k]) > abs(A[p, k]):
                p = i
        if abs(A[p, k]) < 1e-300:
            return False
        if p != k:
            for j in range(4):
                tmp = A[k, j]
                A[k, j] = A[p, j]
                A[p, j] = tmp
            tmp = y[k]
            y[k] = y[p]
            y[p] = tmp
        for i in range(k + 1, 4):
            f = A[i, k] / A[k, k]
            for j in range(k, 4):
                A[i, j] -= f * A[k, j]
            y[i] -= f * y[k]
    for k in range(3, -1, -1):
        s = y[k]
        for j in range(k + 1, 4):
            s -= A[k, j] * y[j]
        y[k] = s / A[k, k]
    return True


@numba.njit(cache=True, error_model="numpy")
def _compose(T, M, v, scale):  # pragma: no cover - compiled
    """M <- scale T M and v <- scale T v for 4x4 T, M and 4-vector v."""
    for j in range(4):
        c0 = M[0, j]
        c1 = M[1, j]
        c2 = M[2, j]
        c3 = M[3, j]
        for i in range(4):
            M[i, j] = scale * (T[i, 0] * c0 + T[i, 1] * c1 + T[i, 2] * c2 + T[i, 3] * c3)
    c0 = v[0]
    c1 = v[1]
    c2 = v[2]
    c3 = v[3]
    for i in range(4):
        v[i] = scale * (T[i, 0] * c0 + T[i, 1] * c1 + T[i, 2] * c2 + T[i, 3] * c3)


@numba.njit(cache=True, error_model="numpy")
def _month_matrix(T, rate, fb, fh, par):  # pragma: no cover - compiled
    """T <- A_m, the month's linear map of (DPM, RPM, BIO, HUM) at the rate modifier product
    ``rate`` = a b c: diag(e) plus the BIO/HUM rows f_bio (1 - e_j), f_hum (1 - e_j), with
    e_j = exp(-rate k_j t) (RothC.for:356-409; the same exp as ``_month_step``)."""
    t = par[_TSTEP]
    e0 = _exp(-rate * par[_K_DPM] * t)
    e1 = _exp(-rate * par[_K_RPM] * t)
    e2 = _exp(-rate * par[_K_BIO] * t)
    e3 = _exp(-rate * par[_K_HUM] * t)
    for i in range(4):
        for j in range(4):
            T[i, j] = 0.0
    T[0, 0] = e0
    T[1, 1] = e1
    T[2, 0] = fb * (1.0 - e0)
    T[2, 1] = fb * (1.0 - e1)
    T[2, 2] = fb * (1.0 - e2)
    T[2, 3] = fb * (1.0 - e3)
    T[3, 0] = fh * (1.0 - e0)
    T[3, 1] = fh * (1.0 - e1)
    T[3, 2] = fh * (1.0 - e2)
    T[3, 3] = fh * (1.0 - e3)
    T[2, 2] += e2
    T[3, 3] += e3


@numba.njit(cache=True, error_model="numpy")
def _annual_map(
    forc, fst, cell, nplot, smd, max_tsmd, smd_1bar, bare_smd, x, par, unit_inputs, M, v, R, rv, T
):  # pragma: no cover
    """Compose the 12 monthly affine maps of (DPM, RPM, BIO, HUM) starting from ``smd``.

    x' = A_m x + u_m with A_m = diag(e) plus the BIO/HUM rows f_bio (1 - e_j), f_hum (1 - e_j) and u_m
    the month's inputs (RothC.for:356-409); Ract: r' = exc A_m r + modern u_m (RothC.for:412-447).
    Fills M, v (pools) and R, rv (Ract) and returns the December SMD. With ``unit_inputs`` the plant
    input is rescaled to 1 t C ha-1 yr-1 with the same monthly shares and FYM is dropped.
    """
    t = par[_TSTEP]
    exc = math.exp(-par[_CONR] * t)
    _fco2, fb, fh = _partition(x, par)
    annual = 0.0
    if unit_inputs:
        for m in range(12):
            annual += forc[5][_idx(cell, m, nplot, fst[5])]
    for i in range(4):
        v[i] = 0.0
        rv[i] = 0.0
        for j in range(4):
            M[i, j] = 1.0 if i == j else 0.0
            R[i, j] = 1.0 if i == j else 0.0
    for m in range(12):
        pc = forc[3][_idx(cell, m, nplot, fst[3])]
        ratio = forc[4][_idx(cell, m, nplot, fst[4])]
        cin = forc[5][_idx(cell, m, nplot, fst[5])]
        fym = forc[6][_idx(cell, m, nplot, fst[6])]
        mf = forc[7][_idx(cell, m, nplot, fst[7])] / 100.0
        if unit_inputs:
            cin = cin / annual if annual > 0.0 else 0.0
            fym = 0.0
        smd = _smd_scalar(
            smd,
            forc[1][_idx(cell, m, nplot, fst[1])],
            forc[2][_idx(cell, m, nplot, fst[2])],
            pc,
            max_tsmd,
            bare_smd,
            par,
        )
        a = forc[0][_idx(cell, m, nplot, fst[0])]
        rate = a * _b_scalar(smd, max_tsmd, smd_1bar, par) * _c_scalar(pc, par)
        u0 = ratio / (ratio + 1.0) * cin + par[_FYMD] * fym
        u1 = 1.0 / (ratio + 1.0) * cin + par[_FYMR] * fym
        u3 = par[_FYMH] * fym
        # T = A_m; then M <- A_m M, v <- A_m v + u, R <- exc A_m R, rv <- exc A_m rv + modern u
        _month_matrix(T, rate, fb, fh, par)
        _compose(T, M, v, 1.0)
        _compose(T, R, rv, exc)
        v[0] += u0
        v[1] += u1
        v[3] += u3
        rv[0] += mf * u0
        rv[1] += mf * u1
        rv[3] += mf * u3
    return smd


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _equilibrium_kernel(
    forc, fst, soil, sst, nplot, state, par, mode, tol, max_years, unit_inputs, months_out, ok
):  # pragma: no cover - compiled
    """Fast spin-up of every cell from ``state`` on months 0-11 of ``forc``.

    mode 1 ("accelerated"): the reference iteration of Shell.for:199-272 (stop when
    |TOC(Dec) - TOC(previous Dec)| < tol, the first December compared with 0), but once the SMD cycle
    repeats (December SMD equal to the previous one, so every later year has the same rate
    modifiers) each year is one application of the composed affine annual map, x <- M x + v,
    instead of 12 monthly steps. Same stopping year as the monthly iteration.
    mode 0 ("analytic"): the periodic steady state itself, solving (I - M) x = v and
    (I - R) r = rv after cycling SMD until its December value repeats (at most max_years cycles).
    """
    ncell = state.shape[1]
    for cell in numba.prange(ncell):
        M = np.empty((4, 4))
        R = np.empty((4, 4))
        T = np.empty((4, 4))
        v = np.empty(4)
        rv = np.empty(4)
        xs = np.empty(4)
        rs = np.empty(4)
        clay = soil[0][_idx(cell, 0, nplot, sst[0])]
        depth = soil[1][_idx(cell, 0, nplot, sst[1])]
        max_tsmd, smd_1bar, bare_smd, x = _soil_constants(clay, depth, par)
        fco2, fb, fh = _partition(x, par)
        for i in range(4):
            xs[i] = state[i, cell]
            rs[i] = state[6 + i, cell]
        smd = state[4, cell]
        co2 = 0.0
        toc_prev = 0.0
        n = 0
        converged = False
        periodic = False
        for _year in range(max_years):
            smd_start = smd
            if mode == 1:
                (xs[0], xs[1], xs[2], xs[3], smd, co2, rs[0], rs[1], rs[2], rs[3]) = _spinup_year(
                    forc, fst, nplot, cell, xs[0], xs[1], xs[2], xs[3], smd, co2, rs[0], rs[1], rs[2], rs[3],
                    max_tsmd, smd_1bar, bare_smd, fco2, fb, fh, par,
                )  # fmt: skip
                n += 12
                toc = xs[0] + xs[1] + xs[2] + xs[3]
                if abs(toc - toc_prev) < tol:
                    converged = True
                    break
                toc_prev = toc
            else:
                for m in range(12):
                    smd = _smd_scalar(
                        smd,
                        forc[1][_idx(cell, m, nplot, fst[1])],
                        forc[2][_idx(cell, m, nplot, fst[2])],
                        forc[3][_idx(cell, m, nplot, fst[3])],
                        max_tsmd,
                        bare_smd,
                        par,
                    )
            if smd == smd_start:
                periodic = True
                break
        good = True
        if periodic and mode == 1:
            _annual_map(
                forc, fst, cell, nplot, smd, max_tsmd, smd_1bar, bare_smd, x, par, unit_inputs, M, v, R, rv, T
            )
            for _year in range(max_years - n // 12):
                r0 = rv[0] + R[0, 0] * rs[0] + R[0, 1] * rs[1] + R[0, 2] * rs[2] + R[0, 3] * rs[3]
                r1 = rv[1] + R[1, 0] * rs[0] + R[1, 1] * rs[1] + R[1, 2] * rs[2] + R[1, 3] * rs[3]
                r2 = rv[2] + R[2, 0] * rs[0] + R[2, 1] * rs[1] + R[2, 2] * rs[2] + R[2, 3] * rs[3]
                r3 = rv[3] + R[3, 0] * rs[0] + R[3, 1] * rs[1] + R[3, 2] * rs[2] + R[3, 3] * rs[3]
                rs[0] = r0
                rs[1] = r1
                rs[2] = r2
                rs[3] = r3
                x0 = v[0] + M[0, 0] * xs[0] + M[0, 1] * xs[1] + M[0, 2] * xs[2] + M[0, 3] * xs[3]
                x1 = v[1] + M[1, 0] * xs[0] + M[1, 1] * xs[1] + M[1, 2] * xs[2] + M[1, 3] * xs[3]
                x2 = v[2] + M[2, 0] * xs[0] + M[2, 1] * xs[1] + M[2, 2] * xs[2] + M[2, 3] * xs[3]
                x3 = v[3] + M[3, 0] * xs[0] + M[3, 1] * xs[1] + M[3, 2] * xs[2] + M[3, 3] * xs[3]
                xs[0] = x0
                xs[1] = x1
                xs[2] = x2
                xs[3] = x3
                n += 12
                toc = x0 + x1 + x2 + x3
                if abs(toc - toc_prev) < tol:
                    converged = True
                    break
                toc_prev = toc
            good = converged
        elif mode == 0:
            _annual_map(
                forc, fst, cell, nplot, smd, max_tsmd, smd_1bar, bare_smd, x, par, unit_inputs, M, v, R, rv, T
            )
            for i in range(4):
                for j in range(4):
                    M[i, j] = (1.0 if i == j else 0.0) - M[i, j]
                    R[i, j] = (1.0 if i == j else 0.0) - R[i, j]
            good = _solve4(M, v) and _solve4(R, rv)
            for i in range(4):
                xs[i] = v[i] if good else np.nan
                rs[i] = rv[i] if good else np.nan
        else:
            good = converged
        ok[cell] = good
        months_out[cell] = n
        for i in range(4):
            state[i, cell] = xs[i]
            state[6 + i, cell] = rs[i]
        state[4, cell] = smd
        state[5, cell] = 0.0
