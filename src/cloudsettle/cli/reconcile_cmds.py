"""``cloudsettle reconcile --provider tencent --month 2026-10``: the provider's own rebate
figures against our recomputation of its policy, per customer, down to the lines.
Exit 1 when a variance remains; see ``docs/reconciliation.md``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cloudsettle.services import reconcile_service
from cloudsettle.services.errors import BadInput

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]


def reconcile_cmd(
    provider: Annotated[str, typer.Option("--provider", help="tencent or huawei.")],
    month: Annotated[str, typer.Option("--month", help="The bill month, e.g. 2026-10.")],
    file: Annotated[Path | None, typer.Option("--file", help="Provider figures to import first "
                                                "(commission bill / incentive bill, CSV).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    workspace_opt: WorkspaceOpt = None,
    user: Annotated[str | None, typer.Option("--user", help="Who does it.")] = None,
) -> None:
    """Reconcile the provider's rebate or incentive with our recomputation."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> int:
        if fmt not in ("table", "json"):
            raise BadInput(f"--format {fmt!r}: table or json")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            if file is not None:
                if not file.is_file():
                    raise BadInput(f"{file}: no such file")
                data = file.read_bytes()
                stored = ws.raw_store.put_bytes(data, ".csv")
                figures = reconcile_service.read_figures_csv(data.decode("utf-8"))
                reconcile_service.import_figures(session, provider=provider, month=month, figures=figures,
                                                 source=f"file:{file.name}", actor=actor_name(user),
                                                 sha256=stored.sha256)
            report = reconcile_service.reconcile(session, provider=provider, month=month)
        if fmt == "json":
            sys.stdout.write(json.dumps(report.document(), indent=2, ensure_ascii=False) + "\n")
        else:
            table = Table("customer", "line", "ours", "theirs", "difference", "why")
            for c in report.customers:
                table.add_row(c.account_id, "", str(c.ours), "-" if c.theirs is None else str(c.theirs),
                              "-" if c.difference is None else str(c.difference), "")
                for lv in c.lines:
                    table.add_row("", lv.line_id, str(lv.ours), str(lv.theirs), str(lv.difference), lv.note)
            out.print(table)
            out.print(f"{report.provider} {report.month} ({report.agreement_id}, {report.currency}): ours "
                      f"{report.ours}, theirs {report.theirs}, difference {report.difference}; "
                      f"lines explain {report.explained}", highlight=False)
        return 0 if report.difference == 0 else 1

    run(body)
