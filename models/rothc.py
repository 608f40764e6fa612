"""RothC-26.3, the Rothamsted soil-carbon turnover model, as the official code runs it.

Layers (STYLE.md section 1, pvlib's three layers):

(a) equation functions on numpy arrays: :func:`rate_modifier_temperature`, :func:`max_tsmd`,
    :func:`rate_modifier_moisture`, :func:`update_smd`, :func:`rate_modifier_cover`,
    :func:`clay_partition_ratio`, :func:`falloon_iom`, :func:`delta14c_from_age`;
(b) the parameter set :class:`RothCParameters` (the official literals, with a pure double-precision
    variant) and the state :class:`RothCState`;
(c) the runners :func:`run_rothc` (xarray in, xarray out), :func:`equilibrium` (spin-up, both the
    reference iteration and the analytic periodic steady state), :func:`fit_plant_input_to_soc`
    and the single-month :func:`rothc_step`.

There is ONE implementation of the monthly step: the numba-compiled scalar function
``_month_step`` = ``_decay_factors`` then ``_pool_update``. The monthly runner ``_run_kernel``
(``prange`` over blocks of 128 plots; in each block the months in order, each month two vectorised
loops over the block's plots running those two halves), the reference spin-up ``_spinup_kernel``
and :func:`rothc_step` all use them; the public equation functions call the same scalar kernels
element-wise. The analytic equilibrium builds the (affine) monthly map from the same rate modifiers
and is tested against the iteration.

Speed (benchmarks/rothc_throughput.py): every exp of the step is ``_exp``, a polynomial exp
written with arithmetic and bit operations (within 0.9 ulp; the official code's libm exp is within
0.5 ulp, so results agree with it to ~1e-12 t C ha-1) that LLVM vectorises with AVX2 (numba's
``math.exp`` is a libm call per element and llvmlite ships no SVML); no fastmath anywhere, so
the IEEE operations and their order are those of the scalar code.

Model summary (Coleman & Jenkinson [1]_, the official code [2]_, MODEL_NOTES.md of the project's
shared reference data; line references are to ``RothC.for`` / ``Shell.for`` at commit 1e0dadc):

* ``a = 47.91 / (1 + exp(106.06 / (T + 18.27)))`` for ``T >= -5 degC``, else 0
  ([1]_ eq. 1, RothC.for:153-157);
* ``maxTSMD = -(20 + 1.3 clay - 0.01 clay^2) * depth / 23`` [mm] ([1]_ eq. 2 (the PDF misprints 1.01),
  RothC.for:204-205); ``SMD1bar = 0.444 maxTSMD``; bare soil ``0.556 maxTSMD`` (RothC.for:206, 218);
* accumulated topsoil moisture deficit with ``DF = rain - 0.75 E_pan`` (RothC.for:232-237);
* ``b = 1`` if ``SMD > SMD1bar`` else ``0.2 + (1 - 0.2)(maxTSMD - SMD)/(maxTSMD - SMD1bar)``
  (RothC.for:242-247; maxTSMD also when bare);
* ``c = 0.6`` covered, ``1.0`` bare ([1]_ section 2.3, RothC.for:274-278);
* ``Y = Y0 exp(-a b c k t)``, ``t = 1/12`` yr, ``k`` = 10, 0.3, 0.66, 0.02 yr-1 for DPM, RPM, BIO, HUM
  ([1]_ eq. 4 and section 2.2, RothC.for:296-297, 356-365);
* ``x = 1.67 (1.85 + 1.60 exp(-0.0786 clay))`` CO2/(BIO+HUM); of the decomposed C, ``x/(x+1)`` -> CO2,
  ``0.46/(x+1)`` -> BIO, ``0.54/(x+1)`` -> HUM ([1]_ eq. 13, RothC.for:368-393);
* inputs are added AFTER decay: plant C split ``r/(r+1)`` DPM, ``1/(r+1)`` RPM with r the DPM/RPM
  ratio; farmyard manure 0.49 DPM, 0.49 RPM, 0.02 HUM ([1]_ section 2.4, RothC.for:398-409);
* IOM is inert; radiocarbon: every pool carries its "Ract" (C x 14C activity relative to modern),
  decayed with ``exp(-ln2/5568 t)``, fresh inputs at the month's modern fraction, IOM 50 000 yr old;
  ``age = ln(C/Ract) / (ln2/5568)`` [yr], ``delta14C = 1000 (exp(-age/8035) - 1)`` [permil]
  ([1]_ section 2.7, RothC.for:299-483, Shell.for:286, 322).

Numerical detail: the Fortran keeps every literal (0.3, 0.66, 0.02, 1.3, 0.01, 0.444, 0.556, 0.6,
47.91, 106.06, 18.27, 1.67, 1.85, 1.60, 0.0786, 0.46, 0.54, 0.49, 0.2, log(2.0)/5568.0 and
``tstep = 1.0/12.0``) in single precision, promoted to double. :meth:`RothCParameters.fortran` (the
default) reproduces that and matches the official output to about 1e-12 t C ha-1;
:meth:`RothCParameters.double_precision` uses the decimal values (as RothC_R does), which differ
from the Fortran by up to 3e-5 t C ha-1. Because float32(0.46) + float32(0.54) = 1 + 3.0e-8 and
2 float32(0.49) + float32(0.02) = 1 + 1.9e-8, the official literals create about 3e-8 t C per t C
decomposed (1e-6 t C ha-1 over decades); the double-precision set closes the carbon balance to
rounding error.

References
----------
.. [1] K. Coleman and D. S. Jenkinson, "RothC - A model for the turnover of carbon in soil. Model
   description and users guide (updated June 2014)", Rothamsted Research, Harpenden, 2014 (the
   RothC-26.3 guide; v2.0.0 "RothC_description.pdf" of the official repository has the same equations).
.. [2] Rothamsted Research, "RothC_Code" v2.0.0 (Fortran), github.com/Rothamsted-Models/RothC_Code,
   commit 1e0dadcd3b89f892174494e404f0fb4aabc1c842, Apache-2.0, files RothC.for and Shell.for.
.. [3] E. D. Falloon, P. Smith, K. Coleman and S. Marshall, "Estimating the size of the inert organic
   matter pool from total soil organic carbon content for use in the Rothamsted carbon model",
   Soil Biol. Biochem. 30(8-9):1207-1211, 1998, doi:10.1016/S0038-0717(97)00256-3.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numba
import numpy as np
import xarray as xr
from llvmlite import ir as llvm_ir
from numba.core import types as nb_types
from numba.extending import intrinsic

from models.errors import ModelInputError, MRVWarning

__all__ = [
    "FORCING_VARIABLES",
    "SOIL_VARIABLES",
    "OUTPUT_VARIABLES",
    "RothCParameters",
    "RothCState",
    "RothCConvergenceWarning",
    "rate_modifier_temperature",
    "max_tsmd",
    "update_smd",
    "rate_modifier_moisture",
    "rate_modifier_cover",
    "clay_partition_ratio",
    "falloon_iom",
    "delta14c_from_age",
    "rothc_step",
    "run_rothc",
    "equilibrium",
    "fit_plant_input_to_soc",
]


class RothCConvergenceWarning(MRVWarning):
    """The reference spin-up hit ``max_years`` before converging, or the equilibrium is undefined."""


#: Monthly forcing variables of :func:`run_rothc` and their units (the official input columns,
#: Shell.for / RothC_input.dat: modern, Tmp, Rain, Evap, C_inp, FYM, PC, DPM_RPM).
FORCING_VARIABLES: dict[str, str] = {
    "tmp": "degC",  # mean monthly air temperature
    "rain": "mm",  # monthly rainfall
    "evap": "mm",  # monthly open-pan evaporation
    "pc": "1",  # plant cover, 1 covered / 0 bare
    "dpm_rpm": "1",  # DPM/RPM ratio of the plant input
    "c_inp": "t C ha-1 month-1",  # plant carbon input
    "fym": "t C ha-1 month-1",  # farmyard manure carbon input
    "modern": "%",  # 14C activity of the inputs, percent modern
}

#: Per-plot soil variables and their units.
SOIL_VARIABLES: dict[str, str] = {"clay": "%", "depth": "cm", "iom": "t C ha-1"}

_POOL_NAMES = ("DPM", "RPM", "BIO", "HUM")

#: Output variables of :func:`run_rothc`: name -> (units, long name).
OUTPUT_VARIABLES: dict[str, tuple[str, str]] = {
    "DPM": ("t C ha-1", "decomposable plant material"),
    "RPM": ("t C ha-1", "resistant plant material"),
    "BIO": ("t C ha-1", "microbial biomass"),
    "HUM": ("t C ha-1", "humified organic matter"),
    "IOM": ("t C ha-1", "inert organic matter"),
    "SOC": ("t C ha-1", "soil organic carbon, DPM+RPM+BIO+HUM+IOM"),
    "CO2": ("t C ha-1", "cumulative respired carbon since the start of the run"),
    "SMD": ("mm", "accumulated topsoil moisture deficit (negative)"),
    "a": ("1", "rate modifier for temperature"),
    "b": ("1", "rate modifier for topsoil moisture"),
    "c": ("1", "rate modifier for soil cover"),
    "radiocarbon_age": ("yr", "radiocarbon age of total soil carbon (incl. IOM)"),
    "delta14C": ("1e-3", "delta 14C of total soil carbon [permil]"),
}
# order of the kernel's output slots
_KERNEL_OUTPUTS = (
    "DPM",
    "RPM",
    "BIO",
    "HUM",
    "SOC",
    "CO2",
    "SMD",
    "a",
    "b",
    "c",
    "radiocarbon_age",
    "delta14C",
)
_RADIOCARBON_OUTPUTS = ("radiocarbon_age", "delta14C")
#: Age of the inert organic matter [yr] (RothC.for:352, [1]_ section 2.7).
IOM_AGE = 50000.0
#: 14C mean-life used for delta14C [yr] (Shell.for:286, 322; 5568 yr Libby half-life / ln 2 = 8033,
#: the code uses 8035).
DELTA14C_MEAN_LIFE = 8035.0


def _f32(x: float) -> float:
    """A Fortran default-real literal promoted to double: float(float32(x))."""
    return float(np.float32(x))


@dataclasses.dataclass(frozen=True)
class RothCParameters:
    """The constants of RothC-26.3 (defaults: the official Fortran literals, single precision).

    Every value is from the RothC-26.3 guide [1]_ and the official code [2]_ (line refs in the
    module docstring); use :meth:`double_precision` for the decimal values.
    """

    k_dpm: float = 10.0
    """Decomposition rate constant of DPM [yr-1] ([1]_ section 2.2; RothC.for:296)."""
    k_rpm: float = _f32(0.3)
    """Decomposition rate constant of RPM [yr-1] ([1]_ section 2.2; RothC.for:296)."""
    k_bio: float = _f32(0.66)
    """Decomposition rate constant of BIO [yr-1] ([1]_ section 2.2; RothC.for:297)."""
    k_hum: float = _f32(0.02)
    """Decomposition rate constant of HUM [yr-1] ([1]_ section 2.2; RothC.for:297)."""
    tstep: float = _f32(1.0 / 12.0)
    """Time step [yr]: ``1.0/12.0`` evaluated in single precision (RothC.for:348)."""
    a_num: float = _f32(47.91)
    """Numerator of the temperature function [1] ([1]_ eq. 1)."""
    a_exp: float = _f32(106.06)
    """Exponent constant of the temperature function [degC] ([1]_ eq. 1)."""
    a_off: float = _f32(18.27)
    """Temperature offset of the temperature function [degC] ([1]_ eq. 1)."""
    a_min_tmp: float = -5.0
    """Below this air temperature decomposition stops, a = 0 [degC] (RothC.for:153)."""
    tsmd_c0: float = 20.0
    """Constant term of maxTSMD [mm] ([1]_ eq. 2)."""
    tsmd_c1: float = _f32(1.3)
    """Clay coefficient of maxTSMD [mm %-1] ([1]_ eq. 2; the PDF misprints 1.01)."""
    tsmd_c2: float = _f32(0.01)
    """Quadratic clay coefficient of maxTSMD [mm %-2] ([1]_ eq. 2)."""
    tsmd_depth: float = 23.0
    """Reference depth for maxTSMD scaling [cm] (RothC.for:205)."""
    smd_1bar: float = _f32(0.444)
    """SMD at -1 bar as a fraction of maxTSMD [1] ([1]_ section 2.3; RothC.for:206)."""
    smd_bare: float = _f32(0.556)
    """Maximum SMD of bare soil as a fraction of maxTSMD [1] ([1]_ section 2.3; RothC.for:218)."""
    evap_factor: float = 0.75
    """Open-pan to evapotranspiration factor [1] ([1]_ section 2.3; RothC.for:232)."""
    b_min: float = _f32(0.2)
    """Minimum moisture rate modifier [1] ([1]_ section 2.3; RothC.for:242-247)."""
    c_covered: float = _f32(0.6)
    """Soil-cover rate modifier when covered [1] ([1]_ section 2.3; RothC.for:274-278)."""
    x_c0: float = _f32(1.67)
    """Scale of the CO2/(BIO+HUM) ratio [1] ([1]_ eq. 13)."""
    x_c1: float = _f32(1.85)
    """Constant of the CO2/(BIO+HUM) ratio [1] ([1]_ eq. 13)."""
    x_c2: float = _f32(1.60)
    """Clay term of the CO2/(BIO+HUM) ratio [1] ([1]_ eq. 13)."""
    x_c3: float = _f32(0.0786)
    """Clay exponent of the CO2/(BIO+HUM) ratio [%-1] ([1]_ eq. 13)."""
    f_bio: float = _f32(0.46)
    """Fraction of the (BIO+HUM) product going to BIO [1] ([1]_ section 2.5; RothC.for:372-386)."""
    f_hum: float = _f32(0.54)
    """Fraction of the (BIO+HUM) product going to HUM [1] ([1]_ section 2.5; RothC.for:372-386)."""
    fym_dpm: float = _f32(0.49)
    """Fraction of farmyard-manure C to DPM [1] ([1]_ section 2.4; RothC.for:402)."""
    fym_rpm: float = _f32(0.49)
    """Fraction of farmyard-manure C to RPM [1] ([1]_ section 2.4; RothC.for:403)."""
    fym_hum: float = _f32(0.02)
    """Fraction of farmyard-manure C to HUM [1] ([1]_ section 2.4; RothC.for:404)."""
    conr: float = float(np.float32(np.log(np.float32(2.0))) / np.float32(5568.0))
    """14C decay constant ln2/5568 [yr-1] (Libby half-life; RothC.for:299)."""

    @classmethod
    def fortran(cls) -> RothCParameters:
        """The official Fortran's constants (single-precision literals), the default."""
        return cls()

    @classmethod
    def double_precision(cls) -> RothCParameters:
        """The same constants as exact decimal doubles (as RothC_R v2.0.0 uses them)."""
        return cls(
            k_rpm=0.3,
            k_bio=0.66,
            k_hum=0.02,
            tstep=1.0 / 12.0,
            a_num=47.91,
            a_exp=106.06,
            a_off=18.27,
            tsmd_c1=1.3,
            tsmd_c2=0.01,
            smd_1bar=0.444,
            smd_bare=0.556,
            b_min=0.2,
            c_covered=0.6,
            x_c0=1.67,
            x_c1=1.85,
            x_c2=1.60,
            x_c3=0.0786,
            f_bio=0.46,
            f_hum=0.54,
            fym_dpm=0.49,
            fym_rpm=0.49,
            fym_hum=0.02,
            conr=math.log(2.0) / 5568.0,
        )

    def as_array(self) -> np.ndarray:
        """The parameters as the float64 vector the kernels take (field order)."""
        return np.array([getattr(self, f.name) for f in dataclasses.fields(self)], dtype=np.float64)


_P = {f.name: i for i, f in enumerate(dataclasses.fields(RothCParameters))}
(
    _K_DPM,
    _K_RPM,
    _K_BIO,
    _K_HUM,
    _TSTEP,
    _A_NUM,
    _A_EXP,
    _A_OFF,
    _A_MIN,
    _T0,
    _T1,
    _T2,
    _TD,
    _S1BAR,
    _SBARE,
    _EVF,
    _BMIN,
    _CCOV,
    _X0,
    _X1,
    _X2,
    _X3,
    _FBIO,
    _FHUM,
    _FYMD,
    _FYMR,
    _FYMH,
    _CONR,
) = range(len(_P))
assert _P["conr"] == _CONR and _P["tstep"] == _TSTEP  # noqa: S101 (guards the index table)

_DEFAULT_PARAMETERS = RothCParameters()

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
    e = np.empty(4)
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
        e[0] = _exp(-rate * par[_K_DPM] * t)  # the same exp as _month_step
        e[1] = _exp(-rate * par[_K_RPM] * t)
        e[2] = _exp(-rate * par[_K_BIO] * t)
        e[3] = _exp(-rate * par[_K_HUM] * t)
        u0 = ratio / (ratio + 1.0) * cin + par[_FYMD] * fym
        u1 = 1.0 / (ratio + 1.0) * cin + par[_FYMR] * fym
        u3 = par[_FYMH] * fym
        # T = A_m; then M <- A_m M, v <- A_m v + u, R <- exc A_m R, rv <- exc A_m rv + modern u
        for i in range(4):
            for j in range(4):
                T[i, j] = 0.0
        T[0, 0] = e[0]
        T[1, 1] = e[1]
        for j in range(4):
            T[2, j] = fb * (1.0 - e[j])
            T[3, j] = fh * (1.0 - e[j])
        T[2, 2] += e[2]
        T[3, 3] += e[3]
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


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RothCState:
    """State of RothC at the end of a month; every field broadcasts to the (draw, plot) shape."""

    dpm: np.ndarray
    """Decomposable plant material [t C ha-1]."""
    rpm: np.ndarray
    """Resistant plant material [t C ha-1]."""
    bio: np.ndarray
    """Microbial biomass [t C ha-1]."""
    hum: np.ndarray
    """Humified organic matter [t C ha-1]."""
    smd: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Accumulated topsoil moisture deficit [mm] (<= 0)."""
    co2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Cumulative respired carbon [t C ha-1]."""
    dpm_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of DPM [yr]."""
    rpm_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of RPM [yr]."""
    bio_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of BIO [yr]."""
    hum_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of HUM [yr]."""

    _FIELDS = ("dpm", "rpm", "bio", "hum", "smd", "co2", "dpm_age", "rpm_age", "bio_age", "hum_age")
    _DS_NAMES = ("DPM", "RPM", "BIO", "HUM", "SMD", "CO2", "DPM_Rage", "RPM_Rage", "BIO_Rage", "HUM_Rage")

    @classmethod
    def zeros(cls, shape: tuple[int, ...] = ()) -> RothCState:
        """All pools, SMD and ages zero: the start of the reference spin-up (Shell.for:199)."""
        z = np.zeros(shape)
        return cls(*(z for _ in cls._FIELDS))

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> RothCState:
        """From a Dataset with DPM, RPM, BIO, HUM [t C ha-1] and optionally SMD [mm], CO2,
        DPM_Rage ... HUM_Rage [yr] (as :func:`equilibrium` returns, or reference_equilibrium.csv)."""
        missing = [n for n in _POOL_NAMES if n not in ds]
        if missing:
            raise ModelInputError(
                f"initial state Dataset lacks {missing}; it needs DPM, RPM, BIO, HUM [t C ha-1] "
                "(and optionally SMD, CO2, DPM_Rage, RPM_Rage, BIO_Rage, HUM_Rage)"
            )
        vals = [ds[n] if n in ds else xr.DataArray(0.0) for n in cls._DS_NAMES]
        order = [d for d in ("draw", "plot") if d in ds.dims]
        bad = [d for d in ds.dims if d not in ("draw", "plot")]
        if bad:
            raise ModelInputError(f"initial state has dims {bad}; only 'draw' and 'plot' are allowed")
        arrays = [v.broadcast_like(ds[_POOL_NAMES[0]]).transpose(*order).values for v in vals]
        return cls(*arrays)

    def _ract(self, shape: tuple[int, ...], conr: float) -> np.ndarray:
        st = np.empty((10, int(np.prod(shape, dtype=np.int64))))
        for i, f in enumerate(self._FIELDS[:6]):
            st[i] = np.broadcast_to(np.asarray(getattr(self, f), dtype=np.float64), shape).ravel()
        for i in range(4):
            age = np.broadcast_to(
                np.asarray(getattr(self, self._FIELDS[6 + i]), dtype=np.float64), shape
            ).ravel()
            st[6 + i] = st[i] * np.exp(-conr * age)
        return st

    @classmethod
    def _from_ract(cls, st: np.ndarray, shape: tuple[int, ...], conr: float) -> RothCState:
        vals = [st[i].reshape(shape).copy() for i in range(6)]
        for i in range(4):
            c, r = st[i], st[6 + i]
            with np.errstate(divide="ignore", invalid="ignore"):
                age = np.where((c > 0) & (r > 0), np.log(c / np.where(r > 0, r, 1.0)) / conr, 0.0)
            vals.append(age.reshape(shape))
        return cls(*vals)


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
        arrays.append(flat_vals)
    return tuple(arrays), strides


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


def _state_array(
    initial: RothCState | xr.Dataset, ndraw: int, nplot: int, has_draw: bool, conr: float
) -> np.ndarray:
    if isinstance(initial, xr.Dataset):
        ds = initial
        if "plot" not in ds.dims:
            ds = ds.expand_dims(plot=nplot)
        if has_draw and "draw" not in ds.dims:
            ds = ds.expand_dims(draw=ndraw)
        initial = RothCState.from_dataset(ds)
    shape = (ndraw, nplot)
    try:
        return initial._ract(shape, conr)
    except ValueError as exc:
        raise ModelInputError(
            f"initial state arrays do not broadcast to (draw, plot) = {shape}: {exc}; "
            "give scalars, (plot,) or (draw, plot) arrays"
        ) from exc


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


def _state_dataset(
    inputs: xr.Dataset,
    state: np.ndarray,
    soil: tuple[np.ndarray, ...],
    sst: np.ndarray,
    ndraw: int,
    nplot: int,
    has_draw: bool,
    par: RothCParameters,
    months: np.ndarray | None,
) -> xr.Dataset:
    shape = (ndraw, nplot)
    st = RothCState._from_ract(state, shape, par.conr)
    dims = ("draw", "plot") if has_draw else ("plot",)

    def shaped(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a).reshape(shape)
        return a if has_draw else a[0]

    d_i = np.arange(ndraw)[:, None] * sst[2, 0] + np.arange(nplot)[None, :] * sst[2, 1]
    iom = soil[2][d_i]
    soc = state[0:4].sum(axis=0).reshape(shape) + iom
    ract = state[6:10].sum(axis=0).reshape(shape) + iom * np.exp(-par.conr * IOM_AGE)
    with np.errstate(divide="ignore", invalid="ignore"):
        tage = np.where((soc > 0) & (ract > 0), np.log(soc / np.where(ract > 0, ract, 1.0)) / par.conr, 0.0)
    data: dict[str, tuple[Any, ...]] = {}
    for name, f in zip(_POOL_NAMES, ("dpm", "rpm", "bio", "hum"), strict=True):
        data[name] = (
            dims,
            shaped(getattr(st, f)),
            {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES[name][1]},
        )
    data["IOM"] = (dims, shaped(iom), {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES["IOM"][1]})
    data["SOC"] = (dims, shaped(soc), {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES["SOC"][1]})
    data["SMD"] = (dims, shaped(st.smd), {"units": "mm", "long_name": OUTPUT_VARIABLES["SMD"][1]})
    data["CO2"] = (dims, shaped(st.co2), {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES["CO2"][1]})
    for name, f in zip(_POOL_NAMES, ("dpm_age", "rpm_age", "bio_age", "hum_age"), strict=True):
        data[f"{name}_Rage"] = (
            dims,
            shaped(getattr(st, f)),
            {"units": "yr", "long_name": f"radiocarbon age of {name}"},
        )
    data["Total_Rage"] = (
        dims,
        shaped(tage),
        {"units": "yr", "long_name": OUTPUT_VARIABLES["radiocarbon_age"][1]},
    )
    data["delta14C"] = (
        dims,
        shaped(delta14c_from_age(tage)),
        {"units": "1e-3", "long_name": OUTPUT_VARIABLES["delta14C"][1]},
    )
    if months is not None:
        data["spinup_months"] = (
            dims,
            shaped(months),
            {"units": "month", "long_name": "months run by the spin-up"},
        )
    coords = {d: inputs.coords[d] for d in dims if d in inputs.coords}
    return xr.Dataset(data, coords=coords)


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
