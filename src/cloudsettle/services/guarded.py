"""Permission-checked use cases: every API call goes through one of these.

Each function takes the session and the acting :class:`~cloudsettle.services.access.Principal`,
checks the permission (and a partner principal's scope) with
:mod:`cloudsettle.services.access`, then calls the existing service with the
principal's name as the actor. The wrapped services stay unaware of roles;
the routes stay unaware of permissions.

Writes that re-settle a partner's statements first lock that partner's row
(``SELECT ... FOR UPDATE`` on PostgreSQL), so two concurrent adjustments or
approvals of one partner queue instead of racing to replace the same statement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cloudsettle.db.models import (
    AgreementRow,
    AgreementVersionRow,
    AuditEventRow,
    CustomerRow,
    DealRow,
    FindingRow,
    FxRateRow,
    IngestBatchRow,
    ManualAdjustmentRow,
    PartnerRow,
    PayoutRow,
    RunRow,
    StatementRow,
)
from cloudsettle.db.models_workflow import ApiTokenRow, CaseEvidenceRow, CaseRow, UserRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services import (
    audit,
    case_queue,
    case_service,
    ingest_service,
    ledger_service,
    party_history,
    payout_service,
    pull_service,
    settlement_service,
    users,
)
from cloudsettle.services.access import Permission, Principal, check_visible, require, scope_partner
from cloudsettle.services.config_service import ConfigSummary, load_config_file
from cloudsettle.services.errors import NotFound
from cloudsettle.services.explain import explain_lines
from cloudsettle.services.ingest_service import IngestReport
from cloudsettle.services.secrets import KeyRing
from cloudsettle.services.statement_view import statement_document

P = Permission


@dataclass(frozen=True)
class Page:
    """Offset pagination: which slice of a list to return."""

    offset: int = 0
    limit: int = 50


def _paged(session: Session, query: Select[Any], page: Page) -> tuple[list[Any], int]:
    """The page's rows and the total count of the unpaged query."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.offset(page.offset).limit(page.limit)))
    return rows, int(total)


def lock_partners(session: Session, partner_id: str | None) -> None:
    """Serialize writers of one partner's (or every partner's) statements."""
    query = select(PartnerRow.id).order_by(PartnerRow.id).with_for_update()
    if partner_id is not None:
        query = query.where(PartnerRow.id == partner_id)
    list(session.scalars(query))


# --- configuration ---------------------------------------------------------------------


def partners(session: Session, who: Principal, page: Page) -> tuple[list[PartnerRow], int]:
    """Partners by id."""
    require(who, P.CONFIG_READ)
    return _paged(session, select(PartnerRow).order_by(PartnerRow.id), page)


def partner(session: Session, who: Principal, partner_id: str) -> PartnerRow:
    """One partner."""
    require(who, P.CONFIG_READ)
    row = session.get(PartnerRow, partner_id)
    if row is None:
        raise NotFound(f"no partner {partner_id}")
    return row


def customers(
    session: Session, who: Principal, page: Page, provider: str | None = None
) -> tuple[list[CustomerRow], int]:
    """Customers, optionally of one provider."""
    require(who, P.CONFIG_READ)
    query = select(CustomerRow).order_by(CustomerRow.provider, CustomerRow.account_id)
    if provider:
        query = query.where(CustomerRow.provider == provider)
    return _paged(session, query, page)


def deals(
    session: Session, who: Principal, page: Page, partner_id: str | None = None
) -> tuple[list[DealRow], int]:
    """Deals, optionally of one partner."""
    require(who, P.CONFIG_READ)
    query = select(DealRow).order_by(DealRow.id)
    if partner_id:
        query = query.where(DealRow.partner_id == partner_id)
    return _paged(session, query, page)


def agreements(
    session: Session, who: Principal, page: Page, partner_id: str | None = None
) -> tuple[list[tuple[AgreementRow, list[AgreementVersionRow]]], int]:
    """Agreements with their versions."""
    require(who, P.CONFIG_READ)
    query = select(AgreementRow).order_by(AgreementRow.id)
    if partner_id:
        query = query.where(AgreementRow.partner_id == partner_id)
    rows, total = _paged(session, query, page)
    out = []
    for row in rows:
        versions = list(
            session.scalars(
                select(AgreementVersionRow)
                .where(AgreementVersionRow.agreement_id == row.id)
                .order_by(AgreementVersionRow.version)
            )
        )
        out.append((row, versions))
    return out, total


def fx_rates(
    session: Session, who: Principal, page: Page, currency: str | None = None
) -> tuple[list[FxRateRow], int]:
    """FX rates, newest day first."""
    require(who, P.CONFIG_READ)
    query = select(FxRateRow).order_by(FxRateRow.day.desc(), FxRateRow.from_currency, FxRateRow.to_currency)
    if currency:
        query = query.where((FxRateRow.from_currency == currency) | (FxRateRow.to_currency == currency))
    return _paged(session, query, page)


def load_config(
    session: Session, who: Principal, *, path: Path, ring: KeyRing | None, dry_run: bool
) -> ConfigSummary:
    """Apply a configuration file; with ``dry_run`` validate and compute the changes, keep nothing."""
    require(who, P.CONFIG_WRITE)
    if not dry_run:
        return load_config_file(session, path=path, actor=who.name, ring=ring)
    nested = session.begin_nested()
    try:
        return load_config_file(session, path=path, actor=who.name, ring=ring)
    finally:
        nested.rollback()


# --- data ---------------------------------------------------------------------------------


def batches(session: Session, who: Principal, page: Page) -> tuple[list[IngestBatchRow], int]:
    """Ingest batches, newest first."""
    require(who, P.DATA_READ)
    return _paged(session, select(IngestBatchRow).order_by(IngestBatchRow.id.desc()), page)


def batch(session: Session, who: Principal, batch_id: int) -> IngestBatchRow:
    """One batch."""
    require(who, P.DATA_READ)
    row = session.get(IngestBatchRow, batch_id)
    if row is None:
        raise NotFound(f"no batch {batch_id}")
    return row


def runs(session: Session, who: Principal, page: Page, period: str | None = None) -> tuple[list[RunRow], int]:
    """Settlement runs, newest first."""
    require(who, P.DATA_READ)
    query = select(RunRow).order_by(RunRow.id.desc())
    if period:
        query = query.where(RunRow.period == period)
    return _paged(session, query, page)


def findings(
    session: Session, who: Principal, page: Page, status: str | None = "open"
) -> tuple[list[FindingRow], int]:
    """Findings (open ones by default)."""
    require(who, P.DATA_READ)
    query = select(FindingRow).order_by(FindingRow.id)
    if status:
        query = query.where(FindingRow.status == status)
    return _paged(session, query, page)


# --- statements -----------------------------------------------------------------------------


def statements(
    session: Session,
    who: Principal,
    page: Page,
    *,
    period: str | None = None,
    partner_id: str | None = None,
    status: str | None = None,
) -> tuple[list[StatementRow], int]:
    """Statements, filtered; a partner principal sees only its own."""
    require(who, P.STATEMENT_READ)
    partner_id = scope_partner(who, partner_id)
    query = select(StatementRow).order_by(
        StatementRow.period.desc(), StatementRow.partner_id, StatementRow.agreement_id
    )
    if period:
        query = query.where(StatementRow.period == period)
    if partner_id:
        query = query.where(StatementRow.partner_id == partner_id)
    if status:
        query = query.where(StatementRow.status == status)
    return _paged(session, query, page)


def statement_row(session: Session, who: Principal, statement_id: int) -> StatementRow:
    """One statement row; another partner's is answered as not found."""
    require(who, P.STATEMENT_READ)
    row = session.get(StatementRow, statement_id)
    if row is None:
        raise NotFound(f"no statement {statement_id}")
    check_visible(who, row.partner_id, f"statement {statement_id}")
    return row


def statement(session: Session, who: Principal, statement_id: int) -> dict[str, Any]:
    """The statement document (money as strings with the currency's decimals)."""
    return statement_document(session, statement_row(session, who, statement_id))


def statement_by_key(
    session: Session, who: Principal, *, partner_id: str, period: str, agreement_id: str | None
) -> dict[str, Any]:
    """The statement of a partner, period (and agreement): a key that survives re-settling,
    unlike the row id, which a re-settle replaces."""
    require(who, P.STATEMENT_READ)
    scope_partner(who, partner_id)
    if session.get(PartnerRow, partner_id) is None:
        raise NotFound(f"no partner {partner_id}")
    agreement = settlement_service.resolve_agreement(session, partner_id, agreement_id)
    rows = settlement_service.statement_rows(
        session, period=period, partner_id=partner_id, agreement_id=agreement
    )
    if not rows:
        raise NotFound(f"no statement for {partner_id}/{agreement} in {period}")
    doc = statement_document(session, rows[0])
    doc["id"] = rows[0].id
    return doc


def explain(session: Session, who: Principal, statement_id: int, line_id: str | None) -> list[str]:
    """How each line of a statement (or one line) was computed."""
    doc = statement(session, who, statement_id)
    text = explain_lines(session, doc, line_id=line_id)
    if not text:
        raise NotFound(f"line {line_id} is not on statement {statement_id}")
    return text


def settle(session: Session, who: Principal, *, period: str, partner_id: str | None) -> Any:
    """Validate and compute a period's statements."""
    require(who, P.SETTLE)
    settlement_service.check_period(period)
    settlement_service.check_partner(session, partner_id)
    lock_partners(session, partner_id)
    return settlement_service.settle(session, period=period, partner_id=partner_id, actor=who.name)


def approve(session: Session, who: Principal, *, period: str, partner_id: str | None) -> list[StatementRow]:
    """Approve statements (four eyes is the service's rule)."""
    require(who, P.APPROVE)
    settlement_service.check_period(period)
    settlement_service.check_partner(session, partner_id)
    lock_partners(session, partner_id)
    return settlement_service.approve(session, period=period, partner_id=partner_id, actor=who.name)


def reject(
    session: Session, who: Principal, *, period: str, partner_id: str, agreement_id: str | None, reason: str
) -> list[StatementRow]:
    """Send statements back to their preparer."""
    require(who, P.APPROVE)
    settlement_service.check_period(period)
    settlement_service.check_partner(session, partner_id)
    lock_partners(session, partner_id)
    return settlement_service.reject(
        session,
        period=period,
        partner_id=partner_id,
        agreement_id=agreement_id,
        reason=reason,
        actor=who.name,
    )


def finalize(session: Session, who: Principal, *, period: str, partner_id: str | None) -> list[StatementRow]:
    """Close approved statements for good."""
    require(who, P.FINALIZE)
    settlement_service.check_period(period)
    settlement_service.check_partner(session, partner_id)
    lock_partners(session, partner_id)
    return settlement_service.finalize(session, period=period, partner_id=partner_id, actor=who.name)


def adjust(
    session: Session,
    who: Principal,
    *,
    period: str,
    partner_id: str,
    agreement_id: str | None,
    amount: Decimal,
    reason: str,
) -> ManualAdjustmentRow:
    """Add a manual adjustment to an open statement (it is re-settled)."""
    require(who, P.ADJUST)
    settlement_service.check_period(period)
    settlement_service.check_partner(session, partner_id)
    lock_partners(session, partner_id)
    return settlement_service.adjust(
        session,
        period=period,
        partner_id=partner_id,
        agreement_id=agreement_id,
        amount=amount,
        reason=reason,
        evidence=None,
        actor=who.name,
    )


def adjustments(
    session: Session, who: Principal, page: Page, *, period: str | None, partner_id: str | None
) -> tuple[list[ManualAdjustmentRow], int]:
    """Manual adjustments, filtered; a partner sees its own."""
    require(who, P.STATEMENT_READ)
    partner_id = scope_partner(who, partner_id)
    query = select(ManualAdjustmentRow).order_by(ManualAdjustmentRow.id)
    if period:
        query = query.where(ManualAdjustmentRow.period == period)
    if partner_id:
        query = query.where(ManualAdjustmentRow.partner_id == partner_id)
    return _paged(session, query, page)


# --- money out, books, audit ------------------------------------------------------------------


def payouts(
    session: Session, who: Principal, page: Page, status: str | None = None
) -> tuple[list[PayoutRow], int]:
    """Payouts, newest first (finance and readers of the books)."""
    if not who.can(P.PAY):
        require(who, P.LEDGER_READ)
    query = select(PayoutRow).order_by(PayoutRow.id.desc())
    if status:
        query = query.where(PayoutRow.status == status)
    return _paged(session, query, page)


def ledger_entries(
    session: Session, who: Principal, *, partner_id: str | None
) -> list[ledger_service.StoredEntry]:
    """Journal entries, optionally of one partner."""
    require(who, P.LEDGER_READ)
    return ledger_service.entries(session, partner_id=partner_id)


def trial_balance(session: Session, who: Principal) -> dict[tuple[str, str], Decimal]:
    """Each account's balance per currency."""
    require(who, P.LEDGER_READ)
    return ledger_service.trial_balance(session)


def audit_events(
    session: Session,
    who: Principal,
    *,
    subject: str | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    page: Page,
    newest_first: bool = False,
) -> tuple[list[AuditEventRow], int]:
    """Audit events filtered, oldest first (the API) or newest first (the UI's log).

    An ``action`` ending in ``*`` (``case.*``) matches every action with that prefix.
    """
    require(who, P.AUDIT_READ)
    prefix = action[:-1] if action and action.endswith("*") else None
    rows = list(
        audit.events(
            session,
            subject=subject,
            actor=actor,
            action=None if prefix is not None else action,
            since=since,
            until=until,
        )
    )
    if prefix:
        rows = [r for r in rows if r.action.startswith(prefix)]
    if newest_first:
        rows.reverse()
    return rows[page.offset : page.offset + page.limit], len(rows)


def audit_verify(session: Session, who: Principal) -> audit.VerifyResult:
    """Recompute the audit hash chain."""
    require(who, P.AUDIT_READ)
    return audit.verify(session)


# --- users -------------------------------------------------------------------------------------


def list_users(session: Session, who: Principal) -> list[UserRow]:
    """Every user."""
    require(who, P.USERS_READ)
    return users.list_users(session)


def add_user(
    session: Session,
    who: Principal,
    *,
    name: str,
    roles: Sequence[str],
    password: str | None,
    partner_id: str | None,
) -> UserRow:
    """Create a user."""
    require(who, P.USERS_MANAGE)
    return users.add_user(
        session, name=name, roles=list(roles), password=password, partner_id=partner_id, actor=who.name
    )


def issue_token(
    session: Session, who: Principal, *, name: str, role: str | None, days: int, label: str
) -> users.IssuedToken:
    """A token for a user: admins for anyone, everyone for themselves (within their roles)."""
    if name != who.name:
        require(who, P.USERS_MANAGE)
    return users.issue_token(session, name=name, role=role, days=days, label=label, actor=who.name)


def list_tokens(session: Session, who: Principal, *, name: str) -> list[ApiTokenRow]:
    """A user's tokens (never their secrets)."""
    if name != who.name:
        require(who, P.USERS_READ)
    return users.list_tokens(session, name=name)


def revoke_tokens(session: Session, who: Principal, *, name: str, token_id: int | None) -> int:
    """Revoke tokens: admins for anyone, everyone their own."""
    if name != who.name:
        require(who, P.USERS_MANAGE)
    return users.revoke_tokens(session, name=name, token_id=token_id, actor=who.name)


# --- ingest ---------------------------------------------------------------------------------------


def ingest(
    session: Session, who: Principal, *, raw_store: RawStore, path: Path, provider: str | None
) -> IngestReport:
    """Ingest one bill file."""
    require(who, P.INGEST)
    return ingest_service.ingest_file(
        session, raw_store=raw_store, path=path, provider=provider, actor=who.name
    )


def pull(
    session: Session,
    who: Principal,
    *,
    raw_store: RawStore,
    provider: str,
    month: str,
    checkpoints: Path,
    env: Mapping[str, str],
) -> pull_service.PullReport:
    """Pull a month through the provider's API (credentials from the server's environment)."""
    require(who, P.INGEST)
    result = pull_service.fetch(provider=provider, month=month, checkpoints=checkpoints, env=env)
    return pull_service.record_pull(session, result=result, raw_store=raw_store, actor=who.name)


# --- cases and disputes (issue 4's case_service) -----------------------------------------------------


def _visible_case(session: Session, who: Principal, case_id: int) -> CaseRow:
    """A case the principal may see: a partner only its own partner's disputes."""
    require(who, P.CASE_READ)
    case = session.get(CaseRow, case_id)
    if case is None or (
        who.is_partner_only and (case.kind != "dispute" or case.partner_id != who.partner_id)
    ):
        raise NotFound(f"no case {case_id}")
    return case


def cases(
    session: Session, who: Principal, page: Page, *, status: str | None, kind: str | None
) -> tuple[list[CaseRow], int]:
    """Cases newest first; a partner sees its own disputes."""
    require(who, P.CASE_READ)
    rows = case_service.list_cases(session, status=status, kind=kind)
    if who.is_partner_only:
        rows = [c for c in rows if c.kind == "dispute" and c.partner_id == who.partner_id]
    return rows[page.offset : page.offset + page.limit], len(rows)


def case(session: Session, who: Principal, case_id: int) -> dict[str, Any]:
    """Everything about one case."""
    _visible_case(session, who, case_id)
    return case_service.case_document(session, case_id)


def assign_case(session: Session, who: Principal, *, case_id: int, to: str) -> CaseRow:
    """Give a case an owner."""
    require(who, P.CASE_WORK)
    return case_service.assign(session, case_id=case_id, to=to, actor=who.name)


def _may_discuss(session: Session, who: Principal, case_id: int) -> None:
    """Case workers, and a partner on its own dispute."""
    if who.can(P.CASE_WORK):
        return
    require(who, P.DISPUTE)
    _visible_case(session, who, case_id)


def comment_case(session: Session, who: Principal, *, case_id: int, text: str) -> Any:
    """Comment on a case."""
    _may_discuss(session, who, case_id)
    return case_service.comment(session, case_id=case_id, text=text, actor=who.name)


def attach_evidence(
    session: Session,
    who: Principal,
    *,
    case_id: int,
    file_name: str,
    data: bytes,
    content_type: str | None,
    raw_store: RawStore,
) -> Any:
    """Attach an evidence file (checked for size, type and name by the case service)."""
    _may_discuss(session, who, case_id)
    return case_service.attach(
        session,
        case_id=case_id,
        file_name=file_name,
        data=data,
        content_type=content_type,
        raw_store=raw_store,
        actor=who.name,
    )


def close_case(session: Session, who: Principal, *, case_id: int, waive: bool, text: str) -> Any:
    """Resolve or waive a case; what it held is settled again."""
    require(who, P.CASE_WORK)
    found = session.get(CaseRow, case_id)
    if found is None:
        raise NotFound(f"no case {case_id}")
    lock_partners(session, found.partner_id)
    if waive:
        return case_service.waive(session, case_id=case_id, reason=text, actor=who.name)
    return case_service.resolve(session, case_id=case_id, note=text, actor=who.name)


def open_dispute(
    session: Session, who: Principal, *, partner_id: str, agreement_id: str | None, period: str, text: str
) -> CaseRow:
    """A complaint about a statement: a partner about its own, staff on a partner's behalf."""
    require(who, P.DISPUTE)
    scope_partner(who, partner_id)
    settlement_service.check_partner(session, partner_id)
    agreement = settlement_service.resolve_agreement(session, partner_id, agreement_id)
    lock_partners(session, partner_id)
    return case_service.open_dispute(
        session, partner_id=partner_id, agreement_id=agreement, period=period, text=text, actor=who.name
    )


def create_payout_batches(
    session: Session,
    who: Principal,
    *,
    requested_date: date,
    partner_id: str | None,
    ring: KeyRing,
    out_dir: Path,
) -> payout_service.BatchResult:
    """Payout batches (pain.001 + CSV) for everything payable now (finance)."""
    require(who, Permission.PAY)
    return payout_service.create_batches(
        session,
        actor=who.name,
        ring=ring,
        out_dir=out_dir,
        requested_date=requested_date,
        partner_id=partner_id,
    )


def import_payout_status(session: Session, who: Principal, *, path: Path) -> payout_service.StatusSummary:
    """The bank's paid/failed/returned answers for earlier payouts (finance)."""
    require(who, Permission.PAY)
    return payout_service.import_status(session, path=path, actor=who.name)


def export_gl(
    session: Session, who: Principal, *, start: date | None, end: date | None
) -> list[tuple[int, Any]]:
    """The ledger entries of a date range, for the GL and Beancount exports (readers of the books)."""
    require(who, Permission.LEDGER_READ)
    from cloudsettle.exports.gl import in_range
    from cloudsettle.services.ledger_service import entries

    return [(e.id, e.entry) for e in entries(session, on=end) if in_range(e.entry.day, start, end)]


def export_focus(session: Session, who: Principal, *, period: str, output: Path, fmt: str) -> int:
    """A bill month's lines as FOCUS 1.2 (internal readers of the data)."""
    require(who, Permission.DATA_READ)
    from cloudsettle.services.export_service import export_focus as write

    return write(session, period=period, output=output, fmt="parquet" if fmt == "parquet" else "csv")


# --- web UI: the exception queue, parties' mapping history, the audit log viewer (issue 8) ---------


def filtered_cases(
    session: Session, who: Principal, wanted: case_queue.QueueFilter, *, at: datetime
) -> case_queue.Queue:
    """The queue a caller sees (a partner: its own disputes) narrowed by ``wanted`` as of
    ``at``; naming another partner is answered as not found."""
    require(who, P.CASE_READ)
    wanted.check()
    partner_id = scope_partner(who, wanted.partner_id) if wanted.partner_id else None
    visible, _ = cases(session, who, Page(0, 2**31), status=None, kind=None)
    return case_queue.build(visible, dataclasses.replace(wanted, partner_id=partner_id), at)


def case_view(session: Session, who: Principal, case_id: int) -> dict[str, Any]:
    """Everything about one case plus the statements it holds, resolved to their current rows."""
    doc = case(session, who, case_id)
    doc["statements"] = case_queue.held_statements(session, case_id)
    return doc


def case_workers(session: Session, who: Principal) -> list[str]:
    """Who a case can be assigned to (asked by those who may assign)."""
    require(who, P.CASE_WORK)
    return case_queue.case_workers(session)


def case_evidence(session: Session, who: Principal, *, case_id: int, sha256: str) -> CaseEvidenceRow:
    """One evidence row of a case the caller may see (its file is in the raw store)."""
    _visible_case(session, who, case_id)
    return case_queue.evidence_row(session, case_id, sha256)


def customer_history(
    session: Session, who: Principal, *, provider: str, account_id: str
) -> party_history.CustomerHistory:
    """A customer's deals over time and who changed them when (configuration readers)."""
    require(who, P.CONFIG_READ)
    return party_history.customer_history(session, provider, account_id)


def customer_mappings(
    session: Session, who: Principal, *, partner_id: str | None = None
) -> list[party_history.CustomerMapping]:
    """Every customer (or a partner's) with its deals in time order."""
    require(who, P.CONFIG_READ)
    return party_history.customer_mappings(session, partner_id)


def deal_views(
    session: Session, who: Principal, *, partner_id: str | None = None
) -> list[party_history.Ownership]:
    """Deals with their life-cycle status and customer name."""
    require(who, P.CONFIG_READ)
    return party_history.deal_views(session, partner_id)



# --- web UI: ingest and explain pages (issue 8) ------------------------------------------------------


def batch_periods(session: Session, who: Principal, batch_ids: Sequence[int]) -> dict[int, list[str]]:
    """The bill months each of these batches wrote lines for."""
    require(who, P.DATA_READ)
    from cloudsettle.services import ingest_view

    return ingest_view.batch_periods(session, batch_ids)


def batch_report(session: Session, who: Principal, batch_id: int) -> dict[str, Any]:
    """One batch with its months, rejected rows, other findings and the cases it raised
    (cases only for a caller who may read them)."""
    from cloudsettle.services import ingest_view

    row = batch(session, who, batch_id)
    rejects, others = ingest_view.batch_findings(session, batch_id)
    return {
        "batch": row,
        "periods": ingest_view.batch_periods(session, [batch_id]).get(batch_id, []),
        "rejects": rejects,
        "findings": others,
        "cases": ingest_view.batch_cases(session, batch_id) if who.can(P.CASE_READ) else [],
    }


def explain_line(session: Session, who: Principal, statement_id: int, line_id: str) -> dict[str, Any]:
    """One statement line explained: the statement document, the line, its source revision and
    batch (file and row), and the text explanation. A partner sees only its own statements."""
    from cloudsettle.services import ingest_view

    doc = statement(session, who, statement_id)
    items = [ln for ln in doc["lines"] if ln["line_id"] == line_id]
    if not items:
        raise NotFound(f"line {line_id} is not on statement {statement_id}")
    line = items[0]
    return {
        "doc": doc,
        "line": line,
        "source": ingest_view.line_source(session, line["provider"], line_id, line["revision"]),
        "text": explain_lines(session, doc, line_id=line_id)[1:],
    }


# --- agreements: drafts, comparison, what-if (web UI, issue 8) --------------------------------


def agreement_overview(session: Session, who: Principal) -> list[dict[str, Any]]:
    """Every agreement with its versions (number, effective date, currency) and open drafts."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_READ)
    rows, _ = agreements(session, who, Page(0, 10_000))
    drafts_open = agreement_drafts.open_draft_counts(session)
    return [{"agreement": a, "versions": versions, "drafts": drafts_open.get(a.id, 0)}
            for a, versions in rows]


def agreement_detail(session: Session, who: Principal, agreement_id: str) -> dict[str, Any]:
    """One agreement: its versions parsed (newest first) with which a statement used, and its drafts."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_READ)
    row = agreement_drafts.agreement_row(session, agreement_id)
    used = agreement_drafts.used_versions(session, agreement_id)
    versions = [(v, agreement_drafts.stored_version(v), v.version in used)
                for v in reversed(agreement_drafts.version_rows(session, agreement_id))]
    return {"agreement": row, "versions": versions,
            "drafts": agreement_drafts.drafts(session, agreement_id=agreement_id)}


def agreement_draft(session: Session, who: Principal, agreement_id: str, draft_id: int) -> dict[str, Any]:
    """One draft of an agreement, the agreement, and the periods its partner has statements for
    (the periods a what-if can compare with)."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_READ)
    row = agreement_drafts.draft(session, draft_id)
    if row.agreement_id != agreement_id:
        raise NotFound(f"no draft {draft_id} of {agreement_id}")
    agreement = agreement_drafts.agreement_row(session, agreement_id)
    return {"draft": row, "agreement": agreement,
            "periods": agreement_drafts.statement_periods(session, agreement.partner_id)}


def draft_starting_text(session: Session, who: Principal, agreement_id: str) -> str:
    """The YAML a new draft of the agreement starts from (its newest version, renumbered);
    for those who may write drafts."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_WRITE)
    return agreement_drafts.starting_text(session, agreement_id)


def compare_versions(session: Session, who: Principal, *, agreement_id: str, a: str | None,
                     b: str | None) -> Any:
    """Two versions or drafts of an agreement side by side (a ``Comparison``)."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_READ)
    return agreement_drafts.compare(session, agreement_id=agreement_id, a=a, b=b)


def save_draft(session: Session, who: Principal, *, agreement_id: str, draft_id: int | None,
               text: str) -> Any:
    """Create (``draft_id`` None) or update a draft from the editor's text; ``DraftInvalid`` lists
    the problems when the text is refused."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_WRITE)
    if draft_id is None:
        return agreement_drafts.create(session, agreement_id=agreement_id, text=text, actor=who.name)
    row = agreement_drafts.draft(session, draft_id)
    if row.agreement_id != agreement_id:
        raise NotFound(f"no draft {draft_id} of {agreement_id}")
    return agreement_drafts.update(session, draft_id=draft_id, text=text, actor=who.name)


def discard_draft(session: Session, who: Principal, *, draft_id: int) -> Any:
    """Close a draft without applying it."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_WRITE)
    return agreement_drafts.discard(session, draft_id=draft_id, actor=who.name)


def activate_draft(session: Session, who: Principal, *, draft_id: int) -> ConfigSummary:
    """Apply a draft as its agreement's version (the ``config load`` path; audited with the actor)."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_WRITE)
    return agreement_drafts.activate(session, draft_id=draft_id, actor=who.name)


def what_if(session: Session, who: Principal, *, draft_id: int, period: str) -> Any:
    """A period recomputed with a draft in force, against the stored statements; nothing stored."""
    from cloudsettle.services import agreement_drafts

    require(who, P.CONFIG_READ)
    require(who, P.STATEMENT_READ)
    return agreement_drafts.what_if(session, draft_id=draft_id, period=period)


# --- dashboard (issue 8) ---------------------------------------------------------------------------


from cloudsettle.services import dashboard_service  # noqa: E402 - appended section, see above


def dashboard(
    session: Session, who: Principal, *, period: str | None, now: datetime
) -> dashboard_service.Dashboard:
    """The dashboard's figures: internal readers see every partner, the margin, validation
    and freshness; a partner principal only its own partner's statements, lines and
    disputes, never the margin or another partner."""
    require(who, P.STATEMENT_READ)
    if period:
        settlement_service.check_period(period)
    partner_id = scope_partner(who, None)
    return dashboard_service.overview(
        session,
        period=period or None,
        partner_id=partner_id,
        margin=not who.is_partner_only,
        cases=who.can(P.CASE_READ),
        operations=who.can(P.DATA_READ) and not who.is_partner_only,
        now=now,
    )
