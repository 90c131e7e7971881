"""Loading the YAML configuration file: the spec's example, and every refusal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cloudsettle.config_file import ConfigBundle, ConfigError, load_config, load_config_text
from cloudsettle.core.agreements import (
    AgreementMode,
    Band,
    Base,
    Basis,
    Clawback,
    Fee,
    FxDate,
    Rounding,
    RoundingLevel,
    TierMethod,
)
from cloudsettle.core.fx import FxRate
from cloudsettle.core.money import D, RoundingMode
from cloudsettle.core.parties import Customer, Deal, Partner, Verification
from cloudsettle.core.periods import Cycle

DATA = Path(__file__).parent / "data"
EXAMPLE_PATH = DATA / "example.yaml"
EXAMPLE = EXAMPLE_PATH.read_text(encoding="utf-8")
RULE0 = "agreements[0].versions[0].rules[0]"
V0 = "agreements[0].versions[0]"


def mutate(*changes: tuple[str, str], text: str = EXAMPLE) -> str:
    """The example with each ``old`` text (which must occur exactly once) replaced."""
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def refuse(text: str, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, name="test.yaml", **kwargs)  # type: ignore[arg-type]
    return info.value


def paths(error: ConfigError) -> set[str]:
    return {issue.path for issue in error.errors}


def message_at(error: ConfigError, path: str) -> str:
    found = [i.message for i in error.errors if i.path == path]
    assert found, f"no issue at {path}: {error}"
    return found[0]


# --- the example of config.md -----------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> ConfigBundle:
    return load_config(EXAMPLE_PATH)


def test_example_parties(example: ConfigBundle) -> None:
    assert example.partners == (
        Partner("P-ACME", "Acme Cloud Services", "CNY", Verification.VERIFIED, D("100.00")),
    )
    assert example.customers == (Customer("tencent", "100012345678", "Blue River Games", "smb"),)
    assert example.deals == (
        Deal("D-1", "P-ACME", "tencent", "100012345678", "acme-2026", date(2026, 1, 1), None, None),
    )
    assert example.fx_rates == (FxRate(date(2026, 10, 1), "USD", "CNY", D("7.1234")),)
    assert example.payouts == {"P-ACME": {
        "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
        "account_name": "Acme Cloud Services GmbH",
    }}
    assert example.service_categories == {}
    assert "DE89370400440532013000" not in repr(example)  # payout details stay out of logs


def test_example_agreement(example: ConfigBundle) -> None:
    (agreement,) = example.agreements
    assert (agreement.id, agreement.partner_id, agreement.mode) == (
        "acme-2026", "P-ACME", AgreementMode.LIVE)
    (v,) = agreement.versions
    assert (v.version, v.effective_from, v.currency, v.timezone) == (
        1, date(2026, 1, 1), "CNY", "Asia/Shanghai")
    assert (v.cycle, v.cycle_anchor, v.basis, v.base, v.fx_date) == (
        Cycle.MONTHLY, None, Basis.BILLING_PERIOD, Base.NET, FxDate.CHARGE)
    assert (v.include_tax, v.prorate, v.require_rule, v.exclude_services) == (
        False, False, False, frozenset())
    compute, default = v.rules
    assert compute.id == "compute"
    assert compute.rate == D("0.08")
    assert str(compute.rate) == "0.08"
    assert dict(compute.match) == {"service_category": frozenset({"Compute"})}
    assert (default.id, default.rate, dict(default.match)) == ("default", D("0.05"), {})
    assert (default.valid_from, default.valid_to) == (None, None)
    assert v.tiers is not None
    assert v.tiers.method is TierMethod.MARGINAL
    assert v.tiers.bands == (Band(D("0"), D("0")), Band(D("100000"), D("0.02")))
    assert (v.cap, v.floor) == (None, None)
    assert v.fees == (Fee("platform", percent=D("0.01")),)
    assert v.clawback == Clawback(D("1"), 90)
    assert v.rounding == Rounding(RoundingMode.HALF_UP, RoundingLevel.STATEMENT)


def test_defaults_of_a_minimal_file() -> None:
    bundle = load_config_text(
        "partners: [{id: P, name: P, currency: EUR}]\n"
        "agreements:\n"
        "  - id: A\n    partner: P\n"
        "    versions: [{version: 1, effective_from: 2026-01-01, currency: EUR}]\n"
    )
    assert bundle.partners[0].verification is Verification.UNVERIFIED
    assert bundle.partners[0].minimum_payout == D("0")
    v = bundle.agreements[0].versions[0]
    assert (v.timezone, v.cycle, v.basis, v.base, v.rules, v.tiers, v.fees) == (
        "UTC", Cycle.MONTHLY, Basis.BILLING_PERIOD, Base.NET, (), None, ())
    assert v.clawback == Clawback(D("1"), None)
    assert bundle.payouts == {}


def test_empty_file_and_empty_sections_load_as_nothing() -> None:
    assert load_config_text("") == ConfigBundle()
    assert load_config_text("partners:\ndeals: []\n") == ConfigBundle()


def test_yaml_float_reads_as_the_exact_decimal() -> None:
    bundle = load_config_text(mutate(('rate: "0.08"', "rate: 0.1"),
                                     ('minimum_payout: "100.00"', "minimum_payout: 100000.50")))
    assert bundle.agreements[0].versions[0].rules[0].rate == D("0.1")
    assert str(bundle.agreements[0].versions[0].rules[0].rate) == "0.1"
    assert str(bundle.partners[0].minimum_payout) == "100000.50"


def test_versions_come_out_oldest_first() -> None:
    second = ("      - version: 1\n", "      - version: 2\n        effective_from: 2026-07-01\n"
              "        currency: CNY\n      - version: 1\n")
    versions = load_config_text(mutate(second)).agreements[0].versions
    assert [v.version for v in versions] == [1, 2]


def test_service_categories_pass_through() -> None:
    bundle = load_config_text(EXAMPLE + "service_categories:\n  tencent: {CVM: Compute, COS: Storage}\n")
    assert bundle.service_categories == {"tencent": {"CVM": "Compute", "COS": "Storage"}}


def test_known_ids_let_a_file_refer_to_stored_partners_and_agreements() -> None:
    text = ("deals:\n  - {id: D-9, partner: P-OLD, provider: huawei, account_id: c1,\n"
            "     agreement: old-2025, valid_from: 2026-01-01}\n")
    error = refuse(text)
    assert paths(error) == {"deals[0].partner", "deals[0].agreement"}
    bundle = load_config_text(text, known_partners={"P-OLD"}, known_agreements=["old-2025"])
    assert bundle.deals[0].agreement_id == "old-2025"


# --- refusals, one at a time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (('rate: "0.08"', "rate: 1e-1"), f"{RULE0}.rate", "not a plain decimal"),
        (('rate: "0.08"', "rate: 1.0e+3"), f"{RULE0}.rate", "exponent"),
        (('rate: "0.08"', "rate: 1.0E3"), f"{RULE0}.rate", "not a plain decimal"),
        (('rate: "0.08"', "rate: .nan"), f"{RULE0}.rate", "not a finite number"),
        (('rate: "0.08"', "rate: -.inf"), f"{RULE0}.rate", "not a finite number"),
        (('rate: "0.08"', 'rate: "NaN"'), f"{RULE0}.rate", "not a plain decimal"),
        (('rate: "0.08"', 'rate: "Infinity"'), f"{RULE0}.rate", "not a plain decimal"),
        (('rate: "0.08"', 'rate: "-0.08"'), f"{RULE0}.rate", "negative"),
        (('rate: "0.08"', "rate: true"), f"{RULE0}.rate", "boolean"),
        (("        prorate: false\n", "        prorate: false\n        prorata: true\n"),
         f"{V0}.prorata", "unknown key"),
        (("match: {service_category: [Compute]}", "match: {product: [Compute]}"),
         f"{RULE0}.match.product", "unknown match key"),
        (("match: {service_category: [Compute]}", "match: {service_category: Compute}"),
         f"{RULE0}.match.service_category", "list"),
        (("    name: Blue River Games\n", "    name: Blue River Games\n    nmae: x\n"),
         "customers[0].nmae", "unknown key"),
        (("        currency: CNY\n", ""), f"{V0}.currency", "required key is missing"),
        (('{from: "100000", uplift: "0.02"}', '{from: "0", uplift: "0.02"}'),
         f"{V0}.tiers.bands[1].from", "strictly ascending"),
        (('{id: platform, percent: "0.01"}', '{id: platform, percent: "0.01", fixed: "5"}'),
         f"{V0}.fees[0]", "exactly one of percent or fixed"),
        (('{id: platform, percent: "0.01"}', "{id: platform}"),
         f"{V0}.fees[0]", "exactly one of percent or fixed"),
        (("effective_from: 2026-01-01", "effective_from: 2026-02-30"),
         f"{V0}.effective_from", "not a valid date"),
        (("effective_from: 2026-01-01", 'effective_from: "01/01/2026"'),
         f"{V0}.effective_from", "not a valid date"),
        (("timezone: Asia/Shanghai", "timezone: Asia/Atlantis"), f"{V0}.timezone", "IANA"),
        (("cycle: monthly", "cycle: biweekly"), f"{V0}.cycle_anchor", "required when cycle"),
        (("cycle: monthly", "cycle: weekly"), f"{V0}.basis", "monthly or quarterly"),
        (("cycle: monthly", "cycle: Monthly"), f"{V0}.cycle", "'monthly'"),
        (("cycle_anchor: null", "cycle_anchor: 2026-01-05"), f"{V0}.cycle_anchor",
         "only for a biweekly cycle"),
        (("include_tax: false", "include_tax: 'no'"), f"{V0}.include_tax", "boolean"),
        (("window_days: 90", "window_days: -1"), f"{V0}.clawback.window_days", "0"),
        (("window_days: 90", 'window_days: "90"'), f"{V0}.clawback.window_days", "integer"),
        (("    currency: CNY\n    verification", "    currency: cny\n    verification"),
         "partners[0].currency", "ISO 4217"),
        (('account_id: "100012345678"\n    name', "account_id: 100012345678\n    name"),
         "customers[0].account_id", "quote"),
        (("valid_to: null            # open", "valid_to: 2025-12-31 # open"),
         "deals[0].valid_to", "after valid_from"),
        (('rate: "7.1234"', 'rate: "0"'), "fx_rates[0].rate", "greater than 0"),
        (("    partner: P-ACME\n    provider", "    partner: P-NOPE\n    provider"),
         "deals[0].partner", "unknown partner 'P-NOPE'"),
        (("    agreement: acme-2026\n", "    agreement: nope-2026\n"),
         "deals[0].agreement", "unknown agreement 'nope-2026'"),
        (("    partner: P-ACME\n    mode", "    partner: P-NOPE\n    mode"),
         "agreements[0].partner", "unknown partner 'P-NOPE'"),
        (("fx_rates:", "fx_rate:"), "fx_rate", "unknown section"),
    ],
)
def test_refused_with_the_path(change: tuple[str, str], path: str, words: str) -> None:
    error = refuse(mutate(change))
    assert words in message_at(error, path)
    # The rendered error names the file, the line and the path.
    assert any(line.startswith("test.yaml:") and f": {path}: " in line
               for line in str(error).splitlines())


def test_agreement_without_versions() -> None:
    error = refuse(mutate(("fx_rates:", "  - {id: empty, partner: P-ACME, versions: []}\nfx_rates:")))
    assert paths(error) == {"agreements[1].versions"}
    assert "at least 1" in message_at(error, "agreements[1].versions")


def test_duplicate_deal_id() -> None:
    deal = ("  - {id: D-1, partner: P-ACME, provider: huawei, account_id: x,\n"
            "     agreement: acme-2026, valid_from: 2026-01-01}\n")
    error = refuse(mutate(("agreements:", deal + "\nagreements:")))
    assert paths(error) == {"deals[1].id"}
    assert "duplicate deal id 'D-1' (first at deals[0])" in str(error)


@pytest.mark.parametrize(
    ("section_item", "section", "path", "words"),
    [
        ("  - {id: P-ACME, name: Again, currency: CNY}\n", "customers:", "partners[1].id",
         "duplicate partner id"),
        ("  - {provider: tencent, account_id: '100012345678'}\n", "deals:",
         "customers[1].account_id", "duplicate customer"),
        ("  - {date: 2026-10-01, from: USD, to: CNY, rate: '7.2'}\n", None, "fx_rates[1].to",
         "duplicate FX rate"),
    ],
)
def test_duplicates(section_item: str, section: str | None, path: str, words: str) -> None:
    text = mutate((section, section_item + section)) if section else EXAMPLE + section_item
    assert words in message_at(refuse(text), path)


def test_duplicate_agreement_id_and_version_number() -> None:
    copy = EXAMPLE[EXAMPLE.index("  - id: acme-2026"):EXAMPLE.index("fx_rates:")]
    error = refuse(mutate(("fx_rates:", copy + "fx_rates:")))
    assert paths(error) == {"agreements[1].id"}
    versions = refuse(mutate(("        rounding: {mode: half_up, level: statement}\n",
                              "        rounding: {mode: half_up, level: statement}\n"
                              "      - {version: 1, effective_from: 2026-06-01, currency: CNY}\n")))
    assert "duplicate version number '1'" in message_at(versions, "agreements[0].versions[1].version")


def test_deal_partner_must_match_its_agreement_partner() -> None:
    other = "  - {id: P-OTHER, name: Other, currency: CNY}\n"
    text = mutate(("customers:", other + "customers:"),
                  ("    partner: P-ACME\n    provider", "    partner: P-OTHER\n    provider"))
    assert "differs from the partner 'P-ACME' of agreement 'acme-2026'" in message_at(
        refuse(text), "deals[0].partner")


def test_repeated_key_and_bad_yaml_are_refused_with_the_line() -> None:
    error = refuse(mutate(("    name: Blue River Games\n", "    name: Blue River Games\n    name: B\n")))
    (issue,) = error.errors
    assert issue.line == EXAMPLE.splitlines().index("    name: Blue River Games") + 2
    assert "duplicate key 'name'" in issue.message
    assert refuse("partners: [\n").errors[0].message.startswith("not valid YAML")
    assert "mapping of sections" in refuse("- just a list\n").errors[0].message


def test_many_problems_are_reported_together_in_file_order() -> None:
    text = mutate(
        ("verification: verified", "verification: trusted"),
        ("    name: Blue River Games\n", "    name: Blue River Games\n    region: south\n"),
        ("    agreement: acme-2026\n", "    agreement: nope\n"),
        ('rate: "0.08"', "rate: 1e-1"),
        ('rate: "7.1234"', "rate: .nan"),
    )
    error = refuse(text)
    assert [i.path for i in error.errors] == [
        "partners[0].verification",
        "customers[0].region",
        "deals[0].agreement",
        f"{RULE0}.rate",
        "fx_rates[0].rate",
    ]
    lines = str(error).splitlines()
    assert len(lines) == 5
    assert all(line.startswith("test.yaml:") for line in lines)
    assert [i.line for i in error.errors] == sorted(i.line or 0 for i in error.errors)


def test_a_bad_value_does_not_hide_another_versions_cross_key_problem() -> None:
    text = mutate(
        ('rate: "0.08"', "rate: 1e-1"),
        ("        rounding: {mode: half_up, level: statement}\n",
         "        rounding: {mode: half_up, level: statement}\n"
         "      - {version: 2, effective_from: 2026-06-01, currency: CNY, cycle: weekly}\n"),
    )
    assert paths(refuse(text)) == {f"{RULE0}.rate", "agreements[0].versions[1].basis"}


def test_cross_key_problems_of_one_version_are_reported_together() -> None:
    text = mutate(
        ('{from: "100000", uplift: "0.02"}', '{from: "0", uplift: "0.02"}'),
        ('{id: platform, percent: "0.01"}', '{id: platform}'),
        ("cycle: monthly", "cycle: biweekly"),
    )
    assert paths(refuse(text)) == {
        f"{V0}.tiers.bands[1].from", f"{V0}.fees[0]", f"{V0}.cycle_anchor", f"{V0}.basis"}


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="cannot read the file") as info:
        load_config(missing)
    assert str(info.value).startswith(str(missing))
