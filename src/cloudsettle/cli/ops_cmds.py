"""``cloudsettle worker``, ``schedule list``, ``alerts test``, ``backup`` and ``restore``."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cloudsettle.ops.backup import BackupError, backup, restore
from cloudsettle.ops.config import OpsConfig, OpsConfigError, config_path, load_config
from cloudsettle.services.errors import BadInput, Refused

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        help="The operations YAML (default: $CLOUDSETTLE_OPS_CONFIG, else <workspace>/operations.yaml).",
    ),
]
schedule_app = typer.Typer(help="The configured schedules.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alert delivery.", no_args_is_help=True)


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{option} {text!r}: not an ISO time") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _config(option: str | None, root: Path) -> OpsConfig:
    try:
        return load_config(config_path(option, root))
    except (OpsConfigError, KeyError, ValueError) as exc:
        raise BadInput(f"operations config: {exc}") from exc


def worker_cmd(
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
    until: Annotated[str | None, typer.Option("--until", help="Stop at this ISO time.")] = None,
    poll: Annotated[int, typer.Option("--poll", help="Seconds between ticks.")] = 30,
    name: Annotated[str | None, typer.Option("--name", help="This worker's name (default host:pid).")] = None,
    config: ConfigOpt = None,
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """Run the schedules: pulls, re-validation, drafts, deadlines, alerts. Safe to run several."""
    from cloudsettle.cli.main import out, run, workspace
    from cloudsettle.ops.logs import configure
    from cloudsettle.ops.worker import Worker

    def body() -> int:
        stop = _instant(until, "--until")
        configure()
        with workspace(workspace_opt) as ws:
            worker = Worker(sessions=ws.sessions, config=_config(config, ws.root), root=ws.root, name=name)
            outcomes = worker.run(once=once, until=stop, poll_seconds=poll)
        for o in outcomes:
            out.print(f"{o.schedule} due {o.due_at.isoformat()}: {o.status}", highlight=False)
        return 1 if any(o.status == "failed" for o in outcomes) else 0

    run(body)


@schedule_app.command("list")
def schedule_list(
    at: Annotated[str | None, typer.Option("--at", help="As of this ISO time (default now).")] = None,
    config: ConfigOpt = None,
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """Each schedule, its last run and its next due time (local and UTC)."""
    from sqlalchemy import select

    from cloudsettle.cli.main import out, run, workspace
    from cloudsettle.db.models_ops import ScheduleRunRow
    from cloudsettle.ops.schedule import next_due

    def body() -> None:
        now = _instant(at, "--at") or datetime.now(UTC)
        table = Table("schedule", "job", "zone", "last run", "status", "next due (local)", "next due (UTC)")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            cfg = _config(config, ws.root)
            for s in cfg.schedules:
                last = session.scalars(
                    select(ScheduleRunRow)
                    .where(ScheduleRunRow.schedule == s.name)
                    .order_by(ScheduleRunRow.due_at.desc())
                    .limit(1)
                ).first()
                nxt = next_due(s, now)
                table.add_row(
                    s.name,
                    s.kind,
                    s.zone,
                    last.due_at.isoformat() if last else "-",
                    last.status if last else "-",
                    nxt.astimezone(s.tz).strftime("%Y-%m-%d %H:%M %Z") if nxt else "-",
                    nxt.isoformat() if nxt else "-",
                )
        out.print(table)

    run(body)


@alerts_app.command("test")
def alerts_test(config: ConfigOpt = None, workspace_opt: WorkspaceOpt = None) -> None:
    """Send one test message through every configured channel (not stored as an alert)."""
    from cloudsettle.cli.main import out, run
    from cloudsettle.db.models_ops import AlertRow
    from cloudsettle.ops.alerts import channel_senders

    def body() -> None:
        root = workspace_root_only(workspace_opt)
        cfg = _config(config, root)
        now = datetime.now(UTC)
        senders = channel_senders(cfg.alerts, os.environ, now)
        if not senders:
            raise BadInput("no alert channel is configured (operations.alerts.email / webhook)")
        probe = AlertRow(
            id=0,
            rule="test",
            dedupe_key="test",
            severity="info",
            title="cloudsettle test alert",
            message="If you read this, alert delivery works.",
            details="{}",
            raised_at=now,
            delivered_at=None,
            resolved_at=None,
        )
        for send in senders:
            try:
                send([probe])
            except Exception as exc:
                raise Refused(f"delivery failed: {type(exc).__name__}: {exc}") from exc
        out.print(f"sent a test alert through {len(senders)} channel(s)")

    run(body)


def workspace_root_only(option: str | None) -> Path:
    """The workspace folder, without opening the database."""
    from cloudsettle.services.workspace import workspace_root

    return workspace_root(option)


def backup_cmd(
    dest: Annotated[Path, typer.Argument(help="A new, empty folder for the backup.")],
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """Back up the database (pg_dump or SQLite backup) and the raw store, with a manifest."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws:
            try:
                r = backup(ws.root, ws.url, dest)
            except BackupError as exc:
                raise Refused(str(exc)) from exc
        out.print(f"backup in {r.folder}: {r.backend} at revision {r.revision}, {r.raw_files} raw file(s)")

    run(body)


def restore_cmd(
    src: Annotated[Path, typer.Argument(help="A folder written by `cloudsettle backup`.")],
    workspace_opt: WorkspaceOpt = None,
) -> None:
    """Restore a backup into an EMPTY workspace and database, then migrate to head."""
    from cloudsettle.cli.main import out, run
    from cloudsettle.db.migrate import upgrade
    from cloudsettle.db.session import database_url

    def body() -> None:
        root = workspace_root_only(workspace_opt)
        url = database_url(root, os.environ)
        try:
            r = restore(src, root, url)
        except BackupError as exc:
            raise Refused(str(exc)) from exc
        upgrade(url)
        out.print(f"restored {r.backend} at revision {r.revision} and {r.raw_files} raw file(s) into {root}")

    run(body)
