"""Plot ingest: the three file formats, idempotency, and rejected files that write nothing."""

from __future__ import annotations

import hashlib
import json

import pytest
import shapely
import sqlalchemy as sa

from mrv_service.ingest import IngestError, ingest_plots
from mrv_service.store.db import session_scope
from mrv_service.store.models import Farmer, Plot, PlotFlag, Upload
from mrv_service.store.projects import project_summary
from tests.mrv_service.conftest import (
    DATA,
    EXPECTED_AREA_HA,
    SALT,
    X0,
    Y0,
    table_counts,
    utm_plots,
    write_plots,
)


def _plots(engine) -> dict[str, Plot]:
    with session_scope(engine) as s:
        return {p.external_id: p for p in s.scalars(sa.select(Plot))}


@pytest.mark.parametrize("fixture", ["plots_geojson", "plots_gpkg", "plots_shp_zip"])
def test_each_format_ingests_and_areas_match(engine, project, fixture, request):
    path = request.getfixturevalue(fixture)
    with session_scope(engine) as s:
        report = ingest_plots(s, project, path, id_salt=SALT)
    assert report.status == "accepted"
    assert (report.inserted, report.updated, report.unchanged) == (4, 0, 0)
    plots = _plots(engine)
    assert sorted(plots) == ["P1", "P2", "P3", "P4"]
    for pid, area in EXPECTED_AREA_HA.items():
        # hand-computed planar areas in the plots' own UTM zone 51N (conftest); the 4326/4490
        # round trips change them by far less than 1e-6 ha
        assert plots[pid].area_ha == pytest.approx(area, abs=1e-6)
        assert plots[pid].utm_epsg == 32651
        geom = shapely.from_wkt(plots[pid].geometry_wkt)
        assert geom.geom_type == "Polygon"
        # stored lon/lat (x = longitude near 124.4 E, y = latitude near 43.4 N)
        assert 124.3 < plots[pid].centroid_lon < 124.5 and 43.3 < plots[pid].centroid_lat < 43.5
    assert plots["P1"].county == "梨树县"  # the project's county fills the missing column


def test_gpkg_4490_and_geojson_4326_store_the_same_place(engine, project, plots_gpkg, tmp_path):
    with session_scope(engine) as s:
        ingest_plots(s, project, plots_gpkg, id_salt=SALT)
    p1 = _plots(engine)["P1"]
    # P1's south-west corner (613000 E, 4806000 N in zone 51N) in lon/lat via pyproj directly
    import pyproj

    lon, lat = pyproj.Transformer.from_crs(32651, 4326, always_xy=True).transform(X0, Y0)
    first = shapely.get_coordinates(shapely.from_wkt(p1.geometry_wkt))[0]  # ring starts at the SW corner
    assert tuple(first) == pytest.approx((lon, lat), abs=1e-7)  # CGCS2000 = WGS 84 at this precision


def test_farmers_hash_national_ids_never_raw(engine, project, plots_geojson):
    with session_scope(engine) as s:
        ingest_plots(s, project, plots_geojson, id_salt=SALT)
        farmers = {f.external_id: f for f in s.scalars(sa.select(Farmer))}
    assert sorted(farmers) == ["F1", "F2", "F3"]
    expected = hashlib.sha256(f"{SALT}:22032219800101001X".encode()).hexdigest()
    assert farmers["F1"].national_id_hash == expected
    assert farmers["F3"].national_id_hash is None
    assert farmers["F1"].name == "张三" and farmers["F1"].village == "二龙村"
    with engine.connect() as conn:
        dump = json.dumps([list(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM farmers")).all()])
        dump += json.dumps([list(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM uploads")).all()])
    assert "22032219800101001X" not in dump and "220322198502020022" not in dump


def test_same_file_again_changes_nothing(engine, project, plots_geojson):
    with session_scope(engine) as s:
        ingest_plots(s, project, plots_geojson, id_salt=SALT)
    before = table_counts(engine)
    with session_scope(engine) as s:
        again = ingest_plots(s, project, plots_geojson, id_salt=SALT)
        n_uploads = s.scalar(sa.select(sa.func.count(Upload.id)))
    assert again.status == "already_ingested"
    assert "already ingested" in again.to_text() and "nothing changed" in again.to_text()
    assert table_counts(engine) == before and n_uploads == 1


def test_same_plots_in_another_file_are_unchanged(engine, project, plots_geojson, tmp_path):
    with session_scope(engine) as s:
        ingest_plots(s, project, plots_geojson, id_salt=SALT)
    before = table_counts(engine)
    copy = tmp_path / "plots_copy.geojson"
    copy.write_text(json.dumps(json.loads(plots_geojson.read_text()), indent=1), encoding="utf-8")
    with session_scope(engine) as s:
        report = ingest_plots(s, project, copy, id_salt=SALT)
    assert report.status == "accepted"
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 4)
    assert "0 new, 0 updated, 4 unchanged" in report.to_text()
    assert table_counts(engine) == before


def _assert_rejected(engine, project, path, *expected_fragments):
    before = table_counts(engine)
    with session_scope(engine) as s:
        with pytest.raises(IngestError) as info:
            ingest_plots(s, project, path, id_salt=SALT)
    report = info.value.report
    text = report.to_text()
    for fragment in expected_fragments:
        assert fragment in text, text
    assert report.status == "rejected" and "nothing was written" in text
    assert table_counts(engine) == before
    with session_scope(engine) as s:
        up = s.scalars(sa.select(Upload).order_by(Upload.id.desc())).first()
        assert up.status == "rejected" and up.file_name == path.name
        assert up.report["n_errors"] == len(report.errors) >= 1
    return report


def test_bowtie_is_rejected_naming_file_feature_field_and_fix(engine, project):
    report = _assert_rejected(
        engine,
        project,
        DATA / "plots_bowtie.geojson",
        "plots_bowtie.geojson feature 2 (plot_id BOW), field geometry: is invalid (Self-intersection",
        "redraw the boundary so that it does not cross itself",
    )
    assert [i.plot_id for i in report.errors] == ["BOW"]
    assert isinstance(report.errors[0].row, int) and report.errors[0].row == 2


def test_missing_crs_is_rejected(engine, project, tmp_path):
    path = write_plots(tmp_path / "nocrs.zip", None)
    _assert_rejected(engine, project, path, "nocrs.zip has no CRS; re-export it with EPSG:4326")


def test_unaccepted_geographic_crs_is_rejected(engine, project, tmp_path):
    path = write_plots(tmp_path / "beijing54.gpkg", 4214, driver="GPKG")  # Beijing 1954
    _assert_rejected(engine, project, path, "Beijing 1954", "re-export it with EPSG:4326")


def test_duplicate_ids_and_out_of_range_area_are_rejected(engine, project, tmp_path):
    geoms, attrs = utm_plots()
    attrs = {k: list(v) for k, v in attrs.items()}
    attrs["plot_id"][2] = "P1"  # duplicate of feature 1
    geoms[3] = shapely.box(X0 + 300, Y0, X0 + 310, Y0 + 5)  # 50 m2 = 0.005 ha
    path = write_plots(tmp_path / "dups.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
    report = _assert_rejected(
        engine,
        project,
        path,
        "dups.geojson feature 3 (plot_id P1), field plot_id: plot_id 'P1' already used by feature 1",
        "feature 4 (plot_id P4), field geometry: has an area of 0.005 ha, outside the accepted 0.01-50.0 ha",
    )
    assert report.rows_rejected == 2 and report.rows_accepted == 2


def test_overlap_with_stored_plot_and_other_farmer(with_plots, engine, tmp_path):
    # P5 covers half of stored P1 (2500 m2, 50 % of P1); P2 is re-used by another farmer
    geoms = [shapely.box(X0 + 50, Y0, X0 + 150, Y0 + 50), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 50)]
    attrs = {"plot_id": ["P5", "P2"], "farmer_id": ["F7", "F8"]}
    path = write_plots(tmp_path / "more.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
    report = _assert_rejected(
        engine,
        with_plots,
        path,
        "feature 1 (plot_id P5), field geometry: overlaps stored plot P1 by 2500 m2 (50.0% of the smaller plot)",
        "plot_id 'P2' is already stored for farmer 'F1', not 'F8'",
    )
    assert report.rows_rejected == 2


def test_repaired_geometry_is_accepted_with_a_flag(engine, project, tmp_path):
    geoms, attrs = utm_plots()
    # P1 with a zero-width spike: invalid, make_valid drops the spike, area unchanged (0.5 ha)
    geoms[0] = shapely.Polygon(
        [
            (X0, Y0),
            (X0 + 100, Y0),
            (X0 + 100, Y0 + 25),
            (X0 + 120, Y0 + 25),
            (X0 + 100, Y0 + 25),
            (X0 + 100, Y0 + 50),
            (X0, Y0 + 50),
        ]
    )
    assert not geoms[0].is_valid
    path = write_plots(tmp_path / "spike.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
    with session_scope(engine) as s:
        report = ingest_plots(s, project, path, id_salt=SALT)
        flags = s.scalars(sa.select(PlotFlag)).all()
        summary = project_summary(s, project)
    assert report.status == "accepted" and report.rows_warned == 1
    assert "was invalid" in report.warnings[0].message
    assert _plots(engine)["P1"].area_ha == pytest.approx(0.5, abs=1e-6)
    assert (
        len(flags) == 1
        and flags[0].status == "open"
        and "spike.geojson feature 1 (plot_id P1)" in flags[0].message
    )
    assert summary["flags"] == {"plots_flagged": 1, "open": 1}


def test_changed_geometry_updates_the_plot(with_plots, engine, tmp_path):
    geoms, attrs = utm_plots()
    geoms[2] = shapely.box(X0, Y0 + 100, X0 + 100, Y0 + 200)  # P3 grows from 0.8 to 1.0 ha
    path = write_plots(tmp_path / "v2.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
    with session_scope(engine) as s:
        report = ingest_plots(s, with_plots, path, id_salt=SALT)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 3)
    assert _plots(engine)["P3"].area_ha == pytest.approx(1.0, abs=1e-6)


# -- slice by slice: the new plots go to the store while the next slice is checked -------------


@pytest.fixture
def one_plot_slices(monkeypatch):
    """Check and send the plots one at a time, so that four plots make four slices."""
    from mrv_service.ingest import plots

    monkeypatch.setattr(plots, "SLICE_PLOTS", 1)


def test_slices_write_new_and_changed_plots_as_one_upload(with_plots, engine, tmp_path, one_plot_slices):
    geoms, attrs = utm_plots()
    geoms[2] = shapely.box(X0, Y0 + 100, X0 + 100, Y0 + 200)  # P3 grows from 0.8 to 1.0 ha
    geoms.append(shapely.box(X0 + 600, Y0, X0 + 700, Y0 + 30))  # P5, new: 100 m x 30 m = 0.3 ha
    attrs = {k: [*v, v[-1]] for k, v in attrs.items()} | {"plot_id": ["P1", "P2", "P3", "P4", "P5"]}
    path = write_plots(tmp_path / "v2.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
    with session_scope(engine) as s:
        report = ingest_plots(s, with_plots, path, id_salt=SALT)
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 3)
    plots = _plots(engine)
    assert plots["P3"].area_ha == pytest.approx(1.0, abs=1e-6)
    assert plots["P5"].area_ha == pytest.approx(0.3, abs=1e-6)
    assert plots["P5"].upload_id == plots["P3"].upload_id == report.upload_id
    assert plots["P1"].upload_id != report.upload_id  # unchanged: still the first upload's


def test_an_error_in_the_last_slice_writes_nothing(engine, project, tmp_path, one_plot_slices):
    # three plots pass and are sent before the fourth, a bow-tie, is checked
    geoms, attrs = utm_plots()
    geoms[3] = shapely.Polygon([(X0 + 300, Y0), (X0 + 400, Y0 + 100), (X0 + 400, Y0), (X0 + 300, Y0 + 100)])
    path = write_plots(tmp_path / "late.geojson", 4326, driver="GeoJSON", geoms=geoms)
    report = _assert_rejected(engine, project, path, "feature 4 (plot_id P4)", "is invalid")
    assert len(report.errors) == 1


def test_an_overlap_found_after_every_slice_was_sent_writes_nothing(
    engine, project, tmp_path, one_plot_slices
):
    # each plot passes on its own (all four are sent); the overlap of P1 and P2 (50 m x 50 m =
    # 2,500 m2, half of P1) is found only when the set is checked
    geoms, attrs = utm_plots()
    geoms[1] = shapely.box(X0 + 50, Y0, X0 + 150, Y0 + 50)
    path = write_plots(tmp_path / "overlap.geojson", 4326, driver="GeoJSON", geoms=geoms)
    _assert_rejected(engine, project, path, "overlaps plot P2 by 2500 m2 (50.0% of the smaller plot)")
    with session_scope(engine) as s:  # the store takes the corrected file afterwards
        report = ingest_plots(
            s, project, write_plots(tmp_path / "ok.geojson", 4326, driver="GeoJSON"), id_salt=SALT
        )
    assert report.inserted == 4
