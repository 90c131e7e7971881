"""Conversions between control-store rows and core values (the store's anti-corruption layer).

Rows are plain records; core values are frozen dataclasses. Nothing else in the
project converts between the two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring as _json_text
from operator import attrgetter
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


def partner_of(row: PartnerRow | Row[Any]) -> Partner:
    """The core partner of a row (an ORM object or a plain result row of the table's columns)."""
    return Partner(row.id, row.name, row.currency, Verification(row.verification), row.minimum_payout)


def customer_of(row: CustomerRow | Row[Any]) -> Customer:
    """The core customer of a row (an ORM object or a plain result row)."""
    return Customer(row.provider, row.account_id, row.name, row.segment)


def deal_of(row: DealRow | Row[Any]) -> Deal:
    """The core deal of a row, an ORM object or a plain result row (``services`` is a JSON list
    or null)."""
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


#: The revision-table columns that hold a billing line, in the order :func:`line_of_values`
#: takes them (``BillingLine``'s own field order).
LINE_COLUMNS: tuple[str, ...] = (
    "line_id", "provider", "account_id", "charge_start", "charge_end", "billing_period", "list_amount",
    "currency", "discount_amount", "voucher_amount", "tax_amount", "service", "service_category",
    "charge_category", "billing_mode", "region", "project", "resource_id", "invoice_id",
    "payer_account_id", "is_correction", "paid_at", "original_line_id", "extras",
)
#: The enum members by stored text: a dict lookup instead of an Enum call per line.
_CHARGE_CATEGORIES: dict[str, ChargeCategory] = {c.value: c for c in ChargeCategory}
_BILLING_MODES: dict[str, BillingMode] = {m.value: m for m in BillingMode}


def line_of(row: LineRevisionRow | Row[Any]) -> BillingLine:
    """The core billing line stored in a revision row (an ORM object, or a plain result row
    of the revision table's columns)."""
    return line_of_values([getattr(row, name) for name in LINE_COLUMNS])


def line_of_values(values: Sequence[Any]) -> BillingLine:
    """The core billing line of a revision's :data:`LINE_COLUMNS` values, in that order.

    Issue 6: a settle builds every line of the book here (30,000 in the benchmark); a
    result row taken apart by position costs a fraction of one read by column name.
    An unknown category or mode is refused by its Enum, as a stored line's always was.
    """
    (line_id, provider, account_id, charge_start, charge_end, billing_period, list_amount, currency,
     discount_amount, voucher_amount, tax_amount, service, service_category, charge_category,
     billing_mode, region, project, resource_id, invoice_id, payer_account_id, is_correction, paid_at,
     original_line_id, extras) = values
    return BillingLine(
        line_id=line_id,
        provider=provider,
        account_id=account_id,
        charge_start=charge_start,
        charge_end=charge_end,
        billing_period=billing_period,
        list_amount=list_amount,
        currency=currency,
        discount_amount=discount_amount,
        voucher_amount=voucher_amount,
        tax_amount=tax_amount,
        service=service,
        service_category=service_category,
        charge_category=_CHARGE_CATEGORIES.get(charge_category) or ChargeCategory(charge_category),
        billing_mode=_BILLING_MODES.get(billing_mode) or BillingMode(billing_mode),
        region=region,
        project=project,
        resource_id=resource_id,
        invoice_id=invoice_id,
        payer_account_id=payer_account_id,
        is_correction=is_correction,
        paid_at=paid_at,
        original_line_id=original_line_id,
        extras=MappingProxyType(json.loads(extras) if extras else {}),
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


#: The columns of a revision row, in the order :func:`revision_tuple` gives their values.
REVISION_COLUMNS: tuple[str, ...] = (
    "provider", "line_id", "revision", "batch_id", "source_row", "content_hash", "account_id",
    "charge_start", "charge_end", "billing_period", "list_amount", "currency", "discount_amount",
    "voucher_amount", "tax_amount", "service", "service_category", "charge_category", "billing_mode",
    "region", "project", "resource_id", "invoice_id", "payer_account_id", "is_correction", "paid_at",
    "original_line_id", "extras", "ingested_at",
)
#: The line's fields stored as they are, in two runs of :data:`REVISION_COLUMNS` (either side of
#: the enums, stored as their values).
_STORED_AS_IS = attrgetter(
    "account_id", "charge_start", "charge_end", "billing_period", "list_amount", "currency",
    "discount_amount", "voucher_amount", "tax_amount", "service", "service_category",
)
_STORED_AS_IS_AFTER_ENUMS = attrgetter(
    "region", "project", "resource_id", "invoice_id", "payer_account_id", "is_correction", "paid_at",
    "original_line_id",
)


def revision_tuple(
    line: BillingLine, *, revision: int, batch_id: int, source_row: int, content_hash: str
) -> tuple[Any, ...]:
    """The column values of a revision row holding ``line``, in :data:`REVISION_COLUMNS` order:
    for a bulk insert of many (issue 6), which needs neither an ORM object nor a dict per line."""
    return (
        line.provider, line.line_id, revision, batch_id, source_row, content_hash, *_STORED_AS_IS(line),
        line.charge_category.value, line.billing_mode.value, *_STORED_AS_IS_AFTER_ENUMS(line),
        _extras_json(line.extras), now(),
    )


def revision_values(
    line: BillingLine, *, revision: int, batch_id: int, source_row: int, content_hash: str
) -> dict[str, Any]:
    """The column values of a revision row holding ``line``, by column name."""
    return dict(zip(REVISION_COLUMNS, revision_tuple(
        line, revision=revision, batch_id=batch_id, source_row=source_row, content_hash=content_hash
    ), strict=True))


def _extras_json(extras: Mapping[str, str]) -> str:
    """``json.dumps(dict(extras), sort_keys=True, ensure_ascii=False)``, written directly for the
    usual string keys and values (issue 6: one call per stored revision); anything else is
    left to ``json.dumps``."""
    if not extras:
        return "{}"
    items = sorted(extras.items())
    if not all(type(k) is str and type(v) is str for k, v in items):
        return json.dumps(dict(extras), sort_keys=True, ensure_ascii=False)
    return "{" + ", ".join(_json_text(k) + ": " + _json_text(v) for k, v in items) + "}"
