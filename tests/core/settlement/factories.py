"""Small builders for engine tests: lines, agreements and books with few keystrokes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cloudsettle.core.agreements import Agreement, AgreementVersion, Rule
from cloudsettle.core.fx import FxRate, FxTable
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO, D
from cloudsettle.core.parties import Deal, Partner, Verification
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.book import Book, MappedBook
from cloudsettle.core.settlement.model import Statement
from cloudsettle.core.settlement.statement import settle_statement


def at(text: str) -> datetime:
    """An aware UTC datetime from ``2026-10-03`` or ``2026-10-03T04:00``."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def line(line_id: str, amount: str, *, start: str = "2026-10-03", end: str | None = None,
         month: str = "2026-10-01", account: str = "100", provider: str = "tencent",
         currency: str = "CNY", **kw: Any) -> BillingLine:
    """A billing line of ``amount`` list cost (no discount unless given)."""
    fields: dict[str, Any] = {"service": "CVM", "service_category": "Compute"}
    fields.update(kw)
    for key in ("discount_amount", "voucher_amount", "tax_amount"):
        if key in fields and isinstance(fields[key], str):
            fields[key] = D(fields[key])
    return BillingLine(
        line_id=line_id, provider=provider, account_id=account, charge_start=at(start),
        charge_end=at(end or start), billing_period=date.fromisoformat(month),
        list_amount=D(amount), currency=currency, **fields,
    )


def rule(rule_id: str, rate: str, **match: list[str]) -> Rule:
    """A rule matching ``match`` (attribute -> accepted values)."""
    return Rule(rule_id, D(rate), {k: frozenset(v) for k, v in match.items()})


def version(*rules: Rule, number: int = 1, effective: str = "2026-01-01", currency: str = "CNY",
            **kw: Any) -> AgreementVersion:
    """An agreement version with ``rules`` and any other field."""
    return AgreementVersion(version=number, effective_from=date.fromisoformat(effective),
                            currency=currency, rules=rules, **kw)


def book(lines: list[BillingLine], versions: list[AgreementVersion], *,
         partner: str = "P-ACME", agreement: str = "acme", account: str = "100",
         deals: list[Deal] | None = None, extra_agreements: list[Agreement] | None = None,
         fx: list[FxRate] | None = None, minimum_payout: Decimal = ZERO,
         verification: Verification = Verification.VERIFIED) -> MappedBook:
    """A mapped book with one partner, one agreement and one open-ended deal by default."""
    agreements = {agreement: Agreement(agreement, partner, tuple(versions))}
    partners = {partner: Partner(partner, partner, versions[0].currency, verification, minimum_payout)}
    for extra in extra_agreements or []:
        agreements[extra.id] = extra
        partners.setdefault(extra.partner_id, Partner(extra.partner_id, extra.partner_id, "CNY",
                                                      Verification.VERIFIED))
    deal_list = deals if deals is not None else [
        Deal("D-1", partner, "tencent", account, agreement, date(2026, 1, 1))]
    return MappedBook(Book(partners=partners, agreements=agreements, deals=deal_list, lines=lines,
                           fx=FxTable(fx or [])))


def settle(lines: list[BillingLine], versions: list[AgreementVersion], period: str = "2026-10",
           **kw: Any) -> Statement:
    """The statement of the default agreement ``acme`` for ``period``; it must exist."""
    mapped = book(lines, versions, **kw)
    agreement = mapped.agreement("acme")
    chosen = parse_period(period, anchor=agreement.reference_version.cycle_anchor)
    result = settle_statement(mapped, agreement_id="acme", period=chosen)
    assert result is not None, f"no statement for {period}"
    return result


def shown_by_line(statement: Statement) -> dict[tuple[str, str], Decimal]:
    """``(line_id, role) -> shown amount`` of a statement's commission and clawback lines."""
    return {(sl.line.line_id, sl.role.value): sl.shown for sl in statement.lines}
