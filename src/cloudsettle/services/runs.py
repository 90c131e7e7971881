"""Runs: what a settlement run read, what it produced, and reproducing it later.

A run's inputs are recorded as one canonical JSON document
(:class:`~cloudsettle.db.models.RunInputRow`): the exact line revisions (and
the batches they came from), the agreement versions with their definitions,
snapshots of the mutable reference data (partners, customers, deals,
agreements, FX rates), and the history the run was given (carried-in balances,
finalized statements for step 9, manual adjustments). ``rerun`` rebuilds the
engine's book from that document alone and compares the statements it gets
with the ones the run recorded: on unchanged inputs there is no difference.

Also here: the workspace settings (grace window, second-approval threshold),
the grace cutoff, and the per-statement inputs fingerprint that approval
checks against a fresh calculation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from cloudsettle.core.fx import FxTable
from cloudsettle.core.ledger_chain import canonical
from cloudsettle.core.money import D
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.book import Book, LineKey
from cloudsettle.core.settlement.model import COMPONENT_NAMES, ManualAdjustment, Statement
from cloudsettle.core.settlement.run import FinalizedStatement, RunResult
from cloudsettle.db.base import Base
from cloudsettle.db.models import (
    AgreementRow,
    AgreementVersionRow,
    BillingLineRow,
    CustomerRow,
    DealRow,
    FxRateRow,
    LineRevisionRow,
    PartnerRow,
    RunInputRow,
    RunRow,
    SettingRow,
)
from cloudsettle.services.audit import now, record
from cloudsettle.services.book_loader import LoadedBook
from cloudsettle.services.errors import BadInput, NotFound
from cloudsettle.services.key_chunks import key_chunks
from cloudsettle.services.line_results import (
    LineResult,
    LineTexts,
    StatementKey,
    from_statement_line,
    iter_lines,
    number_text,
    texts_of,
)
from cloudsettle.services.records import (
    LINE_COLUMNS,
    agreement_of,
    customer_of,
    deal_of,
    fx_rate_of,
    line_of,
    line_of_values,
    partner_of,
)

# --- settings -------------------------------------------------------------------

GRACE_DAYS = "grace_days"
SECOND_APPROVAL_ABOVE = "second_approval_above"
ENGINE = "engine"
#: The settlement engines: the reference evaluator (``core.settlement``, the oracle) and
#: the bulk engine (steps 1–5 in DuckDB, ``compute``); both give the same statements.
REFERENCE, BULK = "reference", "bulk"
#: The bulk engine's DuckDB ``memory_limit``: past it, DuckDB spills to the run's temporary folder.
ENGINE_MEMORY = "engine_memory"
#: A settle's peak is DuckDB's limit plus the Python side (docs/performance.md): 1 GB keeps a
#: million-line settle under 2 GiB; the engine alone settles ten million lines within it.
DEFAULT_ENGINE_MEMORY = "1GB"
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
ENGINES = (REFERENCE, BULK)
#: Known settings and how their text is checked.
SETTINGS: dict[str, str] = {
    GRACE_DAYS: "days after a period's last day during which late lines still land in it (integer)",
    SECOND_APPROVAL_ABOVE: "payable above which a statement needs a second approver (amount)",
    "debtor.name": "the paying company's name in payout files",
    "debtor.iban": "the account payouts are paid from (IBAN)",
    "debtor.account_number": "the account payouts are paid from, when it has no IBAN",
    "debtor.bic": "the paying bank's BIC",
    "drift_factor": "how far a customer's volume may move from its trailing average (amount above 1)",
    "drift_periods": "earlier months making a customer's trailing average (integer)",
    "totals_tolerance": "difference allowed between a provider's total and its lines (amount)",
    "evidence_max_bytes": "largest evidence file a case accepts (integer bytes)",
    ENGINE: "which engine computes statements: reference (default) or bulk (DuckDB)",
    ENGINE_MEMORY: f"bulk engine DuckDB memory before it spills to disk (default {DEFAULT_ENGINE_MEMORY})",
}
#: Families of settings named ``<prefix>.<suffix>``: what the suffix names, and the value's kind.
SETTING_FAMILIES: dict[str, tuple[str, str]] = {
    SECOND_APPROVAL_ABOVE: ("a currency", "amount"),
    "sla_days": ("a case kind: days to resolve such a case", "integer"),
    "freshness_hours": ("a source kind (file, api): hours before the source counts as stale", "integer"),
}
_WHOLE_NUMBERS = frozenset({GRACE_DAYS, "drift_periods", "evidence_max_bytes"})


def _check_setting(key: str, value: str) -> str:
    prefix, _, suffix = key.partition(".")
    family = SETTING_FAMILIES.get(prefix) if suffix else None
    if key not in SETTINGS and family is None:
        named = sorted(SETTING_FAMILIES.items())
        families = ", ".join(f"{p}.<{what.split(':')[0]}>" for p, (what, _) in named)
        raise BadInput(f"unknown setting {key!r}; known: {', '.join(sorted(SETTINGS))} (and {families})")
    text = value.strip()
    if key == ENGINE_MEMORY:
        if not _MEMORY.match(text):
            raise BadInput(f"{key} must be an amount of memory such as 1GB or 512MiB, not {value!r}")
        return text
    if key == ENGINE:
        if text not in ENGINES:
            raise BadInput(f"{key} must be one of {', '.join(ENGINES)}, not {value!r}")
        return text
    if key.startswith("debtor."):
        if not text:
            raise BadInput(f"{key} must not be empty")
        return text
    if key in _WHOLE_NUMBERS or (family is not None and family[1] == "integer"):
        if not text.isdigit():
            raise BadInput(f"{key} must be a whole number, not {value!r}")
        return str(int(text))
    try:
        amount = D(text)
    except ValueError as exc:
        raise BadInput(f"{key}: {exc}") from exc
    if amount < 0:
        raise BadInput(f"{key} must not be negative")
    if key == "drift_factor" and amount <= 1:
        raise BadInput(f"{key} must be above 1")
    return format(amount, "f")


def get_setting(session: Session, key: str) -> str | None:
    """A setting's text, or None when unset."""
    row = session.get(SettingRow, key)
    return row.value if row else None


def engine(session: Session) -> str:
    """The engine settling runs: the ``engine`` setting, else the reference evaluator."""
    return get_setting(session, ENGINE) or REFERENCE


def engine_memory(session: Session) -> str:
    """DuckDB's memory limit for the bulk engine: the ``engine_memory`` setting, else 1GB."""
    return get_setting(session, ENGINE_MEMORY) or DEFAULT_ENGINE_MEMORY


def set_setting(
    session: Session, *, key: str, value: str, actor: str, reason: str | None = None
) -> SettingRow:
    """Set a workspace setting (audited with its before and after value)."""
    checked = _check_setting(key, value)
    row = session.get(SettingRow, key)
    before = row.value if row else None
    if row is None:
        row = SettingRow(key=key, value=checked, updated_at=now(), updated_by=actor)
        session.add(row)
    else:
        row.value, row.updated_at, row.updated_by = checked, now(), actor
    record(
        session,
        actor=actor,
        action="setting.set",
        subject=f"setting:{key}",
        reason=reason,
        before=before,
        after=checked,
    )
    return row


def grace_days(session: Session) -> int | None:
    """The grace window in days, or None when late lines always land in the open period."""
    text = get_setting(session, GRACE_DAYS)
    return int(text) if text is not None else None


def second_approval_threshold(session: Session, currency: str) -> Decimal | None:
    """The payable above which a statement in ``currency`` needs a second approver."""
    text = get_setting(session, f"{SECOND_APPROVAL_ABOVE}.{currency}") or get_setting(
        session, SECOND_APPROVAL_ABOVE
    )
    return D(text) if text is not None else None


def period_last_day(period: str) -> date:
    """The last day of a period name (a biweekly name is its first day; it lasts 14 days)."""
    try:
        return parse_period(period).end
    except ValueError:
        return date.fromisoformat(period) + timedelta(days=13)


def cutoff_for(period: str, days: int | None) -> datetime | None:
    """Lines ingested after this instant no longer land in ``period`` (end of its last day
    plus the grace window, UTC); None without a grace window."""
    if days is None:
        return None
    return datetime.combine(period_last_day(period) + timedelta(days=days + 1), time(0), tzinfo=UTC)


# --- the book as of a cutoff ------------------------------------------------------


def _plain_rows(session: Session, model: type[Base], *order_by: Any) -> list[Row[Any]]:
    """Every row of ``model``'s table as a plain result row, columns in table order.

    The same values as the ORM objects (the same column types load them), without building
    and identity-mapping an object per row: customers and deals number in the tens of
    thousands (issue 6). Selecting the mapped attributes keeps the ORM query's autoflush.
    """
    columns = [getattr(model, name) for name in _columns(model)]
    return list(session.execute(select(*columns).order_by(*order_by)))


#: The columns that name a line revision and where it came from, read before :data:`LINE_COLUMNS`.
_REVISION_KEY = ("provider", "line_id", "revision", "batch_id", "source_row")


_Q = TypeVar("_Q", bound=Select[Any])


def as_of(query: _Q, cutoff: datetime | None) -> _Q:
    """A query of ``line_revisions`` narrowed to what a run with ``cutoff`` reads, in the walk
    order of both engines (provider, line id, revision): the current revisions without a
    cutoff, else every revision ingested before it (the caller keeps each line's last)."""
    if cutoff is None:
        query = query.join(
            BillingLineRow,
            (BillingLineRow.provider == LineRevisionRow.provider)
            & (BillingLineRow.line_id == LineRevisionRow.line_id)
            & (BillingLineRow.current_revision == LineRevisionRow.revision),
        )
    else:
        query = query.where(LineRevisionRow.ingested_at < cutoff)
    return query.order_by(LineRevisionRow.provider, LineRevisionRow.line_id, LineRevisionRow.revision)


def load_book_as_of(session: Session, cutoff: datetime | None, *, with_lines: bool = True) -> LoadedBook:
    """Like :func:`~cloudsettle.services.book_loader.load_book`, but each line at its newest
    revision ingested before ``cutoff`` (lines first seen after it are left out).

    ``with_lines=False``: the reference data only (no lines, revisions or sources), for the
    bulk engine, which reads the lines from a feed (``services/line_feed.py``)."""
    partners = {r.id: partner_of(r) for r in session.scalars(select(PartnerRow))}
    customers = {(r.provider, r.account_id): customer_of(r) for r in _plain_rows(session, CustomerRow)}
    versions: dict[str, list[AgreementVersionRow]] = defaultdict(list)
    for v in session.scalars(select(AgreementVersionRow)):
        versions[v.agreement_id].append(v)
    agreements = {
        r.id: agreement_of(r, versions[r.id]) for r in session.scalars(select(AgreementRow)) if versions[r.id]
    }
    deals = [deal_of(r) for r in _plain_rows(session, DealRow, DealRow.id)]
    fx = FxTable(fx_rate_of(r) for r in session.scalars(select(FxRateRow)))
    if not with_lines:
        return LoadedBook(Book(partners=partners, agreements=agreements, deals=deals, lines=(),
                               customers=customers, fx=fx), {}, {})
    # Plain result rows of the columns a line needs, not ORM objects: the same values, loaded
    # several times faster and not held in the session's identity map, and taken apart by
    # position (issue 6).
    table = LineRevisionRow.__table__
    query = as_of(select(*(table.c[name] for name in (*_REVISION_KEY, *LINE_COLUMNS))), cutoff)
    newest: dict[LineKey, tuple[int, int, int, Sequence[Any]]] = {}
    for provider, line_id, revision, batch_id, source_row, *values in session.execute(query):
        newest[(provider, line_id)] = (revision, batch_id, source_row, values)
    lines = [line_of_values(values) for _, _, _, values in newest.values()]
    revisions = {k: revision for k, (revision, _, _, _) in newest.items()}
    sources = {k: (batch_id, source_row) for k, (_, batch_id, source_row, _) in newest.items()}
    book = Book(
        partners=partners, agreements=agreements, deals=deals, lines=lines, customers=customers, fx=fx
    )
    return LoadedBook(book, revisions, sources)


# --- fingerprints -------------------------------------------------------------------


def num(value: Decimal | None) -> str:
    """One spelling per number (``25.00`` and ``25`` are the same amount): fingerprints and
    result documents must not depend on how a value was written or loaded."""
    return "None" if value is None else number_text(value)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def line_texts(statement: Statement, lines: Sequence[LineResult] | LineTexts | None) -> LineTexts:
    """A statement's lines as :class:`LineTexts`: ``lines`` when the engine kept them apart
    (summary mode; as texts already on the bulk engine), else the statement's own."""
    if isinstance(lines, LineTexts):
        return lines
    return texts_of([from_statement_line(sl) for sl in statement.lines] if lines is None else lines)


def _or_none(text: str | None) -> str:
    """:func:`num`'s spelling of a number given as text or missing."""
    return "None" if text is None else text


def statement_fingerprint(
    statement: Statement, revisions: Mapping[LineKey, int], version_fingerprint: str, verification: str,
    lines: Sequence[LineResult] | LineTexts | None = None,
) -> str:
    """sha256 of everything a statement was computed from and came to: the version, the
    partner's payee state, each line's revision and treatment, adjustments and history.
    ``lines``: the statement's lines when the engine kept them apart (summary mode)."""
    t = line_texts(statement, lines)
    doc = {
        "key": [statement.partner_id, statement.agreement_id, statement.period.name],
        "version": [statement.version.version, version_fingerprint],
        "verification": verification,
        "lines": [
            [provider, line_id, revisions.get((provider, line_id), 0), role, fraction, _or_none(fx_rate),
             amount, original]
            for provider, line_id, role, fraction, fx_rate, amount, original in zip(
                t.provider, t.line_id, t.role, t.fraction, t.fx_rate, t.amount, t.original_line_id,
                strict=True)
        ],
        "manual": [[a.id, num(a.amount)] for a in statement.manual_adjustments],
        "prior": [[p.corrects_period, num(p.amount)] for p in statement.prior_period_adjustments],
        "components": [num(getattr(statement.components, n)) for n in COMPONENT_NAMES],
        "findings": sorted(f"{f.kind.value}:{f.line_id}" for f in statement.findings),
    }
    return _sha(canonical(doc))


# --- recording a run -------------------------------------------------------------------


@dataclass(frozen=True)
class RunHistory:
    """What the store told the engine besides the book (all keyed by agreement id)."""

    carried_in: Mapping[str, Decimal]
    finalized: Mapping[str, list[FinalizedStatement]]
    adjustments: Mapping[str, list[ManualAdjustment]]
    skip: frozenset[str]


def _row_dict(names: Iterable[str], values: Iterable[Any]) -> dict[str, Any]:
    """One row of the inputs document: column name -> JSON value (Decimal, instant and day tagged)."""
    out: dict[str, Any] = {}
    for n, v in zip(names, values, strict=True):
        if isinstance(v, Decimal):
            v = {"$d": format(v, "f")}
        elif isinstance(v, datetime):
            v = {"$t": v.astimezone(UTC).isoformat(timespec="microseconds")}
        elif isinstance(v, date):
            v = {"$day": v.isoformat()}
        out[n] = v
    return out


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "$d" in value:
            return D(value["$d"])
        if "$t" in value:
            return datetime.fromisoformat(value["$t"])
        if "$day" in value:
            return date.fromisoformat(value["$day"])
    return value


def _columns(model: type) -> list[str]:
    return [c.key for c in model.__table__.columns]  # type: ignore[attr-defined]


def inputs_document(
    session: Session,
    loaded: LoadedBook,
    *,
    period: str,
    partner_id: str | None,
    cutoff: datetime | None,
    history: RunHistory,
) -> dict[str, Any]:
    """The canonical record of a run's inputs."""

    def table(model: type[Base], *order_by: Any) -> list[dict[str, Any]]:
        names = _columns(model)
        return [_row_dict(names, row) for row in _plain_rows(session, model, *order_by)]

    keys = sorted(loaded.revisions)
    return {
        "period": period,
        "partner": partner_id,
        "cutoff": cutoff.isoformat() if cutoff else None,
        "lines": [[p, line, loaded.revisions[(p, line)]] for p, line in keys],
        "batches": loaded.batch_ids(),
        "agreement_versions": table(AgreementVersionRow, AgreementVersionRow.agreement_id,
                                    AgreementVersionRow.version),
        "agreements": table(AgreementRow, AgreementRow.id),
        "partners": table(PartnerRow, PartnerRow.id),
        "customers": table(CustomerRow, CustomerRow.provider, CustomerRow.account_id),
        "deals": table(DealRow, DealRow.id),
        "fx_rates": table(FxRateRow, FxRateRow.day, FxRateRow.from_currency, FxRateRow.to_currency),
        "carried_in": {k: format(v, "f") for k, v in sorted(history.carried_in.items())},
        "finalized": {
            k: [[f.period, f.version, format(f.earned, "f"), format(f.already_adjusted, "f")] for f in v]
            for k, v in sorted(history.finalized.items())
        },
        "adjustments": {
            k: [
                [
                    a.id,
                    format(a.amount, "f"),
                    a.reason,
                    a.created_by,
                    a.created_at.isoformat() if a.created_at else None,
                    a.evidence,
                ]
                for a in v
            ]
            for k, v in sorted(history.adjustments.items())
        },
        "skip": sorted(history.skip),
    }


def result_key(s: Statement) -> str:
    """A statement's key in the results document."""
    return f"{s.partner_id}/{s.agreement_id}/{s.period.name}"


def statement_result(s: Statement, lines: Sequence[LineResult] | LineTexts) -> dict[str, Any]:
    """One statement's entry in the results document."""
    t = line_texts(s, lines)
    return {
        "version": s.version.version,
        "currency": s.currency,
        "components": {n: num(getattr(s.components, n)) for n in COMPONENT_NAMES},
        "base_total": num(s.base_total),
        "billed_total": num(s.billed_total),
        "lines": [
            list(line) for line in zip(t.provider, t.line_id, t.role, t.amount, t.shown, t.tier_uplift_shown,
                                       t.reasons, strict=True)
        ],
        "findings": sorted(f"{f.kind.value}:{f.line_id or ''}" for f in s.findings),
    }


def _run_findings(result: RunResult) -> list[str]:
    return sorted(f"{f.kind.value}:{f.line_id or ''}:{f.agreement_id or ''}" for f in result.findings)


def results_document(
    result: RunResult, lines: Mapping[StatementKey, Sequence[LineResult]] | None = None
) -> dict[str, Any]:
    """What a run produced, in a form two runs can be compared on (``lines``: the statements'
    lines when the engine kept them apart, summary mode)."""
    out = {result_key(s): statement_result(s, its) for s, its in iter_lines(result.statements, lines)}
    return {"statements": out, "findings": _run_findings(result)}


def results_text(result: RunResult, pieces: Mapping[str, str]) -> str:
    """``canonical(results_document(result, ...))`` assembled from each statement's entry already
    made canonical (``pieces``, by :func:`result_key`): a settle makes each entry while it has
    that statement's lines at hand, and never holds every line's entry as Python objects."""
    statements = ",".join(f"{canonical_string(key)}:{pieces[key]}" for key in sorted(pieces))
    findings = json.dumps(_run_findings(result), separators=(",", ":"), ensure_ascii=False)
    return f'{{"findings":{findings},"statements":{{{statements}}}}}'


def canonical_string(text: str) -> str:
    """A string as :func:`canonical` spells it."""
    return json.dumps(text, ensure_ascii=False)


def record_run(
    session: Session, run_id: int, inputs: dict[str, Any], result: RunResult, cutoff: datetime | None,
    lines: Mapping[StatementKey, Sequence[LineResult]] | None = None, *,
    pieces: Mapping[str, str] | None = None,
) -> RunInputRow:
    """Store the run's inputs and results (``lines``: as for :func:`results_document`;
    ``pieces``: each statement's entry made canonical already, as for :func:`results_text`)."""
    text = canonical(inputs)
    row = RunInputRow(
        run_id=run_id,
        fingerprint=_sha(text),
        cutoff=cutoff,
        inputs=text,
        results=(results_text(result, pieces) if pieces is not None
                 else canonical(results_document(result, lines))),
    )
    session.add(row)
    return row


# --- rerun ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RerunResult:
    """The run, the inputs fingerprint, and every difference between the recorded and the
    recomputed results (empty when the run reproduces)."""

    run_id: int
    period: str
    fingerprint: str
    statements: int
    differences: tuple[str, ...]


def _book_from_inputs(session: Session, doc: Mapping[str, Any]) -> tuple[Book, RunHistory]:
    def rows(model: type, items: list[dict[str, Any]]) -> list[Any]:
        return [model(**{k: _from_json(v) for k, v in item.items()}) for item in items]

    partners = {r.id: partner_of(r) for r in rows(PartnerRow, doc["partners"])}
    customers = {(r.provider, r.account_id): customer_of(r) for r in rows(CustomerRow, doc["customers"])}
    versions: dict[str, list[AgreementVersionRow]] = defaultdict(list)
    for v in rows(AgreementVersionRow, doc["agreement_versions"]):
        versions[v.agreement_id].append(v)
    agreements = {
        r.id: agreement_of(r, versions[r.id]) for r in rows(AgreementRow, doc["agreements"]) if versions[r.id]
    }
    deals = [deal_of(r) for r in rows(DealRow, doc["deals"])]
    fx = FxTable(fx_rate_of(r) for r in rows(FxRateRow, doc["fx_rates"]))
    wanted = [tuple(x) for x in doc["lines"]]
    found: dict[tuple[str, str, int], LineRevisionRow] = {}
    wanted_set = set(wanted)
    for provider_of_chunk, ids in key_chunks((str(p), str(i)) for p, i, _ in wanted):
        query = select(LineRevisionRow).where(
            LineRevisionRow.provider == provider_of_chunk, LineRevisionRow.line_id.in_(ids)
        )
        for r in session.scalars(query):
            if (r.provider, r.line_id, r.revision) in wanted_set:
                found[(r.provider, r.line_id, r.revision)] = r
    missing = [w for w in wanted if w not in found]
    if missing:
        raise NotFound(f"the run used line revisions that are no longer stored: {missing[:5]}")
    lines = [line_of(found[(str(p), str(i), int(r))]) for p, i, r in wanted]
    book = Book(
        partners=partners, agreements=agreements, deals=deals, lines=lines, customers=customers, fx=fx
    )
    history = RunHistory(
        carried_in={k: D(v) for k, v in doc["carried_in"].items()},
        finalized={
            k: [FinalizedStatement(p, int(ver), D(e), D(a)) for p, ver, e, a in v]
            for k, v in doc["finalized"].items()
        },
        adjustments={
            k: [
                ManualAdjustment(i, D(amt), reason, by, datetime.fromisoformat(at) if at else None, ev)
                for i, amt, reason, by, at, ev in v
            ]
            for k, v in doc["adjustments"].items()
        },
        skip=frozenset(doc["skip"]),
    )
    return book, history


def diff_results(recorded: Mapping[str, Any], again: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every path where two result documents differ, with both values."""
    out: list[str] = []
    for key in sorted(set(recorded) | set(again)):
        path = f"{prefix}{key}"
        a, b = recorded.get(key, "<absent>"), again.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(diff_results(a, b, path + "."))
        elif a != b:
            out.append(f"{path}: recorded {json.dumps(a)} rerun {json.dumps(b)}")
    return out


def rerun(session: Session, *, run_id: int) -> RerunResult:
    """Recompute a run from its recorded inputs and compare with its recorded results."""
    from cloudsettle.core.settlement.book import MappedBook
    from cloudsettle.core.settlement.run import settle_period

    run = session.get(RunRow, run_id)
    if run is None:
        raise BadInput(f"unknown run {run_id}")
    stored = session.get(RunInputRow, run_id)
    if stored is None:
        raise NotFound(f"run {run_id} has no recorded inputs (it predates input recording)")
    doc = json.loads(stored.inputs)
    if _sha(stored.inputs) != stored.fingerprint:
        raise NotFound(f"run {run_id}: the recorded inputs do not match their fingerprint")
    book, history = _book_from_inputs(session, doc)
    result = settle_period(
        MappedBook(book),
        doc["period"],
        partner_id=doc["partner"],
        carried_in=history.carried_in,
        finalized=history.finalized,
        adjustments=history.adjustments,
        skip=history.skip,
    )
    recorded = json.loads(stored.results)
    again = json.loads(canonical(results_document(result)))
    return RerunResult(
        run_id,
        doc["period"],
        stored.fingerprint,
        len(result.statements),
        tuple(diff_results(recorded, again)),
    )
