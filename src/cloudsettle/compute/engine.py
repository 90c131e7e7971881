"""The bulk engine's entry point: a period's statements from SQL, steps 6–11 in the core.

``settle_period_bulk`` has the meaning of
:func:`cloudsettle.core.settlement.run.settle_period`: the same statements, the
same findings. Reference data come from a :class:`Book`; lines from an Arrow
table or Parquet. Steps 1–5 run as SQL (DuckDB, or Spark: ``compute.backend``) over every statement of the run
at once (the run's statements, the finalized ones recomputed for step 9, and
the probes behind ``no_agreement_version``); each statement's lines then go
through the core's :func:`finish_statement`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from cloudsettle.compute import base, clawback, deals, rate, select, tiers
from cloudsettle.compute import lines as line_table
from cloudsettle.compute import statement as statement_lines
from cloudsettle.compute.arrow import LINE_SCHEMA, line_from_row
from cloudsettle.compute.backend import (
    Backend,
    BulkSettings,
    DuckDBBackend,
    Executor,
    LineSource,
    as_executor,
)
from cloudsettle.compute.backend import connect as connect  # where the benchmark and tests find it
from cloudsettle.compute.reference import book_scales, load_reference, version_index
from cloudsettle.compute.scales import Scales
from cloudsettle.core.agreements import Agreement, AgreementVersion
from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO
from cloudsettle.core.periods import Period, parse_period
from cloudsettle.core.settlement.book import Book
from cloudsettle.core.settlement.model import (
    History,
    LineRole,
    ManualAdjustment,
    PriorPeriodAdjustment,
    Reason,
    Statement,
    StatementLine,
)
from cloudsettle.core.settlement.prior_period import prior_period_adjustment
from cloudsettle.core.settlement.run import FinalizedStatement, RunResult, period_for
from cloudsettle.core.settlement.statement import (
    finish_statement,
    missing_fx_finding,
    no_rule_finding,
    unlinked_refund_finding,
)


@dataclass(frozen=True, slots=True)
class _Spec:
    """One statement to compute: the run's, a finalized one recomputed, or a probe."""

    sid: int
    agreement: Agreement
    version: AgreementVersion
    period: Period


@dataclass
class _Computed:
    """Steps 1–5 of one statement, in the reference engine's walk order."""

    lines: list[StatementLine] = field(default_factory=list)
    measured: list[bool] = field(default_factory=list)
    billed: list[Decimal] = field(default_factory=list)
    uplift: list[Decimal] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    selected_any: bool = False
    clawed_here: bool = False


def settle_period_bulk(
    book: Book,
    lines: pa.Table | LineSource,
    period_name: str,
    *,
    partner_id: str | None = None,
    carried_in: Mapping[str, Decimal] | None = None,
    finalized: Mapping[str, Sequence[FinalizedStatement]] | None = None,
    adjustments: Mapping[str, Sequence[ManualAdjustment]] | None = None,
    skip: frozenset[str] = frozenset(),
    settings: BulkSettings | None = None,
    backend: Backend | None = None,
) -> RunResult:
    """Every statement of ``period_name``, as ``core.settlement.run.settle_period`` gives it.

    ``book`` supplies partners, agreements, deals, customers and FX rates (its
    ``lines`` are not read); ``lines`` is an Arrow table of
    :data:`~cloudsettle.compute.arrow.LINE_SCHEMA`, or Parquet of it: a file, a
    directory or glob of files (ordered by name), or a URI the backend reads
    (``s3a://…`` on Spark). ``backend`` says where the SQL runs: DuckDB with
    ``settings`` by default, or ``compute.spark.SparkBackend`` (same statements).
    """
    runs: list[tuple[Agreement, _Spec | None, list[tuple[FinalizedStatement, _Spec]], _Spec | None]] = []
    specs: list[_Spec] = []

    def spec(agreement: Agreement, version: AgreementVersion, period: Period) -> _Spec:
        made = _Spec(len(specs), agreement, version, period)
        specs.append(made)
        return made

    for agreement_id in sorted(book.agreements):
        agreement = book.agreements[agreement_id]
        if partner_id is not None and agreement.partner_id != partner_id:
            continue
        if agreement_id in skip:
            continue
        chosen = _applies(agreement, period_name)
        if chosen is None:
            runs.append((agreement, None, [], _probe(agreement, period_name, spec)))
            continue
        period, version = chosen
        main = spec(agreement, version, period)
        again: list[tuple[FinalizedStatement, _Spec]] = []
        for fin in (finalized or {}).get(agreement_id, ()):
            fin_version = agreement.version_numbered(fin.version)
            if fin_version is None:
                continue
            fin_period = parse_period(fin.period, anchor=fin_version.cycle_anchor)
            again.append((fin, spec(agreement, fin_version, fin_period)))
        runs.append((agreement, main, again, None))

    ex = (backend or DuckDBBackend(settings)).open()
    try:
        computed, mapping = _compute(ex, book, lines, specs, period_name)
    finally:
        ex.close()

    statements: list[Statement] = []
    findings: list[Finding] = list(mapping)
    for agreement, chosen_spec, again, probe in runs:
        if chosen_spec is None:
            if probe is not None and computed[probe.sid].selected_any:
                findings.append(_no_version(agreement, probe.period, period_name))
            continue
        main = chosen_spec
        ppas: list[PriorPeriodAdjustment] = []
        for fin, fin_spec in again:
            recomputed = _statement(book, fin_spec, computed[fin_spec.sid], History(), ())
            earned = recomputed.components.earned if recomputed else ZERO
            ppa = prior_period_adjustment(
                fin.period,
                earned_finalized=fin.earned,
                earned_recomputed=earned,
                already_adjusted=fin.already_adjusted,
            )
            if ppa is not None:
                ppas.append(ppa)
        history = History(
            carried_in=(carried_in or {}).get(agreement.id, ZERO), prior_period_adjustments=tuple(ppas)
        )
        made = _statement(book, main, computed[main.sid], history, (adjustments or {}).get(agreement.id, ()))
        if made is not None:
            statements.append(made)
            findings.extend(made.findings)
    return RunResult(period_name, tuple(statements), tuple(dict.fromkeys(findings)))


def _applies(agreement: Agreement, period_name: str) -> tuple[Period, AgreementVersion] | None:
    """``core.settlement.run.applies`` for one agreement."""
    period = period_for(agreement.reference_version, period_name)
    if period is None:
        return None
    version = agreement.version_for(period)
    if version is None:
        return None
    period = period_for(version, period_name)
    return (period, version) if period else None


def _probe(agreement: Agreement, period_name: str, spec: Any) -> _Spec | None:
    """A statement under the first version whose only use is to tell whether the
    agreement has lines in a period no version governs yet."""
    ref = agreement.reference_version
    period = period_for(ref, period_name)
    if period is None or agreement.version_for(period) is not None:
        return None
    made: _Spec = spec(agreement, ref, period)
    return made


def _no_version(agreement: Agreement, period: Period, period_name: str) -> Finding:
    return Finding(
        FindingKind.NO_AGREEMENT_VERSION,
        f"agreement {agreement.id} has no version effective on or before {period.start}: "
        f"its lines of {period_name} pay nothing",
        partner_id=agreement.partner_id,
        agreement_id=agreement.id,
    )


def _statement(
    book: Book, spec: _Spec, c: _Computed, history: History, adjustments: Sequence[ManualAdjustment]
) -> Statement | None:
    """Steps 6–11 in the core, when the statement exists."""
    exists = (
        c.selected_any
        or c.clawed_here
        or bool(adjustments)
        or bool(history.prior_period_adjustments)
        or history.carried_in != 0
    )
    if not exists:
        return None
    return finish_statement(
        agreement=spec.agreement,
        version=spec.version,
        period=spec.period,
        partner=book.partners.get(spec.agreement.partner_id),
        lines=c.lines,
        in_measure=c.measured,
        billed=c.billed,
        findings=c.findings,
        history=history,
        adjustments=adjustments,
        uplift=c.uplift,
    )


def prepare(target: Executor | duckdb.DuckDBPyConnection, book: Book, lines: pa.Table | LineSource) -> Scales:
    """Load reference data and lines, and resolve deals (the part every run shares)."""
    ex = as_executor(target)
    scales = book_scales(book)
    load_reference(ex, book, scales)
    line_table.register_source(ex, lines)
    line_scale = line_table.line_scale(ex)
    line_table.load_lines(ex, line_scale)
    deals.resolve_deals(ex)
    return Scales(scales.rate, scales.fx, scales.share, scales.uplift, scales.band, line=line_scale)


def run_steps(target: Executor | duckdb.DuckDBPyConnection, scales: Scales, specs: Sequence[_Spec]) -> Scales:
    """Steps 1–5 for ``specs`` as SQL: leaves ``sl`` (statement lines) and ``slu`` (uplift)."""
    ex = as_executor(target)
    st = pa.table(
        {
            "sid": pa.array([s.sid for s in specs], pa.int64()),
            "agreement_id": pa.array([s.agreement.id for s in specs], pa.string()),
            "vidx": pa.array([version_index(s.agreement, s.version) for s in specs], pa.int32()),
            "p_start": pa.array([s.period.start for s in specs], pa.date32()),
            "p_end": pa.array([s.period.end for s in specs], pa.date32()),
        }
    )
    ex.register("st", st)
    select.select(ex)
    ex.run(clawback.FROM_ELSEWHERE)
    ex.run(
        "CREATE OR REPLACE TEMP TABLE need AS SELECT DISTINCT sid, ord FROM ps "
        "UNION SELECT DISTINCT sid, ord FROM px0"
    )
    base.fx_lookup(ex, scales)
    ex.run(clawback.REFUND_KINDS)
    clawback.from_elsewhere(ex)
    ex.run(statement_lines.JOBS)
    rate.segments(ex)
    fraction_scale, terminating = base.fraction_scale(ex)
    scales = Scales(
        scales.rate,
        scales.fx,
        scales.share,
        scales.uplift,
        scales.band,
        line=scales.line,
        fraction=fraction_scale,
        terminating=terminating,
    )
    statement_lines.segment_values(ex, scales)
    statement_lines.statement_lines(ex, scales)
    tiers.attribute(ex, scales, scales.base)
    return scales


_ROWS = """
SELECT sl.sid, sl.ord, sl.role, sl.deal_id, sl.frac, sl.base, sl.fx_shown, sl.rule_id, sl.rate, sl.amount,
       sl.reasons, sl.measured, sl.billed, coalesce(u.uplift, 0) AS uplift,
       sl.f_no_rule, sl.f_unlinked, sl.f_missing
FROM sl LEFT JOIN slu u USING (rid) ORDER BY sl.rid
"""


def _compute(
    ex: Executor,
    book: Book,
    lines: pa.Table | LineSource,
    specs: Sequence[_Spec],
    period_name: str,
) -> tuple[dict[int, _Computed], list[Finding]]:
    scales = prepare(ex, book, lines)
    mapping = _mapping_findings(ex, period_name)
    computed = {s.sid: _Computed() for s in specs}
    if not specs:
        return computed, mapping
    run_steps(ex, scales, specs)
    by_sid = {s.sid: s for s in specs}
    for (sid,) in ex.rows("SELECT DISTINCT sid FROM ps WHERE memb = 'in'"):
        computed[sid].selected_any = True
    for (sid,) in ex.rows("SELECT DISTINCT sid FROM px"):
        computed[sid].clawed_here = True
    billing = _billing_lines(ex, lines)
    roles = {r.value: r for r in LineRole}
    reasons = {r.value: r for r in Reason}
    for row in ex.rows(_ROWS):
        (
            sid,
            ord_,
            role,
            deal_id,
            frac,
            base_,
            fx_shown,
            rule_id,
            rate_,
            amount,
            why,
            measured,
            billed,
            uplift,
            f_no_rule,
            f_unlinked,
            f_missing,
        ) = row
        c = computed[sid]
        s = by_sid[sid]
        line = billing[ord_]
        c.lines.append(
            StatementLine(
                line=line,
                role=roles[role],
                fraction=frac,
                deal_id=deal_id or "",
                base=base_,
                fx_rate=fx_shown,
                rule_id=rule_id,
                rate=rate_,
                amount=amount,
                reasons=tuple(reasons[w] for w in why),
                original_line_id=line.original_line_id,
            )
        )
        c.measured.append(measured)
        c.billed.append(billed)
        c.uplift.append(uplift)
        if f_no_rule:
            c.findings.append(no_rule_finding(s.agreement, s.version, line))
        if f_unlinked:
            c.findings.append(unlinked_refund_finding(s.agreement, line))
        if f_missing:
            c.findings.append(missing_fx_finding(s.agreement, s.version, line))
    return computed, mapping


def _billing_lines(ex: Executor, lines: pa.Table | LineSource) -> dict[int, BillingLine]:
    """The billing lines the statements name, rebuilt once each from the input."""
    ords = [r[0] for r in ex.rows("SELECT DISTINCT ord FROM sl ORDER BY ord")]
    if isinstance(lines, pa.Table):
        table = lines.take(pa.array(ords, pa.int64()))
    else:
        found = ex.fetch_arrow("SELECT * FROM lsrc WHERE ord IN (SELECT DISTINCT ord FROM sl) ORDER BY ord")
        # Only the line columns, typed as written (a backend may hand instants back without
        # their zone; the Parquet holds UTC).
        table = pa.table(
            [found.column(n).cast(LINE_SCHEMA.field(n).type) for n in LINE_SCHEMA.names], schema=LINE_SCHEMA
        )
    rows = table.to_pylist()
    return {o: line_from_row(r) for o, r in zip(ords, rows, strict=True)}


def _mapping_findings(ex: Executor, period_name: str) -> list[Finding]:
    """``missing_deal`` and ``ambiguous_deal`` of the lines billed or charged (UTC) in the period."""
    try:
        period: Period | None = parse_period(period_name, anchor=None)
    except ValueError:
        period = None
    where = ""
    if period is not None:
        start, end = f"DATE '{period.start.isoformat()}'", f"DATE '{period.end.isoformat()}'"
        where = f"WHERE billing_period BETWEEN {start} AND {end} OR utc_day BETWEEN {start} AND {end}"
    rows = ex.rows(f"SELECT kind, message, line_id FROM mapfind {where} ORDER BY ord, k")
    found: dict[Finding, None] = {}
    for kind, message, line_id in rows:
        found[Finding(FindingKind(kind), message, line_id=line_id)] = None
    return list(found)
