"""One management history through the soil-carbon model: surface residue, tillage, RothC-26.3.

:func:`simulate` is the model chain every use of the model goes through (the baseline and project
scenarios of a project, the treatments of a long-term experiment in ``mrv validate``):

1. the spin-up: the look-back management averaged per calendar month under the weather's monthly
   climatology, its plant input scaled so that the periodic steady state of RothC equals the
   measured SOC (IOM from Falloon et al. 1998; :func:`models.rothc.fit_plant_input_to_soc`);
2. the surface residue pool (:mod:`models.surface`) turns the residue left on the surface and the
   tillage passes into a monthly C flux into the soil;
3. the tillage level of each month sets a decomposition-rate modifier of the soil pools
   (:mod:`models.tillage`);
4. RothC-26.3 (:func:`models.rothc.run_rothc`) runs month by month from the spin-up state with the
   roots and the surface flux as plant input.

With ``surface_pool=False`` and ``tillage_effect=False`` (or no surface residue and full tillage)
the chain is exactly RothC-26.3 with every plant input entering the soil in its month.

Pure: Datasets in, Datasets out.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models import ipcc_tier1
from models.errors import ModelInputError, MRVWarning
from models.montecarlo import apply_draws
from models.rothc import (
    RothCParameters,
    equilibrium,
    falloon_iom,
    fit_plant_input_to_soc,
    rate_modifier_temperature,
    run_rothc,
)
from models.surface import periodic_surface_residue, surface_residue
from models.tillage import tillage_rate_modifier

__all__ = [
    "DEFAULT_MODERN_PCT",
    "ScenarioWarning",
    "SoilCarbonParameters",
    "SpinUp",
    "climate_zone_of",
    "climatology",
    "simulate",
    "spin_up",
    "spinup_year",
]

#: Fraction of modern carbon in fresh inputs [%]; only the radiocarbon outputs use it
#: (RothC_input.dat "modern" column; 100 = modern atmosphere, Coleman & Jenkinson 2014 guide).
DEFAULT_MODERN_PCT = 100.0


class ScenarioWarning(MRVWarning):
    """A plot's inputs were adjusted to make the model run (the message says how; ``plots`` names
    the plots)."""

    def __init__(self, message: str, plots: tuple[str, ...] = ()):
        super().__init__(message)
        self.plots = tuple(plots)


@dataclasses.dataclass(frozen=True)
class SoilCarbonParameters:
    """The parameters of the model chain beyond RothC-26.3's own, with their ranges.

    The defaults are the literature priors below; ``mrv validate`` fits the free ones on a subset
    of long-term experiments (:data:`models.calibration.CALIBRATED`); the values project runs use,
    and why, are :data:`models.calibration.ADOPTED`.
    """

    surface_pool: bool = True
    """Keep residue left on the surface in its own pool outside SOC (:mod:`models.surface`)."""
    surface_decay: float = 0.3
    """Surface residue decay rate constant k_S [yr-1], applied with RothC's temperature modifier.
    Prior: RothC's rate for resistant plant material (RPM, 0.3 yr-1, Coleman & Jenkinson 2014), in
    line with Century's surface structural litter decaying ~0.8x as fast as buried litter (Parton
    et al. 1987); at Lishu's temperatures it loses ~35 % a year. Range 0.15-0.6 yr-1."""
    surface_to_soil: float = 0.5
    """Fraction of the C lost from the surface pool that enters the soil as plant material [1]
    (the rest is respired on the surface). Prior: Century assimilates 55 % of decomposing surface
    structural litter into surface microbes that later move to the soil (Parton et al. 1987;
    PS1CO2 = 0.45). Range 0.2-1.0."""
    tillage_effect: bool = True
    """Scale decomposition of the soil pools by the tillage rate modifier (:mod:`models.tillage`)."""
    tillage_scale: float = 1.0
    """Scale s of the IPCC F_MG in the rate modifier m = 1 / (1 + s (F_MG - 1)) [1]; 1 reproduces
    IPCC 2019 Table 5.5 at equilibrium. Range 0-3 (0: no tillage effect)."""

    @property
    def ranges(self) -> Mapping[str, tuple[float, float]]:
        """Free parameters and their ranges (priors; see each field)."""
        return MappingProxyType(
            {"surface_decay": (0.15, 0.6), "surface_to_soil": (0.2, 1.0), "tillage_scale": (0.0, 3.0)}
        )

    def replace(self, **changes: Any) -> SoilCarbonParameters:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def climatology(weather: xr.Dataset) -> xr.Dataset:
    """Mean of each calendar month over the weather record (the spin-up climate).

    Parameters
    ----------
    weather : xarray.Dataset
        ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] along ``month`` (datetime coordinate).

    Returns
    -------
    xarray.Dataset
        The same variables along a 12-step ``month`` coordinate (Jan..Dec of year 2000).
    """
    clim = weather.groupby("month.month").mean("month")
    clim = clim.rename(month="calendar_month")
    months = pd.date_range("2000-01-01", periods=12, freq="MS")
    clim = clim.rename(calendar_month="month").assign_coords(month=months)
    for name in clim.data_vars:
        clim[name].attrs = dict(weather[name].attrs)
    return clim


def climate_zone_of(weather: xr.Dataset) -> str:
    """IPCC climate zone of a weather record from its monthly climatology.

    Mean annual temperature and precipitation, and PET = 0.75 x open-pan evaporation (RothC's
    own pan factor, :attr:`models.rothc.RothCParameters.evap_factor`), classified by
    :func:`models.ipcc_tier1.ipcc_climate_zone`.
    """
    clim = climatology(weather)
    if "plot" in clim.dims:
        clim = clim.mean("plot")
    mat = float(clim["tmp"].mean())
    map_mm = float(clim["rain"].sum())
    pet_mm = RothCParameters().evap_factor * float(clim["evap"].sum())
    return str(ipcc_tier1.ipcc_climate_zone(mat, map_mm, pet_mm))


_MANAGEMENT = ("c_inp", "surface_inp", "incorporation", "fym", "pc", "dpm_rpm")


def _check_management(ds: xr.Dataset, what: str) -> None:
    missing = [v for v in _MANAGEMENT if v not in ds]
    if missing:
        raise ModelInputError(
            f"{what} lacks variable(s) {missing}; the model chain needs {list(_MANAGEMENT)} and 'tillage'"
        )
    if "tillage" not in ds and "till_method" not in ds:
        raise ModelInputError(
            f"{what} lacks the monthly tillage level ('tillage': full_till, reduced_till or no_till)"
        )


def _levels(ds: xr.Dataset) -> xr.DataArray:
    """Tier 1 tillage level per (plot, month) ('till_method' canonical methods are mapped)."""
    if "tillage" in ds:
        return ds["tillage"]
    methods = ds["till_method"]
    mapped = np.vectorize(
        lambda m: ipcc_tier1.TILLAGE_LEVEL_OF_METHOD.get(str(m), "full_till"), otypes=[object]
    )(methods.values)
    return methods.copy(data=mapped.astype(str))


def _draw_var(draws: xr.Dataset | None, name: str, default: float) -> xr.DataArray | float:
    if draws is not None and name in draws:
        return draws[name]
    return default


def _rate_mod(levels: xr.DataArray, zone: str, scale: xr.DataArray | float) -> xr.DataArray:
    """Tillage rate modifier per (plot, month[, draw]) (:func:`models.tillage.tillage_rate_modifier`)."""
    out = xr.apply_ufunc(tillage_rate_modifier, levels, zone, scale)
    return out.assign_attrs(units="1", long_name="decomposition-rate modifier of the soil pools (tillage)")


def _surface(
    mgmt: xr.Dataset,
    tmp: xr.DataArray,
    params: SoilCarbonParameters,
    draws: xr.Dataset | None,
    initial: Any = 0.0,
    periodic: bool = False,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Surface pool and its flux into the soil over the management's months (draw-aware); with
    ``periodic`` the 12 months are the spin-up year in its periodic steady state."""
    tmp_off = _draw_var(draws, "tmp_offset", 0.0)
    factor = _draw_var(draws, "c_inp_factor", 1.0)
    decay = _draw_var(draws, "surface_decay", params.surface_decay)
    to_soil = _draw_var(draws, "surface_to_soil", params.surface_to_soil)
    a = xr.apply_ufunc(rate_modifier_temperature, tmp + tmp_off)
    inp = mgmt["surface_inp"] * factor
    inp, inc, a_b, decay_b, to_soil_b, init_b = xr.broadcast(
        inp, mgmt["incorporation"], a, xr.DataArray(decay), xr.DataArray(to_soil), xr.DataArray(initial)
    )
    lead = [d for d in inp.dims if d != "month"]
    order = [*lead, "month"]
    run = periodic_surface_residue if periodic else surface_residue
    extra = (
        ()
        if periodic
        else (
            init_b.isel(month=0).transpose(*lead).values
            if "month" in init_b.dims
            else init_b.transpose(*lead).values,
        )
    )
    pool, flux = run(
        inp.transpose(*order).values,
        inc.transpose(*order).values,
        a_b.transpose(*order).values,
        decay_b.isel(month=0).transpose(*lead).values
        if "month" in decay_b.dims
        else decay_b.transpose(*lead).values,
        to_soil_b.isel(month=0).transpose(*lead).values
        if "month" in to_soil_b.dims
        else to_soil_b.transpose(*lead).values,
        *extra,
    )
    coords = {d: inp[d] for d in order if d in inp.coords}
    pool_da = xr.DataArray(
        pool, dims=order, coords=coords, attrs={"units": "t C ha-1", "long_name": "surface residue C"}
    )
    flux_da = xr.DataArray(
        flux,
        dims=order,
        coords=coords,
        attrs={"units": "t C ha-1 month-1", "long_name": "surface residue C entering the soil"},
    )
    return pool_da, flux_da


def _forcing(weather: xr.Dataset, months: xr.DataArray) -> xr.Dataset:
    missing = np.setdiff1d(months.values, weather["month"].values)
    if missing.size:
        raise ModelInputError(
            f"weather lacks {missing.size} month(s) of the run, first {pd.Timestamp(missing[0]):%Y-%m}; "
            "upload weather covering the whole run"
        )
    return weather[["tmp", "rain", "evap"]].sel(month=months)


@dataclasses.dataclass(frozen=True)
class SpinUp:
    """The state a run starts from (:func:`spin_up`)."""

    initial: xr.Dataset
    """RothC pools and SMD at the start (the periodic steady state of the spin-up year)."""
    iom: xr.DataArray
    """Inert organic matter [t C ha-1] (Falloon et al. 1998)."""
    surface: xr.DataArray
    """Surface residue C at the start [t C ha-1]."""
    annual_c_input: xr.DataArray
    """Fitted annual plant C input of the spin-up [t C ha-1 yr-1] (roots and surface flux)."""
    climate_zone: str
    """IPCC climate zone used for the tillage modifier."""


def spinup_year(spinup: xr.Dataset, months: xr.DataArray) -> tuple[xr.Dataset, xr.DataArray]:
    """The spin-up year of :func:`spin_up` from the look-back management.

    Parameters
    ----------
    spinup : xarray.Dataset
        Look-back management over (plot, month) (:func:`simulate`'s variables).
    months : xarray.DataArray
        The 12 months of the spin-up climate (:func:`climatology`).

    Returns
    -------
    year : xarray.Dataset
        Each calendar month's mean management over the look-back, plant cover rounded to 0/1.
    usual : xarray.DataArray
        The look-back's usual Tier 1 tillage level per plot (its most frequent monthly level).
    """
    spin = spinup.drop_vars(["tillage", "till_method", "tillage_logged"], errors="ignore")
    spin = spin.groupby("month.month").mean("month").rename(month="month_of_year")
    spin = spin.rename(month_of_year="month").assign_coords(month=months.values)
    spin["pc"] = (spin["pc"] >= 0.5).astype(float)
    for name in spin.data_vars:
        spin[name].attrs = dict(spinup[name].attrs)
    levels = _levels(spinup).transpose("plot", "month")
    vals = np.asarray(levels.values).astype(str)
    names = np.unique(vals)  # sorted: a tie goes to the first name, as pandas' mode
    counts = np.stack([(vals == n).sum(axis=1) for n in names])
    usual = xr.DataArray(
        names[counts.argmax(axis=0)].astype(object), dims="plot", coords={"plot": levels["plot"]}
    )
    return spin, usual


def spin_up(
    spinup: xr.Dataset,
    weather: xr.Dataset,
    soil: xr.Dataset,
    *,
    depth_cm: float,
    params: SoilCarbonParameters | None = None,
    draws: xr.Dataset | None = None,
    climate_zone: str | None = None,
) -> SpinUp:
    """The spin-up of :func:`simulate` (step 1 of the module notes), to share between runs.

    Parameters are those of :func:`simulate`; ``spinup`` is the look-back management.
    """
    p = params or SoilCarbonParameters()
    _check_management(spinup, "spinup")
    zone = climate_zone or climate_zone_of(weather)
    clay = soil["clay"]
    soc0 = _soc_initial(soil, draws)
    scale = _draw_var(draws, "tillage_scale", p.tillage_scale) if p.tillage_effect else 0.0
    clim = climatology(weather)
    spin, usual = spinup_year(spinup, clim["month"])
    spin_draws = draws.drop_vars("c_inp_factor", errors="ignore") if draws is not None else None
    if p.surface_pool:
        s_pool, s_flux = _surface(spin, clim["tmp"], p, spin_draws, periodic=True)
        spin_cinp = spin["c_inp"] + s_flux
        s_end = s_pool.isel(month=-1, drop=True)
    else:
        spin_cinp = spin["c_inp"] + spin["surface_inp"]
        s_end = xr.zeros_like(soc0)
    spin_in = _rothc_inputs(clim, spin.assign(c_inp=spin_cinp), clay, depth_cm)
    if spin_draws is not None:
        # c_inp_factor is left out: the fit below scales the spin-up input whatever it is
        spin_in = apply_draws(spin_in, _input_draws(spin_draws))
    if p.tillage_effect:
        spin_in["rate_mod"] = _rate_mod(usual, zone, scale)
    if "draw" in soc0.dims and "draw" not in spin_in["c_inp"].dims:
        spin_in["c_inp"] = spin_in["c_inp"].expand_dims(draw=soc0["draw"].values)
    spin_in = _drop_infeasible_manure(spin_in, soc0)
    fit = fit_plant_input_to_soc(spin_in, soc0.values, iom="falloon")
    ratio = (fit["c_inp"] / spin_in["c_inp"].where(spin_in["c_inp"] > 0)).max("month").fillna(1.0)
    spin_in = spin_in.assign(c_inp=fit["c_inp"].assign_coords(month=spin_in["month"]), iom=fit["iom"])
    # the true periodic steady state (not the official iteration, ~1e-4 t C ha-1 short of it)
    init = equilibrium(spin_in, method="analytic")
    return SpinUp(init, fit["iom"], (s_end * ratio).assign_attrs(units="t C ha-1"), fit["annual_c_inp"], zone)


def simulate(
    management: xr.Dataset,
    weather: xr.Dataset,
    soil: xr.Dataset,
    *,
    spinup: xr.Dataset | None = None,
    depth_cm: float,
    params: SoilCarbonParameters | None = None,
    draws: xr.Dataset | None = None,
    climate_zone: str | None = None,
    variables: tuple[str, ...] | None = None,
    spun: SpinUp | None = None,
) -> xr.Dataset:
    """Run one management history per plot from a spin-up fitted to the measured SOC.

    Parameters
    ----------
    management : xarray.Dataset
        Over (plot, month): ``c_inp`` [t C ha-1 month-1] plant C entering the soil directly
        (roots), ``surface_inp`` [t C ha-1 month-1] residue left on the surface, ``incorporation``
        [1] fraction of the surface residue buried that month, ``tillage`` (IPCC Tier 1 level:
        ``full_till``, ``reduced_till``, ``no_till``; or ``till_method``, canonical methods),
        ``fym`` [t C ha-1 month-1], ``pc`` [1], ``dpm_rpm`` [1].
    weather : xarray.Dataset
        Monthly ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] (open pan) along ``month``, covering
        the run; its calendar-month means are the spin-up climate.
    soil : xarray.Dataset
        Along ``plot``: ``clay`` [%] and ``soc_initial`` [t C ha-1] (soil SOC of the layer at the
        first month).
    spinup : xarray.Dataset
        Management of the look-back months (same variables); averaged per calendar month it is
        the spin-up year. Not needed when ``spun`` is given.
    depth_cm : float
        Depth of the modelled layer [cm].
    params : SoilCarbonParameters, optional
    draws : xarray.Dataset, optional
        Monte Carlo draws along ``draw``: model parameters (``surface_decay``, ``surface_to_soil``,
        ``tillage_scale``), input modifiers (:data:`models.montecarlo.DEFAULT_RULES`:
        ``c_inp_factor``, ``tmp_offset``, ``rain_factor``, ``clay`` ...) and ``soc_initial``.
    climate_zone : str, optional
        IPCC climate zone of the tillage modifier (default: from the weather).
    variables : tuple of str, optional
        RothC outputs to keep (default all; ``("SOC",)`` for large Monte Carlo runs).
    spun : SpinUp, optional
        A spin-up already made (:func:`spin_up`) with the same soil, draws and parameters.

    Returns
    -------
    xarray.Dataset
        Over (plot, month[, draw]): ``SOC`` [t C ha-1] soil organic C of the layer (DPM + RPM +
        BIO + HUM + IOM; the surface residue excluded), ``surface`` [t C ha-1] surface residue C,
        the other RothC outputs requested, and ``spinup_c_input`` [t C ha-1 yr-1]; ``attrs``:
        ``climate_zone``.
    """
    p = params or SoilCarbonParameters()
    _check_management(management, "management")
    if spun is None:
        if spinup is None:
            raise ModelInputError("simulate needs the look-back management (spinup=) or a spin-up (spun=)")
        spun = spin_up(
            spinup, weather, soil, depth_cm=depth_cm, params=p, draws=draws, climate_zone=climate_zone
        )
    zone = spun.climate_zone
    scale = _draw_var(draws, "tillage_scale", p.tillage_scale) if p.tillage_effect else 0.0
    months = management["month"]
    forcing = _forcing(weather, months)
    factor = _draw_var(draws, "c_inp_factor", 1.0)
    if p.surface_pool:
        s_pool, s_flux = _surface(management, forcing["tmp"], p, draws, initial=spun.surface)
        cinp = management["c_inp"] * factor + s_flux
    else:
        s_pool = xr.zeros_like(management["c_inp"]).assign_attrs(units="t C ha-1")
        cinp = (management["c_inp"] + management["surface_inp"]) * factor
    run_mgmt = management.drop_vars(
        ["tillage", "till_method", "tillage_logged", "surface_inp", "incorporation"], errors="ignore"
    )
    run_in = _rothc_inputs(
        forcing, run_mgmt.assign(c_inp=cinp.assign_attrs(units="t C ha-1 month-1")), soil["clay"], depth_cm
    )
    if draws is not None:
        run_in = apply_draws(run_in, _input_draws(draws))
    if p.tillage_effect:
        run_in["rate_mod"] = _rate_mod(_levels(management), zone, scale)
    run_in = run_in.assign(iom=spun.iom)
    out = run_rothc(run_in, initial=spun.initial, variables=variables)
    out["surface"] = s_pool.transpose(*[d for d in ("draw", "plot", "month") if d in s_pool.dims])
    out["spinup_c_input"] = spun.annual_c_input
    out.attrs["climate_zone"] = zone
    return out


def manure_draws_warning(plots: list[str]) -> ScenarioWarning:
    """The warning of a Monte Carlo whose lower SOC draws fall below a plot's manure-only
    equilibrium (:func:`_drop_infeasible_manure`)."""
    return ScenarioWarning(
        f"in some Monte Carlo draws (lower SOC draws), {len(plots)} plot(s) have a SOC below the equilibrium "
        f"of their baseline manure alone (first: {plots[:5]}); those draws' spin-up ignores manure",
        tuple(plots),
    )


def _soc_initial(soil: xr.Dataset, draws: xr.Dataset | None) -> xr.DataArray:
    soc0 = soil["soc_initial"]
    if draws is not None and "soc_initial" in draws:
        soc0 = xr.broadcast(draws["soc_initial"], soc0)[0].transpose("draw", "plot")
    if bool((soc0 <= 0).any()):
        raise ModelInputError("soc_initial must be positive for every plot [t C ha-1]")
    return soc0


#: Draw variables the chain uses itself (not RothC input modifiers).
_CHAIN_DRAWS = (
    "soc_initial",
    "surface_decay",
    "surface_to_soil",
    "tillage_scale",
    "c_inp_factor",
    "model_error",
)


def _input_draws(draws: xr.Dataset) -> xr.Dataset:
    return draws.drop_vars(list(_CHAIN_DRAWS), errors="ignore")


def _drop_infeasible_manure(spin: xr.Dataset, soc0: xr.DataArray) -> xr.Dataset:
    """Zero the spin-up manure of plots whose measured SOC is below the manure-only equilibrium.

    Such a plot cannot be at equilibrium with that manure rate (the fitted plant input would be
    negative); its manure history is then not representative of the long-term baseline and the
    plant input alone carries the spin-up. With Monte Carlo draws a plot is dropped if any draw
    is infeasible. A :class:`ScenarioWarning` names the plots.
    """
    if not bool((spin["fym"] > 0).any()):
        return spin
    iom = xr.apply_ufunc(falloon_iom, soc0)
    manure_only = equilibrium(spin.assign(c_inp=xr.zeros_like(spin["c_inp"]), iom=iom), method="analytic")
    infeasible = manure_only["SOC"] >= soc0
    if "draw" in infeasible.dims:
        infeasible = infeasible.any("draw")
    bad = infeasible & (spin["fym"].sum("month") > 0)
    if "draw" in bad.dims:
        bad = bad.any("draw")
    if bool(bad.any()):
        names = [str(p) for p in spin["plot"].values[bad.values]]
        warnings.warn(
            ScenarioWarning(
                f"{len(names)} plot(s) have a measured SOC below the equilibrium of their baseline manure alone "
                f"(first: {names[:5]}); their spin-up ignores manure. Check the manure records and the soil samples.",
                tuple(names),
            ),
            stacklevel=3,
        )
        spin = spin.assign(fym=spin["fym"].where(~bad, 0.0).assign_attrs(spin["fym"].attrs))
    return spin


def _rothc_inputs(
    weather: xr.Dataset, management: xr.Dataset, clay: xr.DataArray, depth_cm: float
) -> xr.Dataset:
    """RothC inputs from weather (month) and management (plot, month): the official variables."""
    ds = xr.merge([management[["c_inp", "fym", "pc", "dpm_rpm"]], weather[["tmp", "rain", "evap"]]])
    ds["clay"] = clay.astype(float).assign_attrs(units="%", long_name="clay content")
    ds["depth"] = xr.DataArray(float(depth_cm), attrs={"units": "cm", "long_name": "soil depth"})
    ds["iom"] = xr.zeros_like(ds["clay"]).assign_attrs(units="t C ha-1", long_name="inert organic matter")
    ds["modern"] = xr.DataArray(
        DEFAULT_MODERN_PCT, attrs={"units": "%", "long_name": "modern C fraction of inputs"}
    )
    return ds
