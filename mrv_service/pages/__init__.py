"""Review pages for agronomists and project developers: server-rendered HTML (Jinja2), in
Chinese with English, served with everything they need from the service itself (no CDN, no
online tiles: Leaflet from the XStatic-Leaflet package, map backgrounds and image chips rendered
from the project's COGs).

Routes (all but the sign-in page and the assets need a signed-in user):

- ``GET|POST /login``, ``POST /logout``: sign-in (e-mail, password), sign-out;
- ``GET /projects``: the organisation's projects;
- ``GET /projects/<id>``: dashboard: plots, farmers, hectares, credit per vintage with its
  90 % interval, flags by practice and severity, review progress, runs, documents, the map;
- ``GET /projects/<id>/map.json``, ``GET /projects/<id>/map/background.png``: the map's plots
  (GeoJSON) and its background picture;
- ``POST /projects/<id>/runs``: start a run (admin, developer);
  ``GET /projects/<id>/runs/<run_id>/status.json``: its progress (the progress bar);
- ``GET /projects/<id>/documents/<name>``: a document of the latest run (DOCX, HTML, JSON);
- ``GET /projects/<id>/plots``: the plot list (filters, sorting, pages of 50);
- ``GET /projects/<id>/plots/<plot_id>``: a plot: image chips, NDVI/NDTI series, flags, SOC
  trajectory, soil samples, credit, reviews; ``.../chip.png?date=&kind=``: an image chip;
  ``.../map.json``: the plot and its neighbours;
- ``POST /projects/<id>/plots/<plot_id>/review``: a review decision (admin, agronomist);
- ``GET /projects/<id>/audit``: the project's audit trail;
- ``GET /vendor/leaflet/<file>``, ``GET /assets/pages/<file>``: Leaflet and the pages' CSS/JS.

:func:`init_app` wires them into the service's app (:func:`mrv_service.api.create_app`):
sessions, CSRF protection of every form (the token-authenticated ``/api/v1`` blueprints are
exempt), sign-in, the security headers and the blueprint.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

__all__ = ["init_app", "csrf", "CONTENT_SECURITY_POLICY"]

log = logging.getLogger(__name__)

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'"
"""The pages' Content-Security-Policy: nothing from elsewhere, no inline script or style."""

SESSION_HOURS = 12
"""How long a sign-in lasts [h]."""

_warned_dev_key = False


def _secret_key(app: Flask) -> str:
    global _warned_dev_key
    from mrv_service.config import DEV_SECRET_KEY

    key = app.extensions["mrv"]["settings"].secret_key
    if key == DEV_SECRET_KEY and not _warned_dev_key and not app.config.get("TESTING"):
        _warned_dev_key = True
        log.warning(
            "MRV_SECRET_KEY is not set: the pages' sessions are signed with the public development key; "
            "set a secret key in production"
        )
    return key


def _security_headers(response):
    """Headers of every answer outside ``/api/`` (pages, their assets and error pages)."""
    if request.path == "/api" or request.path.startswith("/api/"):
        return response
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask, api_prefix: str = "/api/v1") -> None:
    """Register the pages on ``app`` (after the API's blueprints, whose CSRF checks it exempts)."""
    from mrv_service.pages import assets, audit_page, dashboard, maps, plot_list, plot_page, runs  # noqa: F401
    from mrv_service.pages.auth import login_manager
    from mrv_service.pages.common import bp
    from mrv_service.pages.i18n import language, t, term, word
    from mrv_service.pages.templating import register_filters

    if not app.config.get("SECRET_KEY"):  # a test's config may set one
        app.config["SECRET_KEY"] = _secret_key(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=SESSION_HOURS)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", SESSION_HOURS * 3600)

    csrf.init_app(app)
    for blueprint in list(app.blueprints.values()):  # token-authenticated: no cookies, no CSRF
        prefix = blueprint.url_prefix or ""
        if prefix == api_prefix or prefix.startswith(api_prefix + "/"):
            csrf.exempt(blueprint)
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(t=t, term=term, word=word, language=language)
    register_filters(app)
    app.after_request(_security_headers)
