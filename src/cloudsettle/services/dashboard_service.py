"""The dashboard's figures: where each period stands, what it billed and paid, how the
last periods trend, and how healthy the inputs are.

Every figure is one set-based query over the control store (``GROUP BY`` in the
database), never a walk over the lines in Python. Money is summed exactly on both
backends: PostgreSQL sums its ``NUMERIC`` columns; on SQLite, whose money columns are
canonical text (:class:`cloudsettle.db.types.Money`) and whose own ``SUM`` goes through
a double, the session's connection gets exact aggregate functions (``cs_dsum``,
``cs_dsub``, ``cs_dmul``, ``cs_dneg``: Python ``Decimal`` in the wide
:data:`~cloudsettle.core.money.EXACT` context) and the same ``GROUP BY`` runs with them.
Amounts in different currencies are never added together: every money figure is keyed
by its currency.

The meaning of each figure (also in ``docs/ui.md``, "Dashboard"):

- **stage** of a partner in a period: the furthest step all of its live statements of
  that period reached (:data:`STAGES`); ``in_exception`` as soon as one is held by an
  open case. Before any statement: ``validated`` when a finished run covered the
  partner and no open blocking finding names it, ``ingested`` when lines of a customer
  with a deal of the partner are billed in the period.
- **billed**: ``list_amount − discount_amount`` (what the provider billed after
  discounts, as ``billed_total`` of the spec), over the current revisions of the lines
  billed in the period (bill month), tax lines excluded. A partner sees only the lines
  on its own statements, each weighted by the fraction its statement took.
- **refunds**: the billed amount of the lines whose billed amount is negative
  (credit lines, which are vouchers, and tax lines excluded); negative.
- **commission**, **clawback**, **payable**: the statement components, summed.
- **partner cost**: what the period's statements cost the reseller, as the ledger
  accrues it: ``commission + tier_uplift + clawback + cap_adjustment + fees +
  manual_adjustment + prior_period_adjustment`` (= ``payable − carried_in +
  carried_out``; the carry-forward only moves cash between periods).
- **rebate**: what the provider pays the reseller for the month (Tencent's rebate,
  Huawei's incentive): the provider figures ``cloudsettle reconcile`` compares with.
- **margin** = rebate − partner cost, per period and currency; none where no provider
  figure of that currency was imported for the period (never a guess).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, and_, case, func, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute, Session

from cloudsettle.core.money import EXACT, ZERO, D
from cloudsettle.core.periods import parse_period
from cloudsettle.db.models import (
    BillingLineRow,
    DealRow,
    FindingRow,
    IngestBatchRow,
    LineRevisionRow,
    PartnerRow,
    RunRow,
    StatementLineRow,
    StatementRow,
)
from cloudsettle.db.models_validation import ProviderFigureRow
from cloudsettle.db.models_workflow import CaseRow
from cloudsettle.db.types import Money
from cloudsettle.services.case_service import ACTIVE, DISPUTE, POLICY
from cloudsettle.services.runs import get_setting

#: The pipeline of a partner's period, in order (DESIGN.md "Words").
STAGES: tuple[str, ...] = (
    "ingested", "validated", "calculated", "in_exception", "approved", "settled", "paid",
)
STAGE_LABELS: dict[str, str] = {
    "ingested": "Ingested", "validated": "Validated", "calculated": "Calculated",
    "in_exception": "In exception", "approved": "Approved", "settled": "Settled", "paid": "Paid",
}
#: Statement statuses in the order a statement moves through them (``in_exception`` aside).
_PROGRESS = ("calculated", "approved", "settled", "paid")
#: Finding kinds that hold statements (their cases are blocking).
BLOCKING_KINDS: tuple[str, ...] = tuple(sorted(k for k, (_, blocking) in POLICY.items() if blocking))
#: How many periods the trend charts and the status matrix show.
TREND_PERIODS = 12
MATRIX_PERIODS = 6
#: How many of each source's latest batches its failure rate covers.
RECENT_BATCHES = 10
#: Hours after which a source is stale unless the setting ``freshness_hours.<kind>`` says
#: otherwise: a monthly bill file is due every month, an API pull every day or so.
DEFAULT_FRESHNESS_HOURS: dict[str, int] = {"file": 35 * 24, "api": 48}
#: The reseller's own rebate policy is entered as partner ``PROVIDER-<PROVIDER>``
#: (:mod:`cloudsettle.services.reconcile_service`); it is not a payee.
POLICY_PARTNER_PREFIX = "PROVIDER-"
_NOT_BILLED = ("tax",)
_NOT_REFUND = ("tax", "credit")
_HUNDRED = D(100)
_RATE_PLACES = D("0.01")
#: A column or an expression over columns.
Expr = ColumnElement[Any] | InstrumentedAttribute[Any]


# --- exact money aggregation on both backends ----------------------------------------------


def _dec(value: object) -> Decimal:
    """A value of an exact function: text (SQLite) or a Decimal; NULL is zero."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"not an exact amount: {value!r}")


class _DecimalSum:
    """SQLite aggregate ``cs_dsum``: the exact sum of decimal text, as text (NULL if none)."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: object) -> None:
        if value is not None:
            self.total = EXACT.add(ZERO if self.total is None else self.total, _dec(value))

    def finalize(self) -> str | None:
        return None if self.total is None else format(self.total, "f")


def _dsub(a: object, b: object) -> str:
    return format(EXACT.subtract(_dec(a), _dec(b)), "f")


def _dmul(a: object, b: object) -> str:
    return format(EXACT.multiply(_dec(a), _dec(b)), "f")


def _dneg(a: object) -> int:
    return int(_dec(a) < 0)


class Exact:
    """SQL for exact money arithmetic on the session's backend (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        if self.sqlite:
            raw = session.connection().connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            raw.create_aggregate("cs_dsum", 1, _DecimalSum)  # type: ignore[arg-type]  # step(object)
            raw.create_function("cs_dsub", 2, _dsub, deterministic=True)
            raw.create_function("cs_dmul", 2, _dmul, deterministic=True)
            raw.create_function("cs_dneg", 1, _dneg, deterministic=True)

    def sum(self, expr: Expr) -> ColumnElement[Decimal]:
        """``SUM(expr)``, exact."""
        if self.sqlite:
            return func.cs_dsum(expr, type_=Money())
        return func.sum(expr, type_=Money())

    def sub(self, a: Expr, b: Expr) -> ColumnElement[Any]:
        """``a − b``, exact."""
        return func.cs_dsub(a, b) if self.sqlite else _numeric(a) - _numeric(b)

    def mul(self, a: Expr, b: Expr) -> ColumnElement[Any]:
        """``a × b``, exact."""
        return func.cs_dmul(a, b) if self.sqlite else _numeric(a) * _numeric(b)

    def negative(self, expr: Expr) -> ColumnElement[bool]:
        """``expr < 0``, exact."""
        return func.cs_dneg(expr) == 1 if self.sqlite else _numeric(expr) < 0


def _numeric(expr: Expr) -> ColumnElement[Decimal]:
    """A money column as PostgreSQL's exact ``NUMERIC`` for arithmetic (no SQL cast emitted)."""
    return type_coerce(expr, Numeric(asdecimal=True))


# --- periods ------------------------------------------------------------------------------------


def period_key(name: str) -> tuple[date, date, str]:
    """Sort key of a period name: its first and last day (a biweekly name is its first day)."""
    try:
        p = parse_period(name)
        return p.start, p.end, name
    except ValueError:
        try:
            day = date.fromisoformat(name)
        except ValueError:
            return date.min, date.min, name
        return day, day + timedelta(days=13), name


def bill_months(name: str) -> tuple[date, ...]:
    """The bill months (first days) whose lines a period's line figures cover: the month
    itself, or a quarter's three months; none for weekly and biweekly periods (a line's
    bill month does not fall inside a week)."""
    try:
        p = parse_period(name)
    except ValueError:
        return ()
    if p.cycle.value not in ("monthly", "quarterly"):
        return ()
    months = []
    day = p.start
    while day <= p.end:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return tuple(months)


def _month_name(day: date) -> str:
    return f"{day:%Y-%m}"


def _live(partner_id: str | None) -> list[ColumnElement[bool]]:
    """Live statements of payees (of one partner)."""
    out: list[ColumnElement[bool]] = [
        StatementRow.mode == "live", ~StatementRow.partner_id.startswith(POLICY_PARTNER_PREFIX),
    ]
    if partner_id is not None:
        out.append(StatementRow.partner_id == partner_id)
    return out


def _current() -> ColumnElement[bool]:
    """Join condition: the line revision is its line's current one."""
    return and_(
        BillingLineRow.provider == LineRevisionRow.provider,
        BillingLineRow.line_id == LineRevisionRow.line_id,
        BillingLineRow.current_revision == LineRevisionRow.revision,
    )


def _statement_line_revision() -> ColumnElement[bool]:
    """Join condition: the line revision a statement line used."""
    return and_(
        LineRevisionRow.provider == StatementLineRow.provider,
        LineRevisionRow.line_id == StatementLineRow.line_id,
        LineRevisionRow.revision == StatementLineRow.revision,
    )


def available_periods(session: Session, *, partner_id: str | None) -> list[str]:
    """Every period with a live statement (of the partner), and, for everyone but a partner,
    every bill month with lines; newest first."""
    names = set(session.scalars(select(StatementRow.period).where(*_live(partner_id)).distinct()))
    if partner_id is None:
        months = session.scalars(select(LineRevisionRow.billing_period).distinct())
        names.update(_month_name(m) for m in months)
    return sorted(names, key=period_key, reverse=True)


# --- status pipeline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """Where one partner's period stands.

    Attributes:
      stage: one of :data:`STAGES`, or None when nothing of the period concerns it yet.
      statuses: its live statements per status, ``(status, count)`` in status order.
    """

    stage: str | None
    statuses: tuple[tuple[str, int], ...] = ()

    @property
    def label(self) -> str:
        """The stage in words (the matrix shows it as text, not only as a colour)."""
        return STAGE_LABELS[self.stage] if self.stage else "Nothing yet"

    @property
    def detail(self) -> str:
        """The statement counts behind the stage, e.g. ``2 statements: approved 1, settled 1``."""
        if not self.statuses:
            return self.label
        n = sum(c for _, c in self.statuses)
        parts = ", ".join(f"{s.replace('_', ' ')} {c}" for s, c in self.statuses)
        return f"{n} statement{'s' if n != 1 else ''}: {parts}"


@dataclass(frozen=True)
class Pipeline:
    """The status matrix: one row per partner, one cell per period (oldest first)."""

    periods: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]

    def cell(self, partner_id: str, period: str) -> Cell:
        """One partner's cell (KeyError for a partner or period not shown)."""
        cells = dict(self.rows)[partner_id]
        return cells[self.periods.index(period)]

    def period_stage(self, period: str) -> Cell:
        """The period as a whole: the least advanced of the partners it concerns."""
        i = self.periods.index(period)
        cells = [cells[i] for _, cells in self.rows if cells[i].stage is not None]
        if not cells:
            return Cell(None)
        totals: dict[str, int] = defaultdict(int)
        for c in cells:
            for status, n in c.statuses:
                totals[status] += n
        stage = min((c.stage for c in cells if c.stage), key=_stage_rank)
        return Cell(stage, _ordered(totals))


def _stage_rank(stage: str) -> int:
    """Order for "least advanced": ``in_exception`` counts as just after ``calculated``."""
    return STAGES.index(stage)


def _ordered(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    order = ("calculated", "in_exception", "approved", "settled", "paid")
    ranked = sorted(counts, key=lambda s: (order.index(s) if s in order else 99, s))
    return tuple((s, counts[s]) for s in ranked)


def stage_of(statuses: dict[str, int], *, validated: bool, ingested: bool) -> str | None:
    """The furthest stage all of a partner's statements of a period reached (module docstring)."""
    if statuses:
        if statuses.get("in_exception"):
            return "in_exception"
        known = [s for s in statuses if s in _PROGRESS]
        return min(known, key=_PROGRESS.index) if known else "calculated"
    if validated and ingested:
        return "validated"
    return "ingested" if ingested else None


def pipeline(session: Session, *, periods: Sequence[str], partner_ids: Sequence[str]) -> Pipeline:
    """The status matrix of ``partner_ids`` over ``periods`` (given oldest first)."""
    if not periods or not partner_ids:
        return Pipeline(tuple(periods), tuple((p, tuple(Cell(None) for _ in periods)) for p in partner_ids))
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for partner, period, status, n in session.execute(
        select(StatementRow.partner_id, StatementRow.period, StatementRow.status, func.count())
        .where(*_live(None), StatementRow.period.in_(periods), StatementRow.partner_id.in_(partner_ids))
        .group_by(StatementRow.partner_id, StatementRow.period, StatementRow.status)
    ):
        counts[(partner, period)][status] = int(n)
    months = {p: bill_months(p) for p in periods}
    every_month = sorted({m for ms in months.values() for m in ms})
    ingested_months: set[tuple[str, date]] = set()
    if every_month:
        billed = (
            select(LineRevisionRow.provider, LineRevisionRow.account_id, LineRevisionRow.billing_period)
            .where(LineRevisionRow.billing_period.in_(every_month))
            .distinct()
            .subquery()
        )
        query = (
            select(DealRow.partner_id, billed.c.billing_period)
            .join(billed, and_(billed.c.provider == DealRow.provider,
                               billed.c.account_id == DealRow.account_id))
            .where(DealRow.partner_id.in_(partner_ids))
            .distinct()
        )
        ingested_months = {(p, m) for p, m in session.execute(query)}
    ran: dict[str, set[str | None]] = defaultdict(set)
    for run_period, run_partner in session.execute(
        select(RunRow.period, RunRow.partner_id)
        .where(RunRow.period.in_(periods), RunRow.status == "finished")
        .distinct()
    ):
        ran[run_period].add(run_partner)
    blocked = {(partner, period) for partner, period in session.execute(
        select(FindingRow.partner_id, FindingRow.period)
        .where(FindingRow.status == "open", FindingRow.kind.in_(BLOCKING_KINDS),
               FindingRow.period.in_(periods), FindingRow.partner_id.in_(partner_ids))
        .distinct()
    )}
    rows = []
    for partner in partner_ids:
        cells = []
        for period in periods:
            statuses = counts.get((partner, period), {})
            ingested = any((partner, m) in ingested_months for m in months[period])
            validated = (None in ran[period] or partner in ran[period]) and (partner, period) not in blocked
            stage = stage_of(statuses, validated=validated, ingested=ingested)
            cells.append(Cell(stage, _ordered(statuses)))
        rows.append((partner, tuple(cells)))
    return Pipeline(tuple(periods), tuple(rows))


# --- totals of one period -----------------------------------------------------------------------


@dataclass(frozen=True)
class Billed:
    """What the provider billed for one group (a provider or a service category) in one currency."""

    key: str
    currency: str
    amount: Decimal
    lines: int


@dataclass(frozen=True)
class PartnerTotal:
    """A partner's live statements of the period in one currency, summed."""

    partner_id: str
    currency: str
    statements: int
    statuses: tuple[tuple[str, int], ...]
    billed: Decimal
    commission: Decimal
    clawback: Decimal
    payable: Decimal


@dataclass(frozen=True)
class CurrencyTotal:
    """The partner totals of one currency added up."""

    currency: str
    statements: int
    billed: Decimal
    commission: Decimal
    clawback: Decimal
    payable: Decimal


@dataclass(frozen=True)
class PeriodTotals:
    """The chosen period: billed by provider and by service category, figures by partner."""

    period: str
    by_provider: tuple[Billed, ...]
    by_category: tuple[Billed, ...]
    by_partner: tuple[PartnerTotal, ...]
    lines_covered: bool

    @property
    def currencies(self) -> tuple[CurrencyTotal, ...]:
        """The partner totals per currency (never across currencies)."""
        acc: dict[str, list[Decimal]] = {}
        count: dict[str, int] = defaultdict(int)
        for t in self.by_partner:
            a = acc.setdefault(t.currency, [ZERO, ZERO, ZERO, ZERO])
            a[0] += t.billed
            a[1] += t.commission
            a[2] += t.clawback
            a[3] += t.payable
            count[t.currency] += t.statements
        return tuple(CurrencyTotal(c, count[c], *acc[c]) for c in sorted(acc))


def _billed_groups(session: Session, x: Exact, months: Sequence[date], *, period: str,
                   partner_id: str | None) -> list[tuple[str, str, str, Decimal, int]]:
    """``(provider, service_category, currency, billed, lines)`` of the period."""
    net = x.sub(LineRevisionRow.list_amount, LineRevisionRow.discount_amount)
    if partner_id is None:
        query = (
            select(LineRevisionRow.provider, LineRevisionRow.service_category, LineRevisionRow.currency,
                   x.sum(net), func.count())
            .join(BillingLineRow, _current())
            .where(LineRevisionRow.billing_period.in_(months),
                   LineRevisionRow.charge_category.not_in(_NOT_BILLED))
        )
    else:
        line_key = LineRevisionRow.provider.concat(":").concat(LineRevisionRow.line_id)
        query = (
            select(LineRevisionRow.provider, LineRevisionRow.service_category, LineRevisionRow.currency,
                   x.sum(x.mul(net, StatementLineRow.fraction)), func.count(func.distinct(line_key)))
            .select_from(StatementLineRow)
            .join(StatementRow, StatementRow.id == StatementLineRow.statement_id)
            .join(LineRevisionRow, _statement_line_revision())
            .where(*_live(partner_id), StatementRow.period == period,
                   LineRevisionRow.charge_category.not_in(_NOT_BILLED))
        )
    query = query.group_by(LineRevisionRow.provider, LineRevisionRow.service_category,
                           LineRevisionRow.currency)
    return [(p, c or "(none)", cur, _dec(amount), int(n)) for p, c, cur, amount, n in session.execute(query)]


def _roll_up(groups: Iterable[tuple[str, str, Decimal, int]]) -> tuple[Billed, ...]:
    acc: dict[tuple[str, str], list[Any]] = {}
    for key, currency, amount, lines in groups:
        a = acc.setdefault((key, currency), [ZERO, 0])
        a[0] += amount
        a[1] += lines
    return tuple(Billed(k, c, a[0], a[1]) for (k, c), a in sorted(acc.items()))


def period_totals(session: Session, *, period: str, partner_id: str | None) -> PeriodTotals:
    """The chosen period's totals (see the module docstring for each figure)."""
    x = Exact(session)
    months = bill_months(period)
    groups = _billed_groups(session, x, months, period=period, partner_id=partner_id) if (
        months or partner_id is not None) else []
    by_provider = _roll_up((p, cur, a, n) for p, _, cur, a, n in groups)
    by_category = _roll_up((c, cur, a, n) for _, c, cur, a, n in groups)
    statuses: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for partner, currency, status, n in session.execute(
        select(StatementRow.partner_id, StatementRow.currency, StatementRow.status, func.count())
        .where(*_live(partner_id), StatementRow.period == period)
        .group_by(StatementRow.partner_id, StatementRow.currency, StatementRow.status)
    ):
        statuses[(partner, currency)][status] = int(n)
    by_partner = []
    for partner, currency, n, billed, commission, clawback, payable in session.execute(
        select(StatementRow.partner_id, StatementRow.currency, func.count(), x.sum(StatementRow.billed_total),
               x.sum(StatementRow.commission), x.sum(StatementRow.clawback), x.sum(StatementRow.payable))
        .where(*_live(partner_id), StatementRow.period == period)
        .group_by(StatementRow.partner_id, StatementRow.currency)
        .order_by(StatementRow.partner_id, StatementRow.currency)
    ):
        by_partner.append(PartnerTotal(partner, currency, int(n), _ordered(statuses[(partner, currency)]),
                                       _dec(billed), _dec(commission), _dec(clawback), _dec(payable)))
    return PeriodTotals(period, by_provider, by_category, tuple(by_partner), bool(months))


# --- trends -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """One period of one currency's trend (module docstring for each figure)."""

    period: str
    commission: Decimal
    clawback: Decimal
    refunds: Decimal
    partner_cost: Decimal
    rebate: Decimal | None

    @property
    def margin(self) -> Decimal | None:
        """Rebate − partner cost; None without a provider figure."""
        return None if self.rebate is None else self.rebate - self.partner_cost


@dataclass(frozen=True)
class Trend:
    """One currency's figures over the trend periods (oldest first)."""

    currency: str
    points: tuple[TrendPoint, ...]

    def series(self, name: str) -> tuple[Decimal | None, ...]:
        """One figure over the periods (``margin`` has gaps where no rebate is known)."""
        return tuple(getattr(p, name) for p in self.points)


_COST_PARTS = ("commission", "tier_uplift", "clawback", "cap_adjustment", "fees", "manual_adjustment",
               "prior_period_adjustment")


def trends(
    session: Session, *, periods: Sequence[str], partner_id: str | None, margin: bool
) -> tuple[Trend, ...]:
    """The trend figures of ``periods`` (oldest first), per currency; with ``margin`` also the
    provider's rebate (internal readers only: it is the reseller's own income)."""
    if not periods:
        return ()
    x = Exact(session)
    zero = (ZERO, ZERO, ZERO, ZERO)
    stm: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal, Decimal]] = {}
    columns = [x.sum(getattr(StatementRow, name)) for name in _COST_PARTS]
    for period, currency, *sums in session.execute(
        select(StatementRow.period, StatementRow.currency, *columns)
        .where(*_live(partner_id), StatementRow.period.in_(periods))
        .group_by(StatementRow.period, StatementRow.currency)
    ):
        parts = dict(zip(_COST_PARTS, (_dec(s) for s in sums), strict=True))
        cost = sum(parts.values(), ZERO)
        stm[(period, currency)] = (parts["commission"], parts["clawback"], cost, ZERO)
    refunds: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    months_of = {p: bill_months(p) for p in periods}
    net = x.sub(LineRevisionRow.list_amount, LineRevisionRow.discount_amount)
    if partner_id is None:
        every_month = sorted({m for ms in months_of.values() for m in ms})
        by_month: dict[tuple[date, str], Decimal] = {}
        if every_month:
            for month, currency, amount in session.execute(
                select(LineRevisionRow.billing_period, LineRevisionRow.currency, x.sum(net))
                .join(BillingLineRow, _current())
                .where(LineRevisionRow.billing_period.in_(every_month),
                       LineRevisionRow.charge_category.not_in(_NOT_REFUND), x.negative(net))
                .group_by(LineRevisionRow.billing_period, LineRevisionRow.currency)
            ):
                by_month[(month, currency)] = _dec(amount)
        for period, months in months_of.items():
            for (month, currency), amount in by_month.items():
                if month in months:
                    refunds[(period, currency)] += amount
    else:
        for period, currency, amount in session.execute(
            select(StatementRow.period, LineRevisionRow.currency,
                   x.sum(x.mul(net, StatementLineRow.fraction)))
            .select_from(StatementLineRow)
            .join(StatementRow, StatementRow.id == StatementLineRow.statement_id)
            .join(LineRevisionRow, _statement_line_revision())
            .where(*_live(partner_id), StatementRow.period.in_(periods),
                   LineRevisionRow.charge_category.not_in(_NOT_REFUND), x.negative(net))
            .group_by(StatementRow.period, LineRevisionRow.currency)
        ):
            refunds[(period, currency)] += _dec(amount)
    rebates: dict[tuple[str, str], Decimal] = {}
    if margin:
        month_names = {_month_name(m): p for p, ms in months_of.items() for m in ms}
        if month_names:
            for figure_month, currency, amount in session.execute(
                select(ProviderFigureRow.month, ProviderFigureRow.currency, x.sum(ProviderFigureRow.amount))
                .where(ProviderFigureRow.month.in_(sorted(month_names)))
                .group_by(ProviderFigureRow.month, ProviderFigureRow.currency)
            ):
                key = (month_names[figure_month], currency)
                rebates[key] = rebates.get(key, ZERO) + _dec(amount)
    currencies = sorted({c for _, c in stm} | {c for _, c in refunds} | {c for _, c in rebates})
    out = []
    for currency in currencies:
        points = []
        for period in periods:
            commission, clawback, cost, _ = stm.get((period, currency), zero)
            key = (period, currency)
            refunded = refunds.get(key, ZERO)
            points.append(TrendPoint(period, commission, clawback, refunded, cost, rebates.get(key)))
        out.append(Trend(currency, tuple(points)))
    return tuple(out)


# --- cases, validation, freshness -----------------------------------------------------------------


@dataclass(frozen=True)
class CaseCounts:
    """Cases not yet resolved or waived (``open`` or ``assigned``), and those past their due date."""

    open: int
    overdue: int
    by_kind: tuple[tuple[str, int, int], ...]  # (kind, open, overdue)


def case_counts(session: Session, *, now: datetime, partner_id: str | None) -> CaseCounts:
    """Open and overdue cases per kind; a partner counts only its own disputes."""
    overdue = case((and_(CaseRow.due_at.is_not(None), CaseRow.due_at < now), 1), else_=0)
    query = (
        select(CaseRow.kind, func.count(), func.coalesce(func.sum(overdue), 0))
        .where(CaseRow.status.in_(ACTIVE))
        .group_by(CaseRow.kind)
        .order_by(CaseRow.kind)
    )
    if partner_id is not None:
        query = query.where(CaseRow.kind == DISPUTE, CaseRow.partner_id == partner_id)
    kinds = tuple((k, int(n), int(o)) for k, n, o in session.execute(query))
    return CaseCounts(sum(k[1] for k in kinds), sum(k[2] for k in kinds), kinds)


def rate(failed: int, total: int) -> Decimal | None:
    """``failed / total`` in percent, to two places (None for an empty batch)."""
    if total <= 0:
        return None
    return (D(failed) * _HUNDRED / D(total)).quantize(_RATE_PLACES)


@dataclass(frozen=True)
class BatchRate:
    """One recent batch: rows read and rejected."""

    batch_id: int
    provider: str
    source_kind: str
    format: str
    file_name: str
    received_at: datetime
    rows_total: int
    rows_rejected: int

    @property
    def rate(self) -> Decimal | None:
        """Rejected rows per row read, in percent."""
        return rate(self.rows_rejected, self.rows_total)


@dataclass(frozen=True)
class SourceRate:
    """A source (provider, kind, format) over its :data:`RECENT_BATCHES` latest batches."""

    provider: str
    source_kind: str
    format: str
    batches: int
    rows_total: int
    rows_rejected: int

    @property
    def rate(self) -> Decimal | None:
        """Rejected rows per row read, in percent."""
        return rate(self.rows_rejected, self.rows_total)


@dataclass(frozen=True)
class Validation:
    """Validation failure rates: per recent batch, per source, and findings per kind."""

    batches: tuple[BatchRate, ...]
    sources: tuple[SourceRate, ...]
    findings: tuple[tuple[str, int, int], ...]  # (kind, open, all)


def validation(session: Session, *, recent: int = RECENT_BATCHES) -> Validation:
    """Rejected rows per batch and per source, and findings per kind (see docs/ui.md)."""
    b = IngestBatchRow
    batches = tuple(
        BatchRate(r.id, r.provider, r.source_kind, r.format, r.file_name, r.received_at, r.rows_total,
                  r.rows_rejected)
        for r in session.scalars(select(b).order_by(b.id.desc()).limit(recent))
    )
    ranked = select(
        b.provider, b.source_kind, b.format, b.rows_total, b.rows_rejected,
        func.row_number().over(partition_by=(b.provider, b.source_kind, b.format), order_by=b.id.desc())
        .label("rn"),
    ).subquery()
    sources = tuple(
        SourceRate(p, k, f, int(n), int(t or 0), int(r or 0))
        for p, k, f, n, t, r in session.execute(
            select(ranked.c.provider, ranked.c.source_kind, ranked.c.format, func.count(),
                   func.sum(ranked.c.rows_total), func.sum(ranked.c.rows_rejected))
            .where(ranked.c.rn <= recent)
            .group_by(ranked.c.provider, ranked.c.source_kind, ranked.c.format)
            .order_by(ranked.c.provider, ranked.c.source_kind, ranked.c.format)
        )
    )
    is_open = case((FindingRow.status == "open", 1), else_=0)
    findings = tuple(
        (k, int(o or 0), int(n))
        for k, o, n in session.execute(
            select(FindingRow.kind, func.sum(is_open), func.count()).group_by(FindingRow.kind)
            .order_by(FindingRow.kind)
        )
    )
    return Validation(batches, sources, findings)


@dataclass(frozen=True)
class Freshness:
    """When a source (provider and kind: bill files or API pulls) last delivered a batch.

    A pull is recorded only when it succeeds, so the newest ``api`` batch is the last
    successful pull. ``stale`` once ``age`` exceeds ``threshold_hours``."""

    provider: str
    source_kind: str
    batches: int
    last_received: datetime
    age: timedelta
    threshold_hours: int

    @property
    def stale(self) -> bool:
        """Older than the threshold."""
        return self.age > timedelta(hours=self.threshold_hours)

    @property
    def age_text(self) -> str:
        """``3 d 4 h``, ``5 h``, or ``under 1 h``."""
        hours = int(self.age.total_seconds()) // 3600
        days, hours = divmod(max(hours, 0), 24)
        if days:
            return f"{days} d {hours} h"
        return f"{hours} h" if hours else "under 1 h"


def freshness_hours(session: Session, source_kind: str) -> int:
    """Hours a source of ``source_kind`` may stay silent (setting ``freshness_hours.<kind>``)."""
    text = get_setting(session, f"freshness_hours.{source_kind}")
    if text is not None and text.strip().isdigit() and int(text) > 0:
        return int(text)
    return DEFAULT_FRESHNESS_HOURS.get(source_kind, DEFAULT_FRESHNESS_HOURS["file"])


def freshness(session: Session, *, now: datetime) -> tuple[Freshness, ...]:
    """Each source's last batch, its age at ``now`` and whether it is stale."""
    b = IngestBatchRow
    out = []
    for provider, kind, n, last in session.execute(
        select(b.provider, b.source_kind, func.count(), func.max(b.received_at))
        .group_by(b.provider, b.source_kind)
        .order_by(b.provider, b.source_kind)
    ):
        out.append(Freshness(provider, kind, int(n), last, now - last, freshness_hours(session, kind)))
    return tuple(out)


# --- the whole dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows; the sections a caller may not see are None."""

    period: str | None
    periods: tuple[str, ...]
    pipeline: Pipeline
    totals: PeriodTotals | None
    trends: tuple[Trend, ...]
    margin: bool
    cases: CaseCounts | None
    validation: Validation | None
    freshness: tuple[Freshness, ...] | None
    open_findings: int | None


def partner_ids(session: Session, partner_id: str | None) -> list[str]:
    """The payees the matrix shows: every partner but the rebate policies, or just one."""
    if partner_id is not None:
        return [partner_id]
    query = select(PartnerRow.id).where(~PartnerRow.id.startswith(POLICY_PARTNER_PREFIX))
    query = query.order_by(PartnerRow.id)
    return list(session.scalars(query))


def overview(
    session: Session,
    *,
    period: str | None,
    partner_id: str | None,
    margin: bool,
    cases: bool,
    operations: bool,
    now: datetime,
) -> Dashboard:
    """The dashboard of ``period`` (default: the newest), scoped to ``partner_id`` when given.

    ``margin``: include the provider's rebate and the margin; ``cases``: case counts;
    ``operations``: validation rates, freshness and open findings (internal readers).
    """
    periods = available_periods(session, partner_id=partner_id)
    chosen = period or (periods[0] if periods else None)
    upto = [p for p in periods if chosen is None or period_key(p) <= period_key(chosen)]
    if chosen is not None and chosen not in upto:
        upto.insert(0, chosen)
    trend_periods = list(reversed(upto[:TREND_PERIODS]))
    matrix_periods = trend_periods[-MATRIX_PERIODS:]
    open_findings = None
    if operations:
        open_findings = int(session.scalar(
            select(func.count()).select_from(FindingRow).where(FindingRow.status == "open")) or 0)
    return Dashboard(
        period=chosen,
        periods=tuple(periods),
        pipeline=pipeline(session, periods=matrix_periods, partner_ids=partner_ids(session, partner_id)),
        totals=period_totals(session, period=chosen, partner_id=partner_id) if chosen else None,
        trends=trends(session, periods=trend_periods, partner_id=partner_id, margin=margin),
        margin=margin,
        cases=case_counts(session, now=now, partner_id=partner_id) if cases else None,
        validation=validation(session) if operations else None,
        freshness=freshness(session, now=now) if operations else None,
        open_findings=open_findings,
    )

