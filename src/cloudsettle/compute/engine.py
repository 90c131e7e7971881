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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cloudsettle.compute import base, clawback, deals, rate, select, summary, tiers
from cloudsettle.compute import lines as line_table
from cloudsettle.compute import statement as statement_lines
from cloudsettle.compute.arrow import LINE_SCHEMA, line_from_row
from cloudsettle.compute.backend import (
    Backend,
    BulkSettings,
    DuckDBBackend,
    Executor,
    LineSource,
    Reporting,
    StepStarted,
    as_executor,
)
from cloudsettle.compute.backend import connect as connect  # where the benchmark and tests find it
from cloudsettle.compute.reference import book_scales, load_reference, version_index
from cloudsettle.compute.scales import Scales
from cloudsettle.core.agreements import Agreement, AgreementVersion, RoundingLevel
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
    LineSums,
    finish_statement,
    finish_sums,
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
    step_started: StepStarted | None = None,
) -> RunResult:
    """Every statement of ``period_name``, as ``core.settlement.run.settle_period`` gives it.

    ``book`` supplies partners, agreements, deals, customers and FX rates (its
    ``lines`` are not read); ``lines`` is an Arrow table of
    :data:`~cloudsettle.compute.arrow.LINE_SCHEMA`, or Parquet of it: a file, a
    directory or glob of files (ordered by name), or a URI the backend reads
    (``s3a://…`` on Spark). ``backend`` says where the SQL runs: DuckDB with
    ``settings`` by default, or ``compute.spark.SparkBackend`` (same statements).
    ``step_started`` is told each SQL step's name as it starts (a progress bar).
    """
    runs, specs = _plan(book, period_name, partner_id, finalized, skip)
    ex = _open(backend, settings, step_started)
    try:
        computed, mapping = _compute(ex, book, lines, specs, period_name)
    finally:
        ex.close()


    def make(spec: _Spec, history: History, adjustments: Sequence[ManualAdjustment]) -> Statement | None:
        return _statement(book, spec, computed[spec.sid], history, adjustments)

    result, _ = _assemble(runs, period_name, mapping, make, lambda sid: computed[sid].selected_any,
                          carried_in, adjustments)
    return result


def _open(
    backend: Backend | None, settings: BulkSettings | None, step_started: StepStarted | None
) -> Executor:
    """The run's executor; with ``step_started``, one that names each step as it starts."""
    ex: Executor = (backend or DuckDBBackend(settings)).open()
    return ex if step_started is None else Reporting(ex, step_started)


@dataclass(frozen=True, slots=True)
class _Run:
    """One agreement's part of a run: its statement, the finalized ones step 9 recomputes, or
    the probe that tells whether it has lines no version governs."""

    agreement: Agreement
    main: _Spec | None
    again: tuple[tuple[FinalizedStatement, _Spec], ...]
    probe: _Spec | None


def _plan(
    book: Book,
    period_name: str,
    partner_id: str | None,
    finalized: Mapping[str, Sequence[FinalizedStatement]] | None,
    skip: frozenset[str],
) -> tuple[list[_Run], list[_Spec]]:
    """Which statements the run computes, as ``settle_period`` decides it (small data, Python)."""
    runs: list[_Run] = []
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
            runs.append(_Run(agreement, None, (), _probe(agreement, period_name, spec)))
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
        runs.append(_Run(agreement, main, tuple(again), None))
    return runs, specs


_Make = Callable[[_Spec, History, Sequence[ManualAdjustment]], "Statement | None"]


def _assemble(
    runs: Sequence[_Run],
    period_name: str,
    mapping: Sequence[Finding],
    make: _Make,
    selected_any: Callable[[int], bool],
    carried_in: Mapping[str, Decimal] | None,
    adjustments: Mapping[str, Sequence[ManualAdjustment]] | None,
) -> tuple[RunResult, list[tuple[_Spec, Statement]]]:
    """Steps 9 and the run's findings around ``make`` (a statement from its spec), in the
    reference's order; also each made statement with its spec."""
    statements: list[Statement] = []
    made_with: list[tuple[_Spec, Statement]] = []
    findings: list[Finding] = list(mapping)
    for run in runs:
        agreement = run.agreement
        if run.main is None:
            if run.probe is not None and selected_any(run.probe.sid):
                findings.append(_no_version(agreement, run.probe.period, period_name))
            continue
        ppas: list[PriorPeriodAdjustment] = []
        for fin, fin_spec in run.again:
            recomputed = make(fin_spec, History(), ())
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
        made = make(run.main, history, (adjustments or {}).get(agreement.id, ()))
        if made is not None:
            statements.append(made)
            made_with.append((run.main, made))
            findings.extend(made.findings)
    return RunResult(period_name, tuple(statements), tuple(dict.fromkeys(findings))), made_with


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


def _billing_lines(
    ex: Executor, lines: pa.Table | LineSource, which: str = "SELECT DISTINCT ord FROM sl"
) -> dict[int, BillingLine]:
    """The billing lines whose ``ord`` the query ``which`` names (by default every line the
    statements name), rebuilt once each from the input."""
    ords = [r[0] for r in ex.rows(f"SELECT ord FROM ({which}) w ORDER BY ord")]
    if isinstance(lines, pa.Table):
        table = lines.take(pa.array(ords, pa.int64()))
    else:
        found = ex.fetch_arrow(f"SELECT * FROM lsrc WHERE ord IN ({which}) ORDER BY ord")
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


#: Summary mode's per-line results: one row per statement line, in each statement's order.
RESULT_COLUMNS = (
    "partner_id", "agreement_id", "period", "seq", "provider", "line_id", "charge_start", "role",
    "fraction", "deal_id", "base", "fx_rate", "rule_id", "rate", "amount", "shown", "tier_uplift",
    "tier_uplift_shown", "reasons", "original_line_id",
)

_RESULTS = """
SELECT o.partner_id, o.agreement_id, o.period, s.seq, l.provider, l.line_id, l.charge_start, s.role,
       s.frac AS fraction, coalesce(s.deal_id, '') AS deal_id, s.base, s.fx_shown AS fx_rate, s.rule_id,
       s.rate, s.amount, s.shown, s.uplift AS tier_uplift, s.uplift_shown AS tier_uplift_shown, s.reasons,
       l.original_line_id
FROM slshow s JOIN sout o USING (sid) JOIN l ON l.ord = s.ord
ORDER BY o.partner_id, o.agreement_id, s.seq
"""


@dataclass(frozen=True, slots=True)
class SummaryResult:
    """A run in summary mode: statements without their lines, and where the lines went.

    ``result.statements`` carry components, totals, findings and history exactly as
    :func:`settle_period_bulk` gives them, with ``lines == ()``; ``lines_written`` rows of
    :data:`RESULT_COLUMNS` are in the Parquet at ``lines_out`` (when one was given).
    """

    result: RunResult
    lines_written: int
    lines_out: str | None


def settle_period_summary(
    book: Book,
    lines: pa.Table | LineSource,
    period_name: str,
    *,
    lines_out: str | Path | None = None,
    partner_id: str | None = None,
    carried_in: Mapping[str, Decimal] | None = None,
    finalized: Mapping[str, Sequence[FinalizedStatement]] | None = None,
    adjustments: Mapping[str, Sequence[ManualAdjustment]] | None = None,
    skip: frozenset[str] = frozenset(),
    settings: BulkSettings | None = None,
    backend: Backend | None = None,
    step_started: StepStarted | None = None,
) -> SummaryResult:
    """:func:`settle_period_bulk` without a Python object per line.

    Steps 1–5 run as SQL as in the full mode; each statement's lines are summed in SQL
    (:mod:`compute.summary`), the core finishes the statement from the sums
    (``finish_sums``: the same steps 6–11), and the shown amounts of every line are
    allocated back in SQL and written to Parquet at ``lines_out``. Memory no longer
    grows with the lines in Python: only statements, findings and their flagged lines do.
    """
    runs, specs = _plan(book, period_name, partner_id, finalized, skip)
    ex = _open(backend, settings, step_started)
    try:
        scales = prepare(ex, book, lines)
        mapping = _mapping_findings(ex, period_name)
        selected: set[int] = set()
        clawed: set[int] = set()
        sums: dict[int, LineSums] = {}
        flagged: dict[int, list[Finding]] = {}
        if specs:
            scales = run_steps(ex, scales, specs)
            selected = {sid for (sid,) in ex.rows("SELECT DISTINCT sid FROM ps WHERE memb = 'in'")}
            clawed = {sid for (sid,) in ex.rows("SELECT DISTINCT sid FROM px")}
            summary.register_rounding(ex, (
                summary.rounding_for(sp.sid, sp.version.currency, sp.version.rounding.mode.value,
                                     sp.version.rounding.level is RoundingLevel.LINE) for sp in specs))
            summary.line_units(ex, tiers.uplift_scale(scales, scales.base))
            sums = summary.statement_sums(ex)
            flagged = _flagged_findings(ex, lines, {sp.sid: sp for sp in specs})

        def make(spec: _Spec, history: History, adjusted: Sequence[ManualAdjustment]) -> Statement | None:
            exists = (spec.sid in selected or spec.sid in clawed or bool(adjusted)
                      or bool(history.prior_period_adjustments) or history.carried_in != 0)
            if not exists:
                return None
            return finish_sums(
                agreement=spec.agreement, version=spec.version, period=spec.period,
                partner=book.partners.get(spec.agreement.partner_id),
                sums=sums.get(spec.sid, _NO_LINES), findings=flagged.get(spec.sid, ()),
                history=history, adjustments=adjusted,
            )

        result, made = _assemble(runs, period_name, mapping, make, selected.__contains__, carried_in,
                                 adjustments)
        written = 0
        out = None if lines_out is None else str(lines_out)
        if specs:
            summary.register_totals(ex, (
                summary.Totals(sp.sid, st.components.commission, st.components.clawback,
                               st.components.tier_uplift) for sp, st in made))
            ex.register("sout", pa.table({
                "sid": pa.array([sp.sid for sp, _ in made], pa.int64()),
                "partner_id": pa.array([st.partner_id for _, st in made], pa.string()),
                "agreement_id": pa.array([st.agreement_id for _, st in made], pa.string()),
                "period": pa.array([period_name] * len(made), pa.string()),
            }))
            summary.show(ex)
            if out is not None:
                ex.write_parquet(_RESULTS, out)
                written = int(ex.rows("SELECT count(*) FROM slshow JOIN sout USING (sid)")[0][0])
    finally:
        ex.close()
    return SummaryResult(result, written, out)


_NO_LINES = LineSums(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)


def _flagged_findings(
    ex: Executor, lines: pa.Table | LineSource, by_sid: Mapping[int, _Spec]
) -> dict[int, list[Finding]]:
    """The per-line findings of steps 1–5 (no rule, unlinked refund, missing FX), by statement,
    in walk order, worded as the full mode words them; only flagged lines become objects."""
    flags = "SELECT DISTINCT ord FROM sl WHERE f_no_rule OR f_unlinked OR f_missing"
    rows = ex.rows(
        "SELECT sid, ord, f_no_rule, f_unlinked, f_missing FROM sl "
        "WHERE f_no_rule OR f_unlinked OR f_missing ORDER BY rid"
    )
    if not rows:
        return {}
    billing = _billing_lines(ex, lines, flags)
    out: dict[int, list[Finding]] = {}
    for sid, ord_, f_no_rule, f_unlinked, f_missing in rows:
        s, line = by_sid[sid], billing[ord_]
        found = out.setdefault(sid, [])
        if f_no_rule:
            found.append(no_rule_finding(s.agreement, s.version, line))
        if f_unlinked:
            found.append(unlinked_refund_finding(s.agreement, line))
        if f_missing:
            found.append(missing_fx_finding(s.agreement, s.version, line))
    return out
