"""Backup and restore of a workspace: the database and the raw (line) store, with a manifest.

PostgreSQL is dumped with ``pg_dump --format=custom`` and restored with
``pg_restore``; SQLite is copied with its online backup API (consistent while
other connections write). The raw store is content-addressed, so its files are
copied as they are and checked against the manifest's sha256 after a restore.
A restore goes only into an empty database and an empty folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from cloudsettle.db.migrate import current_revision
from cloudsettle.db.session import make_engine

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """A backup or restore could not be done (the message says why)."""


@dataclass(frozen=True)
class BackupReport:
    """Where the backup is, the database backend and revision, and how many raw files it holds."""

    folder: Path
    backend: str
    revision: str | None
    raw_files: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as pg_dump/pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise BackupError(f"{url}: not a SQLite file")
    return Path(database)


def backup(root: Path, url: str, dest: Path) -> BackupReport:
    """Back up the workspace at ``root`` (database ``url``) into the new folder ``dest``."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(dest / "database.sqlite")
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        db_file = "database.sqlite"
    elif backend == "postgresql":
        db_file = "database.pgdump"
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-acl",
                "--file",
                str(dest / db_file),
                "--dbname",
                libpq_url(url),
            ]
        )
    else:
        raise BackupError(f"no backup for {backend}")
    raw = root / "raw"
    files: dict[str, str] = {}
    if raw.is_dir():
        shutil.copytree(raw, dest / "raw")
        files = {
            str(p.relative_to(dest / "raw")): _sha256(p)
            for p in sorted((dest / "raw").rglob("*"))
            if p.is_file()
        }
    revision = current_revision(url)
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "backend": backend,
        "revision": revision,
        "database": {"file": db_file, "sha256": _sha256(dest / db_file)},
        "raw": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return BackupReport(dest, backend, revision, len(files))


def _run(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603 - fixed programs
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"{command[0]} failed: {exc.stderr.strip()[-500:]}") from exc


def _database_is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(src: Path, root: Path, url: str) -> BackupReport:
    """Restore the backup in ``src`` into the empty workspace ``root`` and empty database ``url``."""
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src}: no readable {MANIFEST}") from exc
    backend = make_url(url).get_backend_name()
    if backend != manifest["backend"]:
        raise BackupError(f"the backup is of {manifest['backend']}, the target is {backend}")
    raw = root / "raw"
    if raw.exists() and any(raw.iterdir()):
        raise BackupError(f"{raw} is not empty: restore into an empty workspace")
    db_file = src / manifest["database"]["file"]
    if _sha256(db_file) != manifest["database"]["sha256"]:
        raise BackupError(f"{db_file} does not match the manifest")
    if backend == "sqlite":
        target_path = _sqlite_path(url)
        if target_path.exists() and target_path.stat().st_size > 0 and not _database_is_empty(url):
            raise BackupError(f"{target_path} is not empty")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(db_file)
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        if not _database_is_empty(url):
            raise BackupError("the target database is not empty")
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--dbname",
                libpq_url(url),
                str(db_file),
            ]
        )
    root.mkdir(parents=True, exist_ok=True)
    if (src / "raw").is_dir():
        shutil.copytree(src / "raw", raw, dirs_exist_ok=True)
    for name, digest in manifest["raw"].items():
        path = raw / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"raw file {name} is missing or altered after restore")
    return BackupReport(src, backend, current_revision(url), len(manifest["raw"]))
