"""The store: SQLAlchemy models, Alembic migrations, sessions and project helpers.

SQLite needs no set-up; the same code runs on PostgreSQL (``postgresql+psycopg://``).
"""

from mrv_service.store.db import init_db, make_engine, session_scope
from mrv_service.store.models import (
    ActivityRecord,
    Base,
    Farmer,
    Organisation,
    Plot,
    PlotFlag,
    Project,
    SoilSample,
    Upload,
)

__all__ = [
    "ActivityRecord",
    "Base",
    "Farmer",
    "Organisation",
    "Plot",
    "PlotFlag",
    "Project",
    "SoilSample",
    "Upload",
    "init_db",
    "make_engine",
    "session_scope",
]
