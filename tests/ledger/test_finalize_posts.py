"""Finalize posts balanced entries; the journal passes bean-check; invariants hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from beancount import loader
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core import ledger
from cloudsettle.core.money import D
from cloudsettle.db.models import LedgerEntryRow, LedgerPostingRow
from cloudsettle.exports.beancount import account_component, journal
from cloudsettle.services.errors import NotFound, Refused
from cloudsettle.services.ledger_service import check_invariants, entries, partner_balances, trial_balance
from cloudsettle.services.settlement_service import finalize, settle
from tests.ledger.driver import worked_example

PAYABLE = "Liabilities:Payable:Partners:P-ACME"


def test_finalize_posts_one_balanced_entry_per_statement(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    d = worked_example(session_factory, tmp_path)
    with session_factory() as session:
        stored = entries(session)
        assert [e.entry.kind for e in stored] == [ledger.EntryKind.STATEMENT] * 2
        for e in stored:
            assert ledger.is_balanced(e.entry)  # per entry, to the cent
        october = stored[1].entry
        statement = d.statements("2026-10")[0]
        assert october.statement_id == statement.id
        assert october.run_id == statement.run_id
        legs = {p.account: p.amount for p in october.postings if p.partner_id is None}
        assert legs == {
            ledger.COMMISSION: D("8700"),
            ledger.TIER_UPLIFT: D("300"),
            ledger.CLAWBACK_INCOME: D("-400"),
            ledger.FEES: D("-86"),
        }
        tb = trial_balance(session)
        assert sum(tb.values()) == 0  # one currency: the trial balance is zero
        assert tb[(PAYABLE, "CNY")] == D("-12474")  # 3,960.00 + 8,514.00 owed
        assert partner_balances(session, "P-ACME")[(PAYABLE, "CNY")] == D("-12474")
        check_invariants(session)


def test_exported_journal_passes_bean_check(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    worked_example(session_factory, tmp_path)
    with session_factory() as session:
        stored = entries(session)
        ours = trial_balance(session)
    path = tmp_path / "journal.beancount"
    path.write_text(journal([(e.id, e.entry) for e in stored]), encoding="utf-8")
    beancount_entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    assert sum(1 for e in beancount_entries if type(e).__name__ == "Transaction") == 2
    bean_check = shutil.which("bean-check") or str(Path(sys.executable).parent / "bean-check")
    result = subprocess.run([bean_check, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # Our balances are written as exact assertions; a one-cent change must fail bean-check.
    assert ours[(PAYABLE, "CNY")] == D("-12474")
    broken = path.read_text(encoding="utf-8").replace("-12474.000 CNY", "-12473.990 CNY")
    assert broken != path.read_text(encoding="utf-8")
    bad = tmp_path / "broken.beancount"
    bad.write_text(broken, encoding="utf-8")
    assert subprocess.run([bean_check, str(bad)], capture_output=True, check=False).returncode == 1


def test_account_names_become_valid_beancount_components() -> None:
    assert account_component("P-ACME") == "P-ACME"
    assert account_component("p_acme.cn") == "P-acme-cn"
    assert account_component("7up") == "7up"


def test_finalizing_an_unapproved_statement_is_refused_and_changes_nothing(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    d = worked_example(session_factory, tmp_path, close_october=False)
    d.do(settle, period="2026-10", partner_id=None, actor="alice")
    before = _snapshot(session_factory)
    with pytest.raises(Refused, match="needs approved statements: P-ACME/acme-2026 is calculated"):
        d.do(finalize, period="2026-10", partner_id=None, actor="bob")
    assert _snapshot(session_factory) == before
    with pytest.raises(NotFound):
        d.do(finalize, period="2026-09", partner_id=None, actor="bob")  # already final


def test_ledger_rows_are_append_only_in_the_database(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    worked_example(session_factory, tmp_path)
    with session_factory() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("UPDATE ledger_postings SET amount = '0' WHERE seq = 1"))
    with session_factory() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("DELETE FROM ledger_entries"))


def _snapshot(sessions: sessionmaker[Session]) -> tuple[object, ...]:
    with sessions() as session:
        statuses = tuple(session.execute(text("SELECT id, status FROM statements ORDER BY id")).all())
        n_entries = len(session.scalars(select(LedgerEntryRow)).all())
        n_postings = len(session.scalars(select(LedgerPostingRow)).all())
        n_audit = session.scalar(text("SELECT count(*) FROM audit_events"))
    return statuses, n_entries, n_postings, n_audit
