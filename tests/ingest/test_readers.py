"""The single entry point: format detection, provider restriction, dispatch."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudsettle.core.lines import BillingLine
from cloudsettle.ingest.errors import UnknownFormatError
from cloudsettle.ingest.readers import (
    FOCUS_CSV,
    FOCUS_PARQUET,
    HUAWEI_COSTCENTER_EN,
    HUAWEI_DETAIL_CN,
    TENCENT_CONSOLE_CN,
    TENCENT_INTL_EN,
    TENCENT_RESELLER_EN,
    BillFormat,
    detect_format,
    iter_bill_file,
)
from cloudsettle.ingest.service_categories import CategoryMap
from tests.ingest.native_helpers import (
    HUAWEI_CN,
    HUAWEI_EN,
    TENCENT_CN,
    TENCENT_EN,
    TENCENT_RESELLER,
    UNKNOWN,
    lines,
    variants,
)

FOCUS_FILE = Path(__file__).parent / "data" / "focus12_extended.csv"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (TENCENT_CN, TENCENT_CONSOLE_CN),
        (TENCENT_EN, TENCENT_INTL_EN),
        (TENCENT_RESELLER, TENCENT_RESELLER_EN),
        (HUAWEI_CN, HUAWEI_DETAIL_CN),
        (HUAWEI_EN, HUAWEI_COSTCENTER_EN),
        (FOCUS_FILE, FOCUS_CSV),
    ],
)
def test_detects_every_fixture(path: Path, expected: BillFormat) -> None:
    assert detect_format(path) == expected


def test_parquet_is_detected_by_suffix(tmp_path: Path) -> None:
    assert detect_format(tmp_path / "bill.parquet") == FOCUS_PARQUET


@pytest.mark.parametrize("kind", ["gb18030", "bom", "gzip", "zip"])
def test_detection_through_wrappings(tmp_path: Path, kind: str) -> None:
    assert detect_format(variants(HUAWEI_CN, tmp_path)[kind]) == HUAWEI_DETAIL_CN


def test_unknown_header_is_refused_with_expected_and_found() -> None:
    with pytest.raises(UnknownFormatError) as info:
        detect_format(UNKNOWN)
    error = info.value
    assert error.found == ("Date", "Customer", "Amount", "Note")
    assert error.expected  # the closest format's headers
    message = str(error)
    for name in ("focus-csv", "tencent-console-cn", "huawei-costcenter-en"):
        assert name in message
    assert "Date, Customer, Amount, Note" in message


def test_provider_restricts_detection() -> None:
    assert detect_format(TENCENT_CN, provider="tencent") == TENCENT_CONSOLE_CN
    with pytest.raises(UnknownFormatError, match="not a huawei one"):
        detect_format(TENCENT_CN, provider="huawei")
    with pytest.raises(UnknownFormatError, match="not a focus one"):
        detect_format(HUAWEI_EN, provider="focus")
    with pytest.raises(ValueError, match="provider"):
        detect_format(TENCENT_CN, provider="aws")


def test_iter_bill_file_dispatches_and_applies_categories() -> None:
    custom = CategoryMap.shipped().with_overrides({"tencent": {"神秘产品": "Analytics"}})
    fmt, items = iter_bill_file(TENCENT_CN, categories=custom, source_name="x.csv")
    assert fmt == TENCENT_CONSOLE_CN
    got = lines(list(items))
    assert got[7].service_category == "Analytics"
    fmt, items = iter_bill_file(HUAWEI_EN, provider="huawei")
    assert fmt == HUAWEI_COSTCENTER_EN
    assert {line.provider for line in lines(list(items)).values()} == {"huawei"}


def test_focus_csv_goes_through_the_focus_reader_in_any_wrapping(tmp_path: Path) -> None:
    fmt, items = iter_bill_file(FOCUS_FILE)
    assert fmt == FOCUS_CSV
    plain = list(items)
    assert plain
    assert all(isinstance(i, BillingLine) for _, i in plain)
    for kind in ("gzip", "zip", "gb18030"):
        _, wrapped = iter_bill_file(variants(FOCUS_FILE, tmp_path)[kind], source_name=FOCUS_FILE.name)
        assert list(wrapped) == plain
