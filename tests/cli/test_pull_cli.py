"""``cloudsettle pull`` end to end: the real SDKs against the shipped fake servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.ingest.api.fake_huawei import FakeHuawei
from cloudsettle.ingest.api.fake_tencent import FakeTencent

SECRET = "never-print-this-secret-0042"
ENV = {
    "TENCENTCLOUD_SECRET_ID": "AKIDdemo",
    "TENCENTCLOUD_SECRET_KEY": SECRET,
    "HUAWEICLOUD_SDK_AK": "AKdemo",
    "HUAWEICLOUD_SDK_SK": SECRET,
    "HUAWEICLOUD_SDK_DOMAIN_ID": "dom",
    "COLUMNS": "200",
}


def _pull(tmp: Path, db: str, provider: str, endpoint: str, *extra: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        app,
        [
            "pull",
            "--provider",
            provider,
            "--month",
            "2026-10",
            "--endpoint",
            endpoint,
            *extra,
            "--workspace",
            str(tmp / "ws"),
            "--user",
            "puller",
        ],
        env={**(ENV if env is None else env), "CLOUDSETTLE_DATABASE_URL": db},
    )


def _row(stdout: str, name: str) -> list[str]:
    line = next(ln for ln in stdout.splitlines() if name in ln)
    return [c.strip() for c in line.strip("│ ").split("│")]


@pytest.mark.parametrize("provider", ["tencent", "huawei"])
def test_pull_ingests_lines_reconciles_and_is_idempotent(
    tmp_path: Path, database_url: str, provider: str
) -> None:
    fake_cls = FakeTencent if provider == "tencent" else FakeHuawei
    with fake_cls(records=25) as fake:
        first = _pull(tmp_path, database_url, provider, fake.endpoint)
        assert first.exit_code == 0, first.stdout + first.stderr
        row = _row(first.stdout, f"{provider}-api-2026-10")
        assert int(row[2]) > 0  # new lines
        assert row[6] == "0"  # the provider's totals equal the sum of the lines
        second = _pull(tmp_path, database_url, provider, fake.endpoint)
        assert second.exit_code == 0
        again = _row(second.stdout, f"{provider}-api-2026-10")
        assert (again[2], again[3], again[4]) == ("0", "0", row[2])  # all unchanged
    findings = CliRunner().invoke(
        app,
        ["findings", "--format", "json", "--workspace", str(tmp_path / "ws")],
        env={"CLOUDSETTLE_DATABASE_URL": database_url},
    )
    assert [f for f in json.loads(findings.stdout) if f["kind"] == "totals_mismatch"] == []
    raw = list((tmp_path / "ws" / "raw").rglob("*.json"))
    assert raw  # the responses are kept as received
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        customers = connection.execute(text("SELECT count(*) FROM customers")).scalar_one()
        figures = connection.execute(text("SELECT count(*) FROM provider_figures")).scalar_one()
    engine.dispose()
    assert customers > 0  # the provider's customer list was synced
    if provider == "tencent":
        assert figures > 0  # DescribeRebateInfos kept for reconciliation


def test_pull_auth_error_fails_without_showing_the_secret(tmp_path: Path, database_url: str) -> None:
    with FakeTencent(records=5) as fake:
        fake.faults.auth_error = True
        result = _pull(tmp_path, database_url, "tencent", fake.endpoint)
    assert result.exit_code == 1
    assert "stopped" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_pull_needs_credentials_and_a_month(tmp_path: Path, database_url: str) -> None:
    missing = _pull(tmp_path, database_url, "tencent", "http://127.0.0.1:9", env={})
    assert missing.exit_code == 2
    assert "TENCENTCLOUD_SECRET_ID" in missing.stderr
    bad = CliRunner().invoke(
        app,
        ["pull", "--provider", "tencent", "--month", "October", "--workspace", str(tmp_path / "ws")],
        env={**ENV, "CLOUDSETTLE_DATABASE_URL": database_url},
    )
    assert bad.exit_code == 2
