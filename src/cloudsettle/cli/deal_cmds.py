"""``cloudsettle deals``: the deal life cycle, CRM import, and suggested deals."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from cloudsettle.db.models_validation import DealSuggestionRow
from cloudsettle.services import deal_service
from cloudsettle.services.errors import BadInput

deals_app = typer.Typer(help="Deal life cycle, CRM import and suggested deals.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
UserOpt = Annotated[str | None, typer.Option("--user", help="Who does it.")]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{option} {text!r}: expected a date like 2026-10-01") from exc


@deals_app.command("import")
def import_cmd(file: Path, workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Create or update deals from a CRM export (CSV)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        if not file.is_file():
            raise BadInput(f"{file}: no such file")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            counts = deal_service.import_crm_csv(session, text=file.read_text(encoding="utf-8-sig"),
                                                 actor=actor_name(user))
        out.print(", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0

    run(body)


@deals_app.command("status")
def status_cmd(deal_id: str, to: Annotated[str, typer.Option("--to", help="active, renewed, terminated.")],
               valid_to: Annotated[str | None, typer.Option("--valid-to", help="End of the window.")] = None,
               note: Annotated[str, typer.Option("--note")] = "",
               workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Move a deal to its next step."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            deal_service.set_status(session, deal_id=deal_id, status=to, actor=actor_name(user), note=note,
                                    valid_to=_day(valid_to, "--valid-to"))
        out.print(f"deal {deal_id} {to}")
        return 0

    run(body)


@deals_app.command("suggestions")
def suggestions_cmd(workspace_opt: WorkspaceOpt = None) -> None:
    """Pending deal suggestions for unmapped customers."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> int:
        table = Table("id", "customer", "partner", "agreement", "from", "hint")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            for s in session.scalars(select(DealSuggestionRow).where(DealSuggestionRow.status == "suggested")
                                     .order_by(DealSuggestionRow.id)):
                table.add_row(str(s.id), f"{s.provider}:{s.account_id}", s.partner_id, s.agreement_id,
                              s.source, s.hint)
        out.print(table)
        return 0

    run(body)


@deals_app.command("confirm")
def confirm_cmd(suggestion_id: int, deal_id: Annotated[str, typer.Option("--deal-id")],
                valid_from: Annotated[str, typer.Option("--valid-from")],
                workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Confirm a suggestion: it becomes an active deal."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        start = _day(valid_from, "--valid-from")
        assert start is not None
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            deal_service.confirm(session, suggestion_id=suggestion_id, deal_id=deal_id, valid_from=start,
                                 actor=actor_name(user))
        out.print(f"deal {deal_id} created from suggestion {suggestion_id}")
        return 0

    run(body)
