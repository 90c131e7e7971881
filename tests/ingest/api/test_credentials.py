"""Credentials from the environment and from a secrets file; the secret never shows."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from cloudsettle.ingest.api.credentials import CredentialsMissing, Secret, credentials_from_env


def test_tencent_from_env() -> None:
    creds = credentials_from_env(
        "tencent", {"TENCENTCLOUD_SECRET_ID": "AKID1", "TENCENTCLOUD_SECRET_KEY": "k3y"}
    )
    assert (creds.key_id, creds.secret.reveal(), creds.domain_id) == ("AKID1", "k3y", None)
    assert "k3y" not in repr(creds)
    assert "k3y" not in str(creds.secret)


def test_huawei_from_env_with_domain() -> None:
    creds = credentials_from_env(
        "huawei",
        {"HUAWEICLOUD_SDK_AK": "AK", "HUAWEICLOUD_SDK_SK": "SK-value", "HUAWEICLOUD_SDK_DOMAIN_ID": "dom"},
    )
    assert (creds.key_id, creds.secret.reveal(), creds.domain_id) == ("AK", "SK-value", "dom")


def test_yaml_secrets_file_and_env_override(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("huawei:\n  ak: FILEAK\n  sk: file-secret\n  domain_id: d1\n", encoding="utf-8")
    creds = credentials_from_env("huawei", {}, path)
    assert (creds.key_id, creds.secret.reveal(), creds.domain_id) == ("FILEAK", "file-secret", "d1")
    overridden = credentials_from_env("huawei", {"HUAWEICLOUD_SDK_SK": "env-secret"}, path)
    assert (overridden.key_id, overridden.secret.reveal()) == ("FILEAK", "env-secret")


def test_json_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(
        json.dumps({"tencent": {"secret_id": "AKID2", "secret_key": "json-secret"}}), encoding="utf-8"
    )
    creds = credentials_from_env("tencent", {}, path)
    assert (creds.key_id, creds.secret.reveal()) == ("AKID2", "json-secret")


def test_missing_credentials_say_where_we_looked(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("tencent:\n  secret_id: AKID3\n", encoding="utf-8")
    with pytest.raises(CredentialsMissing, match="TENCENTCLOUD_SECRET_KEY") as caught:
        credentials_from_env("tencent", {}, path)
    assert "tencent.secret_key" in str(caught.value)
    with pytest.raises(ValueError, match="unknown provider"):
        credentials_from_env("aws", {})


def test_a_secret_hides_itself() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"
    assert secret == Secret("hunter2")
    assert secret != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(secret)
