"""Weather ingest: monthly and daily files, units, PET, stations, idempotency, rejections.

Every hand calculation is written next to its assertion. Runs on SQLite and PostgreSQL (the
``engine`` fixture).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import sqlalchemy as sa

from models.rothc import RothCParameters
from models.weather import missing_months
from mrv_service.ingest import IngestError
from mrv_service.ingest.weather import (
    PAN_PER_PET,
    ddmm_to_degrees,
    ingest_weather,
    month_range,
    month_start,
    parse_month,
)
from mrv_service.sample.generator import WEATHER_COLUMNS, _simulate_weather
from mrv_service.store.db import session_scope
from mrv_service.store.models import Upload, WeatherMonth, WeatherStation
from mrv_service.store.weather import MONTHLY_COLUMNS, STATION_COLUMNS, load_weather
from tests.mrv_service.conftest import table_counts

# --------------------------------------------------------------------------------------- helpers


def weather_counts(engine) -> dict[str, int]:
    """:func:`table_counts` plus the weather tables (uploads excluded)."""
    counts = table_counts(engine)
    with engine.connect() as conn:
        for t in ("weather_stations", "weather_months"):
            counts[t] = conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
    return counts


def _csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _ingest(engine, project, path):
    with session_scope(engine) as s:
        return ingest_weather(s, project, path)


def _rejected(engine, project, path) -> list[str]:
    """Ingest ``path`` expecting a rejection; checks nothing but the Upload row was written and
    returns the errors as text."""
    before = weather_counts(engine)
    with session_scope(engine) as s:
        n_uploads = s.scalar(sa.select(sa.func.count()).select_from(Upload))
        with pytest.raises(IngestError) as info:
            ingest_weather(s, project, path)
    report = info.value.report
    assert report.status == "rejected" and report.kind == "weather"
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 0)
    assert weather_counts(engine) == before
    with session_scope(engine) as s:
        uploads = s.scalars(sa.select(Upload).order_by(Upload.id)).all()
        assert len(uploads) == n_uploads + 1
        assert (uploads[-1].kind, uploads[-1].status, uploads[-1].file_name) == (
            "weather",
            "rejected",
            path.name,
        )
    return [str(e) for e in report.errors]


def _months(engine) -> dict[tuple[str, str], WeatherMonth]:
    with session_scope(engine) as s:
        rows = s.execute(sa.select(WeatherStation.station_id, WeatherMonth).join(WeatherStation)).all()
    return {(sid, m.month.isoformat()[:7]): m for sid, m in rows}


def _stations(engine) -> dict[str, WeatherStation]:
    with session_scope(engine) as s:
        return {st.station_id: st for st in s.scalars(sa.select(WeatherStation))}


def _monthly(year_months, values=(1.0, 10.0, 20.0)) -> str:
    """Body rows ``year,month,t,p,e`` for the sample county's columns."""
    t, p, e = values
    return "".join(f"{y},{m},{t},{p},{e}\n" for y, m in year_months)


def _daily_rows(month: dt.date, skip=(), value=lambda d: (0, 0, 0)) -> list[str]:
    """``date,t,p,e`` rows for every day of ``month`` except the days in ``skip``."""
    out = []
    d = month
    while d.month == month.month:
        if d.day not in skip:
            out.append(f"{d.isoformat()},{','.join(str(v) for v in value(d))}\n")
        d += dt.timedelta(days=1)
    return out


SAMPLE_HEADER = ",".join(WEATHER_COLUMNS) + "\n"
TODAY = dt.date.today()


# ------------------------------------------------------------------------------- pure helpers


def test_pet_to_pan_factor_is_rothc_evap_factor():
    # RothC-26.3 uses 0.75 x open-pan evaporation (RothC.for:232): pan = PET / 0.75
    assert RothCParameters().evap_factor == 0.75
    assert PAN_PER_PET * RothCParameters().evap_factor == pytest.approx(1.0, abs=1e-15)
    assert 75.0 * PAN_PER_PET == pytest.approx(100.0)


def test_month_helpers_and_coverage():
    assert month_start(dt.date(2024, 2, 29)) == dt.date(2024, 2, 1)
    assert month_start(np.datetime64("2024-07-15")) == dt.date(2024, 7, 1)
    assert month_start("2024-07") == dt.date(2024, 7, 1)
    assert month_range("2023-11", "2024-02-10") == [
        dt.date(2023, 11, 1),
        dt.date(2023, 12, 1),
        dt.date(2024, 1, 1),
        dt.date(2024, 2, 1),
    ]
    for text in ("2024-05", "2024/5", "2024年5月", "2024年05月", "202405", "2024-05-01"):
        assert parse_month(text) == dt.date(2024, 5, 1), text
    assert parse_month(dt.datetime(2024, 5, 1)) == dt.date(2024, 5, 1)
    for bad in ("2024-13", "May 2024", 2024.1, dt.date(2024, 5, 2), "2024-05-02"):
        with pytest.raises(ValueError):
            parse_month(bad)
    # CMA degree-minutes: 124 deg 22 min = 124 + 22/60; 43 deg 26 min = 43 + 26/60
    assert ddmm_to_degrees(12422) == pytest.approx(124.366667, abs=1e-6)
    assert ddmm_to_degrees(4326) == pytest.approx(43.433333, abs=1e-6)
    with pytest.raises(ValueError):
        ddmm_to_degrees(4375)  # 75 minutes

    # coverage of the run's period is models.weather.missing_months, per station, as YYYY-MM
    months = {
        "54157": [dt.date(2023, m, 1) for m in range(1, 13)],
        "54161": [dt.date(2023, m, 1) for m in (1, 2, 5, 6, 7, 8, 9, 10, 11)],
    }
    assert {
        sid: missing_months(have, dt.date(2023, 1, 15), dt.date(2023, 12, 31)) for sid, have in months.items()
    } == {
        "54157": [],
        "54161": ["2023-03", "2023-04", "2023-12"],
    }
    import pandas as pd

    frame = pd.DataFrame({"station_id": ["a", "a"], "month": pd.to_datetime(["2024-01-01", "2024-03-01"])})
    assert {
        sid: missing_months(g["month"], "2024-01", "2024-03") for sid, g in frame.groupby("station_id")
    } == {"a": ["2024-02"]}


# --------------------------------------------------------------------------- accepted files


def test_sample_county_columns_are_understood(engine, project, tmp_path):
    df = _simulate_weather(np.random.default_rng(7))[list(WEATHER_COLUMNS)]
    path = tmp_path / "weather_monthly.csv"
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")  # as the generator writes it
    report = _ingest(engine, project, path)
    # tmean_degC, precip_mm, pan_evap_mm: units glued with "_" are read as units, so no warnings
    assert report.status == "accepted" and report.issues == []
    assert (report.rows_total, report.inserted) == (300, 300)
    with session_scope(engine) as s:
        stations, monthly = load_weather(s, project)
    assert list(stations.columns) == list(STATION_COLUMNS) and list(monthly.columns) == list(MONTHLY_COLUMNS)
    assert stations["station_id"].tolist() == ["project"]
    assert stations["lon"].isna().all() and stations["name"].isna().all()
    assert str(monthly["month"].dtype) == "datetime64[ns]"
    assert monthly["month"].iloc[0] == np.datetime64("2001-01-01")
    assert monthly["month"].iloc[-1] == np.datetime64("2025-12-01")
    for col in ("tmean_degC", "precip_mm", "pan_evap_mm"):
        np.testing.assert_array_equal(monthly[col].to_numpy(), df[col].to_numpy())
    m = _months(engine)[("project", "2001-01")]
    assert (m.evap_source, m.days, m.source_row) == ("pan", None, 2)


def test_units_in_headers_are_converted(engine, project, tmp_path):
    path = _csv(
        tmp_path / "units.csv",
        "year,month,tmean (0.1°C),precip (cm),ET0 (mm)\n"
        "2023,1,-136,0.45,7.5\n"  # -13.6 degC, 4.5 mm, PET 7.5 mm -> pan 10 mm
        "2023,2,-85,1.2,75\n",  # -8.5 degC, 12 mm, PET 75 mm -> pan 100 mm
    )
    report = _ingest(engine, project, path)
    assert report.status == "accepted" and report.inserted == 2 and report.issues == []
    got = _months(engine)
    jan, feb = got[("project", "2023-01")], got[("project", "2023-02")]
    assert (jan.tmean_degc, jan.precip_mm, jan.pan_evap_mm) == (-13.6, 4.5, 10.0)
    assert (feb.tmean_degc, feb.precip_mm, feb.pan_evap_mm) == (-8.5, 12.0, 100.0)
    assert jan.evap_source == feb.evap_source == "pet"


def test_chinese_headers_gb18030_and_combined_month(engine, project, tmp_path):
    path = _csv(
        tmp_path / "气象.csv",
        "年,月,平均气温(℃),降水量(毫米),小型蒸发皿蒸发量(0.1毫米)\n2023,1,-13.5,4.0,55\n2023,2月,-8.4,6.5,120\n",
        encoding="gb18030",
    )
    report = _ingest(engine, project, path)
    assert report.status == "accepted" and report.inserted == 2
    assert [i.message for i in report.warnings] == ["the file is not UTF-8; it was read as GB18030 (GBK)"]
    got = _months(engine)
    assert (got[("project", "2023-02")].tmean_degc, got[("project", "2023-02")].pan_evap_mm) == (-8.4, 12.0)
    # one 年月 column (2023年3月, 2023-04) and units glued to Chinese names (降水量mm, 平均气温℃)
    path2 = _csv(
        tmp_path / "气象2.csv",
        "年月,平均气温℃,降水量mm,参考作物蒸散量(mm)\n2023年3月,-0.2,12,30\n2023-04,9.6,25.5,60\n",
    )
    report = _ingest(engine, project, path2)
    assert report.status == "accepted" and report.inserted == 2 and report.issues == []
    got = _months(engine)
    mar, apr = got[("project", "2023-03")], got[("project", "2023-04")]
    assert (mar.tmean_degc, mar.precip_mm, mar.pan_evap_mm, mar.evap_source) == (-0.2, 12.0, 40.0, "pet")
    assert (apr.tmean_degc, apr.precip_mm, apr.pan_evap_mm) == (9.6, 25.5, 80.0)  # 60 / 0.75 = 80


def test_xlsx_with_month_dates(engine, project, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["month", "tmean (degC)", "precip (mm)", "pan_evap (mm)"])
    # a spreadsheet turns a typed 2023-05 into the date 2023-05-01
    ws.append([dt.datetime(2023, 5, 1), 17.2, 55.0, 180.5])
    ws.append([dt.datetime(2023, 6, 1), 21.9, 90.0, 175.0])
    path = tmp_path / "weather.xlsx"
    wb.save(path)
    report = _ingest(engine, project, path)
    assert report.status == "accepted" and report.inserted == 2 and report.issues == []
    assert _months(engine)[("project", "2023-06")].precip_mm == 90.0


def test_daily_rows_are_aggregated_to_months(engine, project, tmp_path):
    def feb(d):  # tenths: T = d - 15 degC, 1 mm on odd days, 2.5 mm pan evaporation a day
        return (10 * d.day - 150, 10 if d.day % 2 else 0, 25)

    def mar(d):  # T = d - 15 degC, 123.4 mm on the 10th only, 2.5 mm pan a day
        return (10 * d.day - 150, 1234 if d.day == 10 else 0, 25)

    rows = _daily_rows(dt.date(2024, 2, 1), value=feb) + _daily_rows(dt.date(2024, 3, 1), value=mar)
    path = _csv(
        tmp_path / "daily.csv",
        "日期,平均气温(0.1℃),20-20时降水量(0.1mm),小型蒸发量(0.1mm)\n" + "".join(rows),
    )
    report = _ingest(engine, project, path)
    assert report.status == "accepted" and report.rows_total == 29 + 31 and report.inserted == 2
    assert report.issues == []
    got = _months(engine)
    f, m = got[("project", "2024-02")], got[("project", "2024-03")]
    # Feb 2024 (leap year, 29 days): mean of (1..29) - 15 = 15 - 15 = 0 degC; 15 odd days x 1 mm;
    # 29 x 2.5 mm = 72.5 mm
    assert (f.tmean_degc, f.precip_mm, f.pan_evap_mm, f.days, f.source_row) == (0.0, 15.0, 72.5, 29, 2)
    # Mar: mean of (1..31) - 15 = 16 - 15 = 1 degC; 123.4 mm; 31 x 2.5 = 77.5 mm; first row 2 + 29
    assert (m.tmean_degc, m.precip_mm, m.pan_evap_mm, m.days, m.source_row) == (1.0, 123.4, 77.5, 31, 31)
    assert f.evap_source == "pan"


def test_daily_rows_with_year_month_day_columns_and_pet(engine, project, tmp_path):
    lines = "".join(f"2023,6,{d},{20 + d % 3},{2.0 if d == 1 else 0},3\n" for d in range(1, 31))
    path = _csv(tmp_path / "ymd.csv", "年,月,日,平均气温(℃),降水量(mm),ET0(mm)\n" + lines)
    report = _ingest(engine, project, path)
    assert report.status == "accepted" and report.inserted == 1
    june = _months(engine)[("project", "2023-06")]
    # d % 3 over 1..30 is 10 x (1, 2, 0): mean 21 degC; 2 mm; 30 x 3 mm PET = 90 mm -> pan 120 mm
    assert (june.tmean_degc, june.precip_mm, june.pan_evap_mm, june.days) == (21.0, 2.0, 120.0, 30)
    assert june.evap_source == "pet"


def test_identical_duplicate_day_is_a_warning(engine, project, tmp_path):
    rows = _daily_rows(dt.date(2023, 4, 1), value=lambda d: (5.0, 1.0, 3.0))
    path = _csv(tmp_path / "dup.csv", "date,tmean(degC),precip(mm),pan_evap(mm)\n" + "".join(rows) + rows[4])
    report = _ingest(engine, project, path)
    assert report.status == "accepted" and report.inserted == 1
    assert [str(w) for w in report.warnings] == [
        "dup.csv row 32, column date: repeats row 6 (2023-04-05, same values); counted once; delete the duplicate row"
    ]
    assert _months(engine)[("project", "2023-04")].precip_mm == 30.0  # 30 days x 1 mm, the repeat not added


def test_two_stations_with_locations(engine, project, tmp_path):
    header = "station_id,station_name,lon,lat,year,month,tmean_degC,precip_mm,pan_evap_mm\n"
    body = "".join(
        f"{sid},{name},{lon},{lat},2023,{m},{t + m},{10 * m},{20 * m}\n"
        for sid, name, lon, lat, t in (
            ("54157", "四平", 124.33, 43.17, -15),
            ("54161", "长春", 125.22, 43.9, -17),
        )
        for m in (1, 2, 3)
    )
    report = _ingest(engine, project, _csv(tmp_path / "stations.csv", header + body))
    assert report.status == "accepted" and report.inserted == 6 and report.issues == []
    st = _stations(engine)
    assert sorted(st) == ["54157", "54161"]
    assert (st["54157"].name, st["54157"].lon, st["54157"].lat) == ("四平", 124.33, 43.17)
    assert (st["54161"].name, st["54161"].lon, st["54161"].lat) == ("长春", 125.22, 43.9)
    got = _months(engine)
    assert got[("54161", "2023-02")].tmean_degc == -15.0 and got[("54157", "2023-02")].tmean_degc == -13.0
    # a third station in CMA degree-minutes: 12450 = 124 deg 50 min = 124.8333; 4330 = 43.5
    path = _csv(
        tmp_path / "cma.csv",
        "区站号,站名,经度(度分),纬度(度分),年,月,平均气温(0.1℃),降水量(0.1mm),蒸发量(0.1mm)\n"
        "54162,梨树,12450,4330,2023,1,-140,45,60\n",
    )
    report = _ingest(engine, project, path)
    assert report.status == "accepted" and report.issues == []
    lishu = _stations(engine)["54162"]
    assert lishu.lon == pytest.approx(
        124 + 50 / 60, abs=1e-6
    )  # 9 significant digits and lishu.lat == pytest.approx(43.5)
    assert _months(engine)[("54162", "2023-01")].tmean_degc == -14.0
    with session_scope(engine) as s:
        stations, monthly = load_weather(s, project)
    assert stations["station_id"].tolist() == ["54157", "54161", "54162"]
    assert monthly["station_id"].tolist() == ["54157"] * 3 + ["54161"] * 3 + ["54162"]
    assert monthly["precip_mm"].tolist() == [10.0, 20.0, 30.0, 10.0, 20.0, 30.0, 4.5]


def test_stations_named_without_ids(engine, project, tmp_path):
    header = "站名,经度(°E),纬度(°N),年,月,平均气温(℃),降水量(mm),蒸发量(mm)\n"
    body = "四平,124.33,43.17,2023,1,-13,4,5\n梨树,124.33,43.33,2023,1,-13.5,3,5\n"
    report = _ingest(engine, project, _csv(tmp_path / "named.csv", header + body))
    assert report.status == "accepted" and report.inserted == 2 and report.issues == []
    st = _stations(engine)
    assert sorted(st) == ["四平", "梨树"] and st["梨树"].name == "梨树" and st["梨树"].lat == 43.33


def test_station_location_change_is_stored_with_a_warning(engine, project, tmp_path):
    header = "站号,经度,纬度,年,月,平均气温(℃),降水量(mm),蒸发量(mm)\n"
    _ingest(engine, project, _csv(tmp_path / "a.csv", header + "54157,124.33,43.17,2023,1,-13,4,5\n"))
    report = _ingest(
        engine, project, _csv(tmp_path / "b.csv", header + "54157,124.35,43.17,2023,1,-13,4,5\n")
    )
    assert report.status == "accepted" and report.unchanged == 1
    assert [str(w) for w in report.warnings] == [
        "b.csv row 2, column 经度: station '54157' was stored at (124.33, 43.17) (upload 1); its location is now "
        "(124.35, 43.17) for all its months; if the station moved, give the new site its own station_id"
    ]
    assert _stations(engine)["54157"].lon == 124.35


def test_idempotency(engine, project, tmp_path):
    months = [(2022, m) for m in range(1, 13)]
    first = _csv(tmp_path / "w2022.csv", SAMPLE_HEADER + _monthly(months))
    report = _ingest(engine, project, first)
    assert (report.inserted, report.updated, report.unchanged) == (12, 0, 0)
    counts = weather_counts(engine)
    # the same bytes again: nothing to do
    again = _ingest(engine, project, first)
    assert again.status == "already_ingested" and again.previous_upload_id == report.upload_id
    assert weather_counts(engine) == counts
    # the same rows in another file (Chinese headers, other column order): unchanged
    other = _csv(
        tmp_path / "w2022_zh.csv",
        "年,月,降水量(mm),平均气温(℃),蒸发量(mm)\n" + "".join(f"{y},{m},10,1,20\n" for y, m in months),
    )
    report = _ingest(engine, project, other)
    assert (report.status, report.inserted, report.updated, report.unchanged) == ("accepted", 0, 0, 12)
    assert weather_counts(engine) == counts
    # one month with another value: updated, the rest unchanged
    changed = _csv(
        tmp_path / "w2022_fix.csv",
        SAMPLE_HEADER + _monthly(months[:6]) + "2022,7,1.0,99.5,20.0\n" + _monthly(months[7:]),
    )
    report = _ingest(engine, project, changed)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 11)
    july = _months(engine)[("project", "2022-07")]
    assert (july.precip_mm, july.upload_id, july.source_row) == (99.5, report.upload_id, 8)
    assert weather_counts(engine) == counts


# --------------------------------------------------------------------------------- rejections

NEXT_MONTH = dt.date(TODAY.year + TODAY.month // 12, TODAY.month % 12 + 1, 1)


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        pytest.param(
            SAMPLE_HEADER + "2023,1,-12,4,5\n2023,2,45,4,5\n",
            [
                "bad.csv row 3, column tmean_degC: monthly mean temperature 45 degC is outside the plausible "
                "range -50 to 40 degC; check the value and the unit in the column header (CMA files store "
                "tenths: 0.1℃, 0.1mm)"
            ],
            id="monthly-temperature",
        ),
        pytest.param(
            "date,tmean(0.1℃),precip(mm),pan_evap(mm)\n2023-01-05,-610,0,0\n",
            [
                "bad.csv row 2, column tmean(0.1℃): daily mean temperature -610 0.1°c (= -61 degC) is outside "
                "the plausible range -60 to 45 degC; check the value and the unit in the column header (CMA "
                "files store tenths: 0.1℃, 0.1mm)"
            ],
            id="daily-temperature",
        ),
        pytest.param(
            SAMPLE_HEADER + "2023,7,24,1600,150\n",
            [
                "bad.csv row 2, column precip_mm: monthly precipitation 1600 mm is outside the plausible range 0 to 1500 mm"
            ],
            id="monthly-precipitation",
        ),
        pytest.param(
            "日期,平均气温(℃),降水量(0.1mm),蒸发量(mm)\n2023-07-05,24,5010,5\n",
            [
                "bad.csv row 2, column 降水量(0.1mm): daily precipitation 5010 0.1mm (= 501 mm) is outside the plausible range 0 to 500 mm"
            ],
            id="daily-precipitation",
        ),
        pytest.param(
            SAMPLE_HEADER + "2023,7,24,160,650\n",
            [
                "bad.csv row 2, column pan_evap_mm: monthly pan evaporation 650 mm is outside the plausible range 0 to 600 mm"
            ],
            id="monthly-pan",
        ),
        pytest.param(
            "year,month,tmean_degC,precip_mm,pet_mm\n2023,7,24,160,480\n",
            [
                "bad.csv row 2, column pet_mm: monthly PET 480 mm (= pan evaporation 640 mm, PET / 0.75) is "
                "outside the plausible range 0 to 600 mm of pan evaporation"
            ],
            id="monthly-pet",
        ),
        pytest.param(
            "date,tmean_degC,precip_mm,pan_evap_mm\n2023-07-05,24,0,51\n",
            [
                "bad.csv row 2, column pan_evap_mm: daily pan evaporation 51 mm is outside the plausible range 0 to 50 mm"
            ],
            id="daily-pan",
        ),
        pytest.param(
            SAMPLE_HEADER + "2023,7,24,-3,150\n",
            [
                "bad.csv row 2, column precip_mm: the precipitation -3 mm is negative; enter 0 or the measured "
                "amount; the precipitation cannot be negative"
            ],
            id="negative",
        ),
        pytest.param(
            SAMPLE_HEADER + f"{NEXT_MONTH.year},{NEXT_MONTH.month},1,1,1\n",
            [
                f"bad.csv row 2, column month: month {NEXT_MONTH:%Y-%m} is in the future; enter observed months "
                "only; check the year"
            ],
            id="future",
        ),
        pytest.param(
            SAMPLE_HEADER + f"{TODAY.year},{TODAY.month},1,1,1\n",
            [
                f"bad.csv row 2, column month: month {TODAY:%Y-%m} has not ended yet; upload the month after its "
                "last day, when its totals are known"
            ],
            id="current-month",
        ),
        pytest.param(
            SAMPLE_HEADER + "1899,12,1,1,1\n",
            ["bad.csv row 2, column month: 1899-12 is before 1900; check the year"],
            id="before-1900",
        ),
        pytest.param(
            SAMPLE_HEADER + _monthly([(2023, 1), (2023, 2), (2023, 5), (2023, 6), (2023, 12)]),
            [
                "bad.csv row 4, column month: 2 months missing between 2023-02 and 2023-05: 2023-03, 2023-04; "
                "fill in the missing months (RothC needs every month)",
                "bad.csv row 6, column month: 5 months missing between 2023-06 and 2023-12: 2023-07, 2023-08, "
                "2023-09, 2023-10, 2023-11; fill in the missing months (RothC needs every month)",
            ],
            id="monthly-gap",
        ),
        pytest.param(
            "date,tmean_degC,precip_mm,pan_evap_mm\n2023-01,1,1,1\n2023-02-01,1,1,1\n",
            [
                "bad.csv row 3, column date: row 2 is a monthly value (2023-01) and row 3 a daily value "
                "(2023-02-01): a file holds either monthly or daily rows; upload the monthly and the daily rows "
                "as two files"
            ],
            id="mixed",
        ),
        pytest.param(
            "date,tmean_degC,precip_mm,pan_evap_mm\n"
            + "".join(_daily_rows(dt.date(2024, 2, 1), skip=(3, 17), value=lambda d: (1, 1, 1))),
            [
                "bad.csv row 2, column date: month 2024-02 has 27 of 29 days; missing 2024-02-03, 2024-02-17; "
                "fill the missing days, or upload the monthly values of this month instead"
            ],
            id="missing-days",
        ),
        pytest.param(
            "date,tmean_degC,precip_mm,pan_evap_mm\n"
            + "".join(_daily_rows(dt.date(2023, 4, 1), value=lambda d: (5, 1, 3)))
            + "2023-04-05,5,2,3\n",
            [
                "bad.csv row 32, column date: 2023-04-05 is also in row 6 with other values; keep one of the two "
                "rows (correct the date of the other)"
            ],
            id="duplicate-day",
        ),
        pytest.param(
            "station_id,lon,lat,year,month,tmean_degC,precip_mm,pan_evap_mm\n"
            "54157,124.33,43.17,2023,1,1,1,1\n54157,124.35,43.17,2023,2,1,1,1\n",
            [
                "bad.csv row 3, column lon: station '54157' is at (124.35, 43.17) here but at (124.33, 43.17) in "
                "row 2; give each station one location (lon, lat in EPSG:4326 degrees); a station that moved "
                "needs its own station_id"
            ],
            id="station-moves",
        ),
        pytest.param(
            "station_id,lon,lat,year,month,tmean_degC,precip_mm,pan_evap_mm\n"
            "54157,124.33,43.17,2023,1,1,1,1\n54161,,,2023,1,1,1,1\n",
            [
                "bad.csv row 3, column lon: station '54161' has no location, but the project would have 2 weather "
                "stations ('54157', '54161'): the run could not tell which plots it covers; add lon (经度) and "
                "lat (纬度) columns, EPSG:4326 degrees, for every station of the file"
            ],
            id="station-without-location",
        ),
        pytest.param(
            "station_id,station_name,lon,lat,year,month,tmean_degC,precip_mm,pan_evap_mm\n"
            "54157,四平,124.33,43.17,2023,1,1,1,1\n54157,梨树,124.33,43.17,2023,2,1,1,1\n",
            [
                "bad.csv row 3, column station_name: station '54157' is named '梨树' here but '四平' in row 2; "
                "give each station id one name"
            ],
            id="station-renamed",
        ),
        pytest.param(
            "station_id,year,month,tmean_degC,precip_mm,pan_evap_mm\n" + "S" * 101 + ",2023,1,1,1,1\n",
            [
                "bad.csv row 2, column station_id: the station id holds 101 characters, more than the 100 "
                "stored; shorten the station id to at most 100 characters of plain text"
            ],
            id="station-id-too-long",
        ),
        pytest.param(
            "year,month,tmean_degC,平均气温(℃),precip_mm,pan_evap_mm\n2023,1,1,1,1,1\n",
            [
                "bad.csv, column 平均气温(℃): a second column for the mean temperature (the first is "
                "'tmean_degC'); delete one of the two columns"
            ],
            id="two-temperature-columns",
        ),
        pytest.param(
            "year,month,tmean_degC,pan_evap_mm\n2023,1,1,1\n",
            [
                "bad.csv: required column precip (降水量) is missing; add a column headed precip or 降水量, with "
                "its unit, e.g. 降水量(mm)"
            ],
            id="no-precipitation",
        ),
        pytest.param(
            "year,month,tmean_degC,precip_mm\n2023,1,1,1\n",
            [
                "bad.csv: no evaporation column; add open-pan evaporation (蒸发量/pan_evap, mm) or potential "
                "evapotranspiration (潜在蒸散量/ET0/pet, mm)"
            ],
            id="no-evaporation",
        ),
        pytest.param(
            "year,month,tmean_degC,precip_mm,pan_evap_mm,ET0_mm\n2023,1,1,1,1,1\n",
            [
                "bad.csv, column ET0_mm: both pan evaporation ('pan_evap_mm') and PET ('ET0_mm') columns; delete "
                "one of them: pan evaporation is used as it is, PET is converted to pan = PET / 0.75 (RothC-26.3)"
            ],
            id="two-evaporation-columns",
        ),
        pytest.param(
            "tmean_degC,precip_mm,pan_evap_mm\n1,1,1\n",
            [
                "bad.csv: no date (日期) or month (月) column; add year (年) and month (月) columns for monthly "
                "values, or a date (日期) column for daily values"
            ],
            id="no-time-column",
        ),
        pytest.param(
            "year,month,tmean (°F),precip_mm,pan_evap_mm\n2023,1,30,1,1\n",
            [
                "bad.csv, column tmean (°F): unit '°F' is not accepted for the mean temperature; use one of degc, "
                "°c, c, deg_c, celsius, 摄氏度, 0.1degc, 0.1°c, 0.1c, 0.1deg_c, 0.1摄氏度 (e.g. 平均气温(℃), 降水量(0.1mm))",
                "bad.csv: required column tmean (平均气温) is missing",  # as map_headers says for any field
            ],
            id="unit",
        ),
        pytest.param(
            SAMPLE_HEADER + "2023,1,n/a,,1\n2023,13,1,1,1\nabc,2,1,1,1\n0,3,1,1,1\n",
            [
                "bad.csv row 2, column tmean_degC: 'n/a' is not a number; enter the mean temperature as a number in degc",
                "bad.csv row 2, column precip_mm: the precipitation is empty",
                "bad.csv row 3, column month: '13' is not a month number; enter the month as 1-12 (or 5月, May)",
                "bad.csv row 4, column year: 'abc' is not a year; enter the year as a number, e.g. 2024",
                "bad.csv row 5, column year: '0' is not a year; enter the year as a number, e.g. 2024",
            ],
            id="cells",
        ),
        pytest.param(
            "month,tmean_degC,precip_mm,pan_evap_mm\nMay,1,1,1\n",
            [
                "bad.csv row 2, column month: 'May' is not a month; write the month as YYYY-MM (e.g. 2024-05) or "
                "2024年5月, or add a year (年) column"
            ],
            id="month-without-year",
        ),
        pytest.param(
            "站号,经度,纬度,年,月,平均气温(℃),降水量(mm),蒸发量(mm)\n54157,12422,4326,2023,1,1,1,1\n",
            [
                "bad.csv row 2, column 经度: 12422 is outside -180..180 degrees; enter the longitude in decimal "
                "degrees, EPSG:4326 (farmland in China: about 73-135), or head the column 经度(度分) if these are "
                "CMA degree-minutes (12422 = 124°22')",
                "bad.csv row 2, column 纬度: 4326 is outside -90..90 degrees; enter the latitude in decimal "
                "degrees, EPSG:4326 (farmland in China: about 18-54), or head the column 纬度(度分) if these are "
                "CMA degree-minutes (12422 = 124°22')",
            ],
            id="degree-minutes-without-unit",
        ),
    ],
)
def test_rejected_files_write_nothing(engine, project, tmp_path, text, errors):
    got = _rejected(engine, project, _csv(tmp_path / "bad.csv", text))
    assert len(got) == len(errors), got
    for g, e in zip(got, errors, strict=True):
        assert g.startswith(e), (g, e)


def test_stored_station_without_location_blocks_a_second_station(engine, project, tmp_path):
    report = _ingest(engine, project, _csv(tmp_path / "project.csv", SAMPLE_HEADER + "2023,1,1,1,1\n"))
    assert report.status == "accepted"
    located = (
        "station_id,lon,lat,year,month,tmean_degC,precip_mm,pan_evap_mm\n54157,124.33,43.17,2023,1,1,1,1\n"
    )
    errors = _rejected(engine, project, _csv(tmp_path / "station.csv", located))
    assert errors == [
        f"station.csv: stored station 'project' (upload {report.upload_id}) has no location, but with this file the "
        "project would have 2 weather stations ('54157', 'project'): the run could not tell which plots it "
        "covers; upload the project-wide weather again with lon (经度) and lat (纬度) columns, or give this "
        "file's rows no station columns if they are the same project-wide weather"
    ]
    # the fix: the project-wide file again with a location, then the second station is accepted
    fixed = _csv(tmp_path / "project_located.csv", "lon,lat," + SAMPLE_HEADER + "124.4,43.4,2023,1,1,1,1\n")
    report = _ingest(engine, project, fixed)
    assert report.status == "accepted" and report.unchanged == 1
    assert (_stations(engine)["project"].lon, _stations(engine)["project"].lat) == (124.4, 43.4)
    assert _ingest(engine, project, tmp_path / "station.csv").status == "accepted"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("w.csv", b"abc\xff\xff,def\n\xff\xfe\xff\n", "UTF-8"),
        ("w.xlsx", b"not a zip", "XLSX"),
        ("w.json", b"{}", "'.json'"),
        ("w.csv", b"", "header"),
        ("w.csv", b"year,month,tmean_degC,precip_mm,pan_evap_mm\n", "no data rows"),
    ],
)
def test_unreadable_files_are_rejected_without_traceback(engine, project, tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    errors = _rejected(engine, project, path)  # the wording is the shared table reader's
    assert len(errors) == 1 and errors[0].startswith(f"{name}: ") and words in errors[0], errors
