"""A fake Tencent Cloud API server for the real ``tencentcloud-sdk-python`` clients.

It speaks what the SDK sends and expects (``reference/provider-formats.md``
§1.1): ``POST /`` with the action in ``X-TC-Action`` and the parameters as a
JSON body; answers ``{"Response": {..., "RequestId": ...}}`` with a
Content-Type of exactly ``application/json`` (the SDK only notices errors
then), errors as ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.
Signatures are not checked, but the ``Authorization`` header must be there.

Data is deterministic: ``records`` DescribeBillDetail records shaped like
Tencent's documented examples (8-decimal strings, refunds with negative
amounts and a hidden ``Cost``, ``recon_*`` adjustments, one or two
components), the product summary computed from the same records, a few
audited clients, restatements and rebates (partners amounts in integer fen).
Billing and partners actions are served on the same port.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from cloudsettle.ingest.api.fake_common import Answer, FakeServer, dumps_exact, header

_EIGHT = Decimal("0.00000001")
_PRODUCTS = (("p_cvm", "云服务器"), ("p_cbs", "云硬盘"), ("p_cdb", "云数据库 MySQL"))
OWNERS = ("100000000101", "100000000102", "100000000103")
PAYER = "100000000001"


def _money(value: Decimal) -> str:
    return f"{value.quantize(_EIGHT):f}"


class FakeTencent(FakeServer):
    """Tencent's billing (2018-07-09) and partners (2018-03-21) APIs, in memory."""

    def __init__(self, *, records: int = 25, month: str = "2026-10") -> None:
        super().__init__()
        self.month = month
        self.records = [self._record(i) for i in range(records)]
        self.contexts_received: list[str] = []

    # -- data -------------------------------------------------------------------

    def _record(self, i: int) -> dict[str, Any]:
        code, name = _PRODUCTS[i % len(_PRODUCTS)]
        refund = i % 7 == 6
        adjustment = i % 11 == 10
        postpaid = i % 2 == 0 and not refund
        action, action_name = (
            ("prepay_return", "包年包月退款")
            if refund
            else ("recon_deduct", "调账扣费")
            if adjustment
            else ("postpay_deduct_h", "按量计费小时结")
            if postpaid
            else ("prepay_purchase", "包年包月新购")
        )
        sign = Decimal(-1) if refund else Decimal(1)
        day, hour = i % 28 + 1, i % 24
        begin = f"{self.month}-{day:02d} {hour:02d}:00:00"
        end = f"{self.month}-{day:02d} {hour:02d}:59:59"
        components = []
        for c in range(2 if i % 3 == 0 else 1):
            cost = Decimal((i * 7919 + c * 104729) % 90000 + 100).scaleb(-2) + Decimal(i % 9).scaleb(-7)
            real = (cost * Decimal("0.8")).quantize(_EIGHT)
            voucher = (real * Decimal("0.1")).quantize(_EIGHT) if i % 4 == 0 else Decimal(0)
            hidden = i % 13 == 12
            components.append(
                {
                    "ComponentCodeName": "CPU" if c == 0 else "内存",
                    "ItemCodeName": "CPU" if c == 0 else "内存",
                    "SinglePrice": _money(cost),
                    "PriceUnit": "元/核/小时",
                    "UsedAmount": "1",
                    "UsedAmountUnit": "核",
                    "TimeSpan": "1",
                    "TimeUnitName": "小时",
                    "Cost": "-" if hidden else _money(sign * cost),
                    "Discount": "0.8",
                    "ReduceType": "折扣",
                    "RealCost": _money(sign * real),
                    "VoucherPayAmount": _money(sign * voucher),
                    "CashPayAmount": _money(sign * (real - voucher)),
                    "IncentivePayAmount": "0.00000000",
                    "TransferPayAmount": "0.00000000",
                    "ItemCode": f"v_cvm_item_{c}",
                    "ComponentCode": f"v_cvm_comp_{c}",
                    "ContractPrice": _money(real),
                }
            )
        return {
            "BusinessCodeName": name,
            "ProductCodeName": name + " 标准型",
            "PayModeName": "按量计费" if postpaid else "包年包月",
            "ProjectName": "默认项目",
            "RegionName": "华南地区（广州）",
            "ZoneName": "广州三区",
            "ResourceId": f"ins-{i:08d}",
            "ResourceName": f"web-{i}",
            "ActionTypeName": action_name,
            "OrderId": f"2026100{i:09d}",
            "BillId": f"2026100{i:09d}01",
            "PayTime": end,
            "FeeBeginTime": begin,
            "FeeEndTime": end,
            "ComponentSet": components,
            "PayerUin": PAYER,
            "OwnerUin": OWNERS[i % len(OWNERS)],
            "OperateUin": OWNERS[i % len(OWNERS)],
            "Tags": [],
            "BusinessCode": code,
            "ProductCode": code.replace("p_", "sp_") + "_s5",
            "ActionType": action,
            "RegionId": "1",
            "ProjectId": 0,
            "PriceInfo": [],
            "AssociatedOrder": {"PrepayPurchase": f"2026090{i:09d}"} if refund else None,
            "Formula": "",
            "FormulaUrl": "",
            "BillDay": f"{day:02d}",
            "BillMonth": self.month,
        }

    def product_totals(self) -> dict[str, Decimal]:
        """RealCost per BusinessCode over all records (what DescribeBillSummaryByProduct answers)."""
        totals: dict[str, Decimal] = {}
        for record in self.records:
            for component in record["ComponentSet"]:
                code = record["BusinessCode"]
                totals[code] = totals.get(code, Decimal(0)) + Decimal(component["RealCost"])
        return totals

    # -- protocol ---------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        action = header(headers, "X-TC-Action")
        params: dict[str, Any] = json.loads(body or b"{}") if method == "POST" else {}
        entry = self.log(action, params, headers)
        if not entry.authorization:
            return _error("AuthFailure.SignatureFailure", "The request has no Authorization header.")
        if self.faults.auth_error:
            return _error(
                "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure it exists."
            )
        if entry.number in self.faults.throttle_calls:
            return _error("RequestLimitExceeded", "Your current request times equals to `20` in a second.")
        if entry.number in self.faults.server_error_calls:
            return Answer(502, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if (
            action == "DescribeBillDetail"
            and self.faults.drop_after_page is not None
            and self.detail_pages_served >= self.faults.drop_after_page
        ):
            return Answer(drop=True)
        not_ready = entry.number <= self.faults.not_ready_first
        handler = getattr(self, "_" + action, None)
        if handler is None:
            return _error("InvalidAction", f"The action {action!r} is not found.")
        if not_ready and action != "DescribeBillSummaryByProduct":
            return _error("FailedOperation.SummaryDataNotReady", "Bill data is being generated, retry later.")
        result: dict[str, Any] = handler(params, not_ready)
        result["RequestId"] = str(uuid.uuid4())
        return Answer(200, dumps_exact({"Response": result}))

    def _DescribeBillDetail(self, params: dict[str, Any], not_ready: bool) -> dict[str, Any]:  # noqa: N802
        offset = int(params.get("Offset") or 0)
        context = str(params.get("Context") or "")
        if context:
            self.contexts_received.append(context)
            offset = int(context.removeprefix("ctx-"))
        limit = int(params.get("Limit") or 100)
        chunk = self.records[offset : offset + limit]
        self.detail_pages_served += 1
        return {"DetailSet": chunk, "Total": len(self.records), "Context": f"ctx-{offset + len(chunk)}"}

    def _DescribeBillSummaryByProduct(self, params: dict[str, Any], not_ready: bool) -> dict[str, Any]:  # noqa: N802
        if not_ready:
            return {"Ready": 0, "SummaryTotal": None, "SummaryOverview": []}
        totals = self.product_totals()
        names = dict(_PRODUCTS)
        overview = [
            {
                "BusinessCode": code,
                "BusinessCodeName": names[code],
                "RealTotalCostRatio": "0",
                "RealTotalCost": _money(total),
                "CashPayAmount": _money(total),
                "IncentivePayAmount": "0.00000000",
                "VoucherPayAmount": "0.00000000",
                "TransferPayAmount": "0.00000000",
                "BillMonth": self.month,
                "TotalCost": "-",
            }
            for code, total in sorted(totals.items())
        ]
        grand = _money(sum(totals.values(), Decimal(0)))
        return {
            "Ready": 1,
            "SummaryTotal": {
                "RealTotalCost": grand,
                "VoucherPayAmount": "0.00000000",
                "IncentivePayAmount": "0.00000000",
                "CashPayAmount": grand,
                "TransferPayAmount": "0.00000000",
                "TotalCost": "-",
            },
            "SummaryOverview": overview,
        }

    def _DescribeBillAdjustInfo(self, params: dict[str, Any], not_ready: bool) -> dict[str, Any]:  # noqa: N802
        data = [
            {
                "PayerUin": OWNERS[0],
                "Month": "2026-08",
                "AdjustType": "reSettlement",
                "AdjustNum": "ADJ0001",
                "AdjustCompletionTime": f"{self.month}-05 10:00:00",
                "AdjustAmount": Decimal("-12.34"),
            },
            {
                "PayerUin": OWNERS[1],
                "Month": "2026-09",
                "AdjustType": "manualAdjustment",
                "AdjustNum": "ADJ0002",
                "AdjustCompletionTime": f"{self.month}-06 11:00:00",
                "AdjustAmount": Decimal("0.1"),
            },
        ]
        return {"Total": len(data), "Data": data}

    def _DescribeAgentAuditedClients(self, params: dict[str, Any], not_ready: bool) -> dict[str, Any]:  # noqa: N802
        clients = [
            {
                "Uin": PAYER,
                "ClientUin": uin,
                "AgentTime": f"2025-01-0{n + 1} 10:00:00",
                "ClientFlag": "a",
                "ClientRemark": f"remark {n}",
                "ClientName": f"Client {n}",
                "AuthType": "1",
                "AppId": f"12500{n}",
                "LastMonthAmt": 12345 * (n + 1),
                "ThisMonthAmt": 100 * n,
                "HasOverdueBill": 0,
                "ClientType": "new",
                "ProjectType": "self",
                "SalesUin": "",
                "SalesName": "",
                "Mail": "",
                "TransactionType": "2",
            }
            for n, uin in enumerate(OWNERS)
        ]
        return _paged(clients, params, "AgentClientSet")

    def _DescribeRebateInfos(self, params: dict[str, Any], not_ready: bool) -> dict[str, Any]:  # noqa: N802
        rebates = [
            {
                "Uin": PAYER,
                "RebateMonth": params.get("RebateMonth") or self.month,
                "Amt": 2682133,
                "MonthSales": 4873578,
                "QuarterSales": 10756003,
                "ExceptionFlag": "NORMAL",
            },
        ]
        return _paged(rebates, params, "RebateInfoSet")


def _paged(items: list[dict[str, Any]], params: dict[str, Any], set_name: str) -> dict[str, Any]:
    offset = int(params.get("Offset") or 0)
    limit = int(params.get("Limit") or 100)
    return {set_name: items[offset : offset + limit], "TotalCount": len(items)}


def _error(code: str, message: str) -> Answer:
    body = {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}
    return Answer(200, dumps_exact(body))
