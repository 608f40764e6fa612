"""An API app on a store holding the small sample county (organisation ``default``) and a
second organisation ``other`` with its own project and plots; tokens of users of both."""

from __future__ import annotations

import pytest

from mrv_service.config import load_settings
from mrv_service.store.db import make_engine, session_scope
from tests.mrv_service.conftest import PROJECT_JSON, SALT, cli_env, write_plots


@pytest.fixture(scope="module")
def api_env(small_county, tmp_path_factory):
    """Settings of a store with the sample county (org ``default``) and org ``other``'s project."""
    from mrv_service.ingest import ingest_plots
    from mrv_service.sample.demo import load_sample
    from mrv_service.store.projects import ensure_project_from_json, get_project
    from mrv_service.store.users import create_user

    tmp = tmp_path_factory.mktemp("api")
    settings = load_settings(cli_env(tmp), sample_dir=small_county)
    sample_project = load_sample(settings, echo=lambda *_a, **_k: None)
    plots = write_plots(tmp / "other-plots.geojson", 4326, driver="GeoJSON")
    engine = make_engine(settings.database_url)
    tokens = {}
    try:
        with session_scope(engine) as s:
            ensure_project_from_json(s, PROJECT_JSON, org_name="other")
        with session_scope(engine) as s:
            ingest_plots(s, PROJECT_JSON["name"], plots, id_salt=SALT)
        with session_scope(engine) as s:
            for key, org, role in (
                ("admin", "default", "admin"),
                ("developer", "default", "developer"),
                ("agronomist", "default", "agronomist"),
                ("viewer", "default", "viewer"),
                ("other", "other", "developer"),
            ):
                _user, tokens[key] = create_user(s, org, f"{key}@example.org", role)
        with session_scope(engine) as s:
            ids = {
                "sample": get_project(s, sample_project).id,
                "other": get_project(s, PROJECT_JSON["name"]).id,
            }
    finally:
        engine.dispose()
    return {"settings": settings, "tokens": tokens, "projects": ids}


@pytest.fixture(scope="module")
def app(api_env):
    from mrv_service.api import create_app

    app = create_app(api_env["settings"], {"TESTING": True})
    yield app
    app.extensions["mrv"]["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(api_env):
    """``auth("viewer")``: the headers of that user's token."""

    def headers(who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {api_env['tokens'][who]}"}

    return headers
