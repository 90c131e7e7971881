"""One entry point for every bill file: detect its format, stream its lines.

The ingest service hands any uploaded file to :func:`iter_bill_file`; it
never needs to know which provider adapter reads it. Detection looks at the
header row only (a ``.parquet`` file is FOCUS Parquet by its suffix):

- FOCUS columns -> ``focus-csv``;
- Tencent Chinese or English bill columns -> ``tencent-console-cn``,
  ``tencent-intl-en`` or ``tencent-reseller-en``;
- Huawei consumption detail or Cost Center columns -> ``huawei-detail-cn`` or
  ``huawei-costcenter-en``.

A header row that matches none is refused with
:class:`~cloudsettle.ingest.errors.UnknownFormatError`, naming the headers
of the closest format and the ones found. Passing ``provider`` restricts
detection to that family, and a file of another family is refused too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloudsettle.core.lines import BillingLine
from cloudsettle.ingest import huawei, tencent
from cloudsettle.ingest.errors import RowError, UnknownFormatError
from cloudsettle.ingest.focus import ACCOUNT_COLUMNS, REQUIRED_COLUMNS, is_focus_header, iter_focus_csv
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.ingest.sources import read_header

Items = Iterator[tuple[int, BillingLine | RowError]]

#: The version of what reading a file gives: its lines (and so their content hashes), its row
#: errors, and the per-line check findings recorded with them. Part of a batch's reading key
#: (``services/ingest_shortcut.py``): a re-ingest of the same bytes read the same way reuses the
#: earlier batch's outcome instead of reading the file again. Bump it whenever a reader, a cell
#: parser, ``core.revisions.content_hash`` or a per-line check changes what a row becomes, so
#: files read before the change are read again in full.
READER_VERSION = 1


@dataclass(frozen=True, slots=True)
class BillFormat:
    """A bill file format.

    Attributes:
      provider: the format family: ``focus``, ``tencent`` or ``huawei``.
      name: the format's name, e.g. ``tencent-console-cn``.
    """

    provider: str
    name: str

    def __str__(self) -> str:
        return self.name


FOCUS_CSV = BillFormat("focus", "focus-csv")
FOCUS_PARQUET = BillFormat("focus", "focus-parquet")
TENCENT_CONSOLE_CN = BillFormat("tencent", tencent.CONSOLE_CN)
TENCENT_INTL_EN = BillFormat("tencent", tencent.INTL_EN)
TENCENT_RESELLER_EN = BillFormat("tencent", tencent.RESELLER_EN)
HUAWEI_DETAIL_CN = BillFormat("huawei", huawei.DETAIL_CN)
HUAWEI_COSTCENTER_EN = BillFormat("huawei", huawei.COSTCENTER_EN)

FORMATS: tuple[BillFormat, ...] = (
    FOCUS_CSV, FOCUS_PARQUET, TENCENT_CONSOLE_CN, TENCENT_INTL_EN, TENCENT_RESELLER_EN,
    HUAWEI_DETAIL_CN, HUAWEI_COSTCENTER_EN,
)
_BY_NAME = {f.name: f for f in FORMATS}
PROVIDERS: tuple[str, ...] = ("focus", "tencent", "huawei")

_FOCUS_EXPECTED = (*REQUIRED_COLUMNS, "|".join(ACCOUNT_COLUMNS))


def _expected(format_name: str) -> tuple[str, ...]:
    if format_name in tencent.REQUIRED_HEADERS:
        return tencent.REQUIRED_HEADERS[format_name]
    if format_name in huawei.REQUIRED_HEADERS:
        return huawei.REQUIRED_HEADERS[format_name]
    return _FOCUS_EXPECTED


def _missing(headers: Sequence[str], format_name: str) -> list[str]:
    if format_name in tencent.REQUIRED_HEADERS:
        return tencent.missing_headers(headers, format_name)
    if format_name in huawei.REQUIRED_HEADERS:
        return huawei.missing_headers(headers, format_name)
    present = set(headers)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if not any(c in present for c in ACCOUNT_COLUMNS):
        missing.append(_FOCUS_EXPECTED[-1])
    return missing


def detect_header(headers: Sequence[str]) -> BillFormat | None:
    """The format of a CSV header row, or ``None``."""
    if is_focus_header(headers):
        return FOCUS_CSV
    name = tencent.is_tencent_header(headers) or huawei.is_huawei_header(headers)
    return _BY_NAME[name] if name else None


def detect_format(path: Path, *, provider: str | None = None, source_name: str | None = None) -> BillFormat:
    """The format of a bill file; refused with ``UnknownFormatError`` when unknown
    or (with ``provider``) of another family."""
    if provider is not None and provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    file_name = source_name or path.name
    if path.name.lower().endswith(".parquet"):
        found_format: BillFormat | None = FOCUS_PARQUET
        headers: list[str] = []
    else:
        headers = read_header(path)
        found_format = detect_header(headers)
    if found_format is not None and (provider is None or found_format.provider == provider):
        return found_format
    candidates = [f.name for f in FORMATS
                  if f is not FOCUS_PARQUET and (provider is None or f.provider == provider)]
    closest = min(candidates, key=lambda name: len(_missing(headers, name)))
    detail = "expected one of: " + "; ".join(
        f"{name} ({', '.join(_expected(name))})" for name in candidates
    )
    if found_format is not None:
        detail = (f"it is a {found_format.name} file ({found_format.provider}), "
                  f"not a {provider} one; " + detail)
    raise UnknownFormatError(
        file_name, expected=_expected(closest), found=headers, detail=detail,
        missing=_missing(headers, closest),
    )


def iter_bill_file(
    path: Path,
    *,
    provider: str | None = None,
    categories: CategoryMap | None = None,
    source_name: str | None = None,
) -> tuple[BillFormat, Items]:
    """Detect a bill file's format and stream it as ``(row_number, line or RowError)``.

    ``categories`` defaults to the shipped service-category table; pass
    ``CategoryMap.shipped().with_overrides(config.service_categories)`` to
    apply a configuration. Detection happens now (an unknown file raises
    here); the rows are read lazily.
    """
    bill_format = detect_format(path, provider=provider, source_name=source_name)
    table = categories if categories is not None else CategoryMap.shipped()
    items: Items
    if bill_format is FOCUS_PARQUET:
        from cloudsettle.ingest.focus_parquet import iter_focus_parquet  # lazy: pyarrow only when needed

        items = iter_focus_parquet(path, source_name=source_name)
    elif bill_format is FOCUS_CSV:
        items = iter_focus_csv(path, source_name=source_name)
    elif bill_format.provider == "tencent":
        items = tencent.iter_tencent_csv(path, categories=table, source_name=source_name)
    else:
        items = huawei.iter_huawei_csv(path, categories=table, source_name=source_name)
    return bill_format, items
