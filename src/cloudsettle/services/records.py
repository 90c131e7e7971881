"""Conversions between control-store rows and core values (the store's anti-corruption layer).

Rows are plain records; core values are frozen dataclasses. Nothing else in the
project converts between the two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import Row

from cloudsettle.config_file.codec import version_from_dict
from cloudsettle.core.agreements import Agreement, AgreementMode
from cloudsettle.core.fx import FxRate
from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.parties import Customer, Deal, Partner, Verification
from cloudsettle.db.models import (
    AgreementRow,
    AgreementVersionRow,
    CustomerRow,
    DealRow,
    FxRateRow,
    LineRevisionRow,
    PartnerRow,
)
from cloudsettle.services.audit import now


def partner_of(row: PartnerRow) -> Partner:
    """The core partner of a row."""
    return Partner(row.id, row.name, row.currency, Verification(row.verification), row.minimum_payout)


def customer_of(row: CustomerRow) -> Customer:
    """The core customer of a row."""
    return Customer(row.provider, row.account_id, row.name, row.segment)


def deal_of(row: DealRow) -> Deal:
    """The core deal of a row (``services`` is a JSON list or null)."""
    services = frozenset(json.loads(row.services)) if row.services else None
    return Deal(
        row.id,
        row.partner_id,
        row.provider,
        row.account_id,
        row.agreement_id,
        row.valid_from,
        row.valid_to,
        services,
    )


def agreement_of(row: AgreementRow, versions: Sequence[AgreementVersionRow]) -> Agreement:
    """The core agreement with its versions, oldest number first."""
    parsed = tuple(
        version_from_dict(json.loads(v.definition)) for v in sorted(versions, key=lambda v: v.version)
    )
    return Agreement(row.id, row.partner_id, parsed, AgreementMode(row.mode))


def fx_rate_of(row: FxRateRow) -> FxRate:
    """The core FX rate of a row."""
    return FxRate(row.day, row.from_currency, row.to_currency, row.rate)


def line_of(row: LineRevisionRow | Row[Any]) -> BillingLine:
    """The core billing line stored in a revision row (an ORM object, or a plain result row
    of the revision table's columns, which loads much faster in bulk)."""
    return BillingLine(
        line_id=row.line_id,
        provider=row.provider,
        account_id=row.account_id,
        charge_start=row.charge_start,
        charge_end=row.charge_end,
        billing_period=row.billing_period,
        list_amount=row.list_amount,
        currency=row.currency,
        discount_amount=row.discount_amount,
        voucher_amount=row.voucher_amount,
        tax_amount=row.tax_amount,
        service=row.service,
        service_category=row.service_category,
        charge_category=ChargeCategory(row.charge_category),
        billing_mode=BillingMode(row.billing_mode),
        region=row.region,
        project=row.project,
        resource_id=row.resource_id,
        invoice_id=row.invoice_id,
        payer_account_id=row.payer_account_id,
        is_correction=row.is_correction,
        paid_at=row.paid_at,
        original_line_id=row.original_line_id,
        extras=MappingProxyType(json.loads(row.extras) if row.extras else {}),
    )


def revision_row(
    line: BillingLine, *, revision: int, batch_id: int, source_row: int, content_hash: str
) -> LineRevisionRow:
    """A revision row holding ``line``."""
    return LineRevisionRow(
        **revision_values(
            line, revision=revision, batch_id=batch_id, source_row=source_row, content_hash=content_hash
        )
    )


def revision_values(
    line: BillingLine, *, revision: int, batch_id: int, source_row: int, content_hash: str
) -> dict[str, Any]:
    """The column values of a revision row holding ``line``: for a bulk ``insert`` of many
    (issue 6), which skips building an ORM object per line."""
    return {
        "provider": line.provider,
        "line_id": line.line_id,
        "revision": revision,
        "batch_id": batch_id,
        "source_row": source_row,
        "content_hash": content_hash,
        "account_id": line.account_id,
        "charge_start": line.charge_start,
        "charge_end": line.charge_end,
        "billing_period": line.billing_period,
        "list_amount": line.list_amount,
        "currency": line.currency,
        "discount_amount": line.discount_amount,
        "voucher_amount": line.voucher_amount,
        "tax_amount": line.tax_amount,
        "service": line.service,
        "service_category": line.service_category,
        "charge_category": line.charge_category.value,
        "billing_mode": line.billing_mode.value,
        "region": line.region,
        "project": line.project,
        "resource_id": line.resource_id,
        "invoice_id": line.invoice_id,
        "payer_account_id": line.payer_account_id,
        "is_correction": line.is_correction,
        "paid_at": line.paid_at,
        "original_line_id": line.original_line_id,
        "extras": json.dumps(dict(line.extras), sort_keys=True, ensure_ascii=False),
        "ingested_at": now(),
    }
