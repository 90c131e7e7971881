"""Batches, runs, findings, and the background jobs: ingest uploads, settlements, pulls.

An upload is the raw file as the request body (``application/octet-stream``),
streamed to a staging file while its size is counted (413 past
``max_upload_bytes``) and its sha256 computed; the name is checked for path
tricks and the first bytes against the suffix. The ingest itself runs as a
job: the answer is 202 with the job to poll. With an ``Idempotency-Key``
header, a retried upload returns the first job and ingests nothing again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Path, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cloudsettle.api.deps import AppState, PageDep, PrincipalDep, SessionDep, StateDep
from cloudsettle.api.errors import ERROR_RESPONSES, BodyTooLarge
from cloudsettle.api.schemas import PageOf, Strict
from cloudsettle.core.money import format_money
from cloudsettle.db.models_workflow import JobRow
from cloudsettle.services import guarded, jobs
from cloudsettle.services.access import Principal
from cloudsettle.services.errors import BadInput

router = APIRouter(tags=["data and jobs"], responses=ERROR_RESPONSES)
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
PERIOD_PATTERN = r"^[0-9A-Za-z-]{4,20}$"


class BatchOut(BaseModel):
    """One receipt of a raw file or pull and what it changed."""

    id: int
    sha256: str
    source_kind: str
    file_name: str
    provider: str
    format: str
    received_at: datetime
    received_by: str
    rows_total: int
    rows_new: int
    rows_revised: int
    rows_unchanged: int
    rows_duplicate: int
    rows_rejected: int
    status: str


class RunOut(BaseModel):
    """A settlement run."""

    id: int
    period: str
    partner_id: str | None
    started_at: datetime
    started_by: str
    finished_at: datetime | None
    status: str


class FindingOut(BaseModel):
    """A recorded finding."""

    id: int
    kind: str
    message: str
    status: str
    period: str | None
    partner_id: str | None
    line_id: str | None
    file_name: str | None
    row_number: int | None


class JobOut(BaseModel):
    """A background job: poll until ``status`` is ``done`` or ``failed``."""

    id: int
    kind: str
    status: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None


class SettleIn(Strict):
    """Which period (and optionally which partner) to settle."""

    period: Annotated[str, Field(pattern=PERIOD_PATTERN)]
    partner_id: Annotated[str | None, Field(min_length=1, max_length=100)] = None


class PullIn(Strict):
    """Which provider and bill month to pull (credentials come from the server's environment)."""

    provider: Annotated[str, Field(pattern=r"^(tencent|huawei)$")]
    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def job_out(row: JobRow) -> JobOut:
    """The API shape of a job (staging paths are not shown)."""
    return JobOut(
        id=row.id,
        kind=row.kind,
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=json.loads(row.result) if row.result else None,
        error=row.error,
    )


@router.get("/batches", response_model=PageOf[BatchOut])
def list_batches(session: SessionDep, who: PrincipalDep, page: PageDep) -> PageOf[BatchOut]:
    """Ingest batches, newest first."""
    rows, total = guarded.batches(session, who, page)
    return PageOf(
        items=[BatchOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/batches/{batch_id}", response_model=BatchOut)
def get_batch(
    batch_id: Annotated[int, Path(ge=1, le=2**62)], session: SessionDep, who: PrincipalDep
) -> BatchOut:
    """One batch."""
    return BatchOut.model_validate(guarded.batch(session, who, batch_id), from_attributes=True)


@router.get("/runs", response_model=PageOf[RunOut])
def list_runs(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    period: Annotated[str | None, Query(max_length=20)] = None,
) -> PageOf[RunOut]:
    """Settlement runs, newest first."""
    rows, total = guarded.runs(session, who, page, period)
    return PageOf(
        items=[RunOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/findings", response_model=PageOf[FindingOut])
def list_findings(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    status_filter: Annotated[str | None, Query(alias="status", max_length=20)] = "open",
) -> PageOf[FindingOut]:
    """Findings, open ones by default."""
    rows, total = guarded.findings(session, who, page, status_filter)
    return PageOf(
        items=[FindingOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/jobs", response_model=PageOf[JobOut])
def list_jobs(session: SessionDep, who: PrincipalDep, page: PageDep) -> PageOf[JobOut]:
    """Jobs, newest first (your own unless you may read the workspace's data)."""
    rows, total = jobs.list_jobs(session, who, offset=page.offset, limit=page.limit)
    return PageOf(items=[job_out(r) for r in rows], total=total, offset=page.offset, limit=page.limit)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: Annotated[int, Path(ge=1, le=2**62)], session: SessionDep, who: PrincipalDep) -> JobOut:
    """One job."""
    return job_out(jobs.get(session, who, job_id))


# --- ingest ----------------------------------------------------------------------------------------


def _ingest_runner(state: AppState) -> jobs.Runner:
    def runner(session: Session, who: Principal, params: Mapping[str, Any]) -> dict[str, Any]:
        staged = FsPath(str(params["staged"]))
        try:
            r = guarded.ingest(
                session,
                who,
                raw_store=state.workspace.raw_store,
                path=staged,
                provider=params.get("provider"),
            )
        finally:
            shutil.rmtree(staged.parent, ignore_errors=True)
        return {
            "batch_id": r.batch_id,
            "file_name": r.file_name,
            "sha256": r.sha256,
            "format": r.format,
            "new": r.new,
            "revised": r.revised,
            "unchanged": r.unchanged,
            "duplicate": r.duplicate,
            "rejected": r.rejected,
            "errors": [str(e) for e in r.errors[:100]],
        }

    return runner


@router.post(
    "/ingest",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_bill(
    request: Request,
    state: StateDep,
    who: PrincipalDep,
    background: BackgroundTasks,
    file_name: Annotated[str, Query(min_length=1, max_length=200, description="The bill file's name.")],
    provider: Annotated[str | None, Query(pattern=r"^(tencent|huawei|focus)$")] = None,
    idempotency_key: IdemKey = None,
) -> JobOut:
    """Upload one bill file (the body) and ingest it in the background; poll the job."""
    jobs.authorize(who, "ingest")
    suffix = jobs.check_upload_name(file_name)
    staging = state.workspace.root / "uploads" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    target = staging / file_name
    digest = hashlib.sha256()
    size = 0
    limit = state.settings.max_upload_bytes
    try:
        with target.open("wb") as out:
            async for chunk in request.stream():
                if not chunk:
                    continue
                if size == 0:
                    jobs.check_upload_head(suffix, chunk[:16])
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"a bill file is at most {limit} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise BadInput("the upload is empty")
        params = {
            "file_name": file_name,
            "provider": provider,
            "sha256": digest.hexdigest(),
            "staged": str(target),
        }
        job, created = await run_in_threadpool(
            _submit, state, who, "ingest", params, idempotency_key, ("file_name", "provider", "sha256")
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if created:
        background.add_task(jobs.run, state.workspace.sessions, job.id, who, _ingest_runner(state))
    else:
        shutil.rmtree(staging, ignore_errors=True)
    return job_out(job)


def _submit(
    state: AppState,
    who: Principal,
    kind: str,
    params: dict[str, Any],
    key: str | None,
    identity: tuple[str, ...],
) -> tuple[JobRow, bool]:
    with state.workspace.unit_of_work() as session:
        return jobs.submit(session, who, kind=kind, params=params, idempotency_key=key, identity=identity)


# --- settle and pull ---------------------------------------------------------------------------------


def _settle_runner(session: Session, who: Principal, params: Mapping[str, Any]) -> dict[str, Any]:
    summary = guarded.settle(session, who, period=str(params["period"]), partner_id=params.get("partner_id"))
    return {
        "run_id": summary.run_id,
        "statements": [
            {
                "id": s.id,
                "partner_id": s.partner_id,
                "agreement_id": s.agreement_id,
                "status": s.status,
                "currency": s.currency,
                "payable": format_money(s.payable, s.currency),
            }
            for s in summary.statements
        ],
        "findings": [{"kind": f.kind.value, "message": f.message} for f in summary.findings[:200]],
        "skipped_finalized": list(summary.skipped_finalized),
    }


@router.post("/settlements", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def start_settlement(
    body: SettleIn,
    state: StateDep,
    who: PrincipalDep,
    background: BackgroundTasks,
    idempotency_key: IdemKey = None,
) -> JobOut:
    """Validate and compute a period's statements in the background; poll the job."""
    params = body.model_dump()
    job, created = _submit(state, who, "settle", params, idempotency_key, ("period", "partner_id"))
    if created:
        background.add_task(jobs.run, state.workspace.sessions, job.id, who, _settle_runner)
    return job_out(job)


def _pull_runner(state: AppState) -> jobs.Runner:
    def runner(session: Session, who: Principal, params: Mapping[str, Any]) -> dict[str, Any]:
        r = guarded.pull(
            session,
            who,
            raw_store=state.workspace.raw_store,
            provider=str(params["provider"]),
            month=str(params["month"]),
            checkpoints=state.workspace.root / "pulls",
            env=os.environ,
        )
        return {
            "batch_id": r.ingest.batch_id,
            "pages": r.pages,
            "new": r.ingest.new,
            "revised": r.ingest.revised,
            "mismatches": r.mismatches,
            "customers_added": r.customers_added,
        }

    return runner


@router.post("/pulls", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def start_pull(
    body: PullIn,
    state: StateDep,
    who: PrincipalDep,
    background: BackgroundTasks,
    idempotency_key: IdemKey = None,
) -> JobOut:
    """Pull a bill month through the provider's API in the background; poll the job."""
    job, created = _submit(state, who, "pull", body.model_dump(), idempotency_key, ("provider", "month"))
    if created:
        background.add_task(jobs.run, state.workspace.sessions, job.id, who, _pull_runner(state))
    return job_out(job)
