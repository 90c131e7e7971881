"""The demo's input: a config file and two months of native Tencent Cloud and Huawei Cloud bills.

The bills are the files a reseller actually downloads, in the layouts of
``reference/provider-formats.md`` (the readers' fixtures show the same headers):

- Tencent Cloud console bill detail, Chinese headers, UTF-8 with BOM as the
  console exports it (September as ``.csv``, October as the console's ``.zip``),
  for the domestic customers, in CNY;
- Tencent Cloud reseller customer bill, English headers, in USD, for the
  international partner's customers (October as ``.csv.gz``, as the
  export-to-bucket job delivers it);
- Huawei Cloud consumption detail, Chinese headers, GB18030 (as a Chinese
  Windows Excel saves it) for September; the English Cost Center export for
  October, amounts in CNY;
- a restated Tencent console file: one October line re-rated, one late
  September line.

Everything comes from one seeded ``random.Random(2026)`` consumed in a fixed
order, and compressed files use fixed timestamps, so two generations give
byte-identical files. Amounts are integer cents (never floats), written as
exact decimals.

The data exercises the settlement rules a finance team meets in a normal month
(spec: settlement-rules.md): six partners with different agreements, a Huawei
customer that moves between partners mid-October, Huawei refunds of September
orders linked by 原订单号 / ``Original Order No.`` plus resource id (inside and
outside a clawback window), a restatement that revises an October line and
adds a late September line (a prior-period adjustment), and one customer
without a deal (a deliberate ``missing_deal`` finding). Tencent's CSV files
carry no link from a refund to its order, so the one Tencent refund (a CVM
downgrade) nets at its own rate; the demo prints that.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

SEED = 2026

CONFIG_FILE = "demo-config.yaml"
TENCENT_CN_SEP = "tencent-bill-detail-2026-09.csv"
TENCENT_CN_OCT = "tencent-bill-detail-2026-10.zip"
TENCENT_EN_SEP = "tencent-reseller-bill-2026-09.csv"
TENCENT_EN_OCT = "tencent-reseller-bill-2026-10.csv.gz"
HUAWEI_CN_SEP = "huawei-consumption-detail-2026-09.csv"
HUAWEI_EN_OCT = "huawei-costcenter-2026-10.csv"
SEPTEMBER_FILES: tuple[str, ...] = (TENCENT_CN_SEP, TENCENT_EN_SEP, HUAWEI_CN_SEP)
OCTOBER_FILES: tuple[str, ...] = (TENCENT_CN_OCT, TENCENT_EN_OCT, HUAWEI_EN_OCT)
RESTATED_FILE = "tencent-bill-detail-2026-10-restated.csv"

#: The format each bill file is in (as :func:`cloudsettle.ingest.readers.detect_format` names it).
FILE_FORMATS: dict[str, str] = {
    TENCENT_CN_SEP: "tencent-console-cn", TENCENT_EN_SEP: "tencent-reseller-en",
    HUAWEI_CN_SEP: "huawei-detail-cn", TENCENT_CN_OCT: "tencent-console-cn",
    TENCENT_EN_OCT: "tencent-reseller-en", HUAWEI_EN_OCT: "huawei-costcenter-en",
    RESTATED_FILE: "tencent-console-cn",
}
#: How each bill file is wrapped and encoded (for the printed summary and the docs).
FILE_NOTES: dict[str, str] = {
    TENCENT_CN_SEP: "UTF-8 with BOM", TENCENT_EN_SEP: "UTF-8, USD",
    HUAWEI_CN_SEP: "GB18030", TENCENT_CN_OCT: "zip, UTF-8 with BOM",
    TENCENT_EN_OCT: "gzip, UTF-8, USD", HUAWEI_EN_OCT: "UTF-8, CNY",
    RESTATED_FILE: "restatement: 1 October line re-rated, 1 late September line",
}

#: Tencent console bill detail (Chinese headers), reference §1.4.
TENCENT_CN_HEADER: tuple[str, ...] = (
    "支付者UIN", "使用者UIN", "操作者UIN", "产品名称", "计费模式", "项目名称", "地域", "可用区", "国内国际",
    "资源ID", "实例名称", "子产品名称", "交易类型", "订单ID", "交易ID", "扣费时间", "开始使用时间",
    "结束使用时间", "组件类型", "组件名称", "组件刊例价", "组件单价", "组件价格单位", "组件用量",
    "组件用量单位", "使用时长", "时长单位", "组件原价", "折扣率", "优惠后总价", "代金券支出(元)",
    "赠送账户支出(元)", "现金账户支出(元)",
)
#: Tencent international reseller customer bill (English headers), reference §1.4.
TENCENT_EN_HEADER: tuple[str, ...] = (
    "Payer Account ID", "Owner Account ID", "Operator Account ID", "Product Name", "Subproduct Name",
    "Billing Mode", "Transaction Type", "Transaction ID", "Transaction Time", "Usage Start Time",
    "Usage End Time", "Instance ID", "Instance Name", "Instance Type", "Project Name", "Region",
    "Availability Zone", "Component Type", "Component Name", "Component List Price",
    "Component Contracted Price", "Component Price Measurement Unit", "Component Usage",
    "Component Usage Unit", "Usage Duration", "Duration Unit", "Original Cost", "RI Deduction (Duration)",
    "RI Deduction (Cost)", "Savings Plan Deduction", "Savings Plan Deduction Rate", "SP Deduction (Cost)",
    "Discount Multiplier", "Blended Discount Multiplier", "Currency",
    "Total Amount After Discount (Excluding Tax)", "Voucher Deduction", "Amount Before Tax", "Tax Rate",
    "Tax Amount", "Total Cost (Including Tax)", "Additional Attributes", "Configuration Description",
    "Extended Field 1", "Extended Field 2", "Extended Field 3", "Extended Field 4", "Extended Field 5",
    "Customer Name", "OriginalCost (After Coupon)", "DiscountRate", "Billable Month", "Reseller Account ID",
)
#: Huawei consumption detail (Chinese headers), reference §2.5.
HUAWEI_CN_HEADER: tuple[str, ...] = (
    "账期", "企业项目ID", "企业项目", "账号", "产品类型编码", "产品类型", "产品编码", "产品", "产品ID",
    "计费模式", "消费时间", "使用开始时间", "使用结束时间", "订单号/交易号", "交易时间", "账单类型", "资源ID",
    "资源名称",
    "资源标签", "SKU编码", "规格", "区域编码", "区域", "可用区", "使用量类型编码", "单价(¥)", "单价单位",
    "使用量", "使用量单位", "套餐内使用量", "预留实例内使用量", "官网价(¥)", "优惠金额(¥)", "应付金额(¥)",
    "现金支付(¥)", "信用额度支付(¥)", "代金券抵扣(¥)", "现金券抵扣(¥)", "储值卡抵扣(¥)", "欠费金额(¥)",
    "已核销金额(¥)", "优惠类型", "优惠信息", "订单类型", "订单数量", "订单周期数", "订单周期单位",
    "RI购买小时数", "退订原因", "退订手续费(¥)", "原订单号", "是否竞价实例",
)
#: Huawei Cost Center export (English headers), amounts in CNY.
HUAWEI_EN_HEADER: tuple[str, ...] = (
    "Billing Cycle", "Enterprise Project", "Enterprise Project ID", "Linked Account", "PayerAccount Name",
    "Business Entity", "Service Type Code", "Service Type", "Resource Type Code", "Resource Type",
    "Product ID", "Billing Mode", "Bill Type", "Order No.", "Start Time", "End Time", "Resource ID",
    "Resource Name", "Region", "Original Order No.", "List Price (CNY)", "Discount Amount (CNY)",
    "Amount Due (CNY)", "Coupon (CNY)", "Cash Coupon (CNY)", "Flexi-Purchase Coupon (CNY)",
    "Stored-Value Card (CNY)",
)

#: The reseller's own payer accounts at each provider.
PAYER = {"tencent": "100000880001", "huawei": "cloudsettle-demo-reseller"}
TENCENT_REGIONS = (("广州", "广州三区"), ("上海", "上海五区"), ("北京", "北京六区"))
TENCENT_INTL_REGIONS = (("Singapore", "Singapore Zone 2"), ("Jakarta", "Jakarta Zone 1"))
HUAWEI_REGIONS = (("cn-north-4", "华北-北京四"), ("cn-east-3", "华东-上海一"), ("cn-south-1", "华南-广州"))
SEPTEMBER = date(2026, 9, 1)
OCTOBER = date(2026, 10, 1)
MOVE_DAY = date(2026, 10, 16)
#: The customer that moves from Qihang to Yunfan on MOVE_DAY.
MOVER = "H12"
SG_GST_PERCENT = 9
CNY_TO_USD_PER_MILLE = 140  # list prices of the USD customers: CNY cents x 0.140


@dataclass(frozen=True)
class Product:
    """A billable product: its console names and codes, and what one unit (month, day, hour)
    costs, in cents."""

    provider: str
    grain: str  # month | day | hour
    low: int
    high: int
    prefix: str
    cn: str  # console name (Tencent) or 产品类型 (Huawei)
    en: str  # English console name
    sub: str  # Tencent 子产品名称 / Huawei 产品 (spec)
    component: str  # Tencent 组件名称 / Huawei SKU
    code: str = ""  # Huawei service type code
    resource_type: str = ""  # Huawei resource type code

    @property
    def subscription(self) -> bool:
        """Monthly products are subscriptions (包年包月); the rest are pay-as-you-go."""
        return self.grain == "month"


def _t(grain: str, low: int, high: int, prefix: str, cn: str, en: str, sub: str, comp: str) -> Product:
    return Product("tencent", grain, low, high, prefix, cn, en, sub, comp)


def _h(grain: str, low: int, high: int, cn: str, en: str, sub: str, sku: str, code: str) -> Product:
    resource_type = {"ec2": "vm", "ebs": "volume"}.get(code, code)
    return Product("huawei", grain, low, high, "", cn, en, sub, sku, f"hws.service.type.{code}",
                   f"hws.resource.type.{resource_type}")


PRODUCTS: dict[str, Product] = {
    "t:cvm-sub": _t("month", 180_000, 650_000, "ins-", "云服务器", "Cloud Virtual Machine", "标准型S5",
                    "CPU"),
    "t:cvm-od": _t("day", 8_000, 40_000, "ins-", "云服务器", "Cloud Virtual Machine", "标准型SA2", "CPU"),
    "t:cbs": _t("month", 20_000, 90_000, "disk-", "云硬盘", "Cloud Block Storage", "高性能云硬盘",
                "存储空间"),
    "t:cos": _t("day", 1_500, 12_000, "", "对象存储", "Cloud Object Storage", "标准存储", "标准存储容量"),
    "t:cdn": _t("day", 3_000, 30_000, "", "内容分发网络 CDN", "Content Delivery Network", "CDN", "境内流量"),
    "t:mysql": _t("month", 150_000, 480_000, "cdb-", "云数据库 MySQL", "TencentDB for MySQL", "高可用版",
                  "实例规格"),
    "t:clb": _t("day", 800, 3_000, "lb-", "负载均衡", "Cloud Load Balancer", "标准型", "实例费"),
    "t:tke": _t("hour", 300, 1_500, "cls-", "容器服务", "Tencent Kubernetes Engine", "集群管理", "托管集群"),
    "t:sms": _t("day", 200, 3_000, "", "短信", "Short Message Service", "国内短信", "短信条数"),
    "h:ecs-sub": _h("month", 170_000, 600_000, "弹性云服务器", "Elastic Cloud Server", "通用计算增强型",
                    "c7.xlarge.2.linux", "ec2"),
    "h:ecs-od": _h("day", 7_000, 38_000, "弹性云服务器", "Elastic Cloud Server", "通用计算型",
                   "s6.large.2.linux", "ec2"),
    "h:evs": _h("month", 18_000, 85_000, "云硬盘", "Elastic Volume Service", "通用型SSD", "GPSSD", "ebs"),
    "h:obs": _h("day", 1_200, 11_000, "对象存储服务", "Object Storage Service", "标准存储", "obs.standard",
                "obs"),
    "h:rds": _h("month", 140_000, 460_000, "云数据库 RDS", "Relational Database Service", "MySQL主备",
                "rds.mysql.x1.large.2.ha", "rds"),
    "h:elb": _h("day", 700, 2_800, "弹性负载均衡", "Elastic Load Balance", "独享型", "elbv3.basic.1az",
                "elb"),
    "h:cce": _h("hour", 280, 1_400, "云容器引擎", "Cloud Container Engine", "CCE Turbo集群",
                "cce.s2.small", "cce"),
    "h:hcdn": _h("day", 2_500, 26_000, "内容分发网络", "Content Delivery Network", "流量",
                 "cdn.flow.mainland", "cdn"),
}


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
                "sub-reseller: marginal tiers, 1.5% platform fee, a Huawei clawback, a late September "
                "Tencent line (prior-period adjustment), a goodwill credit, gains a customer on 2026-10-16"),
    DemoPartner("P-QIHANG", "Qihang Referral Network", "qihang-referral-2026", "CNY",
                "referral partner: cash base (vouchers and coupons count), retroactive tiers, a cap, "
                "30-day clawback window (one Huawei refund is outside it), loses a customer on 2026-10-16"),
    DemoPartner("P-LINWEI", "Lin Wei (sales agent)", "linwei-agent-2026", "CNY",
                "sales agent: a guaranteed floor of 3,000.00 and a fixed 200.00 admin fee"),
    DemoPartner("P-HARBOR", "Harbor Bridge Pte. Ltd.", "harbor-intl-2026", "USD",
                "international reseller paid in USD: Tencent reseller-bill lines already in USD, Huawei "
                "CNY lines (and a CNY refund's clawback) converted at the day's CNY->USD rate"),
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
    international: bool = False
    tax_line: bool = False


def _c(key: str, provider: str, name: str, segment: str, partner: str | None, scale: int, discount: int,
       project: str, products: str, *, international: bool = False, tax_line: bool = False) -> CustomerPlan:
    """``products`` is ``"cvm-sub:3 cos:1"``: product key and number of resources."""
    items = tuple((f"{provider[0]}:{k}", int(n)) for k, n in (p.split(":") for p in products.split()))
    return CustomerPlan(key, provider, name, segment, partner, scale, discount, project, items, international,
                        tax_line)


CUSTOMERS: tuple[CustomerPlan, ...] = (
    # Tencent Cloud, domestic console (CNY)
    _c("T01", "tencent", "Blue River Games", "gaming", "P-YUNFAN", 3, 10, "prod",
       "cvm-sub:4 cvm-od:2 cbs:3 cos:2 cdn:2 mysql:2 clb:1 tke:1"),
    _c("T02", "tencent", "Jade Mountain Logistics", "enterprise", "P-YUNFAN", 2, 12, "erp",
       "cvm-sub:3 cbs:2 cos:1 mysql:1 clb:1"),
    _c("T03", "tencent", "Pearl Delta Retail", "retail", "P-YUNFAN", 2, 8, "shop",
       "cvm-sub:2 cvm-od:1 cos:1 cdn:1 mysql:1 sms:1"),
    _c("T04", "tencent", "Golden Lotus Media", "media", "P-YUNFAN", 2, 5, "video", "cdn:2 cos:2 cvm-sub:2"),
    _c("T05", "tencent", "Eastwind EdTech", "education", "P-YUNFAN", 1, 10, "classroom",
       "cvm-sub:2 cbs:1 cos:1 sms:1"),
    _c("T06", "tencent", "Silver Crane Fintech", "finance", "P-QIHANG", 2, 5, "core",
       "cvm-sub:3 cbs:2 mysql:1 clb:1"),
    _c("T07", "tencent", "Red Lantern Foods", "smb", "P-QIHANG", 1, 0, "default", "cvm-sub:2 cos:1 sms:1"),
    _c("T09", "tencent", "Bamboo Grove Studio", "smb", "P-LINWEI", 1, 0, "default", "cvm-sub:1 cos:1"),
    _c("T10", "tencent", "Little Harbor Clinic", "healthcare", "P-LINWEI", 1, 0, "default",
       "cvm-sub:1 sms:1"),
    _c("T13", "tencent", "Cloud Nine Hotels", "hospitality", "P-XINGHE", 1, 5, "pms",
       "cvm-sub:2 cos:1 mysql:1"),
    _c("T14", "tencent", "Tiny Kite Apps", "smb", "P-MICRO", 1, 0, "default", "sms:1 cos:1"),
    # Tencent Cloud, international reseller customer bill (USD)
    _c("T11", "tencent", "Sunrise Mobility SG", "enterprise", "P-HARBOR", 2, 10, "sg-apps",
       "cvm-sub:3 cbs:2 cdn:1 mysql:1 tke:1", international=True),
    _c("T12", "tencent", "Orchid Payments", "finance", "P-HARBOR", 1, 8, "payments",
       "cvm-sub:2 mysql:1 clb:1", international=True),
    # Huawei Cloud
    _c("H01", "huawei", "Great Wall Manufacturing", "enterprise", "P-YUNFAN", 3, 12, "mes",
       "ecs-sub:4 evs:3 obs:1 rds:2 elb:1 cce:1"),
    _c("H02", "huawei", "Yellow Sea Shipping", "logistics", "P-YUNFAN", 2, 10, "fleet",
       "ecs-sub:2 ecs-od:1 evs:2 rds:1 hcdn:1"),
    _c("H03", "huawei", "Plum Blossom Health", "healthcare", "P-YUNFAN", 1, 6, "his",
       "ecs-sub:2 evs:1 rds:1"),
    _c("H04", "huawei", "Dragon Gate Securities", "finance", "P-QIHANG", 2, 8, "trading",
       "ecs-sub:2 evs:1 obs:1 rds:1"),
    _c("H05", "huawei", "Spring Field Agritech", "smb", "P-QIHANG", 1, 0, "default", "ecs-sub:1 obs:1 elb:1"),
    _c(MOVER, "huawei", "Northstar Travel", "smb", "P-QIHANG", 1, 5, "booking",
       "ecs-sub:2 hcdn:1 obs:1 rds:1"),  # moves to P-YUNFAN on 2026-10-16
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
    name: str
    region: int
    burst_day: int = 0


#: Line kinds. Huawei bill type codes: renew 2, new 1, usage 5, refund 4/20/24, adjust 9, tax 15, 100.
RENEW, NEW, USAGE, REFUND, ADJUST, TAX = "renew", "new", "usage", "refund", "adjust", "tax"


@dataclass
class Line:
    """A bill line being built: provider-neutral facts; the writers lay them out per format.

    Times are naive Asia/Shanghai wall-clock times; ``*_cents`` are signed integers
    (a refund's are negative); ``billed_cents`` is the amount after discount.
    """

    resource: Resource
    kind: str
    month: date
    start: datetime
    end: datetime
    paid: datetime
    list_cents: int
    billed_cents: int
    voucher_cents: int = 0
    cash_coupon_cents: int = 0
    order_id: str = ""
    transaction_id: str = ""
    original_order: str = ""
    bill_type: str = ""  # Huawei code for refunds, adjustments and tax
    component: str = ""
    day: int = 0

    @property
    def customer(self) -> CustomerPlan:
        """Whose line it is."""
        return self.resource.customer

    @property
    def product(self) -> Product:
        """What it bills."""
        return PRODUCTS[self.resource.product_key]


def cents(value: int, *, grouped: bool = False) -> str:
    """Integer cents as a two-decimal amount: ``-12345`` -> ``-123.45`` (exact, via Decimal);
    ``grouped`` writes thousands separators as the Tencent console does (``1,234.56``)."""
    amount = Decimal(value).scaleb(-2)
    return format(amount, ",.2f") if grouped else format(amount, ".2f")


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _days(month: date) -> Iterator[date]:
    day = month
    end = _next_month(month)
    while day < end:
        yield day
        day += timedelta(days=1)


def _at(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second)


def _tc_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _hw_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " GMT+08:00"


@dataclass
class DemoData:
    """The generated world: customer accounts, resources, FX rates and bill lines per file."""

    accounts: dict[str, str] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    fx_rates: list[tuple[date, str]] = field(default_factory=list)
    files: dict[str, list[Line]] = field(default_factory=dict)


class _Builder:
    """Consumes the seeded generator in a fixed order; one instance per generation."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.data = DemoData()
        self.seq = 0

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def alnum(self, n: int) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def build(self) -> DemoData:
        for c in CUSTOMERS:
            if c.provider == "tencent":
                self.data.accounts[c.key] = f"{'2000' if c.international else '1000'}" \
                                            f"{self.rng.randint(10_000_000, 99_999_999)}"
            else:
                self.data.accounts[c.key] = self.hex(32)
        for c in CUSTOMERS:
            for key, count in c.products:
                for _ in range(count):
                    self.data.resources.append(self._resource(c, key))
        rate = 14_050  # CNY->USD in units of 0.00001
        for month in (SEPTEMBER, OCTOBER):
            for day in _days(month):
                self.data.fx_rates.append((day, format(Decimal(rate).scaleb(-5), "f")))
                rate += self.rng.randint(-12, 12)
        for month, files in ((SEPTEMBER, SEPTEMBER_FILES), (OCTOBER, OCTOBER_FILES)):
            cn, en, hw = files
            self.data.files[cn] = self._tencent_month(month, international=False)
            self.data.files[en] = self._tencent_month(month, international=True)
            self.data.files[hw] = self._huawei_month(month)
        self._september_specials()
        self._october_specials()
        self.data.files[RESTATED_FILE] = self._restated()
        return self.data

    def _resource(self, c: CustomerPlan, key: str) -> Resource:
        product = PRODUCTS[key]
        first = c.name.split()[0].lower()
        name = f"{c.project}-{key.split(':')[1]}-{self.rng.randint(1, 99):02d}"
        if c.provider == "huawei":
            h = self.hex(32)
            rid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            if key == "h:obs":
                rid = f"{first}-{c.project}-{self.alnum(6)}"
            elif key == "h:hcdn":
                rid = f"cdn.{first}-{self.alnum(4)}.example.cn"
        elif key == "t:cos":
            rid = f"{first}-assets-125{self.rng.randint(1_000_000, 9_999_999)}"
        elif key == "t:cdn":
            rid = f"cdn-{self.alnum(6)}.{first}.example.cn"
        elif key == "t:sms":
            rid = f"1400{self.rng.randint(100_000, 999_999)}"
        else:
            rid = product.prefix + self.alnum(8)
        regions = len(TENCENT_INTL_REGIONS if c.international else TENCENT_REGIONS)
        return Resource(c, key, rid, name, self.rng.randrange(regions), burst_day=self.rng.randint(3, 24))

    def _ids(self, provider: str, moment: datetime, *, order: bool) -> tuple[str, str]:
        """``(order id, transaction id)`` as each console writes them."""
        self.seq += 1
        if provider == "tencent":
            order_id = f"{moment:%Y%m%d%H}{self.digits(10)}" if order else ""
            return order_id, f"{self.digits(6)}{self.seq:08d}"
        if order:
            return f"CS{moment:%y%m%d%H%M}{self.digits(5)}", ""
        return f"{self.hex(24)}{self.seq:08x}", ""

    def _amounts(self, c: CustomerPlan, list_cents: int, discount_pct: int) -> tuple[int, int, int]:
        """``(list, after discount, voucher)``: one line in twelve has a voucher."""
        billed = list_cents - list_cents * discount_pct // 100
        voucher = self.rng.randint(100, max(101, billed // 5)) if self.rng.randint(1, 12) == 1 else 0
        return list_cents, billed, voucher

    def _line(self, r: Resource, kind: str, month: date, start: datetime, end: datetime, paid: datetime,
              list_cents: int, discount_pct: int, day: int) -> Line:
        c = r.customer
        if c.international:
            list_cents = list_cents * CNY_TO_USD_PER_MILLE // 1000
        listed, billed, voucher = self._amounts(c, list_cents, discount_pct)
        order_id, transaction = self._ids(c.provider, paid, order=kind in (RENEW, NEW))
        cash_coupon = 0
        if c.provider == "huawei" and voucher and self.rng.randint(1, 3) == 1:
            voucher, cash_coupon = 0, voucher  # a cash coupon (现金券) instead of a voucher (代金券)
        return Line(r, kind, month, start, end, paid, listed, billed, voucher, cash_coupon, order_id,
                    transaction, day=day)

    def _tencent_month(self, month: date, *, international: bool) -> list[Line]:
        """A Tencent month. The Chinese console bills by deduction time: a day's usage is
        deducted the next morning, so its file holds the usage of the last day of the month
        before and not of its own last day. The reseller bill has a Billable Month column and
        holds the month's own usage days."""
        lines: list[Line] = []
        nxt = _next_month(month)
        usage_days = [d - timedelta(days=0 if international else 1) for d in _days(month)]
        for r in self.data.resources:
            c = r.customer
            if c.provider != "tencent" or c.international != international:
                continue
            p = PRODUCTS[r.product_key]
            if p.grain == "month":
                amount = self.rng.randint(p.low, p.high) * c.scale
                paid = _at(month, 0, 5, self.rng.randint(0, 59))
                lines.append(self._line(r, RENEW, month, _at(month), _at(nxt), paid, amount,
                                        c.discount_pct, 1))
            elif p.grain == "day":
                for day in usage_days:
                    amount = self.rng.randint(p.low, p.high) * c.scale
                    nxt_day = day + timedelta(days=1)
                    lines.append(self._line(r, USAGE, month, _at(day), _at(day, 23, 59, 59),
                                            _at(nxt_day, 1, self.rng.randint(0, 59), self.rng.randint(0, 59)),
                                            amount, c.discount_pct // 2, nxt_day.day))
            else:  # hourly burst: 36 hours from 09:00 of the burst day, deducted each hour
                first = _at(month.replace(day=r.burst_day), 9)
                for h in range(36):
                    start = first + timedelta(hours=h)
                    amount = self.rng.randint(p.low, p.high) * c.scale
                    lines.append(self._line(r, USAGE, month, start, start + timedelta(minutes=59, seconds=59),
                                            start + timedelta(hours=1, minutes=self.rng.randint(1, 9)),
                                            amount, 0, start.day))
        return lines

    def _huawei_month(self, month: date) -> list[Line]:
        lines: list[Line] = []
        nxt = _next_month(month)
        for r in self.data.resources:
            c = r.customer
            if c.provider != "huawei":
                continue
            p = PRODUCTS[r.product_key]
            if p.grain == "month":
                amount = self.rng.randint(p.low, p.high) * c.scale
                paid = _at(month - timedelta(days=1), 22, self.rng.randint(0, 59), self.rng.randint(0, 59))
                lines.append(self._line(r, RENEW, month, _at(month), _at(nxt - timedelta(days=1), 23, 59, 59),
                                        paid, amount, c.discount_pct, 1))
            elif p.grain == "day":
                for day in _days(month):
                    amount = self.rng.randint(p.low, p.high) * c.scale
                    lines.append(self._line(r, USAGE, month, _at(day), _at(day, 23, 59, 59),
                                            _at(day + timedelta(days=1), 2, self.rng.randint(0, 59)),
                                            amount, c.discount_pct // 2, day.day))
            else:
                first = _at(month.replace(day=r.burst_day), 9)
                for h in range(36):
                    start = first + timedelta(hours=h)
                    amount = self.rng.randint(p.low, p.high) * c.scale
                    lines.append(self._line(r, USAGE, month, start, start + timedelta(minutes=59, seconds=59),
                                            start + timedelta(hours=1), amount, 0, start.day))
        for c in CUSTOMERS:
            if c.provider == "huawei" and c.tax_line:
                lines.append(self._special(c, TAX, month, _at(nxt - timedelta(days=1), 23, 59),
                                           self.rng.randint(5_000, 30_000), bill_type="15"))
        return lines

    def _special(self, c: CustomerPlan, kind: str, month: date, when: datetime, amount: int, *,
                 bill_type: str, resource: Resource | None = None) -> Line:
        """A line outside a resource's regular cycle: tax, an adjustment (on a resource's
        product, or on ECS for Huawei's account-level lines)."""
        r = resource or Resource(c, "h:ecs-sub", "", "", 0)
        order_id, transaction = self._ids(c.provider, when, order=False)
        return Line(r, kind, month, when, when, when, amount, amount, order_id=order_id,
                    transaction_id=transaction, bill_type=bill_type)

    def _find(self, file: str, customer: str, product: str, kind: str = RENEW, day: int = 1) -> Line:
        for line in self.data.files[file]:
            if (line.customer.key, line.resource.product_key, line.kind, line.day) == (
                    customer, product, kind, day):
                return line
        raise LookupError(  # pragma: no cover
            f"no {product} {kind} line of {customer} on day {day} in {file}")

    def _new_purchase(self, customer: str, product: str, day: int) -> Line:
        """A mid-September 消费-新购 of a one-month subscription (refunded in October)."""
        c = next(c for c in CUSTOMERS if c.key == customer)
        p = PRODUCTS[product]
        template = self._resource(c, product)
        start = _at(SEPTEMBER.replace(day=day), 10, self.rng.randint(0, 59))
        amount = self.rng.randint(p.low, p.high) * c.scale
        line = self._line(template, NEW, SEPTEMBER, start, start + timedelta(days=30), start, amount,
                          c.discount_pct, day)
        return line

    def _september_specials(self) -> None:
        hw = self.data.files[HUAWEI_CN_SEP]
        hw.append(self._new_purchase("H05", "h:ecs-sub", 20))
        hw.append(self._new_purchase(MOVER, "h:evs", 28))
        h02 = next(c for c in CUSTOMERS if c.key == "H02")
        # 调账-补偿 (9): Huawei compensates an ECS outage of 2026-09-17.
        hw.append(self._special(h02, ADJUST, SEPTEMBER, _at(date(2026, 9, 25), 15, 12),
                                -self.rng.randint(30_000, 80_000), bill_type="9"))

    def _refund(self, original: Line, percent: int, when: date, hour: int, bill_type: str) -> Line:
        """An October Huawei refund of part of a September order, naming it in 原订单号."""
        moment = _at(when, hour, self.rng.randint(0, 59))
        order_id, _ = self._ids("huawei", moment, order=True)
        return Line(original.resource, REFUND, OCTOBER, moment, max(original.end, moment), moment,
                    -(original.list_cents * percent // 100), -(original.billed_cents * percent // 100),
                    -(original.voucher_cents * percent // 100),
                    -(original.cash_coupon_cents * percent // 100),
                    order_id=order_id, original_order=original.order_id, bill_type=bill_type)

    def _october_specials(self) -> None:
        sep = self.data.files[HUAWEI_CN_SEP]
        new_h05 = next(line for line in sep if line.kind == NEW and line.customer.key == "H05")
        new_mover = next(line for line in sep if line.kind == NEW and line.customer.key == MOVER)
        harbor = self._refund(self._find(HUAWEI_CN_SEP, "H07", "h:ecs-sub"), 25, date(2026, 10, 5), 16, "20")
        self.data.files[HUAWEI_EN_OCT].extend([
            # Yunfan: an RDS downgrade (退款-变更, 20), 41 days after the renewal: clawed back.
            self._refund(self._find(HUAWEI_CN_SEP, "H01", "h:rds"), 30, date(2026, 10, 12), 14, "20"),
            # Qihang: an unsubscription 49 days after the renewal, outside its 30-day window.
            self._refund(self._find(HUAWEI_CN_SEP, "H04", "h:ecs-sub"), 40, date(2026, 10, 20), 15, "4"),
            # Qihang: the ECS bought on 09-20 unsubscribed on 10-09 (19 days): clawed back.
            self._refund(new_h05, 100, date(2026, 10, 9), 9, "4"),
            # Northstar moved to Yunfan on 10-16; its 10-21 refund (to pay-per-use, 24) of an order
            # paid to Qihang is clawed back from Qihang, listed as clawback_elsewhere on Yunfan.
            self._refund(new_mover, 60, date(2026, 10, 21), 10, "24"),
            # Harbor: a CNY refund clawed back in USD at the refund day's rate, with its tax refund.
            harbor,
            self._special(harbor.customer, TAX, OCTOBER, harbor.start, -self.rng.randint(1_000, 5_000),
                          bill_type="100"),
            # 调账-补偿 (9) for Yellow Sea Shipping's CDN incident.
            self._special(next(c for c in CUSTOMERS if c.key == "H02"), ADJUST, OCTOBER,
                          _at(date(2026, 10, 14), 11, 5), -self.rng.randint(20_000, 60_000), bill_type="9"),
        ])
        tc = self.data.files[TENCENT_CN_OCT]
        renewal = self._find(TENCENT_CN_OCT, "T02", "t:cvm-sub")
        moment = _at(date(2026, 10, 18), 16, self.rng.randint(0, 59))
        order_id, transaction = self._ids("tencent", moment, order=True)
        tc.append(Line(renewal.resource, REFUND, OCTOBER, moment, renewal.end, moment, 0,
                       -(renewal.billed_cents * 40 // 100), -(renewal.voucher_cents * 40 // 100),
                       order_id=order_id, transaction_id=transaction))
        clb = next(r for r in self.data.resources if r.customer.key == "T02" and r.product_key == "t:clb")
        when = _at(date(2026, 10, 9), 11, 30)
        tc.append(self._special(clb.customer, ADJUST, OCTOBER, when, self.rng.randint(8_000, 20_000),
                                bill_type="", resource=clb))

    def _restated(self) -> list[Line]:
        """Tencent's restatement: T01's CDN line of the 2026-10-12 incident re-rated 30% down,
        and an HTTPS-request line of 2026-09-29 (deducted 09-30) missing from September's export."""
        cdn = self._find(TENCENT_CN_OCT, "T01", "t:cdn", USAGE, 13)  # usage of 10-12, deducted 10-13
        revised = replace(cdn, list_cents=cdn.list_cents * 70 // 100,
                          billed_cents=cdn.billed_cents * 70 // 100, voucher_cents=0)
        sept = self._find(TENCENT_CN_SEP, "T01", "t:cdn", USAGE, 30)
        late_list = self.rng.randint(400_000, 600_000)
        _, transaction = self._ids("tencent", sept.paid, order=False)
        late = replace(sept, list_cents=late_list,
                       billed_cents=late_list - late_list * (sept.customer.discount_pct // 2) // 100,
                       voucher_cents=0, transaction_id=transaction, component="HTTPS请求数",
                       paid=sept.paid + timedelta(hours=5))
        return [revised, late]


def build(seed: int = SEED) -> DemoData:
    """Generate the demo world (deterministic for a given seed)."""
    return _Builder(seed).build()


# --- writers: one per native format ------------------------------------------------------------


def _rate(after: int, before: int) -> str:
    """A discount rate cell (``0.9``) from integer cents, exact."""
    if before == 0:
        return "1"
    return format((Decimal(after) / Decimal(before)).quantize(Decimal("0.01")), "f")


_TC_TYPES = {RENEW: "包年包月续费", NEW: "包年包月新购", REFUND: "包年包月退费", ADJUST: "调账扣费"}


def tencent_cn_row(line: Line, accounts: dict[str, str]) -> list[str]:
    """A row of the Chinese console bill detail."""
    p, r = line.product, line.resource
    region, zone = TENCENT_REGIONS[r.region]
    owner = accounts[line.customer.key]
    subscription = p.subscription
    if line.kind == USAGE:
        kind = "按量计费小时结" if p.grain == "hour" else "按量计费日结"
    else:
        kind = _TC_TYPES[line.kind]
    refund = line.kind == REFUND
    listed = "-" if refund else cents(line.list_cents, grouped=True)
    after = cents(line.billed_cents, grouped=True)
    unit, duration = ("月", "1") if subscription else (("小时", "1") if p.grain == "hour" else ("天", "1"))
    start = "" if line.kind == ADJUST else _tc_time(line.start)
    end = "" if line.kind == ADJUST else _tc_time(line.end)
    return [
        PAYER["tencent"], owner, owner, p.cn, "包年包月" if subscription else "按量计费",
        line.customer.project, region, zone if p.prefix else "-", "国内", r.resource_id, r.name, p.sub, kind,
        line.order_id, line.transaction_id, _tc_time(line.paid), start, end, p.component,
        line.component or p.component, listed, listed, f"元/{unit}", "-" if refund else "1", "个",
        "-" if refund else duration, unit, listed,
        "-" if refund else _rate(line.billed_cents, line.list_cents), after, cents(line.voucher_cents),
        "0.00", cents(line.billed_cents - line.voucher_cents, grouped=True),
    ]


#: English subproduct and component names of the international console.
_TENCENT_EN_PARTS: dict[str, tuple[str, str]] = {
    "t:cvm-sub": ("Standard S5", "CPU"), "t:cvm-od": ("Standard SA2", "CPU"),
    "t:cbs": ("Premium Cloud Disk", "Storage Space"), "t:cos": ("Standard Storage", "Storage Usage"),
    "t:cdn": ("CDN", "Traffic"), "t:mysql": ("Two-node", "Instance Specification"),
    "t:clb": ("Standard", "Instance Fee"), "t:tke": ("Managed Cluster", "Cluster Management"),
    "t:sms": ("SMS", "Messages"),
}


def tencent_en_row(line: Line, accounts: dict[str, str]) -> list[str]:
    """A row of the international reseller's customer bill (USD, Singapore GST)."""
    p, r = line.product, line.resource
    sub, component = _TENCENT_EN_PARTS[r.product_key]
    region, zone = TENCENT_INTL_REGIONS[r.region]
    owner = accounts[line.customer.key]
    if line.kind == USAGE:
        kind = "Hourly settlement" if p.grain == "hour" else "Daily settlement"
    else:
        kind = "Monthly subscription renewal"
    before_tax = line.billed_cents - line.voucher_cents
    tax = before_tax * SG_GST_PERCENT // 100
    unit = "month" if p.subscription else ("hour" if p.grain == "hour" else "day")
    return [
        PAYER["tencent"], owner, owner, p.en, sub,
        "Monthly Subscription" if p.subscription else "Pay-as-you-go", kind, line.transaction_id,
        _tc_time(line.paid), _tc_time(line.start), _tc_time(line.end),
        r.resource_id, r.name, sub, line.customer.project, region, zone, component, component,
        cents(line.list_cents), cents(line.billed_cents), f"USD/{unit}", "1", unit, "1", unit,
        cents(line.list_cents), "0", "0", "0", "0", "0", _rate(line.billed_cents, line.list_cents),
        _rate(line.billed_cents, line.list_cents), "USD", cents(line.billed_cents), cents(line.voucher_cents),
        cents(before_tax), f"0.{SG_GST_PERCENT:02d}", cents(tax), cents(before_tax + tax),
        "", "", "", "", "", "", "", line.customer.name, cents(line.list_cents - line.voucher_cents),
        _rate(line.billed_cents, line.list_cents), f"{line.month:%Y-%m}", PAYER["tencent"],
    ]


_HW_CN_TYPES = {RENEW: "消费-续订", NEW: "消费-新购", USAGE: "消费-使用", ADJUST: "调账-补偿"}
_HW_EN_TYPES = {RENEW: "Expenditure-renewal", NEW: "Expenditure-purchase", USAGE: "Expenditure-use",
                ADJUST: "Adjustment-compensation", "4": "Refund-unsubscription", "20": "Refund-change",
                "24": "Refund-conversion from yearly/monthly to pay-per-use", "15": "Tax",
                "100": "Tax refund"}


def _hw_parts(line: Line) -> tuple[str, str, str, str, str, str]:
    """``(mode CN, mode EN, region code, region name, resource id, resource name)``."""
    p, r = line.product, line.resource
    region, region_name = HUAWEI_REGIONS[r.region]
    if line.kind in (TAX, ADJUST):
        return "按需", "Pay-per-Use", region, region_name, "", ""
    sub = p.subscription
    return ("包年/包月" if sub else "按需", "Yearly/Monthly" if sub else "Pay-per-Use", region, region_name,
            r.resource_id, r.name)


def huawei_cn_row(line: Line, accounts: dict[str, str]) -> list[str]:
    """A row of the Chinese consumption detail."""
    p = line.product
    mode, _, region, region_name, rid, rname = _hw_parts(line)
    if line.kind == TAX:
        product, bill_type = "税金", line.bill_type
    else:
        product, bill_type = p.sub, _HW_CN_TYPES.get(line.kind, line.bill_type)
    due = line.billed_cents
    cash = due - line.voucher_cents - line.cash_coupon_cents
    order_based = line.kind in (RENEW, NEW)
    return [
        f"{line.month:%Y-%m}", "0", line.customer.project, accounts[line.customer.key], p.code, p.cn,
        p.resource_type, product, f"00301-{p.code.rsplit('.', 1)[1]}-0--0", mode, _hw_time(line.paid),
        _hw_time(line.start), _hw_time(line.end), line.order_id, _hw_time(line.paid), bill_type, rid, rname,
        "", p.component, p.component, region, region_name, f"{region}a", "" if order_based else "duration",
        "", "", "", "", "", "", cents(line.list_cents), cents(line.list_cents - line.billed_cents),
        cents(due),
        cents(cash), "0.00", cents(line.voucher_cents), cents(line.cash_coupon_cents), "0.00", "0.00", "0.00",
        "--", "--", "续订" if line.kind == RENEW else ("新购" if line.kind == NEW else ""),
        "1" if order_based else "", "1" if order_based else "", "月" if order_based else "", "", "", "",
        line.original_order, "否",
    ]


def huawei_en_row(line: Line, accounts: dict[str, str]) -> list[str]:
    """A row of the English Cost Center export."""
    p = line.product
    _, mode, region, _, rid, rname = _hw_parts(line)
    if line.kind == REFUND:
        mode = "Yearly/Monthly"
    bill_type = _HW_EN_TYPES.get(line.bill_type or line.kind, _HW_EN_TYPES.get(line.kind, ""))
    return [
        f"{line.month:%Y-%m}", line.customer.project, "0", accounts[line.customer.key], PAYER["huawei"],
        "Huawei Cloud", p.code, p.en, p.resource_type, "Tax" if line.kind == TAX else p.sub,
        f"00301-{p.code.rsplit('.', 1)[1]}-0--0", mode, bill_type, line.order_id, _hw_time(line.start),
        _hw_time(line.end), rid, rname, region, line.original_order, cents(line.list_cents),
        cents(line.list_cents - line.billed_cents), cents(line.billed_cents), cents(line.voucher_cents),
        cents(line.cash_coupon_cents), "0.00", "0.00",
    ]


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _zip(member: str, data: bytes) -> bytes:
    """A zip holding one CSV, with a fixed timestamp (so the bytes never change)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(member, date_time=(2026, 11, 2, 9, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, data)
    return buffer.getvalue()


Writer = Callable[[Line, dict[str, str]], list[str]]
_LAYOUTS: dict[str, tuple[tuple[str, ...], Writer]] = {
    "tencent-console-cn": (TENCENT_CN_HEADER, tencent_cn_row),
    "tencent-reseller-en": (TENCENT_EN_HEADER, tencent_en_row),
    "huawei-detail-cn": (HUAWEI_CN_HEADER, huawei_cn_row),
    "huawei-costcenter-en": (HUAWEI_EN_HEADER, huawei_en_row),
}


def file_bytes(name: str, data: DemoData) -> bytes:
    """One bill file as the console delivers it: its layout, encoding and wrapping."""
    header, writer = _LAYOUTS[FILE_FORMATS[name]]
    lines = data.files[name]
    if FILE_FORMATS[name] != "huawei-costcenter-en":
        lines = sorted(lines, key=lambda line: line.paid)  # consoles list by deduction time
    text = _csv(header, [writer(line, data.accounts) for line in lines])
    if name == HUAWEI_CN_SEP:
        raw = text.encode("gb18030")
    elif FILE_FORMATS[name] == "tencent-console-cn":
        raw = ("\ufeff" + text).encode("utf-8")
    else:
        raw = text.encode("utf-8")
    if name.endswith(".zip"):
        return _zip(name.removesuffix(".zip") + ".csv", raw)
    if name.endswith(".gz"):
        return gzip.compress(raw, compresslevel=9, mtime=0)
    return raw


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
        if c.key == MOVER:
            valid_to = MOVE_DAY.isoformat()
        out.append(f"  - {{id: D-{c.key}, partner: {c.partner}, provider: {c.provider}, "
                   f"account_id: \"{data.accounts[c.key]}\", agreement: {agreement_of[c.partner]}, "
                   f"valid_from: 2026-01-01, valid_to: {valid_to}}}\n")
        if c.key == MOVER:
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


def generate(seed: int = SEED) -> dict[str, bytes]:
    """Every demo input file: name -> bytes, the config first, then bills in ingest order."""
    data = build(seed)
    files = {CONFIG_FILE: config_text(data).encode("utf-8")}
    for name in (*SEPTEMBER_FILES, *OCTOBER_FILES, RESTATED_FILE):
        files[name] = file_bytes(name, data)
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
    generated bytes is re-used untouched (so a second demo run reads the same bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    reused: list[str] = []
    for name, data in generate(seed).items():
        path = directory / name
        if path.is_file() and path.read_bytes() == data:
            reused.append(name)
            continue
        path.write_bytes(data)
        written.append(name)
    return WrittenInput(directory, tuple(written), tuple(reused))
