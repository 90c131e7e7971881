"""Remember how each file batch was read (issue 6: re-ingesting an unchanged file).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

``ingest_batches.reading`` holds a file batch's reading key (sha256, provider,
format, category-table fingerprint, reader version). A re-ingest of the same
bytes read the same way finds the earlier batch through the index and records
its outcome without reading the file again. Existing batches keep NULL: their
files are read in full once more, which fills in the key for the next time.
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
    # A plain ADD COLUMN (no batch rebuild): SQLite adds a nullable column in place.
    op.add_column("ingest_batches", sa.Column("reading", sa.Text(), nullable=True))
    op.create_index(op.f("ix_ingest_batches_reading"), "ingest_batches", ["reading"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ingest_batches_reading"), table_name="ingest_batches")
    # Native DROP COLUMN on both backends (SQLite >= 3.35), as 0002's downgrade does.
    op.execute("ALTER TABLE ingest_batches DROP COLUMN reading")
