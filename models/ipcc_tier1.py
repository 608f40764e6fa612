"""IPCC Tier 1 stock-change method for mineral cropland soils.

Three layers, as in pvlib (STYLE.md section 1):

(a) pure equations: :func:`soc_stock` and :func:`annual_stock_change` (IPCC Eq. 2.25);
(b) parameter tables as documented module constants loaded from versioned package data
    (``models/data/ipcc_soc_ref.csv`` and ``models/data/ipcc_stock_change_factors.csv``),
    with lookup helpers that fail with a message naming the bad key and the valid choices:
    :data:`SOC_REF_PARAMETERS`, :data:`STOCK_CHANGE_FACTOR_PARAMETERS`, :func:`soc_ref`,
    :func:`stock_change_factor`, :func:`ipcc_climate_zone`, :func:`soil_class_from_wrb`;
(c) a runner, :func:`tier1_stock_change`, returning a :class:`Tier1Result`, plus
    :func:`sample_factors` for Monte Carlo draws.

Both factor editions are kept as data: the 2006 Guidelines and the 2019 Refinement. Choose one
with ``edition="2006"`` or ``edition="2019"``; the default is the 2019 Refinement.

Every lookup and equation accepts a scalar, a :class:`numpy.ndarray` or an
:class:`xarray.DataArray` (one value per plot) and returns the same kind of object.

Glossary (units in brackets)
----------------------------
soc_ref : reference SOC stock under native vegetation, 0-30 cm [t C ha-1]
f_lu, f_mg, f_i : land-use, management (tillage) and input stock-change factors [1]
soc_0, soc_0_minus_t : SOC stock at the end / start of the inventory period [t C ha-1]
d : time dependence of the stock-change factors [yr]; t : length of the period [yr]

References
----------
.. [1] IPCC (2006). 2006 IPCC Guidelines for National Greenhouse Gas Inventories, Vol. 4 AFOLU.
   Ch. 2 (Eq. 2.25 p. 2.30; Table 2.3 p. 2.31), Ch. 3 Annex 3A.5 (climate zones),
   Ch. 5 (Table 5.5). IGES, Hayama. https://www.ipcc-nggip.iges.or.jp/public/2006gl/
.. [2] IPCC (2019). 2019 Refinement to the 2006 IPCC Guidelines, Vol. 4 AFOLU. Ch. 2
   (Eq. 2.25 p. 2.33; Table 2.3 (Updated) p. 2.35), Ch. 5 (Table 5.5 (Updated) p. 5.27;
   calculation steps section 5.2.3.4 p. 5.37-5.38). https://www.ipcc-nggip.iges.or.jp/public/2019rf/
.. [3] IPCC (2006). 2006 IPCC Guidelines, Vol. 1 General Guidance, Ch. 3 Uncertainties,
   section 3.2.2.4 (choosing probability density functions) and 3.2.3.2 (Approach 2, Monte Carlo).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from models.errors import ModelInputError, ParameterLookupError
from models.soil import IPCC_SOIL_CLASSES

__all__ = [
    "CLIMATE_ZONES",
    "D_DEFAULT",
    "EDITIONS",
    "FACTOR_LEVELS",
    "INPUT_LEVELS",
    "INPUT_LEVEL_OF_RESIDUE",
    "TILLAGE_LEVEL_OF_METHOD",
    "period_levels",
    "plot_period_levels",
    "practice_levels",
    "LAND_USE_LEVELS",
    "SOC_REF_PARAMETERS",
    "SOIL_CLASSES",
    "STOCK_CHANGE_FACTOR_PARAMETERS",
    "TILLAGE_LEVELS",
    "WRB_SOIL_CLASS",
    "Management",
    "TableValue",
    "Tier1Result",
    "annual_stock_change",
    "ipcc_climate_zone",
    "management_factors",
    "sample_factors",
    "soc_ref",
    "soc_ref_entry",
    "soc_stock",
    "soil_class_from_wrb",
    "stock_change_factor",
    "stock_change_factor_entry",
    "tier1_stock_change",
]

#: Factor editions held as data: the 2006 Guidelines [1]_ and the 2019 Refinement [2]_.
EDITIONS: tuple[str, ...] = ("2006", "2019")

#: IPCC default climate zones (2006 Vol. 4 Ch. 3 Annex 3A.5; 2019 Refinement Table 2.3 rows).
#: ``cool_temperate`` is called "cold temperate" in the 2006 Table 2.3.
CLIMATE_ZONES: tuple[str, ...] = (
    "polar_moist",
    "polar_dry",
    "boreal_moist",
    "boreal_dry",
    "cool_temperate_moist",
    "cool_temperate_dry",
    "warm_temperate_moist",
    "warm_temperate_dry",
    "tropical_montane",
    "tropical_wet",
    "tropical_moist",
    "tropical_dry",
)

#: Mineral soil classes of Table 2.3 (both editions): :data:`models.soil.IPCC_SOIL_CLASSES`.
SOIL_CLASSES: tuple[str, ...] = IPCC_SOIL_CLASSES

#: F_LU levels of Table 5.5 (cropland).
LAND_USE_LEVELS: tuple[str, ...] = ("long_term_cultivated", "paddy_rice", "perennial_tree_crop", "set_aside")
#: F_MG levels of Table 5.5 (tillage).
TILLAGE_LEVELS: tuple[str, ...] = ("full_till", "reduced_till", "no_till")
#: F_I levels of Table 5.5 (carbon input).
INPUT_LEVELS: tuple[str, ...] = ("low", "medium", "high_without_manure", "high_with_manure")
#: Valid levels per factor name.
FACTOR_LEVELS: dict[str, tuple[str, ...]] = {
    "FLU": LAND_USE_LEVELS,
    "FMG": TILLAGE_LEVELS,
    "FI": INPUT_LEVELS,
}

#: Logged tillage methods (DATA_FORMATS.md section 2) -> F_MG level of Table 5.5. The 2006
#: Guidelines Vol. 4 Table 5.5 define full tillage as "substantial soil disturbance with full
#: inversion and/or frequent (within year) tillage operations", reduced tillage as "primary and/or
#: secondary tillage but with reduced soil disturbance (usually shallow and without full soil
#: inversion)" and no-till as "direct seeding without primary tillage, with only minimal soil
#: disturbance in the seeding zone". Rotary tillage and subsoiling are counted as full tillage here
#: (frequent or deep disturbance; a conservative choice that gives no Tier 1 credit for them).
TILLAGE_LEVEL_OF_METHOD: dict[str, str] = {
    "plough": "full_till",
    "rotary": "full_till",
    "subsoiling": "full_till",
    "reduced": "reduced_till",
    "no_till": "no_till",
}

#: Logged residue handling -> F_I level of Table 5.5: "low" is "residue removal or burning",
#: "medium" is the crop's residues returned to the field (2006 Vol. 4 Table 5.5 definitions).
INPUT_LEVEL_OF_RESIDUE: dict[str, str] = {
    "removed": "low",
    "burned": "low",
    "retained": "medium",
    "mulched": "medium",
}


def practice_levels(tillage: Any, residue: Any) -> tuple[np.ndarray, np.ndarray]:
    """Table 5.5 tillage and input levels of logged practices (per plot).

    Parameters
    ----------
    tillage, residue : array_like of str or None
        Canonical tillage methods and residue handling per plot (None where nothing is logged).

    Returns
    -------
    tillage_level, input_level : numpy.ndarray of str
        :data:`TILLAGE_LEVEL_OF_METHOD` and :data:`INPUT_LEVEL_OF_RESIDUE` of each plot; a plot
        without a tillage record is ``full_till`` and one without a residue record ``low`` (the
        conservative defaults: no Tier 1 credit without a logged practice).

    Examples
    --------
    >>> [x.tolist() for x in practice_levels(["no_till", None], ["mulched", "removed"])]
    [['no_till', 'full_till'], ['medium', 'low']]
    """
    till = np.array([TILLAGE_LEVEL_OF_METHOD.get(t, "full_till") for t in np.asarray(tillage, dtype=object)])
    inp = np.array([INPUT_LEVEL_OF_RESIDUE.get(r, "low") for r in np.asarray(residue, dtype=object)])
    return till, inp


def period_levels(levels_by_year: Sequence[Sequence[str]]) -> tuple[str, str]:
    """The Tier 1 levels of a period from each year's levels (one plot).

    No-till counts only when it is practised in every year of the period: IPCC 2019 Vol. 4 Ch. 5
    p. 5.33 ("no-till ... practised continuously"; occasional tillage puts a system back in
    reduced or full tillage); likewise reduced tillage needs every year reduced or no-till, and
    the medium input level residue returned every year.

    Parameters
    ----------
    levels_by_year : sequence of (tillage_level, input_level)
        One pair per year of the period.

    Returns
    -------
    tillage_level, input_level : str

    Examples
    --------
    >>> period_levels([("no_till", "medium"), ("no_till", "medium")])
    ('no_till', 'medium')
    >>> period_levels([("no_till", "medium"), ("full_till", "low")])
    ('full_till', 'low')
    >>> period_levels([("reduced_till", "medium"), ("no_till", "medium")])
    ('reduced_till', 'medium')
    """
    till = [t for t, _ in levels_by_year]
    inp = [i for _, i in levels_by_year]
    if not till:
        return "full_till", "low"
    if all(t == "no_till" for t in till):
        tillage = "no_till"
    elif all(t in ("no_till", "reduced_till") for t in till):
        tillage = "reduced_till"
    else:
        tillage = "full_till"
    return tillage, ("medium" if all(i == "medium" for i in inp) else "low")


def plot_period_levels(
    activities: Any, plots: Sequence[str], baseline_years: Sequence[int], project_years: Sequence[int]
) -> Any:
    """Tier 1 levels of every plot's look-back and project periods from its logs.

    Each year's tillage level is the most disturbing of its tillage records
    (:func:`models.tillage.season_level`; none logged: full tillage) and its input level that of
    its residue records (:data:`INPUT_LEVEL_OF_RESIDUE`; none logged: low); the period's levels
    follow :func:`period_levels`.

    Parameters
    ----------
    activities : pandas.DataFrame
        Canonical activity records (``plot_id``, ``date``, ``activity``, ``method``).
    plots : sequence of str
    baseline_years, project_years : sequence of int

    Returns
    -------
    pandas.DataFrame
        Indexed by plot: ``start_tillage``, ``start_input`` (look-back), ``end_tillage``,
        ``end_input`` (project period).
    """
    import pandas as pd

    from models.tillage import season_level

    df = activities[activities["activity"].isin(("tillage", "residue"))]
    year = pd.to_datetime(df["date"]).dt.year
    # each (plot, year, activity)'s methods in record order; plain Python: iterating a pandas
    # groupby costs about 0.1 ms per group, here one group per plot and year
    by: dict[tuple[str, int, str], list[Any]] = {}
    for p, y, a, m in zip(df["plot_id"].astype(str), year, df["activity"], df["method"], strict=True):
        if not pd.isna(y):  # as groupby: a record without a date is in no year
            by.setdefault((p, int(y), a), []).append(m)

    def year_levels(plot: str, y: int) -> tuple[str, str]:
        till = season_level(by.get((plot, y, "tillage"), [])) or "full_till"
        res = by.get((plot, y, "residue"), [])
        inp = (
            "medium"
            if res and all(INPUT_LEVEL_OF_RESIDUE.get(str(r), "low") == "medium" for r in res)
            else "low"
        )
        return till, inp

    rows = []
    for plot in plots:
        start = period_levels([year_levels(str(plot), int(y)) for y in baseline_years])
        end = period_levels([year_levels(str(plot), int(y)) for y in project_years])
        rows.append((str(plot), *start, *end))
    return pd.DataFrame(
        rows, columns=["plot", "start_tillage", "start_input", "end_tillage", "end_input"]
    ).set_index("plot")


#: Time dependence of the default cropland stock-change factors, D = 20 [yr]
#: (2006 Vol. 4 Ch. 2 Eq. 2.25, p. 2.30; 2019 Refinement Ch. 5 section 5.2.3.4 step 8, p. 5.38).
D_DEFAULT: float = 20.0


@dataclass(frozen=True)
class TableValue:
    """One cell of an IPCC table, with its uncertainty and provenance."""

    value: float
    """The tabulated mean [t C ha-1 for SOC_REF, 1 for factors]."""
    uncertainty_pct: float
    """Half-width of the uncertainty range as % of the mean; NaN where the table gives none."""
    uncertainty_kind: str
    """What the range means: ``"2 sd as % of mean"``, ``"95% CI as % of mean"`` or ``""``."""
    source: str
    """Document the value comes from."""
    table: str
    """Table id in that document, e.g. ``"Table 5.5 (Updated)"``."""
    page: str
    """Page of the table in that document."""
    note: str = ""
    """Footnote or transcription remark."""

    @property
    def sd(self) -> float:
        """Standard deviation implied by the uncertainty range [same units as ``value``].

        A ``2 sd`` range gives sd = half-width / 2; a 95 % confidence interval gives
        sd = half-width / 1.96 (normal approximation, [3]_ section 3.2.2.4). NaN -> 0 (no spread).
        """
        if math.isnan(self.uncertainty_pct):
            return 0.0
        divisor = 1.96 if "95%" in self.uncertainty_kind else 2.0
        return self.value * self.uncertainty_pct / 100.0 / divisor


def _read_table(name: str) -> list[dict[str, str]]:
    """Rows of a CSV shipped in ``models/data`` (package data, read through importlib.resources)."""
    with resources.files("models").joinpath("data", name).open("r", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _num(text: str) -> float:
    return float(text) if text.strip() else math.nan


def _load_soc_ref() -> dict[str, dict[str, dict[str, TableValue | str]]]:
    out: dict[str, dict[str, dict[str, TableValue | str]]] = {}
    for r in _read_table("ipcc_soc_ref.csv"):
        cell: TableValue | str
        if r["status"] == "value":
            cell = TableValue(
                value=float(r["soc_ref"]),
                uncertainty_pct=_num(r["uncertainty_pct"]),
                uncertainty_kind=r["uncertainty_kind"],
                source=r["source"],
                table=r["table"],
                page=r["page"],
                note=r["note"],
            )
        else:
            cell = r["note"] or r["status"]
        out.setdefault(r["edition"], {}).setdefault(r["climate_zone"], {})[r["soil_class"]] = cell
    return out


def _load_factors() -> dict[str, dict[str, dict[str, dict[str, TableValue]]]]:
    out: dict[str, dict[str, dict[str, dict[str, TableValue]]]] = {}
    for r in _read_table("ipcc_stock_change_factors.csv"):
        note = "; ".join(x for x in (r["note"], r["transcription"]) if x)
        cell = TableValue(
            value=float(r["value"]),
            uncertainty_pct=_num(r["error_pct"]),
            uncertainty_kind=r["error_kind"],
            source=r["source"],
            table=r["table"],
            page=r["page"],
            note=note,
        )
        by_factor = out.setdefault(r["edition"], {}).setdefault(r["factor"], {})
        by_factor.setdefault(r["level"], {})[r["climate_zone"]] = cell
    return out


#: Default reference SOC stocks, 0-30 cm [t C ha-1]:
#: ``SOC_REF_PARAMETERS[edition][climate_zone][soil_class]`` is a :class:`TableValue`, or a
#: string explaining why the table has no value (``NA``: no data; ``NO``: does not occur).
#: 2006: Vol. 4 Ch. 2 Table 2.3 p. 2.31 (nominal error +/-90 %, 2 sd); 2019: Refinement Vol. 4
#: Ch. 2 Table 2.3 (Updated) p. 2.35 (95 % CI as % of mean; Batjes 2010, 2011).
SOC_REF_PARAMETERS = _load_soc_ref()

#: Cropland stock-change factors [1]:
#: ``STOCK_CHANGE_FACTOR_PARAMETERS[edition][factor][level][climate_zone]`` -> :class:`TableValue`.
#: 2006: Vol. 4 Ch. 5 Table 5.5; 2019: Refinement Vol. 4 Ch. 5 Table 5.5 (Updated) p. 5.27.
#: Error = +/- 2 sd as % of the mean. Tropical-montane long-term-cultivation and tillage values
#: of the 2019 table were not legible in the text copy and are absent (lookup fails).
STOCK_CHANGE_FACTOR_PARAMETERS = _load_factors()


# --------------------------------------------------------------------------------------------
# lookups
# --------------------------------------------------------------------------------------------


def _check_choice(kind: str, key: Any, choices: Iterable[str], hint: str = "") -> str:
    choices = tuple(choices)
    if not isinstance(key, str) or key not in choices:
        raise ParameterLookupError(
            f"unknown {kind} {key!r}; valid choices: {', '.join(choices)}" + (f". {hint}" if hint else "")
        )
    return key


def soc_ref_entry(climate_zone: str, soil_class: str, edition: str = "2019") -> TableValue:
    """The Table 2.3 cell for one climate zone and soil class, with its provenance.

    Parameters
    ----------
    climate_zone : str
        One of :data:`CLIMATE_ZONES`.
    soil_class : str
        One of :data:`SOIL_CLASSES`.
    edition : {"2006", "2019"}
        Guideline edition.

    Returns
    -------
    TableValue
        ``value`` in [t C ha-1], 0-30 cm.

    Raises
    ------
    ParameterLookupError
        If a key is unknown, or the table has no value for the combination (NA / NO).
    """
    _check_choice("edition", edition, EDITIONS)
    _check_choice("climate zone", climate_zone, CLIMATE_ZONES, "Classify a site with ipcc_climate_zone().")
    _check_choice("soil class", soil_class, SOIL_CLASSES, "Map a WRB group with soil_class_from_wrb().")
    table = SOC_REF_PARAMETERS[edition]
    if climate_zone not in table:
        raise ParameterLookupError(
            f"IPCC {edition} Table 2.3 has no row for climate zone {climate_zone!r}; "
            f"zones with values: {', '.join(table)}. Use the other edition or a Tier 2 value."
        )
    cell = table[climate_zone][soil_class]
    if isinstance(cell, str):
        raise ParameterLookupError(
            f"IPCC {edition} Table 2.3 gives no SOC_REF for {climate_zone!r} x {soil_class!r} ({cell}); "
            "use a country-specific (Tier 2) reference stock."
        )
    return cell


def stock_change_factor_entry(
    factor: str, level: str, climate_zone: str, edition: str = "2019"
) -> TableValue:
    """The Table 5.5 cell for one factor, level and climate zone, with its provenance.

    Parameters
    ----------
    factor : {"FLU", "FMG", "FI"}
        Land-use, management (tillage) or input factor.
    level : str
        One of ``FACTOR_LEVELS[factor]``.
    climate_zone : str
        One of :data:`CLIMATE_ZONES`.
    edition : {"2006", "2019"}
        Guideline edition.

    Returns
    -------
    TableValue
        ``value`` in [1].

    Raises
    ------
    ParameterLookupError
        If a key is unknown or the table has no value for the climate zone.
    """
    _check_choice("edition", edition, EDITIONS)
    _check_choice("factor", factor, FACTOR_LEVELS)
    _check_choice(f"{factor} level", level, FACTOR_LEVELS[factor])
    _check_choice("climate zone", climate_zone, CLIMATE_ZONES, "Classify a site with ipcc_climate_zone().")
    by_zone = STOCK_CHANGE_FACTOR_PARAMETERS[edition][factor][level]
    if climate_zone not in by_zone:
        raise ParameterLookupError(
            f"IPCC {edition} Table 5.5 has no {factor} value for level {level!r} in climate zone "
            f"{climate_zone!r}; zones with values: {', '.join(by_zone)}."
        )
    return by_zone[climate_zone]


def _is_dataarray(*args: Any) -> bool:
    return any(isinstance(a, xr.DataArray) for a in args)


def _vectorise(func: Callable[..., Any], *args: Any, otype: str = "f8") -> Any:
    """Apply a scalar ``func`` over scalars, array-likes or DataArrays (broadcast, same kind out)."""
    if _is_dataarray(*args):
        return xr.apply_ufunc(
            np.vectorize(func, otypes=[otype]), *args, dask="parallelized", output_dtypes=[np.dtype(otype)]
        )
    if all(np.ndim(a) == 0 for a in args):
        return func(*[a.item() if isinstance(a, np.generic | np.ndarray) else a for a in args])
    # ``func`` is a table lookup: called once per distinct combination of keys (a project's
    # plots share a few), not once per element as ``np.vectorize`` would
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in args])
    done: dict[tuple[Any, ...], Any] = {}
    out = []
    for key in zip(*(a.ravel() for a in arrays), strict=True):
        if key not in done:
            done[key] = func(*key)
        out.append(done[key])
    return np.array(out, dtype=otype).reshape(arrays[0].shape)


def _with_units(x: Any, units: str, long_name: str) -> Any:
    """Attach CF-style ``units`` (and a long name) when ``x`` is a DataArray; pass others through."""
    if isinstance(x, xr.DataArray):
        return x.assign_attrs(units=units, long_name=long_name)
    return x


def soc_ref(climate_zone: Any, soil_class: Any, edition: str = "2019") -> Any:
    """Default reference SOC stock SOC_REF, 0-30 cm [t C ha-1], per plot.

    Parameters
    ----------
    climate_zone, soil_class : str, array-like of str or xarray.DataArray
        Keys per plot (broadcast together); see :data:`CLIMATE_ZONES` and :data:`SOIL_CLASSES`.
    edition : {"2006", "2019"}
        Table 2.3 of the 2006 Guidelines (p. 2.31) or of the 2019 Refinement (p. 2.35).

    Returns
    -------
    float, numpy.ndarray or xarray.DataArray
        SOC_REF [t C ha-1].

    Examples
    --------
    >>> soc_ref("cool_temperate_dry", "HAC")
    43.0
    """
    out = _vectorise(lambda z, s: soc_ref_entry(z, s, edition).value, climate_zone, soil_class)
    return _with_units(out, "t C ha-1", "IPCC reference SOC stock, 0-30 cm")


def stock_change_factor(factor: str, level: Any, climate_zone: Any, edition: str = "2019") -> Any:
    """Cropland stock-change factor F_LU, F_MG or F_I [1] from Table 5.5, per plot.

    Parameters
    ----------
    factor : {"FLU", "FMG", "FI"}
        Which factor.
    level, climate_zone : str, array-like of str or xarray.DataArray
        Keys per plot (broadcast together).
    edition : {"2006", "2019"}
        2006 Table 5.5 or 2019 Refinement Table 5.5 (Updated), p. 5.27.

    Returns
    -------
    float, numpy.ndarray or xarray.DataArray
        The factor [1].

    Examples
    --------
    >>> stock_change_factor("FMG", "no_till", "cool_temperate_moist")
    1.09
    """
    return _vectorise(
        lambda lv, z: stock_change_factor_entry(factor, lv, z, edition).value, level, climate_zone
    )


def management_factors(
    climate_zone: Any, land_use: Any, tillage: Any, input_level: Any, edition: str = "2019"
) -> tuple[Any, Any, Any]:
    """F_LU, F_MG and F_I [1] for a management system, per plot.

    For paddy rice in the 2019 Refinement, F_MG = F_I = 1 whatever the tillage and input
    (Table 5.5 (Updated), p. 5.27: "no F_MG/F_I for paddy").

    Parameters
    ----------
    climate_zone, land_use, tillage, input_level : str, array-like of str or xarray.DataArray
        Keys per plot.
    edition : {"2006", "2019"}
        Guideline edition.

    Returns
    -------
    tuple
        ``(f_lu, f_mg, f_i)`` [1], each the same kind as the inputs.
    """

    def _fmg(z: str, lu: str, till: str) -> float:
        if edition == "2019" and lu == "paddy_rice":
            return 1.0
        return stock_change_factor_entry("FMG", till, z, edition).value

    def _fi(z: str, lu: str, inp: str) -> float:
        if edition == "2019" and lu == "paddy_rice":
            return 1.0
        return stock_change_factor_entry("FI", inp, z, edition).value

    f_lu = stock_change_factor("FLU", land_use, climate_zone, edition)
    f_mg = _with_units(_vectorise(_fmg, climate_zone, land_use, tillage), "1", "IPCC FMG stock-change factor")
    f_i = _with_units(
        _vectorise(_fi, climate_zone, land_use, input_level), "1", "IPCC FI stock-change factor"
    )
    return f_lu, f_mg, f_i


# --------------------------------------------------------------------------------------------
# equations
# --------------------------------------------------------------------------------------------


def soc_stock(soc_ref: Any, f_lu: Any, f_mg: Any, f_i: Any) -> Any:
    """Tier 1 SOC stock of a management system, 0-30 cm [t C ha-1].

    Parameters
    ----------
    soc_ref : numeric
        Reference SOC stock [t C ha-1].
    f_lu, f_mg, f_i : numeric
        Land-use, management and input stock-change factors [1].

    Returns
    -------
    numeric
        SOC = SOC_REF x F_LU x F_MG x F_I [t C ha-1], the same kind as the inputs.

    Notes
    -----
    The per-stratum term of Eq. 2.25 in [1]_ (p. 2.30) and [2]_ (p. 2.33):
    :math:`SOC = \\sum_{c,s,i} SOC_{REF,c,s,i} F_{LU,c,s,i} F_{MG,c,s,i} F_{I,c,s,i} A_{c,s,i}`,
    here per hectare (A = 1 ha); multiply by the plot area for a stock in t C.

    Examples
    --------
    >>> round(soc_stock(43.0, 0.77, 1.03, 1.0), 4)
    34.1033
    """
    for name, x in (("soc_ref", soc_ref), ("f_lu", f_lu), ("f_mg", f_mg), ("f_i", f_i)):
        if np.any(np.asarray(x) < 0):
            raise ModelInputError(f"{name} must be >= 0, got a minimum of {float(np.min(x))!r}")
    return soc_ref * f_lu * f_mg * f_i


def annual_stock_change(soc_0: Any, soc_0_minus_t: Any, d: float = D_DEFAULT, t: Any = None) -> Any:
    """Annual change of mineral-soil organic C stock [t C ha-1 yr-1] (Tier 1).

    Parameters
    ----------
    soc_0 : numeric
        SOC stock in the last year of the inventory period [t C ha-1].
    soc_0_minus_t : numeric
        SOC stock at the start of the inventory period [t C ha-1].
    d : float, default 20
        Time dependence of the stock-change factors [yr].
    t : numeric, optional
        Length of the inventory period [yr]. If T > D, the change is divided by T instead
        of D ([2]_ section 5.2.3.4 step 8, p. 5.38).

    Returns
    -------
    numeric
        :math:`\\Delta C_{Mineral} = (SOC_0 - SOC_{(0-T)}) / D` [t C ha-1 yr-1]
        (Eq. 2.25 in [1]_ p. 2.30 and [2]_ p. 2.33).

    Examples
    --------
    >>> round(annual_stock_change(34.1033, 33.11), 6)
    0.049665
    """
    if not d > 0:
        raise ModelInputError(f"d must be > 0 years, got {d!r}")
    divisor: Any = d
    if t is not None:
        if np.any(np.asarray(t) <= 0):
            raise ModelInputError(f"t must be > 0 years, got {t!r}")
        divisor = np.maximum(t, d) if not isinstance(t, xr.DataArray) else t.clip(min=d)
    return (soc_0 - soc_0_minus_t) / divisor


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------


def _climate_zone_scalar(
    mat: float, map_: float, pet: float, elevation: float, warmest_month: float, frost: bool
) -> str:
    for name, v in (("mat", mat), ("map_", map_), ("pet", pet)):
        if v is None or not np.isfinite(v):
            raise ModelInputError(f"{name} must be a finite number, got {v!r}")
    if map_ < 0 or pet <= 0:
        raise ModelInputError(f"need map_ >= 0 mm and pet > 0 mm, got map_={map_!r}, pet={pet!r}")
    moisture = "moist" if map_ / pet > 1.0 else "dry"
    if mat > 18.0 and not frost:
        if elevation > 1000.0:
            return "tropical_montane"
        if map_ > 2000.0:
            return "tropical_wet"
        if map_ > 1000.0:
            return "tropical_moist"
        return "tropical_dry"
    if mat > 10.0:
        return f"warm_temperate_{moisture}"
    if mat > 0.0:
        return f"cool_temperate_{moisture}"
    if warmest_month is None or not np.isfinite(warmest_month):
        raise ModelInputError(
            f"mat={mat!r} degC <= 0: pass warmest_month_temperature (degC) to separate boreal "
            "(some month > 10 degC) from polar (all months <= 10 degC)"
        )
    return f"boreal_{moisture}" if warmest_month > 10.0 else f"polar_{moisture}"


def ipcc_climate_zone(
    mat: Any,
    map_: Any,
    pet: Any,
    elevation: Any = 0.0,
    warmest_month_temperature: Any = None,
    frost: Any = False,
) -> Any:
    """IPCC default climate zone from climate normals, per plot.

    Parameters
    ----------
    mat : numeric
        Mean annual temperature [degC].
    map_ : numeric
        Mean annual precipitation [mm].
    pet : numeric
        Mean annual potential evapotranspiration [mm].
    elevation : numeric, default 0
        Elevation [m]; only separates tropical montane.
    warmest_month_temperature : numeric, optional
        Mean temperature of the warmest month [degC]; needed only where MAT <= 0 degC.
    frost : bool or array of bool, default False
        True where frost occurs; a site with MAT > 18 degC and frost is warm temperate.

    Returns
    -------
    str, numpy.ndarray of str or xarray.DataArray
        One of :data:`CLIMATE_ZONES`.

    Notes
    -----
    The classification scheme for default climate regions, IPCC 2006 Vol. 4 Ch. 3 Annex 3A.5
    (Figure 3A.5.2), as transcribed in the project's domain notes (ipcc_tier1_factors.md section 9;
    the thresholds there are marked unverified):

    * tropical: MAT > 18 degC and virtually no frost; montane if elevation > 1000 m, else wet if
      MAP > 2000 mm, moist if MAP > 1000 mm, dry otherwise;
    * warm temperate: MAT > 10 degC; cool temperate: 0 < MAT <= 10 degC;
    * boreal: MAT <= 0 degC and some month > 10 degC; polar: all months <= 10 degC;
    * outside the tropics, moist if MAP/PET > 1, dry otherwise (the same P/PET > 1 rule defines
      "wet climate" in the 2019 Refinement Vol. 4 Ch. 11 Table 11.1 note).

    Boundaries belong to the colder / drier class (strict ">" thresholds).

    Examples
    --------
    Lishu County, Jilin (MAT 7.2 degC; P ~573 mm and PET ~767 mm, placeholder normals):

    >>> ipcc_climate_zone(7.2, 573.0, 767.0)
    'cool_temperate_dry'
    """
    warm = np.nan if warmest_month_temperature is None else warmest_month_temperature
    return _vectorise(_climate_zone_scalar, mat, map_, pet, elevation, warm, frost, otype="U20")


#: WRB reference soil group -> IPCC soil class (2019 Refinement Vol. 4 Ch. 2, Table 2.3 footnotes,
#: p. 2.35, via the domain notes). Fluvisols are not named by IPCC: mapped to HAC, the usual choice
#: (unverified); Podzols -> spodic; Andosols -> volcanic; Gleysols -> wetland.
WRB_SOIL_CLASS: dict[str, str] = {
    **{
        g: "HAC"
        for g in (
            "Leptosols",
            "Vertisols",
            "Kastanozems",
            "Chernozems",
            "Phaeozems",
            "Luvisols",
            "Alisols",
            "Albeluvisols",
            "Solonetz",
            "Calcisols",
            "Gypsisols",
            "Umbrisols",
            "Cambisols",
            "Regosols",
            "Fluvisols",
        )
    },
    **{g: "LAC" for g in ("Acrisols", "Lixisols", "Nitisols", "Ferralsols", "Durisols")},
    "Podzols": "spodic",
    "Andosols": "volcanic",
    "Gleysols": "wetland",
}


def soil_class_from_wrb(
    reference_soil_group: str, sand_pct: float | None = None, clay_pct: float | None = None
) -> str:
    """IPCC mineral soil class from a WRB reference soil group and texture.

    Parameters
    ----------
    reference_soil_group : str
        WRB group, e.g. ``"Phaeozems"`` (singular or plural, any case).
    sand_pct, clay_pct : float, optional
        Sand and clay content [%]. Any soil with > 70 % sand and < 8 % clay is "sandy",
        whatever its taxonomy (Table 2.3 footnote).

    Returns
    -------
    str
        One of :data:`SOIL_CLASSES`.

    Examples
    --------
    >>> soil_class_from_wrb("Phaeozem")
    'HAC'
    """
    if sand_pct is not None and clay_pct is not None and sand_pct > 70.0 and clay_pct < 8.0:
        return "sandy"
    key = reference_soil_group.strip().capitalize()
    if not key.endswith("s"):
        key += "s"
    if key not in WRB_SOIL_CLASS:
        raise ParameterLookupError(
            f"unknown WRB reference soil group {reference_soil_group!r}; valid choices: "
            f"{', '.join(sorted(WRB_SOIL_CLASS))}. Histosols (organic soils) are outside the mineral-soil method."
        )
    return WRB_SOIL_CLASS[key]


# --------------------------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Management:
    """A cropland management system (one Table 5.5 level per factor); fields may be per-plot arrays."""

    land_use: Any = "long_term_cultivated"
    """F_LU level, one of :data:`LAND_USE_LEVELS`."""
    tillage: Any = "full_till"
    """F_MG level, one of :data:`TILLAGE_LEVELS`."""
    input_level: Any = "medium"
    """F_I level, one of :data:`INPUT_LEVELS`."""


@dataclass(frozen=True)
class Tier1Result:
    """Outputs of :func:`tier1_stock_change`; arrays are the same kind as the inputs."""

    edition: str
    """Factor edition used."""
    d: float
    """Time dependence D [yr]."""
    soc_ref: Any
    """Reference stock [t C ha-1]."""
    factors_start: tuple[Any, Any, Any]
    """(F_LU, F_MG, F_I) at the start of the period [1]."""
    factors_end: tuple[Any, Any, Any]
    """(F_LU, F_MG, F_I) at the end of the period [1]."""
    soc_start: Any
    """SOC_(0-T) [t C ha-1]."""
    soc_end: Any
    """SOC_0 [t C ha-1]."""
    delta_c: Any
    """Annual stock change [t C ha-1 yr-1]."""
    sources: dict[str, str] = field(default_factory=dict)
    """Which document and table each quantity came from."""


def _as_management(m: Management | Mapping[str, Any]) -> Management:
    """Accept a :class:`Management` or a mapping with the same keys."""
    if isinstance(m, Management):
        return m
    try:
        return Management(**dict(m))
    except TypeError as exc:
        raise ModelInputError(
            f"management {m!r} must have only the keys land_use, tillage, input_level ({exc})"
        ) from None


def tier1_stock_change(
    climate_zone: Any,
    soil_class: Any,
    start: Management | Mapping[str, Any],
    end: Management | Mapping[str, Any],
    *,
    edition: str = "2019",
    d: float = D_DEFAULT,
    t: Any = None,
) -> Tier1Result:
    """IPCC Tier 1 annual SOC stock change of mineral cropland soils, per plot.

    Follows the calculation steps of the 2019 Refinement Vol. 4 Ch. 5 section 5.2.3.4
    (p. 5.37-5.38): SOC_REF from Table 2.3, factors from Table 5.5, stocks at the start and end
    of the period, and their difference divided by D (or T if T > D), Eq. 2.25.

    Parameters
    ----------
    climate_zone, soil_class : str, array-like of str or xarray.DataArray
        Per-plot keys.
    start, end : Management or mapping
        Management at the start (SOC_(0-T)) and in the last year (SOC_0) of the period; a
        mapping with keys ``land_use``, ``tillage``, ``input_level`` is accepted too.
    edition : {"2006", "2019"}
        Factor edition.
    d : float, default 20
        Time dependence of the factors [yr].
    t : numeric, optional
        Length of the inventory period [yr].

    Returns
    -------
    Tier1Result
    """
    start, end = _as_management(start), _as_management(end)
    ref = soc_ref(climate_zone, soil_class, edition)
    fs = management_factors(climate_zone, start.land_use, start.tillage, start.input_level, edition)
    fe = management_factors(climate_zone, end.land_use, end.tillage, end.input_level, edition)
    soc_start = soc_stock(ref, *fs)
    soc_end = soc_stock(ref, *fe)
    tab23 = "Table 2.3, p. 2.31" if edition == "2006" else "Table 2.3 (Updated), p. 2.35"
    tab55 = "Table 5.5" if edition == "2006" else "Table 5.5 (Updated), p. 5.27"
    doc = "IPCC 2006 Guidelines Vol. 4" if edition == "2006" else "IPCC 2019 Refinement Vol. 4"
    return Tier1Result(
        edition=edition,
        d=d,
        soc_ref=ref,
        factors_start=fs,
        factors_end=fe,
        soc_start=_with_units(soc_start, "t C ha-1", "SOC stock at the start of the period, 0-30 cm"),
        soc_end=_with_units(soc_end, "t C ha-1", "SOC stock in the last year of the period, 0-30 cm"),
        delta_c=_with_units(
            annual_stock_change(soc_end, soc_start, d=d, t=t), "t C ha-1 yr-1", "annual SOC stock change"
        ),
        sources={
            "soc_ref": f"{doc} Ch. 2 {tab23}",
            "factors": f"{doc} Ch. 5 {tab55}",
            "equation": f"{doc} Ch. 2 Eq. 2.25",
        },
    )


# --------------------------------------------------------------------------------------------
# Monte Carlo draws
# --------------------------------------------------------------------------------------------


def _draw(rng: np.random.Generator, entry: TableValue, n: int) -> np.ndarray:
    sd = entry.sd
    if sd == 0.0:
        return np.full(n, entry.value)
    a = (0.0 - entry.value) / sd  # truncate at 0: stocks and factors cannot be negative
    return np.asarray(stats.truncnorm.rvs(a, np.inf, loc=entry.value, scale=sd, size=n, random_state=rng))


def _levels(x: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(x, str):
        return [x], True
    return list(x), False


def sample_factors(
    rng: np.random.Generator,
    n_draws: int,
    edition: str,
    climate_zone: str,
    *,
    land_use: str | Sequence[str] = "long_term_cultivated",
    tillage: str | Sequence[str] = "full_till",
    input_level: str | Sequence[str] = "medium",
    soil_class: str | None = None,
) -> xr.Dataset:
    """Random draws of F_LU, F_MG, F_I (and SOC_REF) from their IPCC uncertainty ranges.

    Parameters
    ----------
    rng : numpy.random.Generator
        Seeded generator (the caller owns reproducibility).
    n_draws : int
        Number of draws.
    edition : {"2006", "2019"}
        Factor edition.
    climate_zone : str
        One of :data:`CLIMATE_ZONES` (one stratum per call).
    land_use, tillage, input_level : str or sequence of str
        Levels to draw. A single string gives a variable of shape ``(draw,)``; a sequence adds a
        dimension named ``land_use`` / ``tillage`` / ``input_level`` so that baseline and project
        levels come from one consistent call.
    soil_class : str, optional
        If given, ``soc_ref`` [t C ha-1] is drawn too.

    Returns
    -------
    xarray.Dataset
        Variables ``f_lu``, ``f_mg``, ``f_i`` [1] (and ``soc_ref`` [t C ha-1]) along ``draw``.

    Notes
    -----
    Distribution: each value is drawn from a normal distribution with the tabulated mean and the
    standard deviation implied by the table's range, truncated at 0. Table 5.5 errors are
    "+/- 2 sd as % of the mean", so sd = value x error / 200; the 2019 Table 2.3 range is a 95 %
    confidence interval, so sd = value x range / 196; the 2006 Table 2.3 nominal +/-90 % is treated
    as 2 sd. Reference levels with no error (full tillage, medium input) are constant. A normal PDF
    is the default where the range is roughly symmetric and the relative spread is moderate;
    truncation keeps physically impossible negative values out ([3]_ section 3.2.2.4; Monte Carlo
    propagation is Approach 2, section 3.2.3.2). Levels are drawn independently of one another.

    Use the same draw of a factor for baseline and project wherever the same table value applies
    to both (e.g. F_LU and SOC_REF), otherwise its uncertainty is counted twice in the difference.

    Examples
    --------
    >>> ds = sample_factors(np.random.default_rng(1), 1000, "2019", "cool_temperate_dry", tillage="no_till")
    >>> ds.f_mg.dims
    ('draw',)
    """
    if not isinstance(n_draws, int | np.integer) or n_draws < 1:
        raise ModelInputError(f"n_draws must be a positive integer, got {n_draws!r}")
    ds = xr.Dataset(coords={"draw": np.arange(n_draws)})
    specs: list[tuple[str, str, str, str | Sequence[str]]] = [
        ("f_lu", "FLU", "land_use", land_use),
        ("f_mg", "FMG", "tillage", tillage),
        ("f_i", "FI", "input_level", input_level),
    ]
    for var, factor, dim, value in specs:
        levels, scalar = _levels(value)
        entries = [stock_change_factor_entry(factor, lv, climate_zone, edition) for lv in levels]
        draws = np.stack([_draw(rng, e, n_draws) for e in entries], axis=-1)
        attrs = {
            "units": "1",
            "long_name": f"IPCC {factor} stock-change factor",
            "source": f"{entries[0].source}, {entries[0].table}, p. {entries[0].page}",
            "distribution": "normal, sd from the table range, truncated at 0",
        }
        if scalar:
            ds[var] = xr.DataArray(draws[:, 0], dims=("draw",), attrs=attrs)
        else:
            ds[var] = xr.DataArray(draws, dims=("draw", dim), coords={dim: levels}, attrs=attrs)
    if soil_class is not None:
        e = soc_ref_entry(climate_zone, soil_class, edition)
        ds["soc_ref"] = xr.DataArray(
            _draw(rng, e, n_draws),
            dims=("draw",),
            attrs={
                "units": "t C ha-1",
                "long_name": "IPCC reference SOC stock, 0-30 cm",
                "source": f"{e.source}, {e.table}, p. {e.page}",
                "distribution": "normal, sd from the table range, truncated at 0",
            },
        )
    ds.attrs.update(edition=edition, climate_zone=climate_zone)
    return ds
