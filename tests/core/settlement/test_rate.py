"""Step 3, Rate: first matching rule, match keys, rule windows, no_rule and require_rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from cloudsettle.core.agreements import Rule
from cloudsettle.core.deals import LinePart
from cloudsettle.core.findings import FindingKind
from cloudsettle.core.lines import BillingMode, ChargeCategory
from cloudsettle.core.money import EXACT, D
from cloudsettle.core.parties import Customer
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.book import MappedBook
from cloudsettle.core.settlement.model import Reason
from cloudsettle.core.settlement.rate import accepts, effective_rate, rate_part, rule_for
from cloudsettle.core.settlement.statement import settle_statement
from tests.core.settlement.factories import book, line, rule, settle, version

OCT3 = date(2026, 10, 3)


def test_first_matching_rule_wins() -> None:
    v = version(rule("compute", "0.08", service_category=["Compute"]), rule("cvm", "0.5", service=["CVM"]),
                rule("default", "0.05"))
    assert rule_for(v, line("L", "1"), "", OCT3).id == "compute"  # type: ignore[union-attr]
    assert rule_for(v, line("L", "1", service_category="Storage"), "", OCT3).id == "cvm"  # type: ignore[union-attr]
    assert rule_for(v, line("L", "1", service="COS", service_category="Storage"), "", OCT3).id == "default"  # type: ignore[union-attr]


def test_every_named_key_must_hold() -> None:
    r = rule("r", "0.1", service_category=["Compute"], region=["ap-guangzhou", "ap-shanghai"])
    assert accepts(r, line("L", "1", region="ap-shanghai"), "")
    assert not accepts(r, line("L", "1", region="ap-beijing"), "")
    assert not accepts(r, line("L", "1", region="ap-shanghai", service_category="Storage"), "")


def test_every_match_key_reads_the_line() -> None:
    ln = line("L", "1", region="r1", project="p1", charge_category=ChargeCategory.PURCHASE,
              billing_mode=BillingMode.SUBSCRIPTION)
    assert accepts(rule("a", "0", charge_category=["purchase"]), ln, "")
    assert not accepts(rule("a", "0", charge_category=["usage"]), ln, "")
    assert accepts(rule("a", "0", billing_mode=["subscription"]), ln, "")
    assert accepts(rule("a", "0", project=["p1"]), ln, "")
    assert accepts(rule("a", "0", service=["CVM"]), ln, "")
    assert accepts(rule("a", "0", customer_segment=["enterprise"]), ln, "enterprise")
    assert not accepts(rule("a", "0", customer_segment=["enterprise"]), ln, "smb")


def test_rule_without_match_accepts_every_line() -> None:
    assert accepts(rule("all", "0.1"), line("L", "1", service="anything"), "")


def test_no_rule_gives_none_and_rate_zero() -> None:
    v = version(rule("compute", "0.08", service_category=["Compute"]))
    assert rule_for(v, line("L", "1", service_category="Storage"), "", OCT3) is None
    seg = rate_part(LinePart(line("L", "1", service_category="Storage"), None,
                             line("L", "1").charge_start, line("L", "1").charge_end), v, "")
    assert [(s.rule, s.rate) for s in seg] == [(None, D(0))]


def test_rule_window_on_charge_date() -> None:
    promo = Rule("promo", D("0.2"), valid_from=date(2026, 10, 10), valid_to=date(2026, 10, 20))
    v = version(promo, rule("default", "0.05"))
    assert rule_for(v, line("L", "1"), "", date(2026, 10, 9)).id == "default"  # type: ignore[union-attr]
    assert rule_for(v, line("L", "1"), "", date(2026, 10, 10)).id == "promo"  # type: ignore[union-attr]
    assert rule_for(v, line("L", "1"), "", date(2026, 10, 20)).id == "default"  # type: ignore[union-attr]


def test_prorate_splits_at_rule_windows() -> None:
    promo = Rule("promo", D("0.2"), valid_from=date(2026, 10, 2))
    v = version(Rule("early", D("0.1"), valid_to=date(2026, 10, 2)), promo, prorate=True)
    ln = line("L", "100", start="2026-10-01", end="2026-10-05")
    segs = rate_part(LinePart(ln, None, ln.charge_start, ln.charge_end), v, "")
    assert [(s.rule.id if s.rule else None, s.fraction) for s in segs] == [("early", D("0.25")),
                                                                         ("promo", D("0.75"))]
    assert effective_rate(segs) == D("0.175")


def test_without_prorate_the_charge_date_picks_one_rule() -> None:
    v = version(Rule("early", D("0.1"), valid_to=date(2026, 10, 2)), Rule("late", D("0.2")))
    ln = line("L", "100", start="2026-10-01T23:00", end="2026-10-05")
    segs = rate_part(LinePart(ln, None, ln.charge_start, ln.charge_end), v, "")
    assert [(s.rule.id if s.rule else None, s.fraction) for s in segs] == [("early", D(1))]


def test_prorated_statement_lists_one_line_per_rule() -> None:
    v = version(Rule("early", D("0.1"), valid_to=date(2026, 10, 2)), Rule("late", D("0.2")), prorate=True)
    s = settle([line("L", "100", start="2026-10-01", end="2026-10-05")], [v])
    rows = sorted((sl.rule_id, sl.fraction, sl.base, sl.shown, sl.reasons) for sl in s.lines)
    assert rows == [("early", D("0.25"), D("25.00"), D("2.50"), (Reason.PRORATED,)),
                    ("late", D("0.75"), D("75.00"), D("15.00"), (Reason.PRORATED,))]
    assert s.components.commission == D("17.50")


def test_no_rule_reason_and_require_rule_finding() -> None:
    rules = (rule("compute", "0.08", service_category=["Compute"]),)
    lines = [line("L1", "100"), line("L2", "50", service="COS", service_category="Storage")]
    relaxed = settle(lines, [version(*rules)])
    by_id = {sl.line.line_id: sl for sl in relaxed.lines}
    assert by_id["L2"].reasons == (Reason.NO_RULE,)
    assert by_id["L2"].rate == 0
    assert relaxed.components.commission == D("8.00")
    assert relaxed.findings == ()
    strict = settle(lines, [version(*rules, require_rule=True)])
    assert [(f.kind, f.line_id) for f in strict.findings] == [(FindingKind.NO_RULE, "L2")]
    assert strict.blocked
    assert strict.components.commission == D("8.00")


def test_customer_segment_comes_from_the_customer() -> None:
    v = version(rule("ent", "0.1", customer_segment=["enterprise"]), rule("other", "0.01"))
    base = book([line("L", "100")], [v])
    mapped = MappedBook(replace(base.book, customers={
        ("tencent", "100"): Customer("tencent", "100", "Big", "enterprise")}))
    s = settle_statement(mapped, agreement_id="acme", period=parse_period("2026-10"))
    assert s is not None
    assert s.components.commission == D("10.00")
    assert settle([line("L", "100")], [v]).components.commission == D("1.00")


def test_effective_rate_is_exact() -> None:
    ln = line("L", "1", start="2026-10-01", end="2026-10-04")
    v = version(Rule("a", D("0.09"), valid_to=date(2026, 10, 2)), Rule("b", D("0.03")), prorate=True)
    segs = rate_part(LinePart(ln, None, ln.charge_start, ln.charge_end), v, "")
    # 1/3 × 0.09 + 2/3 × 0.03 = 0.05 (to the precision a third can have).
    assert abs(effective_rate(segs) - D("0.05")) < D("1E-50")
    assert [s.fraction for s in segs] == [EXACT.divide(D(1), D(3)), EXACT.divide(D(2), D(3))]
