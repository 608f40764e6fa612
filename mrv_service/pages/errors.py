"""HTML error pages for every path outside ``/api/`` (the API keeps its JSON error shape:
:mod:`mrv_service.api.errors` calls :func:`error_page` for the other paths)."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_wtf.csrf import CSRFError

__all__ = ["wants_html", "error_page"]

log = logging.getLogger(__name__)

_KEYS = {
    400: "error_400",
    403: "error_403",
    404: "error_404",
    405: "error_405",
    413: "error_413",
    500: "error_500",
}


def wants_html() -> bool:
    """Whether the request's error is answered as an HTML page: never under ``/api/``; always
    for the pages' own routes (sign-in, projects ...); for any other path (no route) when the
    client prefers HTML to JSON, as a browser does (``Accept: text/html``): a client that asks
    for nothing in particular keeps the API's JSON error."""
    path = request.path
    if path == "/api" or path.startswith("/api/"):
        return False
    if request.blueprint == "pages":
        return True
    accept = request.accept_mimetypes
    return bool(accept) and accept.best_match(["application/json", "text/html"]) == "text/html"


def error_page(status: int, exc: Exception | None = None, headers: dict[str, str] | None = None):
    """An HTML page for an error (status, a message in the reader's language, a link home);
    never an internal detail. A 403's message names the role and the roles allowed."""
    from mrv_service.pages.i18n import t

    key = "error_csrf" if isinstance(exc, CSRFError) else _KEYS.get(status, "error_other")
    detail = None
    if status == 403 and exc is not None:
        detail = getattr(exc, "description", None)
    try:
        body = render_template("pages/error.html", status=status, message=t(key), detail=detail)
    except Exception:  # noqa: BLE001 - the error page itself failed: plain text
        log.exception("the error page for %s failed", status)
        body = f"Error {status}"
    response_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "www-authenticate"}
    return body, status, {"Content-Type": "text/html; charset=utf-8", **response_headers}
