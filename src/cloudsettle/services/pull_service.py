"""``cloudsettle pull``: a month's bill lines through the provider's own SDK.

The pull's responses are kept as one raw batch, exactly as received
(content-addressed, like a file), and its lines go through the same revision
logic as a bill file. The provider's own totals are reconciled against the
lines at once (``totals_mismatch`` findings), and the customers it lists are
added to the control store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from cloudsettle.core.lines import BillingLine
from cloudsettle.db.models import CustomerRow, FindingRow
from cloudsettle.ingest.api.client import make_client
from cloudsettle.ingest.api.credentials import CredentialsMissing, credentials_from_env
from cloudsettle.ingest.api.errors import ProviderApiError
from cloudsettle.ingest.api.pull import CheckpointStore, PullResult, pull_month
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.services.audit import now, record
from cloudsettle.services.categories import configured_categories
from cloudsettle.services.deal_service import sync_customers
from cloudsettle.services.errors import BadInput, Refused
from cloudsettle.services.ingest_service import IngestReport, apply_batch
from cloudsettle.services.reconcile_service import import_rebates

API_PROVIDERS = ("tencent", "huawei")


@dataclass(frozen=True)
class PullReport:
    """What a pull brought: the batch's counts, and what was reconciled and listed."""

    ingest: IngestReport
    pages: int
    resumed_pages: int
    mismatches: int
    customers_added: int
    adjustments: int
    rebates: int


def fetch(
    *,
    provider: str,
    month: str,
    checkpoints: Path,
    env: Mapping[str, str],
    secrets_file: Path | None = None,
    endpoint: str | None = None,
) -> PullResult:
    """Run the pull itself (network I/O, outside any database transaction)."""
    if provider not in API_PROVIDERS:
        raise BadInput(f"--provider {provider!r}: pulls exist for {', '.join(API_PROVIDERS)}")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise BadInput(f"--month {month!r}: expected a bill month like 2026-10")
    try:
        credentials = credentials_from_env(provider, env, secrets_file)
    except CredentialsMissing as exc:
        raise BadInput(str(exc)) from exc
    client = make_client(provider, credentials=credentials, endpoint=endpoint)
    try:
        return pull_month(client, month=month, checkpoint=CheckpointStore(checkpoints))
    except ProviderApiError as exc:
        raise Refused(f"{provider} pull of {month} stopped: {exc} (run it again to resume)") from exc


def record_pull(
    session: Session,
    *,
    result: PullResult,
    raw_store: RawStore,
    actor: str,
    categories: CategoryMap | None = None,
) -> PullReport:
    """Store a finished pull: raw batch, line revisions, reconciliation findings, customers."""
    table = categories or configured_categories(session)
    raw = {
        "provider": result.provider,
        "month": result.month,
        "responses": [body.decode("utf-8") for body in result.raw_bodies()],
    }
    stored = raw_store.put_bytes(json.dumps(raw, ensure_ascii=False, sort_keys=True).encode("utf-8"), ".json")
    rows = [(i, _categorized(line, table)) for i, line in enumerate(result.lines, start=1)]
    name = f"{result.provider}-api-{result.month}"
    report = apply_batch(
        session,
        stored=stored,
        source_kind="api",
        name=name,
        provider=result.provider,
        fmt=f"{result.provider}-api",
        items=rows,
        actor=actor,
    )
    stamp = now()
    mismatches = result.mismatches()
    for finding in mismatches:
        session.add(
            FindingRow(
                kind=finding.kind.value,
                message=finding.message,
                batch_id=report.batch_id,
                provider=result.provider,
                period=result.month,
                file_name=name,
                created_at=stamp,
            )
        )
    # Customers: unknown ones are added, and each without a current deal gets a suggested deal
    # from the provider's hints (Tencent client remark / sales owner, Huawei association).
    synced = sync_customers(
        session,
        customers=[(c.provider, c.account_id, c.name or "", c.extras) for c in result.customers],
        actor=actor,
    )
    added = synced["added"]
    for customer in result.customers:
        row = session.get(CustomerRow, (customer.provider, customer.account_id))
        if row is not None and not row.name and customer.name:
            row.name = customer.name
    # The provider's own rebate figures, kept for `cloudsettle reconcile`.
    if result.rebates:
        import_rebates(session, rebates=result.rebates, actor=actor)
    record(
        session,
        actor=actor,
        action="pull",
        subject=name,
        batch=report.batch_id,
        new=report.new,
        revised=report.revised,
        unchanged=report.unchanged,
        mismatches=len(mismatches),
        customers_added=added,
    )
    return PullReport(
        report,
        len(result.pages),
        result.resumed_pages,
        len(mismatches),
        added,
        len(result.adjustments),
        len(result.rebates),
    )


def _categorized(line: BillingLine, categories: CategoryMap) -> BillingLine:
    """Fill the FOCUS service category from the mapping table when the API gave none."""
    if line.service_category:
        return line
    return replace(line, service_category=categories.category(line.provider, line.service))
