"""The statement life cycle over the control store: re-settling, adjustments, prior periods."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db.models import StatementLineRow, StatementRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.errors import Refused
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.settlement_service import adjust, approve, finalize, settle
from cloudsettle.services.statement_view import statement_document

CASES = Path(__file__).parents[1] / "golden" / "cases"
PPA = CASES / "31-prior-period-revised-line"


class Book:
    """A tiny driver: one unit of work per call, like the CLI."""

    def __init__(self, sessions: sessionmaker[Session], raw: RawStore) -> None:
        self.sessions, self.raw = sessions, raw

    def do(self, fn, **kw):
        with self.sessions() as session, session.begin():
            return fn(session, **kw)

    def ingest(self, path: Path) -> None:
        self.do(ingest_file, raw_store=self.raw, path=path, provider="focus", actor="loader")

    def close(self, period: str) -> None:
        self.do(settle, period=period, partner_id=None, actor="alice")
        self.do(approve, period=period, partner_id=None, actor="bob")
        self.do(finalize, period=period, partner_id=None, actor="bob")

    def statement(self, period: str, partner: str = "P-ACME") -> dict[str, object]:
        with self.sessions() as session:
            row = session.scalars(
                select(StatementRow).where(StatementRow.period == period, StatementRow.partner_id == partner)
            ).one()
            return statement_document(session, row)


@pytest.fixture
def book(session_factory: sessionmaker[Session], tmp_path: Path) -> Book:
    b = Book(session_factory, RawStore(tmp_path / "raw"))
    b.do(load_config_file, path=PPA / "config.yaml", actor="admin")
    return b


def _comparable(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k not in ("prepared_by",)}


def test_resettling_changes_nothing(book: Book) -> None:
    book.ingest(PPA / "lines-2026-09.csv")
    book.do(settle, period="2026-09", partner_id=None, actor="alice")
    first = book.statement("2026-09")
    book.do(settle, period="2026-09", partner_id=None, actor="alice")
    assert book.statement("2026-09") == first
    with book.sessions() as session:
        assert len(session.scalars(select(StatementRow)).all()) == 1  # replaced, not duplicated
        assert session.scalars(select(StatementLineRow)).all()


def test_used_version_cannot_change_but_a_new_version_can_be_added(book: Book, tmp_path: Path) -> None:
    book.ingest(PPA / "lines-2026-09.csv")
    book.do(settle, period="2026-09", partner_id=None, actor="alice")
    text = (PPA / "config.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace('rate: "0.08"', 'rate: "0.09"'), encoding="utf-8")
    with pytest.raises(Refused, match="version 1 was used by a statement"):
        book.do(load_config_file, path=changed, actor="admin")
    assert book.statement("2026-09")["agreement_version"] == 1
    v2 = text.replace("    versions:\n", "    versions:\n" + _version_2(), 1)
    added = tmp_path / "v2.yaml"
    added.write_text(v2, encoding="utf-8")
    book.do(load_config_file, path=added, actor="admin")  # a new version is fine


def _version_2(effective_from: str = "2026-11-01") -> str:
    return (
        f"      - version: 2\n        effective_from: {effective_from}\n        currency: CNY\n"
        '        timezone: Asia/Shanghai\n        rules:\n          - {id: all, rate: "0.09"}\n'
    )


def test_a_new_version_may_not_govern_a_finalized_period(book: Book, tmp_path: Path) -> None:
    """September is finalized under version 1: a version 2 effective on or before 1 September
    would become "the version governing September" for every later lookup; refused."""
    book.ingest(PPA / "lines-2026-09.csv")
    book.close("2026-09")
    text = (PPA / "config.yaml").read_text(encoding="utf-8")
    for start in ("2026-01-01", "2026-09-01"):
        retro = tmp_path / f"retro-{start}.yaml"
        retro.write_text(text.replace("    versions:\n", "    versions:\n" + _version_2(start), 1), "utf-8")
        with pytest.raises(Refused, match="would make it govern 2026-09, which is finalized under version 1"):
            book.do(load_config_file, path=retro, actor="admin")
    later = tmp_path / "later.yaml"
    later_text = text.replace("    versions:\n", "    versions:\n" + _version_2("2026-09-02"), 1)
    later.write_text(later_text, "utf-8")
    book.do(load_config_file, path=later, actor="admin")  # governs October on: fine
    assert book.statement("2026-09")["agreement_version"] == 1


def test_prior_period_adjustment_is_paid_once(book: Book) -> None:
    book.ingest(PPA / "lines-2026-09.csv")
    book.close("2026-09")
    september = book.statement("2026-09")
    book.ingest(PPA / "revision-2026-09.csv")
    book.ingest(PPA / "lines-2026-10.csv")
    book.close("2026-10")
    october = book.statement("2026-10")
    assert october["components"]["prior_period_adjustment"] == "36.00"  # type: ignore[index]
    assert book.statement("2026-09") == september  # finalized: never changes
    book.do(settle, period="2026-11", partner_id=None, actor="alice")
    with book.sessions() as session:
        november = session.scalars(select(StatementRow).where(StatementRow.period == "2026-11")).all()
    assert november == []  # nothing owed any more: no statement exists for November


def test_adjustment_sends_approved_statement_back_and_blocks_its_author(book: Book) -> None:
    book.ingest(PPA / "lines-2026-09.csv")
    book.do(settle, period="2026-09", partner_id=None, actor="alice")
    book.do(approve, period="2026-09", partner_id=None, actor="bob")
    assert book.statement("2026-09")["status"] == "approved"
    book.do(
        adjust,
        period="2026-09",
        partner_id="P-ACME",
        agreement_id=None,
        amount=D("25.00"),
        reason="goodwill",
        evidence=None,
        actor="bob",
    )
    doc = book.statement("2026-09")
    assert doc["status"] == "calculated"
    assert doc["components"]["manual_adjustment"] == "25.00"  # type: ignore[index]
    assert doc["prepared_by"] == "alice"
    with pytest.raises(Refused, match="manual adjustment"):
        book.do(approve, period="2026-09", partner_id=None, actor="bob")
    book.do(approve, period="2026-09", partner_id=None, actor="carol")
    payable = Decimal(str(book.statement("2026-09")["components"]["payable"]))  # type: ignore[index]
    assert payable == D("162.00") + D("25.00")
