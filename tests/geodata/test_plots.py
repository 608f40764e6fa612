"""Plot geometry checks: CRS, repair, area in UTM, overlaps."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from shapely import Polygon, box

from geodata.errors import CRSError
from geodata.plots import (
    area_ha,
    check_crs,
    check_plot_geometries,
    find_overlaps,
    to_wgs84,
    utm_epsg,
)

# UTM zone 51N near Lishu county, Jilin (about 124.4 E, 43.4 N)
X0, Y0 = 613_000.0, 4_806_000.0


def test_utm_zone_numbers():
    # zone = floor((lon + 180) / 6) + 1: 124.4 E -> 51 (120-126 E); 116.4 E (Beijing) -> 50
    assert utm_epsg(124.4, 43.4) == 32651
    assert list(utm_epsg([116.4, -70.0], [39.9, -33.4])) == [32650, 32719]


def test_area_agrees_with_geodesic_area():
    # a 100 m x 100 m square in UTM 51N, taken to lon/lat; pyproj.Geod's ellipsoidal area is an
    # independent reference; the UTM planar area differs by the squared scale factor
    # (k ~ 0.99976 at 1.4 degrees from the central meridian, Snyder 1987 eq. 8-11), < 0.1 %
    sq = box(X0, Y0, X0 + 100, Y0 + 100)
    wgs = to_wgs84([sq], 32651)
    a, epsg = area_ha(wgs)
    geodesic_m2 = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(wgs[0])[0])
    assert epsg[0] == 32651
    assert a[0] == pytest.approx(1.0, rel=1e-9)  # same zone: the square's own 1 ha
    assert a[0] == pytest.approx(geodesic_m2 / 1e4, rel=1e-3)


def test_check_crs():
    with pytest.raises(CRSError, match="has no CRS; re-export it with EPSG:4326"):
        check_crs(None, "a.shp")
    with pytest.raises(CRSError, match="Beijing 1954"):
        check_crs("EPSG:4214", "b.gpkg")
    assert check_crs("EPSG:4490").to_epsg() == 4490
    assert check_crs(32651).is_projected
    assert check_crs("EPSG:4527").is_projected  # CGCS2000 / 3-degree Gauss-Kruger zone 39


def test_cgcs2000_is_read_lon_lat():
    # EPSG:4490 declares latitude first; files store x = lon, so always_xy must keep the order
    p = box(124.40, 43.40, 124.401, 43.4005)
    out = to_wgs84([p], 4490)[0]
    assert out.bounds == pytest.approx(p.bounds, abs=1e-8)


def test_bowtie_is_rejected_and_spike_is_repaired():
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    spike = Polygon(
        [
            (X0, Y0),
            (X0 + 100, Y0),
            (X0 + 100, Y0 + 50),
            (X0 + 130, Y0 + 50),
            (X0 + 100, Y0 + 50),
            (X0 + 100, Y0 + 100),
            (X0, Y0 + 100),
        ]
    )
    assert not bowtie.is_valid and not spike.is_valid
    r = check_plot_geometries([bowtie, spike], 32651, ["B", "S"], source="f.geojson")
    assert list(r.ok) == [False, True]
    (e,) = r.errors
    assert e.plot_id == "B" and e.field == "geometry" and "Self-intersection" in e.message
    assert "split it into 2 part(s)" in e.message and "100%" in e.message
    (w,) = r.warnings
    assert w.plot_id == "S" and "repaired" in w.message
    assert r.area_ha[1] == pytest.approx(1.0, rel=1e-9)  # spike removed, 100 x 100 m kept
    assert np.isnan(r.area_ha[0]) and r.geometry[0] is None


def test_types_area_range_and_multipolygons():
    one_part = shapely.MultiPolygon([box(X0, Y0, X0 + 100, Y0 + 100)])
    two_parts = shapely.MultiPolygon(
        [box(X0, Y0 + 500, X0 + 50, Y0 + 550), box(X0 + 200, Y0 + 500, X0 + 250, Y0 + 550)]
    )
    line = shapely.LineString([(X0, Y0 + 900), (X0 + 10, Y0 + 900)])
    tiny = box(X0 + 2000, Y0, X0 + 2009, Y0 + 10)  # 90 m2 = 0.009 ha < 0.01 ha
    huge = box(X0 + 5000, Y0, X0 + 5800, Y0 + 700)  # 56 ha > 50 ha
    r = check_plot_geometries([one_part, two_parts, line, tiny, huge, None], 32651)
    assert list(r.ok) == [True, False, False, False, False, False]
    assert r.geometry[0].geom_type == "Polygon"
    msgs = [i.message for i in r.errors]
    assert msgs[0] == "is a MultiPolygon with 2 parts"
    assert msgs[1] == "is a LineString, not a polygon"
    assert msgs[2].startswith("has an area of 0.009 ha")
    assert msgs[3].startswith("has an area of 56 ha")
    assert msgs[4] == "has no geometry"


def test_overlaps_use_tolerances():
    a = box(0, 0, 100, 100)  # 1 ha
    b = box(99.95, 0, 200, 100)  # overlaps a by 5 m2 (0.05 %): tolerated
    c = box(150, 0, 250, 100)  # overlaps b by 5000 m2
    d = box(1000, 0, 1100, 100)  # alone
    got = find_overlaps(np.array([a, b, c, d]))
    assert len(got) == 1
    i, j, area, frac = got[0]
    assert (i, j) == (1, 2) and area == pytest.approx(5000.0) and frac == pytest.approx(5000 / 10000)
    small = box(0, 0, 10, 10)  # 100 m2 plot; 2 m2 of it overlap e = 2 %: above the 1 % tolerance
    e = box(9.8, 0, 30, 10)
    assert find_overlaps(np.array([small, e]))[0][:2] == (0, 1)


def test_overlap_with_stored_plots_and_replacement():
    stored = to_wgs84([box(X0, Y0, X0 + 100, Y0 + 100)], 32651)
    new = [box(X0 + 50, Y0, X0 + 150, Y0 + 100)]
    r = check_plot_geometries(new, 32651, ["N1"], existing_wgs84=stored, existing_ids=["S1"])
    assert not r.ok[0] and "overlaps stored plot S1 by 5000 m2" in r.errors[0].message
    # the same id replaces the stored plot, so it does not overlap itself
    r = check_plot_geometries(new, 32651, ["S1"], existing_wgs84=stored, existing_ids=["S1"])
    assert r.ok[0]


def test_outside_china_and_swapped_axes_are_rejected():
    elsewhere = box(10.0, 50.0, 10.001, 50.0005)  # Germany: the service covers China only
    swapped = box(43.40, 124.40, 43.401, 124.4005)  # lat/lon swapped: x 43.4 (a latitude), y 124.4
    r = check_plot_geometries([elsewhere, swapped], 4326)
    assert list(r.ok) == [False, False]
    assert "outside China" in r.errors[0].message and "x is the longitude" in r.errors[0].fix
    assert "longitude and latitude look swapped" in r.errors[1].message
    assert "swap the axes" in r.errors[1].fix
