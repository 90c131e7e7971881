"""Draft agreement versions (issue 8, web UI).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Table as in ``cloudsettle.db.models_drafts``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloudsettle.db.types import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreement_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agreement_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("base_fingerprint", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("closed_by", sa.Text(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"],
                                name=op.f("fk_agreement_drafts_agreement_id_agreements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_drafts")),
    )
    op.create_index(op.f("ix_agreement_drafts_agreement_id_status"), "agreement_drafts",
                    ["agreement_id", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_agreement_drafts_agreement_id_status"), table_name="agreement_drafts")
    op.drop_table("agreement_drafts")
