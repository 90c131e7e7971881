"""Billing lines as an Arrow table: the bulk engine's input format.

Amounts are ``decimal128(38, 12)`` and times ``timestamp[us, UTC]``, the types
the line store writes to Parquet; tests feed the same lines to both engines
through :func:`lines_to_arrow`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory

AMOUNT = pa.decimal128(38, 12)
INSTANT = pa.timestamp("us", tz="UTC")

#: The columns of a normalized line (``extras`` are not part of the bulk format).
LINE_SCHEMA = pa.schema(
    [
        ("line_id", pa.string()),
        ("provider", pa.string()),
        ("account_id", pa.string()),
        ("charge_start", INSTANT),
        ("charge_end", INSTANT),
        ("billing_period", pa.date32()),
        ("list_amount", AMOUNT),
        ("discount_amount", AMOUNT),
        ("voucher_amount", AMOUNT),
        ("tax_amount", AMOUNT),
        ("currency", pa.string()),
        ("service", pa.string()),
        ("service_category", pa.string()),
        ("charge_category", pa.string()),
        ("billing_mode", pa.string()),
        ("region", pa.string()),
        ("project", pa.string()),
        ("resource_id", pa.string()),
        ("invoice_id", pa.string()),
        ("payer_account_id", pa.string()),
        ("is_correction", pa.bool_()),
        ("paid_at", INSTANT),
        ("original_line_id", pa.string()),
    ]
)

_ENUMS = ("charge_category", "billing_mode")


def lines_to_arrow(lines: Iterable[BillingLine]) -> pa.Table:
    """The lines as a table of :data:`LINE_SCHEMA`, in the given order.

    Raises ``pyarrow.ArrowInvalid`` when an amount has more than 12 decimals
    (the line store's scale): nothing is rounded on the way in.
    """
    columns: dict[str, list[Any]] = {name: [] for name in LINE_SCHEMA.names}
    for line in lines:
        for name in LINE_SCHEMA.names:
            value = getattr(line, name)
            columns[name].append(value.value if name in _ENUMS else value)
    return pa.table(columns, schema=LINE_SCHEMA)


def lines_from_rows(rows: Sequence[dict[str, Any]]) -> list[BillingLine]:
    """Billing lines back from rows of :data:`LINE_SCHEMA` (``Table.to_pylist()``)."""
    return [line_from_row(row) for row in rows]


def line_from_row(row: dict[str, Any]) -> BillingLine:
    """One billing line from a row of :data:`LINE_SCHEMA`."""
    return BillingLine(
        line_id=row["line_id"],
        provider=row["provider"],
        account_id=row["account_id"],
        charge_start=_utc(row["charge_start"]),
        charge_end=_utc(row["charge_end"]),
        billing_period=_day(row["billing_period"]),
        list_amount=_amount(row["list_amount"]),
        discount_amount=_amount(row["discount_amount"]),
        voucher_amount=_amount(row["voucher_amount"]),
        tax_amount=_amount(row["tax_amount"]),
        currency=row["currency"],
        service=row["service"] or "",
        service_category=row["service_category"] or "",
        charge_category=ChargeCategory(row["charge_category"]),
        billing_mode=BillingMode(row["billing_mode"]),
        region=row["region"] or "",
        project=row["project"] or "",
        resource_id=row["resource_id"] or "",
        invoice_id=row["invoice_id"] or "",
        payer_account_id=row["payer_account_id"] or "",
        is_correction=bool(row["is_correction"]),
        paid_at=_utc(row["paid_at"]) if row["paid_at"] is not None else None,
        original_line_id=row["original_line_id"],
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _day(value: date) -> date:
    return value


def _amount(value: Decimal | None) -> Decimal:
    if value is None:
        return Decimal(0)
    return value
