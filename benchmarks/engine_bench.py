"""Bulk engine benchmark: settle a synthetic month with DuckDB, the reference engine and a
bare DuckDB baseline; print lines per second and peak RSS of each.

    .venv/bin/python benchmarks/engine_bench.py --lines 1000000 [--reference-lines 20000]

The data are seeded: 10,000 customers, 500 partners (one agreement each, of
varied rules, tiers, caps, fees and clawback windows), CNY and USD lines with
amounts in whole cents, 4% refunds of earlier lines (some in September, so they
claw back). Each measurement runs in its own process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from cloudsettle.compute.engine import (
    BulkSettings,
    connect,
    prepare,
    run_steps,
    settle_period_bulk,
    settle_period_summary,
)
from cloudsettle.core.agreements import (
    Agreement,
    AgreementVersion,
    Band,
    Clawback,
    Fee,
    Rule,
    TierMethod,
    Tiers,
)
from cloudsettle.core.fx import FxRate, FxTable
from cloudsettle.core.parties import Customer, Deal, Partner, Verification
from cloudsettle.core.settlement.book import Book

CUSTOMERS = 10_000
PARTNERS = 500
CATEGORIES = ("Compute", "Storage", "Network", "Database", "Other")
SERVICES = ("CVM", "COS", "CDN", "CDB", "CLS")


def make_book() -> Book:
    """500 partners with varied agreements; every customer has a deal."""
    agreements = {}
    partners = {}
    for p in range(PARTNERS):
        currency = "USD" if p % 10 == 0 else "CNY"
        rules = (
            Rule("compute", Decimal(5 + p % 7).scaleb(-2), {"service_category": frozenset({"Compute"})}),
            Rule("storage", Decimal(30 + p % 11).scaleb(-3), {"service_category": frozenset({"Storage"})}),
            Rule("rest", Decimal(2 + p % 3).scaleb(-2)),
        )
        tiers = None
        if p % 3 == 0:
            tiers = Tiers(
                TierMethod.MARGINAL if p % 2 else TierMethod.RETROACTIVE,
                (
                    Band(Decimal(0), Decimal(0)),
                    Band(Decimal(50_000), Decimal("0.01")),
                    Band(Decimal(200_000), Decimal("0.02")),
                ),
            )
        version = AgreementVersion(
            version=1,
            effective_from=date(2026, 1, 1),
            currency=currency,
            rules=rules,
            timezone="Asia/Shanghai" if p % 4 else "UTC",
            tiers=tiers,
            cap=Decimal(80_000) if p % 7 == 0 else None,
            fees=(Fee("platform", percent=Decimal("0.01")),),
            clawback=Clawback(Decimal(1), 90 if p % 2 else None),
        )
        agreements[f"ag{p}"] = Agreement(f"ag{p}", f"P{p}", (version,))
        partners[f"P{p}"] = Partner(f"P{p}", f"Partner {p}", currency, Verification.VERIFIED)
    deals = [
        Deal(f"D{c}", f"P{c % PARTNERS}", "tencent", f"{c:08d}", f"ag{c % PARTNERS}", date(2025, 1, 1))
        for c in range(CUSTOMERS)
    ]
    customers = {
        ("tencent", f"{c:08d}"): Customer("tencent", f"{c:08d}", segment="smb" if c % 3 else "ent")
        for c in range(CUSTOMERS)
    }
    fx = [
        FxRate(date(2026, 9, 1 + d), "USD", "CNY", Decimal("7.1") + Decimal(d).scaleb(-4)) for d in range(30)
    ]
    fx += [
        FxRate(date(2026, 10, 1 + d), "USD", "CNY", Decimal("7.12") + Decimal(d).scaleb(-4))
        for d in range(31)
    ]
    fx += [FxRate(date(2026, 9, 1), "CNY", "USD", Decimal("0.1406"))]
    return Book(
        partners=partners, agreements=agreements, deals=deals, lines=[], customers=customers, fx=FxTable(fx)
    )


def generate(path: Path, n: int) -> None:
    """Write ``n`` seeded lines of LINE_SCHEMA to Parquet (amounts from whole cents)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET threads = 1")
    con.execute("SELECT setseed(0.42)")
    categories = ", ".join(f"'{c}'" for c in CATEGORIES)
    services = ", ".join(f"'{s}'" for s in SERVICES)
    con.execute(f"""
        CREATE TABLE base AS
        SELECT i, (hash(i, 1) % {CUSTOMERS}) AS cust, (hash(i, 2) % 5)::INT AS svc,
               TIMESTAMPTZ '2026-09-01 00:00:00+00' + to_seconds((hash(i, 3) % (61 * 86400))::BIGINT) AS cs,
               ((hash(i, 4) % 2000000) + 1)::DECIMAL(38, 0) * 0.01::DECIMAL(38, 2) AS amount,
               ((hash(i, 5) % 100) < 10) AS usd
        FROM range({n}) t(i)
    """)
    con.execute(f"""
        COPY (
            SELECT 'L' || i AS line_id, 'tencent' AS provider, lpad(cust::VARCHAR, 8, '0') AS account_id,
                   CASE WHEN refund THEN cs + INTERVAL 10 DAY ELSE cs END AS charge_start,
                   CASE WHEN refund THEN cs + INTERVAL 10 DAY ELSE cs END + INTERVAL 1 HOUR AS charge_end,
                   date_trunc('month', CASE WHEN refund THEN cs + INTERVAL 10 DAY ELSE cs END
                                           AT TIME ZONE 'Asia/Shanghai')::DATE AS billing_period,
                   (CASE WHEN refund THEN -amount ELSE amount END)::DECIMAL(38, 12) AS list_amount,
                   ((CASE WHEN refund THEN -amount ELSE amount END) * 0.1::DECIMAL(38, 1))::DECIMAL(38, 12)
                       AS discount_amount,
                   0::DECIMAL(38, 12) AS voucher_amount, 0::DECIMAL(38, 12) AS tax_amount,
                   CASE WHEN usd THEN 'USD' ELSE 'CNY' END AS currency,
                   [{services}][svc + 1] AS service, [{categories}][svc + 1] AS service_category,
                   'usage' AS charge_category, 'on_demand' AS billing_mode, 'ap-guangzhou' AS region,
                   '' AS project, '' AS resource_id, '' AS invoice_id, '' AS payer_account_id,
                   false AS is_correction, NULL::TIMESTAMPTZ AS paid_at,
                   CASE WHEN refund THEN 'L' || orig END AS original_line_id
            FROM (
                SELECT b.i, b.cust, b.svc, b.usd, b.cs, b.amount, false AS refund, NULL AS orig FROM base b
                WHERE (hash(b.i, 6) % 100) >= 4
                UNION ALL
                SELECT b.i, b.cust, b.svc, b.usd, b.cs, b.amount, true, b.i FROM base b
                WHERE (hash(b.i, 6) % 100) < 4
            )
            ORDER BY i, refund
        ) TO '{path}' (FORMAT parquet)
    """)
    # The refund copies share i with their original: give them their own ids.
    con.execute(f"""
        COPY (SELECT * REPLACE (CASE WHEN original_line_id IS NULL THEN line_id ELSE line_id || 'R' END
                                AS line_id) FROM read_parquet('{path}'))
        TO '{path}.tmp' (FORMAT parquet)
    """)
    Path(f"{path}.tmp").replace(path)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_bulk(path: Path, period: str) -> dict[str, object]:
    book = make_book()
    n = int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])
    t0 = time.perf_counter()
    con = connect(BulkSettings())
    scales = prepare(con, book, path)
    from cloudsettle.compute.engine import _applies, _Spec

    specs = []
    for agreement in book.agreements.values():
        chosen = _applies(agreement, period)
        if chosen:
            specs.append(_Spec(len(specs), agreement, chosen[1], chosen[0]))
    run_steps(con, scales, specs)
    sl = con.execute("SELECT count(*) FROM sl").fetchone()
    t_sql = time.perf_counter() - t0
    con.close()
    t1 = time.perf_counter()
    result = settle_period_bulk(book, path, period)
    t_full = time.perf_counter() - t1
    return {
        "lines": n,
        "statement_lines": sl[0] if sl else 0,
        "sql_s": t_sql,
        "full_s": t_full,
        "statements": len(result.statements),
        "peak_mib": peak_mib(),
        "payable": str(sum((s.components.payable for s in result.statements), Decimal(0))),
    }


def phase_summary(path: Path, period: str, memory_limit: str) -> dict[str, object]:
    """Summary mode: statements from per-statement sums, every line's result to Parquet."""
    book = make_book()
    out = path.with_name(f"{path.stem}-results.parquet")
    out.unlink(missing_ok=True)
    spill = path.parent / "spill"
    t0 = time.perf_counter()
    run = settle_period_summary(
        book, path, period, lines_out=out,
        settings=BulkSettings(memory_limit=memory_limit, temp_directory=spill),
    )
    elapsed = time.perf_counter() - t0
    return {
        "full_s": elapsed,
        "statements": len(run.result.statements),
        "statement_lines": run.lines_written,
        "results_mib": out.stat().st_size / 2**20,
        "peak_mib": peak_mib(),
        "payable": str(sum((s.components.payable for s in run.result.statements), Decimal(0))),
    }


def phase_reference(path: Path, period: str, limit: int) -> dict[str, object]:
    import pyarrow.parquet as pq

    from cloudsettle.compute.arrow import lines_from_rows
    from cloudsettle.core.settlement.book import MappedBook
    from cloudsettle.core.settlement.run import settle_period

    table = pq.read_table(path).slice(0, limit)
    lines = lines_from_rows(table.to_pylist())
    book = make_book()
    book = Book(
        partners=book.partners,
        agreements=book.agreements,
        deals=book.deals,
        lines=lines,
        customers=book.customers,
        fx=book.fx,
    )
    t0 = time.perf_counter()
    result = settle_period(MappedBook(book), period)
    elapsed = time.perf_counter() - t0
    return {
        "lines": len(lines),
        "full_s": elapsed,
        "statements": len(result.statements),
        "peak_mib": peak_mib(),
    }


def phase_baseline(path: Path) -> dict[str, object]:
    """Read the Parquet, join the rates, a window for tiers, group by partner: the floor."""
    t0 = time.perf_counter()
    con = connect(BulkSettings())
    con.execute("""
        CREATE TABLE rates AS SELECT * FROM (VALUES ('Compute', 0.08), ('Storage', 0.05), ('Network', 0.03),
            ('Database', 0.03), ('Other', 0.03)) t(category, rate)
    """)
    con.execute(f"""
        CREATE TABLE out AS
        WITH x AS (
            SELECT (account_id::INT % {PARTNERS}) AS partner, l.charge_start, l.line_id,
                   (list_amount - discount_amount) AS base, r.rate::DECIMAL(18, 4) AS rate
            FROM read_parquet('{path}') l JOIN rates r ON r.category = l.service_category
        ), w AS (
            SELECT *, sum(base) OVER (PARTITION BY partner ORDER BY charge_start, line_id) AS running FROM x
        )
        SELECT partner, sum(base * rate) AS commission,
               sum(CASE WHEN running > 100000 THEN base * 0.01 ELSE 0 END) AS uplift
        FROM w GROUP BY partner
    """)
    elapsed = time.perf_counter() - t0
    rows = con.execute("SELECT count(*) FROM out").fetchone()
    return {"full_s": elapsed, "partners": rows[0] if rows else 0, "peak_mib": peak_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--reference-lines", type=int, default=20_000)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cloudsettle-bench"))
    parser.add_argument("--phase", choices=["bulk", "reference", "baseline", "summary"])
    parser.add_argument("--phases", default="baseline,bulk,summary,reference",
                        help="which measurements to run, comma-separated (at 10M lines: baseline,summary)")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB's memory limit in summary mode")
    args = parser.parse_args()
    path = args.dir / f"lines-{args.lines}.parquet"
    if args.phase == "bulk":
        print(json.dumps(phase_bulk(path, args.period)))
        return
    if args.phase == "reference":
        print(json.dumps(phase_reference(path, args.period, args.reference_lines)))
        return
    if args.phase == "baseline":
        print(json.dumps(phase_baseline(path)))
        return
    if args.phase == "summary":
        print(json.dumps(phase_summary(path, args.period, args.memory_limit)))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.lines)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s")
    results: dict[str, dict[str, object]] = {}
    for phase in args.phases.split(","):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--lines",
                str(args.lines),
                "--reference-lines",
                str(args.reference_lines),
                "--period",
                args.period,
                "--dir",
                str(args.dir),
                "--phase",
                phase,
                "--memory-limit",
                args.memory_limit,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[phase] = json.loads(out.stdout.strip().splitlines()[-1])
    n = int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])
    rows: list[tuple[str, int, float, object]] = []
    if "baseline" in results:
        base = results["baseline"]
        rows.append(("bare DuckDB baseline", n, float(str(base["full_s"])), base["peak_mib"]))
    if "bulk" in results:
        bulk = results["bulk"]
        print(f"statement lines: {int(str(bulk['statement_lines'])):,}; statements: {bulk['statements']}")
        rows.append(("bulk engine, steps 1-5 SQL only", n, float(str(bulk["sql_s"])), None))
        rows.append(("bulk engine, settle_period_bulk (full Statements)", n, float(str(bulk["full_s"])),
                     bulk["peak_mib"]))
    if "summary" in results:
        summ = results["summary"]
        print(f"summary mode: {int(str(summ['statement_lines'])):,} statement lines to Parquet "
              f"({float(str(summ['results_mib'])):.0f} MiB), {summ['statements']} statements, "
              f"memory limit {args.memory_limit}")
        rows.append(("bulk engine, settle_period_summary (lines to Parquet)", n, float(str(summ["full_s"])),
                     summ["peak_mib"]))
    if "reference" in results:
        ref = results["reference"]
        rows.append(("reference engine, settle_period", int(str(ref["lines"])), float(str(ref["full_s"])),
                     ref["peak_mib"]))
    print(f"{'measurement':56} {'lines':>10} {'seconds':>9} {'lines/s':>10} {'peak RSS MiB':>13}")
    for name, lines, seconds, peak in rows:
        peak_text = f"{float(str(peak)):13.0f}" if peak is not None else f"{'(same run)':>13}"
        print(f"{name:56} {lines:10,} {seconds:9.2f} {lines / seconds:10,.0f} {peak_text}")
    if "bulk" in results and "summary" in results:
        same = results["bulk"]["payable"] == results["summary"]["payable"]
        print(f"total payable: full {results['bulk']['payable']}, summary {results['summary']['payable']}"
              f" ({'equal' if same else 'DIFFERENT'})")
        if not same:
            raise SystemExit("summary mode and full mode disagree")
    if "baseline" in results and "summary" in results:
        ratio = float(str(results["summary"]["full_s"])) / float(str(results["baseline"]["full_s"]))
        print(f"summary mode / bare DuckDB: {ratio:.1f}x")


if __name__ == "__main__":
    main()
