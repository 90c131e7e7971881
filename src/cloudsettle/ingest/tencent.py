"""Tencent Cloud bill files in, normalized billing lines out.

Three console files (headers in ``reference/provider-formats.md`` §1.4):

- ``tencent-console-cn``: the domestic console's bill detail CSV (费用中心 →
  账单详情 → 明细账单 → 导出), Chinese headers (``使用者UIN``, ``交易类型``,
  ``扣费时间``, ``组件原价``, ``优惠后总价``, ``代金券支出(元)``, ...), CNY.
- ``tencent-intl-en``: the international console's bill details, English
  headers (``Owner Account ID``, ``Transaction Type``, ``Original Cost``,
  ``Total Amount After Discount (Excluding Tax)``, ``Voucher Deduction``,
  ``Tax Amount``, ``Currency``, ...).
- ``tencent-reseller-en``: the international reseller's customer bill: the
  same columns plus ``Customer Name``, ``DiscountRate``, ``Billable Month``
  or ``Reseller Account ID``.

Mapping (spec: provider-files.md, "Tencent Cloud"): ``account_id`` = owner
UIN; ``list_amount`` = original cost; ``discount_amount`` = original cost −
total after discount; ``voucher_amount`` = voucher deduction; ``tax_amount``
= ``Tax Amount`` (0 where absent); ``currency`` = ``Currency``, else CNY for
the Chinese file. Tencent hides the original cost of refunds (``-`` or
empty): then ``list_amount`` is the after-discount amount and the discount 0.
Refund kinds keep the original charge's category (purchase for a
subscription, usage otherwise) with every amount made negative; adjustment
kinds (``调账``, ``adjust-CR``, ``adjust-DR``, ``recon_*``, guarantee
deductions, ``billVirtualId`` rounding rows) are ``adjustment``. Times without
a zone are Asia/Shanghai; ``billing_period`` is the month of the deduction
time there (``Billable Month`` when the reseller file has it).

``line_id``: no column is unique per row (one transaction has a row per
component), so it is the hashed identity of owner, transaction, order,
resource, component, transaction type and times. The CSV files carry no link
from a refund to the order it reverses, so ``original_line_id`` stays empty:
settlement then nets the refund at its own rule's rate, as the spec says of a
negative line that names no original (no clawback of an earlier period). The
API's ``AssociatedOrder`` is where that link lives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.ingest.errors import RowError, UnknownFormatError
from cloudsettle.ingest.native import (
    CellError,
    ColumnMap,
    Field,
    LineIds,
    Row,
    billing_mode,
    header_keys,
    iter_native_csv,
    month_of,
    parse_month,
)
from cloudsettle.ingest.parsing import home_zone
from cloudsettle.ingest.service_categories import CategoryMap

PROVIDER = "tencent"
ZONE = home_zone(PROVIDER)

CONSOLE_CN = "tencent-console-cn"
INTL_EN = "tencent-intl-en"
RESELLER_EN = "tencent-reseller-en"
FORMAT_NAMES: tuple[str, ...] = (CONSOLE_CN, INTL_EN, RESELLER_EN)

_AFTER_DISCOUNT_EN = "Total Amount After Discount (Excluding Tax)"

FIELDS: tuple[Field, ...] = (
    Field("payer", ("支付者UIN", "Payer Account ID", "Reseller Account ID")),
    Field("owner", ("使用者UIN", "Owner Account ID"), required=True),
    Field("operator", ("操作者UIN", "Operator Account ID")),
    Field("product", ("产品名称", "Product Name"), required=True),
    Field("subproduct", ("子产品名称", "Subproduct Name")),
    Field("mode", ("计费模式", "Billing Mode"), required=True),
    Field("project", ("项目名称", "Project Name")),
    Field("region", ("地域", "Region")),
    Field("zone", ("可用区", "Availability Zone")),
    Field("resource", ("资源ID", "Instance ID")),
    Field("resource_name", ("实例名称", "Instance Name")),
    Field("type", ("交易类型", "Transaction Type"), required=True),
    Field("order", ("订单ID", "Order ID")),
    Field("transaction", ("交易ID", "Transaction ID")),
    Field("paid", ("扣费时间", "Transaction Time"), required=True),
    Field("start", ("开始使用时间", "Usage Start Time")),
    Field("end", ("结束使用时间", "Usage End Time")),
    Field("component_type", ("组件类型", "Component Type")),
    Field("component", ("组件名称", "Component Name")),
    Field("list", ("组件原价", "Original Cost"), required=True),
    Field("after_discount", ("优惠后总价", _AFTER_DISCOUNT_EN), required=True),
    Field("voucher", ("代金券支出", "Voucher Deduction")),
    Field("tax", ("Tax Amount",)),
    Field("currency", ("Currency",)),
    Field("billable_month", ("Billable Month",)),
    Field("customer_name", ("Customer Name",)),
    Field("reseller", ("Reseller Account ID",)),
)

#: Headers each format must have (as the console writes them), for detection and refusals.
REQUIRED_HEADERS: dict[str, tuple[str, ...]] = {
    CONSOLE_CN: ("使用者UIN", "产品名称", "计费模式", "交易类型", "扣费时间", "组件原价", "优惠后总价"),
    INTL_EN: (
        "Owner Account ID", "Product Name", "Billing Mode", "Transaction Type", "Transaction Time",
        "Original Cost", _AFTER_DISCOUNT_EN,
    ),
}
REQUIRED_HEADERS[RESELLER_EN] = (
    *REQUIRED_HEADERS[INTL_EN], "Customer Name|DiscountRate|Billable Month|Reseller Account ID"
)
_RESELLER_MARKERS = ("customer name", "discountrate", "billable month", "reseller account id",
                     "originalcost (after coupon)")

#: Fields kept in ``extras`` when not empty (the ids an operator searches for).
_EXTRA_FIELDS = ("transaction", "order", "type", "subproduct", "component_type", "component",
                 "zone", "operator", "resource_name", "customer_name", "reseller")
_EXTRA_KEYS = tuple((name, f"tencent.{name}") for name in _EXTRA_FIELDS)


def _has_all(keys: frozenset[str], headers: Sequence[str]) -> bool:
    return all(h.casefold() in keys for h in headers)


def is_tencent_header(headers: Sequence[str]) -> str | None:
    """The Tencent format name of a header row, or ``None``."""
    keys = header_keys(headers)
    if _has_all(keys, REQUIRED_HEADERS[CONSOLE_CN]):
        return CONSOLE_CN
    if _has_all(keys, REQUIRED_HEADERS[INTL_EN]):
        return RESELLER_EN if any(m in keys for m in _RESELLER_MARKERS) else INTL_EN
    return None


def missing_headers(headers: Sequence[str], format_name: str) -> list[str]:
    """The required headers of ``format_name`` that ``headers`` lack."""
    keys = header_keys(headers)
    required = REQUIRED_HEADERS[format_name]
    missing = [h for h in required if "|" not in h and h.casefold() not in keys]
    if format_name == RESELLER_EN and not any(m in keys for m in _RESELLER_MARKERS):
        missing.append(required[-1])
    return missing


# Transaction kinds, matched on the folded text of 交易类型 / Transaction Type
# (console names and the API's ActionType codes). Order matters: adjustment
# before refund before purchase ("Monthly subscription refund" is a refund).
_ADJUSTMENT_WORDS = ("调账", "adjust-", "adjust ", "recon_", "guarantee", "保底", "billvirtualid", "抹零")
_REFUND_WORDS = ("退费", "退款", "退还", "refund", "reversal", "冲正", "prepay_return", "pre_to_post",
                 "转按量", "降配", "downgrade")
_PURCHASE_WORDS = ("新购", "续费", "升配", "prepay_", "purchase", "renew", "upgrade", "ri fee",
                   "savings plan", "svp_", "预留实例", "节省计划")


def classify(transaction_type: str, mode: BillingMode, product: str = "") -> tuple[ChargeCategory, bool]:
    """``(charge_category, is_refund)`` of a transaction type.

    >>> classify("包年包月退费", BillingMode.SUBSCRIPTION)
    (<ChargeCategory.PURCHASE: 'purchase'>, True)
    >>> classify("adjust-CR", BillingMode.ON_DEMAND)
    (<ChargeCategory.ADJUSTMENT: 'adjustment'>, False)
    """
    text = " ".join(transaction_type.split()).casefold()
    if any(w in text for w in _ADJUSTMENT_WORDS) or product.casefold() == "billvirtualid":
        return ChargeCategory.ADJUSTMENT, False
    usual = ChargeCategory.PURCHASE if mode is BillingMode.SUBSCRIPTION else ChargeCategory.USAGE
    if any(w in text for w in _REFUND_WORDS):
        return usual, True
    if any(w in text for w in _PURCHASE_WORDS):
        return ChargeCategory.PURCHASE, False
    return usual, False


#: :func:`classify`, cached: a bill has few distinct transaction types and products (issue 6).
_classified = lru_cache(maxsize=4096)(classify)

#: The fields of a line's identity after ``provider``, in their hashed order.
_IDENTITY_FIELDS = ("owner", "transaction", "order", "resource", "product", "subproduct",
                    "component_type", "component", "type", "region")


def _negative(amount: Decimal) -> Decimal:
    """A refund's amount: negative whatever sign the file wrote."""
    return -abs(amount)


class TencentRowMapper:
    """Maps the rows of one Tencent bill file to billing lines (one per file, in order)."""

    def __init__(
        self, headers: Sequence[str], file_name: str, *, categories: CategoryMap
    ) -> None:
        format_name = is_tencent_header(headers)
        if format_name is None:
            raise UnknownFormatError(
                file_name,
                expected=REQUIRED_HEADERS[CONSOLE_CN] + REQUIRED_HEADERS[INTL_EN],
                found=tuple(headers),
                detail="not a Tencent Cloud bill (Chinese console or English international headers)",
                missing=_closest_missing(headers),
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

    def _currency(self, row: Row) -> str:
        given = row.get("currency")
        if given and given != "-":
            return given.upper()
        if self.columns.currency_hint:
            return self.columns.currency_hint
        if self.format_name == CONSOLE_CN:
            return "CNY"
        raise CellError("Currency", given, "a value is required in Currency")

    def _map(self, row: Row) -> BillingLine:
        values = row.values  # every field's stripped cell, "" when the file lacks it
        owner = row.required("owner")
        product = row.required("product")
        mode_text = values["mode"]
        mode = billing_mode(mode_text)
        kind = row.required("type")
        category, is_refund = _classified(kind, mode, product)
        paid = row.timestamp("paid", ZONE)
        if paid is None:
            row.required("paid")  # raises: the deduction time is the bill month
            raise AssertionError("unreachable")
        start = row.timestamp("start", ZONE) or paid
        end = row.timestamp("end", ZONE) or start
        if end < start:
            header = self.columns.header("end")
            raise CellError(header, row.get("end"), f"{header} is before the usage start time")
        billing_period = self._billing_period(row, paid)

        list_amount = row.amount("list")
        after_discount = row.amount("after_discount")
        if list_amount.is_zero() and values["list"] in ("", "-"):
            list_amount = after_discount  # original cost hidden (refunds, contract prices)
        voucher = row.amount("voucher")
        tax = row.amount("tax")
        if is_refund:
            list_amount, after_discount = _negative(list_amount), _negative(after_discount)
            voucher, tax = _negative(voucher), _negative(tax)
        currency = self._currency(row)

        identity = [("provider", PROVIDER)] + [(name, values[name]) for name in _IDENTITY_FIELDS] + [
            ("paid", paid.isoformat()), ("start", start.isoformat()), ("end", end.isoformat()),
        ]
        line_id = self._ids.assign(identity, row.content())
        extras = {key: value for name, key in _EXTRA_KEYS if (value := values[name])}
        if mode_text:
            extras["tencent.billing_mode"] = mode_text
        service_category = self._category(product, values["subproduct"])
        return BillingLine(
            line_id=line_id,
            provider=PROVIDER,
            account_id=owner,
            payer_account_id=values["payer"] or values["reseller"],
            invoice_id=values["order"] or values["transaction"],
            service=product,
            service_category=service_category,
            region=values["region"],
            project=values["project"],
            resource_id=values["resource"],
            billing_mode=mode,
            charge_category=category,
            charge_start=start,
            charge_end=end,
            billing_period=billing_period,
            paid_at=paid,
            list_amount=list_amount,
            discount_amount=list_amount - after_discount,
            voucher_amount=voucher,
            tax_amount=tax,
            currency=currency,
            original_line_id=None,
            extras=MappingProxyType(extras),
        )

    def _category(self, product: str, subproduct: str) -> str:
        """The product's FOCUS category, else its subproduct's; remembered per pair for the file."""
        return self.categories.category_of(PROVIDER, product, subproduct, self._categories)

    def _billing_period(self, row: Row, paid: datetime) -> date:
        text = row.get("billable_month")
        if text and text != "-":
            try:
                return parse_month(text)
            except ValueError as exc:
                raise CellError(self.columns.header("billable_month"), text, str(exc)) from exc
        return month_of(paid, ZONE)


def _closest_missing(headers: Sequence[str]) -> list[str]:
    options = [missing_headers(headers, name) for name in (CONSOLE_CN, INTL_EN)]
    return min(options, key=len)


def iter_tencent_csv(
    path: Path, *, categories: CategoryMap, source_name: str | None = None
) -> Iterator[tuple[int, BillingLine | RowError]]:
    """Stream a Tencent bill file as ``(row_number, line or RowError)``; row 2 is the
    first data row.

    Plain, gzipped or zipped CSV, UTF-8 (with or without BOM) or GB18030.
    Raises :class:`~cloudsettle.ingest.errors.UnknownFormatError` on the first
    ``next()`` when the headers are not a Tencent bill's.
    """
    def mapper(headers: list[str], file_name: str) -> TencentRowMapper:
        return TencentRowMapper(headers, file_name, categories=categories)

    return iter_native_csv(path, source_name, mapper)
