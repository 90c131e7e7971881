"""The lines table ``l``: billing lines from Arrow or Parquet, numbered in input order.

``ord`` is the line's position in the input (the reference engine walks
``Book.lines`` in that order, and the order of findings follows it). Amounts
are cast to the smallest scale their values need (measured here).
"""

from __future__ import annotations

import pyarrow as pa

from cloudsettle.compute.backend import Executor, LineSource
from cloudsettle.compute.scales import dec

_AMOUNTS = ("list_amount", "discount_amount", "voucher_amount", "tax_amount")
_SCALES = (4, 12)


def register_source(ex: Executor, lines: pa.Table | LineSource) -> None:
    """Make the input visible as ``lsrc`` with an ``ord`` column."""
    if isinstance(lines, pa.Table):
        table = lines.append_column("ord", pa.array(range(lines.num_rows), pa.int64()))
        ex.register("lsrc", table, materialize=False)
        return
    ex.register_parquet("lsrc", lines)


def line_scale(ex: Executor) -> int:
    """The decimals the amounts of the lines need: 4 when every amount has at most 4 (cents
    and most provider prices), else 12 (the line store's scale). One pass over the lines;
    a finer search costs a pass per candidate scale and buys nothing the caps do not."""
    checks = ", ".join(f"bool_and({c} = round({c}, {k}))" for c in _AMOUNTS for k in _SCALES)
    row = ex.rows(f"SELECT {checks} FROM lsrc")[0]
    needed = 0
    for i, _ in enumerate(_AMOUNTS):
        flags = row[i * len(_SCALES) : (i + 1) * len(_SCALES)]
        fits = [k for k, ok in zip(_SCALES, flags, strict=True) if ok is None or ok]
        needed = max(needed, fits[0] if fits else 12)
    return needed


def load_lines(ex: Executor, scale: int) -> None:
    """Create ``l`` (one row per line) and ``lkey`` (a line's ord by provider and id)."""
    amounts = ", ".join(f"coalesce({c}, 0)::{dec(scale)} AS {c}" for c in _AMOUNTS)
    ex.run(f"""
        CREATE OR REPLACE TEMP TABLE l AS
        SELECT s.ord, s.line_id, s.provider, s.account_id, s.charge_start, s.charge_end,
               epoch_us(s.charge_start) AS cs_us, epoch_us(s.charge_end) AS ce_us,
               s.billing_period, {amounts}, s.currency,
               coalesce(s.service, '') AS service, coalesce(s.service_category, '') AS service_category,
               s.charge_category, s.billing_mode, coalesce(s.region, '') AS region,
               coalesce(s.project, '') AS project, s.paid_at, s.original_line_id,
               coalesce(c.segment, '') AS seg
        FROM lsrc s LEFT JOIN cust c ON c.provider = s.provider AND c.account_id = s.account_id
    """)
    ex.run("""
        CREATE OR REPLACE TEMP TABLE lkey AS
        SELECT provider, line_id, max(ord) AS ord FROM l GROUP BY provider, line_id
    """)
