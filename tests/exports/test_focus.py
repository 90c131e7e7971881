"""FOCUS 1.2 export: columns, values, and the round trip through both readers."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.money import D
from cloudsettle.exports.focus import (
    FOCUS_COLUMNS,
    SERVICE_CATEGORIES,
    billing_period_bounds,
    decimal_text,
    focus_columns,
    focus_service_category,
    provider_display_name,
    timestamp_text,
    write_focus,
)
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.focus import iter_focus_csv
from cloudsettle.ingest.focus_parquet import iter_focus_parquet

#: external-checks.md, "Columns FOCUS 1.2 makes unconditionally MUST-present" (CostAndUsage-D-*-M).
MUST_PRESENT_1_2 = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ContractedCost",
    "EffectiveCost",
    "ListCost",
    "InvoiceIssuerName",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
)
RECOMMENDED_1_2 = ("ChargeFrequency", "InvoiceId", "ServiceSubcategory")


def _line(**changes: object) -> BillingLine:
    values: dict[str, object] = {
        "line_id": "T-1",
        "provider": "tencent",
        "account_id": "100012345678",
        "payer_account_id": "reseller-001",
        "charge_start": datetime(2025, 1, 3, 2, tzinfo=UTC),
        "charge_end": datetime(2025, 1, 4, 2, tzinfo=UTC),
        "billing_period": date(2025, 1, 1),
        "list_amount": D("100.00"),
        "discount_amount": D("20.00"),
        "voucher_amount": D("5.00"),
        "tax_amount": D("4.80"),
        "currency": "CNY",
        "service": "CVM",
        "service_category": "Compute",
        "charge_category": ChargeCategory.USAGE,
        "billing_mode": BillingMode.ON_DEMAND,
        "region": "ap-guangzhou",
        "invoice_id": "INV-1",
    }
    values.update(changes)
    return BillingLine(**values)  # type: ignore[arg-type]


def _read(path: Path) -> list[BillingLine]:
    reader = iter_focus_parquet if path.suffix == ".parquet" else iter_focus_csv
    items = [item for _, item in reader(path)]
    errors = [i for i in items if isinstance(i, RowError)]
    assert errors == []
    return [i for i in items if isinstance(i, BillingLine)]


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


# --- columns and values -------------------------------------------------------------------


def test_every_must_present_and_recommended_column_is_written(tmp_path: Path) -> None:
    write_focus([_line()], tmp_path / "f.csv")
    header = (tmp_path / "f.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert set(MUST_PRESENT_1_2) <= set(header)
    assert set(RECOMMENDED_1_2) <= set(header)
    # FOCUS columns first, then the x_ columns.
    first_x = min(i for i, name in enumerate(header) if name.startswith("x_"))
    assert all(name.startswith("x_") for name in header[first_x:])
    assert header[:first_x] == list(FOCUS_COLUMNS)


def test_values_of_one_line(tmp_path: Path) -> None:
    write_focus([_line()], tmp_path / "f.csv", billing_account_name="Reseller Ltd")
    [row] = _csv_rows(tmp_path / "f.csv")
    assert row["BilledCost"] == "80.00"
    assert row["ListCost"] == "100.00"
    assert row["ContractedCost"] == row["EffectiveCost"] == "80.00"
    assert row["ChargeCategory"] == "Usage"
    assert row["ChargeClass"] == ""
    assert row["ChargeFrequency"] == "Usage-Based"
    assert row["ProviderName"] == row["PublisherName"] == row["InvoiceIssuerName"] == "Tencent Cloud"
    assert row["BillingAccountId"] == "reseller-001"
    assert row["BillingAccountName"] == "Reseller Ltd"
    assert row["SubAccountId"] == "100012345678"
    # January 2025 in Asia/Shanghai, as UTC instants.
    assert row["BillingPeriodStart"] == "2024-12-31T16:00:00Z"
    assert row["BillingPeriodEnd"] == "2025-01-31T16:00:00Z"
    assert row["ChargePeriodStart"] == "2025-01-03T02:00:00Z"
    assert row["PricingQuantity"] == "1.0"
    assert row["PricingUnit"] == "Charge"
    assert row["ServiceCategory"] == "Compute"
    assert row["ServiceSubcategory"] == "Other (Compute)"
    assert (row["x_VoucherAmount"], row["x_TaxAmount"]) == ("5.00", "4.80")
    assert row["x_LineId"] == "T-1"
    assert row["x_BillingMode"] == "on_demand"
    assert row["x_OriginalLineId"] == row["x_PaidAt"] == row["x_ServiceCategory"] == ""


def test_correction_refund_tax_and_unknown_category(tmp_path: Path) -> None:
    lines = [
        _line(line_id="c", is_correction=True, charge_category=ChargeCategory.ADJUSTMENT),
        _line(
            line_id="r",
            list_amount=D("-5000"),
            discount_amount=D("0"),
            original_line_id="T-0",
            charge_category=ChargeCategory.PURCHASE,
            billing_mode=BillingMode.SUBSCRIPTION,
        ),
        _line(line_id="t", charge_category=ChargeCategory.TAX, service_category="tax stuff"),
        _line(line_id="h", provider="huawei", service_category="storage"),
        _line(line_id="a", provider="amazon-web-services", billing_period=date(2025, 1, 1)),
    ]
    write_focus(lines, tmp_path / "f.csv")
    c, r, t, h, a = _csv_rows(tmp_path / "f.csv")
    assert (c["ChargeClass"], c["ChargeCategory"], c["PricingQuantity"]) == ("Correction", "Adjustment", "")
    assert (r["BilledCost"], r["ListCost"], r["x_OriginalLineId"]) == ("-5000.0", "-5000.0", "T-0")
    assert (r["ChargeCategory"], r["ChargeFrequency"]) == ("Purchase", "Recurring")
    assert (t["PricingQuantity"], t["PricingUnit"]) == ("", "")  # FOCUS: null on Tax rows
    assert (t["ServiceCategory"], t["x_ServiceCategory"]) == ("Other", "tax stuff")
    assert (h["ProviderName"], h["ServiceCategory"], h["x_ServiceCategory"]) == (
        "Huawei Cloud",
        "Storage",
        "storage",
    )
    assert a["ProviderName"] == "amazon-web-services"
    assert a["BillingPeriodStart"] == "2025-01-01T00:00:00Z"  # other providers: UTC


def test_helpers() -> None:
    assert provider_display_name("tencent") == "Tencent Cloud"
    assert provider_display_name("huawei") == "Huawei Cloud"
    assert provider_display_name("oracle") == "oracle"
    assert focus_service_category("databases") == "Databases"
    assert focus_service_category("CDN") == "Other"
    assert decimal_text(D("100")) == "100.0"
    assert decimal_text(D("1E-7")) == "0.0000001"
    assert decimal_text(D("-0.00")) == "0.00"
    assert decimal_text(D("1E+3")) == "1000.0"
    assert timestamp_text(datetime(2025, 1, 1, 8, tzinfo=UTC) + timedelta(microseconds=5)) == (
        "2025-01-01T08:00:00.000005Z"
    )
    start, end = billing_period_bounds(_line(billing_period=date(2024, 12, 1)))
    assert (timestamp_text(start), timestamp_text(end)) == ("2024-11-30T16:00:00Z", "2024-12-31T16:00:00Z")


def test_empty_payer_is_billed_to_the_account_itself(tmp_path: Path) -> None:
    write_focus([_line(payer_account_id="")], tmp_path / "f.csv")
    [line] = _read(tmp_path / "f.csv")
    assert line.payer_account_id == line.account_id == "100012345678"


def test_extras_and_sources(tmp_path: Path) -> None:
    lines = [
        _line(
            line_id="a",
            extras=MappingProxyType(
                {"x_OrderType": "5", "ChargeDescription": "ECS 1h", "BillingAccountName": "From file"}
            ),
        ),
        _line(line_id="b"),
    ]
    rows = {"a": ("batch-1", 2), "b": ("batch-1", 3)}
    count = write_focus(
        lines,
        tmp_path / "f.csv",
        extra_columns=["x_OrderType"],
        billing_account_name="Default",
        source=lambda line: rows[line.line_id],
    )
    assert count == 2
    a, b = _csv_rows(tmp_path / "f.csv")
    assert (a["x_OrderType"], a["ChargeDescription"], a["BillingAccountName"]) == ("5", "ECS 1h", "From file")
    assert (b["x_OrderType"], b["ChargeDescription"], b["BillingAccountName"]) == ("", "CVM usage", "Default")
    assert (a["x_SourceBatch"], a["x_SourceRow"], b["x_SourceRow"]) == ("batch-1", "2", "3")
    read = _read(tmp_path / "f.csv")
    assert read == lines
    assert read[0].extras["x_OrderType"] == "5"
    assert read[0].extras["x_SourceRow"] == "2"


def test_extra_columns_must_be_x_and_new() -> None:
    with pytest.raises(ValueError, match="must start with x_"):
        focus_columns(["OrderType"])
    with pytest.raises(ValueError, match="already written"):
        focus_columns(["x_LineId"])
    assert focus_columns(["x_A"], with_source=True)[-3:] == ("x_SourceBatch", "x_SourceRow", "x_A")


def test_parquet_types(tmp_path: Path) -> None:
    write_focus([_line()], tmp_path / "f.parquet", fmt="parquet")
    schema = pq.read_schema(tmp_path / "f.parquet")
    for name in (
        "BilledCost",
        "ListCost",
        "ContractedCost",
        "EffectiveCost",
        "PricingQuantity",
        "x_VoucherAmount",
        "x_TaxAmount",
    ):
        assert schema.field(name).type == pa.decimal128(38, 12), name
    for name in ("BillingPeriodStart", "ChargePeriodEnd", "x_PaidAt"):
        assert schema.field(name).type == pa.timestamp("us", tz="UTC"), name
    assert schema.field("BillingAccountId").type == pa.string()
    table = pq.read_table(tmp_path / "f.parquet")
    assert table.column("BilledCost").to_pylist() == [D("80")]


def test_parquet_refuses_to_round_more_than_12_places(tmp_path: Path) -> None:
    tiny = _line(list_amount=D("0.0000000000001"), discount_amount=D("0"))
    with pytest.raises(ValueError, match="more than 12 decimal places"):
        write_focus([tiny], tmp_path / "f.parquet", fmt="parquet")
    write_focus([tiny], tmp_path / "f.csv")  # CSV text carries any exact decimal
    assert _read(tmp_path / "f.csv") == [tiny]


def test_empty_export_has_the_header(tmp_path: Path) -> None:
    assert write_focus([], tmp_path / "f.csv") == 0
    assert write_focus([], tmp_path / "f.parquet", fmt="parquet") == 0
    assert pq.read_table(tmp_path / "f.parquet").num_rows == 0
    assert (tmp_path / "f.csv").read_text(encoding="utf-8").startswith("BilledCost,")


def test_golden_lines_round_trip(tmp_path: Path) -> None:
    golden = Path(__file__).parents[1] / "golden" / "cases"
    originals: list[BillingLine] = []
    for path in sorted(golden.glob("*/lines-*.csv")):
        originals.extend(_read(path))
    assert len(originals) > 100
    formats: tuple[Literal["csv", "parquet"], ...] = ("csv", "parquet")
    for fmt in formats:
        target = tmp_path / f"golden.{fmt}"
        assert write_focus(originals, target, fmt=fmt) == len(originals)
        assert _read(target) == originals


# --- the round-trip property --------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s != "NULL")
_OPTIONAL_TEXT = st.one_of(st.just(""), _TEXT)
_INSTANT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
# Below 10**14 with up to 12 places: list - discount keeps within the 28 significant digits
# of the default decimal context the readers compute in (parse_amount and the mapper round
# beyond that; 10**14 is a hundred trillion of any currency).
_AMOUNT = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(min_value=-(10**14), max_value=10**14),
    st.integers(min_value=0, max_value=12),
)


@st.composite
def billing_lines(draw: st.DrawFn) -> BillingLine:
    start = draw(_INSTANT)
    return BillingLine(
        line_id=draw(_TEXT),
        provider=draw(st.sampled_from(["tencent", "huawei", "aws", "google-cloud", "oracle"])),
        account_id=draw(_TEXT),
        payer_account_id=draw(_TEXT),
        charge_start=start,
        charge_end=start + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))),
        billing_period=date(draw(st.integers(2000, 2098)), draw(st.integers(1, 12)), 1),
        list_amount=draw(_AMOUNT),
        discount_amount=draw(_AMOUNT),
        voucher_amount=draw(_AMOUNT),
        tax_amount=draw(_AMOUNT),
        currency=draw(st.sampled_from(["CNY", "USD", "JPY", "EUR"])),
        service=draw(_OPTIONAL_TEXT),
        service_category=draw(st.sampled_from(SERVICE_CATEGORIES)),
        charge_category=draw(st.sampled_from(ChargeCategory)),
        billing_mode=draw(st.sampled_from(BillingMode)),
        region=draw(_OPTIONAL_TEXT),
        project=draw(_OPTIONAL_TEXT),
        resource_id=draw(_OPTIONAL_TEXT),
        invoice_id=draw(_OPTIONAL_TEXT),
        is_correction=draw(st.booleans()),
        paid_at=draw(st.one_of(st.none(), _INSTANT)),
        original_line_id=draw(st.one_of(st.none(), _TEXT)),
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@settings(max_examples=100, deadline=None)
@given(lines=st.lists(billing_lines(), min_size=1, max_size=5))
def test_export_reads_back_as_the_same_lines(
    fmt: Literal["csv", "parquet"], lines: list[BillingLine]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"lines.{fmt}"
        assert write_focus(lines, path, fmt=fmt) == len(lines)
        assert _read(path) == lines


def test_chinese_names_are_exported_in_ascii_and_read_back_as_they_were(tmp_path: Path) -> None:
    from dataclasses import replace as _replace

    from cloudsettle.ingest.errors import RowError as _RowError
    from cloudsettle.ingest.focus import iter_focus_csv as _read

    base = next(
        i
        for _, i in _read(
            Path(__file__).parents[1] / "golden" / "cases" / "01-worked-example" / "lines-2026-10.csv"
        )
        if not isinstance(i, _RowError)
    )
    line = _replace(base, service="云服务器", extras={"ChargeDescription": "包年包月新购 CPU"})
    target = tmp_path / "zh.csv"
    write_focus([line], target)
    with target.open(encoding="utf-8") as stream:
        row = next(csv.DictReader(stream))
    assert row["ServiceName"] == "Cloud Virtual Machine"
    assert row["x_ServiceNameLocal"] == "云服务器"
    assert row["ChargeDescription"].isascii()
    assert row["x_ChargeDescriptionLocal"] == "包年包月新购 CPU"
    back = next(i for _, i in _read(target) if not isinstance(i, _RowError))
    assert back.service == "云服务器"
    assert back.extras["ChargeDescription"] == "包年包月新购 CPU"
