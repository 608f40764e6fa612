"""Plot area [ha] in the plot's own WGS 84 UTM zone, and the UTM zone of a point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geodata.crs import project_to_utm

__all__ = ["utm_epsg", "area_ha"]


def utm_epsg(lon: Any, lat: Any) -> np.ndarray:
    """EPSG code of the WGS 84 UTM zone holding each point.

    Zone = floor((lon + 180) / 6) + 1; EPSG 32600 + zone north of the equator, 32700 + zone
    south (the Norway/Svalbard exceptions do not matter in China).

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude [degree].

    Returns
    -------
    numpy.ndarray of int

    Examples
    --------
    >>> int(utm_epsg(124.3, 43.4))  # Lishu county, Jilin
    32651
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    zone = np.clip(np.floor((lon + 180.0) / 6.0).astype(int) + 1, 1, 60)
    return np.where(lat >= 0, 32600, 32700) + zone


def area_ha(geoms_wgs84: Sequence[BaseGeometry] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Planar area of each geometry in its own UTM zone [ha].

    Parameters
    ----------
    geoms_wgs84 : array of shapely geometries in EPSG:4326 (lon/lat)

    Returns
    -------
    area : numpy.ndarray
        Area [ha] (1 ha = 10,000 m2).
    epsg : numpy.ndarray of int
        UTM zone used per geometry (from the centroid).

    Notes
    -----
    The UTM point scale factor is 0.9996 on the central meridian and about 1.0010 at the zone
    edge, so areas carry at most about 0.2 % distortion [1]_.

    References
    ----------
    .. [1] J. P. Snyder, "Map Projections - A Working Manual", U.S. Geological Survey
       Professional Paper 1395, 1987, pp. 57-64. doi:10.3133/pp1395
    """
    geoms = np.asarray(geoms_wgs84, dtype=object)
    centroids = shapely.centroid(geoms)
    epsg = utm_epsg(shapely.get_x(centroids), shapely.get_y(centroids))
    utm = project_to_utm(geoms, epsg)
    return shapely.area(utm) / 10_000.0, epsg
