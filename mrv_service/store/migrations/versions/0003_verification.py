"""Practice verification: per-run flags of plot-seasons (logged vs detected practice) and the
registry of trained detectors (written to match mrv_service.store.models, checked by
autogenerate's comparison in the tests).

At most one active detector per (project, practice): two partial unique indexes, one for
project detectors and one for the bundled defaults (``project_id`` NULL, which a unique index
would otherwise treat as distinct).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("active")
_ACTIVE_DEFAULT = sa.text("active AND project_id IS NULL")


def upgrade() -> None:
    op.create_table(
        "verification_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("plot_id", sa.Integer(), nullable=False),
        sa.Column("season_year", sa.Integer(), nullable=False),
        sa.Column("practice", sa.String(length=20), nullable=False),
        sa.Column("logged", sa.String(length=50), nullable=True),
        sa.Column("detected", sa.String(length=50), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("review_status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_verification_flags_run_id_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_verification_flags_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["plots.id"], name=op.f("fk_verification_flags_plot_id_plots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_flags")),
        sa.UniqueConstraint(
            "run_id",
            "plot_id",
            "season_year",
            "practice",
            name=op.f("uq_verification_flags_run_id_plot_id_season_year_practice"),
        ),
    )
    op.create_index("ix_verification_flags_run_id", "verification_flags", ["run_id"], unique=False)
    op.create_index(
        "ix_verification_flags_project_plot", "verification_flags", ["project_id", "plot_id"], unique=False
    )
    op.create_index(
        "ix_verification_flags_project_severity",
        "verification_flags",
        ["project_id", "severity"],
        unique=False,
    )

    op.create_table(
        "detectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("practice", sa.String(length=20), nullable=False),
        sa.Column("model_path", sa.Text(), nullable=False),
        sa.Column("training_sha256", sa.String(length=64), nullable=False),
        sa.Column("n_training", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_detectors_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detectors")),
    )
    op.create_index(
        "ix_detectors_project_practice_active",
        "detectors",
        ["project_id", "practice", "active"],
        unique=False,
    )
    # at most one active detector per (project, practice), and per practice among the defaults
    op.create_index(
        "uq_detectors_project_practice_active",
        "detectors",
        ["project_id", "practice"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index(
        "uq_detectors_default_practice_active",
        "detectors",
        ["practice"],
        unique=True,
        sqlite_where=_ACTIVE_DEFAULT,
        postgresql_where=_ACTIVE_DEFAULT,
    )


def downgrade() -> None:
    op.drop_index(
        "uq_detectors_default_practice_active",
        table_name="detectors",
        sqlite_where=_ACTIVE_DEFAULT,
        postgresql_where=_ACTIVE_DEFAULT,
    )
    op.drop_index(
        "uq_detectors_project_practice_active",
        table_name="detectors",
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.drop_index("ix_detectors_project_practice_active", table_name="detectors")
    op.drop_table("detectors")
    op.drop_index("ix_verification_flags_project_severity", table_name="verification_flags")
    op.drop_index("ix_verification_flags_project_plot", table_name="verification_flags")
    op.drop_index("ix_verification_flags_run_id", table_name="verification_flags")
    op.drop_table("verification_flags")
