"""Ingest: upload bill files, see each batch's counts and rejected rows, pull from a provider.

The upload is an ordinary ``multipart/form-data`` post (a plain ``<input type=file
multiple>``; ``static/ingest.js`` adds drag and drop), so it works without
JavaScript. Its path streams past the app's small body limit
(``api.app.STREAMING_PATHS``) and is counted here against ``max_upload_bytes``;
the caller's permission is checked before a byte is spooled, the CSRF token
(a form field) once the form is read. Each file is staged like the API's
uploads (safe name, content matching its suffix), ingested in its own
transaction, and the staging folder removed. The ingest runs in the request:
the answer is the batch page (one file) or the ingest page with a note.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from cloudsettle.api.deps import AppState, app_state
from cloudsettle.api.security import SessionData, check_csrf
from cloudsettle.services import guarded, jobs
from cloudsettle.services.access import Forbidden, Permission, Principal, Unauthenticated
from cloudsettle.services.errors import BadInput, ServiceError
from cloudsettle.services.ingest_service import IngestReport
from cloudsettle.services.pull_service import API_PROVIDERS
from cloudsettle.web.common import error_page, posted, redirect, render, who_is

router = APIRouter()
#: The upload form's path (listed in ``api.app.STREAMING_PATHS``).
UPLOAD_PATH = "/ui/ingest/upload"
#: Provider choices of the upload form; empty means "detect from the file's header".
UPLOAD_PROVIDERS = ("tencent", "huawei", "focus")
#: Files one upload may carry.
MAX_FILES = 20
#: Batches listed on the ingest page.
RECENT = guarded.Page(0, 50)
#: Read size when staging an uploaded file.
CHUNK = 1024 * 1024


def counts(row: Any) -> dict[str, int]:
    """A batch's row counts by outcome, in the order the pages show them."""
    return {
        "total": row.rows_total,
        "new": row.rows_new,
        "revised": row.rows_revised,
        "unchanged": row.rows_unchanged,
        "duplicate": row.rows_duplicate,
        "rejected": row.rows_rejected,
    }


def report_note(r: IngestReport) -> str:
    """One line on what an ingested file did."""
    return (
        f"Ingested {r.file_name} as batch {r.batch_id} ({r.format}): {r.new} new, {r.revised} revised, "
        f"{r.unchanged} unchanged, {r.duplicate} duplicate, {r.rejected} rejected."
    )


@router.get("/ingest", response_class=HTMLResponse)
def ingest_page(request: Request, note: str = "") -> Response:
    """The upload form, the pull form and the recent batches."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            rows, total = guarded.batches(session, who, RECENT)
            periods = guarded.batch_periods(session, who, [r.id for r in rows])
            batches = [
                {
                    "id": r.id,
                    "file": r.file_name,
                    "kind": r.source_kind,
                    "provider": r.provider,
                    "format": r.format,
                    "periods": periods.get(r.id, []),
                    "counts": counts(r),
                    "status": r.status,
                    "when": r.received_at.strftime("%Y-%m-%d %H:%M"),
                    "who": r.received_by,
                }
                for r in rows
            ]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(
        request,
        "ingest.html",
        who,
        data,
        batches=batches,
        total=total,
        note=note,
        can_ingest=who.can(Permission.INGEST),
        providers=UPLOAD_PROVIDERS,
        pull_providers=API_PROVIDERS,
        max_mb=app_state(request).settings.max_upload_bytes // (1024 * 1024),
    )


@router.get("/ingest/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: int, note: str = "") -> Response:
    """One batch: counts, rejected rows (file, row, column, reason), findings and cases it raised."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            report = guarded.batch_report(session, who, batch_id)
            row = report["batch"]
            batch = {
                "id": row.id,
                "file": row.file_name,
                "kind": row.source_kind,
                "provider": row.provider,
                "format": row.format,
                "sha256": row.sha256,
                "status": row.status,
                "when": row.received_at.strftime("%Y-%m-%d %H:%M:%S"),
                "who": row.received_by,
                "counts": counts(row),
            }
            rejects = [
                {
                    "file": f.file_name or row.file_name,
                    "row": f.row_number,
                    "field": f.column_name,
                    "reason": f.message,
                }
                for f in report["rejects"]
            ]
            findings = [
                {
                    "kind": f.kind,
                    "row": f.row_number,
                    "line": f.line_id,
                    "status": f.status,
                    "message": f.message,
                }
                for f in report["findings"]
            ]
            cases = [
                {"id": c.id, "kind": c.kind, "severity": c.severity, "status": c.status, "title": c.title}
                for c in report["cases"]
            ]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(
        request,
        "batch.html",
        who,
        data,
        batch=batch,
        periods=report["periods"],
        rejects=rejects,
        findings=findings,
        cases=cases,
        note=note,
    )


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, refused once it passes ``limit`` bytes (before it all reaches the disk)."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise BadInput(f"an upload is at most {limit // (1024 * 1024)} MiB")
        yield chunk


async def _read_form(request: Request, limit: int) -> FormData:
    """The multipart form, parsed from a size-limited stream."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadInput(f"an upload is at most {limit // (1024 * 1024)} MiB")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadInput("the upload form posts multipart/form-data")
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=MAX_FILES, max_fields=10)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise BadInput(f"the upload could not be read: {exc.message}") from exc


async def _stage(upload: UploadFile, folder: Path) -> Path:
    """Copy one uploaded file into its staging folder, checked like an API upload."""
    name = upload.filename or ""
    suffix = jobs.check_upload_name(name)
    target = folder / name
    if target.exists():
        raise BadInput(f"{name}: the same file name twice in one upload")
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            if size == 0:
                jobs.check_upload_head(suffix, chunk[:16])
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size == 0:
        raise BadInput(f"{name}: the file is empty")
    return target


def _ingest_one(state: AppState, who: Principal, path: Path, provider: str | None) -> IngestReport:
    with state.workspace.unit_of_work() as session:
        return guarded.ingest(session, who, raw_store=state.workspace.raw_store, path=path, provider=provider)


def _caller(request: Request) -> tuple[Principal, SessionData]:
    """The uploader, refused before the body is read unless it may ingest."""
    who, data = who_is(request)
    jobs.authorize(who, "ingest")
    return who, data


@router.post(UPLOAD_PATH.removeprefix("/ui"), response_class=HTMLResponse)
async def upload(request: Request) -> Response:
    """Ingest the uploaded bill files, one batch each."""
    state = app_state(request)
    try:
        who, data = await run_in_threadpool(_caller, request)
    except ServiceError as exc:
        return error_page(request, exc)
    staging = state.workspace.root / "uploads" / uuid.uuid4().hex
    form: FormData | None = None
    done: list[IngestReport] = []
    failed: list[str] = []
    try:
        form = await _read_form(request, state.settings.max_upload_bytes)
        token = form.get("csrf_token")
        check_csrf("POST", data, token if isinstance(token, str) else None)
        chosen = form.get("provider")
        provider = chosen if isinstance(chosen, str) and chosen else None
        if provider is not None and provider not in UPLOAD_PROVIDERS:
            raise BadInput(f"unknown provider {provider!r}")
        files = [f for f in form.getlist("files") if not isinstance(f, str) and f.filename]
        if not files:
            raise BadInput("choose at least one bill file")
        staging.mkdir(parents=True)
        for item in files:
            try:
                path = await _stage(item, staging)
                done.append(await run_in_threadpool(_ingest_one, state, who, path, provider))
            except (Forbidden, Unauthenticated):
                raise
            except ServiceError as exc:
                failed.append(f"{item.filename}: {exc}")
    except (Forbidden, Unauthenticated) as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        return redirect("/ingest", f"Upload refused: {exc}")
    finally:
        if form is not None:
            await form.close()
        shutil.rmtree(staging, ignore_errors=True)
    if len(done) == 1 and not failed:
        return redirect(f"/ingest/batches/{done[0].batch_id}", report_note(done[0]))
    notes = [report_note(r) for r in done] + [f"Upload refused: {text}" for text in failed]
    return redirect("/ingest", "\n".join(notes))


@router.post("/ingest/pull", response_class=HTMLResponse)
def pull(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    provider: Annotated[str, Form(max_length=20)] = "",
    month: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Pull a bill month through the provider's API (credentials from the server's environment)."""
    state = app_state(request)
    try:
        who, _ = posted(request, csrf_token)
        with state.workspace.unit_of_work() as session:
            r = guarded.pull(
                session,
                who,
                raw_store=state.workspace.raw_store,
                provider=provider,
                month=month,
                checkpoints=state.workspace.root / "pulls",
                env=os.environ,
            )
            batch_id = r.ingest.batch_id
            note = (
                f"Pulled {provider} {month} as batch {batch_id}: {r.pages} pages, {r.ingest.new} new, "
                f"{r.ingest.revised} revised, {r.ingest.unchanged} unchanged, "
                f"{r.mismatches} totals mismatches, {r.customers_added} customers added."
            )
    except (Forbidden, Unauthenticated) as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        return redirect("/ingest", f"Pull refused: {exc}")
    return redirect(f"/ingest/batches/{batch_id}", note)
