"""The FOCUS reader: the public sample, a FOCUS 1.2 file with x_ columns, bad input."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cloudsettle.core.findings import FindingKind
from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.money import D
from cloudsettle.core.revisions import LineOutcome, classify, content_hash
from cloudsettle.ingest.errors import RowError, UnknownFormatError
from cloudsettle.ingest.focus import is_focus_header, iter_focus_csv, read_focus_csv

SAMPLE = Path("/work/shared/data/focus-sample/focus_sample.csv")
DATA = Path(__file__).parent / "data"

needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="FOCUS sample not present")

HEADER = (
    "ProviderName,BillingAccountId,SubAccountId,BillingCurrency,BillingPeriodStart,"
    "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,BilledCost,ListCost,ServiceName"
)


def _row(n: int, cost: str = "1.00") -> str:
    return (
        f"AWS,1111,2222,USD,2024-09-01,Usage,2024-09-18T22:00:00Z,2024-09-18T23:00:00Z,"
        f"{cost},{cost},svc-{n}"
    )


def _lines(items: list[BillingLine | RowError]) -> list[BillingLine]:
    return [i for i in items if isinstance(i, BillingLine)]


def _errors(items: list[BillingLine | RowError]) -> list[RowError]:
    return [i for i in items if isinstance(i, RowError)]


# --- the public FOCUS 1.0 sample --------------------------------------------------------


@needs_sample
def test_sample_reads_whole() -> None:
    items = list(read_focus_csv(SAMPLE))
    assert _errors(items) == []
    lines = _lines(items)
    assert len(lines) == 1000
    assert Counter(line.provider for line in lines) == {"aws": 942, "microsoft": 51, "oracle": 7}
    assert Counter(line.charge_category for line in lines) == {
        ChargeCategory.USAGE: 997,
        ChargeCategory.ADJUSTMENT: 2,
        ChargeCategory.CREDIT: 1,
    }
    assert {line.currency for line in lines} == {"USD"}
    assert Counter(line.billing_period for line in lines) == {
        date(2024, 9, 1): 999,
        date(2024, 10, 1): 1,
    }
    assert len({line.line_id for line in lines}) == 1000  # no collisions in the sample
    assert all(line.line_id.startswith("h:") and len(line.line_id) == 34 for line in lines)


@needs_sample
def test_sample_amounts_are_exact_against_the_file_text() -> None:
    with SAMPLE.open(encoding="utf-8-sig", newline="") as f:
        raw = list(csv.DictReader(f))
    lines = _lines(list(read_focus_csv(SAMPLE)))
    for row, line in zip(raw, lines, strict=True):
        assert line.billed_amount == D(row["BilledCost"])
        assert line.list_amount == D(row["ListCost"])
        assert line.discount_amount == D(row["ListCost"]) - D(row["BilledCost"])
    # spot checks, digits as written in the file
    first = lines[0]
    assert str(first.list_amount) == str(D("0.00000080000"))
    assert first.billed_amount == D("0.00000080000")
    assert first.charge_start == datetime(2024, 9, 18, 22, tzinfo=UTC)
    assert first.account_id == "51738928782"
    assert first.payer_account_id == "1234567890123"
    assert first.service == "Amazon Simple Queue Service"
    assert first.extras["SkuId"] == "G95FST5FTYV3JSRX"
    credit = next(line for line in lines if line.charge_category is ChargeCategory.CREDIT)
    assert credit.billed_amount == D("-2.61370000000")
    assert credit.account_id == "11353890204"
    oracle = [line for line in lines if line.charge_category is ChargeCategory.ADJUSTMENT]
    assert sorted(line.billed_amount for line in oracle) == [D("0.08"), D("0.192")]
    assert all(line.list_amount == 0 for line in oracle)


@needs_sample
def test_sample_ids_stable_and_second_read_unchanged() -> None:
    first = _lines(list(read_focus_csv(SAMPLE)))
    second = _lines(list(read_focus_csv(SAMPLE)))
    assert [line.line_id for line in first] == [line.line_id for line in second]
    applied = classify(first, {})
    assert applied.counts[LineOutcome.NEW] == 1000
    again = classify(second, applied.newest)
    assert again.counts[LineOutcome.UNCHANGED] == 1000
    assert again.findings == ()


# --- a FOCUS 1.2 file with x_ columns ----------------------------------------------------


def test_focus12_maps_every_field() -> None:
    items = list(read_focus_csv(DATA / "focus12_extended.csv"))
    assert _errors(items) == []
    huawei, tencent, refund, aws = _lines(items)

    assert huawei == BillingLine(
        line_id="hw-1",
        provider="huawei",
        account_id="hw-cust-1",
        payer_account_id="hw-partner",
        invoice_id="INV-1",
        service="ECS",
        service_category="Compute",
        region="cn-north-4",
        project="ep-1",
        resource_id="i-abc",
        billing_mode=BillingMode.SAVINGS_PLAN,
        charge_category=ChargeCategory.USAGE,
        is_correction=False,
        charge_start=datetime(2025, 1, 5, 2, tzinfo=UTC),
        charge_end=datetime(2025, 1, 5, 3, tzinfo=UTC),
        billing_period=date(2025, 1, 1),  # 2024-12-31T16:00:00Z is January in Shanghai
        paid_at=datetime(2025, 1, 5, 3, 10, tzinfo=UTC),
        list_amount=D("100.00"),
        discount_amount=D("20.00"),
        voucher_amount=D("5.00"),
        tax_amount=D("4.80"),
        currency="CNY",
        original_line_id=None,
    )
    assert dict(huawei.extras) == {
        "BillingAccountName": "Reseller Ltd",
        "ChargeDescription": "ECS usage",
        "ResourceName": "web-1",
        "SkuId": "sku-1",
        "SkuPriceId": "sku-1-p",
        "SubAccountName": "Customer One",
        "Tags": '{"env": "prod"}',
        "x_OrderType": "5",
    }

    # Tencent: zone-less times are Asia/Shanghai; no SubAccountId -> BillingAccountId
    assert tencent.provider == "tencent"
    assert tencent.account_id == "100001"
    assert tencent.charge_start == datetime(2025, 1, 10, 0, tzinfo=UTC)
    assert tencent.charge_end == datetime(2025, 1, 10, 1, tzinfo=UTC)
    assert tencent.paid_at == datetime(2025, 1, 10, 0, 5, tzinfo=UTC)
    assert tencent.billing_period == date(2025, 1, 1)
    assert tencent.line_id.startswith("h:")  # empty x_LineId -> hashed identity
    assert tencent.charge_category is ChargeCategory.PURCHASE
    assert tencent.billing_mode is BillingMode.SUBSCRIPTION  # purchase, no x_BillingMode
    assert tencent.voucher_amount == 0
    assert tencent.tax_amount == 0
    assert tencent.invoice_id == ""

    assert refund.is_correction
    assert refund.original_line_id == "hw-1"
    assert refund.billing_period == date(2025, 2, 1)
    assert refund.list_amount == D("-100.00")
    assert refund.billed_amount == D("-80.00")
    assert refund.voucher_amount == D("-5.00")
    assert refund.tax_amount == D("-4.80")
    assert refund.billing_mode is BillingMode.ON_DEMAND  # PricingCategory Standard

    assert aws.provider == "amazon-web-services"
    assert aws.billing_mode is BillingMode.SUBSCRIPTION  # Recurring wins over Committed
    assert aws.list_amount == D("30.00")  # ListCost NULL -> BilledCost
    assert aws.discount_amount == 0
    assert aws.billing_period == date(2025, 1, 1)


def test_hashed_id_ignores_amounts_and_numbers_colliding_rows(tmp_path: Path) -> None:
    path = tmp_path / "collide.csv"
    path.write_text(
        "\n".join([HEADER, _row(1, "1.00"), _row(1, "2.00"), _row(1, "1.00"), _row(1, "3.00")])
        + "\n",
        encoding="utf-8",
    )
    lines = _lines(list(read_focus_csv(path)))
    ids = [line.line_id for line in lines]
    assert ids[0] == ids[2]  # identical rows: same id, a duplicate for classify()
    assert len({ids[0], ids[1], ids[3]}) == 3  # same identity, other content: #2, #3
    assert ids == [line.line_id for line in _lines(list(read_focus_csv(path)))]
    # the first row's id does not depend on its amount
    other = tmp_path / "other.csv"
    other.write_text(f"{HEADER}\n{_row(1, '9.99')}\n", encoding="utf-8")
    assert _lines(list(read_focus_csv(other)))[0].line_id == ids[0]
    outcome = classify(lines, {})
    assert [c.outcome for c in outcome.lines] == [
        LineOutcome.NEW,
        LineOutcome.NEW,
        LineOutcome.DUPLICATE,
        LineOutcome.NEW,
    ]
    assert [f.kind for f in outcome.findings] == [FindingKind.DUPLICATE_LINE]


# --- bad input ---------------------------------------------------------------------------


def test_bad_values_are_row_errors_and_reading_goes_on() -> None:
    results = dict(iter_focus_csv(DATA / "bad_values.csv"))
    assert sorted(results) == [2, 3, 4, 5, 6, 7, 8]
    good = results[2]
    assert isinstance(good, BillingLine)
    assert good.billed_amount == D("1234.56")
    assert good.list_amount == 0  # "-" is zero
    bad = results[3]
    assert isinstance(bad, RowError)
    assert bad == RowError("bad_values.csv", 3, "BilledCost", "abc", bad.message)
    assert "expected a decimal number" in bad.message
    finding = bad.to_finding()
    assert finding.kind is FindingKind.BAD_ROW
    assert "bad_values.csv" in finding.message
    assert "row 3" in finding.message
    assert "BilledCost" in finding.message
    # three date formats in one row
    mixed = results[4]
    assert isinstance(mixed, BillingLine)
    assert mixed.billing_period == date(2024, 9, 1)
    assert mixed.charge_start == datetime(2024, 9, 18, 22, tzinfo=UTC)
    assert mixed.charge_end == datetime(2024, 9, 18, 23, tzinfo=UTC)
    assert mixed.billed_amount == D("-12.30")
    assert mixed.list_amount == D("15.00")
    spaced = results[5]
    assert isinstance(spaced, BillingLine)
    assert spaced.list_amount == D("7.5")
    assert spaced.charge_end == datetime(2024, 9, 18, 22, 30, tzinfo=UTC)
    for number, column in [(6, "ChargeCategory"), (7, "ChargePeriodEnd"), (8, "BillingPeriodStart")]:
        error = results[number]
        assert isinstance(error, RowError)
        assert (error.row_number, error.column) == (number, column)


def test_truncated_last_row(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    text = f"{HEADER}\n{_row(1)}\n{_row(2)}\n{_row(3)}\n"
    path.write_text(text[: -len("1.00,svc-3\n") - 3], encoding="utf-8")  # cut inside row 4
    items = list(read_focus_csv(path))
    assert len(_lines(items)) == 2
    (error,) = _errors(items)
    assert error.row_number == 4
    assert error.column == "ListCost"  # the row ends inside BilledCost: "1.0"
    assert "truncated" in error.message


def test_a_row_with_too_many_cells(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(f"{HEADER}\n{_row(1)},extra\n{_row(2)}\n", encoding="utf-8")
    items = list(read_focus_csv(path))
    (error,) = _errors(items)
    assert (error.row_number, error.column, error.value) == (2, "(extra cells)", "extra")
    assert len(_lines(items)) == 1


def test_missing_column_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nocost.csv"
    header = HEADER.replace("BilledCost,", "")
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(UnknownFormatError) as info:
        list(read_focus_csv(path))
    assert info.value.missing == ("BilledCost",)
    assert "BilledCost" in info.value.expected
    assert "ProviderName" in info.value.found
    assert "nocost.csv" in str(info.value)
    assert "missing columns: BilledCost" in str(info.value)


def test_account_column_is_required(tmp_path: Path) -> None:
    headers = HEADER.replace("BillingAccountId,SubAccountId,", "").split(",")
    assert not is_focus_header(headers)
    assert is_focus_header([*headers, "BillingAccountId"])
    path = tmp_path / "noaccount.csv"
    path.write_text(",".join(headers) + "\n", encoding="utf-8")
    with pytest.raises(UnknownFormatError, match="SubAccountId or BillingAccountId"):
        list(read_focus_csv(path))


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(UnknownFormatError):
        list(read_focus_csv(path))


def test_missing_required_value(tmp_path: Path) -> None:
    path = tmp_path / "nullcost.csv"
    path.write_text(f"{HEADER}\n{_row(1, 'NULL')}\n", encoding="utf-8")
    (error,) = list(read_focus_csv(path))
    assert isinstance(error, RowError)
    assert (error.row_number, error.column) == (2, "BilledCost")


@pytest.mark.parametrize("bom", [True, False])
def test_bom_and_no_bom_read_the_same(tmp_path: Path, bom: bool) -> None:
    path = tmp_path / "bom.csv"
    data = f"{HEADER}\r\n{_row(1, '2.50')}\r\n".encode()
    path.write_bytes(("\ufeff".encode() if bom else b"") + data)
    (line,) = list(read_focus_csv(path))
    assert isinstance(line, BillingLine)
    assert line.provider == "aws"
    assert line.billed_amount == D("2.50")
    plain = tmp_path / "plain.csv"
    plain.write_bytes(data)
    (reference,) = list(read_focus_csv(plain))
    assert isinstance(reference, BillingLine)
    assert line.line_id == reference.line_id
    assert content_hash(line) == content_hash(reference)


def test_source_name_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "ab" / "cdef0123.csv"
    path.parent.mkdir()
    path.write_text(f"{HEADER}\n{_row(1, 'abc')}\n", encoding="utf-8")
    (error,) = list(read_focus_csv(path, source_name="bill-2024-09.csv"))
    assert isinstance(error, RowError)
    assert error.file_name == "bill-2024-09.csv"


def test_hundred_thousand_rows_with_one_bad(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    bad_index = 61_234  # 0-based data row -> spreadsheet row 61,236
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        for i in range(100_000):
            cost = "abc" if i == bad_index else f"{i % 997}.{i % 100:02d}"
            f.write(_row(i, cost) + "\n")
    lines = 0
    errors: list[RowError] = []
    total = D(0)
    for item in read_focus_csv(path):
        if isinstance(item, RowError):
            errors.append(item)
        else:
            lines += 1
            total += item.billed_amount
    assert lines == 99_999
    assert len(errors) == 1
    assert errors[0].row_number == bad_index + 2
    assert errors[0].column == "BilledCost"
    expected = sum(
        (D(f"{i % 997}.{i % 100:02d}") for i in range(100_000) if i != bad_index), D(0)
    )
    assert total == expected


def test_blank_lines_keep_their_row_number(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(f"{HEADER}\n{_row(1)}\n\n{_row(2, 'x')}\n", encoding="utf-8")
    items = list(read_focus_csv(path))
    assert len(_lines(items)) == 1
    (error,) = _errors(items)
    assert error.row_number == 4  # header 1, row 2, blank 3, bad row 4
