"""Exceptions, disputes, parties and the audit log in a real browser (chromium against uvicorn).

On the demo (September finalized, October approved): the partner ``harbor`` disputes its
October statement and cannot see P-YUNFAN's; ``operator`` finds the dispute in the queue,
assigns, comments, attaches evidence and resolves it, waives one of the demo's open
missing-deal cases, and reads the partner and customer pages; ``auditor`` sees the chain
verified and the dispute's events. Every page passes axe; screenshots for docs/ui.md.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cloudsettle.db.models import StatementRow
from cloudsettle.db.models_workflow import CaseRow
from tests.web.browser import Served, assert_accessible, login, screenshot


def _statement(served: Served, partner: str) -> int:
    with served.ws.unit_of_work() as s:
        return s.scalars(
            select(StatementRow.id).where(
                StatementRow.partner_id == partner, StatementRow.period == "2026-10"
            )
        ).one()


def _as(browser: Any, served: Served, user: str, next_path: str) -> Any:
    """A fresh context logged in as ``user``, on ``next_path``."""
    context = browser.new_context(viewport={"width": 1360, "height": 860}, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    login(page, served.url, user, next_path)
    return page


def test_dispute_work_and_audit_in_the_browser(server: Served, browser: Any) -> None:
    base = server.url
    harbor_id, yunfan_id = _statement(server, "P-HARBOR"), _statement(server, "P-YUNFAN")
    with server.ws.unit_of_work() as s:
        demo_open = [c.id for c in s.scalars(select(CaseRow).where(CaseRow.status == "open"))]
    assert demo_open, "the demo has open missing-deal cases"

    # --- the partner portal: its statement, a dispute, nothing of another partner ---
    harbor = _as(browser, server, "harbor", f"/ui/statements/{harbor_id}")
    assert harbor.get_by_role("heading", name="P-HARBOR · harbor-intl-2026 · 2026-10").is_visible()
    harbor.locator("details.dispute summary").click()
    harbor.get_by_label("What is wrong with this statement?").fill("Merlion Media's October usage is missing")
    harbor.get_by_label("Disputed amount (USD, optional)").fill("125.50")
    assert_accessible(harbor, "statement page with the dispute form")
    harbor.get_by_role("button", name="Open dispute").click()
    harbor.wait_for_url("**/ui/cases/*")
    dispute_id = int(harbor.url.split("/ui/cases/")[1].split("?")[0])
    assert harbor.get_by_role("status").inner_text().startswith("Dispute opened")
    assert "Disputed amount: 125.50 USD" in harbor.locator("#main").inner_text()
    assert harbor.locator("#held").get_by_role("link", name="P-HARBOR/harbor-intl-2026/2026-10").is_visible()
    assert_accessible(harbor, "case page (partner)")
    answer = harbor.goto(f"{base}/ui/statements/{yunfan_id}")
    assert answer is not None
    assert answer.status == 404
    body = harbor.locator("body").inner_text()
    assert "P-YUNFAN" not in body
    assert "yunfan" not in body.lower()
    harbor.goto(f"{base}/ui/cases")
    rows = harbor.get_by_role("table", name="Cases").locator("tbody tr")
    assert rows.count() == 1
    assert rows.first.get_by_role("link").inner_text() == f"#{dispute_id}"
    assert harbor.goto(f"{base}/ui/cases/{demo_open[0]}").status == 404  # not its case
    harbor.context.close()

    # --- the operator works the queue ---
    op = _as(browser, server, "operator", "/ui/cases")
    assert int(op.locator("#count-open").inner_text()) == len(demo_open) + 1
    assert_accessible(op, "case queue")
    screenshot(op, "cases")
    op.get_by_label("Kind").select_option("dispute")
    op.get_by_role("button", name="Filter").click()
    op.wait_for_url("**/ui/cases?*kind=dispute*")
    assert op.get_by_role("table", name="Cases").locator("tbody tr").count() == 1
    op.get_by_role("link", name=f"#{dispute_id}").click()
    op.wait_for_url(f"**/ui/cases/{dispute_id}")
    op.get_by_label("Assign to").select_option("operator")
    op.get_by_role("button", name="Assign").click()
    op.wait_for_url("**note=Assigned*")
    op.get_by_label("Comment", exact=True).fill("Checking Merlion Media's October lines with Huawei")
    op.get_by_role("button", name="Add comment").click()
    op.wait_for_url("**note=Comment*")
    op.locator("#evidence-file").set_input_files(
        files=[
            {"name": "huawei-oct.csv", "mimeType": "text/csv", "buffer": b"account,amount\nmerlion,125.50\n"}
        ]
    )
    op.get_by_role("button", name="Attach").click()
    op.wait_for_url("**note=Attached*")
    with op.expect_download() as download:
        op.get_by_role("link", name="huawei-oct.csv").click()
    assert download.value.suggested_filename == "huawei-oct.csv"
    assert_accessible(op, "case page (operator)")
    op.get_by_label("Resolution note").fill("Usage confirmed on Huawei's bill; re-settled")
    op.get_by_role("button", name="Resolve").click()
    op.wait_for_url("**note=Resolved*")
    assert op.locator("#case-status").inner_text() == "resolved"
    timeline = op.locator("#timeline").inner_text()
    for step in ("open", "comment", "assign", "attach", "resolve", "assigned → resolved"):
        assert step in timeline, step
    screenshot(op, "case")

    # --- and one of the demo's open exceptions: the trial account is nobody's customer ---
    op.goto(f"{base}/ui/cases/{demo_open[-1]}")
    op.get_by_label("Waiver reason", exact=False).fill("Trial account: no partner earns on it")
    op.get_by_role("button", name="Waive").click()
    op.wait_for_url("**note=Waived*")
    assert op.locator("#case-status").inner_text() == "waived"

    # --- partners, customers, deals ---
    op.goto(f"{base}/ui/partners")
    assert_accessible(op, "partners")
    op.get_by_role("link", name="P-HARBOR", exact=True).click()
    op.wait_for_url("**/ui/partners/P-HARBOR")
    assert op.get_by_role("table", name="Deals").get_by_text("D-H07").is_visible()
    assert_accessible(op, "partner page")
    screenshot(op, "partner")
    op.goto(f"{base}/ui/customers")
    assert_accessible(op, "customers")
    op.get_by_role("link", name="Northstar Travel").click()  # moved from P-QIHANG to P-YUNFAN
    ownership = op.locator("#ownership").inner_text()
    assert ownership.index("P-QIHANG") < ownership.index("P-YUNFAN")
    assert "2026-01-01 → 2026-10-16" in ownership
    assert_accessible(op, "customer history")
    screenshot(op, "customer")
    op.goto(f"{base}/ui/deals?partner=P-HARBOR")
    assert_accessible(op, "deals")
    op.context.close()

    # --- the auditor: the chain holds, the dispute's history is there ---
    aud = _as(browser, server, "auditor", "/ui/audit")
    assert "Audit chain verified" in aud.locator("#chain").inner_text()
    aud.get_by_label("Entity", exact=False).fill(f"case:{dispute_id}")
    aud.get_by_role("button", name="Filter").click()
    aud.wait_for_url("**subject=case*")
    actions = (
        aud.get_by_role("table", name="Audit events").locator("tbody tr td:nth-child(4)").all_inner_texts()
    )
    assert actions == [
        "case.resolve",
        "case.attach",
        "case.comment",
        "case.assign",
        "case.comment",
        "case.open",
    ]
    assert_accessible(aud, "audit log")
    aud.goto(f"{base}/ui/audit")
    screenshot(aud, "audit")
    aud.context.close()
