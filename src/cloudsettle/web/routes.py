"""The UI's router: every page module's routes under ``/ui``, and the static assets.

Each module of :mod:`cloudsettle.web.pages` has a ``router``; they are included
in name order, so adding a section never edits this file.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount

from cloudsettle.web import pages
from cloudsettle.web.common import HERE, PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)
for _info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"{pages.__name__}.{_info.name}")
    router.include_router(_module.router)
router.routes.append(
    Mount(f"{PREFIX}/static", app=StaticFiles(directory=str(HERE / "static")), name="ui-static")
)
