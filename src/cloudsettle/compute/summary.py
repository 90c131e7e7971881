"""Summary mode: steps 4 and 6–11 from per-statement sums, step 10's shown amounts in SQL.

``finish_statement`` needs every statement line as a Python object; at ten
million lines that object graph is most of a run's time and all of its memory.
In summary mode the SQL hands the core only what steps 6–11 read (the sums of
:class:`~cloudsettle.core.settlement.statement.LineSums`, one row per
statement), the core returns the rounded components, and the shown amounts of
each line are allocated back in SQL with the same rules as
``core.money.allocate_largest_remainder``:

- **Rounding a line** (line level, and the sums feeding it): in minor units,
  ``q = amount × 10^m``, ``fl = floor(q)``, ``r = q − fl``; half-up adds 1 when
  ``r > ½`` or ``r = ½`` and the amount is positive (ties away from zero),
  half-even when ``r > ½`` or ``r = ½`` and ``fl`` is odd, up when ``r > 0`` and
  positive, down when ``r > 0`` and negative. All exact ``DECIMAL``.
- **Largest remainder** (statement level, and the tier uplift): every part
  floored, the units still missing given one each to the largest remainders,
  ties to the earlier line in the statement's order ``(charge_start, line_id,
  role, fraction desc, rule, walk order)``: ``row_number()`` over that ranking
  against the missing count.

Nothing leaves DuckDB per line except into Parquet (``write_parquet``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.scales import dec
from cloudsettle.core.money import ZERO, minor_unit
from cloudsettle.core.settlement.statement import LineSums

#: A statement's lines in the order it shows them (``core`` sorts by ``_order_key``, stably
#: over the walk order ``rid``).
SHOW_ORDER = "l.charge_start, l.line_id, sl.role, sl.frac DESC, coalesce(sl.rule_id, ''), sl.rid"


@dataclass(frozen=True, slots=True)
class Rounding:
    """How a statement rounds: minor units of its currency, the mode, line or statement level."""

    sid: int
    minor: int
    mode: str
    line_level: bool


def register_rounding(ex: Executor, roundings: Iterable[Rounding]) -> int:
    """Create ``sround(sid, m, mul, unit, mode, line_level)``; returns the largest minor unit
    (the scale of every shown amount, so one column holds them all exactly)."""
    rows = list(roundings)
    top = max((r.minor for r in rows), default=2)
    ex.register(
        "sround",
        pa.table(
            {
                "sid": pa.array([r.sid for r in rows], pa.int64()),
                "m": pa.array([r.minor for r in rows], pa.int32()),
                "mul": pa.array([Decimal(10) ** r.minor for r in rows], pa.decimal128(38, 0)),
                "unit": pa.array([Decimal(1).scaleb(-r.minor) for r in rows], pa.decimal128(38, top)),
                "mode": pa.array([r.mode for r in rows], pa.string()),
                "line_level": pa.array([r.line_level for r in rows], pa.bool_()),
            }
        ),
    )
    return top


def rounding_for(sid: int, currency: str, mode: str, line_level: bool) -> Rounding:
    """A statement's :class:`Rounding` from its version's currency and rounding."""
    return Rounding(sid, minor_unit(currency), mode, line_level)


def _rounded_units(q: str, fl: str, value: str, mode: str) -> str:
    """SQL: ``q`` (an amount in minor units, exact) rounded to an integer by ``mode``."""
    r = f"({q} - {fl})"
    return f"""({fl} + CASE
        WHEN {mode} = 'half_up' THEN CASE WHEN {r} > 0.5 OR ({r} = 0.5 AND {value} > 0) THEN 1 ELSE 0 END
        WHEN {mode} = 'half_even' THEN CASE WHEN {r} > 0.5 OR ({r} = 0.5 AND {fl} % 2 <> 0) THEN 1 ELSE 0 END
        WHEN {mode} = 'up' THEN CASE WHEN {r} > 0 AND {value} > 0 THEN 1 ELSE 0 END
        ELSE CASE WHEN {r} > 0 AND {value} < 0 THEN 1 ELSE 0 END END)"""


def line_units(ex: Executor, uplift_scale: int) -> None:
    """Create ``slm``: every statement line with its show position (``seq``), its amount and tier
    uplift in minor units (floored, and rounded by the statement's mode) and their remainders.

    Window functions hold their input; they run on narrow rows (keys and the order only) and
    are joined back by ``rid``, so a month larger than memory spills in the joins instead."""
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE sseq AS
        SELECT sl.rid, row_number() OVER (PARTITION BY sl.sid ORDER BY {SHOW_ORDER}) AS seq
        FROM sl JOIN l ON l.ord = sl.ord
    """)
    q = "(sl.amount * r.mul)"
    t = dec(uplift_scale)
    u = f"(CASE WHEN sl.measured AND u.rid IS NOT NULL THEN u.uplift::{t} ELSE 0::{t} END)"
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE slm AS
        SELECT y.*, {_rounded_units("y.q", "y.fl", "y.amount", "y.mode")} AS ru,
               y.q - y.fl AS rem, y.uq - y.ufl AS urem
        FROM (
            SELECT sl.sid, sl.rid, sl.ord, sl.role, sl.frac, sl.deal_id, sl.base, sl.fx_shown, sl.rule_id,
                   sl.rate, sl.amount, sl.reasons, sl.measured, sl.billed, {u} AS uplift,
                   r.mode, r.line_level, r.unit, {q} AS q, floor({q}) AS fl,
                   {u} * r.mul AS uq, floor({u} * r.mul) AS ufl, z.seq
            FROM sl JOIN sround r USING (sid) JOIN sseq z USING (rid) LEFT JOIN slu u USING (rid)
        ) y
    """)


# No ``coalesce(sum(x), 0)``: uniting a DECIMAL(38, s) with an integer could cost decimals
# (docs/bulk-engine.md); empty sums are None and become zero in Python.
_SUMS = """
SELECT sid,
       sum(amount) FILTER (WHERE role = 'commission') AS commission_exact,
       sum(amount) FILTER (WHERE role = 'clawback') AS clawback_exact,
       sum(ru) FILTER (WHERE role = 'commission') AS commission_units,
       sum(ru) FILTER (WHERE role = 'clawback') AS clawback_units,
       sum(base) FILTER (WHERE measured) AS measure,
       sum(billed) AS billed,
       any_value(m) AS m
FROM slm JOIN sround USING (sid) GROUP BY sid
"""


def _or_zero(value: Decimal | None) -> Decimal:
    return ZERO if value is None else value


def statement_sums(ex: Executor) -> dict[int, LineSums]:
    """:class:`LineSums` of every statement that has lines, by ``sid``."""
    out: dict[int, LineSums] = {}
    for sid, c_exact, k_exact, c_units, k_units, measure, billed, m in ex.rows(_SUMS):
        out[sid] = LineSums(
            commission_exact=_or_zero(c_exact),
            clawback_exact=_or_zero(k_exact),
            commission_lines=Decimal(int(_or_zero(c_units))).scaleb(-m),
            clawback_lines=Decimal(int(_or_zero(k_units))).scaleb(-m),
            measure=_or_zero(measure),
            billed=_or_zero(billed),
        )
    return out


@dataclass(frozen=True, slots=True)
class Totals:
    """A finished statement's rounded components that its lines' shown amounts must add up to."""

    sid: int
    commission: Decimal
    clawback: Decimal
    tier_uplift: Decimal


def register_totals(ex: Executor, totals: Iterable[Totals]) -> None:
    """Create ``stot(sid, commission_units, clawback_units, tier_units)`` (minor units)."""
    rows = list(totals)
    minors: dict[int, int] = dict(ex.rows("SELECT sid, m FROM sround"))

    def units(value: Decimal, sid: int) -> int:
        scaled = value.scaleb(minors[sid])
        if scaled != scaled.to_integral_value():
            raise ValueError(f"statement {sid}: {value} is not a whole number of minor units")
        return int(scaled)

    ex.register(
        "stot",
        pa.table(
            {
                "sid": pa.array([t.sid for t in rows], pa.int64()),
                "commission_units": pa.array([units(t.commission, t.sid) for t in rows], pa.int64()),
                "clawback_units": pa.array([units(t.clawback, t.sid) for t in rows], pa.int64()),
                "tier_units": pa.array([units(t.tier_uplift, t.sid) for t in rows], pa.int64()),
            }
        ),
    )


def show(ex: Executor) -> None:
    """Create ``slshow``: each line of the finished statements (those in ``stot``) with its shown
    amount and shown uplift; refuse (``ValueError``, as ``allocate_largest_remainder`` does) a
    total that its lines cannot add up to."""
    ex.run("""
        CREATE OR REPLACE TEMP TABLE srank AS
        SELECT rid,
               sum(fl) OVER (PARTITION BY sid, role) AS role_floors,
               row_number() OVER (PARTITION BY sid, role ORDER BY rem DESC, seq) AS rnk,
               sum(CASE WHEN measured THEN ufl ELSE 0 END) OVER (PARTITION BY sid) AS uplift_floors,
               row_number() OVER (PARTITION BY sid, measured ORDER BY urem DESC, seq) AS urnk
        FROM (SELECT sid, rid, role, measured, fl, rem, ufl, urem, seq FROM slm
              WHERE sid IN (SELECT sid FROM stot)) m
    """)
    ex.run("""
        CREATE OR REPLACE TEMP TABLE slshow AS
        WITH fed AS (
            SELECT m.*, k.role_floors, k.rnk, k.uplift_floors, k.urnk, t.tier_units,
                   CASE m.role WHEN 'commission' THEN t.commission_units
                               WHEN 'clawback' THEN t.clawback_units END AS total_units
            FROM slm m JOIN stot t USING (sid) JOIN srank k USING (rid)
        )
        SELECT sid, seq, rid, ord, role, frac, deal_id, base, fx_shown, rule_id, rate, amount, reasons,
               measured, uplift,
               (CASE WHEN role = 'deferred' THEN 0
                     WHEN line_level THEN ru
                     ELSE fl + CASE WHEN rnk <= total_units - role_floors THEN 1 ELSE 0 END
                END)::DECIMAL(38, 0) * unit AS shown,
               (CASE WHEN NOT measured THEN 0
                     ELSE ufl + CASE WHEN urnk <= tier_units - uplift_floors THEN 1 ELSE 0 END
                END)::DECIMAL(38, 0) * unit AS uplift_shown,
               total_units - role_floors AS missing, tier_units - uplift_floors AS umissing
        FROM fed
    """)
    bad = ex.rows("""
        WITH n AS (SELECT sid, role, count(*) AS k, any_value(missing) AS missing FROM slshow
                   WHERE role <> 'deferred' GROUP BY sid, role
                   UNION ALL
                   SELECT sid, 'uplift' AS role, count(*) AS k, any_value(umissing) AS missing FROM slshow
                   WHERE measured GROUP BY sid),
             measured AS (SELECT DISTINCT sid FROM slshow WHERE measured)
        SELECT sid, role, missing, k FROM n WHERE missing < 0 OR missing > k
        UNION ALL
        SELECT t.sid, 'uplift' AS role, t.tier_units AS missing, 0 AS k
        FROM stot t LEFT JOIN measured m ON m.sid = t.sid WHERE t.tier_units <> 0 AND m.sid IS NULL
        LIMIT 1
    """)
    if bad:
        sid, role, missing, k = bad[0]
        raise ValueError(f"statement {sid}: its {role} total cannot be allocated over its lines "
                         f"({missing} minor units missing over {k} lines)")
