"""Validation on every ingest and every settle: runs the pure checks of
:mod:`cloudsettle.core.checks` on what the store holds and records their findings.

- On ingest (:class:`BatchChecks`, wrapped around a batch's rows as they stream by):
  completeness and time window per line, the batch's columns against the previous
  batch of the same source, and each customer's monthly volume against its trailing
  average. Drift findings also open (non-blocking) cases, before anything is settled.
- On settle (:func:`check_period`): completeness and time window over the period's lines.
- Provider totals (:func:`check_provider_totals`): a summary against the lines, per
  customer, month and product, within the ``totals_tolerance`` setting.

Settings (the ``settings`` table, with defaults): ``drift_factor`` (3), ``drift_periods``
(3), ``totals_tolerance`` (0). See ``docs/validation.md``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from cloudsettle.core.checks import (
    ReportedTotal,
    check_columns,
    check_completeness,
    check_time_window,
    check_totals,
    check_volume,
)
from cloudsettle.core.checks.completeness import required_fields
from cloudsettle.core.findings import Finding
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO, D
from cloudsettle.core.periods import parse_period
from cloudsettle.db.models import BillingLineRow, FindingRow, LineRevisionRow
from cloudsettle.db.models_validation import SourceProfileRow
from cloudsettle.db.types import canonical_decimal
from cloudsettle.ingest.errors import RowError
from cloudsettle.services import case_service
from cloudsettle.services.audit import now
from cloudsettle.services.runs import get_setting

Row = tuple[int, BillingLine | RowError]
DRIFT_FACTOR = "drift_factor"
DRIFT_PERIODS = "drift_periods"
TOTALS_TOLERANCE = "totals_tolerance"
#: Earlier months a customer needs before its volume has a baseline (one month is noise).
MIN_HISTORY = 2
#: How many time-window verdicts a batch remembers before it starts afresh.
_WINDOW_MEMO = 1 << 16


def _decimal_setting(session: Session, key: str, default: str) -> Decimal:
    text = get_setting(session, key)
    try:
        return D(text.strip()) if text else D(default)
    except (InvalidOperation, ValueError):
        return D(default)


def drift_factor(session: Session) -> Decimal:
    """How far a customer's volume may move from its trailing average (a factor above 1)."""
    value = _decimal_setting(session, DRIFT_FACTOR, "3")
    return value if value > 1 else D("3")


def drift_periods(session: Session) -> int:
    """How many earlier months make the trailing average."""
    text = get_setting(session, DRIFT_PERIODS)
    return int(text) if text and text.strip().isdigit() and int(text) > 0 else 3


def totals_tolerance(session: Session) -> Decimal:
    """The absolute difference a provider total may have from its lines."""
    return abs(_decimal_setting(session, TOTALS_TOLERANCE, "0"))


def header_of(path: Path) -> list[str] | None:
    """The column names of a CSV bill file (plain or gzipped); None for other formats."""
    name = path.name.lower()
    try:
        if name.endswith(".csv.gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
                return next(csv.reader(handle), None)
        if name.endswith(".csv"):
            with path.open(encoding="utf-8-sig", newline="") as handle:
                return next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def _store(session: Session, findings: Iterable[Finding], *, provider: str | None = None,
           batch_id: int | None = None, run_id: int | None = None, period: str | None = None,
           file_name: str | None = None) -> int:
    stamp, n = now(), 0
    for f in findings:
        session.add(FindingRow(kind=f.kind.value, message=f.message, batch_id=batch_id, run_id=run_id,
                               provider=provider, line_id=f.line_id, partner_id=f.partner_id,
                               agreement_id=f.agreement_id, period=period, file_name=file_name,
                               created_at=stamp))
        n += 1
    return n


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class BatchChecks:
    """The checks of one batch, fed line by line while the batch streams into the store."""

    @classmethod
    def for_source(cls, provider: str, source_kind: str, fmt: str) -> BatchChecks:
        """The checks of a batch from ``provider``'s ``source_kind`` (file, pull) in format ``fmt``:
        column drift compares batches of the same source key, so every caller names it alike."""
        return cls(provider, f"{provider}:{source_kind}:{fmt}")

    def __init__(self, provider: str, source: str) -> None:
        self.provider, self.source = provider, source
        self.findings: list[Finding] = []
        self.accounts: dict[tuple[str, date], set[str]] = {}
        #: ``required_fields`` by (provider, charge category): all it reads of a line.
        self._required: dict[tuple[str, str], tuple[str, ...]] = {}
        #: Whether ``check_time_window`` flags a line, by (provider, charge start, charge end,
        #: bill month): all it reads of a line that is not a correction, but the id it names.
        self._in_window: dict[tuple[str, datetime, datetime, date], bool] = {}

    def watch(self, items: Iterable[Row]) -> Iterator[Row]:
        """Pass the rows through unchanged, checking each line on the way (in row order, each
        line's completeness finding before its time-window one)."""
        findings, accounts = self.findings, self.accounts
        for row_number, item in items:
            if isinstance(item, BillingLine):
                if self._may_be_incomplete(item):
                    findings += check_completeness((item,))
                if self._may_be_outside(item):
                    findings += check_time_window((item,))
                key = (item.provider, item.billing_period)
                seen = accounts.get(key)
                if seen is None:
                    seen = accounts[key] = set()
                seen.add(item.account_id)
            yield row_number, item

    def _may_be_incomplete(self, line: BillingLine) -> bool:
        """Whether ``check_completeness`` could flag ``line`` (issue 6: the fields a line needs
        are worked out once per provider and category, not once per line)."""
        key = (line.provider, line.charge_category.value)
        required = self._required.get(key)
        if required is None:
            required = self._required[key] = required_fields(line)
        return any(getattr(line, name) in ("", None) for name in required)

    def _may_be_outside(self, line: BillingLine) -> bool:
        """Whether ``check_time_window`` could flag ``line``: its verdict on lines with the same
        provider, UTC charge times and bill month, remembered (bills repeat their hours and days).
        Times in another zone are not remembered: equal wall times there may be other instants."""
        if line.is_correction:  # exempt
            return False
        start, end = line.charge_start, line.charge_end
        if start.tzinfo is not UTC or end.tzinfo is not UTC:
            return True
        key = (line.provider, start, end, line.billing_period)
        flagged = self._in_window.get(key)
        if flagged is None:
            if len(self._in_window) >= _WINDOW_MEMO:
                self._in_window.clear()
            flagged = self._in_window[key] = bool(check_time_window((line,)))
        return flagged

    def finish(self, session: Session, *, batch_id: int, file_name: str, columns: Sequence[str] | None,
               actor: str) -> list[Finding]:
        """Source drift against the store, then record every finding (drift also as cases)."""
        drift: list[Finding] = []
        if columns is not None:
            previous = session.scalars(select(SourceProfileRow.columns).where(
                SourceProfileRow.source == self.source).order_by(SourceProfileRow.id.desc())).first()
            drift.extend(check_columns(self.source, list(columns),
                                       json.loads(previous) if previous is not None else None))
            session.add(SourceProfileRow(batch_id=batch_id, source=self.source,
                                         columns=json.dumps(list(columns)), at=now()))
        periods = drift_periods(session)
        factor = drift_factor(session)
        for (provider, month), accounts in sorted(self.accounts.items()):
            volumes = monthly_volumes(session, provider, accounts, _shift(month, -periods), month)
            current = {a: volumes.get((a, month), ZERO) for a in accounts}
            history = {a: [volumes.get((a, _shift(month, -k)), ZERO) for k in range(periods, 0, -1)
                           if (a, _shift(month, -k)) in volumes] for a in accounts}
            drift.extend(check_volume(f"{provider} {month:%Y-%m}", current, history, factor=factor,
                                      min_periods=MIN_HISTORY))
        everything = [*self.findings, *drift]
        _store(session, everything, provider=self.provider, batch_id=batch_id, file_name=file_name)
        case_service.record_batch_findings(session, batch_id=batch_id, findings=drift, actor=actor)
        return everything


def monthly_volumes(session: Session, provider: str, accounts: set[str], first: date,
                    last: date) -> dict[tuple[str, date], Decimal]:
    """Absolute billed volume per (account, bill month) of the current line revisions."""
    out: dict[tuple[str, date], Decimal] = {}
    names = sorted(accounts)
    # Core with the amounts as their stored text, not ORM rows with each amount canonicalised:
    # a revision batch spread over every customer reads back most of the month (issue 6).
    listed_text = cast(LineRevisionRow.list_amount, Text)
    discount_text = cast(LineRevisionRow.discount_amount, Text)
    connection = session.connection()
    for start in range(0, len(names), 500):
        query = (
            select(LineRevisionRow.account_id, LineRevisionRow.billing_period, listed_text, discount_text)
            .join(BillingLineRow, (BillingLineRow.provider == LineRevisionRow.provider)
                  & (BillingLineRow.line_id == LineRevisionRow.line_id)
                  & (BillingLineRow.current_revision == LineRevisionRow.revision))
            .where(LineRevisionRow.provider == provider,
                   LineRevisionRow.account_id.in_(names[start:start + 500]),
                   LineRevisionRow.billing_period >= first, LineRevisionRow.billing_period <= last)
        )
        for account, month, listed, discount in connection.execute(query):
            out[(account, month)] = out.get((account, month), ZERO) + Decimal(listed) - Decimal(discount)
    return {k: canonical_decimal(abs(v)) for k, v in out.items()}  # PostgreSQL's text has 12 places


def check_period(
    session: Session, *, run_id: int, period: str, lines: Iterable[BillingLine]
) -> list[Finding]:
    """Completeness and time window over the lines a period's run read (those billed in it;
    the bulk engine passes only those the checks could flag, ``services/line_feed.py``)."""
    try:
        span = parse_period(period, anchor=None)
    except ValueError:
        return []
    billed = [line for line in lines if span.contains(line.billing_period)]
    findings = [*check_completeness(billed), *check_time_window(billed)]
    _store(session, findings, run_id=run_id, period=period)
    return findings


def check_provider_totals(session: Session, *, provider: str, totals: Sequence[ReportedTotal],
                          lines: Sequence[BillingLine], batch_id: int | None, actor: str) -> list[Finding]:
    """A provider's summary against the lines (``totals_mismatch`` findings, and cases)."""
    findings = check_totals(lines, totals, tolerance=totals_tolerance(session))
    _store(session, findings, provider=provider, batch_id=batch_id)
    if batch_id is not None:
        case_service.record_batch_findings(session, batch_id=batch_id, findings=findings, actor=actor)
    return findings


def read_summary_csv(text: str, provider: str) -> list[ReportedTotal]:
    """A summary file the user uploads: ``month,account_id,service,currency,amount`` (``account_id``
    and ``service`` may be empty for totals over every customer or product)."""
    out = []
    for raw in csv.DictReader(io.StringIO(text)):
        month = date.fromisoformat(raw["month"] + "-01")
        out.append(ReportedTotal(provider, month, raw["currency"], D(raw["amount"]),
                                 account_id=raw.get("account_id") or None,
                                 service=raw.get("service") or None))
    return out
