"""``settle``, ``approve``, ``reject``, ``finalize`` and ``adjust``: the statement life cycle.

calculated / in_exception -> approved (by a second person; by two above the
``second_approval_above`` setting) -> settled (finalized: its ledger entry is
posted in the same transaction, and it never changes again; its carry-forward
and earned feed later statements) -> paid (payout status import).
Re-settling replaces statements that are not finalized; manual adjustments
belong to the partner, agreement and period, so they survive it. Every run
records its inputs (:mod:`cloudsettle.services.runs`); lines ingested after a
period's grace window no longer land in it. Shadow statements are computed
and compared, never approved, finalized or paid.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar, cast

from sqlalchemy import Row, Table, delete, select
from sqlalchemy.orm import Session

from cloudsettle.core.agreements import Agreement
from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.ledger_chain import canonical
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO, format_money, minor_unit, quantum
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.book import MappedBook
from cloudsettle.core.settlement.model import COMPONENT_NAMES, ManualAdjustment, Statement
from cloudsettle.core.settlement.run import FinalizedStatement, RunResult, applies, settle_period
from cloudsettle.db.bulk_insert import BulkInsert
from cloudsettle.db.guards import AppendOnlyError
from cloudsettle.db.models import (
    AgreementRow,
    AgreementVersionRow,
    FindingRow,
    ManualAdjustmentRow,
    PartnerRow,
    PriorPeriodAdjustmentRow,
    RunRow,
    StatementLineRow,
    StatementRow,
)
from cloudsettle.services import case_service, validation_service
from cloudsettle.services.audit import now, record
from cloudsettle.services.book_loader import LoadedBook
from cloudsettle.services.errors import BadInput, NotFound, Refused
from cloudsettle.services.ledger_service import check_invariants, post_statement
from cloudsettle.services.line_feed import LineFeed, check_candidates, owners_in, owners_of, write_line_feed
from cloudsettle.services.line_results import (
    LineResult,
    LineTexts,
    ResultTable,
    StatementKey,
    read_results,
    results_of,
    texts_of,
)
from cloudsettle.services.runs import (
    BULK,
    RunHistory,
    cutoff_for,
    engine,
    engine_memory,
    grace_days,
    inputs_document,
    load_book_as_of,
    record_run,
    result_key,
    second_approval_threshold,
    statement_fingerprint,
    statement_result,
)

FINALIZED = ("settled", "paid")
#: Statement lines inserted per executemany: bounds the rows held as tuples at once.
LINE_BATCH = 50_000
#: Workspace findings that a person must act on; settle exits 1 while any is open.
ACTIONABLE = frozenset(
    {FindingKind.MISSING_DEAL, FindingKind.AMBIGUOUS_DEAL, FindingKind.NO_AGREEMENT_VERSION}
)


@dataclass(frozen=True)
class SettleSummary:
    """A run's id, its statements as stored, and its findings."""

    run_id: int
    statements: tuple[StatementRow, ...]
    findings: tuple[Finding, ...]
    skipped_finalized: tuple[str, ...]

    @property
    def needs_action(self) -> bool:
        """Whether a statement is held in exception or a line could not be mapped."""
        return any(s.status == "in_exception" for s in self.statements) or any(
            f.kind in ACTIONABLE for f in self.findings
        )


def check_period(period: str) -> None:
    """Refuse a period name of no known form (bad usage, exit 2)."""
    try:
        parse_period(period, anchor=None)
    except ValueError as exc:
        if "needs the agreement's cycle_anchor" not in str(exc):
            raise BadInput(str(exc)) from exc


def check_partner(session: Session, partner_id: str | None) -> None:
    """Refuse an unknown partner id (bad usage, exit 2)."""
    if partner_id is not None and session.get(PartnerRow, partner_id) is None:
        raise BadInput(f"unknown partner {partner_id!r}")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a period is computed and stored.

    A large settle builds hundreds of thousands of objects that live until it ends (lines,
    rows, statement lines) and next to no cyclic garbage, and the collector would walk that
    growing heap over and over: a fifth of a 30,000-line settle's CPU (issue 6). Reference
    counting frees memory as usual meanwhile, and the collector runs again afterwards. Left
    as it is when something else has already paused it (a nested call, another thread).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class Computation:
    """One in-memory calculation of a period: the book it read, the history it was given,
    the grace cutoff, and the result."""

    loaded: LoadedBook
    history: RunHistory
    cutoff: datetime | None
    result: RunResult
    engine: str
    #: Every statement's lines, by (partner, agreement): read back from the run's Parquet on
    #: the bulk engine (its statements have none), made once from the statements otherwise.
    line_results: Mapping[StatementKey, Sequence[LineResult]]
    #: The lines the period's completeness and time-window checks read: the book's on the
    #: reference engine, on the bulk engine only those the checks could flag.
    checked_lines: Sequence[BillingLine]
    #: line id -> [(provider, account)] of the lines the findings name (for their cases).
    line_owners: Mapping[str, Sequence[tuple[str, str]]]

    def lines_of(self, statement: Statement) -> Sequence[LineResult]:
        """One computed statement's lines, in its order."""
        return self.line_results.get((statement.partner_id, statement.agreement_id), ())

    def texts_of(self, statement: Statement) -> LineTexts:
        """One computed statement's lines as texts, in its order (from the bulk engine's Arrow
        results without a ``Decimal`` per number)."""
        if isinstance(self.line_results, ResultTable):
            return self.line_results.texts((statement.partner_id, statement.agreement_id))
        return texts_of(self.lines_of(statement))


@_collector_paused()
def compute(
    session: Session,
    *,
    period: str,
    partner_id: str | None,
    substitute: Mapping[str, Agreement] | None = None,
    recompute_finalized: bool = False,
    progress: Progress | None = None,
) -> Computation:
    """Calculate ``period`` from the store without writing anything.

    ``substitute`` replaces agreements of the store by id (a what-if with a draft
    version); ``recompute_finalized`` also computes the statements already finalized
    for this period, which a real run leaves as they are. ``progress`` is told each
    stage (and on the bulk engine each SQL step) as it starts.
    """
    tell = progress or _quiet
    tell("reading the store")
    cutoff = cutoff_for(period, grace_days(session))
    chosen_engine = engine(session)
    # The bulk engine reads the lines from a feed written straight from the store, not as
    # Python objects (issue 6): its book holds the reference data only.
    loaded = load_book_as_of(session, cutoff, with_lines=chosen_engine != BULK)
    if substitute:
        agreements_now = {**loaded.book.agreements, **substitute}
        loaded = replace(loaded, book=replace(loaded.book, agreements=agreements_now))
    book = MappedBook(loaded.book)
    existing = _statements(session, period, partner_id)
    finalized_here = frozenset(
        s.agreement_id for s in existing if s.status in FINALIZED and not recompute_finalized)
    agreements = [
        a for a in loaded.book.agreements.values() if partner_id is None or a.partner_id == partner_id
    ]
    starts: dict[str, date] = {}
    for a in agreements:
        chosen = applies(book, a.id, period)
        if chosen is not None:
            starts[a.id] = chosen[0].start
    # The store's history for every agreement at once: three queries, not three per agreement.
    earlier = _finalized_earlier(session, starts)
    entered = _period_adjustments(session, period, partner_id)
    carried: dict[str, Decimal] = {}
    finalized: dict[str, list[FinalizedStatement]] = {}
    adjustments: dict[str, list[ManualAdjustment]] = {}
    for a in agreements:
        if a.id not in starts:
            continue
        before, fins = earlier.get(a.id, (ZERO, []))
        carried[a.id] = before
        finalized[a.id] = fins
        adjustments[a.id] = entered.get((a.partner_id, a.id), [])
    history = RunHistory(carried, finalized, adjustments, finalized_here)
    line_results: Mapping[StatementKey, Sequence[LineResult]]
    if chosen_engine == BULK:  # its stages: reading the lines, rating, reading their results
        bulk = _settle_bulk(session, loaded, cutoff, period, partner_id, history, tell)
        return Computation(replace(loaded, revisions=bulk.feed.revisions, batches=bulk.feed.batches),
                           history, cutoff, bulk.result, chosen_engine, bulk.line_results,
                           bulk.checked_lines, bulk.line_owners)
    else:
        tell("rating")
        result = settle_period(
            book,
            period,
            partner_id=partner_id,
            carried_in=carried,
            finalized=finalized,
            adjustments=adjustments,
            skip=finalized_here,
        )
        # Once, for the storage, the fingerprints and the results that read them.
        line_results = results_of(result.statements)
    named = {f.line_id for f in result.findings if f.line_id}
    return Computation(loaded, history, cutoff, result, chosen_engine, line_results,
                       loaded.book.lines, owners_in(loaded.book.lines, named))


@dataclass(frozen=True)
class _BulkRun:
    """What a bulk computation read and found, for :class:`Computation`."""

    feed: LineFeed
    result: RunResult
    line_results: Mapping[StatementKey, Sequence[LineResult]]
    checked_lines: list[BillingLine]
    line_owners: dict[str, list[tuple[str, str]]]


def _settle_bulk(session: Session, loaded: LoadedBook, cutoff: datetime | None, period: str,
                 partner_id: str | None, history: RunHistory, tell: Progress) -> _BulkRun:
    """Steps 1–5 in DuckDB (``compute``), 6–11 in the core from per-statement sums (summary mode):
    the same statements as the reference. The lines go from the store to a Parquet feed
    without becoming Python objects; their results come back from the run's Parquet."""
    from cloudsettle.compute.backend import BulkSettings  # DuckDB loads only when used
    from cloudsettle.compute.engine import settle_period_summary

    memory = engine_memory(session)
    with tempfile.TemporaryDirectory(prefix="cloudsettle-run-") as folder:
        tell("reading the lines")
        feed = write_line_feed(session, cutoff, Path(folder) / "feed.parquet")
        tell("rating")
        out = Path(folder) / "lines.parquet"
        run = settle_period_summary(
            loaded.book,
            feed.path,
            period,
            lines_out=out,
            partner_id=partner_id,
            carried_in=history.carried_in,
            finalized=history.finalized,
            adjustments=history.adjustments,
            skip=history.skip,
            settings=BulkSettings(memory_limit=memory, temp_directory=Path(folder) / "spill"),
            step_started=lambda step: tell(f"rating (SQL step {step})"),
        )
        tell("reading the lines' results")
        lines: Mapping[StatementKey, Sequence[LineResult]] = read_results(out) if run.lines_written else {}
        checked = _checked_lines(feed, period)
        owners = owners_of(feed.path, {f.line_id for f in run.result.findings if f.line_id})
    return _BulkRun(feed, run.result, lines, checked, owners)


def _checked_lines(feed: LineFeed, period: str) -> list[BillingLine]:
    """The feed's lines the period checks could flag (none for a name that is no period, as
    ``validation_service.check_period`` then checks nothing)."""
    try:
        span = parse_period(period, anchor=None)
    except ValueError:
        return []
    return check_candidates(feed.path, span)


#: Told the name of each stage of a settle as it starts (``cloudsettle settle``'s progress line).
Progress = Callable[[str], None]


def _quiet(stage: str) -> None:
    """No progress line."""


def fingerprinter(session: Session, c: Computation
                  ) -> Callable[[Statement, Sequence[LineResult] | LineTexts], str]:
    """The inputs fingerprint of a computed statement given its lines (one query for every
    version's fingerprint, not a lookup per statement: issue 6)."""
    stored = {
        (agreement_id, version): fingerprint
        for agreement_id, version, fingerprint in session.execute(
            select(AgreementVersionRow.agreement_id, AgreementVersionRow.version,
                   AgreementVersionRow.fingerprint)
        )
    }

    def of(st: Statement, lines: Sequence[LineResult] | LineTexts) -> str:
        version_fingerprint = stored.get((st.agreement_id, st.version.version))
        partner = c.loaded.book.partners.get(st.partner_id)
        return statement_fingerprint(
            st, c.loaded.revisions, version_fingerprint if version_fingerprint is not None else "",
            partner.verification.value if partner else "", lines)

    return of


def fingerprints(session: Session, c: Computation) -> dict[tuple[str, str], str]:
    """The inputs fingerprint of each computed statement, by (partner, agreement)."""
    of = fingerprinter(session, c)
    return {(st.partner_id, st.agreement_id): of(st, c.lines_of(st)) for st in c.result.statements}


@_collector_paused()
def settle(session: Session, *, period: str, partner_id: str | None, actor: str,
           progress: Progress | None = None) -> SettleSummary:
    """Validate and compute the statements of ``period`` and store them, with the run's inputs.

    ``progress`` is told each stage as it starts. An exception it raises (Ctrl-C) stops the
    run; the caller's rollback then leaves the store as it was."""
    tell = progress or _quiet
    check_period(period)
    check_partner(session, partner_id)
    existing = _statements(session, period, partner_id)
    previous_preparer = {s.agreement_id: s.prepared_by for s in existing if s.status not in FINALIZED}
    calc = compute(session, period=period, partner_id=partner_id, progress=progress)
    tell("storing statements")
    result = calc.result
    _delete_statements(session, [s for s in existing if s.status not in FINALIZED])
    session.flush()

    stamp = now()
    run = RunRow(
        period=period,
        partner_id=partner_id,
        started_at=stamp,
        started_by=actor,
        finished_at=stamp,
        status="finished",
        summary=None,
    )
    session.add(run)
    session.flush()
    _supersede_findings(session, period, partner_id)
    modes = {row.id: row.mode for row in session.execute(select(AgreementRow.id, AgreementRow.mode))}
    rows, pieces = _store_statements(session, run.id, calc, calc.loaded.revisions, prepared_by=actor,
                                     stamp=stamp, fingerprint=fingerprinter(session, calc), modes=modes)
    _store_findings(session, run.id, period, result)
    tell("checking the period")
    # Issue 4: the checks on the period's lines, and cases from blocking findings; a case
    # holds (in_exception) only the statements it links.
    validation_service.check_period(session, run_id=run.id, period=period, lines=calc.checked_lines)
    case_service.sync_run(session, period=period, findings=result.findings, owners=calc.line_owners,
                          statements=rows, actor=actor)
    run.summary = json.dumps(
        {"statements": len(rows), "findings": len(result.findings), "engine": calc.engine})
    tell("recording the run's inputs")
    inputs = inputs_document(session, calc.loaded, period=period, partner_id=partner_id, cutoff=calc.cutoff,
                             history=calc.history)
    record_run(session, run.id, inputs, result, calc.cutoff, pieces=pieces)
    record(
        session,
        actor=actor,
        action="settle",
        subject=period,
        run=run.id,
        partner=partner_id,
        statements=[f"{r.partner_id}/{r.agreement_id}" for r in rows],
        replaced_preparers=previous_preparer,
        after={f"{r.partner_id}/{r.agreement_id}": {"status": r.status, "payable": str(r.payable)}
               for r in rows},
    )
    skipped = tuple(sorted(calc.history.skip))
    return SettleSummary(run.id, tuple(rows), result.findings, skipped)


def approve(session: Session, *, period: str, partner_id: str | None, actor: str) -> list[StatementRow]:
    """Approve calculated statements.

    Refused (nothing changes) when any of them: is held in exception, was
    prepared or adjusted by ``actor``, is a shadow statement, was rejected and
    not settled again, or was calculated from inputs that have changed since.
    Above the ``second_approval_above`` setting a statement needs two
    approvers: the first approval is recorded and the statement stays
    ``calculated`` until a different person approves it too.
    """
    check_period(period)
    check_partner(session, partner_id)
    statements = [s for s in _statements(session, period, partner_id) if s.status not in FINALIZED]
    if not statements:
        raise NotFound(f"no statement of {period} to approve" + (f" for {partner_id}" if partner_id else ""))
    problems: list[str] = []
    for s in statements:
        name = f"{s.partner_id}/{s.agreement_id}"
        adjusters = {a.created_by for a in manual_adjustments(session, s.partner_id, s.agreement_id, period)}
        if s.mode == "shadow":
            problems.append(f"{name}: a shadow agreement's statement is computed and compared, "
                            "never approved")
        elif s.status == "in_exception":
            problems.append(f"{name}: held in exception; resolve its findings first")
        elif s.prepared_by == actor:
            problems.append(f"{name}: {actor} settled it; four eyes need another approver")
        elif actor in adjusters:
            problems.append(f"{name}: {actor} added a manual adjustment to it; "
                            "four eyes need another approver")
        elif s.rejected_by is not None:
            problems.append(f"{name}: rejected by {s.rejected_by} ({s.rejection_reason}); "
                            "settle it again first")
        elif s.status == "calculated" and s.approved_by == actor:
            problems.append(f"{name}: {actor} already approved it; the second approval needs another person")
    if not problems:
        problems.extend(_changed_inputs(session, period, partner_id, statements))
    if problems:
        raise Refused("approval refused:\n" + "\n".join(problems))
    stamp = now()
    for s in statements:
        if s.status != "calculated":
            continue
        before = {"status": s.status, "approved_by": s.approved_by}
        threshold = second_approval_threshold(session, s.currency)
        needs_two = threshold is not None and s.payable > threshold
        if needs_two and s.approved_by is None:
            s.approved_by, s.approved_at = actor, stamp
        elif needs_two:
            s.second_approved_by, s.second_approved_at, s.status = actor, stamp, "approved"
        else:
            s.status, s.approved_by, s.approved_at = "approved", actor, stamp
        record(
            session,
            actor=actor,
            action="statement.approve",
            subject=f"statement:{s.partner_id}/{s.agreement_id}/{period}",
            statement=s.id,
            before=before,
            after={"status": s.status, "approved_by": s.approved_by,
                   "second_approved_by": s.second_approved_by},
        )
    return statements


def awaiting_second_approval(s: StatementRow) -> bool:
    """Whether a statement has its first of two approvals."""
    return s.status == "calculated" and s.approved_by is not None


def _changed_inputs(session: Session, period: str, partner_id: str | None,
                    statements: Sequence[StatementRow]) -> list[str]:
    """The statements whose inputs changed since they were calculated."""
    calc = compute(session, period=period, partner_id=partner_id)
    now_prints = fingerprints(session, calc)
    out = []
    for s in statements:
        if s.status != "calculated":
            continue
        fresh = now_prints.get((s.partner_id, s.agreement_id))
        if s.inputs_fingerprint is None or fresh != s.inputs_fingerprint:
            out.append(f"{s.partner_id}/{s.agreement_id}: its inputs changed since it was calculated "
                       f"(run {s.run_id}); settle {period} again before approving")
    return out


def reject(session: Session, *, period: str, partner_id: str, agreement_id: str | None, reason: str,
           actor: str) -> list[StatementRow]:
    """Send statements back to their preparer with a reason: not approved, not finalizable,
    until settled again."""
    check_period(period)
    check_partner(session, partner_id)
    if not reason.strip():
        raise BadInput("a rejection needs a reason (--reason)")
    statements = _statements(session, period, partner_id, agreement_id)
    if not statements:
        raise NotFound(f"no statement of {period} for {partner_id}")
    final = [f"{s.partner_id}/{s.agreement_id}" for s in statements if s.status in FINALIZED]
    if final:
        raise Refused(f"{', '.join(final)} {period} is finalized; a correction goes to a later period")
    stamp = now()
    for s in statements:
        before = {"status": s.status, "approved_by": s.approved_by}
        if s.status == "approved":
            s.status = "calculated"
        s.approved_by = s.approved_at = s.second_approved_by = s.second_approved_at = None
        s.rejected_by, s.rejected_at, s.rejection_reason = actor, stamp, reason
        record(
            session,
            actor=actor,
            action="statement.reject",
            subject=f"statement:{s.partner_id}/{s.agreement_id}/{period}",
            reason=reason,
            statement=s.id,
            before=before,
            after={"status": s.status, "rejected_by": actor},
        )
    return statements


#: Set to a fault point's name (``finalize:after-ledger``) to kill the process there: the
#: crash-safety test's fault injection. Never set in production.
FAULT_ENV = "CLOUDSETTLE_FAULT_INJECT"


def _fault_point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os._exit(86)  # die like a killed process: no rollback, no cleanup, no commit


def finalize(session: Session, *, period: str, partner_id: str | None, actor: str) -> list[StatementRow]:
    """Close approved statements: post their ledger entries, mark them ``settled``, check the
    ledger invariants; all in the caller's one transaction."""
    check_period(period)
    check_partner(session, partner_id)
    statements = [s for s in _statements(session, period, partner_id) if s.status not in FINALIZED]
    if not statements:
        raise NotFound(f"no open statement of {period} to finalize")
    shadow = [f"{s.partner_id}/{s.agreement_id}" for s in statements if s.mode == "shadow"]
    if shadow:
        raise Refused("shadow statements are never finalized or paid: " + ", ".join(shadow))
    waiting = [f"{s.partner_id}/{s.agreement_id} is {s.status}" for s in statements if s.status != "approved"]
    if waiting:
        raise Refused("finalize needs approved statements: " + "; ".join(waiting))
    stamp = now()
    day = stamp.date()
    posted: dict[int, int | None] = {}
    for s in statements:
        entry = post_statement(session, s, actor=actor, day=day)
        posted[s.id] = entry.id if entry else None
    session.flush()
    _fault_point("finalize:after-ledger")
    for s in statements:
        s.status, s.finalized_by, s.finalized_at = "settled", actor, stamp
    session.flush()
    _fault_point("finalize:after-status")
    check_invariants(session, {s.partner_id for s in statements})
    for s in statements:
        record(
            session,
            actor=actor,
            action="statement.finalize",
            subject=f"statement:{s.partner_id}/{s.agreement_id}/{period}",
            statement=s.id,
            ledger_entry=posted[s.id],
            before={"status": "approved"},
            after={"status": "settled", "payable": format_money(s.payable, s.currency)},
        )
    record(
        session,
        actor=actor,
        action="finalize",
        subject=period,
        partner=partner_id,
        statements=[s.id for s in statements],
        payable={f"{s.partner_id}/{s.agreement_id}": format_money(s.payable, s.currency) for s in statements},
    )
    return statements


def adjust(
    session: Session,
    *,
    period: str,
    partner_id: str,
    agreement_id: str | None,
    amount: Decimal,
    reason: str,
    evidence: str | None,
    actor: str,
) -> ManualAdjustmentRow:
    """Add a manual adjustment and recompute the statement, which goes back to ``calculated``."""
    check_period(period)
    check_partner(session, partner_id)
    agreement = resolve_agreement(session, partner_id, agreement_id)
    existing = _statements(session, period, partner_id, agreement)
    if any(s.status in FINALIZED for s in existing):
        raise Refused(f"{partner_id}/{agreement} {period} is finalized; a correction goes to a later period")
    if not reason.strip():
        raise BadInput("an adjustment needs a reason")
    currency = session.scalars(select(AgreementVersionRow.currency).where(
        AgreementVersionRow.agreement_id == agreement).order_by(AgreementVersionRow.version.desc())).first()
    if currency is not None and amount != amount.quantize(quantum(currency)):
        raise BadInput(f"--amount {amount}: {currency} amounts have {minor_unit(currency)} decimals")
    row = ManualAdjustmentRow(
        partner_id=partner_id,
        agreement_id=agreement,
        period=period,
        amount=amount,
        reason=reason,
        evidence=evidence,
        created_by=actor,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="adjust",
        subject=f"{partner_id}/{agreement}/{period}",
        amount=str(amount),
        reason=reason,
        after={"amount": str(amount), "evidence": evidence},
    )
    if existing:
        preparer = existing[0].prepared_by
        settle(session, period=period, partner_id=partner_id, actor=preparer)
    return row


def resolve_agreement(session: Session, partner_id: str, agreement_id: str | None) -> str:
    """The agreement named, or the partner's only one (bad usage when ambiguous)."""
    ids = list(session.scalars(select(AgreementRow.id).where(AgreementRow.partner_id == partner_id)))
    if agreement_id is not None:
        if agreement_id not in ids:
            raise BadInput(f"partner {partner_id} has no agreement {agreement_id!r}")
        return agreement_id
    if len(ids) != 1:
        raise BadInput(
            f"partner {partner_id} has {len(ids)} agreements ({', '.join(sorted(ids))}): "
            "name one with --agreement"
        )
    return ids[0]


def manual_adjustments(
    session: Session, partner_id: str, agreement_id: str, period: str
) -> list[ManualAdjustment]:
    """The manual adjustments of one statement key, oldest first."""
    rows = session.scalars(
        select(ManualAdjustmentRow)
        .where(
            ManualAdjustmentRow.partner_id == partner_id,
            ManualAdjustmentRow.agreement_id == agreement_id,
            ManualAdjustmentRow.period == period,
        )
        .order_by(ManualAdjustmentRow.id)
    )
    return [_manual_adjustment(r) for r in rows]


def _manual_adjustment(r: ManualAdjustmentRow) -> ManualAdjustment:
    return ManualAdjustment(str(r.id), r.amount, r.reason, r.created_by, r.created_at, r.evidence)


def _statements(
    session: Session, period: str, partner_id: str | None, agreement_id: str | None = None
) -> list[StatementRow]:
    query = select(StatementRow).where(StatementRow.period == period)
    if partner_id is not None:
        query = query.where(StatementRow.partner_id == partner_id)
    if agreement_id is not None:
        query = query.where(StatementRow.agreement_id == agreement_id)
    return list(session.scalars(query.order_by(StatementRow.partner_id, StatementRow.agreement_id)))


#: Ids per ``IN (...)`` list: well inside every backend's limit on bound parameters.
_ID_CHUNK = 500
_Id = TypeVar("_Id", int, str)


def _delete_statements(session: Session, statements: Sequence[StatementRow]) -> None:
    """Remove statements that a new run replaces, with their lines and prior-period adjustments.

    One DELETE per table for up to :data:`_ID_CHUNK` statements, not two per statement
    (issue 6). Only statements not finalized may go: a finalized one is refused here before
    any SQL, and the statements themselves are deleted through the session, whose
    append-only guard (:mod:`cloudsettle.db.guards`) checks each again at the flush.
    """
    final = [f"{s.partner_id}/{s.agreement_id}/{s.period}" for s in statements if s.status in FINALIZED]
    if final:
        raise AppendOnlyError(f"finalized statements are never deleted: {', '.join(final)}")
    for chunk in _chunks([s.id for s in statements]):
        session.execute(delete(StatementLineRow).where(StatementLineRow.statement_id.in_(chunk)))
        session.execute(delete(PriorPeriodAdjustmentRow).where(PriorPeriodAdjustmentRow.statement_id.in_(chunk)))
    for s in statements:
        session.delete(s)


def _chunks(ids: Sequence[_Id]) -> Iterator[Sequence[_Id]]:
    """``ids`` in slices of :data:`_ID_CHUNK`, for ``IN (...)`` lists."""
    for start in range(0, len(ids), _ID_CHUNK):
        yield ids[start : start + _ID_CHUNK]


def _finalized_earlier(
    session: Session, starts: Mapping[str, date]
) -> dict[str, tuple[Decimal, list[FinalizedStatement]]]:
    """For each agreement (id -> the start of this run's period, for every agreement the
    period applies to): the ``carried_out`` of its latest finalized statement before that
    start (step 11), and its finalized statements before it, oldest first, each with what
    later finalized statements already adjusted for it (step 9). Agreements with no such
    statement are left out (nothing carried in, nothing to recompute)."""
    found: dict[str, list[Row[int, str, str, int, Decimal, Decimal, date]]] = defaultdict(list)
    for chunk in _chunks(sorted(starts)):
        query = (
            select(StatementRow.id, StatementRow.agreement_id, StatementRow.period,
                   StatementRow.agreement_version, StatementRow.earned, StatementRow.carried_out,
                   StatementRow.period_start)
            .where(
                StatementRow.agreement_id.in_(chunk),
                StatementRow.status.in_(FINALIZED),
                StatementRow.period_start < max(starts[i] for i in chunk),
            )
            .order_by(StatementRow.period_start, StatementRow.id)
        )
        for row in session.execute(query):
            if row.period_start < starts[row.agreement_id]:
                found[row.agreement_id].append(row)
    owner = {row.id: agreement_id for agreement_id, rows in found.items() for row in rows}
    already: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for ids in _chunks(list(owner)):
        for statement_id, corrects_period, amount in session.execute(
            select(PriorPeriodAdjustmentRow.statement_id, PriorPeriodAdjustmentRow.corrects_period,
                   PriorPeriodAdjustmentRow.amount)
            .where(PriorPeriodAdjustmentRow.statement_id.in_(ids))
            .order_by(PriorPeriodAdjustmentRow.id)
        ):
            sums = already[owner[statement_id]]
            sums[corrects_period] = sums.get(corrects_period, ZERO) + amount
    return {
        agreement_id: (
            rows[-1].carried_out,
            [FinalizedStatement(r.period, r.agreement_version, r.earned,
                                already[agreement_id].get(r.period, ZERO)) for r in rows],
        )
        for agreement_id, rows in found.items()
    }


def _period_adjustments(
    session: Session, period: str, partner_id: str | None
) -> dict[tuple[str, str], list[ManualAdjustment]]:
    """The manual adjustments of every statement key of ``period`` (optionally one partner's),
    by (partner, agreement), oldest first: :func:`manual_adjustments` in one query."""
    query = select(ManualAdjustmentRow).where(ManualAdjustmentRow.period == period)
    if partner_id is not None:
        query = query.where(ManualAdjustmentRow.partner_id == partner_id)
    out: dict[tuple[str, str], list[ManualAdjustment]] = defaultdict(list)
    for r in session.scalars(query.order_by(ManualAdjustmentRow.id)):
        out[(r.partner_id, r.agreement_id)].append(_manual_adjustment(r))
    return out


def _store_statements(
    session: Session,
    run_id: int,
    calc: Computation,
    revisions: Mapping[tuple[str, str], int],
    *,
    prepared_by: str,
    stamp: datetime,
    fingerprint: Callable[[Statement, Sequence[LineResult] | LineTexts], str],
    modes: Mapping[str, str],
) -> tuple[list[StatementRow], dict[str, str]]:
    """Store a run's statements with their lines and prior-period adjustments, in order, and
    return them with each statement's entry of the results document (canonical JSON).

    The statements go in one flush (the ORM batches it into multi-row INSERTs, ids in
    statement order); then one pass over the statements takes each one's lines once (on the
    bulk engine made from the run's results one statement at a time, issue 6) for its
    fingerprint, its results entry and its ``statement_lines`` rows, which go to the DBAPI's
    executemany in batches of LINE_BATCH. ``modes`` maps agreement id to mode.
    """
    statements = calc.result.statements
    rows = [
        _statement_row(run_id, s, prepared_by=prepared_by, stamp=stamp, fingerprint=None,
                       mode=modes.get(s.agreement_id, "live"))
        for s in statements
    ]
    session.add_all(rows)
    session.flush()
    # Straight to the DBAPI's executemany, bound as the column types bind (db/bulk_insert.py): a
    # million lines through the ORM's bind processing cost more than computing them (issue 6).
    # Money goes as text (``LineTexts``), bound by ``types.money_text_bind``: the same values as
    # ``Money`` binds, without a ``Decimal`` per number on the bulk engine.
    writer = BulkInsert(cast(Table, StatementLineRow.__table__), _LINE_COLUMNS, session.get_bind().dialect,
                        money_as_text=True)
    connection = session.connection()
    pending: list[tuple[object, ...]] = []
    pieces: dict[str, str] = {}
    for row, s in zip(rows, statements, strict=True):
        texts = calc.texts_of(s)
        row.inputs_fingerprint = fingerprint(s, texts)
        pieces[result_key(s)] = canonical(statement_result(s, texts))
        pending.extend(_line_values(row.id, texts, revisions))
        if len(pending) >= LINE_BATCH:
            writer.execute(connection, pending)
            pending = []
    writer.execute(connection, pending)
    for row, s in zip(rows, statements, strict=True):
        for ppa in s.prior_period_adjustments:
            corrected = session.scalars(
                select(StatementRow).where(
                    StatementRow.agreement_id == s.agreement_id,
                    StatementRow.period == ppa.corrects_period,
                    StatementRow.status.in_(FINALIZED),
                )
            ).one()
            session.add(
                PriorPeriodAdjustmentRow(
                    statement_id=row.id,
                    corrects_period=ppa.corrects_period,
                    corrects_statement_id=corrected.id,
                    earned_finalized=ppa.earned_finalized,
                    earned_recomputed=ppa.earned_recomputed,
                    already_adjusted=ppa.already_adjusted,
                    amount=ppa.amount,
                )
            )
    return rows, pieces


def _statement_row(
    run_id: int, s: Statement, *, prepared_by: str, stamp: datetime, fingerprint: str | None, mode: str
) -> StatementRow:
    """The row of one computed statement (its lines are stored by :func:`_store_statements`)."""
    c = s.components
    return StatementRow(
        run_id=run_id,
        partner_id=s.partner_id,
        agreement_id=s.agreement_id,
        period=s.period.name,
        period_start=s.period.start,
        period_end=s.period.end,
        cycle=s.period.cycle.value,
        agreement_version=s.version.version,
        currency=s.currency,
        status="in_exception" if s.blocked else "calculated",
        mode=mode,
        **{name: getattr(c, name) for name in COMPONENT_NAMES},
        earned=c.earned,
        base_total=s.base_total,
        billed_total=s.billed_total,
        unrounded=json.dumps({k: str(v) for k, v in s.unrounded.items()}, sort_keys=True),
        prepared_by=prepared_by,
        prepared_at=stamp,
        inputs_fingerprint=fingerprint,
    )


#: The columns of ``statement_lines`` in the order :func:`_line_values` gives them.
_LINE_COLUMNS = ("statement_id", "seq", "provider", "line_id", "revision", "role", "fraction", "deal_id",
                 "base", "fx_rate", "rule_id", "rate", "amount", "shown", "tier_uplift", "tier_uplift_shown",
                 "reasons", "original_line_id")


def _line_values(
    statement_id: int, t: LineTexts, revisions: Mapping[tuple[str, str], int]
) -> Iterator[tuple[object, ...]]:
    """The values of one statement's lines, in :data:`_LINE_COLUMNS` order (money as text)."""
    for seq, values in enumerate(zip(
        t.provider, t.line_id, t.role, t.fraction, t.deal_id, t.base, t.fx_rate, t.rule_id, t.rate, t.amount,
        t.shown, t.tier_uplift, t.tier_uplift_shown, t.reasons, t.original_line_id, strict=True,
    ), start=1):
        provider, line_id, role, *rest = values
        yield (statement_id, seq, provider, line_id, revisions.get((provider, line_id), 0), role, *rest)


def _supersede_findings(session: Session, period: str, partner_id: str | None) -> None:
    """Findings of earlier runs of this period are replaced by this run's."""
    query = select(FindingRow).where(
        FindingRow.period == period, FindingRow.run_id.is_not(None), FindingRow.status == "open"
    )
    if partner_id is not None:
        query = query.where(FindingRow.partner_id == partner_id)
    for f in session.scalars(query):
        f.status = "superseded"


def _store_findings(session: Session, run_id: int, period: str, result: RunResult) -> None:
    stamp = now()
    for f in result.findings:
        session.add(
            FindingRow(
                kind=f.kind.value,
                message=f.message,
                run_id=run_id,
                line_id=f.line_id,
                partner_id=f.partner_id,
                agreement_id=f.agreement_id,
                period=period,
                created_at=stamp,
            )
        )


def statement_rows(
    session: Session, *, period: str, partner_id: str, agreement_id: str | None
) -> Sequence[StatementRow]:
    """The stored statements of a partner for a period (optionally one agreement)."""
    return _statements(session, period, partner_id, agreement_id)
