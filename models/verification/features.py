"""Features of each plot-season from the per-plot Sentinel-2 time series, for practice detection.

Input: the imagery stage's ``Dataset(plot, time)`` (:mod:`geodata.dataset`): per-plot means of
``ndvi``, ``ndti``, ``bsi`` and the bands ``swir16``/``swir22``, and ``usable`` (enough clear
pixels). Output: one row per (plot, season year) with the features below and the number of clear
observations behind each window (a feature without observations is NaN, never a guess).

The calendar is that of a Northeast China spring maize season (sowing late April - early May,
harvest late September - mid October; shared/domain/lishu.md): season ``Y``'s practice shows in

* ``spring`` of Y, split at :data:`SPRING_SPLIT` into ``spring_early`` (before the spring tillage
  pass: last season's straw as the winter left it) and ``spring_late`` (after the pass and
  sowing, before the canopy: what the pass left) - the spring rotary pass and no-till planter;
* ``autumn`` of Y (after harvest): the straw handling of season Y and an autumn plough;
* ``next_spring`` of Y + 1 (before its tillage): season Y's straw through the winter.

Residue indices (per pixel, then averaged per plot, :mod:`geodata.features`):

* NDTI = (B11 - B12) / (B11 + B12) (van Deventer et al. 1997 [1]_): crop residue's cellulose and
  lignin absorb near 2.1 um, so residue raises NDTI over bare soil; read from a window's minimum
  and median outside the canopy season ("minNDTI", Zheng et al. 2012 [2]_);
* STI = B11 / B12, the simple tillage index of the same paper [1]_;
* BSI > 0 and NDVI < :data:`BARE_NDVI` mark a bare-soil observation (Rikimaru et al. 2002 [3]_).

NDTI and STI features are taken over a window's clear observations without green canopy (NDVI
below :data:`BARE_NDVI`): green leaves absorb at 2.2 um through their water and raise NDTI as
much as straw does (measured on the bundled real WorldCereal composites: median NDTI 0.28 over
green crops, 0.03 over bare soil; ``tests/models/test_verification_real_imagery.py``).

Season dates: the NDVI curve of the year, linearly interpolated over the clear observations (the
cloudy dates are gaps) on a daily grid and smoothed by a centred moving mean of
:data:`SMOOTH_DAYS`, crosses half its seasonal amplitude on the way up (green-up) and down
(senescence), the half-maximum rule of phenology retrieval (e.g. White et al. 1997 [4]_). Green-up
follows sowing and senescence precedes harvest by crop-specific lags that
:class:`models.verification.detectors.SeasonDateEstimator` learns from logged dates.

Pure: an xarray Dataset in, a pandas DataFrame out.

References
----------
.. [1] A. P. van Deventer, A. D. Ward, P. H. Gowda and J. G. Lyon, "Using Thematic Mapper data to
   identify contrasting soil plains and tillage practices", Photogramm. Eng. Remote Sens. 63(1),
   87-93, 1997.
.. [2] B. Zheng, J. B. Campbell and K. M. de Beurs, "Remote sensing of crop residue cover using
   multi-temporal Landsat imagery", Remote Sens. Environ. 117, 177-183, 2012,
   doi:10.1016/j.rse.2011.09.016.
.. [3] A. Rikimaru, P. S. Roy and S. Miyatake, "Tropical forest cover density mapping", Tropical
   Ecology 43(1), 39-47, 2002.
.. [4] M. A. White, P. E. Thornton and S. W. Running, "A continental phenology model for
   monitoring vegetation responses to interannual climatic variability", Global Biogeochem.
   Cycles 11(2), 217-234, 1997, doi:10.1029/97GB00330 (the half-amplitude NDVI threshold).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd
import xarray as xr

from models.errors import ModelInputError

__all__ = [
    "BARE_NDVI",
    "FEATURE_UNITS",
    "SMOOTH_DAYS",
    "SPRING_SPLIT",
    "WINDOWS",
    "ndvi_curve",
    "season_dates",
    "season_features",
]

WINDOWS: Mapping[str, tuple[int, tuple[int, int], tuple[int, int]]] = MappingProxyType(
    {
        "spring_early": (0, (3, 1), (4, 20)),
        "spring_late": (0, (4, 21), (5, 31)),
        "autumn": (0, (10, 10), (12, 15)),
        "next_spring": (1, (3, 1), (4, 20)),
    }
)
"""Windows of season Y: (year offset from Y, first (month, day), last (month, day)), inclusive."""

SPRING_SPLIT = (4, 21)
"""First day of ``spring_late`` (month, day): Lishu's spring tillage falls 2-10 days before sowing
on about 28 April (shared/domain/lishu.md section 3; the sample county's calendar)."""

BARE_NDVI = 0.3
"""NDVI below which an observation with BSI > 0 counts as bare soil [1] (no green canopy)."""

SMOOTH_DAYS = 15
"""Width of the centred moving mean over the daily NDVI curve [d] (about one revisit gap with
clouds)."""

SEASON_START, SEASON_END = (3, 1), (12, 15)
"""The NDVI curve of a year runs over these (month, day) dates."""

_WINDOW_FEATURES = (
    "n",
    "ndti_min",
    "ndti_median",
    "ndti_max",
    "ndti_first",
    "ndti_last",
    "sti_min",
    "sti_median",
    "ndvi_min",
    "ndvi_max",
    "bsi_median",
    "bare_n",
    "bare_first_doy",
)

FEATURE_UNITS: Mapping[str, str] = MappingProxyType(
    {
        **{
            f"{w}_{f}": ("count" if f in ("n", "bare_n") else "day of year" if f == "bare_first_doy" else "1")
            for w in WINDOWS
            for f in _WINDOW_FEATURES
        },
        "spring_ndti_drop": "1",
        "autumn_ndti_drop": "1",
        "season_n": "count",
        "ndvi_peak": "1",
        "ndvi_amplitude": "1",
        "greenup_doy": "day of year",
        "senescence_doy": "day of year",
        "offseason_ndvi_max": "1",
    }
)
"""Every feature column and its unit (``1`` for indices)."""


def _stamp(year: int, md: tuple[int, int]) -> np.datetime64:
    return np.datetime64(f"{year:04d}-{md[0]:02d}-{md[1]:02d}")


def _values(ds: xr.Dataset) -> dict[str, np.ndarray]:
    needed = ("ndvi", "ndti", "bsi", "swir16", "swir22", "usable")
    missing = [v for v in needed if v not in ds]
    if missing:
        raise ModelInputError(
            f"the imagery Dataset lacks {missing}; run the imagery stage (mrv run) to build plot_features.nc"
        )
    usable = ds["usable"].transpose("plot", "time").values.astype(bool)

    def clear(name: str, arr: np.ndarray | None = None) -> np.ndarray:
        a = ds[name].transpose("plot", "time").values.astype(float) if arr is None else arr
        return np.where(usable, a, np.nan)

    s16 = ds["swir16"].transpose("plot", "time").values.astype(float)
    s22 = ds["swir22"].transpose("plot", "time").values.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sti = np.where(s22 > 0, s16 / np.where(s22 > 0, s22, 1.0), np.nan)
    return {
        "ndvi": clear("ndvi"),
        "ndti": clear("ndti"),
        "bsi": clear("bsi"),
        "sti": clear("sti", sti),
        "usable": usable,
    }


def _first_last(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last non-NaN value of each row (NaN for an empty row)."""
    ok = ~np.isnan(vals)
    has = ok.any(axis=1)
    first_i = np.argmax(ok, axis=1)
    last_i = vals.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    rows = np.arange(vals.shape[0])
    first = np.where(has, vals[rows, first_i], np.nan)
    last = np.where(has, vals[rows, last_i], np.nan)
    return first, last


def _window(v: dict[str, np.ndarray], sel: np.ndarray, doy: np.ndarray) -> dict[str, np.ndarray]:
    nplot = v["usable"].shape[0]
    if not sel.any():
        empty = {k: np.full(nplot, np.nan) for k in _WINDOW_FEATURES}
        return empty | {"n": np.zeros(nplot), "bare_n": np.zeros(nplot)}
    nd, ti, st, bs = (v[k][:, sel] for k in ("ndvi", "ndti", "sti", "bsi"))
    n = v["usable"][:, sel].sum(axis=1).astype(float)
    # residue indices only where no green canopy: green leaves raise NDTI as much as straw does
    green = ~(nd < BARE_NDVI)
    ti = np.where(green, np.nan, ti)
    st = np.where(green, np.nan, st)
    bare = (bs > 0) & (nd < BARE_NDVI)
    bare_doy = np.where(bare, doy[sel][None, :], np.nan)
    first, last = _first_last(ti)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an empty window is NaN by design
        out = {
            "n": n,
            "ndti_min": np.nanmin(ti, axis=1),
            "ndti_median": np.nanmedian(ti, axis=1),
            "ndti_max": np.nanmax(ti, axis=1),
            "ndti_first": first,
            "ndti_last": last,
            "sti_min": np.nanmin(st, axis=1),
            "sti_median": np.nanmedian(st, axis=1),
            "ndvi_min": np.nanmin(nd, axis=1),
            "ndvi_max": np.nanmax(nd, axis=1),
            "bsi_median": np.nanmedian(bs, axis=1),
            "bare_n": bare.sum(axis=1).astype(float),
            "bare_first_doy": np.nanmin(bare_doy, axis=1),
        }
    return out


def ndvi_curve(ds: xr.Dataset, year: int) -> xr.DataArray:
    """The smoothed daily NDVI curve of every plot over one year's season.

    Parameters
    ----------
    ds : xarray.Dataset
        Per-plot time series with ``ndvi`` and ``usable`` over (plot, time).
    year : int
        Calendar year; the curve runs from :data:`SEASON_START` to :data:`SEASON_END`.

    Returns
    -------
    xarray.DataArray
        NDVI [1] over (plot, day): clear observations linearly interpolated on a daily grid
        (flat beyond the first and last one; NaN for a plot with fewer than two), then a centred
        moving mean of :data:`SMOOTH_DAYS` days.
    """
    days = np.arange(_stamp(year, SEASON_START), _stamp(year, SEASON_END) + 1, dtype="datetime64[D]")
    t = ds["time"].values.astype("datetime64[D]")
    sel = (t >= days[0] - 30) & (t <= days[-1] + 30)
    nd = np.where(
        ds["usable"].transpose("plot", "time").values, ds["ndvi"].transpose("plot", "time").values, np.nan
    )
    nd = nd[:, sel]
    x = (t[sel] - days[0]).astype(float)
    grid = (days - days[0]).astype(float)
    out = np.full((nd.shape[0], grid.size), np.nan)
    k = np.ones(SMOOTH_DAYS) / SMOOTH_DAYS
    half = SMOOTH_DAYS // 2
    for i in range(nd.shape[0]):
        ok = ~np.isnan(nd[i])
        if ok.sum() < 2:
            continue
        daily = np.interp(grid, x[ok], nd[i, ok])
        padded = np.concatenate([np.full(half, daily[0]), daily, np.full(half, daily[-1])])
        out[i] = np.convolve(padded, k, mode="valid")
    return xr.DataArray(
        out,
        dims=("plot", "day"),
        coords={"plot": ds["plot"].values, "day": days.astype("datetime64[ns]")},
        attrs={"units": "1", "long_name": "smoothed daily NDVI"},
    )


def season_dates(curve: xr.DataArray) -> pd.DataFrame:
    """Green-up and senescence days of year from a smoothed NDVI curve (:func:`ndvi_curve`).

    The curve's baseline is the lower of its minima before and after its peak; green-up is the
    first day it reaches baseline + amplitude / 2 before the peak, senescence the first day after
    the peak it falls to that level or below (module notes).

    Returns
    -------
    pandas.DataFrame
        Indexed by plot: ``ndvi_peak`` [1], ``ndvi_amplitude`` [1], ``greenup_doy`` and
        ``senescence_doy`` [day of year] (NaN where the curve has no peak to cross).

    Examples
    --------
    A logistic rise centred on day 160 and fall centred on day 265:

    >>> day = np.arange(np.datetime64("2024-03-01"), np.datetime64("2024-12-16"))
    >>> doy = (day - np.datetime64("2023-12-31")).astype(int)
    >>> v = 0.15 + 0.7 / (1 + np.exp(-(doy - 160) / 7)) - 0.7 / (1 + np.exp(-(doy - 265) / 6))
    >>> c = xr.DataArray(v[None, :], dims=("plot", "day"), coords={"plot": ["p"], "day": day})
    >>> d = season_dates(c)[["greenup_doy", "senescence_doy"]].to_numpy()[0]
    >>> bool(abs(d[0] - 160) <= 1 and abs(d[1] - 265) <= 1)  # within a day (daily grid)
    True
    """
    v = curve.values
    days = curve["day"].values.astype("datetime64[D]")
    doy = (days - days.astype("datetime64[Y]")).astype(int) + 1
    n = v.shape[0]
    peak = np.full(n, np.nan)
    amp = np.full(n, np.nan)
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    for i in range(n):
        row = v[i]
        if np.isnan(row).all():
            continue
        j = int(np.nanargmax(row))
        if j == 0 or j == row.size - 1:
            continue
        base = min(np.nanmin(row[: j + 1]), np.nanmin(row[j:]))
        level = base + (row[j] - base) / 2.0
        peak[i] = row[j]
        amp[i] = row[j] - base
        rise = np.flatnonzero(row[: j + 1] >= level)
        fall = np.flatnonzero(row[j:] <= level)
        if rise.size and rise[0] > 0:
            up[i] = doy[rise[0]]
        if fall.size:
            down[i] = doy[j + fall[0]]
    return pd.DataFrame(
        {"ndvi_peak": peak, "ndvi_amplitude": amp, "greenup_doy": up, "senescence_doy": down},
        index=pd.Index(curve["plot"].values, name="plot_id"),
    )


def season_features(ds: xr.Dataset, years: Sequence[int]) -> pd.DataFrame:
    """Features of every plot for each season year (module notes; units in :data:`FEATURE_UNITS`).

    Parameters
    ----------
    ds : xarray.Dataset
        The imagery stage's per-plot time series over (plot, time).
    years : sequence of int
        Season years.

    Returns
    -------
    pandas.DataFrame
        One row per (plot_id, year) in that order, with every column of :data:`FEATURE_UNITS`.
        ``spring_ndti_drop`` = median NDTI of ``spring_early`` minus that of ``spring_late`` (what
        the spring pass removed); ``autumn_ndti_drop`` = first minus last autumn NDTI (an autumn
        plough); ``season_n`` = clear observations from 1 March to 15 December;
        ``offseason_ndvi_max`` = the highest NDVI of the autumn and next-spring windows (green
        cover outside the main season).
    """
    if "plot" not in ds.dims or "time" not in ds.dims:
        raise ModelInputError("the imagery Dataset must have dims (plot, time)")
    v = _values(ds)
    t = ds["time"].values.astype("datetime64[D]")
    doy = ((t - t.astype("datetime64[Y]")).astype(int) + 1).astype(float)
    plots = [str(p) for p in ds["plot"].values]
    frames = []
    for year in [int(y) for y in years]:
        cols: dict[str, np.ndarray] = {}
        for name, (offset, first, last) in WINDOWS.items():
            sel = (t >= _stamp(year + offset, first)) & (t <= _stamp(year + offset, last))
            for k, arr in _window(v, sel, doy).items():
                cols[f"{name}_{k}"] = arr
        cols["spring_ndti_drop"] = cols["spring_early_ndti_median"] - cols["spring_late_ndti_median"]
        cols["autumn_ndti_drop"] = cols["autumn_ndti_first"] - cols["autumn_ndti_last"]
        season = (t >= _stamp(year, SEASON_START)) & (t <= _stamp(year, SEASON_END))
        cols["season_n"] = v["usable"][:, season].sum(axis=1).astype(float)
        dates = season_dates(ndvi_curve(ds, year))
        for c in dates.columns:
            cols[c] = dates[c].to_numpy()
        cols["offseason_ndvi_max"] = np.fmax(cols["autumn_ndvi_max"], cols["next_spring_ndvi_max"])
        frame = pd.DataFrame(cols)
        frame.insert(0, "year", year)
        frame.insert(0, "plot_id", plots)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True).sort_values(["plot_id", "year"], kind="stable")
    return out.reset_index(drop=True)[["plot_id", "year", *FEATURE_UNITS]]
