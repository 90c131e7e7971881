"""The structural diff of two versions: fields by name, rules by id, writing differences ignored."""

from __future__ import annotations

from cloudsettle.config_file.codec import version_to_dict
from cloudsettle.config_file.version_text import load_version_text
from cloudsettle.services.agreement_diff import changed, diff_versions, flatten, unified_text

BASE = """\
version: 1
effective_from: 2026-01-01
currency: CNY
rules:
  - {id: compute, match: {service_category: [Compute, AI]}, rate: "0.08"}
  - {id: rest, rate: "0.05"}
tiers: {method: marginal, bands: [{from: "0", uplift: "0"}, {from: "10000", uplift: "0.01"}]}
clawback: {share: "1", window_days: 90}
"""


def fields(a: str, b: str) -> dict[str, tuple[str | None, str | None, str]]:
    da, db = (version_to_dict(load_version_text(t)) for t in (a, b))
    return {f.path: (f.a, f.b, f.status) for f in changed(diff_versions(da, db))}


def test_writing_differences_are_no_change() -> None:
    rewritten = BASE.replace('"0.08"', '"0.080"').replace("[Compute, AI]", "[AI, Compute]")
    assert fields(BASE, rewritten) == {}


def test_an_inserted_rule_is_one_addition_and_a_new_order() -> None:
    inserted = BASE.replace("rules:\n", 'rules:\n  - {id: gpu, match: {service: [GPU]}, rate: "0.12"}\n')
    assert fields(BASE, inserted) == {
        "rules (order)": ("compute, rest", "gpu, compute, rest", "changed"),
        "rules[gpu].match.service": (None, "GPU", "added"),
        "rules[gpu].rate": (None, "0.12", "added"),
    }


def test_tiers_caps_windows_and_dates() -> None:
    other = (BASE.replace('{from: "10000", uplift: "0.01"}', '{from: "20000", uplift: "0.01"}')
             .replace("window_days: 90", "window_days: 30")
             .replace("effective_from: 2026-01-01", "effective_from: 2026-10-01")
             + 'cap: "3000.00"\n')
    assert fields(BASE, other) == {
        "effective_from": ("2026-01-01", "2026-10-01", "changed"),
        "tiers.bands[1].from": ("10000", "20000", "changed"),
        "cap": (None, "3000", "changed"),
        "clawback.window_days": ("90", "30", "changed"),
    }


def test_flatten_keeps_document_order_and_unset_values() -> None:
    flat = flatten(version_to_dict(load_version_text(BASE)))
    assert list(flat)[:3] == ["base", "basis", "cap"]  # the canonical document's sorted keys
    assert flat["cap"] is None
    assert flat["include_tax"] == "false"
    assert flat["rules[compute].match.service_category"] == "AI, Compute"


def test_unified_text() -> None:
    lines = unified_text("a: 1\nb: 2\n", "a: 1\nb: 3\n", a_label="v1", b_label="v2")
    assert lines[:2] == ["--- v1", "+++ v2"]
    assert "-b: 2" in lines
    assert "+b: 3" in lines
