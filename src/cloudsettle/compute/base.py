"""Step 2, Base: a line's commissionable amount in the statement currency, in SQL.

``fxl`` holds, per statement and line, the FX rate of the line's currency into
the statement's: the newest rate dated on or before the charge date (or the
period's last day); 1 for the same currency; NULL when
missing (the line pays nothing, reason ``missing_fx_rate``). The helpers below
write the spec's table of bases and keep every product exact (:func:`mul`).
"""

from __future__ import annotations

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.scales import MAX_VALUE_SCALE, Scales, dec
from cloudsettle.compute.select import local_day


def mul(a: str, a_scale: int, b: str, b_scale: int) -> tuple[str, int]:
    """SQL for ``a × b`` and its scale: exact (``a_scale + b_scale`` decimals) unless that
    exceeds :data:`MAX_VALUE_SCALE`, when ``a`` is first rounded so the product fits.

    Pass a computed value (a base, a measure, a fraction) as ``a``: its scale is an upper
    bound (line scale 12 + fraction + FX) whose last decimals are usually zeros, so the
    rounding drops nothing. A configured number (rate, uplift, share) goes in ``b``: its
    scale is measured, every decimal of it counts, and rounding it (an uplift of 0.0272 cut
    to 0.027) changes the result.
    """
    if a_scale + b_scale <= MAX_VALUE_SCALE:
        return f"({a} * {b})", a_scale + b_scale
    keep = max(0, MAX_VALUE_SCALE - b_scale)
    return f"(({a})::{dec(keep)} * {b})", keep + b_scale


def fx_lookup(ex: Executor, scales: Scales) -> None:
    """Create ``fxl(sid, ord, conv, fx_rate)`` for every ``(sid, ord)`` in ``need``.

    The newest rate on or before the FX day is found for each distinct
    ``(from, to, day)`` first (few: currency pairs × days), over each rate's validity
    ``[day, next day)``, then equi-joined to the lines: DuckDB's ASOF join, written
    in SQL Spark also runs, and an equi-join either engine spreads over any number of lines.
    """
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE fxl AS
        WITH q AS (
            SELECT n.sid, n.ord, l.currency, s.currency AS vcur,
                   CASE WHEN s.fx_date = 'period_end' THEN s.p_end
                        ELSE {local_day("s.tz", "l.charge_start")} END AS fx_day
            FROM need n JOIN stv s USING (sid) JOIN l ON l.ord = n.ord
        ), fr AS (
            SELECT from_cur, to_cur, day, rate,
                   lead(day) OVER (PARTITION BY from_cur, to_cur ORDER BY day) AS next_day
            FROM fx
        ), qd AS (
            SELECT DISTINCT currency, vcur, fx_day FROM q WHERE currency <> vcur
        ), qr AS (
            SELECT qd.currency, qd.vcur, qd.fx_day, f.rate
            FROM qd JOIN fr f ON f.from_cur = qd.currency AND f.to_cur = qd.vcur
                AND f.day <= qd.fx_day AND (f.next_day IS NULL OR qd.fx_day < f.next_day)
        )
        SELECT q.sid, q.ord, q.currency <> q.vcur AS conv,
               CASE WHEN q.currency = q.vcur THEN 1::{dec(scales.fx)} ELSE r.rate END AS fx_rate
        FROM q LEFT JOIN qr r ON r.currency = q.currency AND r.vcur = q.vcur AND r.fx_day = q.fx_day
    """)


def raw_base(s: str, ln: str) -> str:
    """SQL: the base in the line's currency before fraction and FX (the spec's table)."""
    return (
        f"((CASE {s}.base WHEN 'list' THEN {ln}.list_amount "
        f"WHEN 'net' THEN {ln}.list_amount - {ln}.discount_amount "
        f"ELSE {ln}.list_amount - {ln}.discount_amount - {ln}.voucher_amount END) "
        f"+ (CASE WHEN {s}.include_tax THEN {ln}.tax_amount ELSE 0 END))"
    )


def billed_raw(ln: str) -> str:
    """SQL: what the provider billed after discounts, in the line's currency."""
    return f"({ln}.list_amount - {ln}.discount_amount)"


def excluded(s: str, ln: str) -> str:
    """SQL: the line's service is in the version's ``exclude_services``."""
    return f"list_contains({s}.excl, {ln}.service)"


def converted(amount: str, frac: str, fx_rate: str, scales: Scales) -> tuple[str, int]:
    """SQL for ``amount × fraction × fx_rate`` (the reference's order) and its scale."""
    part, part_scale = mul(amount, scales.line, frac, scales.fraction)
    return mul(part, part_scale, fx_rate, scales.fx)


def is_refund(s: str, ln: str, fx: str) -> str:
    """SQL: step 5 applies: a negative base (so neither excluded nor missing an FX rate)
    and an original named."""
    return (
        f"({ln}.original_line_id IS NOT NULL AND {fx}.fx_rate IS NOT NULL "
        f"AND NOT {excluded(s, ln)} AND {raw_base(s, ln)} < 0)"
    )


def _digits_needed(num: str, den: str) -> str:
    """SQL: decimals needed to write ``num / den`` exactly (99: not a finite decimal of
    at most 12 decimals): the least ``k`` with ``den`` dividing ``num × 10^k`` (no ``gcd``
    in Spark SQL)."""
    cases = " ".join(f"WHEN ({num})::HUGEINT * {10**k} % ({den}) = 0 THEN {k}" for k in range(13))
    return f"(CASE WHEN {num} = {den} THEN 0 {cases} ELSE 99 END)"


def fraction_scale(ex: Executor) -> tuple[int, bool]:
    """The decimals proration fractions need, and whether all of them are finite decimals.

    Reads the deal parts (``part``) and the rule segments of the rating jobs
    (``rseg``); a fraction is a segment's length over the whole line's, in µs.
    """
    row = ex.rows(f"""
        SELECT max(d) FROM (
            SELECT {_digits_needed("pnum", "pden")} AS d FROM part
            UNION ALL
            SELECT {_digits_needed("g.snum", "(l.ce_us - l.cs_us)")}
            FROM rseg g JOIN rq q USING (jid) JOIN l ON l.ord = q.ord WHERE g.nseg > 1
        )
    """)[0]
    needed = int(row[0]) if row[0] is not None else 0
    if needed > 12:
        return 12, False
    return needed, True


def fraction(num: str, den: str, scale: int) -> str:
    """SQL: ``num / den`` as a ``DECIMAL(38, scale)``: exact when it is a finite decimal
    of at most ``scale`` decimals, else rounded half up at that scale."""
    unit = f"CAST('1e-{scale}' AS {dec(scale)})" if scale else f"1::{dec(0)}"
    rounded = f"((({num})::HUGEINT * {10**scale} * 2 + ({den})) // (2 * ({den})))::{dec(0)} * {unit}"
    return f"(CASE WHEN {num} = {den} THEN 1::{dec(scale)} ELSE {rounded} END)::{dec(scale)}"
