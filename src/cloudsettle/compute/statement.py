"""Steps 1–5 assembled: one row per statement line (``sl``), as the reference's draft.

Every selected part becomes one or more rows: deferred (payment basis, not yet
paid), commission (one per rule segment; a same-period refund at its
original's rate; a refund clawed back elsewhere or never paid, earning
nothing) or clawback; then the clawbacks of refunds selected elsewhere. ``rid``
numbers the rows in the reference engine's walk order, which the core's
:func:`~cloudsettle.core.settlement.statement.finish_statement` sorts from.
"""

from __future__ import annotations

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.base import billed_raw, converted, excluded, fraction, mul, raw_base
from cloudsettle.compute.scales import Scales, dec
from cloudsettle.compute.select import days_between, local_day

#: Rating jobs: every selected part under its statement's version (a), and the
#: parts of each clawed-back original that this agreement paid, under the
#: version that governed the original's period (b).
JOBS = """
CREATE OR REPLACE TEMP TABLE rq AS
SELECT row_number() OVER (ORDER BY job, sid, ord, pseq) AS jid, * FROM (
    SELECT 'a' AS job, x.sid, x.ord, x.pseq, s.agreement_id, s.vidx, x.p_start, x.p_end, x.pnum, x.pden
    FROM ps x JOIN stv s USING (sid) WHERE x.memb = 'in'
    UNION ALL
    SELECT 'b', g.sid, p.ord, p.pseq, g.agreement_id, g.gvidx, p.p_start, p.p_end, p.pnum, p.pden
    FROM ogov g JOIN part p ON p.ord = g.oord AND p.agreement_id = g.agreement_id AND p.deal_id IS NOT NULL
)
"""


def segment_values(ex: Executor, scales: Scales) -> None:
    """Create ``sv`` (each segment's fraction and rule), ``orate`` (each clawed-back
    original's rate) and ``ssrate`` (each same-period refund's original's rate)."""
    seg_frac = fraction("g.snum", "(l.ce_us - l.cs_us)", scales.fraction)
    part_frac = fraction("q.pnum", "q.pden", scales.fraction)
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE sv AS
        SELECT g.jid, g.sseq, g.rord, g.nseg, r.rule_id, coalesce(r.rate, 0)::{dec(scales.rate)} AS rate,
               CASE WHEN g.nseg = 1 THEN {part_frac} ELSE {seg_frac} END AS sfrac
        FROM rseg g JOIN rq q USING (jid) JOIN l ON l.ord = q.ord
        LEFT JOIN rul r ON r.agreement_id = q.agreement_id AND r.vidx = q.vidx AND r.rord = g.rord
    """)
    weighted, _ = mul("g.sfrac", scales.fraction, "g.rate", scales.rate)
    eff = dec(scales.effective_rate)
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE orate AS
        SELECT q.sid, q.ord AS oord, sum({weighted})::{eff} AS orig_rate,
               arg_min(g.rule_id, q.pseq * 1000000 + g.sseq) FILTER (WHERE g.rord IS NOT NULL) AS orule
        FROM rq q JOIN sv g USING (jid) WHERE q.job = 'b' GROUP BY q.sid, q.ord
    """)
    unit = f"CAST('1e-{scales.effective_rate}' AS {eff})" if scales.effective_rate else f"1::{eff}"
    x_int = f"(abs(a.x) * {10**scales.effective_rate})::HUGEINT"
    # ``f`` (a sum of fractions of one line) is at most 1: ``f_int`` fits a BIGINT, which keeps
    # Spark's exact decimal quotient wide enough (see ``compute/spark.py``).
    f_int = f"(p.f * {10**scales.fraction})::BIGINT"
    sign = "(CASE WHEN a.x < 0 THEN -1 ELSE 1 END)"
    quotient = f"(({x_int} * {10**scales.fraction} * 2 + {f_int}) // (2 * {f_int}))"
    divided = f"({sign} * {quotient})::{dec(0)} * {unit}"
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE ssrate AS
        WITH want AS (SELECT DISTINCT sid, oord FROM rk WHERE kind = 'same'),
        seg AS (
            SELECT q.sid, q.ord AS oord, q.pseq, g.sseq, g.rule_id, g.rord, g.rate, {weighted} AS fr
            FROM rq q JOIN want w ON w.sid = q.sid AND w.oord = q.ord JOIN sv g USING (jid) WHERE q.job = 'a'
        ), a AS (
            SELECT sid, oord, sum(fr) AS x, min(rate) AS rmin, max(rate) AS rmax,
                   arg_min(rule_id, pseq * 1000000 + sseq) FILTER (WHERE rord IS NOT NULL) AS rule
            FROM seg GROUP BY sid, oord
        ), p AS (
            SELECT q.sid, q.ord AS oord, sum({part_frac}) AS f
            FROM rq q JOIN want w ON w.sid = q.sid AND w.oord = q.ord WHERE q.job = 'a' GROUP BY q.sid, q.ord
        )
        SELECT a.sid, a.oord, a.rule,
               CASE WHEN p.f = 1 THEN a.x::{eff} WHEN a.rmin = a.rmax THEN a.rmin::{eff}
                    ELSE ({divided})::{eff} END AS rate
        FROM a JOIN p USING (sid, oord)
    """)


def statement_lines(ex: Executor, scales: Scales) -> None:
    """Create ``sl``: every statement line of every statement in ``st``."""
    pfrac = fraction("x.pnum", "x.pden", scales.fraction)
    fx = "f.fx_rate"
    missing = "(f.fx_rate IS NULL)"
    seg_base, b_scale = converted(raw_base("s", "l"), "g.sfrac", fx, scales)
    seg_billed, _ = converted(billed_raw("l"), "g.sfrac", fx, scales)
    whole_base, _ = converted(raw_base("s", "l"), "x.frac", fx, scales)
    whole_billed, _ = converted(billed_raw("l"), "x.frac", fx, scales)
    amount_normal, a1 = mul("y.base", b_scale, "y.rate", scales.rate)
    amount_same, a2 = mul("y.base", b_scale, "y.rate", scales.effective_rate)
    claw_rate, claw_scale = mul("o.orig_rate", scales.effective_rate, "s.share", scales.share)
    amount_claw, a3 = mul("y.base", b_scale, "y.crate", claw_scale)
    # DuckDB unites DECIMAL(38, a) and DECIMAL(38, b) as DECIMAL(38, min(a, b)), rounding:
    # every branch is cast to the one declared type of each column.
    columns = (
        f"sid, pass, ord, pseq, sseq, role, deal_id, frac::{dec(scales.fraction)} AS frac, "
        f"base::{dec(b_scale)} AS base, billed::{dec(b_scale)} AS billed, "
        f"fx_shown::{dec(scales.fx)} AS fx_shown, rule_id, "
        f"rate::{dec(max(scales.rate, scales.effective_rate, claw_scale))} AS rate, "
        f"amount::{dec(max(a1, a2, a3))} AS amount, reasons, measured, f_no_rule, f_unlinked, f_missing"
    )
    base_t = dec(b_scale)
    fx_shown = "CASE WHEN f.conv THEN f.fx_rate END"
    no_reasons = "[]::VARCHAR[]"
    since = days_between(local_day("s.tz", "ol.charge_start"), "c.cdate")
    inside = f"(s.window_days IS NULL OR {since} <= s.window_days)"
    # x: the selected (or elsewhere-clawed) part with its fraction, version, line and FX rate.
    parts = f"""
        SELECT x.*, {pfrac} AS frac FROM ps x
    """
    excl = excluded("s", "l")
    claw_base, _ = converted(raw_base("s", "l"), "c.frac", fx, scales)
    claw_billed, _ = converted(billed_raw("l"), "c.frac", fx, scales)
    join_fx = "JOIN fxl f ON f.sid = x.sid AND f.ord = x.ord"
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE sl0 AS
        WITH x AS ({parts}),
        deferred AS (
            SELECT x.sid, 0 AS pass, x.ord, x.pseq, 0 AS sseq, 'deferred' AS role, x.deal_id, x.frac,
                   (CASE WHEN {missing} OR {excl} THEN 0 ELSE {whole_base} END)::{base_t} AS base,
                   0::{base_t} AS billed, {fx_shown} AS fx_shown, NULL::VARCHAR AS rule_id,
                   0::{dec(scales.rate)} AS rate, 0::{base_t} AS amount, ['deferred'] AS reasons,
                   false AS measured, false AS f_no_rule, false AS f_unlinked, false AS f_missing
            FROM x JOIN stv s USING (sid) JOIN l ON l.ord = x.ord {join_fx}
            WHERE x.memb = 'deferred'
        ),
        normal AS (
            SELECT y.*, {amount_normal} AS amount FROM (
                SELECT x.sid, 0 AS pass, x.ord, x.pseq, g.sseq, 'commission' AS role, x.deal_id,
                       g.sfrac AS frac,
                       (CASE WHEN {missing} OR {excl} THEN 0 ELSE {seg_base} END)::{base_t} AS base,
                       (CASE WHEN {missing} THEN 0 ELSE {seg_billed} END)::{base_t} AS billed,
                       {fx_shown} AS fx_shown, g.rule_id, g.rate,
                       list_concat(
                           CASE WHEN {missing} THEN ['missing_fx_rate']
                                WHEN {excl} THEN ['excluded'] ELSE {no_reasons} END,
                           CASE WHEN g.rord IS NULL THEN ['no_rule'] ELSE {no_reasons} END,
                           CASE WHEN g.sfrac <> 1 THEN ['prorated'] ELSE {no_reasons} END,
                           CASE WHEN k.kind = 'unlinked' THEN ['unlinked_refund'] ELSE {no_reasons} END
                       ) AS reasons,
                       NOT {missing} AS measured, g.rord IS NULL AND s.require_rule AS f_no_rule,
                       coalesce(k.kind = 'unlinked', false) AS f_unlinked, {missing} AS f_missing
                FROM x JOIN stv s USING (sid) JOIN l ON l.ord = x.ord
                JOIN fxl f ON f.sid = x.sid AND f.ord = x.ord
                JOIN rq q ON q.job = 'a' AND q.sid = x.sid AND q.ord = x.ord AND q.pseq = x.pseq
                JOIN sv g ON g.jid = q.jid
                LEFT JOIN rk k ON k.sid = x.sid AND k.ord = x.ord AND k.pseq = x.pseq
                WHERE x.memb = 'in' AND (k.kind IS NULL OR k.kind = 'unlinked')
            ) y
        ),
        same AS (
            SELECT y.*, {amount_same} AS amount FROM (
                SELECT x.sid, 0 AS pass, x.ord, x.pseq, 0 AS sseq, 'commission' AS role, x.deal_id,
                       x.frac, ({whole_base})::{base_t} AS base, ({whole_billed})::{base_t} AS billed,
                       {fx_shown} AS fx_shown, r.rule AS rule_id, r.rate,
                       ['same_period_refund'] AS reasons, true AS measured, false AS f_no_rule,
                       false AS f_unlinked, false AS f_missing
                FROM x JOIN stv s USING (sid) JOIN l ON l.ord = x.ord
                JOIN fxl f ON f.sid = x.sid AND f.ord = x.ord
                JOIN rk k ON k.sid = x.sid AND k.ord = x.ord AND k.pseq = x.pseq AND k.kind = 'same'
                JOIN ssrate r ON r.sid = x.sid AND r.oord = k.oord
            ) y
        ),
        nothing AS (
            SELECT x.sid, 0 AS pass, x.ord, x.pseq, 0 AS sseq, 'commission' AS role, x.deal_id, x.frac,
                   0::{base_t} AS base, 0::{base_t} AS billed, {fx_shown} AS fx_shown,
                   NULL::VARCHAR AS rule_id,
                   0::{dec(scales.rate)} AS rate, 0::{base_t} AS amount,
                   [CASE k.kind WHEN 'elsewhere' THEN 'clawback_elsewhere' ELSE 'original_not_paid' END]
                       AS reasons,
                   false AS measured, false AS f_no_rule, false AS f_unlinked, false AS f_missing
            FROM x JOIN fxl f ON f.sid = x.sid AND f.ord = x.ord
            JOIN rk k ON k.sid = x.sid AND k.ord = x.ord AND k.pseq = x.pseq
            WHERE k.kind IN ('elsewhere', 'notpaid')
        ),
        claws AS (
            SELECT x.sid, 0 AS pass, x.ord, x.pseq, x.deal_id, x.frac, k.oord, x.cdate, true AS here
            FROM x JOIN rk k
                ON k.sid = x.sid AND k.ord = x.ord AND k.pseq = x.pseq AND k.kind = 'here'
            UNION ALL
            SELECT x.sid, 1, x.ord, x.pseq, x.deal_id, {pfrac}, x.oord,
                   {local_day("s.tz", "l.charge_start")}, false
            FROM px x JOIN stv s USING (sid) JOIN l ON l.ord = x.ord
        ),
        clawback AS (
            SELECT y.*, CASE WHEN y.inside THEN {amount_claw} ELSE 0 END AS amount,
                   (CASE WHEN y.inside THEN y.crate ELSE 0 END)::{dec(claw_scale)} AS rate
            FROM (
                SELECT c.sid, c.pass, c.ord, c.pseq, 0 AS sseq, 'clawback' AS role, c.deal_id,
                       c.frac AS frac,
                       (CASE WHEN {missing} THEN 0 ELSE {claw_base} END)::{base_t} AS base,
                       (CASE WHEN {missing} OR NOT c.here THEN 0 ELSE {claw_billed} END)::{base_t} AS billed,
                       {fx_shown} AS fx_shown, o.orule AS rule_id, {claw_rate} AS crate,
                       list_concat(
                           CASE WHEN {inside} THEN ['clawback'] ELSE ['outside_clawback_window'] END,
                           CASE WHEN {missing} THEN ['missing_fx_rate'] ELSE {no_reasons} END) AS reasons,
                       c.here AND NOT {missing} AS measured, false AS f_no_rule, false AS f_unlinked,
                       {missing} AS f_missing,
                       {inside} AS inside
                FROM claws c JOIN stv s USING (sid) JOIN l ON l.ord = c.ord JOIN l ol ON ol.ord = c.oord
                JOIN fxl f ON f.sid = c.sid AND f.ord = c.ord
                JOIN orate o ON o.sid = c.sid AND o.oord = c.oord
            ) y
        )
        SELECT {columns} FROM deferred
        UNION ALL SELECT {columns} FROM normal
        UNION ALL SELECT {columns} FROM same
        UNION ALL SELECT {columns} FROM nothing
        UNION ALL SELECT {columns} FROM clawback
    """)
    ex.run("""
        CREATE OR REPLACE TEMP TABLE sl AS
        SELECT row_number() OVER (ORDER BY sid, pass, ord, pseq, sseq) AS rid, * FROM sl0
    """)
