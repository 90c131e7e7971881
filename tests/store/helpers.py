"""Small builders for line-store tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from cloudsettle.core.lines import BillingLine
from cloudsettle.store.ingest import lines_table
from cloudsettle.store.lines import LineStore
from tests.core.settlement.factories import line


def mk(line_id: str, amount: str, **kw: Any) -> BillingLine:
    """A tencent line of October 2026 (``month=`` moves it)."""
    return line(line_id, amount, **kw)


def table(*lines: BillingLine) -> pa.Table:
    """A store input table (no revisions: the store numbers them)."""
    return lines_table(list(lines))


def current(
    store: LineStore, period: str = "2026-10", provider: str | None = "tencent"
) -> list[dict[str, Any]]:
    """The current lines as rows, ordered by line id."""
    return store.current_lines_arrow(provider, period).to_pylist()


def amounts(store: LineStore, period: str = "2026-10") -> dict[str, tuple[Decimal, int, str]]:
    """line id -> (list amount, revision, batch id) of the current lines."""
    return {r["line_id"]: (r["list_amount"], r["revision"], r["batch_id"]) for r in current(store, period)}


def stored_files(store: LineStore) -> list[str]:
    """Every Parquet file under the store's base (committed or not)."""
    loc = store.location
    return sorted(loc.relative(p) for p in loc.fs.find(loc.base) if p.endswith(".parquet"))
