"""Shared helpers for the native bill file tests: fixture paths and re-wrapped copies."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from cloudsettle.core.lines import BillingLine
from cloudsettle.ingest.errors import RowError

NATIVE = Path(__file__).parent / "data" / "native"

TENCENT_CN = NATIVE / "tencent_console_cn.csv"
TENCENT_EN = NATIVE / "tencent_intl_en.csv"
TENCENT_RESELLER = NATIVE / "tencent_reseller_en.csv"
HUAWEI_CN = NATIVE / "huawei_detail_cn.csv"
HUAWEI_EN = NATIVE / "huawei_costcenter_en.csv"
UNKNOWN = NATIVE / "unknown_format.csv"


def variants(source: Path, tmp: Path) -> dict[str, Path]:
    """The same CSV as GB18030, UTF-8 with BOM, gzip and zip (one member)."""
    text = source.read_bytes().decode("utf-8")
    stem = source.stem
    out = {"utf8": source}
    out["gb18030"] = tmp / f"{stem}.gb.csv"
    out["gb18030"].write_bytes(text.encode("gb18030"))
    out["bom"] = tmp / f"{stem}.bom.csv"
    out["bom"].write_bytes(text.encode("utf-8-sig"))
    out["gzip"] = tmp / f"{stem}.csv.gz"
    out["gzip"].write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    out["zip"] = tmp / f"{stem}.zip"
    with zipfile.ZipFile(out["zip"], "w") as archive:
        archive.writestr(f"{stem}.csv", text.encode("gb18030"))
    return out


def lines(items: list[tuple[int, BillingLine | RowError]]) -> dict[int, BillingLine]:
    return {n: i for n, i in items if isinstance(i, BillingLine)}


def errors(items: list[tuple[int, BillingLine | RowError]]) -> list[RowError]:
    return [i for _, i in items if isinstance(i, RowError)]
