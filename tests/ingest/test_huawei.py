"""Huawei Cloud bill files: the Chinese consumption detail and the English Cost Center export."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cloudsettle.core.lines import BillingMode, ChargeCategory
from cloudsettle.core.money import D
from cloudsettle.ingest.errors import UnknownFormatError
from cloudsettle.ingest.huawei import bill_type_class, is_huawei_header, iter_huawei_csv
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.ingest.sources import read_header
from tests.ingest.native_helpers import HUAWEI_CN, HUAWEI_EN, TENCENT_CN, errors, lines, variants

CATEGORIES = CategoryMap.shipped()


def _read(path: Path, source_name: str | None = None) -> list:
    return list(iter_huawei_csv(path, categories=CATEGORIES, source_name=source_name))


def test_detects_each_format() -> None:
    assert is_huawei_header(read_header(HUAWEI_CN)) == "huawei-detail-cn"
    assert is_huawei_header(read_header(HUAWEI_EN)) == "huawei-costcenter-en"
    assert is_huawei_header(read_header(TENCENT_CN)) is None


def test_purchase_line() -> None:
    line = lines(_read(HUAWEI_CN))[2]
    assert line.provider == "huawei"
    assert line.account_id == "hwacct01"
    assert line.service == "hws.service.type.ec2"
    assert line.service_category == "Compute"
    assert line.charge_category is ChargeCategory.PURCHASE
    assert line.billing_mode is BillingMode.SUBSCRIPTION
    assert line.list_amount == D("1234.56")
    assert line.discount_amount == D("234.56")
    assert line.billed_amount == D("1000.00")
    assert line.voucher_amount == D("150.00")  # coupon 100 + cash coupon 50 + stored-value 0
    assert line.currency == "CNY"  # from the (¥) header suffix
    assert line.billing_period == date(2024, 5, 1)
    assert line.charge_start == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)  # GMT+08:00
    assert line.invoice_id == "CS24050100001"
    assert line.region == "cn-north-4"
    assert line.project == "default"


def test_usage_with_empty_and_dash_cells() -> None:
    line = lines(_read(HUAWEI_CN))[3]
    assert line.charge_category is ChargeCategory.USAGE
    assert line.billing_mode is BillingMode.ON_DEMAND
    assert line.voucher_amount == D(0)
    assert line.service_category == "Storage"


def test_refund_links_to_its_original() -> None:
    got = lines(_read(HUAWEI_CN))
    refund, original = got[4], got[2]
    assert refund.charge_category is ChargeCategory.PURCHASE
    assert refund.list_amount == D("-600.00")
    assert refund.discount_amount == D("-100.00")
    assert refund.voucher_amount == D("-50.00")
    assert refund.original_line_id == original.line_id


def test_refund_links_across_files(tmp_path: Path) -> None:
    text = HUAWEI_CN.read_bytes().decode("utf-8").splitlines()
    refund_only = tmp_path / "june.csv"
    refund_only.write_text(f"{text[0]}\n{text[3]}\n", "utf-8")
    original_id = lines(_read(HUAWEI_CN))[2].line_id
    assert lines(_read(refund_only))[2].original_line_id == original_id


def test_adjustment_and_tax() -> None:
    got = lines(_read(HUAWEI_CN))
    assert got[5].charge_category is ChargeCategory.ADJUSTMENT
    assert got[5].list_amount == D("-20.00")
    tax = got[6]
    assert tax.charge_category is ChargeCategory.TAX
    assert tax.tax_amount == D("60.00")


def test_bad_cell_names_file_row_and_column_and_the_rest_is_read() -> None:
    items = _read(HUAWEI_CN, source_name="hw.csv")
    (error,) = errors(items)
    assert (error.file_name, error.row_number, error.column) == ("hw.csv", 7, "交易时间")
    assert "2024-13-45" in error.value
    assert sorted(lines(items)) == [2, 3, 4, 5, 6, 8]


def test_cost_center_export() -> None:
    got = lines(_read(HUAWEI_EN))
    purchase, refund, usage = got[2], got[3], got[4]
    assert purchase.currency == "USD"  # "(USD)" header suffix
    assert purchase.voucher_amount == D("18.50")  # 10 + 5 + 2.50 + 1
    assert purchase.service_category == "Compute"
    assert purchase.payer_account_id == "reseller-payer"
    assert refund.list_amount == D("-150.00")  # positive in the file, a refund all the same
    assert refund.original_line_id == purchase.line_id
    assert usage.charge_category is ChargeCategory.USAGE
    assert usage.service_category == "Storage"


def test_measure_id_scales_to_yuan(tmp_path: Path) -> None:
    path = tmp_path / "fen.csv"
    path.write_text(
        "账期,账号,产品类型编码,订单号/交易号,账单类型,官网价(¥),优惠金额(¥),代金券抵扣(¥),使用开始时间,measure_id\n"
        "2024-05,a,hws.service.type.obs,TR-1,5,12345,345,100,2024-05-01 00:00:00,3\n"
        "2024-05,a,hws.service.type.obs,TR-2,5,1,0,0,2024-05-01 00:00:00,9\n",
        "utf-8",
    )
    items = _read(path)
    line = lines(items)[2]
    amounts = (line.list_amount, line.discount_amount, line.voucher_amount)
    assert amounts == (D("123.45"), D("3.45"), D("1.00"))
    (error,) = errors(items)
    assert error.column == "measure_id"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("1", "purchase"), ("5", "usage"), ("4", "refund"), ("20", "refund"), ("24", "refund"),
        ("9", "adjustment"), ("16", "adjustment"), ("15", "tax"), ("100", "tax"), ("102", "tax"),
        ("消费-新购", "purchase"), ("消费-使用", "usage"), ("退款-退订", "refund"),
        ("退款-包年/包月转按需", "refund"), ("调账-扣费", "adjustment"),
        ("Expenditure-purchase", "purchase"), ("Expenditure-use", "usage"),
        ("Refund-unsubscription", "refund"), ("Adjustment-compensation", "adjustment"),
    ],
)
def test_bill_types(text: str, kind: str) -> None:
    assert bill_type_class(text) == kind


def test_unknown_bill_type_code_is_an_error() -> None:
    with pytest.raises(ValueError, match="777"):
        bill_type_class("777")


@pytest.mark.parametrize("kind", ["gb18030", "bom", "gzip", "zip"])
def test_every_encoding_and_wrapping_gives_identical_lines(tmp_path: Path, kind: str) -> None:
    expected = _read(HUAWEI_CN, source_name="bill.csv")
    assert _read(variants(HUAWEI_CN, tmp_path)[kind], source_name="bill.csv") == expected


def test_line_ids_are_stable_and_unique() -> None:
    first = [line.line_id for line in lines(_read(HUAWEI_CN)).values()]
    assert first == [line.line_id for line in lines(_read(HUAWEI_CN)).values()]
    assert len(set(first)) == len(first)


def test_unknown_header_is_refused() -> None:
    with pytest.raises(UnknownFormatError) as info:
        _read(TENCENT_CN)
    assert "账期" in info.value.expected
    assert "使用者UIN" in info.value.found
