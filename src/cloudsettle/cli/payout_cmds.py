"""``cloudsettle payout``: bank details (sealed), payout batches, and bank status import."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from cloudsettle.core.money import format_money
from cloudsettle.db.models import PayoutAccountRow, PayoutRow
from cloudsettle.services.errors import BadInput
from cloudsettle.services.payout_service import (
    create_batches,
    import_status,
    rekey,
    seal_config_details,
    set_payout_details,
)
from cloudsettle.services.secrets import KeyRing

payout_app = typer.Typer(
    help="Pay partners: sealed bank details, pain.001/CSV batches, bank status.", no_args_is_help=True
)
details_app = typer.Typer(
    help="Partners' bank details, stored encrypted and shown masked.", no_args_is_help=True
)
payout_app.add_typer(details_app, name="details")

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Who does it (default: $CLOUDSETTLE_USER, else the login name).")
]


@details_app.command("set")
def details_set(
    partner: Annotated[str, typer.Option("--partner", help="The partner.")],
    account_name: Annotated[str, typer.Option("--account-name", help="The account holder's name.")],
    iban: Annotated[str | None, typer.Option("--iban", help="IBAN.")] = None,
    account_number: Annotated[
        str | None, typer.Option("--account-number", help="Account without IBAN.")
    ] = None,
    bic: Annotated[str | None, typer.Option("--bic", help="The bank's BIC.")] = None,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Store a partner's bank details, sealed with the payout key."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        ring = KeyRing.from_env()
        details = {
            "account_name": account_name,
            "iban": iban or "",
            "account_number": account_number or "",
            "bic": bic or "",
        }
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            row = set_payout_details(
                session, partner_id=partner, details=details, actor=actor_name(user), ring=ring
            )
            out.print(f"{partner}: payout details stored (key {row.key_id}): {row.masked}", highlight=False)

    run(body)


@details_app.command("show")
def details_show(workspace_opt: WorkspaceOpt = None) -> None:
    """Every partner's payout details, masked."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        table = Table("partner", "key", "details (masked)", "updated by", title="payout details")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            for r in session.scalars(select(PayoutAccountRow).order_by(PayoutAccountRow.partner_id)):
                table.add_row(r.partner_id, r.key_id, r.masked, r.updated_by)
        out.print(table)

    run(body)


@details_app.command("seal-config")
def details_seal_config(workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Move the details that ``config load`` stored in plain text into sealed storage."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        ring = KeyRing.from_env()
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            moved = seal_config_details(session, actor=actor_name(user), ring=ring)
        out.print(f"sealed payout details of {len(moved)} partner(s): {', '.join(moved) or '-'}")

    run(body)


@payout_app.command("rekey")
def rekey_cmd(workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Re-seal every partner's details with the current key (after adding a new key in front)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        ring = KeyRing.from_env()
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            count = rekey(session, actor=actor_name(user), ring=ring)
        out.print(f"re-sealed {count} partner(s) with key {ring.current}")

    run(body)


@payout_app.command("create")
def create_cmd(
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner.")] = None,
    on: Annotated[
        str | None, typer.Option("--date", help="Requested execution date (default: tomorrow).")
    ] = None,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Write pain.001.001.09 and CSV payout files for every finalized, payable statement of
    verified partners; unverified ones are held (exit 1)."""
    from cloudsettle.cli.main import actor_name, err, out, run, workspace

    def body() -> int:
        try:
            requested = date.fromisoformat(on) if on else date.today() + timedelta(days=1)
        except ValueError as exc:
            raise BadInput(f"--date {on!r}: not a date (YYYY-MM-DD)") from exc
        ring = KeyRing.from_env()
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            result = create_batches(
                session,
                actor=actor_name(user),
                ring=ring,
                out_dir=ws.out_dir,
                requested_date=requested,
                partner_id=partner,
            )
        for batch, xml_path, csv_path in result.batches:
            out.print(
                f"batch {batch.message_id}: {batch.transactions} transfer(s), control sum "
                f"{format_money(batch.control_sum, batch.currency)} {batch.currency}\n  {xml_path}\n"
                f"  {csv_path}",
                highlight=False,
            )
        for f in result.held:
            err.print(f"[yellow]{f.kind.value}[/]: {f.message}", highlight=False)
        if not result.batches and not result.held:
            out.print("nothing to pay")
        return 1 if result.held else 0

    run(body)


@payout_app.command("status")
def status_cmd(
    file: Annotated[Path, typer.Argument(help="CSV: end_to_end_id,status[,reason][,date].")],
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Import the bank's payout status (paid, failed, returned); all or nothing."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            summary = import_status(session, path=file, actor=actor_name(user))
        moved = ", ".join(f"{n} {s}" for s, n in sorted(summary.moved.items())) or "none moved"
        out.print(f"payout status imported: {moved}; {summary.unchanged} unchanged")

    run(body)


@payout_app.command("list")
def list_cmd(workspace_opt: WorkspaceOpt = None) -> None:
    """Every payout with its status."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        table = Table("end-to-end id", "partner", "statement", "amount", "status", title="payouts")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            for p in session.scalars(select(PayoutRow).order_by(PayoutRow.id)):
                table.add_row(
                    p.end_to_end_id,
                    p.partner_id,
                    str(p.statement_id),
                    f"{format_money(p.amount, p.currency)} {p.currency}",
                    p.status,
                )
        out.print(table)

    run(body)
