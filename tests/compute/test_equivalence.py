"""Both engines on generated agreements and lines: the same statements and findings.

Hypothesis (a fixed seed, no example database: every run, in any checkout and any
process, checks the same cases) builds books with
every feature of the spec — bases, tax, credits, exclusions, rule matches and
windows, both tier methods, cap and floor, fees, clawback share and window,
every rounding mode and level, CNY/USD/JPY with FX by charge date or period
end (rates sometimes missing), UTC/Asia/Shanghai/America/New_York, the three
bases, proration by deal and rule windows, versions changing mid-year — and
lines around the period's edges: refunds of September and October originals,
of originals on other agreements, unlinked refunds, credits and tax lines.
``assert_same`` compares every component, total, line field and finding.

Proration fractions are kept finite decimals here (line lengths of 1, 2, 4, 5,
8, 10, 16, 20, 25 or 40 hours cut at whole-hour offsets): there both engines
are exact. A fraction like 1/3 is covered in ``test_proration.py``.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from cloudsettle.core.agreements import (
    Agreement,
    AgreementVersion,
    Band,
    Base,
    Basis,
    Clawback,
    Fee,
    FxDate,
    Rounding,
    RoundingLevel,
    Rule,
    TierMethod,
    Tiers,
)
from cloudsettle.core.fx import FxRate, FxTable
from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.money import ZERO, D, RoundingMode
from cloudsettle.core.parties import Customer, Deal, Partner, Verification
from cloudsettle.core.settlement.book import Book
from cloudsettle.core.settlement.run import FinalizedStatement
from tests.compute.equivalence import assert_same, assert_summary_same, both, summary_run

#: With ``@seed(SEED)``. Not ``derandomize``: its seed is a digest of the test's source,
#: so any edit of the test body silently changed the cases. The strategies must not
#: depend on ``PYTHONHASHSEED`` either: never iterate a drawn set while drawing (sort it).
SEED = 20261031
EQUIV = settings(
    database=None,
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ZONES = ("UTC", "Asia/Shanghai", "America/New_York")
SERVICES = ("CVM", "COS", "CDN", "TAXSVC")
CATEGORIES = {"CVM": "Compute", "COS": "Storage", "CDN": "Network", "TAXSVC": "Other"}
REGIONS = ("r1", "r2")
PROJECTS = ("", "p1")
SEGMENTS = ("smb", "ent")
ACCOUNTS = ("A1", "A2", "A3", "A4", "A5")
HOURS = (1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 80, 100, 160, 200)  # finite fractions at whole-hour cuts
EDGES = (1, 2, 9, 10, 15, 16, 30)  # days where lines, deal and rule windows meet


def dec(scale: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-scale))


@st.composite
def rule_list(draw: st.DrawFn) -> tuple[Rule, ...]:
    out = []
    for i in range(draw(st.integers(0, 3))):
        match: dict[str, frozenset[str]] = {}
        key = draw(
            st.sampled_from(
                [
                    "none",
                    "service_category",
                    "region",
                    "charge_category",
                    "billing_mode",
                    "project",
                    "customer_segment",
                    "service",
                ]
            )
        )
        values = {
            "service_category": sorted(set(CATEGORIES.values())),
            "region": list(REGIONS),
            "charge_category": ["usage", "purchase", "credit"],
            "billing_mode": ["on_demand", "subscription"],
            "project": list(PROJECTS),
            "customer_segment": list(SEGMENTS),
            "service": list(SERVICES),
        }
        if key != "none":
            match[key] = frozenset(draw(st.sets(st.sampled_from(values[key]), min_size=1, max_size=2)))
        valid_from = valid_to = None
        if draw(st.booleans()):
            valid_from = date(2026, 10, draw(st.sampled_from([2, 10, 16])))
            valid_to = (
                valid_from + timedelta(days=draw(st.sampled_from([1, 6, 14])))
                if draw(st.booleans())
                else None
            )
        out.append(Rule(f"r{i}", draw(dec(4, 0, 2000)), match, valid_from, valid_to))
    if draw(st.booleans()):
        out.append(Rule("rest", draw(dec(3, 0, 200))))
    return tuple(out)


@st.composite
def tier_spec(draw: st.DrawFn) -> Tiers | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    starts = sorted(
        draw(
            st.sets(
                st.sampled_from([D(0), D("0.01"), D(50), D(500), D(5000)]) | dec(2, 0, 800_000),
                min_size=1,
                max_size=3,
            )
        )
    )
    return Tiers(draw(st.sampled_from(TierMethod)), tuple(Band(s, draw(dec(4, 1, 500))) for s in starts))


@st.composite
def agreement_version(
    draw: st.DrawFn, number: int, effective: date, currency: str, prorate: bool, zone: str
) -> AgreementVersion:
    fees = tuple(
        Fee(f"f{i}", percent=draw(dec(4, 0, 500)))
        if draw(st.booleans())
        else Fee(f"f{i}", fixed=draw(dec(2, 0, 3000)))
        for i in range(draw(st.integers(0, 2)))
    )
    return AgreementVersion(
        version=number,
        effective_from=effective,
        currency=currency,
        rules=draw(rule_list()),
        timezone=zone,
        basis=draw(st.sampled_from(Basis)),
        base=draw(st.sampled_from(Base)),
        include_tax=draw(st.booleans()),
        prorate=prorate,
        fx_date=draw(st.sampled_from(FxDate)),
        require_rule=draw(st.booleans()),
        exclude_services=frozenset(draw(st.sets(st.sampled_from(SERVICES), max_size=1))),
        tiers=draw(tier_spec()),
        cap=draw(st.none() | dec(2, 0, 50_000)),
        floor=draw(st.none() | dec(2, 0, 5_000)),
        fees=fees,
        clawback=Clawback(draw(dec(2, 0, 100)), draw(st.sampled_from([None, 0, 10, 25, 40]))),
        rounding=Rounding(draw(st.sampled_from(RoundingMode)), draw(st.sampled_from(RoundingLevel))),
    )


@st.composite
def agreements(draw: st.DrawFn) -> list[Agreement]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        currency = draw(st.sampled_from(["CNY", "USD", "JPY"]))
        prorate = draw(st.integers(0, 3)) > 0
        zone = draw(st.sampled_from(ZONES))
        versions = [draw(agreement_version(1, date(2026, 1, 1), currency, prorate, zone))]
        if draw(st.integers(0, 3)) == 0:  # a second version: from October, or from mid-September
            effective = draw(st.sampled_from([date(2026, 10, 1), date(2026, 9, 15), date(2026, 11, 1)]))
            versions.append(draw(agreement_version(2, effective, currency, prorate, zone)))
        out.append(Agreement(f"ag{i}", f"P{i}", tuple(versions)))
    return out


@st.composite
def deal_list(draw: st.DrawFn, agreement_ids: list[str]) -> list[Deal]:
    deals = []
    for account in ACCOUNTS[:4]:  # A5 never has a deal: missing_deal
        for j in range(draw(st.integers(1, 2))):
            agreement = draw(st.sampled_from(agreement_ids))
            start = draw(
                st.sampled_from([date(2026, 1, 1), date(2026, 10, draw(st.sampled_from([2, 10, 16])))])
            )
            end = draw(
                st.none()
                | st.sampled_from([date(2026, 10, draw(st.sampled_from([10, 16, 30]))), date(2026, 12, 1)])
            )
            if end is not None and end <= start:
                end = None
            services = draw(
                st.none() | st.sets(st.sampled_from(SERVICES), min_size=1, max_size=3).map(frozenset)
            )
            deals.append(
                Deal(
                    f"D-{account}-{j}",
                    f"P{agreement_ids.index(agreement)}",
                    "tencent",
                    account,
                    agreement,
                    start,
                    end,
                    services,
                )
            )
    return deals


def _instant(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


@st.composite
def billing_lines(draw: st.DrawFn) -> list[BillingLine]:
    lines: list[BillingLine] = []
    amount = dec(2, -20_000, 2_000_000) | dec(4, -2_000, 200_000)

    def make(line_id: str, month: int, **kw: object) -> BillingLine:
        day = date(2026, month, draw(st.sampled_from(EDGES) | st.integers(1, 30)))
        start = _instant(day, draw(st.sampled_from([0, 3, 15, 16, 20, 23])))
        hours = draw(st.sampled_from((0, *HOURS, 100, 160, 200)))
        service = draw(st.sampled_from(SERVICES))
        list_amount = kw.pop("list_amount", None)
        if list_amount is None:
            list_amount = draw(amount)
        assert isinstance(list_amount, Decimal)
        size = int(abs(list_amount).scaleb(2)) // 4
        sign = -1 if list_amount < 0 else 1
        paid = draw(
            st.none() | st.sampled_from([start, start + timedelta(days=20), start + timedelta(days=40)])
        )
        fields: dict[str, Any] = {
            "discount_amount": sign * draw(dec(2, 0, size)),
            "voucher_amount": sign * draw(dec(2, 0, size)),
            "tax_amount": sign * draw(dec(2, 0, size)),
            "currency": draw(st.sampled_from(["CNY", "CNY", "USD", "JPY"])),
            "service": service,
            "service_category": CATEGORIES[service],
            "charge_category": draw(st.sampled_from([ChargeCategory.USAGE] * 4 + list(ChargeCategory))),
            "billing_mode": draw(st.sampled_from(BillingMode)),
            "region": draw(st.sampled_from(REGIONS)),
            "project": draw(st.sampled_from(PROJECTS)),
            "paid_at": paid,
        }
        fields.update(kw)
        bp = date(2026, month, 1) if draw(st.integers(0, 5)) else date(2026, month % 12 + 1, 1)
        return BillingLine(
            line_id=line_id,
            provider="tencent",
            account_id=draw(st.sampled_from(ACCOUNTS)),
            charge_start=start,
            charge_end=start + timedelta(hours=hours),
            billing_period=bp,
            list_amount=list_amount,
            **fields,
        )

    september = [make(f"S{i}", 9) for i in range(draw(st.integers(0, 5)))]
    october = [make(f"O{i}", 10) for i in range(draw(st.integers(1, 10)))]
    lines.extend(september + october)
    for i, orig in enumerate(september + october):
        if draw(st.integers(0, 2)) == 0:
            share = draw(st.sampled_from([D(1), D("0.5"), D("0.25")]))
            refund = make(
                f"R{i}",
                10,
                list_amount=-(abs(orig.list_amount) * share) or D("-1"),
                original_line_id=orig.line_id,
                currency=orig.currency,
                service=orig.service,
                service_category=orig.service_category,
            )
            lines.append(refund)
    for i in range(draw(st.integers(0, 2))):
        lines.append(
            make(f"U{i}", 10, list_amount=-draw(dec(2, 1, 100_000)), original_line_id=f"missing-{i}")
        )
    if draw(st.booleans()):
        lines.append(
            make(
                "C0",
                10,
                list_amount=ZERO,
                voucher_amount=draw(dec(2, 1, 50_000)),
                charge_category=ChargeCategory.CREDIT,
            )
        )
    if draw(st.booleans()):
        lines.append(make("T0", 10, charge_category=ChargeCategory.TAX))
    order = draw(st.permutations(range(len(lines))))
    return [lines[i] for i in order]


@st.composite
def books(draw: st.DrawFn) -> tuple[Book, dict[str, Decimal], dict[str, list[FinalizedStatement]]]:
    ags = draw(agreements())
    ids = [a.id for a in ags]
    partners = {
        f"P{i}": Partner(
            f"P{i}",
            f"P{i}",
            a.versions[0].currency,
            draw(st.sampled_from(Verification)),
            draw(dec(0, 0, 300)),
        )
        for i, a in enumerate(ags)
    }
    customers = {
        ("tencent", a): Customer("tencent", a, a, draw(st.sampled_from(SEGMENTS))) for a in ACCOUNTS[:3]
    }
    fx: list[FxRate] = []
    for pair in [
        ("USD", "CNY"),
        ("JPY", "CNY"),
        ("CNY", "USD"),
        ("CNY", "JPY"),
        ("USD", "JPY"),
        ("JPY", "USD"),
    ]:
        days = draw(
            st.sets(st.sampled_from([date(2026, 9, 1), date(2026, 10, 10), date(2026, 10, 31)]), max_size=2)
        )
        for day in sorted(days):  # a set's order follows PYTHONHASHSEED: sorted, the draws do not
            fx.append(FxRate(day, *pair, draw(dec(4, 1, 2_000_000))))
    book = Book(
        partners=partners,
        agreements={a.id: a for a in ags},
        deals=draw(deal_list(ids)),
        lines=draw(billing_lines()),
        customers=customers,
        fx=FxTable(fx),
    )
    carried = {i: draw(dec(2, -50_000, 50_000)) for i in ids if draw(st.booleans())}
    finalized = {
        i: [FinalizedStatement("2026-09", 1, draw(dec(2, -1000, 100_000)))]
        for i in ids
        if draw(st.integers(0, 2)) == 0
    }
    return book, carried, finalized


@seed(SEED)
@EQUIV
@given(books())
def test_both_engines_settle_the_same(
    case: tuple[Book, dict[str, Decimal], dict[str, list[FinalizedStatement]]],
) -> None:
    book, carried, finalized = case
    reference, bulk = both(book, "2026-10", carried_in=carried, finalized=finalized)
    assert_same(reference, bulk)
    with tempfile.TemporaryDirectory() as folder:  # not tmp_path: hypothesis reruns the body
        summary = summary_run(book, "2026-10", Path(folder) / "lines.parquet", carried_in=carried,
                              finalized=finalized)
        assert_summary_same(bulk, summary, "summary mode")
