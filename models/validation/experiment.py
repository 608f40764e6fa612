"""One long-term experiment through the model chain: spin-up, the inverse input fit, the runs.

Per site, all treatments in one call of the model chain (:func:`models.chain.simulate`):

1. the **pre-experiment practice** is the control treatment's management over the run
   (:func:`models.validation.pairing.choose_control`): averaged per calendar month under the
   weather's climatology it is the spin-up year of every treatment;
2. the **inverse approach**: :func:`models.chain.spin_up` fits the plant input of that practice so
   that the RothC equilibrium equals each treatment's first observed SOC; the ratio of the fitted
   to the nominal input (:func:`input_scale`) then scales the nominal plant inputs of every
   treatment (:mod:`models.validation.management`), so that each treatment's inputs are the fitted
   level times the rule's factors;
3. the run, month by month to the end of the last observation year, deterministic or with Monte
   Carlo draws of the model parameters (:func:`parameter_draws`);
4. calibration (:func:`calibrate`): the free parameters (:data:`FREE_PARAMETERS`)
   on a grid within :attr:`models.chain.SoilCarbonParameters.ranges`, all grid points run at once
   as draws, minimising an objective (the service uses the RMSE of the tillage and residue pair
   differences of the calibration sites, :data:`mrv_service.validate.pipeline.CALIBRATION_CATEGORIES`).

Note: the chain scales only the spin-up's plant input to the measured stock; the run's management
is taken as given [t C ha-1]. :func:`input_scale` recomputes the spin-up year's nominal soil input
(roots plus the surface pool's flux at its periodic state, as :func:`models.chain.spin_up` does) to
get the fitted factor; it is tested against the chain (a control run under climatological weather
stays at its starting stock).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.chain import SoilCarbonParameters, climatology, simulate, spin_up
from models.errors import ModelInputError
from models.rothc import rate_modifier_temperature
from models.surface import surface_residue
from models.uncertainty import SCENARIO_UNCERTAINTY
from models.validation.forcing import add_irrigation

__all__ = [
    "FREE_PARAMETERS",
    "SURFACE_SPINUP_YEARS",
    "SiteInputs",
    "calibrate",
    "input_scale",
    "parameter_draws",
    "run_site",
]

#: The parameters calibrated and drawn: the surface-residue decay and transfer, and the tillage scale
#: (:class:`models.chain.SoilCarbonParameters`, ranges in its ``ranges``).
FREE_PARAMETERS: tuple[str, ...] = ("surface_decay", "surface_to_soil", "tillage_scale")

#: Years of the surface pool's spin-up in :func:`input_scale` (the chain's own spin-up repeats the
#: year as often; the pool loses >= 30 % a year, so the flux is periodic to < 1e-9 long before).
SURFACE_SPINUP_YEARS = 60

_PLANT = ("c_inp", "surface_inp")


@dataclass(frozen=True)
class SiteInputs:
    """Everything the model needs for one site (built by the service from the site's files)."""

    name: str
    """Site name."""
    weather: xr.Dataset
    """Monthly ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] along ``month``, covering the run."""
    management: xr.Dataset
    """Nominal monthly inputs over (plot, month) (:func:`models.validation.monthly.monthly_inputs`)."""
    clay_pct: float
    """Clay content of the modelled layer [%]."""
    depth_cm: float
    """Depth of the modelled (observed) layer [cm]."""
    soc_initial: Mapping[str, float]
    """Observed SOC of each treatment in the start year [t C ha-1]."""
    control: str
    """Treatment whose management is the pre-experiment practice."""

    @property
    def plots(self) -> list[str]:
        return [str(p) for p in self.management["plot"].values]


def _plot_weather(site: SiteInputs) -> xr.Dataset:
    """The site's weather with each treatment's irrigation in ``rain`` (over plot, month).

    ``tmp`` and ``evap`` keep the site's single series (along ``month`` only). Besides saving
    memory this avoids a dimension-order bug of :mod:`models.rothc` (``_apply_rate_modifier``
    reshapes the temperature modifier in the order of the transposed values but labels it with
    the untransposed dims, so a ``tmp`` over (month, plot), which the chain's climatology returns
    for per-plot weather, is scrambled when ``rate_mod`` is given).
    """
    mg = site.management
    wet = add_irrigation(site.weather, mg["irrigation"], mg["auto_irrigation"])
    out = xr.Dataset({"tmp": site.weather["tmp"], "rain": wet["rain"], "evap": site.weather["evap"]})
    return out


def _soil(site: SiteInputs) -> xr.Dataset:
    plots = site.plots
    return xr.Dataset(
        {
            "clay": ("plot", np.full(len(plots), float(site.clay_pct)), {"units": "%"}),
            "soc_initial": ("plot", [float(site.soc_initial[p]) for p in plots], {"units": "t C ha-1"}),
        },
        coords={"plot": plots},
    )


def _spinup_management(site: SiteInputs) -> xr.Dataset:
    """The control's management for every plot (the pre-experiment practice)."""
    mg = site.management.drop_vars(["irrigation", "auto_irrigation"])
    ctrl = mg.sel(plot=[site.control] * len(site.plots))
    return ctrl.assign_coords(plot=site.plots)


def _chain_management(mg: xr.Dataset) -> xr.Dataset:
    return mg.drop_vars(["irrigation", "auto_irrigation"], errors="ignore")


def input_scale(
    spun: Any,
    spinup: xr.Dataset,
    weather: xr.Dataset,
    params: SoilCarbonParameters,
    draws: xr.Dataset | None = None,
) -> xr.DataArray:
    """Fitted over nominal plant input of the spin-up year, per plot (and draw).

    Parameters
    ----------
    spun : models.chain.SpinUp
        The chain's spin-up of ``spinup`` (its ``annual_c_input`` is the fitted soil input
        [t C ha-1 yr-1]: roots plus the surface pool's flux).
    spinup : xarray.Dataset
        The nominal spin-up management over (plot, month).
    weather : xarray.Dataset
        The weather the spin-up was made with (its climatology is the spin-up climate).
    params : SoilCarbonParameters
    draws : xarray.Dataset, optional
        The draws the spin-up was made with (``surface_decay``, ``surface_to_soil``, ``tmp_offset``).

    Returns
    -------
    xarray.DataArray
        The factor [1] that turns the nominal plant inputs (``c_inp``, ``surface_inp``) into
        t C ha-1, over (plot) or (draw, plot).
    """
    clim = climatology(weather)
    spin = spinup[list(_PLANT) + ["incorporation"]].groupby("month.month").mean("month")
    spin = spin.rename(month="calendar_month")
    roots = spin["c_inp"].sum("calendar_month")
    if not params.surface_pool:
        nominal = roots + spin["surface_inp"].sum("calendar_month")
    else:
        tmp = clim["tmp"].rename(month="calendar_month").assign_coords(calendar_month=np.arange(1, 13))
        if draws is not None and "tmp_offset" in draws:
            tmp = tmp + draws["tmp_offset"]
        a = xr.apply_ufunc(rate_modifier_temperature, tmp)
        decay = (
            draws["surface_decay"] if draws is not None and "surface_decay" in draws else params.surface_decay
        )
        to_soil = (
            draws["surface_to_soil"]
            if draws is not None and "surface_to_soil" in draws
            else params.surface_to_soil
        )
        inp, inc, aa, k, f = xr.broadcast(
            spin["surface_inp"], spin["incorporation"], a, xr.DataArray(decay), xr.DataArray(to_soil)
        )
        lead = [d for d in inp.dims if d != "calendar_month"]
        order = [*lead, "calendar_month"]
        n = SURFACE_SPINUP_YEARS

        def tile(x: xr.DataArray) -> np.ndarray:
            return np.tile(x.transpose(*order).values, n)

        _pool, flux = surface_residue(
            tile(inp),
            tile(inc),
            tile(aa),
            k.isel(calendar_month=0).transpose(*lead).values,
            f.isel(calendar_month=0).transpose(*lead).values,
        )
        coords = {d: inp[d] for d in lead if d in inp.coords}
        year_flux = xr.DataArray(flux[..., -12:].sum(axis=-1), dims=lead, coords=coords)
        nominal = roots + year_flux
    fitted = spun.annual_c_input
    if bool((nominal <= 0).any()):
        raise ModelInputError(
            "the pre-experiment practice brings no plant input (no harvest or kill in the control's schedule); "
            "the inverse fit needs at least one crop season"
        )
    scale = fitted / nominal
    dims = [d for d in ("draw", "plot") if d in scale.dims]
    return scale.transpose(*dims).assign_attrs(units="1", long_name="fitted over nominal plant input")


def _scaled(mg: xr.Dataset, scale: xr.DataArray) -> xr.Dataset:
    out = mg.copy()
    for v in _PLANT:
        out[v] = (mg[v] * scale).assign_attrs(mg[v].attrs)
    out.attrs["plant_input_units"] = "t C ha-1 month-1 (nominal inputs times the fitted factor)"
    return out


def run_site(
    site: SiteInputs,
    params: SoilCarbonParameters | None = None,
    draws: xr.Dataset | None = None,
    variables: tuple[str, ...] | None = ("SOC",),
) -> xr.Dataset:
    """All treatments of a site through the model chain.

    Parameters
    ----------
    site : SiteInputs
    params : SoilCarbonParameters, optional
    draws : xarray.Dataset, optional
        Monte Carlo draws along ``draw``: ``surface_decay``, ``surface_to_soil``, ``tillage_scale``
        (model parameters) and ``c_inp_factor`` (uncertainty of the input rule relative to the
        fitted level; multiplied by the fitted factor here).
    variables : tuple of str, optional
        RothC outputs to keep.

    Returns
    -------
    xarray.Dataset
        The chain's outputs over (plot, month[, draw]) (``SOC`` [t C ha-1] the soil organic C of the
        layer, ``surface`` [t C ha-1]), plus ``input_scale`` [1] and ``spinup_c_input``
        [t C ha-1 yr-1]; ``attrs``: ``control``, ``climate_zone``.
    """
    p = params or SoilCarbonParameters()
    weather = _plot_weather(site)
    soil = _soil(site)
    spinup = _spinup_management(site)
    mgmt = _chain_management(site.management)
    fit_draws = None if draws is None else draws.drop_vars("c_inp_factor", errors="ignore")
    spun = spin_up(spinup, weather, soil, depth_cm=site.depth_cm, params=p, draws=fit_draws)
    scale = input_scale(spun, spinup, weather, p, fit_draws)
    if draws is None:
        out = simulate(
            _scaled(mgmt, scale),
            weather,
            soil,
            depth_cm=site.depth_cm,
            params=p,
            spun=spun,
            variables=variables,
        )
    else:
        factor = scale * (draws["c_inp_factor"] if "c_inp_factor" in draws else 1.0)
        run_draws = draws.assign(c_inp_factor=factor.transpose("draw", "plot"))
        out = simulate(
            mgmt,
            weather,
            soil,
            depth_cm=site.depth_cm,
            params=p,
            spun=spun,
            draws=run_draws,
            variables=variables,
        )
    out["input_scale"] = scale
    out.attrs["control"] = site.control
    return out


def parameter_draws(
    params: SoilCarbonParameters,
    n_draws: int,
    seed: int,
    *,
    names: Sequence[str] = ("surface_decay", "surface_to_soil", "tillage_scale"),
    input_uncertainty: bool = True,
) -> xr.Dataset:
    """Seeded Monte Carlo draws of the model parameters for the prediction intervals.

    Each free parameter is drawn from a triangular distribution over its range
    (:attr:`SoilCarbonParameters.ranges`) with its mode at the value in use (the default or the
    calibrated one), so the draws centre on the model as run and still span the prior range;
    ``c_inp_factor``, the uncertainty of the plant input rule relative to the fitted level, is
    drawn from :data:`models.uncertainty.SCENARIO_UNCERTAINTY` (95 % range 0.8-1.2).

    Returns
    -------
    xarray.Dataset
        One variable per parameter along ``draw``.
    """
    if n_draws < 1:
        raise ModelInputError(f"n_draws must be >= 1, got {n_draws}")
    rng = np.random.default_rng(seed)
    ranges = params.ranges
    out: dict[str, Any] = {}
    for name in names:
        lo, hi = ranges[name]
        mode = float(np.clip(getattr(params, name), lo, hi))
        vals = rng.triangular(lo, mode, hi, n_draws) if hi > lo else np.full(n_draws, lo)
        out[name] = (
            "draw",
            vals,
            {
                "units": "yr-1" if name == "surface_decay" else "1",
                "distribution": f"triangular({lo}, {mode}, {hi})",
            },
        )
    if input_uncertainty:
        spec = SCENARIO_UNCERTAINTY["c_inp_factor"]
        out["c_inp_factor"] = (
            "draw",
            spec.sample(rng, (n_draws,)),
            {"units": "1", "distribution": spec.resolved_kind()},
        )
    return xr.Dataset(out, coords={"draw": np.arange(n_draws)})


def _grid(
    ranges: Mapping[str, tuple[float, float]],
    centre: Mapping[str, float] | None,
    steps: Mapping[str, float] | None,
    n: int,
) -> list[dict[str, float]]:
    axes = []
    for name in FREE_PARAMETERS:
        lo, hi = ranges[name]
        if centre is None:
            vals = np.linspace(lo, hi, n)
        else:
            st = steps[name] if steps else (hi - lo) / (n - 1)
            vals = np.clip(centre[name] + st * np.linspace(-1.0, 1.0, n), lo, hi)
        axes.append(np.unique(np.round(vals, 10)))
    mesh = np.meshgrid(*axes, indexing="ij")
    return [
        dict(zip(FREE_PARAMETERS, (float(m.flat[i]) for m in mesh), strict=True)) for i in range(mesh[0].size)
    ]


def calibrate(
    objective: Callable[[xr.Dataset], np.ndarray],
    params: SoilCarbonParameters,
    *,
    coarse: int = 7,
    fine: int = 5,
) -> tuple[SoilCarbonParameters, pd.DataFrame]:
    """Grid search of :data:`FREE_PARAMETERS` within their ranges, then a finer grid around the best.

    Parameters
    ----------
    objective : callable
        Takes a draws Dataset (one draw per grid point) and returns the RMSE [t C ha-1] per draw.
    params : SoilCarbonParameters
        Starting parameters (the others are kept).
    coarse, fine : int
        Points per parameter of the two grids.

    Returns
    -------
    params : SoilCarbonParameters
        With the best grid point.
    table : pandas.DataFrame
        Every grid point evaluated with its RMSE.
    """
    ranges = params.ranges
    tried: list[pd.DataFrame] = []
    centre = None
    steps = None
    for n in (coarse, fine):
        points = _grid(ranges, centre, steps, n)
        ds = xr.Dataset(
            {k: ("draw", np.array([pt[k] for pt in points])) for k in FREE_PARAMETERS},
            coords={"draw": np.arange(len(points))},
        )
        rmse = np.asarray(objective(ds), dtype=float)
        table = pd.DataFrame(points).assign(rmse=rmse)
        tried.append(table)
        best = table.iloc[int(np.nanargmin(rmse))]
        centre = {k: float(best[k]) for k in FREE_PARAMETERS}
        steps = {k: (ranges[k][1] - ranges[k][0]) / (coarse - 1) / 2.0 for k in FREE_PARAMETERS}
    all_tried = pd.concat(tried, ignore_index=True)
    best = all_tried.iloc[int(np.nanargmin(all_tried["rmse"].to_numpy()))]
    return dataclasses.replace(params, **{k: float(best[k]) for k in FREE_PARAMETERS}), all_tried
