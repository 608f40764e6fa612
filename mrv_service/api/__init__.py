"""The REST API of the service: a Flask app factory with flask-smorest blueprints under ``/api/v1``.

* ``GET /api/v1/openapi.json``: the OpenAPI 3 document, generated from the marshmallow schemas;
* ``GET /api/v1/docs``: Swagger UI, its assets served from the ``swagger-ui-bundle`` package
  (works offline, no CDN);
* every other ``/api/v1`` path needs ``Authorization: Bearer TOKEN`` (``mrv users create``);
* every error is ``{"error": {"code", "message", "field", "fix"}}`` (:mod:`mrv_service.api.errors`);
* the review pages (:mod:`mrv_service.pages`) are served outside ``/api/`` by the same app.

Tenancy: every query is filtered by the caller's organisation; another organisation's ids
answer 404, as ids that do not exist (OWASP API1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, send_from_directory
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

from mrv_service.api import auth, db
from mrv_service.api.errors import ErrorSchema, register_error_handlers
from mrv_service.config import Settings, load_settings

__all__ = ["create_app", "MAX_CONTENT_LENGTH"]

MAX_CONTENT_LENGTH = 64 * 1024 * 1024
"""Largest request body accepted [bytes] (uploads of plots, logs, soil, weather files)."""

API_PREFIX = "/api/v1"


MAX_ID = 2**62
"""Largest id a path accepts (``<int:...>``): larger ones are 404 by routing, never an integer
overflow in the database (SQLite and PostgreSQL integers are 64-bit)."""


class IdConverter(IntegerConverter):
    """Flask's ``int`` converter bounded to 0..:data:`MAX_ID` (documented as the parameter's
    ``maximum`` in the OpenAPI document)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class MrvApi(Api):
    """flask-smorest's Api documenting the service's one error shape."""

    ERROR_SCHEMA = ErrorSchema


def _swagger_ui_dir() -> str:
    import swagger_ui_bundle

    return swagger_ui_bundle.swagger_ui_path


def create_app(settings: Settings | None = None, config: Mapping[str, Any] | None = None) -> Flask:
    """The service's Flask app.

    Parameters
    ----------
    settings : Settings, optional
        Default: :func:`mrv_service.config.load_settings` (``MRV_*`` environment variables).
        The store at ``settings.database_url`` is migrated to the latest schema.
    config : mapping, optional
        Flask config overrides (tests: ``TESTING``, ``MAX_CONTENT_LENGTH``).
    """
    from mrv_service.store.db import init_db, make_engine

    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        API_TITLE="Soil-carbon MRV",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{API_PREFIX}/docs/assets/",
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An API token from `mrv users create`.",
                    }
                }
            },
            "info": {"description": "Soil-organic-carbon MRV for aggregated smallholder plots."},
        },
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.extensions["mrv"] = {"settings": settings}

    engine = make_engine(settings.database_url)
    init_db(engine)
    db.init_app(app, engine)

    api = MrvApi(app)
    from mrv_service.api import organisations, plots, projects, users

    for module in (organisations, users, projects, plots):
        api.register_blueprint(module.blp)
    from mrv_service.api import audit as audit_api
    from mrv_service.api import flags, records, uploads

    for module in (uploads, records, flags, audit_api):
        api.register_blueprint(module.blp)
    from mrv_service.api import results as results_api
    from mrv_service.api import runs as runs_api
    from mrv_service.api.jobs import recover_stale_runs

    for module in (runs_api, results_api):
        api.register_blueprint(module.blp)
    recover_stale_runs(engine)  # runs left "running" by a killed worker or server: failed

    @app.get(f"{API_PREFIX}/docs/assets/<path:filename>")
    def swagger_ui_assets(filename: str):
        return send_from_directory(_swagger_ui_dir(), filename, max_age=3600)

    from mrv_service import pages

    pages.init_app(app, API_PREFIX)  # the review pages: sessions, CSRF (the API exempt), sign-in
    app.before_request(auth.authenticate)
    register_error_handlers(app)
    return app
