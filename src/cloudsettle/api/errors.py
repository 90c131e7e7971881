"""Service errors -> HTTP statuses, in one place, and one error body shape.

=====================  ======  ==================================================
exception              status  meaning
=====================  ======  ==================================================
Unauthenticated        401     no or bad credentials (also a tampered cookie)
Forbidden              403     the role may not (also a missing CSRF token)
NotFound               404     nothing there, or another partner's
Throttled              429     too many failed logins
BadInput               400     the request names something wrong
Refused                409     valid, but the state forbids it (four eyes, finalized)
BodyTooLarge           413     an upload or body over the limit
request validation     422     the body or a parameter does not match the schema
anything else          500     a bug: logged with details, answered without any
=====================  ======  ==================================================

Validation errors list where and what, never the input itself (it may be a
password).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloudsettle.services.access import Forbidden, Unauthenticated
from cloudsettle.services.errors import BadInput, NotFound, Refused, ServiceError
from cloudsettle.services.users import Throttled

log = logging.getLogger("cloudsettle.api")


class BodyTooLarge(ServiceError):
    """A request body over its limit."""


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a message for people."""

    code: str
    message: str
    fields: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every error response's body."""

    error: ErrorDetail


#: Documented on every route, so clients and schemathesis know the error shapes.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Bad input"),
        (401, "Not authenticated"),
        (403, "Not allowed"),
        (404, "Not found"),
        (409, "Refused in the current state"),
        (413, "Body too large"),
        (422, "Request does not match the schema"),
        (429, "Too many attempts"),
    )
}

_STATUS: tuple[tuple[type[ServiceError], int, str], ...] = (
    (Unauthenticated, 401, "unauthenticated"),
    (Forbidden, 403, "forbidden"),
    (Throttled, 429, "throttled"),
    (BodyTooLarge, 413, "too_large"),
    (NotFound, 404, "not_found"),
    (BadInput, 400, "bad_input"),
    (Refused, 409, "refused"),
)


def status_of(exc: ServiceError) -> tuple[int, str]:
    """The HTTP status and code for a service error."""
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            return status, code
    return 409, "refused"


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """The one error body shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    status, code = status_of(exc)
    return error_response(status, code, str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return error_response(422, "invalid_request", "the request does not match the schema", fields=fields)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error (logged on the server)")


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on ``app``."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
