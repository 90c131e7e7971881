"""FOCUS 1.0, 1.1 and 1.2 files in, normalized billing lines out.

The reader streams: a CSV file is read row by row through the ``csv`` module
over a text stream, so a file of millions of rows never sits in memory. The
mapping from FOCUS columns to :class:`~cloudsettle.core.lines.BillingLine`
lives in :class:`FocusRowMapper`, which takes one row as a mapping of column
name to text (``None`` for null): a Parquet source only has to produce the
same mappings to share it.

What the mapping does (spec: provider-files.md, "FOCUS"; the full table is in
``docs/ingestion.md``):

- ``"NULL"`` and empty cells are nulls.
- ``line_id`` is ``x_LineId`` when given, else ``h:`` + 32 hex digits of a
  sha256 over the identifying columns (never amounts or quantities). Rows of
  one file that share that identity but differ in content get ``#2``, ``#3``
  ... appended to the hashed text in order of appearance, so ids are stable
  when the same file is read again; identical rows keep the same id (a
  duplicate, found later by :func:`cloudsettle.core.revisions.classify`).
- A bad cell yields a :class:`~cloudsettle.ingest.errors.RowError` naming the
  file, row and column, and reading goes on with the next row. A file without
  the required columns is refused whole with
  :class:`~cloudsettle.ingest.errors.UnknownFormatError`.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.money import ZERO
from cloudsettle.ingest.errors import RowError, UnknownFormatError
from cloudsettle.ingest.parsing import home_zone, parse_amount, parse_timestamp, provider_key
from cloudsettle.ingest.sources import clean_header, open_text

#: Columns every FOCUS file must have, besides one of :data:`ACCOUNT_COLUMNS`.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "BillingCurrency",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
)
#: The customer's account is ``SubAccountId``, else ``BillingAccountId``.
ACCOUNT_COLUMNS: tuple[str, ...] = ("SubAccountId", "BillingAccountId")

#: Columns that identify a row when there is no ``x_LineId`` (never amounts or
#: quantities, so a restated amount is a revision of the same line).
IDENTITY_COLUMNS: tuple[str, ...] = (
    "ProviderName",
    "BillingAccountId",
    "SubAccountId",
    "InvoiceId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "PricingCategory",
    "ServiceName",
    "RegionId",
    "ResourceId",
    "SkuId",
    "SkuPriceId",
    "CommitmentDiscountId",
    "x_OriginalLineId",
)

#: ``x_`` columns the mapping consumes; every other ``x_`` column is an extra.
MAPPED_X_COLUMNS: frozenset[str] = frozenset(
    {
        "x_LineId",
        "x_Project",
        "x_BillingMode",
        "x_PaidAt",
        "x_VoucherAmount",
        "x_TaxAmount",
        "x_OriginalLineId",
        "x_ServiceNameLocal",
        "x_ChargeDescriptionLocal",
    }
)

#: FOCUS columns kept in ``extras`` (when not null) so ``explain`` can show them.
EXTRA_FOCUS_COLUMNS: tuple[str, ...] = (
    "ChargeDescription",
    "SkuId",
    "SkuPriceId",
    "ResourceName",
    "SubAccountName",
    "BillingAccountName",
    "Tags",
)

_NULLS = frozenset({"", "NULL"})

_CHARGE_CATEGORIES: Mapping[str, ChargeCategory] = {c.value: c for c in ChargeCategory}
_BILLING_MODES: Mapping[str, BillingMode] = {m.value: m for m in BillingMode}
_PRICING_MODES: Mapping[str, BillingMode] = {
    "standard": BillingMode.ON_DEMAND,
    "dynamic": BillingMode.ON_DEMAND,
    "committed": BillingMode.RESERVED,
}

Row = Mapping[str, str | None]
"""One FOCUS row: column name to its text, ``None`` for null."""


def is_focus_header(headers: Sequence[str]) -> bool:
    """Whether ``headers`` are a FOCUS file's (all required columns and an account)."""
    present = {h.strip() for h in headers}
    return all(c in present for c in REQUIRED_COLUMNS) and any(c in present for c in ACCOUNT_COLUMNS)


def check_focus_header(headers: Sequence[str], file_name: str) -> None:
    """Refuse a file whose headers are not FOCUS, naming what is missing."""
    if is_focus_header(headers):
        return
    present = {h.strip() for h in headers}
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    detail = "not a FOCUS file"
    if not any(c in present for c in ACCOUNT_COLUMNS):
        missing.append("SubAccountId|BillingAccountId")
        detail += "; it needs SubAccountId or BillingAccountId"
    raise UnknownFormatError(
        file_name,
        expected=(*REQUIRED_COLUMNS, "SubAccountId|BillingAccountId"),
        found=tuple(headers),
        detail=detail,
        missing=missing,
    )


class _CellError(Exception):
    """A bad cell inside the mapper; becomes a RowError for its row."""

    def __init__(self, column: str, value: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.value = value or ""
        self.message = message


class FocusRowMapper:
    """Maps FOCUS rows of one file to billing lines.

    It is stateful on purpose: it remembers, per identity, the distinct row
    contents seen so far, to number colliding rows (``#2``, ``#3``) in order of
    appearance. Use one mapper per file, fed in file order.
    """

    def __init__(self, headers: Sequence[str], file_name: str) -> None:
        self.headers: tuple[str, ...] = tuple(h.strip() for h in headers)
        self.file_name = file_name
        check_focus_header(self.headers, file_name)
        present = set(self.headers)
        id_like = sorted(
            h for h in present if h.endswith("Id") and h not in IDENTITY_COLUMNS and h != "x_LineId"
        )
        self._identity_columns: tuple[str, ...] = tuple(
            sorted([c for c in IDENTITY_COLUMNS if c in present] + id_like)
        )
        self._extra_columns: tuple[str, ...] = tuple(
            c
            for c in self.headers
            if (c.startswith("x_") and c not in MAPPED_X_COLUMNS) or c in EXTRA_FOCUS_COLUMNS
        )
        # identity digest -> content digests in order of first appearance
        self._seen: dict[bytes, list[bytes]] = {}

    def line_id(self, row: Row) -> str:
        """The row's ``line_id``: ``x_LineId``, else the stable hashed identity."""
        given = row.get("x_LineId")
        if given:
            return given
        identity = "\x1e".join(
            f"{name}\x1f{row[name]}" for name in self._identity_columns if row.get(name) is not None
        )
        identity_digest = hashlib.sha256(identity.encode()).digest()[:16]
        content = "\x1e".join(
            f"{name}\x1f{'' if value is None else value}" for name, value in sorted(row.items())
        )
        content_digest = hashlib.sha256(content.encode()).digest()[:16]
        contents = self._seen.setdefault(identity_digest, [])
        if content_digest not in contents:
            contents.append(content_digest)
        ordinal = contents.index(content_digest) + 1
        if ordinal > 1:
            identity += f"#{ordinal}"
        return "h:" + hashlib.sha256(identity.encode()).hexdigest()[:32]

    def map_row(self, row: Row, row_number: int) -> BillingLine | RowError:
        """One row to a line, or to a RowError naming the bad column."""
        try:
            return self._map(row)
        except _CellError as exc:
            return RowError(self.file_name, row_number, exc.column, exc.value, exc.message)

    def _map(self, row: Row) -> BillingLine:
        line_id = self.line_id(row)
        provider_name = _required(row, "ProviderName")
        try:
            provider = provider_key(provider_name)
        except ValueError as exc:
            raise _CellError("ProviderName", provider_name, str(exc)) from exc
        zone = home_zone(provider)
        account_column = "SubAccountId" if row.get("SubAccountId") else "BillingAccountId"
        account_id = _required(row, account_column)
        billed = _amount(row, "BilledCost", required=True)
        list_cost = _amount(row, "ListCost") if row.get("ListCost") is not None else billed
        charge_start = _timestamp(row, "ChargePeriodStart", zone, required=True)
        charge_end = _timestamp(row, "ChargePeriodEnd", zone, required=True)
        if charge_start is None or charge_end is None:  # pragma: no cover - required above
            raise AssertionError("required timestamps")
        if charge_end < charge_start:
            raise _CellError(
                "ChargePeriodEnd",
                row.get("ChargePeriodEnd"),
                "ChargePeriodEnd is before ChargePeriodStart",
            )
        extras = {c: v for c in self._extra_columns if (v := row.get(c)) is not None}
        # Our own export writes ASCII names for the validator and keeps the provider's
        # (Chinese) text in x_*Local columns: reading it back restores the original.
        if local_description := row.get("x_ChargeDescriptionLocal"):
            extras["ChargeDescription"] = local_description
        return BillingLine(
            line_id=line_id,
            provider=provider,
            account_id=account_id,
            payer_account_id=row.get("BillingAccountId") or "",
            invoice_id=row.get("InvoiceId") or "",
            service=row.get("x_ServiceNameLocal") or row.get("ServiceName") or "",
            service_category=row.get("ServiceCategory") or "",
            region=row.get("RegionId") or "",
            project=row.get("x_Project") or "",
            resource_id=row.get("ResourceId") or "",
            billing_mode=_billing_mode(row),
            charge_category=_charge_category(row),
            is_correction=(row.get("ChargeClass") or "").casefold() == "correction",
            charge_start=charge_start,
            charge_end=charge_end,
            billing_period=_billing_period(row, zone),
            paid_at=_timestamp(row, "x_PaidAt", zone),
            list_amount=list_cost,
            discount_amount=list_cost - billed,
            voucher_amount=_amount(row, "x_VoucherAmount"),
            tax_amount=_amount(row, "x_TaxAmount"),
            currency=_required(row, "BillingCurrency"),
            original_line_id=row.get("x_OriginalLineId"),
            extras=MappingProxyType(extras),
        )


def _required(row: Row, column: str) -> str:
    value = row.get(column)
    if value is None:
        raise _CellError(column, value, f"a value is required in {column}")
    return value


def _amount(row: Row, column: str, *, required: bool = False) -> Decimal:
    value = row.get(column)
    if value is None:
        if required:
            raise _CellError(column, value, f"a value is required in {column}")
        return ZERO
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise _CellError(column, value, str(exc)) from exc


def _timestamp(row: Row, column: str, zone: str, *, required: bool = False) -> datetime | None:
    value = row.get(column)
    if value is None:
        if required:
            raise _CellError(column, value, f"a value is required in {column}")
        return None
    try:
        return parse_timestamp(value, zone)
    except ValueError as exc:
        raise _CellError(column, value, str(exc)) from exc


def _billing_period(row: Row, zone: str) -> date:
    """First day of the month of ``BillingPeriodStart`` in the provider's home zone:
    Huawei's ``2024-12-31T16:00:00Z`` is 2025-01-01 08:00 in Shanghai -> 2025-01-01."""
    start = _timestamp(row, "BillingPeriodStart", zone, required=True)
    assert start is not None
    return start.astimezone(ZoneInfo(zone)).date().replace(day=1)


def _charge_category(row: Row) -> ChargeCategory:
    text = _required(row, "ChargeCategory")
    category = _CHARGE_CATEGORIES.get(text.casefold())
    if category is None:
        raise _CellError("ChargeCategory", text, "expected one of Usage, Purchase, Tax, Credit, Adjustment")
    return category


def _billing_mode(row: Row) -> BillingMode:
    """``x_BillingMode`` if given; else from ChargeFrequency, ChargeCategory and
    PricingCategory: recurring or purchase -> subscription, Standard/Dynamic ->
    on_demand, Committed -> reserved, anything else -> other."""
    given = row.get("x_BillingMode")
    if given is not None:
        mode = _BILLING_MODES.get(given.casefold())
        if mode is None:
            raise _CellError("x_BillingMode", given, f"expected one of {', '.join(_BILLING_MODES)}")
        return mode
    if (row.get("ChargeFrequency") or "").casefold() == "recurring" or (
        row.get("ChargeCategory") or ""
    ).casefold() == "purchase":
        return BillingMode.SUBSCRIPTION
    return _PRICING_MODES.get((row.get("PricingCategory") or "").casefold(), BillingMode.OTHER)


def _null(cell: str) -> str | None:
    text = cell.strip()
    return None if text in _NULLS else text


def iter_focus_csv(
    path: Path, *, source_name: str | None = None
) -> Iterator[tuple[int, BillingLine | RowError]]:
    """Stream a FOCUS CSV as ``(row_number, line or RowError)``, row 2 being the first
    data row; the row number is what a batch records as the line's source.

    Plain, gzipped or zipped, UTF-8 with or without a byte-order mark or
    GB18030 (read through :func:`cloudsettle.ingest.sources.open_text`). Raises
    :class:`~cloudsettle.ingest.errors.UnknownFormatError` on the first
    ``next()`` if the headers are not FOCUS.
    """
    file_name = source_name or path.name
    with open_text(path) as (stream, _):
        reader = csv.reader(stream)
        try:
            headers = [clean_header(h) for h in next(reader)]
        except StopIteration:
            headers = []
        mapper = FocusRowMapper(headers, file_name)
        width = len(mapper.headers)
        row_number = 1
        while True:
            row_number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = f"unreadable CSV: {exc}"
                yield row_number, RowError(file_name, row_number, "(row)", "", message)
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line: nothing to read, but it keeps its row number
            if len(cells) != width:
                yield row_number, _shape_error(file_name, row_number, mapper.headers, cells)
                continue
            row = {name: _null(cell) for name, cell in zip(mapper.headers, cells, strict=True)}
            yield row_number, mapper.map_row(row, row_number)


def _shape_error(file_name: str, row_number: int, headers: Sequence[str], cells: Sequence[str]) -> RowError:
    if len(cells) < len(headers):
        column = headers[len(cells)]
        message = (
            f"the row has {len(cells)} cells but the header has {len(headers)} "
            f"(a cut or truncated row?); {column} and later columns are missing"
        )
        return RowError(file_name, row_number, column, "", message)
    extra = ",".join(cells[len(headers) :])
    message = f"the row has {len(cells)} cells but the header has {len(headers)}"
    return RowError(file_name, row_number, "(extra cells)", extra, message)


def read_focus_csv(path: Path, *, source_name: str | None = None) -> Iterator[BillingLine | RowError]:
    """Stream a FOCUS CSV file as billing lines, with a RowError in place of each bad row.

    ``source_name`` is the file name used in errors (default: ``path.name``,
    useful when reading a content-addressed copy from the raw store).
    """
    for _, item in iter_focus_csv(path, source_name=source_name):
        yield item
