"""The estimate from Monte Carlo draws: the mean of the draws and its 90 % interval, per plot and
per project, per vintage.

The Verified Carbon Standard's uncertainty rule works at the 90 % confidence level (VCS
Methodology Requirements v5.0 section 2.4: uncertainty is the half-width of the 90 % interval as
% of the estimate; shared/domain/international_methodologies.md section 3), and VM0042 v2.2
suggests 500-1,000 Monte Carlo draws (p. 78, same file section 1), so the interval reported with every
estimate is the 5th to 95th percentile of the draws, and the estimate itself is the mean of the
draws (not a separate deterministic run: with non-linear parts such as the tillage modifier the two
differ). Project totals are summed inside each draw before the percentiles are taken, so that
parameters shared by all plots keep their correlation (:func:`models.montecarlo.summarize_total`).

Model prediction error (from the validation against long-term experiments) is added per draw as a
shared error on the annual rate of plots whose scenarios differ (:func:`add_model_error`).

Pure: DataArrays in, DataArrays and dicts out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from models.units import C_TO_CO2

__all__ = [
    "INTERVAL",
    "add_model_error",
    "interval",
    "plot_estimates",
    "project_estimates",
    "total_estimates",
]

INTERVAL = (0.05, 0.95)
"""Percentiles of the reported interval: the 90 % interval of the VCS uncertainty rule."""


def _quantiles(values: xr.DataArray, qs: list[float], dim: str) -> xr.DataArray:
    """``values.quantile(qs, dim)`` (linear interpolation), along ``quantile``: numpy's quantile
    over the whole array when nothing is NaN. xarray's default skips NaN with numpy's nanquantile,
    which sorts each plot's draws in a Python loop (8x slower: 0.63 s against 0.08 s for 1,000
    draws of 2,000 plots); both take the same order statistics and interpolation, so the values
    are identical."""
    data = values.transpose(dim, ...)
    if np.issubdtype(data.dtype, np.floating) and np.isnan(data.values).any():
        return values.quantile(qs, dim=dim)
    rest = data.isel({dim: 0}, drop=True)  # the other dimensions and their coordinates
    return xr.DataArray(
        np.quantile(data.values, qs, axis=0),
        dims=("quantile", *rest.dims),
        coords={**rest.coords, "quantile": qs},
    )


def interval(values: xr.DataArray, dim: str = "draw") -> xr.Dataset:
    """Mean, sd and 5 / 50 / 95 % percentiles over ``dim``, units kept."""
    q = _quantiles(values, [INTERVAL[0], 0.5, INTERVAL[1]], dim)
    units = values.attrs.get("units", "1")
    out = xr.Dataset(
        {
            "mean": values.mean(dim),
            "sd": values.std(dim, ddof=1),
            "p5": q.sel(quantile=INTERVAL[0], drop=True),
            "p50": q.sel(quantile=0.5, drop=True),
            "p95": q.sel(quantile=INTERVAL[1], drop=True),
        }
    )
    for v in out.data_vars:
        out[v].attrs["units"] = units
    out.attrs["n_draws"] = int(values.sizes[dim])
    return out


def add_model_error(
    vintages: xr.DataArray,
    deviate: xr.DataArray | None,
    error_rate: xr.DataArray,
    vintage_years: xr.DataArray,
) -> xr.DataArray:
    """Vintage changes with the model's prediction error added: ``z_d x sigma_p x t_y``.

    Parameters
    ----------
    vintages : xarray.DataArray
        Credited SOC change per (draw, plot, year) [t C ha-1].
    deviate : xarray.DataArray, optional
        Standard normal deviate ``z`` per draw, shared by all plots and vintages (the error of a
        model is systematic: it errs the same way on every plot of one project); None adds nothing.
    error_rate : xarray.DataArray
        Prediction error ``sigma`` of each plot's practice effect [t C ha-1 yr-1]
        (:data:`models.calibration.MODEL_ERROR_RATE` of its practice categories; 0 for a plot whose
        scenarios are identical).
    vintage_years : xarray.DataArray
        Length ``t`` of each vintage [yr] (along ``year``).

    Returns
    -------
    xarray.DataArray
        The vintages with the error added (units kept).

    Examples
    --------
    >>> v = xr.DataArray(np.zeros((2, 2, 1)), dims=("draw", "plot", "year"))
    >>> z = xr.DataArray([1.0, -2.0], dims="draw")
    >>> out = add_model_error(v, z, xr.DataArray([0.1, 0.0], dims="plot"), xr.DataArray([0.5], dims="year"))
    >>> out.values[:, :, 0].tolist()  # 1 x 0.1 x 0.5 and -2 x 0.1 x 0.5; the unchanged plot stays 0
    [[0.05, 0.0], [-0.1, 0.0]]
    """
    if deviate is None:
        return vintages
    return (vintages + deviate * error_rate * vintage_years).assign_attrs(vintages.attrs)


def plot_estimates(vintages: xr.DataArray, area_ha: xr.DataArray) -> xr.Dataset:
    """Per plot: the credited soil SOC change over all vintages, mean and 90 % interval.

    Returns
    -------
    xarray.Dataset
        Over ``plot``: ``delta_t_c_ha`` mean / p5 / p95 [t C ha-1] and ``t_co2e`` mean / p5 / p95
        [t CO2e] (x area x 44/12).
    """
    total = vintages.sum("year").assign_attrs(units="t C ha-1")
    s = interval(total)
    co2 = interval((total * area_ha * C_TO_CO2).assign_attrs(units="t CO2e"))
    return xr.Dataset(
        {
            "delta_t_c_ha_mean": s["mean"],
            "delta_t_c_ha_p5": s["p5"],
            "delta_t_c_ha_p95": s["p95"],
            "t_co2e_mean": co2["mean"],
            "t_co2e_p5": co2["p5"],
            "t_co2e_p95": co2["p95"],
        }
    )


def project_estimates(vintages: xr.DataArray, area_ha: xr.DataArray) -> dict[str, Any]:
    """Project totals per vintage and overall [t CO2e], summed over plots inside each draw.

    Returns
    -------
    dict
        ``vintages``: {year: {mean, p5, p50, p95, sd}}, ``total``: the same over all vintages,
        ``draws``: the number of draws.
    """
    return total_estimates(((vintages * area_ha).sum("plot") * C_TO_CO2).assign_attrs(units="t CO2e"))


def total_estimates(per_draw: xr.DataArray) -> dict[str, Any]:
    """:func:`project_estimates` from the project totals already summed over plots inside each
    draw, over (draw, year) [t CO2e] (a run by plot chunk adds up the chunks' sums)."""

    def row(values: xr.DataArray) -> dict[str, float]:
        s = interval(values)
        return {k: round(float(s[k]), 1) for k in ("mean", "p5", "p50", "p95", "sd")}

    return {
        "vintages": {int(y): row(per_draw.sel(year=y)) for y in per_draw["year"].values},
        "total": row(per_draw.sum("year")),
        "draws": int(per_draw.sizes["draw"]),
        "units": "t CO2e",
    }
