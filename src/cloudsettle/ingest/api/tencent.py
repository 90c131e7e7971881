"""Tencent Cloud bills through the real SDK (``tencentcloud-sdk-python``: billing, partners).

Tencent field names and SDK types stay in this module (the anti-corruption
layer): what leaves it is core types and :mod:`~cloudsettle.ingest.api.client`
values.

Lines come from ``DescribeBillDetail`` (billing API, 2018-07-09), one
:class:`~cloudsettle.core.lines.BillingLine` per *component* of a bill
record, mapped as ``spec/provider-files.md`` maps the console file:

- ``account_id`` = OwnerUin, ``payer_account_id`` = PayerUin, ``service`` =
  BusinessCode (``p_cvm``: the code ``DescribeBillSummaryByProduct`` totals by);
- ``list_amount`` = Cost (original cost); where Tencent hides it (``-``,
  contract prices) the list amount is RealCost and the discount 0;
  ``discount_amount`` = Cost - RealCost; ``voucher_amount`` = VoucherPayAmount;
- refund action types (``prepay_return``, ``pre_to_post``) keep the original
  charge's category with their negative amounts; ``recon_*`` and the rounding
  pseudo-product ``billVirtualId`` are ``adjustment``;
- FeeBeginTime / FeeEndTime / PayTime are Asia/Shanghai wall-clock times;
- ``line_id`` = ``BillId#ComponentCode#ItemCode`` (a deduction has one BillId
  and several components).

Billing API amounts are decimal strings in yuan; partners API amounts are
integer fen, converted by :func:`fen_to_yuan` exactly. Each response body is
kept as received (:attr:`Page.body`) and read with ``parse_float=Decimal``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from tencentcloud.billing.v20180709 import billing_client
from tencentcloud.billing.v20180709 import models as billing_models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.partners.v20180321 import models as partners_models
from tencentcloud.partners.v20180321 import partners_client

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
    NotReady,
    ProviderApiError,
    RequestRejected,
    Throttled,
    Transient,
)
from cloudsettle.ingest.parsing import parse_amount, parse_timestamp

PROVIDER = "tencent"
ZONE = "Asia/Shanghai"
CURRENCY = "CNY"
#: DescribeBillDetail allows at most 300 records a page.
MAX_PAGE_SIZE = 300
_PARTNER_PAGE_SIZE = 100

_REFUND_ACTIONS = frozenset({"prepay_return", "pre_to_post"})
_ADJUSTMENT_ACTIONS = frozenset({"billVirtualId"})
_PAY_MODES = {
    "包年包月": BillingMode.SUBSCRIPTION,
    "prePay": BillingMode.SUBSCRIPTION,
    "按量计费": BillingMode.ON_DEMAND,
    "postPay": BillingMode.ON_DEMAND,
}


def fen_to_yuan(fen: int | str | Decimal) -> Decimal:
    """A partners-API amount in integer fen as exact yuan: ``125 -> Decimal('1.25')``."""
    if isinstance(fen, bool) or not isinstance(fen, int | str | Decimal):
        raise TypeError(f"a fen amount must be an integer, not {type(fen).__name__}")
    value = Decimal(fen.strip()) if isinstance(fen, str) else Decimal(fen)
    if value != value.to_integral_value():
        raise ValueError(f"a fen amount must be a whole number: {fen!r}")
    return Decimal(int(value)).scaleb(-2)


def translate_error(exc: TencentCloudSDKException, action: str) -> ProviderApiError:
    """The SDK's exception as one of ours, by Tencent's error code."""
    code = str(exc.get_code() or "")
    message = exc.get_message()
    detail = (message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message or ""))[:300]
    if code.startswith("RequestLimitExceeded"):
        return Throttled(PROVIDER, action, code, detail)
    if code.startswith(("AuthFailure", "UnauthorizedOperation")):
        return AuthFailed(PROVIDER, action, code, detail)
    if code.endswith("NotReady"):
        return NotReady(PROVIDER, action, code, detail)
    if code.startswith(("InternalError", "ResourceUnavailable")) or code in (
        "ServerNetworkError",
        "ClientNetworkError",
    ):
        return Transient(PROVIDER, action, code, detail)
    return RequestRejected(PROVIDER, action, code, detail)


class _BillingClient(billing_client.BillingClient):  # type: ignore[misc]  # the SDK ships no types
    """The SDK's client, keeping the last response body exactly as received."""

    last_body: bytes = b""

    def call(self, action: str, params: Any, options: Any = None, headers: Any = None) -> Any:
        body = super().call(action, params, options, headers)
        self.last_body = body if isinstance(body, bytes) else str(body).encode("utf-8")
        return body


class _PartnersClient(partners_client.PartnersClient):  # type: ignore[misc]  # the SDK ships no types
    """The SDK's client, keeping the last response body exactly as received."""

    last_body: bytes = b""

    def call(self, action: str, params: Any, options: Any = None, headers: Any = None) -> Any:
        body = super().call(action, params, options, headers)
        self.last_body = body if isinstance(body, bytes) else str(body).encode("utf-8")
        return body


def _profile(endpoint: str | None) -> ClientProfile | None:
    """A profile pointing the SDK at ``endpoint`` (``http://host:port`` or ``host:port``)."""
    if endpoint is None:
        return None
    protocol = "https"
    host = endpoint
    for scheme in ("http", "https"):
        if endpoint.startswith(scheme + "://"):
            protocol, host = scheme, endpoint[len(scheme) + 3 :]
    return ClientProfile(httpProfile=HttpProfile(protocol=protocol, endpoint=host.rstrip("/")))


class TencentClient:
    """Tencent Cloud's billing and partners APIs through the real SDK clients."""

    provider = PROVIDER

    def __init__(
        self,
        credentials: ProviderCredentials,
        *,
        endpoint: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        region: str = "",
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        cred = credential.Credential(credentials.key_id, credentials.secret.reveal())
        profile = _profile(endpoint)
        self.page_size = page_size
        self._billing = _BillingClient(cred, region, profile)
        self._partners = _PartnersClient(cred, "", profile)

    def __repr__(self) -> str:
        return f"TencentClient(page_size={self.page_size})"

    def _call(self, policy: CallPolicy, action: str, send: Callable[[], object], sdk: Any) -> bytes:
        """One SDK call through ``policy``, SDK errors translated; returns the raw body."""

        def once() -> bytes:
            try:
                send()
            except TencentCloudSDKException as exc:
                raise translate_error(exc, action) from None
            body: bytes = sdk.last_body
            return body

        return policy(action, once)

    # -- lines ------------------------------------------------------------------

    def fetch_page(
        self, month: str, token: ResumeToken | None, *, index: int = 0, policy: CallPolicy = direct
    ) -> Page:
        offset = int(token["offset"]) if token else 0
        context = str(token.get("context", "")) if token else ""
        request = billing_models.DescribeBillDetailRequest()
        request.Month = month
        request.Offset = offset
        request.Limit = self.page_size
        request.NeedRecordNum = 1
        if context:
            request.Context = context
        body = self._call(
            policy, "DescribeBillDetail", lambda: self._billing.DescribeBillDetail(request), self._billing
        )
        response = _response(body)
        records = response.get("DetailSet") or []
        lines = _detail_lines(records, month)
        next_token: dict[str, str | int] | None = None
        if len(records) >= self.page_size:
            next_token = {"offset": offset + len(records)}
            if response.get("Context"):
                next_token["context"] = str(response["Context"])
        return Page(index=index, body=body, lines=lines, next_token=next_token)

    def lines_from_body(self, month: str, body: bytes) -> tuple[BillingLine, ...]:
        return _detail_lines(_response(body).get("DetailSet") or [], month)

    # -- totals, customers, adjustments, rebates -----------------------------------

    def summary(self, month: str, *, policy: CallPolicy = direct) -> ProviderTotals:
        request = billing_models.DescribeBillSummaryByProductRequest()
        request.BeginTime = month
        request.EndTime = month
        action = "DescribeBillSummaryByProduct"

        def once() -> bytes:
            body = self._call(
                direct, action, lambda: self._billing.DescribeBillSummaryByProduct(request), self._billing
            )
            if _response(body).get("Ready") == 0:
                raise NotReady(PROVIDER, action, "Ready=0", "the month's summary is still being prepared")
            return body

        body = policy(action, once)
        items = tuple(
            ProductTotal(
                service=str(item.get("BusinessCode") or ""),
                currency=CURRENCY,
                billed_amount=_amount(item.get("RealTotalCost")),
                voucher_amount=_amount(item.get("VoucherPayAmount")),
            )
            for item in _response(body).get("SummaryOverview") or []
        )
        return ProviderTotals(PROVIDER, month, items, (body,))

    def customers(self, *, policy: CallPolicy = direct) -> list[CustomerInfo]:
        result: list[CustomerInfo] = []
        for record in self._partner_pages(
            policy,
            "DescribeAgentAuditedClients",
            partners_models.DescribeAgentAuditedClientsRequest,
            "AgentClientSet",
            {},
        ):
            extras = {
                key: str(record[key])
                for key in (
                    "ClientRemark",
                    "ClientFlag",
                    "ClientType",
                    "ProjectType",
                    "SalesUin",
                    "TransactionType",
                    "AuthType",
                    "HasOverdueBill",
                )
                if record.get(key) not in (None, "")
            }
            result.append(
                CustomerInfo(
                    provider=PROVIDER,
                    account_id=str(record.get("ClientUin") or ""),
                    name=str(record.get("ClientName") or ""),
                    associated_on=str(record.get("AgentTime") or ""),
                    extras=extras,
                )
            )
        return result

    def adjustments(self, month: str, *, policy: CallPolicy = direct) -> list[Adjustment]:
        request = billing_models.DescribeBillAdjustInfoRequest()
        request.Month = month
        body = self._call(
            policy,
            "DescribeBillAdjustInfo",
            lambda: self._billing.DescribeBillAdjustInfo(request),
            self._billing,
        )
        return [
            Adjustment(
                provider=PROVIDER,
                account_id=str(item.get("PayerUin") or ""),
                kind=str(item.get("AdjustType") or ""),
                reference=str(item.get("AdjustNum") or ""),
                amount=_amount(item.get("AdjustAmount")),
                currency=CURRENCY,
                month=str(item.get("Month") or month),
                at=str(item.get("AdjustCompletionTime") or ""),
            )
            for item in _response(body).get("Data") or []
        ]

    def rebates(self, month: str, *, policy: CallPolicy = direct) -> list[Rebate]:
        return [
            Rebate(
                account_id=str(record.get("Uin") or ""),
                month=str(record.get("RebateMonth") or month),
                amount=fen_to_yuan(record.get("Amt") or 0),
                month_sales=fen_to_yuan(record.get("MonthSales") or 0),
                quarter_sales=fen_to_yuan(record.get("QuarterSales") or 0),
                flag=str(record.get("ExceptionFlag") or ""),
            )
            for record in self._partner_pages(
                policy,
                "DescribeRebateInfos",
                partners_models.DescribeRebateInfosRequest,
                "RebateInfoSet",
                {"RebateMonth": month},
            )
        ]

    def _partner_pages(
        self,
        policy: CallPolicy,
        action: str,
        request_type: Callable[[], Any],
        set_name: str,
        params: Mapping[str, object],
    ) -> list[Mapping[str, Any]]:
        """Every record of a paged partners-API listing (Offset/Limit, TotalCount)."""
        records: list[Mapping[str, Any]] = []
        offset = 0
        while True:
            request = request_type()
            for key, value in params.items():
                setattr(request, key, value)
            request.Offset = offset
            request.Limit = _PARTNER_PAGE_SIZE
            method = getattr(self._partners, action)
            body = self._call(policy, action, partial(method, request), self._partners)
            response = _response(body)
            page = response.get(set_name) or []
            records.extend(page)
            offset += len(page)
            total = response.get("TotalCount")
            if len(page) < _PARTNER_PAGE_SIZE or (isinstance(total, int) and offset >= total):
                return records


def _response(body: bytes) -> Mapping[str, Any]:
    """The ``Response`` object of a Tencent API body."""
    data = read_json(body)
    response = data.get("Response") if isinstance(data, dict) else None
    if not isinstance(response, dict):
        raise RequestRejected(PROVIDER, "(response)", "", "response body has no Response object")
    return response


def _amount(value: object) -> Decimal:
    """A Tencent amount: a decimal string (``"0.96000000"``, ``"-"``), or an exact JSON number."""
    if value is None:
        return ZERO
    if isinstance(value, bool):
        raise ValueError("an amount must not be a bool")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        return parse_amount(value)
    raise TypeError(f"unexpected amount {value!r}")


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return "" if value is None else str(value)


def _category(action: str, billing_mode: BillingMode) -> ChargeCategory:
    """ChargeCategory from ActionType; refunds keep their original charge's category."""
    if action.startswith("recon_") or action in _ADJUSTMENT_ACTIONS:
        return ChargeCategory.ADJUSTMENT
    if action in _REFUND_ACTIONS:
        return ChargeCategory.PURCHASE  # both refund kinds reverse a prepaid purchase
    if action.startswith("prepay_") or action == "svp_hour_pay":
        return ChargeCategory.PURCHASE
    if billing_mode is BillingMode.SUBSCRIPTION and not action.startswith("postpay_"):
        return ChargeCategory.PURCHASE
    return ChargeCategory.USAGE


def _billing_mode(record: Mapping[str, Any]) -> BillingMode:
    action = _text(record, "ActionType")
    if action == "svp_hour_pay":
        return BillingMode.SAVINGS_PLAN
    mode = _PAY_MODES.get(_text(record, "PayModeName"))
    if mode is not None:
        return mode
    if action.startswith("prepay_") or action == "pre_to_post":
        return BillingMode.SUBSCRIPTION
    if action.startswith("postpay_"):
        return BillingMode.ON_DEMAND
    return BillingMode.OTHER


def _period(record: Mapping[str, Any], month: str) -> date:
    text = _text(record, "BillMonth") or month
    year, mon = text[:7].split("-")
    return date(int(year), int(mon), 1)


def _detail_lines(records: list[Mapping[str, Any]], month: str) -> tuple[BillingLine, ...]:
    """DescribeBillDetail records as billing lines, one per component."""
    lines: list[BillingLine] = []
    for record in records:
        action = _text(record, "ActionType")
        mode = _billing_mode(record)
        pay_time = _text(record, "PayTime")
        paid_at = parse_timestamp(pay_time, ZONE) if pay_time else None
        begin_text = _text(record, "FeeBeginTime") or pay_time
        end_text = _text(record, "FeeEndTime") or begin_text
        start = parse_timestamp(begin_text, ZONE)
        end = max(parse_timestamp(end_text, ZONE), start)
        header_extras = {
            f"x_{key}": _text(record, key)
            for key in (
                "BusinessCodeName",
                "ProductCode",
                "ProductCodeName",
                "PayModeName",
                "ActionType",
                "ActionTypeName",
                "RegionName",
                "ZoneName",
                "ResourceName",
                "OperateUin",
                "BillId",
                "Id",
                "BillDay",
            )
            if _text(record, key)
        }
        associated = record.get("AssociatedOrder")
        if isinstance(associated, dict):
            header_extras.update(
                {f"x_AssociatedOrder.{k}": str(v) for k, v in associated.items() if v not in (None, "")}
            )
        for component in record.get("ComponentSet") or []:
            real_cost = _amount(component.get("RealCost"))
            cost_text = component.get("Cost")
            hidden = cost_text is None or (isinstance(cost_text, str) and cost_text.strip() in ("", "-"))
            list_amount = real_cost if hidden else _amount(cost_text)
            extras = dict(header_extras)
            extras.update(
                {
                    f"x_{key}": str(component[key])
                    for key in (
                        "ComponentCode",
                        "ComponentCodeName",
                        "ItemCode",
                        "ItemCodeName",
                        "CashPayAmount",
                        "IncentivePayAmount",
                        "TransferPayAmount",
                        "Discount",
                        "InstanceType",
                    )
                    if component.get(key) not in (None, "")
                }
            )
            lines.append(
                BillingLine(
                    line_id="#".join(
                        (
                            _text(record, "BillId"),
                            _text(component, "ComponentCode"),
                            _text(component, "ItemCode"),
                        )
                    ),
                    provider=PROVIDER,
                    account_id=_text(record, "OwnerUin"),
                    payer_account_id=_text(record, "PayerUin"),
                    invoice_id=_text(record, "OrderId"),
                    charge_start=start,
                    charge_end=end,
                    billing_period=_period(record, month),
                    paid_at=paid_at,
                    list_amount=list_amount,
                    discount_amount=list_amount - real_cost,
                    voucher_amount=_amount(component.get("VoucherPayAmount")),
                    currency=CURRENCY,
                    service=_text(record, "BusinessCode"),
                    charge_category=_category(action, mode),
                    billing_mode=mode,
                    region=_text(record, "RegionId"),
                    project=_text(record, "ProjectName"),
                    resource_id=_text(record, "ResourceId"),
                    extras=extras,
                )
            )
    return tuple(lines)
