"""``/api/v1/projects/{id}/plots``: a project's plots as a GeoJSON FeatureCollection."""

from __future__ import annotations

import math

import shapely
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import select

from mrv_service.api.auth import require
from mrv_service.api.db import db_session
from mrv_service.api.projects import project_of_caller
from mrv_service.api.schemas import PageArgsSchema
from mrv_service.store.models import Plot

__all__ = ["blp"]

blp = Blueprint("plots", __name__, url_prefix="/api/v1", description="Plots (GeoJSON, EPSG:4326).")

BBOX_MARGIN_DEG = 0.05
"""How far outside the bbox a plot's centroid may lie and the plot still intersect it [degree]:
the SQL pre-filter on the stored centroids; the exact test is on the polygon. 0.05 degree
(about 5 km) is far larger than any smallholder plot."""


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) != 4:
        raise ValidationError("bbox must be four numbers: minx,miny,maxx,maxy (lon/lat, EPSG:4326)")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError as exc:
        raise ValidationError("bbox must be four numbers: minx,miny,maxx,maxy (lon/lat, EPSG:4326)") from exc
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise ValidationError("bbox values must be finite numbers")
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError("bbox must have -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90")
    return minx, miny, maxx, maxy


class PlotArgsSchema(PageArgsSchema):
    bbox = fields.String(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={
            "description": "minx,miny,maxx,maxy in degrees (EPSG:4326): only plots whose polygon intersects it."
        },
    )

    @validates("bbox")
    def _bbox(self, value, **_kw):
        if value is not None:
            _parse_bbox(value)


class PlotProperties(Schema):
    external_id = fields.String(required=True, metadata={"description": "The plot id of the upload."})
    area_ha = fields.Float(required=True, metadata={"description": "Area [ha] in the plot's UTM zone."})
    centroid_lon = fields.Float(required=True)
    centroid_lat = fields.Float(required=True)
    county = fields.String(allow_none=True)
    cropping_system = fields.String(allow_none=True)


class FeatureSchema(Schema):
    type = fields.String(required=True, validate=validate.Equal("Feature"))
    id = fields.Integer(required=True)
    geometry = fields.Dict(
        required=True, metadata={"description": "GeoJSON Polygon or MultiPolygon (lon/lat)."}
    )
    properties = fields.Nested(PlotProperties, required=True)


class FeatureCollectionSchema(Schema):
    type = fields.String(required=True, validate=validate.Equal("FeatureCollection"))
    features = fields.List(fields.Nested(FeatureSchema), required=True)
    next = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page; null at the end."},
    )


def _feature(plot: Plot, geom) -> dict:
    return {
        "type": "Feature",
        "id": plot.id,
        "geometry": shapely.geometry.mapping(geom),
        "properties": {
            "external_id": plot.external_id,
            "area_ha": plot.area_ha,
            "centroid_lon": plot.centroid_lon,
            "centroid_lat": plot.centroid_lat,
            "county": plot.county,
            "cropping_system": plot.cropping_system,
        },
    }


@blp.route("/projects/<int:project_id>/plots")
class Plots(MethodView):
    @blp.arguments(PlotArgsSchema, location="query")
    @blp.response(200, FeatureCollectionSchema, content_type="application/geo+json")
    @require("read")
    def get(self, args, project_id: int):
        """The project's plots by id, `limit` per page, optionally those intersecting `bbox`."""
        project = project_of_caller(project_id)
        limit, after = args["limit"], args["after"]
        stmt = select(Plot).where(Plot.project_id == project.id)
        box = None
        if args["bbox"] is not None:
            minx, miny, maxx, maxy = _parse_bbox(args["bbox"])
            m = BBOX_MARGIN_DEG
            stmt = stmt.where(
                Plot.centroid_lon.between(minx - m, maxx + m), Plot.centroid_lat.between(miny - m, maxy + m)
            )
            box = shapely.box(minx, miny, maxx, maxy)
        stmt = stmt.order_by(Plot.id)
        session = db_session()
        features: list[dict] = []
        more = False
        cursor = after
        chunk = limit + 1 if box is None else max(limit + 1, 500)
        while not more:
            page = stmt if cursor is None else stmt.where(Plot.id > cursor)
            rows = session.scalars(page.limit(chunk)).all()
            for plot in rows:
                geom = shapely.from_wkt(plot.geometry_wkt)
                if box is not None and not geom.intersects(box):
                    continue
                if len(features) == limit:
                    more = True
                    break
                features.append(_feature(plot, geom))
            if len(rows) < chunk:
                break
            cursor = rows[-1].id
        return {
            "type": "FeatureCollection",
            "features": features,
            "next": features[-1]["id"] if more and features else None,
        }


@blp.after_request
def _geojson_media_type(response):
    """Successful plot listings are GeoJSON (RFC 7946: ``application/geo+json``)."""
    if response.status_code == 200 and response.mimetype == "application/json":
        response.mimetype = "application/geo+json"
    return response
