"""Opening bill files: plain, gzip, zip; UTF-8, UTF-8 with BOM, GB18030; streaming."""

from __future__ import annotations

import csv
import gzip
import zipfile
from pathlib import Path

import pytest

from cloudsettle.ingest.errors import UnreadableSourceError
from cloudsettle.ingest.sources import SNIFF_BYTES, open_text, read_header, sniff_encoding
from tests.ingest.native_helpers import HUAWEI_CN, TENCENT_CN, variants


@pytest.mark.parametrize("kind", ["utf8", "gb18030", "bom", "gzip", "zip"])
def test_every_wrapping_gives_the_same_text(tmp_path: Path, kind: str) -> None:
    path = variants(TENCENT_CN, tmp_path)[kind]
    with open_text(path) as (stream, member):
        text = stream.read()
    assert text == TENCENT_CN.read_bytes().decode("utf-8")
    assert member.endswith(".csv")
    assert not text.startswith("\ufeff")


def test_read_header_is_clean(tmp_path: Path) -> None:
    for path in variants(HUAWEI_CN, tmp_path).values():
        header = read_header(path)
        assert header[0] == "账期"
        assert "官网价(¥)" in header


def test_sniff_tolerates_a_character_cut_at_the_prefix_end() -> None:
    data = "账期".encode()
    assert sniff_encoding(data[:-1]) == "utf-8-sig"  # cut inside the last character
    assert sniff_encoding("账期,官网价".encode("gb18030")) == "gb18030"


def test_gb18030_after_a_long_ascii_prefix(tmp_path: Path) -> None:
    """The sniffer only looks at 64 KiB; a GB18030 header decides inside it."""
    rows = ["账期,金额"] + [f"2024-05,{n}" for n in range(20000)]
    path = tmp_path / "long.csv"
    path.write_bytes("\r\n".join(rows).encode("gb18030"))
    assert path.stat().st_size > SNIFF_BYTES
    with open_text(path) as (stream, _):
        read = list(csv.reader(stream))
    assert read[0] == ["账期", "金额"]
    assert len(read) == 20001


def test_zip_with_two_csvs_is_refused_naming_members(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x\n")
        archive.writestr("b.csv", "y\n")
        archive.writestr("readme.txt", "z\n")
    with pytest.raises(UnreadableSourceError) as info, open_text(path):
        pass
    message = str(info.value)
    assert "a.csv" in message
    assert "b.csv" in message
    assert "readme.txt" in message


def test_zip_without_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "none.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bill.xlsx", "x")
    with pytest.raises(UnreadableSourceError, match=r"bill\.xlsx"):
        read_header(path)


def test_broken_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n")[:-6])
    with pytest.raises(UnreadableSourceError), open_text(path) as (stream, _):
        stream.read()


def test_gzip_member_name_drops_gz(tmp_path: Path) -> None:
    path = variants(TENCENT_CN, tmp_path)["gzip"]
    with open_text(path) as (_, member):
        assert member == "tencent_console_cn.csv"
