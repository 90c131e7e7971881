"""Every page of the web UI through a TestClient: content, permissions, CSRF, four eyes."""

from __future__ import annotations

import re

from tests.web.conftest import PASSWORD, Site


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_pages_need_a_login(site: Site) -> None:
    answer = site.client().get("/ui/")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login")


def test_login_page_and_wrong_password(site: Site) -> None:
    client = site.client()
    page = client.get("/ui/login")
    assert page.status_code == 200
    assert 'label for="password"' in page.text
    wrong = client.post("/ui/login", data={"name": "finance", "password": "nope"})
    assert wrong.status_code == 401
    assert 'role="alert"' in wrong.text
    assert "cloudsettle_session" not in wrong.headers.get("set-cookie", "")


def test_login_sets_the_api_session_cookie(site: Site) -> None:
    client = site.client()
    answer = client.post(
        "/ui/login", data={"name": "finance", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/"  # no open redirect
    # The same cookie works for the API.
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["name"] == "finance"


def test_dashboard(site: Site) -> None:
    page = site.client("finance").get("/ui/")
    assert page.status_code == 200
    assert "/ui/periods/2026-10/statements" in page.text
    assert "P-A" in page.text
    assert "P-B" in page.text
    assert "calculated 1" in page.text
    assert 'id="open-findings"' in page.text
    assert "/ui/static/app.css" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_static_assets_are_served(site: Site) -> None:
    client = site.client()
    css = client.get("/ui/static/app.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    assert client.get("/ui/static/app.js").status_code == 200


def test_statements_list(site: Site) -> None:
    page = site.client("finance").get("/ui/periods/2026-10/statements")
    assert page.status_code == 200
    for partner, sid in site.statement_ids.items():
        assert f'href="/ui/statements/{sid}"' in page.text
        assert partner in page.text
    assert 'class="num' in page.text


def test_statement_page_components_and_downloads(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    page = site.client("finance").get(f"/ui/statements/{sid}")
    assert page.status_code == 200
    api = site.client("finance").get(f"/api/v1/statements/{sid}").json()
    payable = api["components"]["payable"]
    assert re.search(
        rf'class="num">{re.escape(payable)} <span class="cur">{api["currency"]}</span>', page.text
    )
    for fmt in ("pdf", "xlsx", "csv"):
        assert f"/api/v1/statements/{sid}/file?format={fmt}" in page.text
    assert ">Approve</button>" in page.text


def test_drill_down_component_then_line_explanation(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("finance")
    api = client.get(f"/api/v1/statements/{sid}").json()
    commission_lines = [ln for ln in api["lines"] if ln["role"] == "commission"]
    assert commission_lines
    page = client.get(f"/ui/statements/{sid}", params={"component": "commission"})
    assert page.status_code == 200
    for ln in api["lines"]:
        shown = f">{ln['line_id']}</a>" in page.text
        assert shown == (ln["role"] == "commission")
    line = commission_lines[0]
    detail = client.get(f"/ui/statements/{sid}", params={"line": line["line_id"]})
    assert detail.status_code == 200
    assert 'id="explain-h"' in detail.text
    assert "lines-2026-10.csv row" in detail.text
    assert f"rate {line['rate']}" in detail.text
    assert f"of version {api['agreement_version']}" in detail.text


def test_unknown_line_is_not_found(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    page = site.client("finance").get(f"/ui/statements/{sid}", params={"line": "no-such-line"})
    assert page.status_code == 404


def test_partner_sees_only_its_own_statements(site: Site) -> None:
    client = site.client("partner")
    own = client.get(f"/ui/statements/{site.statement_ids['P-A']}")
    assert own.status_code == 200
    other = client.get(f"/ui/statements/{site.statement_ids['P-B']}")
    assert other.status_code in (403, 404)
    assert "P-B" not in other.text.replace("statement", "")
    listing = client.get("/ui/periods/2026-10/statements")
    assert f"/ui/statements/{site.statement_ids['P-A']}" in listing.text
    assert f"/ui/statements/{site.statement_ids['P-B']}" not in listing.text
    dashboard = client.get("/ui/")
    assert "P-B" not in dashboard.text
    assert ">Approve</button>" not in own.text
    assert 'id="open-findings"' not in dashboard.text


def test_approve_is_refused_for_the_preparer(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("operator")
    page = client.get(f"/ui/statements/{sid}")
    answer = client.post(f"/ui/statements/{sid}/approve", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"])
    assert "four eyes need another approver" in shown.text
    assert 'class="alert"' in shown.text
    assert client.get(f"/api/v1/statements/{sid}").json()["status"] == "calculated"


def test_approve_needs_the_csrf_token(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("finance")
    answer = client.post(f"/ui/statements/{sid}/approve", data={"csrf_token": "forged"})
    assert answer.status_code == 403
    assert client.get(f"/api/v1/statements/{sid}").json()["approved_by"] is None


def test_approve_by_a_second_user(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("finance")
    page = client.get(f"/ui/statements/{sid}")
    answer = client.post(f"/ui/statements/{sid}/approve", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"])
    assert "Approved P-A 2026-10." in shown.text
    assert "approved by finance" in shown.text


def test_logout_ends_the_session(site: Site) -> None:
    client = site.client("finance")
    page = client.get("/ui/")
    answer = client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    assert client.get("/ui/").status_code == 303


def test_partner_cannot_approve(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("partner")
    page = client.get(f"/ui/statements/{sid}")
    answer = client.post(f"/ui/statements/{sid}/approve", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    assert "may not approve" in client.get(answer.headers["location"]).text
    assert client.get(f"/api/v1/statements/{sid}").json()["status"] == "calculated"
