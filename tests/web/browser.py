"""Shared fixtures for the real-browser tests: the settled demo served by uvicorn, chromium, axe.

``tests/web/conftest.py`` makes the fixtures available to every module of ``tests/web``.

- ``demo_template``: the demo workspace (``cloudsettle.demo.run_demo``: September
  finalized, October approved, six partners), built once per test process;
- ``server``: a private copy of it served on a free local port, with one user per
  role (:data:`BROWSER_USERS`, password :data:`PASSWORD`); ``server.ws`` is its workspace;
- ``browser``: Debian's chromium through Playwright (skipped when not installed);
- ``page``: a fresh browser context and page per test;
- :func:`login`, :func:`assert_accessible` (axe-core: no serious or critical
  violations) and :func:`screenshot` (saved under ``docs/images/``).
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from rich.console import Console

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings
from cloudsettle.demo import run_demo
from cloudsettle.services import users
from cloudsettle.services.workspace import Workspace, open_workspace
from tests.web.accounts import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IMAGES = Path(__file__).parents[2] / "docs" / "images"
#: name -> (role, partner): who the browser tests log in as.
BROWSER_USERS: dict[str, tuple[str, str | None]] = {
    "reviewer": ("finance", None),  # approves, finalizes; did not settle
    "operator": ("operator", None),  # ingests, settles, works cases
    "admin": ("admin", None),
    "auditor": ("auditor", None),
    "sales": ("sales_ops", None),  # edits agreements
    "harbor": ("partner", "P-HARBOR"),  # a partner user
    "yunfan": ("partner", "P-YUNFAN"),
}
#: axe impacts that fail a page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


@dataclass
class Served:
    """A served copy of the demo: its base URL and workspace."""

    url: str
    ws: Workspace


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: What the session fixtures share across test modules. Each module imports the fixtures by
#: name, so pytest holds one session fixture per module: without this, every browser test
#: module would build its own demo and start a second Playwright, which the sync API refuses
#: ("Sync API inside the asyncio loop") while the first one runs.
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The settled demo workspace, built once per test process and copied by each test."""
    if "demo" not in _SHARED:
        root = tmp_path_factory.mktemp("demo-template") / "demo"
        assert run_demo(root, Console(file=io.StringIO())) == 0
        _SHARED["demo"] = root
    return Path(_SHARED["demo"])


@pytest.fixture
def server(demo_template: Path, tmp_path: Path) -> Iterator[Served]:
    """A private copy of the demo served by uvicorn on a free local port, in a thread."""
    root = tmp_path / "demo"
    shutil.copytree(demo_template, root)
    ws = open_workspace(root)
    with ws.unit_of_work() as s:
        for name, (role, partner) in BROWSER_USERS.items():
            users.add_user(s, name=name, roles=[role], password=PASSWORD, partner_id=partner, actor="setup")
    app = create_app(Settings(workspace=root), workspace=ws)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", ws)
    srv.should_exit = True
    thread.join(timeout=10)
    ws.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, launched once per test process."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    if "browser" not in _SHARED:
        p = sync_api.sync_playwright().start()
        _SHARED["playwright"] = p
        _SHARED["browser"] = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
    _SHARED["users"] = _SHARED.get("users", 0) + 1
    try:
        yield _SHARED["browser"]
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:  # the last module's session fixture closes it
            _SHARED.pop("browser").close()
            _SHARED.pop("playwright").stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context (no cookies) and page, laptop-sized, that accepts downloads."""
    context = browser.new_context(viewport={"width": 1360, "height": 860}, accept_downloads=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def login(page: Any, base: str, user: str, next_path: str = "/ui/") -> None:
    """Log in through the form as ``user`` and land on ``next_path``."""
    page.goto(f"{base}/ui/login?next={next_path}")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{next_path}")


def assert_accessible(page: Any, what: str) -> None:
    """axe-core (bundled by axe-playwright-python, served from disk) finds no serious or critical issue."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response.get("violations", [])
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    detail = "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in blocking
    )
    assert not blocking, f"{what}: {detail}"


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of the page as ``docs/images/ui-<name>.png``."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"ui-{name}.png"
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f"{path} looks empty"
    return path
