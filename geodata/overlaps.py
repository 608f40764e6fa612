"""Overlaps between plots: pairs overlapping by more than a tolerance (STRtree bulk query)."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["OVERLAP_FRACTION_TOLERANCE", "OVERLAP_AREA_TOLERANCE_M2", "find_overlaps"]

OVERLAP_FRACTION_TOLERANCE = 0.01
"""Overlap tolerated between two plots as a fraction of the smaller one [1] (digitising noise)."""
OVERLAP_AREA_TOLERANCE_M2 = 10.0
"""Overlap tolerated between two plots regardless of their size [m2] (digitising noise)."""


def find_overlaps(
    geoms_metric: np.ndarray,
    *,
    fraction_tolerance: float = OVERLAP_FRACTION_TOLERANCE,
    area_tolerance_m2: float = OVERLAP_AREA_TOLERANCE_M2,
    candidates: np.ndarray | None = None,
) -> list[tuple[int, int, float, float]]:
    """Pairs of polygons that overlap by more than a tolerance.

    Uses an STRtree bulk query (``predicate="intersects"``), then computes the intersection
    areas of the candidate pairs in one vectorised call, so the cost grows with n log n plus the
    number of touching pairs, not n squared.

    Parameters
    ----------
    geoms_metric : array of polygons in a metric CRS [m]
    fraction_tolerance : float
        Overlap above this fraction of the smaller polygon [1] is reported.
    area_tolerance_m2 : float
        Overlap above this area [m2] is reported.
    candidates : boolean array, optional
        Only pairs with at least one ``True`` member are reported (e.g. the new plots when the
        array also holds plots already stored).

    Returns
    -------
    list of (i, j, overlap_m2, fraction_of_smaller) with i < j
    """
    geoms = np.asarray(geoms_metric, dtype=object)
    present = ~shapely.is_missing(geoms)
    idx = np.flatnonzero(present)
    if len(idx) < 2:
        return []
    tree = shapely.STRtree(geoms[idx])
    left, right = tree.query(geoms[idx], predicate="intersects")
    keep = left < right
    i, j = idx[left[keep]], idx[right[keep]]
    if candidates is not None:
        cand = np.asarray(candidates, dtype=bool)
        sel = cand[i] | cand[j]
        i, j = i[sel], j[sel]
    if len(i) == 0:
        return []
    inter = shapely.area(shapely.intersection(geoms[i], geoms[j]))
    smaller = np.minimum(shapely.area(geoms[i]), shapely.area(geoms[j]))
    frac = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    bad = (inter > area_tolerance_m2) | (frac > fraction_tolerance)
    return [
        (int(a), int(b), float(x), float(f))
        for a, b, x, f in zip(i[bad], j[bad], inter[bad], frac[bad], strict=True)
    ]
