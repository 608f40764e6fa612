"""PostGIS geometry of the plots (PostgreSQL with the PostGIS extension available; a no-op on
SQLite and on a PostgreSQL server without PostGIS, where the spatial checks run in Python).

``plots.geom`` (``geometry(Geometry, 4326)``) is kept equal to ``plots.geometry_wkt`` by a
trigger, so every writer (the ORM, bulk INSERT, COPY) fills it without knowing it exists, and
the ORM models stay the same on both databases. A GiST index makes ``ST_Intersects`` joins use
the index (:mod:`mrv_service.store.spatial`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("mrv_service.store.migrations")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first() is None:
        log.warning(
            "PostgreSQL without PostGIS: plots get no spatial column; the overlap checks run in Python "
            "(install the server's postgis package and run `mrv db upgrade` again to add it)"
        )
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("ALTER TABLE plots ADD COLUMN geom geometry(Geometry, 4326)")
    op.execute("UPDATE plots SET geom = ST_GeomFromText(geometry_wkt, 4326)")
    op.execute("CREATE INDEX ix_plots_geom ON plots USING GIST (geom)")
    op.execute(
        """
        CREATE FUNCTION plots_geom_from_wkt() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.geom := ST_GeomFromText(NEW.geometry_wkt, 4326);
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER plots_geom_sync BEFORE INSERT OR UPDATE OF geometry_wkt ON plots "
        "FOR EACH ROW EXECUTE FUNCTION plots_geom_from_wkt()"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS plots_geom_sync ON plots")
    op.execute("DROP FUNCTION IF EXISTS plots_geom_from_wkt()")
    op.execute("DROP INDEX IF EXISTS ix_plots_geom")
    op.execute("ALTER TABLE plots DROP COLUMN IF EXISTS geom")
