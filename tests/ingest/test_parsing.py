"""Shared cell parsers: the forms they accept and the ones they refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloudsettle.core.money import D
from cloudsettle.ingest.parsing import home_zone, parse_amount, parse_timestamp, provider_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("12,345,678.9", "12345678.9"),
        ("-12.30", "-12.30"),
        ("+5", "5"),
        ("(12.30)", "-12.30"),
        ("  7.25  ", "7.25"),
        ("0.00000080000", "0.00000080000"),
        (".5", "0.5"),
        ("1.2E-05", "0.000012"),
        ("", "0"),
        ("-", "0"),
        (" - ", "0"),
        ("NULL", "0"),
        (None, "0"),
    ],
)
def test_parse_amount_accepts(text: str | None, expected: str) -> None:
    result = parse_amount(text)
    assert result == D(expected)
    assert str(result) == str(D(expected))  # exact digits kept, not just an equal value


def test_parse_amount_negative_zero_is_zero() -> None:
    assert not parse_amount("-0.00").is_signed()


@pytest.mark.parametrize(
    "text", ["abc", "1,23", "12,34.5", "(1", "1)", "(-1)", "1..2", "1.2.3", "$5", "1 000", "nan", "inf"]
)
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expected a decimal number"):
        parse_amount(text)


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2024-12-31T16:00:00Z", "Asia/Shanghai", datetime(2024, 12, 31, 16, tzinfo=UTC)),
        ("2024-05-01T08:00:00+08:00", "UTC", datetime(2024, 5, 1, 0, tzinfo=UTC)),
        ("2024-05-01T08:00:00-0130", "UTC", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01 08:00:00", "Asia/Shanghai", datetime(2024, 5, 1, 0, tzinfo=UTC)),
        ("2024-05-01T08:00:00", "UTC", datetime(2024, 5, 1, 8, tzinfo=UTC)),
        ("2024/05/01 08:00:00", "Asia/Shanghai", datetime(2024, 5, 1, 0, tzinfo=UTC)),
        ("2024-05-01", "Asia/Shanghai", datetime(2024, 4, 30, 16, tzinfo=UTC)),
        ("2024-05-01", "UTC", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T08:00:00.5Z", "UTC", datetime(2024, 5, 1, 8, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, zone: str, expected: datetime) -> None:
    result = parse_timestamp(text, zone)
    assert result == expected
    assert result.utcoffset() is not None
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["yesterday", "2024-13-01", "2024-02-30", "01/05/2024", "2024-05-01T25:00:00", "2024-5-1"]
)
def test_parse_timestamp_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expected a date-time"):
        parse_timestamp(text, "UTC")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Tencent Cloud", "tencent"),
        ("TencentCloud International", "tencent"),
        ("Huawei Cloud", "huawei"),
        ("HUAWEI CLOUD", "huawei"),
        ("Amazon Web Services", "amazon-web-services"),
        ("AWS", "aws"),
        ("Microsoft", "microsoft"),
        ("  Google Cloud (GCP)!  ", "google-cloud-gcp"),
        ("Oracle__Cloud--Infra", "oracle-cloud-infra"),
    ],
)
def test_provider_key(name: str, key: str) -> None:
    assert provider_key(name) == key


def test_provider_key_refuses_a_name_without_letters() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        provider_key(" -- ")


def test_home_zone() -> None:
    assert home_zone("tencent") == "Asia/Shanghai"
    assert home_zone("huawei") == "Asia/Shanghai"
    assert home_zone("aws") == "UTC"
