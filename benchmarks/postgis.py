"""Benchmark: 100,000 plots into PostgreSQL + PostGIS, and the overlap checks in the database.

    bash scripts/pg_test_server.sh        # a throwaway server on 127.0.0.1:54329 (needs PostGIS)
    .venv/bin/python benchmarks/postgis.py [--n 100000] [--url postgresql+psycopg://postgres@127.0.0.1:54329/postgres]

Creates a fresh database, ingests N synthetic plots with ``mrv ingest plots``'s own function
(every check of the ingest, rows written with COPY, ``plots.geom`` generated from the WKT), then
times: the overlap check of the N plots among themselves (``ST_Intersects`` self-join on the
SP-GiST index) and the claims check of a second project of 1,000 plots copying some of them.
Prints plots/s and seconds; the last line is ``postgis: N plots ingested at X plots/s; overlap
check Y s``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_plots import PROJECT, synthetic_plots  # noqa: E402

from mrv_service.ingest import ingest_plots  # noqa: E402
from mrv_service.store.claims import overlapping_claims  # noqa: E402
from mrv_service.store.db import init_db, make_engine, session_scope  # noqa: E402
from mrv_service.store.projects import ensure_project_from_json, get_project  # noqa: E402
from mrv_service.store.spatial import has_postgis, overlapping_pairs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:54329/postgres")
    args = ap.parse_args()
    name = f"mrv_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(args.url).set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        init_db(engine)
        with session_scope(engine) as s:
            if not has_postgis(s):
                sys.exit("the server has no PostGIS: install postgresql-<version>-postgis-3")
            ensure_project_from_json(s, PROJECT)
            ensure_project_from_json(s, dict(PROJECT, name="bench-other"))
        with tempfile.TemporaryDirectory() as tmp:
            gdf = synthetic_plots(args.n)
            gdf.to_file(Path(tmp) / "plots.geojson", driver="GeoJSON", engine="pyogrio")
            other = gdf.iloc[:: max(1, args.n // 1000)].copy()
            other["plot_id"] = [f"O{k:07d}" for k in range(len(other))]
            other.to_file(Path(tmp) / "other.geojson", driver="GeoJSON", engine="pyogrio")
            t = time.perf_counter()
            with session_scope(engine) as s:
                report = ingest_plots(s, PROJECT["name"], Path(tmp) / "plots.geojson", id_salt="bench")
            ingest_s = time.perf_counter() - t
            assert report.status == "accepted" and report.inserted == args.n, report.status
            print(
                f"ingest {args.n} plots (all checks, COPY, geometry generated): {ingest_s:.1f} s = {args.n / ingest_s:,.0f} plots/s"
            )
            with session_scope(engine) as s:
                ingest_plots(s, "bench-other", Path(tmp) / "other.geojson", id_salt="bench")
        with session_scope(engine) as s:
            pid = get_project(s, PROJECT["name"]).id
            t = time.perf_counter()
            pairs = overlapping_pairs(s, pid, other_projects=False)
            overlap_s = time.perf_counter() - t
            print(
                f"overlap check of {args.n} plots among themselves (ST_Intersects on the SP-GiST index): {overlap_s:.2f} s, {len(pairs)} pairs"
            )
            t = time.perf_counter()
            claims = overlapping_claims(s, get_project(s, "bench-other"))
            claims_s = time.perf_counter() - t
            print(
                f"claims check of a {len(other)}-plot project against the {args.n}: {claims_s:.2f} s, {len(claims)} claims"
            )
            size = s.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
            print(f"database size: {size / 2**20:.0f} MiB")
        print(
            f"postgis: {args.n} plots ingested at {args.n / ingest_s:,.0f} plots/s; overlap check {overlap_s:.2f} s"
        )
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
