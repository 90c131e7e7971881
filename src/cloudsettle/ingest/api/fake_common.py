"""What the two fake provider servers share: a loopback HTTP server, a request
log, scripted faults and exact JSON numbers.

The fakes ship with the package (house style: one narrow seam per integration,
with a fake that ships with the code) so the tests, a developer and a demo can
drive the *real* provider SDKs without a network or an account.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

_DECIMAL_TAG = "__exact_decimal__:"
_DECIMAL_STRING = re.compile(r'"' + _DECIMAL_TAG + r'([-+0-9.Ee]+)"')


def dumps_exact(data: Any) -> bytes:
    """JSON with every ``Decimal`` written as the number it is (``12.34000000``), never via float."""

    def tag(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{_DECIMAL_TAG}{value:f}"
        if isinstance(value, dict):
            return {key: tag(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [tag(item) for item in value]
        return value

    text = json.dumps(tag(data), ensure_ascii=False)
    return _DECIMAL_STRING.sub(lambda m: m.group(1), text).encode("utf-8")


@dataclass
class Faults:
    """Scripted misbehaviour; change it between calls, the server reads it on each request.

    Attributes:
      throttle_calls: request numbers (1 = the first request the server gets) answered
        with the provider's throttling error.
      server_error_calls: request numbers answered with an HTTP 5xx.
      not_ready_first: the first K requests answer "the bill is not ready yet"
        (Tencent only: Huawei documents no such answer).
      auth_error: every request is refused as badly authenticated.
      drop_after_page: once this many bill-detail pages were served, each further
        bill-detail request has its connection closed without an answer.
    """

    throttle_calls: set[int] = field(default_factory=set)
    server_error_calls: set[int] = field(default_factory=set)
    not_ready_first: int = 0
    auth_error: bool = False
    drop_after_page: int | None = None


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request the fake received.

    Attributes:
      number: 1 for the first.
      action: Tencent's ``X-TC-Action`` or Huawei's path.
      params: the JSON body (Tencent, Huawei POST) or query parameters (Huawei GET).
      authorization: the Authorization header as sent.
    """

    number: int
    action: str
    params: dict[str, Any]
    authorization: str


class Answer:
    """What the handler sends back: a status, a JSON body, or a dropped connection."""

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        *,
        drop: bool = False,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.drop = drop
        self.content_type = content_type
        self.headers = headers or {}


class FakeServer:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) with a request log and faults.

    Subclasses implement :meth:`answer`. Use as a context manager::

        with FakeTencent(records=25) as fake:
            client = make_client("tencent", credentials=..., endpoint=fake.endpoint)
    """

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[LoggedRequest] = []
        self.detail_pages_served = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # quiet: tests read fake.requests instead

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, action: str) -> int:
        """How many requests named ``action`` arrived."""
        return sum(1 for request in self.requests if request.action == action)

    # -- request handling -------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._lock:
            answer = self.answer(handler.command, handler.path, dict(handler.headers.items()), raw)
        if answer.drop:
            handler.close_connection = True
            return
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(answer.body)

    def log(self, action: str, params: dict[str, Any], headers: dict[str, str]) -> LoggedRequest:
        """Record a request; called by :meth:`answer` (under the server's lock)."""
        entry = LoggedRequest(len(self.requests) + 1, action, params, _header(headers, "Authorization"))
        self.requests.append(entry)
        return entry

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Each provider's fake overrides this; the base class serves nothing (404)."""
        del method, path, headers, body
        return Answer(404, b'{"error": "not served by this fake"}')


def _header(headers: dict[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def header(headers: dict[str, str], name: str) -> str:
    """A request header, by case-insensitive name ("" if absent)."""
    return _header(headers, name)
