"""A store for the review pages' tests, built once per session and shared by the client tests
and the browser tests: a sample county of 240 plots in two villages with imagery (organisation
``default``), its practice detectors trained on the county's field labels and one real run
(flags of every severity, outputs, ``plot_results``), a second organisation ``other`` with its
own project and plots, and users of every role with passwords."""

from __future__ import annotations

import re

import pytest

from mrv_service.config import load_settings
from mrv_service.store.db import make_engine, session_scope
from tests.mrv_service.conftest import PROJECT_JSON, SALT, cli_env, write_plots

PASSWORD = "correct horse battery"
"""Every test user's password."""

USERS = {
    "admin": ("default", "admin"),
    "developer": ("default", "developer"),
    "agronomist": ("default", "agronomist"),
    "viewer": ("default", "viewer"),
    "other": ("other", "agronomist"),
}
"""key -> (organisation, role); the user's e-mail is ``KEY@example.org``."""


PAGING_PROJECT = {**PROJECT_JSON, "name": "paging-test", "name_zh": "分页测试"}
"""A project of organisation ``default`` with 120 plots and no run (paging, area sort, filters)."""
N_PAGING = 120


def paging_plots():
    """120 plots P001..P120 in a 12 x 10 grid (UTM 51N), plot i of 100 m x (20 + i) m, that is
    0.2 + 0.01 i ha; farmer F{i % 12} (10 plots each); village 东村 when i % 3 == 0 (40 plots),
    else 西村 (80 plots)."""
    from shapely import box

    from tests.mrv_service.conftest import X0, Y0

    geoms, ids, farmers, names, villages = [], [], [], [], []
    for i in range(1, N_PAGING + 1):
        col, row = (i - 1) % 12, (i - 1) // 12
        x, y = X0 + 2_000 + col * 200, Y0 + 2_000 + row * 200
        geoms.append(box(x, y, x + 100, y + 20 + i))
        ids.append(f"P{i:03d}")
        farmers.append(f"F{i % 12}")
        names.append(f"农户{i % 12}")
        villages.append("东村" if i % 3 == 0 else "西村")
    attrs = {
        "plot_id": ids,
        "farmer_id": farmers,
        "farmer_name": names,
        "village": villages,
        "national_id": [None] * N_PAGING,
        "cropping_system": ["spring_maize"] * N_PAGING,
    }
    return geoms, attrs


def email(who: str) -> str:
    return f"{who}@example.org"


N_REVIEW_COUNTY = 240
"""Plots of the pages' county: two villages, so that detectors can be trained (grouped by village)."""


@pytest.fixture(scope="session")
def review_county(tmp_path_factory):
    from mrv_service.sample import create_sample

    d = tmp_path_factory.mktemp("review-county") / "lishu"
    create_sample(d, n_plots=N_REVIEW_COUNTY, imagery=True)
    return d


def _train_detectors(settings, project: str) -> None:
    """The tillage and residue detectors, trained on the county's true practices (every plot:
    these tests need flags, not a held-out accuracy, which `make demo` measures)."""
    import pandas as pd

    from mrv_service.run.runner import default_out_dir, run_project
    from mrv_service.verify.service import train_project

    run_project(settings, project, stages=["imagery"], echo=lambda *_a, **_k: None)
    truth = pd.read_csv(settings.sample_dir / "truth.csv", dtype={"plot_id": str})
    labels = pd.DataFrame(
        {
            "plot_id": truth["plot_id"],
            "year": truth["year"].astype(int),
            "tillage": truth["true_tillage"],
            "residue": truth["true_residue"],
        }
    )
    features = default_out_dir(settings, project) / "plot_features.nc"
    train_project(
        settings, project, labels, data_note="synthetic", features_path=features, echo=lambda *_a, **_k: None
    )


@pytest.fixture(scope="session")
def pages_env(small_county, tmp_path_factory):
    """Settings, project ids and a flagged plot of a store with the small county (40 plots, one
    village, no detectors: its tillage and residue flags are "unverifiable") after one run."""
    return _build_env(small_county, tmp_path_factory.mktemp("pages"), train=False)


@pytest.fixture(scope="session")
def browser_env(review_county, tmp_path_factory):
    """As :func:`pages_env` on the 240-plot county with trained detectors (flags of every
    severity; the flagged plot has a critical tillage contradiction): the browser tests and the
    README's screenshots."""
    return _build_env(review_county, tmp_path_factory.mktemp("pages-browser"), train=True)


def _build_env(county, tmp, *, train: bool) -> dict:
    from sqlalchemy import func, select

    from mrv_service.ingest import ingest_plots
    from mrv_service.run.runner import run_project
    from mrv_service.sample.demo import load_sample
    from mrv_service.store.models import Plot, PlotResult, Run, VerificationFlag
    from mrv_service.store.projects import ensure_project_from_json, get_project
    from mrv_service.store.users import create_user

    settings = load_settings(cli_env(tmp), sample_dir=county)
    sample_project = load_sample(settings, echo=lambda *_a, **_k: None)
    other_plots = write_plots(tmp / "other-plots.geojson", 4326, driver="GeoJSON")
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as s:
            ensure_project_from_json(s, PROJECT_JSON, org_name="other")
        with session_scope(engine) as s:
            ingest_plots(s, PROJECT_JSON["name"], other_plots, id_salt=SALT)
        with session_scope(engine) as s:
            ensure_project_from_json(s, PAGING_PROJECT, org_name="default")
        geoms, attrs = paging_plots()
        paging_file = write_plots(tmp / "paging.geojson", 4326, driver="GeoJSON", geoms=geoms, attrs=attrs)
        with session_scope(engine) as s:
            ingest_plots(s, PAGING_PROJECT["name"], paging_file, id_salt=SALT)
        with session_scope(engine) as s:
            for key, (org, role) in USERS.items():
                create_user(s, org, email(key), role, password=PASSWORD)
            create_user(s, "default", "token-only@example.org", "admin")  # no password: API only
        if train:
            _train_detectors(settings, sample_project)
        run_project(settings, sample_project, echo=lambda *_a, **_k: None)
        with session_scope(engine) as s:
            project = get_project(s, sample_project)
            other = get_project(s, PROJECT_JSON["name"])
            paging = get_project(s, PAGING_PROJECT["name"])
            run = s.scalars(  # the full run (after the imagery run the training needed)
                select(Run)
                .where(Run.project_id == project.id, Run.status == "succeeded")
                .order_by(Run.id.desc())
            ).first()
            # with detectors, a plot with a critical tillage contradiction (the screenshots show one)
            where = [VerificationFlag.run_id == run.id]
            if train:
                where += [VerificationFlag.practice == "tillage", VerificationFlag.severity == "critical"]
            flagged = s.execute(
                select(Plot.external_id, func.count())
                .join(VerificationFlag, VerificationFlag.plot_id == Plot.id)
                .where(*where)
                .group_by(Plot.external_id)
                .order_by(Plot.external_id)
            ).all()
            assert flagged, "the run has no flag of the kind the tests need"
            n_results = s.scalar(
                select(func.count()).select_from(PlotResult).where(PlotResult.run_id == run.id)
            )
            env = {
                "settings": settings,
                "project_name": sample_project,
                "project_id": project.id,
                "other_project_id": other.id,
                "paging_project_id": paging.id,
                "other_plot": s.scalars(select(Plot.external_id).where(Plot.project_id == other.id)).first(),
                "run_id": run.id,
                "out_dir": run.out_dir,
                "flagged_plot": flagged[0][0],
                "n_plot_results": n_results,
            }
    finally:
        engine.dispose()
    return env


def make_app(pages_env):
    from mrv_service.api import create_app

    return create_app(pages_env["settings"], {"TESTING": True, "MRV_DASK_PROCESSES": False})


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client, who: str, password: str = PASSWORD):
    """Sign ``who`` in with the test client (the sign-in form and its CSRF token)."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email(who),
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
