"""Our FOCUS export through the FinOps Foundation's focus-validator 2.2.1, and the gate.

Runs ``scripts/focus-validate`` for real (it builds its venv in the user's cache with
Python 3.12 the first time, about 40 s; later runs and fresh clones reuse it). Set
``CLOUDSETTLE_SKIP_FOCUS_VALIDATOR=1`` to skip it where that venv cannot be built.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cloudsettle.core.lines import BillingLine
from cloudsettle.exports.focus import write_focus
from cloudsettle.ingest.focus import iter_focus_csv

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "focus-validate"
GOLDEN = ROOT / "tests" / "golden" / "cases"
SAMPLE = Path("/work/shared/data/focus-sample/focus_sample.csv")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("CLOUDSETTLE_SKIP_FOCUS_VALIDATOR") == "1",
        reason="CLOUDSETTLE_SKIP_FOCUS_VALIDATOR=1: focus-validator (Python 3.12 venv) not run",
    ),
]

#: The artifacts our golden export trips; anything else failing is a regression.
EXPECTED_EXCUSED = {"EffectiveCost-C-005-C", "InvoiceId-C-004-C"}
_SUMMARY = re.compile(
    r"rules: (\d+) checked, (\d+) passed, (\d+) failed, (\d+) errors, (\d+) skipped; (\d+) excused"
)


def _lines(paths: list[Path]) -> list[BillingLine]:
    lines: list[BillingLine] = []
    for path in paths:
        for _, item in iter_focus_csv(path):
            assert isinstance(item, BillingLine), str(item)
            lines.append(item)
    return lines


def _golden_lines() -> list[BillingLine]:
    return _lines(sorted(GOLDEN.glob("*/lines-*.csv")))


def _validate(tmp_path: Path, *files: Path) -> tuple[int, dict[str, str]]:
    """Run the script; return its exit status and its output per file name."""
    done = subprocess.run(
        [str(SCRIPT), *(str(f) for f in files)],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        env={**os.environ, "FOCUS_JUNIT_DIR": str(tmp_path / "junit")},
    )
    sections: dict[str, str] = {}
    for chunk in done.stdout.split("== ")[1:]:
        name, _, body = chunk.partition("\n")
        sections[Path(name.strip()).name] = body
    assert set(sections) == {f.name for f in files}, done.stdout + done.stderr
    return done.returncode, sections


def _failing(section: str) -> set[str]:
    return set(re.findall(r"^  FAILED (\S+)", section, re.MULTILINE))


def _excused(section: str) -> set[str]:
    return set(re.findall(r"^  excused (\S+)", section, re.MULTILINE))


def test_our_export_passes_the_validator(tmp_path: Path) -> None:
    lines = _golden_lines()
    assert len(lines) > 100
    csv_file, parquet_file = tmp_path / "golden.csv", tmp_path / "golden.parquet"
    write_focus(lines, csv_file, billing_account_name="Reseller Ltd")
    write_focus(lines, parquet_file, fmt="parquet", billing_account_name="Reseller Ltd")

    status, sections = _validate(tmp_path, csv_file, parquet_file)

    assert status == 0, sections
    for name, section in sections.items():
        assert section.startswith("FOCUS gate: PASS"), section
        match = _SUMMARY.search(section)
        assert match is not None, section
        checked, passed, failed, errors, skipped, excused = map(int, match.groups())
        # focus-validator 2.2.1, FOCUS 1.2: 578 rules, 441 skipped (conditional/dynamic/not implemented).
        assert (checked, skipped) == (578, 441), name
        assert passed == checked - skipped - failed - errors
        assert (failed, errors, excused) == (2, 0, 2), name
        assert _excused(section) == EXPECTED_EXCUSED, name
        assert _failing(section) == set()
        # Every MUST-present column rule (CostAndUsage-D-*-M) ran and passed.
        junit = ET.parse(tmp_path / "junit" / f"{name}.junit.xml").getroot()
        presence = [
            tc for tc in junit.iter("testcase")
            if re.match(r"CostAndUsage-D-\d+-M :: Presence", tc.get("name", ""))
        ]
        assert len(presence) >= 21
        assert all(len(tc) == 0 for tc in presence), [tc.get("name") for tc in presence if len(tc)]


def test_gate_fails_on_broken_exports(tmp_path: Path) -> None:
    lines = _golden_lines()
    exported = tmp_path / "full.csv"
    write_focus(lines, exported)
    with exported.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    no_service = tmp_path / "no_service_name.csv"
    with no_service.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, [c for c in rows[0] if c != "ServiceName"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    no_billed = tmp_path / "no_billed_cost.parquet"
    write_focus(lines, tmp_path / "full.parquet", fmt="parquet")
    pq.write_table(pq.read_table(tmp_path / "full.parquet").drop_columns(["BilledCost"]), no_billed)

    status, sections = _validate(tmp_path, no_service, no_billed)

    assert status == 1
    assert sections[no_service.name].startswith("FOCUS gate: FAIL")
    assert "CostAndUsage-D-041-M" in _failing(sections[no_service.name])  # ServiceName MUST be present
    assert sections[no_billed.name].startswith("FOCUS gate: FAIL")
    assert "CostAndUsage-D-006-M" in _failing(sections[no_billed.name])  # BilledCost MUST be present


@pytest.mark.skipif(not SAMPLE.exists(), reason="FOCUS sample not present")
def test_public_sample_export_fails_only_on_its_own_service_categories(tmp_path: Path) -> None:
    """The FOCUS 1.0 sample re-exported as 1.2 (with the golden lines) passes every rule but
    one family: the sample files "Amazon Elastic Compute Cloud" under both Compute and
    Storage (EBS), and FOCUS 1.2 wants one ServiceCategory per ServiceName (ServiceName-C-005-C;
    C-008-C is the same for the subcategory we derive from it). That is the provider's data,
    which the export carries faithfully; the gate must report it."""
    sample = _lines([SAMPLE])
    categories: dict[str, set[str]] = defaultdict(set)
    for line in sample:
        categories[line.service].add(line.service_category)
    assert {s for s, c in categories.items() if len(c) > 1} == {"Amazon Elastic Compute Cloud"}
    exported = tmp_path / "sample_and_golden.csv"
    write_focus([*sample, *_golden_lines()], exported)

    status, sections = _validate(tmp_path, exported)

    section = sections[exported.name]
    assert status == 1
    assert _failing(section) == {
        "ServiceName-C-000-M", "ServiceName-C-004-C", "ServiceName-C-005-C",
        "ServiceName-C-007-C", "ServiceName-C-008-C",
    }, section
    # Sample lines have no InvoiceId, golden ones do: both branches of the nullability OR
    # fire, and the OR with them (the validator ORs column verdicts): excused, with reasons.
    assert {"InvoiceId-C-003-C", "InvoiceId-C-004-C", "InvoiceId-C-005-C"} <= _excused(section)
