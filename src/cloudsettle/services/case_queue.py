"""The exception queue as a person works it: filters, SLA state, counts, owners, held statements.

:mod:`cloudsettle.services.case_service` keeps the cases' rules; this module answers
the questions a queue screen asks of them: which cases match the filters (owner,
partner, overdue, on top of status and kind), how many there are per status, who
may take a case, which statements a case holds (with their ids and status), and
which evidence row a download names. Permission checks stay in
:mod:`cloudsettle.services.guarded`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.db.models import StatementRow
from cloudsettle.db.models_workflow import CaseEvidenceRow, CaseLinkRow, CaseRow, UserRow
from cloudsettle.services.access import ROLE_PERMISSIONS, Permission, parse_roles
from cloudsettle.services.case_service import ACTIVE, STATUSES
from cloudsettle.services.errors import BadInput, NotFound

#: The owner filter's value for "nobody has taken it yet".
UNASSIGNED = "-"


@dataclass(frozen=True)
class QueueFilter:
    """What the queue is narrowed to; ``None`` (or False) leaves a dimension open."""

    status: str | None = None
    kind: str | None = None
    owner: str | None = None
    partner_id: str | None = None
    overdue: bool = False

    def check(self) -> None:
        """Refuse a status the workflow does not know (a typo would silently show nothing)."""
        if self.status is not None and self.status not in STATUSES:
            raise BadInput(f"status {self.status!r}: one of {', '.join(STATUSES)}")


def is_overdue(case: CaseRow, at: datetime) -> bool:
    """An active case past its SLA due date (closed cases are never overdue)."""
    return case.status in ACTIVE and case.due_at is not None and case.due_at < at


def matches(case: CaseRow, wanted: QueueFilter, at: datetime) -> bool:
    """Whether ``case`` passes every filter."""
    if wanted.status is not None and case.status != wanted.status:
        return False
    if wanted.kind is not None and case.kind != wanted.kind:
        return False
    if wanted.owner == UNASSIGNED and case.owner is not None:
        return False
    if wanted.owner not in (None, UNASSIGNED) and case.owner != wanted.owner:
        return False
    if wanted.partner_id is not None and case.partner_id != wanted.partner_id:
        return False
    return not wanted.overdue or is_overdue(case, at)


def status_counts(cases: Iterable[CaseRow]) -> dict[str, int]:
    """Cases per status, every status listed (zero included) in workflow order."""
    counts = dict.fromkeys(STATUSES, 0)
    for case in cases:
        counts[case.status] = counts.get(case.status, 0) + 1
    return counts


def case_workers(session: Session) -> list[str]:
    """Names of the active users whose roles let them work cases (who a case can go to)."""
    out = []
    for row in session.scalars(select(UserRow).where(UserRow.active.is_(True)).order_by(UserRow.name)):
        if any(Permission.CASE_WORK in ROLE_PERMISSIONS[r] for r in parse_roles(row.roles)):
            out.append(row.name)
    return out


@dataclass(frozen=True)
class HeldStatement:
    """A statement a case links: its ``partner/agreement/period`` and, if it exists, its row."""

    ref: str
    id: int | None
    status: str | None


def held_statements(session: Session, case_id: int) -> list[HeldStatement]:
    """The statements a case links, resolved to their current rows (a re-settle replaces ids)."""
    refs = session.scalars(
        select(CaseLinkRow.ref)
        .where(CaseLinkRow.case_id == case_id, CaseLinkRow.kind == "statement")
        .order_by(CaseLinkRow.ref)
    )
    out = []
    for ref in refs:
        partner, agreement, period = ref.split("/", 2)
        row = session.scalars(
            select(StatementRow).where(
                StatementRow.partner_id == partner,
                StatementRow.agreement_id == agreement,
                StatementRow.period == period,
            )
        ).first()
        out.append(HeldStatement(ref, row.id if row else None, row.status if row else None))
    return out


def evidence_row(session: Session, case_id: int, sha256: str) -> CaseEvidenceRow:
    """The evidence file of ``case_id`` with this digest (NotFound for another case's)."""
    row = session.scalars(
        select(CaseEvidenceRow)
        .where(CaseEvidenceRow.case_id == case_id, CaseEvidenceRow.sha256 == sha256.lower())
        .order_by(CaseEvidenceRow.id)
    ).first()
    if row is None:
        raise NotFound(f"no evidence {sha256} on case {case_id}")
    return row


@dataclass(frozen=True)
class Queue:
    """The cases that pass the filters, and what the filter form offers.

    ``counts`` (per status), ``partners`` and ``owners`` are over every case the caller
    can see, so narrowing the list never hides the other choices."""

    rows: list[CaseRow]
    counts: dict[str, int]
    partners: list[str]
    owners: list[str]


def build(visible: Sequence[CaseRow], wanted: QueueFilter, at: datetime) -> Queue:
    """The queue of ``visible`` cases narrowed by ``wanted`` as of ``at``."""
    return Queue(
        rows=[c for c in visible if matches(c, wanted, at)],
        counts=status_counts(visible),
        partners=sorted({c.partner_id for c in visible if c.partner_id}),
        owners=sorted({c.owner for c in visible if c.owner}),
    )
