"""``/healthz`` (the process answers), ``/readyz`` (it can serve: database reachable and
migrated to head, raw store writable) and ``mount`` to add them and ``/metrics`` to a FastAPI app.

Plain functions returning ``(status, body)`` so the API, a CLI probe and the
tests share them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from cloudsettle.db.migrate import alembic_config


def healthz() -> tuple[int, dict[str, Any]]:
    """Liveness: always 200 while the process runs."""
    return 200, {"status": "ok"}


def readyz(engine: Engine, raw_root: Path | None = None) -> tuple[int, dict[str, Any]]:
    """Readiness: 200 when every check passes, else 503 naming the failing checks."""
    checks: dict[str, str] = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
        checks["database"] = "ok"
        checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if raw_root is not None:
        try:
            raw_root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=raw_root, prefix=".ready-"):
                pass
            checks["raw_store"] = "ok"
        except OSError as exc:
            checks["raw_store"] = f"not writable: {exc.strerror}"
    ok = all(v == "ok" for v in checks.values())
    return (200 if ok else 503), {"status": "ok" if ok else "unavailable", "checks": checks}


def mount(app: Any, engine: Callable[[], Engine], raw_root: Path | None = None) -> None:
    """Add ``GET /healthz``, ``/readyz`` and ``/metrics`` to a FastAPI ``app``."""
    from fastapi.responses import JSONResponse, PlainTextResponse
    from sqlalchemy.orm import Session

    from cloudsettle.ops.metrics import CONTENT_TYPE, metrics_text

    def health() -> JSONResponse:
        status, body = healthz()
        return JSONResponse(body, status_code=status)

    def ready() -> JSONResponse:
        status, body = readyz(engine(), raw_root)
        return JSONResponse(body, status_code=status)

    def metrics() -> PlainTextResponse:
        with Session(engine()) as session:
            body = metrics_text(session)
        return PlainTextResponse(body, media_type=CONTENT_TYPE)

    app.add_api_route("/healthz", health, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", ready, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
