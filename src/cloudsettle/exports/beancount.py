"""The journal as a Beancount v3 ledger, so ``bean-check`` can vouch for it.

Plain text written from core ledger entries: an ``open`` directive per
account, one transaction per entry (metadata carry our entry, statement, run
and payout ids; a ``^stmt-<id>`` link ties a statement's accrual to its
payments), and ``balance`` assertions from our own trial balance, written
with one more decimal place than the currency has so Beancount checks them
exactly (its tolerance for a 2-decimal assertion is ±0.01).

Beancount account names allow only letters, digits and dashes in each
component, starting with a capital letter or digit; partner ids are mapped
with :func:`account_component` (and the original id is kept in metadata).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from cloudsettle.core import ledger
from cloudsettle.core.money import format_money, minor_unit

_BAD = re.compile(r"[^A-Za-z0-9-]")


def account_component(text: str) -> str:
    """A valid Beancount account component for ``text`` (``p_acme`` -> ``P-acme``)."""
    cleaned = _BAD.sub("-", text) or "X"
    if not (cleaned[0].isupper() or cleaned[0].isdigit()):
        cleaned = cleaned[0].upper() + cleaned[1:] if cleaned[0].isalpha() else "X" + cleaned
    return cleaned


def account_name(account: str) -> str:
    """Our account name as a Beancount account name."""
    return ":".join(account_component(part) for part in account.split(":"))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(value: Decimal, currency: str) -> str:
    return f"{format_money(value, currency)} {currency}"


def _exact_assertion(value: Decimal, currency: str) -> str:
    places = minor_unit(currency) + 1
    return f"{value.quantize(Decimal(1).scaleb(-places)):f} {currency}"


def journal(
    entries: Sequence[tuple[int, ledger.Entry]],
    *,
    title: str = "cloudsettle journal",
    balances_on: date | None = None,
) -> str:
    """The Beancount text of ``entries`` (``(id, entry)`` pairs in posting order), with
    balance assertions of every account the day after ``balances_on`` (default: the last
    entry's date)."""
    lines = [f'option "title" {_quote(title)}']
    currencies = sorted({p.currency for _, e in entries for p in e.postings})
    for c in currencies:
        lines.append(f'option "operating_currency" {_quote(c)}')
    if not entries:
        return "\n".join(lines) + "\n"
    first = min(e.day for _, e in entries)
    accounts = sorted({p.account for _, e in entries for p in e.postings})
    lines.append("")
    for a in accounts:
        lines.append(f"{first.isoformat()} open {account_name(a)}")
    for entry_id, e in sorted(entries, key=lambda x: (x[1].day, x[0])):
        lines.append("")
        links = f" ^stmt-{e.statement_id}" if e.statement_id is not None else ""
        payee = e.partner_id or "cloudsettle"
        lines.append(f"{e.day.isoformat()} * {_quote(payee)} {_quote(e.narration)}{links}")
        lines.append(f"  entry_id: {_quote(str(entry_id))}")
        lines.append(f"  kind: {_quote(e.kind.value)}")
        for key, value in (
            ("statement_id", e.statement_id),
            ("run_id", e.run_id),
            ("payout_id", e.payout_id),
            ("reverses", e.reverses),
            ("partner", e.partner_id),
        ):
            if value is not None:
                lines.append(f"  {key}: {_quote(str(value))}")
        for p in e.postings:
            lines.append(f"  {account_name(p.account)}  {_amount(p.amount, p.currency)}")
    on = balances_on or max(e.day for _, e in entries)
    lines.append("")
    for (account, currency), amount in ledger.balances((e for _, e in entries), on=on).items():
        day = on + timedelta(days=1)
        assertion = _exact_assertion(amount, currency)
        lines.append(f"{day.isoformat()} balance {account_name(account)}  {assertion}")
    return "\n".join(lines) + "\n"
