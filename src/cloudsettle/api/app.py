"""The FastAPI application factory: :func:`create_app` (settings in, app out).

Middlewares, outermost first: security headers, body size limit. Routers are
mounted under ``/api/v1``; the OpenAPI document is at ``/openapi.json``.
"""

from __future__ import annotations

from fastapi import FastAPI

from cloudsettle.api.deps import AppState
from cloudsettle.api.errors import install_error_handlers
from cloudsettle.api.routers import auth, books, cases, config, data, statements, users
from cloudsettle.api.security import (
    MAX_BODY_BYTES,
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    SessionSigner,
)
from cloudsettle.config import Settings, check_settings
from cloudsettle.ops import health
from cloudsettle.services.workspace import Workspace, open_workspace
from cloudsettle.web import router as web_router

API_PREFIX = "/api/v1"
#: Routes that stream their own body and count it against ``max_upload_bytes``.
#: ``/ui/ingest/upload`` is the web UI's multipart upload (``cloudsettle.web.pages.ingest``).
STREAMING_PATHS = frozenset({f"{API_PREFIX}/ingest", "/ui/ingest/upload"})


def create_app(settings: Settings, workspace: Workspace | None = None) -> FastAPI:
    """The API for ``settings`` (checked: production refuses unsafe settings)."""
    check_settings(settings)
    ws = workspace or open_workspace(settings.workspace)
    app = FastAPI(
        title="cloudsettle",
        version="1",
        summary="Automatic settlement for cloud resellers: provider bills in, partner statements out.",
        docs_url=None if settings.profile.value == "production" else "/docs",
        redoc_url=None,
    )
    app.state.cloudsettle = AppState(
        settings=settings,
        workspace=ws,
        signer=SessionSigner(settings.secret_key.get_secret_value(), settings.session_hours * 3600),
    )
    install_error_handlers(app)
    # Liveness, readiness and Prometheus metrics, outside the versioned API (docs/operations.md).
    health.mount(app, lambda: ws.engine, ws.root / "raw")
    for module in (auth, users, config, data, statements, cases, books):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(web_router)  # the web UI under /ui (cloudsettle.web)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES, streaming_paths=STREAMING_PATHS)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.tls or settings.behind_proxy)
    return app
