"""Soil-sample ingest: SOM -> SOC, stocks, points matched to plots, idempotency, rejections."""

from __future__ import annotations

import pyproj
import pytest
import sqlalchemy as sa

from mrv_service.ingest import IngestError, ingest_soil
from mrv_service.ingest.soil import SOM_TO_SOC, soc_from_som, soc_stock_t_ha
from mrv_service.store.db import session_scope
from mrv_service.store.models import Plot, SoilSample
from tests.mrv_service.conftest import DATA, X0, Y0, table_counts


def _samples(engine) -> dict[str, tuple[str | None, SoilSample]]:
    with session_scope(engine) as s:
        rows = s.execute(
            sa.select(Plot.external_id, SoilSample).outerjoin(Plot, SoilSample.plot_id == Plot.id)
        ).all()
    return {r.sample_id: (pid, r) for pid, r in rows}


def test_conversion_factor_and_stock_equation():
    # van Bemmelen: SOM = 1.724 x SOC (NY/T 1121.6-2006), so SOC = SOM / 1.724 = 0.58 SOM
    assert SOM_TO_SOC == pytest.approx(1 / 1.724, abs=5e-4)
    assert soc_from_som(25.0) == pytest.approx(14.5)
    # 1 % SOC (10 g/kg), 1.3 g/cm3, 0-20 cm: 0.01 x 1.3 g/cm3 x 20 cm = 0.26 g C/cm2 = 26 t C/ha
    assert soc_stock_t_ha(10.0, 1.3, 20.0) == pytest.approx(26.0)
    # 10 % coarse fragments remove 10 % of the stock
    assert soc_stock_t_ha(10.0, 1.3, 20.0, 0.1) == pytest.approx(23.4)


def test_som_only_rows_and_idempotency(with_plots, engine):
    with session_scope(engine) as s:
        report = ingest_soil(s, with_plots, DATA / "soil_som.csv")
    assert report.status == "accepted" and report.inserted == 3
    got = _samples(engine)
    pid, s1 = got["S1"]
    assert pid == "P1" and s1.som_g_kg == 25.0 and s1.soc_measured_g_kg is None
    assert s1.soc_g_kg == pytest.approx(14.5)  # 25 x 0.58
    assert s1.soc_stock_t_ha == pytest.approx(37.7)  # 14.5 x 1.30 x 20 x 0.1
    _, s2 = got["S2"]
    assert s2.coarse_fraction == pytest.approx(0.1)  # 10 % in the header unit
    assert s2.soc_stock_t_ha == pytest.approx(14.094)  # 11.6 x 1.35 x 10 x 0.9 x 0.1
    _, s3 = got["S3"]
    assert s3.soc_g_kg == 12.0 and s3.soc_stock_t_ha == pytest.approx(30.0) and s3.method == "dry_combustion"
    assert s1.method == "dichromate"
    before = table_counts(engine)
    with session_scope(engine) as s:
        assert ingest_soil(s, with_plots, DATA / "soil_som.csv").status == "already_ingested"
    assert table_counts(engine) == before


def test_point_samples_are_matched_to_plots(with_plots, engine, tmp_path):
    lon, lat = pyproj.Transformer.from_crs(32651, 4326, always_xy=True).transform(
        X0 + 40, Y0 + 150
    )  # inside P3
    far_lon, far_lat = lon + 0.1, lat
    path = tmp_path / "points.csv"
    path.write_text(
        "sample_id,lon,lat,date,depth_top (cm),depth_bottom (cm),soc (%),bulk_density (g/cm3)\n"
        f"A1,{lon:.7f},{lat:.7f},2023-10-08,0,20,1.2,1.3\n"
        f"A2,{far_lon:.7f},{far_lat:.7f},2023-10-08,0,20,1.0,1.3\n",
        encoding="utf-8",
    )
    with session_scope(engine) as s:
        report = ingest_soil(s, with_plots, path)
    got = _samples(engine)
    assert got["A1"][0] == "P3" and got["A1"][1].soc_g_kg == pytest.approx(12.0)  # 1.2 % = 12 g/kg
    assert got["A2"][0] is None
    assert report.rows_warned == 1 and len(report.warnings) == 1
    assert str(report.warnings[0]).startswith("points.csv row 3, column lon: point (")
    assert "lies in no plot of the project" in report.warnings[0].message


def test_bad_rows_reject_the_file(with_plots, engine, tmp_path):
    path = tmp_path / "bad_soil.csv"
    path.write_text(
        "样品编号,地块编号,采样日期,上层深度(cm),下层深度(cm),有机质(g/kg),容重(g/cm3)\n"
        "B1,P1,2023-10-08,20,10,25,1.3\n"  # row 2: bottom above top
        "B2,P1,2023-10-08,0,20,,1.3\n"  # row 3: neither SOC nor SOM
        "B3,P1,2023-10-08,0,20,25,2.6\n"  # row 4: BD out of range
        "B4,P77,2023-10-08,0,20,25,1.3\n",  # row 5: unknown plot
        encoding="utf-8",
    )
    before = table_counts(engine)
    with session_scope(engine) as s:
        with pytest.raises(IngestError) as info:
            ingest_soil(s, with_plots, path)
    errors = [str(e) for e in info.value.report.errors]
    assert errors == [
        "bad_soil.csv row 2, column 下层深度(cm): bottom depth 10 cm is not below the top depth 20 cm; "
        "enter depths as distances from the surface, top < bottom (e.g. 0 and 20)",
        "bad_soil.csv row 3, column 有机质(g/kg): neither SOC nor SOM is given; enter the lab's SOC or SOM [g/kg]",
        "bad_soil.csv row 4, column 容重(g/cm3): 2.6 g/cm3 is outside the plausible range 0.5-2 g cm-3; "
        "check the value and the unit in the column header",
        "bad_soil.csv row 5, column 地块编号: plot 'P77' is not in project 'test-lishu'; "
        "correct the plot id, or upload the plot first",
    ]
    assert table_counts(engine) == before
