"""Run progress and cancellation: ``runs.percentage`` (how far a run is, 0-100) and
``runs.cancel_requested`` (set by ``DELETE /api/v1/projects/{id}/runs/{run_id}``; the worker's
stop check polls it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("percentage", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("percentage")
