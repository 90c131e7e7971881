"""The real Tencent SDK clients against the fake Tencent server: mapping and paging."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloudsettle.core.lines import BillingMode, ChargeCategory
from cloudsettle.core.money import ZERO, D
from cloudsettle.ingest.api.client import bill_lines, make_client
from cloudsettle.ingest.api.fake_tencent import OWNERS, PAYER, FakeTencent
from cloudsettle.ingest.api.tencent import TencentClient, fen_to_yuan
from tests.ingest.api.conftest import credentials


def _client(fake: FakeTencent, page_size: int = 10) -> TencentClient:
    return TencentClient(credentials("tencent"), endpoint=fake.endpoint, page_size=page_size)


def test_every_page_is_fetched_through_offset_and_context(tencent_fake: FakeTencent) -> None:
    pages = list(bill_lines(_client(tencent_fake), "2026-10"))
    assert [p.index for p in pages] == [0, 1, 2]
    assert tencent_fake.count("DescribeBillDetail") == 3
    assert [r.params["Offset"] for r in tencent_fake.requests] == [0, 10, 20]
    assert tencent_fake.contexts_received == ["ctx-10", "ctx-20"]
    assert pages[-1].next_token is None
    expected = sum(len(r["ComponentSet"]) for r in tencent_fake.records)
    assert sum(len(p.lines) for p in pages) == expected
    # the raw body is what the server sent: it reads back to the same records
    assert pages[0].payload()["Response"]["DetailSet"][0]["BillId"] == tencent_fake.records[0]["BillId"]


def test_a_record_maps_field_by_field(tencent_fake: FakeTencent) -> None:
    line = _client(tencent_fake).fetch_page("2026-10", None).lines[0]
    assert line.line_id == "202610000000000001#v_cvm_comp_0#v_cvm_item_0"
    assert (line.provider, line.account_id, line.payer_account_id) == ("tencent", OWNERS[0], PAYER)
    assert line.service == "p_cvm"
    assert line.list_amount == D("1.00000000")
    assert line.discount_amount == D("0.20000000")
    assert line.billed_amount == D("0.80000000")
    assert line.voucher_amount == D("0.08000000")
    assert all(isinstance(a, Decimal) for a in (line.list_amount, line.discount_amount, line.voucher_amount))
    assert line.billing_mode is BillingMode.ON_DEMAND
    assert line.charge_category is ChargeCategory.USAGE
    # 2026-10-01 00:00:00 Asia/Shanghai is 2026-09-30 16:00 UTC
    assert line.charge_start.isoformat() == "2026-09-30T16:00:00+00:00"
    assert line.charge_end.isoformat() == "2026-09-30T16:59:59+00:00"
    assert line.billing_period.isoformat() == "2026-10-01"
    assert line.currency == "CNY"


def test_refunds_adjustments_and_hidden_costs(tencent_fake: FakeTencent) -> None:
    page = _client(tencent_fake, 30).fetch_page("2026-10", None)
    lines = {line.line_id.removesuffix("#v_cvm_comp_0#v_cvm_item_0"): line for line in page.lines}
    refund = lines[tencent_fake.records[6]["BillId"]]
    assert refund.list_amount < 0
    assert refund.billed_amount == Decimal(tencent_fake.records[6]["ComponentSet"][0]["RealCost"])
    assert refund.charge_category is ChargeCategory.PURCHASE
    assert refund.extras["x_AssociatedOrder.PrepayPurchase"] == "2026090000000006"
    assert lines[tencent_fake.records[10]["BillId"]].charge_category is ChargeCategory.ADJUSTMENT
    hidden = lines[tencent_fake.records[12]["BillId"]]  # Cost "-": list is RealCost, no discount
    assert hidden.discount_amount == ZERO
    assert hidden.list_amount == Decimal(tencent_fake.records[12]["ComponentSet"][0]["RealCost"])


def test_summary_equals_the_sum_of_lines(tencent_fake: FakeTencent) -> None:
    client = _client(tencent_fake)
    lines = [line for page in bill_lines(client, "2026-10") for line in page.lines]
    totals = client.summary("2026-10")
    by_service: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        by_service[(line.currency, line.service)] = by_service.get((line.currency, line.service), ZERO) + (
            line.billed_amount
        )
    assert totals.by_service() == by_service
    assert totals.by_currency() == {"CNY": sum((line.billed_amount for line in lines), ZERO)}


def test_partners_amounts_in_fen_are_exact(tencent_fake: FakeTencent) -> None:
    (rebate,) = _client(tencent_fake).rebates("2026-10")
    assert rebate.amount == D("26821.33")
    assert rebate.month_sales == D("48735.78")
    assert rebate.quarter_sales == D("107560.03")
    assert rebate.month == "2026-10"
    assert tencent_fake.requests[-1].params["RebateMonth"] == "2026-10"


def test_fen_to_yuan() -> None:
    assert fen_to_yuan(125) == D("1.25")
    assert fen_to_yuan(-1) == D("-0.01")
    assert fen_to_yuan("100") == D("1.00")
    assert fen_to_yuan(10**20 + 1) == D("1000000000000000000.01")
    with pytest.raises(ValueError, match="whole number"):
        fen_to_yuan("1.5")
    with pytest.raises(TypeError):
        fen_to_yuan(1.5)  # type: ignore[arg-type]


def test_customers_and_adjustments(tencent_fake: FakeTencent) -> None:
    client = _client(tencent_fake)
    customers = client.customers()
    assert [c.account_id for c in customers] == list(OWNERS)
    assert customers[0].name == "Client 0"
    adjustments = client.adjustments("2026-10")
    # AdjustAmount is a JSON number (float in the SDK model): read from the body, exactly
    assert [a.amount for a in adjustments] == [D("-12.34"), D("0.1")]
    assert adjustments[0].kind == "reSettlement"
    assert adjustments[0].month == "2026-08"


def test_make_client_builds_the_sdk_client(tencent_fake: FakeTencent) -> None:
    client = make_client("tencent", credentials=credentials("tencent"), endpoint=tencent_fake.endpoint)
    assert client.provider == "tencent"
    assert client.fetch_page("2026-10", None).lines
    with pytest.raises(ValueError, match="credentials are for tencent"):
        make_client("huawei", credentials=credentials("tencent"))


def test_the_fake_requires_an_authorization_header(tencent_fake: FakeTencent) -> None:
    client = _client(tencent_fake)
    client.fetch_page("2026-10", None)
    assert tencent_fake.requests[0].authorization.startswith("TC3-HMAC-SHA256 Credential=AKIDfake0001/")
    answer = tencent_fake.answer("POST", "/", {"X-TC-Action": "DescribeBillDetail"}, b"{}")
    assert b"AuthFailure" in answer.body
