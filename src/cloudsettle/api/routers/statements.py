"""Statements (JSON, files, explanation), approvals, rejections, finalization, manual adjustments.

A partner user sees only its own statements: another partner's id answers 404,
exactly like an id that does not exist. Approval is four eyes: the service
refuses the preparer (409).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cloudsettle.api.deps import PageDep, PrincipalDep, SessionDep, StateDep
from cloudsettle.api.errors import ERROR_RESPONSES
from cloudsettle.api.schemas import PageOf, Strict
from cloudsettle.core.money import D, format_money
from cloudsettle.db.models import ManualAdjustmentRow, StatementRow
from cloudsettle.exports.statement_csv import render_csv
from cloudsettle.exports.statement_data import gather
from cloudsettle.exports.statement_pdf import Branding, load_branding, render_pdf
from cloudsettle.exports.statement_xlsx import render_xlsx
from cloudsettle.services import guarded
from cloudsettle.services.errors import BadInput

router = APIRouter(tags=["statements"], responses=ERROR_RESPONSES)
StatementId = Annotated[int, Path(ge=1, le=2**62)]
PERIOD = r"^[0-9A-Za-z-]{4,20}$"
Period = Annotated[str, Field(pattern=PERIOD)]
PartnerId = Annotated[str, Field(min_length=1, max_length=100)]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class StatementSummary(BaseModel):
    """A statement in a list: its key, status and payable."""

    id: int
    partner_id: str
    agreement_id: str
    period: str
    status: str
    mode: str
    currency: str
    payable: str
    prepared_by: str
    approved_by: str | None
    finalized_by: str | None


class Explanation(BaseModel):
    """How each line (or one line) was computed, one text per line."""

    statement_id: int
    lines: list[str]


class PeriodIn(Strict):
    """A period, optionally one partner."""

    period: Period
    partner_id: PartnerId | None = None


class RejectIn(Strict):
    """Send a partner's statement back with a reason."""

    period: Period
    partner_id: PartnerId
    agreement_id: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class AdjustIn(Strict):
    """A signed amount in the statement currency, as a string (``"-12.50"``), and why."""

    period: Period
    partner_id: PartnerId
    agreement_id: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    amount: Annotated[str, Field(pattern=r"^-?\d{1,15}(\.\d{1,6})?$", examples=["-12.50"])]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class AdjustmentOut(BaseModel):
    """A manual adjustment (money as a string)."""

    id: int
    partner_id: str
    agreement_id: str
    period: str
    amount: str
    reason: str
    created_by: str
    created_at: datetime


class StatementsChanged(BaseModel):
    """The statements an action changed."""

    statements: list[StatementSummary]


def summary(s: StatementRow) -> StatementSummary:
    """The list shape of a statement."""
    return StatementSummary(
        id=s.id,
        partner_id=s.partner_id,
        agreement_id=s.agreement_id,
        period=s.period,
        status=s.status,
        mode=s.mode,
        currency=s.currency,
        payable=format_money(s.payable, s.currency),
        prepared_by=s.prepared_by,
        approved_by=s.approved_by,
        finalized_by=s.finalized_by,
    )


def _adjustment(a: ManualAdjustmentRow) -> AdjustmentOut:
    return AdjustmentOut(
        id=a.id,
        partner_id=a.partner_id,
        agreement_id=a.agreement_id,
        period=a.period,
        amount=str(a.amount),
        reason=a.reason,
        created_by=a.created_by,
        created_at=a.created_at,
    )


@router.get("/statements", response_model=PageOf[StatementSummary])
def list_statements(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    period: Annotated[str | None, Query(max_length=20)] = None,
    partner_id: Annotated[str | None, Query(max_length=100)] = None,
    status_filter: Annotated[str | None, Query(alias="status", max_length=20)] = None,
) -> PageOf[StatementSummary]:
    """Statements, filtered by period, partner and status (a partner sees its own)."""
    rows, total = guarded.statements(
        session, who, page, period=period, partner_id=partner_id, status=status_filter
    )
    return PageOf(items=[summary(s) for s in rows], total=total, offset=page.offset, limit=page.limit)


@router.get("/statements/{statement_id}", response_model=dict[str, Any])
def get_statement(statement_id: StatementId, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    """The statement document: components, lines with their sources, adjustments, exceptions."""
    doc = guarded.statement(session, who, statement_id)
    doc["id"] = statement_id
    return doc


@router.get("/partners/{partner_id}/statements/{period}", response_model=dict[str, Any])
def get_statement_by_key(
    partner_id: Annotated[str, Path(min_length=1, max_length=100)],
    period: Annotated[str, Path(pattern=PERIOD)],
    session: SessionDep,
    who: PrincipalDep,
    agreement_id: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """A partner's statement for a period, by its stable key (ids change when a period is re-settled)."""
    return guarded.statement_by_key(
        session, who, partner_id=partner_id, period=period, agreement_id=agreement_id
    )


@router.get("/statements/{statement_id}/explain", response_model=Explanation)
def explain_statement(
    statement_id: StatementId,
    session: SessionDep,
    who: PrincipalDep,
    line_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Explanation:
    """How each line, or one line, was computed: base, FX, rule, rate, commission."""
    return Explanation(statement_id=statement_id, lines=guarded.explain(session, who, statement_id, line_id))


@router.get(
    "/statements/{statement_id}/file",
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}, "description": "The statement file"}},
)
def statement_file(
    statement_id: StatementId,
    session: SessionDep,
    who: PrincipalDep,
    state: StateDep,
    fmt: Annotated[Literal["csv", "xlsx", "pdf"], Query(alias="format")] = "csv",
    lang: Annotated[Literal["en", "zh"], Query()] = "en",
) -> Response:
    """The statement as a CSV, XLSX or PDF file."""
    doc = guarded.statement(session, who, statement_id)
    data = gather(session, doc)
    name = f"{doc['partner']}-{doc['agreement']}-{doc['period']}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="cloudsettle-statement-") as tmp:
        out = FsPath(tmp) / f"statement.{fmt}"
        if fmt == "csv":
            render_csv(data, out)
        elif fmt == "xlsx":
            render_xlsx(data, out, lang)
        else:
            branding_file = state.workspace.root / "branding.yaml"
            branding = load_branding(branding_file) if branding_file.is_file() else Branding()
            render_pdf(data, out, lang, branding)
        content = out.read_bytes()
    return Response(
        content,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{_ascii(name)}"'},
    )


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)


@router.post("/approvals", response_model=StatementsChanged)
def approve(body: PeriodIn, session: SessionDep, who: PrincipalDep) -> StatementsChanged:
    """Approve a period's calculated statements (four eyes: never the preparer's)."""
    rows = guarded.approve(session, who, period=body.period, partner_id=body.partner_id)
    return StatementsChanged(statements=[summary(s) for s in rows])


@router.post("/rejections", response_model=StatementsChanged)
def reject(body: RejectIn, session: SessionDep, who: PrincipalDep) -> StatementsChanged:
    """Send statements back to their preparer with a reason."""
    rows = guarded.reject(
        session,
        who,
        period=body.period,
        partner_id=body.partner_id,
        agreement_id=body.agreement_id,
        reason=body.reason,
    )
    return StatementsChanged(statements=[summary(s) for s in rows])


@router.post("/finalizations", response_model=StatementsChanged)
def finalize(body: PeriodIn, session: SessionDep, who: PrincipalDep) -> StatementsChanged:
    """Finalize approved statements: locked for good, posted to the ledger."""
    rows = guarded.finalize(session, who, period=body.period, partner_id=body.partner_id)
    return StatementsChanged(statements=[summary(s) for s in rows])


@router.get("/adjustments", response_model=PageOf[AdjustmentOut])
def list_adjustments(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    period: Annotated[str | None, Query(max_length=20)] = None,
    partner_id: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOf[AdjustmentOut]:
    """Manual adjustments (a partner sees its own)."""
    rows, total = guarded.adjustments(session, who, page, period=period, partner_id=partner_id)
    return PageOf(items=[_adjustment(a) for a in rows], total=total, offset=page.offset, limit=page.limit)


@router.post("/adjustments", response_model=AdjustmentOut, status_code=status.HTTP_201_CREATED)
def add_adjustment(body: AdjustIn, session: SessionDep, who: PrincipalDep) -> AdjustmentOut:
    """Add a manual adjustment to an open statement; it is re-settled at once."""
    try:
        amount: Decimal = D(body.amount)
    except ValueError as exc:
        raise BadInput(f"amount: {exc}") from exc
    row = guarded.adjust(
        session,
        who,
        period=body.period,
        partner_id=body.partner_id,
        agreement_id=body.agreement_id,
        amount=amount,
        reason=body.reason,
    )
    return _adjustment(row)
