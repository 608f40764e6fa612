"""PostGIS in the store (migrations 0009 and 0011): the geometry column generated from the WKT, and the
overlap checks as indexed ST_Intersects joins giving exactly the Python (STRtree) results."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from shapely import Polygon

from geodata.overlaps import find_overlaps
from mrv_service.ingest import ingest_plots
from mrv_service.store.claims import _claims_in_postgis, _claims_in_python, overlapping_claims
from mrv_service.store.db import session_scope
from mrv_service.store.projects import ensure_project_from_json, get_project
from mrv_service.store.spatial import has_postgis, overlapping_pairs
from tests.mrv_service.conftest import PROJECT_JSON, SALT, X0, Y0, _rect, utm_plots, write_plots


def _postgis(engine) -> bool:
    with session_scope(engine) as s:
        return has_postgis(s)


@pytest.fixture
def two_projects(engine, project, tmp_path):
    """The test project's four plots, and a second project whose plots copy P1 (whole), overlap
    P2 by 30 % and P3 by a 1 m sliver (under the tolerances), and lie apart."""
    with session_scope(engine) as s:
        ingest_plots(s, project, write_plots(tmp_path / "a.geojson", 4326, driver="GeoJSON"), id_salt=SALT)
    other = dict(PROJECT_JSON, name="other-aggregator")
    with session_scope(engine) as s:
        ensure_project_from_json(s, other)
    geoms = [
        Polygon(_rect(X0, Y0, X0 + 100, Y0 + 50)),  # = P1
        Polygon(_rect(X0 + 170, Y0, X0 + 270, Y0 + 50)),  # 30 m of P2's 100 m
        Polygon(_rect(X0 + 79, Y0 + 100, X0 + 159, Y0 + 200)),  # a 1 m strip of P3: 100 m2 ... 1.25 %
        Polygon(_rect(X0 + 1000, Y0, X0 + 1100, Y0 + 50)),  # apart
    ]
    _g, attrs = utm_plots()
    attrs = dict(attrs, plot_id=["Q1", "Q2", "Q3", "Q4"], farmer_id=["G1", "G1", "G2", "G3"])
    path = write_plots(tmp_path / "b.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
    with session_scope(engine) as s:
        report = ingest_plots(s, "other-aggregator", path, id_salt=SALT)
    assert report.status == "accepted"
    return project, "other-aggregator"


def test_sqlite_has_no_postgis_and_postgresql_has_it(engine):
    if engine.dialect.name == "sqlite":
        assert not _postgis(engine)
    elif not _postgis(engine):
        if os.environ.get("MRV_REQUIRE_POSTGIS") == "1":
            pytest.fail("the test server has no PostGIS (install postgresql-<version>-postgis-3)")
        pytest.skip("the test server has no PostGIS")


def test_plots_go_in_with_copy_on_postgresql(engine, project, tmp_path, monkeypatch):
    from mrv_service.ingest import copy_stream, upload

    copied, streamed = [], []
    real_rows, real_copy = upload.copy_rows, copy_stream.CopyStream._copy
    monkeypatch.setattr(
        upload,
        "copy_rows",
        lambda s, model, rows: (copied.append((model.__tablename__, len(rows))), real_rows(s, model, rows)),
    )
    monkeypatch.setattr(
        copy_stream.CopyStream,
        "_copy",
        lambda self, dbapi, sql, types: (
            streamed.append(sql.split(" (")[0]),
            real_copy(self, dbapi, sql, types),
        ),
    )
    with session_scope(engine) as s:
        ingest_plots(s, project, write_plots(tmp_path / "a.geojson", 4326, driver="GeoJSON"), id_salt=SALT)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM plots")).scalar_one() == 4
    postgresql = engine.dialect.name == "postgresql"
    # the farmers with one COPY, the plots with a binary COPY fed slice by slice; SQLite INSERTs
    assert copied == ([("farmers", 3)] if postgresql else [])
    assert streamed == (['COPY "plots"'] if postgresql else [])


def test_the_geometry_column_stays_equal_to_the_wkt(engine, two_projects):
    if not _postgis(engine):
        pytest.skip("PostGIS only")
    with engine.begin() as c:
        bad = c.execute(
            sa.text(
                "SELECT count(*) FROM plots WHERE NOT ST_Equals(geom, ST_GeomFromText(geometry_wkt, 4326))"
            )
        ).scalar_one()
        assert bad == 0
        c.execute(
            sa.text(
                "UPDATE plots SET geometry_wkt = 'POLYGON ((1 1, 2 1, 2 2, 1 1))' WHERE external_id = 'Q4'"
            )
        )
        assert c.execute(
            sa.text("SELECT ST_AsText(geom) FROM plots WHERE external_id = 'Q4'")
        ).scalar_one() == ("POLYGON((1 1,2 1,2 2,1 1))")
        plan = "\n".join(
            c.execute(
                sa.text(
                    "EXPLAIN SELECT a.id FROM plots a JOIN plots b ON ST_Intersects(a.geom, b.geom) WHERE a.project_id = 1"
                )
            ).scalars()
        )
    assert "ix_plots_geom" in plan  # the join uses the spatial (SP-GiST) index


def test_claims_in_postgis_equal_the_python_ones(engine, two_projects):
    mine, theirs = two_projects
    with session_scope(engine) as s:
        for name in (mine, theirs):
            p = get_project(s, name)
            py = _claims_in_python(s, p)
            # by hand: Q1 copies P1 (5,000 m2, all of it) and Q2 covers 30 m x 50 m of P2 (1,500 m2,
            # 30 %); Q3's 1 m x 100 m strip of P3 is 100 m2 = 1.25 % of 8,000 m2, over the 1 %
            # fraction tolerance; Q4 lies apart
            assert sorted(zip(py["plot_id"], py["other_plot_id"], strict=True)) == sorted(
                [("Q1", "P1"), ("Q2", "P2"), ("Q3", "P3")]
                if name == theirs
                else [("P1", "Q1"), ("P2", "Q2"), ("P3", "Q3")]
            )
            got = py.set_index("plot_id")["overlap_m2"].to_dict()
            for k, v in {
                "Q1": 5000.0,
                "Q2": 1500.0,
                "Q3": 100.0,
                "P1": 5000.0,
                "P2": 1500.0,
                "P3": 100.0,
            }.items():
                if k in got:
                    assert got[k] == pytest.approx(v, rel=2e-3)  # UTM of the extent vs the file's zone
            assert py["refused"].all() == (name == theirs) and py["refused"].any() == (name == theirs)
            if _postgis(engine):
                db = _claims_in_postgis(s, p)
                assert db.equals(py), (db, py)
                assert overlapping_claims(s, p).equals(py)


def test_overlaps_within_a_project_in_postgis_equal_the_strtree(engine, project, tmp_path):
    if not _postgis(engine):
        pytest.skip("PostGIS only")
    with session_scope(engine) as s:
        ingest_plots(s, project, write_plots(tmp_path / "a.geojson", 4326, driver="GeoJSON"), id_salt=SALT)
    # overlapping plots are refused at ingest: put two in by hand to have something to find
    with engine.begin() as c:
        pid = c.execute(sa.text("SELECT id FROM projects WHERE name = :n"), {"n": project}).scalar_one()
        row = c.execute(sa.text("SELECT * FROM plots WHERE external_id = 'P1'")).mappings().one()
        for ext, dx in (("P1b", 60.0), ("P1c", 99.5)):
            wkt = c.execute(
                sa.text(
                    "SELECT ST_AsText(ST_Translate(ST_Transform(geom, 32651), :dx, 0)) FROM plots WHERE id = :i"
                ),
                {"dx": dx, "i": row["id"]},
            ).scalar_one()
            wgs = c.execute(
                sa.text("SELECT ST_AsText(ST_Transform(ST_GeomFromText(:w, 32651), 4326))"), {"w": wkt}
            ).scalar_one()
            vals = {k: row[k] for k in row.keys() if k not in ("id", "geom")} | {
                "external_id": ext,
                "geometry_wkt": wgs,
            }
            cols = ", ".join(vals)
            c.execute(
                sa.text(f"INSERT INTO plots ({cols}) VALUES ({', '.join(':' + k for k in vals)})"), vals
            )  # noqa: S608
    with session_scope(engine) as s:
        pairs = overlapping_pairs(s, pid, other_projects=False)
        rows = s.execute(
            sa.text("SELECT id, geometry_wkt FROM plots WHERE project_id = :p ORDER BY id"), {"p": pid}
        ).all()
    import geopandas as gpd
    import shapely

    geo = gpd.GeoSeries(shapely.from_wkt([r[1] for r in rows]), crs=4326)
    metric = geo.to_crs(geo.estimate_utm_crs()).to_numpy()
    ids = [r[0] for r in rows]
    expected = sorted((ids[i], ids[j], a, f) for i, j, a, f in find_overlaps(metric))
    assert [(i, j) for i, j, *_ in pairs] == [(i, j) for i, j, *_ in expected]
    for (_, _, a, f), (_, _, ea, ef) in zip(pairs, expected, strict=True):
        assert a == pytest.approx(ea, rel=1e-9) and f == pytest.approx(ef, rel=1e-9)
    # by hand (50 m high strips along x): P1b (x 60-160) covers 40 m of P1 (0-100) and 60 m of
    # P2 (100-200); P1c (99.5-199.5) covers 0.5 m of P1 (25 m2 > 10 m2), 99.5 m of P2 and 60.5 m of P1b
    areas = sorted(round(a) for *_, a, _f in pairs)
    assert areas == [25, 2000, 3000, 3025, 4975]
