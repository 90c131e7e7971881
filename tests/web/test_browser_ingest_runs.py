"""Ingest, settle, approve, reject, finalize, explain and download, in a real browser.

On the served demo (September finalized, October approved): ``operator`` drops a small
FOCUS file of November 2026 on the ingest page (the drag and drop of ``ingest.js``) and
uploads one with a bad row through the plain file input, sees the batch counts and the
reject's reason, and settles November; ``reviewer`` (a second user) approves P-HARBOR,
rejects P-YUNFAN with a reason, finalizes P-HARBOR, opens a converted line's explain page
from the commission drill-down and downloads the PDF. axe checks the ingest, batch and
runs and explain pages; screenshots docs/images/ui-ingest.png, ui-batch.png, ui-runs.png,\nui-explain.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.web.browser import Served, assert_accessible, login, screenshot

HEADER = (
    "x_LineId,ProviderName,SubAccountId,BillingAccountId,InvoiceId,ServiceName,ServiceCategory,RegionId,"
    "x_Project,ResourceId,x_BillingMode,ChargeCategory,ChargeClass,ChargePeriodStart,ChargePeriodEnd,"
    "BillingPeriodStart,BillingPeriodEnd,x_PaidAt,ListCost,BilledCost,x_VoucherAmount,x_TaxAmount,"
    "BillingCurrency,x_OriginalLineId"
)
HARBOR_HUAWEI = "820d8d01370933bae1ca6ed3b8c9b1d0"  # Lion City Analytics: CNY lines, a USD partner
HARBOR_TENCENT = "200086848884"  # Sunrise Mobility SG: USD lines
YUNFAN_TENCENT = "100025988000"  # Blue River Games


def row(line_id: str, provider: str, account: str, amount: str, currency: str) -> str:
    return (
        f"{line_id},{provider},{account},{account},INV-202611,ECS,Compute,ap-singapore,,res-{line_id},"
        "subscription,Usage,,2026-11-03T00:00:00+08:00,2026-11-04T00:00:00+08:00,"
        f"2026-11-01T00:00:00+08:00,2026-12-01T00:00:00+08:00,,{amount},{amount},0.00,0.00,{currency},"
    )


def drop_file(page: Any, name: str, text: str) -> None:
    """Drop a file on the drop zone as a user dragging it from the desktop would."""
    page.evaluate(
        """([name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, {type: "text/csv"}));
            const zone = document.getElementById("dropzone");
            for (const kind of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(kind, {dataTransfer: dt, bubbles: true, cancelable: true}));
            }
        }""",
        [name, text],
    )


def count(page: Any, name: str) -> str:
    return str(page.locator(f"#count-{name}").inner_text())


def test_ingest_settle_review_finalize_explain(server: Served, page: Any, tmp_path: Path) -> None:
    base = server.url
    good = "\n".join(
        [
            HEADER,
            row("NOV-1", "Huawei Cloud", HARBOR_HUAWEI, "1200.00", "CNY"),
            row("NOV-2", "Tencent Cloud", HARBOR_TENCENT, "300.00", "USD"),
            row("NOV-3", "Tencent Cloud", YUNFAN_TENCENT, "5000.00", "CNY"),
        ]
    )
    bad = tmp_path / "focus-2026-11-extra.csv"
    bad.write_text(
        "\n".join(
            [
                HEADER,
                row("NOV-4", "Tencent Cloud", YUNFAN_TENCENT, "800.00", "CNY"),
                row("NOV-5", "Tencent Cloud", YUNFAN_TENCENT, "12.3x", "CNY"),
            ]
        )
        + "\n"
    )

    # --- operator: ingest ------------------------------------------------------------------------------
    login(page, base, "operator", "/ui/ingest")
    assert_accessible(page, "ingest page")
    drop_file(page, "focus-2026-11.csv", good + "\n")
    assert "focus-2026-11.csv" in page.locator("#chosen").inner_text()
    page.get_by_role("button", name="Upload and ingest").click()
    page.wait_for_url("**/ui/ingest/batches/*")
    assert "Ingested focus-2026-11.csv" in page.get_by_role("status").inner_text()
    assert (count(page, "new"), count(page, "rejected")) == ("3", "0")
    assert "periods 2026-11" in page.locator(".meta").inner_text()

    page.goto(f"{base}/ui/ingest")
    page.locator("#files").set_input_files(str(bad))  # the plain input, no drag and drop
    page.get_by_label("Provider", exact=True).select_option("focus")
    page.get_by_role("button", name="Upload and ingest").click()
    page.wait_for_url("**/ui/ingest/batches/*")
    assert (count(page, "new"), count(page, "rejected")) == ("1", "1")
    rejects = page.get_by_role("table", name="Rejected rows")
    reject = rejects.locator("tbody tr").first.locator("td").all_inner_texts()
    assert reject[0] == "focus-2026-11-extra.csv"
    assert reject[1] == "3"
    assert reject[2] in ("ListCost", "BilledCost")
    assert "expected a decimal number" in reject[3]
    assert "12.3x" in reject[3]
    assert_accessible(page, "batch page")
    screenshot(page, "batch")

    page.goto(f"{base}/ui/ingest")
    table = page.get_by_role("table", name="Recent ingest batches")
    newest = table.locator("tbody tr").first.locator("td").all_inner_texts()
    assert newest[1] == "focus-2026-11-extra.csv"
    assert newest[4] == "2026-11"
    assert newest[10] == "operator"
    screenshot(page, "ingest")

    # --- operator: settle November ------------------------------------------------------------------------
    page.goto(f"{base}/ui/runs")
    assert_accessible(page, "runs page")
    page.get_by_role("textbox", name="Period").fill("2026-11")
    page.get_by_role("button", name="Settle").click()
    page.wait_for_url("**/ui/periods/2026-11/statements*")
    note = page.get_by_role("status").inner_text()
    assert re.match(r"Settled 2026-11 \(run \d+\): \d+ statements", note), note
    listing = page.get_by_role("table", name="Statements of 2026-11")
    assert listing.get_by_role("link", name="P-HARBOR").is_visible()
    assert listing.get_by_role("link", name="P-YUNFAN").is_visible()
    page.goto(f"{base}/ui/runs")
    first = page.get_by_role("table", name="Settlement runs").locator("tbody tr").first
    cells = first.locator("td").all_inner_texts()
    assert (cells[1], cells[2], cells[4]) == ("2026-11", "every partner", "operator")
    screenshot(page, "runs")

    # --- reviewer: approve, reject, finalize ---------------------------------------------------------------
    page.context.clear_cookies()
    login(page, base, "reviewer", "/ui/periods/2026-11/statements")
    page.get_by_role("link", name="P-HARBOR").click()
    page.wait_for_url("**/ui/statements/*")
    harbor = page.url
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(lambda url: "note=" in url)
    assert page.get_by_role("status").inner_text() == "Approved P-HARBOR 2026-11."
    harbor = page.url.split("?")[0]

    page.goto(f"{base}/ui/periods/2026-11/statements")
    page.get_by_role("link", name="P-YUNFAN").click()
    page.wait_for_url("**/ui/statements/*")
    page.locator("summary", has_text="Reject").click()
    page.get_by_label("Reason for the preparer").fill(
        "NOV-5 was rejected at ingest; wait for the corrected file"
    )
    page.get_by_role("button", name="Reject", exact=True).click()
    page.wait_for_url(lambda url: "note=" in url)
    assert "Rejected P-YUNFAN 2026-11" in page.get_by_role("status").inner_text()
    assert "Rejected by reviewer" in page.locator("#rejected-note").inner_text()
    assert page.get_by_role("button", name="Approve").count() == 1  # still calculated, but approval:
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(lambda url: "note=" in url)
    assert "settle it again first" in page.locator("p.alert").inner_text()

    page.goto(harbor)
    page.get_by_role("button", name="Finalize").click()
    page.wait_for_url(lambda url: "note=" in url)
    assert page.get_by_role("status").inner_text() == "Finalized P-HARBOR 2026-11: 1 statement."
    assert "settled" in page.locator(".meta").inner_text()
    assert page.get_by_role("button", name="Finalize").count() == 0

    # --- explain a converted line from the commission drill-down ---
    page.get_by_role("link", name="commission", exact=True).click()
    page.wait_for_url("**component=commission*")
    page.get_by_role("table", name="Statement lines").get_by_role("link", name="NOV-1", exact=True).click()
    page.wait_for_url("**line=NOV-1*")
    page.get_by_role("link", name="open as a page").click()
    page.wait_for_url("**/lines/NOV-1")
    assert page.locator("#source-file").inner_text() == "focus-2026-11.csv"
    assert page.locator("#source-row").inner_text() == "2"
    assert page.locator("#line-rule").inner_text() not in ("", "-")
    assert re.fullmatch(r"harbor-intl-2026 version \d+", page.locator("#line-version").inner_text())
    assert re.fullmatch(r"0\.\d+", page.locator("#line-rate").inner_text())
    fx = page.locator("#line-fx").inner_text()
    assert re.fullmatch(r"0\.\d+", fx), fx  # CNY -> USD at October's last rate
    assert f"fx {fx}" in page.locator("pre.explain").inner_text()
    assert_accessible(page, "explain page")
    screenshot(page, "explain")
    page.locator("#source-file").get_by_role("link").click()
    page.wait_for_url("**/ui/ingest/batches/*")
    assert "focus-2026-11.csv" in page.get_by_role("heading", level=1).inner_text()

    # --- the PDF of the finalized statement ---
    page.goto(harbor)
    with page.expect_download() as info:
        page.get_by_role("link", name="PDF").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
