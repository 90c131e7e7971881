"""``cloudsettle serve``: the HTTP API with uvicorn (HTTPS when given a certificate and key).

Settings come from ``CLOUDSETTLE_*`` variables (:mod:`cloudsettle.config`); the
options here override the workspace and TLS files. Production refuses to start
with the default secret, or without TLS unless behind a proxy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8000,
    cert: Annotated[Path | None, typer.Option("--cert", help="TLS certificate (PEM).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="TLS private key (PEM).")] = None,
    workers_limit: Annotated[int, typer.Option("--limit-concurrency", help="Most requests at once.")] = 200,
    workspace_opt: Annotated[
        str | None,
        typer.Option(
            "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
        ),
    ] = None,
) -> None:
    """Serve the API (OpenAPI at /openapi.json, under /api/v1)."""
    import uvicorn

    from cloudsettle.api.app import create_app
    from cloudsettle.cli.main import err, out
    from cloudsettle.config import Settings, UnsafeSettings
    from cloudsettle.services.workspace import workspace_root

    overrides: dict[str, object] = {"workspace": workspace_root(workspace_opt)}
    if cert is not None:
        overrides["tls_cert"] = cert
    if key is not None:
        overrides["tls_key"] = key
    settings = Settings(**overrides)  # type: ignore[arg-type]
    try:
        app = create_app(settings)
    except UnsafeSettings as exc:
        err.print(f"[bold red]refused:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    scheme = "https" if settings.tls else "http"
    out.print(f"serving {settings.profile.value} on {scheme}://{host}:{port}/api/v1", highlight=False)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        limit_concurrency=workers_limit,
        server_header=False,
        proxy_headers=settings.behind_proxy,
        log_level="info",
    )
