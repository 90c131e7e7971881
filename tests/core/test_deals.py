"""deals.py: which deal a line belongs to, and proration at deal windows (spec: Parties)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cloudsettle.core.agreements import Agreement
from cloudsettle.core.deals import DealIndex, deal_on, fraction_of
from cloudsettle.core.findings import FindingKind
from cloudsettle.core.money import EXACT, D
from cloudsettle.core.parties import Deal
from tests.core.settlement.factories import line, version

UTC_AG = {"a": Agreement("a", "P", (version(),))}
SHANGHAI_AG = {"a": Agreement("a", "P", (version(timezone="Asia/Shanghai"),))}
PRORATE_AG = {"a": Agreement("a", "P", (version(prorate=True),)),
              "b": Agreement("b", "Q", (version(prorate=True),))}


def deal(deal_id: str, start: str, end: str | None = None, *, agreement: str = "a", account: str = "100",
         services: set[str] | None = None) -> Deal:
    return Deal(deal_id, "P", "tencent", account, agreement, date.fromisoformat(start),
                date.fromisoformat(end) if end else None,
                frozenset(services) if services is not None else None)


def test_window_is_half_open() -> None:
    index = DealIndex([deal("D1", "2026-10-01", "2026-10-15")], UTC_AG)
    for day, covered in (("2026-09-30", False), ("2026-10-01", True), ("2026-10-14T23:59", True),
                         ("2026-10-15", False)):
        parts, findings = index.resolve(line("L", "1", start=day))
        assert (parts[0].deal is not None) is covered, day
        assert [f.kind for f in findings] == ([] if covered else [FindingKind.MISSING_DEAL])


def test_adjacent_deals_hand_over_on_valid_to() -> None:
    index = DealIndex([deal("D1", "2026-01-01", "2026-10-15"), deal("D2", "2026-10-15")], UTC_AG)
    assert index.resolve(line("L", "1", start="2026-10-14T23:59"))[0][0].deal.id == "D1"  # type: ignore[union-attr]
    parts, findings = index.resolve(line("L", "1", start="2026-10-15"))
    assert parts[0].deal is not None
    assert parts[0].deal.id == "D2"
    assert findings == []


def test_other_customer_is_unmapped() -> None:
    index = DealIndex([deal("D1", "2026-01-01", account="999")], UTC_AG)
    parts, findings = index.resolve(line("L", "1"))
    assert parts[0].deal is None
    assert [f.kind for f in findings] == [FindingKind.MISSING_DEAL]
    assert findings[0].line_id == "L"


def test_services_scope() -> None:
    index = DealIndex([deal("CVM", "2026-01-01", services={"CVM"}),
                       deal("COS", "2026-01-01", services={"COS", "CDN"})], UTC_AG)
    assert index.resolve(line("L1", "1", service="CVM"))[0][0].deal.id == "CVM"  # type: ignore[union-attr]
    assert index.resolve(line("L2", "1", service="CDN"))[0][0].deal.id == "COS"  # type: ignore[union-attr]
    parts, findings = index.resolve(line("L3", "1", service="TKE"))
    assert parts[0].deal is None
    assert [f.kind for f in findings] == [FindingKind.MISSING_DEAL]


def test_two_deals_at_once_are_ambiguous_and_pay_nobody() -> None:
    index = DealIndex([deal("D1", "2026-01-01"), deal("D2", "2026-10-01", services={"CVM"})], UTC_AG)
    parts, findings = index.resolve(line("L", "1", service="CVM"))
    assert [p.deal for p in parts] == [None]
    assert [f.kind for f in findings] == [FindingKind.AMBIGUOUS_DEAL]
    assert "D1, D2" in findings[0].message
    # A service outside D2's scope has one deal only.
    assert index.resolve(line("L", "1", service="COS"))[1] == []


def test_deal_window_uses_the_agreements_local_date() -> None:
    # 2026-09-30T16:30Z is 2026-10-01 00:30 in Shanghai.
    ln = line("L", "1", start="2026-09-30T16:30")
    d = [deal("D1", "2026-10-01")]
    assert DealIndex(d, SHANGHAI_AG).resolve(ln)[0][0].deal is not None
    assert DealIndex(d, UTC_AG).resolve(ln)[0][0].deal is None


def test_proration_splits_at_deal_boundary_exactly() -> None:
    index = DealIndex([deal("A", "2026-01-01", "2026-10-02", agreement="a"),
                       deal("B", "2026-10-02", agreement="b")], PRORATE_AG)
    # 4 days, 1 under A, 3 under B.
    parts, findings = index.resolve(line("L", "4", start="2026-10-01", end="2026-10-05"))
    assert findings == []
    assert [(p.deal.id if p.deal else None, p.fraction) for p in parts] == [
        ("A", D("0.25")), ("B", D("0.75"))]
    assert parts[0].end == parts[1].start == datetime(2026, 10, 2, tzinfo=UTC)
    assert sum(p.fraction for p in parts) == 1


def test_proration_leaves_the_uncovered_part_to_nobody() -> None:
    index = DealIndex([deal("A", "2026-10-03")], {"a": PRORATE_AG["a"]})
    parts, findings = index.resolve(line("L", "1", start="2026-10-01", end="2026-10-05"))
    assert [(p.deal.id if p.deal else None, p.fraction) for p in parts] == [(None, D("0.5")), ("A", D("0.5"))]
    assert findings == []
    assert sum(p.fraction for p in parts) == 1


def test_proration_with_no_covering_deal_is_missing() -> None:
    index = DealIndex([deal("A", "2026-11-01")], {"a": PRORATE_AG["a"]})
    parts, findings = index.resolve(line("L", "1", start="2026-10-01", end="2026-10-05"))
    assert [p.deal for p in parts] == [None]
    assert [f.kind for f in findings] == [FindingKind.MISSING_DEAL]


def test_proration_cuts_at_local_midnight_of_the_agreements_zone() -> None:
    ag = {"a": Agreement("a", "P", (version(prorate=True, timezone="Asia/Shanghai"),))}
    index = DealIndex([deal("A", "2026-10-02")], ag)
    # Shanghai midnight of Oct 2 is 2026-10-01T16:00Z: 16 of 24 hours are before it.
    parts, _ = index.resolve(line("L", "1", start="2026-10-01T00:00", end="2026-10-02T00:00"))
    assert [(p.deal.id if p.deal else None, p.fraction) for p in parts] == [
        (None, fraction_of(parts[0].start, parts[0].end, D(86400))), ("A", EXACT.divide(D(8), D(24)))]
    assert parts[1].start == datetime(2026, 10, 1, 16, tzinfo=UTC)


def test_zero_duration_line_is_never_split() -> None:
    index = DealIndex([deal("A", "2026-01-01", "2026-10-02", agreement="a"),
                       deal("B", "2026-10-02", agreement="b")], PRORATE_AG)
    parts, findings = index.resolve(line("L", "1", start="2026-10-02"))
    assert [(p.deal.id if p.deal else None, p.fraction) for p in parts] == [("B", D(1))]
    assert findings == []


def test_without_prorate_the_whole_line_follows_its_charge_date() -> None:
    index = DealIndex([deal("A", "2026-01-01", "2026-10-02"), deal("B", "2026-10-02")], UTC_AG)
    parts, _ = index.resolve(line("L", "1", start="2026-10-01T12:00", end="2026-10-05"))
    assert [(p.deal.id if p.deal else None, p.fraction) for p in parts] == [("A", D(1))]


def test_prorate_only_when_every_candidate_prorates() -> None:
    mixed = {"a": PRORATE_AG["a"], "b": Agreement("b", "Q", (version(),))}
    index = DealIndex([deal("A", "2026-01-01", "2026-10-02", agreement="a"),
                       deal("B", "2026-10-02", agreement="b")], mixed)
    parts, _ = index.resolve(line("L", "1", start="2026-10-01", end="2026-10-05"))
    assert [(p.deal.id if p.deal else None, p.fraction) for p in parts] == [("A", D(1))]


def test_proration_overlap_is_ambiguous_for_that_part_only() -> None:
    index = DealIndex([deal("A", "2026-01-01", agreement="a"),
                       deal("B", "2026-10-03", agreement="b")], PRORATE_AG)
    parts, findings = index.resolve(line("L", "1", start="2026-10-01", end="2026-10-05"))
    assert [(p.deal.id if p.deal else None, p.fraction) for p in parts] == [("A", D("0.5")), (None, D("0.5"))]
    assert [f.kind for f in findings] == [FindingKind.AMBIGUOUS_DEAL]


def test_fraction_of_is_exact_for_terminating_fractions() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    assert fraction_of(start, datetime(2026, 10, 1, 0, 0, 1, tzinfo=UTC), D(8)) == D("0.125")
    assert fraction_of(start, datetime(2026, 10, 1, 0, 0, 0, 250000, tzinfo=UTC), D(1)) == D("0.25")


def test_three_way_split_fractions_are_thirds_and_add_up_to_one_exactly() -> None:
    # A third has no finite decimal: the first parts are 1/3 to 60 digits (the EXACT
    # context) and the last takes what is left, so the parts add up to exactly 1.
    index = DealIndex([deal("A", "2026-01-01", "2026-10-02", agreement="a"),
                       deal("B", "2026-10-02", "2026-10-03", agreement="b"),
                       deal("C", "2026-10-03", agreement="a")], PRORATE_AG)
    parts, _ = index.resolve(line("L", "1", start="2026-10-01", end="2026-10-04"))
    assert [p.deal.id for p in parts if p.deal] == ["A", "B", "C"]
    third = EXACT.divide(D(1), D(3))
    assert [p.fraction for p in parts] == [third, third, EXACT.subtract(D(1), EXACT.add(third, third))]
    assert EXACT.add(EXACT.add(parts[0].fraction, parts[1].fraction), parts[2].fraction) == 1


def test_deal_on() -> None:
    deals = [deal("A", "2026-01-01", "2026-10-02"), deal("B", "2026-10-02")]
    assert [d.id for d in deal_on(deals, date(2026, 10, 1))] == ["A"]
    assert [d.id for d in deal_on(deals, date(2026, 10, 2))] == ["B"]
