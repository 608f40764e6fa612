"""Soil sampling design of a re-measurement and the equivalent-soil-mass comparison.

Pure functions (tables, geometries and arrays in and out; no file or store access):

* :func:`stratify`: strata from each plot's practice and a soil covariate (its initial SOC stock,
  split at quantiles);
* :func:`sample_size`: samples per stratum for a target precision of the mean (stratified random
  sampling, Neyman allocation, finite-population correction; Cochran 1977 [1]_);
* :func:`sample_points`: random sampling points inside the plots of each stratum, away from the
  plot edges, reproducible from a seed;
* :func:`esm_soc_stock` and :func:`remeasurement_change`: the SOC stock on an equivalent soil
  mass (ESM) basis (Ellert & Bettany 1995 [2]_; the linear variant of Wendt & Hauser 2013 [3]_)
  and the change between a baseline and a re-measured profile on a fixed-depth and an ESM basis.

Units: depths [cm], bulk density [g cm-3], SOC concentration [g kg-1], soil mass [Mg ha-1] (= t
ha-1), SOC stock [t C ha-1], areas [ha], distances [m].

References
----------
.. [1] W. G. Cochran, *Sampling Techniques*, 3rd ed., Wiley, New York, 1977: section 5.5
   (optimum, i.e. Neyman, allocation n_h = n N_h S_h / sum N_h S_h) and section 5.9 (sample size
   for a specified variance V of the stratified mean, with the finite-population correction;
   eqs. 5.25-5.26 in the brief this module was written from: equation numbers not checked
   against the book).
.. [2] B. H. Ellert and J. R. Bettany, "Calculation of organic matter and nutrients stored in
   soils under contrasting management regimes", Canadian Journal of Soil Science 75:529-538,
   1995, doi:10.4141/cjss95-075.
.. [3] J. W. Wendt and S. Hauser, "An equivalent soil mass procedure for monitoring soil organic
   carbon in multiple soil layers", European Journal of Soil Science 64:58-65, 2013,
   doi:10.1111/ejss.12002.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from models.errors import MRVError

__all__ = [
    "CV_ASSUMED",
    "SamplingError",
    "SampleSize",
    "esm_soc_stock",
    "fixed_depth_soc_stock",
    "remeasurement_change",
    "sample_points",
    "sample_size",
    "soil_mass",
    "stratify",
]

CV_ASSUMED = 0.20
"""Coefficient of variation of the SOC stock [1] within a stratum whose own samples are too few
(fewer than 3) to estimate its standard deviation: S_h = CV x stratum mean. 20 %: the upper end of
the 10-20 % within-field CV in ``shared/domain/china_sample_context.md`` section 3 (marked
unverified there), inside the 5-35 % CV of SOC stocks across scales of G. Goidts, B. van Wesemael
and M. Crucifix, European Journal of Soil Science 60(5):723-739, 2009,
doi:10.1111/j.1365-2389.2009.01157.x (abstract: the CV increases from 5 to 35 % from the plot to
the regional scale, lower for cropland than grassland). A stratum spans many fields across a
county, so the upper end, not the 10 % :mod:`models.uncertainty` uses within one field."""

UNMEASURED = "unmeasured"
"""Covariate class of plots without a covariate value (NaN)."""

ALL = "all"
"""Covariate class of a practice not split by the covariate (too few plots with a value)."""

_MASS_PER_BD_CM = 100.0
"""Soil mass [Mg ha-1] of 1 cm at a bulk density of 1 g cm-3: 1e8 cm2 ha-1 x 1 cm x 1 g cm-3
= 1e8 g = 100 Mg."""


class SamplingError(MRVError, ValueError):
    """An input of the sampling design or of the ESM calculation is missing or out of range."""


# --------------------------------------------------------------------------------------------
# Strata
# --------------------------------------------------------------------------------------------


def _per_plot(values: Any, plot_ids: pd.Index, name: str) -> pd.Series:
    """``values`` aligned with the plots: a Series indexed by plot id is reindexed, anything else
    is taken in the plots' row order."""
    if isinstance(values, pd.Series) and plot_ids.isin(values.index.astype(str)).all():
        out = pd.Series(values.to_numpy(), index=values.index.astype(str)).reindex(plot_ids)
    else:
        arr = np.asarray(values)
        if arr.shape != (len(plot_ids),):
            raise SamplingError(
                f"{name} has {arr.shape[0] if arr.ndim else 0} values for {len(plot_ids)} plots: "
                "give one per plot (in the plots' order, or a Series indexed by plot_id)"
            )
        out = pd.Series(arr, index=plot_ids)
    return out.rename(name)


def _plot_ids(plots: pd.DataFrame) -> pd.Index:
    ids = plots["plot_id"].astype(str) if "plot_id" in plots.columns else plots.index.astype(str)
    if ids.duplicated().any():
        raise SamplingError(f"duplicate plot ids: {sorted(set(ids[ids.duplicated()]))[:5]}")
    return pd.Index(ids, name="plot_id")


def _area_ha(plots: gpd.GeoDataFrame) -> np.ndarray:
    if "area_ha" in plots.columns:
        return plots["area_ha"].to_numpy(float)
    return plots.geometry.to_crs(plots.estimate_utm_crs()).area.to_numpy(float) / 1e4


def stratify(
    plots: gpd.GeoDataFrame,
    practice: Sequence[str] | pd.Series,
    covariate: Sequence[float] | pd.Series,
    n_covariate_classes: int = 2,
    *,
    min_plots_per_class: int = 0,
) -> tuple[pd.Series, pd.DataFrame]:
    """Strata from each plot's practice and a covariate split at quantiles.

    Parameters
    ----------
    plots : geopandas.GeoDataFrame
        ``plot_id`` and ``area_ha`` [ha] (else the area of the geometry in its UTM zone).
    practice : sequence of str or pandas.Series
        The practice label of each plot (e.g. ``no_till + mulched``); a Series indexed by plot id,
        or one value per row of ``plots``.
    covariate : sequence of float or pandas.Series
        A soil covariate per plot, e.g. the initial SOC stock [t C ha-1]; NaN where the plot has
        no value of its own (such plots form the class ``unmeasured`` of their practice, rather
        than being put in a class by an imputed value).
    n_covariate_classes : int
        Classes of the covariate: split at its 1/k, ..., (k-1)/k quantiles over all plots that
        have a value (the same bounds for every practice); a value equal to a bound goes to the
        upper class. 2 gives ``low`` and ``high``; more give ``Q1`` .. ``Qk``.
    min_plots_per_class : int
        A practice is split by the covariate only when each of its classes holds at least this
        many plots with a value; otherwise all its plots form one stratum, class ``all``
        (measured and unmeasured together). With few measured plots a split only makes strata of
        one or two plots, each costing the minimum sample of a stratum. 0: always split.

    Returns
    -------
    labels : pandas.Series
        The stratum of each plot (``PRACTICE / SOC CLASS``), indexed by plot id.
    table : pandas.DataFrame
        One row per stratum (sorted by label): ``practice``, ``covariate_class``, its bounds
        ``class_low`` / ``class_high`` (NaN: open), ``plots``, ``area_ha`` [ha], and the
        covariate's ``covariate_n`` (plots with a value), ``covariate_mean`` and ``covariate_sd``
        (sample sd, ddof 1; NaN below 2 values).

    Examples
    --------
    >>> import shapely
    >>> p = gpd.GeoDataFrame({"plot_id": list("abcd"), "area_ha": [1.0, 2.0, 1.0, 0.5]},
    ...                      geometry=[shapely.box(0, 0, 1, 1)] * 4, crs="EPSG:32651")
    >>> labels, table = stratify(p, ["nt", "nt", "nt", "ct"], [40.0, 50.0, float("nan"), 45.0])
    >>> labels.tolist()
    ['nt / SOC low', 'nt / SOC high', 'nt / SOC unmeasured', 'ct / SOC high']
    >>> table["area_ha"].tolist()
    [0.5, 2.0, 1.0, 1.0]
    """
    if int(n_covariate_classes) < 1:
        raise SamplingError(f"n_covariate_classes must be at least 1, got {n_covariate_classes!r}")
    k = int(n_covariate_classes)
    ids = _plot_ids(plots)
    prac = _per_plot(practice, ids, "practice").fillna("not logged").astype(str)
    cov = pd.to_numeric(_per_plot(covariate, ids, "covariate"), errors="coerce").astype(float)
    have = cov.notna().to_numpy()
    edges = np.quantile(cov[have], np.arange(1, k) / k) if have.any() and k > 1 else np.array([])
    names = ["low", "high"] if k == 2 else [f"Q{i + 1}" for i in range(k)]
    cls_idx = np.searchsorted(edges, cov.to_numpy(), side="right")
    cls = np.where(have, np.array(names, dtype=object)[np.minimum(cls_idx, k - 1)], UNMEASURED)
    for p in prac.unique():
        mine = (prac == p).to_numpy()
        counts = pd.Series(cls[mine & have]).value_counts().reindex(names, fill_value=0)
        if k > 1 and (counts < int(min_plots_per_class)).any():
            cls[mine] = ALL
    bounds = np.concatenate([[np.nan], edges, [np.nan]])
    labels = pd.Series([f"{p} / SOC {c}" for p, c in zip(prac, cls, strict=True)], index=ids, name="stratum")

    df = pd.DataFrame(
        {"stratum": labels.to_numpy(), "practice": prac.to_numpy(), "covariate_class": cls,
         "area_ha": _area_ha(plots), "covariate": cov.to_numpy()}
    )  # fmt: skip
    rows = []
    for label, g in df.groupby("stratum", sort=True):
        c = g["covariate_class"].iloc[0]
        i = names.index(c) if c in names else None
        vals = g["covariate"].dropna()
        rows.append(
            {
                "stratum": label,
                "practice": g["practice"].iloc[0],
                "covariate_class": c,
                "class_low": bounds[i] if i is not None else np.nan,
                "class_high": bounds[i + 1] if i is not None else np.nan,
                "plots": len(g),
                "area_ha": float(g["area_ha"].sum()),
                "covariate_n": len(vals),
                "covariate_mean": float(vals.mean()) if len(vals) else np.nan,
                "covariate_sd": float(vals.std(ddof=1)) if len(vals) > 1 else np.nan,
            }
        )
    return labels, pd.DataFrame(rows).set_index("stratum")


# --------------------------------------------------------------------------------------------
# Sample size
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SampleSize:
    """Result of :func:`sample_size`."""

    table: pd.DataFrame
    """Per stratum: ``N_h`` [units], ``W_h`` = N_h / N [1], ``S_h`` [unit of the variable],
    ``n_h_exact`` (the allocation of the unrounded n), ``n_h`` (rounded up, at least the minimum,
    at most N_h)."""
    n: float
    """Total sample size of the formula before rounding [1]."""
    n_total: int
    """Sum of the rounded ``n_h`` [1]."""
    z: float
    """Standard normal quantile of the two-sided confidence [1] (1.6449 at 90 %)."""
    mean: float
    """Mean of the variable the precision is relative to."""
    precision: float
    """Target half-width of the confidence interval as a fraction of the mean [1]."""
    confidence: float
    E: float
    """Target half-width of the confidence interval, precision x mean [unit of the variable]."""
    V: float
    """Target variance of the stratified mean, (E / z)^2."""
    N: int
    """Population units, sum of N_h."""
    allocation: str


def sample_size(
    N_h: Sequence[float] | pd.Series,
    S_h: Sequence[float] | pd.Series,
    mean: float,
    *,
    precision: float = 0.10,
    confidence: float = 0.90,
    allocation: str = "neyman",
    min_per_stratum: int = 2,
) -> SampleSize:
    """Samples per stratum for a target precision of the stratified mean (Cochran 1977 [1]_).

    Stratified random sampling with the finite-population correction (Cochran 1977, section 5.9).
    With W_h = N_h / N, V = (E / z)^2 and E = precision x mean:

    * Neyman allocation (default)::

          n   = (sum_h W_h S_h)^2 / (V + (1/N) sum_h W_h S_h^2)
          n_h = n N_h S_h / sum_h N_h S_h

    * proportional allocation::

          n0  = sum_h W_h S_h^2 / V,   n = n0 / (1 + n0 / N),   n_h = n W_h

    For one stratum both are n0 = (z S / E)^2, n = n0 / (1 + n0 / N): e.g. N = 200 units,
    S = 8 t C ha-1, mean 45 t C ha-1, E = 10 % x 45 = 4.5 t C ha-1, z = 1.6449:
    n0 = (1.6449 x 8 / 4.5)^2 = 8.55, n = 8.55 / (1 + 8.55 / 200) = 8.20, so 9 samples.

    Neyman is the default: it gives the smallest variance of the stratified mean for a total n
    when a sample costs the same in every stratum (Cochran section 5.5), and the strata here
    (practices, SOC classes) differ in their spread S_h, so sampling the variable strata harder
    pays; proportional allocation is optimal only when the S_h are equal.

    Each n_h is rounded up, raised to ``min_per_stratum`` (2: the fewest that estimate a
    stratum's variance) and capped at N_h (a census), so ``n_total`` >= n and the achieved
    precision is at least the target.

    Parameters
    ----------
    N_h : sequence of float or pandas.Series
        Population units per stratum (e.g. stratum area / support area of one sample, or plots).
        A Series keeps its index as the stratum names.
    S_h : sequence of float or pandas.Series
        Standard deviation of the variable per stratum between units (e.g. SOC stock
        [t C ha-1]), aligned with ``N_h``.
    mean : float
        Mean of the variable (over the population) the precision is relative to, in its units.
    precision : float
        Target half-width of the interval as a fraction of the mean [1] (0.10: +/-10 %).
    confidence : float
        Two-sided confidence of the interval [1] (0.90: z = 1.6449).
    allocation : {"neyman", "proportional"}
    min_per_stratum : int
        Fewest samples in a stratum.

    Returns
    -------
    SampleSize
    """
    if allocation not in ("neyman", "proportional"):
        raise SamplingError(f"allocation must be 'neyman' or 'proportional', got {allocation!r}")
    index = N_h.index if isinstance(N_h, pd.Series) else pd.RangeIndex(len(N_h), name="stratum")
    Nh = np.asarray(N_h, dtype=float)
    Sh = np.asarray(S_h, dtype=float)
    if Nh.ndim != 1 or Nh.shape != Sh.shape or Nh.size == 0:
        raise SamplingError(f"N_h and S_h need one value per stratum (got {Nh.shape} and {Sh.shape})")
    if not (np.isfinite(Nh).all() and (Nh >= 1).all()):
        raise SamplingError(f"every N_h must be at least 1 population unit, got {Nh.tolist()}")
    if not (np.isfinite(Sh).all() and (Sh >= 0).all()):
        raise SamplingError(f"every S_h must be a finite standard deviation >= 0, got {Sh.tolist()}")
    if not (math.isfinite(mean) and mean > 0):
        raise SamplingError(f"the mean must be positive, got {mean!r}")
    if not 0 < precision:
        raise SamplingError(f"precision must be a positive fraction of the mean, got {precision!r}")
    if not 0 < confidence < 1:
        raise SamplingError(f"confidence must lie between 0 and 1, got {confidence!r}")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    E = precision * mean
    V = (E / z) ** 2
    N = float(Nh.sum())
    W = Nh / N
    if allocation == "neyman":
        n = float(np.sum(W * Sh) ** 2 / (V + np.sum(W * Sh**2) / N))
        share = Nh * Sh / np.sum(Nh * Sh) if np.sum(Nh * Sh) > 0 else W
    else:
        n0 = float(np.sum(W * Sh**2) / V)
        n = n0 / (1 + n0 / N)
        share = W
    exact = n * share
    # 1e-9: a product that lands a hair above a whole number is that number, not the next one
    n_h = np.minimum(np.maximum(np.ceil(exact - 1e-9), min_per_stratum), np.floor(Nh)).astype(int)
    table = pd.DataFrame({"N_h": Nh, "W_h": W, "S_h": Sh, "n_h_exact": exact, "n_h": n_h}, index=index)
    return SampleSize(
        table=table,
        n=n,
        n_total=int(n_h.sum()),
        z=z,
        mean=float(mean),
        precision=float(precision),
        confidence=float(confidence),
        E=float(E),
        V=float(V),
        N=int(round(N)),
        allocation=allocation,
    )


# --------------------------------------------------------------------------------------------
# Sampling points
# --------------------------------------------------------------------------------------------

_MAX_TRIES = 10_000
"""Candidate batches per point before giving up on a plot (rejection sampling)."""


def _uniform_point(
    rng: np.random.Generator, plot: shapely.Geometry, inner: shapely.Geometry, buffer_m: float
) -> tuple[float, float] | None:
    """A uniform point of ``inner`` (the plot shrunk by ``buffer_m``) that is at least
    ``buffer_m`` from the plot's boundary (outer ring and holes), by rejection from the bounding
    box of ``inner``; the distance check makes the guarantee exact where the buffer's arcs are
    approximated by chords."""
    x0, y0, x1, y1 = inner.bounds
    boundary = plot.boundary
    batch = 64
    for _ in range(_MAX_TRIES):
        x = rng.uniform(x0, x1, batch)
        y = rng.uniform(y0, y1, batch)
        ok = shapely.contains_xy(inner, x, y)
        if ok.any():
            pts = shapely.points(x[ok], y[ok])
            far = shapely.distance(pts, boundary) >= buffer_m
            if far.any():
                j = int(np.flatnonzero(ok)[np.argmax(far)])
                return float(x[j]), float(y[j])
    return None


def sample_points(
    plots: gpd.GeoDataFrame,
    n_per_stratum: Mapping[str, int] | pd.Series,
    stratum: Sequence[str] | pd.Series,
    buffer_m: float = 10.0,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Random sampling points in the plots of each stratum, at least ``buffer_m`` from a plot edge.

    In the plots' UTM zone (:meth:`geopandas.GeoDataFrame.estimate_utm_crs`) each plot is shrunk
    by ``buffer_m`` metres; per stratum, ``n`` plots are drawn with replacement with probability
    proportional to their shrunk area, and in each a point uniformly inside the shrunk plot, so
    the points are uniform over the sampleable area of the stratum (a plot may get more than one
    point). Plots with no area left after the buffer are skipped (never drawn), with a reason;
    a stratum with no sampleable plot gets no point.

    Parameters
    ----------
    plots : geopandas.GeoDataFrame
        ``plot_id`` and the polygons (any CRS).
    n_per_stratum : mapping or pandas.Series
        Points per stratum label.
    stratum : sequence of str or pandas.Series
        The stratum of each plot (:func:`stratify`'s labels).
    buffer_m : float
        Smallest distance from a plot's edge [m].
    seed : int
        Seed of the draws: the same inputs and seed give the same points.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per point: ``point_id`` (``SP0001``, ...), ``plot_id``, ``stratum``,
        ``lon``, ``lat`` [degree]. ``attrs["skipped"]``: a list of ``{"plot_id", "stratum",
        "reason"}`` (``plot_id`` None for a whole stratum); ``attrs["utm_crs"]``: the CRS worked in.
    """
    if not (math.isfinite(buffer_m) and buffer_m >= 0):
        raise SamplingError(f"buffer_m must be a distance >= 0 [m], got {buffer_m!r}")
    if plots.crs is None:
        raise SamplingError("the plots have no CRS: set it (EPSG:4326 for lon/lat) before sampling")
    ids = _plot_ids(plots)
    strata = _per_plot(stratum, ids, "stratum").astype(str)
    wanted = pd.Series(n_per_stratum).astype("int64")
    wanted.index = wanted.index.astype(str)
    utm = plots.estimate_utm_crs()
    geoms = plots.geometry.to_crs(utm).to_numpy()
    inner = shapely.buffer(geoms, -float(buffer_m)) if buffer_m > 0 else geoms
    inner_area = shapely.area(inner)
    rng = np.random.default_rng(seed)
    skipped: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for label in sorted(wanted.index.astype(str)):
        n = int(wanted[label])
        members = np.flatnonzero((strata == label).to_numpy())
        ok = members[inner_area[members] > 0]
        for i in members[inner_area[members] <= 0]:
            skipped.append(
                {
                    "plot_id": ids[i],
                    "stratum": label,
                    "reason": f"no part of the plot ({shapely.area(geoms[i]) / 1e4:.2f} ha) lies {buffer_m:g} m "
                    "or more from its edge",
                }
            )
        if n <= 0:
            continue
        if ok.size == 0:
            why = (
                "it has no plot"
                if members.size == 0
                else f"none of its {members.size} plot(s) is wide enough"
            )
            skipped.append(
                {
                    "plot_id": None,
                    "stratum": label,
                    "reason": f"{n} point(s) not drawn: {why} for a {buffer_m:g} m edge buffer",
                }
            )
            continue
        chosen = rng.choice(ok, size=n, replace=True, p=inner_area[ok] / inner_area[ok].sum())
        for i in chosen:
            xy = _uniform_point(rng, geoms[i], inner[i], float(buffer_m))
            if xy is None:  # a sliver the rejection cannot hit: the plot counts as skipped
                skipped.append(
                    {"plot_id": ids[i], "stratum": label, "reason": "no point found in its buffered area"}
                )
                continue
            rows.append({"plot_id": ids[i], "stratum": label, "x": xy[0], "y": xy[1]})
    pts = gpd.GeoSeries(
        shapely.points([r["x"] for r in rows], [r["y"] for r in rows]) if rows else [], crs=utm
    ).to_crs("EPSG:4326")
    out = gpd.GeoDataFrame(
        {
            "point_id": [f"SP{k + 1:04d}" for k in range(len(rows))],
            "plot_id": [r["plot_id"] for r in rows],
            "stratum": [r["stratum"] for r in rows],
            "lon": shapely.get_x(pts.to_numpy()) if rows else np.array([], dtype=float),
            "lat": shapely.get_y(pts.to_numpy()) if rows else np.array([], dtype=float),
        },
        geometry=pts.to_numpy() if rows else [],
        crs="EPSG:4326",
    )
    out.attrs["skipped"] = skipped
    out.attrs["utm_crs"] = utm.to_string()
    return out


# --------------------------------------------------------------------------------------------
# Equivalent soil mass
# --------------------------------------------------------------------------------------------


def _profile(layers: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative depth [cm], fine-soil mass [Mg ha-1] and SOC [t C ha-1] at the layer bounds,
    starting at (0, 0, 0); layers must start at 0 cm and follow each other without gap or
    overlap."""
    need = {"top", "bottom", "bulk_density", "soc_g_kg"}
    missing = need - set(layers.columns)
    if missing:
        raise SamplingError(f"the {what} layers lack column(s) {sorted(missing)}")
    df = layers.sort_values("top")
    top = df["top"].to_numpy(float)
    bottom = df["bottom"].to_numpy(float)
    bd = df["bulk_density"].to_numpy(float)
    soc = df["soc_g_kg"].to_numpy(float)
    coarse = df["coarse_fraction"].fillna(0).to_numpy(float) if "coarse_fraction" in df else np.zeros(len(df))
    if len(df) == 0:
        raise SamplingError(f"the {what} profile has no layer")
    if not np.isclose(top[0], 0.0) or not np.allclose(top[1:], bottom[:-1]) or (bottom <= top).any():
        raise SamplingError(
            f"the {what} layers must start at 0 cm and follow each other without gap or overlap "
            f"(got {list(zip(top.tolist(), bottom.tolist(), strict=True))})"
        )
    if not (np.isfinite(bd).all() and (bd > 0).all() and np.isfinite(soc).all() and (soc >= 0).all()):
        raise SamplingError(f"the {what} layers need a bulk density > 0 and an SOC >= 0 in every layer")
    # mass [Mg ha-1] = BD [g cm-3] x thickness [cm] x (1 - coarse) x 100; SOC [t C ha-1] = mass x SOC [g kg-1] / 1000
    mass = bd * (bottom - top) * (1 - coarse) * _MASS_PER_BD_CM
    carbon = mass * soc / 1000.0
    return (
        np.concatenate([[0.0], bottom]),
        np.concatenate([[0.0], np.cumsum(mass)]),
        np.concatenate([[0.0], np.cumsum(carbon)]),
    )


def soil_mass(layers: pd.DataFrame, depth_cm: float = 30.0) -> float:
    """Fine-soil mass of a profile from 0 to ``depth_cm`` [Mg ha-1] (mass is linear in depth inside
    a layer of one bulk density)."""
    depth, mass, _ = _profile(layers, "profile")
    if depth_cm > depth[-1] + 1e-9:
        raise SamplingError(f"the profile reaches {depth[-1]:g} cm, not {depth_cm:g} cm: sample deeper")
    return float(np.interp(depth_cm, depth, mass))


def fixed_depth_soc_stock(layers: pd.DataFrame, depth_cm: float = 30.0) -> float:
    """SOC stock from 0 to ``depth_cm`` [t C ha-1], sum of SOC [g kg-1] x BD [g cm-3] x
    thickness [cm] x 0.1 over the layers (the layer crossing ``depth_cm`` pro rata)."""
    depth, _, carbon = _profile(layers, "profile")
    if depth_cm > depth[-1] + 1e-9:
        raise SamplingError(f"the profile reaches {depth[-1]:g} cm, not {depth_cm:g} cm: sample deeper")
    return float(np.interp(depth_cm, depth, carbon))


def esm_soc_stock(layers: pd.DataFrame, baseline_layers: pd.DataFrame, depth_cm: float = 30.0) -> float:
    """SOC stock [t C ha-1] of ``layers`` in the soil mass of ``baseline_layers``' 0-``depth_cm``.

    Equivalent soil mass (Ellert & Bettany 1995 [2]_): the reference mass M_ref [Mg ha-1] is the
    baseline's fine-soil mass from 0 to ``depth_cm``; the stock of a profile is its cumulative SOC
    at cumulative soil mass M_ref, by LINEAR interpolation of cumulative SOC [t C ha-1] against
    cumulative soil mass [Mg ha-1] between the layer bounds (the linear variant of the
    cumulative-mass procedure of Wendt & Hauser 2013 [3]_, who fit a cubic spline instead). Inside a
    layer of uniform SOC concentration the interpolation is exact; across a layer that mixes soil of
    different concentration it is an approximation (finer layers make it smaller).

    By hand: layer masses m_i = BD_i x (bottom_i - top_i) x 100, layer SOC c_i = m_i x SOC_i /
    1000; with M_j, C_j the sums over the first j layers and M_(j-1) <= M_ref <= M_j:
    stock = C_(j-1) + (M_ref - M_(j-1)) / (M_j - M_(j-1)) x (C_j - C_(j-1)).

    The profile must hold at least M_ref (no extrapolation below its deepest layer): sample the
    re-measurement deeper than ``depth_cm`` (e.g. to 40 or 50 cm) so that it does where the soil
    loosened.

    Parameters
    ----------
    layers, baseline_layers : pandas.DataFrame
        ``top``, ``bottom`` [cm], ``bulk_density`` [g cm-3], ``soc_g_kg`` [g kg-1], optionally
        ``coarse_fraction`` [1]; from 0 cm without gaps.
    depth_cm : float
        Depth of the baseline's reference layer [cm].
    """
    M_ref = soil_mass(baseline_layers, depth_cm)
    _, mass, carbon = _profile(layers, "profile")
    if M_ref > mass[-1] * (1 + 1e-12):
        raise SamplingError(
            f"the profile holds {mass[-1]:.0f} Mg ha-1 of soil, less than the reference mass {M_ref:.0f} "
            f"Mg ha-1 (the baseline's 0-{depth_cm:g} cm): sample it deeper"
        )
    return float(np.interp(M_ref, mass, carbon))


def remeasurement_change(
    baseline_layers: pd.DataFrame, remeasured_layers: pd.DataFrame, depth_cm: float = 30.0
) -> pd.DataFrame:
    """The SOC stock change between a baseline and a re-measured profile, fixed depth and ESM.

    Returns
    -------
    pandas.DataFrame
        Two rows, ``fixed_depth`` (0-``depth_cm`` in both profiles) and ``equivalent_soil_mass``
        (the baseline's 0-``depth_cm`` soil mass in both, :func:`esm_soc_stock`), with
        ``baseline_t_c_ha``, ``remeasured_t_c_ha``, ``change_t_c_ha`` [t C ha-1], the soil mass
        each covers ``baseline_mass_mg_ha`` / ``remeasured_mass_mg_ha`` [Mg ha-1] and the depth
        ``baseline_depth_cm`` / ``remeasured_depth_cm`` [cm] (for ESM, the depth at which the
        re-measured profile holds the reference mass).

    Under compaction (higher bulk density, the same soil and SOC) a fixed depth reaches into
    deeper soil and shows a gain that is not there; the ESM change is about 0.
    """
    b_fixed = fixed_depth_soc_stock(baseline_layers, depth_cm)
    r_fixed = fixed_depth_soc_stock(remeasured_layers, depth_cm)
    M_ref = soil_mass(baseline_layers, depth_cm)
    r_esm = esm_soc_stock(remeasured_layers, baseline_layers, depth_cm)
    r_depth, r_mass, _ = _profile(remeasured_layers, "re-measured")
    rows = {
        "fixed_depth": {
            "baseline_t_c_ha": b_fixed,
            "remeasured_t_c_ha": r_fixed,
            "change_t_c_ha": r_fixed - b_fixed,
            "baseline_mass_mg_ha": M_ref,
            "remeasured_mass_mg_ha": soil_mass(remeasured_layers, depth_cm),
            "baseline_depth_cm": float(depth_cm),
            "remeasured_depth_cm": float(depth_cm),
        },
        "equivalent_soil_mass": {
            "baseline_t_c_ha": b_fixed,  # the baseline's own reference mass is its 0-depth_cm
            "remeasured_t_c_ha": r_esm,
            "change_t_c_ha": r_esm - b_fixed,
            "baseline_mass_mg_ha": M_ref,
            "remeasured_mass_mg_ha": M_ref,
            "baseline_depth_cm": float(depth_cm),
            "remeasured_depth_cm": float(np.interp(M_ref, r_mass, r_depth)),
        },
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("basis")
