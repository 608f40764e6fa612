"""Activity-log ingest: Chinese CSV per mu, English XLSX per ha, idempotency, rejected rows."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest
import sqlalchemy as sa

from mrv_service.ingest import IngestError, ingest_logs
from mrv_service.store.db import session_scope
from mrv_service.store.models import ActivityRecord, Plot, Upload
from mrv_service.store.projects import project_summary
from tests.mrv_service.conftest import DATA, table_counts


def _records(engine) -> dict[tuple[str, str, str], ActivityRecord]:
    with session_scope(engine) as s:
        rows = s.execute(sa.select(Plot.external_id, ActivityRecord).join(Plot)).all()
    return {(pid, r.date.isoformat(), r.activity): r for pid, r in rows}


def _write_xlsx(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_chinese_csv_per_mu_is_converted(with_plots, engine):
    with session_scope(engine) as s:
        report = ingest_logs(s, with_plots, DATA / "logs_zh.csv")
    assert report.status == "accepted" and report.rows_total == 8
    assert (report.inserted, report.updated, report.unchanged) == (8, 0, 0)
    rec = _records(engine)
    # tillage: 0.8 L/mu x 15 mu/ha x 0.5 ha (P1) = 6.0 L diesel for the plot
    till = rec[("P1", "2024-04-20", "tillage")]
    assert till.method == "no_till" and till.crop == "maize"
    assert till.attributes == {"diesel": pytest.approx(6.0), "notes": "免耕播种机作业"}
    # sowing date written 2024/04/25; fertiliser date written 2024年5月10日
    assert ("P1", "2024-04-25", "sowing") in rec
    fert = rec[("P1", "2024-05-10", "fertiliser")].attributes
    # urea 20 kg/mu = 300 kg/ha at 46 % N -> 138 kg N/ha
    assert fert["product"] == "urea" and fert["product_rate"] == pytest.approx(300.0)
    assert fert["n_rate"] == pytest.approx(138.0)
    # compound fertiliser with N rate 12 kg N/mu = 180 kg N/ha
    assert rec[("P2", "2024-05-10", "fertiliser")].attributes == {
        "product": "compound",
        "n_rate": pytest.approx(180.0),
    }
    # 40 m3/mu = 40 m3 / 666.67 m2 = 0.06 m = 60 mm
    assert rec[("P1", "2024-06-01", "irrigation")].attributes == {"irrigation": pytest.approx(60.0)}
    # cattle manure 2 t/mu = 30 t/ha fresh
    assert rec[("P2", "2024-05-01", "manure")].attributes == {
        "manure_type": "cattle",
        "manure_rate": pytest.approx(30.0),
    }
    # 1200 jin/mu = 600 kg/mu = 9000 kg/ha = 9.0 t/ha
    assert rec[("P1", "2024-10-05", "harvest")].attributes == {"yield": pytest.approx(9.0)}
    # residue mulched, 80 % retained
    res = rec[("P1", "2024-10-06", "residue")]
    assert res.method == "mulched" and res.attributes == {"residue_fraction": pytest.approx(0.8)}
    with session_scope(engine) as s:
        summary = project_summary(s, with_plots)
    assert summary["activity_records"]["by_type"] == {
        "fertiliser": 2,
        "harvest": 1,
        "irrigation": 1,
        "manure": 1,
        "residue": 1,
        "sowing": 1,
        "tillage": 1,
    }


def test_english_xlsx_per_ha(with_plots, engine, tmp_path):
    path = _write_xlsx(
        tmp_path / "logs_en.xlsx",
        [
            [
                "plot_id",
                "date",
                "activity",
                "crop",
                "method",
                "yield (t/ha)",
                "n_rate (kg N/ha)",
                "diesel (L/ha)",
            ],
            ["P3", dt.datetime(2025, 4, 28), "tillage", "maize", "no-till", None, None, 10],
            ["P3", "2025-05-02", "Fertilizer", None, None, None, 160, None],
            [None, None, None, None, None, None, None, None],  # blank row: skipped, keeps numbering
            ["P4", "2025-10-01", "harvest", "corn", None, 10.5, None, None],
        ],
    )
    with session_scope(engine) as s:
        report = ingest_logs(s, with_plots, path)
    assert report.status == "accepted" and report.rows_total == 3 and report.inserted == 3
    rec = _records(engine)
    assert rec[("P3", "2025-04-28", "tillage")].attributes == {
        "diesel": pytest.approx(8.0)
    }  # 10 L/ha x 0.8 ha
    assert rec[("P3", "2025-05-02", "fertiliser")].attributes == {"n_rate": pytest.approx(160.0)}
    harvest = rec[("P4", "2025-10-01", "harvest")]
    assert harvest.crop == "maize" and harvest.attributes == {"yield": pytest.approx(10.5)}


def test_again_and_same_rows_in_another_file_change_nothing(with_plots, engine, tmp_path):
    with session_scope(engine) as s:
        ingest_logs(s, with_plots, DATA / "logs_zh.csv")
    before = table_counts(engine)
    with session_scope(engine) as s:
        again = ingest_logs(s, with_plots, DATA / "logs_zh.csv")
    assert again.status == "already_ingested" and table_counts(engine) == before
    # the same rows as an XLSX workbook: other bytes, same natural keys and values
    with open(DATA / "logs_zh.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    xlsx = _write_xlsx(tmp_path / "logs_copy.xlsx", rows)
    with session_scope(engine) as s:
        report = ingest_logs(s, with_plots, xlsx)
        n_uploads = s.scalar(sa.select(sa.func.count(Upload.id)))
    assert report.status == "accepted"
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 8)
    assert table_counts(engine) == before and n_uploads == 3  # plots, logs, the copy


def test_corrected_row_updates_the_record(with_plots, engine, tmp_path):
    with session_scope(engine) as s:
        ingest_logs(s, with_plots, DATA / "logs_zh.csv")
    text = (
        (DATA / "logs_zh.csv")
        .read_text(encoding="utf-8")
        .replace("P2,2024-05-10,施肥,,,,复合肥,,,12", "P2,2024-05-10,施肥,,,,复合肥,,,14")
    )
    path = tmp_path / "logs_fixed.csv"
    path.write_text(text, encoding="utf-8")
    with session_scope(engine) as s:
        report = ingest_logs(s, with_plots, path)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 7)
    assert _records(engine)[("P2", "2024-05-10", "fertiliser")].attributes["n_rate"] == pytest.approx(210.0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "logs_bad_date.csv",
            "logs_bad_date.csv row 3, column 日期: '2024-13-45' is not a date; write dates as YYYY-MM-DD",
        ),
        (
            "logs_bad_nrate.csv",
            "logs_bad_nrate.csv row 3, column 施氮量(公斤/亩): 'abc' is not a number; enter the N rate as a number in kg/mu",
        ),
        (
            "logs_unknown_plot.csv",
            "logs_unknown_plot.csv row 3, column 地块编号: plot 'P99' is not in project 'test-lishu'; correct the plot id",
        ),
    ],
)
def test_broken_files_are_rejected_and_write_nothing(with_plots, engine, name, expected):
    before = table_counts(engine)
    with session_scope(engine) as s:
        with pytest.raises(IngestError) as info:
            ingest_logs(s, with_plots, DATA / name)
    report = info.value.report
    assert len(report.errors) == 1 and str(report.errors[0]).startswith(expected), report.to_text()
    assert report.errors[0].row == 3
    assert expected in str(info.value)
    assert report.rows_total == 2 + (name != "logs_unknown_plot.csv") and report.rows_rejected == 1
    assert table_counts(engine) == before  # the good rows were not written either
    with session_scope(engine) as s:
        up = s.scalars(sa.select(Upload).where(Upload.file_name == name)).one()
    assert up.status == "rejected" and up.rows_rejected == 1 and up.report["issues"][0]["row"] == 3


def test_value_and_vocabulary_checks(with_plots, engine, tmp_path):
    path = tmp_path / "checks.csv"
    path.write_text(
        "plot_id,date,activity,method,n_rate (kg/mu),yield (t/ha),product_rate(kg/ha),n_content(%)\n"
        "P1,2024-04-20,tillage,harrowing,,,,\n"  # row 2: unknown tillage method
        "P1,2024-05-10,fertiliser,,100,,,\n"  # row 3: 100 kg/mu = 1500 kg N/ha
        "P1,2024-10-05,harvest,,,30,,\n"  # row 4: 30 t/ha
        "P1,2024-05-11,fertiliser,,,,,\n"  # row 5: no N information
        "P1,2024-05-12,dancing,,,,,\n"  # row 6: unknown activity
        "P2,2024-05-10,fertiliser,,10,,,\n"  # row 7 and 8: same key, other values
        "P2,2024-05-10,fertiliser,,11,,,\n"
        "P3,2099-05-10,sowing,,,,,\n",  # row 9: in the future
        encoding="utf-8",
    )
    with session_scope(engine) as s:
        with pytest.raises(IngestError) as info:
            ingest_logs(s, with_plots, path)
    errors = {(e.row, e.column): e.message for e in info.value.report.errors}
    assert errors[(2, "method")] == "unknown tillage method 'harrowing'"
    assert (
        errors[(3, "n_rate (kg/mu)")]
        == "100 kg/mu (= 1500 kg N ha-1) is outside the plausible range 0-600 kg N ha-1"
    )
    assert errors[(4, "yield (t/ha)")] == "30 t/ha is outside the plausible range 0-25 t ha-1"
    assert errors[(5, "n_rate (kg/mu)")].startswith("a fertiliser row needs the N rate")
    assert errors[(6, "activity")] == "unknown activity 'dancing'"
    assert errors[(8, "date")].startswith("conflicts with row 7")
    assert errors[(9, "date")] == "2099-05-10 is in the future"
    assert len(errors) == 7


def test_xlsx_continuation_sheets_and_serial_dates(with_plots, engine, tmp_path):
    # a log split over two sheets with the same header (as beyond Excel's row limit); the second
    # sheet's date is a bare serial number: 45383 days after 1899-12-30 = 2024-04-01
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "activity_logs"
    ws.append(["plot_id", "date", "activity", "method", "n_rate (kg/ha)"])
    ws.append(["P1", "2024-04-20", "tillage", "rotary", None])
    ws2 = wb.create_sheet("activity_logs_2")
    ws2.append(["plot_id", "date", "activity", "method", "n_rate (kg/ha)"])
    ws2.append(["P2", 45383, "tillage", "subsoiling", None])
    ws2.append(["P2", "2024-05-01", "fertiliser", None, "lots"])
    wb.save(tmp_path / "split.xlsx")
    with session_scope(engine) as s:
        with pytest.raises(IngestError) as info:
            ingest_logs(s, with_plots, tmp_path / "split.xlsx")
    (e,) = info.value.report.errors
    assert str(e).startswith(
        "split.xlsx sheet 'activity_logs_2' row 3, column n_rate (kg/ha): 'lots' is not a number"
    )
    ws2.delete_rows(3)
    wb.save(tmp_path / "split_ok.xlsx")
    with session_scope(engine) as s:
        report = ingest_logs(s, with_plots, tmp_path / "split_ok.xlsx")
    assert report.inserted == 2
    assert _records(engine)[("P2", "2024-04-01", "tillage")].method == "subsoiling"
