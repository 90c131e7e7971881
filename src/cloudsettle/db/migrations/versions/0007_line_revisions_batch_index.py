"""Index line revisions by batch (issue 8: the ingest page lists each batch's periods).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

Without it, the batch list and a batch's page scan every revision of the store
for the batch's lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_line_revisions_batch_id"), "line_revisions", ["batch_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_line_revisions_batch_id"), table_name="line_revisions")
