"""``cloudsettle export gl``: the journal for a date range, mapped for an ERP, or as Beancount."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from typer.testing import CliRunner

from cloudsettle.cli.main import app

CASE = Path(__file__).parents[1] / "golden" / "cases" / "01-worked-example"


@pytest.fixture
def closed(tmp_path: Path, database_url: str):
    def cli(*args: str) -> str:
        result = CliRunner().invoke(
            app,
            [*args, "--workspace", str(tmp_path / "ws")],
            env={"CLOUDSETTLE_DATABASE_URL": database_url, "COLUMNS": "200"},
        )
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    cli("config", "load", str(CASE / "config.yaml"))
    cli("ingest", str(CASE / "lines-2026-09.csv"), str(CASE / "lines-2026-10.csv"))
    for period in ("2026-09", "2026-10"):
        cli("settle", "--period", period, "--user", "alice")
        cli("approve", "--period", period, "--user", "bob")
        cli("finalize", "--period", period, "--user", "bob")
    return cli


def test_gl_csv_with_an_erp_mapping_balances_per_entry(closed, tmp_path: Path) -> None:
    mapping = tmp_path / "erp.yaml"
    mapping.write_text(
        "columns:\n"
        "  - {header: JournalNo, field: entry_id}\n"
        "  - {header: PostingDate, field: date}\n"
        "  - {header: GLAccount, field: account}\n"
        "  - {header: Dr, field: debit}\n"
        "  - {header: Cr, field: credit}\n"
        "  - {header: Ccy, field: currency}\n"
        "accounts:\n"
        "  Expenses:Commission: '6601'\n"
        "  Expenses:Commission:TierUplift: '6602'\n"
        "  Liabilities:Payable:Partners: '2202'\n"
        "date_format: '%d/%m/%Y'\n",
        encoding="utf-8",
    )
    target = tmp_path / "gl.csv"
    closed("export", "gl", "--output", str(target), "--mapping", str(mapping))
    with target.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["JournalNo", "PostingDate", "GLAccount", "Dr", "Cr", "Ccy"]
    per_entry: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        per_entry[r["JournalNo"]] += Decimal(r["Dr"] or "0") - Decimal(r["Cr"] or "0")
    assert len(per_entry) == 2
    assert set(per_entry.values()) == {Decimal(0)}
    accounts = {r["GLAccount"] for r in rows}
    assert {"6601", "6602", "2202"} <= accounts  # longest prefix wins: TierUplift is 6602, not 6601
    assert all(len(r["PostingDate"].split("/")) == 3 for r in rows)
    payable = sum(Decimal(r["Cr"] or "0") - Decimal(r["Dr"] or "0") for r in rows if r["GLAccount"] == "2202")
    assert payable == Decimal("3960.00") + Decimal("8514.00")


def test_gl_date_range_and_beancount(closed, tmp_path: Path) -> None:
    everything, none = tmp_path / "all.csv", tmp_path / "none.csv"
    closed("export", "gl", "--output", str(everything))
    closed("export", "gl", "--output", str(none), "--to", "2000-01-01")
    with everything.open(encoding="utf-8") as a, none.open(encoding="utf-8") as b:
        assert len(list(csv.reader(a))) > 1
        assert len(list(csv.reader(b))) == 1  # the header only
    bean = tmp_path / "journal.beancount"
    closed("export", "gl", "--format", "beancount", "--output", str(bean))
    _, errors, _ = loader.load_file(str(bean))
    assert errors == []
