"""The uncertain inputs of the baseline/project scenarios and their Monte Carlo draws.

The table :data:`SCENARIO_UNCERTAINTY` states every uncertain input, its 95 % range and whether it
is shared by all plots of a draw or drawn per plot; :func:`scenario_draws` turns it into the draws
Dataset that :func:`models.scenarios.run_scenarios` takes. Shared draws move every plot together,
so a project total's interval keeps their correlation (sums are taken inside each draw,
:func:`models.montecarlo.summarize_total`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from models.montecarlo import ParameterSpec, draw_parameters
from models.random_streams import plot_generator

__all__ = ["SCENARIO_UNCERTAINTY", "DEFAULT_SEED", "chain_parameter_specs", "scenario_draws"]

DEFAULT_SEED = 20261121
"""Seed of the Monte Carlo when the run gives none (any fixed integer; recorded in the manifest)."""


def chain_parameter_specs(
    calibrated: Mapping[str, float] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, ParameterSpec]:
    """Draw specs of the model chain's free parameters: a normal centred on the adopted value
    (:data:`models.calibration.ADOPTED`) with a 95 % half-width of half the parameter's literature
    range (:attr:`models.chain.SoilCarbonParameters.ranges`, each field cites its source),
    truncated to that range: the long-term experiments do not narrow it (models.calibration), and
    draws never leave what the literature supports.

    Examples
    --------
    >>> spec = chain_parameter_specs({"tillage_scale": 2.0}, {"tillage_scale": (0.0, 3.0)})["tillage_scale"]
    >>> spec.mean, spec.lower, spec.upper, spec.low_bound, spec.high_bound
    (2.0, 0.5, 3.5, 0.0, 3.0)
    """
    from models import calibration
    from models.chain import SoilCarbonParameters

    calibrated = calibration.ADOPTED if calibrated is None else calibrated
    ranges = SoilCarbonParameters().ranges if ranges is None else ranges
    out = {}
    for name, (lo, hi) in ranges.items():
        centre = float(calibrated.get(name, getattr(SoilCarbonParameters(), name)))
        half = (hi - lo) / 2.0
        out[name] = ParameterSpec(
            centre, centre - half, centre + half, kind="truncnorm", low_bound=lo, high_bound=hi
        )
    return out


SCENARIO_UNCERTAINTY: Mapping[str, ParameterSpec] = {
    # Measured initial SOC, per plot: +/-20 % (a within-field CV of about 10 %, the low end of the
    # 10-20 % in shared/domain/china_sample_context.md section 3, unverified there): the sampling
    # error of the measured stock.
    "soc_factor": ParameterSpec(1.0, 0.8, 1.2, per_plot=True),
    # Clay where no texture is measured: ONE shared assumption (the project default), 25-35 %
    # (Northeast China black soils, same source, unverified); uniform, centred on the project's
    # default (models.soil.DEFAULT_CLAY_PCT).
    "clay": ParameterSpec(30.0, 25.0, 35.0, kind="uniform", units="%"),
    # Plant C input (residue-to-yield ratio, root:shoot ratio and C fraction: the allometry),
    # shared: +/-20 % (IPCC 2019 Vol. 4 Table 11.1a gives the ratios without ranges; an assumed
    # range until a methodology fixes one).
    "c_inp_factor": ParameterSpec(1.0, 0.8, 1.2),
    # Temperature, shared: +/-1 degC (the spread of annual means around the 1991-2020 normals).
    "tmp_offset": ParameterSpec(0.0, -1.0, 1.0, units="degC"),
    # Rainfall, shared: +/-20 % (the sample's precipitation normals come from a station ~167 km
    # away, docs/CLIMATE_SOURCES.md; the inter-annual CV of Northeast China annual rainfall is
    # ~20 %).
    "rain_factor": ParameterSpec(1.0, 0.8, 1.2),
    # Model chain parameters, shared: around the calibrated values (chain_parameter_specs).
    **chain_parameter_specs(),
}
"""Uncertain scenario inputs as 95 % ranges (module :mod:`models.montecarlo` distributions)."""


def scenario_draws(
    soc_initial: xr.DataArray,
    n_draws: int,
    seed: int,
    *,
    clay_pct: float | None = None,
    specs: Mapping[str, ParameterSpec] | None = None,
    plots: Sequence[str] | None = None,
    model_error: bool = False,
) -> xr.Dataset:
    """Monte Carlo draws of the scenario inputs for every plot.

    Parameters
    ----------
    soc_initial : xarray.DataArray
        Measured initial SOC stock along ``plot`` [t C ha-1].
    n_draws : int
        Number of draws.
    seed : int
        Seed of :func:`numpy.random.default_rng` for the shared draws and of each plot's own stream
        (:func:`models.random_streams.plot_generator`) for the per-plot draws: the same seed gives
        a plot the same draws whichever other plots are drawn with it.
    clay_pct : float, optional
        Project default clay [%]; the clay range is moved to centre on it (same half-width).
    specs : mapping, optional
        Replaces :data:`SCENARIO_UNCERTAINTY`.
    plots : sequence of str, optional
        Plot ids (default: ``soc_initial``'s ``plot`` coordinate).
    model_error : bool
        Draw ``model_error``, a standard normal deviate per draw (shared by all plots: a
        systematic error) that :func:`models.estimate.add_model_error` scales by each plot's
        prediction error [t C ha-1 yr-1] (:data:`models.calibration.MODEL_ERROR_RATE`).

    Returns
    -------
    xarray.Dataset
        ``soc_initial`` (draw, plot) [t C ha-1] and the other parameters, ready for
        :func:`models.scenarios.run_scenarios` ``draws=``.
    """
    specs = dict(SCENARIO_UNCERTAINTY if specs is None else specs)
    ids = [str(p) for p in (plots if plots is not None else soc_initial["plot"].values)]
    if clay_pct is not None and "clay" in specs:
        c = specs["clay"]
        half = (c.upper - c.lower) / 2.0
        specs["clay"] = ParameterSpec(
            clay_pct, clay_pct - half, clay_pct + half, kind=c.kind, per_plot=c.per_plot, units="%"
        )
    rng = np.random.default_rng(seed)
    shared = {k: v for k, v in specs.items() if not v.per_plot}
    per_plot = {k: v for k, v in specs.items() if v.per_plot}
    draws = draw_parameters(shared, n_draws, random_state=rng) if shared else None
    if draws is None:
        draws = xr.Dataset(coords={"draw": np.arange(n_draws)})
    if model_error:
        draws["model_error"] = xr.DataArray(
            rng.standard_normal(n_draws),
            dims="draw",
            coords={"draw": draws["draw"]},
            attrs={"units": "1", "long_name": "standard normal deviate of the model prediction error"},
        )
    factor: xr.DataArray | float = 1.0
    for name, spec in per_plot.items():
        # each plot its own stream (models.random_streams): a plot's draws do not depend on the
        # other plots drawn, so a run by plot chunk gives the same draws whatever the chunks
        vals = np.empty((n_draws, len(ids)))
        for i, pid in enumerate(ids):
            vals[:, i] = spec.sample(plot_generator(seed, name, pid), (n_draws,))
        da = xr.DataArray(
            vals,
            dims=("draw", "plot"),
            coords={"draw": draws["draw"], "plot": np.asarray(ids)},
            attrs={
                "units": spec.units,
                "distribution": spec.resolved_kind(),
                "ipcc_95pct_range": f"{spec.mean} ({spec.lower} - {spec.upper})",
                "shared_across_plots": "False",
            },
        )
        if name == "soc_factor":
            factor = da
        else:
            draws[name] = da
    soc0 = soc_initial.reindex(plot=ids)
    draws["soc_initial"] = (soc0 * factor).transpose("draw", "plot").assign_attrs(units="t C ha-1")
    return draws
