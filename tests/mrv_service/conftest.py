"""Store fixtures: an ``engine`` on SQLite and on PostgreSQL, a test project, small upload files.

PostgreSQL: set ``MRV_TEST_POSTGRES_URL`` (``bash scripts/pg_test_server.sh`` starts a throwaway
server and prints it). Without it the PostgreSQL cases are skipped, unless
``MRV_REQUIRE_POSTGRES=1`` (CI), in which case they fail. Every test gets a fresh, uniquely named
database (created from the server URL's database, dropped afterwards) or a fresh SQLite file.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from mrv_service.store.db import init_db, make_engine, session_scope
from mrv_service.store.projects import ensure_project_from_json

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


def project_info(**changes):
    """A ``ProjectInfo`` of a CMS-083-V01 project (2021-2023 baseline, 2024-2025 project years,
    crediting from 2024): the run's inputs without a store, for tests of a stage's pieces."""
    import datetime as dt

    from mrv_service.run.inputs import ProjectInfo

    fields = {
        "name": "p",
        "name_zh": None,
        "organisation": "o",
        "methodology_id": "CMS-083-V01",
        "region": {},
        "crediting_start": dt.date(2024, 1, 1),
        "crediting_end": dt.date(2033, 12, 31),
        "baseline_years": (2021, 2022, 2023),
        "project_years": (2024, 2025),
        "settings": {},
        "stored_settings": {},
    }
    return ProjectInfo(**{**fields, **changes})


PROJECT_JSON = {
    "name": "test-lishu",
    "name_zh": "测试项目",
    "methodology_id": "CMS-083-V01",
    "region": {"province": "吉林省", "city": "四平市", "county": "梨树县", "lon": 124.4, "lat": 43.4},
    "crediting_period": {"start": "2024-01-01", "end": "2033-12-31"},
    "baseline_years": [2021, 2022, 2023],
    "project_years": [2024, 2025],
}
SALT = "test-salt"

SCHEMA_HEAD = "0011"
"""The store's latest Alembic revision (``mrv_service/store/migrations/versions``)."""

# Four plots in UTM zone 51N (EPSG:32651) near Lishu, Jilin (about 124.4 E, 43.4 N); planar
# areas by hand: P1 100 m x 50 m = 0.5 ha; P2 (shares P1's east edge) 100 x 50 = 0.5 ha;
# P3 80 x 100 = 0.8 ha; P4 200 x 100 minus a 20 x 20 hole = 1.96 ha.
X0, Y0 = 613_000.0, 4_806_000.0


def _rect(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def utm_plots():
    """The four fixture plots as shapely polygons in EPSG:32651 with their attributes."""
    from shapely import Polygon

    geoms = [
        Polygon(_rect(X0, Y0, X0 + 100, Y0 + 50)),
        Polygon(_rect(X0 + 100, Y0, X0 + 200, Y0 + 50)),
        Polygon(_rect(X0, Y0 + 100, X0 + 80, Y0 + 200)),
        Polygon(_rect(X0 + 300, Y0, X0 + 500, Y0 + 100), [_rect(X0 + 390, Y0 + 40, X0 + 410, Y0 + 60)]),
    ]
    attrs = {
        "plot_id": ["P1", "P2", "P3", "P4"],
        "farmer_id": ["F1", "F1", "F2", "F3"],
        "farmer_name": ["张三", "张三", "李四", "王五"],
        "village": ["二龙村", "二龙村", "孤家子村", "孤家子村"],
        "national_id": ["22032219800101001X", "22032219800101001X", "220322198502020022", None],
        "cropping_system": ["spring_maize"] * 4,
    }
    return geoms, attrs


EXPECTED_AREA_HA = {"P1": 0.5, "P2": 0.5, "P3": 0.8, "P4": 1.96}


def write_plots(path: Path, epsg: int | None, *, driver: str | None = None, geoms=None, attrs=None) -> Path:
    """Write the fixture plots to ``path`` in ``epsg`` (None: no CRS at all)."""
    import geopandas as gpd

    g, a = utm_plots()
    geoms = g if geoms is None else geoms
    attrs = a if attrs is None else attrs
    gdf = gpd.GeoDataFrame(attrs, geometry=list(geoms), crs="EPSG:32651")
    if epsg is None:
        gdf = gdf.set_crs(None, allow_override=True)
    elif epsg != 32651:
        gdf = gdf.to_crs(epsg=epsg)
    if path.suffix == ".zip":
        shp_dir = path.parent / (path.stem + "_shp")
        shp_dir.mkdir(parents=True, exist_ok=True)
        # DBF field names hold at most 10 characters: write them as GIS software truncates them
        gdf = gdf.rename(columns={c: c[:10] for c in gdf.columns if c != "geometry"})
        with warnings.catch_warnings():  # writing without a CRS is the point of the no-CRS fixture
            warnings.filterwarnings("ignore", message="'crs' was not provided", category=UserWarning)
            gdf.to_file(shp_dir / "plots.shp", driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
        with zipfile.ZipFile(path, "w") as zf:
            for f in sorted(shp_dir.iterdir()):
                zf.write(f, f.name)
        return path
    gdf.to_file(path, driver=driver, engine="pyogrio")
    return path


def _postgres_url() -> str:
    """The test server's URL, or skip (fail under MRV_REQUIRE_POSTGRES=1) when there is none."""
    url = os.environ.get("MRV_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("MRV_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                "MRV_REQUIRE_POSTGRES=1 but MRV_TEST_POSTGRES_URL is not set; run scripts/pg_test_server.sh"
            )
        pytest.skip("PostgreSQL not configured: set MRV_TEST_POSTGRES_URL (bash scripts/pg_test_server.sh)")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated, empty SQLite store, migrated once per session and copied for each test."""
    path = tmp_path_factory.mktemp("store-template") / "mrv.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    init_db(eng)
    eng.dispose()  # the last connection closes: the write-ahead log is merged into the file
    return path


@pytest.fixture(scope="session")
def postgres_template():
    """A migrated, empty PostgreSQL database, the template of each test's database."""
    url = _postgres_url()
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"mrv_template_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("MRV_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL at MRV_TEST_POSTGRES_URL not reachable: {exc.orig}")
    eng = make_engine(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))
    init_db(eng)
    eng.dispose()
    yield url, name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A migrated, empty store on SQLite (a file in tmp_path) or PostgreSQL (a fresh database),
    copied from a template migrated once per session (``init_db`` on it is then a no-op)."""
    if request.param == "sqlite":
        path = tmp_path / "mrv.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
        init_db(eng)
        yield eng
        eng.dispose()
        return
    url, template = request.getfixturevalue("postgres_template")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"mrv_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        try:  # FILE_COPY: faster for a small template (PostgreSQL 15 and later)
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY'))
        except sa.exc.ProgrammingError:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    eng = make_engine(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))
    try:
        init_db(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def project(engine) -> str:
    """The test project (created in the store); returns its name."""
    with session_scope(engine) as session:
        ensure_project_from_json(session, PROJECT_JSON)
    return PROJECT_JSON["name"]


@pytest.fixture
def project_json_path(tmp_path) -> Path:
    path = tmp_path / "project.json"
    path.write_text(json.dumps(PROJECT_JSON, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def plots_geojson(tmp_path) -> Path:
    return write_plots(tmp_path / "plots.geojson", 4326, driver="GeoJSON")


@pytest.fixture
def plots_gpkg(tmp_path) -> Path:
    return write_plots(tmp_path / "plots.gpkg", 4490, driver="GPKG")


@pytest.fixture
def plots_shp_zip(tmp_path) -> Path:
    return write_plots(tmp_path / "plots.zip", 32651)


@pytest.fixture
def with_plots(engine, project, plots_geojson) -> str:
    """The test project with the four fixture plots ingested."""
    from mrv_service.ingest import ingest_plots

    with session_scope(engine) as session:
        ingest_plots(session, project, plots_geojson, id_salt=SALT)
    return project


def table_counts(engine) -> dict[str, int]:
    """Row counts of the data tables (uploads excluded) to prove a rejected file wrote nothing."""
    tables = [
        "organisations",
        "projects",
        "farmers",
        "plots",
        "plot_flags",
        "activity_records",
        "soil_samples",
    ]
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


# --- sample counties and the CLI environment of run tests ---------------------------------------

SAMPLE_PROJECT = "lishu-conservation-tillage"
"""Name of the sample county's project (mrv_service.sample.generator.PROJECT_NAME)."""


@pytest.fixture(scope="session")
def small_county(tmp_path_factory) -> Path:
    """A 40-plot sample county with imagery (read-only: tests copy what they change)."""
    from mrv_service.sample import create_sample

    d = tmp_path_factory.mktemp("small-county") / "lishu"
    create_sample(d, n_plots=40, imagery=True)
    return d


@pytest.fixture(scope="session")
def default_county(tmp_path_factory) -> Path:
    """The default sample county (1,200 plots) with imagery, as `make demo` creates it."""
    from mrv_service.sample import create_sample

    d = tmp_path_factory.mktemp("default-county") / "lishu"
    create_sample(d, imagery=True)
    return d


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """MRV_ settings of a CLI test: a SQLite store and an output root under ``tmp_path``."""
    return {
        "MRV_DATA_DIR": str(tmp_path / "data"),
        "MRV_DATABASE_URL": f"sqlite:///{tmp_path / 'mrv.sqlite'}",
        "MRV_OUTPUT_DIR": str(tmp_path / "out"),
        "MRV_STAC_URL": "",
        **extra,
    }
