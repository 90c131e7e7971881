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
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.services import line_results
from cloudsettle.services.line_results import (
    _COLUMNS,
    LineResult,
    LineTexts,
    ResultTable,
    decimal_text_array,
    number_text,
    read_results,
    texts_of,
)


def decimal_texts(column: pa.Array | pa.ChunkedArray) -> list[str | None]:
    texts: list[str | None] = decimal_text_array(column).to_pylist()
    return texts

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
    for key, lines in want.items():  # the texts the storing pass reads: those of the same lines
        assert table.texts(key) == texts_of(lines)
    assert len(table.texts(("P9", "A9"))) == 0


def test_a_statement_split_in_two_is_refused() -> None:
    rows = _rows([("P1", "A1"), ("P2", "A2"), ("P1", "A1")])
    with pytest.raises(ValueError, match="P1/A1 are not together"):
        ResultTable(pa.Table.from_pylist(rows, schema=_schema()))


@st.composite
def _column(draw: st.DrawFn) -> tuple[int, list[Decimal | None]]:
    """A decimal scale and values of that scale: zeros of both signs, values below 10^-6 (which
    Arrow writes in exponent form), whole numbers, the largest that fit, and nulls."""
    scale = draw(st.sampled_from([0, 2, 3, 6, 12]))
    unscaled = st.one_of(
        st.integers(-10**9, 10**9),
        st.integers(-10**38 + 1, 10**38 - 1),
        st.sampled_from([0, 1, -1, 10, 100]),
    )
    values = draw(st.lists(st.one_of(st.none(), unscaled.map(lambda n: Decimal(f"{n}E-{scale}"))),
                           max_size=40))
    return scale, values


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_column())
def test_arrow_spells_each_decimal_as_number_text(column: tuple[int, list[Decimal | None]]) -> None:
    scale, values = column
    array = pa.array(values, pa.decimal128(38, scale))
    want = [None if v is None else number_text(v) for v in values]
    assert decimal_texts(array) == want
    assert decimal_texts(pa.chunked_array([array.slice(0, 3), array.slice(3)], array.type)) == want


def test_arrow_spellings_at_the_edges() -> None:
    values = [Decimal("0E-12"), Decimal("-0.000000000001"), Decimal("0.000001"), Decimal("0.0000001"),
              Decimal("100"), Decimal("2.5"), Decimal("-12345678901234567890123456.123456789012"), None]
    assert decimal_texts(pa.array(values, pa.decimal128(38, 12))) == [
        "0", "-0.000000000001", "0.000001", "0.0000001", "100", "2.5",
        "-12345678901234567890123456.123456789012", None]
    assert decimal_texts(pa.array([Decimal(100), Decimal(-7), Decimal(0)], pa.decimal128(38, 0))) == [
        "100", "-7", "0"]
    with pytest.raises(TypeError, match="not a decimal column"):
        decimal_texts(pa.array(["1"]))


def test_texts_of_spell_every_number_once() -> None:
    line = LineResult("p", "l", "commission", Decimal("1.000"), "d", Decimal("1E+2"), None, None,
                      Decimal("0.0500"), Decimal("-0"), Decimal("0.50"), Decimal(0), Decimal(0),
                      ("prorated", "clawback"), None)
    assert texts_of([line]) == LineTexts(
        provider=["p"], line_id=["l"], role=["commission"], fraction=["1"], deal_id=["d"], base=["100"],
        fx_rate=[None], rule_id=[None], rate=["0.05"], amount=["0"], shown=["0.5"], tier_uplift=["0"],
        tier_uplift_shown=["0"], reasons=["prorated,clawback"], original_line_id=[None])
