"""What can go wrong while pulling bills through a provider's API.

The hierarchy, in one place (house style: httpx writes its down too)::

    ProviderApiError                 any failure of a provider call (infrastructure, not business)
    ├── AuthFailed                   bad or missing credentials, no permission: never retried
    ├── RequestRejected              any other refusal of the request (bad parameter, ...): never retried
    ├── Throttled                    the provider's rate limit answered: retried with backoff
    ├── Transient                    5xx, a dropped connection, a timeout: retried with backoff
    ├── NotReady                     the month's bill is still being generated: waited out, bounded
    └── RetriesExhausted             a retried call that kept failing; ``last`` is the final error

The provider clients translate SDK exceptions into these classes, so the pull
loop decides retry or stop without knowing either SDK. Every message names
the provider, the action and the provider's error code, and never a secret.
"""

from __future__ import annotations


class ProviderApiError(Exception):
    """A provider call failed.

    Attributes:
      provider: ``tencent`` or ``huawei``.
      action: the API action (``DescribeBillDetail``, ``list_sub_customer_bill_detail``).
      code: the provider's error code (``RequestLimitExceeded``, ``APIG.0308``), or ``""``.
      detail: the provider's message, for a person.
    """

    def __init__(self, provider: str, action: str, code: str = "", detail: str = "") -> None:
        self.provider = provider
        self.action = action
        self.code = code
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.provider} {self.action} failed{code}{detail}"


class AuthFailed(ProviderApiError):
    """The provider refused the credentials; check the key id, secret and permissions."""

    def _message(self) -> str:
        return (
            super()._message()
            + " (authentication or permission refused: check the access key id, the secret and the"
            " account's billing permissions; the secret itself is never shown)"
        )


class RequestRejected(ProviderApiError):
    """The provider refused the request for a reason retrying cannot fix."""


class Throttled(ProviderApiError):
    """The provider's rate limit was hit."""


class Transient(ProviderApiError):
    """A server error or a network failure that may pass."""


class NotReady(ProviderApiError):
    """The provider is still generating the month's bill."""


class RetriesExhausted(ProviderApiError):
    """A call still failed after the allowed attempts.

    Attributes:
      attempts: how many calls were made.
      last: the last error.
    """

    def __init__(self, last: ProviderApiError, attempts: int) -> None:
        self.attempts = attempts
        self.last = last
        super().__init__(last.provider, last.action, last.code, f"gave up after {attempts} attempts: {last}")
