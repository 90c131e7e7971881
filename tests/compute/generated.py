"""A seeded month without Hypothesis: agreements, deals, FX rates and lines from ``random.Random``.

For tests that must run one fixed, busy month on a slow backend (Spark): the
same seed gives the same book in any process. It exercises what the
Hypothesis equivalence test draws — bases, tax and credit lines, exclusions,
rule matches and windows, both tier methods, caps, floors, fees, clawback
shares and windows, the three bases, three zones, CNY/USD/JPY with FX by
charge date or period end (some rates missing), proration by deal and rule
windows, a second version mid-year, refunds of September and October
originals, unlinked refunds — and a carried balance and a finalized September
for step 9. Fractions stay finite decimals (whole-hour cuts of 1–200 hour lines).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

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
from cloudsettle.core.money import D, RoundingMode
from cloudsettle.core.parties import Customer, Deal, Partner, Verification
from cloudsettle.core.settlement.book import Book
from cloudsettle.core.settlement.run import FinalizedStatement

ZONES = ("UTC", "Asia/Shanghai", "America/New_York")
SERVICES = ("CVM", "COS", "CDN", "TAXSVC")
CATEGORIES = {"CVM": "Compute", "COS": "Storage", "CDN": "Network", "TAXSVC": "Other"}
ACCOUNTS = ("A1", "A2", "A3", "A4", "A5")  # A5 has no deal: missing_deal
HOURS = (0, 1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 80, 100, 160, 200)


def _dec(rng: random.Random, scale: int, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)).scaleb(-scale)


def _rules(rng: random.Random) -> tuple[Rule, ...]:
    keys = {
        "service_category": sorted(set(CATEGORIES.values())),
        "region": ["r1", "r2"],
        "charge_category": ["usage", "purchase", "credit"],
        "customer_segment": ["smb", "ent"],
        "service": list(SERVICES),
        "project": ["", "p1"],
    }
    out = []
    for i in range(rng.randint(1, 3)):
        match: dict[str, frozenset[str]] = {}
        key = rng.choice([*keys, "none"])
        if key != "none":
            match[key] = frozenset(rng.sample(keys[key], rng.randint(1, 2)))
        valid_from = valid_to = None
        if rng.random() < 0.4:
            valid_from = date(2026, 10, rng.choice([2, 10, 16]))
            if rng.random() < 0.5:
                valid_to = valid_from + timedelta(days=rng.choice([1, 6, 14]))
        out.append(Rule(f"r{i}", _dec(rng, 4, 1, 2000), match, valid_from, valid_to))
    if rng.random() < 0.7:
        out.append(Rule("rest", _dec(rng, 3, 0, 200)))
    return tuple(out)


def _version(
    rng: random.Random, number: int, effective: date, currency: str, prorate: bool, zone: str
) -> AgreementVersion:
    tiers = None
    if rng.random() < 0.6:
        starts = sorted({D(0), *(_dec(rng, 2, 0, 800_000) for _ in range(rng.randint(0, 2)))})
        tiers = Tiers(rng.choice(list(TierMethod)), tuple(Band(s, _dec(rng, 4, 1, 500)) for s in starts))
    fees = tuple(
        Fee(f"f{i}", percent=_dec(rng, 4, 0, 500))
        if rng.random() < 0.5
        else Fee(f"f{i}", fixed=_dec(rng, 2, 0, 3000))
        for i in range(rng.randint(0, 2))
    )
    return AgreementVersion(
        version=number,
        effective_from=effective,
        currency=currency,
        rules=_rules(rng),
        timezone=zone,
        basis=rng.choice(list(Basis)),
        base=rng.choice(list(Base)),
        include_tax=rng.random() < 0.5,
        prorate=prorate,
        fx_date=rng.choice(list(FxDate)),
        require_rule=rng.random() < 0.5,
        exclude_services=frozenset(rng.sample(SERVICES, rng.randint(0, 1))),
        tiers=tiers,
        cap=_dec(rng, 2, 10_000, 50_000) if rng.random() < 0.3 else None,
        floor=_dec(rng, 2, 0, 5_000) if rng.random() < 0.3 else None,
        fees=fees,
        clawback=Clawback(_dec(rng, 2, 10, 100), rng.choice([None, 0, 10, 25, 40])),
        rounding=Rounding(rng.choice(list(RoundingMode)), rng.choice(list(RoundingLevel))),
    )


def _line(rng: random.Random, line_id: str, month: int, **kw: object) -> BillingLine:
    day = date(2026, month, rng.choice([1, 2, 9, 10, 15, 16, 30, rng.randint(1, 30)]))
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        hours=rng.choice([0, 3, 15, 16, 20, 23])
    )
    amount = kw.pop("list_amount", None)
    if amount is None:
        amount = _dec(rng, 2, -20_000, 2_000_000) if rng.random() < 0.7 else _dec(rng, 4, -2_000, 200_000)
    assert isinstance(amount, Decimal)
    size = int(abs(amount).scaleb(2)) // 4
    sign = -1 if amount < 0 else 1
    service = str(kw.pop("service", rng.choice(SERVICES)))
    fields: dict[str, object] = {
        "discount_amount": sign * _dec(rng, 2, 0, size),
        "voucher_amount": sign * _dec(rng, 2, 0, size),
        "tax_amount": sign * _dec(rng, 2, 0, size),
        "currency": rng.choice(["CNY", "CNY", "USD", "JPY"]),
        "service_category": CATEGORIES[service],
        "charge_category": rng.choice([ChargeCategory.USAGE] * 4 + list(ChargeCategory)),
        "billing_mode": rng.choice(list(BillingMode)),
        "region": rng.choice(["r1", "r2"]),
        "project": rng.choice(["", "p1"]),
        "paid_at": rng.choice([None, start, start + timedelta(days=20), start + timedelta(days=40)]),
    }
    fields.update(kw)
    billed = date(2026, month, 1) if rng.random() < 0.85 else date(2026, month % 12 + 1, 1)
    return BillingLine(
        line_id=line_id,
        provider="tencent",
        account_id=rng.choice(ACCOUNTS),
        charge_start=start,
        charge_end=start + timedelta(hours=rng.choice(HOURS)),
        billing_period=billed,
        list_amount=amount,
        service=service,
        **fields,  # type: ignore[arg-type]
    )


def seeded_month(
    seed: int, *, lines: int = 40
) -> tuple[Book, dict[str, Decimal], dict[str, list[FinalizedStatement]]]:
    """A book settling October 2026, the carried balances and the finalized Septembers."""
    rng = random.Random(seed)
    agreements = []
    for i in range(3):
        currency = ("CNY", "USD", "JPY")[i]
        zone = ZONES[i]
        prorate = i != 2
        versions = [_version(rng, 1, date(2026, 1, 1), currency, prorate, zone)]
        if i == 0:  # a second version from mid-September: September's originals are rated under v1
            versions.append(_version(rng, 2, date(2026, 9, 15), currency, prorate, zone))
        agreements.append(Agreement(f"ag{i}", f"P{i}", tuple(versions)))
    ids = [a.id for a in agreements]
    deals = []
    for account in ACCOUNTS[:4]:
        for j in range(rng.randint(1, 2)):
            agreement = rng.choice(ids)
            start = rng.choice([date(2026, 1, 1), date(2026, 10, rng.choice([2, 10, 16]))])
            end = rng.choice([None, date(2026, 10, rng.choice([10, 16, 30])), date(2026, 12, 1)])
            if end is not None and end <= start:
                end = None
            services = None if rng.random() < 0.6 else frozenset(rng.sample(SERVICES, rng.randint(1, 3)))
            deals.append(
                Deal(
                    f"D-{account}-{j}",
                    f"P{ids.index(agreement)}",
                    "tencent",
                    account,
                    agreement,
                    start,
                    end,
                    services,
                )
            )
    originals = [_line(rng, f"S{i}", 9) for i in range(lines // 5)]
    originals += [_line(rng, f"O{i}", 10) for i in range(lines - lines // 5)]
    made = list(originals)
    for i, orig in enumerate(originals):
        if rng.random() < 0.3:
            share = rng.choice([D(1), D("0.5"), D("0.25")])
            made.append(
                _line(
                    rng,
                    f"R{i}",
                    10,
                    list_amount=-(abs(orig.list_amount) * share) or D("-1"),
                    original_line_id=orig.line_id,
                    currency=orig.currency,
                    service=orig.service,
                    service_category=orig.service_category,
                )
            )
    made.append(_line(rng, "U0", 10, list_amount=D("-120.50"), original_line_id="missing-0"))
    made.append(
        _line(
            rng, "C0", 10, list_amount=D(0), voucher_amount=D("300.00"), charge_category=ChargeCategory.CREDIT
        )
    )
    made.append(_line(rng, "T0", 10, charge_category=ChargeCategory.TAX))
    rng.shuffle(made)
    fx = []
    for pair in [
        ("USD", "CNY"),
        ("JPY", "CNY"),
        ("CNY", "USD"),
        ("USD", "JPY"),
        ("JPY", "USD"),
    ]:  # no CNY->JPY
        for day in sorted(
            rng.sample([date(2026, 9, 1), date(2026, 10, 10), date(2026, 10, 31)], rng.randint(1, 2))
        ):
            fx.append(FxRate(day, *pair, _dec(rng, 4, 1, 2_000_000)))
    book = Book(
        partners={
            f"P{i}": Partner(
                f"P{i}", f"P{i}", a.versions[0].currency, rng.choice(list(Verification)), _dec(rng, 0, 0, 300)
            )
            for i, a in enumerate(agreements)
        },
        agreements={a.id: a for a in agreements},
        deals=deals,
        lines=made,
        customers={
            ("tencent", a): Customer("tencent", a, a, rng.choice(["smb", "ent"])) for a in ACCOUNTS[:3]
        },
        fx=FxTable(fx),
    )
    carried = {"ag1": _dec(rng, 2, -50_000, 50_000)}
    finalized = {"ag0": [FinalizedStatement("2026-09", 1, _dec(rng, 2, -1000, 100_000))]}
    return book, carried, finalized
