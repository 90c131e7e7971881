"""What ``settle`` stores, row by row (issue 6: the service around the engine got cheaper,
its results must not change).

- Every stored statement and statement line is the computed statement, column by column,
  written in the test from the core values (not through the code that stores them), with
  ids in statement order and the lines numbered 1..n; on SQLite money is canonical text.
- The reference and the bulk engine store identical rows: statements, lines, prior-period
  adjustments, the run's findings and its recorded inputs and results. Checked on a
  generated month and on golden scenarios with findings and cases, finalized history
  (carry-forward, prior-period adjustments) and manual adjustments; each settle is run on
  both engines in turn, so the second one also replaces the first one's statements.
- Re-settling never deletes a finalized statement or its lines.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import bill_generator as gen
from cloudsettle.core.ledger_chain import canonical
from cloudsettle.core.settlement.model import COMPONENT_NAMES, Statement
from cloudsettle.db.guards import AppendOnlyError
from cloudsettle.db.models import (
    FindingRow,
    PriorPeriodAdjustmentRow,
    RunInputRow,
    StatementLineRow,
    StatementRow,
)
from cloudsettle.db.types import canonical_decimal
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services import settlement_service
from cloudsettle.services.book_loader import load_book
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.errors import BadInput, ServiceError
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.line_results import LineResult
from cloudsettle.services.runs import BULK, ENGINE, REFERENCE, load_book_as_of, results_document, set_setting
from cloudsettle.services.settlement_service import adjust, approve, compute, finalize, fingerprints, settle

GOLDEN = Path(__file__).parents[1] / "golden" / "cases"
MONEY_COLUMNS = ("fraction", "base", "fx_rate", "rate", "amount", "shown", "tier_uplift", "tier_uplift_shown")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> gen.Month:
    return gen.write_month(tmp_path_factory.mktemp("bills"), 300, customers=300, partners=60)


def _load_month(sessions: sessionmaker[Session], month: gen.Month, raw: RawStore, engine: str) -> None:
    with sessions() as session, session.begin():
        load_config_file(session, path=month.config, actor="admin")
        set_setting(session, key=ENGINE, value=engine, actor="admin")
    for fmt in gen.FILES:
        with sessions() as session, session.begin():
            ingest_file(session, raw_store=raw, path=month.files[fmt], provider=None, actor="loader")


def _expected_statement(s: Statement, fingerprint: str) -> dict[str, Any]:
    c = s.components
    return {
        "partner_id": s.partner_id, "agreement_id": s.agreement_id, "period": s.period.name,
        "period_start": s.period.start, "period_end": s.period.end, "cycle": s.period.cycle.value,
        "agreement_version": s.version.version, "currency": s.currency, "mode": "live",
        **{name: getattr(c, name) for name in COMPONENT_NAMES},
        "earned": c.earned, "base_total": s.base_total, "billed_total": s.billed_total,
        "prepared_by": "preparer", "inputs_fingerprint": fingerprint,
    }


def _expected_line(seq: int, sl: LineResult, revision: int) -> dict[str, Any]:
    return {
        "seq": seq, "provider": sl.provider, "line_id": sl.line_id, "revision": revision,
        "role": sl.role, "fraction": sl.fraction, "deal_id": sl.deal_id, "base": sl.base,
        "fx_rate": sl.fx_rate, "rule_id": sl.rule_id, "rate": sl.rate, "amount": sl.amount, "shown": sl.shown,
        "tier_uplift": sl.tier_uplift, "tier_uplift_shown": sl.tier_uplift_shown,
        "reasons": ",".join(sl.reasons), "original_line_id": sl.original_line_id,
    }


def _exact(value: object) -> object:
    """A value with its spelling: Decimal("1.50") and Decimal("1.5") differ here."""
    return ("Decimal", value.as_tuple()) if isinstance(value, Decimal) else value


@pytest.mark.parametrize(("engine", "line_batch"), [(REFERENCE, None), (BULK, None), (BULK, 7)])
def test_stored_rows_are_the_computed_statements(
    engine: str, line_batch: int | None, month: gen.Month, session_factory: sessionmaker[Session],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every stored column equals the computed statements; with ``line_batch`` the lines go to
    the table in many small executemany batches (as a million lines do in 50,000s)."""
    if line_batch is not None:
        monkeypatch.setattr(settlement_service, "LINE_BATCH", line_batch)
    _load_month(session_factory, month, RawStore(tmp_path / "raw"), engine)
    with session_factory() as session, session.begin():
        summary = settle(session, period=gen.PERIOD, partner_id=None, actor="preparer")
    with session_factory() as session:
        calc = compute(session, period=gen.PERIOD, partner_id=None)
        prints = fingerprints(session, calc)
        statements = calc.result.statements
        rows = session.scalars(select(StatementRow).order_by(StatementRow.id)).all()
        assert len(statements) == len(rows) == len(summary.statements) > 0
        assert [r.id for r in summary.statements] == [r.id for r in rows]  # ids in statement order
        total = 0
        for s, row in zip(statements, rows, strict=True):
            want = _expected_statement(s, prints[(s.partner_id, s.agreement_id)])
            got = {k: getattr(row, k) for k in want}
            assert {k: _exact(v) for k, v in got.items()} == {
                k: _exact(canonical_decimal(v) if isinstance(v, Decimal) else v) for k, v in want.items()}
            assert row.run_id == summary.run_id
            assert row.status == "calculated"
            lines = session.scalars(
                select(StatementLineRow).where(StatementLineRow.statement_id == row.id)
                .order_by(StatementLineRow.seq)).all()
            expected_lines = [
                _expected_line(seq, sl, calc.loaded.revisions[(sl.provider, sl.line_id)])
                for seq, sl in enumerate(calc.lines_of(s), start=1)
            ]
            assert len(lines) == len(expected_lines)
            stored = [{k: getattr(ln, k) for k in want_line}
                      for ln, want_line in zip(lines, expected_lines, strict=True)]
            assert [{k: _exact(v) for k, v in ln.items()} for ln in stored] == [
                {k: _exact(canonical_decimal(v) if isinstance(v, Decimal) else v) for k, v in ln.items()}
                for ln in expected_lines
            ]
            total += len(lines)
        assert total == session.scalar(select(func.count()).select_from(StatementLineRow))
        assert total >= 300
        # The recorded results, assembled from each statement's entry, are the whole document's
        # one canonical spelling (runs.results_text against canonical(results_document(...))).
        recorded = session.get(RunInputRow, summary.run_id)
        assert recorded is not None
        assert recorded.results == canonical(results_document(calc.result, calc.line_results))
        assert json.loads(recorded.results)["statements"]
        if session.get_bind().dialect.name == "sqlite":
            # Money is stored as canonical text: what the fast bind path writes, read raw.
            columns = ", ".join(MONEY_COLUMNS)
            for raw_row in session.execute(text(f"SELECT {columns} FROM statement_lines")):
                for stored_text in raw_row:
                    if stored_text is not None:
                        assert isinstance(stored_text, str)
                        assert stored_text == format(canonical_decimal(Decimal(stored_text)), "f")


def test_the_book_a_settle_reads_is_the_stored_lines(
    month: gen.Month, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """``load_book_as_of`` (plain rows by position) reads what the ORM objects hold, every
    field of every line, with or without a grace cutoff."""
    _load_month(session_factory, month, RawStore(tmp_path / "raw"), BULK)
    with session_factory() as session:
        orm = load_book(session)
        assert len(orm.book.lines) == 300
        later = datetime.now(UTC) + timedelta(days=1)
        for cutoff in (None, later):
            plain = load_book_as_of(session, cutoff)
            assert plain.revisions == orm.revisions
            assert plain.sources == orm.sources
            assert plain.book.customers == orm.book.customers
            assert plain.book.deals == orm.book.deals
            assert plain.book.partners == orm.book.partners
            for got, want in zip(plain.book.lines, orm.book.lines, strict=True):
                assert got == want
                assert dict(got.extras) == dict(want.extras)  # not part of ==
            assert any(line.extras for line in plain.book.lines)
        assert load_book_as_of(session, datetime(2020, 1, 1, tzinfo=UTC)).book.lines == []


# --- reference and bulk engine: the same rows -----------------------------------------------------

STATEMENT_SKIP = {"id", "run_id", "prepared_at"}
LINE_SKIP = {"statement_id"}
PPA_SKIP = {"id", "statement_id"}
FINDING_SKIP = {"id", "run_id", "created_at", "status"}


def _values(row: object, skip: set[str]) -> dict[str, object]:
    columns = row.__table__.columns  # type: ignore[attr-defined]
    out = {c.key: _exact(getattr(row, c.key)) for c in columns if c.key not in skip}
    if isinstance(row, StatementRow):
        # The exact components before rounding, as JSON text: the engines spell the same
        # value differently ("160.00" and "160.000000"), so compared as numbers.
        out["unrounded"] = {k: Decimal(v) for k, v in json.loads(row.unrounded).items()}
    return out


def _stored(session: Session, run_id: int) -> dict[str, Any]:
    """Everything a run stored, without its ids and instants."""
    statements = session.scalars(select(StatementRow).where(StatementRow.run_id == run_id)
                                 .order_by(StatementRow.id)).all()
    out: dict[str, Any] = {"statements": [], "findings": [], "inputs": None}
    for s in statements:
        lines = session.scalars(select(StatementLineRow).where(StatementLineRow.statement_id == s.id)
                                .order_by(StatementLineRow.seq)).all()
        ppas = session.scalars(select(PriorPeriodAdjustmentRow)
                               .where(PriorPeriodAdjustmentRow.statement_id == s.id)
                               .order_by(PriorPeriodAdjustmentRow.id)).all()
        out["statements"].append({
            "statement": _values(s, STATEMENT_SKIP),
            "lines": [_values(ln, LINE_SKIP) for ln in lines],
            "prior_period_adjustments": [_values(p, PPA_SKIP) for p in ppas],
        })
    findings = session.scalars(select(FindingRow).where(FindingRow.run_id == run_id)
                               .order_by(FindingRow.id)).all()
    out["findings"] = [_values(f, FINDING_SKIP) for f in findings]
    recorded = session.get(RunInputRow, run_id)
    assert recorded is not None
    out["inputs"] = (recorded.fingerprint, recorded.inputs, recorded.results, recorded.cutoff)
    return out


class Driver:
    """Services in one unit of work per call, like the CLI; each settle runs on both engines."""

    def __init__(self, sessions: sessionmaker[Session], raw: RawStore) -> None:
        self.sessions, self.raw = sessions, raw
        self.compared = 0

    def do(self, fn: Any, **kw: Any) -> Any:
        with self.sessions() as session, session.begin():
            return fn(session, **kw)

    def ingest(self, path: Path) -> None:
        self.do(ingest_file, raw_store=self.raw, path=path, provider="focus", actor="loader")

    def engine(self, name: str) -> None:
        self.do(set_setting, key=ENGINE, value=name, actor="admin")

    def settle_on_both(self, period: str, actor: str, partner: str | None = None) -> None:
        stored, runs = [], []
        for name in (REFERENCE, BULK):
            self.engine(name)
            runs.append(self.do(settle, period=period, partner_id=partner, actor=actor))
            with self.sessions() as session:
                stored.append(_stored(session, runs[-1].run_id))
        self.engine(REFERENCE)
        (first, second), (reference, bulk) = stored, runs
        with self.sessions() as session:
            # The bulk run replaced the reference run's statements: none of them is left.
            left = session.scalars(select(StatementRow.id).where(StatementRow.run_id == reference.run_id))
            assert left.all() == []
        assert first["inputs"] == second["inputs"]
        assert first["findings"] == second["findings"]
        assert len(first["statements"]) == len(second["statements"])
        for one, other in zip(first["statements"], second["statements"], strict=True):
            differ = {k for k in one["statement"] if one["statement"][k] != other["statement"][k]}
            assert not differ, {k: (one["statement"][k], other["statement"][k]) for k in differ}
            assert one == other  # lines and prior-period adjustments too
        assert [s.id for s in bulk.statements] == sorted(s.id for s in bulk.statements)
        self.compared += len(second["statements"])


def _replay(driver: Driver, case: Path) -> None:
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    for step in spec["steps"]:
        verb, arg = next((k, v) for k, v in step.items() if k != "exit")
        fails = int(step.get("exit", arg.get("exit", 0) if isinstance(arg, dict) else 0)) != 0
        if verb == "config":
            driver.do(load_config_file, path=case / arg, actor="admin")
        elif verb == "ingest":
            for name in arg if isinstance(arg, list) else [arg]:
                driver.ingest(case / name)
        elif verb == "settle":
            driver.settle_on_both(str(arg["period"]), arg.get("user", "alice"), arg.get("partner"))
        elif verb in ("approve", "finalize", "adjust"):
            actor = arg.get("user", {"approve": "bob", "finalize": "bob"}.get(verb, "carol"))
            kw: dict[str, Any] = {"period": str(arg["period"]), "partner_id": arg.get("partner"),
                                  "actor": actor}
            fn = {"approve": approve, "finalize": finalize, "adjust": adjust}[verb]
            if verb == "adjust":
                kw.update(agreement_id=arg.get("agreement"), amount=Decimal(str(arg["amount"])),
                          reason=arg["reason"], evidence=None)
            try:
                driver.do(fn, **kw)
            except ServiceError:
                assert fails, f"{case.name}: {verb} {arg} was refused"


SCENARIOS = ["23-missing-fx-rate", "29-carry-forward-negative", "31-prior-period-revised-line",
             "32-prior-period-late-line", "34-missing-and-ambiguous-deals",
             "41-manual-adjustment-survives-resettle"]


@pytest.mark.parametrize("case", SCENARIOS)
def test_both_engines_store_the_same_rows_in_golden_scenarios(
    case: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    driver = Driver(session_factory, RawStore(tmp_path / "raw"))
    _replay(driver, GOLDEN / case)
    assert driver.compared > 0
    with session_factory() as session:
        if case.startswith(("31", "32")):  # the prior-period adjustment was stored (on both engines)
            assert session.scalars(select(PriorPeriodAdjustmentRow)).all()
        if case.startswith(("23", "34")):  # findings became cases that hold statements
            assert session.scalars(select(FindingRow).where(FindingRow.run_id.is_not(None))).all()


def test_both_engines_store_the_same_rows_for_a_generated_month(
    month: gen.Month, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    raw = RawStore(tmp_path / "raw")
    _load_month(session_factory, month, raw, REFERENCE)
    driver = Driver(session_factory, raw)
    driver.settle_on_both(gen.PERIOD, "preparer")
    assert driver.compared == len(month.partners)
    driver.settle_on_both(gen.PERIOD, "preparer")  # and again over the bulk run's statements


# --- finalized statements stay ----------------------------------------------------------------------


def test_resettling_keeps_finalized_statements_and_refuses_to_delete_them(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    driver = Driver(session_factory, RawStore(tmp_path / "raw"))
    case = GOLDEN / "31-prior-period-revised-line"
    driver.do(load_config_file, path=case / "config.yaml", actor="admin")
    driver.ingest(case / "lines-2026-09.csv")
    driver.do(settle, period="2026-09", partner_id=None, actor="alice")
    driver.do(approve, period="2026-09", partner_id=None, actor="bob")
    driver.do(finalize, period="2026-09", partner_id=None, actor="bob")

    def finalized_rows() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        with session_factory() as session:
            rows = session.scalars(select(StatementRow).where(StatementRow.period == "2026-09")).all()
            lines = session.scalars(select(StatementLineRow).order_by(StatementLineRow.statement_id,
                                                                      StatementLineRow.seq)).all()
            return [_values(r, set()) for r in rows], [_values(ln, set()) for ln in lines]

    before = finalized_rows()
    assert before[0]
    assert before[1]
    summary = driver.do(settle, period="2026-09", partner_id=None, actor="alice")
    assert summary.skipped_finalized
    assert summary.statements == ()
    assert finalized_rows() == before
    with session_factory() as session, session.begin():
        final = session.scalars(select(StatementRow)).all()
        with pytest.raises(AppendOnlyError, match="never deleted"):
            settlement_service._delete_statements(session, final)
    assert finalized_rows() == before


# --- the collector pause ------------------------------------------------------------------------------


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_enabled")
def test_settle_pauses_the_collector_only_while_it_runs(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    real = settlement_service.check_partner

    def spy(session: Session, partner_id: str | None) -> None:
        seen.append(gc.isenabled())
        real(session, partner_id)

    monkeypatch.setattr(settlement_service, "check_partner", spy)
    with pytest.raises(BadInput), session_factory() as session:
        settle(session, period="2026-10", partner_id="nobody", actor="alice")
    assert seen == [False]  # paused inside
    assert gc.isenabled()  # and running again after the error
    gc.disable()
    try:
        with pytest.raises(BadInput), session_factory() as session:
            settle(session, period="2026-10", partner_id="nobody", actor="alice")
        assert not gc.isenabled()  # a pause it did not make is left alone
    finally:
        gc.enable()
