"""Step 1, Select: period membership by basis (billing_period, charge, payment)."""

from __future__ import annotations

from datetime import date

from cloudsettle.core.agreements import Basis
from cloudsettle.core.periods import Cycle, parse_period
from cloudsettle.core.settlement.select import (
    Membership,
    basis_date,
    charge_date,
    line_period,
    membership,
)
from tests.core.settlement.factories import at, line, version

OCT = parse_period("2026-10")


def test_billing_period_basis_uses_the_providers_bill_month() -> None:
    v = version()
    late_use = line("L", "1", start="2026-09-25", month="2026-10-01")
    assert basis_date(late_use, v) == date(2026, 10, 1)
    assert membership(late_use, v, OCT) is Membership.IN
    assert membership(line("L2", "1", start="2026-10-25", month="2026-11-01"), v, OCT) is Membership.OUT


def test_billing_period_basis_in_a_quarter() -> None:
    v = version(cycle=Cycle.QUARTERLY)
    q4 = parse_period("2026-Q4")
    assert membership(line("L", "1", month="2026-12-01"), v, q4) is Membership.IN
    assert membership(line("L", "1", month="2026-09-01"), v, q4) is Membership.OUT


def test_charge_basis_uses_the_local_charge_date() -> None:
    utc = version(basis=Basis.CHARGE)
    sh = version(basis=Basis.CHARGE, timezone="Asia/Shanghai")
    ln = line("L", "1", start="2026-09-30T16:00", month="2026-09-01")  # Oct 1 00:00 in Shanghai
    assert charge_date(ln, utc) == date(2026, 9, 30)
    assert charge_date(ln, sh) == date(2026, 10, 1)
    assert membership(ln, utc, OCT) is Membership.OUT
    assert membership(ln, sh, OCT) is Membership.IN
    last = line("L", "1", start="2026-10-31T15:59:59")
    assert membership(last, sh, OCT) is Membership.IN
    assert membership(line("L", "1", start="2026-10-31T16:00"), sh, OCT) is Membership.OUT


def test_payment_basis_uses_paid_at_and_defers_unpaid_lines() -> None:
    v = version(basis=Basis.PAYMENT, timezone="Asia/Shanghai")
    paid_next_month = line("L", "1", start="2026-10-03", paid_at=at("2026-11-02"))
    assert membership(paid_next_month, v, OCT) is Membership.OUT
    assert membership(paid_next_month, v, parse_period("2026-11")) is Membership.IN
    paid_local_oct = line("L", "1", start="2026-09-03", paid_at=at("2026-09-30T16:00"))
    assert membership(paid_local_oct, v, OCT) is Membership.IN
    unpaid = line("L", "1", start="2026-10-03")
    assert basis_date(unpaid, v) is None
    assert membership(unpaid, v, OCT) is Membership.DEFERRED
    assert membership(unpaid, v, parse_period("2026-11")) is Membership.OUT


def test_line_period_names_the_original_lines_period() -> None:
    assert line_period(line("L", "1", month="2026-09-01"), version()).name == "2026-09"
    weekly = version(basis=Basis.CHARGE, cycle=Cycle.WEEKLY)
    assert line_period(line("L", "1", start="2026-10-19"), weekly).name == "2026-W43"
    unpaid = version(basis=Basis.PAYMENT)
    assert line_period(line("L", "1", start="2026-10-19"), unpaid).name == "2026-10"
