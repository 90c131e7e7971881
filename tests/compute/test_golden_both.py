"""Every golden case's final book through both engines: the same statements and findings.

Each case's config files and FOCUS CSVs are read with the project's loaders
(the lines as the store would hold them after the last ingest), and every
period the case settles is settled by the reference and by the bulk engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudsettle.config_file.loader import load_config
from cloudsettle.core.fx import FxRate, FxTable
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.settlement.book import Book
from cloudsettle.ingest.focus import iter_focus_csv
from tests.compute.equivalence import assert_same, assert_summary_same, both, summary_run

CASES = Path(__file__).parents[1] / "golden" / "cases"


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "case.yaml").is_file())


def final_book(case: Path) -> tuple[Book, list[str]]:
    """The book after every config and ingest step of the case, and the periods it settles."""
    partners: dict[str, Any] = {}
    customers: dict[tuple[str, str], Any] = {}
    deals: dict[str, Any] = {}
    agreements: dict[str, Any] = {}
    fx: list[FxRate] = []
    lines: dict[tuple[str, str], BillingLine] = {}
    periods: list[str] = []
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    for step in spec["steps"]:
        verb, arg = next((k, v) for k, v in step.items() if k != "exit")
        if verb == "config" and int(step.get("exit", 0)) == 0:
            bundle = load_config(case / arg, known_partners=set(partners), known_agreements=set(agreements))
            partners.update({p.id: p for p in bundle.partners})
            customers.update({(c.provider, c.account_id): c for c in bundle.customers})
            deals.update({d.id: d for d in bundle.deals})
            agreements.update({a.id: a for a in bundle.agreements})
            fx.extend(bundle.fx_rates)
        elif verb == "ingest":
            for name in arg if isinstance(arg, list) else [arg]:
                for _, item in iter_focus_csv(case / name):
                    if isinstance(item, BillingLine):
                        lines[(item.provider, item.line_id)] = item
        elif verb == "settle" and str(arg["period"]) not in periods:
            periods.append(str(arg["period"]))
    book = Book(
        partners=partners,
        agreements=agreements,
        deals=sorted(deals.values(), key=lambda d: d.id),
        lines=[lines[k] for k in sorted(lines)],
        customers=customers,
        fx=FxTable(fx),
    )
    return book, periods


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_case_through_both_engines(case: Path, tmp_path: Path) -> None:
    book, periods = final_book(case)
    assert periods, f"{case.name} settles no period"
    for period in periods:
        reference, bulk = both(book, period)
        assert_same(reference, bulk, f"{case.name} {period}")
        summary = summary_run(book, period, tmp_path / f"{period}.parquet")
        assert_summary_same(bulk, summary, f"{case.name} {period} (summary mode)")
