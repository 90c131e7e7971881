"""Step 4, Tiers: the uplift attributed to each measured line, with window functions.

Lines are ordered as the statement shows them, ``(charge_start, line_id)`` (then
role, larger fraction first, rule, and the walk order, as the core sorts);
a running sum gives each line's measure after it. Marginal: the line earns
``f(after) − f(before)`` with ``f(x) = Σ uplift_i × max(0, min(x, from_{i+1}) − from_i)``,
so the parts add up to ``f(measure)`` exactly. Retroactive: the uplift of the
highest band reached by the whole measure, times the line's base.
"""

from __future__ import annotations

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.base import mul
from cloudsettle.compute.scales import Scales, dec

ORDER = (
    "l.charge_start, l.line_id, sl.role, sl.frac DESC, coalesce(sl.rule_id, ''), "
    "sl.pass, sl.ord, sl.pseq, sl.sseq"
)


def _f(x: str, scales: Scales, value_scale: int) -> str:
    """SQL: the marginal uplift function of measure ``x`` for band ``b`` (one term), every
    operand cast to one scale (DuckDB would otherwise unite them at the smaller one)."""
    common = dec(max(value_scale, scales.band))
    top = f"least(({x})::{common}, coalesce(b.b_next::{common}, ({x})::{common}))"
    inside = f"greatest(0::{common}, {top} - b.b_from::{common})"
    # The measured part goes first: it is the operand ``mul`` may round (its scale is an
    # upper bound), never the configured uplift (see ``mul``).
    term, _ = mul(inside, max(value_scale, scales.band), "b.uplift", scales.uplift)
    return term


def uplift_scale(scales: Scales, base_scale: int) -> int:
    """The decimals of ``slu.uplift``: enough for either method's exact products."""
    _, retro_scale = mul("m.base", base_scale, "r.urate", scales.uplift)
    _, marginal_scale = mul("x", max(base_scale, scales.band), "b.uplift", scales.uplift)
    return max(retro_scale, marginal_scale)


def attribute(ex: Executor, scales: Scales, base_scale: int) -> None:
    """Create ``slu(rid, uplift)`` for the measured lines of statements with tiers."""
    retro, _ = mul("m.base", base_scale, "r.urate", scales.uplift)
    out = dec(uplift_scale(scales, base_scale))
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE slu AS
        WITH m AS (
            SELECT sl.sid, sl.rid, sl.base, s.agreement_id, s.vidx, s.tier_method,
                   sum(sl.base) OVER (PARTITION BY sl.sid ORDER BY {ORDER} ROWS UNBOUNDED PRECEDING) AS after
            FROM sl JOIN stv s USING (sid) JOIN l ON l.ord = sl.ord
            WHERE sl.measured AND s.tier_method IS NOT NULL
        ), tot AS (
            SELECT sid, any_value(agreement_id) AS agreement_id, any_value(vidx) AS vidx, sum(base) AS measure
            FROM m GROUP BY sid
        ), r AS (
            SELECT t.sid, coalesce(arg_max(b.uplift, b.b_from) FILTER (WHERE b.b_from <= t.measure), 0)
                       ::{dec(scales.uplift)} AS urate
            FROM tot t JOIN band b ON b.agreement_id = t.agreement_id AND b.vidx = t.vidx GROUP BY t.sid
        ), g AS (
            SELECT m.rid, sum({_f("m.after", scales, base_scale)}) - sum({
        _f("(m.after - m.base)", scales, base_scale)
    }) AS up
            FROM m JOIN band b ON b.agreement_id = m.agreement_id AND b.vidx = m.vidx
            WHERE m.tier_method = 'marginal' GROUP BY m.rid
        )
        SELECT m.rid, CASE WHEN m.tier_method = 'marginal' THEN g.up::{out} ELSE ({retro})::{
        out
    } END AS uplift
        FROM m LEFT JOIN g USING (rid) LEFT JOIN r USING (sid)
    """)
