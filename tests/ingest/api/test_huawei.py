"""The real Huawei BSS SDK client against the fake Huawei server: mapping, paging, units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloudsettle.core.lines import BillingMode, ChargeCategory
from cloudsettle.core.money import ZERO, D
from cloudsettle.ingest.api.client import bill_lines, make_client
from cloudsettle.ingest.api.fake_huawei import CUSTOMERS, DETAIL_PATH, PARTNER, FakeHuawei
from cloudsettle.ingest.api.huawei import HuaweiClient, to_yuan
from tests.ingest.api.conftest import credentials


def _client(fake: FakeHuawei, page_size: int = 10) -> HuaweiClient:
    return HuaweiClient(credentials("huawei"), endpoint=fake.endpoint, page_size=page_size)


def test_every_page_is_fetched_with_offset_and_limit(huawei_fake: FakeHuawei) -> None:
    pages = list(bill_lines(_client(huawei_fake), "2026-10"))
    assert len(pages) == 3
    offsets = [r.params["offset"] for r in huawei_fake.requests if r.action == DETAIL_PATH]
    assert offsets == ["0", "10", "20"]
    assert sum(len(p.lines) for p in pages) == 25
    assert huawei_fake.requests[0].authorization.startswith("SDK-HMAC-SHA256 Access=AKIDfake0001")


def test_a_record_maps_exactly(huawei_fake: FakeHuawei) -> None:
    line = _client(huawei_fake).fetch_page("2026-10", None).lines[1]
    record = huawei_fake.records[1]
    assert line.line_id == "hw-2026-10-000001"
    assert (line.account_id, line.payer_account_id) == (CUSTOMERS[1], PARTNER)
    assert line.list_amount == record["official_amount"] == D("80.190001")
    assert line.discount_amount == record["official_discount_amount"]
    assert line.service == "hws.service.type.obs"
    assert line.billing_mode is BillingMode.SUBSCRIPTION
    assert line.charge_category is ChargeCategory.PURCHASE
    assert line.charge_start.isoformat() == "2026-10-02T01:00:00+00:00"
    assert line.billing_period.isoformat() == "2026-10-01"


def test_refunds_and_adjustments(huawei_fake: FakeHuawei) -> None:
    lines = _client(huawei_fake, 30).fetch_page("2026-10", None).lines
    assert lines[6].list_amount < 0
    assert lines[6].charge_category is ChargeCategory.PURCHASE  # a refund of a yearly/monthly purchase
    assert lines[10].charge_category is ChargeCategory.ADJUSTMENT
    assert lines[4].voucher_amount == huawei_fake.records[4]["coupon_amount"] == D("15.89")


@pytest.mark.parametrize("measure_id", [2, 3])
def test_measure_id_jiao_and_fen_are_converted(measure_id: int) -> None:
    with FakeHuawei(records=12) as yuan, FakeHuawei(records=12, measure_id=measure_id) as scaled:
        expected = _client(yuan, 30).fetch_page("2026-10", None).lines
        got = _client(scaled, 30).fetch_page("2026-10", None).lines
    amounts = [(x.list_amount, x.discount_amount, x.voucher_amount) for x in got]
    assert amounts == [(x.list_amount, x.discount_amount, x.voucher_amount) for x in expected]
    assert got[0].extras["x_measure_id"] == str(measure_id)


def test_to_yuan() -> None:
    assert to_yuan(Decimal("1234"), 3) == D("12.34")
    assert to_yuan(Decimal("123.4"), 2) == D("12.34")
    assert to_yuan(1234, 1) == D("1234")
    assert to_yuan("-2550", 3) == D("-25.50")
    assert to_yuan(None) == ZERO
    with pytest.raises(ValueError, match="measure_id"):
        to_yuan(Decimal(1), 4)
    with pytest.raises(TypeError):
        to_yuan(1.5)


def test_monthly_sums_equal_the_sum_of_lines(huawei_fake: FakeHuawei) -> None:
    client = _client(huawei_fake)
    lines = [line for page in bill_lines(client, "2026-10") for line in page.lines]
    totals = client.summary("2026-10")
    assert totals.by_currency() == {"CNY": sum((line.billed_amount for line in lines), ZERO)}
    assert len(totals.bodies) == 1


def test_customers_and_adjust_records(huawei_fake: FakeHuawei) -> None:
    client = _client(huawei_fake)
    assert [c.account_id for c in client.customers()] == list(CUSTOMERS)
    adjustments = client.adjustments("2026-10")
    assert [a.amount for a in adjustments] == [D("100.50"), D("-25.50")]  # the second is in fen
    request = huawei_fake.requests[-1]
    # the Asia/Shanghai month as a UTC range
    assert request.params["operation_time_begin"] == "2026-09-30T16:00:00Z"
    assert request.params["operation_time_end"] == "2026-10-31T15:59:59Z"
    assert client.rebates("2026-10") == []


def test_make_client_builds_the_sdk_client(huawei_fake: FakeHuawei) -> None:
    client = make_client("huawei", credentials=credentials("huawei"), endpoint=huawei_fake.endpoint)
    assert client.fetch_page("2026-10", None).lines
