"""The version codec: exact round trip, canonical form and fingerprints."""

from __future__ import annotations

import dataclasses
import json
import string
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.config_file import ConfigError, load_config
from cloudsettle.config_file.codec import (
    decimal_text,
    version_fingerprint,
    version_from_dict,
    version_to_dict,
)
from cloudsettle.core.agreements import (
    MATCH_KEYS,
    AgreementVersion,
    Band,
    Base,
    Basis,
    Clawback,
    Fee,
    FxDate,
    Rounding,
    RoundingLevel,
    Rule,
    TierMethod,
    Tiers,
)
from cloudsettle.core.money import D, RoundingMode
from cloudsettle.core.periods import Cycle

EXAMPLE = Path(__file__).parent / "data" / "example.yaml"

# --- strategies: valid versions, built directly as core objects -------------------------------

#: Exact decimals of many scales, trailing zeros and exponent forms included (5E-8, 8.0E+1).
amounts = st.builds(lambda n, p: Decimal(n).scaleb(-p), st.integers(0, 10**12), st.integers(-2, 10))
names = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=8)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def windows(draw: st.DrawFn) -> tuple[date | None, date | None]:
    start = draw(st.none() | dates)
    end = draw(st.none() | st.integers(1, 800))
    if end is None:
        return start, None
    return start, (start or date(2000, 1, 1)) + timedelta(days=end)


@st.composite
def rules(draw: st.DrawFn, rule_id: str) -> Rule:
    match = draw(st.dictionaries(st.sampled_from(MATCH_KEYS),
                                 st.frozensets(names, min_size=1, max_size=3), max_size=3))
    valid_from, valid_to = draw(windows())
    return Rule(rule_id, draw(amounts), MappingProxyType(match), valid_from, valid_to)


@st.composite
def versions(draw: st.DrawFn) -> AgreementVersion:
    cycle = draw(st.sampled_from(Cycle))
    anchor = draw(dates) if cycle is Cycle.BIWEEKLY else None
    bases = [b for b in Basis
             if not (b is Basis.BILLING_PERIOD and cycle in (Cycle.WEEKLY, Cycle.BIWEEKLY))]
    rule_ids = draw(st.lists(names, unique=True, max_size=4))
    tiers = None
    if draw(st.booleans()):
        starts = sorted(draw(st.lists(amounts, min_size=1, max_size=4, unique=True)))
        tiers = Tiers(draw(st.sampled_from(TierMethod)),
                      tuple(Band(s, draw(amounts)) for s in starts))
    fees = tuple(
        Fee(i, percent=a) if draw(st.booleans()) else Fee(i, fixed=a)
        for i, a in zip(draw(st.lists(names, unique=True, max_size=3)),
                        draw(st.lists(amounts, min_size=3, max_size=3)), strict=False)
    )
    cap, floor = draw(st.none() | amounts), draw(st.none() | amounts)
    if cap is not None and floor is not None and floor > cap:
        cap, floor = floor, cap
    return AgreementVersion(
        version=draw(st.integers(1, 10_000)),
        effective_from=draw(dates),
        currency=draw(st.sampled_from(["CNY", "USD", "EUR", "JPY", "KWD"])),
        rules=tuple(draw(rules(i)) for i in rule_ids),
        timezone=draw(st.sampled_from(["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York"])),
        cycle=cycle,
        cycle_anchor=anchor,
        basis=draw(st.sampled_from(bases)),
        base=draw(st.sampled_from(Base)),
        include_tax=draw(st.booleans()),
        prorate=draw(st.booleans()),
        fx_date=draw(st.sampled_from(FxDate)),
        require_rule=draw(st.booleans()),
        exclude_services=draw(st.frozensets(names, max_size=3)),
        tiers=tiers,
        cap=cap,
        floor=floor,
        fees=fees,
        clawback=Clawback(draw(amounts), draw(st.none() | st.integers(0, 3650))),
        rounding=Rounding(draw(st.sampled_from(RoundingMode)), draw(st.sampled_from(RoundingLevel))),
    )


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=300, derandomize=True)
@given(versions())
def test_round_trip_through_json_is_exact(v: AgreementVersion) -> None:
    stored = json.dumps(version_to_dict(v), sort_keys=True, separators=(",", ":"))
    back = version_from_dict(json.loads(stored))
    assert back == v
    # Canonical: reading back and writing again gives the same text.
    assert json.dumps(version_to_dict(back), sort_keys=True, separators=(",", ":")) == stored
    assert version_fingerprint(back) == version_fingerprint(v)


@settings(max_examples=200, derandomize=True)
@given(versions(), st.integers(1, 10**6), st.integers(0, 12))
def test_any_changed_rate_changes_the_fingerprint(v: AgreementVersion, n: int, p: int) -> None:
    bump = Decimal(n).scaleb(-p)
    rule = Rule("extra", D("0.05"))
    v = dataclasses.replace(v, rules=(*v.rules, rule))
    bumped = dataclasses.replace(rule, rate=rule.rate + bump)
    changed = dataclasses.replace(v, rules=(*v.rules[:-1], bumped))
    assert version_fingerprint(changed) != version_fingerprint(v)


# --- examples ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_version() -> AgreementVersion:
    return load_config(EXAMPLE).agreements[0].versions[0]


def test_fingerprint_is_stable(example_version: AgreementVersion) -> None:
    again = load_config(EXAMPLE).agreements[0].versions[0]
    assert again is not example_version
    assert version_fingerprint(again) == version_fingerprint(example_version)
    # Pinned: a change here means every stored version would look changed.
    assert version_fingerprint(example_version) == (
        "0e7b2f016c6d586973a82a750e1db692ff793e498e1be93056e89d122315e37f")


def test_equal_values_spelt_differently_share_a_fingerprint(
        example_version: AgreementVersion) -> None:
    rule = example_version.rules[0]
    respelt = dataclasses.replace(example_version, rules=(
        dataclasses.replace(rule, rate=D("0.0800")), *example_version.rules[1:]))
    assert version_fingerprint(respelt) == version_fingerprint(example_version)
    bumped = dataclasses.replace(example_version, rules=(
        dataclasses.replace(rule, rate=D("0.0801")), *example_version.rules[1:]))
    assert version_fingerprint(bumped) != version_fingerprint(example_version)


def test_canonical_dict_uses_the_file_keys_and_plain_values(
        example_version: AgreementVersion) -> None:
    d = version_to_dict(example_version)
    assert list(d) == sorted(d)
    bands = [{"from": "0", "uplift": "0"}, {"from": "100000", "uplift": "0.02"}]
    assert d["tiers"] == {"bands": bands, "method": "marginal"}
    assert d["rules"][0] == {"id": "compute", "match": {"service_category": ["Compute"]},
                             "rate": "0.08", "valid_from": None, "valid_to": None}
    assert d["fees"] == [{"fixed": None, "id": "platform", "percent": "0.01"}]
    assert d["clawback"] == {"share": "1", "window_days": 90}
    assert (d["effective_from"], d["cycle"], d["timezone"]) == ("2026-01-01", "monthly", "Asia/Shanghai")


@pytest.mark.parametrize(
    ("value", "text"),
    [("0.080", "0.08"), ("1E+2", "100"), ("5E-8", "0.00000005"), ("-0.00", "0"),
     ("7.1234", "7.1234"), ("100000", "100000")],
)
def test_decimal_text(value: str, text: str) -> None:
    assert decimal_text(D(value)) == text


def test_from_dict_is_checked_like_the_file(example_version: AgreementVersion) -> None:
    d = version_to_dict(example_version)
    d["rules"][0]["rate"] = "1E-1"
    d["cycle"] = "weekly"
    with pytest.raises(ConfigError) as info:
        version_from_dict(d)
    assert [i.path for i in info.value.errors] == ["rules[0].rate"]
    d["rules"][0]["rate"] = "0.1"
    with pytest.raises(ConfigError, match=r"basis: billing_period needs a monthly"):
        version_from_dict(d)
    d["cycle"] = "monthly"
    d["extra"] = 1
    with pytest.raises(ConfigError, match="extra: unknown key"):
        version_from_dict(d)
