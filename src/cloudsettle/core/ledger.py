"""Double-entry ledger math: accounts, entries, postings, the posting rules, balances.

Pure and immutable, like beancount's core: an :class:`Entry` is a frozen value
with signed postings (debit positive, credit negative) that must add up to
zero per currency. The control store appends entries and never edits them; a
correction is :func:`reversal` of the old entry plus a new one.

The account plan (docs/decisions/0003-ledger-account-plan.md), one posting
rule per statement component, each leg in the statement currency:

==========================  =================================================  ==========
component                   account                                            sign
==========================  =================================================  ==========
commission                  ``Expenses:Commission:Base``                       +commission
tier_uplift                 ``Expenses:Commission:TierUplift``                 +tier_uplift
clawback                    ``Income:Commission:Clawback``                     +clawback (≤ 0)
  (the claim, then set off) ``Assets:Receivable:Clawback:<partner>``           −clawback, +clawback
cap_adjustment              ``Expenses:Commission:CapFloor``                   +cap_adjustment
fees                        ``Income:Fees:Partners``                           +fees (≤ 0)
manual_adjustment           ``Expenses:Commission:ManualAdjustments``          +manual_adjustment
prior_period_adjustment     ``Expenses:Commission:PriorPeriodAdjustments``     +prior_period_adjustment
carried_in                  ``Liabilities:Partners:CarriedForward:<partner>``  +carried_in
carried_out                 ``Liabilities:Partners:CarriedForward:<partner>``  −carried_out
payable                     ``Liabilities:Payable:Partners:<partner>``         −payable
rounding residue            ``Expenses:Rounding``                              what is left
==========================  =================================================  ==========

The spec's statement identity (``payable = commission + … + carried_in −
carried_out``) makes the legs add up to zero, so the rounding leg is zero for
every correct statement; a residue larger than one minor unit per component
is a bug and is refused, never booked (STYLE.md: no nudged legs).

A payment posts ``Liabilities:Payable:Partners:<partner>`` +amount against
``Assets:Bank:Payouts`` −amount.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from cloudsettle.core.money import ZERO, quantum
from cloudsettle.core.settlement.model import Components

# --- the account plan ---------------------------------------------------------
COMMISSION = "Expenses:Commission:Base"
TIER_UPLIFT = "Expenses:Commission:TierUplift"
CLAWBACK_INCOME = "Income:Commission:Clawback"
CLAWBACK_RECEIVABLE = "Assets:Receivable:Clawback"
CAP_FLOOR = "Expenses:Commission:CapFloor"
FEES = "Income:Fees:Partners"
MANUAL = "Expenses:Commission:ManualAdjustments"
PRIOR_PERIOD = "Expenses:Commission:PriorPeriodAdjustments"
CARRIED_FORWARD = "Liabilities:Partners:CarriedForward"
PAYABLE = "Liabilities:Payable:Partners"
ROUNDING = "Expenses:Rounding"
BANK_PAYOUTS = "Assets:Bank:Payouts"

#: Every account root of the plan, for opening them (beancount) and listing them.
ACCOUNT_PLAN: tuple[str, ...] = (
    COMMISSION,
    TIER_UPLIFT,
    CLAWBACK_INCOME,
    CLAWBACK_RECEIVABLE,
    CAP_FLOOR,
    FEES,
    MANUAL,
    PRIOR_PERIOD,
    CARRIED_FORWARD,
    PAYABLE,
    ROUNDING,
    BANK_PAYOUTS,
)
#: Accounts that have one sub-account per partner.
PER_PARTNER: frozenset[str] = frozenset({CLAWBACK_RECEIVABLE, CARRIED_FORWARD, PAYABLE})


class EntryKind(StrEnum):
    """Why an entry exists."""

    STATEMENT = "statement"  # a finalized statement's accrual
    PAYMENT = "payment"  # a payout went out
    REVERSAL = "reversal"  # undoes an earlier entry (a returned payment, a correction)


class LedgerError(RuntimeError):
    """An entry that does not balance or breaks an invariant: a bug, never booked."""


def partner_account(root: str, partner_id: str) -> str:
    """The partner's sub-account of ``root``: ``Liabilities:Payable:Partners:P-ACME``."""
    return f"{root}:{partner_id}"


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of an entry.

    Attributes:
      account: the full account name (``Liabilities:Payable:Partners:P-ACME``).
      amount: signed, exact; debit positive, credit negative.
      currency: ISO 4217 code.
      partner_id: the partner the leg concerns, if any (for partner balances).
    """

    account: str
    amount: Decimal
    currency: str
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal entry: balanced postings with what they refer to.

    Attributes:
      day: the accounting date.
      kind: statement, payment or reversal.
      narration: a sentence for the journal.
      postings: the legs; they add up to zero per currency.
      partner_id, statement_id, run_id, payout_id: what the entry belongs to.
      reverses: the id of the entry a reversal undoes.
    """

    day: date
    kind: EntryKind
    narration: str
    postings: tuple[Posting, ...]
    partner_id: str | None = None
    statement_id: int | None = None
    run_id: int | None = None
    payout_id: int | None = None
    reverses: int | None = None
    meta: Mapping[str, str] = field(default_factory=dict)


def residue(entry: Entry) -> dict[str, Decimal]:
    """What each currency's legs add up to (all zero for a balanced entry)."""
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in entry.postings:
        sums[p.currency] += p.amount
    return dict(sums)


def is_balanced(entry: Entry) -> bool:
    """Whether every currency's legs add up to exactly zero."""
    return all(v == 0 for v in residue(entry).values())


def check_entry(entry: Entry) -> None:
    """Raise :class:`LedgerError` unless the entry balances to the cent and is well formed."""
    if not entry.postings:
        raise LedgerError(f"{entry.narration}: an entry needs postings")
    for p in entry.postings:
        if p.amount != p.amount.quantize(quantum(p.currency)):
            raise LedgerError(f"{entry.narration}: {p.account} {p.amount} is not whole {p.currency} units")
    bad = {c: v for c, v in residue(entry).items() if v != 0}
    if bad:
        raise LedgerError(f"{entry.narration}: does not balance: {bad}")


@dataclass(frozen=True, slots=True)
class StatementFigures:
    """What the posting rule reads of a finalized statement.

    Attributes:
      statement_id, run_id: the stored statement and the run that computed it.
      partner_id, agreement_id, period, currency: what it covers.
      components: its rounded components.
      day: the accounting date (the day it was finalized).
    """

    statement_id: int | None
    run_id: int | None
    partner_id: str
    agreement_id: str
    period: str
    currency: str
    components: Components
    day: date


def statement_entry(figures: StatementFigures) -> Entry | None:
    """The accrual entry of a finalized statement (the rule in the module docstring).

    Worked example (spec): commission 8,700.00, uplift 300.00, clawback −400.00,
    fees −86.00, payable 8,514.00 give the legs +8,700 +300 −400 (income) +400
    −400 (receivable claimed and set off) −86 −8,514, which add up to 0.
    None when every component is zero (nothing to book).
    """
    c, p, cur = figures.components, figures.partner_id, figures.currency
    legs: list[tuple[str, Decimal, str | None]] = [
        (COMMISSION, c.commission, None),
        (TIER_UPLIFT, c.tier_uplift, None),
        (CLAWBACK_INCOME, c.clawback, None),
        (partner_account(CLAWBACK_RECEIVABLE, p), -c.clawback, p),
        (partner_account(CLAWBACK_RECEIVABLE, p), c.clawback, p),
        (CAP_FLOOR, c.cap_adjustment, None),
        (FEES, c.fees, None),
        (MANUAL, c.manual_adjustment, None),
        (PRIOR_PERIOD, c.prior_period_adjustment, None),
        (partner_account(CARRIED_FORWARD, p), c.carried_in, p),
        (partner_account(CARRIED_FORWARD, p), -c.carried_out, p),
        (partner_account(PAYABLE, p), -c.payable, p),
    ]
    postings = [Posting(account, amount, cur, who) for account, amount, who in legs if amount != 0]
    left = sum((x.amount for x in postings), ZERO)
    if left != 0:
        tolerance = quantum(cur) * len(legs)
        if abs(left) > tolerance:
            raise LedgerError(
                f"statement {figures.statement_id} ({p}/{figures.agreement_id} {figures.period}): "
                f"components do not add up to the payable; residue {left} {cur}"
            )
        postings.append(Posting(ROUNDING, -left, cur))
    if not postings:
        return None
    entry = Entry(
        day=figures.day,
        kind=EntryKind.STATEMENT,
        narration=f"Statement {p}/{figures.agreement_id} {figures.period}",
        postings=tuple(postings),
        partner_id=p,
        statement_id=figures.statement_id,
        run_id=figures.run_id,
        meta={"agreement": figures.agreement_id, "period": figures.period},
    )
    check_entry(entry)
    return entry


def payment_entry(
    *,
    partner_id: str,
    amount: Decimal,
    currency: str,
    day: date,
    payout_id: int | None,
    statement_id: int | None,
    run_id: int | None = None,
    reference: str = "",
) -> Entry:
    """A payout settles the partner's payable: payable +amount, bank −amount."""
    if amount <= 0:
        raise LedgerError(f"a payment must be positive, not {amount}")
    entry = Entry(
        day=day,
        kind=EntryKind.PAYMENT,
        narration=f"Payout to {partner_id}" + (f" ({reference})" if reference else ""),
        postings=(
            Posting(partner_account(PAYABLE, partner_id), amount, currency, partner_id),
            Posting(BANK_PAYOUTS, -amount, currency),
        ),
        partner_id=partner_id,
        statement_id=statement_id,
        run_id=run_id,
        payout_id=payout_id,
    )
    check_entry(entry)
    return entry


def reversal(original: Entry, *, original_id: int, day: date, reason: str) -> Entry:
    """A new entry that undoes ``original`` leg by leg (the original is never edited)."""
    entry = Entry(
        day=day,
        kind=EntryKind.REVERSAL,
        narration=f"Reversal of entry {original_id}: {reason}",
        postings=tuple(Posting(p.account, -p.amount, p.currency, p.partner_id) for p in original.postings),
        partner_id=original.partner_id,
        statement_id=original.statement_id,
        run_id=original.run_id,
        payout_id=original.payout_id,
        reverses=original_id,
    )
    check_entry(entry)
    return entry


BalanceKey = tuple[str, str]  # (account, currency)


def balances(entries: Iterable[Entry], *, on: date | None = None) -> dict[BalanceKey, Decimal]:
    """Each account's balance per currency over the entries dated on or before ``on``."""
    out: dict[BalanceKey, Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        if on is not None and e.day > on:
            continue
        for p in e.postings:
            out[(p.account, p.currency)] += p.amount
    return dict(sorted(out.items()))


def trial_balance_total(entries: Iterable[Entry], *, on: date | None = None) -> dict[str, Decimal]:
    """Debits minus credits of all accounts per currency: zero in a sound ledger."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (_, currency), amount in balances(entries, on=on).items():
        totals[currency] += amount
    return dict(totals)


def partner_balances(
    entries: Iterable[Entry], partner_id: str, *, on: date | None = None
) -> dict[BalanceKey, Decimal]:
    """The partner's sub-account balances (payable, carried forward, clawback receivable)."""
    suffix = f":{partner_id}"
    return {
        k: v
        for k, v in balances(entries, on=on).items()
        if k[0].endswith(suffix) and k[0].removesuffix(suffix) in PER_PARTNER
    }


def payable_balance(entries: Iterable[Entry], partner_id: str, currency: str) -> Decimal:
    """What is still owed to the partner: minus the payable account's (credit) balance."""
    account = partner_account(PAYABLE, partner_id)
    return -sum(
        (p.amount for e in entries for p in e.postings if p.account == account and p.currency == currency),
        ZERO,
    )


def check_payable_invariant(
    entries: Iterable[Entry],
    *,
    partner_id: str,
    currency: str,
    statement_payables: Iterable[Decimal],
    payments: Iterable[Decimal],
) -> None:
    """Raise unless the payable account equals Σ statement payables − Σ net payments."""
    expected = sum(statement_payables, ZERO) - sum(payments, ZERO)
    actual = payable_balance(entries, partner_id, currency)
    if actual != expected:
        raise LedgerError(
            f"payable of {partner_id} in {currency} is {actual} in the ledger but statements minus "
            f"payments give {expected}"
        )
