"""``cloudsettle``: every command of spec/config.md's command-line contract.

Each command opens the workspace, runs one service call in one unit of work
and prints the result. Exit status: 0 success, 1 problems the user must act on,
2 bad usage or bad input; errors go to stderr.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.cli.progress import ingest_progress, settle_progress
from cloudsettle.core.money import D, format_money
from cloudsettle.db.models import FindingRow
from cloudsettle.exports.beancount import journal as beancount_journal
from cloudsettle.exports.gl import in_range, load_mapping, write_gl_csv
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.errors import BadInput, NotFound, ServiceError
from cloudsettle.services.explain import explain_lines
from cloudsettle.services.export_service import export_focus
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.ledger_service import entries as ledger_entries
from cloudsettle.services.pull_service import fetch, record_pull
from cloudsettle.services.secrets import workspace_ring
from cloudsettle.services.settlement_service import (
    SettleSummary,
    adjust,
    approve,
    finalize,
    resolve_agreement,
    settle,
    statement_rows,
)
from cloudsettle.services.statement_view import statement_document
from cloudsettle.services.workspace import Workspace, open_workspace, workspace_root

app = typer.Typer(
    name="cloudsettle",
    help="Automatic settlement for cloud resellers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="Load partners, customers, deals, agreements and FX rates.", no_args_is_help=True
)
app.add_typer(config_app, name="config")
export_app = typer.Typer(help="Export data in standard formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Who does it (default: $CLOUDSETTLE_USER, else the login name).")
]
PeriodOpt = Annotated[
    str, typer.Option("--period", help="2026-10, 2026-Q4, 2026-W43 or a biweekly start date.")
]
PartnerOpt = Annotated[str | None, typer.Option("--partner", help="Only this partner.")]
AgreementOpt = Annotated[
    str | None, typer.Option("--agreement", help="The agreement, when the partner has several.")
]


def actor_name(option: str | None) -> str:
    """``--user``, else ``CLOUDSETTLE_USER``, else the login name."""
    return option or os.environ.get("CLOUDSETTLE_USER") or getpass.getuser()


@contextmanager
def workspace(option: str | None) -> Iterator[Workspace]:
    """Open the workspace for one command and close it afterwards."""
    ws = open_workspace(workspace_root(option))
    try:
        yield ws
    finally:
        ws.close()


def _fit_consoles() -> None:
    """Size the consoles for this invocation: ``COLUMNS`` if set, the terminal's width on a
    terminal, else wide enough that piped tables are not wrapped."""
    columns = os.environ.get("COLUMNS", "")
    for console in (out, err):
        if columns.isdigit():
            console.width = int(columns)
        elif not console.is_terminal:
            console.width = 160


def run(action: Callable[[], int | None]) -> None:
    """Run a command body; map service errors to stderr and the contract's exit codes."""
    _fit_consoles()
    try:
        code = action()
    except ServiceError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(exc.exit_code) from exc
    raise typer.Exit(code or 0)


@app.command()
def init(workspace_opt: WorkspaceOpt = None) -> None:
    """Create the workspace (idempotent): folders and the database schema."""

    def body() -> None:
        with workspace(workspace_opt) as ws:
            out.print(f"workspace ready: {ws.root.resolve()} (database: {_safe_url(ws.url)})")

    run(body)


@config_app.command("load")
def config_load(
    file: Annotated[Path, typer.Argument(help="The YAML configuration file.")],
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Load or update partners, customers, deals, agreements and FX rates from a YAML file."""

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            summary = load_config_file(
                session, path=file, actor=actor_name(user), ring=workspace_ring(ws.root)
            )
        table = Table("kind", "created", "updated", "unchanged", title=f"config {file.name}")
        for kind, created, updated, unchanged in summary.rows():
            table.add_row(kind, str(created), str(updated), str(unchanged))
        out.print(table)

    run(body)


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Bill files.")],
    provider: Annotated[
        str | None,
        typer.Option("--provider", help="tencent, huawei or focus (detected from the headers when omitted)."),
    ] = None,
    reread: Annotated[
        bool,
        typer.Option(
            "--reread",
            help="Read every file in full, even one whose bytes were ingested before and read the same "
            "way (by default its earlier outcome is recorded again without reading it).",
        ),
    ] = False,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Ingest bill files: prints per file the lines new, revised, unchanged, duplicate, rejected.

    A file already ingested (same bytes, same name, read the same way) is not read again: its
    rows are all unchanged, and its duplicates and rejected rows are those of the earlier batch."""

    def body() -> int:
        table = Table(
            "file", "new", "revised", "unchanged", "duplicate", "rejected", "format", title="ingest"
        )
        problems = 0
        with workspace(workspace_opt) as ws, ingest_progress(err) as progress:
            for path in files:
                try:
                    with ws.unit_of_work() as session:
                        r = ingest_file(
                            session,
                            raw_store=ws.raw_store,
                            path=path,
                            provider=provider,
                            actor=actor_name(user),
                            line_store=ws.line_store,
                            progress=progress(path.name),
                            reread=reread,
                        )
                except KeyboardInterrupt:
                    err.print(
                        f"cancelled while ingesting {path.name}: nothing of it was stored "
                        "(files before it were); run the command again to ingest it",
                        highlight=False,
                    )
                    out.print(table)
                    return 130
                except BadInput as exc:
                    err.print(f"[bold red]error:[/] {exc}", highlight=False)
                    problems = max(problems, 2)
                    continue
                table.add_row(
                    r.file_name,
                    str(r.new),
                    str(r.revised),
                    str(r.unchanged),
                    str(r.duplicate),
                    str(r.rejected),
                    r.format,
                )
                if r.same_as_batch is not None:
                    err.print(
                        f"{r.file_name}: read before (batch {r.same_as_batch}), not read again; "
                        "--reread reads it in full",
                        highlight=False,
                        markup=False,
                    )
                for e in r.errors:
                    err.print(f"rejected: {e}", highlight=False, markup=False)
                if r.rejected:
                    problems = max(problems, 1)
        out.print(table)
        return problems

    run(body)


@app.command(name="pull")
def pull_cmd(
    provider: Annotated[str, typer.Option("--provider", help="tencent or huawei.")],
    month: Annotated[str, typer.Option("--month", help="The bill month, e.g. 2026-10.")],
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Another API address (a test or proxy server).")
    ] = None,
    secrets: Annotated[
        Path | None,
        typer.Option("--secrets", help="A YAML/JSON file with the API keys (else the environment)."),
    ] = None,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Pull a month's bill lines, totals and customers through the provider's SDK (resumable)."""

    def body() -> int:
        with workspace(workspace_opt) as ws:
            result = fetch(
                provider=provider,
                month=month,
                checkpoints=ws.root / "pulls",
                env=os.environ,
                secrets_file=secrets,
                endpoint=endpoint,
            )
            with ws.unit_of_work() as session:
                r = record_pull(session, result=result, raw_store=ws.raw_store, actor=actor_name(user))
        i = r.ingest
        table = Table(
            "source", "pages", "new", "revised", "unchanged", "duplicate", "totals mismatches", title="pull"
        )
        table.add_row(
            i.file_name,
            f"{r.pages} ({r.resumed_pages} resumed)",
            str(i.new),
            str(i.revised),
            str(i.unchanged),
            str(i.duplicate),
            str(r.mismatches),
        )
        out.print(table)
        out.print(
            f"customers added: {r.customers_added}; provider adjustments listed: {r.adjustments}; "
            f"rebate figures: {r.rebates}"
        )
        return 1 if r.mismatches else 0

    run(body)


@export_app.command("focus")
def export_focus_cmd(
    period: PeriodOpt,
    output: Annotated[Path, typer.Option("--output", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """The normalized lines billed in a month as FOCUS 1.2 (our extras as x_ columns)."""

    def body() -> None:
        if fmt not in ("csv", "parquet"):
            raise BadInput(f"--format {fmt!r}: csv or parquet")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            count = export_focus(
                session, period=period, output=output, fmt="csv" if fmt == "csv" else "parquet"
            )
        out.print(f"wrote {count} lines of {period} to {output} (FOCUS 1.2, {fmt})")

    run(body)


@export_app.command("gl")
def export_gl_cmd(
    output: Annotated[Path, typer.Option("--output", help="The file to write.")],
    start: Annotated[str | None, typer.Option("--from", help="First accounting date (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last accounting date (YYYY-MM-DD).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or beancount.")] = "csv",
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="YAML column and account mapping for your ERP (csv).")
    ] = None,
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """The ledger for a date range as a general-ledger journal CSV (mapped to your ERP) or Beancount."""

    def body() -> None:
        if fmt not in ("csv", "beancount"):
            raise BadInput(f"--format {fmt!r}: csv or beancount")
        try:
            first = date.fromisoformat(start) if start else None
            last = date.fromisoformat(end) if end else None
            chosen = load_mapping(mapping) if mapping else None
        except (ValueError, OSError) as exc:
            raise BadInput(str(exc)) from exc
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            stored = [
                (e.id, e.entry)
                for e in ledger_entries(session, on=last)
                if in_range(e.entry.day, first, last)
            ]
        if fmt == "csv":
            rows = write_gl_csv(stored, output, chosen)
            out.print(f"wrote {output}: {len(stored)} entries, {rows} postings")
        else:
            output.write_text(beancount_journal(stored), encoding="utf-8")
            out.print(f"wrote {output}: {len(stored)} entries (Beancount)")

    run(body)


def _statements_table(summary: SettleSummary, period: str) -> Table:
    """The run's statements, one row each (read while the session is open)."""
    columns = ("partner", "agreement", "status", "commission", "clawback", "fees", "payable", "carried out")
    table = Table(*columns, title=f"run {summary.run_id}: {period}")
    for s in summary.statements:
        table.add_row(s.partner_id, s.agreement_id, s.status, _m(s.commission, s.currency),
                      _m(s.clawback, s.currency), _m(s.fees, s.currency), _m(s.payable, s.currency),
                      _m(s.carried_out, s.currency))
    return table


@app.command(name="settle")
def settle_cmd(
    period: PeriodOpt, partner: PartnerOpt = None, workspace_opt: WorkspaceOpt = None, user: UserOpt = None
) -> None:
    """Validate and compute the statements of a period; prints the run id and a summary."""

    def body() -> int:
        try:
            with workspace(workspace_opt) as ws, settle_progress(err, period) as stage, \
                    ws.unit_of_work() as session:
                summary = settle(session, period=period, partner_id=partner, actor=actor_name(user),
                                 progress=stage)
                table = _statements_table(summary, period)
        except KeyboardInterrupt:
            err.print(f"cancelled while settling {period}: nothing of the run was stored; "
                      "run the command again to settle it", highlight=False)
            return 130
        out.print(table)
        for name in summary.skipped_finalized:
            out.print(
                f"{name}: finalized for {period}; it never changes (later changes become "
                "prior-period adjustments)"
            )
        for f in summary.findings:
            out.print(f"[yellow]{f.kind.value}[/]: {f.message}", highlight=False)
        if not summary.statements:
            out.print(f"no statement for {period}")
        return 1 if summary.needs_action else 0

    run(body)


@app.command(name="approve")
def approve_cmd(
    period: PeriodOpt, partner: PartnerOpt = None, workspace_opt: WorkspaceOpt = None, user: UserOpt = None
) -> None:
    """Approve calculated statements (refused for their preparer: four eyes)."""

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            rows = approve(session, period=period, partner_id=partner, actor=actor_name(user))
            for s in rows:
                out.print(
                    f"approved {s.partner_id}/{s.agreement_id} {s.period}: payable "
                    f"{_m(s.payable, s.currency)} {s.currency}"
                )

    run(body)


@app.command(name="finalize")
def finalize_cmd(
    period: PeriodOpt, partner: PartnerOpt = None, workspace_opt: WorkspaceOpt = None, user: UserOpt = None
) -> None:
    """Close approved statements: locked for good, carry-forward recorded."""

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            rows = finalize(session, period=period, partner_id=partner, actor=actor_name(user))
            for s in rows:
                out.print(
                    f"finalized {s.partner_id}/{s.agreement_id} {s.period}: payable "
                    f"{_m(s.payable, s.currency)} {s.currency}, carried out {_m(s.carried_out, s.currency)}"
                )

    run(body)


@app.command(name="statement")
def statement_cmd(
    period: PeriodOpt,
    partner: Annotated[str, typer.Option("--partner", help="The partner.")],
    agreement: AgreementOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json, csv, xlsx or pdf.")] = "json",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write to this file (json: instead of stdout; others: default "
            "<workspace>/out/statements/<period>/<partner>-<agreement>.<ext>).",
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Labels of the pdf and xlsx: en or zh.")] = "en",
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """A partner's statement for a period."""

    def body() -> None:
        if fmt != "json":
            from cloudsettle.cli.export_cmds import export_statement

            with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
                doc = _statement(session, period, partner, agreement)
                path = export_statement(session, ws.root, doc, fmt, output, lang)
            out.print(f"wrote {path}", highlight=False)
            return
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            doc = _statement(session, period, partner, agreement)
        text = json.dumps(doc, indent=2, ensure_ascii=False)
        if output:
            output.write_text(text + "\n", encoding="utf-8")
            out.print(f"wrote {output}")
        else:
            sys.stdout.write(text + "\n")

    run(body)


@app.command(name="adjust")
def adjust_cmd(
    period: PeriodOpt,
    partner: Annotated[str, typer.Option("--partner", help="The partner.")],
    amount: Annotated[str, typer.Option("--amount", help="Signed amount in the statement currency.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown on the statement).")],
    agreement: AgreementOpt = None,
    evidence: Annotated[Path | None, typer.Option("--evidence", help="A supporting file.")] = None,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Add a manual adjustment to a statement that is not finalized."""

    def body() -> None:
        try:
            value = D(amount)
        except ValueError as exc:
            raise BadInput(f"--amount: {exc}") from exc
        evidence_ref = None
        with workspace(workspace_opt) as ws:
            if evidence is not None:
                if not evidence.is_file():
                    raise BadInput(f"--evidence: no such file {evidence}")
                evidence_ref = f"{ws.raw_store.put_file(evidence).sha256}:{evidence.name}"
            with ws.unit_of_work() as session:
                row = adjust(
                    session,
                    period=period,
                    partner_id=partner,
                    agreement_id=agreement,
                    amount=value,
                    reason=reason,
                    evidence=evidence_ref,
                    actor=actor_name(user),
                )
        out.print(f"adjustment {row.id} added to {partner}/{row.agreement_id} {period}: {amount}")

    run(body)


@app.command(name="explain")
def explain_cmd(
    period: PeriodOpt,
    partner: Annotated[str, typer.Option("--partner", help="The partner.")],
    agreement: AgreementOpt = None,
    line: Annotated[str | None, typer.Option("--line", help="Explain only this line id.")] = None,
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """How each component, or one line, was computed."""

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            doc = _statement(session, period, partner, agreement)
            text = explain_lines(session, doc, line_id=line)
        if not text:
            raise NotFound(f"line {line} is not on {partner}'s statement for {period}")
        for row in text:
            out.print(row, highlight=False, markup=False)

    run(body)


@app.command(name="findings")
def findings_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """The open findings of the workspace: what needs a person's attention."""

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            rows = open_findings(session)
            items = [
                {
                    "id": f.id,
                    "kind": f.kind,
                    "message": f.message,
                    "period": f.period,
                    "partner": f.partner_id,
                    "line_id": f.line_id,
                    "file": f.file_name,
                    "row": f.row_number,
                    "column": f.column_name,
                }
                for f in rows
            ]
        if fmt == "json":
            sys.stdout.write(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
        else:
            table = Table("id", "kind", "period", "partner", "message", title="open findings")
            for i in items:
                table.add_row(
                    str(i["id"]),
                    str(i["kind"]),
                    str(i["period"] or "-"),
                    str(i["partner"] or "-"),
                    str(i["message"]),
                )
            out.print(table)
        return 0

    run(body)


@app.command(name="demo")
def demo_cmd(workspace_opt: WorkspaceOpt = None) -> None:
    """Make a realistic sample month for Tencent Cloud and Huawei Cloud, settle it and say where
    the outputs are."""
    from cloudsettle.demo import run_demo

    def body() -> int:
        root = workspace_root(workspace_opt)
        return run_demo(root, out)

    run(body)


def _statement(session: Session, period: str, partner: str, agreement: str | None) -> dict[str, Any]:
    agreement_id = resolve_agreement(session, partner, agreement)
    rows = statement_rows(session, period=period, partner_id=partner, agreement_id=agreement_id)
    if not rows:
        raise NotFound(f"no statement for {partner}/{agreement_id} in {period} (settle it first)")
    return statement_document(session, rows[0])


def open_findings(session: Session) -> list[FindingRow]:
    """Findings still open in the workspace."""
    return list(
        session.scalars(select(FindingRow).where(FindingRow.status == "open").order_by(FindingRow.id))
    )


def _m(value: Decimal, currency: str) -> str:
    return format_money(value, currency)


def _safe_url(url: str) -> str:
    """The URL without a password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- sub-apps: each feature area registers its command group here, one line each ---
from cloudsettle.cli.export_cmds import pack_cmd  # noqa: E402 (reads main lazily)

app.command(name="pack")(pack_cmd)
from cloudsettle.cli.ledger_cmds import ledger_app  # noqa: E402 (reads main lazily)

app.add_typer(ledger_app, name="ledger")
from cloudsettle.cli.audit_cmds import audit_app  # noqa: E402 (reads main lazily)

app.add_typer(audit_app, name="audit")
from cloudsettle.cli.payout_cmds import payout_app  # noqa: E402 (reads main lazily)

app.add_typer(payout_app, name="payout")
from cloudsettle.cli.run_cmds import reject_cmd, rerun_cmd, settings_app, shadow_app  # noqa: E402

app.command(name="rerun")(rerun_cmd)
app.command(name="reject")(reject_cmd)
app.add_typer(settings_app, name="settings")
app.add_typer(shadow_app, name="shadow")
from cloudsettle.cli.serve_cmds import serve_cmd  # noqa: E402
from cloudsettle.cli.user_cmds import raw_app, user_app  # noqa: E402 (reads main lazily)

app.command(name="serve")(serve_cmd)
app.add_typer(user_app, name="user")
app.add_typer(raw_app, name="raw")
from cloudsettle.cli.ops_cmds import alerts_app, backup_cmd, restore_cmd, schedule_app, worker_cmd  # noqa: E402

app.command(name="worker")(worker_cmd)
app.add_typer(schedule_app, name="schedule")
app.add_typer(alerts_app, name="alerts")
app.command(name="backup")(backup_cmd)
app.command(name="restore")(restore_cmd)
from cloudsettle.cli.case_cmds import cases_app  # noqa: E402 (reads main lazily)

app.add_typer(cases_app, name="cases")
from cloudsettle.cli.reconcile_cmds import reconcile_cmd  # noqa: E402 (reads main lazily)

app.command(name="reconcile")(reconcile_cmd)
from cloudsettle.cli.deal_cmds import deals_app  # noqa: E402 (reads main lazily)

app.add_typer(deals_app, name="deals")
from cloudsettle.cli.check_cmds import check_app  # noqa: E402

app.add_typer(check_app, name="check")
from cloudsettle.cli.lines_cmds import lines_app  # noqa: E402 (reads main lazily)

app.add_typer(lines_app, name="lines")
# --- end of sub-apps ---


if __name__ == "__main__":  # pragma: no cover
    app()
