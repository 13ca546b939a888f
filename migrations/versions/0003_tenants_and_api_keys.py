"""Add tenants and their API keys; every dataset, task, study and trial belongs to a tenant.

Existing rows go to the tenant ``local`` (id 1), the tenant of the embedded single-user mode.
Dataset content is unique per tenant instead of globally, so two tenants uploading the same bytes
each get their own dataset. The downgrade refuses when that happened (the rows cannot be merged).

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCAL_TENANT_ID = 1
OWNED_TABLES = ("ws_datasets", "ws_tasks", "ws_studies", "ws_trials")
#: Names SQLite's reflection gives unnamed constraints (0001 created the sha256 one unnamed).
SQLITE_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _sha256_unique_name() -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("ws_datasets"):
        if constraint["column_names"] == ["sha256"] and constraint["name"]:
            return str(constraint["name"])
    return "uq_ws_datasets_sha256"


def upgrade() -> None:
    tenants = op.create_table(
        "ws_tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.bulk_insert(
        tenants, [{"id": LOCAL_TENANT_ID, "name": "local", "created_at": datetime.now(UTC)}]
    )
    if op.get_bind().dialect.name == "postgresql":
        # The explicit id above does not advance the sequence.
        op.execute("SELECT setval(pg_get_serial_sequence('ws_tenants', 'id'), 1)")
    op.create_table(
        "ws_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["ws_tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    op.create_index("ix_ws_api_keys_tenant_id", "ws_api_keys", ["tenant_id"])
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "tenant_id",
                    sa.Integer(),
                    nullable=False,
                    server_default=sa.text(str(LOCAL_TENANT_ID)),
                )
            )
            batch.create_foreign_key(f"fk_{table}_tenant_id", "ws_tenants", ["tenant_id"], ["id"])
            batch.create_index(f"ix_{table}_tenant_id", ["tenant_id"])
        with op.batch_alter_table(table) as batch:
            # The default only fills existing rows; new rows must name their tenant.
            batch.alter_column("tenant_id", existing_type=sa.Integer(), server_default=None)
    sha256_unique = _sha256_unique_name()
    with op.batch_alter_table("ws_datasets", naming_convention=SQLITE_NAMING) as batch:
        batch.drop_constraint(sha256_unique, type_="unique")
        batch.create_unique_constraint("uq_ws_datasets_content", ["tenant_id", "sha256"])


def downgrade() -> None:
    shared = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT sha256 FROM ws_datasets GROUP BY sha256 "
            "HAVING count(*) > 1) AS duplicated"
        )
    )
    if shared:
        raise RuntimeError(
            f"{shared} dataset contents are stored by more than one tenant; revision 0002 allows "
            "each content once. Delete the duplicates before downgrading."
        )
    with op.batch_alter_table("ws_datasets") as batch:
        batch.drop_constraint("uq_ws_datasets_content", type_="unique")
        batch.create_unique_constraint("ws_datasets_sha256_key", ["sha256"])
    for table in reversed(OWNED_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_tenant_id")
            batch.drop_constraint(f"fk_{table}_tenant_id", type_="foreignkey")
            batch.drop_column("tenant_id")
    op.drop_index("ix_ws_api_keys_tenant_id", table_name="ws_api_keys")
    op.drop_table("ws_api_keys")
    op.drop_table("ws_tenants")
