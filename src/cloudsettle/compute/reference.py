"""Reference data as small SQL tables: agreements and versions, rules, tier bands,
deals, FX rates and customers, read from a core :class:`Book`.

A version is named by its agreement and its position in ``Agreement.versions``
(``vidx``), so the SQL never depends on version numbers being unique.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.scales import Scales, max_scale
from cloudsettle.core.agreements import MATCH_KEYS, Agreement, AgreementVersion
from cloudsettle.core.settlement.book import Book


def book_scales(book: Book) -> Scales:
    """The scales the reference data needs (lines and fractions are measured later)."""
    versions = [v for a in book.agreements.values() for v in a.versions]
    return Scales(
        rate=max_scale(r.rate for v in versions for r in v.rules),
        fx=max_scale(r.rate for r in book.fx.entries()),
        share=max_scale(v.clawback.share for v in versions),
        uplift=max_scale(b.uplift for v in versions if v.tiers for b in v.tiers.bands),
        band=max_scale(b.start for v in versions if v.tiers for b in v.tiers.bands),
    )


def version_index(agreement: Agreement, version: AgreementVersion) -> int:
    """The position of ``version`` in its agreement (the SQL's name for it)."""
    for i, v in enumerate(agreement.versions):
        if v is version:
            return i
    return agreement.versions.index(version)


def load_reference(ex: Executor, book: Book, scales: Scales) -> None:
    """Create the tables ``ver``, ``rul``, ``band``, ``deal``, ``fx`` and ``cust``."""
    ver: list[dict[str, Any]] = []
    rul: list[dict[str, Any]] = []
    band: list[dict[str, Any]] = []
    for agreement in book.agreements.values():
        ref = agreement.reference_version
        for vidx, v in enumerate(agreement.versions):
            ver.append(
                {
                    "agreement_id": agreement.id,
                    "partner_id": agreement.partner_id,
                    "vidx": vidx,
                    "version": v.version,
                    "effective_from": v.effective_from,
                    "currency": v.currency,
                    "tz": v.timezone,
                    "cycle": v.cycle.value,
                    "anchor": v.cycle_anchor,
                    "basis": v.basis.value,
                    "base": v.base.value,
                    "include_tax": v.include_tax,
                    "prorate": v.prorate,
                    "fx_date": v.fx_date.value,
                    "require_rule": v.require_rule,
                    "excl": sorted(v.exclude_services),
                    "tier_method": v.tiers.method.value if v.tiers else None,
                    "share": v.clawback.share,
                    "window_days": v.clawback.window_days,
                    "is_ref": v is ref,
                }
            )
            for rord, r in enumerate(v.rules):
                unknown = set(r.match) - set(MATCH_KEYS)
                if unknown:
                    raise ValueError(f"rule {r.id} matches on unknown keys {sorted(unknown)}")
                row: dict[str, Any] = {
                    "agreement_id": agreement.id,
                    "vidx": vidx,
                    "rord": rord,
                    "rule_id": r.id,
                    "rate": r.rate,
                    "valid_from": r.valid_from,
                    "valid_to": r.valid_to,
                }
                for key in MATCH_KEYS:
                    row[f"m_{key}"] = sorted(r.match[key]) if key in r.match else None
                rul.append(row)
            if v.tiers:
                bands = v.tiers.bands
                for i, b in enumerate(bands):
                    band.append(
                        {
                            "agreement_id": agreement.id,
                            "vidx": vidx,
                            "bidx": i,
                            "b_from": b.start,
                            "b_next": bands[i + 1].start if i + 1 < len(bands) else None,
                            "uplift": b.uplift,
                        }
                    )
    dec = pa.decimal128
    text_list = pa.list_(pa.string())
    _create(
        ex,
        "ver",
        ver,
        pa.schema(
            [
                ("agreement_id", pa.string()),
                ("partner_id", pa.string()),
                ("vidx", pa.int32()),
                ("version", pa.int32()),
                ("effective_from", pa.date32()),
                ("currency", pa.string()),
                ("tz", pa.string()),
                ("cycle", pa.string()),
                ("anchor", pa.date32()),
                ("basis", pa.string()),
                ("base", pa.string()),
                ("include_tax", pa.bool_()),
                ("prorate", pa.bool_()),
                ("fx_date", pa.string()),
                ("require_rule", pa.bool_()),
                ("excl", text_list),
                ("tier_method", pa.string()),
                ("share", dec(38, scales.share)),
                ("window_days", pa.int64()),
                ("is_ref", pa.bool_()),
            ]
        ),
    )
    _create(
        ex,
        "rul",
        rul,
        pa.schema(
            [
                ("agreement_id", pa.string()),
                ("vidx", pa.int32()),
                ("rord", pa.int32()),
                ("rule_id", pa.string()),
                ("rate", dec(38, scales.rate)),
                ("valid_from", pa.date32()),
                ("valid_to", pa.date32()),
                *[(f"m_{key}", text_list) for key in MATCH_KEYS],
            ]
        ),
    )
    _create(
        ex,
        "band",
        band,
        pa.schema(
            [
                ("agreement_id", pa.string()),
                ("vidx", pa.int32()),
                ("bidx", pa.int32()),
                ("b_from", dec(38, scales.band)),
                ("b_next", dec(38, scales.band)),
                ("uplift", dec(38, scales.uplift)),
            ]
        ),
    )
    deals = [
        {
            "dord": i,
            "deal_id": d.id,
            "partner_id": d.partner_id,
            "provider": d.provider,
            "account_id": d.account_id,
            "agreement_id": d.agreement_id,
            "valid_from": d.valid_from,
            "valid_to": d.valid_to,
            "services": sorted(d.services) if d.services is not None else None,
        }
        for i, d in enumerate(book.deals)
    ]
    _create(
        ex,
        "deal",
        deals,
        pa.schema(
            [
                ("dord", pa.int32()),
                ("deal_id", pa.string()),
                ("partner_id", pa.string()),
                ("provider", pa.string()),
                ("account_id", pa.string()),
                ("agreement_id", pa.string()),
                ("valid_from", pa.date32()),
                ("valid_to", pa.date32()),
                ("services", text_list),
            ]
        ),
    )
    fx = [
        {"from_cur": r.from_currency, "to_cur": r.to_currency, "day": r.day, "rate": r.rate}
        for r in book.fx.entries()
    ]
    _create(
        ex,
        "fx",
        fx,
        pa.schema(
            [
                ("from_cur", pa.string()),
                ("to_cur", pa.string()),
                ("day", pa.date32()),
                ("rate", dec(38, scales.fx)),
            ]
        ),
    )
    cust = [
        {"provider": c.provider, "account_id": c.account_id, "segment": c.segment}
        for c in book.customers.values()
    ]
    _create(
        ex,
        "cust",
        cust,
        pa.schema(
            [
                ("provider", pa.string()),
                ("account_id", pa.string()),
                ("segment", pa.string()),
            ]
        ),
    )


def _create(ex: Executor, name: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    ex.register(name, pa.Table.from_pylist(rows, schema=schema))
