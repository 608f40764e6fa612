"""Indexes of the plot list at 100,000 plots: plots by (project, area) for sorting by area, and
(project, id) for a project's plots in id order (keyset paging of the API and the pages).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_plots_project_area", "plots", ["project_id", "area_ha"])
    op.create_index("ix_plots_project_id_id", "plots", ["project_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_plots_project_id_id", table_name="plots")
    op.drop_index("ix_plots_project_area", table_name="plots")
