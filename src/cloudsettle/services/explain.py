"""``cloudsettle explain``: walk every amount back to its lines, rule, version and source.

Reads the stored statement (never recomputes it) and the line revisions and
batches it names, so a finalized statement is explained as it was finalized.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from cloudsettle.config_file.codec import version_from_dict
from cloudsettle.db.models import AgreementVersionRow, IngestBatchRow, LineRevisionRow

_FORMULAS = {
    "commission": "Σ base × rate over the commission lines (step 3)",
    "tier_uplift": "tier bands on the measure (base_total) (step 4)",
    "clawback": "Σ share × base × original rate over refunds of earlier lines (step 5)",
    "cap_adjustment": "cap − pre when pre > cap; floor − pre when 0 < pre < floor (step 6)",
    "fees": "−percent × capped, −fixed; only when capped > 0 (step 7)",
    "manual_adjustment": "Σ manual adjustments (step 8)",
    "prior_period_adjustment": "corrections of finalized periods (step 9)",
    "carried_in": "carried_out of the latest finalized statement (step 11)",
    "carried_out": "net when net < 0 or below the minimum payout (step 11)",
    "payable": "commission + tier_uplift + clawback + cap_adjustment + fees + manual_adjustment"
    " + prior_period_adjustment + carried_in − carried_out",
}


def explain_lines(session: Session, doc: dict[str, Any], *, line_id: str | None) -> list[str]:
    """Human-readable explanation of a statement document (or of one of its lines)."""
    version_row = session.get(AgreementVersionRow, (doc["agreement"], doc["agreement_version"]))
    version = version_from_dict(json.loads(version_row.definition)) if version_row else None
    head = (
        f"{doc['partner']} / {doc['agreement']} {doc['period']} ({doc['period_start']} to "
        f"{doc['period_end']}), version {doc['agreement_version']}, {doc['currency']}, {doc['status']}"
    )
    if line_id is not None:
        items = [ln for ln in doc["lines"] if ln["line_id"] == line_id]
        return [head, *(_explain_line(session, doc, ln, version) for ln in items)] if items else []
    rows = [head]
    if version is not None:
        rows.append(
            f"  basis {version.basis.value}, base {version.base.value}, timezone {version.timezone}, "
            f"rounding {version.rounding.mode.value} at {version.rounding.level.value} level"
        )
    for name, value in doc["components"].items():
        rows.append(f"  {name:<24}{value:>16}   {_FORMULAS[name]}")
    rows.append(f"  {'base_total':<24}{doc['base_total']:>16}   the tier measure")
    rows.append(f"  {'billed_total':<24}{doc['billed_total']:>16}   what the provider billed after discounts")
    for a in doc["adjustments"]:
        rows.append(f"  adjustment {a['id']}: {a['amount']} by {a['created_by']}: {a['reason']}")
    for p in doc["prior_period_adjustments"]:
        rows.append(
            f"  prior period {p['corrects_period']}: recomputed {p['earned_recomputed']} − finalized "
            f"{p['earned_finalized']} − already adjusted {p['already_adjusted']} = {p['amount']}"
        )
    rows.append("  lines:")
    for ln in doc["lines"]:
        amount = ln.get("commission", ln.get("clawback"))
        rows.append(
            f"    {ln['line_id']:<28} {ln['role']:<10} base {ln['base']:>14} × rate {ln['rate']:<8} "
            f"rule {ln['rule'] or '-':<12} fx {ln['fx_rate'] or '-':<10} = {amount:>12}  "
            f"uplift {ln['tier_uplift']:>10}  {','.join(ln['reasons'])}"
        )
    for e in doc["exceptions"]:
        rows.append(f"  exception {e['kind']}: {e['message']}")
    return rows


def _explain_line(session: Session, doc: dict[str, Any], ln: dict[str, Any], version: Any) -> str:
    rev = session.get(LineRevisionRow, (ln["provider"], ln["line_id"], ln["revision"]))
    parts = [f"line {ln['line_id']} ({ln['role']}), revision {ln['revision']}"]
    if rev is not None:
        batch = session.get(IngestBatchRow, rev.batch_id)
        source = (
            f"{batch.file_name} row {rev.source_row} (batch {batch.id}, sha256 {batch.sha256[:12]}…)"
            if batch
            else f"batch {rev.batch_id} row {rev.source_row}"
        )
        parts += [
            f"  source: {source}",
            f"  customer {rev.provider}:{rev.account_id}, service {rev.service} ({rev.service_category}), "
            f"{rev.charge_category}, {rev.billing_mode}",
            f"  charge {rev.charge_start.isoformat()} to {rev.charge_end.isoformat()}, bill month "
            f"{rev.billing_period.isoformat()[:7]}, {rev.currency}",
            f"  list {rev.list_amount} − discount {rev.discount_amount} − voucher {rev.voucher_amount}; "
            f"tax {rev.tax_amount}",
        ]
    if version is not None:
        parts.append(
            f"  base kind {version.base.value}{' + tax' if version.include_tax else ''}, "
            f"fraction {ln['fraction']}, fx {ln['fx_rate'] or 'none (same currency)'}"
        )
    amount = ln.get("commission", ln.get("clawback"))
    parts.append(
        f"  deal {ln['deal'] or '-'}, rule {ln['rule'] or '-'} of version {doc['agreement_version']}, "
        f"rate {ln['rate']}: base {ln['base']} -> {ln['role']} {amount}, tier uplift {ln['tier_uplift']}"
    )
    if ln["reasons"]:
        parts.append(f"  reasons: {', '.join(ln['reasons'])}")
    if ln.get("original_line_id"):
        parts.append(f"  original line: {ln['original_line_id']}")
    return "\n".join(parts)
