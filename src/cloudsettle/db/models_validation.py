"""Tables of issue 4: deal life cycle and suggestions, the provider's own figures for
reconciliation, and the column profile of each batch (source drift).

Plain records, like :mod:`cloudsettle.db.models`; the services own every rule. Cases
themselves live in :mod:`cloudsettle.db.models_workflow` (migration 0003).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from cloudsettle.db.base import Base


class DealStateRow(Base):
    """One step of a deal's life (``registered``, ``active``, ``renewed``, ``terminated``),
    with the deal's mapping as it stood after the step (``mapping``: JSON)."""

    __tablename__ = "deal_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deal_id: Mapped[str] = mapped_column(index=True)
    status: Mapped[str]
    mapping: Mapped[str]
    note: Mapped[str]
    actor: Mapped[str]
    at: Mapped[datetime]


class DealSuggestionRow(Base):
    """A deal proposed for an unmapped customer, from a provider hint (Tencent client
    remark or sales owner, Huawei association) or the customer's last deal; a user
    confirms it (it becomes a deal) or rejects it."""

    __tablename__ = "deal_suggestions"
    __table_args__ = (Index(None, "provider", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str]
    account_id: Mapped[str]
    partner_id: Mapped[str]
    agreement_id: Mapped[str]
    source: Mapped[str]
    hint: Mapped[str]
    status: Mapped[str]
    deal_id: Mapped[str | None]
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None]
    decided_at: Mapped[datetime | None]


class ProviderFigureRow(Base):
    """The provider's own rebate or incentive figure for a month, per customer and, where
    the provider itemizes it, per line (``line_id``)."""

    __tablename__ = "provider_figures"
    __table_args__ = (Index(None, "provider", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str]
    month: Mapped[str]
    account_id: Mapped[str]
    line_id: Mapped[str | None]
    amount: Mapped[Decimal]
    currency: Mapped[str]
    source: Mapped[str]
    sha256: Mapped[str | None]
    imported_by: Mapped[str]
    imported_at: Mapped[datetime]


class SourceProfileRow(Base):
    """The columns a batch came with (JSON list), to spot a source that changes shape."""

    __tablename__ = "source_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id"), index=True)
    source: Mapped[str] = mapped_column(index=True)
    columns: Mapped[str]
    at: Mapped[datetime]
