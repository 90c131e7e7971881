"""Cases: what a finding becomes in the workflow (the UI's "Exceptions" queue).

Every blocking finding opens or updates one case: the same finding twice is one case
(``dedupe_key``). A case has a kind, a severity, a status (``open``, ``assigned``,
``resolved``, ``waived``), an owner, a due date from the kind's SLA, comments,
evidence files (content-addressed in the raw store, size-limited, type-checked), the
lines and statements it holds (``case_links``) and a full history (``case_events``,
and the audit log).

A blocking case holds only the statements it links: those are ``in_exception``
while it is ``open`` or ``assigned``; every other statement goes on. Resolving or
waiving re-runs what it held. A case whose finding comes back on a later run after
it was resolved is opened again; a waived one stays waived (a waiver accepts the
finding as it is). A partner's complaint about a statement is a case of kind
``dispute``.

Decisions: ``docs/decisions/0004-cases-hold-statements.md``; user guide ``docs/cases.md``.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.db.models import DealRow, StatementRow
from cloudsettle.db.models_workflow import (
    CaseCommentRow,
    CaseEventRow,
    CaseEvidenceRow,
    CaseLinkRow,
    CaseRow,
    UserRow,
)
from cloudsettle.ingest.raw_store import RawStore, file_suffix
from cloudsettle.services.audit import now, record
from cloudsettle.services.errors import BadInput, NotFound, Refused
from cloudsettle.services.runs import get_setting

STATUSES = ("open", "assigned", "resolved", "waived")
ACTIVE = ("open", "assigned")
DISPUTE = "dispute"

#: ``kind -> (severity, blocking)``: which findings become cases, and whether they hold
#: statements. Findings of other kinds stay findings (recorded on their run or batch).
POLICY: dict[str, tuple[str, bool]] = {
    FindingKind.MISSING_DEAL.value: ("high", True),
    FindingKind.AMBIGUOUS_DEAL.value: ("high", True),
    FindingKind.NO_AGREEMENT_VERSION.value: ("high", True),
    FindingKind.MISSING_FX_RATE.value: ("high", True),
    FindingKind.UNLINKED_REFUND.value: ("high", True),
    FindingKind.NO_RULE.value: ("high", True),
    FindingKind.TOTALS_MISMATCH.value: ("medium", False),
    FindingKind.SOURCE_DRIFT.value: ("medium", False),
    FindingKind.VOLUME_DRIFT.value: ("medium", False),
    DISPUTE: ("medium", True),
}

#: Days to resolve a case, per kind; the setting ``sla_days.<kind>`` overrides.
DEFAULT_SLA_DAYS: dict[str, int] = {
    FindingKind.MISSING_DEAL.value: 3,
    FindingKind.AMBIGUOUS_DEAL.value: 3,
    FindingKind.NO_AGREEMENT_VERSION.value: 5,
    FindingKind.MISSING_FX_RATE.value: 1,
    FindingKind.UNLINKED_REFUND.value: 5,
    FindingKind.NO_RULE.value: 5,
    FindingKind.TOTALS_MISMATCH.value: 5,
    FindingKind.SOURCE_DRIFT.value: 2,
    FindingKind.VOLUME_DRIFT.value: 2,
    DISPUTE: 10,
}
FALLBACK_SLA_DAYS = 5

#: Evidence limits: the setting ``evidence_max_bytes`` overrides the size.
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
#: Content types evidence may have: documents, images, data; never programs.
EVIDENCE_TYPES = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv",
    "application/json", "message/rfc822", "application/zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
})
#: Leading bytes of executables, refused whatever the declared type.
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,199}")


def statement_ref(partner_id: str, agreement_id: str, period: str) -> str:
    """How a case link names a statement: ``partner/agreement/period``."""
    return f"{partner_id}/{agreement_id}/{period}"


def sla_days(session: Session, kind: str) -> int:
    """Days allowed to resolve a case of ``kind`` (setting ``sla_days.<kind>``, else the default)."""
    text = get_setting(session, f"sla_days.{kind}")
    if text is not None and text.strip().isdigit():
        return int(text)
    return DEFAULT_SLA_DAYS.get(kind, FALLBACK_SLA_DAYS)


def _event(session: Session, case: CaseRow, actor: str, action: str, before: Any = None,
           after: Any = None, **details: Any) -> None:
    """One history entry in ``case_events`` and the same in the audit log."""
    stamp = now()
    body = {"before": before, "after": after, **details}
    session.add(CaseEventRow(case_id=case.id, at=stamp, actor=actor, action=action,
                             details=json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)))
    case.updated_at = stamp
    record(session, actor=actor, action=f"case.{action}", subject=f"case:{case.id}",
           reason=details.get("reason") or details.get("note"), before=before, after=after,
           kind=case.kind, **{k: v for k, v in details.items() if k not in ("reason", "note")})


def _links(session: Session, case_id: int) -> list[CaseLinkRow]:
    return list(session.scalars(select(CaseLinkRow).where(CaseLinkRow.case_id == case_id)
                                .order_by(CaseLinkRow.kind, CaseLinkRow.ref)))


def open_or_update(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    title: str,
    actor: str,
    partner_id: str | None = None,
    agreement_id: str | None = None,
    period: str | None = None,
    links: Iterable[tuple[str, str]] = (),
) -> CaseRow:
    """Open the case for this finding, or update the one that exists (new links; a
    resolved case whose finding is back is opened again)."""
    severity, blocking = POLICY.get(kind, ("medium", False))
    case = session.scalars(select(CaseRow).where(CaseRow.dedupe_key == dedupe_key)).first()
    stamp = now()
    opened = False
    if case is None:
        case = CaseRow(kind=kind, severity=severity, status="open", title=title, dedupe_key=dedupe_key,
                       blocking=blocking, owner=None, due_at=stamp + timedelta(days=sla_days(session, kind)),
                       partner_id=partner_id, agreement_id=agreement_id, period=period, resolution=None,
                       created_by=actor, created_at=stamp, updated_at=stamp)
        session.add(case)
        session.flush()
        opened = True
    elif case.status == "resolved":
        before = {"status": case.status, "resolution": case.resolution}
        case.status, case.title = ("assigned" if case.owner else "open"), title
        case.due_at = stamp + timedelta(days=sla_days(session, kind))
        _event(session, case, actor, "reopen", before=before, after={"status": case.status},
               why="the finding is still there after the case was resolved")
    have = {(link.kind, link.ref) for link in _links(session, case.id)}
    added = [pair for pair in dict.fromkeys(links) if pair not in have]
    for link_kind, ref in added:
        session.add(CaseLinkRow(case_id=case.id, kind=link_kind, ref=ref))
    if opened:
        _event(session, case, actor, "open", after={"status": "open", "title": title, "severity": severity,
                                                   "due_at": str(case.due_at),
                                                   "links": [f"{k}:{r}" for k, r in added]})
    elif added:
        _event(session, case, actor, "link", after=[f"{k}:{r}" for k, r in added])
    session.flush()
    return case


def get_case(session: Session, case_id: int) -> CaseRow:
    """The case with this id (NotFound otherwise)."""
    case = session.get(CaseRow, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def _active(case: CaseRow, action: str) -> None:
    if case.status not in ACTIVE:
        raise Refused(f"case {case.id} is {case.status}; it cannot be {action}")


def assign(session: Session, *, case_id: int, to: str, actor: str) -> CaseRow:
    """Give the case an owner (a known, active user); it becomes ``assigned``."""
    case = get_case(session, case_id)
    _active(case, "assigned")
    user = session.scalars(select(UserRow).where(UserRow.name == to)).first()
    if user is None or not user.active:
        raise BadInput(f"no active user {to!r} to assign case {case_id} to")
    before = {"status": case.status, "owner": case.owner}
    case.owner, case.status = to, "assigned"
    _event(session, case, actor, "assign", before=before, after={"status": case.status, "owner": to})
    return case


def comment(session: Session, *, case_id: int, text: str, actor: str) -> CaseCommentRow:
    """Add a comment (any status: a closed case can still be discussed)."""
    case = get_case(session, case_id)
    if not text.strip():
        raise BadInput("a comment needs text")
    row = CaseCommentRow(case_id=case.id, at=now(), author=actor, text=text)
    session.add(row)
    session.flush()
    _event(session, case, actor, "comment", after={"comment": row.id}, text=text)
    return row


def check_evidence(file_name: str, data: bytes, content_type: str | None, *, max_bytes: int) -> str:
    """The content type to store, or BadInput: oversized, a name with path tricks, or
    executable content (by declared type, by name, or by its first bytes)."""
    if len(data) > max_bytes:
        raise BadInput(f"{len(data)} bytes is over the evidence limit of {max_bytes} bytes")
    if not data:
        raise BadInput("an evidence file cannot be empty")
    if ("/" in file_name or "\\" in file_name or ".." in file_name or not _SAFE_NAME.fullmatch(file_name)):
        raise BadInput(f"file name {file_name!r} is not allowed: a plain name without folders, "
                       "leading dots or control characters")
    guessed = mimetypes.guess_type(file_name, strict=False)[0]
    kind = (content_type or guessed or "application/octet-stream").split(";")[0].strip().lower()
    if kind not in EVIDENCE_TYPES:
        raise BadInput(f"content type {kind} is not accepted as evidence "
                       f"(accepted: {', '.join(sorted(EVIDENCE_TYPES))})")
    if guessed is not None and guessed not in EVIDENCE_TYPES:
        raise BadInput(f"{file_name!r}: a {guessed} file is not accepted as evidence")
    if data.startswith(_EXECUTABLE_MAGIC):
        raise BadInput(f"{file_name!r} is executable content; it is not accepted as evidence")
    return kind


def attach(
    session: Session,
    *,
    case_id: int,
    file_name: str,
    data: bytes,
    content_type: str | None,
    raw_store: RawStore,
    actor: str,
) -> CaseEvidenceRow:
    """Attach an evidence file, stored content-addressed in the raw store."""
    case = get_case(session, case_id)
    limit_text = get_setting(session, "evidence_max_bytes")
    limit = int(limit_text) if limit_text and limit_text.isdigit() else EVIDENCE_MAX_BYTES
    kind = check_evidence(file_name, data, content_type, max_bytes=limit)
    stored = raw_store.put_bytes(data, file_suffix(file_name))
    row = CaseEvidenceRow(case_id=case.id, sha256=stored.sha256, file_name=file_name, content_type=kind,
                          size_bytes=len(data), uploaded_by=actor, at=now())
    session.add(row)
    session.flush()
    _event(session, case, actor, "attach", after={"file": file_name, "sha256": stored.sha256,
                                                  "content_type": kind, "size_bytes": len(data)})
    return row


@dataclass(frozen=True)
class Closed:
    """A resolved or waived case and the statements its re-run produced."""

    case: CaseRow
    rerun: tuple[str, ...]


def resolve(session: Session, *, case_id: int, note: str, actor: str) -> Closed:
    """Resolve a case with a note and re-run what it held (refused when already closed).

    The re-run opens the case again if its finding is still there."""
    if not note.strip():
        raise BadInput("resolving a case needs a note (--note)")
    return _close(session, case_id, "resolved", note, actor)


def waive(session: Session, *, case_id: int, reason: str, actor: str) -> Closed:
    """Accept a finding as it is, with a reason; re-run what the case held."""
    if not reason.strip():
        raise BadInput("waiving a case needs a reason (--reason)")
    return _close(session, case_id, "waived", reason, actor)


def _close(session: Session, case_id: int, status: str, text: str, actor: str) -> Closed:
    case = get_case(session, case_id)
    _active(case, status)
    before = {"status": case.status, "owner": case.owner}
    case.status, case.resolution = status, text
    verb = "resolve" if status == "resolved" else "waive"
    details = {"note": text} if status == "resolved" else {"reason": text}
    _event(session, case, actor, verb, before=before, after={"status": status}, **details)
    session.flush()
    return Closed(case, rerun_held(session, case, actor))


def rerun_held(session: Session, case: CaseRow, actor: str) -> tuple[str, ...]:
    """Settle again each period and partner whose statement the case held (as its
    preparer, so four eyes still apply); finalized statements never change."""
    from cloudsettle.services.settlement_service import FINALIZED, settle  # a cycle: imported when called

    targets: dict[tuple[str, str], str] = {}
    for link in _links(session, case.id):
        if link.kind != "statement":
            continue
        partner, agreement, period = link.ref.split("/", 2)
        row = session.scalars(select(StatementRow).where(
            StatementRow.partner_id == partner, StatementRow.agreement_id == agreement,
            StatementRow.period == period)).first()
        if row is not None and row.status in FINALIZED:
            continue
        targets.setdefault((period, partner), row.prepared_by if row else actor)
    for (period, partner), preparer in sorted(targets.items()):
        settle(session, period=period, partner_id=partner, actor=preparer)
    return tuple(f"{partner}/{period}" for period, partner in sorted(targets))


def open_dispute(
    session: Session, *, partner_id: str, agreement_id: str, period: str, text: str, actor: str
) -> CaseRow:
    """A partner's complaint about a statement: a ``dispute`` case that holds it."""
    if not text.strip():
        raise BadInput("a dispute needs a description")
    row = session.scalars(select(StatementRow).where(
        StatementRow.partner_id == partner_id, StatementRow.agreement_id == agreement_id,
        StatementRow.period == period)).first()
    if row is None:
        raise NotFound(f"no statement {partner_id}/{agreement_id} {period} to dispute")
    ref = statement_ref(partner_id, agreement_id, period)
    key = f"dispute:{ref}:{hashlib.sha256(f'{actor}|{now().isoformat()}|{text}'.encode()).hexdigest()[:16]}"
    case = open_or_update(session, kind=DISPUTE, dedupe_key=key, title=f"dispute of {ref}: {text[:80]}",
                          actor=actor, partner_id=partner_id, agreement_id=agreement_id, period=period,
                          links=[("statement", ref)])
    comment(session, case_id=case.id, text=text, actor=actor)
    if row.status in ("calculated", "approved"):
        before = row.status
        row.status = "in_exception"
        record(session, actor=actor, action="statement.hold", subject=f"statement:{ref}",
               before={"status": before}, after={"status": row.status}, case=case.id)
    return case


def list_cases(session: Session, *, status: str | None = None, kind: str | None = None) -> list[CaseRow]:
    """Cases, newest first, optionally of one status and kind."""
    if status is not None and status not in STATUSES:
        raise BadInput(f"--status {status!r}: one of {', '.join(STATUSES)}")
    query = select(CaseRow)
    if status is not None:
        query = query.where(CaseRow.status == status)
    if kind is not None:
        query = query.where(CaseRow.kind == kind)
    return list(session.scalars(query.order_by(CaseRow.id.desc())))


def case_summary(case: CaseRow) -> dict[str, Any]:
    """A case's own fields as JSON-able values."""
    return {
        "id": case.id, "kind": case.kind, "severity": case.severity, "status": case.status,
        "title": case.title, "blocking": case.blocking, "owner": case.owner,
        "due_at": case.due_at.isoformat() if case.due_at else None, "partner": case.partner_id,
        "agreement": case.agreement_id, "period": case.period, "resolution": case.resolution,
        "created_by": case.created_by, "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }


def case_document(session: Session, case_id: int) -> dict[str, Any]:
    """Everything about one case: fields, links, comments, evidence, history."""
    case = get_case(session, case_id)
    doc = case_summary(case)
    doc["links"] = [{"kind": link.kind, "ref": link.ref} for link in _links(session, case.id)]
    doc["comments"] = [{"at": c.at.isoformat(), "author": c.author, "text": c.text} for c in session.scalars(
        select(CaseCommentRow).where(CaseCommentRow.case_id == case.id).order_by(CaseCommentRow.id))]
    doc["evidence"] = [{"file": e.file_name, "sha256": e.sha256, "content_type": e.content_type,
                        "size_bytes": e.size_bytes, "by": e.uploaded_by, "at": e.at.isoformat()}
                       for e in session.scalars(select(CaseEvidenceRow).where(
                           CaseEvidenceRow.case_id == case.id).order_by(CaseEvidenceRow.id))]
    doc["history"] = [{"at": ev.at.isoformat(), "actor": ev.actor, "action": ev.action,
                       "details": json.loads(ev.details)}
                      for ev in session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case.id)
                                                .order_by(CaseEventRow.id))]
    return doc


# --- from a settlement run ------------------------------------------------------------------


def suggested_target(session: Session, provider: str, account_id: str) -> tuple[str, str] | None:
    """The (partner, agreement) an unmapped customer's spend would most likely feed: an
    open deal suggestion, else the customer's most recent deal."""
    from cloudsettle.services.deal_service import open_suggestion  # a cycle: imported when called

    suggestion = open_suggestion(session, provider, account_id)
    if suggestion is not None:
        return suggestion.partner_id, suggestion.agreement_id
    last = session.scalars(select(DealRow)
                           .where(DealRow.provider == provider, DealRow.account_id == account_id)
                           .order_by(DealRow.valid_from.desc(), DealRow.id)).first()
    return (last.partner_id, last.agreement_id) if last else None


@dataclass(frozen=True)
class CaseSpec:
    """What a finding becomes: its case key, title, scope and links."""

    kind: str
    dedupe_key: str
    title: str
    partner_id: str | None
    agreement_id: str | None
    links: tuple[tuple[str, str], ...]


def case_specs(session: Session, findings: Sequence[Finding], *, period: str,
               owners: Mapping[str, Sequence[tuple[str, str]]],
               statements: Sequence[StatementRow]) -> list[CaseSpec]:
    """The cases a run's findings open, grouped: an unmapped customer is one case per
    period, a missing FX rate or missing rule one per statement, a refund one per line.
    ``owners``: line id -> [(provider, account)] of the run's lines the findings name."""
    lines = owners
    have = {statement_ref(s.partner_id, s.agreement_id, period) for s in statements}
    grouped: dict[str, CaseSpec] = {}
    targets: dict[tuple[str, str], tuple[str, str] | None] = {}
    for f in findings:
        kind = f.kind.value
        if kind not in POLICY:
            continue
        customers = lines.get(f.line_id or "", [])
        provider, account = customers[0] if customers else ("", "")
        line_link = [("line", f"{provider}:{f.line_id}")] if f.line_id else []
        scoped = f.partner_id and f.agreement_id
        stmt = statement_ref(f.partner_id or "", f.agreement_id or "", period) if scoped else None
        holds = [("statement", stmt)] if stmt and stmt in have else []
        partner, agreement = f.partner_id, f.agreement_id
        if f.kind is FindingKind.MISSING_DEAL:
            key = f"{kind}:{provider}:{account}:{period}"
            title = f"no deal for customer {provider}:{account} in {period}"
            if (provider, account) not in targets:
                targets[(provider, account)] = suggested_target(session, provider, account)
            target = targets[(provider, account)]
            if target is not None:
                partner, agreement = target
                ref = statement_ref(*target, period)
                holds = [("statement", ref)] if ref in have else []
            links = [("customer", f"{provider}:{account}"), *line_link, *holds]
        elif f.kind is FindingKind.AMBIGUOUS_DEAL:
            # A workspace finding (decision 0002 §8, golden case 34): the line pays nobody
            # until it is resolved, and no statement is held for it.
            key, title = f"{kind}:{provider}:{f.line_id}:{period}", f.message
            links = [("customer", f"{provider}:{account}"), *line_link]
        elif f.kind in (FindingKind.MISSING_FX_RATE, FindingKind.NO_RULE, FindingKind.NO_AGREEMENT_VERSION):
            key = f"{kind}:{partner}/{agreement}/{period}"
            title = {FindingKind.MISSING_FX_RATE: "missing FX rate", FindingKind.NO_RULE: "no rule",
                     FindingKind.NO_AGREEMENT_VERSION: "no agreement version"}[f.kind]
            title = f"{title} for {partner}/{agreement} {period}"
            links = [*line_link, *holds]
        else:
            key, title = f"{kind}:{partner}/{agreement}/{period}:{provider}:{f.line_id}", f.message
            links = [*line_link, *holds]
        spec = grouped.get(key)
        merged = tuple(dict.fromkeys([*(spec.links if spec else ()), *links]))
        grouped[key] = CaseSpec(kind, key, spec.title if spec else title, partner, agreement, merged)
    return list(grouped.values())


def sync_run(session: Session, *, period: str, findings: Sequence[Finding],
             owners: Mapping[str, Sequence[tuple[str, str]]],
             statements: Sequence[StatementRow], actor: str) -> list[CaseRow]:
    """Open or update the cases of a run's findings and set each statement's hold: a
    statement is ``in_exception`` exactly while an active blocking case links it."""
    # Only findings of a kind with a case policy become cases; case_specs skips the others, so
    # a run with none of them (the usual clean month) skips it and its index of every line.
    wanted = [f for f in findings if f.kind.value in POLICY]
    specs = case_specs(session, wanted, period=period, owners=owners, statements=statements) if wanted else []
    cases = [open_or_update(session, kind=s.kind, dedupe_key=s.dedupe_key, title=s.title, actor=actor,
                            partner_id=s.partner_id, agreement_id=s.agreement_id, period=period,
                            links=s.links)
             for s in specs]
    held = held_statements(session)
    for row in statements:
        if row.status not in ("calculated", "in_exception"):
            continue
        row.status = "in_exception" if statement_ref(row.partner_id, row.agreement_id, period) in held \
            else "calculated"
    return cases


def held_statements(session: Session) -> set[str]:
    """Statement refs that an active blocking case holds."""
    query = (select(CaseLinkRow.ref).join(CaseRow, CaseRow.id == CaseLinkRow.case_id)
             .where(CaseLinkRow.kind == "statement", CaseRow.blocking.is_(True), CaseRow.status.in_(ACTIVE)))
    return set(session.scalars(query))


def record_batch_findings(session: Session, *, batch_id: int, findings: Sequence[Finding],
                          actor: str, period: str | None = None) -> list[CaseRow]:
    """Cases for an ingest's findings that warrant one (totals, drift); they hold nothing."""
    out = []
    for f in findings:
        if f.kind.value not in POLICY:
            continue
        digest = hashlib.sha256(f.message.encode("utf-8")).hexdigest()[:16]
        out.append(open_or_update(session, kind=f.kind.value, dedupe_key=f"{f.kind.value}:{digest}",
                                  title=f.message[:200], actor=actor, period=period,
                                  links=[("batch", str(batch_id))]))
    return out
