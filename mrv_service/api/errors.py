"""One JSON error shape for every error of the service.

``{"error": {"code": ..., "message": ..., "field": ..., "fix": ...}}``: ``code`` a stable
snake_case name, ``message`` what went wrong, ``field`` the request field at fault (or null),
``fix`` what to do about it. Used for Flask's own errors (404, 405, 413), validation errors of
the request schemas (422), authentication (401), roles (403) and unexpected errors (500, whose
message never shows internals; the traceback is logged).

Outside ``/api/``, the review pages' routes (:mod:`mrv_service.pages`), and unknown paths asked
for by a browser (``Accept: text/html``), get an HTML error page instead
(:func:`mrv_service.pages.errors.wants_html`, :func:`~mrv_service.pages.errors.error_page`).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

__all__ = ["ApiError", "ErrorSchema", "error_response", "register_error_handlers"]

log = logging.getLogger(__name__)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable error code, e.g. `not_found`."})
    message = fields.String(required=True, metadata={"description": "What went wrong."})
    field = fields.String(
        allow_none=True, required=True, metadata={"description": "The request field at fault, or null."}
    )
    fix = fields.String(allow_none=True, required=True, metadata={"description": "What to do about it."})


class ErrorSchema(Schema):
    """The one error shape of the API."""

    error = fields.Nested(ErrorBodySchema, required=True)


_DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "The request could not be read.", "Check the request's syntax and body."),
    401: (
        "unauthorized",
        "No valid API token was given.",
        "Send `Authorization: Bearer TOKEN` with a token from `mrv users create`.",
    ),
    403: (
        "forbidden",
        "Your role does not allow this.",
        "Ask an admin of your organisation for a role that does.",
    ),
    404: ("not_found", "There is no such resource.", "Check the URL and the ids in it."),
    405: (
        "method_not_allowed",
        "This method is not allowed here.",
        "Use one of the methods in the Allow header.",
    ),
    409: ("conflict", "The request conflicts with the current state.", "Reload the resource and retry."),
    413: (
        "payload_too_large",
        "The request body is larger than the server accepts.",
        "Send a smaller body (split the file).",
    ),
    415: ("unsupported_media_type", "The body's media type is not accepted.", "Send application/json."),
    422: ("validation_error", "The request is not valid.", "Correct the field named in `field`."),
    429: ("too_many_requests", "Too many requests.", "Wait and retry."),
    500: (
        "internal_error",
        "The server failed to handle the request.",
        "Retry later; if it persists, report it with the time of the request.",
    ),
}


class ApiError(HTTPException):
    """An error to answer with: HTTP status, code, message, field and fix."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(description=message)
        self.code = status
        d_code, d_message, d_fix = _DEFAULTS.get(status, ("error", "Error.", None))
        self.error = {
            "code": code or d_code,
            "message": message or d_message,
            "field": field,
            "fix": fix if fix is not None else d_fix,
        }


def error_response(status: int, error: dict[str, Any], headers: dict[str, str] | None = None):
    response = jsonify({"error": error})
    response.status_code = status
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _first_message(messages: Any, path: tuple[str, ...] = ()) -> tuple[str | None, str]:
    """The first (field, message) of a marshmallow/webargs messages tree."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            # webargs nests by location: {"query": {"limit": [...]}, "json": {...}}
            sub = (
                path
                if key in ("query", "json", "form", "files", "headers", "view_args", "path")
                else path + (key,)
            )
            return _first_message(value, sub)
    if isinstance(messages, list | tuple) and messages:
        return _first_message(messages[0], path)
    return (".".join(path) or None), str(messages)


def _html_page(status: int, exc: Exception | None = None, headers: dict[str, str] | None = None):
    """The review pages' HTML error page, or None for an ``/api/`` path (JSON there)."""
    from mrv_service.pages.errors import error_page, wants_html

    return error_page(status, exc, headers) if wants_html() else None


def _from_http_exception(exc: HTTPException):
    status = exc.code or 500
    headers: dict[str, str] = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    page = _html_page(status, exc, headers)
    if page is not None:
        return page
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="mrv"'
    if isinstance(exc, ApiError):
        return error_response(status, exc.error, headers)
    code, message, fix = _DEFAULTS.get(status, ("error", exc.description or "Error.", None))
    field = None
    data = getattr(exc, "data", None) or {}
    if status == 422 and data.get("messages"):
        field, message = _first_message(data["messages"])
        message = f"{field}: {message}" if field else message
        fix = f"Correct `{field}` as the API documentation describes." if field else fix
    elif status not in _DEFAULTS and exc.description:
        message = exc.description
    return error_response(status, {"code": code, "message": message, "field": field, "fix": fix}, headers)


def _from_exception(exc: Exception):
    log.exception("unhandled error in a request", exc_info=exc)
    page = _html_page(500)
    if page is not None:
        return page
    code, message, fix = _DEFAULTS[500]
    return error_response(500, {"code": code, "message": message, "field": None, "fix": fix})


def register_error_handlers(app: Flask) -> None:
    """Answer every error with the one error shape (overrides flask-smorest's handler)."""
    app.register_error_handler(HTTPException, _from_http_exception)
    app.register_error_handler(Exception, _from_exception)
