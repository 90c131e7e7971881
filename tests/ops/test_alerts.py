"""Alerts end to end: a local SMTP server (aiosmtpd) and a local webhook receiver get exactly
the expected messages, signed, in digest and immediate mode, never twice for one condition."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db.models import FindingRow
from cloudsettle.db.models_workflow import CaseRow
from cloudsettle.ops.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from cloudsettle.ops.config import AlertSettings, EmailChannel, OpsConfig, WebhookChannel
from cloudsettle.ops.schedule import Schedule
from cloudsettle.ops.worker import Worker

SECRET = "hook-secret-0042"
T0 = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Hooks:
    """A webhook receiver on 127.0.0.1 that records requests; ``fail`` answers 500."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail = False
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hooks.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                hooks.received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def payloads(self) -> list[dict[str, Any]]:
        out = []
        for headers, body in self.received:
            assert verify_signature(
                SECRET.encode(), headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER]
            )
            out.append(json.loads(body))
        return out


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    h = Hooks()
    h.thread.start()
    try:
        yield h
    finally:
        h.server.shutdown()
        h.server.server_close()


def _config(port: int, url: str, digest: bool) -> OpsConfig:
    return OpsConfig(
        schedules=(Schedule("alerts", "alerts", "UTC", every_minutes=60),),
        alerts=AlertSettings(
            digest=digest,
            email=EmailChannel("127.0.0.1", port, "cloudsettle@example.test", ("ops@example.test",)),
            webhook=WebhookChannel(url, "HOOK_SECRET"),
            reconciliation_variance=D("1.00"),
        ),
    )


def _finding(kind: str, message: str) -> FindingRow:
    return FindingRow(kind=kind, message=message, provider="tencent", period="2026-10", created_at=T0)


def _seed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add(
            _finding(
                "totals_mismatch",
                "tencent 2026-10 CVM: lines add up to 100.00 CNY, the provider's total is 105.00 CNY",
            )
        )
        s.add(
            _finding(
                "totals_mismatch",
                "tencent 2026-10 COS: lines add up to 10.00 CNY, the provider's total is 10.50 CNY",
            )
        )
        s.add(_finding("source_drift", "tencent bill columns changed: + NewColumn"))
        s.add(
            CaseRow(
                kind="exception",
                severity="high",
                status="open",
                title="unmapped deal",
                dedupe_key="k1",
                blocking=True,
                owner="ana",
                due_at=T0 - timedelta(days=1),
                partner_id=None,
                agreement_id=None,
                period="2026-10",
                resolution=None,
                created_by="sys",
                created_at=T0 - timedelta(days=3),
                updated_at=T0 - timedelta(days=3),
            )
        )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_digest_sends_one_signed_message_per_channel_and_never_repeats(
    tmp_path: Path, session_factory: sessionmaker[Session], smtp: tuple[Mailbox, int], hooks: Hooks
) -> None:
    box, port = smtp
    _seed(session_factory)
    clock = Clock()
    worker = Worker(
        sessions=session_factory,
        config=_config(port, hooks.url, digest=True),
        root=tmp_path,
        env={"HOOK_SECRET": SECRET},
        clock=clock,
    )
    assert [o.status for o in worker.tick()] == ["succeeded"]
    assert len(box.messages) == 1
    mail = box.messages[0]
    assert mail["Subject"] == "[cloudsettle] digest: 3 alerts"
    assert mail["To"] == "ops@example.test"
    text = mail.get_payload()
    assert "reconciliation variance 5.00 CNY" in text
    assert "0.50" not in text  # under the threshold
    assert "source_drift" in text
    assert "case 1 overdue: unmapped deal" in text
    [payload] = hooks.payloads()
    assert payload["digest"] is True
    assert sorted(a["rule"] for a in payload["alerts"]) == [
        "case_overdue",
        "reconciliation_variance",
        "source_drift",
    ]

    for _ in range(3):  # the same conditions an hour later, and later again: nothing new to say
        clock.now += timedelta(hours=1)
        worker.tick()
    assert len(box.messages) == 1
    assert len(hooks.received) == 1

    with session_factory.begin() as s:
        s.add(_finding("volume_drift", "customer 100042 volume x4"))
    clock.now += timedelta(hours=1)
    worker.tick()
    assert len(box.messages) == 2
    assert box.messages[1]["Subject"] == "[cloudsettle warning] volume_drift (tencent)"
    assert [a["message"] for a in hooks.payloads()[1]["alerts"]] == ["customer 100042 volume x4"]


def test_immediate_mode_sends_each_alert_once_and_retries_a_failed_webhook(
    tmp_path: Path, session_factory: sessionmaker[Session], smtp: tuple[Mailbox, int], hooks: Hooks
) -> None:
    box, port = smtp
    _seed(session_factory)
    clock = Clock()
    worker = Worker(
        sessions=session_factory,
        config=_config(port, hooks.url, digest=False),
        root=tmp_path,
        env={"HOOK_SECRET": SECRET},
        clock=clock,
    )
    hooks.fail = True
    worker.tick()
    assert len(hooks.received) == 0  # refused: the alerts stay undelivered
    hooks.fail = False
    clock.now += timedelta(minutes=1)
    worker.tick()
    payloads = hooks.payloads()
    assert [len(p["alerts"]) for p in payloads] == [1, 1, 1]
    assert all(p["digest"] is False for p in payloads)
    assert len({p["alerts"][0]["key"] for p in payloads}) == 3
    # A message is retried whole: the mail that went out with the refused webhook goes again once.
    subjects = [m["Subject"] for m in box.messages]
    assert len(subjects) == 6
    assert len(set(subjects)) == 3
    clock.now += timedelta(hours=2)
    worker.tick()
    assert len(hooks.received) == 3
    assert len(box.messages) == 6


def test_a_bad_signature_is_rejected() -> None:
    body = b'{"alerts": []}'
    from cloudsettle.ops.alerts import sign

    good = sign(SECRET.encode(), "1700000000", body)
    assert verify_signature(SECRET.encode(), "1700000000", body, good)
    assert not verify_signature(SECRET.encode(), "1700000001", body, good)
    assert not verify_signature(b"other", "1700000000", body, good)
    assert not verify_signature(SECRET.encode(), "1700000000", body + b" ", good)
