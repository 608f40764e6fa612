"""A re-uploaded plot set that moved as a whole: the common shift and whether it is the GCJ-02 offset.

A re-upload that moves (nearly) all stored plots by one vector longer than :data:`SHIFT_MIN_M` is
an error for the file as a whole (:func:`detect_set_shift`), named as the GCJ-02 offset of
Chinese map apps when it is that (:mod:`geodata.gcj02`); :func:`shift_message` words it for
:func:`geodata.plots.check_plot_geometries`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyproj

from geodata.gcj02 import gcj02_offset

__all__ = [
    "SHIFT_MIN_M",
    "SHIFT_MIN_PLOTS",
    "SHIFT_AGREEMENT",
    "SHIFT_SPREAD_M",
    "GCJ02_MATCH_M",
    "SetShift",
    "compass_direction",
    "detect_set_shift",
    "shift_message",
]

SHIFT_MIN_M = 30.0
"""A re-uploaded plot set that moved as a whole by more than this [m] is rejected (a service
choice: re-digitising the same boundary moves it by metres, a datum or map-app offset by tens
to hundreds of metres)."""
SHIFT_MIN_PLOTS = 3
"""Stored plots a re-upload must repeat before a common shift is judged [1] (with one or two
plots a common vector says nothing about the set)."""
SHIFT_AGREEMENT = 0.9
"""Share of the repeated plots that must have moved by the common vector [1] ("nearly all")."""
SHIFT_SPREAD_M = 15.0
"""A plot moved "by the common vector" when its shift lies within this [m], or within 15 % of
the common shift if that is more, of the median shift (the GCJ-02 offset itself varies by about
+-25 m across a county, see :mod:`geodata.gcj02`)."""
GCJ02_MATCH_M = 25.0
"""A common shift is named the GCJ-02 offset when the median distance [m] between each plot's
shift and the GCJ-02 offset at that plot is below this (digitising on a map app adds metres)."""


_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def compass_direction(east: float, north: float) -> str:
    """The 8-point compass name of a shift (``north-east`` ...)."""
    bearing = float(np.degrees(np.arctan2(east, north))) % 360.0
    return _COMPASS[int((bearing + 22.5) // 45.0) % 8]


@dataclasses.dataclass(frozen=True)
class SetShift:
    """The common shift of re-uploaded plots against their stored boundaries."""

    n_common: int
    """Plots of the upload that are already stored (and valid in both) [1]."""
    n_moved: int
    """Of these, the plots that moved by the common vector [1]."""
    east_m: float
    """Median shift towards the east [m] (negative: west)."""
    north_m: float
    """Median shift towards the north [m] (negative: south)."""
    gcj02: str | None
    """``"to_gcj02"`` when the shift is the GCJ-02 offset (the new file is in GCJ-02),
    ``"from_gcj02"`` when it is the offset reversed (the stored plots were GCJ-02), else None."""
    gcj02_east_m: float = float("nan")
    """Median GCJ-02 offset at the plots, east [m]."""
    gcj02_north_m: float = float("nan")
    """Median GCJ-02 offset at the plots, north [m]."""

    @property
    def distance_m(self) -> float:
        """Length of the common shift [m]."""
        return float(np.hypot(self.east_m, self.north_m))

    @property
    def direction(self) -> str:
        """Compass direction of the common shift."""
        return compass_direction(self.east_m, self.north_m)

    @property
    def whole_set(self) -> bool:
        """True when (nearly) all repeated plots moved alike by more than :data:`SHIFT_MIN_M`."""
        return (
            self.n_common >= SHIFT_MIN_PLOTS
            and self.n_moved >= SHIFT_AGREEMENT * self.n_common
            and self.distance_m > SHIFT_MIN_M
        )


def _east_north(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray):
    az, _, dist = pyproj.Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    az = np.radians(np.asarray(az, dtype=float))
    dist = np.asarray(dist, dtype=float)
    return dist * np.sin(az), dist * np.cos(az)


def detect_set_shift(old_lon: Any, old_lat: Any, new_lon: Any, new_lat: Any) -> SetShift:
    """How far and how uniformly plots moved between their stored and uploaded boundaries.

    Parameters
    ----------
    old_lon, old_lat : array_like
        Centroids of the stored plots [degree, EPSG:4326].
    new_lon, new_lat : array_like
        Centroids of the same plots in the upload, in the same order [degree, EPSG:4326].

    Returns
    -------
    SetShift
        The median east/north shift [m], how many plots moved by it (within
        :data:`SHIFT_SPREAD_M` or 15 % of it), and whether it is the GCJ-02 offset of Chinese map
        apps (:func:`geodata.gcj02.gcj02_offset`) or that offset reversed, judged per plot within
        :data:`GCJ02_MATCH_M`. :attr:`SetShift.whole_set` says whether it is an error.
    """
    old_lon, old_lat = np.asarray(old_lon, dtype=float), np.asarray(old_lat, dtype=float)
    new_lon, new_lat = np.asarray(new_lon, dtype=float), np.asarray(new_lat, dtype=float)
    n = len(old_lon)
    if n == 0:
        return SetShift(0, 0, 0.0, 0.0, None)
    east, north = _east_north(old_lon, old_lat, new_lon, new_lat)
    me, mn = float(np.median(east)), float(np.median(north))
    spread = max(SHIFT_SPREAD_M, 0.15 * float(np.hypot(me, mn)))
    moved = int(np.count_nonzero(np.hypot(east - me, north - mn) <= spread))
    ge, gn = gcj02_offset(old_lon, old_lat)
    gcj = None
    if float(np.median(np.hypot(east - ge, north - gn))) < GCJ02_MATCH_M:
        gcj = "to_gcj02"
    elif float(np.median(np.hypot(east + ge, north + gn))) < GCJ02_MATCH_M:
        gcj = "from_gcj02"
    return SetShift(n, moved, me, mn, gcj, float(np.median(ge)), float(np.median(gn)))


def shift_message(shift: SetShift, crs_name: str) -> tuple[str, str]:
    """``(message, fix)`` of the file-level error for a plot set that moved as a whole."""
    moved = (
        f"all {shift.n_common}"
        if shift.n_moved == shift.n_common
        else f"{shift.n_moved} of the {shift.n_common}"
    )
    head = (
        f"{moved} plots already stored moved as a whole by {shift.distance_m:.0f} m towards the "
        f"{shift.direction} (east {shift.east_m:+.0f} m, north {shift.north_m:+.0f} m) from their "
        f"stored boundaries; re-digitising moves a boundary by metres, not the whole set alike"
    )
    offset = f"(east {shift.gcj02_east_m:+.0f} m, north {shift.gcj02_north_m:+.0f} m here)"
    if shift.gcj02 == "to_gcj02":
        message = (
            f"{head}. The shift is the GCJ-02 offset of Chinese map apps {offset}: this file holds "
            "GCJ-02 (火星坐标) coordinates, e.g. digitised on Amap/Tencent/Google Maps China, not "
            f"{crs_name}"
        )
        fix = (
            "convert the file from GCJ-02 to WGS-84 (EPSG:4326) or CGCS2000 (EPSG:4490) before "
            "uploading, or digitise the plots on imagery in WGS-84/CGCS2000"
        )
    elif shift.gcj02 == "from_gcj02":
        message = (
            f"{head}. The shift is the GCJ-02 offset of Chinese map apps reversed {offset}: the "
            "stored plots look like GCJ-02 (火星坐标) coordinates and this file like WGS-84/CGCS2000"
        )
        fix = (
            "if this file is right, the stored plots were GCJ-02: ask the project administrator to "
            "remove them, then upload this file; otherwise convert this file to WGS-84/CGCS2000"
        )
    else:
        message = head
        fix = (
            f"check the file's CRS (it says {crs_name}) and datum, or whether the file was shifted in "
            "editing; if the stored boundaries are the wrong ones, ask the project administrator to "
            "remove them before uploading the corrected set"
        )
    return message, fix
