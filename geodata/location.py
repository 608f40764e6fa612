"""Where a plot lies: inside China, with swapped axes, or how far from the project's region centre."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyproj

__all__ = ["CHINA_BOUNDS", "in_china", "looks_swapped", "distance_km"]

CHINA_BOUNDS = (73.0, 18.0, 135.5, 54.0)
"""Envelope of mainland China (lon_min, lat_min, lon_max, lat_max) [degree]; plots outside it
are rejected (the service covers China only). A point whose x lies in the latitude range and
y in the longitude range is recognised as swapped axes (:func:`looks_swapped`)."""


def in_china(lon: Any, lat: Any) -> np.ndarray:
    """True where a point lies inside :data:`CHINA_BOUNDS` (longitude/latitude [degree])."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def looks_swapped(x: Any, y: Any) -> np.ndarray:
    """True where (x, y) reads as (latitude, longitude) of a place in China.

    x within China's latitude range and y within its longitude range (:data:`CHINA_BOUNDS`): the
    two ranges do not overlap (18-54 vs 73-135.5 degree), so such a point cannot be a longitude/
    latitude pair in China but is one with the axes swapped.
    """
    return in_china(y, x)


def distance_km(lon: Any, lat: Any, lon0: float, lat0: float) -> np.ndarray:
    """Geodesic distance [km] on the WGS 84 ellipsoid from (lon0, lat0) to each point (pyproj.Geod)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(
        np.full(lon.shape, float(lon0)), np.full(lat.shape, float(lat0)), lon, lat
    )
    return np.asarray(dist, dtype=float) / 1000.0
