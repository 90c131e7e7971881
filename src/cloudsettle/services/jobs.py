"""Background jobs (ingest, settle, pull) in the ``jobs`` table: submitted, polled, run once.

A client that retries a request with the same ``Idempotency-Key`` gets the same
job back instead of a second one: :func:`submit` stores the key (scoped to the
user) under the table's unique constraint, and a concurrent duplicate that
loses the insert race re-reads the winner's row. A key reused for a different
request (another kind or other parameters) is refused.

:func:`run` claims a job (``queued`` -> ``running``) in its own transaction,
executes it in another, and records ``done`` with a JSON result or ``failed``
with the error message (a service error's text; "internal error" for bugs,
whose details go to the server log only). A job that is not ``queued`` is never
run again, so a retried background task cannot ingest twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models_workflow import JobRow
from cloudsettle.db.session import unit_of_work
from cloudsettle.services.access import Permission, Principal, require
from cloudsettle.services.audit import now
from cloudsettle.services.errors import BadInput, NotFound, Refused, ServiceError

log = logging.getLogger(__name__)

KINDS: dict[str, Permission] = {
    "ingest": Permission.INGEST,
    "settle": Permission.SETTLE,
    "pull": Permission.INGEST,
}
MAX_KEY_LENGTH = 200

#: What a job does: (session, principal, params) -> JSON-able result.
Runner = Callable[[Session, Principal, Mapping[str, Any]], dict[str, Any]]


def _scoped_key(who: Principal, key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadInput(f"Idempotency-Key: 1 to {MAX_KEY_LENGTH} printable characters")
    return f"{who.name}:{key}"


def _same_request(job: JobRow, kind: str, params: Mapping[str, Any], identity: tuple[str, ...]) -> bool:
    stored = json.loads(job.params)
    return job.kind == kind and all(stored.get(k) == params.get(k) for k in identity)


def submit(
    session: Session,
    who: Principal,
    *,
    kind: str,
    params: Mapping[str, Any],
    idempotency_key: str | None,
    identity: tuple[str, ...] = (),
) -> tuple[JobRow, bool]:
    """Queue a job, or return the one queued earlier under the same key: ``(job, created)``.

    ``identity`` names the params that must match for a retry to count as the same request.
    """
    if kind not in KINDS:
        raise BadInput(f"unknown job kind {kind!r}")
    require(who, KINDS[kind])
    key = _scoped_key(who, idempotency_key)
    if key is not None:
        existing = session.scalars(select(JobRow).where(JobRow.idempotency_key == key)).one_or_none()
        if existing is not None:
            return _replay(existing, kind, params, identity), False
    row = JobRow(
        kind=kind,
        status="queued",
        params=json.dumps(dict(params), sort_keys=True, default=str),
        result=None,
        error=None,
        idempotency_key=key,
        created_by=who.name,
        created_at=now(),
        started_at=None,
        finished_at=None,
    )
    nested = session.begin_nested()
    try:
        session.add(row)
        session.flush()
        nested.commit()
    except IntegrityError:
        nested.rollback()
        winner = session.scalars(select(JobRow).where(JobRow.idempotency_key == key)).one()
        return _replay(winner, kind, params, identity), False
    return row, True


def _replay(job: JobRow, kind: str, params: Mapping[str, Any], identity: tuple[str, ...]) -> JobRow:
    if not _same_request(job, kind, params, identity):
        raise Refused("this Idempotency-Key was used for a different request")
    return job


def get(session: Session, who: Principal, job_id: int) -> JobRow:
    """A job: its submitter and readers of the workspace's data may see it."""
    row = session.get(JobRow, job_id)
    if row is None or (row.created_by != who.name and not who.can(Permission.DATA_READ)):
        raise NotFound(f"no job {job_id}")
    return row


def list_jobs(session: Session, who: Principal, *, offset: int, limit: int) -> tuple[list[JobRow], int]:
    """Jobs newest first: all of them for data readers, else the principal's own."""
    query = select(JobRow).order_by(JobRow.id.desc())
    if not who.can(Permission.DATA_READ):
        query = query.where(JobRow.created_by == who.name)
    rows = list(session.scalars(query))
    return rows[offset : offset + limit], len(rows)


def run(factory: sessionmaker[Session], job_id: int, who: Principal, runner: Runner) -> JobRow | None:
    """Claim and execute one queued job; returns the finished row (None if it was not queued)."""
    with unit_of_work(factory) as session:
        job = session.get(JobRow, job_id, with_for_update=True)
        if job is None or job.status != "queued":
            return None
        job.status, job.started_at = "running", now()
        params: dict[str, Any] = json.loads(job.params)
    result: dict[str, Any] | None = None
    error: str | None = None
    try:
        with unit_of_work(factory) as session:
            result = runner(session, who, params)
    except ServiceError as exc:
        error = str(exc)
    except Exception:  # a bug: keep the details in the server log, not in the job
        log.exception("job %s (%s) failed", job_id, params.get("kind", ""))
        error = "internal error (see the server log)"
    with unit_of_work(factory) as session:
        job = session.get(JobRow, job_id)
        assert job is not None
        job.status = "failed" if error is not None else "done"
        job.error = error
        job.result = None if result is None else json.dumps(result, sort_keys=True, default=str)
        job.finished_at = now()
        return job


def authorize(who: Principal, kind: str) -> None:
    """Check up front (before an upload is streamed to disk) that ``who`` may submit ``kind``."""
    if kind not in KINDS:
        raise BadInput(f"unknown job kind {kind!r}")
    require(who, KINDS[kind])


#: Bill file suffixes an upload may have, and the magic bytes a binary one must start with.
UPLOAD_SUFFIXES: dict[str, bytes | None] = {".csv": None, ".csv.gz": b"\x1f\x8b", ".parquet": b"PAR1"}
MAX_NAME_LENGTH = 200


def check_upload_name(name: str) -> str:
    """A safe file name for an upload: no folders, no ``..``, no hidden or control characters,
    one of :data:`UPLOAD_SUFFIXES`. Returns the name's suffix."""
    bad = (
        not name
        or len(name) > MAX_NAME_LENGTH
        or name.startswith((".", "-", " "))
        or ".." in name
        or any(not (c.isalnum() or c in "._-() ") for c in name)
    )
    if bad:
        raise BadInput(f"file name {name[:60]!r}: letters, digits and . _ - ( ) only; no folders or '..'")
    lower = name.lower()
    for suffix in sorted(UPLOAD_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return suffix
    raise BadInput(f"file name {name!r}: a bill file is {', '.join(UPLOAD_SUFFIXES)}")


def check_upload_head(suffix: str, head: bytes) -> None:
    """Refuse content that is not what its suffix says (binary formats by magic bytes; CSV has no NUL)."""
    magic = UPLOAD_SUFFIXES[suffix]
    if magic is not None and not head.startswith(magic):
        raise BadInput(f"the content is not a {suffix} file")
    if magic is None and b"\x00" in head:
        raise BadInput("a CSV file must be text (found a NUL byte)")
