"""One agreement version as text: the loader's rules with paths and lines, and a faithful writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudsettle.config_file.errors import ConfigError
from cloudsettle.config_file.loader import load_config, load_config_text
from cloudsettle.config_file.version_text import load_version_text, version_yaml
from cloudsettle.core.money import D

CASES = Path(__file__).parents[1] / "golden" / "cases"


def test_every_golden_version_survives_writing_and_reading_back() -> None:
    seen = 0
    for config in sorted(CASES.glob("*/config.yaml")):
        for agreement in load_config(config).agreements:
            for version in agreement.versions:
                text = version_yaml(version)
                assert load_version_text(text) == version, config
                assert ": 0." not in text  # amounts are quoted text, never YAML floats
                seen += 1
    assert seen > 40


def test_written_text_loads_inside_a_config_file_too() -> None:
    version = load_config(CASES / "08-tiers-marginal-with-refund" / "config.yaml").agreements[0].versions[0]
    item = "\n".join("        " + line if line else line for line in version_yaml(version).splitlines())
    text = ("partners: [{id: P, name: P, currency: CNY}]\n"
            "agreements:\n  - id: a\n    partner: P\n    versions:\n      -\n" + item + "\n")
    assert load_config_text(text).agreements[0].versions[0] == version


GOOD = """\
version: 2
effective_from: 2026-01-01
currency: CNY
rules:
  - id: compute
    match: {service_category: [Compute]}
    rate: "0.10"
  - id: rest
    rate: "0.05"
fees: [{id: platform, percent: "0.01"}]
"""


def test_a_good_version_reads_with_the_spec_defaults() -> None:
    version = load_version_text(GOOD)
    assert version.version == 2
    assert version.rules[0].rate == D("0.10")
    assert version.fees[0].percent == D("0.01")
    assert version.timezone == "UTC"


def test_every_problem_is_reported_with_its_path_and_line() -> None:
    bad = (GOOD.replace('rate: "0.10"', 'rate: "-0.1"')
           .replace("currency: CNY", "currency: cny")
           .replace('fees: [{id: platform, percent: "0.01"}]', 'fees: [{id: platform}]\nrulez: []'))
    with pytest.raises(ConfigError) as caught:
        load_version_text(bad)
    found = {(i.path, i.line) for i in caught.value.errors}
    assert found == {("currency", 3), ("rules[0].rate", 7), ("rulez", 11)}
    messages = {i.path: i.message for i in caught.value.errors}
    assert "must not be negative" in messages["rules[0].rate"]
    assert messages["rulez"] == "unknown key"


def test_cross_key_rules_are_the_loaders() -> None:
    with pytest.raises(ConfigError) as caught:
        load_version_text(GOOD.replace('fees: [{id: platform, percent: "0.01"}]',
                                       'fees: [{id: platform, percent: "0.01", fixed: "5"}]'))
    assert [(i.path, i.line) for i in caught.value.errors] == [("fees[0]", 10)]
    assert "exactly one of percent or fixed" in caught.value.errors[0].message


@pytest.mark.parametrize("text", ["rules: [", "- just\n- a list\n", ""])
def test_not_a_version_document(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_version_text(text)
    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].path == ""


def test_floats_and_exponents_are_refused_like_in_the_file() -> None:
    with pytest.raises(ConfigError) as caught:
        load_version_text(GOOD.replace('rate: "0.05"', "rate: 5e-2"))
    issue = caught.value.errors[0]
    assert (issue.path, issue.line) == ("rules[1].rate", 9)
    assert "exponent" in issue.message
