"""RothC-26.3 constants and variable tables.

:class:`RothCParameters` (the official Fortran's single-precision literals by default, or their
decimal values), the index of each parameter in the float64 vector the compiled kernels take
(``_K_DPM`` ... ``_CONR``), the ages and mean-life of the radiocarbon accounting, and the forcing,
soil and output variables with their units. The citations [1]_ and [2]_ are the references of the
package docstring (:mod:`models.rothc`), which also gives the line references of each equation.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

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

#: Optional input: a multiplier [1] of the decomposition rate of every soil pool, applied with the
#: temperature modifier ``a`` (so the ``a`` output includes it). RothC-26.3 has none; the model chain
#: uses it for the tillage effect (:mod:`models.tillage`). Absent, the model is the official one.
RATE_MODIFIER = "rate_mod"

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
