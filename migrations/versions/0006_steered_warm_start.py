"""Steer the warm start: count the warm-start trials enqueued so far.

A study's first warm-start configuration is enqueued at creation; the workers propose each next
one from the results so far (``ws_studies.n_warm_enqueued`` is how many were enqueued; a worker
takes the next one by moving it from ``n`` to ``n + 1``, so two workers never enqueue the same
one). Studies created before this revision had their whole warm start enqueued at creation: they
get ``n_warm_enqueued = warm_start_k`` and are not steered.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
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
    # A plain ADD COLUMN (SQLite does it in place): a batch rebuild of ws_studies would drop the
    # table that ws_trials rows point to, which SQLite's enforced foreign keys refuse. The server
    # default stays: it fills the existing rows, and new rows always set the column.
    op.add_column(
        "ws_studies",
        sa.Column("n_warm_enqueued", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.execute("UPDATE ws_studies SET n_warm_enqueued = warm_start_k")


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 does it in place, like PostgreSQL).
    op.drop_column("ws_studies", "n_warm_enqueued")
