"""Server settings (pydantic-settings): one class, read from ``CLOUDSETTLE_*`` variables.

Three profiles: ``development`` (the default: a built-in secret, plain HTTP on
loopback), ``staging`` and ``production``. :func:`check_settings` refuses to
start production with the default or a short secret, or without TLS unless
``behind_proxy`` says a proxy terminates it. The secret itself never appears
in ``repr`` or logs (``SecretStr``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development secret: fine on a laptop, refused in production.
DEFAULT_SECRET = "cloudsettle-development-secret-change-me"  # noqa: S105 (a known default, refused in production)
MIN_SECRET_LENGTH = 32


class Profile(StrEnum):
    """Where the server runs; production is strict about secrets and TLS."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything the API server needs to know, from the environment (``CLOUDSETTLE_`` prefix).

    Attributes:
      profile: development, staging or production.
      workspace: the workspace folder (database, raw store, uploads).
      secret_key: signs session cookies; must be set and long in production.
      behind_proxy: a TLS-terminating proxy sits in front (production may then run plain HTTP).
      tls_cert / tls_key: serve HTTPS with these files.
      max_upload_bytes: the largest bill file an upload may carry.
      session_hours: how long a login session lasts.
      login_max_failures / login_window_minutes: throttle after that many failures in the window.
      raw_retention_days: raw bill files older than this may be purged (None: keep forever).
    """

    model_config = SettingsConfigDict(env_prefix="CLOUDSETTLE_", extra="ignore")

    profile: Profile = Profile.DEVELOPMENT
    workspace: Path = Path("cloudsettle-data")
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    behind_proxy: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    session_hours: int = Field(default=8, gt=0, le=24 * 30)
    login_max_failures: int = Field(default=5, gt=0)
    login_window_minutes: int = Field(default=15, gt=0)
    raw_retention_days: int | None = Field(default=None, gt=0)

    @property
    def tls(self) -> bool:
        """Whether the server itself speaks HTTPS."""
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def secure_cookies(self) -> bool:
        """Cookies are marked ``Secure`` except on a plain-HTTP development server."""
        return self.tls or self.behind_proxy or self.profile is not Profile.DEVELOPMENT


class UnsafeSettings(ValueError):
    """The settings are not fit for the profile (production with a default secret, no TLS)."""


def check_settings(settings: Settings) -> None:
    """Refuse settings that would be unsafe in their profile; say what to change."""
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise UnsafeSettings("give both a TLS certificate and a key, or neither")
    for path in (settings.tls_cert, settings.tls_key):
        if path is not None and not path.is_file():
            raise UnsafeSettings(f"TLS file not found: {path}")
    if settings.profile is not Profile.PRODUCTION:
        return
    secret = settings.secret_key.get_secret_value()
    if secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_LENGTH:
        raise UnsafeSettings(
            f"production needs CLOUDSETTLE_SECRET_KEY set to a random value of at least "
            f"{MIN_SECRET_LENGTH} characters (not the default)"
        )
    if not settings.tls and not settings.behind_proxy:
        raise UnsafeSettings(
            "production needs TLS (--cert and --key) or CLOUDSETTLE_BEHIND_PROXY=true when a proxy "
            "terminates TLS"
        )
