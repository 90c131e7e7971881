"""A fake Huawei Cloud BSS v2 server for the real ``huaweicloudsdkbss`` client.

It serves the REST paths the SDK calls (``reference/provider-formats.md``
§2.2) with JSON bodies, and errors as an HTTP status with
``{"error_code", "error_msg"}`` and an ``X-Request-Id`` header, which the SDK
raises as ``ClientRequestException`` (4xx) or ``ServerResponseException``
(5xx). Signatures are not checked, but the ``Authorization`` header must be
there.

Data is deterministic: ``records`` SubCustomerMonthlyBillDetail records with
exact JSON numbers (up to 8 decimals), refunds (bill type 4, negative) and
adjustments (9); the monthly sums computed from the same records; customers;
adjust records. ``measure_id`` 2 or 3 serves every detail amount in jiao or
fen (with ``measure_id`` on each record, as older data carries it).

Huawei documents no "bill not ready" answer, so :attr:`Faults.not_ready_first`
does nothing here.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cloudsettle.ingest.api.fake_common import Answer, FakeServer, dumps_exact

DETAIL_PATH = "/v2/bills/subcustomer-bills/res-fee-records"
MONTHLY_PATH = "/v2/bills/partner-bills/subcustomer-bills/monthly-sum"
CUSTOMERS_PATH = "/v2/partners/sub-customers/query"
ADJUST_PATH = "/v3/accounts/partner-accounts/adjust-records"

_SERVICES = ("hws.service.type.ec2", "hws.service.type.obs", "hws.service.type.evs")
CUSTOMERS = (
    "0a1b2c3d4e5f4a5b8c9d000000000001",
    "0a1b2c3d4e5f4a5b8c9d000000000002",
    "0a1b2c3d4e5f4a5b8c9d000000000003",
)
PARTNER = "f00dbeeff00dbeeff00dbeeff00dbeef"
_SCALE = {1: 0, 2: 1, 3: 2}


class FakeHuawei(FakeServer):
    """Huawei's BSS partner APIs, in memory."""

    def __init__(self, *, records: int = 25, month: str = "2026-10", measure_id: int = 1) -> None:
        super().__init__()
        if measure_id not in _SCALE:
            raise ValueError("measure_id must be 1 (yuan), 2 (jiao) or 3 (fen)")
        self.month = month
        self.measure_id = measure_id
        #: the records in yuan; :meth:`_detail` scales them to ``measure_id`` when serving.
        self.records = [self._record(i) for i in range(records)]

    def _record(self, i: int) -> dict[str, Any]:
        refund = i % 7 == 6
        adjustment = i % 11 == 10
        on_demand = i % 2 == 0 and not refund
        bill_type = 4 if refund else 9 if adjustment else 5 if on_demand else 1
        sign = Decimal(-1) if refund else Decimal(1)
        official = Decimal((i * 7919) % 90000 + 100).scaleb(-2) + Decimal(i % 9).scaleb(-6)
        discount = (official * Decimal("0.15")).quantize(Decimal("0.00000001"))
        coupon = (official * Decimal("0.05")).quantize(Decimal("0.01")) if i % 4 == 0 else Decimal(0)
        payment = official - discount - coupon
        day, hour = i % 28 + 1, i % 24
        return {
            "bill_cycle": self.month,
            "customer_id": CUSTOMERS[i % len(CUSTOMERS)],
            "association_type": "2",
            "service_type_code": _SERVICES[i % len(_SERVICES)],
            "resource_type_code": "hws.resource.type.vm",
            "service_type_name": "Elastic Cloud Server",
            "resource_type_name": "VM",
            "charging_mode": 3 if on_demand else 1,
            "trade_time": f"{self.month}-{day:02d}T{hour:02d}:00:00Z",
            "trade_id": f"CS2610{i:08d}",
            "id": f"hw-{self.month}-{i:06d}",
            "bill_detail_type": bill_type,
            "resource_id": f"res-{i:06d}",
            "resource_name": f"ecs-{i}",
            "region_code": "cn-north-4",
            "region_name": "CN North-Beijing4",
            "product_id": "00301-225015-0--0",
            "product_name": "s6.large.2",
            "official_amount": sign * official,
            "official_discount_amount": sign * discount,
            "payment_amount": sign * payment,
            "cash_amount": sign * payment,
            "credit_amount": Decimal(0),
            "coupon_amount": sign * coupon,
            "flexipurchase_coupon_amount": Decimal(0),
            "stored_value_card_amount": Decimal(0),
            "debt_amount": Decimal(0),
            "writeoff_amount": Decimal(0),
            "partner_id": PARTNER,
            "enterprise_project_id": "0",
            "order_type": 4 if refund else 1,
        }

    def monthly_sums(self) -> dict[tuple[str, str], Decimal]:
        """Official minus discount per (customer, service type), in yuan."""
        sums: dict[tuple[str, str], Decimal] = {}
        for r in self.records:
            key = (r["customer_id"], r["service_type_code"])
            sums[key] = sums.get(key, Decimal(0)) + r["official_amount"] - r["official_discount_amount"]
        return sums

    # -- protocol ---------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        params: dict[str, Any] = json.loads(body) if method == "POST" and body else dict(query)
        entry = self.log(parts.path, params, headers)
        if not entry.authorization:
            return _error(
                401, "APIG.0301", "Incorrect IAM authentication information: Authorization not found"
            )
        if self.faults.auth_error:
            return _error(
                401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail"
            )
        if entry.number in self.faults.throttle_calls:
            return _error(
                429, "APIG.0308", "The throttling threshold has been reached: policy user over ratelimit"
            )
        if entry.number in self.faults.server_error_calls:
            return _error(500, "CBC.0999", "Other errors.")
        routes = {
            ("GET", DETAIL_PATH): self._detail,
            ("GET", MONTHLY_PATH): self._monthly,
            ("POST", CUSTOMERS_PATH): self._customers,
            ("GET", ADJUST_PATH): self._adjust,
        }
        route = routes.get((method, parts.path))
        if route is None:
            return _error(
                404, "APIG.0101", "The API does not exist or has not been published in the environment."
            )
        if (
            route == self._detail
            and self.faults.drop_after_page is not None
            and self.detail_pages_served >= self.faults.drop_after_page
        ):
            return Answer(drop=True)
        return Answer(200, dumps_exact(route(params)), headers={"X-Request-Id": uuid.uuid4().hex})

    def _detail(self, params: dict[str, Any]) -> dict[str, Any]:
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 10)
        scale = _SCALE[self.measure_id]
        page = []
        for record in self.records[offset : offset + limit]:
            served = {k: (v.scaleb(scale) if isinstance(v, Decimal) else v) for k, v in record.items()}
            if self.measure_id != 1:
                served["measure_id"] = self.measure_id
            page.append(served)
        self.detail_pages_served += 1
        return {"total_count": len(self.records), "currency": "CNY", "fee_records": page}

    def _monthly(self, params: dict[str, Any]) -> dict[str, Any]:
        sums = [
            {
                "customer_id": customer,
                "cloud_service_type": service,
                "cloud_service_type_name": service,
                "bill_type": "0",
                "charge_mode": "1",
                "amount": amount,
                "debt_amount": Decimal(0),
                "adjustment_amount": Decimal(0),
                "discount_amount": Decimal(0),
                "measure_id": 1,
                "account_details": [],
                "resource_type_code": "",
                "resource_type_name": "",
            }
            for (customer, service), amount in sorted(self.monthly_sums().items())
        ]
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 10)
        return {"bill_sums": sums[offset : offset + limit], "count": len(sums), "currency": "CNY"}

    def _customers(self, params: dict[str, Any]) -> dict[str, Any]:
        infos = [
            {
                "customer": f"customer{n}",
                "account_name": f"customer{n}",
                "customer_id": customer,
                "associated_on": f"2025-0{n + 1}-01T00:00:00Z",
                "association_type": "2",
                "label": "",
                "verified_status": "1",
                "customer_type": 1,
                "customer_level": "V2",
                "email": "",
            }
            for n, customer in enumerate(CUSTOMERS)
        ]
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 10)
        return {"customer_infos": infos[offset : offset + limit], "count": len(infos)}

    def _adjust(self, params: dict[str, Any]) -> dict[str, Any]:
        records = [
            {
                "customer_id": CUSTOMERS[0],
                "customer_name": "customer0",
                "operation_type": "SOURCE_OPERATION_BEADJUST",
                "amount": "100.50",
                "currency": "CNY",
                "operation_time": f"{self.month}-03T02:00:00Z",
                "measure_id": 1,
                "trans_id": "TRANS0001",
            },
            {
                "customer_id": CUSTOMERS[1],
                "customer_name": "customer1",
                "operation_type": "SOURCE_OPERATION_BERETRIEVE",
                "amount": "-2550",
                "currency": "CNY",
                "operation_time": f"{self.month}-04T02:00:00Z",
                "measure_id": 3,
                "trans_id": "TRANS0002",
            },
        ]
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 10)
        return {"records": records[offset : offset + limit], "total_count": len(records)}


def _error(status: int, code: str, message: str) -> Answer:
    return Answer(
        status,
        dumps_exact({"error_code": code, "error_msg": message}),
        headers={"X-Request-Id": uuid.uuid4().hex},
    )
