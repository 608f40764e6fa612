"""The imagery stage's figures: counts over a plot series (whole or one chunk), their sum over
chunks, and the stage's summary from the counts and the series' scene-level ``attrs``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

import xarray as xr

__all__ = ["ImageryCounts", "imagery_counts", "imagery_summary"]


@dataclasses.dataclass(frozen=True)
class ImageryCounts:
    """Counts of a series' plots and plot-dates (definitions in :mod:`geodata.pipeline`)."""

    plots: int
    dates: int
    usable_plot_dates: int
    plots_with_usable_dates: int
    observed_plot_dates: int
    observed_without_clear_pixels: int
    plots_never_observed: int

    def __add__(self, other: ImageryCounts) -> ImageryCounts:
        """Counts of two sets of plots with the same dates."""
        if self.dates != other.dates:
            raise ValueError(f"series with {self.dates} and {other.dates} dates cannot be added")
        return ImageryCounts(
            *(
                getattr(self, f.name) + getattr(other, f.name) if f.name != "dates" else self.dates
                for f in dataclasses.fields(self)
            )
        )

    @staticmethod
    def total(counts: Iterable[ImageryCounts]) -> ImageryCounts:
        it = iter(counts)
        out = next(it)
        for c in it:
            out = out + c
        return out


def imagery_counts(ds: xr.Dataset) -> ImageryCounts:
    """The counts of a ``Dataset(plot, time)`` of :func:`geodata.pipeline.plot_time_series`."""
    usable = ds["usable"].values
    observed = ds["observed"].values
    clear = ds["count"].values
    return ImageryCounts(
        plots=int(ds.sizes.get("plot", 0)),
        dates=int(ds.sizes.get("time", 0)),
        usable_plot_dates=int(usable.sum()),
        plots_with_usable_dates=int(usable.any(axis=1).sum()),
        observed_plot_dates=int(observed.sum()),
        observed_without_clear_pixels=int((observed & (clear == 0)).sum()),
        plots_never_observed=int((~observed.any(axis=1)).sum()),
    )


def imagery_summary(
    search: dict[str, Any], attrs: Mapping[str, Any], counts: ImageryCounts
) -> dict[str, Any]:
    """The ``imagery`` section of ``summary.json``: the search, scenes, dates and plot-date counts,
    and the skipped scenes and the scenes' shares of negative reflectance from the series' ``attrs``."""
    summary: dict[str, Any] = {
        "search": search,
        "scenes": int(attrs.get("n_scenes", counts.dates)),
        "dates": counts.dates,
        "plot_dates": counts.plots * counts.dates,
        "usable_plot_dates": counts.usable_plot_dates,
        "plots_with_usable_dates": counts.plots_with_usable_dates,
        "observed_plot_dates": counts.observed_plot_dates,
        "observed_without_clear_pixels": counts.observed_without_clear_pixels,
        "plots_never_observed": counts.plots_never_observed,
    }
    for key in ("skipped_scenes", "negative_reflectance_share"):
        if key in attrs:
            value = attrs[key]
            summary[key] = json.loads(value) if isinstance(value, str) else value
    return summary
