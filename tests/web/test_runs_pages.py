"""The runs pages and the statement actions through a TestClient: settle, reject, finalize,
the explain page; permissions, four eyes, CSRF."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloudsettle.db.models import IngestBatchRow, LineRevisionRow, RunRow, StatementRow
from cloudsettle.services import users
from tests.web.conftest import PASSWORD, Site
from tests.web.test_pages import csrf_of


def runs_count(site: Site) -> int:
    with site.ws.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(RunRow)) or 0)


def status_of(site: Site, sid: int) -> StatementRow:
    with site.ws.unit_of_work() as s:
        row = s.get(StatementRow, sid)
        assert row is not None
        s.expunge(row)
        return row


def post(client: TestClient, path: str, page: str, **data: str) -> Any:
    """A form post with the CSRF token of ``page``, following the redirect to the page it names."""
    answer = client.post(path, data={"csrf_token": csrf_of(client.get(page).text), **data})
    assert answer.status_code == 303, answer.text
    return answer


def add_auditor(site: Site) -> None:
    with site.ws.unit_of_work() as s:
        users.add_user(
            s, name="auditor", roles=["auditor"], password=PASSWORD, partner_id=None, actor="setup"
        )


def test_runs_page_lists_the_runs(site: Site) -> None:
    page = site.client("operator").get("/ui/runs")
    assert page.status_code == 200
    assert 'action="/ui/runs/settle"' in page.text
    assert '<option value="P-A">P-A</option>' in page.text
    row = re.search(r"<tr>\s*<td class=\"num\">\d+</td>.*?</tr>", page.text, re.S)
    assert row is not None
    cells = row.group(0)
    assert '<a href="/ui/periods/2026-10/statements">2026-10</a>' in cells
    assert "<td>operator</td>" in cells
    assert "<td>every partner</td>" in cells
    assert '<td class="num">2</td>' in cells  # the two statements it made
    finance = site.client("finance").get("/ui/runs")
    assert finance.status_code == 200
    assert 'action="/ui/runs/settle"' not in finance.text  # may read, not settle


def test_settle_redirects_to_the_statements_with_a_note(site: Site) -> None:
    client = site.client("operator")
    before = runs_count(site)
    answer = post(client, "/ui/runs/settle", "/ui/runs", period="2026-10", partner_id="P-B")
    target = answer.headers["location"]
    assert target.startswith("/ui/periods/2026-10/statements?note=")
    page = client.get(target)
    assert re.search(r'class="ok" role="status">Settled 2026-10 for P-B \(run \d+\): 1 statements', page.text)
    assert runs_count(site) == before + 1
    runs = client.get("/ui/runs").text
    assert "<td>P-B</td>" in runs


def test_settle_refusal_is_a_note(site: Site) -> None:
    client = site.client("operator")
    before = runs_count(site)
    answer = post(client, "/ui/runs/settle", "/ui/runs", period="2026-13")
    page = client.get(answer.headers["location"])
    assert 'class="alert"' in page.text
    assert "Settle refused" in page.text
    unknown = post(client, "/ui/runs/settle", "/ui/runs", period="2026-10", partner_id="P-NOPE")
    assert "unknown partner" in client.get(unknown.headers["location"]).text
    assert runs_count(site) == before


def test_partner_and_auditor_cannot_settle_or_finalize(site: Site) -> None:
    add_auditor(site)
    sid = site.statement_ids["P-A"]
    before = runs_count(site)
    for user in ("partner", "auditor"):
        client = site.client(user)
        csrf = csrf_of(client.get(f"/ui/statements/{sid}").text)
        settle = client.post("/ui/runs/settle", data={"csrf_token": csrf, "period": "2026-10"})
        assert settle.status_code == 403, user
        finalize = client.post(f"/ui/statements/{sid}/finalize", data={"csrf_token": csrf})
        assert finalize.status_code == 403, user
        reject = client.post(f"/ui/statements/{sid}/reject", data={"csrf_token": csrf, "reason": "no"})
        assert reject.status_code == 403, user
        page = client.get(f"/ui/statements/{sid}").text
        assert "/finalize" not in page
        assert "/reject" not in page
    assert site.client("partner").get("/ui/runs").status_code == 403
    assert runs_count(site) == before
    assert status_of(site, sid).rejected_by is None


def test_settle_needs_the_csrf_token(site: Site) -> None:
    before = runs_count(site)
    answer = site.client("operator").post(
        "/ui/runs/settle", data={"csrf_token": "forged", "period": "2026-10"}
    )
    assert answer.status_code == 403
    assert runs_count(site) == before
    sid = site.statement_ids["P-A"]
    finance = site.client("finance")
    assert (
        finance.post(f"/ui/statements/{sid}/reject", data={"csrf_token": "x", "reason": "r"}).status_code
        == 403
    )
    assert finance.post(f"/ui/statements/{sid}/finalize", data={"csrf_token": "x"}).status_code == 403


def test_reject_with_a_reason_then_approval_is_refused(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("finance")
    page = client.get(f"/ui/statements/{sid}").text
    assert f'action="/ui/statements/{sid}/reject"' in page
    assert 'label for="reject-reason"' in page
    assert "/finalize" not in page  # calculated: nothing to finalize yet
    empty = post(client, f"/ui/statements/{sid}/reject", f"/ui/statements/{sid}", reason="   ")
    shown = client.get(empty.headers["location"]).text
    assert "reject refused" in shown
    assert 'class="alert"' in shown
    assert status_of(site, sid).rejected_by is None
    done = post(
        client, f"/ui/statements/{sid}/reject", f"/ui/statements/{sid}", reason="deal D-2 starts on the 16th"
    )
    shown = client.get(done.headers["location"]).text
    assert "Rejected P-A 2026-10: deal D-2 starts on the 16th" in shown
    assert 'id="rejected-note">Rejected by finance' in shown
    row = status_of(site, sid)
    assert (row.rejected_by, row.rejection_reason) == ("finance", "deal D-2 starts on the 16th")
    partner_view = site.client("partner").get(f"/ui/statements/{sid}").text
    assert "deal D-2 starts" not in partner_view  # an internal note, not the partner's
    again = post(client, f"/ui/statements/{sid}/approve", f"/ui/statements/{sid}")
    assert "settle it again first" in client.get(again.headers["location"]).text
    assert status_of(site, sid).status == "calculated"


def test_finalize_after_approval_then_reject_is_refused(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("finance")
    early = post(client, f"/ui/statements/{sid}/finalize", f"/ui/statements/{sid}")
    shown = client.get(early.headers["location"]).text
    assert "finalize refused: finalize needs approved statements" in shown
    assert 'class="alert"' in shown
    post(client, f"/ui/statements/{sid}/approve", f"/ui/statements/{sid}")
    assert status_of(site, sid).status == "approved"
    page = client.get(f"/ui/statements/{sid}").text
    assert f'action="/ui/statements/{sid}/finalize"' in page
    done = post(client, f"/ui/statements/{sid}/finalize", f"/ui/statements/{sid}")
    shown = client.get(done.headers["location"]).text
    assert "Finalized P-A 2026-10: 1 statement." in shown
    row = status_of(site, sid)
    assert (row.status, row.finalized_by) == ("settled", "finance")
    assert "/finalize" not in shown
    assert "/reject" not in shown  # finalized: nothing to send back
    late = client.post(
        f"/ui/statements/{sid}/reject", data={"csrf_token": csrf_of(shown), "reason": "too late"}
    )
    assert "is finalized" in client.get(late.headers["location"]).text
    assert status_of(site, sid).rejected_by is None


def test_operator_sees_reject_but_finalize_only_when_approved(site: Site) -> None:
    sid = site.statement_ids["P-B"]
    page = site.client("operator").get(f"/ui/statements/{sid}").text  # operator here is an admin
    assert "/reject" in page
    assert "/finalize" not in page


def test_explain_page_shows_source_rule_version_rate_fx(site: Site) -> None:
    sid = site.statement_ids["P-A"]
    client = site.client("finance")
    api = client.get(f"/api/v1/statements/{sid}").json()
    line = next(ln for ln in api["lines"] if ln["role"] == "commission")
    drill = client.get(
        f"/ui/statements/{sid}", params={"line": line["line_id"], "component": "commission"}
    ).text
    link = f"/ui/statements/{sid}/lines/{line['line_id']}"
    assert f'href="{link}"' in drill
    page = client.get(link)
    assert page.status_code == 200
    with site.ws.unit_of_work() as s:
        rev = s.get(LineRevisionRow, (line["provider"], line["line_id"], line["revision"]))
        assert rev is not None
        batch = s.get(IngestBatchRow, rev.batch_id)
        assert batch is not None
        source_row, batch_id = rev.source_row, batch.id
    assert f'<a href="/ui/ingest/batches/{batch_id}">lines-2026-10.csv</a>' in page.text
    assert f'<dd id="source-row">{source_row}</dd>' in page.text
    assert f'<dd id="line-rule">{line["rule"]}</dd>' in page.text
    assert f"{api['agreement']} version {api['agreement_version']}</a></dd>" in page.text
    assert f'<a href="/ui/agreements/{api["agreement"]}">' in page.text
    assert f'<dd id="line-rate">{line["rate"]}</dd>' in page.text
    assert '<dd id="line-fx">' in page.text
    assert f"<strong>{line['commission']}</strong>" in page.text
    assert f'href="/ui/statements/{sid}?component=commission#lines-h"' in page.text  # back to the drill-down
    assert f"lines-2026-10.csv row {source_row}" in page.text  # the text explanation too


def test_explain_page_scoping(site: Site) -> None:
    sid_a, sid_b = site.statement_ids["P-A"], site.statement_ids["P-B"]
    partner = site.client("partner")
    line_a = partner.get(f"/api/v1/statements/{sid_a}").json()["lines"][0]["line_id"]
    own = partner.get(f"/ui/statements/{sid_a}/lines/{line_a}")
    assert own.status_code == 200
    assert "/ui/ingest/batches/" not in own.text  # a partner may not open batches
    assert "/ui/agreements/" not in own.text  # nor agreements
    assert "lines-2026-10.csv" in own.text
    line_b = site.client("finance").get(f"/api/v1/statements/{sid_b}").json()["lines"][0]["line_id"]
    assert partner.get(f"/ui/statements/{sid_b}/lines/{line_b}").status_code == 404
    assert site.client("finance").get(f"/ui/statements/{sid_a}/lines/no-such-line").status_code == 404
