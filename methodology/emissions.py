"""Project emissions of a cropland practice change: soil N2O, machinery diesel CO2, residue burning.

Pure functions (STYLE.md section 2): scalars, :class:`numpy.ndarray` or :class:`xarray.DataArray`
in (one value per plot or per plot-season), the same kind of object out; no file, database or
configuration access. Every emission factor is an argument. A keyword default is given only where
the IPCC gives one unambiguous default, and its table and page are cited where the constant is
defined. GWP values are never defaulted: the caller's methodology definition passes them
(AR4, AR5 or AR6 sets differ).

Layers (STYLE.md section 1):

(a) equations: :func:`n2o_direct_n` (Eq. 11.1), :func:`n2o_volatilisation_n` (Eq. 11.9),
    :func:`n2o_leaching_n` (Eq. 11.10), :func:`crop_dry_matter` (Eq. 11.7),
    :func:`above_ground_residue_ratio` / :func:`above_ground_residue_regression`
    (Table 11.1a / 11.2), :func:`crop_residue_n` (Eq. 11.6 (Updated)), :func:`fire_emissions`
    (Eq. 2.27), :func:`diesel_co2`, :func:`diesel_ch4_n2o`, the conversions
    :func:`n2o_n_to_n2o` and :func:`to_t_co2e`;
(b) default factors as documented module constants, :class:`SoilN2OFactors` (with
    :meth:`SoilN2OFactors.for_climate`) and :func:`straw_handling_fractions`;
(c) the runner :func:`project_emissions` -> :class:`xarray.Dataset` over (plot, year), and
    :func:`emissions_difference` (project minus baseline, signed, never clipped).

What is and is not counted
--------------------------
* **CH4 from the soil is not emitted by these practices on upland maize.** The IPCC Tier 1
  methods estimate field CH4 only for flooded rice (2019 Refinement Vol. 4 Ch. 5 section 5.5,
  Eq. 5.1); for upland (never flooded) fields the water-regime scaling factor SF_w is 0
  (Table 5.12 (Updated), "upland 0"; read in the team's domain notes, ``ipcc_tier1_factors.md``
  section 6). Tillage, straw return, fertiliser and manure on upland maize therefore add no soil
  CH4 term. The only CH4 here is from **burning straw** (a common baseline practice in China),
  :func:`fire_emissions` with Eq. 2.27.
* CO2 from burning crop residues is not counted: the 2006 and 2019 Table 2.5 note says that for
  non-woody biomass on Cropland the CO2 is balanced by regrowth and need not be reported.
* Organic soils (F_OS), grazing excreta (F_PRP) and flooded rice (EF1FR) are outside upland
  maize; F_PRP is kept as an optional input of the indirect equations because they name it.
* CO2 from urea hydrolysis and liming (2006 Vol. 4 Ch. 11 sections 11.3, 11.4) is **not**
  computed here.
* CH4 and N2O from diesel combustion are available (:func:`diesel_ch4_n2o`, factors required,
  no defaults because the off-road table was not read in the stored material) but are not part
  of :func:`project_emissions`, whose diesel term is CO2 only.

Glossary (units in brackets)
----------------------------
f_sn : synthetic fertiliser N applied [kg N] (or [kg N ha-1] for per-hectare results)
f_on : organic N applied: manure, compost, sewage sludge, other [kg N]
f_cr : N in crop residues, above- and below-ground, returned to the soil [kg N]
f_som : N mineralised from soil organic matter lost to land-use/management change [kg N]
f_prp : urine and dung N deposited by grazing animals [kg N]
ef1 : direct N2O emission factor [kg N2O-N (kg N)-1]
ef4 : N2O from volatilised and re-deposited N [kg N2O-N (kg NH3-N + NOx-N volatilised)-1]
ef5 : N2O from leached/runoff N [kg N2O-N (kg N leached)-1]
frac_gasf, frac_gasm : fraction of synthetic / organic N volatilised as NH3 and NOx [1]
frac_leach : fraction of N additions lost by leaching and runoff [1]
yield_fresh, crop_dm, ag_dm, bg_dm : reported yield, harvested dry matter, above- and below-ground
    residue dry matter [kg (d.m.) ha-1]
frac_remove, frac_burnt, combustion_factor (C_f) : straw removed, area burnt, share of the fuel
    burnt [1]
n_ag, n_bg : N content of above- / below-ground residue [kg N (kg d.m.)-1]
r_ag, rs : residue:yield ratio, root:shoot ratio [kg d.m. (kg d.m.)-1]
fuel_mass : fuel exposed to fire, M_B x A [t d.m.]; g_ef : fire emission factor [g (kg d.m. burnt)-1]
fuel_l, density, ncv, ef_co2 : diesel volume [L], density [kg L-1], net calorific value
    [MJ kg-1 = TJ Gg-1], CO2 factor [kg CO2 TJ-1]
gwp_n2o, gwp_ch4 : 100-year global warming potentials [t CO2e t-1]

References
----------
.. [1] IPCC (2019). 2019 Refinement to the 2006 IPCC Guidelines for National Greenhouse Gas
   Inventories, Vol. 4 AFOLU, Ch. 11 N2O Emissions from Managed Soils: Eq. 11.1 p. 11.6 (44/28
   conversion p. 11.7), Table 11.1 (Updated) p. 11.13, Eq. 11.6 (Updated) p. 11.16, Eq. 11.7
   p. 11.17, Table 11.1a (New) p. 11.18, Table 11.2 (Updated) p. 11.19, Eq. 11.9 p. 11.22,
   Eq. 11.10 p. 11.23, Table 11.3 (Updated) p. 11.26. https://www.ipcc-nggip.iges.or.jp/public/2019rf/
   (read in a full-text copy: ``leelakumarakula/carbon_platform_new``,
   ``methodology-docs/_text/IPCC_Ch11.txt``).
.. [2] IPCC (2006). 2006 IPCC Guidelines for National Greenhouse Gas Inventories, Vol. 4 AFOLU,
   Ch. 2: Eq. 2.27 p. 2.42, Table 2.4 p. 2.46, Table 2.5 p. 2.47, Table 2.6 p. 2.49. IGES, Hayama.
   (read in a full-text copy, ``IPCC_2006_V4_Ch02_Generic.txt`` in the same repository).
.. [3] IPCC (2019). 2019 Refinement, Vol. 4, Ch. 2: Eq. 2.27 p. 2.50, Table 2.4 (Updated) p. 2.53
   (agricultural residues: M_B = AGR x Frac_Burnt), Table 2.5 p. 2.54 (unchanged from 2006),
   Table 2.6 (Updated) p. 2.56 (read in ``IPCC_2019R_V4_Ch02_Generic.txt``).
.. [4] IPCC (2006). 2006 IPCC Guidelines, Vol. 2 Energy, Ch. 1: Table 1.2 p. 1.18 (default net
   calorific values), Table 1.4 p. 1.23 (default CO2 emission factors for combustion). Read in two
   secondary transcriptions that quote the table and page, not in the IPCC PDF itself.
.. [5] JEC (2020). JEC Well-to-Tank report v5, Annexes, Appendix 2 section 4.1 "Standard properties
   of fuels", p. 9: diesel 832 kg m-3, LHV 43.1 MJ kg-1. JRC Technical Report, Publications Office
   of the EU (read in a secondary transcription; not an IPCC value).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from models.errors import ModelInputError

__all__ = [
    "CF_MAIZE_RESIDUES",
    "DIESEL_DENSITY_JEC_KG_PER_L",
    "DRY_MAIZE",
    "EF1_AGGREGATED",
    "EF1_DRY",
    "EF1_WET_OTHER",
    "EF1_WET_SYNTHETIC",
    "EF4_AGGREGATED",
    "EF4_DRY",
    "EF4_WET",
    "EF5",
    "EF_CO2_DIESEL_KG_PER_TJ",
    "EMISSION_VARIABLES",
    "FRAC_GASF",
    "FRAC_GASF_BY_FORM",
    "FRAC_GASM",
    "FRAC_LEACH_DRY",
    "FRAC_LEACH_WET",
    "GEF_CH4_AGRICULTURAL_RESIDUES",
    "GEF_N2O_AGRICULTURAL_RESIDUES",
    "INTERCEPT_MAIZE_T_DM_HA",
    "N2O_N_TO_N2O",
    "NCV_DIESEL_MJ_PER_KG",
    "N_AG_MAIZE",
    "N_BG_MAIZE",
    "RS_MAIZE",
    "R_AG_MAIZE",
    "SLOPE_MAIZE",
    "STRAW_HANDLING",
    "SoilN2OFactors",
    "above_ground_residue_ratio",
    "above_ground_residue_regression",
    "crop_dry_matter",
    "crop_residue_n",
    "diesel_ch4_n2o",
    "diesel_co2",
    "emissions_difference",
    "fire_emissions",
    "n2o_direct_n",
    "n2o_leaching_n",
    "n2o_n_to_n2o",
    "n2o_volatilisation_n",
    "project_emissions",
    "residue_burned_fuel",
    "straw_handling_fractions",
    "to_t_co2e",
]

# --------------------------------------------------------------------------------------------
# constants: conversions and IPCC defaults (each with table and page)
# --------------------------------------------------------------------------------------------

#: N2O per N2O-N [kg N2O (kg N2O-N)-1] = 44/28 ([1]_ p. 11.7: "N2O = N2O-N * 44/28").
N2O_N_TO_N2O = 44.0 / 28.0

# Table 11.1 (Updated), [1]_ p. 11.13. Wet = temperate/boreal with annual P/PET > 1 or tropical
# with P > 1000 mm; dry otherwise (footnote 4). Synthetic EF applies to mixtures of synthetic and
# organic N (footnote 5); "other" = organic amendments, manures, crop residues, mineralised N.

#: EF1, aggregated default [kg N2O-N (kg N)-1]: 0.010 (range 0.002-0.018), Table 11.1 (Updated).
EF1_AGGREGATED = 0.010
#: EF1 for synthetic fertiliser in wet climates [kg N2O-N (kg N)-1]: 0.016 (0.013-0.019).
EF1_WET_SYNTHETIC = 0.016
#: EF1 for other N inputs in wet climates [kg N2O-N (kg N)-1]: 0.006 (0.001-0.011).
EF1_WET_OTHER = 0.006
#: EF1 for all N inputs in dry climates [kg N2O-N (kg N)-1]: 0.005 (0.000-0.011).
EF1_DRY = 0.005

# Table 11.3 (Updated), [1]_ p. 11.26.

#: EF4 aggregated [kg N2O-N (kg NH3-N + NOx-N volatilised)-1]: 0.010 (0.002-0.018).
EF4_AGGREGATED = 0.010
#: EF4 wet climate: 0.014 (0.011-0.017).
EF4_WET = 0.014
#: EF4 dry climate: 0.005 (0.000-0.011).
EF4_DRY = 0.005
#: EF5 [kg N2O-N (kg N leached/runoff)-1]: 0.011 (0.000-0.020); one value, no disaggregation.
EF5 = 0.011
#: Frac_GASF, aggregated [kg (NH3-N + NOx-N) (kg N applied)-1]: 0.11 (0.02-0.33).
FRAC_GASF = 0.11
#: Frac_GASF by fertiliser form, Table 11.3 (Updated) disaggregated column [1]. The values read
#: clearly; the uncertainty ranges in the text copy are misaligned (urea 0.03-0.43 and
#: ammonium-based 0.02-0.30 are the likely pairing), so no ranges are given here.
FRAC_GASF_BY_FORM: Mapping[str, float] = {
    "aggregated": 0.11,
    "urea": 0.15,
    "ammonium": 0.08,
    "nitrate": 0.01,
    "ammonium_nitrate": 0.05,
}
#: Frac_GASM [kg (NH3-N + NOx-N) (kg N applied or deposited)-1]: 0.21 (0.00-0.31).
FRAC_GASM = 0.21
#: Frac_LEACH-(H) in wet climates, or in dry climates under irrigation other than drip
#: [kg N (kg N additions)-1]: 0.24 (0.01-0.73), Table 11.3 (Updated) and text p. 11.25.
FRAC_LEACH_WET = 0.24
#: Frac_LEACH-(H) in dry climates without (non-drip) irrigation [1]: 0 (Table 11.3 notes, p. 11.26).
FRAC_LEACH_DRY = 0.0

# Table 11.1a (New), [1]_ p. 11.18, row "Maize". N contents carry +/-75 % (expert judgement).

#: N content of maize above-ground residue N_AG [kg N (kg d.m.)-1]: 0.006 (+/-75 %).
N_AG_MAIZE = 0.006
#: N content of maize below-ground residue N_BG [kg N (kg d.m.)-1]: 0.007 (+/-75 %).
N_BG_MAIZE = 0.007
#: Ratio of above-ground residue d.m. to harvested yield R_AG for maize [1]: 1.0 (no range given).
R_AG_MAIZE = 1.0
#: Ratio of below-ground to above-ground biomass RS for maize [1]: 0.22 (+/-26 %). The 2006 Guidelines
#: call the same ratio R_BG-BIO (from memory, unverified).
RS_MAIZE = 0.22
#: Dry-matter fraction of harvested maize DRY [kg d.m. (kg fresh)-1]: 0.87.
DRY_MAIZE = 0.87
#: Table 11.2 (Updated), [1]_ p. 11.19, maize: AG_DM = Crop x slope + intercept; slope 1.03 (+/-3 %).
SLOPE_MAIZE = 1.03
#: Intercept of Table 11.2 for maize [t d.m. ha-1]: 0.61 (+/-19 %). The 2019 table header says
#: "kg d.m. ha-1", but an intercept of 0.61 kg would be negligible; it is in t (Mg) d.m. ha-1 with
#: Crop in t d.m. ha-1 as in the 2006 Table 11.2 it updates (uncertain: unit read from context).
INTERCEPT_MAIZE_T_DM_HA = 0.61

# Fire: Eq. 2.27 with Tables 2.5 and 2.6 ([2]_, [3]_).

#: Combustion factor C_f of maize residues, post-harvest field burning [1]: 0.80 (no SD; "expert
#: assessment by authors"), 2006 Table 2.6 p. 2.49 and 2019 Table 2.6 (Updated) p. 2.56. Other
#: crops in the same rows: wheat 0.90, rice 0.80, sugarcane 0.80, other crops 0.85 (2019 only).
CF_MAIZE_RESIDUES = 0.80
#: G_ef for CH4, "Agricultural residues" [g CH4 (kg d.m. burnt)-1]: 2.7 (no SD printed), Table 2.5,
#: 2006 p. 2.47 = 2019 p. 2.54 (Andreae and Merlet 2001).
GEF_CH4_AGRICULTURAL_RESIDUES = 2.7
#: G_ef for N2O, "Agricultural residues" [g N2O (kg d.m. burnt)-1]: 0.07 (no SD printed), Table 2.5.
GEF_N2O_AGRICULTURAL_RESIDUES = 0.07

# Diesel ([4]_).

#: Net calorific value of gas/diesel oil [TJ Gg-1 = MJ kg-1]: 43.0 (95 % CI 41.4-43.3),
#: 2006 Vol. 2 Ch. 1 Table 1.2 p. 1.18 (read in secondary transcriptions).
NCV_DIESEL_MJ_PER_KG = 43.0
#: Default CO2 emission factor of gas/diesel oil [kg CO2 TJ-1]: 74,100, 2006 Vol. 2 Ch. 1 Table 1.4
#: p. 1.23 (read in secondary transcriptions; the off-road Table 3.3.1 of Ch. 3 uses the same
#: default for diesel, not read here).
EF_CO2_DIESEL_KG_PER_TJ = 74_100.0
#: Diesel density [kg L-1]: 0.832 from the JEC Well-to-Tank report v5 ([5]_). **Not an IPCC value**
#: (the IPCC publishes no fuel density), so it is never a default: pass it explicitly. Chinese
#: automotive diesel (GB 19147) spans roughly 0.81-0.85 kg L-1 at 20 degC (from memory, unverified).
DIESEL_DENSITY_JEC_KG_PER_L = 0.832

#: Straw handling -> (Frac_Remove, Frac_Burnt) [1], the keys of the activity records' residue
#: ``method`` (docs/DATA_FORMATS.md section 2): retained and mulched straw stays, removed straw
#: leaves the field, burned straw is burned on the whole harvested area.
STRAW_HANDLING: Mapping[str, tuple[float, float]] = {
    "retained": (0.0, 0.0),
    "mulched": (0.0, 0.0),
    "removed": (1.0, 0.0),
    "burned": (0.0, 1.0),
}

#: Variables of :func:`project_emissions` and :func:`emissions_difference`, all [t CO2e].
EMISSION_VARIABLES: tuple[str, ...] = (
    "n2o_direct_t_co2e",
    "n2o_indirect_t_co2e",
    "co2_diesel_t_co2e",
    "ch4_burning_t_co2e",
    "n2o_burning_t_co2e",
    "total_t_co2e",
)

_LONG_NAMES = {
    "n2o_direct_t_co2e": "direct N2O from managed soils (IPCC 2019 Vol. 4 Eq. 11.1)",
    "n2o_indirect_t_co2e": "indirect N2O: volatilisation/deposition and leaching/runoff (Eq. 11.9, 11.10)",
    "co2_diesel_t_co2e": "CO2 from machinery diesel (IPCC 2006 Vol. 2 Ch. 1 Tables 1.2, 1.4)",
    "ch4_burning_t_co2e": "CH4 from burning crop residues (IPCC 2006 Vol. 4 Eq. 2.27)",
    "n2o_burning_t_co2e": "N2O from burning crop residues (IPCC 2006 Vol. 4 Eq. 2.27)",
    "total_t_co2e": "total project emissions",
}


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _check_non_negative(name: str, x: Any) -> None:
    a = np.asarray(x, dtype=float)
    if np.any(a < 0):
        raise ModelInputError(f"{name} must be >= 0, got {x!r}")


def _check_fraction(name: str, x: Any) -> None:
    a = np.asarray(x, dtype=float)
    if np.any((a < 0) | (a > 1)):
        raise ModelInputError(f"{name} must be a fraction in [0, 1], got {x!r}")


def _check_positive(name: str, x: Any) -> None:
    a = np.asarray(x, dtype=float)
    if np.any(~(a > 0)):
        raise ModelInputError(f"{name} must be > 0, got {x!r}")


# --------------------------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------------------------


def n2o_n_to_n2o(n2o_n: Any) -> Any:
    """N2O mass from N2O-N mass (x 44/28).

    Parameters
    ----------
    n2o_n : numeric
        N2O-N [kg N2O-N] (any mass unit; the result has the same unit of N2O).

    Returns
    -------
    numeric
        N2O [kg N2O] = N2O-N x 44/28 ([1]_ p. 11.7).

    Examples
    --------
    >>> round(n2o_n_to_n2o(1.0), 4)
    1.5714
    """
    return n2o_n * N2O_N_TO_N2O


def to_t_co2e(mass_t: Any, gwp: Any) -> Any:
    """CO2 equivalent of a gas mass.

    Parameters
    ----------
    mass_t : numeric
        Mass of the gas [t gas].
    gwp : numeric
        Its 100-year global warming potential [t CO2e (t gas)-1], chosen by the methodology
        definition (no default: AR4, AR5 and AR6 values differ).

    Returns
    -------
    numeric
        [t CO2e] = mass x GWP.

    Examples
    --------
    1.5714 kg N2O with the AR6 GWP of 273:

    >>> round(to_t_co2e(n2o_n_to_n2o(1.0) / 1000, 273), 4)
    0.429
    """
    _check_positive("gwp", gwp)
    return mass_t * gwp


# --------------------------------------------------------------------------------------------
# soil N2O, IPCC 2019 Refinement Vol. 4 Ch. 11
# --------------------------------------------------------------------------------------------


def n2o_direct_n(
    f_sn: Any,
    f_on: Any = 0.0,
    f_cr: Any = 0.0,
    f_som: Any = 0.0,
    *,
    ef1: Any = EF1_AGGREGATED,
    ef1_other: Any = EF1_AGGREGATED,
) -> Any:
    """Direct N2O-N from N inputs to managed mineral soils, Tier 1 (Eq. 11.1).

    Parameters
    ----------
    f_sn : numeric
        Synthetic fertiliser N applied [kg N] (or [kg N ha-1]).
    f_on : numeric, default 0
        Organic N applied (manure, compost, ...) [kg N].
    f_cr : numeric, default 0
        N in crop residues returned to the soil, :func:`crop_residue_n` [kg N].
    f_som : numeric, default 0
        N mineralised from soil organic matter lost through land-use or management change [kg N].
    ef1 : numeric, default 0.010
        EF1 applied to F_SN [kg N2O-N (kg N)-1]. Default: the aggregated value of Table 11.1
        (Updated), [1]_ p. 11.13 (range 0.002-0.018). Disaggregated: 0.016 for synthetic N in wet
        climates, 0.005 in dry climates (:meth:`SoilN2OFactors.for_climate`).
    ef1_other : numeric, default 0.010
        EF1 applied to F_ON + F_CR + F_SOM [kg N2O-N (kg N)-1]; same aggregated default;
        disaggregated 0.006 in wet and 0.005 in dry climates.

    Returns
    -------
    numeric
        N2O-N_N inputs [kg N2O-N] (per hectare if the inputs are per hectare).

    Notes
    -----
    :math:`N_2O\\text{-}N_{N\\,inputs} = (F_{SN} + F_{ON} + F_{CR} + F_{SOM}) \\cdot EF_1`
    (Eq. 11.1, [1]_ p. 11.6), written with one EF for synthetic N and one for the other inputs
    so that the disaggregated factors of Table 11.1 can be used (Tier 2 form, Eq. 11.2). With the
    aggregated default both are 0.010 and this is Eq. 11.1 exactly. F_SN and F_ON are not reduced
    for volatilisation (footnote 11, p. 11.14). The organic-soil (F_OS), grazing (F_PRP) and
    flooded-rice (EF1FR) terms of Eq. 11.1 do not apply to upland maize and are left out.

    Examples
    --------
    100 kg N ha-1 of synthetic fertiliser with EF1 0.010 -> 1 kg N2O-N ha-1:

    >>> float(n2o_direct_n(100.0))
    1.0
    """
    for name, x in (("f_sn", f_sn), ("f_on", f_on), ("f_cr", f_cr), ("f_som", f_som)):
        _check_non_negative(name, x)
    _check_fraction("ef1", ef1)
    _check_fraction("ef1_other", ef1_other)
    return f_sn * ef1 + (f_on + f_cr + f_som) * ef1_other


def n2o_volatilisation_n(
    f_sn: Any,
    f_on: Any = 0.0,
    f_prp: Any = 0.0,
    *,
    frac_gasf: Any = FRAC_GASF,
    frac_gasm: Any = FRAC_GASM,
    ef4: Any = EF4_AGGREGATED,
) -> Any:
    """Indirect N2O-N from atmospheric deposition of N volatilised from managed soils (Eq. 11.9).

    Parameters
    ----------
    f_sn : numeric
        Synthetic fertiliser N applied [kg N].
    f_on : numeric, default 0
        Organic N applied [kg N].
    f_prp : numeric, default 0
        Urine and dung N deposited by grazing animals [kg N] (none on cropland plots).
    frac_gasf : numeric, default 0.11
        Fraction of synthetic N volatilised as NH3 + NOx [kg N (kg N applied)-1]; aggregated
        default of Table 11.3 (Updated), [1]_ p. 11.26 (range 0.02-0.33). By form:
        :data:`FRAC_GASF_BY_FORM` (urea 0.15).
    frac_gasm : numeric, default 0.21
        Fraction of organic N volatilised [kg N (kg N applied or deposited)-1]; Table 11.3
        (Updated), range 0.00-0.31.
    ef4 : numeric, default 0.010
        [kg N2O-N (kg NH3-N + NOx-N volatilised)-1]; aggregated default of Table 11.3 (Updated),
        range 0.002-0.018 (wet 0.014, dry 0.005).

    Returns
    -------
    numeric
        N2O(ATD)-N [kg N2O-N].

    Notes
    -----
    :math:`N_2O_{(ATD)}\\text{-}N = [F_{SN} \\cdot Frac_{GASF} + (F_{ON} + F_{PRP}) \\cdot
    Frac_{GASM}] \\cdot EF_4` (Eq. 11.9, [1]_ p. 11.22). Crop residue and mineralised N are not
    volatilisation sources (footnote 20, p. 11.22).

    Examples
    --------
    100 x 0.11 x 0.010 = 0.11 kg N2O-N:

    >>> round(float(n2o_volatilisation_n(100.0)), 10)
    0.11
    """
    for name, x in (("f_sn", f_sn), ("f_on", f_on), ("f_prp", f_prp)):
        _check_non_negative(name, x)
    for name, x in (("frac_gasf", frac_gasf), ("frac_gasm", frac_gasm), ("ef4", ef4)):
        _check_fraction(name, x)
    return (f_sn * frac_gasf + (f_on + f_prp) * frac_gasm) * ef4


def n2o_leaching_n(
    f_sn: Any,
    f_on: Any = 0.0,
    f_prp: Any = 0.0,
    f_cr: Any = 0.0,
    f_som: Any = 0.0,
    *,
    frac_leach: Any,
    ef5: Any = EF5,
) -> Any:
    """Indirect N2O-N from leaching and runoff of N from managed soils (Eq. 11.10).

    Parameters
    ----------
    f_sn, f_on, f_prp, f_cr, f_som : numeric
        N inputs as in :func:`n2o_direct_n` and :func:`n2o_volatilisation_n` [kg N].
    frac_leach : numeric
        Frac_LEACH-(H) [kg N (kg N additions)-1]. **No default**, because it depends on the
        climate: 0.24 (range 0.01-0.73) in wet climates or in dry climates with irrigation other
        than drip, 0 in dry climates otherwise (Table 11.3 (Updated) and its notes, [1]_ p. 11.25-
        11.26; :data:`FRAC_LEACH_WET`, :data:`FRAC_LEACH_DRY`, :meth:`SoilN2OFactors.for_climate`).
    ef5 : numeric, default 0.011
        [kg N2O-N (kg N leached)-1]; Table 11.3 (Updated), range 0.000-0.020.

    Returns
    -------
    numeric
        N2O(L)-N [kg N2O-N].

    Notes
    -----
    :math:`N_2O_{(L)}\\text{-}N = (F_{SN} + F_{ON} + F_{PRP} + F_{CR} + F_{SOM}) \\cdot
    Frac_{LEACH-(H)} \\cdot EF_5` (Eq. 11.10, [1]_ p. 11.23).

    Examples
    --------
    100 x 0.24 x 0.011 = 0.264 kg N2O-N:

    >>> round(float(n2o_leaching_n(100.0, frac_leach=0.24)), 10)
    0.264
    """
    for name, x in (("f_sn", f_sn), ("f_on", f_on), ("f_prp", f_prp), ("f_cr", f_cr), ("f_som", f_som)):
        _check_non_negative(name, x)
    _check_fraction("frac_leach", frac_leach)
    _check_fraction("ef5", ef5)
    return (f_sn + f_on + f_prp + f_cr + f_som) * frac_leach * ef5


def _by_climate(climate: Any, wet: float, dry: float) -> Any:
    if isinstance(climate, str):
        if climate not in ("wet", "dry"):
            raise ModelInputError(f"climate must be 'wet' or 'dry', got {climate!r}")
        return wet if climate == "wet" else dry
    values = np.asarray(climate)
    bad = sorted({str(v) for v in np.unique(values)} - {"wet", "dry"})
    if bad:
        raise ModelInputError(f"climate must be 'wet' or 'dry', got {bad}")
    if isinstance(climate, xr.DataArray):
        return xr.where(climate == "wet", wet, dry)
    return np.where(values == "wet", wet, dry)


@dataclasses.dataclass(frozen=True)
class SoilN2OFactors:
    """The factors of Eq. 11.1, 11.9 and 11.10 for one set of plots (scalars or per-plot arrays).

    The defaults are the aggregated Tier 1 values of Tables 11.1 and 11.3 (Updated), [1]_;
    ``frac_leach`` has none (it is 0.24 or 0 by climate). :meth:`for_climate` gives the
    climate-disaggregated set.
    """

    frac_leach: Any
    """Frac_LEACH-(H) [kg N (kg N)-1]: 0.24 wet or dry-irrigated (non-drip), 0 dry (Table 11.3)."""
    ef1: Any = EF1_AGGREGATED
    """EF1 for synthetic N [kg N2O-N (kg N)-1] (Table 11.1 (Updated), p. 11.13)."""
    ef1_other: Any = EF1_AGGREGATED
    """EF1 for organic, residue and mineralised N [kg N2O-N (kg N)-1] (Table 11.1 (Updated))."""
    ef4: Any = EF4_AGGREGATED
    """EF4 [kg N2O-N (kg NH3-N + NOx-N)-1] (Table 11.3 (Updated), p. 11.26)."""
    ef5: Any = EF5
    """EF5 [kg N2O-N (kg N leached)-1] (Table 11.3 (Updated))."""
    frac_gasf: Any = FRAC_GASF
    """Frac_GASF [kg N (kg N)-1] (Table 11.3 (Updated)); urea 0.15, see :data:`FRAC_GASF_BY_FORM`."""
    frac_gasm: Any = FRAC_GASM
    """Frac_GASM [kg N (kg N)-1] (Table 11.3 (Updated))."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_fraction(f.name, getattr(self, f.name))

    @classmethod
    def for_climate(
        cls, climate: Any, *, irrigated: Any = False, fertiliser_form: str = "aggregated"
    ) -> SoilN2OFactors:
        """The climate-disaggregated factors of Tables 11.1 and 11.3 (Updated), [1]_.

        Parameters
        ----------
        climate : {"wet", "dry"} or array of them
            Wet: temperate/boreal with annual P/PET > 1, or tropical with annual P > 1000 mm;
            dry otherwise (long-term means; Table 11.1 footnote 4). One value per plot allowed.
        irrigated : bool or array of bool, default False
            Irrigation other than drip; in a dry climate it sets Frac_LEACH-(H) to 0.24 (p. 11.25).
        fertiliser_form : str, default "aggregated"
            Key of :data:`FRAC_GASF_BY_FORM` for Frac_GASF.

        Returns
        -------
        SoilN2OFactors
            Wet: EF1 0.016 (synthetic) / 0.006 (other), EF4 0.014, Frac_LEACH 0.24.
            Dry: EF1 0.005 / 0.005, EF4 0.005, Frac_LEACH 0.24 if irrigated else 0.
            EF5 0.011 and Frac_GASM 0.21 in both.

        Examples
        --------
        >>> f = SoilN2OFactors.for_climate("dry", irrigated=True)
        >>> f.ef1, f.ef4, f.frac_leach
        (0.005, 0.005, 0.24)
        """
        if fertiliser_form not in FRAC_GASF_BY_FORM:
            raise ModelInputError(
                f"fertiliser_form {fertiliser_form!r} is unknown; use one of {sorted(FRAC_GASF_BY_FORM)}"
            )
        wet_or_irrigated = _by_climate(climate, 1.0, 0.0)
        irr = irrigated.astype(float) if isinstance(irrigated, xr.DataArray) else np.asarray(irrigated, float)
        leach_switch = np.maximum(wet_or_irrigated, irr)
        if isinstance(climate, str) and np.ndim(irrigated) == 0:
            frac_leach: Any = FRAC_LEACH_WET if float(leach_switch) > 0 else FRAC_LEACH_DRY
        else:
            frac_leach = leach_switch * FRAC_LEACH_WET
        return cls(
            frac_leach=frac_leach,
            ef1=_by_climate(climate, EF1_WET_SYNTHETIC, EF1_DRY),
            ef1_other=_by_climate(climate, EF1_WET_OTHER, EF1_DRY),
            ef4=_by_climate(climate, EF4_WET, EF4_DRY),
            ef5=EF5,
            frac_gasf=FRAC_GASF_BY_FORM[fertiliser_form],
            frac_gasm=FRAC_GASM,
        )


# --------------------------------------------------------------------------------------------
# crop residue N, Eq. 11.6 (Updated) and 11.7 with Table 11.1a / 11.2
# --------------------------------------------------------------------------------------------


def crop_dry_matter(yield_fresh: Any, dry: Any = DRY_MAIZE) -> Any:
    """Harvested dry-matter yield from the reported yield (Eq. 11.7).

    Parameters
    ----------
    yield_fresh : numeric
        Reported (fresh or field-dry) yield [kg ha-1].
    dry : numeric, default 0.87
        Dry-matter fraction of the harvested product [kg d.m. (kg fresh)-1]; default: maize,
        Table 11.1a (New), [1]_ p. 11.18. Use the reporting standard's moisture where known
        (Chinese grain statistics are usually at about 14 % moisture, i.e. 0.86; unverified).

    Returns
    -------
    numeric
        Crop [kg d.m. ha-1] = Yield_Fresh x DRY ([1]_ p. 11.17).

    Examples
    --------
    >>> round(float(crop_dry_matter(10_000.0)), 6)
    8700.0
    """
    _check_non_negative("yield_fresh", yield_fresh)
    _check_fraction("dry", dry)
    return yield_fresh * dry


def above_ground_residue_ratio(crop_dm: Any, r_ag: Any = R_AG_MAIZE) -> Any:
    """Above-ground residue dry matter from the residue:yield ratio (Eq. 11.6 (Updated), Table 11.1a).

    Parameters
    ----------
    crop_dm : numeric
        Harvested dry-matter yield [kg d.m. ha-1].
    r_ag : numeric, default 1.0
        R_AG [kg d.m. (kg d.m.)-1]; maize default of Table 11.1a (New), [1]_ p. 11.18 (no range).

    Returns
    -------
    numeric
        AG_DM [kg d.m. ha-1] = Crop x R_AG.

    Examples
    --------
    >>> float(above_ground_residue_ratio(8700.0))
    8700.0
    """
    _check_non_negative("crop_dm", crop_dm)
    _check_non_negative("r_ag", r_ag)
    return crop_dm * r_ag


def above_ground_residue_regression(
    crop_dm: Any, slope: Any = SLOPE_MAIZE, intercept_t_dm_ha: Any = INTERCEPT_MAIZE_T_DM_HA
) -> Any:
    """Above-ground residue dry matter by the regression of Table 11.2 (Updated).

    Parameters
    ----------
    crop_dm : numeric
        Harvested dry-matter yield [kg d.m. ha-1].
    slope : numeric, default 1.03
        [kg d.m. (kg d.m.)-1]; maize, Table 11.2 (Updated), [1]_ p. 11.19 (+/-3 %).
    intercept_t_dm_ha : numeric, default 0.61
        [t d.m. ha-1]; maize (+/-19 %). Unit read from context (see
        :data:`INTERCEPT_MAIZE_T_DM_HA`): the regression is in t d.m. ha-1.

    Returns
    -------
    numeric
        AG_DM [kg d.m. ha-1] = 1000 x (Crop / 1000 x slope + intercept).

    Examples
    --------
    8.7 t d.m. ha-1 of maize grain: 8.7 x 1.03 + 0.61 = 9.571 t d.m. ha-1.

    >>> round(float(above_ground_residue_regression(8700.0)), 6)
    9571.0
    """
    _check_non_negative("crop_dm", crop_dm)
    return (crop_dm / 1000.0 * slope + intercept_t_dm_ha) * 1000.0


def straw_handling_fractions(handling: Any) -> tuple[Any, Any]:
    """Frac_Remove and Frac_Burnt [1] from the straw handling of a plot-season.

    Parameters
    ----------
    handling : str or array of str
        Keys of :data:`STRAW_HANDLING`: ``retained``, ``mulched``, ``removed``, ``burned``. A
        partial practice (half the straw baled, the rest burned) is not a key: pass the fractions
        to :func:`crop_residue_n` directly.

    Returns
    -------
    (frac_remove, frac_burnt) : tuple of numeric
        Of the same shape (and kind) as ``handling``.

    Examples
    --------
    >>> straw_handling_fractions("burned")
    (0.0, 1.0)
    """
    if isinstance(handling, str):
        if handling not in STRAW_HANDLING:
            raise ModelInputError(
                f"straw handling {handling!r} is unknown; use one of {sorted(STRAW_HANDLING)}"
            )
        return STRAW_HANDLING[handling]
    values = np.asarray(handling)
    bad = sorted({str(v) for v in np.unique(values)} - set(STRAW_HANDLING))
    if bad:
        raise ModelInputError(f"straw handling {bad} is unknown; use one of {sorted(STRAW_HANDLING)}")
    remove = np.vectorize(lambda h: STRAW_HANDLING[h][0], otypes=[float])(values)
    burnt = np.vectorize(lambda h: STRAW_HANDLING[h][1], otypes=[float])(values)
    if isinstance(handling, xr.DataArray):
        return handling.copy(data=remove), handling.copy(data=burnt)
    return remove, burnt


def crop_residue_n(
    crop_dm: Any,
    ag_dm: Any,
    *,
    frac_remove: Any,
    frac_burnt: Any,
    combustion_factor: Any = CF_MAIZE_RESIDUES,
    n_ag: Any = N_AG_MAIZE,
    n_bg: Any = N_BG_MAIZE,
    rs: Any = RS_MAIZE,
    frac_renew: Any = 1.0,
) -> Any:
    """N in crop residues returned to the soil, F_CR, per hectare (Eq. 11.6 (Updated)).

    Parameters
    ----------
    crop_dm : numeric
        Harvested dry-matter yield, :func:`crop_dry_matter` [kg d.m. ha-1].
    ag_dm : numeric
        Above-ground residue dry matter, :func:`above_ground_residue_ratio` or
        :func:`above_ground_residue_regression` [kg d.m. ha-1].
    frac_remove : numeric
        Fraction of the above-ground residue removed (feed, bedding, fuel, sale) [1]. Required:
        the straw handling is the practice being accounted. IPCC: "If data for FracRemove are not
        available, assume no removal" ([1]_ p. 11.16), i.e. 0. :func:`straw_handling_fractions`.
    frac_burnt : numeric
        Fraction of the harvested area whose residue is burned [1]. Required (activity data).
    combustion_factor : numeric, default 0.80
        C_f [1]; maize residues, Table 2.6 ([2]_ p. 2.49; [3]_ p. 2.56). Only the burned
        fraction x C_f leaves the field; the unburned (1 - C_f) stays in F_CR.
    n_ag, n_bg : numeric, default 0.006, 0.007
        N content of above- and below-ground residue [kg N (kg d.m.)-1]; maize, Table 11.1a
        (New), [1]_ p. 11.18, +/-75 % (expert judgement, the largest uncertainty here).
    rs : numeric, default 0.22
        RS, below-ground to above-ground biomass [kg d.m. (kg d.m.)-1]; maize, Table 11.1a (+/-26 %).
    frac_renew : numeric, default 1
        Fraction of the area renewed [1]; 1 for annual crops ([1]_ p. 11.17).

    Returns
    -------
    numeric
        F_CR [kg N ha-1].

    Raises
    ------
    ModelInputError
        If a fraction lies outside [0, 1] or Frac_Remove + Frac_Burnt x C_f exceeds 1.

    Notes
    -----
    Per hectare (Area = 1), Eq. 11.6 (Updated), [1]_ p. 11.16:

    .. math::

        F_{CR} = AG_{DM} \\cdot N_{AG} \\cdot (1 - Frac_{Remove} - Frac_{Burnt} \\cdot C_f)
                 + (Crop + AG_{DM}) \\cdot RS \\cdot Frac_{Renew} \\cdot N_{BG}

    Roots always stay: removing or burning straw lowers only the above-ground term.

    Examples
    --------
    10 t ha-1 maize (8700 kg d.m.), straw retained:
    8700 x 0.006 + (8700 + 8700) x 0.22 x 0.007 = 52.2 + 26.796 = 78.996 kg N ha-1.

    >>> round(float(crop_residue_n(8700.0, 8700.0, frac_remove=0.0, frac_burnt=0.0)), 6)
    78.996
    """
    _check_non_negative("crop_dm", crop_dm)
    _check_non_negative("ag_dm", ag_dm)
    for name, x in (
        ("frac_remove", frac_remove),
        ("frac_burnt", frac_burnt),
        ("combustion_factor", combustion_factor),
        ("n_ag", n_ag),
        ("n_bg", n_bg),
        ("frac_renew", frac_renew),
    ):
        _check_fraction(name, x)
    _check_non_negative("rs", rs)
    left = 1.0 - frac_remove - frac_burnt * combustion_factor
    if np.any(np.asarray(left, dtype=float) < -1e-12):
        raise ModelInputError(
            "Frac_Remove + Frac_Burnt x C_f exceeds 1 (more straw removed and burned than grew): "
            f"frac_remove={frac_remove!r}, frac_burnt={frac_burnt!r}, combustion_factor={combustion_factor!r}"
        )
    return ag_dm * n_ag * left + (crop_dm + ag_dm) * rs * frac_renew * n_bg


def residue_burned_fuel(ag_dm: Any, frac_burnt: Any) -> Any:
    """Residue fuel exposed to fire, M_B, per hectare (2019 Table 2.4 (Updated), agricultural residues).

    Parameters
    ----------
    ag_dm : numeric
        Above-ground residue dry matter [kg d.m. ha-1].
    frac_burnt : numeric
        Fraction of the harvested area burned [1].

    Returns
    -------
    numeric
        M_B [t d.m. ha-1] = AG_DM x Frac_Burnt / 1000 ([3]_ p. 2.53: "M_B = AGR(T) x FracBurnt(T)").
        The 2006 Table 2.4 gives instead a fixed M_B x C_f = 10.0 t d.m. ha-1 for maize residues
        ([2]_ p. 2.46), far above smallholder yields; use it only when no yield is known.

    Examples
    --------
    >>> float(residue_burned_fuel(8700.0, 1.0))
    8.7
    """
    _check_non_negative("ag_dm", ag_dm)
    _check_fraction("frac_burnt", frac_burnt)
    return ag_dm * frac_burnt / 1000.0


# --------------------------------------------------------------------------------------------
# fire, Eq. 2.27
# --------------------------------------------------------------------------------------------


def fire_emissions(
    fuel_mass_t_dm: Any,
    *,
    g_ef: Any,
    combustion_factor: Any = CF_MAIZE_RESIDUES,
) -> Any:
    """Mass of one greenhouse gas emitted by burning crop residues (Eq. 2.27).

    Parameters
    ----------
    fuel_mass_t_dm : numeric
        Residue exposed to the fire, A x M_B [t d.m.] (per hectare: M_B [t d.m. ha-1]); M_B is the
        fuel available before combustion (:func:`residue_burned_fuel`), not the mass burnt.
    g_ef : numeric
        Emission factor [g gas (kg d.m. burnt)-1]. Required (it names the gas): "Agricultural
        residues" in Table 2.5 ([2]_ p. 2.47, [3]_ p. 2.54): CH4 2.7
        (:data:`GEF_CH4_AGRICULTURAL_RESIDUES`), N2O 0.07 (:data:`GEF_N2O_AGRICULTURAL_RESIDUES`);
        means of the Andreae and Merlet (2001) review, no SD printed for these two.
    combustion_factor : numeric, default 0.80
        C_f, share of the fuel actually burnt [1]; maize residues, Table 2.6 ([2]_ p. 2.49,
        [3]_ p. 2.56; "expert assessment", no SD). Wheat 0.90, rice 0.80.

    Returns
    -------
    numeric
        L_fire [t gas] = A x M_B x C_f x G_ef x 10^-3 (Eq. 2.27, [2]_ p. 2.42, [3]_ p. 2.50).

    Examples
    --------
    1 t d.m. maize straw: 1 x 0.80 x 2.7 x 10^-3 = 0.00216 t CH4 and 1 x 0.80 x 0.07 x 10^-3 =
    0.000056 t N2O.

    >>> round(float(fire_emissions(1.0, g_ef=GEF_CH4_AGRICULTURAL_RESIDUES)), 8)
    0.00216
    """
    _check_non_negative("fuel_mass_t_dm", fuel_mass_t_dm)
    _check_non_negative("g_ef", g_ef)
    _check_fraction("combustion_factor", combustion_factor)
    return fuel_mass_t_dm * combustion_factor * g_ef * 1e-3


# --------------------------------------------------------------------------------------------
# diesel
# --------------------------------------------------------------------------------------------


def _diesel_energy_tj(fuel_l: Any, density_kg_per_l: Any, ncv_mj_per_kg: Any) -> Any:
    _check_non_negative("fuel_l", fuel_l)
    _check_positive("density_kg_per_l", density_kg_per_l)
    _check_positive("ncv_mj_per_kg", ncv_mj_per_kg)
    return fuel_l * density_kg_per_l * ncv_mj_per_kg * 1e-6


def diesel_co2(
    fuel_l: Any,
    *,
    density_kg_per_l: Any,
    ncv_mj_per_kg: Any = NCV_DIESEL_MJ_PER_KG,
    ef_co2_kg_per_tj: Any = EF_CO2_DIESEL_KG_PER_TJ,
) -> Any:
    """CO2 from burning diesel in farm machinery.

    Parameters
    ----------
    fuel_l : numeric
        Diesel used [L] (per hectare: [L ha-1]).
    density_kg_per_l : numeric
        Diesel density [kg L-1]. **Required**: the IPCC gives no density. 0.832 from the JEC
        Well-to-Tank report v5 is :data:`DIESEL_DENSITY_JEC_KG_PER_L` ([5]_).
    ncv_mj_per_kg : numeric, default 43.0
        Net calorific value [MJ kg-1 = TJ Gg-1]; gas/diesel oil, 2006 Vol. 2 Ch. 1 Table 1.2
        p. 1.18, 95 % CI 41.4-43.3 ([4]_).
    ef_co2_kg_per_tj : numeric, default 74,100
        [kg CO2 TJ-1]; gas/diesel oil, 2006 Vol. 2 Ch. 1 Table 1.4 p. 1.23 ([4]_); the default
        assumes full oxidation.

    Returns
    -------
    numeric
        [t CO2] = fuel x density x NCV x 10^-6 [TJ] x EF / 1000.

    Examples
    --------
    10 L: 10 x 0.832 = 8.32 kg; x 43.0 MJ kg-1 = 357.76 MJ = 3.5776e-4 TJ; x 74,100 kg TJ-1 =
    26.51 kg CO2.

    >>> round(float(diesel_co2(10.0, density_kg_per_l=0.832)), 6)
    0.02651
    """
    _check_non_negative("ef_co2_kg_per_tj", ef_co2_kg_per_tj)
    return _diesel_energy_tj(fuel_l, density_kg_per_l, ncv_mj_per_kg) * ef_co2_kg_per_tj / 1000.0


def diesel_ch4_n2o(
    fuel_l: Any,
    *,
    density_kg_per_l: Any,
    ef_ch4_kg_per_tj: Any,
    ef_n2o_kg_per_tj: Any,
    ncv_mj_per_kg: Any = NCV_DIESEL_MJ_PER_KG,
) -> tuple[Any, Any]:
    """CH4 and N2O from burning diesel in farm machinery (Tier 1 energy-based).

    Parameters
    ----------
    fuel_l : numeric
        Diesel used [L].
    density_kg_per_l : numeric
        Diesel density [kg L-1] (no IPCC default).
    ef_ch4_kg_per_tj, ef_n2o_kg_per_tj : numeric
        [kg gas TJ-1]. **No defaults**: the off-road Table 3.3.1 of 2006 Vol. 2 Ch. 3 ("Agriculture",
        diesel; recalled as CH4 4.15 and N2O 28.6 kg TJ-1) was not read in the stored material.
        With those values N2O adds about 10 % to the CO2e of diesel, so a methodology that counts
        it should pass verified factors.
    ncv_mj_per_kg : numeric, default 43.0
        [MJ kg-1]; Table 1.2 ([4]_).

    Returns
    -------
    (ch4, n2o) : tuple of numeric
        [t CH4], [t N2O].
    """
    _check_non_negative("ef_ch4_kg_per_tj", ef_ch4_kg_per_tj)
    _check_non_negative("ef_n2o_kg_per_tj", ef_n2o_kg_per_tj)
    tj = _diesel_energy_tj(fuel_l, density_kg_per_l, ncv_mj_per_kg)
    return tj * ef_ch4_kg_per_tj / 1000.0, tj * ef_n2o_kg_per_tj / 1000.0


# --------------------------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------------------------


def _as_dataarray(name: str, x: Any) -> xr.DataArray:
    if isinstance(x, xr.DataArray):
        return x
    if np.ndim(x) == 0:
        return xr.DataArray(float(x))
    raise ModelInputError(
        f"{name} must be an xarray.DataArray with named dims (plot, year[, season]) or a scalar; "
        f"got {type(x).__name__} of shape {np.shape(x)}"
    )


def project_emissions(
    synthetic_n: Any,
    manure_n: Any,
    residue_n: Any,
    diesel_l: Any,
    burned_residue_t_dm: Any,
    area_ha: Any,
    *,
    n2o_factors: SoilN2OFactors,
    gwp_n2o: float,
    gwp_ch4: float,
    diesel_density_kg_per_l: Any,
    diesel_ncv_mj_per_kg: Any = NCV_DIESEL_MJ_PER_KG,
    diesel_ef_co2_kg_per_tj: Any = EF_CO2_DIESEL_KG_PER_TJ,
    combustion_factor: Any = CF_MAIZE_RESIDUES,
    g_ef_ch4: Any = GEF_CH4_AGRICULTURAL_RESIDUES,
    g_ef_n2o: Any = GEF_N2O_AGRICULTURAL_RESIDUES,
    season_dim: str = "season",
) -> xr.Dataset:
    """Emissions of one scenario (project or baseline) per plot and year [t CO2e].

    Parameters
    ----------
    synthetic_n : xarray.DataArray or scalar
        F_SN per plot-season [kg N ha-1], dims ``(plot, year)`` or ``(plot, year, season)``.
    manure_n : xarray.DataArray or scalar
        F_ON (manure, compost) [kg N ha-1].
    residue_n : xarray.DataArray or scalar
        F_CR [kg N ha-1] from :func:`crop_residue_n`, which already reflects the straw handling.
    diesel_l : xarray.DataArray or scalar
        Machinery diesel [L ha-1].
    burned_residue_t_dm : xarray.DataArray or scalar
        Residue exposed to fire, M_B [t d.m. ha-1] (:func:`residue_burned_fuel`; 0 if no burning).
        Keep it consistent with the Frac_Burnt used for ``residue_n``.
    area_ha : xarray.DataArray or scalar
        Plot area [ha], dims ``(plot,)`` (or any subset of the dims above).
    n2o_factors : SoilN2OFactors
        The soil N2O factors (aggregated defaults with a Frac_LEACH, or
        :meth:`SoilN2OFactors.for_climate`); fields may be per-plot DataArrays.
    gwp_n2o, gwp_ch4 : float
        100-year GWPs [t CO2e t-1] of the methodology definition (no defaults).
    diesel_density_kg_per_l : numeric
        [kg L-1], no IPCC default (:func:`diesel_co2`).
    diesel_ncv_mj_per_kg, diesel_ef_co2_kg_per_tj : numeric
        [MJ kg-1], [kg CO2 TJ-1]; defaults 43.0 and 74,100 (:func:`diesel_co2`).
    combustion_factor, g_ef_ch4, g_ef_n2o : numeric
        C_f [1], G_ef CH4 and N2O [g (kg d.m.)-1]; defaults maize / agricultural residues
        (:func:`fire_emissions`).
    season_dim : str, default "season"
        If the inputs carry this dim, emissions are summed over it (NaN propagates).

    Returns
    -------
    xarray.Dataset
        Over ``(plot, year)`` (plus any other dims of the inputs, e.g. ``draw``), variables
        :data:`EMISSION_VARIABLES`, each with ``units = "t CO2e"``:
        ``n2o_direct_t_co2e`` (Eq. 11.1), ``n2o_indirect_t_co2e`` (Eq. 11.9 + 11.10),
        ``co2_diesel_t_co2e``, ``ch4_burning_t_co2e`` and ``n2o_burning_t_co2e`` (Eq. 2.27),
        ``total_t_co2e`` (their sum). No soil CH4 term: upland maize emits none under these
        practices (module notes). Attributes record the GWPs.

    Notes
    -----
    Per plot-season, with area A [ha]: F = rate x A [kg N]; N2O [t CO2e] = N2O-N x 44/28 /
    1000 x GWP_N2O; diesel and fire as in :func:`diesel_co2` and :func:`fire_emissions` with
    fuel = rate x A.

    Examples
    --------
    One plot of 0.5 ha, 100 kg N ha-1, 20 L ha-1 diesel, no burning, aggregated factors,
    Frac_LEACH 0.24, AR5 GWPs:

    >>> da = lambda v: xr.DataArray([[v]], coords={"plot": ["p1"], "year": [2025]})
    >>> ds = project_emissions(da(100.0), 0.0, 0.0, da(20.0), 0.0, 0.5,
    ...     n2o_factors=SoilN2OFactors(frac_leach=0.24), gwp_n2o=265, gwp_ch4=28,
    ...     diesel_density_kg_per_l=0.832)
    >>> round(float(ds["total_t_co2e"].sel(plot="p1", year=2025)), 5)
    0.3126
    """
    if not isinstance(n2o_factors, SoilN2OFactors):
        raise ModelInputError(
            f"n2o_factors must be a SoilN2OFactors, got {type(n2o_factors).__name__}; "
            "use SoilN2OFactors(frac_leach=...) or SoilN2OFactors.for_climate(...)"
        )
    _check_positive("gwp_n2o", gwp_n2o)
    _check_positive("gwp_ch4", gwp_ch4)
    inputs = {
        "synthetic_n": synthetic_n,
        "manure_n": manure_n,
        "residue_n": residue_n,
        "diesel_l": diesel_l,
        "burned_residue_t_dm": burned_residue_t_dm,
        "area_ha": area_ha,
    }
    arrays = {k: _as_dataarray(k, v) for k, v in inputs.items()}
    for k, v in arrays.items():
        _check_non_negative(k, v)
    area = arrays["area_ha"]
    f_sn = arrays["synthetic_n"] * area
    f_on = arrays["manure_n"] * area
    f_cr = arrays["residue_n"] * area
    fac = n2o_factors

    direct_n = n2o_direct_n(f_sn, f_on, f_cr, ef1=fac.ef1, ef1_other=fac.ef1_other)
    indirect_n = n2o_volatilisation_n(
        f_sn, f_on, frac_gasf=fac.frac_gasf, frac_gasm=fac.frac_gasm, ef4=fac.ef4
    ) + n2o_leaching_n(f_sn, f_on, 0.0, f_cr, frac_leach=fac.frac_leach, ef5=fac.ef5)

    def n2o_t_co2e(n2o_n_kg: Any) -> Any:
        return to_t_co2e(n2o_n_to_n2o(n2o_n_kg) / 1000.0, gwp_n2o)

    fuel = arrays["burned_residue_t_dm"] * area
    parts = {
        "n2o_direct_t_co2e": n2o_t_co2e(direct_n),
        "n2o_indirect_t_co2e": n2o_t_co2e(indirect_n),
        "co2_diesel_t_co2e": diesel_co2(
            arrays["diesel_l"] * area,
            density_kg_per_l=diesel_density_kg_per_l,
            ncv_mj_per_kg=diesel_ncv_mj_per_kg,
            ef_co2_kg_per_tj=diesel_ef_co2_kg_per_tj,
        ),
        "ch4_burning_t_co2e": to_t_co2e(
            fire_emissions(fuel, g_ef=g_ef_ch4, combustion_factor=combustion_factor), gwp_ch4
        ),
        "n2o_burning_t_co2e": to_t_co2e(
            fire_emissions(fuel, g_ef=g_ef_n2o, combustion_factor=combustion_factor), gwp_n2o
        ),
    }
    template = sum(xr.zeros_like(_as_dataarray(k, v), dtype=float) for k, v in parts.items())
    out: dict[str, xr.DataArray] = {}
    for k, v in parts.items():
        da = _as_dataarray(k, v) + template
        if season_dim in da.dims:
            da = da.sum(season_dim, skipna=False)
        out[k] = da
    missing = {"plot", "year"} - set(out["n2o_direct_t_co2e"].dims)
    if missing:
        raise ModelInputError(
            f"the inputs give no {sorted(missing)} dim; pass at least one input as a DataArray over "
            "(plot, year[, season]) with plot ids and years as coordinates"
        )
    out["total_t_co2e"] = sum(out[k] for k in parts)  # type: ignore[assignment]
    ds = xr.Dataset(
        {
            k: v.transpose("plot", "year", ...).assign_attrs(units="t CO2e", long_name=_LONG_NAMES[k])
            for k, v in out.items()
        }
    )
    ds.attrs.update(
        gwp_n2o=float(gwp_n2o),
        gwp_ch4=float(gwp_ch4),
        soil_ch4="not counted: upland maize is not a CH4 source under IPCC Tier 1 (flooded rice only)",
    )
    return ds


def emissions_difference(project: xr.Dataset, baseline: xr.Dataset) -> xr.Dataset:
    """Project minus baseline emissions per plot and year [t CO2e], signed and never clipped.

    Parameters
    ----------
    project, baseline : xarray.Dataset
        Outputs of :func:`project_emissions` for the same plots and years.

    Returns
    -------
    xarray.Dataset
        The variables of :data:`EMISSION_VARIABLES`, each project - baseline [t CO2e]. A negative
        value is an emission reduction (e.g. straw no longer burned), a positive value an increase
        (e.g. more residue N returned to the soil); both are reported as they are.
        ``total_t_co2e`` is the ``emissions`` input of :func:`methodology.accounting.account`.

    Raises
    ------
    ModelInputError
        If a variable is missing, a unit is not t CO2e, or the plots/years differ.
    """
    for label, ds in (("project", project), ("baseline", baseline)):
        for v in EMISSION_VARIABLES:
            if v not in ds:
                raise ModelInputError(f"{label} emissions lack {v!r}; build them with project_emissions")
            if ds[v].attrs.get("units") != "t CO2e":
                raise ModelInputError(f"{label} {v} must be in t CO2e, got {ds[v].attrs.get('units')!r}")
    try:
        p, b = xr.align(project[list(EMISSION_VARIABLES)], baseline[list(EMISSION_VARIABLES)], join="exact")
    except ValueError as exc:
        raise ModelInputError(
            f"project and baseline emissions must cover the same plots and years: {exc}"
        ) from exc
    diff = p - b
    for v in EMISSION_VARIABLES:
        diff[v].attrs.update(units="t CO2e", long_name=f"{_LONG_NAMES[v]}, project minus baseline")
    diff.attrs.update(
        sign="project minus baseline: negative = emission reduction, positive = increase (not clipped)"
    )
    return diff
