"""What a new user's real files throw at ingest: no traceback, no silent acceptance, valid input kept.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture). A rejected upload must raise
:class:`IngestError` whose report names the row, the column and the problem, and must write
nothing (``table_counts``); the files are generated in ``tmp_path``.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pyproj
import pytest
import shapely
import sqlalchemy as sa

from geodata.gcj02 import wgs84_to_gcj02
from mrv_service.ingest import IngestError, ingest_logs, ingest_plots, ingest_soil, xlsx_formulas
from mrv_service.ingest.schema import CSV_FIELD_LIMIT, read_table
from mrv_service.store.db import session_scope
from mrv_service.store.models import ActivityRecord, Farmer, Plot, Project, SoilSample
from tests.mrv_service.conftest import (
    EXPECTED_AREA_HA,
    SALT,
    table_counts,
    utm_plots,
    write_plots,
)

TO_WGS = pyproj.Transformer.from_crs(32651, 4326, always_xy=True)


def _ingest(engine, func, project, path):
    with session_scope(engine) as s:
        return func(s, project, path, id_salt=SALT)


def _rejected(engine, func, project, path):
    """Ingest ``path`` expecting a rejection that wrote nothing; returns the report."""
    before = table_counts(engine)
    with session_scope(engine) as s:
        with pytest.raises(IngestError) as info:
            func(s, project, path, id_salt=SALT)
    report = info.value.report
    assert report.status == "rejected" and "nothing was written" in report.to_text()
    assert table_counts(engine) == before
    return report


def _error(report, row, column, phrase):
    """The one error at (row, column) whose message holds ``phrase``."""
    hits = [e for e in report.errors if e.row == row and e.column == column and phrase in e.message]
    assert len(hits) == 1, report.to_text()
    return hits[0]


def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _xlsx(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def _wgs_plots():
    """The four fixture plots in EPSG:4326 and their attributes."""
    geoms, attrs = utm_plots()
    wgs = shapely.transform(
        np.asarray(geoms, dtype=object), lambda c: np.column_stack(TO_WGS.transform(*c.T))
    )
    return wgs, attrs


def _feature_collection(geoms, attrs):
    """GeoJSON of the geometries (EPSG:4326) and attributes, as a dict to edit."""
    fc = json.loads(gpd.GeoDataFrame(attrs, geometry=list(geoms), crs=4326).to_json())
    for f in fc["features"]:
        f.pop("id", None)
    return fc


def _geojson(path, geoms, attrs, crs="EPSG:4326"):
    gpd.GeoDataFrame(attrs, geometry=list(geoms), crs=crs).to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


LOG_HEADER = "plot_id,date,activity,crop,method,notes"


# ------------------------------------------------------------------ 1. no traceback for any input


def test_nan_coordinate_in_geojson_is_a_feature_error(engine, project, tmp_path):
    # json.dumps writes NaN, which GDAL reads: before, a RuntimeWarning from GEOS (an exception
    # under pytest) and an unclear "no area left after repair"
    geoms, attrs = _wgs_plots()
    fc = _feature_collection(geoms, attrs)
    fc["features"][1]["geometry"]["coordinates"][0][2][0] = float("nan")
    path = tmp_path / "nan.geojson"
    path.write_text(json.dumps(fc), encoding="utf-8")
    report = _rejected(engine, ingest_plots, project, path)
    e = _error(report, 2, "geometry", "has a vertex that is not a number: vertex 3 is (nan, 43.")
    assert e.row_label == "feature 2 (plot_id P2)" and "NaN or infinite" in e.fix
    assert len(report.errors) == 1 and report.warnings == []


def test_inf_coordinate_in_geopackage_is_a_feature_error(engine, project, tmp_path):
    # before: GEOSException "CGAlgorithmsDD::orientationIndex encountered NaN/Inf numbers"
    geoms, attrs = utm_plots()
    coords = shapely.get_coordinates(geoms[3])
    coords[1, 0] = np.inf
    geoms[3] = shapely.Polygon(coords[:5])
    path = write_plots(tmp_path / "inf.gpkg", 32651, driver="GPKG", geoms=geoms, attrs=attrs)
    report = _rejected(engine, ingest_plots, project, path)
    _error(report, 4, "geometry", "vertex 2 is (inf, ")


def test_nan_and_inf_soil_coordinates_are_row_errors(with_plots, engine, tmp_path):
    path = _csv(
        tmp_path / "soil_nan.csv",
        "sample_id,lon,lat,date,depth_top,depth_bottom,soc\n"
        "N1,nan,43.4,2023-10-08,0,20,12\n"
        "N2,124.4,inf,2023-10-08,0,20,12\n",
    )
    report = _rejected(engine, ingest_soil, with_plots, path)
    _error(report, 2, "lon", "'nan' is not a number")
    _error(report, 3, "lat", "'inf' is not a number")


def test_cell_over_the_csv_field_limit_names_the_row(with_plots, engine, tmp_path):
    # before: _csv.Error: field larger than field limit (131072), a traceback
    big = "x" * (CSV_FIELD_LIMIT + 10)
    path = _csv(
        tmp_path / "big_cell.csv",
        f"{LOG_HEADER}\nP1,2024-04-20,tillage,maize,rotary,ok\nP1,2024-04-21,sowing,maize,,{big}\n",
    )
    report = _rejected(engine, ingest_logs, with_plots, path)
    e = _error(report, 3, "notes", "holds more than 131,072 characters (line 3 of the file)")
    assert "not the table you meant" in e.fix


def test_unclosed_quote_in_a_large_file_names_the_row_where_it_opens(with_plots, engine, tmp_path):
    rows = [f"P1,2024-05-{d % 28 + 1:02d},tillage,maize,rotary,pass {d}" for d in range(4000)]
    rows[9] = 'P2,2024-06-01,sowing,maize,,"seed drill broke'  # row 11: the quote never closes
    path = _csv(tmp_path / "unclosed.csv", LOG_HEADER + "\n" + "\n".join(rows) + "\n")
    report = _rejected(engine, ingest_logs, with_plots, path)
    e = _error(report, 11, "notes", 'a quote (") opened in this cell (line 11 of the file) is never closed')
    assert "wrapped in double quotes" in e.fix and len(report.errors) == 1


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        # the quote is never closed: csv's default reads to the end of the file into one cell
        (
            'P1,2024-04-20,tillage,maize,rotary,"broken\nP2,2024-04-21,sowing,maize,,x\nP3,2024-04-22,sowing,maize,,y\n',
            "everything to the end of the file was read as one cell",
        ),
        # closed later inside other text: csv's default silently merges lines 2-3
        (
            'P1,2024-04-20,tillage,maize,rotary,"broken\nP2,2024-04-21,sowing,maize,,"x"\nP3,2024-04-22,sowing,maize,,y\n',
            "it is closed only on line 3 in the middle of other text, so lines 2-3 were read as one cell",
        ),
        # closed at the end of a later line: even strict csv accepts it; the swallowed rows show
        (
            'P1,2024-04-20,tillage,maize,rotary,"broken\nP2,2024-04-21,sowing,maize,,x"\nP3,2024-04-22,sowing,maize,,y\n',
            "holds what look like whole rows",
        ),
    ],
    ids=["to_eof", "closed_mid_text", "closed_at_line_end"],
)
def test_unclosed_quote_does_not_swallow_rows_silently(with_plots, engine, tmp_path, body, phrase):
    path = _csv(tmp_path / "quote.csv", f"{LOG_HEADER}\n{body}")
    report = _rejected(engine, ingest_logs, with_plots, path)
    e = _error(report, 2, "notes", phrase)
    assert "close the quote or delete it" in e.fix


def test_stray_text_after_a_closing_quote(with_plots, engine, tmp_path):
    path = _csv(tmp_path / "stray.csv", f'{LOG_HEADER}\nP1,2024-04-20,tillage,maize,"rotary"x,\n')
    report = _rejected(engine, ingest_logs, with_plots, path)
    _error(report, 2, "method", "text follows the closing quote of this cell")


def test_overlong_plot_attributes_are_row_errors_on_both_stores(engine, project, tmp_path):
    # before: PostgreSQL raised DataError (value too long for type character varying(200));
    # SQLite stored the 250 characters
    geoms, attrs = utm_plots()
    attrs = {k: list(v) for k, v in attrs.items()}
    attrs["farmer_name"][0] = "张" * 250
    attrs["village"][2] = "v" * 201
    attrs["plot_id"][3] = "P" * 101
    path = write_plots(tmp_path / "long.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
    report = _rejected(engine, ingest_plots, project, path)
    e = _error(report, 1, "farmer_name", "is 250 characters long; the store keeps at most 200")
    assert (
        e.message.startswith("the farmer's name ('张张张") and e.fix == "shorten it to at most 200 characters"
    )
    _error(
        report,
        3,
        "village",
        "the village ('vvvvvvvvvvvvvvvvvvvv...') is 201 characters long; the store keeps at most 200",
    )
    e = _error(report, 4, "plot_id", "the plot id ('PPPP")
    assert "is 101 characters long; the store keeps at most 100" in e.message
    assert e.row_label == "feature 4 (plot_id " + "P" * 40 + "...)"


def test_overlong_log_and_soil_texts_are_row_errors(with_plots, engine, tmp_path):
    path = _csv(
        tmp_path / "long_logs.csv",
        "plot_id,date,activity,method,product,n_rate (kg/ha),notes\n"
        f"P1,2024-05-01,sowing,{'m' * 31},,,\n"  # method: column String(30)
        f"P1,2024-05-10,fertiliser,,{'u' * 279},150,\n"  # product: 278 fit in the natural key
        f"P1,2024-05-11,sowing,,,,{'n' * 1001}\n"  # notes: the service's 1000
        "P1,2024-05-12,sowing,,,,a\x00b\n",  # NUL: PostgreSQL refuses it
    )
    report = _rejected(engine, ingest_logs, with_plots, path)
    _error(report, 2, "method", "is 31 characters long; the store keeps at most 30")
    _error(report, 3, "product", "is 279 characters long; the store keeps at most 278")
    _error(report, 4, "notes", "is 1,001 characters long; the store keeps at most 1000")
    _error(report, 5, "notes", "holds a NUL character (0x00)")
    soil = _csv(
        tmp_path / "long_soil.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc,lab,method\n"
        f"{'S' * 101},P1,2023-10-08,0,20,12,lab,dry combustion\n"
        f"S2,P2,2023-10-08,0,20,12,{'L' * 201},\n"
        f"S3,P3,2023-10-08,0,20,12,lab,{'k' * 101}\n",
    )
    report = _rejected(engine, ingest_soil, with_plots, soil)
    _error(report, 2, "sample_id", "is 101 characters long; the store keeps at most 100")
    _error(report, 3, "lab", "is 201 characters long; the store keeps at most 200")
    _error(report, 4, "method", "is 101 characters long; the store keeps at most 100")


# ------------------------------------------------------- 2. no silent acceptance of wrong data


def test_plot_set_in_gcj02_is_recognised(with_plots, engine, tmp_path):
    # the stored plots re-digitised on a Chinese map app: every vertex moved by the GCJ-02 offset
    geoms, attrs = _wgs_plots()
    gcj = shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.column_stack(wgs84_to_gcj02(*c.T)))
    path = _geojson(tmp_path / "gcj.geojson", gcj, attrs)
    with session_scope(engine) as s:
        stored = {p.external_id: p.geometry_wkt for p in s.scalars(sa.select(Plot))}
    report = _rejected(engine, ingest_plots, with_plots, path)
    e = _error(report, None, "geometry", "all 4 plots already stored moved as a whole by 5")
    assert re.search(r"moved as a whole by 5\d\d m towards the (east|north-east)", e.message), e.message
    assert "The shift is the GCJ-02 offset of Chinese map apps" in e.message
    assert "convert the file from GCJ-02 to WGS-84 (EPSG:4326) or CGCS2000" in e.fix
    with session_scope(engine) as s:
        assert {p.external_id: p.geometry_wkt for p in s.scalars(sa.select(Plot))} == stored


def test_plot_set_moved_by_a_common_vector_is_rejected(with_plots, engine, tmp_path):
    geoms, attrs = utm_plots()
    moved = [shapely.affinity.translate(g, xoff=-80.0, yoff=0.0) for g in geoms]  # 80 m west
    path = write_plots(tmp_path / "moved.gpkg", 4490, driver="GPKG", geoms=moved, attrs=attrs)
    report = _rejected(engine, ingest_plots, with_plots, path)
    e = _error(
        report, None, "geometry", "all 4 plots already stored moved as a whole by 80 m towards the west"
    )
    assert "GCJ-02" not in e.message and "check the file's CRS" in e.fix


def test_redigitised_plots_within_metres_are_accepted(with_plots, engine, tmp_path):
    geoms, attrs = utm_plots()
    moved = [shapely.affinity.translate(g, xoff=2.0, yoff=-1.5) for g in geoms]  # digitising noise
    path = write_plots(tmp_path / "noise.geojson", 4326, driver="GeoJSON", geoms=moved, attrs=attrs)
    report = _ingest(engine, ingest_plots, with_plots, path)
    assert report.status == "accepted" and report.updated == 4


def test_plots_far_from_the_region_centre(engine, project, tmp_path):
    geoms, attrs = utm_plots()
    far = [shapely.affinity.translate(g, xoff=90_000.0) for g in geoms]  # ~90 km east
    path = write_plots(tmp_path / "far.geojson", 4326, driver="GeoJSON", geoms=far, attrs=attrs)
    report = _rejected(engine, ingest_plots, project, path)
    e = _error(
        report, 1, "geometry", "km from the project's county centre (124.4000, 43.4000) given in project.json"
    )
    assert re.match(r"lies (8|9)\d\.\d km from .*, farther than the 60 km allowed", e.message), e.message
    assert "check the coordinates" in e.fix and "plots.max_distance_km" in e.fix
    assert len(report.errors) == 4
    # the project's setting is what counts
    with session_scope(engine) as s:
        p = s.scalars(sa.select(Project)).one()
        p.settings = {"plots": {"max_distance_km": 150.0}}
    assert _ingest(engine, ingest_plots, project, path).status == "accepted"


def test_plots_outside_china_are_errors(engine, project, tmp_path):
    # before: a warning only, and the plots were stored
    geoms = [shapely.box(10.0, 50.0, 10.001, 50.0005)]  # Germany
    path = _geojson(tmp_path / "germany.geojson", geoms, {"plot_id": ["G1"], "farmer_id": ["F1"]})
    report = _rejected(engine, ingest_plots, project, path)
    e = _error(report, 1, "geometry", "lies at lon 10.0005, lat 50.0003, outside China")
    assert "x is the longitude" in e.fix


def test_swapped_lat_lon_plot_file(engine, project, tmp_path):
    # before: "coordinates outside longitude -180..180 / latitude -90..90", a generic message
    geoms, attrs = _wgs_plots()
    swapped = shapely.transform(np.asarray(geoms, dtype=object), lambda c: c[:, ::-1])
    path = _geojson(tmp_path / "swapped.geojson", swapped, attrs)
    report = _rejected(engine, ingest_plots, project, path)
    for row in (1, 2, 3, 4):
        e = _error(report, row, "geometry", "longitude and latitude look swapped")
        assert "x is the longitude (east)" in e.fix


def test_soil_coordinates_swapped_outside_china_or_far(with_plots, engine, tmp_path):
    path = _csv(
        tmp_path / "soil_points.csv",
        "sample_id,lon,lat,date,depth_top,depth_bottom,soc\n"
        "A1,43.4,124.4,2023-10-08,0,20,12\n"  # swapped
        "A2,10.0,50.0,2023-10-08,0,20,12\n"  # Germany
        "A3,126.5,43.4,2023-10-08,0,20,12\n",  # ~170 km east of the county centre
    )
    report = _rejected(engine, ingest_soil, with_plots, path)
    e = _error(report, 2, "lon", "longitude and latitude look swapped")
    assert "swap the two columns" in e.fix
    _error(report, 3, "lon", "the point (10, 50) lies outside China")
    _error(report, 4, "lon", "km from the project's county centre (124.4000, 43.4000) given in project.json")
    assert len(report.errors) == 3


def test_soil_sample_dates(with_plots, engine, tmp_path):
    path = _csv(
        tmp_path / "soil_dates.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc\n"
        "D1,P1,,0,20,12\n"  # no date
        "D2,P2,2099-10-08,0,20,12\n"  # future
        "D3,P3,1923-10-08,0,20,12\n",  # before 1950
    )
    report = _rejected(engine, ingest_soil, with_plots, path)
    _error(report, 2, "date", "the sampling date is empty")
    _error(report, 3, "date", "2099-10-08 is in the future")
    _error(report, 4, "date", "1923-10-08 is before 1950")
    no_column = _csv(
        tmp_path / "soil_no_date.csv", "sample_id,plot_id,depth_top,depth_bottom,soc\nD1,P1,0,20,12\n"
    )
    report = _rejected(engine, ingest_soil, with_plots, no_column)
    _error(report, None, None, "required column date (采样日期) is missing")


def test_soil_layers_of_a_site_overlap_gap_and_start(with_plots, engine, tmp_path):
    path = _csv(
        tmp_path / "soil_layers.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc\n"
        "L1,P1,2023-10-08,0,20,12\n"
        "L2,P1,2023-10-08,15,30,10\n"  # row 3 overlaps row 2
        "L3,P2,2023-10-08,0,20,12\n"
        "L4,P2,2023-10-08,25,30,10\n"  # row 5: gap 20-25 cm below row 4
        "L5,P3,2023-10-08,10,30,10\n"  # row 6: the site starts at 10 cm
        "L6,P3,2023-10-09,0,20,12\n",  # another date: another site, fine
    )
    report = _rejected(engine, ingest_soil, with_plots, path)
    _error(
        report,
        3,
        "depth_top",
        "the layer 15-30 cm in row 3 (sample L2) overlaps the layer 0-20 cm in row 2 (sample L1) of the "
        "same sampling site (plot P1, 2023-10-08)",
    )
    _error(
        report, 5, "depth_top", "leaves a gap from 20 to 25 cm below the layer 0-20 cm in row 4 (sample L3)"
    )
    _error(
        report, 6, "depth_top", "of sampling site (plot P3, 2023-10-08) starts at 10 cm, not at the surface"
    )
    assert len(report.errors) == 3


def test_soil_layers_are_checked_against_stored_samples(with_plots, engine, tmp_path):
    first = _csv(
        tmp_path / "soil_a.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc\nS1,P1,2023-10-08,0,20,12\n",
    )
    assert _ingest(engine, ingest_soil, with_plots, first).status == "accepted"
    second = _csv(
        tmp_path / "soil_b.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc\nS2,P1,2023-10-08,10,30,10\n",
    )
    report = _rejected(engine, ingest_soil, with_plots, second)
    _error(report, 2, "depth_top", "overlaps the layer 0-20 cm in stored sample S1 of the same sampling site")
    # the next layer fits; re-uploading S1 itself with new depths replaces it
    third = _csv(
        tmp_path / "soil_c.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc\nS2,P1,2023-10-08,20,30,10\n",
    )
    assert _ingest(engine, ingest_soil, with_plots, third).inserted == 1
    fixed = _csv(
        tmp_path / "soil_d.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc\nS1,P1,2023-10-08,0,20,13\n",
    )
    assert _ingest(engine, ingest_soil, with_plots, fixed).updated == 1


@pytest.mark.parametrize(
    ("header", "row", "phrase"),
    [
        (
            "yield (kg/ha)",
            "P1,2024-10-05,harvest,maize,9.5",
            "9.5 kg/ha (= 0.0095 t ha-1) is below 0.3 t ha-1, the smallest plausible value of the yield: likely a unit mistake",
        ),
        ("n_rate (kg/ha)", "P1,2024-05-10,fertiliser,,0.18", "is below 1 kg N ha-1"),
        ("product_rate (kg/ha)", "P1,2024-05-10,fertiliser,,0.3", "is below 1 kg ha-1"),
        ("manure_rate (kg/ha)", "P1,2024-05-01,manure,,30", "(= 0.03 t ha-1) is below 0.1 t ha-1"),
        ("manure_c (%)", "P1,2024-05-01,manure,,0.08", "is below 0.5 %"),
        ("manure_n (%)", "P1,2024-05-01,manure,,0.015", "is below 0.05 %"),
        ("irrigation (mm)", "P1,2024-06-01,irrigation,,0.06", "is below 1 mm"),
        ("diesel (L/ha)", "P1,2024-04-20,fuel,,0.005", "is below 0.5 L per ha"),
    ],
)
def test_plausibility_floors(with_plots, engine, tmp_path, header, row, phrase):
    path = _csv(tmp_path / "floor.csv", f"plot_id,date,activity,crop,{header}\n{row}\n")
    report = _rejected(engine, ingest_logs, with_plots, path)
    e = _error(report, 2, header, phrase)
    assert "most often" in e.message and "check the value and the unit" in e.fix


def test_zero_yield_is_a_warning_and_zero_soc_an_error(with_plots, engine, tmp_path):
    path = _csv(
        tmp_path / "failed.csv", "plot_id,date,activity,crop,yield (t/ha)\nP1,2024-10-05,harvest,maize,0\n"
    )
    report = _ingest(engine, ingest_logs, with_plots, path)
    assert (
        report.status == "accepted"
        and "a yield of 0: recorded as a failed harvest" in report.warnings[0].message
    )
    soil = _csv(
        tmp_path / "soc0.csv",
        "sample_id,plot_id,date,depth_top,depth_bottom,soc,som\nZ1,P1,2023-10-08,0,20,0,\nZ2,P2,2023-10-08,0,20,,0.02\n",
    )
    report = _rejected(engine, ingest_soil, with_plots, soil)
    _error(report, 2, "soc", "0 g/kg is not a possible value of the SOC content")
    _error(report, 3, "som", "0.02 g/kg is below 1.7 g kg-1")


def _shapefile(tmp_path, encoding, names, *, cpg=False):
    """A zipped Shapefile of the four fixture plots written in ``encoding`` (no .cpg unless asked)."""
    geoms, attrs = utm_plots()
    attrs = {k: list(v) for k, v in attrs.items()}
    attrs["farmer_name"] = names
    gdf = gpd.GeoDataFrame(attrs, geometry=geoms, crs="EPSG:32651")
    gdf = gdf.rename(columns={c: c[:10] for c in gdf.columns if c != "geometry"})
    folder = tmp_path / f"shp_{encoding}"
    folder.mkdir()
    gdf.to_file(folder / "plots.shp", driver="ESRI Shapefile", engine="pyogrio", encoding=encoding)
    if not cpg:
        (folder / "plots.cpg").unlink()
    path = tmp_path / f"plots_{encoding.lower().replace('-', '')}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return path


def test_gbk_shapefile_without_cpg_is_read_as_gbk_with_a_warning(engine, project, tmp_path):
    # before: GDAL read the DBF as ISO-8859-1: farmer 张三 was stored as "ÕÅÈý", silently
    path = _shapefile(tmp_path, "GBK", ["张三", "张三", "李四", "王五"])
    report = _ingest(engine, ingest_plots, project, path)
    assert report.status == "accepted"
    (w,) = [i for i in report.warnings if "no .cpg file" in i.message]
    assert "read as GBK/GB18030" in w.message and w.row is None
    with session_scope(engine) as s:
        names = {f.external_id: (f.name, f.village) for f in s.scalars(sa.select(Farmer))}
    assert names == {"F1": ("张三", "二龙村"), "F2": ("李四", "孤家子村"), "F3": ("王五", "孤家子村")}


def test_utf8_shapefile_without_cpg_and_a_bare_shp(engine, project, tmp_path):
    path = _shapefile(tmp_path, "UTF-8", ["张三", "张三", "李四", "王五"])
    report = _ingest(engine, ingest_plots, project, path)
    assert report.status == "accepted" and report.warnings == []
    with session_scope(engine) as s:
        assert s.scalars(sa.select(Farmer.name).where(Farmer.external_id == "F2")).one() == "李四"
    # a bare .shp with its .dbf beside it, GBK: read the same way
    gbk = _shapefile(tmp_path, "GBK", ["张三", "张三", "李四", "赵六"])
    folder = tmp_path / "bare"
    shutil.unpack_archive(gbk, folder)
    assert _ingest(engine, ingest_plots, project, folder / "plots.shp").status == "accepted"
    with session_scope(engine) as s:
        assert s.scalars(sa.select(Farmer.name).where(Farmer.external_id == "F3")).one() == "赵六"


def test_shapefile_in_neither_utf8_nor_gbk_is_refused(engine, project, tmp_path):
    path = _shapefile(tmp_path, "UTF-8", ["aaaa", "aaaa", "bbbb", "cccc"])
    # replace one name's bytes with bytes valid in neither UTF-8 nor GB18030 (0x80 0xFF)
    data = bytearray(zipfile.ZipFile(path).read("plots.dbf"))
    k = data.index(b"bbbb")
    data[k : k + 4] = b"\x80\xff\x80\xff"
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["plots.dbf"] = bytes(data)
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    report = _rejected(engine, ingest_plots, project, path)
    e = _error(report, None, None, "the attribute table plots.dbf has no .cpg file naming its encoding")
    assert "neither UTF-8 nor GBK/GB18030" in e.message and "add a .cpg file" in e.fix


def test_xlsx_formula_without_cached_value(with_plots, engine, tmp_path):
    # openpyxl writes formulas without results; before, the cell read as empty: this row was
    # rejected for a missing N rate the user can see in the file (a text cell was stored empty)
    path = _xlsx(
        tmp_path / "formulas.xlsx",
        [
            ["plot_id", "date", "activity", "n_rate (kg/mu)", "n_rate (kg/ha)"],
            ["P1", "2024-05-10", "fertiliser", 12, None],
            ["P2", "2024-05-10", "fertiliser", None, "=D3*15"],
        ],
    )
    wb = openpyxl.load_workbook(path)
    wb.active.delete_cols(4)  # only the kg/ha column, computed from a column now gone
    wb.active["D2"] = 180
    wb.active["D3"] = "=C3*15"
    wb.save(path)
    report = _rejected(engine, ingest_logs, with_plots, path)
    e = _error(report, 3, "n_rate (kg/ha)", "cell D3 holds the formula =C3*15 but no computed value")
    assert e.fix.startswith("open and save the file in Excel or WPS") and len(report.errors) == 1
    # the same workbook after a spreadsheet program computed the formula: accepted
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    members["xl/worksheets/sheet1.xml"] = re.sub(
        r"(<f>C3\*15</f>)<v\s*/?>(</v>)?", r"\1<v>160</v>", sheet
    ).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    assert _ingest(engine, ingest_logs, with_plots, path).inserted == 2


def test_xlsx_without_formulas_is_not_parsed_twice(tmp_path, monkeypatch):
    path = _xlsx(tmp_path / "plain.xlsx", [["plot_id", "date"], ["P1", "2024-05-10"]])

    def boom(*args, **kwargs):
        raise AssertionError("a workbook without <f> elements was scanned for formulas")

    monkeypatch.setattr(xlsx_formulas, "_formulas_without_values", boom)
    headers, rows, _, _ = read_table(path)
    assert headers == ["plot_id", "date"] and rows == [(2, ["P1", "2024-05-10"])]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_header_only_files_are_rejected(with_plots, engine, tmp_path, kind):
    if kind == "csv":
        path = _csv(tmp_path / "empty.csv", f"{LOG_HEADER}\n\n")
    else:
        path = _xlsx(tmp_path / "empty.xlsx", [LOG_HEADER.split(",")])
    report = _rejected(engine, ingest_logs, with_plots, path)
    e = _error(report, None, None, "holds a header but no data rows")
    assert "fill in the data below the header row" in e.fix
    soil = _csv(tmp_path / "empty_soil.csv", "sample_id,plot_id,date,depth_top,depth_bottom,soc\n")
    _error(_rejected(engine, ingest_soil, with_plots, soil), None, None, "holds a header but no data rows")


def test_empty_plot_file_is_rejected(engine, project, tmp_path):
    path = tmp_path / "none.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    report = _rejected(engine, ingest_plots, project, path)
    assert any("holds no features" in e.message for e in report.errors)


def test_values_in_columns_without_a_header(with_plots, engine, tmp_path):
    path = _csv(
        tmp_path / "beyond.csv",
        "plot_id,date,activity,,notes\n"
        "P1,2024-04-20,sowing,,fine\n"
        "P1,2024-04-21,sowing,oops,fine\n"  # row 3: column D has no header
        "P1,2024-04-22,sowing,,a,b\n",  # row 4: one cell too many (F)
    )
    report = _rejected(engine, ingest_logs, with_plots, path)
    e = _error(report, 3, "D (column 4)", "holds 'oops' but the column has no header")
    assert "give the column a header, or delete the stray value" in e.fix
    _error(report, 4, "F (column 6)", "holds 'b' but the column has no header")
    assert len(report.errors) == 2
    xlsx = _xlsx(
        tmp_path / "beyond.xlsx", [["plot_id", "date", "activity"], ["P1", "2024-04-20", "sowing", None, 7]]
    )
    _error(
        _rejected(engine, ingest_logs, with_plots, xlsx),
        2,
        "E (column 5)",
        "holds '7' but the column has no header",
    )


# ------------------------------------------------------------------------- 3. valid input kept


def test_geojson_with_z_coordinates_is_accepted(engine, project, tmp_path):
    # a GPS export: GDAL reports EPSG:4979 (WGS 84 3D); before, "not accepted because its datum
    # shift to WGS 84 is uncertain"
    geoms, attrs = _wgs_plots()
    with_z = shapely.force_3d(np.asarray(geoms, dtype=object), z=215.0)
    fc = _feature_collection(with_z, attrs)
    path = tmp_path / "gps.geojson"
    path.write_text(json.dumps(fc), encoding="utf-8")
    assert gpd.read_file(path, engine="pyogrio").crs.to_epsg() == 4979
    report = _ingest(engine, ingest_plots, project, path)
    assert report.status == "accepted" and report.inserted == 4 and report.warnings == []
    with session_scope(engine) as s:
        plots = {p.external_id: p for p in s.scalars(sa.select(Plot))}
    for pid, area in EXPECTED_AREA_HA.items():
        assert plots[pid].area_ha == pytest.approx(area, abs=1e-6)
        assert shapely.from_wkt(plots[pid].geometry_wkt).has_z is False


def test_nothing_from_a_rejected_upload_reaches_activity_or_soil_tables(with_plots, engine, tmp_path):
    # one good row and one bad row: the good one is not written either
    path = _csv(
        tmp_path / "mixed.csv",
        "plot_id,date,activity,crop,yield (t/ha)\nP1,2024-10-05,harvest,maize,9.5\nP2,2024-10-05,harvest,maize,0.0095\n",
    )
    _rejected(engine, ingest_logs, with_plots, path)
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count(ActivityRecord.id))) == 0
        assert s.scalar(sa.select(sa.func.count(SoilSample.id))) == 0
