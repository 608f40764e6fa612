"""Leaflet, served from the XStatic-Leaflet package's directory (no CDN: the pages work offline)."""

from __future__ import annotations

from flask import send_from_directory

from mrv_service.pages.common import bp

__all__ = ["leaflet_dir"]


def leaflet_dir() -> str:
    import xstatic.pkg.leaflet

    return xstatic.pkg.leaflet.BASE_DIR


@bp.get("/vendor/leaflet/<path:filename>")
def leaflet(filename: str):
    """``leaflet.js``, ``leaflet.css`` and its images (``send_from_directory`` refuses paths
    outside the package directory)."""
    return send_from_directory(leaflet_dir(), filename, max_age=86400)
