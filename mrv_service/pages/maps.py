"""The maps' data: a project's plots (GeoJSON, EPSG:4326) with their credit [t CO2e] and worst
flag severity of the latest succeeded run, and a true-colour background rendered by the service
from the run's imagery (:func:`mrv_service.review.evidence.project_background`; no online
tiles). ``pages.js`` draws them with Leaflet (served from the XStatic-Leaflet package).

* ``map.json``: every plot of the project (points at the centroids above
  :data:`MAP_POLYGONS_UP_TO` plots);
* ``plots/<plot_id>/map.json``: one plot and its neighbours within :data:`NEIGHBOURS_DEG`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import shapely
from flask import Response, abort, jsonify, url_for
from sqlalchemy import and_, func, select

from mrv_service.pages.common import bp, cached, plot_or_404, project_context, project_or_404, session
from mrv_service.store.models import Plot, PlotResult, Run

__all__ = ["MAP_POLYGONS_UP_TO", "MAP_MARGIN_DEG", "NEIGHBOURS_DEG"]

log = logging.getLogger(__name__)

MAP_POLYGONS_UP_TO = 20_000
"""Projects with more plots are mapped as points at their centroids (the browser stays fast)."""

MAP_MARGIN_DEG = 0.003
"""Margin around the plots' centroids for the map's extent [degree] (about 300 m)."""

NEIGHBOURS_DEG = 0.004
"""A plot's map shows the plots whose centroid lies this close [degree] (about 400 m)."""


def _extent(project_id: int) -> tuple[float, float, float, float] | None:
    """West, south, east, north of the project's plot centroids with a margin [degree]."""
    row = (
        session()
        .execute(
            select(
                func.min(Plot.centroid_lon),
                func.min(Plot.centroid_lat),
                func.max(Plot.centroid_lon),
                func.max(Plot.centroid_lat),
            ).where(Plot.project_id == project_id)
        )
        .one()
    )
    if row[0] is None:
        return None
    m = MAP_MARGIN_DEG
    return (round(row[0] - m, 5), round(row[1] - m, 5), round(row[2] + m, 5), round(row[3] + m, 5))


def _background(run: Run | None, extent) -> tuple[bytes, tuple[float, float, float, float]] | None:
    """The map's background (PNG, bounds) from the run's imagery, or None (no run, no usable scene)."""
    if run is None or extent is None:
        return None
    from models.errors import MRVError
    from mrv_service.review.evidence import project_background

    def compute():
        try:
            return project_background(Path(run.out_dir), extent)
        except (MRVError, OSError) as exc:
            log.warning("no map background for run %s: %s", run.id, exc)
            return None

    return cached(("background", run.id, extent), compute)


def _plain(value: Any) -> Any:
    """shapely's mapping (tuples) as JSON lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _features(project_id: int, run: Run | None, *where, as_points: bool = False) -> list[dict[str, Any]]:
    geom_col = Plot.centroid_lon if as_points else Plot.geometry_wkt
    stmt = (
        select(
            Plot.external_id,
            geom_col,
            Plot.centroid_lat,
            Plot.area_ha,
            PlotResult.net_t_co2e,
            PlotResult.worst_severity,
            PlotResult.n_flags,
        )
        .select_from(Plot)
        .join(
            PlotResult,
            and_(PlotResult.plot_id == Plot.id, PlotResult.run_id == (run.id if run is not None else -1)),
            isouter=True,
        )
        .where(Plot.project_id == project_id, *where)
        .order_by(Plot.external_id)
    )
    features = []
    for ext, geom, lat, area, net, severity, n_flags in session().execute(stmt):
        if as_points:
            geometry = {"type": "Point", "coordinates": [round(geom, 6), round(lat, 6)]}
        else:
            geometry = _plain(shapely.geometry.mapping(shapely.set_precision(shapely.from_wkt(geom), 1e-6)))
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "id": ext,
                    "area_ha": round(float(area), 4),
                    "credit": None if net is None else round(float(net), 4),
                    "severity": severity,
                    "n_flags": int(n_flags or 0),
                },
            }
        )
    return features


def _collection(project, run: Run | None, features: list[dict[str, Any]], focus: str | None = None):
    extent = _extent(project.id)
    background = _background(run, extent)
    credits = [f["properties"]["credit"] for f in features if f["properties"]["credit"] is not None]
    return jsonify(
        {
            "type": "FeatureCollection",
            "features": features,
            "extent": extent,
            "focus": focus,
            "credit_range": [min(credits), max(credits)] if credits else None,
            "background": None
            if background is None
            else {
                "url": url_for("pages.map_background", project_id=project.id, run=run.id),
                "bounds": list(background[1]),
            },
        }
    )


@bp.get("/projects/<int:project_id>/map.json")
def map_data(project_id: int):
    """The project map's plots, extent and background (cached per run and plot upload)."""
    project = project_or_404(project_id)
    run = project_context(project)["run"]
    n, updated = (
        session()
        .execute(select(func.count(Plot.id), func.max(Plot.updated_at)).where(Plot.project_id == project.id))
        .one()
    )
    key = ("map", project.id, run.id if run is not None else None, int(n), str(updated))
    features = cached(key, lambda: _features(project.id, run, as_points=n > MAP_POLYGONS_UP_TO))
    return _collection(project, run, features)


@bp.get("/projects/<int:project_id>/plots/<string:plot_id>/map.json")
def plot_map_data(project_id: int, plot_id: str):
    """One plot (``focus``) and its neighbours, for the plot page's map."""
    project = project_or_404(project_id)
    plot = plot_or_404(project, plot_id)
    run = project_context(project)["run"]
    d = NEIGHBOURS_DEG
    near = (
        Plot.centroid_lon.between(plot.centroid_lon - d, plot.centroid_lon + d),
        Plot.centroid_lat.between(plot.centroid_lat - d, plot.centroid_lat + d),
    )
    return _collection(project, run, _features(project.id, run, *near), focus=plot.external_id)


@bp.get("/projects/<int:project_id>/map/background.png")
def map_background(project_id: int):
    """The map's background: a true-colour picture of the project from its clearest scene."""
    project = project_or_404(project_id)
    run = project_context(project)["run"]
    background = _background(run, _extent(project.id))
    if background is None:
        abort(404)
    return Response(background[0], mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})
