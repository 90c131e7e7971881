"""Deal resolution (spec: Parties): every line to the deal that covers it, in SQL.

Creates ``part`` (a line, or the part of it one deal covers), ``la`` (the
agreements a line's parts are mapped to) and ``mapfind`` (``missing_deal`` and
``ambiguous_deal``). As in ``core/deals.py``: a deal's window is tested on the
local date in the time zone of its agreement's version in force at that
instant (the timeline ``vt``); when every candidate deal's agreement prorates, a line with a
duration is cut at the local midnights where deal windows begin or end, and
each part keeps its length in microseconds (``pnum`` of ``pden``) as the exact
fraction.
"""

from __future__ import annotations

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.select import local_day, local_midnight

#: The version timeline: each version's first instant (its local midnight in the
#: reference version's zone; of versions starting the same day the highest number
#: wins) and the next one's, so "the version in force at t" is an equi-join on the
#: agreement plus ``eff_at <= t < next_at`` (DuckDB's ASOF join, written portably).
VERSION_TIMELINE = f"""
CREATE OR REPLACE TEMP TABLE vt AS
SELECT agreement_id, vidx, tz, prorate, eff_at,
       lead(eff_at) OVER (PARTITION BY agreement_id ORDER BY eff_at) AS next_at
FROM (
    SELECT v.agreement_id, v.vidx, v.tz, v.prorate, {local_midnight("r.tz", "v.effective_from")} AS eff_at,
           row_number() OVER (PARTITION BY v.agreement_id, v.effective_from ORDER BY v.version DESC) AS rn
    FROM ver v JOIN ver r ON r.agreement_id = v.agreement_id AND r.is_ref
) WHERE rn = 1
"""


def in_force(vt: str, key: str, at: str) -> str:
    """SQL: join condition of the version timeline row ``vt`` in force at instant ``at``."""
    return (
        f"{vt}.agreement_id = {key} AND {vt}.eff_at <= {at} AND ({vt}.next_at IS NULL OR {at} < {vt}.next_at)"
    )


#: Candidate deals of each line: same customer, service in scope; with the time zone
#: and ``prorate`` of the agreement version in force at the line's start, and the line's
#: local charge date in that zone (``lday``: computed once per candidate, not per test).
CANDIDATES = f"""
CREATE OR REPLACE TEMP TABLE cand AS
WITH c0 AS (
    SELECT l.ord, l.charge_start, d.dord, d.deal_id, d.agreement_id, d.valid_from, d.valid_to
    FROM l JOIN deal d ON d.provider = l.provider AND d.account_id = l.account_id
        AND (d.services IS NULL OR list_contains(d.services, l.service))
)
SELECT c1.*, {local_day("c1.dtz", "c1.charge_start")} AS lday FROM (
    SELECT c0.*, coalesce(a.tz, r.tz, 'UTC') AS dtz, coalesce(a.prorate, r.prorate, false) AS dprorate
    FROM c0 LEFT JOIN vt a ON {in_force("a", "c0.agreement_id", "c0.charge_start")}
    LEFT JOIN ver r ON r.agreement_id = c0.agreement_id AND r.is_ref
) c1
"""

PRORATED_LINES = """
CREATE OR REPLACE TEMP TABLE lc AS
SELECT c.ord, bool_and(c.dprorate) AND any_value(l.ce_us > l.cs_us) AS pr
FROM cand c JOIN l USING (ord) GROUP BY c.ord
"""

#: Whole lines: the deals covering the local charge date. The names of several covering
#: deals (for ``ambiguous_deal``) are gathered only for the few lines that have several: an
#: ordered ``string_agg`` over every line was the heaviest part of this step.
WHOLE = """
CREATE OR REPLACE TEMP TABLE np AS
WITH cov AS (
    SELECT l.ord, c.deal_id, c.agreement_id
    FROM l LEFT JOIN lc USING (ord)
    LEFT JOIN cand c ON c.ord = l.ord
        AND c.valid_from <= c.lday AND (c.valid_to IS NULL OR c.lday < c.valid_to)
    WHERE NOT coalesce(lc.pr, false)
), counted AS (
    SELECT ord, count(deal_id) AS n,
           CASE WHEN count(deal_id) = 1 THEN min(deal_id) END AS deal_id,
           CASE WHEN count(deal_id) = 1 THEN min(agreement_id) END AS agreement_id
    FROM cov GROUP BY ord
), several AS (
    SELECT cov.ord, string_agg(cov.deal_id, ', ' ORDER BY cov.deal_id) AS names
    FROM cov JOIN counted k ON k.ord = cov.ord AND k.n > 1 GROUP BY cov.ord
)
SELECT k.ord, k.n, k.deal_id, k.agreement_id, s.names
FROM counted k LEFT JOIN several s ON s.ord = k.ord
"""

#: Prorated lines: cut at the local midnights of the candidates' windows.
CUTS = f"""
CREATE OR REPLACE TEMP TABLE pseg AS
WITH pl AS (SELECT l.ord, l.charge_start, l.charge_end FROM l JOIN lc USING (ord) WHERE lc.pr),
cuts AS (
    SELECT ord, charge_start AS t FROM pl
    UNION SELECT ord, charge_end FROM pl
    UNION
    SELECT ord, t FROM (
        SELECT pl.ord, pl.charge_start, pl.charge_end, {local_midnight("c.dtz", "c.valid_from")} AS t
        FROM pl JOIN cand c USING (ord)
        UNION ALL
        SELECT pl.ord, pl.charge_start, pl.charge_end, {local_midnight("c.dtz", "c.valid_to")}
        FROM pl JOIN cand c USING (ord)
    ) b WHERE b.t > b.charge_start AND b.t < b.charge_end
)
SELECT ord, k, s, e FROM (
    SELECT ord, t AS s, lead(t) OVER (PARTITION BY ord ORDER BY t) AS e,
           row_number() OVER (PARTITION BY ord ORDER BY t) AS k
    FROM cuts
) WHERE e IS NOT NULL
"""

#: Each segment's covering deals, tested in the zone of the version in force at its start.
SEGMENT_OWNERS = f"""
CREATE OR REPLACE TEMP TABLE psegcov AS
WITH sc AS (
    SELECT g.ord, g.k, g.s, g.e, c.deal_id, c.agreement_id, c.valid_from, c.valid_to
    FROM pseg g JOIN cand c ON c.ord = g.ord
), scz AS (
    SELECT sc.*, coalesce(a.tz, r.tz, 'UTC') AS stz
    FROM sc LEFT JOIN vt a ON {in_force("a", "sc.agreement_id", "sc.s")}
    LEFT JOIN ver r ON r.agreement_id = sc.agreement_id AND r.is_ref
), cov AS (
    SELECT *, valid_from <= {local_day("stz", "s")}
              AND (valid_to IS NULL OR {local_day("stz", "s")} < valid_to) AS covers
    FROM scz
)
SELECT ord, k, s, e, count(*) FILTER (WHERE covers) AS n,
       CASE WHEN count(*) FILTER (WHERE covers) = 1 THEN min(deal_id) FILTER (WHERE covers) END AS owner,
       CASE WHEN count(*) FILTER (WHERE covers) = 1 THEN min(agreement_id) FILTER (WHERE covers) END
           AS owner_agr,
       string_agg(deal_id, ', ' ORDER BY deal_id) FILTER (WHERE covers) AS names
FROM cov GROUP BY ord, k, s, e
"""

PARTS = """
CREATE OR REPLACE TEMP TABLE part AS
SELECT np.ord, 0 AS pseq, np.deal_id, np.agreement_id, l.charge_start AS p_start, l.charge_end AS p_end,
       1::BIGINT AS pnum, 1::BIGINT AS pden
FROM np JOIN l USING (ord)
UNION ALL
SELECT m.ord, (row_number() OVER (PARTITION BY m.ord ORDER BY m.k0) - 1)::INTEGER AS pseq, m.owner,
       m.owner_agr, m.p_start, m.p_end, epoch_us(m.p_end) - epoch_us(m.p_start), l.ce_us - l.cs_us
FROM (
    SELECT ord, owner, owner_agr, min(s) AS p_start, max(e) AS p_end, min(k) AS k0
    FROM (SELECT *, k - row_number() OVER (PARTITION BY ord, owner ORDER BY k) AS grp FROM psegcov)
    GROUP BY ord, owner, owner_agr, grp
) m JOIN l USING (ord)
"""

MAPPED_AGREEMENTS = """
CREATE OR REPLACE TEMP TABLE la AS
SELECT DISTINCT ord, agreement_id FROM part WHERE deal_id IS NOT NULL
"""

_MISSING = (
    "'no deal covers customer ' || l.provider || ':' || l.account_id || ' for service ' "
    "|| (CASE WHEN l.service = '' THEN '-' ELSE l.service END) || ' on line ' || l.line_id"
)
_AMBIGUOUS = (
    "'line ' || l.line_id || ' of ' || l.provider || ':' || l.account_id "
    "|| ' is covered by several deals: ' || x.names"
)

FINDINGS = f"""
CREATE OR REPLACE TEMP TABLE mapfind AS
WITH amb AS (
    SELECT ord, names, min(k) AS k FROM psegcov WHERE n > 1 GROUP BY ord, names
), x AS (
    SELECT ord, 0 AS k, 'missing_deal' AS kind, NULL AS names FROM np WHERE n = 0
    UNION ALL SELECT ord, 0, 'ambiguous_deal', names FROM np WHERE n > 1
    UNION ALL SELECT ord, k, 'ambiguous_deal', names FROM amb
    UNION ALL
    SELECT ord, 1000000000, 'missing_deal', NULL FROM psegcov GROUP BY ord
    HAVING count(owner) = 0 AND count(*) FILTER (WHERE n > 1) = 0
)
SELECT x.ord, x.k, x.kind, l.line_id,
       CASE WHEN x.kind = 'missing_deal' THEN {_MISSING} ELSE {_AMBIGUOUS} END AS message,
       l.billing_period, {local_day("'UTC'", "l.charge_start")} AS utc_day
FROM x JOIN l USING (ord)
"""


def resolve_deals(ex: Executor) -> None:
    """Create ``part``, ``la`` and ``mapfind`` from ``l`` and the reference tables."""
    for sql in (
        VERSION_TIMELINE,
        CANDIDATES,
        PRORATED_LINES,
        WHOLE,
        CUTS,
        SEGMENT_OWNERS,
        PARTS,
        MAPPED_AGREEMENTS,
        FINDINGS,
    ):
        ex.run(sql)
