"""Deal lifecycle and validation tables (issue 4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Tables as in ``cloudsettle.db.models_validation``: deal states and suggestions, the
provider's own figures, and batch column profiles. (Cases are in 0003.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloudsettle.db.types import Money, UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deal_states",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("mapping", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_states")),
    )
    op.create_index(op.f("ix_deal_states_deal_id"), "deal_states", ["deal_id"])
    op.create_table(
        "deal_suggestions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("agreement_id", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("hint", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("deal_id", sa.String(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_suggestions")),
    )
    op.create_index(op.f("ix_deal_suggestions_provider_account_id"), "deal_suggestions",
                    ["provider", "account_id"])
    op.create_table(
        "provider_figures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("month", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("line_id", sa.String(), nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=True),
        sa.Column("imported_by", sa.String(), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_figures")),
    )
    op.create_index(op.f("ix_provider_figures_provider_month"), "provider_figures", ["provider", "month"])
    op.create_table(
        "source_profiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("columns", sa.String(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["ingest_batches.id"],
                                name=op.f("fk_source_profiles_batch_id_ingest_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_profiles")),
    )
    op.create_index(op.f("ix_source_profiles_batch_id"), "source_profiles", ["batch_id"])
    op.create_index(op.f("ix_source_profiles_source"), "source_profiles", ["source"])


def downgrade() -> None:
    for index, table in (
        ("ix_source_profiles_source", "source_profiles"),
        ("ix_source_profiles_batch_id", "source_profiles"),
        ("ix_provider_figures_provider_month", "provider_figures"),
        ("ix_deal_suggestions_provider_account_id", "deal_suggestions"),
        ("ix_deal_states_deal_id", "deal_states"),
    ):
        op.drop_index(op.f(index), table_name=table)
    for table in ("source_profiles", "provider_figures", "deal_suggestions", "deal_states"):
        op.drop_table(table)
