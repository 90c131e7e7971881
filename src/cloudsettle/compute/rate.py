"""Step 3, Rate: the first rule whose ``match`` accepts a line, in SQL.

Input ``rq``: rating jobs ``(jid, ord, agreement_id, vidx, p_start, p_end)``, a
line part under one agreement version. Output ``rseg``: the job's segments,
each with the rule that rates it (``rord`` NULL: no rule). Without ``prorate``
(or for a line of zero duration) a job is one segment rated on the line's local
charge date; with it, the part is cut at the local midnights of the rules'
windows, each piece takes the rule valid on its first local day, and adjacent
pieces with the same rule merge — as ``core/settlement/rate.py`` does.
"""

from __future__ import annotations

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.select import local_day, local_midnight
from cloudsettle.core.agreements import MATCH_KEYS

_ATTRIBUTE = {key: f"l.{key}" for key in MATCH_KEYS} | {"customer_segment": "l.seg"}

MATCHES = " AND ".join(
    f"(r.m_{key} IS NULL OR list_contains(r.m_{key}, {column}))" for key, column in _ATTRIBUTE.items()
)

SEGMENTS = f"""
CREATE OR REPLACE TEMP TABLE rseg AS
WITH j AS (
    SELECT q.jid, q.ord, q.agreement_id, q.vidx, q.p_start, q.p_end, v.tz,
           v.prorate AND l.ce_us > l.cs_us AS pr, l.charge_start
    FROM rq q JOIN ver v ON v.agreement_id = q.agreement_id AND v.vidx = q.vidx JOIN l ON l.ord = q.ord
),
cuts AS (
    SELECT jid, p_start AS t FROM j WHERE pr
    UNION SELECT jid, p_end FROM j WHERE pr
    UNION
    SELECT jid, t FROM (
        SELECT j.jid, j.pr, j.p_start, j.p_end, {local_midnight("j.tz", "r.valid_from")} AS t
        FROM j JOIN rul r ON r.agreement_id = j.agreement_id AND r.vidx = j.vidx
        UNION ALL
        SELECT j.jid, j.pr, j.p_start, j.p_end, {local_midnight("j.tz", "r.valid_to")}
        FROM j JOIN rul r ON r.agreement_id = j.agreement_id AND r.vidx = j.vidx
    ) b WHERE b.pr AND b.t > b.p_start AND b.t < b.p_end
),
pieces AS (
    SELECT jid, s, e, row_number() OVER (PARTITION BY jid ORDER BY s) AS k
    FROM (SELECT jid, t AS s, lead(t) OVER (PARTITION BY jid ORDER BY t) AS e FROM cuts)
    WHERE e IS NOT NULL
    UNION ALL
    SELECT jid, p_start, p_end, 1 FROM j WHERE NOT pr
),
dated AS (
    SELECT p.jid, p.k, p.s, p.e, j.ord, j.agreement_id, j.vidx,
           CASE WHEN j.pr THEN {local_day("j.tz", "p.s")} ELSE {local_day("j.tz", "j.charge_start")} END
               AS rday
    FROM pieces p JOIN j USING (jid)
),
matched AS (
    SELECT d.jid, d.k, any_value(d.s) AS s, any_value(d.e) AS e, min(r.rord) AS rord
    FROM dated d JOIN l ON l.ord = d.ord
    LEFT JOIN rul r ON r.agreement_id = d.agreement_id AND r.vidx = d.vidx
        AND (r.valid_from IS NULL OR r.valid_from <= d.rday) AND (r.valid_to IS NULL OR d.rday < r.valid_to)
        AND {MATCHES}
    GROUP BY d.jid, d.k
),
islands AS (
    SELECT *, k - row_number() OVER (PARTITION BY jid, rord ORDER BY k) AS grp FROM matched
),
merged AS (
    SELECT jid, rord, min(s) AS s_start, max(e) AS s_end, min(k) AS k0 FROM islands GROUP BY jid, rord, grp
)
SELECT m.jid, (row_number() OVER (PARTITION BY m.jid ORDER BY m.k0) - 1)::INTEGER AS sseq,
       m.s_start, epoch_us(m.s_end) - epoch_us(m.s_start) AS snum,
       count(*) OVER (PARTITION BY m.jid) AS nseg, m.rord
FROM merged m
"""

#: The rule of each segment (NULL rule: rate 0).
SEGMENT_RULES = """
CREATE OR REPLACE TEMP TABLE rsegr AS
SELECT g.*, r.rule_id, coalesce(r.rate, 0) AS rate
FROM rseg g JOIN rq q USING (jid) LEFT JOIN rul r ON r.agreement_id = q.agreement_id AND r.vidx = q.vidx
    AND r.rord = g.rord
"""


def segments(ex: Executor) -> None:
    """Create ``rseg`` from ``rq`` (rules are attached later by :data:`SEGMENT_RULES`)."""
    ex.run(SEGMENTS)
