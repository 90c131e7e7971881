"""The payout batch as CSV, for banks that take a spreadsheet instead of pain.001.

One row per transfer, amounts with exactly the currency's decimals, and a
last ``TOTAL`` row with the count and the control sum so a person can check
the file the same way the bank checks the XML.
"""

from __future__ import annotations

import csv
import io

from cloudsettle.core.money import format_money
from cloudsettle.exports.pain001 import Batch

HEADER = (
    "end_to_end_id",
    "creditor_name",
    "iban",
    "account_number",
    "bic",
    "amount",
    "currency",
    "requested_date",
    "remittance",
)


def payout_csv(batch: Batch) -> str:
    """The CSV text of ``batch`` (UTF-8, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for t in batch.transfers:
        writer.writerow(
            (
                t.end_to_end_id,
                t.creditor.name,
                (t.creditor.iban or "").replace(" ", ""),
                t.creditor.number or "",
                t.creditor.bic or "",
                format_money(t.amount, batch.currency),
                batch.currency,
                batch.requested_date.isoformat(),
                t.remittance,
            )
        )
    writer.writerow(
        (
            "TOTAL",
            f"{len(batch.transfers)} transfers",
            "",
            "",
            "",
            format_money(batch.control_sum, batch.currency),
            batch.currency,
            batch.requested_date.isoformat(),
            batch.message_id,
        )
    )
    return buffer.getvalue()
