"""settle_statement: existence, version selection, ordering, findings, payment basis, identity."""

from __future__ import annotations

from datetime import date

from cloudsettle.core.agreements import Band, Basis, Clawback, Fee, Rule, TierMethod, Tiers
from cloudsettle.core.findings import FindingKind
from cloudsettle.core.fx import FxRate
from cloudsettle.core.money import D
from cloudsettle.core.parties import Verification
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.model import LineRole, Reason
from cloudsettle.core.settlement.statement import settle_statement
from tests.core.settlement.factories import at, book, line, rule, settle, version


def test_no_lines_no_statement() -> None:
    mapped = book([line("L", "100", month="2026-09-01")], [version(rule("all", "0.1"))])
    assert settle_statement(mapped, agreement_id="acme", period=parse_period("2026-10")) is None


def test_no_governing_version_no_statement() -> None:
    mapped = book([line("L", "100")], [version(rule("all", "0.1"), effective="2026-10-02")])
    assert settle_statement(mapped, agreement_id="acme", period=parse_period("2026-10")) is None


def test_version_effective_on_first_day_governs_second_day_does_not() -> None:
    v1 = version(rule("all", "0.1"), number=1, effective="2026-01-01")
    v2 = version(rule("all", "0.2"), number=2, effective="2026-10-01")
    v3 = version(rule("all", "0.3"), number=3, effective="2026-11-02")
    lines = [line("O", "100"), line("N", "100", month="2026-11-01", start="2026-11-05")]
    october = settle(lines, [v1, v2, v3])
    assert (october.version.version, october.components.commission) == (2, D("20.00"))
    november = settle(lines, [v1, v2, v3], period="2026-11")
    assert (november.version.version, november.components.commission) == (2, D("20.00"))


def test_lines_are_ordered_by_charge_start_then_line_id() -> None:
    lines = [line("b", "1", start="2026-10-02"), line("c", "1", start="2026-10-01"),
             line("a", "1", start="2026-10-02")]
    s = settle(lines, [version(rule("all", "0.1"))])
    assert [sl.line.line_id for sl in s.lines] == ["c", "a", "b"]


def test_shown_amounts_add_up_and_ties_go_to_the_earlier_line() -> None:
    lines = [line(f"L{i}", "1", start=f"2026-10-0{i}") for i in range(1, 4)]
    s = settle(lines, [version(rule("all", "0.3333"))])
    # exact 0.9999 -> 1.00; floors 0.33 each, the missing cent goes to L1.
    assert s.components.commission == D("1.00")
    assert [sl.shown for sl in s.lines] == [D("0.34"), D("0.33"), D("0.33")]


def test_missing_fx_rate_line_pays_nothing_and_blocks() -> None:
    v = version(rule("all", "0.1"))
    s = settle([line("C", "100"), line("U", "10", currency="USD")], [v])
    by_id = {sl.line.line_id: sl for sl in s.lines}
    assert (by_id["U"].base, by_id["U"].reasons) == (D(0), (Reason.MISSING_FX_RATE,))
    assert [f.kind for f in s.findings] == [FindingKind.MISSING_FX_RATE]
    assert s.blocked
    assert (s.components.commission, s.base_total, s.billed_total) == (D("10.00"), D("100.00"), D("100.00"))
    fx = [FxRate(date(2026, 10, 1), "USD", "CNY", D("7.1234"))]
    fixed = settle([line("C", "100"), line("U", "10", currency="USD")], [v], fx=fx)
    assert fixed.components.commission == D("17.12")  # 10 + 7.1234 exact, rounded once
    assert {sl.line.line_id: sl.fx_rate for sl in fixed.lines} == {"C": None, "U": D("7.1234")}


def test_excluded_service_line_is_listed_with_zero() -> None:
    s = settle([line("C", "100"), line("X", "50", service="SMS")],
               [version(rule("all", "0.1"), exclude_services=frozenset({"SMS"}))])
    by_id = {sl.line.line_id: sl for sl in s.lines}
    assert (by_id["X"].base, by_id["X"].shown, by_id["X"].reasons) == (D(0), D(0), (Reason.EXCLUDED,))
    assert (s.base_total, s.billed_total) == (D("100.00"), D("150.00"))


def test_payment_basis_defers_unpaid_lines() -> None:
    v = version(rule("all", "0.1"), basis=Basis.PAYMENT)
    s = settle([line("P", "100", paid_at=at("2026-10-20")), line("U", "50")], [v])
    by_id = {sl.line.line_id: sl for sl in s.lines}
    assert by_id["U"].role is LineRole.DEFERRED
    assert (by_id["U"].base, by_id["U"].amount, by_id["U"].reasons) == (D("50"), D(0), (Reason.DEFERRED,))
    assert (s.components.commission, s.base_total, s.billed_total) == (D("10.00"), D("100.00"), D("100.00"))


def test_unverified_partner_is_settled_but_held() -> None:
    s = settle([line("L", "100")], [version(rule("all", "0.1"))], verification=Verification.PENDING)
    assert s.components.payable == D("10.00")
    assert [f.kind for f in s.findings] == [FindingKind.PAYEE_NOT_VERIFIED]
    assert not s.blocked


def test_rule_window_in_the_agreements_zone() -> None:
    promo = Rule("promo", D("0.2"), valid_from=date(2026, 10, 10))
    v = version(promo, rule("default", "0.1"), timezone="Asia/Shanghai")
    s = settle([line("L", "100", start="2026-10-09T16:00")], [v])  # Oct 10 00:00 in Shanghai
    assert s.lines[0].rule_id == "promo"


def test_payable_identity_on_a_full_statement() -> None:
    v = version(rule("compute", "0.08", service_category=["Compute"]), rule("default", "0.05"),
                tiers=Tiers(TierMethod.RETROACTIVE, (Band(D(1000), D("0.01")),)),
                fees=(Fee("p", percent=D("0.02")), Fee("f", fixed=D("3"))), clawback=Clawback(D("0.5")),
                cap=D("500"))
    s = settle([line("sep", "700", start="2026-09-10", month="2026-09-01"),
                line("a", "3333.33"), line("b", "777.77", service="COS", service_category="Storage"),
                line("r", "-123.45", start="2026-10-07", original_line_id="sep")], [v])
    c = s.components
    assert c.payable == (c.commission + c.tier_uplift + c.clawback + c.cap_adjustment + c.fees
                         + c.manual_adjustment + c.prior_period_adjustment + c.carried_in - c.carried_out)
    assert (c.commission, c.tier_uplift, c.clawback) == (D("305.55"), D("39.88"), D("-4.94"))
