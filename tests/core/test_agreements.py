"""agreements.py: the governing version of a period and rule validity windows."""

from __future__ import annotations

from datetime import date

from cloudsettle.core.agreements import Agreement, Rule, version_effective_on
from cloudsettle.core.money import D
from cloudsettle.core.periods import parse_period
from tests.core.settlement.factories import version

V1 = version(number=1, effective="2026-01-01")
V2 = version(number=2, effective="2026-10-01")
V3 = version(number=3, effective="2026-11-02")
AGREEMENT = Agreement("acme", "P-ACME", (V1, V2, V3))


def test_version_effective_on_the_periods_first_day_governs() -> None:
    assert AGREEMENT.version_for(parse_period("2026-10")) is V2


def test_version_effective_on_the_second_day_does_not_govern() -> None:
    assert AGREEMENT.version_for(parse_period("2026-11")) is V2
    assert AGREEMENT.version_for(parse_period("2026-12")) is V3


def test_no_version_before_the_first() -> None:
    assert AGREEMENT.version_for(parse_period("2025-12")) is None


def test_quarter_and_week_use_their_first_day() -> None:
    assert AGREEMENT.version_for(parse_period("2026-Q4")) is V2
    assert AGREEMENT.version_for(parse_period("2026-Q3")) is V1
    # 2026-W45 runs 2026-11-02..08: V3 is effective on its first day.
    assert AGREEMENT.version_for(parse_period("2026-W45")) is V3
    assert AGREEMENT.version_for(parse_period("2026-W44")) is V2


def test_versions_in_any_order_and_same_day_takes_the_higher_number() -> None:
    v4 = version(number=4, effective="2026-10-01")
    assert version_effective_on((V3, v4, V1, V2), date(2026, 10, 15)) is v4
    assert version_effective_on((), date(2026, 10, 15)) is None


def test_lookup_by_number_and_reference_version() -> None:
    assert AGREEMENT.version_numbered(2) is V2
    assert AGREEMENT.version_numbered(9) is None
    assert Agreement("a", "p", (V3, V1, V2)).reference_version is V1


def test_rule_window_is_half_open() -> None:
    r = Rule("promo", D("0.1"), valid_from=date(2026, 10, 10), valid_to=date(2026, 10, 20))
    assert not r.valid_on(date(2026, 10, 9))
    assert r.valid_on(date(2026, 10, 10))
    assert r.valid_on(date(2026, 10, 19))
    assert not r.valid_on(date(2026, 10, 20))
    assert Rule("open", D("0.1")).valid_on(date(1900, 1, 1))
    assert Rule("until", D("0.1"), valid_to=date(2026, 1, 1)).valid_on(date(2025, 12, 31))
