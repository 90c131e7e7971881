"""Reconciliation with the provider's own figures: what the provider says it pays the
reseller (Tencent's rebate, Huawei's incentive) against what we recompute.

The provider's policy is entered as an agreement of the reseller itself: a partner
``PROVIDER-<PROVIDER>`` (``PROVIDER-TENCENT``, ``PROVIDER-HUAWEI``) whose only agreement
describes the rebate policy. We recompute it with the same engine as any statement, on
every line of that provider and month (each customer mapped to the policy), and compare
per customer and, where the provider itemizes its figure, per line: the variance of a
month is explained down to the lines that cause it.

The provider's figures come from a file (the layout of ``docs/reconciliation.md``:
``month,account_id,line_id,amount,currency``; Tencent's commission bill and Huawei's
incentive bill are both brought to it) or from Tencent's ``DescribeRebateInfos``
(:func:`import_rebates`, a month total for the reseller, account ``*``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloudsettle.core.money import ZERO, D, quantum, round_money
from cloudsettle.core.parties import Deal
from cloudsettle.core.settlement.book import Book, MappedBook
from cloudsettle.core.settlement.run import applies
from cloudsettle.core.settlement.statement import settle_statement
from cloudsettle.db.models import AgreementRow
from cloudsettle.db.models_validation import ProviderFigureRow
from cloudsettle.ingest.api.client import Rebate
from cloudsettle.services.audit import now, record
from cloudsettle.services.book_loader import load_book
from cloudsettle.services.errors import BadInput

PROVIDERS = ("tencent", "huawei")
ALL_CUSTOMERS = "*"
FILE_COLUMNS = ("month", "account_id", "line_id", "amount", "currency")


def policy_partner(provider: str) -> str:
    """The partner id under which the provider's own policy is entered."""
    return f"PROVIDER-{provider.upper()}"


@dataclass(frozen=True)
class Figure:
    """One figure of the provider: a customer's month, or one line of it."""

    month: str
    account_id: str
    amount: Decimal
    currency: str
    line_id: str | None = None


@dataclass(frozen=True)
class LineVariance:
    """One line whose figure differs: ours (exact, and to the cent), theirs, the difference."""

    line_id: str
    account_id: str
    ours: Decimal
    theirs: Decimal
    difference: Decimal
    note: str


@dataclass(frozen=True)
class CustomerVariance:
    """A customer's month: our rebate, theirs, the difference and the lines behind it."""

    account_id: str
    ours: Decimal
    theirs: Decimal | None
    difference: Decimal | None
    lines: tuple[LineVariance, ...] = ()


@dataclass(frozen=True)
class ReconcileReport:
    """A provider's month reconciled; differences are ``theirs − ours``, to the cent."""

    provider: str
    month: str
    agreement_id: str
    currency: str
    ours: Decimal
    theirs: Decimal
    difference: Decimal
    customers: tuple[CustomerVariance, ...] = field(default_factory=tuple)

    @property
    def explained(self) -> Decimal:
        """The part of the difference the named lines account for."""
        return sum((lv.difference for c in self.customers for lv in c.lines), ZERO)

    def document(self) -> dict[str, object]:
        """JSON-able form (amounts as strings)."""
        return {
            "provider": self.provider, "month": self.month, "agreement": self.agreement_id,
            "currency": self.currency, "ours": str(self.ours), "theirs": str(self.theirs),
            "difference": str(self.difference), "explained": str(self.explained),
            "customers": [{
                "account_id": c.account_id, "ours": str(c.ours),
                "theirs": None if c.theirs is None else str(c.theirs),
                "difference": None if c.difference is None else str(c.difference),
                "lines": [{"line_id": lv.line_id, "ours": str(lv.ours), "theirs": str(lv.theirs),
                           "difference": str(lv.difference), "note": lv.note} for lv in c.lines],
            } for c in self.customers],
        }


def _check(provider: str, month: str) -> None:
    if provider not in PROVIDERS:
        raise BadInput(f"--provider {provider!r}: one of {', '.join(PROVIDERS)}")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise BadInput(f"--month {month!r}: expected a bill month like 2026-10")


def read_figures_csv(text: str) -> list[Figure]:
    """The provider's figures in the documented layout; refused whole when a row is bad."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in FILE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInput("provider figures file lacks columns: " + ", ".join(missing))
    out = []
    for number, raw in enumerate(reader, start=2):
        text = (raw["amount"] or "").strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            raise BadInput(f"row {number}: amount {text!r} is not a decimal")
        try:
            amount = D(text)
        except (InvalidOperation, ValueError) as exc:
            raise BadInput(f"row {number}: amount {text!r} is not a decimal") from exc
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", raw["month"].strip()) or not raw["account_id"].strip():
            raise BadInput(f"row {number}: needs a month (YYYY-MM) and an account_id")
        out.append(Figure(raw["month"].strip(), raw["account_id"].strip(), amount,
                          raw["currency"].strip() or "CNY", raw["line_id"].strip() or None))
    return out


def import_figures(session: Session, *, provider: str, month: str, figures: Sequence[Figure], source: str,
                   actor: str, sha256: str | None = None) -> int:
    """Store the provider's figures of a month (replacing earlier ones from the same source)."""
    _check(provider, month)
    mine = [f for f in figures if f.month == month]
    session.execute(delete(ProviderFigureRow).where(
        ProviderFigureRow.provider == provider, ProviderFigureRow.month == month,
        ProviderFigureRow.source == source))
    stamp = now()
    session.add_all(ProviderFigureRow(provider=provider, month=month, account_id=f.account_id,
                                      line_id=f.line_id, amount=f.amount, currency=f.currency,
                                      source=source, sha256=sha256,
                                      imported_by=actor, imported_at=stamp) for f in mine)
    session.flush()
    record(session, actor=actor, action="reconcile.import", subject=f"{provider}:{month}", source=source,
           figures=len(mine), sha256=sha256)
    return len(mine)


def import_rebates(session: Session, *, rebates: Sequence[Rebate], actor: str) -> int:
    """Tencent's ``DescribeRebateInfos`` (a pull's ``PullResult.rebates``): one month total
    for the reseller each, stored for account ``*``."""
    count = 0
    for month in sorted({r.month for r in rebates}):
        figures = [Figure(r.month, ALL_CUSTOMERS, r.amount, r.currency)
                   for r in rebates if r.month == month]
        count += import_figures(session, provider="tencent", month=month, figures=figures,
                                source="DescribeRebateInfos", actor=actor)
    return count


def _figures(session: Session, provider: str, month: str) -> list[ProviderFigureRow]:
    return list(session.scalars(select(ProviderFigureRow).where(
        ProviderFigureRow.provider == provider, ProviderFigureRow.month == month)
        .order_by(ProviderFigureRow.id)))


def reconcile(session: Session, *, provider: str, month: str) -> ReconcileReport:
    """Recompute the provider's policy on the month's lines and compare with its figures."""
    _check(provider, month)
    partner = policy_partner(provider)
    agreements = list(session.scalars(select(AgreementRow.id).where(AgreementRow.partner_id == partner)))
    if len(agreements) != 1:
        raise BadInput(f"enter {provider}'s rebate policy as the one agreement of partner {partner} "
                       f"(found {len(agreements)})")
    agreement_id = agreements[0]
    loaded = load_book(session).book
    if agreement_id not in loaded.agreements:
        raise BadInput(f"agreement {agreement_id} has no version")
    first = date.fromisoformat(month + "-01")
    lines = [line for line in loaded.lines if line.provider == provider]
    accounts = sorted({line.account_id for line in lines if line.billing_period == first})
    deals = [Deal(f"policy:{a}", partner, provider, a, agreement_id, date(1900, 1, 1)) for a in accounts]
    policy = {agreement_id: loaded.agreements[agreement_id]}
    book = MappedBook(Book(partners=loaded.partners, agreements=policy, deals=deals, lines=lines,
                           customers=loaded.customers, fx=loaded.fx))
    chosen = applies(book, agreement_id, month)
    if chosen is None:
        raise BadInput(f"agreement {agreement_id} does not govern {month} (its cycle, or no version yet)")
    period, version = chosen
    statement = settle_statement(book, agreement_id=agreement_id, period=period, version=version)
    currency = version.currency
    ours_line: dict[str, Decimal] = {}
    account_of: dict[str, str] = {}
    for sl in statement.lines if statement else ():
        ours_line[sl.line.line_id] = ours_line.get(sl.line.line_id, ZERO) + sl.amount + sl.tier_uplift
        account_of[sl.line.line_id] = sl.line.account_id
    figures = _figures(session, provider, month)
    wrong_currency = sorted({f.currency for f in figures if f.currency != currency})
    if wrong_currency:
        raise BadInput(f"the provider's figures are in {', '.join(wrong_currency)}; "
                       f"the policy is in {currency}")
    cent = quantum(currency)
    theirs_line: dict[str, Decimal] = {}
    theirs_account: dict[str, Decimal] = {}
    for f in figures:
        theirs_account[f.account_id] = theirs_account.get(f.account_id, ZERO) + f.amount
        if f.line_id is not None:
            theirs_line[f.line_id] = theirs_line.get(f.line_id, ZERO) + f.amount
            account_of.setdefault(f.line_id, f.account_id)
    ours_account: dict[str, Decimal] = {}
    for line_id, amount in ours_line.items():
        ours_account[account_of[line_id]] = ours_account.get(account_of[line_id], ZERO) + amount
    rounding = version.rounding.mode
    customers = []
    for account in sorted(set(ours_account) | set(theirs_account)):
        ours = round_money(ours_account.get(account, ZERO), currency, rounding)
        theirs = theirs_account.get(account)
        variances = []
        itemized = any(f.account_id == account and f.line_id is not None for f in figures)
        if itemized:
            ids = sorted({i for i, a in account_of.items() if a == account})
            for line_id in ids:
                mine = ours_line.get(line_id, ZERO)
                them = theirs_line.get(line_id, ZERO)
                diff = (them - mine).quantize(cent)
                if diff != ZERO:
                    note = ("not in the provider's figures" if line_id not in theirs_line else
                            "not earned under the policy" if line_id not in ours_line else "amounts differ")
                    variances.append(LineVariance(line_id, account, round_money(mine, currency, rounding),
                                                  them, diff, note))
        customers.append(CustomerVariance(account, ours, theirs, None if theirs is None else theirs - ours,
                                          tuple(variances)))
    ours_total = round_money(sum(ours_line.values(), ZERO), currency, rounding)
    theirs_total = sum(theirs_account.values(), ZERO)
    return ReconcileReport(provider, month, agreement_id, currency, ours_total, theirs_total,
                           theirs_total - ours_total, tuple(customers))
