"""``cloudsettle cases``: the exception queue (list, show, assign, comment, attach,
resolve, waive). Each command is one unit of work; see ``docs/cases.md``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cloudsettle.services import case_service
from cloudsettle.services.errors import BadInput

cases_app = typer.Typer(help="Exceptions and disputes: the cases that hold statements.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Who does it (default: $CLOUDSETTLE_USER, else the login name).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]


def _format(value: str) -> str:
    if value not in ("table", "json"):
        raise BadInput(f"--format {value!r}: table or json")
    return value


def _dump(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@cases_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option("--status", help="open, assigned, resolved, waived.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="missing_deal, dispute, ...")] = None,
    fmt: FormatOpt = "table",
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """The cases, newest first."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> int:
        chosen = _format(fmt)
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            docs = [case_service.case_summary(c) for c in
                    case_service.list_cases(session, status=status, kind=kind)]
        if chosen == "json":
            _dump(docs)
            return 0
        table = Table("id", "kind", "severity", "status", "owner", "due", "period", "title")
        for d in docs:
            table.add_row(str(d["id"]), d["kind"], d["severity"], d["status"], d["owner"] or "-",
                          (d["due_at"] or "-")[:10], d["period"] or "-", d["title"])
        out.print(table)
        out.print(f"{len(docs)} case(s)")
        return 0

    run(body)


@cases_app.command("show")
def show_cmd(case_id: int, fmt: FormatOpt = "table", workspace_opt: WorkspaceOpt = None) -> None:
    """One case: what it holds, its comments, evidence and history."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> int:
        chosen = _format(fmt)
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            doc = case_service.case_document(session, case_id)
        if chosen == "json":
            _dump(doc)
            return 0
        out.print(f"case {doc['id']} [{doc['status']}] {doc['kind']} ({doc['severity']}"
                  f"{', blocking' if doc['blocking'] else ''}): {doc['title']}", highlight=False)
        out.print(f"owner {doc['owner'] or '-'}, due {doc['due_at'] or '-'}, period {doc['period'] or '-'}",
                  highlight=False)
        if doc["resolution"]:
            out.print(f"resolution: {doc['resolution']}", highlight=False)
        for link in doc["links"]:
            out.print(f"  holds/concerns {link['kind']} {link['ref']}", highlight=False)
        for c in doc["comments"]:
            out.print(f"  comment {c['at'][:19]} {c['author']}: {c['text']}", highlight=False)
        for e in doc["evidence"]:
            out.print(f"  evidence {e['file']} ({e['content_type']}, {e['size_bytes']} bytes) "
                      f"sha256 {e['sha256']}", highlight=False)
        for h in doc["history"]:
            out.print(f"  {h['at'][:19]} {h['actor']} {h['action']}", highlight=False)
        return 0

    run(body)


@cases_app.command("assign")
def assign_cmd(case_id: int, to: Annotated[str, typer.Option("--to", help="A user name.")],
               workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Give the case an owner."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            case = case_service.assign(session, case_id=case_id, to=to, actor=actor_name(user))
            out.print(f"case {case.id} assigned to {case.owner}", highlight=False)
        return 0

    run(body)


@cases_app.command("comment")
def comment_cmd(case_id: int, text: Annotated[str, typer.Option("--text", help="The comment.")],
                workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Add a comment."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            case_service.comment(session, case_id=case_id, text=text, actor=actor_name(user))
        out.print(f"comment added to case {case_id}")
        return 0

    run(body)


@cases_app.command("attach")
def attach_cmd(case_id: int, file: Path,
               content_type: Annotated[str | None, typer.Option("--type", help="Content type "
                                                                  "(default: from the name).")] = None,
               workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Attach an evidence file (stored content-addressed; size- and type-checked)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        if not file.is_file():
            raise BadInput(f"{file}: no such file")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            row = case_service.attach(session, case_id=case_id, file_name=file.name,
                                      data=file.read_bytes(), content_type=content_type,
                                      raw_store=ws.raw_store, actor=actor_name(user))
            out.print(f"attached {row.file_name} to case {case_id} (sha256 {row.sha256})", highlight=False)
        return 0

    run(body)


@cases_app.command("resolve")
def resolve_cmd(case_id: int, note: Annotated[str, typer.Option("--note", help="How it was resolved.")] = "",
                workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Resolve a case and re-run what it held."""
    _close(case_id, note, "resolve", workspace_opt, user)


@cases_app.command("waive")
def waive_cmd(case_id: int, reason: Annotated[str, typer.Option("--reason", help="Why it is accepted.")] = "",
              workspace_opt: WorkspaceOpt = None, user: UserOpt = None) -> None:
    """Waive a case (accept the finding, with a reason) and re-run what it held."""
    _close(case_id, reason, "waive", workspace_opt, user)


def _close(case_id: int, text: str, verb: str, workspace_opt: str | None, user: str | None) -> None:
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            closed = (case_service.resolve(session, case_id=case_id, note=text, actor=actor_name(user))
                      if verb == "resolve" else
                      case_service.waive(session, case_id=case_id, reason=text, actor=actor_name(user)))
            status = closed.case.status
        out.print(f"case {case_id} {status}" + (f"; settled again: {', '.join(closed.rerun)}"
                                                 if closed.rerun else ""), highlight=False)
        return 0 if status in ("resolved", "waived") else 1

    run(body)
