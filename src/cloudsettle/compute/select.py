"""Step 1, Select: each statement's parts in its period, by its version's basis.

``st`` names the statements to compute (the run's, and the finalized ones that
step 9 recomputes); ``stv`` adds their versions. ``ps`` holds the parts mapped to
a statement's agreement that take part at all (tax never, credit only under
``cash``) and fall in its period (``memb = 'in'``) or wait unpaid under the
payment basis (``'deferred'``), with the local charge date in the version's zone.
"""

from __future__ import annotations

from cloudsettle.compute.backend import Executor

STATEMENT_VERSIONS = """
CREATE OR REPLACE TEMP TABLE stv AS
SELECT s.sid, s.p_start, s.p_end, v.*
FROM st s JOIN ver v ON v.agreement_id = s.agreement_id AND v.vidx = s.vidx
"""


def counts(s: str, ln: str) -> str:
    """SQL: whether line ``ln`` takes part under statement version ``s`` (spec step 2)."""
    return f"({ln}.charge_category <> 'tax' AND ({ln}.charge_category <> 'credit' OR {s}.base = 'cash'))"


def local_day(tz: str, instant: str) -> str:
    """SQL: the local date of ``instant`` in the zone ``tz``.

    The engine names zones only through this and :func:`local_midnight`: DuckDB's
    ``timezone()`` means one thing for an instant and another for a wall time, and
    the Spark translation (``compute/spark.py``) tells them apart by these two shapes.
    """
    return f"timezone({tz}, {instant})::DATE"


def local_midnight(tz: str, day: str) -> str:
    """SQL: the instant the local date ``day`` begins in the zone ``tz``."""
    return f"timezone({tz}, {day}::TIMESTAMP)"


def days_between(start: str, end: str) -> str:
    """SQL: whole days from date ``start`` to date ``end`` (``date_diff``: Spark has no
    integer ``date - date``)."""
    return f"date_diff('day', {start}, {end})"


def basis_day(s: str, ln: str) -> str:
    """SQL: the date that places line ``ln`` in a period under ``s``'s basis (NULL: unpaid)."""
    return (
        f"(CASE {s}.basis WHEN 'billing_period' THEN {ln}.billing_period "
        f"WHEN 'charge' THEN {local_day(f'{s}.tz', f'{ln}.charge_start')} "
        f"ELSE {local_day(f'{s}.tz', f'{ln}.paid_at')} END)"
    )


def membership(s: str, ln: str) -> str:
    """SQL: ``'in'``, ``'deferred'`` or NULL (out) for line ``ln`` in statement ``s``'s period."""
    day = basis_day(s, ln)
    charge = local_day(f"{s}.tz", f"{ln}.charge_start")
    return (
        f"(CASE WHEN {day} IS NOT NULL THEN "
        f"(CASE WHEN {day} BETWEEN {s}.p_start AND {s}.p_end THEN 'in' END) "
        f"WHEN {charge} BETWEEN {s}.p_start AND {s}.p_end THEN 'deferred' END)"
    )


SELECTED = f"""
CREATE OR REPLACE TEMP TABLE ps AS
SELECT * FROM (
    SELECT s.sid, p.ord, p.pseq, p.deal_id, p.p_start, p.p_end, p.pnum, p.pden,
           {local_day("s.tz", "l.charge_start")} AS cdate, {membership("s", "l")} AS memb
    FROM stv s JOIN part p ON p.agreement_id = s.agreement_id JOIN l ON l.ord = p.ord
    WHERE {counts("s", "l")}
) WHERE memb IS NOT NULL
"""


def select(ex: Executor) -> None:
    """Create ``stv`` and ``ps`` from ``st``, ``ver``, ``part`` and ``l``."""
    ex.run(STATEMENT_VERSIONS)
    ex.run(SELECTED)
