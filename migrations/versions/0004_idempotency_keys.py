"""Add the remembered outcomes of create requests sent with an ``Idempotency-Key`` header.

Revision ID: 0004
Revises: 0003
Create Date: 2025-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ws_idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["ws_tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_ws_idempotency_keys_key"),
    )
    op.create_index("ix_ws_idempotency_keys_tenant_id", "ws_idempotency_keys", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_ws_idempotency_keys_tenant_id", table_name="ws_idempotency_keys")
    op.drop_table("ws_idempotency_keys")
