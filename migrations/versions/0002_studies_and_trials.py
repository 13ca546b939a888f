"""Add studies (budget, state, warm start, trial bookkeeping) and their trials (run history).

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ws_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n_trials", sa.Integer(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("warm_start_k", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("optuna_study_name", sa.String(length=255), nullable=False),
        sa.Column("metamodel_version", sa.String(length=64), nullable=True),
        sa.Column("learners", sa.JSON(), nullable=False),
        sa.Column("warm_start", sa.JSON(), nullable=False),
        sa.Column("n_reserved", sa.Integer(), nullable=False),
        sa.Column("n_finished", sa.Integer(), nullable=False),
        sa.Column("n_workers", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["ws_tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("optuna_study_name"),
    )
    op.create_index("ix_ws_studies_task_id", "ws_studies", ["task_id"])
    op.create_index("ix_ws_studies_status", "ws_studies", ["status"])
    op.create_table(
        "ws_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("learner", sa.String(length=64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["ws_studies.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id", "number", name="uq_ws_trials_number"),
    )
    op.create_index("ix_ws_trials_study_id", "ws_trials", ["study_id"])


def downgrade() -> None:
    op.drop_index("ix_ws_trials_study_id", table_name="ws_trials")
    op.drop_table("ws_trials")
    op.drop_index("ix_ws_studies_status", table_name="ws_studies")
    op.drop_index("ix_ws_studies_task_id", table_name="ws_studies")
    op.drop_table("ws_studies")
