"""Tencent Cloud bill files: Chinese console, international and reseller English files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cloudsettle.core.lines import BillingMode, ChargeCategory
from cloudsettle.core.money import D
from cloudsettle.ingest.errors import UnknownFormatError
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.ingest.sources import read_header
from cloudsettle.ingest.tencent import classify, is_tencent_header, iter_tencent_csv
from tests.ingest.native_helpers import (
    HUAWEI_CN,
    TENCENT_CN,
    TENCENT_EN,
    TENCENT_RESELLER,
    errors,
    lines,
    variants,
)

CATEGORIES = CategoryMap.shipped()


def _read(path: Path, source_name: str | None = None) -> list:
    return list(iter_tencent_csv(path, categories=CATEGORIES, source_name=source_name))


def test_detects_each_format() -> None:
    assert is_tencent_header(read_header(TENCENT_CN)) == "tencent-console-cn"
    assert is_tencent_header(read_header(TENCENT_EN)) == "tencent-intl-en"
    assert is_tencent_header(read_header(TENCENT_RESELLER)) == "tencent-reseller-en"
    assert is_tencent_header(read_header(HUAWEI_CN)) is None


def test_chinese_console_purchase_line() -> None:
    got = lines(_read(TENCENT_CN))
    line = got[2]
    assert line.provider == "tencent"
    assert line.account_id == "200000000001"
    assert line.payer_account_id == "100000000001"
    assert line.service == "云服务器"
    assert line.service_category == "Compute"
    assert line.charge_category is ChargeCategory.PURCHASE
    assert line.billing_mode is BillingMode.SUBSCRIPTION
    assert line.list_amount == D("1234.56")  # "1,234.56"
    assert line.discount_amount == D("234.56")  # 1,234.56 − 1,000.00
    assert line.voucher_amount == D("100.00")
    assert line.tax_amount == D(0)
    assert line.currency == "CNY"
    assert line.invoice_id == "20240501100000000001"
    assert line.charge_start == datetime(2024, 5, 1, 1, 30, tzinfo=UTC)  # 09:30 Shanghai
    assert line.paid_at == datetime(2024, 5, 1, 1, 30, tzinfo=UTC)
    assert line.billing_period == date(2024, 5, 1)
    assert line.region == "广州"
    assert line.resource_id == "ins-abc123"
    assert line.extras["tencent.transaction"] == "T-0001"


def test_billing_period_is_the_deduction_month_in_shanghai() -> None:
    line = lines(_read(TENCENT_CN))[3]
    # deducted 2024-06-01 01:00 Shanghai = 2024-05-31 17:00 UTC: the June bill
    assert line.paid_at == datetime(2024, 5, 31, 17, 0, tzinfo=UTC)
    assert line.billing_period == date(2024, 6, 1)
    assert line.charge_category is ChargeCategory.USAGE
    assert line.voucher_amount == D(0)  # empty cell
    assert line.service_category == "Storage"


def test_refund_keeps_category_negative_and_hidden_list_price() -> None:
    line = lines(_read(TENCENT_CN))[4]
    assert line.charge_category is ChargeCategory.PURCHASE
    assert line.list_amount == D("-500.00")  # 组件原价 is "-": the after-discount amount
    assert line.discount_amount == D(0)
    assert line.voucher_amount == D("-50.00")
    assert line.original_line_id is None  # the CSV has no link to the original order


def test_adjustment_and_missing_usage_times() -> None:
    line = lines(_read(TENCENT_CN))[5]
    assert line.charge_category is ChargeCategory.ADJUSTMENT
    assert line.charge_start == line.charge_end == line.paid_at
    assert line.service_category == "Databases"


def test_bad_cell_names_file_row_and_column_and_the_rest_is_read() -> None:
    items = _read(TENCENT_CN, source_name="may.csv")
    (error,) = errors(items)
    where = (error.file_name, error.row_number, error.column, error.value)
    assert where == ("may.csv", 6, "组件原价", "12,34x")
    assert sorted(lines(items)) == [2, 3, 4, 5, 7]
    assert lines(items)[7].service_category == "Other"


def test_international_file() -> None:
    got = lines(_read(TENCENT_EN))
    first = got[2]
    assert first.currency == "USD"
    assert first.list_amount == D("1200.00")
    assert first.discount_amount == D("120.00")
    assert first.voucher_amount == D("80.00")
    assert first.tax_amount == D("90.00")
    assert first.charge_category is ChargeCategory.PURCHASE
    assert got[3].voucher_amount == D(0)  # "-"
    refund = got[4]
    assert refund.charge_category is ChargeCategory.PURCHASE
    amounts = (refund.list_amount, refund.discount_amount, refund.tax_amount)
    assert amounts == (D("-400.00"), D("-40.00"), D("-30.00"))
    assert got[5].charge_category is ChargeCategory.ADJUSTMENT  # adjust-CR
    assert got[5].list_amount == D("-5.00")
    assert got[6].service_category == "Databases"


def test_reseller_file_uses_billable_month() -> None:
    got = lines(_read(TENCENT_RESELLER))
    assert got[3].paid_at is not None
    assert got[3].paid_at.month == 5
    assert got[3].billing_period == date(2024, 5, 1)  # Billable Month 2024-05
    assert got[2].service_category == "Compute"
    assert got[2].discount_amount == D("15.00")
    assert got[2].extras["tencent.customer_name"] == "Acme Ltd"


@pytest.mark.parametrize(
    ("kind", "mode", "expected"),
    [
        ("包年包月新购", BillingMode.SUBSCRIPTION, (ChargeCategory.PURCHASE, False)),
        ("按量计费小时结", BillingMode.ON_DEMAND, (ChargeCategory.USAGE, False)),
        ("退费", BillingMode.SUBSCRIPTION, (ChargeCategory.PURCHASE, True)),
        ("Pay-as-you-go reversal", BillingMode.ON_DEMAND, (ChargeCategory.USAGE, True)),
        ("prepay_return", BillingMode.SUBSCRIPTION, (ChargeCategory.PURCHASE, True)),
        ("pre_to_post", BillingMode.SUBSCRIPTION, (ChargeCategory.PURCHASE, True)),
        ("adjust-DR", BillingMode.ON_DEMAND, (ChargeCategory.ADJUSTMENT, False)),
        ("recon_increase", BillingMode.ON_DEMAND, (ChargeCategory.ADJUSTMENT, False)),
        ("调账补偿", BillingMode.ON_DEMAND, (ChargeCategory.ADJUSTMENT, False)),
        ("One-off RI Fee", BillingMode.RESERVED, (ChargeCategory.PURCHASE, False)),
    ],
)
def test_transaction_types(kind: str, mode: BillingMode, expected: tuple[ChargeCategory, bool]) -> None:
    assert classify(kind, mode) == expected


def test_line_ids_are_stable_and_unique() -> None:
    first = {n: line.line_id for n, line in lines(_read(TENCENT_CN)).items()}
    second = {n: line.line_id for n, line in lines(_read(TENCENT_CN)).items()}
    assert first == second
    assert len(set(first.values())) == len(first)
    assert all(i.startswith("h:") and len(i) == 34 for i in first.values())


def test_line_id_ignores_amounts_and_numbers_collisions(tmp_path: Path) -> None:
    text = TENCENT_CN.read_bytes().decode("utf-8").splitlines()
    header, row = text[0], text[1]
    changed = row.replace('"1,000.00"', '"999.00"')
    one = tmp_path / "one.csv"
    one.write_text(f"{header}\n{changed}\n", "utf-8")
    both = tmp_path / "both.csv"
    both.write_text(f"{header}\n{row}\n{changed}\n{row}\n", "utf-8")
    original = lines(_read(TENCENT_CN))[2].line_id
    assert lines(_read(one))[2].line_id == original  # a restated amount is the same line
    ids = [line.line_id for line in lines(_read(both)).values()]
    assert ids[0] == original
    assert ids[2] == original
    assert ids[1] not in (original,)  # same identity, other content: "#2"


@pytest.mark.parametrize("kind", ["gb18030", "bom", "gzip", "zip"])
def test_every_encoding_and_wrapping_gives_identical_lines(tmp_path: Path, kind: str) -> None:
    expected = _read(TENCENT_CN, source_name="bill.csv")
    assert _read(variants(TENCENT_CN, tmp_path)[kind], source_name="bill.csv") == expected


def test_unknown_header_is_refused() -> None:
    with pytest.raises(UnknownFormatError) as info:
        _read(HUAWEI_CN)
    assert "使用者UIN" in info.value.expected
    assert "账期" in info.value.found
