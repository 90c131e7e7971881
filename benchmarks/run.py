"""Benchmark suite of issue 6: the real CLI on generated bill files, against two baselines.

    .venv/bin/python benchmarks/run.py --lines 100000 [--workdir DIR] [--keep] [--json out.json]

On one set of files (see ``benchmarks/bill_generator.py``: Tencent, Huawei and
FOCUS bills of ``--lines`` lines, 10,000 customers, 500 partners) it measures,
each as its own subprocess (wall seconds, lines per second, peak RSS read from
that child's own ``rusage`` through ``os.wait4``):

1. ``cloudsettle ingest`` of the files, then ``cloudsettle settle --period 2026-10``
   (an embedded SQLite workspace in the work folder, set up untimed with
   ``cloudsettle init`` and ``cloudsettle config load``);
2. ``cloudsettle ingest`` of the same files again (all unchanged);
3. ``cloudsettle ingest`` of a 1% restatement (same line ids, other amounts), then
   ``cloudsettle settle`` again;
4. a bare DuckDB baseline: read the CSVs, join accounts, rates and FX, a window for
   the tiers, group by partner (the floor any engine pays);
5. a plain Python ``csv`` + ``Decimal`` loop doing the same (a hand-written script).

It checks what the CLI did (every line new, then unchanged, then the 1% revised; no
rejects; a statement per partner) from the workspace database, prints a table, the
ratios of the issue's targets, and with ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bill_generator as gen

CLI = Path(sys.executable).with_name("cloudsettle")
USER = "bench"
MIB = 1024  # ru_maxrss is in KiB on Linux


@dataclass
class Measured:
    """One subprocess: what it ran, how long, its peak RSS, its exit status."""

    name: str
    lines: int
    seconds: float  # noqa: float-ok - wall seconds, never money
    peak_mib: float  # noqa: float-ok - mebibytes, never money
    exit_code: int
    cpu_seconds: float  # noqa: float-ok - user + system seconds, all threads
    wall_seconds: float = 0.0  # noqa: float-ok - wall seconds with process start, when it differs

    @property
    def lines_per_s(self) -> float:  # noqa: float-ok - a rate, never money
        """Throughput on the wall clock."""
        return self.lines / self.seconds if self.seconds else 0.0

    @property
    def lines_per_cpu_s(self) -> float:  # noqa: float-ok - a rate, never money
        """Throughput per CPU second (steadier than wall time on a shared machine)."""
        return self.lines / self.cpu_seconds if self.cpu_seconds else 0.0


#: Settings of the CLI children beyond the environment's own (``--line-store`` adds one).
CHILD_ENV: dict[str, str] = {"COLUMNS": "200"}


def measure(name: str, lines: int, command: list[str], log: Path) -> Measured:
    """Run ``command`` as a child, timing it and reading its own peak RSS; output to ``log``.
    The workspace is the embedded one given on the command line, whatever the environment says."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLOUDSETTLE_DATABASE_URL", "CLOUDSETTLE_WORKSPACE", "CLOUDSETTLE_LINE_STORE")}
    env.update(CHILD_ENV)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        done = Measured(name, lines, seconds, usage.ru_maxrss / MIB, child.returncode,
                        usage.ru_utime + usage.ru_stime)
        # Each figure is in the log as soon as it is known: a later failure loses none.
        out.write(f"# {name}: {done.seconds:.1f} s wall, {done.cpu_seconds:.1f} s CPU, "
                  f"peak RSS {done.peak_mib:.0f} MiB, exit {done.exit_code}\n")
    return done


def combined(name: str, lines: int, parts: list[Measured]) -> Measured:
    """Steps run one after the other: seconds add up, the peak is the highest."""
    return Measured(name, lines, sum(p.seconds for p in parts), max(p.peak_mib for p in parts),
                    max(p.exit_code for p in parts), sum(p.cpu_seconds for p in parts))


def cli(workspace: Path, *args: str) -> list[str]:
    """A ``cloudsettle`` command line on the benchmark's workspace."""
    return [str(CLI), *args, "--workspace", str(workspace), "--user", USER]


# --- the baselines (run as ``--phase duckdb`` / ``--phase python`` children) ---------------------

#: Per format: (account column, product column or None, category column or None, net amount column,
#: time column, currency column or the file's currency).
_COLUMNS: dict[str, tuple[str, str | None, str | None, str, str, str]] = {
    gen.TENCENT_CN: ("使用者UIN", "产品名称", None, "优惠后总价", "扣费时间", "=CNY"),
    gen.TENCENT_EN: ("Owner Account ID", "Product Name", None,
                     "Total Amount After Discount (Excluding Tax)", "Transaction Time", "Currency"),
    gen.HUAWEI_CN: ("账号", "产品类型编码", None, "应付金额(¥)", "消费时间", "=CNY"),
    gen.FOCUS: ("SubAccountId", None, "ServiceCategory", "BilledCost", "ChargePeriodStart",
                "BillingCurrency"),
}


def _product_categories() -> dict[str, str]:
    """Product name or code as the files write it -> FOCUS service category."""
    out: dict[str, str] = {}
    for fmt in (gen.TENCENT_CN, gen.TENCENT_EN, gen.HUAWEI_CN):
        for product in range(gen._product_count(fmt)):
            p = gen._native_product(fmt, product)
            name = {gen.TENCENT_CN: p.cn, gen.TENCENT_EN: p.en, gen.HUAWEI_CN: p.code}[fmt]
            out[name] = gen.category_of(fmt, product)
    return out


def _config_fx(config: Path) -> dict[tuple[str, str, str], Decimal]:
    """The FX rates of the generated config file (one flow mapping a line)."""
    out: dict[tuple[str, str, str], Decimal] = {}
    in_fx = False
    for raw in config.read_text(encoding="utf-8").splitlines():
        if raw.startswith("fx_rates:"):
            in_fx = True
            continue
        if in_fx and raw.startswith("  - {"):
            fields = dict(part.split(": ", 1) for part in raw.strip()[3:-1].split(", "))
            out[(fields["date"], fields["from"], fields["to"])] = Decimal(fields["rate"].strip('"'))
    return out


def _bands() -> tuple[tuple[Decimal, Decimal], ...]:
    """The tier bands the baselines apply (marginal, the generator's bands)."""
    tiers = gen.tier_bands(0)
    assert tiers is not None
    return tuple((Decimal(start), uplift) for start, uplift in tiers[1])


def phase_duckdb(bills: Path, customers: int) -> dict[str, Any]:
    """Read the CSVs, join the accounts, rates and FX, a window for the tiers, group by partner."""
    import duckdb
    import pyarrow as pa

    started, cpu_started = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    partners = range(gen.PARTNERS)
    rates = [(p, category, rate) for p in partners for category, rate in gen.category_rates(p).items()]
    fx = _config_fx(bills / gen.CONFIG_FILE)
    tables = {
        "accounts": pa.table({"account": [gen.account_id(c) for c in range(customers)],
                              "partner": [c % gen.PARTNERS for c in range(customers)]}),
        "partners": pa.table({"partner": list(partners),
                              "currency": [gen.partner_currency(p) for p in partners],
                              "default_rate": [gen.default_rate(p) for p in partners]}),
        "rates": pa.table({"partner": [r[0] for r in rates], "category": [r[1] for r in rates],
                           "rate": [r[2] for r in rates]}),
        "products": pa.table({"product": list(_product_categories()),
                              "category": list(_product_categories().values())}),
        "fx": pa.table({"day": [date.fromisoformat(k[0]) for k in fx], "from_cur": [k[1] for k in fx],
                        "to_cur": [k[2] for k in fx], "rate": list(fx.values())}),
    }
    for name, table in tables.items():
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
    selects = []
    for fmt, name in gen.FILES.items():
        account, product, category, net, moment, currency = _COLUMNS[fmt]
        currency_sql = f"'{currency[1:]}'" if currency.startswith("=") else f'"{currency}"'
        selects.append(
            f'SELECT "{account}" AS account, {f"{chr(34)}{product}{chr(34)}" if product else "NULL"} '
            f'AS product, {f"{chr(34)}{category}{chr(34)}" if category else "NULL"} AS category, '
            f"replace(\"{net}\", ',', '')::DECIMAL(18, 2) AS net, "
            f"left(replace(\"{moment}\", 'T', ' '), 19)::TIMESTAMP AS t, {currency_sql} AS currency "
            f"FROM read_csv('{bills / name}', header = true, all_varchar = true)"
        )
    bands = _bands()
    uplift_sql = " + ".join(
        f"{uplift} * greatest(0, least(running, {bands[i + 1][0] if i + 1 < len(bands) else 'running'}) "
        f"- greatest(running - base, {start}))"
        for i, (start, uplift) in enumerate(bands) if uplift
    )
    rows = con.execute(f"""
        WITH l AS ({' UNION ALL '.join(selects)}),
        x AS (
            SELECT a.partner, l.t, l.account,
                   l.net * coalesce(fx.rate, 1) AS base,
                   coalesce(r.rate, p.default_rate) AS rate
            FROM l JOIN accounts a ON a.account = l.account
                   JOIN partners p ON p.partner = a.partner
                   LEFT JOIN products k ON k.product = l.product
                   LEFT JOIN rates r
                       ON r.partner = a.partner AND r.category = coalesce(l.category, k.category)
                   LEFT JOIN fx
                       ON fx.day = l.t::DATE AND fx.from_cur = l.currency AND fx.to_cur = p.currency
        ),
        w AS (
            SELECT *, sum(base) OVER (PARTITION BY partner ORDER BY t, account, base
                                      ROWS UNBOUNDED PRECEDING) AS running
            FROM x
        )
        SELECT partner, count(*) AS lines, sum(base * rate) AS commission, sum({uplift_sql}) AS uplift
        FROM w GROUP BY partner
    """).fetchall()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "partners": len(rows),
            "lines": sum(int(r[1]) for r in rows),
            "commission": str(sum((Decimal(r[2]) for r in rows), Decimal(0))),
            "uplift": str(sum((Decimal(r[3]) for r in rows), Decimal(0)))}


def phase_python(bills: Path, customers: int) -> dict[str, Any]:
    """The same rating as a plain ``csv`` + ``Decimal`` loop, as a hand-written script does it."""
    started, cpu_started = time.perf_counter(), time.process_time()
    partner_of = {gen.account_id(c): c % gen.PARTNERS for c in range(customers)}
    rates = {p: gen.category_rates(p) for p in range(gen.PARTNERS)}
    defaults = {p: gen.default_rate(p) for p in range(gen.PARTNERS)}
    currencies = {p: gen.partner_currency(p) for p in range(gen.PARTNERS)}
    products = _product_categories()
    fx = _config_fx(bills / gen.CONFIG_FILE)
    commission: dict[int, Decimal] = defaultdict(Decimal)
    timeline: dict[int, list[tuple[str, str, Decimal]]] = defaultdict(list)
    lines = 0
    for fmt, name in gen.FILES.items():
        account_col, product_col, category_col, net_col, time_col, currency_col = _COLUMNS[fmt]
        with (bills / name).open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream):
                lines += 1
                account = row[account_col]
                p = partner_of[account]
                category = row[category_col] if category_col else products.get(row[product_col or ""], "")
                rate = rates[p].get(category, defaults[p])
                base = Decimal(row[net_col].replace(",", ""))
                moment = row[time_col].replace("T", " ")[:19]
                currency = currency_col[1:] if currency_col.startswith("=") else row[currency_col]
                if currency != currencies[p]:
                    base *= fx[(moment[:10], currency, currencies[p])]
                commission[p] += base * rate
                timeline[p].append((moment, account, base))
    bands = _bands()
    uplift = Decimal(0)
    for items in timeline.values():
        items.sort()
        running = Decimal(0)
        for _, _, base in items:
            before, running = running, running + base
            for i, (start, band_uplift) in enumerate(bands):
                top = bands[i + 1][0] if i + 1 < len(bands) else running
                uplift += band_uplift * max(Decimal(0), min(running, top) - max(before, start))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "partners": len(commission), "lines": lines,
            "commission": str(sum(commission.values(), Decimal(0))), "uplift": str(uplift)}


# --- checks on the workspace -------------------------------------------------------------------


def batch_counts(workspace: Path, file_names: list[str]) -> dict[str, int]:
    """Summed counts of the newest batch of each named file."""
    with sqlite3.connect(workspace / "cloudsettle.db") as db:
        totals = {"new": 0, "revised": 0, "unchanged": 0, "duplicate": 0, "rejected": 0}
        for name in file_names:
            row = db.execute(
                "SELECT rows_new, rows_revised, rows_unchanged, rows_duplicate, rows_rejected "
                "FROM ingest_batches WHERE file_name = ? ORDER BY id DESC LIMIT 1", (name,)).fetchone()
            if row is None:
                raise SystemExit(f"no batch for {name}: the ingest failed (see the log)")
            for key, value in zip(totals, row, strict=True):
                totals[key] += int(value)
    return totals


def statement_counts(workspace: Path) -> dict[str, int]:
    """Statements of the period by status."""
    with sqlite3.connect(workspace / "cloudsettle.db") as db:
        return {status: int(n) for status, n in db.execute(
            "SELECT status, count(*) FROM statements WHERE period = ? GROUP BY status", (gen.PERIOD,))}


def expect(condition: bool, message: str) -> None:
    """Stop the benchmark when the CLI did not do what it must (figures would be meaningless)."""
    if not condition:
        raise SystemExit(f"check failed: {message}")


# --- the run -----------------------------------------------------------------------------------


def child_phase(name: str, bills: Path, lines: int, log: Path) -> tuple[Measured, dict[str, Any]]:
    """Run a baseline in its own process; it writes its figures as JSON."""
    phase = "duckdb" if "DuckDB" in name else "python"
    out_file = log.with_name(f"{phase}.json")
    command = [sys.executable, __file__, "--phase", phase, "--bills", str(bills), "--out", str(out_file)]
    measured = measure(name, lines, command, log)
    expect(measured.exit_code == 0, f"the {phase} baseline failed (see {log})")
    figures: dict[str, Any] = json.loads(out_file.read_text(encoding="utf-8"))
    # A baseline is a floor: it is timed from its first read to its result, without the
    # interpreter start and imports (the CLI's figures include its own start, ~1.5 s).
    measured.wall_seconds, measured.seconds = measured.seconds, float(figures["seconds"])
    measured.cpu_seconds = float(figures["cpu_seconds"])
    return measured, figures


def target(name: str, wanted: str, value: float, met: bool) -> dict[str, Any]:  # noqa: float-ok - a ratio
    """One of the issue's targets as measured at this size."""
    return {"target": name, "wanted": wanted, "measured": round(value, 3), "met": met}


def _commit() -> str:
    """The checked-out commit, ``+dirty`` when the tree has changes (figures depend on the code)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def run_baselines(lines: int, bills: Path, log: Path, generated_s: float) -> dict[str, Any]:  # noqa: float-ok - seconds
    """Only measurements 4 and 5 (the floors), for sizes the CLI cannot reach in reasonable time."""
    duck, duck_figures = child_phase("4 bare DuckDB baseline", bills, lines, log)
    loop, loop_figures = child_phase("5 plain Python csv+Decimal loop", bills, lines, log)
    for key in ("commission", "uplift"):
        expect(Decimal(duck_figures[key]) == Decimal(loop_figures[key]),
               f"the baselines differ in {key}: {duck_figures[key]} vs {loop_figures[key]}")
    return {
        "lines": lines, "baselines_only": True, "generated_seconds": generated_s, "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average": os.getloadavg()},
        "measurements": [{**asdict(m), "lines_per_s": m.lines_per_s, "lines_per_cpu_s": m.lines_per_cpu_s}
                         for m in (duck, loop)],
        "baselines": {"duckdb": duck_figures, "python": loop_figures},
    }


def run(lines: int, workdir: Path, seed: int, log: Path, *, baselines_only: bool = False,
        engine: str = "reference") -> dict[str, Any]:
    """Generate the files, run measurements 1-5 on them, check each step, return the figures."""
    bills, workspace = workdir / "bills", workdir / "workspace"
    for folder in (bills, workspace):
        if folder.exists():
            shutil.rmtree(folder)
    started = time.perf_counter()
    month = gen.write_month(bills, lines, seed)
    restated = gen.write_revision(bills, lines, seed)
    generated_s = time.perf_counter() - started
    # Only this process generated so far: its peak is the generator's (constant in the line count).
    generator_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB
    print(f"generated {month.lines:,} lines ({dict(month.kinds)}) and a restatement of "
          f"{restated.lines:,} in {generated_s:.1f} s, peak RSS {generator_mib:.0f} MiB: {bills}", flush=True)
    if baselines_only:
        return {**run_baselines(lines, bills, log, generated_s), "generator_peak_mib": generator_mib}
    setup = [measure("init", 0, cli(workspace, "init")[:-2], log),
             measure("config load", 0, cli(workspace, "config", "load", str(month.config)), log),
             measure("engine", 0, cli(workspace, "settings", "set", "engine", engine), log)]
    expect(all(m.exit_code == 0 for m in setup), f"init or config load failed (see {log})")
    print(f"workspace ready (config load {setup[1].seconds:.1f} s): {workspace}", flush=True)

    files = [str(month.files[f]) for f in gen.FILES]
    names = list(gen.FILES.values())
    ingest = measure("1a ingest", lines, cli(workspace, "ingest", *files), log)
    counts = batch_counts(workspace, names)
    expect(ingest.exit_code == 0 and counts["new"] == lines and counts["rejected"] == 0,
           f"first ingest: {counts} (exit {ingest.exit_code}), expected {lines} new")
    print(f"1a ingest: {ingest.seconds:.1f} s", flush=True)
    settle = measure("1b settle", lines, cli(workspace, "settle", "--period", gen.PERIOD), log)
    statements = statement_counts(workspace)
    expect(settle.exit_code == 0 and statements.get("calculated", 0) == len(month.partners),
           f"first settle: exit {settle.exit_code}, statements {statements}")
    print(f"1b settle: {settle.seconds:.1f} s", flush=True)

    again = measure("2 re-ingest (unchanged)", lines, cli(workspace, "ingest", *files), log)
    counts = batch_counts(workspace, names)
    expect(again.exit_code == 0 and counts["unchanged"] == lines and counts["new"] == 0,
           f"re-ingest: {counts} (exit {again.exit_code}), expected {lines} unchanged")
    print(f"2 re-ingest: {again.seconds:.1f} s", flush=True)

    revised_files = [str(restated.files[f]) for f in gen.REVISED_FILES]
    revise = measure("3a ingest 1% revision", restated.lines, cli(workspace, "ingest", *revised_files), log)
    counts = batch_counts(workspace, list(gen.REVISED_FILES.values()))
    expect(revise.exit_code == 0 and counts["revised"] == restated.lines,
           f"revision ingest: {counts} (exit {revise.exit_code}), expected {restated.lines} revised")
    resettle = measure("3b re-settle", lines, cli(workspace, "settle", "--period", gen.PERIOD), log)
    expect(resettle.exit_code == 0, f"re-settle failed (exit {resettle.exit_code}, see {log})")
    print(f"3 revision: ingest {revise.seconds:.1f} s, re-settle {resettle.seconds:.1f} s", flush=True)

    duck, duck_figures = child_phase("4 bare DuckDB baseline", bills, lines, log)
    expect(duck_figures["lines"] == lines, f"duckdb read {duck_figures['lines']} lines")
    loop, loop_figures = child_phase("5 plain Python csv+Decimal loop", bills, lines, log)
    expect(loop_figures["lines"] == lines, f"python loop read {loop_figures['lines']} lines")
    # The two floors compute the same thing; they must agree to the last digit.
    for key in ("commission", "uplift"):
        expect(Decimal(duck_figures[key]) == Decimal(loop_figures[key]),
               f"the baselines differ in {key}: {duck_figures[key]} vs {loop_figures[key]}")

    first = combined("1 ingest + settle", lines, [ingest, settle])
    rows = [first, ingest, settle, again, revise, resettle,
            combined("3 revision: ingest + settle", lines, [revise, resettle]), duck, loop]
    r14 = first.seconds / duck.seconds
    r51 = loop.seconds / first.seconds
    cpu_r14 = first.cpu_seconds / duck.cpu_seconds
    cpu_r51 = loop.cpu_seconds / first.cpu_seconds
    peak = max(m.peak_mib for m in (ingest, settle, again, revise, resettle))
    reingest = again.seconds / ingest.seconds
    resettled = resettle.seconds / settle.seconds
    targets = [
        target("ingest+settle / bare DuckDB (wall)", "<= 2", r14, r14 <= 2),
        target("ingest+settle / bare DuckDB (CPU)", "<= 2", cpu_r14, cpu_r14 <= 2),
        target("plain Python loop / ingest+settle (wall)", ">= 10", r51, r51 >= 10),
        target("plain Python loop / ingest+settle (CPU)", ">= 10", cpu_r51, cpu_r51 >= 10),
        target("peak RSS of any step (MiB)", "< 2048", peak, peak < 2048),
        target("re-ingest / first ingest (wall)", "< 0.10", reingest, reingest < 0.10),
        target("re-ingest / first ingest (CPU)", "< 0.10", again.cpu_seconds / ingest.cpu_seconds,
               again.cpu_seconds / ingest.cpu_seconds < 0.10),
        target("re-settle after 1% revision / first settle (wall)", "< 0.25", resettled, resettled < 0.25),
        target("re-settle after 1% revision / first settle (CPU)", "< 0.25",
               resettle.cpu_seconds / settle.cpu_seconds, resettle.cpu_seconds / settle.cpu_seconds < 0.25),
    ]
    return {
        "lines": lines,
        "seed": seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average": os.getloadavg()},
        "commit": _commit(),
        "line_store": CHILD_ENV.get("CLOUDSETTLE_LINE_STORE"),
        "engine": engine,
        "generated": {"seconds": generated_s, "rows": dict(month.rows), "kinds": dict(month.kinds),
                      "revised_lines": restated.lines, "peak_mib": generator_mib},
        "setup": [asdict(m) for m in setup],
        "measurements": [{**asdict(m), "lines_per_s": m.lines_per_s, "lines_per_cpu_s": m.lines_per_cpu_s}
                         for m in rows],
        "statements": statements,
        "baselines": {"duckdb": duck_figures, "python": loop_figures},
        "ratios": {"ingest_settle_over_duckdb": r14, "python_over_ingest_settle": r51,
                   "cpu_ingest_settle_over_duckdb": cpu_r14, "cpu_python_over_ingest_settle": cpu_r51},
        "targets": targets,
    }


def print_report(report: dict[str, Any]) -> None:
    print()
    if "statements" in report:
        print(f"{report['lines']:,} lines; {report['statements']} statements for {gen.PERIOD}")
    print(f"{'measurement':34} {'lines':>10} {'wall s':>8} {'lines/s':>9} {'CPU s':>8} "
          f"{'lines/CPU s':>11} {'peak RSS MiB':>12}")
    for m in report["measurements"]:
        wall = f"  (process {m['wall_seconds']:.2f} s)" if m["wall_seconds"] else ""
        print(f"{m['name']:34} {m['lines']:10,} {m['seconds']:8.2f} {m['lines_per_s']:9,.0f} "
              f"{m['cpu_seconds']:8.2f} {m['lines_per_cpu_s']:11,.0f} {m['peak_mib']:12.0f}{wall}")
    if report.get("baselines_only"):
        return
    ratios = report["ratios"]
    print(f"\n1 / 4 (ingest+settle over bare DuckDB): {ratios['ingest_settle_over_duckdb']:.1f}x wall, "
          f"{ratios['cpu_ingest_settle_over_duckdb']:.1f}x CPU")
    print(f"5 / 1 (plain Python loop over ingest+settle): {ratios['python_over_ingest_settle']:.4f}x wall, "
          f"{ratios['cpu_python_over_ingest_settle']:.4f}x CPU")
    print("\ntargets (the issue's are for a 10M-line month):")
    for t in report["targets"]:
        print(f"  {t['target']:50} wanted {t['wanted']:7} measured {t['measured']:>10} "
              f"{'met' if t['met'] else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path,
                        help="where the bills and the workspace go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the bills and the workspace")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--seed", type=int, default=gen.SEED)
    parser.add_argument("--baselines-only", action="store_true",
                        help="generate and run only measurements 4 and 5 (no CLI)")
    parser.add_argument("--line-store", metavar="WHERE",
                        help="set CLOUDSETTLE_LINE_STORE for the CLI (e.g. local); default: off")
    parser.add_argument("--engine", choices=["reference", "bulk"], default="reference",
                        help="the workspace's engine setting for the settles (default: reference)")
    parser.add_argument("--phase", choices=["duckdb", "python"], help=argparse.SUPPRESS)
    parser.add_argument("--bills", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase = phase_duckdb if args.phase == "duckdb" else phase_python
        args.out.write_text(json.dumps(phase(args.bills, gen.CUSTOMERS)), encoding="utf-8")
        return
    if args.line_store:
        CHILD_ENV["CLOUDSETTLE_LINE_STORE"] = args.line_store
    created = args.workdir is None
    workdir: Path = args.workdir or Path(tempfile.mkdtemp(prefix="cloudsettle-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "run.log"
    log.write_text("", encoding="utf-8")
    try:
        report = run(args.lines, workdir, args.seed, log, baselines_only=args.baselines_only,
                     engine=args.engine)
    except SystemExit:
        print(f"kept {workdir} for a look (log: {log})", file=sys.stderr)
        raise
    if not args.keep:
        for folder in (workdir / "bills", workdir / "workspace"):
            shutil.rmtree(folder, ignore_errors=True)
        if created:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
