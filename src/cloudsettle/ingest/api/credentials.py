"""Provider API credentials, with the secret kept out of every repr, str and log line.

Tencent Cloud reads ``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY``;
Huawei Cloud reads ``HUAWEICLOUD_SDK_AK`` / ``HUAWEICLOUD_SDK_SK`` and the
optional ``HUAWEICLOUD_SDK_DOMAIN_ID`` (the names both SDKs use themselves).
A secrets file (YAML or JSON) may hold the same values instead, keyed by
provider::

    tencent: {secret_id: AKID..., secret_key: ...}
    huawei:  {ak: ..., sk: ..., domain_id: ...}

Environment variables win over the file, so a CI secret can override a
developer's file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class Secret:
    """A secret string that shows as ``'********'`` everywhere but :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call it only where the SDK needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled")


@dataclass(frozen=True, slots=True)
class ProviderCredentials:
    """What a provider client needs to sign its requests.

    Attributes:
      provider: ``tencent`` or ``huawei``.
      key_id: Tencent SecretId or Huawei AK (not secret: it names the key).
      secret: Tencent SecretKey or Huawei SK.
      domain_id: Huawei account (domain) id; without it the Huawei SDK asks IAM.
    """

    provider: str
    key_id: str
    secret: Secret
    domain_id: str | None = None


class CredentialsMissing(Exception):
    """No usable credentials were found; the message names where we looked."""


_ENV_NAMES: dict[str, tuple[str, str, str | None]] = {
    "tencent": ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", None),
    "huawei": ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_DOMAIN_ID"),
}
_FILE_KEYS: dict[str, tuple[str, str, str | None]] = {
    "tencent": ("secret_id", "secret_key", None),
    "huawei": ("ak", "sk", "domain_id"),
}


def credentials_from_env(
    provider: str, env: Mapping[str, str], secrets_file: Path | None = None
) -> ProviderCredentials:
    """Credentials for ``provider`` from ``env`` (e.g. ``os.environ``), else from ``secrets_file``."""
    if provider not in _ENV_NAMES:
        raise ValueError(f"unknown provider {provider!r}: expected one of {', '.join(sorted(_ENV_NAMES))}")
    id_var, secret_var, domain_var = _ENV_NAMES[provider]
    from_file = _read_secrets_file(secrets_file, provider) if secrets_file is not None else {}
    id_key, secret_key, domain_key = _FILE_KEYS[provider]
    key_id = env.get(id_var) or from_file.get(id_key, "")
    secret = env.get(secret_var) or from_file.get(secret_key, "")
    domain_id = (env.get(domain_var) if domain_var else None) or (
        from_file.get(domain_key) if domain_key else None
    )
    if not key_id or not secret:
        where = f"environment variables {id_var} and {secret_var}"
        if secrets_file is not None:
            where += f", or keys {provider}.{id_key} and {provider}.{secret_key} in {secrets_file}"
        raise CredentialsMissing(f"no {provider} credentials: set {where}")
    return ProviderCredentials(provider, key_id, Secret(secret), domain_id or None)


def _read_secrets_file(path: Path, provider: str) -> dict[str, str]:
    """The provider's section of a YAML or JSON secrets file, values as strings."""
    text = Path(path).read_text(encoding="utf-8")
    data: Any = json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CredentialsMissing(f"{path}: expected a mapping of provider names to credentials")
    section = data.get(provider) or {}
    if not isinstance(section, dict):
        raise CredentialsMissing(f"{path}: {provider} must be a mapping of credential names to values")
    return {str(k): str(v) for k, v in section.items() if v is not None}
