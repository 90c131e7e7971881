"""The content-addressed raw store: stored once, read-only, named by sha256."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from cloudsettle.ingest.raw_store import RawStore, file_suffix


def test_put_file_stores_by_sha256(tmp_path: Path) -> None:
    source = tmp_path / "bill.CSV.gz"
    payload = b"a,b\n1,2\n" * 300_000  # several read chunks
    source.write_bytes(payload)
    store = RawStore(tmp_path / "raw")
    stored = store.put_file(source)
    digest = hashlib.sha256(payload).hexdigest()
    assert stored.sha256 == digest
    assert stored.size_bytes == len(payload)
    assert not stored.already_present
    assert stored.stored_path == tmp_path / "raw" / digest[:2] / (digest[2:] + ".csv.gz")
    assert hashlib.sha256(stored.stored_path.read_bytes()).hexdigest() == digest
    assert stat.S_IMODE(stored.stored_path.stat().st_mode) == 0o444
    assert store.path_of(digest) == stored.stored_path
    with store.open(digest) as f:
        assert f.read() == payload
    assert digest in store


def test_same_content_is_stored_once(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    first = tmp_path / "a.csv"
    second = tmp_path / "copy-of-a.csv"
    first.write_bytes(b"same bytes")
    second.write_bytes(b"same bytes")
    one = store.put_file(first)
    two = store.put_file(second)
    three = store.put_bytes(b"same bytes", ".txt")
    assert two.already_present
    assert three.already_present
    assert one.stored_path == two.stored_path == three.stored_path
    objects = [p for p in (tmp_path / "raw").rglob("*") if p.is_file()]
    assert objects == [one.stored_path]  # no leftover temporary files either


def test_put_bytes_and_missing_objects(tmp_path: Path) -> None:
    store = RawStore(tmp_path)
    stored = store.put_bytes(b'{"page": 1}', ".json")
    assert stored.stored_path.name.endswith(".json")
    assert stored.sha256 == hashlib.sha256(b'{"page": 1}').hexdigest()
    with pytest.raises(KeyError):
        store.path_of("0" * 64)
    assert "0" * 64 not in store
    with pytest.raises(ValueError, match="sha256"):
        store.path_of("not-a-digest")
    with pytest.raises(ValueError, match="suffix"):
        store.put_bytes(b"x", "json")


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("bill.csv", ".csv"),
        ("bill.CSV.GZ", ".csv.gz"),
        ("focus.parquet", ".parquet"),
        ("bill.2024-05.csv", ".csv"),
        ("README", ""),
        ("a.b.c.csv.gz", ".csv.gz"),
    ],
)
def test_file_suffix(name: str, suffix: str) -> None:
    assert file_suffix(name) == suffix
