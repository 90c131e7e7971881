"""``cloudsettle ledger``: trial balance, partner balances, invariant check, Beancount export."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cloudsettle.core import ledger
from cloudsettle.core.money import ZERO, format_money
from cloudsettle.exports.beancount import journal
from cloudsettle.services.errors import BadInput
from cloudsettle.services.ledger_service import check_invariants, entries, partner_balances, trial_balance

ledger_app = typer.Typer(help="The double-entry journal: balances, checks and exports.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
OnOpt = Annotated[str | None, typer.Option("--on", help="Balances at the end of this date (YYYY-MM-DD).")]


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"--on {text!r}: not a date (YYYY-MM-DD)") from exc


@ledger_app.command("trial-balance")
def trial_balance_cmd(on: OnOpt = None, workspace_opt: WorkspaceOpt = None) -> None:
    """Every account's balance (debit positive) and the total per currency, which must be zero."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            rows = trial_balance(session, on=_day(on))
        table = Table("account", "currency", "balance", title="trial balance" + (f" on {on}" if on else ""))
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for (account, currency), amount in rows.items():
            table.add_row(account, currency, format_money(amount, currency))
            totals[currency] += amount
        for currency, total in sorted(totals.items()):
            table.add_row("[bold]total[/]", currency, format_money(total, currency))
        out.print(table)
        return 0 if all(t == 0 for t in totals.values()) else 1

    run(body)


@ledger_app.command("balances")
def balances_cmd(
    partner: Annotated[str, typer.Option("--partner", help="The partner.")],
    on: OnOpt = None,
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """A partner's payable, carried-forward and clawback-receivable balances."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            rows = partner_balances(session, partner, on=_day(on))
        table = Table("account", "currency", "balance", title=f"{partner} balances")
        for (account, currency), amount in rows.items():
            table.add_row(account, currency, format_money(amount, currency))
        out.print(table)

    run(body)


@ledger_app.command("check")
def check_cmd(workspace_opt: WorkspaceOpt = None) -> None:
    """Check that every entry balances, the journal totals zero and each payable matches."""
    from cloudsettle.cli.main import err, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            try:
                check_invariants(session)
            except ledger.LedgerError as exc:
                err.print(f"[bold red]ledger check failed:[/] {exc}", highlight=False)
                return 1
            count = len(entries(session))
        out.print(f"ledger ok: {count} entries balance, trial balance is zero, payables match")
        return 0

    run(body)


@ledger_app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", help="beancount")] = "beancount",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file.")] = None,
    on: OnOpt = None,
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """The journal as a Beancount file (checked by ``bean-check``)."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        if fmt != "beancount":
            raise BadInput(f"--format {fmt!r}: only beancount")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            stored = entries(session, on=_day(on))
        text = journal([(e.id, e.entry) for e in stored])
        if output:
            output.write_text(text, encoding="utf-8")
            out.print(f"wrote {output} ({len(stored)} entries)")
        else:
            sys.stdout.write(text)

    run(body)
