"""The Exceptions pages: the queue's filters, a case's forms, disputes from the partner portal,
evidence, and who may see or do what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudsettle.db.models import StatementRow
from cloudsettle.db.models_workflow import CaseRow
from cloudsettle.services import case_service, users
from cloudsettle.services.audit import now
from cloudsettle.services.errors import BadInput
from cloudsettle.web.pages.cases import dispute_text, summarize
from tests.web.conftest import PASSWORD, Site
from tests.web.test_pages import csrf_of


def _dispute(site: Site, user: str = "partner", partner: str = "P-A", **form: str) -> tuple[TestClient, int]:
    """Open a dispute from the statement page's form; the client (left on the case page) and the case id."""
    client = site.client(user)
    statement_id = site.statement_ids[partner]
    page = client.get(f"/ui/statements/{statement_id}")
    assert page.status_code == 200
    answer = client.post(
        f"/ui/statements/{statement_id}/dispute",
        data={"csrf_token": csrf_of(page.text), "reason": "the CVM line is not ours", **form},
    )
    assert answer.status_code == 303, answer.text
    match = re.match(r"/ui/cases/(\d+)\?note=", answer.headers["location"])
    assert match is not None, answer.headers["location"]
    landed = client.get(answer.headers["location"])
    assert "Dispute opened" in landed.text
    return client, int(match.group(1))


def _exception(site: Site, key: str, *, partner: str | None, kind: str = "missing_deal") -> int:
    """An exception case as a settlement run would open it."""
    with site.ws.unit_of_work() as s:
        return case_service.open_or_update(
            s,
            kind=kind,
            dedupe_key=key,
            title=f"case {key}",
            actor="setup",
            partner_id=partner,
            period="2026-10",
        ).id


def _add_user(site: Site, name: str, role: str) -> None:
    with site.ws.unit_of_work() as s:
        users.add_user(s, name=name, roles=[role], password=PASSWORD, partner_id=None, actor="setup")


def test_partner_opens_a_dispute_from_its_statement(site: Site) -> None:
    client = site.client("partner")
    page = client.get(f"/ui/statements/{site.statement_ids['P-A']}")
    assert f'action="/ui/statements/{site.statement_ids["P-A"]}/dispute"' in page.text
    assert 'for="dispute-amount"' in page.text
    client, case_id = _dispute(site, amount="1,234.5")
    shown = client.get(f"/ui/cases/{case_id}")
    assert shown.status_code == 200
    assert "the CVM line is not ours" in shown.text
    # The amount is kept exactly, with the currency's decimals.
    assert "Disputed amount: 1234.50 CNY" in shown.text
    # It holds the statement, linked by its current id, now in exception.
    with site.ws.unit_of_work() as s:
        row = s.scalars(select(StatementRow).where(StatementRow.partner_id == "P-A")).one()
        assert row.status == "in_exception"
        held = row.id
    assert f'href="/ui/statements/{held}"' in shown.text
    # The partner may discuss its dispute but not work it.
    assert f'action="/ui/cases/{case_id}/comment"' in shown.text
    assert f'action="/ui/cases/{case_id}/evidence"' in shown.text
    assert f'action="/ui/cases/{case_id}/resolve"' not in shown.text
    assert f'action="/ui/cases/{case_id}/assign"' not in shown.text
    queue = client.get("/ui/cases")
    assert f'href="/ui/cases/{case_id}"' in queue.text
    assert '<span class="v" id="count-open">1</span>' in queue.text


def test_a_dispute_amount_must_be_exact_for_the_currency(site: Site) -> None:
    assert dispute_text("wrong rate", "", "CNY") == "wrong rate"
    assert dispute_text(" wrong rate ", "10", "JPY") == "wrong rate\n\nDisputed amount: 10 JPY"
    assert dispute_text("x", "0.10", "CNY").endswith("0.10 CNY")
    for bad in ("12.345", "abc", "-5", "0", "NaN", "1e400000000"):
        with pytest.raises(BadInput):
            dispute_text("x", bad, "CNY")
    with pytest.raises(BadInput):
        dispute_text("  ", "5", "CNY")
    client = site.client("partner")
    statement_id = site.statement_ids["P-A"]
    page = client.get(f"/ui/statements/{statement_id}")
    answer = client.post(
        f"/ui/statements/{statement_id}/dispute",
        data={"csrf_token": csrf_of(page.text), "reason": "too low", "amount": "12.345"},
    )
    assert answer.status_code == 303
    assert "dispute_error=" in answer.headers["location"]
    again = client.get(answer.headers["location"])
    assert 'role="alert"' in again.text
    assert "more decimals than CNY allows" in again.text
    with site.ws.unit_of_work() as s:
        assert s.scalars(select(CaseRow)).first() is None  # nothing was opened


def test_another_partner_sees_nothing_of_a_dispute_or_statement(site: Site) -> None:
    _, case_id = _dispute(site)
    other = site.client("partner_b")
    assert other.get(f"/ui/cases/{case_id}").status_code == 404
    assert other.get(f"/ui/statements/{site.statement_ids['P-A']}").status_code == 404
    # Nor its file through the API, nor a dispute on it, nor a comment on the case.
    assert other.get(f"/api/v1/statements/{site.statement_ids['P-A']}/file?format=csv").status_code == 404
    page = other.get(f"/ui/statements/{site.statement_ids['P-B']}")
    token = csrf_of(page.text)
    refused = other.post(
        f"/ui/statements/{site.statement_ids['P-A']}/dispute", data={"csrf_token": token, "reason": "x"}
    )
    assert refused.status_code == 404
    assert (
        other.post(f"/ui/cases/{case_id}/comment", data={"csrf_token": token, "text": "hi"}).status_code
        == 404
    )
    queue = other.get("/ui/cases")
    assert queue.status_code == 200
    assert f"/ui/cases/{case_id}" not in queue.text
    assert "No cases match." in queue.text
    # Naming the other partner in the filter answers like a partner that does not exist.
    assert other.get("/ui/cases?partner=P-A").status_code == 404
    # Its own statement page offers the dispute form; the list shows only its own.
    assert "Open dispute" in page.text
    listing = other.get("/ui/periods/2026-10/statements")
    assert "P-B" in listing.text
    assert f"/ui/statements/{site.statement_ids['P-A']}" not in listing.text


def test_a_partner_sees_only_disputes_not_exceptions(site: Site) -> None:
    exception = _exception(site, "k1", partner="P-A")
    _, dispute = _dispute(site)
    queue = site.client("partner").get("/ui/cases")
    assert f"/ui/cases/{dispute}" in queue.text
    assert f'/ui/cases/{exception}"' not in queue.text
    assert site.client("partner").get(f"/ui/cases/{exception}").status_code == 404
    staff = site.client("finance").get("/ui/cases")
    assert f'href="/ui/cases/{exception}"' in staff.text
    assert f'href="/ui/cases/{dispute}"' in staff.text


def test_queue_filters_return_the_right_rows(site: Site) -> None:
    a = _exception(site, "a", partner="P-A")
    b = _exception(site, "b", partner="P-B", kind="missing_fx_rate")
    c = _exception(site, "c", partner=None, kind="totals_mismatch")
    with site.ws.unit_of_work() as s:
        case_service.assign(s, case_id=b, to="finance", actor="admin")
        late = s.get(CaseRow, c)
        assert late is not None
        late.due_at = now() - timedelta(days=2)
        done = s.get(CaseRow, a)
        assert done is not None
    with site.ws.unit_of_work() as s:
        case_service.waive(s, case_id=a, reason="accepted", actor="admin")
    client = site.client("finance")

    def shown(query: str) -> set[int]:
        page = client.get(f"/ui/cases{query}")
        assert page.status_code == 200, page.text
        return {int(n) for n in re.findall(r'<a href="/ui/cases/(\d+)">#', page.text)}

    assert shown("") == {a, b, c}
    assert shown("?status=waived") == {a}
    assert shown("?status=open") == {c}
    assert shown("?kind=missing_fx_rate") == {b}
    assert shown("?owner=finance") == {b}
    assert shown("?owner=-") == {a, c}
    assert shown("?partner=P-B") == {b}
    assert shown("?overdue=true") == {c}
    assert shown("?status=assigned&partner=P-A") == set()
    page = client.get("/ui/cases?overdue=true")
    assert 'class="overdue"' in page.text
    assert "1 overdue" in page.text
    # Counts are over every case, whatever the filter.
    for status, n in {"open": 1, "assigned": 1, "resolved": 0, "waived": 1}.items():
        assert f'<span class="v" id="count-{status}">{n}</span>' in page.text
    assert client.get("/ui/cases?status=bogus").status_code == 409


def test_operator_works_a_case_end_to_end(site: Site) -> None:
    _, case_id = _dispute(site)
    client = site.client("finance")
    page = client.get(f"/ui/cases/{case_id}")
    token = csrf_of(page.text)
    assert '<option value="finance"' in page.text  # case workers are offered
    assert '<option value="partner"' not in page.text  # partners are not
    url = f"/ui/cases/{case_id}"
    assert client.post(f"{url}/assign", data={"csrf_token": token, "to": "finance"}).status_code == 303
    assert (
        client.post(f"{url}/comment", data={"csrf_token": token, "text": "checking the CVM line"}).status_code
        == 303
    )
    sent = client.post(
        f"{url}/evidence",
        data={"csrf_token": token},
        files={"file": ("proof.csv", b"line,amount\nPD-1,1000.00\n", "text/csv")},
    )
    assert sent.status_code == 303
    assert "Attached" in sent.headers["location"]
    bad = client.post(
        f"{url}/evidence",
        data={"csrf_token": token},
        files={"file": ("tool.exe", b"MZ\x90\x00", "text/plain")},
    )
    assert bad.status_code == 303
    assert "refused" in bad.headers["location"]
    page = client.get(url)
    assert "assigned to <strong>finance</strong>" in page.text
    assert "checking the CVM line" in page.text
    download = re.search(r'href="(/ui/cases/\d+/evidence/[0-9a-f]{64})"', page.text)
    assert download is not None
    got = client.get(download.group(1))
    assert got.status_code == 200
    assert got.content == b"line,amount\nPD-1,1000.00\n"
    assert got.headers["content-disposition"].startswith("attachment")
    # The partner who disputed sees the file too; the other partner does not.
    assert site.client("partner").get(download.group(1)).status_code == 200
    assert site.client("partner_b").get(download.group(1)).status_code == 404
    assert client.post(f"{url}/resolve", data={"csrf_token": token, "note": ""}).status_code == 303
    assert (
        client.post(f"{url}/resolve", data={"csrf_token": token, "note": "rate confirmed"}).status_code == 303
    )
    page = client.get(url)
    assert 'id="case-status">resolved' in page.text
    assert "resolution: rate confirmed" in page.text
    assert f'action="/ui/cases/{case_id}/resolve"' not in page.text  # closed: no more work forms
    timeline = page.text[page.text.index('id="timeline"') :]
    for action in ("open", "comment", "assign", "attach", "resolve"):
        assert f'<span class="badge act">{action}</span>' in timeline
    assert "assigned → resolved" in timeline
    # Resolving re-settled the statement it held: it is no longer held.
    with site.ws.unit_of_work() as s:
        assert (
            s.scalars(select(StatementRow.status).where(StatementRow.partner_id == "P-A")).one()
            == "calculated"
        )
    # Closed cases refuse more work with the reason shown on the case page.
    again = client.post(f"{url}/waive", data={"csrf_token": token, "reason": "x"})
    assert "refused" in again.headers["location"]
    assert "cannot be waived" in client.get(again.headers["location"]).text


def test_an_auditor_reads_cases_but_cannot_touch_them(site: Site) -> None:
    _add_user(site, "auditor", "auditor")
    case_id = _exception(site, "k", partner="P-A")
    client = site.client("auditor")
    page = client.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200
    assert "<textarea" not in page.text  # no forms at all
    token = csrf_of(page.text)  # the logout form's token
    for path, data in (
        ("comment", {"text": "hello"}),
        ("assign", {"to": "finance"}),
        ("resolve", {"note": "done"}),
        ("waive", {"reason": "fine"}),
    ):
        answer = client.post(f"/ui/cases/{case_id}/{path}", data={"csrf_token": token, **data})
        assert answer.status_code == 403, path
    with site.ws.unit_of_work() as s:
        row = s.get(CaseRow, case_id)
        assert row is not None
        assert (row.status, row.owner) == ("open", None)


def test_case_forms_need_the_csrf_token(site: Site) -> None:
    case_id = _exception(site, "k", partner="P-A")
    client = site.client("finance")
    for path, data in (("comment", {"text": "x"}), ("assign", {"to": "finance"}), ("resolve", {"note": "x"})):
        assert (
            client.post(f"/ui/cases/{case_id}/{path}", data={"csrf_token": "forged", **data}).status_code
            == 403
        )
    sent = client.post(f"/ui/cases/{case_id}/evidence", files={"file": ("a.txt", b"hello", "text/plain")})
    assert sent.status_code == 403
    partner = site.client("partner")
    refused = partner.post(f"/ui/statements/{site.statement_ids['P-A']}/dispute", data={"reason": "x"})
    assert refused.status_code == 403
    with site.ws.unit_of_work() as s:
        assert s.scalars(select(CaseRow)).all()[0].status == "open"
        assert len(s.scalars(select(CaseRow)).all()) == 1


def test_timeline_lines_say_what_changed() -> None:
    assert summarize(
        "assign", {"before": {"status": "open"}, "after": {"status": "assigned", "owner": "ann"}}
    ) == ("open → assigned; owner ann")
    assert summarize("comment", {"before": None, "after": {"comment": 3}, "text": "hi"}) == "“hi”"
    assert summarize("attach", {"after": {"file": "a.pdf", "size_bytes": 12}}) == "file a.pdf (12 bytes)"


def test_partner_portal_shows_its_own_statements_explanations_and_files(site: Site) -> None:
    client = site.client("partner_b")
    own, other = site.statement_ids["P-B"], site.statement_ids["P-A"]
    dashboard = client.get("/ui/")
    assert "P-B" in dashboard.text
    assert "P-A" not in dashboard.text
    lines = client.get(f"/ui/statements/{own}")
    line = re.search(r"\?line=([^\"&]+)", lines.text)
    assert line is not None
    explained = client.get(f"/ui/statements/{own}?line={line.group(1)}")
    assert explained.status_code == 200
    assert 'class="explain"' in explained.text
    assert client.get(f"/api/v1/statements/{own}/file?format=csv").status_code == 200
    assert client.get(f"/ui/statements/{other}?line={line.group(1)}").status_code == 404
    assert client.get(f"/api/v1/statements/{other}/file?format=pdf").status_code == 404
