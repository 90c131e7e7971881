"""Step 5, Refunds and clawback: same-period netting, clawback share and window, unlinked."""

from __future__ import annotations

from datetime import date

from cloudsettle.core.agreements import Agreement, Clawback
from cloudsettle.core.findings import FindingKind
from cloudsettle.core.money import D
from cloudsettle.core.parties import Deal
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.clawback import clawback_rate, within_window
from cloudsettle.core.settlement.model import LineRole, Reason
from cloudsettle.core.settlement.statement import settle_statement
from tests.core.settlement.factories import book, line, rule, settle, version

RULES = (rule("compute", "0.08", service_category=["Compute"]), rule("default", "0.05"))
SEP = line("sep", "1000", start="2026-09-10", month="2026-09-01")


def test_within_window_edges() -> None:
    cb = Clawback(window_days=30)
    assert within_window(date(2026, 10, 10), date(2026, 9, 10), cb)  # 30 days
    assert not within_window(date(2026, 10, 11), date(2026, 9, 10), cb)  # 31 days
    assert within_window(date(2030, 1, 1), date(2026, 9, 10), Clawback())  # no window


def test_clawback_rate_is_share_times_original_rate() -> None:
    assert clawback_rate(D("0.08"), Clawback(share=D("0.5"))) == D("0.04")
    assert clawback_rate(D("0.08"), Clawback()) == D("0.08")


def test_refund_of_an_earlier_period_is_a_clawback_at_the_original_rate() -> None:
    refund = line("ref", "-300", start="2026-10-05", service="COS", service_category="Storage",
                  original_line_id="sep")
    s = settle([SEP, refund], [version(*RULES)])
    (sl,) = s.lines
    assert (sl.role, sl.rate, sl.amount, sl.shown, sl.rule_id) == (
        LineRole.CLAWBACK, D("0.08"), D("-24.00"), D("-24.00"), "compute")
    assert (s.components.commission, s.components.clawback) == (D(0), D("-24.00"))
    assert s.base_total == D("-300")  # the refund is selected here: it counts in the measure


def test_clawback_share() -> None:
    refund = line("ref", "-300", start="2026-10-05", original_line_id="sep")
    s = settle([SEP, refund], [version(*RULES, clawback=Clawback(share=D("0.5")))])
    assert s.components.clawback == D("-12.00")


def test_clawback_window_is_inclusive_of_the_last_day() -> None:
    cb = Clawback(window_days=25)
    inside = settle([SEP, line("ref", "-300", start="2026-10-05", original_line_id="sep")],
                    [version(*RULES, clawback=cb)])
    assert inside.components.clawback == D("-24.00")
    outside = settle([SEP, line("ref", "-300", start="2026-10-06", original_line_id="sep")],
                     [version(*RULES, clawback=cb)])
    (sl,) = outside.lines
    assert (sl.role, sl.amount, sl.reasons) == (LineRole.CLAWBACK, D(0), (Reason.OUTSIDE_CLAWBACK_WINDOW,))
    assert outside.components.clawback == 0
    assert outside.components.commission == 0


def test_same_period_refund_nets_at_the_originals_rate() -> None:
    orig = line("orig", "1000", start="2026-10-01")
    refund = line("ref", "-400", start="2026-10-09", service="COS", service_category="Storage",
                  original_line_id="orig")
    s = settle([orig, refund], [version(*RULES)])
    by_id = {sl.line.line_id: sl for sl in s.lines}
    assert by_id["ref"].role is LineRole.COMMISSION
    assert by_id["ref"].rate == D("0.08")  # the original's rate, not its own 5%
    assert by_id["ref"].reasons == (Reason.SAME_PERIOD_REFUND,)
    assert (s.components.commission, s.components.clawback) == (D("48.00"), D(0))
    assert s.base_total == D("600")


def test_unlinked_refund_nets_at_its_own_rule_and_raises_a_finding() -> None:
    refund = line("ref", "-400", service="COS", service_category="Storage", original_line_id="nowhere")
    s = settle([line("L", "1000"), refund], [version(*RULES)])
    by_id = {sl.line.line_id: sl for sl in s.lines}
    assert by_id["ref"].rate == D("0.05")
    assert Reason.UNLINKED_REFUND in by_id["ref"].reasons
    assert s.components.commission == D("60.00")
    assert [f.kind for f in s.findings] == [FindingKind.UNLINKED_REFUND]
    assert s.blocked


def test_negative_line_without_original_nets_at_its_own_rule() -> None:
    s = settle([line("L", "1000"), line("neg", "-100", service="COS", service_category="Storage")],
               [version(*RULES)])
    assert s.components.commission == D("75.00")
    assert s.findings == ()


def test_clawback_lands_on_the_original_partners_statement() -> None:
    # The customer moved from acme (P-ACME) to other (P-OTHER) on Oct 1; the refund of a
    # September line paid to acme is acme's clawback, listed on other's as clawback_elsewhere.
    other = Agreement("other", "P-OTHER", (version(rule("all", "0.2")),))
    deals = [Deal("D-1", "P-ACME", "tencent", "100", "acme", date(2026, 1, 1), date(2026, 10, 1)),
             Deal("D-2", "P-OTHER", "tencent", "100", "other", date(2026, 10, 1))]
    lines = [SEP, line("new", "500", start="2026-10-03"),
             line("ref", "-300", start="2026-10-05", original_line_id="sep")]
    acme = settle(lines, [version(*RULES)], deals=deals, extra_agreements=[other])
    assert [(sl.line.line_id, sl.role) for sl in acme.lines] == [("ref", LineRole.CLAWBACK)]
    assert acme.components.clawback == D("-24.00")
    assert acme.base_total == 0  # not acme's selected line: outside its measure

    mapped = book(lines, [version(*RULES)], deals=deals, extra_agreements=[other])
    theirs = settle_statement(mapped, agreement_id="other", period=parse_period("2026-10"))
    assert theirs is not None
    by_id = {sl.line.line_id: sl for sl in theirs.lines}
    assert by_id["ref"].reasons == (Reason.CLAWBACK_ELSEWHERE,)
    assert by_id["ref"].amount == 0
    assert (theirs.components.commission, theirs.components.clawback) == (D("100.00"), D(0))
    assert theirs.base_total == D("500.00")
