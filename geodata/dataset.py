"""The per-plot time series ``xarray.Dataset(plot, time)`` assembled from the scene results.

The variables, their definitions (``observed``, ``valid_fraction``, ``count``, ``usable``) and the
``attrs`` are those documented in :mod:`geodata.pipeline` and
:func:`geodata.pipeline.plot_time_series`.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import xarray as xr

from geodata.area import utm_epsg
from geodata.defaults import NEGATIVE_REFLECTANCE_MAX_SHARE, NEGATIVE_REFLECTANCE_TOLERANCE
from geodata.errors import PlotNotCoveredWarning
from geodata.features import INDEX_ATTRS
from geodata.scenes import _gives_data
from geodata.sentinel2 import BAND_NAMES
from geodata.skipped import _extent, _skip_summary


def _good(results) -> list:
    """The scene results that give data for some plot, in their order."""
    return [r for r in results if _gives_data(r)]


def _days(good) -> tuple[list, np.ndarray]:
    """The UTC days of the good scenes, sorted, and each day's earliest acquisition time."""
    days = sorted({r.day for r in good})
    first_time = {d: min(r.when for r in good if r.day == d) for d in days}
    return days, np.array([first_time[d] for d in days], dtype="datetime64[ns]")


def _plot_arrays(n: int, good, days: list, n_names: int):
    """Per (plot, day) means, clear count and fraction, observed flag and item id of ``n`` plots
    from the good scene results (their ``plot_index`` within ``range(n)``), and which plots a
    scene covers. Scenes are taken in order; per plot-day the one with most clear area wins (the
    first observing one if none is clear), so any subset of plots gets the values it gets in the
    whole."""
    day_pos = {d: k for k, d in enumerate(days)}
    nt = len(days)
    mean = np.full((n_names, n, nt), np.nan)
    count = np.zeros((n, nt))
    vfrac = np.zeros((n, nt))
    observed = np.zeros((n, nt), bool)
    item_id = np.full((n, nt), "", dtype=object)
    covered = np.zeros(n, bool)
    for r in good:
        t = day_pos[r.day]
        pi = r.plot_index
        covered[pi] = True
        # keep the scene with most clear area per plot-day (the first observing one if none is clear)
        better = r.observed & ((r.count > count[pi, t]) | ~observed[pi, t])
        rows = pi[better]
        mean[:, rows, t] = r.mean[better].T
        count[rows, t] = r.count[better]
        vfrac[rows, t] = r.valid_fraction[better]
        item_id[rows, t] = r.item_id
        observed[pi[r.observed], t] = True
    return mean, count, vfrac, observed, item_id, covered


NOT_COVERED_SHOWN = 10
"""Plot ids a :class:`PlotNotCoveredWarning` names (the first ones; it counts them all)."""


def not_covered_message(n: int, first_ids, n_used: int, used_extent: str, plots_extent: str) -> str:
    """The text of the :class:`PlotNotCoveredWarning` for ``n`` plots outside every footprint of
    the ``n_used`` scenes used."""
    more = " ..." if n > len(first_ids) else ""
    return (
        f"{n} plot(s) lie outside every scene footprint, their series are NaN: "
        f"{list(first_ids)}{more}. The footprints of the {n_used} scene(s) used span {used_extent}; these "
        f"plots span {plots_extent} (EPSG:4326). Widen the search (dates, "
        "collections) or check the plots' location (and their CRS if the extents are far apart)"
    )


def series_epsg(plots_4326) -> int:
    """The UTM zone of the plots' centre, where their centroids are taken (the one zone rule,
    :mod:`geodata.area`)."""
    x0, y0, x1, y1 = plots_4326.total_bounds
    return int(utm_epsg((x0 + x1) / 2, (y0 + y1) / 2))


def _assemble(
    plots, plots_4326, results, bands, indices, mask, min_valid_fraction, source, by_id
) -> xr.Dataset:
    n = len(plots)
    good = _good(results)
    skipped = [r for r in results if r.problem]
    days, times = _days(good)
    mean, count, vfrac, observed, item_id, covered = _plot_arrays(n, good, days, len(bands) + len(indices))
    not_covered = plots["plot_id"].to_numpy()[~covered]
    if len(not_covered):
        used = {r.item_id for r in good}
        warnings.warn(
            PlotNotCoveredWarning(
                not_covered_message(
                    len(not_covered),
                    not_covered[:NOT_COVERED_SHOWN],
                    len(used),
                    _extent([by_id[i].geometry for i in sorted(used)]),
                    _extent(plots_4326.values[~covered]),
                )
            ),
            stacklevel=3,
        )
    ds = series_dataset(
        plots["plot_id"].to_numpy(),
        plots_4326,
        series_epsg(plots_4326) if n else None,
        times,
        (mean, count, vfrac, observed, item_id),
        bands,
        indices,
        min_valid_fraction,
    )
    ds.attrs.update(
        {"usable_plot_dates": int(ds["usable"].sum()), "observed_plot_dates": int(ds["observed"].sum())}
        | series_attrs(good, skipped, len(results), mask, min_valid_fraction, source)
    )
    return ds


def series_dataset(
    plot_ids, plots_4326, epsg, times, arrays, bands, indices, min_valid_fraction
) -> xr.Dataset:
    """The Dataset(plot, time) of the plots' arrays (:func:`_plot_arrays`), without the
    scene-level ``attrs`` (:func:`series_attrs`): a subset of plots gets the rows it has in the
    whole. ``epsg``: the UTM zone of the centroids (:func:`series_epsg` of all the plots)."""
    mean, count, vfrac, observed, item_id = arrays
    names = list(bands) + list(indices)
    usable = observed & (vfrac >= min_valid_fraction) & (count > 0)
    mean = np.where(usable[None], mean, np.nan)
    vfrac = np.where(observed, vfrac, np.nan)
    count = np.where(observed, count, np.nan)
    centroids = plots_4326.to_crs(epsg=epsg).centroid.to_crs(4326) if len(plot_ids) else plots_4326
    coords = {
        "plot": ("plot", np.asarray(plot_ids)),
        "time": ("time", times),
        "lon": ("plot", centroids.x.to_numpy(), {"units": "degrees_east", "standard_name": "longitude"}),
        "lat": ("plot", centroids.y.to_numpy(), {"units": "degrees_north", "standard_name": "latitude"}),
    }
    data_vars = {}
    for k, name in enumerate(names):
        if name in INDEX_ATTRS:
            attrs = dict(INDEX_ATTRS[name])
            attrs["cell_methods"] = "area: mean of per-pixel index (coverage-weighted, clear pixels)"
        else:
            attrs = {
                "units": "1",
                "long_name": f"surface reflectance {BAND_NAMES.get(name, name)} ({name})",
                "cell_methods": "area: mean (coverage-weighted, clear pixels)",
            }
        data_vars[name] = (("plot", "time"), mean[k], attrs)
    data_vars["observed"] = (
        ("plot", "time"),
        observed,
        {
            "units": "1",
            "long_name": "a scene covered the plot on that day",
            "comment": "a used scene's footprint meets the plot and some of its pixels hold data, clear or not",
        },
    )
    data_vars["valid_fraction"] = (
        ("plot", "time"),
        vfrac,
        {
            "units": "1",
            "long_name": "coverage-weighted fraction of the plot area with clear data",
            "comment": "0: observed but no clear pixel (cloudy); NaN: not observed",
        },
    )
    data_vars["count"] = (
        ("plot", "time"),
        count,
        {
            "units": "1",
            "long_name": "sum of coverage fractions of clear 10 m pixels (exactextract 'count')",
            "comment": "0: observed but no clear pixel (cloudy); NaN: not observed",
        },
    )
    data_vars["usable"] = (
        ("plot", "time"),
        usable,
        {"units": "1", "long_name": f"observed, valid_fraction >= {min_valid_fraction} and count > 0"},
    )
    data_vars["item_id"] = (
        ("plot", "time"),
        item_id.astype(str),
        {"units": "1", "long_name": "STAC item the plot-date value comes from ('' if not observed)"},
    )
    ds = xr.Dataset(data_vars, coords=coords)
    ds["time"].attrs["long_name"] = "earliest acquisition time of the UTC day"
    return ds


def series_attrs(good, skipped, n_found: int, mask, min_valid_fraction, source) -> dict:
    """The scene-level ``attrs`` of the series (without the plot-date counts, which are sums over
    the plots); ``n_found``: the scenes the search found."""
    counts, phrases = _skip_summary(skipped)
    negative = {
        r.item_id: round(r.negative[0], 6) for r in good if r.negative is not None and r.negative[0] > 0
    }
    return {
        "min_valid_fraction": float(min_valid_fraction),
        "scl_keep_classes": list(mask.keep_classes),
        "source": str(source),
        "n_scenes": len(good),
        "n_scenes_found": n_found,
        "skipped_scenes": json.dumps(
            {"n_skipped": len(skipped), "by_reason": counts, "summary": "; ".join(phrases)},
            sort_keys=True,
        ),
        "negative_reflectance_share": json.dumps(dict(sorted(negative.items()))),
        "negative_reflectance_tolerance": NEGATIVE_REFLECTANCE_TOLERANCE,
        "negative_reflectance_max_share": NEGATIVE_REFLECTANCE_MAX_SHARE,
        "index_definition": "coverage-weighted mean over clear pixels of the per-pixel index",
        "resampling_20m": "nearest neighbour by pixel centre onto the 10 m grid",
        "attribution": "Contains modified Copernicus Sentinel data",
    }
