"""Step 5, Refunds and clawback: what a negative line with an original becomes, in SQL.

- ``rk``: each selected refund part's kind: ``same`` (the original is selected
  on the same statement: it nets at the original's rate), ``here`` (the
  original was paid under this agreement: a clawback), ``elsewhere`` (another
  agreement paid it), ``notpaid`` or ``unlinked`` (no such original).
- ``px``: refunds selected on no statement of this agreement whose original it
  paid: clawbacks that land here whichever deal the customer is under now.
- ``ogov``: the version that governed each original's period, whose rules give
  the original's rate (uplift excluded).
The clawback amount is ``share × base × original_rate`` inside the window.
"""

from __future__ import annotations

from cloudsettle.compute.backend import Executor
from cloudsettle.compute.base import excluded, is_refund, raw_base
from cloudsettle.compute.select import counts, days_between, local_day, membership

#: Written with LEFT JOINs on unique keys rather than ``EXISTS`` inside ``CASE``
#: (Spark runs subqueries only in filters): ``ps`` selected in, ``la`` distinct.
REFUND_KINDS = f"""
CREATE OR REPLACE TEMP TABLE rk AS
SELECT x.sid, x.ord, x.pseq, o.ord AS oord,
    CASE WHEN o.ord IS NULL THEN 'unlinked'
         WHEN q.ord IS NOT NULL THEN 'same'
         WHEN h.ord IS NOT NULL THEN 'here'
         WHEN e.ord IS NOT NULL THEN 'elsewhere'
         ELSE 'notpaid' END AS kind
FROM ps x JOIN stv s USING (sid) JOIN l ON l.ord = x.ord JOIN fxl f ON f.sid = x.sid AND f.ord = x.ord
LEFT JOIN lkey o ON o.provider = l.provider AND o.line_id = l.original_line_id
LEFT JOIN (SELECT DISTINCT sid, ord FROM ps WHERE memb = 'in') q ON q.sid = x.sid AND q.ord = o.ord
LEFT JOIN la h ON h.ord = o.ord AND h.agreement_id = s.agreement_id
LEFT JOIN (SELECT DISTINCT ord FROM la) e ON e.ord = o.ord
WHERE x.memb = 'in' AND {is_refund("s", "l", "f")}
"""

#: Refund parts not mapped to this agreement whose original it paid (before the base test).
FROM_ELSEWHERE = f"""
CREATE OR REPLACE TEMP TABLE px0 AS
WITH r AS (
    SELECT s.sid, l.ord, o.ord AS oord
    FROM l JOIN lkey o ON o.provider = l.provider AND o.line_id = l.original_line_id
    JOIN la ON la.ord = o.ord
    JOIN stv s ON s.agreement_id = la.agreement_id
    WHERE {counts("s", "l")} AND {membership("s", "l")} = 'in'
)
SELECT r.sid, r.ord, r.oord, p.pseq, p.deal_id, p.p_start, p.p_end, p.pnum, p.pden
FROM r JOIN stv s USING (sid) JOIN part p ON p.ord = r.ord
LEFT JOIN la po ON po.ord = r.oord AND po.agreement_id = p.agreement_id
WHERE (p.deal_id IS NULL OR p.agreement_id <> s.agreement_id)
  AND NOT (p.deal_id IS NOT NULL AND po.ord IS NOT NULL)
"""

#: ... whose base is negative, or unknown for want of an FX rate.
FROM_ELSEWHERE_NEGATIVE = f"""
CREATE OR REPLACE TEMP TABLE px AS
SELECT x.* FROM px0 x JOIN stv s USING (sid) JOIN l ON l.ord = x.ord
JOIN fxl f ON f.sid = x.sid AND f.ord = x.ord
WHERE f.fx_rate IS NULL OR (NOT {excluded("s", "l")} AND {raw_base("s", "l")} < 0)
"""

#: The version that governed the original's period (its period in the statement
#: version's cycle, by that version's basis; unpaid: by its charge date): the one
#: with the latest ``(effective_from, version)`` on or before the period's start.
_since = days_between("anchor", "day")
GOVERNING = f"""
CREATE OR REPLACE TEMP TABLE ogov AS
WITH o AS (
    SELECT DISTINCT sid, oord FROM rk WHERE kind = 'here'
    UNION SELECT DISTINCT sid, oord FROM px
), d AS (
    SELECT o.sid, o.oord, s.agreement_id, s.vidx AS svidx, s.cycle, s.anchor,
           coalesce(CASE s.basis WHEN 'billing_period' THEN l.billing_period
                                 WHEN 'charge' THEN {local_day("s.tz", "l.charge_start")}
                                 ELSE {local_day("s.tz", "l.paid_at")} END,
                    {local_day("s.tz", "l.charge_start")}) AS day
    FROM o JOIN stv s USING (sid) JOIN l ON l.ord = o.oord
), p AS (
    SELECT *, (CASE cycle WHEN 'monthly' THEN date_trunc('month', day)
                          WHEN 'quarterly' THEN date_trunc('quarter', day)
                          WHEN 'weekly' THEN date_trunc('week', day)
                          ELSE anchor + ({_since} - ((({_since} % 14) + 14) % 14))::INTEGER
                          END)::DATE
               AS pstart
    FROM d
), g AS (
    SELECT p.sid, p.oord, p.agreement_id, p.svidx, v.vidx,
           row_number() OVER (PARTITION BY p.sid, p.oord
                              ORDER BY v.effective_from DESC, v.version DESC, v.vidx DESC) AS rn
    FROM p LEFT JOIN ver v ON v.agreement_id = p.agreement_id AND v.effective_from <= p.pstart
)
SELECT sid, oord, agreement_id, coalesce(vidx, svidx) AS gvidx FROM g WHERE rn = 1
"""


def classify(ex: Executor) -> None:
    """Create ``rk`` (needs ``fxl`` over the selected parts) and ``px0``."""
    ex.run(REFUND_KINDS)
    ex.run(FROM_ELSEWHERE)


def from_elsewhere(ex: Executor) -> None:
    """Create ``px`` (needs ``fxl`` over ``px0``) and ``ogov``."""
    ex.run(FROM_ELSEWHERE_NEGATIVE)
    ex.run(GOVERNING)
