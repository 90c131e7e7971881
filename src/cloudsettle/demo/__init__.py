"""``cloudsettle demo``: a realistic two-month sample, settled end to end, and explained.

It writes the generated input (see :mod:`cloudsettle.demo.generator`) into
``<root>/demo-input/``, then drives the same service functions the CLI uses,
each step in its own unit of work, as three different users so four eyes
hold: ``demo-preparer`` ingests and settles, ``demo-approver`` approves and
finalizes, ``demo-finance`` adds a goodwill credit. September is closed
first, so October's restatement file turns into a prior-period adjustment.

The input is native provider files (Tencent console and reseller bills,
Huawei consumption detail and Cost Center exports; plain, zipped, gzipped,
UTF-8 and GB18030): ingestion detects each file's format from its headers, as
``cloudsettle ingest`` does without ``--provider``.

Running it again on the same workspace is safe: the input files are re-used,
files already ingested are not read again (re-reading the original October
file after its restatement would undo the restatement), a finalized
September is left alone, and the goodwill credit is added once.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.core.lines import ChargeCategory
from cloudsettle.core.money import D, format_money, round_money
from cloudsettle.db.models import FindingRow, IngestBatchRow, StatementRow
from cloudsettle.demo.generator import (
    CONFIG_FILE,
    FILE_NOTES,
    OCTOBER_FILES,
    PARTNERS,
    RESTATED_FILE,
    SEPTEMBER_FILES,
    WrittenInput,
    write_demo_input,
)
from cloudsettle.services.book_loader import load_book
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.reconcile_service import ALL_CUSTOMERS, Figure, import_figures
from cloudsettle.services.secrets import workspace_ring
from cloudsettle.services.settlement_service import (
    FINALIZED,
    adjust,
    approve,
    finalize,
    manual_adjustments,
    settle,
)
from cloudsettle.services.statement_view import statement_document
from cloudsettle.services.users import create_demo_users
from cloudsettle.services.workspace import Workspace, open_workspace

__all__ = ["APPROVER", "FINANCE", "GOODWILL", "PREPARER", "run_demo"]

PREPARER = "demo-preparer"
APPROVER = "demo-approver"
FINANCE = "demo-finance"
SEPTEMBER = "2026-09"
OCTOBER = "2026-10"


@dataclass(frozen=True)
class Goodwill:
    """The demo's manual adjustment: who gets it, how much, and why."""

    partner: str
    amount: Decimal
    reason: str


GOODWILL = Goodwill(
    "P-YUNFAN", D("800.00"), "Goodwill credit: CDN incident of 2026-10-12 (ticket CS-4471), agreed by finance"
)


def run_demo(root: Path, console: Console) -> int:
    """Generate, ingest, settle, approve and finalize the demo in the workspace at ``root``;
    write the statements as JSON and print what happened. Returns the exit code (0)."""
    started = time.perf_counter()
    written = write_demo_input(root / "demo-input")
    console.print(f"[bold]cloudsettle demo[/] in {root.resolve()}", highlight=False)
    console.print(
        f"input: {written.directory.resolve()} ("
        + (f"{len(written.written)} written" if written.written else "")
        + (", " if written.written and written.reused else "")
        + (f"{len(written.reused)} re-used" if written.reused else "")
        + ")",
        highlight=False,
    )
    ws = open_workspace(root)
    try:
        with ws.unit_of_work() as session:
            load_config_file(
                session, path=written.path(CONFIG_FILE), actor=PREPARER, ring=workspace_ring(root)
            )
        ingest_table = Table(
            "file", "format", "new", "revised", "unchanged", "rejected", "note", title="ingest"
        )
        _ingest(ws, written, SEPTEMBER_FILES, ingest_table)
        held = {SEPTEMBER: _close_september(ws, console)}
        _ingest(ws, written, (*OCTOBER_FILES, RESTATED_FILE), ingest_table)
        console.print(ingest_table)
        _goodwill(ws)
        _provider_rebates(ws)
        with ws.unit_of_work() as session:
            settle(session, period=OCTOBER, partner_id=None, actor=PREPARER)
        held[OCTOBER] = _approve(ws, OCTOBER)
        outputs = _write_statements(ws)
        for period in (SEPTEMBER, OCTOBER):
            _print_period(ws, console, period, held[period])
        _print_findings(ws, console)
        _print_users(ws, console)
        _print_next(console, root, outputs)
    finally:
        ws.close()
    console.print(f"done in {time.perf_counter() - started:.1f} s", highlight=False)
    return 0


def _ingest(ws: Workspace, written: WrittenInput, names: tuple[str, ...], table: Table) -> None:
    """Ingest each file in its own unit of work, unless that exact file was ingested before."""
    for name in names:
        path = written.path(name)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with ws.unit_of_work() as session:
            earlier = session.scalars(
                select(IngestBatchRow.id)
                .where(IngestBatchRow.sha256 == digest)
                .order_by(IngestBatchRow.id)
                .limit(1)
            ).first()
            if earlier is not None:
                table.add_row(name, "-", "-", "-", "-", "-", f"already ingested (batch {earlier}): skipped")
                continue
            r = ingest_file(session, raw_store=ws.raw_store, path=path, provider=None, actor=PREPARER)
        table.add_row(
            name,
            r.format,
            str(r.new),
            str(r.revised),
            str(r.unchanged),
            str(r.rejected),
            FILE_NOTES.get(name, ""),
        )


def _statements(session: Session, period: str) -> list[StatementRow]:
    return list(
        session.scalars(
            select(StatementRow)
            .where(StatementRow.period == period)
            .order_by(StatementRow.partner_id, StatementRow.agreement_id)
        )
    )


def _close_september(ws: Workspace, console: Console) -> list[str]:
    """Settle, approve and finalize September, unless a run before already closed it."""
    with ws.unit_of_work() as session:
        existing = _statements(session, SEPTEMBER)
    if existing and all(s.status in FINALIZED for s in existing):
        console.print(f"{SEPTEMBER} is already finalized: left as it is (finalized statements never change)")
        return []
    with ws.unit_of_work() as session:
        settle(session, period=SEPTEMBER, partner_id=None, actor=PREPARER)
    held = _approve(ws, SEPTEMBER)
    with ws.unit_of_work() as session:
        approved = sorted({s.partner_id for s in _statements(session, SEPTEMBER) if s.status == "approved"})
    for partner in approved:
        with ws.unit_of_work() as session:
            finalize(session, period=SEPTEMBER, partner_id=partner, actor=APPROVER)
    return held


def _approve(ws: Workspace, period: str) -> list[str]:
    """Approve, partner by partner, every calculated statement; return those held in exception."""
    with ws.unit_of_work() as session:
        rows = [s for s in _statements(session, period) if s.status not in FINALIZED]
        held = [f"{s.partner_id}/{s.agreement_id}" for s in rows if s.status == "in_exception"]
        blocked = {s.partner_id for s in rows if s.status == "in_exception"}
        ready = sorted({s.partner_id for s in rows if s.status == "calculated"} - blocked)
    for partner in ready:
        with ws.unit_of_work() as session:
            approve(session, period=period, partner_id=partner, actor=APPROVER)
    return held


def _goodwill(ws: Workspace) -> None:
    """Add the goodwill credit to October once (settling again keeps it)."""
    with ws.unit_of_work() as session:
        agreement = next(p.agreement for p in PARTNERS if p.id == GOODWILL.partner)
        present = manual_adjustments(session, GOODWILL.partner, agreement, OCTOBER)
        if any(a.reason == GOODWILL.reason for a in present):
            return
        adjust(
            session,
            period=OCTOBER,
            partner_id=GOODWILL.partner,
            agreement_id=agreement,
            amount=GOODWILL.amount,
            reason=GOODWILL.reason,
            evidence=None,
            actor=FINANCE,
        )


#: The providers' demo rebate policies: the share of the month's net billing (tax excluded)
#: the provider pays the distributor. The dashboard's margin is this rebate less what the
#: partners are paid.
REBATE_RATES: dict[str, Decimal] = {"tencent": D("0.15"), "huawei": D("0.12")}
REBATE_SOURCE = "demo-rebate-policy"


def _provider_rebates(ws: Workspace) -> None:
    """Store each provider's rebate for each demo month and currency (as a rebate file would)."""
    with ws.unit_of_work() as session:
        totals: dict[tuple[str, str, str], Decimal] = {}
        for line in load_book(session).book.lines:
            if line.charge_category == ChargeCategory.TAX or line.provider not in REBATE_RATES:
                continue
            key = (line.provider, line.billing_period.strftime("%Y-%m"), line.currency)
            totals[key] = totals.get(key, D(0)) + line.list_amount - line.discount_amount
        for provider, month in sorted({(p, m) for p, m, _ in totals}):
            figures = [
                Figure(month, ALL_CUSTOMERS, round_money(net * REBATE_RATES[provider], currency), currency)
                for (p, m, currency), net in sorted(totals.items())
                if (p, m) == (provider, month)
            ]
            import_figures(
                session, provider=provider, month=month, figures=figures, source=REBATE_SOURCE, actor=FINANCE
            )


def _write_statements(ws: Workspace) -> dict[str, list[Path]]:
    """Every statement of both months as JSON under ``out/statements/<period>/``."""
    written: dict[str, list[Path]] = {}
    with ws.unit_of_work() as session:
        for period in (SEPTEMBER, OCTOBER):
            folder = ws.out_dir / "statements" / period
            folder.mkdir(parents=True, exist_ok=True)
            for row in _statements(session, period):
                path = folder / f"{row.partner_id}-{row.agreement_id}.json"
                text = json.dumps(statement_document(session, row), indent=2, ensure_ascii=False) + "\n"
                path.write_text(text, encoding="utf-8")
                written.setdefault(period, []).append(path)
    return written


#: Statement components in the summary, with their headings.
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("commission", "commission"),
    ("tier_uplift", "tier uplift"),
    ("clawback", "clawback"),
    ("cap_adjustment", "cap/floor"),
    ("fees", "fees"),
    ("manual_adjustment", "manual"),
    ("prior_period_adjustment", "PPA"),
    ("carried_in", "carried in"),
    ("payable", "payable"),
    ("carried_out", "carried out"),
)


def _print_period(ws: Workspace, console: Console, period: str, held: list[str]) -> None:
    """The period's statements: one row each when the console is wide enough, else one
    column each (so no amount is ever cut)."""
    with ws.unit_of_work() as session:
        rows = [
            (
                s.partner_id,
                s.agreement_id,
                s.currency,
                s.status,
                [_money(getattr(s, name), s.currency) for name, _ in SUMMARY_COLUMNS],
            )
            for s in _statements(session, period)
        ]
    wide = Table(title=f"statements {period}", box=box.SIMPLE_HEAD, pad_edge=False)
    for heading in ("partner", "agreement", "cur"):
        wide.add_column(heading, no_wrap=True)
    for _, heading in SUMMARY_COLUMNS:
        wide.add_column(heading, justify="right", no_wrap=True)
    wide.add_column("status", no_wrap=True)
    for partner, agreement, cur, status, amounts in rows:
        wide.add_row(partner, agreement, cur, *amounts, status)
    if Measurement.get(console, console.options.update_width(10_000), wide).maximum <= console.width:
        console.print(wide)
    else:
        narrow = Table(title=f"statements {period}", box=box.SIMPLE_HEAD, pad_edge=False)
        narrow.add_column("")
        for partner, *_ in rows:
            narrow.add_column(partner, justify="right", no_wrap=True)
        narrow.add_row("currency", *(r[2] for r in rows))
        for i, (_, heading) in enumerate(SUMMARY_COLUMNS):
            narrow.add_row(heading, *(r[4][i] for r in rows))
        narrow.add_row("status", *(r[3] for r in rows))
        console.print(narrow)
        console.print("agreements: " + ", ".join(f"{r[0]}: {r[1]}" for r in rows), highlight=False)
    for name in held:
        console.print(f"[yellow]held in exception, not approved:[/] {name}", highlight=False)


def _money(value: Decimal, currency: str) -> str:
    return "-" if value == 0 else format_money(value, currency)


#: What each open finding kind means in the demo, and what a user would do about it.
FINDING_HELP = {
    "missing_deal": "a customer has no deal (Northwind Trial Account on purpose): its lines pay nobody. "
    "Add a deal to the config, load it and settle again.",
    "payee_not_verified": "Xinghe Digital's verification is pending: its statements are settled and approved "
    "but payout is held until it is verified.",
}


#: Why the one Tencent refund is not a clawback (printed with the findings).
TENCENT_REFUND_NOTE = (
    "Tencent's CSV bills carry no link from a refund to the order it reverses, so Jade Mountain "
    "Logistics' CVM downgrade refund (包年包月退费, 2026-10-18) nets at its own rate on P-YUNFAN's October "
    "statement, with no clawback window; the Huawei refunds name their September orders (原订单号 / "
    "Original Order No.) and are clawed back from the partner paid for the original."
)


def _print_findings(ws: Workspace, console: Console) -> None:
    with ws.unit_of_work() as session:
        rows = list(
            session.scalars(select(FindingRow).where(FindingRow.status == "open").order_by(FindingRow.id))
        )
    counts = Counter((f.kind, f.period or "-", f.partner_id or "-") for f in rows)
    example: dict[tuple[str, str, str], str] = {}
    for f in rows:
        example.setdefault((f.kind, f.period or "-", f.partner_id or "-"), f.message)
    table = Table("kind", "period", "partner", "count", "example", title="open findings")
    for key, n in counts.items():
        table.add_row(*key, str(n), example[key])
    console.print(table)
    for kind in sorted({k for k, _, _ in counts}):
        help_text = FINDING_HELP.get(kind, "see cloudsettle findings")
        console.print(f"[bold]{kind}[/]: {help_text}", highlight=False)
    console.print(f"[bold]note[/]: {TENCENT_REFUND_NOTE}", highlight=False)


def _print_next(console: Console, root: Path, outputs: dict[str, list[Path]]) -> None:
    ws_opt = f"--workspace {shlex.quote(str(root))}"
    console.print()
    console.print(
        f"[bold]outputs[/]: statements as JSON in {(root / 'out' / 'statements').resolve()}/"
        f" ({', '.join(f'{p}: {len(v)} files' for p, v in outputs.items())})",
        highlight=False,
    )
    console.print(f"input files and config: {(root / 'demo-input').resolve()}/", highlight=False)
    console.print("[bold]what each partner shows[/]:")
    for p in PARTNERS:
        console.print(f"  {p.id} ({p.currency}): {p.story}", highlight=False)
    console.print("[bold]try next[/]:")
    for command in (
        f"cloudsettle statement --period {OCTOBER} --partner P-YUNFAN {ws_opt}",
        f"cloudsettle explain --period {OCTOBER} --partner P-QIHANG {ws_opt}",
        f"cloudsettle explain --period {OCTOBER} --partner P-HARBOR {ws_opt}",
        f"cloudsettle findings {ws_opt}",
        f"cloudsettle finalize --period {OCTOBER} --user {APPROVER} {ws_opt}",
    ):
        console.print(f"  {command}", highlight=False, markup=False)
    console.print(
        f"[bold]web UI[/]: cloudsettle serve {ws_opt}, then open http://127.0.0.1:8000/ui/ and log in "
        "as a demo user printed above (demo-finance sees everything; demo-partner only its own statements)",
        highlight=False,
    )


def _print_users(ws: Workspace, console: Console) -> None:
    """One user per role for ``cloudsettle serve`` (passwords are printed once, when created)."""
    with ws.unit_of_work() as session:
        created = create_demo_users(session)
    if not created:
        console.print("demo users: already created on an earlier run (passwords were printed then)")
        return
    table = Table("user", "role", "password", title="demo users for cloudsettle serve (shown once)")
    for name, role, password in created:
        table.add_row(name, role, password)
    console.print(table)
