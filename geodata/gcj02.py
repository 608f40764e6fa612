"""The GCJ-02 forward transform (WGS-84 to the obfuscated coordinates of Chinese map apps).

Chinese regulations require consumer map services in mainland China (AutoNavi/Amap, Tencent,
Google Maps China; Baidu adds its own BD-09 step on top) to show coordinates in GCJ-02
("地形图非线性保密处理算法", the "Mars" coordinates), an obfuscation of WGS-84 that moves
points by roughly 100-700 m, smoothly varying from place to place. A plot digitised on such an
app, or copied from its "share location" link, is off by that offset. The service does not
accept GCJ-02 (DESIGN.md); it uses this transform only to *recognise* the offset in an upload
and tell the user to convert the file to WGS-84 or CGCS2000.

The algorithm is not published officially. The open implementations all follow one leaked
routine: a polynomial-plus-sine series in (lon - 105, lat - 35) gives the offset in metres,
which is turned into degrees with the radii of curvature of the Krasovsky 1940 ellipsoid
(a = 6378245.0 m, e^2 = 0.00669342162296594323) [1]_ [2]_. Outside a rectangle around China
the transform is the identity.

References
----------
.. [1] Googol Lee et al., "eviltransform: transform coordinate between earth (WGS-84) and mars
   in china (GCJ-02)", https://github.com/googollee/eviltransform (BSD 2-Clause licence),
   ``go/transform.go`` (functions ``transform``, ``delta``, ``outOfChina``, ``WGStoGCJ``);
   the reference pairs used in our tests come from its ``go/transform_test.go``.
.. [2] Wikipedia, "Restrictions on geographic data in China", section "Coordinate systems"
   (GCJ-02, its Krasovsky ellipsoid parameters and the open implementations).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["KRASOVSKY_A", "KRASOVSKY_E2", "GCJ02_BOUNDS", "wgs84_to_gcj02", "gcj02_offset"]

KRASOVSKY_A = 6378245.0
"""Semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02 [m]."""
KRASOVSKY_E2 = 0.00669342162296594323
"""First eccentricity squared of the Krasovsky 1940 ellipsoid [1]."""
GCJ02_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)
"""(lon_min, lat_min, lon_max, lat_max) [degree] inside which the transform applies; outside it
GCJ-02 equals WGS-84 (``outOfChina`` of [1]_ in the module docstring)."""


def _series(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two offset series [m] at x = lon - 105, y = lat - 35 [degree]: (d_lat, d_lon)."""
    xy = x * y
    abs_x = np.sqrt(np.abs(x))
    x_pi = x * np.pi
    y_pi = y * np.pi
    d = 20.0 * np.sin(6.0 * x_pi) + 20.0 * np.sin(2.0 * x_pi)
    lat = d + 20.0 * np.sin(y_pi) + 40.0 * np.sin(y_pi / 3.0)
    lon = d + 20.0 * np.sin(x_pi) + 40.0 * np.sin(x_pi / 3.0)
    lat = lat + 160.0 * np.sin(y_pi / 12.0) + 320.0 * np.sin(y_pi / 30.0)
    lon = lon + 150.0 * np.sin(x_pi / 12.0) + 300.0 * np.sin(x_pi / 30.0)
    lat = lat * (2.0 / 3.0) + (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * abs_x)
    lon = lon * (2.0 / 3.0) + (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * abs_x)
    return lat, lon


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 coordinates of WGS-84 points (the forward obfuscation).

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude [degree].

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude [degree]; equal to the input outside
        :data:`GCJ02_BOUNDS`.

    Notes
    -----
    With x = lon - 105 and y = lat - 35 the series of [1]_ give offsets (d_lat, d_lon) [m]; they
    become degrees through the meridional radius M = a (1 - e^2) / (1 - e^2 sin^2 lat)^1.5 and
    the prime-vertical radius N = a / (1 - e^2 sin^2 lat)^0.5 of the Krasovsky ellipsoid:
    d_lat [deg] = d_lat * 180 / (pi M), d_lon [deg] = d_lon * 180 / (pi N cos lat).

    References
    ----------
    .. [1] googollee/eviltransform, ``go/transform.go`` (BSD 2-Clause); see the module docstring.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.377817, 39.911954)  # Beijing, eviltransform's test point
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.384047, 39.913345)
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    d_lat, d_lon = _series(lon - 105.0, lat - 35.0)
    rad_lat = np.radians(lat)
    magic = 1.0 - KRASOVSKY_E2 * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_E2)) / (magic * sqrt_magic) * np.pi)
    d_lon = d_lon * 180.0 / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    lon_min, lat_min, lon_max, lat_max = GCJ02_BOUNDS
    inside = (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
    return np.where(inside, lon + d_lon, lon), np.where(inside, lat + d_lat, lat)


def gcj02_offset(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset at WGS-84 points as a local east/north shift [m].

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude [degree].

    Returns
    -------
    east, north : numpy.ndarray
        How far the GCJ-02 position lies east and north of the WGS-84 one [m], measured on the
        WGS 84 ellipsoid (pyproj.Geod); zero outside :data:`GCJ02_BOUNDS`.
    """
    import pyproj

    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    glon, glat = wgs84_to_gcj02(lon, lat)
    geod = pyproj.Geod(ellps="WGS84")
    az, _, dist = geod.inv(lon, lat, glon, glat)
    az = np.radians(np.asarray(az, dtype=float))
    dist = np.asarray(dist, dtype=float)
    return dist * np.sin(az), dist * np.cos(az)
