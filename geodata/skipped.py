"""Skipped scenes in words: counts by reason, the fixes, and the error when no scene gives data.

Used by :func:`geodata.pipeline.plot_time_series` for ``attrs["skipped_scenes"]`` of its result
(:mod:`geodata.dataset`) and for the :class:`~geodata.errors.ImageryUnavailableError` that stops a
run in which every scene was skipped or none covers a plot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

from geodata.errors import ImageryUnavailableError
from geodata.items import ParsedItem
from geodata.scenes import _SceneResult
from geodata.stac import SearchSummary


def _extent(geoms) -> str:
    """``lon a..b, lat c..d`` of EPSG:4326 geometries [degree]."""
    b = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return f"lon {b[0]:.4f}..{b[2]:.4f}, lat {b[1]:.4f}..{b[3]:.4f}"


_REASON_ORDER = {"no_scl": 1, "unreadable": 2, "crs": 3, "error": 4}


def _skip_summary(skipped: Sequence[_SceneResult]) -> tuple[dict[str, int], list[str]]:
    """Counts of skipped scenes by reason key, and the reasons in words (aggregated over items)."""
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for r in skipped:
        for key, detail in dict(r.reasons).items():  # one count per item and reason
            counts[key] += 1
            first.setdefault(key, detail)
    phrases = []
    for key in sorted(counts, key=lambda k: (_REASON_ORDER.get(k, 0), k)):
        n = counts[key]
        items = f"{n} item{'s' if n != 1 else ''}"
        if key.startswith("band:"):
            phrases.append(f"band {key[5:]!r} missing in {items} (asset keys: {first[key]})")
        elif key == "no_scl":
            phrases.append(f"no SCL asset in {items} (asset keys: {first[key]})")
        elif key == "unreadable":
            phrases.append(f"{items} with unreachable or unreadable hrefs (first: {first[key]})")
        elif key == "crs":
            phrases.append(f"{items} with a CRS problem (first: {first[key]})")
        else:
            phrases.append(f"{items} failed (first: {first[key]})")
    keys = {k.replace("band:", "missing_band:"): n for k, n in counts.items()}
    return dict(sorted(keys.items())), phrases


def _fixes(counts: dict[str, int]) -> str:
    fixes = []
    if any(k.startswith("missing_band:") for k in counts):
        fixes.append("choose bands the catalog holds (bands=, indices=) or fix the items")
    if "no_scl" in counts:
        fixes.append("pass require_scl=False to use scenes without SCL unmasked")
    if "unreadable" in counts:
        fixes.append("check the hrefs, the network and URL signing (modifier=)")
    if "crs" in counts:
        fixes.append("fix the items' proj:epsg/proj:code or the files")
    return "; ".join(fixes) if fixes else "check the catalog"


def _nothing_usable_error(
    items: Sequence[ParsedItem],
    results: Sequence[_SceneResult],
    summary: SearchSummary,
    plots_4326: gpd.GeoSeries,
) -> ImageryUnavailableError:
    skipped = [r for r in results if r.problem]
    n = len(results)
    counts, phrases = _skip_summary(skipped)
    no_plot = n - len(skipped)
    extents = (
        f"footprints {_extent([it.geometry for it in items])}; plots {_extent(plots_4326.values)} (EPSG:4326)"
    )
    if len(skipped) == n:
        head = (f"all {n} scenes were skipped: " if n > 1 else "the only scene was skipped: ") + "; ".join(
            phrases
        )
    elif not skipped:
        head = f"none of the {n} scene(s) found covers any plot ({extents})"
    else:
        head = (
            f"no scene gave data for the plots: {len(skipped)} of {n} scenes were skipped: "
            + "; ".join(phrases)
            + f"; the other {no_plot} cover none of the plots ({extents})"
        )
    dropped = summary.explain()
    if dropped:
        head += f"; the search also left out {dropped}"
    fix = _fixes(counts) if skipped else "check the plots' location and CRS, or widen the search"
    return ImageryUnavailableError(f"{head} (source {summary.source!r}). To fix: {fix}")
