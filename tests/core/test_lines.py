"""lines.py: the normalized billing line guards its own invariants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import D
from tests.core.settlement.factories import line


def test_customer_and_billed_amount() -> None:
    ln = line("L1", "100.50", discount_amount="20.25", voucher_amount="5", tax_amount="6")
    assert ln.customer == ("tencent", "100")
    assert ln.billed_amount == D("80.25")


def test_duration_seconds_is_exact_with_microseconds() -> None:
    ln = replace(line("L1", "1"), charge_end=datetime(2026, 10, 4, 0, 0, 0, 500, tzinfo=UTC))
    assert ln.duration_seconds == D("86400.0005")
    assert line("L2", "1").duration_seconds == 0


def test_amounts_must_be_decimal() -> None:
    with pytest.raises(TypeError, match="list_amount"):
        BillingLine("L", "tencent", "1", datetime(2026, 10, 1, tzinfo=UTC),
                    datetime(2026, 10, 1, tzinfo=UTC), date(2026, 10, 1), 5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tax_amount"):
        replace(line("L", "1"), tax_amount=1)


def test_times_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(line("L", "1"), charge_start=datetime(2026, 10, 1))
    with pytest.raises(ValueError, match="before charge_start"):
        line("L", "1", start="2026-10-03", end="2026-10-02")


def test_content_key_ignores_extras_but_sees_amounts() -> None:
    a = line("L", "1")
    assert replace(a, extras={"x_note": "n"}).content_key() == a.content_key()
    assert replace(a, list_amount=D("2")).content_key() != a.content_key()
    assert replace(a, extras={"x_note": "n"}) == a
