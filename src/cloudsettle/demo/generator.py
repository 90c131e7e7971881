"""The demo's input: a config file and two months of Tencent Cloud and Huawei Cloud bills.

Everything comes from one seeded ``random.Random(2026)`` consumed in a fixed
order, so two generations give byte-identical files. Amounts are built as
``Decimal`` from integer cents (never floats): a line's list price is a random
number of cents, its discount, voucher and tax are integer shares of it.

The data is shaped to exercise the settlement rules a finance team meets in a
normal month (spec: settlement-rules.md): six partners with different
agreements, a customer that moves between partners mid-October, refunds of
September lines in October (inside and outside a clawback window), a
restatement file that revises an October line and adds a late September line
(a prior-period adjustment), and one customer without a deal (a deliberate
``missing_deal`` finding).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

SEED = 2026

CONFIG_FILE = "demo-config.yaml"
SEPTEMBER_FILES: tuple[str, ...] = ("tencent-2026-09.csv", "huawei-2026-09.csv")
OCTOBER_FILES: tuple[str, ...] = ("tencent-2026-10.csv", "huawei-2026-10.csv")
RESTATED_FILE = "tencent-2026-10-restated.csv"

#: The FOCUS 1.2 columns with cloudsettle's x_ columns (tests/golden/README.md).
HEADER: tuple[str, ...] = (
    "x_LineId", "ProviderName", "SubAccountId", "BillingAccountId", "InvoiceId", "ServiceName",
    "ServiceCategory", "RegionId", "x_Project", "ResourceId", "x_BillingMode", "ChargeCategory",
    "ChargeClass", "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd",
    "x_PaidAt", "ListCost", "BilledCost", "x_VoucherAmount", "x_TaxAmount", "BillingCurrency",
    "x_OriginalLineId",
)

PROVIDER_NAMES = {"tencent": "Tencent Cloud", "huawei": "Huawei Cloud"}
REGIONS = {"tencent": ("ap-guangzhou", "ap-shanghai", "ap-beijing"),
           "huawei": ("cn-north-4", "cn-east-3", "cn-south-1")}
#: The reseller's own payer accounts at each provider.
PAYER = {"tencent": "100000880001", "huawei": "0a1b2c3d4e5f40718293a4b5c6d7e8f9"}
SEPTEMBER = date(2026, 9, 1)
OCTOBER = date(2026, 10, 1)
NOVEMBER = date(2026, 11, 1)
MOVE_DAY = date(2026, 10, 16)
VAT_PERCENT = 6


@dataclass(frozen=True)
class Product:
    """A billable product: what it is and what one unit (month, day, hour) costs, in cents."""

    provider: str
    service: str
    category: str
    mode: str  # subscription | on_demand
    grain: str  # month | day | hour
    low: int
    high: int
    prefix: str


PRODUCTS: dict[str, Product] = {p.provider[0] + ":" + k: p for k, p in (
    ("cvm-sub", Product("tencent", "CVM", "Compute", "subscription", "month", 180_000, 650_000, "ins-")),
    ("cvm-od", Product("tencent", "CVM", "Compute", "on_demand", "day", 8_000, 40_000, "ins-")),
    ("cbs", Product("tencent", "CBS", "Storage", "subscription", "month", 20_000, 90_000, "disk-")),
    ("cos", Product("tencent", "COS", "Storage", "on_demand", "day", 1_500, 12_000, "bucket-")),
    ("cdn", Product("tencent", "CDN", "Networking", "on_demand", "day", 3_000, 30_000, "cdn-")),
    ("mysql", Product("tencent", "TencentDB for MySQL", "Databases", "subscription", "month",
                      150_000, 480_000, "cdb-")),
    ("clb", Product("tencent", "CLB", "Networking", "on_demand", "day", 800, 3_000, "lb-")),
    ("tke", Product("tencent", "TKE", "Compute", "on_demand", "hour", 300, 1_500, "cls-")),
    ("sms", Product("tencent", "SMS", "Other", "on_demand", "day", 200, 3_000, "sms-")),
    ("ecs-sub", Product("huawei", "ECS", "Compute", "subscription", "month", 170_000, 600_000, "")),
    ("ecs-od", Product("huawei", "ECS", "Compute", "on_demand", "day", 7_000, 38_000, "")),
    ("evs", Product("huawei", "EVS", "Storage", "subscription", "month", 18_000, 85_000, "")),
    ("obs", Product("huawei", "OBS", "Storage", "on_demand", "day", 1_200, 11_000, "")),
    ("rds", Product("huawei", "RDS", "Databases", "subscription", "month", 140_000, 460_000, "")),
    ("elb", Product("huawei", "ELB", "Networking", "on_demand", "day", 700, 2_800, "")),
    ("cce", Product("huawei", "CCE", "Compute", "on_demand", "hour", 280, 1_400, "")),
    ("hcdn", Product("huawei", "CDN", "Networking", "on_demand", "day", 2_500, 26_000, "")),
)}


@dataclass(frozen=True)
class DemoPartner:
    """A demo partner, its agreement and what it shows (printed by the demo)."""

    id: str
    name: str
    agreement: str
    currency: str
    story: str


PARTNERS: tuple[DemoPartner, ...] = (
    DemoPartner("P-YUNFAN", "Yunfan Cloud Solutions", "yunfan-resale-2026", "CNY",
                "sub-reseller: marginal tiers, 1.5% platform fee, clawbacks, a late September line "
                "(prior-period adjustment), a goodwill credit, gains a customer on 2026-10-16"),
    DemoPartner("P-QIHANG", "Qihang Referral Network", "qihang-referral-2026", "CNY",
                "referral partner: cash base (vouchers and credits count), retroactive tiers, a cap, "
                "30-day clawback window (one refund is outside it), loses a customer on 2026-10-16"),
    DemoPartner("P-LINWEI", "Lin Wei (sales agent)", "linwei-agent-2026", "CNY",
                "sales agent: a guaranteed floor of 3,000.00 and a fixed 200.00 admin fee"),
    DemoPartner("P-HARBOR", "Harbor Bridge Pte. Ltd.", "harbor-intl-2026", "USD",
                "international reseller paid in USD: CNY lines converted at the day's CNY->USD rate"),
    DemoPartner("P-XINGHE", "Xinghe Digital", "xinghe-referral-2026", "CNY",
                "verification pending: settled and approved, but payout held (payee_not_verified)"),
    DemoPartner("P-MICRO", "Micro Studio Consulting", "micro-referral-2026", "CNY",
                "small partner with a 400.00 minimum payout: September carries forward into October"),
)


@dataclass(frozen=True)
class CustomerPlan:
    """A demo customer: who it is, whose deal it is under, and what it runs."""

    key: str
    provider: str
    name: str
    segment: str
    partner: str | None
    scale: int
    discount_pct: int
    project: str
    products: tuple[tuple[str, int], ...]
    credits: bool = False
    tax_line: bool = False


def _c(key: str, provider: str, name: str, segment: str, partner: str | None, scale: int, discount: int,
       project: str, products: str, *, credits: bool = False, tax_line: bool = False) -> CustomerPlan:
    """``products`` is ``"cvm-sub:3 cos:1"``: product key and number of resources."""
    items = tuple((f"{provider[0]}:{k}", int(n)) for k, n in (p.split(":") for p in products.split()))
    return CustomerPlan(key, provider, name, segment, partner, scale, discount, project, items, credits,
                        tax_line)


CUSTOMERS: tuple[CustomerPlan, ...] = (
    # Tencent Cloud
    _c("T01", "tencent", "Blue River Games", "gaming", "P-YUNFAN", 3, 10, "prod",
       "cvm-sub:4 cvm-od:2 cbs:3 cos:2 cdn:2 mysql:2 clb:1 tke:1", credits=True),
    _c("T02", "tencent", "Jade Mountain Logistics", "enterprise", "P-YUNFAN", 2, 12, "erp",
       "cvm-sub:3 cbs:2 cos:1 mysql:1 clb:1"),
    _c("T03", "tencent", "Pearl Delta Retail", "retail", "P-YUNFAN", 2, 8, "shop",
       "cvm-sub:2 cvm-od:1 cos:1 cdn:1 mysql:1 sms:1"),
    _c("T04", "tencent", "Golden Lotus Media", "media", "P-YUNFAN", 2, 5, "video", "cdn:2 cos:2 cvm-sub:2"),
    _c("T05", "tencent", "Eastwind EdTech", "education", "P-YUNFAN", 1, 10, "classroom",
       "cvm-sub:2 cbs:1 cos:1 sms:1"),
    _c("T06", "tencent", "Silver Crane Fintech", "finance", "P-QIHANG", 2, 5, "core",
       "cvm-sub:3 cbs:2 mysql:1 clb:1", credits=True),
    _c("T07", "tencent", "Red Lantern Foods", "smb", "P-QIHANG", 1, 0, "default", "cvm-sub:2 cos:1 sms:1",
       credits=True),
    _c("T08", "tencent", "Northstar Travel", "smb", "P-QIHANG", 1, 5, "booking",
       "cvm-sub:2 cdn:1 cos:1 mysql:1"),  # moves to P-YUNFAN on 2026-10-16
    _c("T09", "tencent", "Bamboo Grove Studio", "smb", "P-LINWEI", 1, 0, "default", "cvm-sub:1 cos:1"),
    _c("T10", "tencent", "Little Harbor Clinic", "healthcare", "P-LINWEI", 1, 0, "default",
       "cvm-sub:1 sms:1"),
    _c("T11", "tencent", "Sunrise Mobility SG", "enterprise", "P-HARBOR", 2, 10, "sg-apps",
       "cvm-sub:3 cbs:2 cdn:1 mysql:1 tke:1"),
    _c("T12", "tencent", "Orchid Payments", "finance", "P-HARBOR", 1, 8, "payments",
       "cvm-sub:2 mysql:1 clb:1"),
    _c("T13", "tencent", "Cloud Nine Hotels", "hospitality", "P-XINGHE", 1, 5, "pms",
       "cvm-sub:2 cos:1 mysql:1"),
    _c("T14", "tencent", "Tiny Kite Apps", "smb", "P-MICRO", 1, 0, "default", "sms:1 cos:1"),
    # Huawei Cloud
    _c("H01", "huawei", "Great Wall Manufacturing", "enterprise", "P-YUNFAN", 3, 12, "mes",
       "ecs-sub:4 evs:3 obs:1 rds:2 elb:1 cce:1"),
    _c("H02", "huawei", "Yellow Sea Shipping", "logistics", "P-YUNFAN", 2, 10, "fleet",
       "ecs-sub:2 ecs-od:1 evs:2 rds:1 hcdn:1"),
    _c("H03", "huawei", "Plum Blossom Health", "healthcare", "P-YUNFAN", 1, 6, "his",
       "ecs-sub:2 evs:1 rds:1"),
    _c("H04", "huawei", "Dragon Gate Securities", "finance", "P-QIHANG", 2, 8, "trading",
       "ecs-sub:2 evs:1 obs:1 rds:1", credits=True),
    _c("H05", "huawei", "Spring Field Agritech", "smb", "P-QIHANG", 1, 0, "default", "ecs-sub:1 obs:1 elb:1"),
    _c("H06", "huawei", "Maple Leaf Print", "smb", "P-LINWEI", 1, 0, "default", "ecs-sub:1 evs:1"),
    _c("H07", "huawei", "Lion City Analytics", "enterprise", "P-HARBOR", 2, 10, "analytics",
       "ecs-sub:3 evs:2 obs:2 cce:1", tax_line=True),
    _c("H08", "huawei", "Merlion Media", "media", "P-HARBOR", 1, 5, "streaming", "hcdn:2 obs:1 ecs-sub:1",
       tax_line=True),
    _c("H09", "huawei", "Straits Robotics", "manufacturing", "P-HARBOR", 1, 5, "plant",
       "ecs-sub:2 rds:1", tax_line=True),
    _c("H10", "huawei", "Hidden Valley Winery", "smb", "P-XINGHE", 1, 0, "default", "ecs-sub:1 obs:1 evs:1"),
    _c("H11", "huawei", "Northwind Trial Account", "trial", None, 1, 0, "default", "ecs-sub:1 evs:1"),
)


@dataclass
class Resource:
    """One cloud resource of a customer: it bills every period."""

    customer: CustomerPlan
    product_key: str
    resource_id: str
    region: str
    burst_day: int = 0


@dataclass
class Line:
    """A bill line being built; ``cents`` fields are integers, signed."""

    line_id: str
    customer: CustomerPlan
    service: str
    category: str
    region: str
    resource_id: str
    mode: str
    charge_category: str
    start: str
    end: str
    month: date
    list_cents: int
    billed_cents: int
    voucher_cents: int = 0
    tax_cents: int = 0
    original: str = ""
    product_key: str = ""
    day: int = 0
    customer_account: str = ""

    def row(self) -> list[str]:
        """The CSV cells in :data:`HEADER` order."""
        p = self.customer.provider
        month_end = _next_month(self.month)
        return [
            self.line_id, PROVIDER_NAMES[p], self.customer_account, PAYER[p],
            f"INV-{'TC' if p == 'tencent' else 'HW'}-{self.month:%Y%m}", self.service, self.category,
            self.region, self.customer.project, self.resource_id, self.mode, self.charge_category, "",
            self.start, self.end, _stamp(self.month), _stamp(month_end), "", cents(self.list_cents),
            cents(self.billed_cents), cents(self.voucher_cents), cents(self.tax_cents), "CNY", self.original,
        ]


def cents(value: int) -> str:
    """Integer cents as a two-decimal amount: ``-12345`` -> ``-123.45`` (exact, via Decimal)."""
    return format(Decimal(value).scaleb(-2), "f")


def _stamp(day: date, hour: int = 0, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00+08:00"


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _days(month: date) -> Iterator[date]:
    day = month
    end = _next_month(month)
    while day < end:
        yield day
        day += timedelta(days=1)


@dataclass
class DemoData:
    """The generated world: customer accounts, resources, FX rates and bill lines."""

    accounts: dict[str, str] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    fx_rates: list[tuple[date, str]] = field(default_factory=list)
    files: dict[str, list[Line]] = field(default_factory=dict)


class _Builder:
    """Consumes the seeded generator in a fixed order; one instance per generation."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.data = DemoData()
        self.seq: dict[str, int] = {}

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def alnum(self, n: int) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def build(self) -> DemoData:
        for c in CUSTOMERS:
            if c.provider == "tencent":
                self.data.accounts[c.key] = f"1000{self.rng.randint(10_000_000, 99_999_999)}"
            else:
                self.data.accounts[c.key] = self.hex(32)
        for c in CUSTOMERS:
            for key, count in c.products:
                for _ in range(count):
                    self.data.resources.append(self._resource(c, key))
        rate = 14_050  # CNY->USD in units of 0.00001
        for day in _days(SEPTEMBER):
            self.data.fx_rates.append((day, format(Decimal(rate).scaleb(-5), "f")))
            rate += self.rng.randint(-12, 12)
        for day in _days(OCTOBER):
            self.data.fx_rates.append((day, format(Decimal(rate).scaleb(-5), "f")))
            rate += self.rng.randint(-12, 12)
        for month, suffix in ((SEPTEMBER, "2026-09"), (OCTOBER, "2026-10")):
            for provider in ("tencent", "huawei"):
                self.data.files[f"{provider}-{suffix}.csv"] = self._month(provider, month)
        self._refunds()
        self.data.files[RESTATED_FILE] = self._restated()
        return self.data

    def _resource(self, c: CustomerPlan, key: str) -> Resource:
        product = PRODUCTS[key]
        region = self.rng.choice(REGIONS[c.provider])
        if c.provider == "huawei":
            h = self.hex(32)
            rid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        elif product.service == "COS":
            rid = f"{c.name.split()[0].lower()}-assets-125{self.rng.randint(1_000_000, 9_999_999)}"
        elif product.service == "CDN":
            rid = f"cdn-{self.alnum(6)}.{c.name.split()[0].lower()}.example.cn"
        elif product.service == "SMS":
            rid = f"sms-app-1400{self.rng.randint(100_000, 999_999)}"
        else:
            rid = product.prefix + self.alnum(8)
        return Resource(c, key, rid, region, burst_day=self.rng.randint(3, 24))

    def _id(self, provider: str, month: date) -> str:
        prefix = f"{'tc' if provider == 'tencent' else 'hw'}-{month:%y%m}"
        self.seq[prefix] = self.seq.get(prefix, 0) + 1
        return f"{prefix}-{self.seq[prefix]:06d}"

    def _line(self, r: Resource, month: date, list_cents: int, start: str, end: str, day: int,
              discount_pct: int, charge_category: str) -> Line:
        product = PRODUCTS[r.product_key]
        c = r.customer
        billed = list_cents - list_cents * discount_pct // 100
        voucher = self.rng.randint(100, max(101, billed // 5)) if self.rng.randint(1, 12) == 1 else 0
        return Line(self._id(c.provider, month), c, product.service, product.category, r.region,
                    r.resource_id, product.mode, charge_category, start, end, month, list_cents, billed,
                    voucher, billed * VAT_PERCENT // 100, product_key=r.product_key, day=day,
                    customer_account=self.data.accounts[c.key])

    def _month(self, provider: str, month: date) -> list[Line]:
        lines: list[Line] = []
        end_of_month = _next_month(month)
        for r in self.data.resources:
            c = r.customer
            if c.provider != provider:
                continue
            p = PRODUCTS[r.product_key]
            if p.grain == "month":
                amount = self.rng.randint(p.low, p.high) * c.scale
                lines.append(self._line(r, month, amount, _stamp(month), _stamp(end_of_month), 1,
                                        c.discount_pct, "Purchase"))
            elif p.grain == "day":
                for day in _days(month):
                    amount = self.rng.randint(p.low, p.high) * c.scale
                    lines.append(self._line(r, month, amount, _stamp(day), _stamp(day + timedelta(days=1)),
                                            day.day, c.discount_pct // 2, "Usage"))
            else:  # hourly burst: 36 hours from 09:00 of the burst day
                first = month.replace(day=r.burst_day)
                for h in range(36):
                    day = first + timedelta(days=(9 + h) // 24)
                    hour = (9 + h) % 24
                    nxt_day = first + timedelta(days=(10 + h) // 24)
                    amount = self.rng.randint(p.low, p.high) * c.scale
                    lines.append(self._line(r, month, amount, _stamp(day, hour),
                                            _stamp(nxt_day, (10 + h) % 24), day.day, 0, "Usage"))
        for c in CUSTOMERS:
            if c.provider != provider:
                continue
            if c.credits:
                amount = -self.rng.randint(20_000, 60_000) * c.scale
                lines.append(Line(self._id(provider, month), c, "Promotional credit", "Other",
                                  REGIONS[provider][0], f"voucher-{self.alnum(10)}", "other", "Credit",
                                  _stamp(month.replace(day=15)), _stamp(month.replace(day=15)), month,
                                  amount, amount, customer_account=self.data.accounts[c.key]))
            if c.tax_line:
                amount = self.rng.randint(5_000, 30_000)
                last = _stamp(_next_month(month) - timedelta(days=1), 23, 59)
                lines.append(Line(self._id(provider, month), c, "VAT", "Other", REGIONS[provider][0], "",
                                  "other", "Tax", last, last, month, amount, amount,
                                  customer_account=self.data.accounts[c.key]))
        return lines

    def _find(self, file: str, customer: str, product: str, day: int) -> Line:
        for line in self.data.files[file]:
            if line.customer.key == customer and line.product_key == product and line.day == day:
                return line
        raise LookupError(f"no {product} line of {customer} on day {day} in {file}")  # pragma: no cover

    def _refund(self, original: Line, percent: int, when: date, hour: int) -> Line:
        """A refund in October of part of a September line, linked by x_OriginalLineId."""
        c = original.customer
        stamp = _stamp(when, hour, self.rng.randint(0, 59))
        return Line(self._id(c.provider, OCTOBER), c, original.service, original.category, original.region,
                    original.resource_id, original.mode, original.charge_category, stamp, stamp, OCTOBER,
                    -(original.list_cents * percent // 100), -(original.billed_cents * percent // 100),
                    -(original.voucher_cents * percent // 100), -(original.tax_cents * percent // 100),
                    original=original.line_id, customer_account=original.customer_account)

    def _refunds(self) -> None:
        tc, hw = "tencent-2026-09.csv", "huawei-2026-09.csv"
        refunds = {
            "tencent-2026-10.csv": [
                # Yunfan: a CVM downgrade, half of September's subscription back (37 days: clawback).
                self._refund(self._find(tc, "T01", "t:cvm-sub", 1), 50, date(2026, 10, 8), 11),
                # Qihang: 49 days after the original, outside its 30-day window: nothing clawed back.
                self._refund(self._find(tc, "T06", "t:cvm-sub", 1), 40, date(2026, 10, 20), 15),
                # Northstar moved to Yunfan on 10-16; the refund of Qihang's September line is
                # clawed back from Qihang (23 days), and listed as clawback_elsewhere on Yunfan.
                self._refund(self._find(tc, "T08", "t:cdn", 28), 100, date(2026, 10, 21), 10),
            ],
            "huawei-2026-10.csv": [
                self._refund(self._find(hw, "H01", "h:rds", 1), 30, date(2026, 10, 12), 14),
                self._refund(self._find(hw, "H04", "h:obs", 26), 100, date(2026, 10, 9), 9),
                # Harbor: a CNY refund clawed back in USD at the refund day's rate.
                self._refund(self._find(hw, "H07", "h:ecs-sub", 1), 25, date(2026, 10, 5), 16),
            ],
        }
        for name, lines in refunds.items():
            self.data.files[name].extend(lines)

    def _restated(self) -> list[Line]:
        """Tencent's restatement: the CDN line of the 2026-10-12 incident re-rated 30% down,
        and a CDN line of 2026-09-30 that missed September's bill (a late line)."""
        cdn = self._find("tencent-2026-10.csv", "T01", "t:cdn", 12)
        billed = cdn.billed_cents * 70 // 100
        revised = Line(cdn.line_id, cdn.customer, cdn.service, cdn.category, cdn.region, cdn.resource_id,
                       cdn.mode, cdn.charge_category, cdn.start, cdn.end, cdn.month,
                       cdn.list_cents * 70 // 100, billed, 0, billed * VAT_PERCENT // 100,
                       customer_account=cdn.customer_account)
        sept = self._find("tencent-2026-09.csv", "T01", "t:cdn", 30)
        late_list = self.rng.randint(400_000, 600_000)
        late_billed = late_list - late_list * (sept.customer.discount_pct // 2) // 100
        late = Line(self._id("tencent", SEPTEMBER), sept.customer, sept.service, sept.category, sept.region,
                    sept.resource_id, sept.mode, "Usage", _stamp(date(2026, 9, 30), 18),
                    _stamp(date(2026, 10, 1)), SEPTEMBER, late_list, late_billed, 0,
                    late_billed * VAT_PERCENT // 100, customer_account=sept.customer_account)
        return [revised, late]


def build(seed: int = SEED) -> DemoData:
    """Generate the demo world (deterministic for a given seed)."""
    return _Builder(seed).build()


def csv_text(lines: list[Line]) -> str:
    """The lines as a FOCUS CSV with x_ columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for line in lines:
        writer.writerow(line.row())
    return buffer.getvalue()


def _version(currency: str, rules: str, *, base: str = "net", tiers: str = "", cap: str = "null",
             floor: str = "null", fees: str = "[]", window: int = 90) -> str:
    return (
        "    versions:\n"
        "      - version: 1\n"
        "        effective_from: 2026-01-01\n"
        f"        currency: {currency}\n"
        "        timezone: Asia/Shanghai\n"
        "        cycle: monthly\n"
        "        basis: billing_period\n"
        f"        base: {base}\n"
        "        include_tax: false\n"
        "        prorate: false\n"
        "        fx_date: charge\n"
        "        require_rule: false\n"
        "        exclude_services: []\n"
        "        rules:\n" + rules + tiers +
        f"        cap: {cap}\n"
        f"        floor: {floor}\n"
        f"        fees: {fees}\n"
        f"        clawback: {{share: \"1\", window_days: {window}}}\n"
        "        rounding: {mode: half_up, level: statement}\n"
    )


def _rule(rule_id: str, rate: str, categories: str = "") -> str:
    match = f"\n            match: {{service_category: [{categories}]}}" if categories else ""
    return f"          - id: {rule_id}{match}\n            rate: \"{rate}\"\n"


AGREEMENTS: dict[str, tuple[str, str]] = {
    "P-YUNFAN": ("Sub-reseller: 10% compute, 9% databases, 6% the rest; marginal tiers; 1.5% platform fee",
                 _version("CNY", _rule("compute", "0.10", "Compute") + _rule("databases", "0.09", "Databases")
                          + _rule("default", "0.06"),
                          tiers="        tiers:\n          method: marginal\n          bands:\n"
                                "            - {from: \"0\", uplift: \"0\"}\n"
                                "            - {from: \"200000\", uplift: \"0.01\"}\n"
                                "            - {from: \"500000\", uplift: \"0.02\"}\n",
                          fees="[{id: platform, percent: \"0.015\"}]")),
    "P-QIHANG": ("Referral: 4% of cash (after vouchers and credits); retroactive tiers; capped at 3,000.00; "
                 "30-day clawback window",
                 _version("CNY", _rule("referral", "0.04"), base="cash",
                          tiers="        tiers:\n          method: retroactive\n          bands:\n"
                                "            - {from: \"0\", uplift: \"0\"}\n"
                                "            - {from: \"50000\", uplift: \"0.005\"}\n"
                                "            - {from: \"150000\", uplift: \"0.01\"}\n",
                          cap="\"3000.00\"", window=30)),
    "P-LINWEI": ("Sales agent: 5% compute, 3% the rest; floor 3,000.00 a month; 200.00 admin fee",
                 _version("CNY", _rule("compute", "0.05", "Compute") + _rule("default", "0.03"),
                          floor="\"3000.00\"", fees="[{id: agent-admin, fixed: \"200.00\"}]")),
    "P-HARBOR": ("International reseller in USD: 8% compute, 6% storage, 5% the rest",
                 _version("USD", _rule("compute", "0.08", "Compute") + _rule("storage", "0.06", "Storage")
                          + _rule("default", "0.05"), window=60)),
    "P-XINGHE": ("Referral: 6% of net", _version("CNY", _rule("referral", "0.06"))),
    "P-MICRO": ("Referral: 10% of net, paid once the balance reaches 400.00",
                _version("CNY", _rule("referral", "0.10"))),
}


def config_text(data: DemoData) -> str:
    """The demo's configuration file (spec/config.md format), with comments for the reader."""
    out = ["# cloudsettle demo configuration (generated; spec/config.md format).\n",
           "partners:\n"]
    for p in PARTNERS:
        verification = "pending" if p.id == "P-XINGHE" else "verified"
        out.append(f"  # {p.story}\n  - id: {p.id}\n    name: {p.name}\n    currency: {p.currency}\n"
                   f"    verification: {verification}\n")
        if p.id == "P-MICRO":
            out.append("    minimum_payout: \"400.00\"\n")
    out.append("\ncustomers:\n")
    for c in CUSTOMERS:
        out.append(f"  - {{provider: {c.provider}, account_id: \"{data.accounts[c.key]}\", name: {c.name}, "
                   f"segment: {c.segment}}}\n")
    out.append("\ndeals:\n")
    agreement_of = {p.id: p.agreement for p in PARTNERS}
    for c in CUSTOMERS:
        if c.partner is None:
            out.append(f"  # {c.name} ({c.provider}) has no deal yet: its lines raise missing_deal.\n")
            continue
        valid_to = "null"
        if c.key == "T08":
            valid_to = MOVE_DAY.isoformat()
        out.append(f"  - {{id: D-{c.key}, partner: {c.partner}, provider: {c.provider}, "
                   f"account_id: \"{data.accounts[c.key]}\", agreement: {agreement_of[c.partner]}, "
                   f"valid_from: 2026-01-01, valid_to: {valid_to}}}\n")
        if c.key == "T08":
            out.append(f"  # {c.name} moves from Qihang to Yunfan on {MOVE_DAY.isoformat()}.\n"
                       f"  - {{id: D-{c.key}-B, partner: P-YUNFAN, provider: {c.provider}, "
                       f"account_id: \"{data.accounts[c.key]}\", agreement: yunfan-resale-2026, "
                       f"valid_from: {MOVE_DAY.isoformat()}, valid_to: null}}\n")
    out.append("\nagreements:\n")
    for p in PARTNERS:
        title, version = AGREEMENTS[p.id]
        out.append(f"  # {title}\n  - id: {p.agreement}\n    partner: {p.id}\n    mode: live\n{version}")
    out.append("\nfx_rates:  # units of USD for one CNY, every day of September and October\n")
    for day, rate in data.fx_rates:
        out.append(f"  - {{date: {day.isoformat()}, from: CNY, to: USD, rate: \"{rate}\"}}\n")
    return "".join(out)


def generate(seed: int = SEED) -> dict[str, str]:
    """Every demo input file: name -> text, the config first, then bills in ingest order."""
    data = build(seed)
    files = {CONFIG_FILE: config_text(data)}
    for name in (*SEPTEMBER_FILES, *OCTOBER_FILES, RESTATED_FILE):
        files[name] = csv_text(data.files[name])
    return files


@dataclass(frozen=True)
class WrittenInput:
    """Where the demo input is, and which files were (re)written rather than re-used."""

    directory: Path
    written: tuple[str, ...]
    reused: tuple[str, ...]

    def path(self, name: str) -> Path:
        """The path of one input file."""
        return self.directory / name


def write_demo_input(directory: Path, seed: int = SEED) -> WrittenInput:
    """Write the demo input into ``directory``; a file that already holds exactly the
    generated text is re-used untouched (so a second demo run reads the same bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    reused: list[str] = []
    for name, text in generate(seed).items():
        path = directory / name
        data = text.encode("utf-8")
        if path.is_file() and path.read_bytes() == data:
            reused.append(name)
            continue
        path.write_bytes(data)
        written.append(name)
    return WrittenInput(directory, tuple(written), tuple(reused))
