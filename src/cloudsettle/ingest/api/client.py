"""The one narrow I/O seam between cloudsettle and a provider's billing API.

:class:`ProviderClient` is all the pull loop (:mod:`cloudsettle.ingest.api.pull`)
knows about a provider. The real implementations drive the providers' own SDKs
(:mod:`~cloudsettle.ingest.api.tencent`, :mod:`~cloudsettle.ingest.api.huawei`);
the tests run those same SDK clients against the fake servers that ship with
this package (``fake_tencent``, ``fake_huawei``).

Every provider call goes through a :class:`CallPolicy` the caller hands in, so
rate limiting and retries live in one place (the pull loop) while the client
only knows how to make one call and how to name what went wrong
(:mod:`~cloudsettle.ingest.api.errors`).

Amounts are exact: each response body is kept byte for byte (:attr:`Page.body`,
for the raw store) and read with ``json.loads(..., parse_float=Decimal)``, so
no amount is ever a float on its way in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO
from cloudsettle.ingest.api.credentials import ProviderCredentials

_T = TypeVar("_T")

#: Where to continue a paged listing: small, JSON-able (``{"offset": 300, "context": "..."}``).
ResumeToken = Mapping[str, "str | int"]


class CallPolicy(Protocol):
    """Runs one provider call: the pull loop's rate limiter and retries plug in here."""

    def __call__(self, action: str, call: Callable[[], _T]) -> _T: ...


def direct(action: str, call: Callable[[], _T]) -> _T:
    """The policy that just makes the call (no limit, no retry)."""
    del action
    return call()


def read_json(body: bytes) -> Any:
    """A response body as JSON, every non-integer number a ``Decimal`` (never a float)."""
    return json.loads(body, parse_float=Decimal)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a month's bill lines.

    Attributes:
      index: 0 for the first page.
      body: the response body exactly as the provider sent it (JSON), for the raw store.
      lines: the page's records as billing lines.
      next_token: where the next page starts; ``None`` after the last page.
    """

    index: int
    body: bytes
    lines: tuple[BillingLine, ...]
    next_token: ResumeToken | None

    def payload(self) -> Any:
        """The body parsed, numbers exact."""
        return read_json(self.body)


@dataclass(frozen=True, slots=True)
class ProductTotal:
    """The provider's own total for one product (service) in one currency.

    Attributes:
      service: product code as it appears in the lines' ``service``.
      currency: ISO 4217.
      billed_amount: after discounts, before vouchers (the lines' ``billed_amount``).
      voucher_amount: vouchers deducted, where the provider reports it (else 0).
    """

    service: str
    currency: str
    billed_amount: Decimal
    voucher_amount: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class ProviderTotals:
    """The totals to reconcile a month's lines against.

    Attributes:
      provider: ``tencent`` or ``huawei``.
      month: ``YYYY-MM``.
      items: one per product and currency.
      bodies: the raw responses they were read from.
    """

    provider: str
    month: str
    items: tuple[ProductTotal, ...]
    bodies: tuple[bytes, ...] = ()

    def by_currency(self) -> dict[str, Decimal]:
        """Billed total per currency."""
        totals: dict[str, Decimal] = {}
        for item in self.items:
            totals[item.currency] = totals.get(item.currency, ZERO) + item.billed_amount
        return totals

    def by_service(self) -> dict[tuple[str, str], Decimal]:
        """Billed total per ``(currency, service)``."""
        totals: dict[tuple[str, str], Decimal] = {}
        for item in self.items:
            key = (item.currency, item.service)
            totals[key] = totals.get(key, ZERO) + item.billed_amount
        return totals


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    """A reseller's customer as the provider lists it.

    Attributes:
      provider: ``tencent`` or ``huawei``.
      account_id: Tencent client UIN, Huawei customer id (the lines' ``account_id``).
      name: the customer's name or account name, where given.
      associated_on: when the customer was linked to the reseller, as the provider writes it.
      extras: other provider fields, as strings.
    """

    provider: str
    account_id: str
    name: str = ""
    associated_on: str = ""
    extras: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A provider-side adjustment: a restated month (Tencent) or a fund transfer (Huawei).

    Attributes:
      provider: ``tencent`` or ``huawei``.
      account_id: payer UIN or customer id.
      kind: the provider's type (``reSettlement``, ``SOURCE_OPERATION_BEADJUST``, ...).
      reference: the adjustment's number (AdjustNum, trans_id).
      amount: signed, exact, in ``currency``.
      currency: ISO 4217.
      month: the bill month it concerns (``YYYY-MM``), where given.
      at: when it was made, as the provider writes it.
    """

    provider: str
    account_id: str
    kind: str
    reference: str
    amount: Decimal
    currency: str
    month: str = ""
    at: str = ""


@dataclass(frozen=True, slots=True)
class Rebate:
    """The provider's own commission figure for a reseller and month (Tencent partners API).

    Attributes:
      account_id: the reseller's UIN.
      month: ``YYYY-MM``.
      amount: the rebate, in yuan (the API's integer fen / 100, exactly).
      month_sales: the month's sales it was computed from, in yuan.
      quarter_sales: the quarter's sales, in yuan.
      flag: ``NORMAL``, ``HAS_OVERDUE_BILL`` or ``NO_CONTRACT``.
      currency: always CNY for this API.
    """

    account_id: str
    month: str
    amount: Decimal
    month_sales: Decimal
    quarter_sales: Decimal
    flag: str
    currency: str = "CNY"


class ProviderClient(Protocol):
    """A provider's billing API, as much of it as settlement needs.

    ``month`` is always ``YYYY-MM``. Each method makes its provider calls
    through ``policy`` (one call per page), naming the provider's action.
    """

    provider: str

    def fetch_page(
        self, month: str, token: ResumeToken | None, *, index: int = 0, policy: CallPolicy = direct
    ) -> Page:
        """One page of bill lines, starting at ``token`` (``None``: the first page)."""
        ...

    def lines_from_body(self, month: str, body: bytes) -> tuple[BillingLine, ...]:
        """Re-read a stored page body (for a resumed pull)."""
        ...

    def summary(self, month: str, *, policy: CallPolicy = direct) -> ProviderTotals:
        """The provider's totals per currency and product."""
        ...

    def customers(self, *, policy: CallPolicy = direct) -> list[CustomerInfo]:
        """All the reseller's customers."""
        ...

    def adjustments(self, month: str, *, policy: CallPolicy = direct) -> list[Adjustment]:
        """Adjustments concerning (Tencent) or made in (Huawei) the month."""
        ...

    def rebates(self, month: str, *, policy: CallPolicy = direct) -> list[Rebate]:
        """The provider's rebate figures (Tencent); Huawei's BSS API has none and returns []."""
        ...


def bill_lines(client: ProviderClient, month: str, *, policy: CallPolicy = direct) -> Iterator[Page]:
    """Every page of the month, first to last (no checkpoints: see ``pull_month`` for those)."""
    token: ResumeToken | None = None
    index = 0
    while True:
        page = client.fetch_page(month, token, index=index, policy=policy)
        yield page
        if page.next_token is None:
            return
        token = page.next_token
        index += 1


def make_client(
    provider: str, *, credentials: ProviderCredentials, endpoint: str | None = None
) -> ProviderClient:
    """The real-SDK client for ``provider`` (``tencent`` or ``huawei``).

    ``endpoint`` points the SDK elsewhere than the provider's production
    address, e.g. ``http://127.0.0.1:8080`` for a fake server.
    """
    if credentials.provider != provider:
        raise ValueError(f"credentials are for {credentials.provider}, not {provider}")
    if provider == "tencent":
        from cloudsettle.ingest.api.tencent import TencentClient

        return TencentClient(credentials, endpoint=endpoint)
    if provider == "huawei":
        from cloudsettle.ingest.api.huawei import HuaweiClient

        return HuaweiClient(credentials, endpoint=endpoint)
    raise ValueError(f"unknown provider {provider!r}: expected tencent or huawei")
