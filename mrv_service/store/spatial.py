"""Spatial queries in PostGIS, when the store has it (``plots.geom``, migrations 0009 and 0011).

On PostgreSQL with PostGIS the overlap check joins the plots with ``ST_Intersects`` on the SP-GiST
index of ``plots.geom`` and measures each intersection in the same metric projection the Python
path uses (:func:`geodata.overlaps.find_overlaps`: one UTM zone for all the plots, the same
tolerances), so both give the same pairs. On SQLite, or PostgreSQL without PostGIS,
:func:`has_postgis` is False and callers use the Python path.
"""

from __future__ import annotations

from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

from geodata.overlaps import OVERLAP_AREA_TOLERANCE_M2, OVERLAP_FRACTION_TOLERANCE

__all__ = ["has_postgis", "include_object", "utm_epsg_of_extent", "overlapping_pairs"]


class Geometry(UserDefinedType):
    """PostGIS's ``geometry`` type, known to SQLAlchemy's reflection (no model column uses it)."""

    cache_ok = True

    def __init__(self, *_args, **_kwargs) -> None:  # reflection passes the type's modifiers
        super().__init__()

    def get_col_spec(self, **_kw) -> str:
        return "geometry"


postgresql_base.ischema_names.setdefault("geometry", Geometry)

SPATIAL_OBJECTS = {("table", "spatial_ref_sys"), ("column", "geom"), ("index", "ix_plots_geom")}
"""What migration 0009 adds outside the ORM models (PostGIS's own table included)."""


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object``: leave the PostGIS objects out of model comparisons."""
    return (type_, name) not in SPATIAL_OBJECTS


def has_postgis(session: Session) -> bool:
    """Whether the store is PostgreSQL with the PostGIS column ``plots.geom``."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return (
        session.execute(
            text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'plots' AND column_name = 'geom'"
            )
        ).first()
        is not None
    )


def utm_epsg_of_extent(west: float, south: float, east: float, north: float) -> int:
    """EPSG code of the WGS 84 UTM zone at an extent's centre, as geopandas'
    ``estimate_utm_crs`` picks it (pyproj's UTM query at the centre point; the first found)."""
    x, y = (west + east) / 2.0, (south + north) / 2.0
    found = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(x, y, x, y))
    if not found:  # pragma: no cover - every point on Earth has a UTM zone
        raise ValueError(f"no UTM zone at ({x}, {y})")
    return int(found[0].code)


def overlapping_pairs(
    session: Session,
    project_id: int,
    *,
    other_projects: bool,
    fraction_tolerance: float = OVERLAP_FRACTION_TOLERANCE,
    area_tolerance_m2: float = OVERLAP_AREA_TOLERANCE_M2,
) -> list[tuple[int, int, float, float]]:
    """Pairs (plot id, other plot id, overlap [m2], fraction of the smaller plot [1]) of a
    project's plots that overlap by more than the tolerances: with plots of other projects
    (``other_projects``) or with each other. Needs :func:`has_postgis`.
    """
    ext = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM plots) s"
        )
    ).one()
    if ext[0] is None:
        return []
    epsg = utm_epsg_of_extent(*ext)
    pair = "b.project_id <> a.project_id" if other_projects else "b.project_id = a.project_id AND b.id > a.id"
    rows = session.execute(
        text(
            f"""
            SELECT p.i, p.j, ST_Area(ST_Intersection(t.ga, t.gb)), LEAST(ST_Area(t.ga), ST_Area(t.gb))
            FROM (
                SELECT a.id AS i, b.id AS j, a.geom AS ag, b.geom AS bg
                FROM plots a JOIN plots b ON ST_Intersects(a.geom, b.geom) AND {pair}
                WHERE a.project_id = :project
            ) p
            CROSS JOIN LATERAL (SELECT ST_Transform(p.ag, :epsg) AS ga, ST_Transform(p.bg, :epsg) AS gb) t
            """  # noqa: S608 - `pair` is one of two fixed strings
        ),
        {"epsg": epsg, "project": project_id},
    ).all()
    out = []
    for i, j, inter, smaller in rows:
        frac = inter / smaller if smaller > 0 else 0.0
        if inter > area_tolerance_m2 or frac > fraction_tolerance:
            out.append((int(i), int(j), float(inter), float(frac)))
    return sorted(out)
