"""The strict YAML reader: exact decimals, no floats, refused forms kept for the schema."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import yaml

from cloudsettle.config_file.yaml_reader import RefusedScalar, read_yaml
from cloudsettle.core.money import D


def test_yaml_floats_become_exact_decimals() -> None:
    data = read_yaml("a: 0.1\nb: 100000.50\nc: -0.125\nd: 1_000.5\ne: .5\n").data
    assert data == {"a": D("0.1"), "b": D("100000.50"), "c": D("-0.125"),
                    "d": D("1000.5"), "e": D("0.5")}
    assert all(type(v) is Decimal for v in data.values())
    # The source text is kept exactly, trailing zero included.
    assert str(data["b"]) == "100000.50"


def test_integers_and_dates_keep_their_types() -> None:
    data = read_yaml("n: 90\nm: -3\nday: 2026-01-01\ntext: '0.1'\n").data
    assert data == {"n": 90, "m": -3, "day": date(2026, 1, 1), "text": "0.1"}
    assert type(data["n"]) is int


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.0e+3", "exponent"),
        ("1.5E-2", "exponent"),
        (".nan", "finite"),
        (".NaN", "finite"),
        (".inf", "finite"),
        ("-.inf", "finite"),
        ("1:30.5", "plain decimal"),
        ("010", "octal"),
        ("0x1F", "octal"),
        ("1:30", "sexagesimal"),
    ],
)
def test_float_forms_without_exact_reading_are_refused_values(text: str, reason: str) -> None:
    value = read_yaml(f"x: {text}\n").data["x"]
    assert isinstance(value, RefusedScalar)
    assert value.text == text
    assert reason in value.reason


def test_exponent_without_point_or_sign_stays_text_for_the_schema() -> None:
    # YAML 1.1 reads these as strings; the schema then refuses them as numbers.
    assert read_yaml("a: 1e-1\nb: 1.0E3\n").data == {"a": "1e-1", "b": "1.0E3"}


def test_impossible_date_stays_text_instead_of_crashing() -> None:
    assert read_yaml("d: 2026-02-30\n").data == {"d": "2026-02-30"}


def test_repeated_key_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError, match="duplicate key 'rate'"):
        read_yaml("rules:\n  - id: a\n    rate: '0.1'\n    rate: '0.2'\n")


def test_line_of_points_at_the_key_or_its_nearest_parent() -> None:
    doc = read_yaml("a:\n  - x: 1\n  - x: 2\n    y: 3\n")
    assert doc.line_of(("a", 1, "y")) == 4
    assert doc.line_of(("a", 0, "x")) == 2
    assert doc.line_of(("a", 1, "missing")) == 3
    assert doc.line_of(("a", 7)) == 2


def test_empty_document() -> None:
    doc = read_yaml("# nothing\n")
    assert doc.data is None
    assert doc.line_of(("a",)) is None
