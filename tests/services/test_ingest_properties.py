"""Ingest is order- and repetition-proof: any order, any number of times, the same store."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cloudsettle.db.migrate import upgrade
from cloudsettle.db.models import BillingLineRow, LineRevisionRow
from cloudsettle.db.session import make_engine, session_factory
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.ingest_service import ingest_file

HEADER = (
    "x_LineId,ProviderName,SubAccountId,BillingAccountId,InvoiceId,ServiceName,ServiceCategory,RegionId,"
    "x_Project,ResourceId,x_BillingMode,ChargeCategory,ChargeClass,ChargePeriodStart,ChargePeriodEnd,"
    "BillingPeriodStart,BillingPeriodEnd,x_PaidAt,ListCost,BilledCost,x_VoucherAmount,x_TaxAmount,"
    "BillingCurrency,x_OriginalLineId"
)


def _row(line_id: str, cents: int) -> str:
    amount = f"{cents // 100}.{cents % 100:02d}"
    return (
        f"{line_id},Tencent Cloud,100,r,INV,CVM,Compute,ap-guangzhou,,res-{line_id},on_demand,Usage,,"
        "2026-10-03T00:00:00+08:00,2026-10-04T00:00:00+08:00,2026-10-01T00:00:00+08:00,"
        f"2026-11-01T00:00:00+08:00,,{amount},{amount},0,0,CNY,"
    )


# Three files with disjoint lines (no line has two contents), as providers send them.
FILES = {
    "a.csv": [_row("A1", 1000), _row("A2", 250)],
    "b.csv": [_row("B1", 99), _row("A2", 250)],  # A2 again, identical: unchanged, never a revision
    "c.csv": [_row("C1", 123456)],
}


def _state(db_url: str, order: list[str], folder: Path) -> tuple[dict[str, str], int]:
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    raw = RawStore(folder / "raw")
    for name in order:
        path = folder / name
        path.write_text("\n".join([HEADER, *FILES[name]]) + "\n", encoding="utf-8")
        with sessions() as session, session.begin():
            ingest_file(session, raw_store=raw, path=path, provider=None, actor="p")
    with sessions() as session:
        heads = {h.line_id: h.current_revision for h in session.scalars(select(BillingLineRow))}
        contents = {
            r.line_id: r.content_hash
            for r in session.scalars(select(LineRevisionRow))
            if heads[r.line_id] == r.revision
        }
        revisions = len(session.scalars(select(LineRevisionRow)).all())
    engine.dispose()
    return contents, revisions


def _fresh_state(order: list[str]) -> tuple[dict[str, str], int]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/store.db"
        upgrade(url)
        return _state(url, order, Path(tmp))


@functools.cache
def _reference() -> tuple[dict[str, str], int]:
    return _fresh_state(sorted(FILES))


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    order=st.lists(st.sampled_from(sorted(FILES)), min_size=3, max_size=7).filter(
        lambda o: set(o) == set(FILES)
    )
)
def test_any_order_and_repetition_gives_the_same_lines_and_revisions(order: list[str]) -> None:
    contents, revisions = _fresh_state(order)
    reference = _reference()
    assert contents == reference[0]
    assert sorted(contents) == ["A1", "A2", "B1", "C1"]
    assert revisions == reference[1] == 4  # one revision per line, however often, in any order
