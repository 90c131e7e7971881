"""The main pages on a tablet and a laptop: nothing wider than the screen, navigation reachable.

Wide tables scroll inside their own region (``div.scroll``, ``div.scroll-x``); the page
itself must never scroll sideways, or a finance user on a tablet loses the amounts
column off screen.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser import Served, login

PAGES = (
    "/ui/",
    "/ui/periods/2026-10/statements",
    "/ui/ingest",
    "/ui/runs",
    "/ui/cases",
    "/ui/agreements",
    "/ui/partners",
    "/ui/audit",
)
#: The outermost elements sticking out of the screen (their parent fits), to name the culprit.
CULPRITS = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > innerWidth + 1
            && e.parentElement.getBoundingClientRect().right <= innerWidth + 1)
  .slice(0, 5).map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)"""


def _assert_fits(page: Any, what: str, width: int) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} is {overflow}px wider than a {width}px screen: {page.evaluate(CULPRITS)}"


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (1280, 800)], ids=["tablet", "laptop"])
def test_main_pages_fit_the_screen(server: Served, page: Any, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    login(page, server.url, "admin")
    for path in PAGES:
        answer = page.goto(f"{server.url}{path}")
        assert answer is not None, path
        assert answer.status == 200, path
        _assert_fits(page, path, width)
        assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").is_visible()
    page.goto(f"{server.url}/ui/periods/2026-10/statements")
    page.get_by_role("link", name="P-YUNFAN").first.click()
    page.wait_for_url("**/ui/statements/*")
    _assert_fits(page, "the statement page", width)
