"""The control-store tables, one plain record class each.

No business rules live here: services decide what to write, these classes only
say how it is stored. ``Mapped[Decimal]`` columns are exact
:class:`~cloudsettle.db.types.Money`, ``Mapped[datetime]`` columns are aware UTC
(see :mod:`cloudsettle.db.base`). Columns documented as JSON hold canonical
JSON text written by the service that owns them.

Each foreign key has a many-to-one ``relationship()`` with ``lazy="raise"``:
it is there so the unit of work inserts parents before children (and deletes
children first) when both are pending in one flush, not for navigation. A
row never loads a relative behind the caller's back; query explicitly, or ask
for ``selectinload``/``joinedload``. Setting the foreign key column is enough.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudsettle.db.base import Base

#: Statement statuses (DESIGN.md "Words"); the last two are finalized.
STATEMENT_STATUSES: tuple[str, ...] = ("calculated", "in_exception", "approved", "settled", "paid")
FINALIZED_STATUSES: frozenset[str] = frozenset({"settled", "paid"})
STATEMENT_MODES: tuple[str, ...] = ("live", "shadow")
SOURCE_KINDS: tuple[str, ...] = ("file", "api")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL ``column IN (...)`` for a CHECK constraint."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PartnerRow(Base):
    """A payee (``core.parties.Partner``) plus its encrypted payout details."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    currency: Mapped[str]
    verification: Mapped[str]
    minimum_payout: Mapped[Decimal]
    payout_details: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CustomerRow(Base):
    """An end client's account (``core.parties.Customer``)."""

    __tablename__ = "customers"

    provider: Mapped[str] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    segment: Mapped[str]


class AgreementRow(Base):
    """An agreement's identity; its terms are in :class:`AgreementVersionRow`."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    mode: Mapped[str]

    partner: Mapped[PartnerRow] = relationship(lazy="raise")


class AgreementVersionRow(Base):
    """One immutable numbered version.

    ``definition`` is the canonical JSON of the whole version and
    ``fingerprint`` its sha256 hex, so a statement can prove which terms it used.
    """

    __tablename__ = "agreement_versions"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    effective_from: Mapped[date]
    currency: Mapped[str]
    definition: Mapped[str]
    fingerprint: Mapped[str]
    created_at: Mapped[datetime]

    agreement: Mapped[AgreementRow] = relationship(lazy="raise")


class DealRow(Base):
    """A customer's spend assigned to a partner and agreement (``core.parties.Deal``).

    ``services`` is a JSON list of service names, or NULL for every service.
    """

    __tablename__ = "deals"
    __table_args__ = (Index(None, "provider", "account_id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    provider: Mapped[str]
    account_id: Mapped[str]
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    services: Mapped[str | None]

    partner: Mapped[PartnerRow] = relationship(lazy="raise")
    agreement: Mapped[AgreementRow] = relationship(lazy="raise")


class FxRateRow(Base):
    """How many ``to_currency`` one ``from_currency`` buys on ``day``."""

    __tablename__ = "fx_rates"

    day: Mapped[date] = mapped_column(primary_key=True)
    from_currency: Mapped[str] = mapped_column(primary_key=True)
    to_currency: Mapped[str] = mapped_column(primary_key=True)
    rate: Mapped[Decimal]


class RawObjectRow(Base):
    """A received input, content-addressed by sha256 and never changed."""

    __tablename__ = "raw_objects"

    sha256: Mapped[str] = mapped_column(primary_key=True)
    size_bytes: Mapped[int]
    stored_path: Mapped[str]
    first_received_at: Mapped[datetime]


class IngestBatchRow(Base):
    """One receipt of a raw object (a file upload or an API pull) and what it changed."""

    __tablename__ = "ingest_batches"
    __table_args__ = (
        CheckConstraint(_one_of("source_kind", SOURCE_KINDS), name="source_kind"),
        Index(None, "reading"),  # migration 0008: a file read before the same way (ingest shortcut)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("raw_objects.sha256"))
    source_kind: Mapped[str]
    file_name: Mapped[str]
    provider: Mapped[str]
    format: Mapped[str]
    received_at: Mapped[datetime]
    received_by: Mapped[str]
    rows_total: Mapped[int]
    rows_new: Mapped[int]
    rows_revised: Mapped[int]
    rows_unchanged: Mapped[int]
    rows_duplicate: Mapped[int]
    rows_rejected: Mapped[int]
    status: Mapped[str]
    #: How a file's bytes were read (sha256, format, category table, reader version); a re-ingest
    #: with the same reading reuses this batch's outcome (``services/ingest_shortcut.py``). NULL for
    #: pulls and for batches from before migration 0008.
    reading: Mapped[str | None]

    raw_object: Mapped[RawObjectRow] = relationship(lazy="raise")


class BillingLineRow(Base):
    """The head of one line identity: which revision is current."""

    __tablename__ = "billing_lines"

    provider: Mapped[str] = mapped_column(primary_key=True)
    line_id: Mapped[str] = mapped_column(primary_key=True)
    current_revision: Mapped[int]
    first_batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id"))
    updated_at: Mapped[datetime]

    first_batch: Mapped[IngestBatchRow] = relationship(lazy="raise")


class LineRevisionRow(Base):
    """Every version of every line: the fields of ``core.lines.BillingLine`` plus provenance.

    ``extras`` is the JSON object of the provider's extra columns.
    """

    __tablename__ = "line_revisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["provider", "line_id"], ["billing_lines.provider", "billing_lines.line_id"]
        ),
        Index(None, "billing_period"),
        Index(None, "provider", "account_id"),
        Index(None, "batch_id"),  # migration 0007: a batch's revisions (ingest pages)
    )

    provider: Mapped[str] = mapped_column(primary_key=True)
    line_id: Mapped[str] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id"))
    source_row: Mapped[int]
    content_hash: Mapped[str]
    account_id: Mapped[str]
    charge_start: Mapped[datetime]
    charge_end: Mapped[datetime]
    billing_period: Mapped[date]
    list_amount: Mapped[Decimal]
    currency: Mapped[str]
    discount_amount: Mapped[Decimal]
    voucher_amount: Mapped[Decimal]
    tax_amount: Mapped[Decimal]
    service: Mapped[str]
    service_category: Mapped[str]
    charge_category: Mapped[str]
    billing_mode: Mapped[str]
    region: Mapped[str]
    project: Mapped[str]
    resource_id: Mapped[str]
    invoice_id: Mapped[str]
    payer_account_id: Mapped[str]
    is_correction: Mapped[bool]
    paid_at: Mapped[datetime | None]
    original_line_id: Mapped[str | None]
    extras: Mapped[str]
    ingested_at: Mapped[datetime]

    head: Mapped[BillingLineRow] = relationship(lazy="raise")
    batch: Mapped[IngestBatchRow] = relationship(lazy="raise")


class RunRow(Base):
    """One settlement run of a period, for one partner or all (``partner_id`` NULL)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str]
    partner_id: Mapped[str | None]
    started_at: Mapped[datetime]
    started_by: Mapped[str]
    finished_at: Mapped[datetime | None]
    status: Mapped[str]
    summary: Mapped[str | None]


class StatementRow(Base):
    """A partner's statement for one agreement and period, with its rounded components.

    At most one row per ``(partner_id, agreement_id, period)``: a statement is
    replaced while not finalized and never changed once it is (``settled`` or
    ``paid`` with ``finalized_at`` set; see :mod:`cloudsettle.db.guards`).
    ``unrounded`` is the JSON object of exact components before rounding.
    """

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("partner_id", "agreement_id", "period"),
        Index(None, "partner_id", "agreement_id", "period_start"),
        CheckConstraint(_one_of("status", STATEMENT_STATUSES), name="status"),
        CheckConstraint(_one_of("mode", STATEMENT_MODES), name="mode"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    partner_id: Mapped[str]
    agreement_id: Mapped[str]
    period: Mapped[str]
    period_start: Mapped[date]
    period_end: Mapped[date]
    cycle: Mapped[str]
    agreement_version: Mapped[int]
    currency: Mapped[str]
    status: Mapped[str]
    mode: Mapped[str]
    commission: Mapped[Decimal]
    tier_uplift: Mapped[Decimal]
    clawback: Mapped[Decimal]
    cap_adjustment: Mapped[Decimal]
    fees: Mapped[Decimal]
    manual_adjustment: Mapped[Decimal]
    prior_period_adjustment: Mapped[Decimal]
    carried_in: Mapped[Decimal]
    carried_out: Mapped[Decimal]
    payable: Mapped[Decimal]
    earned: Mapped[Decimal]
    base_total: Mapped[Decimal]
    billed_total: Mapped[Decimal]
    unrounded: Mapped[str]
    prepared_by: Mapped[str]
    prepared_at: Mapped[datetime]
    approved_by: Mapped[str | None]
    approved_at: Mapped[datetime | None]
    finalized_by: Mapped[str | None]
    finalized_at: Mapped[datetime | None]
    # Added by migration 0002 (issue 5): inputs fingerprint, second approval, rejection.
    inputs_fingerprint: Mapped[str | None]
    second_approved_by: Mapped[str | None]
    second_approved_at: Mapped[datetime | None]
    rejected_by: Mapped[str | None]
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None]

    run: Mapped[RunRow] = relationship(lazy="raise")


class StatementLineRow(Base):
    """One billing line's contribution to a statement (``core.settlement.model.StatementLine``).

    ``reasons`` is the comma-separated reason codes, in order.
    """

    __tablename__ = "statement_lines"
    __table_args__ = (Index(None, "provider", "line_id"),)

    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    provider: Mapped[str]
    line_id: Mapped[str]
    revision: Mapped[int]
    role: Mapped[str]
    fraction: Mapped[Decimal]
    deal_id: Mapped[str]
    base: Mapped[Decimal]
    fx_rate: Mapped[Decimal | None]
    rule_id: Mapped[str | None]
    rate: Mapped[Decimal]
    amount: Mapped[Decimal]
    shown: Mapped[Decimal]
    tier_uplift: Mapped[Decimal]
    tier_uplift_shown: Mapped[Decimal]
    reasons: Mapped[str]
    original_line_id: Mapped[str | None]

    statement: Mapped[StatementRow] = relationship(lazy="raise")


class ManualAdjustmentRow(Base):
    """A user's adjustment to a not-yet-finalized statement (spec step 8)."""

    __tablename__ = "manual_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str]
    agreement_id: Mapped[str]
    period: Mapped[str]
    amount: Mapped[Decimal]
    reason: Mapped[str]
    evidence: Mapped[str | None]
    created_by: Mapped[str]
    created_at: Mapped[datetime]


class PriorPeriodAdjustmentRow(Base):
    """A correction of a finalized statement carried into a later one (spec step 9)."""

    __tablename__ = "prior_period_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"))
    corrects_period: Mapped[str]
    corrects_statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"))
    earned_finalized: Mapped[Decimal]
    earned_recomputed: Mapped[Decimal]
    already_adjusted: Mapped[Decimal]
    amount: Mapped[Decimal]

    statement: Mapped[StatementRow] = relationship(foreign_keys=[statement_id], lazy="raise")
    corrects_statement: Mapped[StatementRow] = relationship(
        foreign_keys=[corrects_statement_id], lazy="raise"
    )


class FindingRow(Base):
    """A recorded finding (``core.findings.Finding``) with where it was found."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str]
    message: Mapped[str]
    status: Mapped[str] = mapped_column(default="open", server_default="open")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_batches.id"))
    provider: Mapped[str | None]
    line_id: Mapped[str | None]
    partner_id: Mapped[str | None]
    agreement_id: Mapped[str | None]
    period: Mapped[str | None]
    file_name: Mapped[str | None]
    row_number: Mapped[int | None]
    column_name: Mapped[str | None]
    created_at: Mapped[datetime]

    run: Mapped[RunRow | None] = relationship(lazy="raise")
    batch: Mapped[IngestBatchRow | None] = relationship(lazy="raise")


class AuditEventRow(Base):
    """Who did what to which subject, when. Append-only: never updated or deleted.

    ``details`` is a JSON object; ``before_value``/``after_value`` are JSON or
    NULL. ``entry_hash`` is sha256 over ``prev_hash`` and the row's content
    (:mod:`cloudsettle.core.ledger_chain`), so an edit, a deletion or a
    reordering breaks the chain that ``cloudsettle audit verify`` walks.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str]
    action: Mapped[str]
    subject: Mapped[str]
    details: Mapped[str]
    # Added by migration 0002 (issue 5): why, before/after values (JSON), hash chain.
    reason: Mapped[str | None]
    before_value: Mapped[str | None]
    after_value: Mapped[str | None]
    prev_hash: Mapped[str]
    entry_hash: Mapped[str]


# --- issue 5: runs, approvals, ledger, payouts, audit chain (added by migration 0002) ---

#: Ledger entry kinds (``core.ledger.EntryKind``).
LEDGER_ENTRY_KINDS: tuple[str, ...] = ("statement", "payment", "reversal")
#: A payout's life: exported in a batch, then paid, failed or returned by the bank.
PAYOUT_STATUSES: tuple[str, ...] = ("pending", "paid", "failed", "returned")


class PayoutBatchRow(Base):
    """One payout file set (pain.001 and CSV) for one currency, with its control figures."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(unique=True)
    currency: Mapped[str]
    requested_date: Mapped[date]
    transactions: Mapped[int]
    control_sum: Mapped[Decimal]
    xml_sha256: Mapped[str]
    csv_sha256: Mapped[str]
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class PayoutRow(Base):
    """One credit transfer of a batch: a finalized statement's payable to its partner."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint(_one_of("status", PAYOUT_STATUSES), name="status"),
        Index(None, "statement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"))
    partner_id: Mapped[str]
    amount: Mapped[Decimal]
    currency: Mapped[str]
    end_to_end_id: Mapped[str] = mapped_column(unique=True)
    status: Mapped[str]
    status_at: Mapped[datetime | None]
    status_reason: Mapped[str | None]

    batch: Mapped[PayoutBatchRow] = relationship(lazy="raise")
    statement: Mapped[StatementRow] = relationship(lazy="raise")


class LedgerEntryRow(Base):
    """One journal entry (``core.ledger.Entry``). Append-only: a correction is a reversal.

    ``meta`` is a JSON object of extra references (agreement, period).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(_one_of("kind", LEDGER_ENTRY_KINDS), name="kind"),
        Index(None, "day"),
        Index(None, "statement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date]
    kind: Mapped[str]
    narration: Mapped[str]
    partner_id: Mapped[str | None]
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    meta: Mapped[str]
    posted_at: Mapped[datetime]
    posted_by: Mapped[str]

    statement: Mapped[StatementRow | None] = relationship(lazy="raise")
    run: Mapped[RunRow | None] = relationship(lazy="raise")
    payout: Mapped[PayoutRow | None] = relationship(lazy="raise")


class LedgerPostingRow(Base):
    """One leg of a journal entry: signed amount (debit positive) on one account."""

    __tablename__ = "ledger_postings"
    __table_args__ = (Index(None, "account"), Index(None, "partner_id"))

    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account: Mapped[str]
    partner_id: Mapped[str | None]
    amount: Mapped[Decimal]
    currency: Mapped[str]

    entry: Mapped[LedgerEntryRow] = relationship(lazy="raise")


class PayoutAccountRow(Base):
    """A partner's bank details, sealed with AES-GCM (``services.secrets``), and a masked copy."""

    __tablename__ = "payout_accounts"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    key_id: Mapped[str]
    sealed: Mapped[str]
    masked: Mapped[str]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str]

    partner: Mapped[PartnerRow] = relationship(lazy="raise")


class RunInputRow(Base):
    """Exactly what a run read and what it produced, so ``rerun`` can reproduce it.

    ``inputs`` and ``results`` are canonical JSON; ``fingerprint`` is the
    sha256 of ``inputs``.
    """

    __tablename__ = "run_inputs"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    fingerprint: Mapped[str]
    cutoff: Mapped[datetime | None]
    inputs: Mapped[str]
    results: Mapped[str]

    run: Mapped[RunRow] = relationship(lazy="raise")


class SettingRow(Base):
    """A workspace setting (grace window, second-approval threshold), as text."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str]


class ShadowActualRow(Base):
    """What was actually paid in an earlier period, per component, for shadow comparison."""

    __tablename__ = "shadow_actuals"
    __table_args__ = (UniqueConstraint("partner_id", "agreement_id", "period", "component"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str]
    agreement_id: Mapped[str]
    period: Mapped[str]
    component: Mapped[str]
    amount: Mapped[Decimal]
    currency: Mapped[str]
    source: Mapped[str]
    imported_at: Mapped[datetime]
    imported_by: Mapped[str]


# The workflow tables live in their own module; importing it here registers them on the
# metadata wherever the models are imported (migrations, tests, services).
from cloudsettle.db import models_drafts as _drafts  # noqa: E402, F401
from cloudsettle.db import models_ops as _ops  # noqa: E402, F401
from cloudsettle.db import models_validation as _validation  # noqa: E402, F401
from cloudsettle.db import models_workflow as _workflow  # noqa: E402, F401
