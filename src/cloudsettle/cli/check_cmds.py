"""``cloudsettle check totals``: a provider's summary file against the lines we hold."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cloudsettle.services.book_loader import load_book
from cloudsettle.services.errors import BadInput
from cloudsettle.services.validation_service import check_provider_totals, read_summary_csv

check_app = typer.Typer(help="Validation checks a person starts: provider totals.", no_args_is_help=True)


@check_app.command("totals")
def totals_cmd(
    file: Annotated[Path, typer.Argument(help="CSV: month,account_id,service,currency,amount.")],
    provider: Annotated[str, typer.Option("--provider", help="tencent, huawei or a FOCUS provider key.")],
    workspace_opt: Annotated[str | None, typer.Option("--workspace", help="Workspace folder.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Who runs the check.")] = None,
) -> None:
    """Compare the provider's own totals (per month, customer and product) with the sum of the
    lines; each difference beyond the tolerance is a ``totals_mismatch`` finding (exit 1)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        try:
            totals = read_summary_csv(file.read_text(encoding="utf-8-sig"), provider)
        except (OSError, KeyError, ValueError) as exc:
            raise BadInput(
                f"{file}: not a summary file (month,account_id,service,currency,amount): {exc}"
            ) from exc
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            lines = [ln for ln in load_book(session).book.lines if ln.provider == provider]
            findings = check_provider_totals(
                session, provider=provider, totals=totals, lines=lines, batch_id=None, actor=actor_name(user)
            )
        for f in findings:
            out.print(f"[yellow]{f.kind.value}[/]: {f.message}", highlight=False)
        out.print(f"{len(totals)} totals checked, {len(findings)} differences")
        return 1 if findings else 0

    run(body)
