"""Monte Carlo uncertainty for soil-carbon models: seeded draws, one vectorised model call, summaries.

Generic on purpose: a *draws* Dataset (dim ``draw``, optionally ``plot``/``month``) plus a *model*
callable that takes an inputs Dataset with a ``draw`` dim and returns a Dataset/DataArray with it
(e.g. ``lambda ds: run_rothc(ds, variables=["SOC"])``). Nothing here knows RothC or IPCC tables.

Correlation: a parameter drawn once per draw (dims ``(draw,)``) is SHARED by every plot of that
draw (e.g. an IPCC stock-change factor, a model-structure error); one drawn per plot
(``(draw, plot)``) is independent between plots (e.g. a plot's measured clay). Totals over plots
are summed within each draw before percentiles are taken (:func:`summarize_total`), which keeps
that correlation: for a linear model Y = sum_p c_p f the shared case has sd(Y) = sd(f) sum_p c_p,
the independent case sd(f) sqrt(sum_p c_p^2) (IPCC 2006 GL Vol. 1 Ch. 3, section 3.2.3.2,
"Approach 2: Monte Carlo" [1]_, which asks that correlated inputs be sampled jointly).

Distributions matched to an IPCC 95 % range (mean, lower, upper) (:class:`ParameterSpec`):

* ``normal``: sd = (upper - lower) / (2 x 1.959964) ([1]_ section 3.2.2.4, the 95 % interval of a
  normal is mean +- 1.96 sd);
* ``truncnorm``: that normal truncated to [``low_bound``, ``high_bound``] (default [0, inf), for
  quantities that cannot be negative);
* ``lognormal``: for skewed ranges ([1]_ section 3.2.2.4 recommends lognormal when the range is
  asymmetric about the mean): ln X ~ N(mu, s) with s = ln(upper/lower) / (2 x 1.959964) and
  mu = (ln upper + ln lower) / 2, so the 2.5/97.5 % quantiles are exactly lower/upper (the median is
  the geometric mean sqrt(lower x upper); the given mean is not reproduced exactly);
* ``uniform`` on [lower, upper];
* ``auto`` (default): normal if the range is symmetric within 5 %, else lognormal (positive values)
  or truncated normal.

References
----------
.. [1] IPCC, "2006 IPCC Guidelines for National Greenhouse Gas Inventories", Vol. 1 General Guidance
   and Reporting, Ch. 3 Uncertainties (Frey, Penman, Hanle, Monni, Ogle), IGES, Hayama, 2006;
   the 2019 Refinement keeps these sections.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from models.errors import ModelInputError

__all__ = [
    "Z95",
    "ParameterSpec",
    "draw_parameters",
    "weather_noise",
    "apply_draws",
    "run_monte_carlo",
    "summarize",
    "summarize_total",
]

#: Two-sided 95 % quantile of the standard normal [1].
Z95 = float(stats.norm.ppf(0.975))


@dataclasses.dataclass(frozen=True)
class ParameterSpec:
    """An uncertain parameter given as an IPCC-style 95 % range."""

    mean: float
    """Central value [units]."""
    lower: float
    """Lower end of the 95 % range [units]."""
    upper: float
    """Upper end of the 95 % range [units]."""
    kind: str = "auto"
    """``auto``, ``normal``, ``truncnorm``, ``lognormal`` or ``uniform`` (module docstring)."""
    per_plot: bool = False
    """Draw independently for each plot (dims (draw, plot)) instead of once per draw (shared)."""
    units: str = "1"
    """CF units of the parameter."""
    low_bound: float = 0.0
    """Truncation bounds of ``truncnorm`` [units]."""
    high_bound: float = np.inf

    def __post_init__(self) -> None:
        if not (self.lower <= self.mean <= self.upper):
            raise ModelInputError(
                f"ParameterSpec needs lower <= mean <= upper, got ({self.mean}, {self.lower}, {self.upper})"
            )
        if self.kind not in ("auto", "normal", "truncnorm", "lognormal", "uniform"):
            raise ModelInputError(f"ParameterSpec kind {self.kind!r} is unknown")
        if self.kind == "lognormal" and self.lower <= 0:
            raise ModelInputError(f"a lognormal needs lower > 0, got {self.lower}")

    def resolved_kind(self) -> str:
        """The distribution actually used (``auto`` resolved)."""
        if self.kind != "auto":
            return self.kind
        hi, lo = self.upper - self.mean, self.mean - self.lower
        if abs(hi - lo) <= 0.05 * max(hi, lo, 1e-300):
            return "normal"
        return "lognormal" if self.lower > 0 else "truncnorm"

    def sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        """Draw ``size`` values."""
        kind = self.resolved_kind()
        if self.upper == self.lower:
            return np.full(size, float(self.mean))
        if kind == "normal":
            return rng.normal(self.mean, (self.upper - self.lower) / (2 * Z95), size)
        if kind == "truncnorm":
            sd = (self.upper - self.lower) / (2 * Z95)
            a, b = (self.low_bound - self.mean) / sd, (self.high_bound - self.mean) / sd
            return stats.truncnorm.rvs(a, b, loc=self.mean, scale=sd, size=size, random_state=rng)
        if kind == "lognormal":
            s = np.log(self.upper / self.lower) / (2 * Z95)
            mu = 0.5 * (np.log(self.upper) + np.log(self.lower))
            return rng.lognormal(mu, s, size)
        return rng.uniform(self.lower, self.upper, size)


SpecLike = ParameterSpec | tuple[float, float, float] | Mapping[str, Any] | xr.DataArray


def _as_spec(name: str, value: Any) -> ParameterSpec | xr.DataArray:
    if isinstance(value, ParameterSpec | xr.DataArray):
        return value
    if isinstance(value, Mapping):
        return ParameterSpec(**value)
    try:
        mean, lower, upper = value
    except (TypeError, ValueError) as exc:
        raise ModelInputError(
            f"parameter {name!r}: give (mean, lower, upper), a ParameterSpec, a dict of its fields or a "
            f"DataArray of draws; got {value!r}"
        ) from exc
    return ParameterSpec(float(mean), float(lower), float(upper))


def draw_parameters(
    specs: Mapping[str, SpecLike],
    n_draws: int,
    plots: Any = None,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Seeded draws of uncertain parameters.

    Parameters
    ----------
    specs : mapping
        name -> ``(mean, lower, upper)`` (95 % range, ``auto`` distribution, shared), a
        :class:`ParameterSpec`, a dict of its fields, or a DataArray of ready-made draws (dims
        ``draw`` and optionally ``plot``; e.g. IPCC factors drawn by another module).
    n_draws : int
        Number of draws.
    plots : array_like, optional
        Plot ids; needed if any spec is ``per_plot``.
    random_state : int or numpy.random.Generator, optional
        Seed or generator (numpy ``default_rng``); the same seed gives the same draws.

    Returns
    -------
    xarray.Dataset
        One variable per parameter, dims (draw,) when shared or (draw, plot) when per plot, with
        ``units`` and the distribution in ``attrs``.

    Examples
    --------
    >>> ds = draw_parameters({"f": (1.0, 0.9, 1.1)}, 1000, random_state=1)
    >>> round(float(ds.f.std()), 2)  # (1.1 - 0.9) / (2 x 1.96)
    0.05
    """
    if n_draws < 1:
        raise ModelInputError(f"n_draws must be >= 1, got {n_draws}")
    rng = np.random.default_rng(random_state)
    out: dict[str, xr.DataArray] = {}
    for name in specs:  # insertion order: reproducible with a seed
        spec = _as_spec(name, specs[name])
        if isinstance(spec, xr.DataArray):
            if "draw" not in spec.dims or spec.sizes["draw"] != n_draws:
                raise ModelInputError(f"draws given for {name!r} need a 'draw' dim of length {n_draws}")
            if "units" not in spec.attrs:
                raise ModelInputError(f"draws given for {name!r} need a 'units' attribute")
            out[name] = spec
            continue
        if spec.per_plot:
            if plots is None:
                raise ModelInputError(f"parameter {name!r} is per_plot: pass plots=")
            vals = spec.sample(rng, (n_draws, len(plots)))
            da = xr.DataArray(vals, dims=("draw", "plot"), coords={"plot": np.asarray(plots)})
        else:
            da = xr.DataArray(spec.sample(rng, (n_draws,)), dims=("draw",))
        da.attrs = {
            "units": spec.units,
            "distribution": spec.resolved_kind(),
            "ipcc_95pct_range": f"{spec.mean} ({spec.lower} - {spec.upper})",
            "shared_across_plots": str(not spec.per_plot),
        }
        out[name] = da
    return xr.Dataset(out, coords={"draw": np.arange(n_draws)})


def weather_noise(
    n_draws: int,
    months: Any,
    tmp_sd: float = 0.0,
    rain_cv: float = 0.0,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Monthly weather perturbations, independent between months and draws, shared by the plots.

    Returns ``tmp_offset`` [degC] ~ N(0, tmp_sd) and ``rain_factor`` [1], a lognormal with mean 1 and
    coefficient of variation ``rain_cv`` (sigma^2 = ln(1 + cv^2), mu = -sigma^2/2), dims (draw, month).
    """
    rng = np.random.default_rng(random_state)
    months = np.asarray(months)
    shape = (n_draws, months.size)
    s2 = np.log1p(rain_cv**2)
    return xr.Dataset(
        {
            "tmp_offset": (("draw", "month"), rng.normal(0.0, tmp_sd, shape), {"units": "degC"}),
            "rain_factor": (("draw", "month"), rng.lognormal(-s2 / 2, np.sqrt(s2), shape), {"units": "1"}),
        },
        coords={"draw": np.arange(n_draws), "month": months},
    )


#: How :func:`apply_draws` uses a draw variable by default: name -> (input variable, operation).
DEFAULT_RULES: dict[str, tuple[str, str]] = {
    "c_inp_factor": ("c_inp", "multiply"),
    "fym_factor": ("fym", "multiply"),
    "tmp_offset": ("tmp", "add"),
    "rain_factor": ("rain", "multiply"),
    "evap_factor": ("evap", "multiply"),
    "clay": ("clay", "replace"),
    "iom": ("iom", "replace"),
    "depth": ("depth", "replace"),
    "dpm_rpm": ("dpm_rpm", "replace"),
}


def apply_draws(
    inputs: xr.Dataset, draws: xr.Dataset, rules: Mapping[str, tuple[str, str]] | None = None
) -> xr.Dataset:
    """Model inputs with a ``draw`` dim: each draw variable modifies one input variable.

    Parameters
    ----------
    inputs : xarray.Dataset
        Deterministic inputs (no ``draw`` dim).
    draws : xarray.Dataset
        From :func:`draw_parameters` / :func:`weather_noise` (merged); variables without a rule are
        passed through unchanged (e.g. parameters the model callable uses itself).
    rules : mapping, optional
        draw variable -> (input variable, ``multiply`` | ``add`` | ``replace``); default
        :data:`DEFAULT_RULES`.

    Returns
    -------
    xarray.Dataset
        The inputs, broadcast only where a draw touches them (other variables keep their dims, so
        memory stays small), plus the unused draw variables.
    """
    rules = dict(DEFAULT_RULES if rules is None else rules)
    out = inputs.copy()
    for name, da in draws.data_vars.items():
        if name not in rules:
            out[name] = da
            continue
        var, op = rules[name]
        if var not in out:
            raise ModelInputError(f"draw {name!r} modifies input {var!r}, which the inputs do not have")
        attrs = dict(out[var].attrs)
        if op == "multiply":
            new = out[var] * da
        elif op == "add":
            new = out[var] + da
        elif op == "replace":
            new = xr.broadcast(da, out[var])[0]
        else:
            raise ModelInputError(f"rule for {name!r}: operation {op!r} is not multiply/add/replace")
        new.attrs = attrs
        out[var] = new
    return out


def run_monte_carlo(
    model: Callable[[xr.Dataset], xr.Dataset | xr.DataArray],
    inputs: xr.Dataset,
    draws: xr.Dataset,
    rules: Mapping[str, tuple[str, str]] | None = None,
) -> xr.Dataset | xr.DataArray:
    """Apply the draws to the inputs and run ``model`` ONCE on the (draw, plot, month) inputs.

    Example (RothC): ``run_monte_carlo(lambda ds: run_rothc(ds, variables=["SOC"]), inputs, draws)``;
    with ``initial=None`` run_rothc spins every draw up on its own first 12 months.
    """
    result = model(apply_draws(inputs, draws, rules))
    if "draw" not in result.dims:
        raise ModelInputError("the model result has no 'draw' dim; does the model keep the draws?")
    return result


def _summary(da: xr.DataArray, dim: str) -> xr.Dataset:
    units = da.attrs.get("units", "1")
    q = da.quantile([0.025, 0.5, 0.975], dim=dim)
    out = xr.Dataset(
        {
            "mean": da.mean(dim),
            "sd": da.std(dim, ddof=1),
            "p2_5": q.sel(quantile=0.025, drop=True),
            "p50": q.sel(quantile=0.5, drop=True),
            "p97_5": q.sel(quantile=0.975, drop=True),
        }
    )
    for v in out.data_vars:
        out[v].attrs = {"units": units, "long_name": f"{v} over {dim} of {da.name or 'value'}"}
    out.attrs["n_draws"] = int(da.sizes[dim])
    return out


def summarize(result: xr.Dataset | xr.DataArray, dim: str = "draw") -> xr.Dataset:
    """Mean, sd (ddof 1), 2.5/50/97.5 % percentiles over draws, per plot (and month).

    A Dataset gives variables named ``<var>_mean``, ``<var>_sd``, ``<var>_p2_5``, ...; a DataArray
    gives ``mean``, ``sd``, ``p2_5``, ``p50``, ``p97_5``. Units are kept.
    """
    if isinstance(result, xr.DataArray):
        return _summary(result, dim)
    parts = []
    for name, da in result.data_vars.items():
        if dim in da.dims:
            s = _summary(da, dim)
            parts.append(s.rename({v: f"{name}_{v}" for v in s.data_vars}))
    return xr.merge(parts, combine_attrs="drop_conflicts")


def summarize_total(
    result: xr.DataArray, weights: xr.DataArray | None = None, dim: str = "plot", draw_dim: str = "draw"
) -> xr.Dataset:
    """Summary of the (weighted) sum over plots, summed WITHIN each draw first.

    Parameters
    ----------
    result : xarray.DataArray
        Per-plot results with a ``draw`` dim, e.g. SOC change [t C ha-1].
    weights : xarray.DataArray, optional
        Per-plot weights, e.g. area [ha]; the total's units become ``<units> * <weights units>``
        with ``ha`` cancelled in ``t C ha-1`` -> ``t C``.

    Returns
    -------
    xarray.Dataset
        mean, sd, p2_5, p50, p97_5 of the total over draws. Shared parameters stay correlated
        across plots because each draw's plots are summed before the spread is taken.
    """
    units = result.attrs.get("units", "1")
    if weights is not None:
        total = (result * weights).sum(dim)
        wu = weights.attrs.get("units", "1")
        units = units.replace(" ha-1", "") if wu == "ha" and " ha-1" in units else f"{units} {wu}"
    else:
        total = result.sum(dim)
    total.attrs["units"] = units
    total.name = f"total over {dim}"
    return _summary(total, draw_dim)
