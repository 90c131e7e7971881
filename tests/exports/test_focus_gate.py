"""scripts/focus_gate.py on hand-written JUnit XML: which failures pass the gate and why."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

GATE = Path(__file__).parents[2] / "scripts" / "focus_gate.py"


@pytest.fixture(scope="module")
def gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("focus_gate", GATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["focus_gate"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _xml(tmp_path: Path, cases: dict[str, str]) -> Path:
    """``{"Rule-Id :: Kind": "passed|failed|error|skipped"}`` as validator-style JUnit XML."""
    body = []
    for name, status in cases.items():
        child = {
            "passed": "",
            "failed": '<failure message="check Failed" />',
            "error": '<error message="rule failed [Upstream dependency failed]" />',
            "skipped": '<skipped message="not applicable" />',
        }[status]
        body.append(f'<testcase name="{name}" time="0">{child}</testcase>')
    path = tmp_path / "junit.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="FOCUS Validations">'
        f'<testsuite name="s">{"".join(body)}</testsuite></testsuites>',
        encoding="utf-8",
    )
    return path


BASE = {
    "BilledCost-C-000-M :: Composite": "passed",
    "BilledCost-C-003-M :: Nullability": "passed",
    "InvoiceId-C-003-C :: Composite": "passed",
    "InvoiceId-C-004-C :: Nullability": "failed",
    "EffectiveCost-C-005-C :: Validation": "failed",
    "AvailabilityZone-C-000-C :: Composite": "skipped",
}


def test_known_artifacts_pass(gate: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gate.main([str(_xml(tmp_path, BASE))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("FOCUS gate: PASS")
    assert "6 checked, 3 passed, 2 failed, 0 errors, 1 skipped; 2 excused" in out
    assert "excused InvoiceId-C-004-C" in out
    assert "excused EffectiveCost-C-005-C" in out


def test_a_real_failure_fails(gate: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        **BASE,
        "BilledCost-C-003-M :: Nullability": "failed",
        "BilledCost-C-000-M :: Composite": "failed",
    }
    assert gate.main([str(_xml(tmp_path, cases))]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FOCUS gate: FAIL BilledCost-C-000-M, BilledCost-C-003-M")


def test_an_error_fails(gate: ModuleType, tmp_path: Path) -> None:
    cases = {**BASE, "ServiceName-C-001-M :: None": "error"}
    assert gate.main([str(_xml(tmp_path, cases))]) == 1


def test_invoice_id_nullability_or_is_excused_whole(gate: ModuleType, tmp_path: Path) -> None:
    """A file with invoiced and non-invoiced rows fails both branches and the OR itself."""
    cases = {
        **BASE,
        "InvoiceId-C-000-O :: Composite": "failed",
        "InvoiceId-C-003-C :: Composite": "failed",
        "InvoiceId-C-005-C :: Nullability": "failed",
    }
    assert gate.main([str(_xml(tmp_path, cases))]) == 0
    cases["InvoiceId-C-002-M :: Format"] = "failed"  # a real InvoiceId failure is still one
    real, _ = gate.judge(gate.read_cases(_xml(tmp_path, cases)), csv_input=False)
    assert {c.rule for c in real} == {"InvoiceId-C-002-M", "InvoiceId-C-000-O"}


def test_csv_type_inference_is_excused_for_csv_only(gate: ModuleType, tmp_path: Path) -> None:
    cases = {
        **BASE,
        "BillingAccountId-C-002-M :: Type": "failed",
        "BillingAccountId-C-000-M :: Composite": "failed",
        "PricingQuantity-C-001-M :: Type": "failed",
        "PricingQuantity-C-000-M :: Composite": "failed",
    }
    xml = str(_xml(tmp_path, cases))
    assert gate.main([xml, "--csv"]) == 0
    assert gate.main([xml]) == 1  # Parquet carries its types: the same failure is real


def test_a_composite_with_a_real_failing_child_is_real(gate: ModuleType, tmp_path: Path) -> None:
    cases = {
        **BASE,
        "BillingAccountId-C-002-M :: Type": "failed",
        "BillingAccountId-C-003-M :: Nullability": "failed",
        "BillingAccountId-C-000-M :: Composite": "failed",
    }
    real, excused = gate.judge(gate.read_cases(_xml(tmp_path, cases)), csv_input=True)
    assert {c.rule for c in real} == {"BillingAccountId-C-003-M", "BillingAccountId-C-000-M"}
    assert "BillingAccountId-C-002-M" in {c.rule for c, _ in excused}


def test_missing_or_empty_xml_never_passes(gate: ModuleType, tmp_path: Path) -> None:
    assert gate.main([str(tmp_path / "absent.xml")]) == 2
    assert gate.main([str(_xml(tmp_path, {}))]) == 2
    (tmp_path / "bad.xml").write_text("<testsuites", encoding="utf-8")
    assert gate.main([str(tmp_path / "bad.xml")]) == 2


def test_every_artifact_says_why(gate: ModuleType) -> None:
    assert set(gate.KNOWN_ARTIFACTS) == {
        "InvoiceId-C-003-C", "InvoiceId-C-004-C", "InvoiceId-C-005-C", "EffectiveCost-C-005-C",
        "BillingAccountId-C-002-M", "PricingQuantity-C-001-M",
    }
    assert all(len(a.reason) > 60 for a in gate.KNOWN_ARTIFACTS.values())
