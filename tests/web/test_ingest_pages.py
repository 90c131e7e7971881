"""The ingest pages through a TestClient: upload (valid, bad rows, refused files), batch page,
pull, permissions, CSRF and the upload size limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings
from cloudsettle.db.models import FindingRow, IngestBatchRow
from cloudsettle.ingest.api.client import make_client
from cloudsettle.ingest.api.fake_tencent import FakeTencent
from cloudsettle.services import pull_service, users
from tests.web.conftest import PASSWORD, Site
from tests.web.test_pages import csrf_of

HEADER = (
    "x_LineId,ProviderName,SubAccountId,BillingAccountId,InvoiceId,ServiceName,ServiceCategory,RegionId,"
    "x_Project,ResourceId,x_BillingMode,ChargeCategory,ChargeClass,ChargePeriodStart,ChargePeriodEnd,"
    "BillingPeriodStart,BillingPeriodEnd,x_PaidAt,ListCost,BilledCost,x_VoucherAmount,x_TaxAmount,"
    "BillingCurrency,x_OriginalLineId"
)


def focus_row(line_id: str, amount: str, *, day: int = 3) -> str:
    """One FOCUS row of November 2026 for case 38's customer."""
    return (
        f"{line_id},Tencent Cloud,100000000001,200000000001,INV-202611,CVM,Compute,ap-guangzhou,,"
        f"res-{line_id},on_demand,Usage,,2026-11-{day:02d}T00:00:00+08:00,"
        f"2026-11-{day + 1:02d}T00:00:00+08:00,"
        f"2026-11-01T00:00:00+08:00,2026-12-01T00:00:00+08:00,,{amount},{amount},0.00,0.00,CNY,"
    )


def focus_file(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def batch_count(site: Site) -> int:
    with site.ws.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(IngestBatchRow)) or 0)


def upload(
    client: TestClient, files: list[tuple[str, bytes]], *, provider: str = "", token: str | None = None
) -> Any:
    page = client.get("/ui/ingest")
    csrf = csrf_of(page.text) if token is None else token
    return client.post(
        "/ui/ingest/upload",
        data={"csrf_token": csrf, "provider": provider},
        files=[("files", (name, body, "text/csv")) for name, body in files],
    )


def add_auditor(site: Site) -> None:
    with site.ws.unit_of_work() as s:
        users.add_user(
            s, name="auditor", roles=["auditor"], password=PASSWORD, partner_id=None, actor="setup"
        )


def test_ingest_page_lists_batches_and_the_forms(site: Site) -> None:
    page = site.client("operator").get("/ui/ingest")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert re.search(r'<input id="files" name="files" type="file" multiple', page.text)
    assert '<option value="">auto-detect from the header</option>' in page.text
    assert 'action="/ui/ingest/pull"' in page.text
    assert "/ui/static/ingest.js" in page.text
    # Case 38's October file, as the setup ingested it: 2026-10, its counts, who.
    row = re.search(r"<tr>\s*<td class=\"num\"><a href=\"/ui/ingest/batches/(\d+)\".*?</tr>", page.text, re.S)
    assert row is not None
    cells = row.group(0)
    assert "lines-2026-10.csv" in cells
    assert "<td>2026-10</td>" in cells
    assert "<td>setup</td>" in cells
    with site.ws.unit_of_work() as s:
        batch = s.get(IngestBatchRow, int(row.group(1)))
        assert batch is not None
        assert f'<td class="num">{batch.rows_new}</td>' in cells
        assert batch.rows_new > 0


def test_upload_a_valid_file_shows_the_batch_and_its_counts(site: Site) -> None:
    client = site.client("operator")
    body = focus_file(focus_row("NV-1", "100.00"), focus_row("NV-2", "250.50"), focus_row("NV-3", "10.00"))
    answer = upload(client, [("focus-2026-11.csv", body)])
    assert answer.status_code == 303
    target = answer.headers["location"]
    assert target.startswith("/ui/ingest/batches/")
    page = client.get(target)
    assert page.status_code == 200
    assert "Ingested focus-2026-11.csv" in page.text
    assert '<td class="num" id="count-new">3</td>' in page.text
    assert '<td class="num" id="count-rejected">0</td>' in page.text
    assert "periods 2026-11" in page.text
    assert "Every row was read." in page.text
    # The same file again: nothing new, all unchanged.
    again = client.get(upload(client, [("focus-2026-11.csv", body)]).headers["location"])
    assert '<td class="num" id="count-new">0</td>' in again.text
    assert '<td class="num" id="count-unchanged">3</td>' in again.text
    with site.ws.unit_of_work() as s:
        rows = s.scalars(select(IngestBatchRow).where(IngestBatchRow.file_name == "focus-2026-11.csv")).all()
        assert [b.received_by for b in rows] == ["operator", "operator"]


def test_upload_with_a_bad_row_shows_the_reject_and_its_reason(site: Site) -> None:
    client = site.client("operator")
    body = focus_file(focus_row("NV-1", "100.00"), focus_row("NV-BAD", "12.3x"), focus_row("NV-3", "5.00"))
    answer = upload(client, [("bad-2026-11.csv", body)], provider="focus")
    page = client.get(answer.headers["location"])
    assert '<td class="num" id="count-new">2</td>' in page.text
    assert '<td class="num" id="count-rejected">1</td>' in page.text
    rejects = re.search(r'<table class="data sortable rejects".*?</table>', page.text, re.S)
    assert rejects is not None
    # file, line (the data row is the file's third line), field, reason
    assert re.search(
        r"<td>bad-2026-11.csv</td><td class=\"num\">3</td><td>(ListCost|BilledCost)</td>"
        r"<td class=\"wrap\">[^<]*expected a decimal number[^<]*12.3x",
        rejects.group(0),
    ), rejects.group(0)
    listing = client.get("/ui/ingest")
    assert 'class="badge s-exception">1</span>' in listing.text


def test_a_file_of_no_known_format_is_refused_whole(site: Site) -> None:
    client = site.client("operator")
    before = batch_count(site)
    answer = upload(client, [("notes.csv", b"what,is,this\n1,2,3\n")])
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/ingest?note=")
    page = client.get(answer.headers["location"])
    assert 'class="alert"' in page.text
    assert "notes.csv" in page.text
    assert batch_count(site) == before


def test_unsafe_names_and_wrong_content_are_refused(site: Site) -> None:
    client = site.client("operator")
    before = batch_count(site)
    for name, body in [("../evil.csv", b"a,b\n"), ("bill.exe", b"MZ"), ("bill.parquet", b"not parquet")]:
        answer = upload(client, [(name, body)])
        assert answer.status_code == 303
        page = client.get(answer.headers["location"])
        assert "Upload refused" in page.text, name
    assert batch_count(site) == before


def test_several_files_in_one_upload(site: Site) -> None:
    client = site.client("operator")
    good = focus_file(focus_row("NV-7", "70.00"))
    answer = upload(client, [("a-2026-11.csv", good), ("b.txt", b"x")])
    page = client.get(answer.headers["location"])
    assert "Ingested a-2026-11.csv" in page.text
    assert "b.txt" in page.text
    assert 'class="alert"' in page.text  # one refused: shown as an alert


def test_upload_needs_the_ingest_permission(site: Site) -> None:
    add_auditor(site)
    body = focus_file(focus_row("NV-1", "100.00"))
    for user in ("partner", "auditor"):
        client = site.client(user)
        answer = client.post(
            "/ui/ingest/upload",
            data={"csrf_token": "x"},
            files=[("files", ("f.csv", body, "text/csv"))],
        )
        assert answer.status_code == 403, user
        pulled = client.post(
            "/ui/ingest/pull", data={"csrf_token": "x", "provider": "tencent", "month": "2026-11"}
        )
        assert pulled.status_code == 403, user
    assert site.client("partner").get("/ui/ingest").status_code == 403
    auditor_page = site.client("auditor").get("/ui/ingest")
    assert auditor_page.status_code == 200  # may read the batches, not upload
    assert 'id="upload-form"' not in auditor_page.text
    assert "lines-2026-10.csv" in auditor_page.text
    assert batch_count(site) == 1


def test_upload_needs_the_csrf_token(site: Site) -> None:
    answer = upload(
        site.client("operator"), [("f.csv", focus_file(focus_row("NV-1", "1.00")))], token="forged"
    )
    assert answer.status_code == 403
    assert batch_count(site) == 1


def test_upload_size_is_limited(site: Site) -> None:
    app = create_app(Settings(workspace=site.ws.root, max_upload_bytes=2000), workspace=site.ws)
    client = TestClient(app, follow_redirects=False)
    assert client.post("/ui/login", data={"name": "operator", "password": PASSWORD}).status_code == 303
    big = focus_file(*(focus_row(f"NV-{i}", "1.00") for i in range(20)))
    assert len(big) > 2000
    answer = upload(client, [("big.csv", big)])
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "at most" in page.text
    assert 'class="alert"' in page.text
    assert batch_count(site) == 1
    assert not any((site.ws.root / "uploads").glob("*/*"))  # staging cleaned up


def test_batch_page_not_found_and_partner_refused(site: Site) -> None:
    assert site.client("operator").get("/ui/ingest/batches/999").status_code == 404
    assert site.client("partner").get("/ui/ingest/batches/1").status_code == 403


def test_pull_without_credentials_is_a_refusal_note(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    client = site.client("operator")
    csrf = csrf_of(client.get("/ui/ingest").text)
    answer = client.post(
        "/ui/ingest/pull", data={"csrf_token": csrf, "provider": "tencent", "month": "2026-11"}
    )
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "Pull refused" in page.text
    assert "TENCENTCLOUD_SECRET_ID" in page.text
    bad_month = client.post(
        "/ui/ingest/pull", data={"csrf_token": csrf, "provider": "tencent", "month": "11/2026"}
    )
    assert "expected a bill month" in client.get(bad_month.headers["location"]).text


def test_pull_from_the_fake_tencent_server_makes_a_batch(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDdemo")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "demo-secret")
    with FakeTencent(records=12) as fake:
        # The real SDK, pointed at the shipped fake server instead of the provider's production one.
        monkeypatch.setattr(
            pull_service,
            "make_client",
            lambda provider, *, credentials, endpoint=None: make_client(
                provider, credentials=credentials, endpoint=fake.endpoint
            ),
        )
        client = site.client("operator")
        csrf = csrf_of(client.get("/ui/ingest").text)
        answer = client.post(
            "/ui/ingest/pull", data={"csrf_token": csrf, "provider": "tencent", "month": "2026-10"}
        )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/ui/ingest/batches/")
    page = client.get(answer.headers["location"])
    assert "Pulled tencent 2026-10 as batch" in page.text
    with site.ws.unit_of_work() as s:
        batch = s.scalars(select(IngestBatchRow).where(IngestBatchRow.source_kind != "file")).one()
        assert batch.rows_new > 0
        assert f'id="count-new">{batch.rows_new}</td>' in page.text
        mismatches = s.scalar(
            select(func.count())
            .select_from(FindingRow)
            .where(FindingRow.batch_id == batch.id, FindingRow.kind == "totals_mismatch")
        )
    assert mismatches == 0
