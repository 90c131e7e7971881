"""The server-rendered web UI: Jinja2 pages over the permission-checked services.

Mounted by :func:`cloudsettle.api.app.create_app` under ``/ui``; it shares the
API's session cookie, CSRF token and :mod:`cloudsettle.services.guarded`, so a
page can never show what the API would refuse.
"""

from __future__ import annotations

from cloudsettle.web.routes import router

__all__ = ["router"]
