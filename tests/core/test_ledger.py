"""The ledger's posting rules: every entry balances and the payable invariant holds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.core import ledger
from cloudsettle.core.money import D
from cloudsettle.core.settlement.model import Components

DAY = date(2026, 11, 5)


def _figures(c: Components, currency: str = "CNY", partner: str = "P-ACME") -> ledger.StatementFigures:
    return ledger.StatementFigures(1, 7, partner, "acme-2026", "2026-10", currency, c, DAY)


WORKED = Components(
    commission=D("8700.00"),
    tier_uplift=D("300.00"),
    clawback=D("-400.00"),
    fees=D("-86.00"),
    payable=D("8514.00"),
)


def test_worked_example_posts_the_spec_figures() -> None:
    entry = ledger.statement_entry(_figures(WORKED))
    assert entry is not None
    legs = {(p.account, p.amount) for p in entry.postings}
    assert (ledger.COMMISSION, D("8700.00")) in legs
    assert (ledger.TIER_UPLIFT, D("300.00")) in legs
    assert (ledger.CLAWBACK_INCOME, D("-400.00")) in legs
    assert (ledger.FEES, D("-86.00")) in legs
    assert ("Liabilities:Payable:Partners:P-ACME", D("-8514.00")) in legs
    assert ledger.is_balanced(entry)
    assert ledger.ROUNDING not in {p.account for p in entry.postings}
    assert ledger.payable_balance([entry], "P-ACME", "CNY") == D("8514.00")
    receivable = sum(p.amount for p in entry.postings if p.account.startswith(ledger.CLAWBACK_RECEIVABLE))
    assert receivable == 0  # claimed and set off against the payable in the same entry


def test_components_that_do_not_add_up_are_refused_not_nudged() -> None:
    wrong = Components(commission=D("100.00"), payable=D("90.00"))
    with pytest.raises(ledger.LedgerError, match="do not add up"):
        ledger.statement_entry(_figures(wrong))


def test_a_cent_of_residue_goes_to_the_rounding_account() -> None:
    off = Components(commission=D("100.00"), payable=D("99.99"))
    entry = ledger.statement_entry(_figures(off))
    assert entry is not None
    assert [p.amount for p in entry.postings if p.account == ledger.ROUNDING] == [D("-0.01")]
    assert ledger.is_balanced(entry)


def test_all_zero_statement_books_nothing() -> None:
    assert ledger.statement_entry(_figures(Components())) is None


def test_carry_forward_moves_through_its_own_account() -> None:
    negative = Components(clawback=D("-50.00"), carried_out=D("-50.00"))
    first = ledger.statement_entry(_figures(negative))
    nxt = Components(commission=D("80.00"), carried_in=D("-50.00"), payable=D("30.00"))
    second = ledger.statement_entry(_figures(nxt))
    assert first is not None
    assert second is not None
    bal = ledger.partner_balances([first, second], "P-ACME")
    assert bal[("Liabilities:Partners:CarriedForward:P-ACME", "CNY")] == 0
    assert bal[("Liabilities:Payable:Partners:P-ACME", "CNY")] == D("-30.00")


def test_payment_and_reversal_balance_and_restore_the_payable() -> None:
    accrual = ledger.statement_entry(_figures(WORKED))
    assert accrual is not None
    pay = ledger.payment_entry(
        partner_id="P-ACME", amount=D("8514.00"), currency="CNY", day=DAY, payout_id=3, statement_id=1
    )
    assert ledger.payable_balance([accrual, pay], "P-ACME", "CNY") == 0
    back = ledger.reversal(pay, original_id=2, day=DAY, reason="returned")
    assert back.reverses == 2
    assert ledger.payable_balance([accrual, pay, back], "P-ACME", "CNY") == D("8514.00")
    assert ledger.trial_balance_total([accrual, pay, back]) == {"CNY": 0}
    with pytest.raises(ledger.LedgerError):
        ledger.payment_entry(
            partner_id="P", amount=D("0"), currency="CNY", day=DAY, payout_id=None, statement_id=None
        )


def test_unbalanced_or_fractional_entries_are_refused() -> None:
    bad = ledger.Entry(
        DAY,
        ledger.EntryKind.PAYMENT,
        "x",
        (ledger.Posting("A", D("1.00"), "CNY"), ledger.Posting("B", D("-0.99"), "CNY")),
    )
    with pytest.raises(ledger.LedgerError, match="does not balance"):
        ledger.check_entry(bad)
    frac = ledger.Entry(
        DAY,
        ledger.EntryKind.PAYMENT,
        "x",
        (ledger.Posting("A", D("1.005"), "CNY"), ledger.Posting("B", D("-1.005"), "CNY")),
    )
    with pytest.raises(ledger.LedgerError, match="whole"):
        ledger.check_entry(frac)


def test_balances_respect_the_date() -> None:
    accrual = ledger.statement_entry(_figures(WORKED))
    assert accrual is not None
    later = ledger.payment_entry(
        partner_id="P-ACME",
        amount=D("14.00"),
        currency="CNY",
        day=date(2026, 12, 1),
        payout_id=None,
        statement_id=None,
    )
    assert ledger.payable_balance([accrual], "P-ACME", "CNY") == D("8514.00")
    on = ledger.balances([accrual, later], on=DAY)
    assert on[("Liabilities:Payable:Partners:P-ACME", "CNY")] == D("-8514.00")


cents = st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def statements(draw: st.DrawFn) -> Components:
    """Components that satisfy the spec's statement identity (step 11)."""
    commission, uplift, cap, manual, ppa, carried_in = (draw(cents) for _ in range(6))
    clawback = -abs(draw(cents))
    fees = -abs(draw(cents))
    minimum = abs(draw(cents))
    net = commission + uplift + clawback + cap + fees + manual + ppa + carried_in
    payable, carried_out = (Decimal(0), net) if net < 0 or net < minimum else (net, Decimal(0))
    return Components(commission, uplift, clawback, cap, fees, manual, ppa, carried_in, carried_out, payable)


@settings(max_examples=300, derandomize=True)
@given(st.lists(statements(), min_size=1, max_size=8), st.lists(st.integers(0, 100), max_size=8))
def test_every_entry_balances_and_the_payable_invariant_holds(
    comps: list[Components], paid_percent: list[int]
) -> None:
    entries: list[ledger.Entry] = []
    payments: list[Decimal] = []
    for i, c in enumerate(comps):
        e = ledger.statement_entry(_figures(c))
        if e is not None:
            assert ledger.is_balanced(e)
            entries.append(e)
        if i < len(paid_percent) and c.payable > 0:
            amount = (c.payable * paid_percent[i] / 100).quantize(Decimal("0.01"))
            if amount > 0:
                entries.append(
                    ledger.payment_entry(
                        partner_id="P-ACME",
                        amount=amount,
                        currency="CNY",
                        day=DAY,
                        payout_id=i,
                        statement_id=i,
                    )
                )
                payments.append(amount)
    ledger.check_payable_invariant(
        entries,
        partner_id="P-ACME",
        currency="CNY",
        statement_payables=[c.payable for c in comps],
        payments=payments,
    )
    assert all(v == 0 for v in ledger.trial_balance_total(entries).values())
    assert all(p.account != ledger.ROUNDING for e in entries for p in e.postings)
