"""A statement's per-line results, whichever engine computed them.

The reference engine returns core ``Statement``s holding their ``StatementLine``s;
the bulk engine's summary mode returns statements without lines and writes each
line's result to Parquet (``compute.engine.settle_period_summary``). What the
services do with lines (store them, fingerprint them, record them in the run's
results, compare them in a what-if) reads one shape, :class:`LineResult`, so both
engines store the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from cloudsettle.core.settlement.model import Statement, StatementLine

if TYPE_CHECKING:
    import pyarrow as pa

#: (partner id, agreement id): one statement of a run.
StatementKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LineResult:
    """One statement line as the services keep it (``statement_lines`` columns but the ids)."""

    provider: str
    line_id: str
    role: str
    fraction: Decimal
    deal_id: str
    base: Decimal
    fx_rate: Decimal | None
    rule_id: str | None
    rate: Decimal
    amount: Decimal
    shown: Decimal
    tier_uplift: Decimal
    tier_uplift_shown: Decimal
    reasons: tuple[str, ...]
    original_line_id: str | None


def from_statement_line(sl: StatementLine) -> LineResult:
    """The result of a line the core computed."""
    return LineResult(
        provider=sl.line.provider, line_id=sl.line.line_id, role=sl.role.value, fraction=sl.fraction,
        deal_id=sl.deal_id, base=sl.base, fx_rate=sl.fx_rate, rule_id=sl.rule_id, rate=sl.rate,
        amount=sl.amount, shown=sl.shown, tier_uplift=sl.tier_uplift, tier_uplift_shown=sl.tier_uplift_shown,
        reasons=tuple(r.value for r in sl.reasons), original_line_id=sl.original_line_id,
    )


_COLUMNS = ("partner_id", "agreement_id", "provider", "line_id", "role", "fraction", "deal_id", "base",
            "fx_rate", "rule_id", "rate", "amount", "shown", "tier_uplift", "tier_uplift_shown", "reasons",
            "original_line_id")


class ResultTable(Mapping[StatementKey, Sequence[LineResult]]):
    r"""Summary mode's per-line results, by statement, held as one Arrow table (a few hundred
    bytes a line) and made into :class:`LineResult`\ s one statement at a time when asked: a
    settle takes each statement's lines once, so a million lines are never a million objects
    at once (issue 6: they were the largest part of a settle's peak memory)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._spans: dict[StatementKey, tuple[int, int]] = {}
        start = 0
        # The rows come in statement order, each statement's rows together (``seq`` ascending).
        for partner, agreement, count in _runs(table):
            key = (partner, agreement)
            if key in self._spans:
                raise ValueError(f"the lines of statement {partner}/{agreement} are not together")
            self._spans[key] = (start, count)
            start += count

    def __getitem__(self, key: StatementKey) -> list[LineResult]:
        start, count = self._spans[key]
        return _line_results(self._table.slice(start, count))

    def __iter__(self) -> Iterator[StatementKey]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


#: Rows whose statement keys are made Python strings at a time (bounds that copy's memory).
_KEY_BATCH = 65_536


def _runs(table: pa.Table) -> Iterator[tuple[str, str, int]]:
    """(partner, agreement, rows) of each run of equal keys, in order, a batch at a time."""
    key: tuple[str, str] | None = None
    count = 0
    for batch in table.select(["partner_id", "agreement_id"]).to_batches(max_chunksize=_KEY_BATCH):
        for partner, agreement in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
            if (partner, agreement) != key:
                if key is not None:
                    yield (*key, count)
                key, count = (partner, agreement), 0
            count += 1
    if key is not None:
        yield (*key, count)


def _line_results(table: pa.Table) -> list[LineResult]:
    cols = [table.column(name).to_pylist() for name in _COLUMNS[2:]]
    return [
        LineResult(provider, line_id, role, fraction, deal_id, base, fx_rate, rule_id, rate, amount, shown,
                   uplift, uplift_shown, tuple(reasons), original)
        for (provider, line_id, role, fraction, deal_id, base, fx_rate, rule_id, rate, amount, shown, uplift,
             uplift_shown, reasons, original) in zip(*cols, strict=True)
    ]


def read_results(path: Path) -> ResultTable:
    """Summary mode's Parquet (written in statement order, ``seq`` ascending) by statement."""
    import pyarrow.parquet as pq  # only a bulk run needs it; the CLI starts faster without

    return ResultTable(pq.read_table(path, columns=list(_COLUMNS)))


def results_of(statements: Sequence[Statement]) -> dict[StatementKey, list[LineResult]]:
    """The lines of statements the core computed with their lines, by statement."""
    return {(s.partner_id, s.agreement_id): [from_statement_line(sl) for sl in s.lines] for s in statements}


def lines_of(statement: Statement, results: Mapping[StatementKey, Sequence[LineResult]] | None
             ) -> Sequence[LineResult]:
    """The lines of ``statement`` in its order: from ``results`` when the run wrote them apart
    (summary mode), else from the statement itself."""
    if results is not None:
        return results.get((statement.partner_id, statement.agreement_id), ())
    return [from_statement_line(sl) for sl in statement.lines]


def iter_lines(statements: Sequence[Statement], results: Mapping[StatementKey, Sequence[LineResult]] | None
               ) -> Iterator[tuple[Statement, Sequence[LineResult]]]:
    """Each statement with its lines (:func:`lines_of`)."""
    for s in statements:
        yield s, lines_of(s, results)
