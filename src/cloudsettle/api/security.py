"""Login sessions, CSRF, security headers and body limits.

- A session is a cookie signed with the server secret (itsdangerous, timed):
  ``HttpOnly``, ``SameSite=Strict``, ``Secure`` unless a plain-HTTP development
  server. It carries the user id, a CSRF token and a fingerprint of the
  password hash, so changing the password ends old sessions. A tampered or
  expired cookie is refused (401).
- CSRF: a request authenticated by the cookie that changes something (POST,
  PUT, PATCH, DELETE) must send the session's token in ``X-CSRF-Token``
  (double submit: the login answer and a readable ``cloudsettle_csrf`` cookie
  hold it). Bearer-token requests carry no ambient credentials and need none.
- Every response gets security headers; ``/api`` answers are never cached.
- Request bodies are capped (:class:`BodyLimitMiddleware`): the upload routes
  count their stream themselves against ``max_upload_bytes``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudsettle.api.errors import BodyTooLarge
from cloudsettle.services.access import Forbidden, Unauthenticated

SESSION_COOKIE = "cloudsettle_session"
CSRF_COOKIE = "cloudsettle_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Bodies of ordinary requests (JSON, a configuration file) stay under this.
MAX_BODY_BYTES = 2 * 1024 * 1024

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


@dataclass(frozen=True)
class SessionData:
    """What a session cookie says."""

    user_id: int
    csrf: str
    pw: str


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the password hash: a new password ends the old sessions."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class SessionSigner:
    """Signs and checks session cookies with the server secret."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="cloudsettle.session")
        self.max_age = max_age_seconds

    def issue(self, user_id: int, password_hash: str | None) -> tuple[str, SessionData]:
        """A new cookie value and its data (with a fresh CSRF token)."""
        data = SessionData(user_id, secrets.token_urlsafe(32), password_fingerprint(password_hash))
        return self._s.dumps({"u": data.user_id, "c": data.csrf, "p": data.pw}), data

    def read(self, value: str) -> SessionData:
        """The data of a cookie; :class:`Unauthenticated` if tampered or expired."""
        try:
            raw = self._s.loads(value, max_age=self.max_age)
        except BadSignature as exc:  # SignatureExpired is a BadSignature
            raise Unauthenticated("invalid or expired session; log in again") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("u"), int):
            raise Unauthenticated("invalid session; log in again")
        return SessionData(int(raw["u"]), str(raw.get("c", "")), str(raw.get("p", "")))


def check_csrf(method: str, session: SessionData, header: str | None) -> None:
    """Refuse a state-changing cookie request without the session's CSRF token."""
    if method.upper() in SAFE_METHODS:
        return
    if not header or not hmac.compare_digest(header.encode(), session.csrf.encode()):
        raise Forbidden(f"missing or wrong {CSRF_HEADER} header (CSRF protection)")


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` (and HSTS when served over TLS) to every answer."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = list(SECURITY_HEADERS)
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if api:
                    extra.append((b"cache-control", b"no-store"))
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuses bodies over ``limit`` bytes, except on the streaming upload paths."""

    def __init__(self, app: ASGIApp, *, limit: int, streaming_paths: frozenset[str]) -> None:
        self.app = app
        self.limit = limit
        self.streaming = streaming_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.streaming:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(send, self.limit)
                return
        seen = 0
        limit = self.limit

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(f"request body over {limit} bytes")
            return message

        await self.app(scope, counted, send)


async def _too_large(send: Send, limit: int) -> None:
    body = b'{"error":{"code":"too_large","message":"request body over %d bytes"}}' % limit
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
