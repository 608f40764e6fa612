"""Alembic environment of the store.

Runs on the connection handed over by :func:`mrv_service.store.db.init_db`
(``config.attributes["connection"]``), else on an engine made from ``sqlalchemy.url``. No
logging configuration here: only the CLI and the app factory configure logging.
"""

from __future__ import annotations

from alembic import context

from mrv_service.store.models import Base
from mrv_service.store.spatial import include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit SQL for ``alembic upgrade --sql`` without a database."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,  # PostGIS's objects are not in the models (migration 0009)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from mrv_service.store.db import make_engine

    engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
