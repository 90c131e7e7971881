"""Configuration profiles: production refuses a default secret, or no TLS unless behind a proxy."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from cloudsettle.config import DEFAULT_SECRET, Profile, Settings, UnsafeSettings, check_settings

GOOD = SecretStr("s" * 48)


def test_development_accepts_the_defaults() -> None:
    settings = Settings()
    check_settings(settings)
    assert settings.profile is Profile.DEVELOPMENT
    assert not settings.secure_cookies
    assert DEFAULT_SECRET not in repr(settings)


@pytest.mark.parametrize("secret", [DEFAULT_SECRET, "short"])
def test_production_refuses_a_default_or_short_secret(secret: str) -> None:
    with pytest.raises(UnsafeSettings, match="SECRET_KEY"):
        check_settings(Settings(profile=Profile.PRODUCTION, secret_key=SecretStr(secret), behind_proxy=True))


def test_production_needs_tls_or_a_proxy(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSettings, match="TLS"):
        check_settings(Settings(profile=Profile.PRODUCTION, secret_key=GOOD))
    check_settings(Settings(profile=Profile.PRODUCTION, secret_key=GOOD, behind_proxy=True))
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("y")
    tls = Settings(profile=Profile.PRODUCTION, secret_key=GOOD, tls_cert=cert, tls_key=key)
    check_settings(tls)
    assert tls.secure_cookies


def test_tls_needs_both_files(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(UnsafeSettings, match="both"):
        check_settings(Settings(tls_cert=cert))
    with pytest.raises(UnsafeSettings, match="not found"):
        check_settings(Settings(tls_cert=cert, tls_key=tmp_path / "missing.pem"))


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSETTLE_PROFILE", "staging")
    monkeypatch.setenv("CLOUDSETTLE_RAW_RETENTION_DAYS", "400")
    s = Settings()
    assert s.profile is Profile.STAGING
    assert s.raw_retention_days == 400
    assert s.secure_cookies
