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

Modules (import from ``models.rothc``): :mod:`models.rothc.parameters` (the parameter set, its index in
the kernels' parameter vector, the variable tables), :mod:`models.rothc.kernels` (the compiled month
step, the blocked monthly runner, the radiocarbon age), :mod:`models.rothc.spinup` (the reference and
the accelerated/analytic spin-up kernels), :mod:`models.rothc.equations` (layer (a)),
:mod:`models.rothc.state` (the state) and :mod:`models.rothc.run` (input checks and the runners).

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
* optional, not in RothC-26.3: an input ``rate_mod`` [1] multiplies ``a`` (every soil pool's rate), the
  hook of the tillage effect (:mod:`models.tillage`); without it the model is the official one;
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

from models.rothc.equations import (
    clay_partition_ratio,
    delta14c_from_age,
    falloon_iom,
    max_tsmd,
    rate_modifier_cover,
    rate_modifier_moisture,
    rate_modifier_temperature,
    update_smd,
)
from models.rothc.parameters import DELTA14C_MEAN_LIFE as DELTA14C_MEAN_LIFE
from models.rothc.parameters import (
    FORCING_VARIABLES,
    OUTPUT_VARIABLES,
    RATE_MODIFIER,
    SOIL_VARIABLES,
    RothCParameters,
)
from models.rothc.parameters import IOM_AGE as IOM_AGE
from models.rothc.run import (
    RothCConvergenceWarning,
    equilibrium,
    fit_plant_input_to_soc,
    rothc_step,
    run_rothc,
)
from models.rothc.state import RothCState

__all__ = [
    "FORCING_VARIABLES",
    "RATE_MODIFIER",
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
