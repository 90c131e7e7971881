"""Pull one provider month through a :class:`~cloudsettle.ingest.api.client.ProviderClient`:
rate limited, retried, resumable.

- **Rate limit.** A token bucket per API action (Tencent allows 5-20 requests
  a second per action; the default 5/s suits both providers). Retries count
  against it too.
- **Retries** (tenacity): throttling and transient failures (5xx, dropped
  connections, timeouts) are retried with exponential backoff, ``base``,
  ``2 base``, ``4 base``... capped, for at most ``max_attempts`` calls; a
  "not ready yet" answer is waited out ``not_ready_delay`` at a time (Tencent
  says: about 10 minutes), at most ``not_ready_attempts`` calls. Then
  :class:`~cloudsettle.ingest.api.errors.RetriesExhausted`. Authentication
  errors and other refusals fail at once.
- **Resuming.** After each page its body and the token of the next page are
  saved in a :class:`CheckpointStore`; a pull of the same provider and month
  that finds a checkpoint re-reads the saved pages and asks the provider only
  for the rest. A finished checkpoint is reused as is until :meth:`CheckpointStore.clear`.

``sleep`` and ``clock`` are injectable so tests neither wait nor depend on the
wall clock. Times are seconds as floats (the stdlib's clocks); they never meet money.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import tenacity

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO
from cloudsettle.ingest.api.client import (
    Adjustment,
    CustomerInfo,
    Page,
    ProviderClient,
    ProviderTotals,
    Rebate,
    ResumeToken,
)
from cloudsettle.ingest.api.credentials import credentials_from_env
from cloudsettle.ingest.api.errors import NotReady, ProviderApiError, RetriesExhausted, Throttled, Transient

__all__ = [
    "CheckpointStore",
    "PullResult",
    "RateLimiter",
    "RetrySettings",
    "credentials_from_env",
    "pull_month",
]

_T = TypeVar("_T")
log = logging.getLogger(__name__)
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_NAME = re.compile(r"[a-z0-9-]+")


class RateLimiter:
    """A token bucket per action: at most ``rate`` calls a second, ``burst`` at once.

    With ``burst=1`` (the default) calls of one action are at least
    ``1/rate`` seconds apart, so no one-second window holds more than ``rate``.
    """

    def __init__(
        self,
        rate: float = 5.0,  # noqa: float-ok - seconds and requests per second, never money
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._interval = 1.0 / rate
        self._next: dict[str, float] = {}  # per action: when the bucket is next full enough

    def acquire(self, action: str) -> None:
        """Wait until ``action`` may be called, and take its token."""
        now = self._clock()
        # GCRA form of the token bucket: a call is allowed once ``now`` is within
        # ``(burst - 1)`` intervals of the theoretical arrival time.
        theoretical = max(self._next.get(action, now), now)
        early = theoretical - (self.burst - 1) * self._interval - now
        if early > 0:
            self._sleep(early)
            now = max(self._clock(), now + early)
            theoretical = max(theoretical, now)
        self._next[action] = theoretical + self._interval


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """How hard to try.

    Attributes:
      max_attempts: calls per action for throttling and transient errors.
      base_delay: first backoff in seconds; doubled each retry.
      max_delay: backoff cap in seconds.
      not_ready_attempts: calls while the provider says the month is not ready.
      not_ready_delay: seconds between those calls.
    """

    max_attempts: int = 6
    base_delay: float = 1.0  # noqa: float-ok - seconds and requests per second, never money
    max_delay: float = 60.0  # noqa: float-ok - seconds and requests per second, never money
    not_ready_attempts: int = 7
    not_ready_delay: float = 600.0  # noqa: float-ok - seconds and requests per second, never money


def _kind(exc: BaseException | None) -> str:
    return "not_ready" if isinstance(exc, NotReady) else "retryable"


class GuardedCalls:
    """The :class:`~cloudsettle.ingest.api.client.CallPolicy` of a pull: rate limit, then retry."""

    def __init__(self, limiter: RateLimiter, settings: RetrySettings, sleep: Callable[[float], None]) -> None:
        self.limiter = limiter
        self.settings = settings
        self._sleep = sleep
        self.calls: Counter[str] = Counter()  # calls made per action, retries included

    def __call__(self, action: str, call: Callable[[], _T]) -> _T:
        settings = self.settings
        failures: Counter[str] = Counter()

        def attempt() -> _T:
            self.limiter.acquire(action)
            self.calls[action] += 1
            try:
                return call()
            except (Throttled, Transient, NotReady) as exc:
                failures[_kind(exc)] += 1
                raise

        def stop(state: tenacity.RetryCallState) -> bool:
            kind = _kind(state.outcome.exception() if state.outcome else None)
            limit = settings.not_ready_attempts if kind == "not_ready" else settings.max_attempts
            return failures[kind] >= limit

        def wait(state: tenacity.RetryCallState) -> float:  # noqa: float-ok - seconds
            kind = _kind(state.outcome.exception() if state.outcome else None)
            if kind == "not_ready":
                return settings.not_ready_delay
            return min(settings.max_delay, settings.base_delay * 2.0 ** (failures[kind] - 1))

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s; retrying in %.1f s (attempt %d)", exc, delay, state.attempt_number + 1)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((Throttled, Transient, NotReady)),
            stop=stop,
            wait=wait,
            sleep=self._sleep,
            before_sleep=before_sleep,
        )
        try:
            return retrying(attempt)
        except tenacity.RetryError as exc:
            last = exc.last_attempt.exception()
            assert isinstance(last, ProviderApiError)
            raise RetriesExhausted(last, exc.last_attempt.attempt_number) from None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a pull got.

    Attributes:
      pages: pages saved so far.
      tokens: each saved page's next-page token.
      next_token: where to continue (the last page's token).
      complete: the last page was saved.
    """

    pages: int
    tokens: tuple[ResumeToken | None, ...]
    next_token: ResumeToken | None
    complete: bool


class CheckpointStore:
    """Checkpoints of pulls under ``root``: ``<provider>-<month>.json`` (small) plus
    ``<provider>-<month>/page-000000.json``... (each page's body as received).

    Page files are written before the checkpoint that names them, each through a
    temporary file and a rename, so a crash never leaves a checkpoint naming a
    page that is not there.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _stem(self, provider: str, month: str) -> str:
        if not _NAME.fullmatch(provider) or not _MONTH.fullmatch(month):
            raise ValueError(f"bad provider or month: {provider!r} {month!r}")
        return f"{provider}-{month}"

    def _file(self, provider: str, month: str) -> Path:
        return self.root / (self._stem(provider, month) + ".json")

    def _page_file(self, provider: str, month: str, index: int) -> Path:
        return self.root / self._stem(provider, month) / f"page-{index:06d}.json"

    def load(self, provider: str, month: str) -> Checkpoint | None:
        """The saved checkpoint, or ``None`` if this month was never started here."""
        path = self._file(provider, month)
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return Checkpoint(
            pages=int(data["pages"]),
            tokens=tuple(data["tokens"]),
            next_token=data["next_token"],
            complete=bool(data["complete"]),
        )

    def page_body(self, provider: str, month: str, index: int) -> bytes:
        """A saved page's body."""
        return self._page_file(provider, month, index).read_bytes()

    def save_page(self, provider: str, month: str, page: Page) -> None:
        """Save ``page`` and move the checkpoint past it."""
        previous = self.load(provider, month)
        tokens = list(previous.tokens) if previous else []
        if page.index != len(tokens):
            raise ValueError(f"page {page.index} saved out of order (checkpoint has {len(tokens)} pages)")
        _write_atomic(self._page_file(provider, month, page.index), page.body)
        tokens.append(dict(page.next_token) if page.next_token is not None else None)
        state = {
            "provider": provider,
            "month": month,
            "pages": len(tokens),
            "tokens": tokens,
            "next_token": tokens[-1],
            "complete": page.next_token is None,
        }
        _write_atomic(self._file(provider, month), json.dumps(state, indent=1).encode("utf-8"))

    def clear(self, provider: str, month: str) -> None:
        """Forget a month's checkpoint and saved pages (the next pull starts afresh)."""
        self._file(provider, month).unlink(missing_ok=True)
        folder = self.root / self._stem(provider, month)
        if folder.is_dir():
            for child in folder.iterdir():
                child.unlink()
            folder.rmdir()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class PullResult:
    """Everything a month's pull brought back.

    Attributes:
      provider, month: what was pulled.
      pages: every page, first to last (bodies for the raw store, lines).
      totals: the provider's totals to reconcile against.
      customers, adjustments, rebates: as the provider lists them (rebates: Tencent only).
      resumed_pages: pages re-read from the checkpoint rather than fetched.
      calls: provider calls made per action, retries included.
    """

    provider: str
    month: str
    pages: tuple[Page, ...]
    totals: ProviderTotals
    customers: tuple[CustomerInfo, ...]
    adjustments: tuple[Adjustment, ...]
    rebates: tuple[Rebate, ...]
    resumed_pages: int = 0
    calls: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def lines(self) -> tuple[BillingLine, ...]:
        """All pages' lines, in page order."""
        return tuple(line for page in self.pages for line in page.lines)

    def raw_bodies(self) -> tuple[bytes, ...]:
        """Every response body that was read (pages, then totals), for the raw store."""
        return tuple(page.body for page in self.pages) + self.totals.bodies

    def line_totals(self) -> dict[tuple[str, str], Decimal]:
        """The lines' billed amounts per ``(currency, service)``."""
        totals: dict[tuple[str, str], Decimal] = {}
        for line in self.lines:
            key = (line.currency, line.service)
            totals[key] = totals.get(key, ZERO) + line.billed_amount
        return totals

    def mismatches(self) -> list[Finding]:
        """A ``totals_mismatch`` finding for each currency and product where the lines
        do not add up to the provider's total."""
        ours, theirs = self.line_totals(), self.totals.by_service()
        findings = []
        for key in sorted(set(ours) | set(theirs)):
            mine, provider = ours.get(key, ZERO), theirs.get(key, ZERO)
            if mine != provider:
                findings.append(
                    Finding(
                        kind=FindingKind.TOTALS_MISMATCH,
                        message=(
                            f"{self.provider} {self.month} {key[1] or '(no product)'}: lines add up to "
                            f"{mine} {key[0]}, the provider's total is {provider} {key[0]}"
                        ),
                    )
                )
        return findings


def pull_month(
    client: ProviderClient,
    *,
    month: str,
    checkpoint: CheckpointStore,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rate: float = 5.0,  # noqa: float-ok - requests per second
    retry: RetrySettings | None = None,
) -> PullResult:
    """Pull ``month`` (``YYYY-MM``) from ``client``, resuming from ``checkpoint``.

    Raises :class:`~cloudsettle.ingest.api.errors.ProviderApiError` subclasses:
    ``AuthFailed`` and ``RequestRejected`` at once, ``RetriesExhausted`` when
    retries run out. Pages fetched before the failure stay in the checkpoint.
    """
    if not _MONTH.fullmatch(month):
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    policy = GuardedCalls(RateLimiter(rate, clock=clock, sleep=sleep), retry or RetrySettings(), sleep)
    provider = client.provider
    state = checkpoint.load(provider, month)
    pages: list[Page] = []
    if state is not None:
        for index in range(state.pages):
            body = checkpoint.page_body(provider, month, index)
            pages.append(Page(index, body, client.lines_from_body(month, body), state.tokens[index]))
        log.info("%s %s: resuming after %d saved pages", provider, month, state.pages)
    resumed = len(pages)
    if state is None or not state.complete:
        token = state.next_token if state is not None else None
        while True:
            page = client.fetch_page(month, token, index=len(pages), policy=policy)
            checkpoint.save_page(provider, month, page)
            pages.append(page)
            if page.next_token is None:
                break
            token = page.next_token
    totals = client.summary(month, policy=policy)
    customers = client.customers(policy=policy)
    adjustments = client.adjustments(month, policy=policy)
    rebates = client.rebates(month, policy=policy)
    return PullResult(
        provider=provider,
        month=month,
        pages=tuple(pages),
        totals=totals,
        customers=tuple(customers),
        adjustments=tuple(adjustments),
        rebates=tuple(rebates),
        resumed_pages=resumed,
        calls=dict(policy.calls),
    )
