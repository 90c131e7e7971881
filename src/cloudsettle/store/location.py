"""Where the line store lives: a local folder or an ``s3://bucket/prefix`` URL, behind fsspec.

Every file operation of the store (list, write, move, delete) goes through one
fsspec filesystem, and DuckDB reads the same files: local paths directly,
``s3://`` through the same filesystem registered on the connection
(``register_filesystem``), because DuckDB's own httpfs extension cannot be
installed on a machine without internet (``docs/line-store.md``, "S3").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import fsspec

from cloudsettle.compute.backend import BulkSettings, connect

#: Environment variable naming an S3-compatible endpoint (MinIO, a test server).
ENDPOINT_ENV = "CLOUDSETTLE_LINE_STORE_ENDPOINT"


@dataclass(frozen=True)
class Location:
    """A store's base and the filesystem that reaches it.

    Attributes:
      base: the base as the filesystem names it: an absolute local path, or
        ``bucket/prefix`` for S3 (no scheme, no trailing slash).
      fs: the fsspec filesystem.
      scheme: ``""`` for local, ``"s3"`` for S3.
    """

    base: str
    fs: Any
    scheme: str

    @property
    def remote(self) -> bool:
        """True for object storage (no rename, no directories)."""
        return self.scheme != ""

    @property
    def url(self) -> str:
        """The base as a user writes it."""
        return f"{self.scheme}://{self.base}" if self.remote else self.base

    def path(self, *parts: str) -> str:
        """A path under the base, as the filesystem names it."""
        return "/".join([self.base, *parts])

    def for_duckdb(self, path: str) -> str:
        """The same path as DuckDB reads it (with the scheme for S3)."""
        return f"{self.scheme}://{path}" if self.remote and "://" not in path else path

    def relative(self, path: str) -> str:
        """``path`` relative to the base."""
        stripped = path.split("://", 1)[-1]
        prefix = self.base.rstrip("/") + "/"
        if not stripped.startswith(prefix):
            raise ValueError(f"{path} is not under {self.url}")
        return stripped[len(prefix) :]


def open_location(
    url: str | Path, *, storage_options: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Location:
    """The location for ``url``: a folder (created when missing) or ``s3://bucket/prefix``.

    ``storage_options`` go to the fsspec filesystem as they are (for S3:
    ``key``, ``secret``, ``endpoint_url``, ``client_kwargs``, ...); without an
    ``endpoint_url`` the one in ``CLOUDSETTLE_LINE_STORE_ENDPOINT`` is used, and
    credentials come from the usual AWS variables or files.
    """
    text = str(url)
    if text.startswith(("s3://", "s3a://")):
        environ = os.environ if env is None else env
        options = dict(storage_options or {})
        endpoint = environ.get(ENDPOINT_ENV)
        if endpoint and "endpoint_url" not in options:
            options["endpoint_url"] = endpoint
        fs = fsspec.filesystem("s3", skip_instance_cache=True, **options)
        base = text.split("://", 1)[1].strip("/")
        if not base:
            raise ValueError(f"{text}: name a bucket (s3://bucket/prefix)")
        return Location(base=base, fs=fs, scheme="s3")
    if "://" in text and not text.startswith("file://"):
        raise ValueError(f"{text}: the line store takes a folder or an s3:// URL")
    root = Path(text.removeprefix("file://")).absolute()
    root.mkdir(parents=True, exist_ok=True)
    return Location(base=str(root), fs=fsspec.filesystem("file"), scheme="")


def store_connection(location: Location, settings: BulkSettings, spill: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the engine's limits (``compute.engine.connect``) that can
    read the location, spills to ``spill`` unless the settings name another folder, and
    does not keep insertion order (every query of the store orders what it returns)."""
    if settings.temp_directory is None:
        spill.mkdir(parents=True, exist_ok=True)
        settings = replace(settings, temp_directory=spill)
    con = connect(settings)
    con.execute("SET preserve_insertion_order = false")
    if location.remote:
        con.register_filesystem(location.fs)
    return con
