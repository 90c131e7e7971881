"""``cloudsettle audit``: verify the hash chain, list events by object, user and time."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.table import Table

from cloudsettle.services.audit import events, verify
from cloudsettle.services.errors import BadInput

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]


def _instant(text: str | None, option: str) -> datetime | None:
    """A date (midnight UTC) or an ISO instant; naive instants are UTC."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{option} {text!r}: not a date or ISO time") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@audit_app.command("verify")
def verify_cmd(workspace_opt: WorkspaceOpt = None) -> None:
    """Recompute the hash chain; name the first event altered, removed or reordered (exit 1)."""
    from cloudsettle.cli.main import err, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            result = verify(session)
        if result.problem is not None:
            err.print(f"[bold red]audit chain broken:[/] {result.problem.message}", highlight=False)
            return 1
        out.print(f"audit chain intact: {result.checked} events, head {result.head or '-'}")
        return 0

    run(body)


@audit_app.command("list")
def list_cmd(
    subject: Annotated[
        str | None, typer.Option("--object", help="Subject prefix, e.g. statement:P-ACME.")
    ] = None,
    user: Annotated[str | None, typer.Option("--by", help="Only events by this user.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date or ISO time.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this date or ISO time.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """Audit events filtered by object, user, action and time, oldest first."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        start, end = _instant(since, "--since"), _instant(until, "--until")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            rows = [
                {
                    "id": r.id,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "subject": r.subject,
                    "reason": r.reason,
                    "before": json.loads(r.before_value) if r.before_value else None,
                    "after": json.loads(r.after_value) if r.after_value else None,
                    "details": json.loads(r.details),
                }
                for r in events(session, subject=subject, actor=user, action=action, since=start, until=end)
            ]
        if fmt == "json":
            sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
            return
        table = Table("id", "at", "by", "action", "object", "why", title="audit log")
        for r in rows:
            table.add_row(
                str(r["id"]),
                str(r["at"])[:19],
                str(r["actor"]),
                str(r["action"]),
                str(r["subject"]),
                str(r["reason"] or ""),
            )
        out.print(table)

    run(body)
