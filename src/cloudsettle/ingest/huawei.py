"""Huawei Cloud bill files in, normalized billing lines out.

Two console files:

- ``huawei-detail-cn``: the consumption detail CSV of the Chinese site
  (费用中心 → 账单管理 → 流水与明细账单 → 明细账单 → 导出), headers in
  ``reference/provider-formats.md`` §2.5 (``账期``, ``账号``, ``产品类型编码``,
  ``订单号/交易号``, ``账单类型``, ``官网价(¥)``, ``优惠金额(¥)``, ...).
- ``huawei-costcenter-en``: the international Cost Center's "Export to local
  directory" of original costs, English headers (``Billing Cycle``/``Month``,
  ``Linked Account``, ``Service Type Code``, ``Bill Type``, ``Order No.``,
  ``Resource ID``, amounts). The amount headers of this export are not in the
  reference; the names read are listed in :data:`FIELDS` and in
  ``docs/provider-files.md``.

Mapping (spec: provider-files.md, "Huawei Cloud"): ``list_amount`` = 官网价;
``discount_amount`` = 优惠金额; ``voucher_amount`` = coupons + cash coupons +
flexi-purchase coupons + stored-value cards; ``billing_period`` = 账期; the
currency comes from a currency column, else the amount headers' suffix
(``(¥)`` is CNY). Bill types (codes or the console's words): 4, 20, 24
(退款-…) are refunds, kept in the original's category (purchase for a
subscription, usage otherwise) with negative amounts; 9, 16 (调账-…) are
adjustments; 15 and 100–102 are tax (the tax line's billed amount is also its
``tax_amount``). A ``measure_id`` column of 2 (jiao) or 3 (fen) scales the
amounts to yuan.

``line_id``: an order-based row (a purchase, renewal, change or refund) is
the hashed ``(account, order id, resource id)``, so a refund names its
original by hashing ``(account, 原订单号, resource id)`` the same way, even
when the original is in another file. Other rows (usage, adjustments, tax)
add the bill type, product, usage type and usage times to that identity.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.money import ZERO
from cloudsettle.ingest.errors import RowError, UnknownFormatError
from cloudsettle.ingest.native import (
    CellError,
    ColumnMap,
    Field,
    LineIds,
    Row,
    billing_mode,
    hashed_id,
    header_keys,
    iter_native_csv,
    parse_month,
)
from cloudsettle.ingest.parsing import home_zone
from cloudsettle.ingest.service_categories import CategoryMap

PROVIDER = "huawei"
ZONE = home_zone(PROVIDER)

DETAIL_CN = "huawei-detail-cn"
COSTCENTER_EN = "huawei-costcenter-en"
FORMAT_NAMES: tuple[str, ...] = (DETAIL_CN, COSTCENTER_EN)

FIELDS: tuple[Field, ...] = (
    Field("cycle", ("账期", "Billing Cycle", "Month"), required=True),
    Field("account", ("客户ID", "Customer ID", "账号", "Linked Account", "Account Name"), required=True),
    Field("payer", ("PayerAccount Name", "Payer Account Name", "Payer Account")),
    Field("project", ("企业项目", "Enterprise Project")),
    Field("project_id", ("企业项目ID", "Enterprise Project ID")),
    Field("service_code", ("产品类型编码", "Service Type Code", "Product Type Code"), required=True),
    Field("service_name", ("产品类型", "Service Type", "Product Type")),
    Field("resource_type", ("产品编码", "Resource Type Code")),
    Field("product", ("产品", "Product Name", "Product")),
    Field("product_id", ("产品ID", "Product ID")),
    Field("mode", ("计费模式", "Billing Mode")),
    Field("consume_time", ("消费时间", "Expenditure Time")),
    Field("start", ("使用开始时间", "Start Time", "Usage Start Time")),
    Field("end", ("使用结束时间", "End Time", "Usage End Time")),
    Field("order", ("订单号/交易号", "Order No./Transaction ID", "Order ID/Transaction ID", "Order No.",
                    "Order ID"), required=True),
    Field("trade_time", ("交易时间", "Transaction Time")),
    Field("bill_type", ("账单类型", "Bill Type"), required=True),
    Field("resource", ("资源ID", "Resource ID")),
    Field("resource_name", ("资源名称", "Resource Name")),
    Field("sku", ("SKU编码", "SKU Code")),
    Field("region", ("区域编码", "Region Code", "Region")),
    Field("usage_type", ("使用量类型编码", "Usage Type Code")),
    Field("list", ("官网价", "List Price", "Official Price", "Official Amount"), required=True),
    Field("discount", ("优惠金额", "Discount Amount", "Discounted Amount", "Discount"), required=True),
    Field("payable", ("应付金额", "Amount Due", "Payable Amount", "Amount")),
    Field("coupon", ("代金券抵扣", "Coupon", "Coupons", "Coupon Deduction", "Coupon Used")),
    Field("cash_coupon", ("现金券抵扣", "Cash Coupon", "Cash Coupons", "Cash Coupon Deduction",
                          "Cash Coupon Used")),
    Field("flexi_coupon", ("弹性抵扣券抵扣", "Flexi-Purchase Coupon", "Flexi-Purchase Coupons",
                           "Flexi-purchase Coupon Deduction", "Flexi-Purchase Coupon Used")),
    Field("stored_value", ("储值卡抵扣", "Stored-Value Card", "Stored-Value Cards", "Stored Value Card",
                           "Stored-Value Card Deduction")),
    Field("original_order", ("原订单号", "Original Order No.", "Original Order ID")),
    Field("currency", ("币种", "Currency")),
    Field("measure", ("measure_id", "Measure ID", "金额单位")),
)

REQUIRED_HEADERS: dict[str, tuple[str, ...]] = {
    DETAIL_CN: ("账期", "账号", "产品类型编码", "订单号/交易号", "账单类型", "官网价(¥)", "优惠金额(¥)"),
    COSTCENTER_EN: (
        "Billing Cycle|Month", "Linked Account", "Service Type Code", "Order No.", "Bill Type",
        "List Price", "Discount Amount",
    ),
}

_EXTRA_FIELDS = ("order", "bill_type", "product", "product_id", "resource_type", "resource_name",
                 "sku", "usage_type", "project_id", "service_name", "payable", "original_order",
                 "consume_time")
_EXTRA_KEYS = tuple((name, f"huawei.{name}") for name in _EXTRA_FIELDS)

# Bill type codes (reference §2.4) -> (class, order-based).
_PURCHASE, _USAGE, _REFUND, _ADJUST, _TAX = "purchase", "usage", "refund", "adjustment", "tax"
_CODES: Mapping[int, str] = {
    1: _PURCHASE, 2: _PURCHASE, 3: _PURCHASE, 8: _PURCHASE, 13: _PURCHASE, 14: _PURCHASE,
    18: _PURCHASE, 103: _PURCHASE,
    5: _USAGE, 12: _USAGE, 23: _USAGE, 25: _USAGE,
    4: _REFUND, 20: _REFUND, 24: _REFUND,
    9: _ADJUST, 16: _ADJUST, 17: _ADJUST,
    15: _TAX, 100: _TAX, 101: _TAX, 102: _TAX,
}
# The console's words, checked in order on the folded text.
_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (_TAX, ("税", "tax")),
    (_REFUND, ("退款", "refund")),
    (_ADJUST, ("调账", "adjustment", "补偿", "compensation")),
    (_USAGE, ("消费-使用", "按时计费", "节省计划抵扣", "抹零", "-use", " use", "usage", "used",
              "hourly", "rounding")),
    (_PURCHASE, ("消费", "expenditure", "purchase", "renew", "change", "新购", "续订", "变更")),
)

_MEASURES: Mapping[str, int] = {"1": 0, "元": 0, "2": -1, "角": -1, "3": -2, "分": -2}


def bill_type_class(text: str) -> str:
    """The class of a 账单类型 / Bill Type cell: purchase, usage, refund, adjustment or tax.

    >>> bill_type_class("4"), bill_type_class("退款-退订"), bill_type_class("调账-补偿")
    ('refund', 'refund', 'adjustment')
    """
    stripped = text.strip()
    if stripped.isdigit():
        found = _CODES.get(int(stripped))
        if found is None:
            raise ValueError(f"unknown Huawei bill type code {stripped}")
        return found
    folded = " ".join(stripped.split()).casefold()
    for kind, words in _WORDS:
        if any(w in folded for w in words):
            return kind
    raise ValueError(
        "expected a Huawei bill type: a code (1, 2, 4, 5, 9, 15, ...) or the console's words "
        "(消费-新购, 消费-使用, 退款-退订, 调账-补偿, ...)"
    )


#: :func:`bill_type_class`, cached: a bill has few distinct bill types (issue 6).
_bill_type_class = lru_cache(maxsize=1024)(bill_type_class)


def is_huawei_header(headers: Sequence[str]) -> str | None:
    """The Huawei format name of a header row, or ``None``."""
    columns = ColumnMap(headers, FIELDS)
    if columns.missing:
        return None
    return DETAIL_CN if "账期" in header_keys(headers) else COSTCENTER_EN


def missing_headers(headers: Sequence[str], format_name: str) -> list[str]:
    """The required headers of ``format_name`` that ``headers`` lack (one spelling each)."""
    missing = {f.name for f in ColumnMap(headers, FIELDS).missing}
    required = REQUIRED_HEADERS[format_name]
    order = ("cycle", "account", "service_code", "order", "bill_type", "list", "discount")
    return [header for name, header in zip(order, required, strict=True) if name in missing]


def original_identity(account: str, order_id: str, resource_id: str) -> list[tuple[str, str]]:
    """The identity of an order-based line: what a refund's 原订单号 points at."""
    return [("provider", PROVIDER), ("account", account), ("order", order_id),
            ("resource", resource_id)]


class HuaweiRowMapper:
    """Maps the rows of one Huawei bill file to billing lines (one per file, in order)."""

    def __init__(self, headers: Sequence[str], file_name: str, *, categories: CategoryMap) -> None:
        format_name = is_huawei_header(headers)
        if format_name is None:
            options = {name: missing_headers(headers, name) for name in FORMAT_NAMES}
            closest = min(FORMAT_NAMES, key=lambda n: len(options[n]))
            raise UnknownFormatError(
                file_name,
                expected=REQUIRED_HEADERS[closest],
                found=tuple(headers),
                detail="not a Huawei Cloud bill (consumption detail or Cost Center export)",
                missing=options[closest],
            )
        self.format_name = format_name
        self.file_name = file_name
        self.columns = ColumnMap(headers, FIELDS)
        self.categories = categories
        self._categories: dict[tuple[str, str], str] = {}
        self._ids = LineIds()

    def map_row(self, cells: Sequence[str], row_number: int) -> BillingLine | RowError:
        """One row to a line, or to a RowError naming the bad column."""
        try:
            return self._map(Row(self.columns, cells))
        except CellError as exc:
            return RowError(self.file_name, row_number, exc.column, exc.value, exc.message)

    def _category(self, service_code: str, service_name: str) -> str:
        """The service's FOCUS category, else its name's; remembered per pair for the file."""
        return self.categories.category_of(PROVIDER, service_code, service_name, self._categories)

    def _scale(self, row: Row) -> int:
        text = row.get("measure")
        if not text:
            return 0
        scale = _MEASURES.get(text)
        if scale is None:
            raise CellError(self.columns.header("measure"), text,
                            "expected measure_id 1 (yuan), 2 (jiao) or 3 (fen)")
        return scale

    def _money(self, row: Row, name: str, scale: int) -> Decimal:
        amount = row.amount(name)
        return amount.scaleb(scale) if scale and not amount.is_zero() else amount

    def _currency(self, row: Row) -> str:
        given = row.get("currency")
        if given and given != "-":
            return "CNY" if given in ("¥", "￥", "元", "人民币", "RMB") else given.upper()
        if self.columns.currency_hint:
            return self.columns.currency_hint
        if self.format_name == DETAIL_CN:
            return "CNY"
        raise CellError("Currency", given,
                        "no Currency column and no currency in the amount headers, e.g. List Price (USD)")

    def _map(self, row: Row) -> BillingLine:
        values = row.values  # every field's stripped cell, "" when the file lacks it
        cycle_text = row.required("cycle")
        try:
            billing_period: date = parse_month(cycle_text)
        except ValueError as exc:
            raise CellError(self.columns.header("cycle"), cycle_text, str(exc)) from exc
        account = row.required("account")
        order = row.required("order")
        bill_type = row.required("bill_type")
        try:
            kind = _bill_type_class(bill_type)
        except ValueError as exc:
            raise CellError(self.columns.header("bill_type"), bill_type, str(exc)) from exc
        mode_text = values["mode"]
        mode = billing_mode(mode_text)
        is_refund = kind == _REFUND
        if kind in (_PURCHASE, _REFUND):
            category = ChargeCategory.USAGE if mode is BillingMode.ON_DEMAND else ChargeCategory.PURCHASE
        else:
            category = {
                _USAGE: ChargeCategory.USAGE, _ADJUST: ChargeCategory.ADJUSTMENT, _TAX: ChargeCategory.TAX,
            }[kind]

        paid = row.timestamp("trade_time", ZONE)
        start = row.timestamp("start", ZONE) or paid
        if start is None:
            header = self.columns.header("start")
            raise CellError(
                header, values["start"], f"a value is required in {header} or the transaction time"
            )
        end = row.timestamp("end", ZONE) or start
        if end < start:
            header = self.columns.header("end")
            raise CellError(header, values["end"], f"{header} is before the usage start time")

        scale = self._scale(row)
        list_amount = self._money(row, "list", scale)
        discount = self._money(row, "discount", scale)
        voucher = sum(
            (self._money(row, name, scale)
             for name in ("coupon", "cash_coupon", "flexi_coupon", "stored_value")),
            ZERO,
        )
        if is_refund:
            list_amount, discount, voucher = -abs(list_amount), -abs(discount), -abs(voucher)
        tax = list_amount - discount if category is ChargeCategory.TAX else ZERO
        currency = self._currency(row)

        resource = values["resource"]
        identity = original_identity(account, order, resource)
        if kind not in (_PURCHASE, _REFUND):
            identity += [
                ("kind", kind), ("service", values["service_code"]),
                ("resource_type", values["resource_type"]), ("product_id", values["product_id"]),
                ("sku", values["sku"]), ("usage_type", values["usage_type"]),
                ("start", start.isoformat()), ("end", end.isoformat()),
            ]
        line_id = self._ids.assign(identity, row.content())
        original_line_id = None
        original_order = values["original_order"]
        if is_refund and original_order and original_order != "-":
            original_line_id = hashed_id(original_identity(account, original_order, resource))

        service_code = values["service_code"]
        service_category = self._category(service_code, values["service_name"])
        extras = {key: value for name, key in _EXTRA_KEYS if (value := values[name])}
        if mode_text:
            extras["huawei.billing_mode"] = mode_text
        return BillingLine(
            line_id=line_id,
            provider=PROVIDER,
            account_id=account,
            payer_account_id=values["payer"],
            invoice_id=order,
            service=service_code or values["service_name"],
            service_category=service_category,
            region=values["region"],
            project=values["project"],
            resource_id=resource,
            billing_mode=mode,
            charge_category=category,
            charge_start=start,
            charge_end=end,
            billing_period=billing_period,
            paid_at=paid,
            list_amount=list_amount,
            discount_amount=discount,
            voucher_amount=voucher,
            tax_amount=tax,
            currency=currency,
            original_line_id=original_line_id,
            extras=MappingProxyType(extras),
        )


def iter_huawei_csv(
    path: Path, *, categories: CategoryMap, source_name: str | None = None
) -> Iterator[tuple[int, BillingLine | RowError]]:
    """Stream a Huawei bill file as ``(row_number, line or RowError)``; row 2 is the
    first data row.

    Plain, gzipped or zipped CSV, UTF-8 (with or without BOM) or GB18030.
    Raises :class:`~cloudsettle.ingest.errors.UnknownFormatError` on the first
    ``next()`` when the headers are not a Huawei bill's.
    """
    def mapper(headers: list[str], file_name: str) -> HuaweiRowMapper:
        return HuaweiRowMapper(headers, file_name, categories=categories)

    return iter_native_csv(path, source_name, mapper)
