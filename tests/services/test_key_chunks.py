"""Line identities are looked up through the primary key, never by scanning the store.

A row-value ``(provider, line_id) IN (…)`` made SQLite scan ``line_revisions`` once per chunk
of 500 keys: a 1M-line ingest went quadratic (docs/performance.md). These tests pin the
chunking and the query plans of the lookups ingest and rerun make.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from cloudsettle.db.base import Base
from cloudsettle.db.models import LineRevisionRow
from cloudsettle.services.key_chunks import key_chunks

keys = st.lists(st.tuples(st.sampled_from(["tencent", "huawei", "focus"]), st.text(min_size=1, max_size=4)),
                max_size=60)


@given(keys, st.integers(1, 7))
def test_every_key_once_by_provider_in_bounded_chunks(given_keys: list[tuple[str, str]], size: int) -> None:
    chunks = list(key_chunks(given_keys, size))
    flat = [(provider, line_id) for provider, ids in chunks for line_id in ids]
    assert sorted(flat) == sorted(set(given_keys))
    assert len(flat) == len(set(flat))
    assert all(0 < len(ids) <= size for _, ids in chunks)


def _plan(statement: object) -> str:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    engine.dispose()
    return " | ".join(str(r[-1]) for r in rows)


def _plans_of(call: Callable[[Session], object]) -> list[str]:
    """The SQLite query plans of every SELECT ``call`` makes on an empty store."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    seen: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    with Session(engine) as session:
        call(session)
    event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        for statement, parameters in seen:
            rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()  # type: ignore[arg-type]
            plans.append(" | ".join(str(r[-1]) for r in rows))
    engine.dispose()
    assert plans, "no lookup was made"
    return plans


KEYS = [("focus", "a"), ("focus", "b"), ("huawei", "c")]


def test_ingest_looks_heads_and_older_revisions_up_by_primary_key() -> None:
    from cloudsettle.services import ingest_service

    plans = _plans_of(lambda s: ingest_service._current_heads(s, KEYS))
    plans += _plans_of(lambda s: ingest_service._older_hashes(s, KEYS, dict.fromkeys(KEYS, (2, "x"))))
    for plan in plans:
        assert "SCAN line_revisions" not in plan, plan
        assert "SEARCH line_revisions" in plan or "SEARCH billing_lines" in plan, plan


def test_a_row_value_in_list_would_scan_the_table() -> None:
    """Why the chunks are per provider: the row-value form scans (if SQLite ever plans it
    better, this test says so and the workaround can go)."""
    from sqlalchemy import tuple_

    query = select(LineRevisionRow.revision).where(
        tuple_(LineRevisionRow.provider, LineRevisionRow.line_id).in_([("focus", "a"), ("focus", "b")]))
    assert "SCAN line_revisions" in _plan(query)
