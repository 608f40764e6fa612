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

__all__ = ["SCENARIO_UNCERTAINTY", "DEFAULT_SEED", "scenario_draws"]

DEFAULT_SEED = 20261121
"""Seed of the Monte Carlo when the run gives none (any fixed integer; recorded in the manifest)."""

SCENARIO_UNCERTAINTY: Mapping[str, ParameterSpec] = {
    # Measured initial SOC, per plot: +/-20 % (a within-field CV of about 10 %, the low end of the
    # 10-20 % in shared/domain/china_sample_context.md section 3, unverified there).
    "soc_factor": ParameterSpec(1.0, 0.8, 1.2, per_plot=True),
    # Clay where no texture is measured, per plot: 25-35 % (Northeast China black soils, same
    # source, unverified); a uniform range centred on models.soil.DEFAULT_CLAY_PCT.
    "clay": ParameterSpec(30.0, 25.0, 35.0, kind="uniform", per_plot=True, units="%"),
    # Plant C input, shared: +/-20 % (residue-to-yield ratios and C fraction; an assumed range
    # until a methodology fixes one).
    "c_inp_factor": ParameterSpec(1.0, 0.8, 1.2),
    # Temperature, shared: +/-1 degC (the spread of annual means around the 1991-2020 normals).
    "tmp_offset": ParameterSpec(0.0, -1.0, 1.0, units="degC"),
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
) -> xr.Dataset:
    """Monte Carlo draws of the scenario inputs for every plot.

    Parameters
    ----------
    soc_initial : xarray.DataArray
        Measured initial SOC stock along ``plot`` [t C ha-1].
    n_draws : int
        Number of draws.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed and plots give the same draws.
    clay_pct : float, optional
        Project default clay [%]; the clay range is moved to centre on it (same half-width).
    specs : mapping, optional
        Replaces :data:`SCENARIO_UNCERTAINTY`.
    plots : sequence of str, optional
        Plot ids (default: ``soc_initial``'s ``plot`` coordinate).

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
            clay_pct, clay_pct - half, clay_pct + half, kind=c.kind, per_plot=True, units="%"
        )
    rng = np.random.default_rng(seed)
    shared = {k: v for k, v in specs.items() if not v.per_plot}
    per_plot = {k: v for k, v in specs.items() if v.per_plot}
    parts = []
    if shared:
        parts.append(draw_parameters(shared, n_draws, random_state=rng))
    plot_draws = draw_parameters(per_plot, n_draws, plots=ids, random_state=rng) if per_plot else None
    if plot_draws is not None:
        parts.append(plot_draws.drop_vars("soc_factor", errors="ignore"))
    draws = xr.merge(parts) if parts else xr.Dataset(coords={"draw": np.arange(n_draws)})
    soc0 = soc_initial.reindex(plot=ids)
    factor = plot_draws["soc_factor"] if plot_draws is not None and "soc_factor" in plot_draws else 1.0
    draws["soc_initial"] = (soc0 * factor).transpose("draw", "plot").assign_attrs(units="t C ha-1")
    return draws
