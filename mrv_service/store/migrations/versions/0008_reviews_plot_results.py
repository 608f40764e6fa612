"""Season reviews (a reviewer's standing decision per plot-season and practice, read by the next
run) and plot results (each succeeded run's per-plot headline, for the review pages' list).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "season_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("plot_id", sa.Integer(), nullable=False),
        sa.Column("season_year", sa.Integer(), nullable=False),
        sa.Column("practice", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=50), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=320), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_season_reviews_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["plots.id"], name=op.f("fk_season_reviews_plot_id_plots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_season_reviews")),
        sa.UniqueConstraint(
            "project_id",
            "plot_id",
            "season_year",
            "practice",
            name=op.f("uq_season_reviews_project_id_plot_id_season_year_practice"),
        ),
    )
    op.create_index("ix_season_reviews_plot_id", "season_reviews", ["plot_id"])
    op.create_table(
        "plot_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("plot_id", sa.Integer(), nullable=False),
        sa.Column("baseline_practice", sa.String(length=100), nullable=True),
        sa.Column("project_practice", sa.String(length=100), nullable=True),
        sa.Column("delta_t_co2e", sa.Float(), nullable=True),
        sa.Column("delta_t_co2e_p5", sa.Float(), nullable=True),
        sa.Column("delta_t_co2e_p95", sa.Float(), nullable=True),
        sa.Column("net_t_co2e", sa.Float(), nullable=True),
        sa.Column("worst_severity", sa.String(length=20), nullable=True),
        sa.Column("n_flags", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_plot_results_run_id_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_plot_results_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["plots.id"], name=op.f("fk_plot_results_plot_id_plots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plot_results")),
        sa.UniqueConstraint("run_id", "plot_id", name=op.f("uq_plot_results_run_id_plot_id")),
    )
    op.create_index("ix_plot_results_run_net", "plot_results", ["run_id", "net_t_co2e"])
    op.create_index("ix_plot_results_run_severity", "plot_results", ["run_id", "worst_severity"])
    op.create_index("ix_plot_results_plot_id", "plot_results", ["plot_id"])


def downgrade() -> None:
    op.drop_table("plot_results")
    op.drop_table("season_reviews")
