"""Summary mode's per-line results held as one Arrow table and made into ``LineResult``s a
statement at a time (``services/line_results.ResultTable``): the same lines, in the same order,
by statement, as reading every row into objects; a statement whose rows are not together is
refused rather than half read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudsettle.services import line_results
from cloudsettle.services.line_results import _COLUMNS, LineResult, ResultTable, read_results

AMOUNT = pa.decimal128(38, 12)


def _rows(keys: list[tuple[str, str]]) -> list[dict[str, object]]:
    return [
        {"partner_id": p, "agreement_id": a, "provider": "tencent", "line_id": f"l{n}", "role": "commission",
         "fraction": Decimal(1), "deal_id": f"d{n % 3}", "base": Decimal(n) / 4, "fx_rate": None if n % 2 else
         Decimal("7.1"), "rule_id": "r1", "rate": Decimal("0.05"), "amount": Decimal(n) / 80,
         "shown": Decimal(n) / 100, "tier_uplift": Decimal(0), "tier_uplift_shown": Decimal(0),
         "reasons": ["prorated"] if n % 5 == 0 else [], "original_line_id": None}
        for n, (p, a) in enumerate(keys)
    ]


def _schema() -> pa.Schema:
    amounts = {"fraction", "base", "fx_rate", "rate", "amount", "shown", "tier_uplift", "tier_uplift_shown"}
    reasons = pa.list_(pa.string())
    return pa.schema([(c, AMOUNT if c in amounts else reasons if c == "reasons" else pa.string())
                      for c in _COLUMNS])


def _expected(rows: list[dict[str, object]]) -> dict[tuple[str, str], list[LineResult]]:
    out: dict[tuple[str, str], list[LineResult]] = {}
    for r in rows:
        values = [r[c] for c in _COLUMNS[2:]]
        values[-2] = tuple(values[-2])  # type: ignore[arg-type]
        out.setdefault((str(r["partner_id"]), str(r["agreement_id"])), []).append(LineResult(*values))  # type: ignore[arg-type]
    return out


def test_statements_come_back_whole_and_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_results, "_KEY_BATCH", 1_000)  # keys read 1,000 rows at a time
    keys = [("P1", "A1")] * 5 + [("P2", "A2")] * 2_500 + [("P1", "A3")] + [("P3", "A1")] * 2
    rows = _rows(keys)
    path = tmp_path / "lines.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=_schema()), path, row_group_size=700)
    table = read_results(path)
    want = _expected(rows)
    assert list(table) == [("P1", "A1"), ("P2", "A2"), ("P1", "A3"), ("P3", "A1")]  # statement order
    assert len(table) == 4
    for key, lines in want.items():
        assert table[key] == lines
    assert table.get(("P9", "A9")) is None
    assert table[("P2", "A2")][2_499].line_id == "l2504"  # a run of keys across three batches of keys


def test_a_statement_split_in_two_is_refused() -> None:
    rows = _rows([("P1", "A1"), ("P2", "A2"), ("P1", "A1")])
    with pytest.raises(ValueError, match="P1/A1 are not together"):
        ResultTable(pa.Table.from_pylist(rows, schema=_schema()))
