"""Partners, customers, deals, agreements with their versions, FX rates; loading a configuration file."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from cloudsettle.api.deps import PageDep, PrincipalDep, SessionDep, StateDep
from cloudsettle.api.errors import ERROR_RESPONSES, BodyTooLarge
from cloudsettle.api.schemas import PageOf
from cloudsettle.api.security import MAX_BODY_BYTES
from cloudsettle.core.money import format_money
from cloudsettle.db.models import PartnerRow
from cloudsettle.services import guarded
from cloudsettle.services.secrets import workspace_ring

router = APIRouter(tags=["configuration"], responses=ERROR_RESPONSES)
Id = Annotated[str, Path(min_length=1, max_length=100)]
Filter = Annotated[str | None, Query(max_length=100)]


class PartnerOut(BaseModel):
    """A partner (its bank details are sealed and never shown here)."""

    id: str
    name: str
    currency: str
    verification: str
    minimum_payout: str


class CustomerOut(BaseModel):
    """An end client's account."""

    provider: str
    account_id: str
    name: str
    segment: str


class DealOut(BaseModel):
    """A customer's spend assigned to a partner and agreement."""

    id: str
    partner_id: str
    provider: str
    account_id: str
    agreement_id: str
    valid_from: date
    valid_to: date | None
    services: list[str] | None


class VersionOut(BaseModel):
    """One immutable agreement version; ``definition`` is its canonical JSON."""

    version: int
    effective_from: date
    currency: str
    fingerprint: str
    definition: dict[str, Any]


class AgreementOut(BaseModel):
    """An agreement and its versions."""

    id: str
    partner_id: str
    mode: str
    versions: list[VersionOut]


class FxRateOut(BaseModel):
    """How many ``to_currency`` one ``from_currency`` buys on ``day`` (exact, as a string)."""

    day: date
    from_currency: str
    to_currency: str
    rate: str


class ConfigResult(BaseModel):
    """What a configuration file changed (or would change, on a dry run)."""

    dry_run: bool
    changes: list[dict[str, Any]]


def _partner(r: PartnerRow) -> PartnerOut:
    return PartnerOut(
        id=r.id,
        name=r.name,
        currency=r.currency,
        verification=r.verification,
        minimum_payout=format_money(r.minimum_payout, r.currency),
    )


@router.get("/partners", response_model=PageOf[PartnerOut])
def list_partners(session: SessionDep, who: PrincipalDep, page: PageDep) -> PageOf[PartnerOut]:
    """Partners by id."""
    rows, total = guarded.partners(session, who, page)
    return PageOf(items=[_partner(r) for r in rows], total=total, offset=page.offset, limit=page.limit)


@router.get("/partners/{partner_id}", response_model=PartnerOut)
def get_partner(partner_id: Id, session: SessionDep, who: PrincipalDep) -> PartnerOut:
    """One partner."""
    return _partner(guarded.partner(session, who, partner_id))


@router.get("/customers", response_model=PageOf[CustomerOut])
def list_customers(
    session: SessionDep, who: PrincipalDep, page: PageDep, provider: Filter = None
) -> PageOf[CustomerOut]:
    """Customers, optionally of one provider."""
    rows, total = guarded.customers(session, who, page, provider)
    items = [
        CustomerOut(provider=r.provider, account_id=r.account_id, name=r.name, segment=r.segment)
        for r in rows
    ]
    return PageOf(items=items, total=total, offset=page.offset, limit=page.limit)


@router.get("/deals", response_model=PageOf[DealOut])
def list_deals(
    session: SessionDep, who: PrincipalDep, page: PageDep, partner_id: Filter = None
) -> PageOf[DealOut]:
    """Deals, optionally of one partner."""
    rows, total = guarded.deals(session, who, page, partner_id)
    items = [
        DealOut(
            id=r.id,
            partner_id=r.partner_id,
            provider=r.provider,
            account_id=r.account_id,
            agreement_id=r.agreement_id,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            services=json.loads(r.services) if r.services else None,
        )
        for r in rows
    ]
    return PageOf(items=items, total=total, offset=page.offset, limit=page.limit)


@router.get("/agreements", response_model=PageOf[AgreementOut])
def list_agreements(
    session: SessionDep, who: PrincipalDep, page: PageDep, partner_id: Filter = None
) -> PageOf[AgreementOut]:
    """Agreements with every version."""
    rows, total = guarded.agreements(session, who, page, partner_id)
    items = [
        AgreementOut(
            id=a.id,
            partner_id=a.partner_id,
            mode=a.mode,
            versions=[
                VersionOut(
                    version=v.version,
                    effective_from=v.effective_from,
                    currency=v.currency,
                    fingerprint=v.fingerprint,
                    definition=json.loads(v.definition),
                )
                for v in versions
            ],
        )
        for a, versions in rows
    ]
    return PageOf(items=items, total=total, offset=page.offset, limit=page.limit)


@router.get("/fx-rates", response_model=PageOf[FxRateOut])
def list_fx_rates(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    currency: Annotated[str | None, Query(max_length=3)] = None,
) -> PageOf[FxRateOut]:
    """FX rates, newest day first."""
    rows, total = guarded.fx_rates(session, who, page, currency)
    items = [
        FxRateOut(day=r.day, from_currency=r.from_currency, to_currency=r.to_currency, rate=str(r.rate))
        for r in rows
    ]
    return PageOf(items=items, total=total, offset=page.offset, limit=page.limit)


@router.post(
    "/config",
    response_model=ConfigResult,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}
    },
)
async def load_config(
    request: Request,
    state: StateDep,
    who: PrincipalDep,
    dry_run: Annotated[bool, Query(description="Validate and report the changes; keep nothing.")] = False,
) -> ConfigResult:
    """Load partners, customers, deals, agreements (validated; used versions never change) and FX rates
    from a YAML configuration file sent as the body."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"a configuration file is at most {MAX_BODY_BYTES} bytes")
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_load, state, who, body, dry_run)


def _load(state: Any, who: Any, body: bytes, dry_run: bool) -> ConfigResult:
    with tempfile.TemporaryDirectory(prefix="cloudsettle-config-") as tmp:
        path = FsPath(tmp) / "config.yaml"
        path.write_bytes(body)
        with state.workspace.unit_of_work() as session:
            summary = guarded.load_config(
                session, who, path=path, ring=workspace_ring(state.workspace.root), dry_run=dry_run
            )
    changes = [{"kind": k, "created": c, "updated": u, "unchanged": n} for k, c, u, n in summary.rows()]
    return ConfigResult(dry_run=dry_run, changes=changes)
