"""Monthly carbon inputs, soil cover and DPM/RPM ratio for RothC, from farm activity records.

Pure computation: the builder takes a :class:`pandas.DataFrame` of canonical activity records
(docs/DATA_FORMATS.md section 2), a monthly period index and parameters, and returns an
:class:`xarray.Dataset` with dimensions ``(plot, month)`` holding the RothC management inputs
``c_inp`` [t C ha-1 month-1], ``fym`` [t C ha-1 month-1], ``pc`` [1] and ``dpm_rpm`` [1], ready to
be merged with the weather variables ``tmp`` [degC], ``rain`` [mm] and ``evap`` [mm].

Layers (STYLE.md section 1): equations (:func:`crop_dry_matter`, :func:`residue_carbon_ipcc`,
:func:`residue_carbon_harvest_index`, :func:`manure_carbon`), parameter tables as data
(``models/data/crop_residue_parameters.csv``, ``models/data/rothc_dpm_rpm.csv``) with lookups
(:data:`RESIDUE_PARAMETERS`, :func:`residue_parameter`, :data:`DPM_RPM_RATIOS`), and the builder
:func:`build_carbon_inputs`.

Placement in time (documented choices)
--------------------------------------
* Above-ground residue C that stays on the field enters in the **harvest month**.
* Root C (and, in the harvest-index method, rhizodeposition) enters **uniformly per day between
  sowing and harvest** (both days included), i.e. each month gets the share of growing-season days
  that fall in it. ``root_placement="harvest"`` puts it in the harvest month instead.
* Manure C enters in the month of the manure record.
* ``pc = 1`` in months in which a crop stands on the field for at least half the days of the month,
  else 0. RothC's cover flag means *living plants*: the soil-cover rate modifier (c = 0.6 when
  covered, 1.0 when bare) represents the slower decomposition observed under growing plants, and
  the model's input tables describe it as "soil cover (bare vs. vegetated)" (Coleman & Jenkinson
  1996; FAO 2020 GSOCseq Technical Manual, Table 4.1). A straw mulch is dead residue, so by default
  months after harvest are bare even with mulch; ``mulch_as_cover=True`` overrides this.

References
----------
.. [1] IPCC (2019). 2019 Refinement to the 2006 IPCC Guidelines, Vol. 4, Ch. 11: Eq. 11.6 (Updated)
   p. 11.16, Eq. 11.7 p. 11.17, Table 11.1a (New) p. 11.18, Table 11.2 (Updated) p. 11.19.
.. [2] IPCC (2019). 2019 Refinement, Vol. 4, Ch. 5: Eq. 5.0h (New), p. 5.36 (C content of residues
   0.42 kg C (kg d.m.)-1; AGR and BGR as in Eq. 11.6).
.. [3] Bolinder M.A., Janzen H.H., Gregorich E.G., Angers D.A., VandenBygaart A.J. (2007). An approach
   for estimating net primary productivity and annual carbon inputs to soil for common agricultural
   crops in Canada. Agric. Ecosyst. Environ. 118, 29-42. doi:10.1016/j.agee.2006.05.013
.. [4] Coleman K., Jenkinson D.S. (1996). RothC-26.3 - A model for the turnover of carbon in soil. In
   Powlson D.S. et al. (eds) Evaluation of Soil Organic Matter Models, NATO ASI Series I 38,
   Springer, 237-246. doi:10.1007/978-3-642-61094-3_17
.. [5] FAO (2020). GSOCseq - Technical Manual, Ch. 4 The RothC model (Table 4.1 data requirements).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import ModelInputError, MRVWarning, ParameterLookupError
from models.surface import BURIAL_FRACTION
from models.tillage import season_level

__all__ = [
    "DPM_RPM_RATIOS",
    "RESIDUE_METHODS",
    "RESIDUE_PARAMETERS",
    "RESIDUE_RETAINED_BY_METHOD",
    "CarbonInputParameters",
    "InputsWarning",
    "ResidueParameter",
    "build_carbon_inputs",
    "crop_dry_matter",
    "manure_carbon",
    "residue_carbon_harvest_index",
    "residue_carbon_ipcc",
    "residue_parameter",
    "retained_fraction",
]


class InputsWarning(MRVWarning):
    """An activity record was ignored or an assumption was applied while building inputs."""


@dataclass(frozen=True)
class ResidueParameter:
    """One crop-residue parameter with its unit, uncertainty and provenance."""

    value: float
    """The value, in ``units``."""
    units: str
    """Unit of ``value``."""
    uncertainty_pct: float
    """Half-width of the range as % of the mean (2 sd); NaN where the source gives none."""
    source: str
    """Document."""
    table: str
    """Table or equation id."""
    page: str
    """Page, or ``"unverified"``."""
    status: str
    """``"read in full-text copy"`` or ``"unverified"``."""
    note: str = ""
    """Remark."""


def _read_table(name: str) -> list[dict[str, str]]:
    with resources.files("models").joinpath("data", name).open("r", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _load_residue() -> dict[str, dict[str, ResidueParameter]]:
    out: dict[str, dict[str, ResidueParameter]] = {}
    for r in _read_table("crop_residue_parameters.csv"):
        out.setdefault(r["crop"], {})[r["parameter"]] = ResidueParameter(
            value=float(r["value"]),
            units=r["units"],
            uncertainty_pct=float(r["uncertainty_pct"]) if r["uncertainty_pct"] else math.nan,
            source=r["source"],
            table=r["table"],
            page=r["page"],
            status=r["status"],
            note=r["note"],
        )
    return out


#: Crop-residue parameters, ``RESIDUE_PARAMETERS[crop][name]`` -> :class:`ResidueParameter`.
#: Names: ``dry`` (DRY, Table 11.1a), ``r_ag`` (R_AG, Table 11.1a), ``rs`` (RS, Table 11.1a),
#: ``slope`` and ``intercept`` (Table 11.2) from [1]_; ``harvest_index``, ``shoot_root_ratio``,
#: ``extra_root_fraction``, ``c_fraction_hi`` from [3]_ (maize only, **unverified**); and, under crop
#: ``"*"``, ``c_fraction`` = 0.42 kg C (kg d.m.)-1 from Eq. 5.0h [2]_.
RESIDUE_PARAMETERS = _load_residue()

#: Crop names with parameters (``"wheat"`` uses the winter-wheat rows of Tables 11.1a/11.2).
CROPS: tuple[str, ...] = tuple(c for c in RESIDUE_PARAMETERS if c != "*")

#: DPM/RPM ratio of incoming plant material [1] by cover class, from [4]_ as quoted in [5]_:
#: 1.44 for most agricultural crops and improved grassland, 0.67 for unimproved grassland and scrub
#: (including savanna), 0.25 for deciduous or tropical woodland.
DPM_RPM_RATIOS: dict[str, float] = {
    r["cover_class"]: float(r["dpm_rpm"]) for r in _read_table("rothc_dpm_rpm.csv")
}

#: Fraction of above-ground residue left on the field [1] by residue ``method`` (DATA_FORMATS.md
#: section 2). Removed or burned straw is counted as 0 retained (conservative: IPCC Eq. 5.0h would
#: keep (1 - C_f) of burned residue, Vol. 4 Ch. 2 Table 2.6); retained (还田) and mulched (覆盖还田) = 1.
#: A logged ``residue_fraction`` takes precedence over the method.
RESIDUE_RETAINED_BY_METHOD: dict[str, float] = {
    "removed": 0.0,
    "burned": 0.0,
    "retained": 1.0,
    "mulched": 1.0,
}

#: Residue C methods of :class:`CarbonInputParameters`.
RESIDUE_METHODS: tuple[str, ...] = ("ipcc_ratio", "ipcc_regression", "harvest_index")


def residue_parameter(crop: str, name: str) -> ResidueParameter:
    """Look up one crop-residue parameter.

    Parameters
    ----------
    crop : str
        One of :data:`CROPS` (``"*"`` for crop-independent values).
    name : str
        Parameter name, see :data:`RESIDUE_PARAMETERS`.

    Returns
    -------
    ResidueParameter

    Raises
    ------
    ParameterLookupError
        Naming the bad key and the valid choices.
    """
    if crop not in RESIDUE_PARAMETERS:
        raise ParameterLookupError(
            f"no residue parameters for crop {crop!r}; valid choices: {', '.join(CROPS)}. "
            "Use 'generic_grains' for another cereal."
        )
    table = RESIDUE_PARAMETERS[crop]
    if name not in table:
        raise ParameterLookupError(
            f"no residue parameter {name!r} for crop {crop!r}; valid choices: {', '.join(table)}"
        )
    return table[name]


# --------------------------------------------------------------------------------------------
# equations
# --------------------------------------------------------------------------------------------


def crop_dry_matter(yield_fresh: Any, dry: float) -> Any:
    """Harvested dry-matter yield [t d.m. ha-1] from the reported yield.

    Parameters
    ----------
    yield_fresh : numeric
        Reported (fresh / field-dry) yield [t ha-1].
    dry : float
        Dry-matter fraction of the harvested product [kg d.m. (kg fresh)-1].

    Returns
    -------
    numeric
        :math:`Crop_{(T)} = Yield_{Fresh(T)} \\cdot DRY` (Eq. 11.7, [1]_ p. 11.17).

    Examples
    --------
    >>> round(crop_dry_matter(10.0, 0.87), 6)
    8.7
    """
    if (yield_fresh < 0) if isinstance(yield_fresh, float | int) else np.any(np.asarray(yield_fresh) < 0):
        raise ModelInputError(f"yield must be >= 0 t ha-1, got {yield_fresh!r}")
    return yield_fresh * dry


def _isna(x: Any) -> bool:
    """``pandas.isna`` of one value of a record (None, NaN or pandas.NA), without pandas' dispatch."""
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float | np.floating) and x != x)


def _c_fraction(c_fraction: float | None) -> float:
    return residue_parameter("*", "c_fraction").value if c_fraction is None else c_fraction


def _check_fraction(name: str, x: Any) -> None:
    if isinstance(x, float | int):  # one season's value: no array (called per season and plot)
        bad = not 0 <= x <= 1  # NaN too
    else:
        a = np.asarray(x, dtype=float)
        bad = bool(np.any((a < 0) | (a > 1)) or np.any(np.isnan(a)))
    if bad:
        raise ModelInputError(f"{name} must be a fraction in [0, 1], got {x!r}")


def residue_carbon_ipcc(
    yield_fresh: Any,
    crop: str,
    retained_fraction: Any = 1.0,
    method: str = "ipcc_ratio",
    c_fraction: float | None = None,
) -> tuple[Any, Any]:
    """Above- and below-ground crop-residue C input [t C ha-1 yr-1] by the IPCC 2019 equations.

    Parameters
    ----------
    yield_fresh : numeric
        Reported yield [t ha-1].
    crop : str
        One of :data:`CROPS`.
    retained_fraction : numeric, default 1
        Fraction of above-ground residue left on the field [1]
        (= 1 - Frac_Remove - Frac_Burnt x C_f of Eq. 5.0h).
    method : {"ipcc_ratio", "ipcc_regression"}
        AG_DM from the residue:yield ratio R_AG (Table 11.1a) or from the regression
        ``Crop x slope + intercept`` (Table 11.2).
    c_fraction : float, optional
        C content of residue dry matter [kg C (kg d.m.)-1]; default 0.42 (Eq. 5.0h, [2]_ p. 5.36).

    Returns
    -------
    (c_ag, c_bg) : tuple of numeric
        C in retained above-ground residue and in below-ground residue [t C ha-1].

    Notes
    -----
    With :math:`Crop = Yield \\cdot DRY` (Eq. 11.7),

    * :math:`AG_{DM} = Crop \\cdot R_{AG}` or :math:`AG_{DM} = Crop \\cdot slope + intercept`,
    * :math:`AGR = AG_{DM} \\cdot f_{retained}`,
    * :math:`BGR = (Crop + AG_{DM}) \\cdot RS` (Eq. 11.6 (Updated), [1]_ p. 11.16, FracRenew = 1),
    * :math:`C_{AG} = AGR \\cdot C`, :math:`C_{BG} = BGR \\cdot C` (Eq. 5.0h, [2]_ p. 5.36).

    Examples
    --------
    10 t ha-1 maize, all straw returned: Crop 8.7, AG_DM 8.7, BGR (8.7 + 8.7) x 0.22 = 3.828 t d.m.

    >>> [round(x, 5) for x in residue_carbon_ipcc(10.0, "maize")]
    [3.654, 1.60776]
    """
    if method not in ("ipcc_ratio", "ipcc_regression"):
        raise ModelInputError(f"method must be 'ipcc_ratio' or 'ipcc_regression', got {method!r}")
    _check_fraction("retained_fraction", retained_fraction)
    crop_dm = crop_dry_matter(yield_fresh, residue_parameter(crop, "dry").value)
    if method == "ipcc_ratio":
        ag_dm = crop_dm * residue_parameter(crop, "r_ag").value
    else:
        ag_dm = crop_dm * residue_parameter(crop, "slope").value + residue_parameter(crop, "intercept").value
    bg_dm = (crop_dm + ag_dm) * residue_parameter(crop, "rs").value
    cf = _c_fraction(c_fraction)
    return ag_dm * retained_fraction * cf, bg_dm * cf


def residue_carbon_harvest_index(
    yield_fresh: Any,
    crop: str,
    retained_fraction: Any = 1.0,
    *,
    harvest_index: float | None = None,
    shoot_root_ratio: float | None = None,
    extra_root_fraction: float | None = None,
    c_fraction: float | None = None,
) -> tuple[Any, Any]:
    """Residue C input [t C ha-1 yr-1] by the harvest-index / shoot:root method of Bolinder et al.

    Parameters
    ----------
    yield_fresh : numeric
        Reported yield [t ha-1]; converted to dry matter with DRY of Table 11.1a ([1]_).
    crop : str
        Crop with harvest-index parameters (only ``"maize"`` in the bundled table).
    retained_fraction : numeric, default 1
        Fraction of the straw left on the field [1].
    harvest_index, shoot_root_ratio, extra_root_fraction, c_fraction : float, optional
        Override the tabulated HI [1], shoot:root ratio [1], extra-root C as a fraction of root C
        [1] and C concentration [kg C (kg d.m.)-1]. The bundled maize values (0.50, 5.6, 0.65,
        0.45) are from memory of [3]_ and are marked **unverified** in the data file.

    Returns
    -------
    (c_ag, c_bg) : tuple of numeric
        C in retained straw, and in roots plus extra-root material (rhizodeposition) [t C ha-1].

    Notes
    -----
    :math:`P_S = P_G (1 - HI)/HI`, :math:`P_R = (P_G + P_S)/(S{:}R)`, :math:`P_E = f_E P_R`,
    with C = dry matter x C concentration ([3]_).
    """
    _check_fraction("retained_fraction", retained_fraction)

    def _get(value: float | None, name: str) -> float:
        return residue_parameter(crop, name).value if value is None else value

    hi = _get(harvest_index, "harvest_index")
    sr = _get(shoot_root_ratio, "shoot_root_ratio")
    fe = _get(extra_root_fraction, "extra_root_fraction")
    cf = _get(c_fraction, "c_fraction_hi")
    if not 0 < hi <= 1 or sr <= 0 or fe < 0:
        raise ModelInputError(
            f"need 0 < harvest_index <= 1, shoot_root_ratio > 0, extra_root_fraction >= 0; got {hi}, {sr}, {fe}"
        )
    grain = crop_dry_matter(yield_fresh, residue_parameter(crop, "dry").value)
    straw = grain * (1.0 - hi) / hi
    root = (grain + straw) / sr
    return straw * retained_fraction * cf, root * (1.0 + fe) * cf


def manure_carbon(fresh_rate: Any, c_content_pct: Any) -> Any:
    """Manure C input [t C ha-1] from the applied fresh mass and its C content.

    Parameters
    ----------
    fresh_rate : numeric
        Fresh manure applied [t ha-1].
    c_content_pct : numeric
        C content of the fresh manure [% of fresh mass].

    Returns
    -------
    numeric
        fresh_rate x c_content_pct / 100 [t C ha-1].

    Examples
    --------
    >>> round(manure_carbon(30.0, 12.0), 6)
    3.6
    """
    if isinstance(fresh_rate, float | int) and isinstance(c_content_pct, float | int):
        bad_rate, bad_c = not fresh_rate >= 0, not 0 < c_content_pct <= 100  # NaN too
    else:  # arrays
        r = np.asarray(fresh_rate, dtype=float)
        c = np.asarray(c_content_pct, dtype=float)
        bad_rate = bool(np.any(r < 0) or np.any(np.isnan(r)))
        bad_c = bool(np.any((c <= 0) | (c > 100)) or np.any(np.isnan(c)))
    if bad_rate:
        raise ModelInputError(f"manure_rate must be >= 0 t ha-1, got {fresh_rate!r}")
    if bad_c:
        raise ModelInputError(f"manure_c must be in (0, 100] % of fresh mass, got {c_content_pct!r}")
    return fresh_rate * c_content_pct / 100.0


def retained_fraction(method: Any = None, residue_fraction: Any = None) -> float:
    """Fraction of above-ground residue retained [1] from a residue record.

    Parameters
    ----------
    method : str, optional
        One of :data:`RESIDUE_RETAINED_BY_METHOD` (removed, burned, retained, mulched).
    residue_fraction : float, optional
        Logged straw-return fraction [1]; takes precedence when given.

    Returns
    -------
    float

    Raises
    ------
    ModelInputError
        If neither is usable.
    """
    if not _isna(residue_fraction):
        f = float(residue_fraction)
        _check_fraction("residue_fraction", f)
        return f
    if isinstance(method, str) and method in RESIDUE_RETAINED_BY_METHOD:
        return RESIDUE_RETAINED_BY_METHOD[method]
    raise ModelInputError(
        f"residue method {method!r} has no retained fraction; valid methods: "
        f"{', '.join(RESIDUE_RETAINED_BY_METHOD)}, or log residue_fraction (0-1)"
    )


# --------------------------------------------------------------------------------------------
# builder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CarbonInputParameters:
    """Choices for :func:`build_carbon_inputs`."""

    residue_method: str = "ipcc_ratio"
    """One of :data:`RESIDUE_METHODS`."""
    c_fraction: float | None = None
    """C content of residue dry matter [kg C (kg d.m.)-1]; None = method default (0.42 IPCC)."""
    default_retained_fraction: float | None = None
    """Retained fraction [1] for a harvest without a residue record; None = raise an error.
    (IPCC Eq. 11.6 note: "If data for FracRemove are not available, assume no removal", i.e. 1.)"""
    root_placement: str = "growing_season"
    """``"growing_season"`` (uniform per day, sowing to harvest) or ``"harvest"``."""
    min_cover_fraction: float = 0.5
    """A month has ``pc = 1`` if the crop stands for at least this fraction of its days [1]."""
    mulch_as_cover: bool = False
    """Also set ``pc = 1`` from harvest to the next sowing when residue is retained (see module notes)."""
    dpm_rpm: float = DPM_RPM_RATIOS["agricultural_crop"]
    """DPM/RPM ratio of plant inputs [1]; 1.44 for agricultural crops ([4]_)."""
    max_season_days: int = 366
    """Longest sowing-to-harvest interval accepted [d]."""


_REQUIRED = ("plot_id", "date", "activity")


def _month_index(months: Any) -> pd.PeriodIndex:
    try:
        idx = (
            pd.PeriodIndex(months, freq="M") if not isinstance(months, pd.PeriodIndex) else months.asfreq("M")
        )
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"months must be monthly periods or dates, got {months!r} ({exc})") from None
    if len(idx) == 0 or not idx.is_monotonic_increasing or idx.has_duplicates:
        raise ModelInputError("months must be a non-empty, increasing index without duplicates")
    expected = pd.period_range(idx[0], idx[-1], freq="M")
    if len(expected) != len(idx):
        raise ModelInputError(
            f"months must be consecutive; {len(expected) - len(idx)} months missing between {idx[0]} and {idx[-1]}"
        )
    return idx


def _ordinal(d: dt.date) -> int:
    """Month ordinal (year x 12 + month - 1) of a date."""
    return d.year * 12 + d.month - 1


@functools.cache
def _days_in_month(ordinal: int) -> int:
    return calendar.monthrange(ordinal // 12, ordinal % 12 + 1)[1]


@functools.lru_cache(maxsize=65_536)  # seasons of many plots share their dates
def _days_per_month(start: dt.date, end: dt.date) -> tuple[tuple[int, int], ...]:
    """Number of days of [start, end] (both included) in each calendar month: (month ordinal,
    days) pairs in month order."""
    out = []
    for mo in range(_ordinal(start), _ordinal(end) + 1):
        first = dt.date(mo // 12, mo % 12 + 1, 1)
        last = dt.date(mo // 12, mo % 12 + 1, _days_in_month(mo))
        out.append((mo, (min(end, last) - max(start, first)).days + 1))
    return tuple(out)


def _describe(rec: dict[str, Any]) -> str:
    return f"row {rec['_row']} (plot {rec['plot_id']!r}, {rec['activity']} on {rec['date']})"


def build_carbon_inputs(
    activities: pd.DataFrame,
    months: Any,
    params: CarbonInputParameters | None = None,
    plots: Sequence[Any] | None = None,
) -> xr.Dataset:
    """Monthly RothC management inputs per plot from canonical activity records.

    Parameters
    ----------
    activities : pandas.DataFrame
        Canonical activity records (DATA_FORMATS.md section 2). Used columns: ``plot_id``,
        ``date``, ``activity`` and, by activity, ``crop`` and ``yield`` [t ha-1] (harvest),
        ``method`` / ``residue_fraction`` [1] (residue, or on the harvest row),
        ``manure_rate`` [t ha-1 fresh] and ``manure_c`` [%] (manure). Sowing records mark the
        start of each season.
    months : pandas.PeriodIndex or array-like of dates
        Consecutive months of the model run.
    params : CarbonInputParameters, optional
        Method choices; defaults as documented there.
    plots : sequence, optional
        Plot ids for the ``plot`` coordinate (plots without records get zero inputs); default:
        the plot ids in ``activities``, sorted.

    Returns
    -------
    xarray.Dataset
        Dimensions ``(plot, month)``; ``month`` holds month-start timestamps. Variables:
        ``c_inp`` [t C ha-1 month-1] plant C input (= ``c_inp_ag`` + ``c_inp_bg``), ``fym``
        [t C ha-1 month-1] manure C, ``pc`` [1] living plant cover (0/1), ``dpm_rpm`` [1].

    Raises
    ------
    ModelInputError
        Naming the record and field when a harvest has no crop, yield, sowing or residue record,
        or a manure record lacks rate or C content.

    Notes
    -----
    A season is a harvest record with the latest sowing on the same plot after the previous
    harvest. Its residue record is the first residue record dated from the harvest day to the next
    sowing (inclusive), so that straw burned or removed in spring counts for the season before.
    Inputs falling outside ``months`` are dropped. ``cover_crop`` records are not converted
    (an :class:`InputsWarning` is issued).
    """
    p = params or CarbonInputParameters()
    if p.residue_method not in RESIDUE_METHODS:
        raise ModelInputError(
            f"residue_method {p.residue_method!r} unknown; valid choices: {', '.join(RESIDUE_METHODS)}"
        )
    if p.root_placement not in ("growing_season", "harvest"):
        raise ModelInputError(
            f"root_placement must be 'growing_season' or 'harvest', got {p.root_placement!r}"
        )
    missing = [c for c in _REQUIRED if c not in activities.columns]
    if missing:
        raise ModelInputError(
            f"activity records lack column(s) {missing}; canonical columns are in DATA_FORMATS.md section 2"
        )
    idx = _month_index(months)
    df = activities.copy()
    try:
        df["date"] = pd.to_datetime(df["date"])
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"activity dates must be ISO dates: {exc}") from None
    for col in ("crop", "yield", "method", "residue_fraction", "manure_rate", "manure_c"):
        if col not in df.columns:
            df[col] = np.nan
    df = df.sort_values(["plot_id", "date"], kind="stable")

    plot_ids = list(plots) if plots is not None else sorted(df["plot_id"].unique().tolist())
    pos = {pid: i for i, pid in enumerate(plot_ids)}
    unknown = sorted(set(df["plot_id"]) - set(pos), key=str)
    if unknown:
        raise ModelInputError(
            f"activity records name plot(s) {unknown[:5]} not in `plots`; add them or drop the records"
        )
    m0 = idx[0].year * 12 + idx[0].month - 1  # month ordinal of the first model month
    n_months = len(idx)
    shape = (len(plot_ids), n_months)
    c_ag, c_bg, fym, pc = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    # tillage: the fraction of the surface residue buried each month, and each year's Tier 1 level
    left = np.ones(shape)  # fraction of the surface residue a month's passes leave in place
    level = np.full(shape, "full_till", dtype=object)
    logged_level = np.zeros(shape, dtype=bool)

    if (df["activity"] == "cover_crop").any():
        warnings.warn(
            f"{int((df['activity'] == 'cover_crop').sum())} cover_crop record(s) ignored: cover-crop C input "
            "and cover are not derived from logs yet; add them to c_inp/pc explicitly",
            InputsWarning,
            stacklevel=2,
        )

    # plain-Python records grouped by plot: pandas row access per season is ~100x slower. Only
    # the activities and columns used below are converted, the dates as datetime.date in one
    # vectorised step (boxing Timestamps row by row was most of the time).
    used = df.loc[
        df["activity"].isin(("sowing", "harvest", "residue", "manure", "tillage")),
        [
            "plot_id",
            "date",
            "activity",
            "crop",
            "yield",
            "method",
            "residue_fraction",
            "manure_rate",
            "manure_c",
        ],
    ]
    used = used.rename_axis("_row").reset_index()
    if used["date"].isna().any():
        row = used.loc[used["date"].isna()].iloc[0]
        raise ModelInputError(
            f"row {row['_row']} (plot {row['plot_id']!r}, {row['activity']}) has no date; log the date (YYYY-MM-DD)"
        )
    # datetime.date objects, one per distinct day (records share their days)
    days, day_of = np.unique(used["date"].to_numpy().astype("datetime64[D]"), return_inverse=True)
    used["date"] = days.astype(object)[day_of]
    by_plot: dict[Any, list[dict[str, Any]]] = {}
    names = list(used.columns)
    # the records as dicts of Python values, as ``to_dict("records")`` gives them, from whole
    # columns (``tolist``) rather than boxing each value
    for values in zip(*(used[c].tolist() for c in names), strict=True):
        rec = dict(zip(names, values, strict=True))
        by_plot.setdefault(rec["plot_id"], []).append(rec)

    for pid, recs in by_plot.items():
        i = pos[pid]
        sowings = [r for r in recs if r["activity"] == "sowing"]
        residues = [r for r in recs if r["activity"] == "residue"]
        prev_harvest: dt.date | None = None
        for h in (r for r in recs if r["activity"] == "harvest"):
            hdate = h["date"]
            cand = [
                r
                for r in sowings
                if r["date"] <= hdate and (prev_harvest is None or r["date"] > prev_harvest)
            ]
            if not cand:
                raise ModelInputError(
                    f"{_describe(h)} has no sowing record after the previous harvest; log the sowing date"
                )
            sdate = cand[-1]["date"]
            if (hdate - sdate).days > p.max_season_days:
                raise ModelInputError(
                    f"{_describe(h)}: sowing on {sdate} is more than {p.max_season_days} days earlier; check the dates"
                )
            crop = h["crop"] if isinstance(h["crop"], str) else cand[-1]["crop"]
            if not isinstance(crop, str):
                raise ModelInputError(
                    f"{_describe(h)} has no crop (field 'crop'); valid crops: {', '.join(CROPS)}"
                )
            yld = h["yield"]
            if _isna(yld):
                raise ModelInputError(f"{_describe(h)} has no yield (field 'yield', t/ha)")
            next_sow = [r["date"] for r in sowings if r["date"] > hdate]
            window_end = next_sow[0] if next_sow else hdate + dt.timedelta(days=365)
            # retained fraction: harvest row, then first residue record in [harvest, next sowing]
            if not _isna(h["residue_fraction"]) or h["method"] in RESIDUE_RETAINED_BY_METHOD:
                f_ret = retained_fraction(h["method"], h["residue_fraction"])
            else:
                rr = [r for r in residues if hdate <= r["date"] <= window_end]
                if rr:
                    try:
                        f_ret = retained_fraction(rr[0]["method"], rr[0]["residue_fraction"])
                    except ModelInputError as exc:
                        raise ModelInputError(f"{_describe(rr[0])}: {exc}") from None
                elif p.default_retained_fraction is not None:
                    f_ret = p.default_retained_fraction
                else:
                    raise ModelInputError(
                        f"{_describe(h)} has no residue record between the harvest and the next sowing; log the "
                        "straw fate, or pass CarbonInputParameters(default_retained_fraction=...)"
                    )
            if p.residue_method == "harvest_index":
                ag, bg = residue_carbon_harvest_index(float(yld), crop, f_ret, c_fraction=p.c_fraction)
            else:
                ag, bg = residue_carbon_ipcc(
                    float(yld), crop, f_ret, method=p.residue_method, c_fraction=p.c_fraction
                )
            jh = _ordinal(hdate) - m0
            if 0 <= jh < n_months:
                c_ag[i, jh] += float(ag)
            days = _days_per_month(sdate, hdate)
            n_days = (hdate - sdate).days + 1
            for mo, nd in days:
                j = mo - m0
                if not 0 <= j < n_months:
                    continue
                if p.root_placement == "growing_season":
                    c_bg[i, j] += float(bg) * nd / n_days
                if nd >= p.min_cover_fraction * _days_in_month(mo):
                    pc[i, j] = 1.0
            if p.root_placement == "harvest" and 0 <= jh < n_months:
                c_bg[i, jh] += float(bg)
            if p.mulch_as_cover and f_ret > 0:
                last = _ordinal(next_sow[0]) - m0 if next_sow else n_months - 1
                pc[i, max(jh, 0) : max(min(last, n_months - 1) + 1, 0)] = 1.0
            prev_harvest = hdate

        for mrec in (r for r in recs if r["activity"] == "manure"):
            if _isna(mrec["manure_rate"]) or _isna(mrec["manure_c"]):
                raise ModelInputError(
                    f"{_describe(mrec)} lacks manure_rate (t/ha fresh) or manure_c (% C of fresh mass); "
                    "log both, e.g. manure_c from a lab analysis of the manure"
                )
            try:
                value = float(manure_carbon(float(mrec["manure_rate"]), float(mrec["manure_c"])))
            except ModelInputError as exc:
                raise ModelInputError(f"{_describe(mrec)}: {exc}") from None
            j = _ordinal(mrec["date"]) - m0
            if 0 <= j < n_months:
                fym[i, j] += value

        by_year: dict[int, list[str]] = {}
        for trec in (r for r in recs if r["activity"] == "tillage"):
            method = trec["method"]
            if method not in BURIAL_FRACTION:
                raise ModelInputError(
                    f"{_describe(trec)} has tillage method {method!r}; valid methods: {', '.join(BURIAL_FRACTION)}"
                )
            by_year.setdefault(trec["date"].year, []).append(method)
            j = _ordinal(trec["date"]) - m0
            if 0 <= j < n_months:
                left[i, j] *= 1.0 - BURIAL_FRACTION[method]
        for year, methods in by_year.items():
            j0 = year * 12 - m0
            sel = slice(max(j0, 0), max(min(j0 + 12, n_months), 0))
            level[i, sel] = season_level(methods)
            logged_level[i, sel] = True

    coords = {"plot": plot_ids, "month": idx.to_timestamp(how="start")}
    dims = ("plot", "month")
    method_note = {
        "ipcc_ratio": "IPCC 2019 Refinement Vol. 4 Eq. 11.6/11.7/5.0h, R_AG and RS from Table 11.1a",
        "ipcc_regression": "IPCC 2019 Refinement Vol. 4 Eq. 11.6/11.7/5.0h, AG_DM from Table 11.2 regression",
        "harvest_index": "harvest index and shoot:root ratio, Bolinder et al. (2007) (maize values unverified)",
    }[p.residue_method]
    ds = xr.Dataset(
        {
            "c_inp": (
                dims,
                c_ag + c_bg,
                {
                    "units": "t C ha-1 month-1",
                    "long_name": "plant carbon input per month",
                    "method": method_note,
                },
            ),
            "c_inp_ag": (
                dims,
                c_ag,
                {"units": "t C ha-1 month-1", "long_name": "retained above-ground residue C per month"},
            ),
            "c_inp_bg": (
                dims,
                c_bg,
                {"units": "t C ha-1 month-1", "long_name": "root (and rhizodeposit) C per month"},
            ),
            "fym": (dims, fym, {"units": "t C ha-1 month-1", "long_name": "manure carbon input per month"}),
            "pc": (dims, pc, {"units": "1", "long_name": "living plant cover (1 covered, 0 bare)"}),
            "incorporation": (
                dims,
                1.0 - left,
                {
                    "units": "1",
                    "long_name": "fraction of the surface residue buried by the month's tillage",
                    "source": "models.surface.BURIAL_FRACTION",
                },
            ),
            "tillage": (
                dims,
                level.astype(str),
                {
                    "units": "1",
                    "long_name": "IPCC Tier 1 tillage level of the year's logged tillage (full_till where none is logged)",
                },
            ),
            "tillage_logged": (
                dims,
                logged_level,
                {"units": "1", "long_name": "a tillage record was logged in the month's year"},
            ),
            "dpm_rpm": (
                dims,
                np.full(shape, p.dpm_rpm),
                {
                    "units": "1",
                    "long_name": "DPM/RPM ratio of plant inputs",
                    "source": "Coleman & Jenkinson (1996) RothC-26.3",
                },
            ),
        },
        coords=coords,
    )
    ds.attrs["residue_method"] = p.residue_method
    return ds
