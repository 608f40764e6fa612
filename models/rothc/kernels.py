"""The compiled monthly step of RothC-26.3 and the blocked runner over plots (numba).

``_exp`` (an exp that LLVM vectorises), the scalar kernels of every equation, the month step
``_month_step`` = ``_decay_factors`` then ``_pool_update`` (the one implementation of the step),
the radiocarbon age ``_age``, and the monthly runner ``_run_kernel`` with its work-vector layout
(``_BLOCK``, ``_W_*``) and ``_block_month``. The package docstring (:mod:`models.rothc`) explains
the design and holds the references [1]_ and [2]_ cited here.

numba caches each compiled function keyed on its own source file only: the kernels of
:mod:`models.rothc.spinup` and :mod:`models.rothc.equations` inline or link the functions of this
module, and their cache entries are NOT invalidated when only this file changes. After editing a
kernel here, delete ``models/rothc/__pycache__`` (numba's ``*.nbi`` / ``*.nbc`` files).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba.core import types as nb_types
from numba.extending import intrinsic

from models.rothc.parameters import (
    _A_EXP,
    _A_MIN,
    _A_NUM,
    _A_OFF,
    _BMIN,
    _CCOV,
    _CONR,
    _EVF,
    _FBIO,
    _FHUM,
    _FYMD,
    _FYMH,
    _FYMR,
    _K_BIO,
    _K_DPM,
    _K_HUM,
    _K_RPM,
    _S1BAR,
    _SBARE,
    _T0,
    _T1,
    _T2,
    _TD,
    _TSTEP,
    _X0,
    _X1,
    _X2,
    _X3,
    DELTA14C_MEAN_LIFE,
    IOM_AGE,
)

# --------------------------------------------------------------------------------------------
# exp that LLVM can vectorise
# --------------------------------------------------------------------------------------------


@intrinsic
def _fma(typingctx, a, b, c):  # pragma: no cover - compile-time
    """a * b + c with one rounding (LLVM ``llvm.fma.f64``: the FMA instruction on x86-64 with FMA3;
    without FMA3 LLVM calls libm's fma, the same value, slower)."""

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return nb_types.float64(nb_types.float64, nb_types.float64, nb_types.float64), codegen


@intrinsic
def _f64_bits(typingctx, x):  # pragma: no cover - compile-time
    """The IEEE-754 bit pattern of a float64 as an int64 (a bitcast, no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.IntType(64))

    return nb_types.int64(nb_types.float64), codegen


@intrinsic
def _bits_f64(typingctx, x):  # pragma: no cover - compile-time
    """The float64 whose IEEE-754 bit pattern is the int64 x (a bitcast, no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return nb_types.float64(nb_types.int64), codegen


_LOG2E = 1.4426950408889634  # 1/ln 2
_EXP_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer held in the low bits
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that n * _LN2_HI is exact (fdlibm e_exp.c)
_LN2_LO = 1.90821492927058770002e-10
_EXP_C = tuple(1.0 / math.factorial(k) for k in range(14))  # Taylor coefficients 1/k!


@numba.njit(cache=True, error_model="numpy", inline="always")
def _exp(x):  # pragma: no cover - compiled
    """exp(x) in float64 from arithmetic and bit operations only, so that LLVM vectorises the loops
    that call it (numba's ``math.exp`` is one libm call per element; llvmlite ships no SVML).

    Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2 (fdlibm's two-part ln 2, with FMA), then
    exp(r) = 1 + (r + r^2 P(r)), P the Taylor polynomial of degree 11 of (exp(r) - 1 - r)/r^2
    (truncation < 5e-18 relative) evaluated by Estrin's scheme (shorter dependency chains than
    Horner's: 4.3 instead of 7.2 cycles per value in a vectorised loop), times 2^n built from its
    bit pattern. Within 0.9 ulp of the exact value (1 ulp of glibc's exp) on [-45, 0], checked on
    2e6 random points against a 60-digit reference; exp(-0) = exp(0) = 1 exactly. x is clamped to
    [-708, 709] (RothC's arguments are -a b c k t >= -47.91 * 10 / 12 = -40). Compiled without
    fastmath: the shift trick relies on IEEE rounding of every operation.
    """
    x = min(max(x, -708.0), 709.0)
    kf = _fma(x, _LOG2E, _EXP_SHIFT)  # n + 1.5 * 2**52, n = round(x / ln2)
    n = kf - _EXP_SHIFT
    r = _fma(-n, _LN2_HI, x)
    r = _fma(-n, _LN2_LO, r)
    r2 = r * r
    r4 = r2 * r2
    a0 = _fma(_EXP_C[3], r, _EXP_C[2])
    a1 = _fma(_EXP_C[5], r, _EXP_C[4])
    a2 = _fma(_EXP_C[7], r, _EXP_C[6])
    a3 = _fma(_EXP_C[9], r, _EXP_C[8])
    a4 = _fma(_EXP_C[11], r, _EXP_C[10])
    a5 = _fma(_EXP_C[13], r, _EXP_C[12])
    b0 = _fma(a1, r2, a0)
    b1 = _fma(a3, r2, a2)
    b2 = _fma(a5, r2, a4)
    q = _fma(_fma(b2, r4, b1), r4, b0)
    p = 1.0 + _fma(r2, q, r)
    # 2^n: the low bits of kf hold n (two's complement); shift them into the exponent field
    return p * _bits_f64((_f64_bits(kf) << 52) + (1023 << 52))


# --------------------------------------------------------------------------------------------
# Scalar kernels: the one implementation of every equation (numba, inlined into the loops)
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy")
def _a_scalar(tmp, par):  # pragma: no cover - compiled
    if tmp < par[_A_MIN]:
        return 0.0
    return par[_A_NUM] / (math.exp(par[_A_EXP] / (tmp + par[_A_OFF])) + 1.0)


@numba.njit(cache=True, error_model="numpy")
def _soil_constants(clay, depth, par):  # pragma: no cover - compiled
    max_tsmd = -(par[_T0] + par[_T1] * clay - par[_T2] * clay * clay) * depth / par[_TD]
    x = par[_X0] * (par[_X1] + par[_X2] * math.exp(-par[_X3] * clay))
    return max_tsmd, par[_S1BAR] * max_tsmd, par[_SBARE] * max_tsmd, x


@numba.njit(cache=True, error_model="numpy")
def _partition(x, par):  # pragma: no cover - compiled
    """Shares of decomposed C to CO2, BIO and HUM: x/(x+1), 0.46/(x+1), 0.54/(x+1) (RothC.for:372-386)."""
    x1 = x + 1.0
    return x / x1, par[_FBIO] / x1, par[_FHUM] / x1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _smd_scalar(smd, rain, evap, pc, max_tsmd, bare_smd, par):  # pragma: no cover - compiled
    df = rain - par[_EVF] * evap
    if pc > 0.5:
        return max(max_tsmd, min(0.0, smd + df))
    return max(min(bare_smd, smd), min(0.0, smd + df))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _b_scalar(smd, max_tsmd, smd_1bar, par):  # pragma: no cover - compiled
    if smd > smd_1bar:
        return 1.0
    return par[_BMIN] + (1.0 - par[_BMIN]) * (max_tsmd - smd) / (max_tsmd - smd_1bar)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _c_scalar(pc, par):  # pragma: no cover - compiled
    return par[_CCOV] if pc > 0.5 else 1.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _decay_factors(smd, a, rain, evap, pc, max_tsmd, smd_1bar, bare_smd, par):  # pragma: no cover
    """First half of a month (RothC.for:153-297, 356-365): the new SMD, the rate modifiers b and c
    and the four pools' decay factors exp(-a b c k t) (DPM, RPM, BIO, HUM)."""
    smd = _smd_scalar(smd, rain, evap, pc, max_tsmd, bare_smd, par)
    b = _b_scalar(smd, max_tsmd, smd_1bar, par)
    c = _c_scalar(pc, par)
    rate = a * b * c
    t = par[_TSTEP]
    # rate = 0 (a = 0 below -5 degC): _exp(-0) = 1 exactly, nothing decomposes (no branch, so the
    # cell loop of _block_month vectorises)
    e_dpm = _exp(-rate * par[_K_DPM] * t)
    e_rpm = _exp(-rate * par[_K_RPM] * t)
    e_bio = _exp(-rate * par[_K_BIO] * t)
    e_hum = _exp(-rate * par[_K_HUM] * t)
    return smd, b, c, e_dpm, e_rpm, e_bio, e_hum


@numba.njit(cache=True, error_model="numpy", inline="always")
def _pool_update(
    dpm, rpm, bio, hum, co2, rdpm, rrpm, rbio, rhum,
    e_dpm, e_rpm, e_bio, e_hum, ratio, cin, fym, modern, fco2, fb, fh, par, radiocarbon,
):  # fmt: skip  # pragma: no cover - compiled
    """Second half of a month (RothC.for:356-447): decay with the factors of
    :func:`_decay_factors`, partition of the decomposed C, then the inputs; pools, CO2 and Ract."""
    dpm1 = dpm * e_dpm
    rpm1 = rpm * e_rpm
    bio1 = bio * e_bio
    hum1 = hum * e_hum
    d_dpm = dpm - dpm1
    d_rpm = rpm - rpm1
    d_bio = bio - bio1
    d_hum = hum - hum1
    co2 = co2 + (d_dpm * fco2 + d_rpm * fco2 + d_bio * fco2 + d_hum * fco2)
    bio_new = bio1 + d_dpm * fb + d_rpm * fb + d_bio * fb + d_hum * fb
    hum_new = hum1 + d_dpm * fh + d_rpm * fh + d_bio * fh + d_hum * fh
    if cin != 0.0:
        pi_dpm = ratio / (ratio + 1.0) * cin
        pi_rpm = 1.0 / (ratio + 1.0) * cin
    else:
        pi_dpm = 0.0
        pi_rpm = 0.0
    fym_dpm = par[_FYMD] * fym
    fym_rpm = par[_FYMR] * fym
    fym_hum = par[_FYMH] * fym
    dpm_new = dpm1 + pi_dpm + fym_dpm
    rpm_new = rpm1 + pi_rpm + fym_rpm
    hum_new = hum_new + fym_hum
    if radiocarbon:
        # Ract of what remains and of each transfer keeps its SOURCE pool's age (RothC.for:412-447)
        exc = math.exp(-par[_CONR] * par[_TSTEP])
        mf = modern / 100.0
        rd = rdpm * e_dpm
        rr = rrpm * e_rpm
        rb = rbio * e_bio
        rh = rhum * e_hum
        t_d = rdpm - rd
        t_r = rrpm - rr
        t_b = rbio - rb
        t_h = rhum - rh
        rdpm = mf * (pi_dpm + fym_dpm) + rd * exc
        rrpm = mf * (pi_rpm + fym_rpm) + rr * exc
        rbio = (rb + t_d * fb + t_r * fb + t_b * fb + t_h * fb) * exc
        rhum = mf * fym_hum + (rh + t_d * fh + t_r * fh + t_b * fh + t_h * fh) * exc
    return dpm_new, rpm_new, bio_new, hum_new, co2, rdpm, rrpm, rbio, rhum


@numba.njit(cache=True, error_model="numpy", inline="always")
def _month_step(
    dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum,
    a, rain, evap, pc, ratio, cin, fym, modern,
    max_tsmd, smd_1bar, bare_smd, fco2, fb, fh, par, radiocarbon,
):  # fmt: skip  # pragma: no cover - compiled
    """One month of RothC-26.3 for one plot (RothC.for:121-135, 153-483).

    State in: pools [t C ha-1], SMD [mm], cumulative CO2 [t C ha-1] and each pool's Ract
    [t C ha-1 x fraction modern] (Ract = C exp(-conr age)); ``a`` is the month's temperature
    modifier (:func:`_a_scalar`, computed once per distinct temperature by the callers).
    Returns the new state and a, b, c. :func:`_decay_factors` then :func:`_pool_update`, the
    two halves that :func:`_block_month` runs as two vectorised loops.
    """
    smd, b, c, e_dpm, e_rpm, e_bio, e_hum = _decay_factors(
        smd, a, rain, evap, pc, max_tsmd, smd_1bar, bare_smd, par
    )
    dpm, rpm, bio, hum, co2, rdpm, rrpm, rbio, rhum = _pool_update(
        dpm, rpm, bio, hum, co2, rdpm, rrpm, rbio, rhum,
        e_dpm, e_rpm, e_bio, e_hum, ratio, cin, fym, modern, fco2, fb, fh, par, radiocarbon,
    )  # fmt: skip
    return dpm, rpm, bio, hum, smd, co2, rdpm, rrpm, rbio, rhum, a, b, c


@numba.njit(cache=True, error_model="numpy")
def _age(c, ract, conr):  # pragma: no cover - compiled
    """Radiocarbon age [yr] of carbon c with activity ract; 0 when c <= 0 (RothC.for:460-483)."""
    if c <= 0.0 or ract <= 0.0:
        return 0.0
    return math.log(c / ract) / conr


@numba.njit(cache=True, error_model="numpy")
def _idx(cell, m, nplot, st):  # pragma: no cover - compiled
    d = cell // nplot
    return d * st[0] + (cell - d * nplot) * st[1] + m * st[2]


#: Cells (draw x plot) per block of :func:`_run_kernel`. A block's state, soil constants and forcing
#: live in ONE work vector as ``_NW`` slots of ``_BLOCK`` values; with the block size a compile-time
#: constant LLVM sees that the slots never overlap and vectorises the loops over the block's cells
#: (4 cells per AVX2 instruction) without runtime alias checks. 128 cells x 32 slots = 32 KiB, the
#: L1 data cache of the target machine (AMD EPYC, Zen 3); on one (shared) core 64, 128, 256 and 512
#: cells gave 77, 87, 67 and 48 M plot-month steps/s (benchmarks/rothc_throughput.py inputs).
_BLOCK = 128
# work-vector slots: the 10 state slots in _run_kernel's state order, then ...
_W_MAXT, _W_S1BAR, _W_SBARE, _W_FCO2, _W_FB, _W_FH, _W_IOM, _W_RIOM = range(10, 18)
_W_FORC = 18  # ... the month's 8 forcing values (a, rain, evap, pc, dpm_rpm, c_inp, fym, modern) ...
_W_B, _W_C = 26, 27  # ... the month's b and c ...
_W_E = 28  # ... and its 4 decay factors (DPM, RPM, BIO, HUM)
_NW = 32


@numba.njit(cache=True, error_model="numpy", inline="always")
def _block_month(w, n, par, radiocarbon):  # pragma: no cover - compiled
    """One month of RothC (:func:`_month_step`'s two halves) for the first ``n`` cells of a block.

    Two loops over the cells (:func:`_decay_factors`, then :func:`_pool_update`), each without
    branches or calls after inlining, so LLVM vectorises both (the split shortens the dependency
    chain of one iteration: about 10 % faster than one loop). Inlined with a constant
    ``radiocarbon`` the 14C code is compiled in or out.
    """
    B = _BLOCK
    F = _W_FORC * B
    for i in range(n):
        smd, b, c, e_dpm, e_rpm, e_bio, e_hum = _decay_factors(
            w[4 * B + i], w[F + i], w[F + B + i], w[F + 2 * B + i], w[F + 3 * B + i],
            w[_W_MAXT * B + i], w[_W_S1BAR * B + i], w[_W_SBARE * B + i], par,
        )  # fmt: skip
        w[4 * B + i] = smd
        w[_W_B * B + i] = b
        w[_W_C * B + i] = c
        w[_W_E * B + i] = e_dpm
        w[(_W_E + 1) * B + i] = e_rpm
        w[(_W_E + 2) * B + i] = e_bio
        w[(_W_E + 3) * B + i] = e_hum
    for i in range(n):
        dpm, rpm, bio, hum, co2, rdpm, rrpm, rbio, rhum = _pool_update(
            w[i], w[B + i], w[2 * B + i], w[3 * B + i], w[5 * B + i],
            w[6 * B + i], w[7 * B + i], w[8 * B + i], w[9 * B + i],
            w[_W_E * B + i], w[(_W_E + 1) * B + i], w[(_W_E + 2) * B + i], w[(_W_E + 3) * B + i],
            w[F + 4 * B + i], w[F + 5 * B + i], w[F + 6 * B + i], w[F + 7 * B + i],
            w[_W_FCO2 * B + i], w[_W_FB * B + i], w[_W_FH * B + i], par, radiocarbon,
        )  # fmt: skip
        w[i] = dpm
        w[B + i] = rpm
        w[2 * B + i] = bio
        w[3 * B + i] = hum
        w[5 * B + i] = co2
        w[6 * B + i] = rdpm
        w[7 * B + i] = rrpm
        w[8 * B + i] = rbio
        w[9 * B + i] = rhum


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _run_kernel(
    forc, fst, soil, sst, nplot, nmonth, state, par, out, out_idx, radiocarbon
):  # pragma: no cover
    """Run ``nmonth`` months for every cell (draw x plot); state (10, ncell) is updated in place.

    forc: 8 flat forcing arrays (a, rain, evap, pc, dpm_rpm, c_inp, fym, modern) with element
    strides fst[v] = (draw, plot, month) (0 = broadcast); soil: (clay, depth, iom), strides sst[v].
    out: (nout, nmonth, ncell), slot out_idx[k] for output k of _KERNEL_OUTPUTS (-1 = not kept).

    The cells are cut into blocks of ``_BLOCK`` run in parallel (``prange``); within a block the
    months run in order and each month is two vectorised loops over the block's cells
    (:func:`_block_month`). A forcing variable that is the same for every cell (climate broadcast
    over ``month`` only) is read once per month.
    """
    ncell = state.shape[1]
    conr = par[_CONR]
    inv_mean_life = 1.0 / DELTA14C_MEAN_LIFE
    B = _BLOCK
    nblock = (ncell + B - 1) // B
    for blk in numba.prange(nblock):
        c0 = blk * B
        n = min(B, ncell - c0)
        w = np.zeros(_NW * B)
        fidx = np.empty((8, B), dtype=np.int64)
        for i in range(n):
            cell = c0 + i
            for v in range(8):
                fidx[v, i] = _idx(cell, 0, nplot, fst[v])
            clay = soil[0][_idx(cell, 0, nplot, sst[0])]
            depth = soil[1][_idx(cell, 0, nplot, sst[1])]
            iom = soil[2][_idx(cell, 0, nplot, sst[2])]
            max_tsmd, smd_1bar, bare_smd, x = _soil_constants(clay, depth, par)
            fco2, fb, fh = _partition(x, par)
            w[_W_MAXT * B + i] = max_tsmd
            w[_W_S1BAR * B + i] = smd_1bar
            w[_W_SBARE * B + i] = bare_smd
            w[_W_FCO2 * B + i] = fco2
            w[_W_FB * B + i] = fb
            w[_W_FH * B + i] = fh
            w[_W_IOM * B + i] = iom
            w[_W_RIOM * B + i] = iom * math.exp(-conr * IOM_AGE)
            for k in range(10):
                w[k * B + i] = state[k, c0 + i]
        for m in range(nmonth):
            for v in range(8):
                dst = (_W_FORC + v) * B
                arr = forc[v]
                off = m * fst[v, 2]
                if fst[v, 0] == 0 and fst[v, 1] == 0:  # same value for every cell
                    val = arr[off]
                    for i in range(B):
                        w[dst + i] = val
                else:
                    for i in range(n):
                        w[dst + i] = arr[fidx[v, i] + off]
            if radiocarbon:
                _block_month(w, n, par, True)
            else:
                _block_month(w, n, par, False)
            for k in range(len(out_idx)):
                slot = out_idx[k]
                if slot < 0:
                    continue
                row = out[slot, m, c0 : c0 + n]
                if k < 4:  # DPM, RPM, BIO, HUM
                    for i in range(n):
                        row[i] = w[k * B + i]
                elif k == 4:  # SOC
                    for i in range(n):
                        row[i] = w[i] + w[B + i] + w[2 * B + i] + w[3 * B + i] + w[_W_IOM * B + i]
                elif k == 5 or k == 6:  # CO2, SMD
                    src = (5 if k == 5 else 4) * B
                    for i in range(n):
                        row[i] = w[src + i]
                elif k < 10:  # a, b, c
                    src = (_W_FORC if k == 7 else (_W_B if k == 8 else _W_C)) * B
                    for i in range(n):
                        row[i] = w[src + i]
                else:  # radiocarbon age [yr] and delta14C [permil] of total SOC (RothC.for:460-483)
                    for i in range(n):
                        soc = w[i] + w[B + i] + w[2 * B + i] + w[3 * B + i] + w[_W_IOM * B + i]
                        ract = w[6 * B + i] + w[7 * B + i] + w[8 * B + i] + w[9 * B + i] + w[_W_RIOM * B + i]
                        age = _age(soc, ract, conr)
                        row[i] = age if k == 10 else 1000.0 * (math.exp(-age * inv_mean_life) - 1.0)
        for k in range(10):
            for i in range(n):
                state[k, c0 + i] = w[k * B + i]
