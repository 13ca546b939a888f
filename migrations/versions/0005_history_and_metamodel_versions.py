"""Add the service's own history to the knowledge base, and versions of the refitted meta-model.

- ``ws_history_studies`` / ``ws_history_trials``: every succeeded study with its task's
  meta-features and its finished trials, with provenance (source, warmstart version, CV folds,
  time, tenant). Studies that succeeded before this revision are added by the next
  ``warmstart kb refit`` (it records any succeeded study that is missing).
- ``ws_metamodel_versions``: one row per refitted meta-model (public, or one tenant's), naming
  its artifact under the service's home and the artifact's checksum.
- ``ws_refit_state``: the lease that keeps two processes from refitting at once, and how many
  history studies the last refit read (the automatic trigger counts new ones from there).

Downgrade drops the four tables; the artifact directories under ``$WARMSTART_HOME/knowledge/
versions`` are left on disk (nothing refers to them any more).

Revision ID: 0005
Revises: 0004
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ws_history_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("task_type", sa.String(length=16), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("metafeatures", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_version", sa.String(length=64), nullable=False),
        sa.Column("cv_folds", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["ws_studies.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["ws_tenants.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["ws_tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id"),
    )
    op.create_index("ix_ws_history_studies_tenant_id", "ws_history_studies", ["tenant_id"])
    op.create_index("ix_ws_history_studies_task_id", "ws_history_studies", ["task_id"])
    op.create_table(
        "ws_history_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("history_study_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("learner", sa.String(length=64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["history_study_id"], ["ws_history_studies.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("history_study_id", "number", name="uq_ws_history_trials_number"),
    )
    op.create_index(
        "ix_ws_history_trials_history_study_id", "ws_history_trials", ["history_study_id"]
    )
    op.create_table(
        "ws_metamodel_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("task_type", sa.String(length=16), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=True),
        sa.Column("kb_version", sa.String(length=255), nullable=False),
        sa.Column("artifact", sa.String(length=255), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("n_history_studies", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["ws_tenants.id"]),
        sa.ForeignKeyConstraint(["base_version_id"], ["ws_metamodel_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ws_metamodel_versions_tenant_id", "ws_metamodel_versions", ["tenant_id"])
    op.create_table(
        "ws_refit_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("history_studies_refitted", sa.Integer(), nullable=False),
        sa.Column("last_refit_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("ws_refit_state")
    op.drop_index("ix_ws_metamodel_versions_tenant_id", table_name="ws_metamodel_versions")
    op.drop_table("ws_metamodel_versions")
    op.drop_index("ix_ws_history_trials_history_study_id", table_name="ws_history_trials")
    op.drop_table("ws_history_trials")
    op.drop_index("ix_ws_history_studies_task_id", table_name="ws_history_studies")
    op.drop_index("ix_ws_history_studies_tenant_id", table_name="ws_history_studies")
    op.drop_table("ws_history_studies")
