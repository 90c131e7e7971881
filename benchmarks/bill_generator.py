"""Realistic bill files of any size for the benchmarks, and the configuration that settles them.

    .venv/bin/python benchmarks/bill_generator.py --lines 100000 --dir /tmp/bills [--revision]

One month (2026-10) of native provider files, in the layouts cloudsettle's
readers detect from the headers (the headers are the demo's, see
:mod:`cloudsettle.demo.generator`):

- ``tencent-console-cn``: Tencent console bill detail, Chinese headers, CNY,
  UTF-8 with BOM, amounts with thousands separators as the console writes them;
- ``tencent-reseller-en``: Tencent international reseller customer bill, USD;
- ``huawei-detail-cn``: Huawei consumption detail, Chinese headers, CNY;
- ``focus-csv``: a FOCUS 1.2 export (Amazon Web Services, USD) with cloudsettle's
  ``x_LineId`` and ``x_OriginalLineId`` columns.

The world: 10,000 customers (each on one of the four files, in a fixed mix)
under 500 partners with varied agreements (rules by service category,
segment and billing mode, marginal and retroactive tiers, caps, floors,
percent and fixed fees, clawback shares and windows, line and statement
rounding, a second version for some, CNY and USD), one deal per customer
(1% of them move to another partner mid-month), and daily FX rates both ways.
Lines are charges (monthly renewals, daily and hourly usage), 4% refunds of an
earlier renewal of the same file (linked by 原订单号 plus resource id on Huawei,
by ``x_OriginalLineId`` in FOCUS; Tencent's CSV carries no link, so those net at
their own rule's rate, as the spec says) and 1% adjustments (debits and
credits). A customer's share of the lines is skewed (a few big accounts).

Everything comes from one seeded :class:`random.Random` consumed in a fixed
order and rows are streamed out through ``csv`` writers, so memory stays
constant (10M lines are feasible) and two runs give byte-identical files.
Amounts are integer cents, written as exact decimals (never floats).

:func:`write_revision` replays the same stream and writes, for every 100th
line, the same row with other amounts (same identity, so the same
``line_id``): a 1% restatement.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import hashlib
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from cloudsettle.demo.generator import (
    HUAWEI_CN_HEADER,
    PRODUCTS,
    TENCENT_CN_HEADER,
    TENCENT_EN_HEADER,
    Product,
)
from cloudsettle.ingest.service_categories import CategoryMap

SEED = 6
CUSTOMERS = 10_000
PARTNERS = 500
MONTH = date(2026, 10, 1)
PERIOD = "2026-10"
REFUND_PER_MILLE = 40
ADJUSTMENT_PER_MILLE = 10
#: Every REVISE_EVERY-th line is restated by :func:`write_revision` (1%).
REVISE_EVERY = 100
REVISE_OFFSET = 37

CONFIG_FILE = "config-2026-10.yaml"
TENCENT_CN = "tencent-console-cn"
TENCENT_EN = "tencent-reseller-en"
HUAWEI_CN = "huawei-detail-cn"
FOCUS = "focus-csv"
#: Bill file of each format, in ingest order.
FILES: dict[str, str] = {
    TENCENT_CN: "tencent-bill-detail-2026-10.csv",
    TENCENT_EN: "tencent-reseller-bill-2026-10.csv",
    HUAWEI_CN: "huawei-consumption-detail-2026-10.csv",
    FOCUS: "focus-aws-2026-10.csv",
}
#: Restated files written by :func:`write_revision`.
REVISED_FILES: dict[str, str] = {f: name.replace(".csv", "-restated.csv") for f, name in FILES.items()}
#: The provider key each format's lines get (the deals' provider).
PROVIDER_OF: dict[str, str] = {
    TENCENT_CN: "tencent", TENCENT_EN: "tencent", HUAWEI_CN: "huawei", FOCUS: "amazon-web-services",
}
CURRENCY_OF: dict[str, str] = {TENCENT_CN: "CNY", TENCENT_EN: "USD", HUAWEI_CN: "CNY", FOCUS: "USD"}
#: Which file a customer is on: ``(c + c // PARTNERS) % 20`` indexes this mix, so every partner
#: has customers on every file (of 20: 9 Tencent domestic, 2 Tencent international, 6 Huawei,
#: 3 FOCUS), and so does a smaller world.
_MIX: tuple[str, ...] = (TENCENT_CN,) * 9 + (TENCENT_EN,) * 2 + (HUAWEI_CN,) * 6 + (FOCUS,) * 3
SEGMENTS = ("enterprise", "smb", "gaming", "retail", "finance")
MOVE_DAY = date(2026, 10, 16)

FOCUS_HEADER: tuple[str, ...] = (
    "x_LineId", "ProviderName", "SubAccountId", "BillingAccountId", "InvoiceId", "ServiceName",
    "ServiceCategory", "RegionId", "x_Project", "ResourceId", "x_BillingMode", "ChargeCategory",
    "ChargeClass", "ChargeFrequency", "ChargeDescription", "SkuId", "ChargePeriodStart", "ChargePeriodEnd",
    "BillingPeriodStart", "BillingPeriodEnd", "x_PaidAt", "ListCost", "BilledCost", "x_VoucherAmount",
    "x_TaxAmount", "BillingCurrency", "x_OriginalLineId",
)
HEADERS: dict[str, tuple[str, ...]] = {
    TENCENT_CN: TENCENT_CN_HEADER, TENCENT_EN: TENCENT_EN_HEADER, HUAWEI_CN: HUAWEI_CN_HEADER,
    FOCUS: FOCUS_HEADER,
}


@dataclass(frozen=True)
class AwsProduct:
    """A FOCUS (AWS) product: service, category, SKU, grain and unit price range in cents."""

    service: str
    category: str
    sku: str
    grain: str
    low: int
    high: int

    @property
    def subscription(self) -> bool:
        """Monthly products are purchases (savings plans, reserved instances)."""
        return self.grain == "month"


AWS_PRODUCTS: tuple[AwsProduct, ...] = (
    AwsProduct("Amazon Elastic Compute Cloud", "Compute", "RI-m6i.xlarge", "month", 9_000, 40_000),
    AwsProduct("Amazon Elastic Compute Cloud", "Compute", "BoxUsage:m6i.large", "hour", 40, 300),
    AwsProduct("Amazon Simple Storage Service", "Storage", "TimedStorage-ByteHrs", "day", 100, 1_500),
    AwsProduct("Amazon Relational Database Service", "Databases", "RI-db.r6g.large", "month", 12_000, 45_000),
    AwsProduct("Amazon CloudFront", "Networking", "DataTransfer-Out-Bytes", "day", 200, 3_000),
)
_TENCENT_KEYS = tuple(k for k in PRODUCTS if k.startswith("t:"))
_HUAWEI_KEYS = tuple(k for k in PRODUCTS if k.startswith("h:"))
#: English subproduct and component names of the international console.
_TENCENT_EN_NAMES: dict[str, tuple[str, str]] = {
    "t:cvm-sub": ("Standard S5", "CPU"), "t:cvm-od": ("Standard SA2", "CPU"),
    "t:cbs": ("Premium Cloud Disk", "Storage Space"), "t:cos": ("Standard Storage", "Storage Usage"),
    "t:cdn": ("CDN", "Traffic"), "t:mysql": ("Two-node", "Instance Specification"),
    "t:clb": ("Standard", "Instance Fee"), "t:tke": ("Managed Cluster", "Cluster Management"),
    "t:sms": ("SMS", "Messages"),
}
_TENCENT_REGIONS = (("广州", "广州三区"), ("上海", "上海五区"), ("北京", "北京六区"))
_HUAWEI_REGIONS = (("cn-north-4", "华北-北京四"), ("cn-east-3", "华东-上海一"), ("cn-south-1", "华南-广州"))
_AWS_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")
_PAYER_TENCENT = "100000880001"
_PAYER_AWS = "123456789012"


# --- the world: customers, partners, agreements ----------------------------------------------


def customer_format(c: int, partners: int = PARTNERS) -> str:
    """The bill file customer ``c`` is on."""
    return _MIX[(c + c // partners) % len(_MIX)]


def account_id(c: int, partners: int = PARTNERS) -> str:
    """Customer ``c``'s account at its provider, in that provider's form."""
    fmt = customer_format(c, partners)
    if fmt == TENCENT_CN:
        return f"1000{(c * 7919) % 10**8:08d}"
    if fmt == TENCENT_EN:
        return f"2000{(c * 7919) % 10**8:08d}"
    if fmt == HUAWEI_CN:
        return hashlib.sha256(f"huawei-customer-{c}".encode()).hexdigest()[:32]
    return f"{300_000_000_000 + c * 48_271:012d}"


def partner_id(p: int) -> str:
    """Partner ``p``'s id."""
    return f"P{p:03d}"


def partner_of(c: int, day: date = MONTH, partners: int = PARTNERS) -> int:
    """The partner customer ``c``'s spend on ``day`` is paid to: 1% of the customers move on
    MOVE_DAY to a partner in the same time zone (deal windows are read in the agreement's
    zone, so a move between zones would leave a gap or an overlap of hours)."""
    p = c % partners
    if c % 100 == 99 and day >= MOVE_DAY:
        q = (p + 3) % partners
        while partner_currency(q) != partner_currency(p):
            q = (q + 1) % partners
        return q
    return p


def partner_currency(p: int) -> str:
    """Every tenth partner is paid in USD, the rest in CNY."""
    return "USD" if p % 10 == 0 else "CNY"


def _cents(value: int) -> str:
    return format(Decimal(value).scaleb(-2), ".2f")


def _rate(per_mille: int) -> Decimal:
    return Decimal(per_mille).scaleb(-3)


def category_rates(p: int) -> dict[str, Decimal]:
    """Partner ``p``'s commission rate by FOCUS service category (its version 1 rules, and the
    floor of what the baselines compute); a category not listed takes :func:`default_rate`."""
    compute = _rate(50 + 10 * (p % 7))
    return {
        "Compute": compute,
        "Databases": _rate(40 + 5 * (p % 5)),
        "Storage": _rate(30 + 5 * (p % 4)),
        "Networking": _rate(30 + 5 * (p % 4)),
    }


def default_rate(p: int) -> Decimal:
    """Partner ``p``'s rate for every other line."""
    return _rate(20 + 10 * (p % 3))


def tier_bands(p: int) -> tuple[str, tuple[tuple[int, Decimal], ...]] | None:
    """``(method, ((from, uplift), ...))`` of partner ``p``'s tiers, or ``None``."""
    if p % 3 == 2:
        return None
    method = "marginal" if p % 3 == 0 else "retroactive"
    return method, ((0, Decimal(0)), (50_000, _rate(5)), (500_000, _rate(10)), (5_000_000, _rate(20)))


def _rules_yaml(p: int, rates: dict[str, Decimal], bump: int = 0) -> list[str]:
    out = ["        rules:"]
    if p % 5 == 2:
        out.append(f'          - {{id: enterprise, match: {{customer_segment: [enterprise]}}, '
                   f'rate: "{_rate(90 + bump)}"}}')
    if p % 9 == 4:
        out.append(f'          - {{id: subscriptions, match: {{billing_mode: [subscription]}}, '
                   f'rate: "{_rate(70 + bump)}"}}')
    out.append(f'          - {{id: compute, match: {{service_category: [Compute]}}, '
               f'rate: "{rates["Compute"] + _rate(bump)}"}}')
    out.append(f'          - {{id: databases, match: {{service_category: [Databases]}}, '
               f'rate: "{rates["Databases"] + _rate(bump)}"}}')
    out.append(f'          - {{id: storage-network, match: {{service_category: [Storage, Networking]}}, '
               f'rate: "{rates["Storage"] + _rate(bump)}"}}')
    out.append(f'          - {{id: default, rate: "{default_rate(p) + _rate(bump)}"}}')
    return out


def _version_yaml(p: int, version: int, effective_from: date, bump: int) -> list[str]:
    currency = partner_currency(p)
    base = {3: "list", 5: "cash"}.get(p % 7, "net")
    out = [
        f"      - version: {version}",
        f"        effective_from: {effective_from.isoformat()}",
        f"        currency: {currency}",
        f"        timezone: {'UTC' if currency == 'USD' else 'Asia/Shanghai'}",
        "        cycle: monthly",
        "        basis: billing_period",
        f"        base: {base}",
        "        fx_date: charge",
        *_rules_yaml(p, category_rates(p), bump),
    ]
    tiers = tier_bands(p)
    if tiers is not None:
        method, bands = tiers
        out.append(f"        tiers:\n          method: {method}\n          bands:")
        out += [f'            - {{from: "{start}", uplift: "{uplift}"}}' for start, uplift in bands]
    if p % 8 == 0:
        out.append(f'        cap: "{_cents(500_000 * (1 + p % 5))}"')
    if p % 11 == 0:
        out.append('        floor: "300.00"')
    fees = {
        0: ['{id: platform, percent: "0.01"}'],
        1: ['{id: admin, fixed: "50.00"}'],
        2: ['{id: platform, percent: "0.005"}', '{id: admin, fixed: "20.00"}'],
    }.get(p % 4, [])
    out.append(f"        fees: [{', '.join(fees)}]")
    window = {0: "30", 1: "90"}.get(p % 3, "null")
    out.append(f'        clawback: {{share: "{"0.5" if p % 4 == 3 else "1"}", window_days: {window}}}')
    level = "line" if p % 6 == 5 else "statement"
    mode = "half_even" if p % 5 == 4 else "half_up"
    out.append(f"        rounding: {{mode: {mode}, level: {level}}}")
    return out


def write_config(path: Path, customers: int = CUSTOMERS, partners: int = PARTNERS) -> None:
    """The configuration file (spec/config.md format) for the world, streamed out: the
    partners and their agreements, the customers and their deals, FX rates."""
    with path.open("w", encoding="utf-8") as out:
        out.write("# Benchmark world (generated by benchmarks/bill_generator.py; spec/config.md format).\n")
        out.write("partners:\n")
        for p in range(partners):
            extra = ', minimum_payout: "500.00"' if p % 13 == 0 else ""
            out.write(f"  - {{id: {partner_id(p)}, name: Partner {p}, currency: {partner_currency(p)}, "
                      f"verification: verified{extra}}}\n")
        out.write("customers:\n")
        for c in range(customers):
            provider = PROVIDER_OF[customer_format(c, partners)]
            out.write(f'  - {{provider: {provider}, account_id: "{account_id(c, partners)}", '
                      f"name: Customer {c}, segment: {SEGMENTS[c % len(SEGMENTS)]}}}\n")
        out.write("deals:\n")
        for c in range(customers):
            provider = PROVIDER_OF[customer_format(c, partners)]
            p = c % partners
            common = f'provider: {provider}, account_id: "{account_id(c, partners)}"'
            if c % 100 == 99:
                q = partner_of(c, MOVE_DAY, partners)
                out.write(f"  - {{id: D{c}, partner: {partner_id(p)}, {common}, agreement: AG{p}, "
                          f"valid_from: 2026-01-01, valid_to: {MOVE_DAY.isoformat()}}}\n")
                out.write(f"  - {{id: D{c}-B, partner: {partner_id(q)}, {common}, agreement: AG{q}, "
                          f"valid_from: {MOVE_DAY.isoformat()}, valid_to: null}}\n")
            else:
                out.write(f"  - {{id: D{c}, partner: {partner_id(p)}, {common}, agreement: AG{p}, "
                          "valid_from: 2026-01-01, valid_to: null}\n")
        out.write("agreements:\n")
        for p in range(partners):
            out.write(f"  - id: AG{p}\n    partner: {partner_id(p)}\n    mode: live\n    versions:\n")
            # Every tenth agreement has a newer version (rates one point higher) from July.
            out.write("\n".join(_version_yaml(p, 1, date(2026, 1, 1), 0)) + "\n")
            if p % 10 == 7:
                out.write("\n".join(_version_yaml(p, 2, date(2026, 7, 1), 10)) + "\n")
        out.write("fx_rates:\n")
        day = date(2026, 9, 1)
        step = 0
        while day < date(2026, 11, 1):
            usd_cny = Decimal(71_000 + (step * 37) % 400).scaleb(-4)
            cny_usd = Decimal(14_050 + (step * 11) % 80).scaleb(-5)
            out.write(f'  - {{date: {day.isoformat()}, from: USD, to: CNY, rate: "{usd_cny}"}}\n')
            out.write(f'  - {{date: {day.isoformat()}, from: CNY, to: USD, rate: "{cny_usd}"}}\n')
            day += timedelta(days=1)
            step += 1


# --- the lines ---------------------------------------------------------------------------------

CHARGE, REFUND, ADJUST = "charge", "refund", "adjust"


@dataclass(slots=True)
class Line:
    """One bill line, provider-neutral; the writers lay it out per format.

    Times are naive wall-clock times in the provider's zone (Asia/Shanghai for Tencent
    and Huawei, UTC for AWS). ``*_cents`` are signed (a refund's and a credit's are
    negative); ``billed_cents`` is the amount after discount.
    """

    seq: int
    fmt: str
    customer: int
    product: int  # index into the format's product list
    kind: str
    start: datetime
    end: datetime
    paid: datetime
    list_cents: int
    billed_cents: int
    voucher_cents: int
    resource: str
    order: str  # Tencent transaction id, Huawei order id, FOCUS x_LineId
    account: str
    original: str = ""  # a refund's original order (Huawei) or x_LineId (FOCUS)

    @property
    def subscription(self) -> bool:
        """Whether the line bills a monthly subscription (renewal or its refund)."""
        return _grain(self.fmt, self.product) == "month"


def _grain(fmt: str, product: int) -> str:
    if fmt == FOCUS:
        return AWS_PRODUCTS[product].grain
    return _native_product(fmt, product).grain


def _native_product(fmt: str, product: int) -> Product:
    keys = _HUAWEI_KEYS if fmt == HUAWEI_CN else _TENCENT_KEYS
    return PRODUCTS[keys[product]]


def _product_count(fmt: str) -> int:
    return len(AWS_PRODUCTS) if fmt == FOCUS else len(_HUAWEI_KEYS if fmt == HUAWEI_CN else _TENCENT_KEYS)


def _price_range(fmt: str, product: int) -> tuple[int, int]:
    if fmt == FOCUS:
        item = AWS_PRODUCTS[product]
        return item.low, item.high
    native = _native_product(fmt, product)
    if fmt == TENCENT_EN:  # USD list prices: CNY cents x 0.14
        return native.low * 14 // 100, native.high * 14 // 100
    return native.low, native.high


def _at(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second)


class _Stream:
    """The seeded line stream; one instance per generation, consumed in a fixed order."""

    def __init__(self, seed: int, customers: int, partners: int) -> None:
        self.rng = random.Random(seed)  # seeded benchmark data, not security
        rng = self.rng
        # Skewed spend: most accounts are small, a few are large (integer weights, no floats).
        weights = [rng.choice((1, 1, 1, 1, 2, 2, 3, 5, 8, 13, 40)) for _ in range(customers)]
        self.cumulative: list[int] = []
        total = 0
        for w in weights:
            total += w
            self.cumulative.append(total)
        self.total = total
        self.customers = customers
        self.partners = partners
        self.discount = [rng.choice((0, 0, 5, 8, 10, 12, 15)) for _ in range(customers)]
        # Recent renewals per format, refunds pick from them: (customer, product, resource, order,
        # billed cents, start).
        self.recent: dict[str, list[tuple[int, int, str, str, int, datetime]]] = {f: [] for f in FILES}

    def customer(self) -> int:
        return bisect.bisect_right(self.cumulative, self.rng.randrange(self.total))

    def lines(self, n: int) -> Iterator[Line]:
        rng = self.rng
        for seq in range(n):
            roll = rng.randrange(1000)
            c = self.customer()
            fmt = customer_format(c, self.partners)
            recent = self.recent[fmt]
            if roll < REFUND_PER_MILLE and recent:
                yield self._refund(seq, fmt, recent)
            elif roll >= 1000 - ADJUSTMENT_PER_MILLE:
                yield self._adjustment(seq, fmt, c)
            else:
                yield self._charge(seq, fmt, c)

    def _order(self, seq: int, fmt: str, moment: datetime) -> str:
        if fmt == HUAWEI_CN:
            return f"CS{moment:%y%m%d%H%M}{seq:09d}"
        if fmt == FOCUS:
            return f"A-2610-{seq:09d}"
        return f"{moment:%Y%m%d}{seq:010d}"

    def _charge(self, seq: int, fmt: str, c: int) -> Line:
        rng = self.rng
        product = rng.randrange(_product_count(fmt))
        grain = _grain(fmt, product)
        low, high = _price_range(fmt, product)
        list_cents = rng.randint(low, high)
        billed = list_cents - list_cents * self.discount[c] // 100
        voucher = rng.randint(1, max(1, billed // 5)) if rng.randrange(12) == 0 else 0
        day = rng.randint(1, 30)
        if grain == "month":
            start = _at(MONTH.replace(day=day))
            end = _at((MONTH + timedelta(days=31)).replace(day=day))
            paid = start + timedelta(minutes=5, seconds=rng.randrange(60))
            resource = f"r{c:05d}-{seq:09d}"  # each renewal is its own instance
        elif grain == "day":
            # The domestic console bills by deduction time: a day's usage is deducted the next
            # morning, so October's file holds 30 September .. 30 October.
            usage_day = MONTH.replace(day=day) - timedelta(days=1 if fmt == TENCENT_CN else 0)
            start = _at(usage_day)
            end = _at(usage_day, 23, 59, 59)
            paid = _at(usage_day + timedelta(days=1), 1, rng.randrange(60), rng.randrange(60))
            resource = f"r{c:05d}-p{product}-{rng.randrange(4)}"
        else:
            start = _at(MONTH.replace(day=day), rng.randrange(23))
            end = start + timedelta(hours=1)
            paid = end + timedelta(minutes=5)
            resource = f"r{c:05d}-p{product}-{rng.randrange(4)}"
        order = self._order(seq, fmt, paid)
        if grain == "month":
            recent = self.recent[fmt]
            item = (c, product, resource, order, billed, start)
            if len(recent) < 512:
                recent.append(item)
            else:
                recent[rng.randrange(512)] = item
        return Line(seq, fmt, c, product, CHARGE, start, end, paid, list_cents, billed, voucher, resource,
                    order, account_id(c, self.partners))

    def _refund(self, seq: int, fmt: str, recent: list[tuple[int, int, str, str, int, datetime]]) -> Line:
        rng = self.rng
        c, product, resource, original, billed, start = recent[rng.randrange(len(recent))]
        refunded = max(1, billed * rng.randint(10, 50) // 100)
        latest = _at(MONTH.replace(day=31), 12)
        moment = min(start + timedelta(days=rng.randint(1, 20), hours=rng.randrange(24)), latest)
        end = _at((MONTH + timedelta(days=31)).replace(day=start.day))
        return Line(seq, fmt, c, product, REFUND, moment, end, moment, -refunded, -refunded, 0, resource,
                    self._order(seq, fmt, moment), account_id(c, self.partners), original)

    def _adjustment(self, seq: int, fmt: str, c: int) -> Line:
        rng = self.rng
        product = rng.randrange(_product_count(fmt))
        amount = rng.randint(100, 50_000) * (1 if rng.randrange(3) else -1)
        moment = _at(MONTH.replace(day=rng.randint(1, 30)), rng.randrange(24), rng.randrange(60))
        return Line(seq, fmt, c, product, ADJUST, moment, moment, moment, amount, amount, 0, "",
                    self._order(seq, fmt, moment), account_id(c, self.partners))


def iter_lines(n: int, seed: int = SEED, customers: int = CUSTOMERS, partners: int = PARTNERS
               ) -> Iterator[Line]:
    """The month's ``n`` lines in file order (deterministic for a seed and world)."""
    return _Stream(seed, customers, partners).lines(n)


def revised(line: Line) -> Line:
    """The restated version of a line: the same identity, amounts 10% higher in magnitude
    (a credit or a refund gets 10% more negative); vouchers unchanged."""
    def more(cents: int) -> int:
        return cents + cents // 10 if cents >= 0 else cents - (-cents) // 10

    return Line(line.seq, line.fmt, line.customer, line.product, line.kind, line.start, line.end,
                line.paid, more(line.list_cents), more(line.billed_cents), line.voucher_cents,
                line.resource, line.order, line.account, line.original)


def is_revised(line: Line) -> bool:
    """Whether :func:`write_revision` restates this line."""
    return line.seq % REVISE_EVERY == REVISE_OFFSET


# --- row layouts -------------------------------------------------------------------------------


def _grouped(cents: int) -> str:
    return format(Decimal(cents).scaleb(-2), ",.2f")


def _t(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _discount_rate(billed: int, listed: int) -> str:
    if listed == 0:
        return "1"
    return format((Decimal(billed) / Decimal(listed)).quantize(Decimal("0.0001")), "f")


def tencent_cn_row(line: Line) -> list[str]:
    """A row of the Tencent console bill detail (reference §1.4)."""
    p = _native_product(TENCENT_CN, line.product)
    owner = line.account
    region, zone = _TENCENT_REGIONS[line.customer % 3]
    sub = p.subscription
    if line.kind == REFUND:
        kind = "包年包月退费"
    elif line.kind == ADJUST:
        kind = "调账扣费"
    elif sub:
        kind = "包年包月续费"
    else:
        kind = "按量计费小时结" if p.grain == "hour" else "按量计费日结"
    listed = "-" if line.kind == REFUND else _grouped(line.list_cents)
    start = "" if line.kind == ADJUST else _t(line.start)
    end = "" if line.kind == ADJUST else _t(line.end)
    unit = "月" if sub else ("小时" if p.grain == "hour" else "天")
    order = line.order if sub and line.kind == CHARGE else ""
    return [
        _PAYER_TENCENT, owner, owner, p.cn, "包年包月" if sub else "按量计费", "default", region, zone,
        "国内", line.resource, line.resource, p.sub, kind, order, line.order, _t(line.paid), start, end,
        p.component, p.component, listed, listed, f"元/{unit}", "1", "个", "1", unit, listed,
        _discount_rate(line.billed_cents, line.list_cents), _grouped(line.billed_cents),
        _cents(line.voucher_cents), "0.00", _grouped(line.billed_cents - line.voucher_cents),
    ]


def tencent_en_row(line: Line) -> list[str]:
    """A row of the Tencent international reseller customer bill (USD, 9% GST)."""
    p = _native_product(TENCENT_EN, line.product)
    sub_name, component = _TENCENT_EN_NAMES[_TENCENT_KEYS[line.product]]
    owner = line.account
    sub = p.subscription
    if line.kind == REFUND:
        kind = "Monthly subscription refund"
    elif line.kind == ADJUST:
        kind = "adjust-DR" if line.billed_cents >= 0 else "adjust-CR"
    elif sub:
        kind = "Monthly subscription renewal"
    else:
        kind = "Hourly settlement" if p.grain == "hour" else "Daily settlement"
    before_tax = line.billed_cents - line.voucher_cents
    tax = before_tax * 9 // 100
    unit = "month" if sub else ("hour" if p.grain == "hour" else "day")
    rate = _discount_rate(line.billed_cents, line.list_cents)
    return [
        _PAYER_TENCENT, owner, owner, p.en, sub_name,
        "Monthly Subscription" if sub else "Pay-as-you-go", kind, line.order, _t(line.paid),
        _t(line.start), _t(line.end), line.resource, line.resource, sub_name, "default",
        "Singapore", "Singapore Zone 2", component, component, _cents(line.list_cents),
        _cents(line.billed_cents), f"USD/{unit}", "1", unit, "1", unit, _cents(line.list_cents),
        "0", "0", "0", "0", "0", rate, rate, "USD", _cents(line.billed_cents), _cents(line.voucher_cents),
        _cents(before_tax), "0.09", _cents(tax), _cents(before_tax + tax), "", "", "", "", "", "", "",
        f"Customer {line.customer}", _cents(line.list_cents - line.voucher_cents), rate, "2026-10",
        _PAYER_TENCENT,
    ]


def _hw_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " GMT+08:00"


def huawei_cn_row(line: Line) -> list[str]:
    """A row of the Huawei consumption detail (reference §2.5)."""
    p = _native_product(HUAWEI_CN, line.product)
    region, region_name = _HUAWEI_REGIONS[line.customer % 3]
    sub = p.subscription
    if line.kind == REFUND:
        bill_type = "退款-退订"
    elif line.kind == ADJUST:
        bill_type = "调账-补偿"
    else:
        bill_type = "消费-续订" if sub else "消费-使用"
    order_based = sub and line.kind != ADJUST
    resource = "" if line.kind == ADJUST else line.resource
    due = line.billed_cents
    return [
        "2026-10", "0", "default", line.account, p.code, p.cn, p.resource_type, p.sub,
        f"00301-{p.code.rsplit('.', 1)[1]}-0--0", "包年/包月" if sub else "按需", _hw_time(line.paid),
        _hw_time(line.start), _hw_time(line.end), line.order, _hw_time(line.paid), bill_type, resource,
        resource, "", p.component, p.component, region, region_name, f"{region}a",
        "" if order_based else "duration", "", "", "", "", "", "", _cents(line.list_cents),
        _cents(line.list_cents - line.billed_cents), _cents(due), _cents(due - line.voucher_cents), "0.00",
        _cents(line.voucher_cents), "0.00", "0.00", "0.00", "0.00", "--", "--",
        "续订" if order_based and line.kind == CHARGE else "", "1" if order_based else "",
        "1" if order_based else "", "月" if order_based else "", "", "", "", line.original, "否",
    ]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def focus_row(line: Line) -> list[str]:
    """A row of a FOCUS 1.2 export (AWS, USD) with cloudsettle's x_ columns."""
    item = AWS_PRODUCTS[line.product]
    if line.kind == ADJUST:
        category, frequency, mode = "Adjustment", "One-Time", "other"
    elif item.subscription:
        category, frequency, mode = "Purchase", "Recurring", "subscription"
    else:
        category, frequency, mode = "Usage", "Usage-Based", "on_demand"
    description = {CHARGE: item.sku, REFUND: f"Refund of {line.original}", ADJUST: "Billing adjustment"}
    return [
        line.order, "Amazon Web Services", line.account, _PAYER_AWS, "INV-2026-10",
        item.service, item.category, _AWS_REGIONS[line.customer % 3], "default",
        "" if line.kind == ADJUST else line.resource, mode, category, "", frequency,
        description[line.kind], item.sku, _iso(line.start), _iso(line.end), "2026-10-01T00:00:00Z",
        "2026-11-01T00:00:00Z", _iso(line.paid), _cents(line.list_cents), _cents(line.billed_cents),
        _cents(line.voucher_cents), "0.00", "USD", line.original,
    ]


ROWS = {TENCENT_CN: tencent_cn_row, TENCENT_EN: tencent_en_row, HUAWEI_CN: huawei_cn_row, FOCUS: focus_row}


# --- writing -----------------------------------------------------------------------------------


@dataclass
class Month:
    """What was written: files by format, and counts to check an ingest against."""

    directory: Path
    lines: int
    files: dict[str, Path] = field(default_factory=dict)
    rows: Counter[str] = field(default_factory=Counter)  # rows per format
    kinds: Counter[str] = field(default_factory=Counter)  # charge, refund, adjust
    partners: set[str] = field(default_factory=set)  # partners paid for some line

    @property
    def config(self) -> Path:
        """The configuration file."""
        return self.directory / CONFIG_FILE


def _shanghai_day(line: Line) -> date:
    """The line's charge date where the movers' agreements read deal windows (Asia/Shanghai);
    AWS times are UTC."""
    return (line.start + timedelta(hours=8 if line.fmt == FOCUS else 0)).date()


def _open(path: Path, fmt: str) -> TextIO:
    # The domestic Tencent console exports UTF-8 with a byte-order mark.
    encoding = "utf-8-sig" if fmt == TENCENT_CN else "utf-8"
    return path.open("w", encoding=encoding, newline="")


def _write(directory: Path, names: dict[str, str], n: int, seed: int, customers: int, partners: int,
           *, revision: bool) -> Month:
    directory.mkdir(parents=True, exist_ok=True)
    month = Month(directory, 0)
    handles = {fmt: _open(directory / name, fmt) for fmt, name in names.items()}
    try:
        writers = {fmt: csv.writer(h, lineterminator="\r\n") for fmt, h in handles.items()}
        for fmt, writer in writers.items():
            writer.writerow(HEADERS[fmt])
            month.files[fmt] = directory / names[fmt]
        for line in iter_lines(n, seed, customers, partners):
            if revision:
                if not is_revised(line):
                    continue
                line = revised(line)
            writers[line.fmt].writerow(ROWS[line.fmt](line))
            month.lines += 1
            month.rows[line.fmt] += 1
            month.kinds[line.kind] += 1
            month.partners.add(partner_id(partner_of(line.customer, _shanghai_day(line), partners)))
    finally:
        for h in handles.values():
            h.close()
    return month


def write_month(directory: Path, n: int, seed: int = SEED, customers: int = CUSTOMERS,
                partners: int = PARTNERS) -> Month:
    """Write the configuration and the month's ``n`` lines into ``directory`` (a smaller world
    than 10,000 customers and 500 partners is for tests)."""
    directory.mkdir(parents=True, exist_ok=True)
    write_config(directory / CONFIG_FILE, customers, partners)
    return _write(directory, FILES, n, seed, customers, partners, revision=False)


def write_revision(directory: Path, n: int, seed: int = SEED, customers: int = CUSTOMERS,
                   partners: int = PARTNERS) -> Month:
    """Write the restatement of the month of :func:`write_month` (same ``n``, seed and world):
    every 100th line again with other amounts, into ``REVISED_FILES``."""
    return _write(directory, REVISED_FILES, n, seed, customers, partners, revision=True)


def category_of(fmt: str, product: int, categories: CategoryMap | None = None) -> str:
    """The FOCUS service category the ingest gives a product of a format (for the baselines)."""
    if fmt == FOCUS:
        return AWS_PRODUCTS[product].category
    table = categories or CategoryMap.shipped()
    p = _native_product(fmt, product)
    if fmt == HUAWEI_CN:
        return table.category("huawei", p.code)
    return table.category("tencent", p.cn if fmt == TENCENT_CN else p.en)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--revision", action="store_true", help="also write the 1%% restatement")
    args = parser.parse_args()
    month = write_month(args.dir, args.lines, args.seed)
    print(f"wrote {month.lines:,} lines: {dict(month.rows)}; {dict(month.kinds)}; config {month.config}")
    if args.revision:
        again = write_revision(args.dir, args.lines, args.seed)
        print(f"wrote the restatement: {again.lines:,} lines: {dict(again.rows)}")


if __name__ == "__main__":
    main()
