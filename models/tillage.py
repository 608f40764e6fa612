"""The tillage effect on decomposition: a rate modifier of RothC's soil pools, from IPCC factors.

RothC-26.3 has no tillage term: its rate constants were set on ploughed arable plots at
Rothamsted (Coleman & Jenkinson [1]_), so full (inversion) tillage is the reference. Less soil
disturbance slows decomposition (aggregate protection, cooler and wetter surface); IPCC condenses
the long-term result into the stock-change factor F_MG of Table 5.5 [2]_: the ratio of the
equilibrium SOC stock under a tillage level to that under full tillage, at the same inputs.

RothC is linear in its pools: multiplying every decomposition rate constant of DPM, RPM, BIO and
HUM by ``m`` divides their equilibrium stock by ``m`` (inputs and partition unchanged). So the rate
modifier that reproduces F_MG at equilibrium is

    m = 1 / F_eff,  F_eff = 1 + s (F_MG - 1),

with ``s`` a scale (1 = the IPCC factor; :class:`models.scenarios.SoilCarbonParameters`
``tillage_scale``, calibrated on long-term experiments with ``mrv validate``). The IPCC factor
applies to the whole stock including inert organic matter (a few % of it), so ``1/F`` slightly
understates the effect on the active pools (by 3 % of the effect at IOM/SOC = 0.08); the calibration
absorbs it. The modifier applies in every month of a season under the practice, to the soil pools
only (the surface residue pool has its own decay, :mod:`models.surface`); how fast SOC moves to its
new level is then RothC's own dynamics.

References
----------
.. [1] K. Coleman and D. S. Jenkinson, "RothC - A model for the turnover of carbon in soil. Model
   description and users guide (updated June 2014)", Rothamsted Research, 2014.
.. [2] IPCC, "2019 Refinement to the 2006 IPCC Guidelines for National Greenhouse Gas
   Inventories", Vol. 4, Ch. 5, Table 5.5 (Updated), p. 5.27 (factor values and their 2-sd
   ranges in ``models/data/ipcc_stock_change_factors.csv``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models import ipcc_tier1
from models.errors import ModelInputError

__all__ = ["LEVEL_ORDER", "season_level", "tillage_rate_modifier"]

LEVEL_ORDER: tuple[str, ...] = ("no_till", "reduced_till", "full_till")
"""Tier 1 tillage levels from least to most disturbance; a season with several passes takes the
most disturbing one."""


def season_level(methods: Any) -> str | None:
    """The Tier 1 tillage level of a season from the canonical methods logged in it.

    Parameters
    ----------
    methods : iterable of str
        Canonical tillage methods (``plough``, ``rotary``, ``reduced``, ``subsoiling``, ``no_till``).

    Returns
    -------
    str or None
        The most disturbing level among them (:data:`LEVEL_ORDER`), None when nothing was logged.

    Examples
    --------
    >>> season_level(["no_till"]), season_level(["no_till", "rotary"]), season_level([])
    ('no_till', 'full_till', None)
    """
    levels = [ipcc_tier1.TILLAGE_LEVEL_OF_METHOD.get(str(m), "full_till") for m in methods]
    if not levels:
        return None
    return max(levels, key=LEVEL_ORDER.index)


def tillage_rate_modifier(level: Any, climate_zone: Any, scale: Any = 1.0, edition: str = "2019") -> Any:
    """Decomposition-rate multiplier of RothC's soil pools for a Tier 1 tillage level.

    Parameters
    ----------
    level : str or array-like of str
        ``full_till``, ``reduced_till`` or ``no_till``.
    climate_zone : str or array-like of str
        IPCC climate zone (:func:`models.ipcc_tier1.ipcc_climate_zone`).
    scale : float or array-like
        ``s`` of the module notes [1]; 1 reproduces the IPCC factor at equilibrium.
    edition : {"2019", "2006"}
        Factor table.

    Returns
    -------
    float or numpy.ndarray
        ``m = 1 / (1 + s (F_MG - 1))`` [1]; 1 for full tillage.

    Examples
    --------
    IPCC 2019 F_MG for no-till in a cool temperate dry climate is 1.03, in a cool temperate moist
    one 1.09 (Table 5.5):

    >>> round(float(tillage_rate_modifier("no_till", "cool_temperate_dry")), 4)
    0.9709
    >>> round(float(tillage_rate_modifier("no_till", "cool_temperate_moist", scale=2.0)), 4)
    0.8475
    """
    f = np.asarray(ipcc_tier1.stock_change_factor("FMG", level, climate_zone, edition), dtype=float)
    s = np.asarray(scale, dtype=float)
    f_eff = 1.0 + s * (f - 1.0)
    if np.any(f_eff <= 0):
        raise ModelInputError(
            f"tillage scale {scale!r} gives a non-positive effective factor; keep it within its range"
        )
    out = 1.0 / f_eff
    return out if out.ndim else float(out)
