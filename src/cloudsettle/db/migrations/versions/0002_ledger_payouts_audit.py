"""Ledger, payouts, run inputs, shadow actuals; audit hash chain; approval columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

- New tables: ``payout_batches``, ``payouts``, ``ledger_entries``,
  ``ledger_postings``, ``payout_accounts``, ``run_inputs``, ``shadow_actuals``
  (the ``settings`` table that :class:`~cloudsettle.db.models.SettingRow` maps
  is created by 0003, which another feature area shares).
- ``statements`` gains the inputs fingerprint, the second approval and the
  rejection columns. The SQLite trigger that guards finalized statements lists
  the columns by name, so it is recreated with the new ones. Both backends now
  also let a finalized statement go ``paid`` -> ``settled`` (a returned payout),
  nothing else.
- ``audit_events`` gains ``reason``, ``before_value``, ``after_value`` and the
  hash chain (``prev_hash``, ``entry_hash``). Existing events are chained here,
  in id order, with the same function the service uses; the append-only
  triggers are dropped for that one backfill and recreated.
- Ledger entries and postings are append-only at the database too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from cloudsettle.core.ledger_chain import GENESIS, audit_content, link_hash
from cloudsettle.db.types import Money, UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FINALIZED = "finalized_at IS NOT NULL AND {t}status IN ('settled', 'paid')"

_STATEMENT_COLUMNS_0001 = (
    "id", "run_id", "partner_id", "agreement_id", "period", "period_start", "period_end", "cycle",
    "agreement_version", "currency", "mode", "commission", "tier_uplift", "clawback",
    "cap_adjustment", "fees", "manual_adjustment", "prior_period_adjustment", "carried_in",
    "carried_out", "payable", "earned", "base_total", "billed_total", "unrounded", "prepared_by",
    "prepared_at", "approved_by", "approved_at", "finalized_by", "finalized_at",
)
_STATEMENT_COLUMNS_NEW = (
    "inputs_fingerprint", "second_approved_by", "second_approved_at", "rejected_by", "rejected_at",
    "rejection_reason",
)
#: Every column of ``statements`` but ``status`` after this migration (frozen on purpose).
_STATEMENT_COLUMNS_BUT_STATUS = _STATEMENT_COLUMNS_0001 + _STATEMENT_COLUMNS_NEW


def _sqlite_statement_update_trigger(columns: Sequence[str], *, allow_return: bool) -> str:
    moves = "(OLD.status = 'settled' AND NEW.status = 'paid')"
    if allow_return:
        moves += " OR (OLD.status = 'paid' AND NEW.status = 'settled')"
    return f"""CREATE TRIGGER statements_finalized_no_update BEFORE UPDATE ON statements
    WHEN OLD.{_FINALIZED.format(t="OLD.")} AND (
        NOT (NEW.status = OLD.status OR {moves})
        OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)})
    BEGIN SELECT RAISE(ABORT, 'statement is finalized: only settled <-> paid may change'); END"""


def _pg_statement_function(*, allow_return: bool) -> str:
    moves = "(OLD.status = 'settled' AND NEW.status = 'paid')"
    if allow_return:
        moves += " OR (OLD.status = 'paid' AND NEW.status = 'settled')"
    return f"""CREATE OR REPLACE FUNCTION cloudsettle_guard_finalized_statement() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT (OLD.{_FINALIZED.format(t="OLD.")}) THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'statement % is finalized: DELETE refused', OLD.id;
        END IF;
        IF (to_jsonb(NEW) - 'status') = (to_jsonb(OLD) - 'status')
           AND (NEW.status = OLD.status OR {moves}) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'statement % is finalized: only settled <-> paid may change', OLD.id;
    END $$"""


_SQLITE_AUDIT_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END""",
)
_SQLITE_LEDGER_TRIGGERS = tuple(
    f"""CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op_name} refused'); END"""
    for table in ("ledger_entries", "ledger_postings")
    for op_name in ("UPDATE", "DELETE")
)
_SQLITE_LEDGER_TRIGGER_NAMES = tuple(
    f"{t}_no_{o}" for t in ("ledger_entries", "ledger_postings") for o in ("update", "delete")
)

_PG_LEDGER = (
    """CREATE FUNCTION cloudsettle_refuse_ledger_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
    END $$""",
    """CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION cloudsettle_refuse_ledger_change()""",
    """CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION cloudsettle_refuse_ledger_change()""",
    """CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION cloudsettle_refuse_ledger_change()""",
    """CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION cloudsettle_refuse_ledger_change()""",
)
_PG_LEDGER_DROPS = (
    "DROP TRIGGER IF EXISTS ledger_postings_no_truncate ON ledger_postings",
    "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_postings_append_only ON ledger_postings",
    "DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
    "DROP FUNCTION IF EXISTS cloudsettle_refuse_ledger_change()",
)
_PG_AUDIT_TRIGGERS = (
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION cloudsettle_refuse_audit_change()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION cloudsettle_refuse_audit_change()""",
)
_PG_AUDIT_DROPS = (
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
)


def _dialect() -> str:
    return op.get_context().dialect.name


def _drop_audit_triggers() -> None:
    if _dialect() == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    elif _dialect() == "postgresql":
        for s in _PG_AUDIT_DROPS:
            op.execute(s)


def _create_audit_triggers() -> None:
    statements = {"sqlite": _SQLITE_AUDIT_TRIGGERS, "postgresql": _PG_AUDIT_TRIGGERS}.get(_dialect(), ())
    for s in statements:
        op.execute(s)


def _instant(value: Any) -> datetime:
    """A raw ``at`` value (SQLite text or a PostgreSQL timestamp) as an aware UTC instant."""
    instant: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _backfill_audit_chain() -> None:
    """Chain the events written before this migration, in id order."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, at, actor, action, subject, details FROM audit_events ORDER BY id")
    ).all()
    prev = GENESIS
    for r in rows:
        content = audit_content(at=_instant(r.at), actor=r.actor, action=r.action, subject=r.subject,
                                details=r.details, reason=None, before=None, after=None)
        entry = link_hash(prev, content)
        bind.execute(
            sa.text("UPDATE audit_events SET prev_hash = :p, entry_hash = :e WHERE id = :i"),
            {"p": prev, "e": entry, "i": r.id},
        )
        prev = entry


def upgrade() -> None:
    op.create_table(
        "payout_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("requested_date", sa.Date(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("control_sum", Money(), nullable=False),
        sa.Column("xml_sha256", sa.Text(), nullable=False),
        sa.Column("csv_sha256", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batches")),
        sa.UniqueConstraint("message_id", name=op.f("uq_payout_batches_message_id")),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("end_to_end_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_at", UtcDateTime(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'failed', 'returned')", name=op.f("ck_payouts_status")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["payout_batches.id"], name=op.f("fk_payouts_batch_id_payout_batches")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"], ["statements.id"], name=op.f("fk_payouts_statement_id_statements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_payouts_end_to_end_id")),
    )
    op.create_index(op.f("ix_payouts_statement_id"), "payouts", ["statement_id"], unique=False)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("narration", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=True),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("payout_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("posted_at", UtcDateTime(), nullable=False),
        sa.Column("posted_by", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('statement', 'payment', 'reversal')", name=op.f("ck_ledger_entries_kind")
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payouts.id"], name=op.f("fk_ledger_entries_payout_id_payouts")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_reverses_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_ledger_entries_run_id_runs")),
        sa.ForeignKeyConstraint(
            ["statement_id"], ["statements.id"], name=op.f("fk_ledger_entries_statement_id_statements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_day"), "ledger_entries", ["day"], unique=False)
    op.create_index(
        op.f("ix_ledger_entries_statement_id"), "ledger_entries", ["statement_id"], unique=False
    )
    op.create_table(
        "ledger_postings",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_ledger_postings_entry_id_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("entry_id", "seq", name=op.f("pk_ledger_postings")),
    )
    op.create_index(op.f("ix_ledger_postings_account"), "ledger_postings", ["account"], unique=False)
    op.create_index(
        op.f("ix_ledger_postings_partner_id"), "ledger_postings", ["partner_id"], unique=False
    )
    op.create_table(
        "payout_accounts",
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("masked", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_payout_accounts_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_payout_accounts")),
    )
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("cutoff", UtcDateTime(), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_inputs_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_inputs")),
    )
    op.create_table(
        "shadow_actuals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column("agreement_id", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.Column("imported_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_actuals")),
        sa.UniqueConstraint(
            "partner_id",
            "agreement_id",
            "period",
            "component",
            name=op.f("uq_shadow_actuals_partner_id_agreement_id_period_component"),
        ),
    )

    # statements: new nullable columns, and the SQLite guard trigger names them.
    if _dialect() == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS statements_finalized_no_update")
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("inputs_fingerprint", sa.Text(), nullable=True))
        batch.add_column(sa.Column("second_approved_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("second_approved_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("rejected_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rejected_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("rejection_reason", sa.Text(), nullable=True))
    if _dialect() == "sqlite":
        op.execute(_sqlite_statement_update_trigger(_STATEMENT_COLUMNS_BUT_STATUS, allow_return=True))
    elif _dialect() == "postgresql":
        op.execute(_pg_statement_function(allow_return=True))

    # audit_events: chain columns, backfilled with the triggers off for this one update.
    _drop_audit_triggers()
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("before_value", sa.Text(), nullable=True))
        batch.add_column(sa.Column("after_value", sa.Text(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.Text(), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.Text(), nullable=True))
    _backfill_audit_chain()
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("prev_hash", existing_type=sa.Text(), nullable=False)
        batch.alter_column("entry_hash", existing_type=sa.Text(), nullable=False)
    _create_audit_triggers()

    if _dialect() == "sqlite":
        for s in _SQLITE_LEDGER_TRIGGERS:
            op.execute(s)
    elif _dialect() == "postgresql":
        for s in _PG_LEDGER:
            op.execute(s)


def downgrade() -> None:
    if _dialect() == "sqlite":
        for name in _SQLITE_LEDGER_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif _dialect() == "postgresql":
        for s in _PG_LEDGER_DROPS:
            op.execute(s)
    _drop_audit_triggers()
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("after_value")
        batch.drop_column("before_value")
        batch.drop_column("reason")
    _create_audit_triggers()
    if _dialect() == "sqlite":
        # Native DROP COLUMN (SQLite >= 3.35): a batch rebuild of ``statements`` would
        # trip the statement_lines triggers that name it.
        op.execute("DROP TRIGGER IF EXISTS statements_finalized_no_update")
        for name in reversed(_STATEMENT_COLUMNS_NEW):
            op.execute(f"ALTER TABLE statements DROP COLUMN {name}")
        op.execute(_sqlite_statement_update_trigger(_STATEMENT_COLUMNS_0001, allow_return=False))
    else:
        for name in reversed(_STATEMENT_COLUMNS_NEW):
            op.drop_column("statements", name)
        if _dialect() == "postgresql":
            op.execute(_pg_statement_function(allow_return=False))
    op.drop_table("shadow_actuals")
    op.drop_table("run_inputs")
    op.drop_table("payout_accounts")
    op.drop_index(op.f("ix_ledger_postings_partner_id"), table_name="ledger_postings")
    op.drop_index(op.f("ix_ledger_postings_account"), table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_index(op.f("ix_ledger_entries_statement_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_day"), table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index(op.f("ix_payouts_statement_id"), table_name="payouts")
    op.drop_table("payouts")
    op.drop_table("payout_batches")
