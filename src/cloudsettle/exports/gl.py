"""The ledger as a general-ledger journal CSV that an ERP loads as it is.

Both the columns and the accounts are mapped by the reseller: a mapping names
each output column and the journal field it holds, and maps our account names
(by longest prefix) to the ERP's account codes. Without a mapping the journal
is written with cloudsettle's own account names and a plain column set.
Debits and credits are exact decimal text with the currency's decimals.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from cloudsettle.core.ledger import Entry
from cloudsettle.core.money import ZERO, format_money

#: The fields a column may hold.
FIELDS: tuple[str, ...] = (
    "entry_id",
    "line",
    "date",
    "kind",
    "account",
    "our_account",
    "debit",
    "credit",
    "amount",
    "currency",
    "narration",
    "partner",
    "statement_id",
    "run_id",
    "payout_id",
)

DEFAULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("entry", "entry_id"),
    ("line", "line"),
    ("date", "date"),
    ("account", "account"),
    ("debit", "debit"),
    ("credit", "credit"),
    ("currency", "currency"),
    ("partner", "partner"),
    ("statement", "statement_id"),
    ("narration", "narration"),
)


@dataclass(frozen=True)
class GlMapping:
    """Output columns ``(header, field)`` and account prefixes mapped to ERP codes."""

    columns: tuple[tuple[str, str], ...] = DEFAULT_COLUMNS
    accounts: Mapping[str, str] = field(default_factory=dict)
    date_format: str = "%Y-%m-%d"

    def account(self, ours: str) -> str:
        """The ERP account for one of ours: the longest mapped prefix wins; unmapped stays ours."""
        best = max((p for p in self.accounts if ours == p or ours.startswith(p + ":")), key=len, default=None)
        return self.accounts[best] if best is not None else ours


def load_mapping(path: Path) -> GlMapping:
    """Read a mapping file (YAML: ``columns`` list of ``{header, field}``, ``accounts`` map,
    optional ``date_format``); raises ValueError naming what is wrong."""
    doc: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a mapping with columns and accounts")
    unknown = set(doc) - {"columns", "accounts", "date_format"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    columns = DEFAULT_COLUMNS
    if "columns" in doc:
        parsed = []
        for i, col in enumerate(doc["columns"] or []):
            if not isinstance(col, dict) or set(col) != {"header", "field"}:
                raise ValueError(f"{path}: columns[{i}] needs exactly header and field")
            if col["field"] not in FIELDS:
                raise ValueError(
                    f"{path}: columns[{i}].field {col['field']!r} is not one of {', '.join(FIELDS)}"
                )
            parsed.append((str(col["header"]), str(col["field"])))
        columns = tuple(parsed)
    accounts = {str(k): str(v) for k, v in (doc.get("accounts") or {}).items()}
    return GlMapping(columns, accounts, str(doc.get("date_format", "%Y-%m-%d")))


def gl_rows(entries: Iterable[tuple[int, Entry]], mapping: GlMapping) -> Iterable[list[str]]:
    """One row per posting, in entry order, with the mapping's columns."""
    for entry_id, entry in entries:
        for seq, posting in enumerate(entry.postings, start=1):
            amount = posting.amount
            values: dict[str, str] = {
                "entry_id": str(entry_id),
                "line": str(seq),
                "date": entry.day.strftime(mapping.date_format),
                "kind": entry.kind.value,
                "account": mapping.account(posting.account),
                "our_account": posting.account,
                "debit": format_money(amount, posting.currency) if amount > ZERO else "",
                "credit": format_money(-amount, posting.currency) if amount < ZERO else "",
                "amount": format_money(amount, posting.currency),
                "currency": posting.currency,
                "narration": entry.narration,
                "partner": posting.partner_id or entry.partner_id or "",
                "statement_id": "" if entry.statement_id is None else str(entry.statement_id),
                "run_id": "" if entry.run_id is None else str(entry.run_id),
                "payout_id": "" if entry.payout_id is None else str(entry.payout_id),
            }
            yield [values[f] for _, f in mapping.columns]


def write_gl_csv(entries: Sequence[tuple[int, Entry]], path: Path, mapping: GlMapping | None = None) -> int:
    """Write the journal CSV; returns the number of posting rows."""
    chosen = mapping or GlMapping()
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([header for header, _ in chosen.columns])
        for row in gl_rows(entries, chosen):
            writer.writerow(row)
            count += 1
    return count


def in_range(day: date, start: date | None, end: date | None) -> bool:
    """Whether ``day`` lies in ``[start, end]`` (either bound optional)."""
    return (start is None or start <= day) and (end is None or day <= end)
