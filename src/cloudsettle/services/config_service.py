"""``cloudsettle config load``: apply a configuration file to the control store.

Loading is all-or-nothing and idempotent: the same file twice changes nothing.
An agreement version that a statement already used is immutable; changing it is
refused (make a new version instead).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.config_file.codec import version_fingerprint, version_to_dict
from cloudsettle.config_file.errors import ConfigError
from cloudsettle.config_file.loader import ConfigBundle, load_config
from cloudsettle.db.models import (
    AgreementRow,
    AgreementVersionRow,
    CustomerRow,
    DealRow,
    FxRateRow,
    PartnerRow,
    PayoutAccountRow,
    StatementRow,
)
from cloudsettle.services.audit import now, record
from cloudsettle.services.categories import store_overrides
from cloudsettle.services.errors import BadInput, Refused
from cloudsettle.services.payout_service import set_payout_details
from cloudsettle.services.secrets import KeyRing, open_details
from cloudsettle.services.settlement_service import FINALIZED


@dataclass
class ConfigSummary:
    """What a load changed: per kind, how many were created, updated or unchanged."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: every record created or updated: ``(kind, key, before, after)`` for the audit log
    changes: list[tuple[str, str, dict[str, object] | None, dict[str, object]]] = field(default_factory=list)

    def note(self, kind: str, outcome: str) -> None:
        self.counts[(kind, outcome)] += 1

    def rows(self) -> list[tuple[str, int, int, int]]:
        """``(kind, created, updated, unchanged)`` for each kind, in file order."""
        kinds = [
            "partners",
            "payout_details",
            "customers",
            "deals",
            "agreements",
            "versions",
            "fx_rates",
            "service_categories",
        ]
        return [
            (k, self.counts[(k, "created")], self.counts[(k, "updated")], self.counts[(k, "unchanged")])
            for k in kinds
        ]


def load_config_file(
    session: Session, *, path: Path, actor: str, ring: KeyRing | None = None
) -> ConfigSummary:
    """Read ``path`` strictly and apply it; raises BadInput (with every issue) or Refused.

    Partners' ``payout`` details are sealed with ``ring`` (AES-GCM) and never stored in
    plain text; a file that has some needs a ring."""
    known_partners = set(session.scalars(select(PartnerRow.id)))
    known_agreements = set(session.scalars(select(AgreementRow.id)))
    try:
        bundle = load_config(path, known_partners=known_partners, known_agreements=known_agreements)
    except ConfigError as exc:
        raise BadInput(str(exc)) from exc
    summary = apply_config(session, bundle)
    _seal_payouts(session, bundle, ring=ring, actor=actor, summary=summary)
    if bundle.service_categories:
        changed = store_overrides(session, bundle.service_categories, actor=actor)
        summary.note("service_categories", "updated" if changed else "unchanged")
    for kind, key, before, after in summary.changes:
        record(
            session,
            actor=actor,
            action=f"config.{kind}",
            subject=f"{kind}:{key}",
            reason=f"config load {path.name}",
            before=before,
            after=after,
        )
    record(
        session,
        actor=actor,
        action="config.load",
        subject=str(path),
        changes={f"{k}.{o}": n for (k, o), n in summary.counts.items()},
    )
    return summary


def apply_config(session: Session, bundle: ConfigBundle) -> ConfigSummary:
    """Upsert every record of ``bundle``; refuse changes to used agreement versions."""
    summary = ConfigSummary()
    stamp = now()
    for p in bundle.partners:
        values = {
            "name": p.name,
            "currency": p.currency,
            "verification": p.verification.value,
            "minimum_payout": p.minimum_payout,
            "payout_details": None,  # never plain text: sealed by _seal_payouts
        }
        _upsert(
            session,
            summary,
            "partners",
            PartnerRow,
            p.id,
            values,
            extra_new={"created_at": stamp, "updated_at": stamp},
            touch={"updated_at": stamp},
        )
    for c in bundle.customers:
        _upsert(
            session,
            summary,
            "customers",
            CustomerRow,
            (c.provider, c.account_id),
            {"name": c.name, "segment": c.segment},
        )
    for a in bundle.agreements:
        _upsert(
            session,
            summary,
            "agreements",
            AgreementRow,
            a.id,
            {"partner_id": a.partner_id, "mode": a.mode.value},
        )
    session.flush()
    used = {
        (r.agreement_id, r.agreement_version)
        for r in session.execute(select(StatementRow.agreement_id, StatementRow.agreement_version)).all()
    }
    for a in bundle.agreements:
        for v in a.versions:
            fingerprint = version_fingerprint(v)
            row = session.get(AgreementVersionRow, (a.id, v.version))
            if row is None or row.fingerprint != fingerprint:
                check_not_retroactive(session, a.id, v.version, v.effective_from)
            if row is None:
                session.add(
                    AgreementVersionRow(
                        agreement_id=a.id,
                        version=v.version,
                        effective_from=v.effective_from,
                        currency=v.currency,
                        definition=json.dumps(version_to_dict(v), sort_keys=True),
                        fingerprint=fingerprint,
                        created_at=stamp,
                    )
                )
                summary.note("versions", "created")
                summary.changes.append(("versions", f"{a.id}:{v.version}", None, version_to_dict(v)))
            elif row.fingerprint == fingerprint:
                summary.note("versions", "unchanged")
            elif (a.id, v.version) in used:
                raise Refused(
                    f"agreement {a.id} version {v.version} was used by a statement and cannot "
                    f"change; add it as version {max(x.version for x in a.versions) + 1} instead"
                )
            else:
                before_definition = json.loads(row.definition)
                row.effective_from, row.currency = v.effective_from, v.currency
                row.definition = json.dumps(version_to_dict(v), sort_keys=True)
                row.fingerprint = fingerprint
                summary.note("versions", "updated")
                summary.changes.append(
                    ("versions", f"{a.id}:{v.version}", before_definition, version_to_dict(v))
                )
    for d in bundle.deals:
        _upsert(
            session,
            summary,
            "deals",
            DealRow,
            d.id,
            {
                "partner_id": d.partner_id,
                "provider": d.provider,
                "account_id": d.account_id,
                "agreement_id": d.agreement_id,
                "valid_from": d.valid_from,
                "valid_to": d.valid_to,
                "services": json.dumps(sorted(d.services)) if d.services is not None else None,
            },
        )
    for r in bundle.fx_rates:
        _upsert(
            session, summary, "fx_rates", FxRateRow, (r.day, r.from_currency, r.to_currency), {"rate": r.rate}
        )
    session.flush()
    _check_deal_partners(session)
    return summary


def last_finalized(session: Session, agreement_id: str) -> StatementRow | None:
    """The agreement's finalized statement with the latest period, if any."""
    return session.scalars(
        select(StatementRow)
        .where(StatementRow.agreement_id == agreement_id, StatementRow.status.in_(FINALIZED))
        .order_by(StatementRow.period_start.desc(), StatementRow.id.desc())
        .limit(1)
    ).first()


def check_not_retroactive(session: Session, agreement_id: str, version: int, effective_from: date) -> None:
    """Refuse a new or changed version that would govern a finalized period.

    The version governing a period is the newest one effective on or before its first
    day (spec). A finalized statement keeps the version that governed it, and every
    later lookup of "the version governing that period" (a clawback's original rate,
    a prior-period recomputation) must find the same one, so a version may only start
    after the first day of the agreement's last finalized period.
    """
    final = last_finalized(session, agreement_id)
    if final is not None and effective_from <= final.period_start:
        after = final.period_end + timedelta(days=1)
        raise Refused(
            f"agreement {agreement_id} version {version}: effective_from {effective_from.isoformat()} would "
            f"make it govern {final.period}, which is finalized under version {final.agreement_version}; it "
            f"may take effect from {after.isoformat()} at the earliest (corrections to a finalized period "
            "are prior-period adjustments)"
        )


def _seal_payouts(
    session: Session, bundle: ConfigBundle, *, ring: KeyRing | None, actor: str, summary: ConfigSummary
) -> None:
    """Seal each partner's payout details; unchanged details are left as they are."""
    if not bundle.payouts:
        return
    if ring is None:
        raise BadInput("the file has payout details: a payout key is needed to store them encrypted")
    session.flush()
    for partner_id, details in bundle.payouts.items():
        wanted = {k: v for k, v in details.items() if v}
        row = session.get(PayoutAccountRow, partner_id)
        if (
            row is not None
            and row.key_id in ring.keys
            and open_details(ring, row.sealed, partner_id=partner_id) == wanted
        ):
            summary.note("payout_details", "unchanged")
            continue
        set_payout_details(session, partner_id=partner_id, details=dict(wanted), actor=actor, ring=ring)
        summary.note("payout_details", "updated" if row is not None else "created")


def _upsert(
    session: Session,
    summary: ConfigSummary,
    kind: str,
    model: type,
    key: object,
    values: Mapping[str, object],
    *,
    extra_new: Mapping[str, object] | None = None,
    touch: Mapping[str, object] | None = None,
) -> None:
    """Insert the row, update the fields that differ, or leave it as it is."""
    row = session.get(model, key)
    if row is None:
        pk_names = [c.name for c in model.__table__.primary_key.columns]  # type: ignore[attr-defined]
        pk_values = key if isinstance(key, tuple) else (key,)
        session.add(model(**dict(zip(pk_names, pk_values, strict=True)), **values, **(extra_new or {})))
        summary.note(kind, "created")
        summary.changes.append((kind, _key_text(key), None, dict(values)))
        return
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        summary.note(kind, "unchanged")
        return
    before = {k: getattr(row, k) for k in changed}
    for k, v in {**changed, **(touch or {})}.items():
        setattr(row, k, v)
    summary.note(kind, "updated")
    summary.changes.append((kind, _key_text(key), before, dict(changed)))


def _key_text(key: object) -> str:
    """A record key as audit subjects show it: ``tencent:100012345678``."""
    return ":".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


def _check_deal_partners(session: Session) -> None:
    """A deal's partner must be its agreement's partner (across earlier loads too)."""
    rows = session.execute(
        select(DealRow.id, DealRow.partner_id, AgreementRow.partner_id).join(
            AgreementRow, AgreementRow.id == DealRow.agreement_id
        )
    ).all()
    wrong = [f"deal {d}: partner {p} but agreement belongs to {ap}" for d, p, ap in rows if p != ap]
    if wrong:
        raise BadInput("; ".join(wrong))
