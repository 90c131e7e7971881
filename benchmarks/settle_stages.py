"""Where a settle's time and memory go, stage by stage (issue 6), on a workspace already ingested.

    .venv/bin/python benchmarks/settle_stages.py WORKSPACE [--period 2026-10] [--steps]

Runs ``settlement_service.settle`` of the period on the workspace's database and prints, as
each stage of the run starts (the stages ``cloudsettle settle`` shows on its progress line;
with ``--steps`` each SQL step of the bulk engine too), the seconds since the start, the
process's resident memory and its peak so far (``VmRSS`` and ``VmHWM`` of /proc/self/status),
then the lines per second of the whole settle. The run is rolled back, so the same
workspace can be measured again (its earlier statements are there to be replaced, as in a
re-settle). Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from cloudsettle.db.models import StatementLineRow
from cloudsettle.services.settlement_service import settle
from cloudsettle.services.workspace import open_workspace

MIB = 1024  # /proc/self/status reports KiB


def memory_mib() -> tuple[int, int]:
    """(resident, peak resident) of this process, MiB."""
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(rest.split()[0]) // MIB
    return found["VmRSS"], found["VmHWM"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--steps", action="store_true", help="also each SQL step of the bulk engine")
    args = parser.parse_args()
    start = time.perf_counter()
    cpu_start = time.process_time()

    def tell(stage: str) -> None:
        if stage.startswith("rating (SQL step") and not args.steps:
            return
        rss, peak = memory_mib()
        elapsed = time.perf_counter() - start
        print(f"{elapsed:8.1f} s  rss {rss:6,d} MiB  peak {peak:6,d} MiB  {stage}", flush=True)

    ws = open_workspace(args.workspace)
    try:
        with ws.sessions() as session:
            try:
                summary = settle(session, period=args.period, partner_id=None, actor="bench", progress=tell)
                tell("done")
                ids = [r.id for r in summary.statements]
                lines = session.scalar(select(func.count()).select_from(StatementLineRow)
                                       .where(StatementLineRow.statement_id.in_(ids)))
            finally:
                session.rollback()
    finally:
        ws.close()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    _, peak = memory_mib()
    count = lines or 0
    print(f"{count:,d} statement lines in {wall:.1f} s wall, {cpu:.1f} s CPU ({count / wall:,.0f} lines/s), "
          f"peak RSS {peak:,d} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
