"""Huawei Cloud partner bills through the real SDK (``huaweicloudsdkbss``, BSS v2).

Huawei field names and SDK types stay in this module (the anti-corruption
layer). Calls: ``list_sub_customer_bill_detail`` (partner customers' lines,
offset/limit), ``list_subcustomer_monthly_bills`` (totals),
``list_sub_customers`` (customers), ``list_partner_adjust_records``
(adjustments). BSS has no rebate API, so :meth:`HuaweiClient.rebates` is empty.

**Exact amounts.** The SDK itself parses bodies with ``parse_float=Decimal``,
but its models drop fields they do not know (older data's ``measure_id`` on
a detail record, for one). So this client reads every amount from the SDK
response's ``raw_content`` (the body as received), with ``json.loads(...,
parse_float=Decimal)``: no float is ever made, and nothing needs converting
back. Amounts are then scaled by ``measure_id`` (:func:`to_yuan`): 1 yuan,
2 jiao (/10), 3 fen (/100).

Mapping (``spec/provider-files.md``): ``list_amount`` = official_amount,
``discount_amount`` = official_discount_amount, ``voucher_amount`` = coupon +
flexi-purchase coupon + stored-value card; bill_detail_type 4, 20, 24 are
refunds (negative, keeping the original's category), 9 and 16 adjustments,
15 and 100-102 tax. ``line_id`` is the record's ``id``, else a hash of
trade_id, resource_id, bill_detail_type and the times (never the amounts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from huaweicloudsdkbss.v2 import (
    BssClient,
    ListPartnerAdjustRecordsRequest,
    ListSubCustomerBillDetailRequest,
    ListSubcustomerMonthlyBillsRequest,
    ListSubCustomersRequest,
    QuerySubCustomerListReq,
)
from huaweicloudsdkbss.v2.region.bss_region import BssRegion
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions import exceptions as sdk_exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig

from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.money import ZERO
from cloudsettle.ingest.api.client import (
    Adjustment,
    CallPolicy,
    CustomerInfo,
    Page,
    ProductTotal,
    ProviderTotals,
    Rebate,
    ResumeToken,
    direct,
    read_json,
)
from cloudsettle.ingest.api.credentials import ProviderCredentials
from cloudsettle.ingest.api.errors import (
    AuthFailed,
    ProviderApiError,
    RequestRejected,
    Throttled,
    Transient,
)
from cloudsettle.ingest.parsing import parse_amount, parse_timestamp

PROVIDER = "huawei"
ZONE = "Asia/Shanghai"
DEFAULT_CURRENCY = "CNY"
#: the production BSS region (its endpoint is https://bss.myhuaweicloud.com).
PRODUCTION_REGION = "cn-north-1"

#: Throttling answers: API gateway flow control, and BSS's "your IP is limited" / "too frequent".
_THROTTLE_CODES = frozenset({"APIG.0308", "CBC.99007197", "CBC.99008040"})
#: Authentication and permission answers (gateway and BSS).
_AUTH_CODES = frozenset({"APIG.0301", "APIG.0303", "CBC.0151", "CBC.0154", "CBC.0155"})

_MEASURE_EXPONENT = {1: 0, 2: -1, 3: -2}  # yuan, jiao, fen
_REFUNDS = frozenset({4, 20, 24})
_ADJUSTMENTS = frozenset({9, 16})
_TAXES = frozenset({15, 100, 101, 102})
_PURCHASES = frozenset({1, 2, 3, 8, 18, 103})
_MODES = {
    1: BillingMode.SUBSCRIPTION,
    3: BillingMode.ON_DEMAND,
    10: BillingMode.RESERVED,
    11: BillingMode.SAVINGS_PLAN,
}


def to_yuan(amount: object, measure_id: object = 1) -> Decimal:
    """A Huawei amount in ``measure_id``'s unit as exact yuan: ``(1234, 3) -> Decimal('12.34')``.

    ``amount`` is what ``json.loads(..., parse_float=Decimal)`` gives (Decimal,
    int) or a decimal string (AdjustRecordV3 writes amounts as strings).
    """
    if amount is None:
        return ZERO
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | str):
        raise TypeError(f"unexpected Huawei amount {amount!r}")
    value = parse_amount(amount) if isinstance(amount, str) else Decimal(amount)
    unit = 1 if measure_id in (None, "") else int(str(measure_id))
    if unit not in _MEASURE_EXPONENT:
        raise ValueError(f"measure_id {measure_id!r} is not a money unit (1 yuan, 2 jiao, 3 fen)")
    return value.scaleb(_MEASURE_EXPONENT[unit])


def translate_error(exc: Exception, action: str) -> ProviderApiError:
    """The SDK's exception as one of ours, by HTTP status and Huawei's error code."""
    if isinstance(exc, sdk_exceptions.ServiceResponseException):
        status = int(exc.status_code or 0)
        code = str(exc.error_code or "")
        detail = f"HTTP {status}: {str(exc.error_msg or '')[:300]}"
        if status == 429 or code in _THROTTLE_CODES:
            return Throttled(PROVIDER, action, code, detail)
        if status in (401, 403) or code in _AUTH_CODES:
            return AuthFailed(PROVIDER, action, code, detail)
        if status >= 500:
            return Transient(PROVIDER, action, code, detail)
        return RequestRejected(PROVIDER, action, code, detail)
    if isinstance(exc, sdk_exceptions.ConnectionException | sdk_exceptions.RequestTimeoutException):
        return Transient(PROVIDER, action, type(exc).__name__, str(getattr(exc, "error_msg", "") or "")[:300])
    return RequestRejected(PROVIDER, action, type(exc).__name__, str(exc)[:300])


class HuaweiClient:
    """Huawei Cloud's BSS partner APIs through the real SDK client."""

    provider = PROVIDER

    def __init__(
        self,
        credentials: ProviderCredentials,
        *,
        endpoint: str | None = None,
        page_size: int = 100,
        ignore_ssl_verification: bool = False,
    ) -> None:
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be 1..1000")
        self.page_size = page_size
        config = HttpConfig.get_default_config()
        config.retry_times = 0  # the pull loop retries, with its own backoff and bounds
        config.ignore_ssl_verification = ignore_ssl_verification
        builder = (
            BssClient.new_builder()
            .with_http_config(config)
            .with_credentials(
                GlobalCredentials(credentials.key_id, credentials.secret.reveal(), credentials.domain_id)
            )
        )
        # An explicit endpoint (a fake server, a private gateway) and no region: the SDK then
        # makes no IAM call to discover the domain id.
        builder = (
            builder.with_endpoint(endpoint)
            if endpoint
            else builder.with_region(BssRegion.value_of(PRODUCTION_REGION))
        )
        self._client = builder.build()

    def __repr__(self) -> str:
        return f"HuaweiClient(page_size={self.page_size})"

    def _call(self, policy: CallPolicy, action: str, send: Callable[[], Any]) -> Mapping[str, Any]:
        """One SDK call through ``policy``; returns the body read exactly (with ``_body``)."""

        def once() -> Mapping[str, Any]:
            try:
                response = send()
            except sdk_exceptions.SdkException as exc:
                raise translate_error(exc, action) from None
            body: bytes = response.raw_content or b"{}"
            data = read_json(body)
            if not isinstance(data, dict):
                raise RequestRejected(PROVIDER, action, "", "response body is not a JSON object")
            data["_body"] = body
            return data

        return policy(action, once)

    # -- lines ------------------------------------------------------------------

    def fetch_page(
        self, month: str, token: ResumeToken | None, *, index: int = 0, policy: CallPolicy = direct
    ) -> Page:
        offset = int(token["offset"]) if token else 0
        request = ListSubCustomerBillDetailRequest(bill_cycle=month, offset=offset, limit=self.page_size)
        data = self._call(
            policy,
            "list_sub_customer_bill_detail",
            lambda: self._client.list_sub_customer_bill_detail(request),
        )
        records = data.get("fee_records") or []
        total = data.get("total_count")
        seen = offset + len(records)
        more = len(records) >= self.page_size and not (isinstance(total, int) and seen >= total)
        body: bytes = data["_body"]
        return Page(
            index=index,
            body=body,
            lines=_detail_lines(records, month, str(data.get("currency") or DEFAULT_CURRENCY)),
            next_token={"offset": seen} if more else None,
        )

    def lines_from_body(self, month: str, body: bytes) -> tuple[BillingLine, ...]:
        data = read_json(body)
        return _detail_lines(
            data.get("fee_records") or [], month, str(data.get("currency") or DEFAULT_CURRENCY)
        )

    # -- totals, customers, adjustments ------------------------------------------

    def summary(self, month: str, *, policy: CallPolicy = direct) -> ProviderTotals:
        items: list[ProductTotal] = []
        bodies: list[bytes] = []
        offset = 0
        while True:
            request = ListSubcustomerMonthlyBillsRequest(cycle=month, offset=offset, limit=self.page_size)
            data = self._call(
                policy,
                "list_subcustomer_monthly_bills",
                partial(self._client.list_subcustomer_monthly_bills, request),
            )
            bodies.append(data["_body"])
            currency = str(data.get("currency") or DEFAULT_CURRENCY)
            sums = data.get("bill_sums") or []
            items.extend(
                ProductTotal(
                    service=str(item.get("cloud_service_type") or ""),
                    currency=currency,
                    billed_amount=to_yuan(item.get("amount"), item.get("measure_id")),
                )
                for item in sums
            )
            offset += len(sums)
            if not _more(len(sums), self.page_size, offset, data.get("count")):
                return ProviderTotals(PROVIDER, month, tuple(items), tuple(bodies))

    def customers(self, *, policy: CallPolicy = direct) -> list[CustomerInfo]:
        result: list[CustomerInfo] = []
        offset = 0
        while True:
            request = ListSubCustomersRequest(
                body=QuerySubCustomerListReq(offset=offset, limit=self.page_size)
            )
            data = self._call(policy, "list_sub_customers", partial(self._client.list_sub_customers, request))
            infos = data.get("customer_infos") or []
            for info in infos:
                result.append(
                    CustomerInfo(
                        provider=PROVIDER,
                        account_id=str(info.get("customer_id") or ""),
                        name=str(info.get("account_name") or info.get("customer") or ""),
                        associated_on=str(info.get("associated_on") or ""),
                        extras={
                            key: str(info[key])
                            for key in (
                                "customer",
                                "association_type",
                                "label",
                                "customer_type",
                                "customer_level",
                                "verified_status",
                                "xaccount_id",
                            )
                            if info.get(key) not in (None, "")
                        },
                    )
                )
            offset += len(infos)
            if not _more(len(infos), self.page_size, offset, data.get("count")):
                return result

    def adjustments(self, month: str, *, policy: CallPolicy = direct) -> list[Adjustment]:
        begin, end = _month_utc(month)
        result: list[Adjustment] = []
        offset = 0
        while True:
            request = ListPartnerAdjustRecordsRequest(
                operation_time_begin=begin, operation_time_end=end, offset=offset, limit=self.page_size
            )
            data = self._call(
                policy,
                "list_partner_adjust_records",
                partial(self._client.list_partner_adjust_records, request),
            )
            records = data.get("records") or []
            result.extend(
                Adjustment(
                    provider=PROVIDER,
                    account_id=str(record.get("customer_id") or ""),
                    kind=str(record.get("operation_type") or ""),
                    reference=str(record.get("trans_id") or ""),
                    amount=to_yuan(record.get("amount"), record.get("measure_id")),
                    currency=str(record.get("currency") or DEFAULT_CURRENCY),
                    month=month,
                    at=str(record.get("operation_time") or ""),
                )
                for record in records
            )
            offset += len(records)
            if not _more(len(records), self.page_size, offset, data.get("total_count")):
                return result

    def rebates(self, month: str, *, policy: CallPolicy = direct) -> list[Rebate]:
        """Huawei's BSS API has no rebate or commission call: always empty."""
        del month, policy
        return []


def _more(got: int, page_size: int, seen: int, total: object) -> bool:
    """Whether a paged listing has another page."""
    return got >= page_size and not (isinstance(total, int) and seen >= total)


def _month_utc(month: str) -> tuple[str, str]:
    """The bill month (Asia/Shanghai) as the UTC range BSS's time filters take."""
    year, mon = (int(part) for part in month.split("-"))
    zone = ZoneInfo(ZONE)
    start = datetime(year, mon, 1, tzinfo=zone)
    following = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return start.astimezone(UTC).strftime(fmt), (following - timedelta(seconds=1)).astimezone(UTC).strftime(
        fmt
    )


def _int(record: Mapping[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value in (None, ""):
        return None
    return int(str(value))


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return "" if value is None else str(value)


def _category(bill_type: int | None, mode: BillingMode) -> ChargeCategory:
    if bill_type in _ADJUSTMENTS:
        return ChargeCategory.ADJUSTMENT
    if bill_type in _TAXES:
        return ChargeCategory.TAX
    if bill_type in _PURCHASES:
        return ChargeCategory.PURCHASE
    if bill_type in _REFUNDS and mode in (BillingMode.SUBSCRIPTION, BillingMode.RESERVED):
        return ChargeCategory.PURCHASE  # a refund keeps the category of the charge it reverses
    return ChargeCategory.USAGE


def _line_id(record: Mapping[str, Any]) -> str:
    if _text(record, "id"):
        return _text(record, "id")
    identity = "|".join(
        _text(record, key)
        for key in (
            "bill_cycle",
            "customer_id",
            "trade_id",
            "resource_id",
            "sub_resource_id",
            "bill_detail_type",
            "trade_time",
            "consume_time",
        )
    )
    return "sha256:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def _detail_lines(records: list[Mapping[str, Any]], month: str, currency: str) -> tuple[BillingLine, ...]:
    """SubCustomerMonthlyBillDetail records as billing lines."""
    lines: list[BillingLine] = []
    for record in records:
        measure = record.get("measure_id")
        bill_type = _int(record, "bill_detail_type")
        mode = _MODES.get(_int(record, "charging_mode") or 0, BillingMode.OTHER)
        cycle = _text(record, "bill_cycle") or month
        period = date(int(cycle[:4]), int(cycle[5:7]), 1)
        when_text = _text(record, "trade_time")
        when = (
            parse_timestamp(when_text, ZONE)
            if when_text
            else datetime(period.year, period.month, 1, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
        )
        vouchers = sum(
            (
                to_yuan(record.get(key), measure)
                for key in ("coupon_amount", "flexipurchase_coupon_amount", "stored_value_card_amount")
            ),
            ZERO,
        )
        extras = {
            f"x_{key}": _text(record, key)
            for key in (
                "service_type_name",
                "resource_type_code",
                "resource_type_name",
                "product_id",
                "product_name",
                "product_spec_desc",
                "resource_name",
                "region_name",
                "association_type",
                "bill_detail_type",
                "order_type",
                "consume_time",
                "usage_type",
                "usage_amount",
                "usage_measure_id",
                "period_type",
                "period_num",
                "measure_id",
            )
            if _text(record, key)
        }
        extras.update(
            {
                f"x_{key}": str(to_yuan(record.get(key), measure))
                for key in (
                    "payment_amount",
                    "cash_amount",
                    "credit_amount",
                    "debt_amount",
                    "writeoff_amount",
                )
                if record.get(key) is not None
            }
        )
        lines.append(
            BillingLine(
                line_id=_line_id(record),
                provider=PROVIDER,
                account_id=_text(record, "customer_id"),
                payer_account_id=_text(record, "partner_id"),
                invoice_id=_text(record, "trade_id"),
                charge_start=when,
                charge_end=when,
                billing_period=period,
                paid_at=when if when_text else None,
                list_amount=to_yuan(record.get("official_amount"), measure),
                discount_amount=to_yuan(record.get("official_discount_amount"), measure),
                voucher_amount=vouchers,
                currency=currency,
                service=_text(record, "service_type_code"),
                charge_category=_category(bill_type, mode),
                billing_mode=mode,
                region=_text(record, "region_code"),
                project=_text(record, "enterprise_project_id"),
                resource_id=_text(record, "resource_id"),
                extras=extras,
            )
        )
    return tuple(lines)
