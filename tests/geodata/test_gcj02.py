"""GCJ-02 forward transform against published reference pairs, and the plot-set shift detector."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from geodata.gcj02 import GCJ02_BOUNDS, gcj02_offset, wgs84_to_gcj02
from geodata.plots import SHIFT_MIN_M, compass_direction, detect_set_shift

# WGS-84 -> GCJ-02 reference pairs (lat, lon, gcj_lat, gcj_lon) from googollee/eviltransform,
# go/transform_test.go (BSD 2-Clause): Shanghai, Shenzhen, Beijing. Its test compares at 5
# decimals; the digits given are those of the same float64 algorithm, which ours reproduces.
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize(("lat", "lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_PAIRS)
def test_forward_transform_matches_published_pairs(lat, lon, gcj_lat, gcj_lon):
    got_lon, got_lat = wgs84_to_gcj02(lon, lat)
    # 1e-9 degree is ~0.1 mm; the published 5-decimal comparison is ~1 m
    assert float(got_lon) == pytest.approx(gcj_lon, abs=1e-9)
    assert float(got_lat) == pytest.approx(gcj_lat, abs=1e-9)


def test_vectorised_and_identity_outside_china():
    lat, lon, gcj_lat, gcj_lon = np.array(EVILTRANSFORM_PAIRS).T
    got_lon, got_lat = wgs84_to_gcj02(np.append(lon, 10.0), np.append(lat, 50.0))  # + Germany
    assert got_lon[:3] == pytest.approx(gcj_lon, abs=1e-9) and got_lat[:3] == pytest.approx(gcj_lat, abs=1e-9)
    assert (got_lon[3], got_lat[3]) == (10.0, 50.0)  # outside GCJ02_BOUNDS: unchanged
    assert GCJ02_BOUNDS[0] < 73.0 and GCJ02_BOUNDS[2] > 135.0


def test_offset_in_metres_near_lishu():
    # ~590 m towards the east-north-east at Lishu (Jilin); the offset is 100-700 m across China
    east, north = gcj02_offset(124.4, 43.4)
    assert 400 < float(east) < 600 and 200 < float(north) < 400
    # the same in metres from the degrees, by an independent route (UTM 51N)
    glon, glat = wgs84_to_gcj02(124.4, 43.4)
    t = pyproj.Transformer.from_crs(4326, 32651, always_xy=True)
    (x0, x1), (y0, y1) = t.transform([124.4, float(glon)], [43.4, float(glat)])
    assert float(np.hypot(east, north)) == pytest.approx(np.hypot(x1 - x0, y1 - y0), rel=2e-3)


def test_compass_direction():
    assert compass_direction(0.0, 10.0) == "north"
    assert compass_direction(10.0, 10.0) == "north-east"
    assert compass_direction(-10.0, 0.0) == "west"
    assert compass_direction(-3.0, -10.0) == "south"


def _cluster(n=20, seed=1):
    rng = np.random.default_rng(seed)
    return 124.4 + rng.uniform(-0.2, 0.2, n), 43.4 + rng.uniform(-0.2, 0.2, n)


def test_detect_set_shift_names_gcj02_both_ways():
    lon, lat = _cluster()
    glon, glat = wgs84_to_gcj02(lon, lat)
    fwd = detect_set_shift(lon, lat, glon, glat)  # stored WGS-84, upload GCJ-02
    assert fwd.whole_set and fwd.gcj02 == "to_gcj02" and fwd.n_moved == fwd.n_common == 20
    assert 500 < fwd.distance_m < 700 and fwd.direction in ("east", "north-east")
    back = detect_set_shift(glon, glat, lon, lat)  # stored GCJ-02, upload WGS-84
    assert back.whole_set and back.gcj02 == "from_gcj02"


def test_detect_set_shift_other_vector_and_noise():
    lon, lat = _cluster()
    t = pyproj.Transformer.from_crs(4326, 32651, always_xy=True)
    back = pyproj.Transformer.from_crs(32651, 4326, always_xy=True)
    x, y = t.transform(lon, lat)
    moved = back.transform(x, y - 120.0)  # 120 m south: a datum or editing shift, not GCJ-02
    r = detect_set_shift(lon, lat, *moved)
    assert r.whole_set and r.gcj02 is None and r.direction == "south"
    assert r.distance_m == pytest.approx(120.0, abs=1.0)
    rng = np.random.default_rng(2)
    noisy = back.transform(x + rng.normal(0, 3, len(x)), y + rng.normal(0, 3, len(y)))  # re-digitised
    r = detect_set_shift(lon, lat, *noisy)
    assert not r.whole_set and r.distance_m < SHIFT_MIN_M
    # one plot moved on its own (a corrected boundary) is no set shift
    one = back.transform(np.where(np.arange(len(x)) == 0, x + 300, x), y)
    assert not detect_set_shift(lon, lat, *one).whole_set
