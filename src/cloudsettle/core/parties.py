"""Partners, customers and deals: who is paid for whose spend (spec: Parties)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from cloudsettle.core.money import ZERO


class Verification(StrEnum):
    """Whether a partner's payee details are verified; only ``verified`` is paid out."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Partner:
    """A payee of the reseller: sub-reseller, referral partner or sales agent."""

    id: str
    name: str
    currency: str
    verification: Verification = Verification.UNVERIFIED
    minimum_payout: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Customer:
    """An end client's cloud account, ``(provider, account_id)``, with its segment."""

    provider: str
    account_id: str
    name: str = ""
    segment: str = ""


@dataclass(frozen=True, slots=True)
class Deal:
    """This customer's spend belongs to this partner under this agreement, in
    ``[valid_from, valid_to)`` and, optionally, only for some services."""

    id: str
    partner_id: str
    provider: str
    account_id: str
    agreement_id: str
    valid_from: date
    valid_to: date | None = None
    services: frozenset[str] | None = None

    def covers_day(self, day: date) -> bool:
        """Whether the local date ``day`` lies in the deal's window."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def covers_service(self, service: str) -> bool:
        """Whether the deal's optional service scope admits ``service``."""
        return self.services is None or service in self.services
