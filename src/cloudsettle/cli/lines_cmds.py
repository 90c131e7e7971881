"""``cloudsettle lines``: the Parquet line store (issue 6) — status, back-fill, current lines, recover.

The store is the one ``CLOUDSETTLE_LINE_STORE`` turns on for ingest (``local``
for ``<workspace>/lines``, a folder, or ``s3://bucket/prefix``), or ``--store``.
Long commands draw a progress bar on stderr; Ctrl-C stops them cleanly, leaving
nothing half-written (``docs/line-store.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cloudsettle.compute.backend import BulkSettings
from cloudsettle.services.errors import BadInput
from cloudsettle.services.workspace import Workspace
from cloudsettle.store.feed import current_lines_parquet
from cloudsettle.store.ingest import backfill, missing_batches
from cloudsettle.store.lines import LineStore, StoreError
from cloudsettle.store.progress import Cancelled, Tracker

lines_app = typer.Typer(help="The Parquet line store: lines, revisions, run results.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="Line store folder or s3:// URL (default: $CLOUDSETTLE_LINE_STORE)."),
]
MemoryOpt = Annotated[str, typer.Option("--memory-limit", help="DuckDB memory_limit; past it DuckDB spills.")]
#: The exit code of a command stopped by Ctrl-C or a cancel.
CANCELLED = 130


def _store(ws: Workspace, option: str | None, memory_limit: str = "2GB") -> LineStore:
    url = option or ws.line_store_url
    if not url:
        raise BadInput("no line store: set CLOUDSETTLE_LINE_STORE=local (or a folder, s3://...) or --store")
    try:
        return LineStore(url if "://" in url else Path(url), settings=BulkSettings(memory_limit=memory_limit))
    except (StoreError, ValueError) as exc:
        raise BadInput(str(exc)) from exc


@lines_app.command("status")
def status_cmd(workspace_opt: WorkspaceOpt = None, store_opt: StoreOpt = None) -> None:
    """The store's partitions, its batches, and the control-store batches it lacks."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws:
            store = _store(ws, store_opt)
            with ws.unit_of_work() as session:
                missing = missing_batches(session, store)
        table = Table("provider", "period", title=f"line store {store.url}")
        for provider, period in store.partitions():
            table.add_row(provider, period)
        out.print(table)
        named = ", ".join(map(str, missing)) or "-"
        out.print(f"batches: {len(store.committed_batches())}, missing: {named}")
        left = store.leftovers()
        if left:
            out.print(f"leftovers of interrupted writes: {len(left)} (cloudsettle lines recover)")
        return 1 if missing or left else 0

    run(body)


@lines_app.command("backfill")
def backfill_cmd(workspace_opt: WorkspaceOpt = None, store_opt: StoreOpt = None) -> None:
    """Write the control-store batches the line store lacks, oldest first."""
    from cloudsettle.cli.main import err, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws:
            store = _store(ws, store_opt)
            try:
                with Tracker(show=True, console=err) as tracker, ws.unit_of_work() as session:
                    written = backfill(session, store, tracker=tracker)
            except (Cancelled, KeyboardInterrupt):
                err.print("cancelled: the batches written so far are complete, the rest untouched")
                return CANCELLED
        out.print(f"back-filled {len(written)} batches: {', '.join(map(str, written)) or '-'}")
        return 0

    run(body)


@lines_app.command("current")
def current_cmd(
    period: Annotated[str, typer.Option("--period", help="Billing period, YYYY-MM.")],
    output: Annotated[Path, typer.Option("--out", help="Parquet file to write (LINE_SCHEMA).")],
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
    ] = None,
    memory_limit: MemoryOpt = "2GB",
    workspace_opt: WorkspaceOpt = None,
    store_opt: StoreOpt = None,
) -> None:
    """Write the current lines of a period to one Parquet file the bulk engine reads."""
    from cloudsettle.cli.main import err, out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws:
            store = _store(ws, store_opt, memory_limit)
        try:
            with Tracker(show=True, console=err) as tracker:
                path = current_lines_parquet(store, provider or None, period, output, tracker=tracker)
        except (Cancelled, KeyboardInterrupt):
            err.print(f"cancelled: {output} was not written")
            return CANCELLED
        except StoreError as exc:
            raise BadInput(str(exc)) from exc
        out.print(f"wrote {path}")
        return 0

    run(body)


@lines_app.command("recover")
def recover_cmd(workspace_opt: WorkspaceOpt = None, store_opt: StoreOpt = None) -> None:
    """Remove what interrupted writes left (run it while nothing writes to the store)."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> int:
        with workspace(workspace_opt) as ws:
            removed = _store(ws, store_opt).recover()
        out.print(f"removed {len(removed)} leftovers")
        return 0

    run(body)
