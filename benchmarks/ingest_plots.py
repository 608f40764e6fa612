"""Benchmark: ingest N synthetic plots (GeoJSON) and N activity-log rows into a SQLite store.

    .venv/bin/python benchmarks/ingest_plots.py [--n 100000] [--url sqlite:///...|postgresql+psycopg://...]

Prints the wall time of each step. Plots are 60 m x 60 m squares on a 70 m grid in UTM 51N
(Lishu county), one farmer per 10 plots; the log has one tillage row per plot. A second
ingest of the same plots in another file measures the unchanged-upsert path.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from mrv_service.ingest import ingest_logs, ingest_plots
from mrv_service.store.db import init_db, make_engine, session_scope
from mrv_service.store.projects import ensure_project_from_json

PROJECT = {
    "name": "bench",
    "methodology_id": "CMS-083-V01",
    "region": {"province": "吉林省", "city": "四平市", "county": "梨树县"},
    "crediting_period": {"start": "2024-01-01", "end": "2033-12-31"},
    "baseline_years": [2021, 2022, 2023],
    "project_years": [2024, 2025],
}


def synthetic_plots(n: int, prefix: str = "B") -> gpd.GeoDataFrame:
    """``n`` plots of 60 m x 60 m on a 70 m grid in UTM 51N (EPSG:4326), one farmer per 10 plots."""
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0 = 600_000.0 + (i % side) * 70.0
    y0 = 4_800_000.0 + (i // side) * 70.0
    geoms = shapely.box(x0, y0, x0 + 60.0, y0 + 60.0)
    ids = [f"{prefix}{k:07d}" for k in i]
    return gpd.GeoDataFrame(
        {"plot_id": ids, "farmer_id": [f"F{k // 10:06d}" for k in i]}, geometry=geoms, crs="EPSG:32651"
    ).to_crs(4326)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="database URL (default: a SQLite file in a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gdf = synthetic_plots(args.n)
        t = time.perf_counter()
        gdf.to_file(tmp / "plots.geojson", driver="GeoJSON", engine="pyogrio")
        print(f"write {args.n} plots GeoJSON: {time.perf_counter() - t:.1f} s")
        copy = tmp / "plots_copy.geojson"
        copy.write_text(json.dumps(json.loads((tmp / "plots.geojson").read_text()), indent=1))
        with open(tmp / "logs.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["地块编号", "日期", "作业类型", "方式", "柴油(升/亩)"])
            for pid in gdf["plot_id"]:
                w.writerow([pid, "2024-04-20", "耕作", "免耕", "0.8"])

        engine = make_engine(args.url or f"sqlite:///{tmp / 'bench.sqlite'}")
        init_db(engine)
        with session_scope(engine) as s:
            ensure_project_from_json(s, PROJECT)
        for label, func, path in (
            ("ingest plots (new)", ingest_plots, tmp / "plots.geojson"),
            ("ingest plots (same plots, other file: unchanged)", ingest_plots, copy),
            ("ingest logs (new)", ingest_logs, tmp / "logs.csv"),
        ):
            t = time.perf_counter()
            with session_scope(engine) as s:
                report = func(s, "bench", path, id_salt="bench")
            dt_s = time.perf_counter() - t
            print(
                f"{label}: {dt_s:.1f} s ({report.rows_total / dt_s:,.0f} rows/s): "
                f"{report.inserted} new, {report.updated} updated, {report.unchanged} unchanged"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
