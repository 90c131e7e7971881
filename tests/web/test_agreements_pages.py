"""The agreements pages through a TestClient: list, versions, compare, the draft editor, what-if,
activation; permissions and CSRF.

Case 38: a-2026 (P-A, rule alpha 0.08) paid P-A 32.00 in October on a base of 400.00. The draft
raises alpha to 0.10: 400.00 x 0.10 = 40.00, so the what-if shows payable 32.00 -> 40.00 (+8.00).
"""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from cloudsettle.db.models import AgreementVersionRow, AuditEventRow, StatementRow
from cloudsettle.db.models_drafts import AgreementDraftRow
from cloudsettle.services import users
from tests.web.conftest import PASSWORD, Site

NEW = "/ui/agreements/a-2026/drafts/new"


def csrf_of(text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match is not None
    return match.group(1)


def textarea_of(text: str) -> str:
    match = re.search(r'<textarea id="draft-text"[^>]*>(.*?)</textarea>', text, re.S)
    assert match is not None
    return html.unescape(match.group(1))


def draft_count(site: Site) -> int:
    with site.ws.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(AgreementDraftRow)) or 0)


def save_draft(site: Site, user: str = "admin", change: tuple[str, str] = ('"0.08"', '"0.10"')) -> str:
    """Save a draft raising alpha through the editor; the draft page's path."""
    client = site.client(user)
    page = client.get(NEW)
    answer = client.post(
        "/ui/agreements/a-2026/drafts",
        data={"text": textarea_of(page.text).replace(*change), "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/ui/agreements/a-2026/drafts/\d+\?note=.*", location)
    return location.split("?")[0]


def test_list_shows_every_agreement_with_versions_and_drafts(site: Site) -> None:
    save_draft(site)
    page = site.client("finance").get("/ui/agreements")
    assert page.status_code == 200
    assert 'href="/ui/agreements/a-2026"' in page.text
    assert 'href="/ui/agreements/b-2026"' in page.text
    assert "v1 2026-01-01" in page.text
    row = re.search(r"<tr>\s*<td><a href=\"/ui/agreements/a-2026\">.*?</tr>", page.text, re.S)
    assert row is not None
    assert 'href="/ui/agreements/a-2026#drafts-h">1</a>' in row.group(0)
    assert site.client("partner").get("/ui/agreements").status_code == 403


def test_agreement_page_shows_the_rules_and_only_writers_get_the_editor(site: Site) -> None:
    page = site.client("finance").get("/ui/agreements/a-2026")
    assert page.status_code == 200
    assert "Version 1" in page.text
    assert "alpha" in page.text
    assert ">0.08<" in page.text
    assert "used by statements" in page.text  # October used version 1
    assert "New draft" not in page.text
    assert "New draft" in site.client("admin").get("/ui/agreements/a-2026").text
    assert site.client("finance").get(NEW).status_code == 403
    assert site.client("finance").get("/ui/agreements/nope").status_code == 404


def test_editor_starts_from_the_newest_version_renumbered(site: Site) -> None:
    text = textarea_of(site.client("admin").get(NEW).text)
    assert text.startswith("version: 2\neffective_from: 2026-01-01\ncurrency: CNY\n")
    assert 'rate: "0.08"' in text


def test_refused_text_comes_back_with_each_problem_at_its_line(site: Site) -> None:
    client = site.client("admin")
    page = client.get(NEW)
    bad = textarea_of(page.text).replace('"0.08"', '"-0.08"').replace("cycle: monthly", "cycle: fortnightly")
    answer = client.post("/ui/agreements/a-2026/drafts", data={"text": bad, "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    assert textarea_of(answer.text) == bad  # the author's text is kept
    lines = bad.splitlines()
    rate_line = next(i for i, ln in enumerate(lines, start=1) if "-0.08" in ln)
    cycle_line = next(i for i, ln in enumerate(lines, start=1) if ln.startswith("cycle:"))
    assert f'<li data-line="{rate_line}">' in answer.text
    assert "rules[0].rate" in answer.text
    assert "must not be negative" in answer.text
    assert f'<li data-line="{cycle_line}">' in answer.text
    assert "fortnightly" in answer.text
    assert "Not saved: 2 problems" in answer.text
    assert draft_count(site) == 0


def test_saving_needs_the_csrf_token_and_the_permission(site: Site) -> None:
    client = site.client("admin")
    text = textarea_of(client.get(NEW).text)
    assert (
        client.post("/ui/agreements/a-2026/drafts", data={"text": text, "csrf_token": "forged"}).status_code
        == 403
    )
    finance = site.client("finance")
    token = csrf_of(finance.get("/ui/agreements/a-2026").text)
    answer = finance.post("/ui/agreements/a-2026/drafts", data={"text": text, "csrf_token": token})
    assert answer.status_code == 403
    assert draft_count(site) == 0


def test_what_if_shows_the_changed_payable_and_stores_nothing(site: Site) -> None:
    path = save_draft(site)
    with site.ws.unit_of_work() as s:
        before = [
            (r.id, r.payable, r.status) for r in s.scalars(select(StatementRow).order_by(StatementRow.id))
        ]
    page = site.client("finance").get(f"{path}?period=2026-10")
    assert page.status_code == 200
    assert '<option value="2026-10" selected>' in page.text
    result = page.text[page.text.index('id="whatif-result"') :]
    payable = re.search(r'<tr class="total" data-figure="payable">(.*?)</tr>', result, re.S)
    assert payable is not None
    cells = re.findall(r'<td class="num[^"]*">([^<]+)<', payable.group(1))
    assert [c.strip() for c in cells] == ["32.00", "40.00", "+8.00"]
    assert 'data-payable-difference="+8.00"' in result
    assert "1 line with another rule or rate" in result
    assert "0.08 → 0.1" in result
    assert "P-B" not in result  # only the draft's partner is recomputed
    with site.ws.unit_of_work() as s:
        after = [
            (r.id, r.payable, r.status) for r in s.scalars(select(StatementRow).order_by(StatementRow.id))
        ]
    assert after == before
    bad = site.client("finance").get(f"{path}?period=2026-13")
    assert bad.status_code == 200
    assert 'class="alert" role="alert"' in bad.text


def test_compare_a_version_with_the_draft(site: Site) -> None:
    path = save_draft(site)
    draft_id = path.rsplit("/", 1)[1]
    page = site.client("finance").get("/ui/agreements/a-2026/compare")
    assert page.status_code == 200
    assert f'<option value="draft-{draft_id}" selected>' in page.text
    row = re.search(
        r'<tr class="f-changed">\s*<th scope="row" class="path">rules\[alpha\]\.rate</th>(.*?)</tr>',
        page.text,
        re.S,
    )
    assert row is not None
    assert "0.08" in row.group(1)
    assert "0.1" in row.group(1)
    assert "2 fields differ." in page.text  # version and the rate
    assert '<span class="u-del">-  rate: &#34;0.08&#34;\n</span>' in page.text
    assert '<span class="u-add">+  rate: &#34;0.10&#34;\n</span>' in page.text
    same = site.client("finance").get("/ui/agreements/a-2026/compare?a=1&b=1")
    assert "The two are the same." in same.text
    assert site.client("finance").get("/ui/agreements/a-2026/compare?a=9&b=1").status_code == 404


def test_activate_makes_version_2_and_records_who(site: Site) -> None:
    path = save_draft(site)
    finance = site.client("finance")
    page = finance.get(path)
    assert "Activate as version 2" not in page.text  # read-only for finance
    assert "readonly" in page.text
    token = csrf_of(page.text)
    assert finance.post(f"{path}/activate", data={"csrf_token": token}).status_code == 403
    admin = site.client("admin")
    page = admin.get(path)
    assert "Activate as version 2" in page.text
    assert admin.post(f"{path}/activate", data={"csrf_token": "forged"}).status_code == 403
    answer = admin.post(f"{path}/activate", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/agreements/a-2026?note=")
    shown = admin.get(answer.headers["location"])
    assert "Version 2" in shown.text
    assert "activated as version 2" in shown.text
    with site.ws.unit_of_work() as s:
        assert s.get(AgreementVersionRow, ("a-2026", 2)) is not None
        actions = set(s.scalars(select(AuditEventRow.action).where(AuditEventRow.actor == "admin")))
    assert {"agreement.draft.create", "config.versions", "agreement.draft.activate"} <= actions
    # Closed: no more editing.
    again = admin.get(path)
    assert "Activate as version 2" not in again.text
    assert "readonly" in again.text


def test_sales_ops_edits_and_discards(site: Site) -> None:
    with site.ws.unit_of_work() as s:
        users.add_user(
            s, name="sales", roles=["sales_ops"], password=PASSWORD, partner_id=None, actor="setup"
        )
    path = save_draft(site, "sales")
    client = site.client("sales")
    page = client.get(path)
    # Update: a second save of the same draft replaces its text.
    text = textarea_of(page.text).replace('"0.10"', '"0.09"')
    answer = client.post(path, data={"text": text, "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    assert 'rate: "0.09"' in textarea_of(client.get(path).text)
    answer = client.post(f"{path}/discard", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    listing = client.get("/ui/agreements/a-2026")
    assert "discarded" in listing.text
    assert "Draft" in listing.text
    closed = client.post(f"{path}/activate", data={"csrf_token": csrf_of(page.text)})
    assert closed.status_code == 409  # a discarded draft is never activated
    with site.ws.unit_of_work() as s:
        assert s.get(AgreementVersionRow, ("a-2026", 2)) is None


def test_a_draft_of_another_agreement_is_not_found_here(site: Site) -> None:
    path = save_draft(site)
    draft_id = path.rsplit("/", 1)[1]
    assert site.client("finance").get(f"/ui/agreements/b-2026/drafts/{draft_id}").status_code == 404
