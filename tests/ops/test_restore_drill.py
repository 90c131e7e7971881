"""The restore drill: back up the demo workspace, restore into an empty database and line store,
and `audit verify` and a re-run of the last period match (SQLite; PostgreSQL when configured)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cloudsettle.ops.backup import BackupError, backup, restore

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSETTLE_")}
    return {**env, "CLOUDSETTLE": str(BIN / "cloudsettle"), "PYTHON": sys.executable, **extra}


def _drill(tmp_path: Path, **urls: str) -> subprocess.CompletedProcess[str]:
    src_env = _env(**({"CLOUDSETTLE_DATABASE_URL": urls["SOURCE_DATABASE_URL"]} if urls else {}))
    demo = subprocess.run(
        [str(BIN / "cloudsettle"), "demo", "--workspace", str(tmp_path / "src")],
        env=src_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    return subprocess.run(
        [
            str(ROOT / "scripts" / "restore-drill"),
            str(tmp_path / "src"),
            str(tmp_path / "dst"),
            str(tmp_path / "bak"),
        ],
        env=_env(**urls),
        capture_output=True,
        text=True,
        check=False,
    )


def test_restore_drill_on_sqlite(tmp_path: Path) -> None:
    result = _drill(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "restore drill passed" in result.stdout
    assert "0 difference(s)" in result.stdout
    assert (tmp_path / "dst" / "cloudsettle.db").is_file()
    src_raw = sorted(
        p.relative_to(tmp_path / "src") for p in (tmp_path / "src" / "raw").rglob("*") if p.is_file()
    )
    dst_raw = sorted(
        p.relative_to(tmp_path / "dst") for p in (tmp_path / "dst" / "raw").rglob("*") if p.is_file()
    )
    assert src_raw == dst_raw
    assert src_raw
    # Restoring again into the now non-empty workspace is refused.
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "bak", tmp_path / "dst", f"sqlite:///{tmp_path / 'dst' / 'cloudsettle.db'}")
    # A tampered raw file in the backup is caught at restore.
    victim = next(p for p in (tmp_path / "bak" / "raw").rglob("*") if p.is_file())
    victim.write_bytes(b"tampered")
    with pytest.raises(BackupError, match="altered"):
        restore(tmp_path / "bak", tmp_path / "dst2", f"sqlite:///{tmp_path / 'dst2' / 'cloudsettle.db'}")


def test_backup_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "bak").mkdir()
    (tmp_path / "bak" / "x").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        backup(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "bak")


@pytest.mark.postgres
def test_restore_drill_on_postgresql(tmp_path: Path) -> None:
    configured = os.environ.get("CLOUDSETTLE_TEST_DATABASE_URL")
    if not configured or not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("needs CLOUDSETTLE_TEST_DATABASE_URL and pg_dump/pg_restore")
    server = make_url(configured)
    names = [f"cloudsettle_drill_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            for n in names:
                c.execute(text(f'CREATE DATABASE "{n}"'))
        src, dst = (server.set(database=n).render_as_string(hide_password=False) for n in names)
        result = _drill(tmp_path, SOURCE_DATABASE_URL=src, TARGET_DATABASE_URL=dst)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "restore drill passed" in result.stdout
        assert "backup in" in result.stdout
    finally:
        with admin.connect() as c:
            for n in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
        admin.dispose()
