"""Plumbing shared by the native (non-FOCUS) provider bill readers.

The Tencent and Huawei readers differ in their columns and rules, not in how
a CSV is walked, so this module holds what they share:

- :class:`Field` and :class:`ColumnMap`: a normalized field found under any of
  its header spellings. Headers are compared with blanks collapsed and case
  folded, after dropping a currency suffix such as ``(¥)``, ``(元)`` or
  ``(USD)``; that suffix is kept as the file's currency hint.
- :func:`iter_rows`: the data rows of a CSV with their spreadsheet row
  numbers, a :class:`RowError` for a row of the wrong shape.
- :class:`CellError` and the cell readers: a bad cell names its header.
- :class:`LineIds`: the hashed ``line_id`` with the same ``#n`` collision rule
  as the FOCUS reader (see :mod:`cloudsettle.ingest.focus`).
"""

from __future__ import annotations

import csv
import hashlib
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from cloudsettle.core.lines import BillingLine, BillingMode
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.parsing import parse_amount, parse_timestamp
from cloudsettle.ingest.sources import clean_header, open_text

_CURRENCY_SUFFIX = re.compile(r"\s*[(（]\s*(?P<unit>[^()（）]{1,5})\s*[)）]\s*$")
_CURRENCY_UNITS: Mapping[str, str] = {
    "¥": "CNY", "￥": "CNY", "元": "CNY", "rmb": "CNY", "$": "USD", "us$": "USD",
}
_ISO_CODE = re.compile(r"[A-Za-z]{3}")


def split_header(header: str) -> tuple[str, str | None]:
    """``(lookup key, currency)`` of a header: ``官网价(¥)`` -> ``("官网价", "CNY")``.

    Only a currency unit is dropped: ``Total Amount After Discount (Excluding
    Tax)`` keeps its parentheses.
    """
    text = clean_header(header)
    currency: str | None = None
    match = _CURRENCY_SUFFIX.search(text)
    if match is not None:
        unit = match["unit"].strip()
        currency = _CURRENCY_UNITS.get(unit.casefold())
        if currency is None and _ISO_CODE.fullmatch(unit) and unit.isupper():
            currency = unit
        if currency is not None:
            text = text[: match.start()]
    return " ".join(text.split()).casefold(), currency


@dataclass(frozen=True, slots=True)
class Field:
    """A normalized field and the headers it may appear under, preferred first.

    Attributes:
      name: the reader's name for it (also its key in identities and extras).
      aliases: header spellings, without currency suffixes.
      required: whether a file without it is not of the format.
    """

    name: str
    aliases: tuple[str, ...]
    required: bool = False


class ColumnMap:
    """Where each field of a format is in one file's header row."""

    def __init__(self, headers: Sequence[str], fields: Sequence[Field]) -> None:
        self.headers: tuple[str, ...] = tuple(clean_header(h) for h in headers)
        keys: dict[str, int] = {}
        currencies: list[str] = []
        for index, header in enumerate(self.headers):
            key, currency = split_header(header)
            keys.setdefault(key, index)
            if currency is not None:
                currencies.append(currency)
        self.currency_hint: str | None = currencies[0] if len(set(currencies)) == 1 else None
        self.index: dict[str, int] = {}
        self.missing: list[Field] = []
        for spec in fields:
            found = next((keys[k] for a in spec.aliases if (k := _fold(a)) in keys), None)
            if found is not None:
                self.index[spec.name] = found
            elif spec.required:
                self.missing.append(spec)
        # Issue 6: what a Row needs per data row, worked out once per file.
        self._found: tuple[str, ...] = tuple(self.index)
        self._positions: tuple[int, ...] = tuple(self.index.values())
        self._absent: dict[str, str] = {spec.name: "" for spec in fields if spec.name not in self.index}
        self._content_prefixes: tuple[str, ...] = tuple(f"{h}\x1f" for h in self.headers)

    def cells_of(self, cells: Sequence[str]) -> dict[str, str]:
        """Every field's stripped cell, ``""`` for the fields the file lacks."""
        values = dict(self._absent)
        values.update(zip(self._found, [cells[i].strip() for i in self._positions], strict=True))
        return values

    def content_of(self, cells: Sequence[str]) -> str:
        """A whole row as ``header\x1fcell`` pairs joined by ``\x1e`` (see :meth:`Row.content`)."""
        if len(self._content_prefixes) != len(cells):
            raise ValueError("the row's cells and the header differ in number")
        return "\x1e".join(map(operator.add, self._content_prefixes, cells))

    def has(self, name: str) -> bool:
        """Whether the file has the field."""
        return name in self.index

    def header(self, name: str, fallback: str = "") -> str:
        """The file's header text for a field (for error messages)."""
        index = self.index.get(name)
        return self.headers[index] if index is not None else fallback or name


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def header_keys(headers: Sequence[str]) -> frozenset[str]:
    """The lookup keys of a header row (for quick format checks)."""
    return frozenset(split_header(h)[0] for h in headers)


class CellError(Exception):
    """A bad cell; the reader turns it into a RowError for its row."""

    def __init__(self, column: str, value: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.value = value
        self.message = message


class Row:
    """One data row seen through a :class:`ColumnMap`.

    ``values`` holds every field's stripped cell (``""`` when the file lacks the field),
    stripped once per row rather than on each read (issue 6).
    """

    def __init__(self, columns: ColumnMap, cells: Sequence[str]) -> None:
        self.columns = columns
        self.cells = cells
        self.values = columns.cells_of(cells)

    def get(self, name: str) -> str:
        """The stripped cell of a field; ``""`` when the file lacks the field."""
        return self.values.get(name, "")

    def required(self, name: str) -> str:
        """A cell that must not be empty."""
        value = self.get(name)
        if not value or value == "-":
            header = self.columns.header(name)
            raise CellError(header, value, f"a value is required in {header}")
        return value

    def amount(self, name: str) -> Decimal:
        """A money cell; empty, ``-`` and ``NULL`` are zero; ``1,234.56`` is read."""
        value = self.get(name)
        try:
            return parse_amount(value)
        except ValueError as exc:
            raise CellError(self.columns.header(name), value, str(exc)) from exc

    def timestamp(self, name: str, zone: str) -> datetime | None:
        """A date-time cell in UTC, or ``None`` when empty or ``-``.

        Huawei writes ``2020-08-23 22:00:00 GMT+08:00``; the ``GMT``/``UTC``
        word is dropped so the offset is read as written.
        """
        value = self.get(name)
        if not value or value == "-":
            return None
        try:
            return _cell_timestamp(value, zone)
        except ValueError as exc:
            raise CellError(self.columns.header(name), value, str(exc)) from exc

    def content(self) -> str:
        """The whole row, for the collision rule of :class:`LineIds`."""
        return self.columns.content_of(self.cells)


_ZONE_WORD = re.compile(r"\s*(?:GMT|UTC)(?=[+-]|$)")
_OFFSET_END = re.compile(r"[+-]\d{2}:?\d{2}$")


@lru_cache(maxsize=16384)
def _cell_timestamp(value: str, zone: str) -> datetime:
    """A date-time cell's value (stripped, not empty) in UTC. Cached: a bill repeats its
    hourly and daily times on many rows. Huawei writes ``2020-08-23 22:00:00 GMT+08:00``:
    the ``GMT``/``UTC`` word is dropped so the offset is read as written."""
    text = _ZONE_WORD.sub(" ", value).strip()
    if text != value and text[-1:].isdigit() and not _OFFSET_END.search(text):
        text += "Z"  # a bare "GMT" or "UTC": the time is in UTC
    return parse_timestamp(text, zone)


_MONTH = re.compile(r"(?P<year>\d{4})[-/.]?(?P<month>\d{1,2})(?:[-/.]\d{1,2})?")


def parse_month(text: str) -> date:
    """A bill month cell (``2024-05``, ``2024/05``, ``202405``, ``2024-05-01``) as its first day."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match["month"]) <= 12:
        raise ValueError("expected a bill month such as 2024-05, 2024/05 or 202405")
    return date(int(match["year"]), int(match["month"]), 1)


def month_of(instant: datetime, zone: str) -> date:
    """First day of the month of ``instant`` in ``zone`` (a deduction time's bill month)."""
    return instant.astimezone(ZoneInfo(zone)).date().replace(day=1)


#: Billing mode words of both providers' consoles, checked in order.
_MODE_WORDS: tuple[tuple[BillingMode, tuple[str, ...]], ...] = (
    (BillingMode.SAVINGS_PLAN, ("节省计划", "savings plan", "saving plan", "svp")),
    (BillingMode.RESERVED, ("预留实例", "reserved instance", "reserved", "ri")),
    (BillingMode.SUBSCRIPTION, (
        "包年包月", "包年/包月", "包年", "包月", "包天", "一次性", "yearly/monthly", "subscription",
        "prepaid", "prepay", "monthly", "yearly", "one-off",
    )),
    (BillingMode.ON_DEMAND, (
        "按量计费", "按量", "按需", "竞价", "pay-as-you-go", "pay as you go", "pay-per-use",
        "postpaid", "postpay", "on-demand", "on demand", "spot",
    )),
)
#: Huawei's ``charging_mode`` codes.
_MODE_CODES: Mapping[str, BillingMode] = {
    "1": BillingMode.SUBSCRIPTION, "3": BillingMode.ON_DEMAND,
    "10": BillingMode.RESERVED, "11": BillingMode.SAVINGS_PLAN,
}


@lru_cache(maxsize=1024)
def billing_mode(text: str) -> BillingMode:
    """The billing mode a console writes (包年包月, 按量计费, 按需, Pay-per-use, ...).

    Unknown or empty is ``other``, never an error: the mode never changes an
    amount, and the raw text is kept in the line's extras. Cached: a bill has a handful of
    mode texts.
    """
    folded = _fold(text)
    if folded in _MODE_CODES:
        return _MODE_CODES[folded]
    words = set(re.split(r"[\s\-_/()]+", folded))
    for mode, keys in _MODE_WORDS:
        for key in keys:
            if (key in words) if key.isascii() and key.isalpha() and len(key) <= 3 else key in folded:
                return mode
    return BillingMode.OTHER


class LineIds:
    """Stable ``line_id`` values from identifying fields, one instance per file.

    The id is ``h:`` + 32 hex digits of a sha256 over ``name=value`` pairs of
    the identifying fields (never amounts). Rows of one file with the same
    identity but different content get ``#2``, ``#3`` ... in order of
    appearance (the FOCUS reader's rule); identical rows share the id and are
    found as duplicates downstream.
    """

    def __init__(self) -> None:
        self._seen: dict[bytes, list[bytes]] = {}

    def assign(self, identity: Sequence[tuple[str, str]], content: str) -> str:
        """The id of a row with this identity and this whole-row content."""
        text = identity_text(identity)
        identity_hash = hashlib.sha256(text.encode())
        identity_digest = identity_hash.digest()[:16]
        content_digest = hashlib.sha256(content.encode()).digest()[:16]
        contents = self._seen.setdefault(identity_digest, [])
        if content_digest not in contents:
            contents.append(content_digest)
        ordinal = contents.index(content_digest) + 1
        if ordinal == 1:  # the id is the identity's own hash: computed once (issue 6)
            return "h:" + identity_hash.hexdigest()[:32]
        text += f"#{ordinal}"
        return "h:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def identity_text(identity: Sequence[tuple[str, str]]) -> str:
    """The hashed text of an identity (field names and values, in the given order)."""
    return "\x1e".join(f"{name}\x1f{value}" for name, value in identity)


def hashed_id(identity: Sequence[tuple[str, str]]) -> str:
    """The id :class:`LineIds` gives the first row with this identity: how a refund
    names the line it reverses without having read it."""
    return "h:" + hashlib.sha256(identity_text(identity).encode()).hexdigest()[:32]


def iter_rows(
    stream: TextIO, file_name: str
) -> tuple[list[str], Iterator[tuple[int, list[str] | RowError]]]:
    """The header row and the data rows of a CSV stream.

    Row numbers are spreadsheet rows (the header is row 1). Blank lines are
    skipped but keep their numbers; a row with the wrong number of cells, or
    one the ``csv`` module cannot read, is a RowError.
    """
    reader = csv.reader(stream)
    try:
        headers = [clean_header(c) for c in next(reader)]
    except StopIteration:
        headers = []

    def rows() -> Iterator[tuple[int, list[str] | RowError]]:
        row_number = 1
        width = len(headers)
        while True:
            row_number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield row_number, RowError(file_name, row_number, "(row)", "", f"unreadable CSV: {exc}")
                continue
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) < width:
                column = headers[len(cells)]
                yield row_number, RowError(
                    file_name, row_number, column, "",
                    f"the row has {len(cells)} cells but the header has {width}; "
                    f"{column} and later columns are missing",
                )
                continue
            if len(cells) > width:
                extra = cells[width:]
                if any(c.strip() for c in extra):
                    yield row_number, RowError(
                        file_name, row_number, "(extra cells)", ",".join(extra),
                        f"the row has {len(cells)} cells but the header has {width}",
                    )
                    continue
                cells = cells[:width]  # trailing empty cells, as spreadsheet exports write
            yield row_number, cells

    return headers, rows()


class RowMapper(Protocol):
    """What a provider's mapper offers: one CSV row to a line, or the row's error."""

    def map_row(self, cells: list[str], row_number: int) -> BillingLine | RowError: ...


def iter_native_csv(
    path: Path, source_name: str | None, mapper_for: Callable[[list[str], str], RowMapper]
) -> Iterator[tuple[int, BillingLine | RowError]]:
    """Stream a provider bill file as ``(row_number, line or RowError)``: open it (plain,
    gzipped or zipped; UTF-8 or GB18030), build the provider's mapper from the header and map
    each row. The mapper raises UnknownFormatError on the first ``next()`` for a foreign header."""
    file_name = source_name or path.name
    with open_text(path) as (stream, _):
        headers, rows = iter_rows(stream, file_name)
        mapper = mapper_for(headers, file_name)
        for row_number, cells in rows:
            yield row_number, cells if isinstance(cells, RowError) else mapper.map_row(cells, row_number)
