"""Content-addressed, immutable storage of the raw files as they came.

Every ingested file is kept byte for byte, named by its sha256, so a line can
always be traced back to the exact bytes it was read from, and a file
delivered twice is stored once. Layout: ``root/ab/cdef…<suffix>`` where
``abcdef…`` is the sha256 and ``<suffix>`` the original file's suffix
(``.csv``, ``.csv.gz``, ``.parquet``) so a reader knows the encoding.

Writes go to a temporary file in the target directory, are flushed to disk,
made read-only (0o444) and then renamed into place, so a crash leaves at most
a stray temporary file, never a half-written object under a real name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SUFFIX_PART = re.compile(r"\.[A-Za-z0-9]{1,10}")
_SUFFIX = re.compile(r"(?:\.[A-Za-z0-9]{1,10}){1,2}")
_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A file in the raw store.

    Attributes:
      sha256: hex digest of the content, its name in the store.
      size_bytes: its length.
      stored_path: where it lies (read-only).
      already_present: true when the same content was stored before.
    """

    sha256: str
    size_bytes: int
    stored_path: Path
    already_present: bool


def file_suffix(name: str) -> str:
    """The encoding suffix of a file name, lower case: ``bill.CSV.gz`` -> ``.csv.gz``.

    At most the last two parts, each short and alphanumeric, so
    ``bill.2024-05.csv`` gives ``.csv`` rather than a date.
    """
    parts = Path(name).suffixes[-2:]
    kept: list[str] = []
    for part in reversed(parts):
        if not _SUFFIX_PART.fullmatch(part):
            break
        kept.insert(0, part.lower())
    return "".join(kept)


class RawStore:
    """The raw file store under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put_file(self, path: Path) -> StoredObject:
        """Store a file's bytes (hashed while copied, never read whole into memory)."""
        with Path(path).open("rb") as source:
            return self._put(iter(lambda: source.read(_CHUNK), b""), file_suffix(Path(path).name))

    def put_bytes(self, data: bytes, suffix: str = "") -> StoredObject:
        """Store bytes, e.g. an API response page; ``suffix`` such as ``.json``."""
        if suffix and not _SUFFIX.fullmatch(suffix):
            raise ValueError(f"not a file suffix: {suffix!r}")
        return self._put([data], suffix.lower())

    def path_of(self, sha256: str) -> Path:
        """Where the object with this digest lies; ``KeyError`` if it is not stored."""
        found = self._find(sha256)
        if found is None:
            raise KeyError(f"no raw object {sha256}")
        return found

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored object for reading (binary)."""
        return self.path_of(sha256).open("rb")

    def __contains__(self, sha256: object) -> bool:
        return isinstance(sha256, str) and self._find(sha256) is not None

    def _find(self, sha256: str) -> Path | None:
        digest = sha256.lower()
        if not _SHA256.fullmatch(digest):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        shard = self.root / digest[:2]
        if not shard.is_dir():
            return None
        for candidate in sorted(shard.glob(digest[2:] + "*")):
            if candidate.name[62:63] in ("", "."):
                return candidate
        return None

    def _put(self, chunks: Iterable[bytes], suffix: str) -> StoredObject:
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=self.root)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            existing = self._find(digest)
            if existing is not None:
                tmp.unlink()
                return StoredObject(digest, size, existing, already_present=True)
            target = self.root / digest[:2] / (digest[2:] + suffix)
            target.parent.mkdir(exist_ok=True)
            tmp.chmod(0o444)
            tmp.replace(target)
            return StoredObject(digest, size, target, already_present=False)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
