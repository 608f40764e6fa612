"""The project Monte Carlo of both scenarios in one compiled pass (numba).

:func:`models.scenarios.run_scenarios` with ``draws`` runs the model chain of :mod:`models.chain`
draw by draw through xarray: the spin-up, the surface residue pool, the tillage modifier and
RothC-26.3 each over the whole (draw, plot, month) array, both scenarios' full monthly pools in
memory. :func:`monte_carlo_vintages` computes the same numbers (the tests hold the two within
1e-9 t C ha-1) in one kernel per plot: for a block of the plot's draws it

1. fits the spin-up of every draw (the surface pool's periodic state ``r / (1 - q)``, then RothC's
   periodic steady state per unit of plant input and of the manure, from the composed annual map
   of :mod:`models.rothc.spinup`, scaled to the draw's measured SOC;
   :func:`models.rothc.fit_plant_input_to_soc`);
2. runs the baseline and the project month by month from that state, the surface pool
   (:func:`models.surface.surface_residue`), the tillage rate modifier (:mod:`models.tillage`)
   and the RothC month step (:func:`models.rothc.kernels._decay_factors` and ``_pool_update``,
   the one implementation of the step) in one loop over the draws, which LLVM vectorises: the
   management of one plot is the same for all its draws, the climate of one draw the same for all
   plots (a table over (month, draw));
3. keeps only what is credited: project minus baseline soil SOC and surface residue at each
   year's crediting point.

Plots whose two scenarios are identical get exactly zero without running (the xarray path gives
the same zeros: identical runs). Memory is the (plot, draw, year) output; callers chunk by plot.

Pure: arrays and Datasets in, DataArrays out.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
import pandas as pd
import xarray as xr

from models.chain import (
    SoilCarbonParameters,
    _forcing,
    _levels,
    climate_zone_of,
    climatology,
    manure_draws_warning,
    spinup_year,
)
from models.crediting import DEFAULT_CREDITING_MONTH
from models.errors import ModelInputError
from models.rothc import falloon_iom, rate_modifier_temperature
from models.rothc.kernels import (
    _b_scalar,
    _c_scalar,
    _decay_factors,
    _exp,
    _partition,
    _pool_update,
    _smd_scalar,
    _soil_constants,
)
from models.rothc.parameters import _DEFAULT_PARAMETERS, _FYMD, _FYMH, _FYMR
from models.rothc.spinup import _compose, _month_matrix, _solve4
from models.surface import TSTEP_YR, _surface_step
from models.tillage import tillage_rate_modifier

__all__ = ["FUSED_DRAWS", "monte_carlo_vintages"]

FUSED_DRAWS = frozenset(
    {
        "soc_initial",
        "clay",
        "c_inp_factor",
        "tmp_offset",
        "rain_factor",
        "surface_decay",
        "surface_to_soil",
        "tillage_scale",
        "model_error",
    }
)
"""Draw variables :func:`monte_carlo_vintages` applies (``model_error`` is added afterwards by
:func:`models.estimate.add_model_error`); other draws need the xarray path."""

#: Draws per block: the lanes of the vectorised month loops.
_LANES = 64
#: Plots per task at most: plots with the same plant cover, tillage levels and clay share each
#: month's rate modifiers and decay factors (they depend on the draw's climate and the SMD, not on
#: carbon), computed once per task; each plot then only updates its pools. 16 plots x 10 slots x
#: 64 lanes x 8 B = 80 KiB of pools, in L2.
_GROUP = 16
# shared work-vector slots (``wc``): per scenario (0 baseline, 1 project, offset 5) the SMD and the
# four decay factors (DPM, RPM, BIO, HUM), then the lane constants
_C_PER = 5
_C_MAXT, _C_S1BAR, _C_SBARE, _C_FCO2, _C_FB, _C_FH, _C_FS, _C_FAC = range(10, 18)
_NC = 18
# per-plot slots (``wp``, 10 per plot): per scenario (offset 5) DPM, RPM, BIO, HUM, surface pool
_P_PER = 5
_NP = 10

#: Status codes per (plot, draw) cell.
_OK, _MANURE, _BELOW_IOM, _NO_STEADY_STATE = 0, 1, 2, 3


@numba.njit(cache=True, error_model="numpy")
def _periodic_smd(rain_spin, d, evap_spin, pc, max_tsmd, bare_smd, par):  # pragma: no cover - compiled
    """December SMD of the spin-up year, cycled from 0 until it repeats (at most 1000 years; as
    :func:`models.rothc.spinup._equilibrium_kernel`, mode 0)."""
    smd = 0.0
    for _year in range(1000):
        smd_start = smd
        for m in range(12):
            smd = _smd_scalar(smd, rain_spin[m, d], evap_spin[m], pc[m], max_tsmd, bare_smd, par)
        if smd == smd_start:
            break
    return smd


@numba.njit(cache=True, error_model="numpy")
def _spin_rates(d, a_till, rain_spin, evap_spin, sp_pc, clay, depth, par, Ts, IM):  # pragma: no cover
    """The spin-up year's monthly maps of one draw (shared by the plots of a task): ``Ts[m]`` the
    month's linear map of the pools (:func:`models.rothc.spinup._month_matrix`) and ``IM`` = I - M,
    M the composed annual map, from the periodic December SMD (returned). ``a_till``: the
    temperature times the tillage modifier of the usual look-back level, per month."""
    max_tsmd, smd_1bar, bare_smd, x = _soil_constants(clay, depth, par)
    _fco2, fb, fh = _partition(x, par)
    smd0 = _periodic_smd(rain_spin, d, evap_spin, sp_pc, max_tsmd, bare_smd, par)
    smd = smd0
    for i in range(4):
        for j in range(4):
            IM[i, j] = 1.0 if i == j else 0.0
    v = np.zeros(4)
    for m in range(12):
        smd = _smd_scalar(smd, rain_spin[m, d], evap_spin[m], sp_pc[m], max_tsmd, bare_smd, par)
        rate = a_till[m] * _b_scalar(smd, max_tsmd, smd_1bar, par) * _c_scalar(sp_pc[m], par)
        _month_matrix(Ts[m], rate, fb, fh, par)
        _compose(Ts[m], IM, v, 1.0)
    for i in range(4):
        for j in range(4):
            IM[i, j] = (1.0 if i == j else 0.0) - IM[i, j]
    return smd0


@numba.njit(cache=True, error_model="numpy")
def _spin_plot(
    d, soc0, iom, sp_root, sp_sinp, sp_inc, sp_fym, sp_pc, sp_ratio, sdecay_spin, fs, Ts, IM, par, c, out,
):  # fmt: skip  # pragma: no cover - compiled
    """Spin-up of one draw of one plot (module notes, step 1) on the maps of :func:`_spin_rates`:
    fills ``out`` with DPM, RPM, BIO, HUM and the surface pool at the start of the run; returns the
    status code. ``c``: 12 floats of work space."""
    # the surface pool in its periodic state (models.surface.periodic_surface_residue)
    q = 1.0
    r = 0.0
    for m in range(12):
        q, _f = _surface_step(q, 0.0, sp_inc[m], sdecay_spin[m, d], fs)
        r, _f = _surface_step(r, sp_sinp[m], sp_inc[m], sdecay_spin[m, d], fs)
    if q >= 1.0:
        return _NO_STEADY_STATE
    s = r / (1.0 - q)
    annual = 0.0
    covered = 0.0
    for m in range(12):
        s, flux = _surface_step(s, sp_sinp[m], sp_inc[m], sdecay_spin[m, d], fs)
        c[m] = sp_root[m] + flux
        annual += c[m]
        covered += 1.0 if sp_pc[m] > 0.5 else 0.0
    # the periodic state per unit of annual plant input (its monthly shares as in
    # models.rothc.fit_plant_input_to_soc) and of the manure: v <- A_m v + u_m over the year
    v1 = np.zeros(4)
    vf = np.zeros(4)
    for m in range(12):
        if annual > 0.0:
            share = c[m] / annual
        elif covered > 0.0:
            share = (1.0 if sp_pc[m] > 0.5 else 0.0) / covered
        else:
            share = 1.0 / 12.0
        ratio = sp_ratio[m]
        fym = sp_fym[m]
        T = Ts[m]
        for vec in (v1, vf):
            c0 = vec[0]
            c1 = vec[1]
            c2 = vec[2]
            c3 = vec[3]
            for i in range(4):
                vec[i] = T[i, 0] * c0 + T[i, 1] * c1 + T[i, 2] * c2 + T[i, 3] * c3
        v1[0] += ratio / (ratio + 1.0) * share
        v1[1] += 1.0 / (ratio + 1.0) * share
        vf[0] += par[_FYMD] * fym
        vf[1] += par[_FYMR] * fym
        vf[3] += par[_FYMH] * fym
    if not (_solve4(IM.copy(), v1) and _solve4(IM.copy(), vf)):
        return _NO_STEADY_STATE
    s1 = v1[0] + v1[1] + v1[2] + v1[3]
    sf = vf[0] + vf[1] + vf[2] + vf[3]
    target = soc0 - iom - sf
    if target <= 0.0:
        return _MANURE if sf > 0.0 else _BELOW_IOM
    scale = target / s1
    for i in range(4):
        out[i] = scale * v1[i] + vf[i]
    out[4] = s * (scale / annual if annual > 0.0 else 1.0)
    return _OK


@numba.njit(cache=True, error_model="numpy", inline="always")
def _rates(wc, o, n, a_row, till_row, rain_row, d0, evap, pc, par):  # pragma: no cover - compiled
    """A month's SMD and decay factors of one scenario (slot offset ``o``) for the block's ``n``
    lanes (:func:`models.rothc.kernels._decay_factors`, the temperature modifier times the tillage
    modifier). Branch-free after inlining."""
    B = _LANES
    for i in range(n):
        smd, _b, _c, e_dpm, e_rpm, e_bio, e_hum = _decay_factors(
            wc[o * B + i], a_row[d0 + i] * till_row[d0 + i], rain_row[d0 + i], evap, pc,
            wc[_C_MAXT * B + i], wc[_C_S1BAR * B + i], wc[_C_SBARE * B + i], par,
        )  # fmt: skip
        wc[o * B + i] = smd
        wc[(o + 1) * B + i] = e_dpm
        wc[(o + 2) * B + i] = e_rpm
        wc[(o + 3) * B + i] = e_bio
        wc[(o + 4) * B + i] = e_hum


@numba.njit(cache=True, error_model="numpy", inline="always")
def _pools(wp, op, wc, oc, n, sdecay_row, d0, ratio, root, sinp, inc, fym, par):  # pragma: no cover
    """A month of one plot's pools in one scenario (``wp`` from element ``op``) with the decay
    factors of :func:`_rates` (``wc`` slot offset ``oc``): the surface pool, then
    :func:`models.rothc.kernels._pool_update` with the roots and the surface flux as plant input."""
    B = _LANES
    for i in range(n):
        fac = wc[_C_FAC * B + i]
        s, flux = _surface_step(wp[op + 4 * B + i], sinp * fac, inc, sdecay_row[d0 + i], wc[_C_FS * B + i])
        wp[op + 4 * B + i] = s
        dpm, rpm, bio, hum, _co2, _r0, _r1, _r2, _r3 = _pool_update(
            wp[op + i], wp[op + B + i], wp[op + 2 * B + i], wp[op + 3 * B + i], 0.0, 0.0, 0.0, 0.0, 0.0,
            wc[(oc + 1) * B + i], wc[(oc + 2) * B + i], wc[(oc + 3) * B + i], wc[(oc + 4) * B + i],
            ratio, root * fac + flux, fym, 100.0,
            wc[_C_FCO2 * B + i], wc[_C_FB * B + i], wc[_C_FH * B + i], par, False,
        )  # fmt: skip
        wp[op + i] = dpm
        wp[op + B + i] = rpm
        wp[op + 2 * B + i] = bio
        wp[op + 3 * B + i] = hum


@numba.njit(cache=True, error_model="numpy")
def _surface_decay_table(a, kt):  # pragma: no cover - compiled
    """exp(-k_S t a) over (month, draw): the surface pool's monthly decay factor, which depends on
    the draw's climate and k_S only (``_exp``, as :func:`models.surface.surface_residue`)."""
    out = np.empty_like(a)
    for m in range(a.shape[0]):
        for d in range(a.shape[1]):
            out[m, d] = _exp(-kt[d] * a[m, d])
    return out


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _mc_kernel(
    task_start, task_plots, mg, till_idx, sp, sp_till, drop_fym, a_run, sdecay_run, rain_run, evap_run,
    a_spin, sdecay_spin, rain_spin, evap_spin, till, clay, depth, factor, fs, soc0, iom, points, par,
    out_soil, out_litter, status,
):  # fmt: skip  # pragma: no cover - compiled
    """Both scenarios of every draw of the plots of each task (module notes).

    Task t runs plots task_plots[task_start[t]:task_start[t + 1]], which share plant cover, tillage
    levels and clay (their first plot's are used for the rates). mg: (2, 6, nplot, nmonth)
    management of the baseline and the project (root C, surface input, incorporation, FYM, plant
    cover, DPM/RPM); till_idx: (2, nplot, nmonth) row of ``till`` (the tillage rate modifier over
    (level, draw)) of each month; sp: (6, nplot, 12) the spin-up year, sp_till: (nplot,) the row of
    its usual level; a, surface decay and rain over (month, draw); per-draw constants; soc0, iom:
    (nplot, ndraw); points: month indices of the crediting points. out_*: (nplot, ndraw, npoint);
    status: (nplot, ndraw).
    """
    ndraw = a_run.shape[1]
    nmonth = a_run.shape[0]
    npt = points.shape[0]
    B = _LANES
    for t in numba.prange(task_start.shape[0] - 1):
        first = task_start[t]
        G = task_start[t + 1] - first
        p0 = task_plots[first]
        wc = np.zeros(_NC * B)
        wp = np.zeros(G * _NP * B)
        cell = np.zeros(5)
        work = np.zeros(12)
        Ts = np.empty((12, 4, 4))
        IM = np.empty((4, 4))
        a_till = np.empty(12)
        sp_fym = np.empty(12)
        for d0 in range(0, ndraw, B):
            n = min(B, ndraw - d0)
            for i in range(n):
                d = d0 + i
                max_tsmd, smd_1bar, bare_smd, x = _soil_constants(clay[p0, d], depth, par)
                fco2, fb, fh = _partition(x, par)
                wc[_C_MAXT * B + i] = max_tsmd
                wc[_C_S1BAR * B + i] = smd_1bar
                wc[_C_SBARE * B + i] = bare_smd
                wc[_C_FCO2 * B + i] = fco2
                wc[_C_FB * B + i] = fb
                wc[_C_FH * B + i] = fh
                wc[_C_FS * B + i] = fs[d]
                wc[_C_FAC * B + i] = factor[d]
            for i in range(n):
                d = d0 + i
                for m in range(12):
                    a_till[m] = a_spin[m, d] * till[sp_till[p0], d]
                smd = _spin_rates(d, a_till, rain_spin, evap_spin, sp[4, p0], clay[p0, d], depth, par, Ts, IM)
                wc[i] = smd  # both scenarios start from the spin-up's December SMD
                wc[_C_PER * B + i] = smd
                for g in range(G):
                    p = task_plots[first + g]
                    for m in range(12):
                        sp_fym[m] = 0.0 if drop_fym[p] else sp[3, p, m]
                    st = _spin_plot(
                        d, soc0[p, d], iom[p, d], sp[0, p], sp[1, p], sp[2, p], sp_fym, sp[4, p], sp[5, p],
                        sdecay_spin, fs[d], Ts, IM, par, work, cell,
                    )  # fmt: skip
                    status[p, d] = st
                    if st != _OK:
                        cell[:] = 0.0
                    for sc in range(2):
                        o = (g * _NP + sc * _P_PER) * B
                        for k in range(5):
                            wp[o + k * B + i] = cell[k]
            k_pt = 0
            for m in range(nmonth):
                for sc in range(2):
                    _rates(
                        wc, sc * _C_PER, n, a_run[m], till[till_idx[sc, p0, m]], rain_run[m], d0, evap_run[m],
                        mg[sc, 4, p0, m], par,
                    )  # fmt: skip
                    for g in range(G):
                        p = task_plots[first + g]
                        _pools(
                            wp, (g * _NP + sc * _P_PER) * B, wc, sc * _C_PER, n, sdecay_run[m], d0,
                            mg[sc, 5, p, m], mg[sc, 0, p, m], mg[sc, 1, p, m], mg[sc, 2, p, m], mg[sc, 3, p, m], par,
                        )  # fmt: skip
                if k_pt < npt and points[k_pt] == m:
                    for g in range(G):
                        p = task_plots[first + g]
                        ob = g * _NP * B
                        op = ob + _P_PER * B
                        for i in range(n):
                            soil_b = wp[ob + i] + wp[ob + B + i] + wp[ob + 2 * B + i] + wp[ob + 3 * B + i]
                            soil_p = wp[op + i] + wp[op + B + i] + wp[op + 2 * B + i] + wp[op + 3 * B + i]
                            out_soil[p, d0 + i, k_pt] = soil_p - soil_b
                            out_litter[p, d0 + i, k_pt] = wp[op + 4 * B + i] - wp[ob + 4 * B + i]
                    k_pt += 1


def _tasks(key: np.ndarray, plots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tasks of at most :data:`_GROUP` plots with equal rows of ``key`` (plant cover, tillage
    levels, clay): (task_start, task_plots) for :func:`_mc_kernel`."""
    groups: dict[bytes, list[int]] = {}
    for p in plots:
        groups.setdefault(key[p].tobytes(), []).append(int(p))
    starts, grouped = [], []
    for members in groups.values():
        for a in range(0, len(members), _GROUP):
            starts.append(len(grouped))
            grouped.extend(members[a : a + _GROUP])
    return np.array([*starts, len(grouped)], dtype=np.int64), np.array(grouped, dtype=np.int64)


_MG_VARS = ("c_inp", "surface_inp", "incorporation", "fym", "pc", "dpm_rpm")


def _per_draw(draws: xr.Dataset, name: str, default: float, ndraw: int) -> np.ndarray:
    if name not in draws:
        return np.full(ndraw, float(default))
    da = draws[name]
    if set(da.dims) - {"draw"}:
        raise ModelInputError(
            f"draw variable {name!r} must be shared by the plots of a draw (dims ('draw',))"
        )
    return np.ascontiguousarray(da.transpose("draw").values, dtype=np.float64)


def _level_index(levels: list[xr.DataArray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct tillage levels and each array's levels as indices into them."""
    vals = [np.asarray(lv.values).astype(str) for lv in levels]
    names = np.unique(np.concatenate([v.ravel() for v in vals]))
    return names, [np.searchsorted(names, v).astype(np.int64) for v in vals]


def monte_carlo_vintages(
    management,
    weather: xr.Dataset,
    soil: xr.Dataset,
    draws: xr.Dataset,
    *,
    project_start: str | pd.Timestamp,
    depth_cm: float,
    params: SoilCarbonParameters | None = None,
    crediting_month: int = DEFAULT_CREDITING_MONTH,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Credited soil SOC change per vintage and surface residue difference of every draw.

    Parameters
    ----------
    management : models.scenarios.ScenarioManagement
        Both scenarios and the look-back over the plots of ``soil``.
    weather : xarray.Dataset
        Monthly ``tmp`` [degC], ``rain`` [mm], ``evap`` [mm] covering the run.
    soil : xarray.Dataset
        ``clay`` [%] and ``soc_initial`` [t C ha-1] along ``plot``.
    draws : xarray.Dataset
        Along ``draw``: ``soc_initial`` (draw, plot) [t C ha-1] and any of :data:`FUSED_DRAWS`
        (shared by the plots of a draw).
    project_start : timestamp or str
        First day of the project period (vintages start in its year).
    depth_cm : float
        Depth of the modelled layer [cm].
    params : SoilCarbonParameters, optional
        Chain parameters where not drawn; the surface pool and the tillage effect must be on.
    crediting_month : int
        Month whose end is the yearly crediting point.

    Returns
    -------
    vintages, litter_points : xarray.DataArray
        Over (draw, plot, year) [t C ha-1], as :func:`models.scenarios.monte_carlo_scenarios`.
    """
    p = params or SoilCarbonParameters()
    if not (p.surface_pool and p.tillage_effect):
        raise ModelInputError(
            "the fused Monte Carlo needs the surface pool and the tillage effect switched on"
        )
    unknown = set(draws.data_vars) - FUSED_DRAWS
    if unknown:
        raise ModelInputError(f"draw variable(s) {sorted(unknown)} are not applied by the fused Monte Carlo")
    plots = [str(x) for x in soil["plot"].values]
    proj = management.project.sel(plot=plots)
    base = management.baseline.sel(plot=plots)
    months = proj["month"]
    forcing = _forcing(weather, months)
    clim = climatology(weather)
    zone = climate_zone_of(weather)
    ndraw = int(draws.sizes["draw"])
    nplot = len(plots)

    mg = np.empty((2, len(_MG_VARS), nplot, months.size))
    for sc, ds in enumerate((base, proj)):
        for k, name in enumerate(_MG_VARS):
            mg[sc, k] = ds[name].transpose("plot", "month").values
    if not np.all(np.isfinite(mg)) or np.any(mg[:, :4] < 0):
        raise ModelInputError(
            "scenario management must be finite and non-negative (build it with scenario_management)"
        )
    spin, usual = spinup_year(management.spinup.sel(plot=plots), clim["month"])
    sp = np.stack([spin[name].transpose("plot", "month").values for name in _MG_VARS]).astype(np.float64)
    names, (base_idx, proj_idx, sp_till) = _level_index(
        [
            _levels(base).transpose("plot", "month"),
            _levels(proj).transpose("plot", "month"),
            usual.transpose("plot"),
        ]
    )
    till_idx = np.stack([base_idx, proj_idx])

    tmp_off = _per_draw(draws, "tmp_offset", 0.0, ndraw)
    rain_f = _per_draw(draws, "rain_factor", 1.0, ndraw)
    a_run = rate_modifier_temperature(forcing["tmp"].values[:, None] + tmp_off[None, :])
    rain_run = forcing["rain"].values[:, None] * rain_f[None, :]
    a_spin = rate_modifier_temperature(clim["tmp"].values[:, None] + tmp_off[None, :])
    rain_spin = clim["rain"].values[:, None] * rain_f[None, :]
    if "clay" in draws:
        clay = np.broadcast_to(_per_draw(draws, "clay", 0.0, ndraw)[None, :], (nplot, ndraw))
    else:
        clay = np.broadcast_to(soil["clay"].values.astype(float)[:, None], (nplot, ndraw))
    soc0 = (
        draws["soc_initial"].sel(plot=plots).transpose("plot", "draw").values
        if "soc_initial" in draws
        else np.broadcast_to(soil["soc_initial"].values[:, None], (nplot, ndraw))
    )
    soc0 = np.ascontiguousarray(soc0, dtype=np.float64)
    if np.any(~(soc0 > 0)):
        raise ModelInputError("soc_initial must be positive for every plot [t C ha-1]")
    iom = falloon_iom(soc0)
    factor = _per_draw(draws, "c_inp_factor", 1.0, ndraw)
    kt = _per_draw(draws, "surface_decay", p.surface_decay, ndraw) * TSTEP_YR
    fs = _per_draw(draws, "surface_to_soil", p.surface_to_soil, ndraw)
    tscale = _per_draw(draws, "tillage_scale", p.tillage_scale, ndraw)
    till = np.stack([np.broadcast_to(tillage_rate_modifier(n, zone, tscale), (ndraw,)) for n in names])
    a_run = np.ascontiguousarray(a_run)
    a_spin = np.ascontiguousarray(a_spin)

    stamps = pd.DatetimeIndex(months.values)
    first = pd.Timestamp(project_start).year
    points = np.flatnonzero((stamps.month == crediting_month) & (stamps.year >= first)).astype(np.int64)
    if points.size == 0:
        raise ModelInputError(
            f"the run has no crediting point (end of month {crediting_month}) in the project years"
        )
    changed = np.any(mg[0] != mg[1], axis=(0, 2)) | np.any(till_idx[0] != till_idx[1], axis=1)
    key = np.concatenate([mg[:, 4].transpose(1, 0, 2).reshape(nplot, -1), till_idx.transpose(1, 0, 2).reshape(nplot, -1),
                          sp[4], sp_till[:, None], clay[:, :1]], axis=1)  # fmt: skip
    run_plots = np.flatnonzero(changed).astype(np.int64)
    out_soil = np.zeros((nplot, ndraw, points.size))
    out_litter = np.zeros_like(out_soil)
    status = np.zeros((nplot, ndraw), dtype=np.int8)
    drop = np.zeros(nplot, dtype=np.bool_)
    args = (
        mg, till_idx, sp, sp_till, drop, a_run, _surface_decay_table(a_run, kt), np.ascontiguousarray(rain_run),
        np.ascontiguousarray(forcing["evap"].values, dtype=np.float64), a_spin, _surface_decay_table(a_spin, kt),
        np.ascontiguousarray(rain_spin), np.ascontiguousarray(clim["evap"].values, dtype=np.float64),
        np.ascontiguousarray(till, dtype=np.float64), clay, float(depth_cm), factor, fs, soc0, iom, points,
        _DEFAULT_PARAMETERS.as_array(), out_soil, out_litter, status,
    )  # fmt: skip
    _mc_kernel(*_tasks(key, run_plots), *args)
    manure = np.flatnonzero((status == _MANURE).any(axis=1))
    if manure.size:
        # as models.chain: a plot infeasible in any draw has its spin-up manure dropped in all draws
        drop[manure] = True
        _mc_kernel(*_tasks(key, manure.astype(np.int64)), *args)
        names = [plots[i] for i in manure]
        warnings.warn(manure_draws_warning(names), stacklevel=2)
    bad = np.flatnonzero((status != _OK).any(axis=1))
    if bad.size:
        code = int(status[bad[0]].max())
        why = {
            _BELOW_IOM: "its measured SOC is below the inert organic matter",
            _NO_STEADY_STATE: "its spin-up year has no decomposition (no periodic steady state)",
            _MANURE: "its SOC is below the manure-only equilibrium",
        }[code]
        raise ModelInputError(
            f"plot {plots[bad[0]]!r} ({bad.size} plot(s) in all): {why}; check its soil samples and look-back logs"
        )
    years = stamps[points].year
    coords = {"draw": draws["draw"].values, "plot": plots, "year": np.asarray(years)}
    vint = out_soil  # each vintage: the increment over the previous point (in place, last first)
    for k in range(points.size - 1, 0, -1):
        vint[:, :, k] -= vint[:, :, k - 1]
    dims = ("draw", "plot", "year")
    return (
        xr.DataArray(vint.transpose(1, 0, 2), dims=dims, coords=coords).assign_attrs(
            units="t C ha-1", long_name="credited soil SOC change of the vintage"
        ),
        xr.DataArray(out_litter.transpose(1, 0, 2), dims=dims, coords=coords).assign_attrs(
            units="t C ha-1", long_name="project minus baseline surface residue C (not credited)"
        ),
    )
