"""Cases (exceptions and disputes): list, read, assign, comment, evidence, resolve, waive; disputes.

A partner user sees and discusses only its own partner's disputes; another
case's id answers 404. Evidence is the raw file as the body; the case service
checks its size, type and name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, status
from pydantic import BaseModel, Field

from cloudsettle.api.deps import PageDep, PrincipalDep, SessionDep, StateDep
from cloudsettle.api.errors import ERROR_RESPONSES
from cloudsettle.api.schemas import PageOf, Strict
from cloudsettle.db.models_workflow import CaseRow
from cloudsettle.services import guarded

router = APIRouter(tags=["cases"], responses=ERROR_RESPONSES)
CaseId = Annotated[int, Path(ge=1, le=2**62)]


class CaseOut(BaseModel):
    """A case in a list."""

    id: int
    kind: str
    severity: str
    status: str
    title: str
    blocking: bool
    owner: str | None
    due_at: datetime | None
    partner_id: str | None
    agreement_id: str | None
    period: str | None
    resolution: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class AssignIn(Strict):
    """Who takes the case."""

    to: Annotated[str, Field(min_length=1, max_length=64)]


class TextIn(Strict):
    """A comment, a resolution note or a waiver reason."""

    text: Annotated[str, Field(min_length=1, max_length=5000)]


class DisputeIn(Strict):
    """A complaint about a partner's statement."""

    period: Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{4,20}$")]
    partner_id: Annotated[str, Field(min_length=1, max_length=100)]
    agreement_id: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    text: Annotated[str, Field(min_length=1, max_length=5000)]


class Closed(BaseModel):
    """A closed case and the statements settled again."""

    case: CaseOut
    rerun: list[str]


def case_out(c: CaseRow) -> CaseOut:
    """The list shape of a case."""
    return CaseOut.model_validate(c, from_attributes=True)


@router.get("/cases", response_model=PageOf[CaseOut])
def list_cases(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    status_filter: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
) -> PageOf[CaseOut]:
    """Cases newest first, by status and kind (a partner: its own disputes)."""
    rows, total = guarded.cases(session, who, page, status=status_filter, kind=kind)
    return PageOf(items=[case_out(c) for c in rows], total=total, offset=page.offset, limit=page.limit)


@router.get("/cases/{case_id}", response_model=dict[str, Any])
def get_case(case_id: CaseId, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    """Everything about a case: links, comments, evidence, history."""
    return guarded.case(session, who, case_id)


@router.post("/cases/{case_id}/assign", response_model=CaseOut)
def assign(case_id: CaseId, body: AssignIn, session: SessionDep, who: PrincipalDep) -> CaseOut:
    """Give the case an owner."""
    return case_out(guarded.assign_case(session, who, case_id=case_id, to=body.to))


@router.post("/cases/{case_id}/comments", status_code=status.HTTP_201_CREATED, response_model=dict[str, Any])
def comment(case_id: CaseId, body: TextIn, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    """Comment on a case."""
    row = guarded.comment_case(session, who, case_id=case_id, text=body.text)
    return {"id": row.id, "author": row.author, "text": row.text, "at": row.at.isoformat()}


@router.post(
    "/cases/{case_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def attach(
    case_id: CaseId,
    request: Request,
    state: StateDep,
    who: PrincipalDep,
    file_name: Annotated[str, Query(min_length=1, max_length=200)],
    content_type: Annotated[str | None, Header(alias="X-Evidence-Type", max_length=100)] = None,
) -> dict[str, Any]:
    """Attach an evidence file (the body; its type in ``X-Evidence-Type`` or from the name)."""
    data = await request.body()
    from starlette.concurrency import run_in_threadpool

    def work() -> dict[str, Any]:
        with state.workspace.unit_of_work() as session:
            row = guarded.attach_evidence(
                session,
                who,
                case_id=case_id,
                file_name=file_name,
                data=data,
                content_type=content_type,
                raw_store=state.workspace.raw_store,
            )
            return {
                "file_name": row.file_name,
                "sha256": row.sha256,
                "content_type": row.content_type,
                "size_bytes": row.size_bytes,
            }

    return await run_in_threadpool(work)


@router.post("/cases/{case_id}/resolve", response_model=Closed)
def resolve(case_id: CaseId, body: TextIn, session: SessionDep, who: PrincipalDep) -> Closed:
    """Resolve a case with a note; what it held is settled again."""
    c = guarded.close_case(session, who, case_id=case_id, waive=False, text=body.text)
    return Closed(case=case_out(c.case), rerun=list(c.rerun))


@router.post("/cases/{case_id}/waive", response_model=Closed)
def waive(case_id: CaseId, body: TextIn, session: SessionDep, who: PrincipalDep) -> Closed:
    """Accept a finding as it is, with a reason; what it held is settled again."""
    c = guarded.close_case(session, who, case_id=case_id, waive=True, text=body.text)
    return Closed(case=case_out(c.case), rerun=list(c.rerun))


@router.post("/disputes", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
def open_dispute(body: DisputeIn, session: SessionDep, who: PrincipalDep) -> CaseOut:
    """Dispute a statement (a partner: only its own); the statement is held until the case closes."""
    return case_out(
        guarded.open_dispute(
            session,
            who,
            partner_id=body.partner_id,
            agreement_id=body.agreement_id,
            period=body.period,
            text=body.text,
        )
    )
