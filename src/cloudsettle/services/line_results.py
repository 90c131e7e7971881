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
from cloudsettle.db.types import canonical_decimal

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


def number_text(value: Decimal) -> str:
    """One spelling per number, positional, no trailing zeros (``25.00`` and ``25`` are the same
    amount): what fingerprints and result documents hold (``runs.num``) and what a money column
    stores on SQLite."""
    return format(canonical_decimal(value), "f")


@dataclass(frozen=True, slots=True)
class LineTexts:
    """A statement's lines column by column, every number spelled by :func:`number_text` (None
    for a line without an FX rate or rule): what the storing pass writes, fingerprints and
    records. The bulk engine's are spelled by Arrow from its results, so a settle never makes
    a ``Decimal`` per number per line (issue 6: that was a third of storing a month)."""

    provider: Sequence[str]
    line_id: Sequence[str]
    role: Sequence[str]
    fraction: Sequence[str]
    deal_id: Sequence[str]
    base: Sequence[str]
    fx_rate: Sequence[str | None]
    rule_id: Sequence[str | None]
    rate: Sequence[str]
    amount: Sequence[str]
    shown: Sequence[str]
    tier_uplift: Sequence[str]
    tier_uplift_shown: Sequence[str]
    reasons: Sequence[str]  # joined by ","
    original_line_id: Sequence[str | None]

    def __len__(self) -> int:
        return len(self.line_id)


def texts_of(lines: Sequence[LineResult]) -> LineTexts:
    """The texts of lines held as :class:`LineResult` (the reference engine's)."""
    return LineTexts(
        provider=[sl.provider for sl in lines],
        line_id=[sl.line_id for sl in lines],
        role=[sl.role for sl in lines],
        fraction=[number_text(sl.fraction) for sl in lines],
        deal_id=[sl.deal_id for sl in lines],
        base=[number_text(sl.base) for sl in lines],
        fx_rate=[None if sl.fx_rate is None else number_text(sl.fx_rate) for sl in lines],
        rule_id=[sl.rule_id for sl in lines],
        rate=[number_text(sl.rate) for sl in lines],
        amount=[number_text(sl.amount) for sl in lines],
        shown=[number_text(sl.shown) for sl in lines],
        tier_uplift=[number_text(sl.tier_uplift) for sl in lines],
        tier_uplift_shown=[number_text(sl.tier_uplift_shown) for sl in lines],
        reasons=[",".join(sl.reasons) for sl in lines],
        original_line_id=[sl.original_line_id for sl in lines],
    )


def decimal_text_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """An Arrow decimal column as the strings :func:`number_text` gives (null for null), made
    by Arrow for the whole column. Arrow writes a decimal of scale s with s places (``2.500``),
    or, below 10^-6 in size, in exponent form (``1E-7``, zero as ``0E-12``): the places'
    trailing zeros are cut and zeros made ``0`` in Arrow; the few other exponent forms go
    through :func:`number_text`."""
    import pyarrow as pa  # only a bulk run needs it
    import pyarrow.compute as pc

    if not pa.types.is_decimal(column.type):
        raise TypeError(f"not a decimal column: {column.type}")
    written = pc.cast(column, pa.string())
    if isinstance(written, pa.ChunkedArray):
        written = written.combine_chunks()
    text = written
    if column.type.scale > 0:  # every positional spelling has the point: cut zeros, then a bare point
        text = pc.replace_substring_regex(text, pattern=r"0+$", replacement="")
        text = pc.replace_substring_regex(text, pattern=r"\.$", replacement="")
    exponent = pc.fill_null(pc.match_substring(written, "E"), False)
    if pc.any(exponent).as_py():
        zero = pc.fill_null(pc.match_substring_regex(written, r"^-?0E"), False)
        text = pc.if_else(zero, pa.scalar("0", pa.string()), text)
        rare = pc.and_(exponent, pc.invert(zero))
        if pc.any(rare).as_py():
            spelled = [number_text(Decimal(t)) for t in pc.filter(written, rare).to_pylist()]
            text = pc.replace_with_mask(text, rare, pa.array(spelled, pa.string()))
    return text


_COLUMNS = ("partner_id", "agreement_id", "provider", "line_id", "role", "fraction", "deal_id", "base",
            "fx_rate", "rule_id", "rate", "amount", "shown", "tier_uplift", "tier_uplift_shown", "reasons",
            "original_line_id")


class ResultTable(Mapping[StatementKey, Sequence[LineResult]]):
    r"""Summary mode's per-line results, by statement, held as one Arrow table (a few hundred
    bytes a line) and made into :class:`LineResult`\ s one statement at a time when asked: a
    settle takes each statement's lines once, so a million lines are never a million objects
    at once (issue 6: they were the largest part of a settle's peak memory)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = _as_texts(table)
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

    def texts(self, key: StatementKey) -> LineTexts:
        """The lines of one statement as :class:`LineTexts` (none: an empty one), without
        making a ``Decimal`` of any number."""
        start, count = self._spans.get(key, (0, 0))
        return _line_texts(self._table.slice(start, count))

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


#: The results' numbers, held as :func:`number_text` strings in a :class:`ResultTable`.
_NUMBERS = frozenset({"fraction", "base", "fx_rate", "rate", "amount", "shown", "tier_uplift",
                      "tier_uplift_shown"})


def _as_texts(table: pa.Table) -> pa.Table:
    """The results with every number as its text and the reasons joined by commas, each column
    made once for the whole run (a call per column, not per statement and column)."""
    import pyarrow as pa  # only a bulk run needs it
    import pyarrow.compute as pc

    for index, name in enumerate(table.column_names):
        column = table.column(name)
        if name in _NUMBERS and pa.types.is_decimal(column.type):
            table = table.set_column(index, name, decimal_text_array(column))
        elif name == "reasons" and pa.types.is_list(column.type):
            table = table.set_column(index, name, pc.fill_null(pc.binary_join(column, ","), ""))
    return table


def _number(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _line_results(table: pa.Table) -> list[LineResult]:
    t = _line_texts(table)
    return [
        LineResult(provider, line_id, role, Decimal(fraction), deal_id, Decimal(base), _number(fx_rate),
                   rule_id, Decimal(rate), Decimal(amount), Decimal(shown), Decimal(uplift),
                   Decimal(uplift_shown), tuple(reasons.split(",")) if reasons else (), original)
        for (provider, line_id, role, fraction, deal_id, base, fx_rate, rule_id, rate, amount, shown, uplift,
             uplift_shown, reasons, original) in zip(
            t.provider, t.line_id, t.role, t.fraction, t.deal_id, t.base, t.fx_rate, t.rule_id, t.rate,
            t.amount, t.shown, t.tier_uplift, t.tier_uplift_shown, t.reasons, t.original_line_id, strict=True)
    ]


def _line_texts(table: pa.Table) -> LineTexts:
    """A slice of a :class:`ResultTable`'s table (numbers and reasons as text) as LineTexts."""

    def strings(name: str) -> list[str | None]:
        values: list[str | None] = table.column(name).to_pylist()
        return values

    def present(name: str) -> list[str]:
        values = strings(name)
        if None in values:
            raise ValueError(f"a line's {name} is missing in the run's results")
        return values  # type: ignore[return-value]

    return LineTexts(
        provider=present("provider"), line_id=present("line_id"), role=present("role"),
        fraction=present("fraction"), deal_id=present("deal_id"), base=present("base"),
        fx_rate=strings("fx_rate"), rule_id=strings("rule_id"), rate=present("rate"),
        amount=present("amount"), shown=present("shown"), tier_uplift=present("tier_uplift"),
        tier_uplift_shown=present("tier_uplift_shown"), reasons=present("reasons"),
        original_line_id=strings("original_line_id"),
    )


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
