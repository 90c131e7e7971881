"""``cloudsettle rerun``, ``reject``, ``settings`` and ``shadow``: runs, review and comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from cloudsettle.core.money import format_money
from cloudsettle.db.models import SettingRow
from cloudsettle.services.runs import SETTINGS, rerun, set_setting
from cloudsettle.services.settlement_service import reject, settle
from cloudsettle.services.shadow import compare, import_actuals

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Who does it (default: $CLOUDSETTLE_USER, else the login name).")
]
settings_app = typer.Typer(
    help="Workspace settings: grace window, second approval, paying account.", no_args_is_help=True
)
shadow_app = typer.Typer(
    help="Shadow mode: compare computed statements with what was actually paid.", no_args_is_help=True
)


def rerun_cmd(
    run_id: Annotated[int, typer.Argument(metavar="RUN", help="The run id (settle prints it).")],
    compare_opt: Annotated[
        bool, typer.Option("--compare", help="Show every difference (exit 1 if any).")
    ] = False,
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """Recompute a run from exactly the inputs it recorded and compare with what it produced."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            result = rerun(session, run_id=run_id)
        out.print(
            f"run {result.run_id} ({result.period}): {result.statements} statement(s) recomputed from "
            f"inputs {result.fingerprint[:16]}…; {len(result.differences)} difference(s)",
            highlight=False,
        )
        if compare_opt:
            for line in result.differences:
                out.print(f"  {line}", highlight=False, markup=False)
        return 1 if result.differences else 0

    run(body)


def reject_cmd(
    period: Annotated[str, typer.Option("--period", help="The period.")],
    partner: Annotated[str, typer.Option("--partner", help="The partner.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it goes back (shown to the preparer).")],
    agreement: Annotated[str | None, typer.Option("--agreement", help="Only this agreement.")] = None,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Send a statement back to its preparer with a reason; it cannot be approved until settled again."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            rows = reject(
                session,
                period=period,
                partner_id=partner,
                agreement_id=agreement,
                reason=reason,
                actor=actor_name(user),
            )
            for s in rows:
                out.print(f"rejected {s.partner_id}/{s.agreement_id} {s.period}: {reason}", highlight=False)

    run(body)


@settings_app.command("set")
def settings_set(
    key: Annotated[str, typer.Argument(help=", ".join(sorted(SETTINGS)))],
    value: Annotated[str, typer.Argument(help="The value.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")] = None,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Set a workspace setting (audited)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            row = set_setting(session, key=key, value=value, actor=actor_name(user), reason=reason)
            out.print(f"{row.key} = {row.value}", highlight=False)

    run(body)


@settings_app.command("show")
def settings_show(workspace_opt: WorkspaceOpt = None) -> None:
    """Every setting that is set."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        table = Table("key", "value", "updated by", "meaning", title="settings")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            for r in session.scalars(select(SettingRow).order_by(SettingRow.key)):
                table.add_row(
                    r.key, r.value, r.updated_by, SETTINGS.get(r.key.split(".")[0], SETTINGS.get(r.key, ""))
                )
        out.print(table)

    run(body)


@shadow_app.command("import")
def shadow_import(
    file: Annotated[Path, typer.Argument(help="CSV: partner,period,component,amount,currency[,agreement].")],
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Import what was actually paid in earlier periods."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            count = import_actuals(session, path=file, actor=actor_name(user))
        out.print(f"imported {count} actual payment figure(s) from {file.name}")

    run(body)


@shadow_app.command("compare")
def shadow_compare(
    period: Annotated[str, typer.Option("--period", help="The period.")],
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner.")] = None,
    no_settle: Annotated[
        bool, typer.Option("--no-settle", help="Compare the statements as they are.")
    ] = False,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Settle the period (never finalizing) and show the differences per partner and component
    (exit 1 when any)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            if not no_settle:
                settle(session, period=period, partner_id=partner, actor=actor_name(user))
            rows = compare(session, period=period, partner_id=partner)
        table = Table(
            "partner",
            "agreement",
            "component",
            "computed",
            "paid",
            "difference",
            title=f"shadow comparison {period}",
        )
        differing = 0
        for r in rows:
            diff = r.difference
            differing += diff is None or diff != 0
            table.add_row(
                r.partner_id,
                r.agreement_id,
                r.component,
                format_money(r.computed, r.currency),
                "-" if r.actual is None else format_money(r.actual, r.currency),
                "-" if diff is None else format_money(diff, r.currency),
            )
        out.print(table)
        return 1 if differing else 0

    run(body)
