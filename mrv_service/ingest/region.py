"""The project's region: the centre and the distance that plots and soil samples must keep to it."""

from __future__ import annotations

import math
from typing import Any

from mrv_service.project_settings import effective_settings

__all__ = ["project_region"]


def project_region(project: Any) -> tuple[tuple[float, float] | None, float]:
    """The project's region centre and the largest distance of a plot or sample from it.

    Returns
    -------
    centre : (lon, lat) or None
        ``region.lon``/``region.lat`` of ``project.json`` [degree, EPSG:4326]; None when absent
        or not a usable longitude/latitude (then no distance is checked).
    max_distance_km : float
        The project setting ``plots.max_distance_km`` [km] (default 60 km).
    """
    max_km = float(effective_settings(project.settings)["plots.max_distance_km"])
    region = project.region
    if not isinstance(region, dict):
        return None, max_km
    try:
        lon, lat = float(region["lon"]), float(region["lat"])
    except (KeyError, TypeError, ValueError):
        return None, max_km
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        return None, max_km
    return (lon, lat), max_km
