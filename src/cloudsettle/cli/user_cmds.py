"""``cloudsettle user``: add users, issue and revoke API tokens, list them; ``raw purge``.

These run with the workspace owner's authority (whoever can open the database
file or URL), like ``init``: no login is asked. Secrets are printed once: a
generated password at ``user add``, a token at ``user token``; only hashes are
stored.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from cloudsettle.services import users
from cloudsettle.services.retention import purge_raw

user_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
raw_app = typer.Typer(help="The raw bill file store: retention.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
    ),
]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Who does it (default: $CLOUDSETTLE_USER, else the login name).")
]


@user_app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help="A role (repeat for several): admin, finance, operator, sales_ops, auditor, partner.",
        ),
    ],
    partner: Annotated[str | None, typer.Option("--partner", help="The partner of a partner user.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (else generated).")
    ] = False,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Add a user; prints a generated password once unless --password-stdin."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else users.new_password()
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            row = users.add_user(
                session, name=name, roles=role, password=password, partner_id=partner, actor=actor_name(user)
            )
        out.print(f"user {row.name} added with roles {row.roles}", highlight=False)
        if not password_stdin:
            out.print(f"password (shown once): {password}", highlight=False, markup=False)

    run(body)


@user_app.command("token")
def token_cmd(
    name: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[
        str | None, typer.Option("--role", help="The token's one role (default: the user's only role).")
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Days until it expires.")] = users.DEFAULT_TOKEN_DAYS,
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Issue an API token for scripts; prints it once (only its hash is stored)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            t = users.issue_token(
                session, name=name, role=role, days=days, label=label, actor=actor_name(user)
            )
        out.print(
            f"token {t.id} for {name} ({t.role.value}), expires {t.expires_at:%Y-%m-%d %H:%M} UTC",
            highlight=False,
        )
        sys.stdout.write(t.secret + "\n")

    run(body)


@user_app.command("revoke")
def revoke_cmd(
    name: Annotated[str, typer.Argument(help="The user name.")],
    token: Annotated[
        int | None, typer.Option("--token", help="Only this token id (default: all live ones).")
    ] = None,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Revoke a user's API tokens (one, or all live ones)."""
    from cloudsettle.cli.main import actor_name, out, run, workspace

    def body() -> None:
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            n = users.revoke_tokens(session, name=name, token_id=token, actor=actor_name(user))
        out.print(f"revoked {n} token(s) of {name}", highlight=False)

    run(body)


@user_app.command("list")
def list_cmd(workspace_opt: WorkspaceOpt = None) -> None:
    """The users, their roles and partners."""
    from cloudsettle.cli.main import out, run, workspace

    def body() -> None:
        table = Table("name", "roles", "partner", "active", title="users")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            for row in users.list_users(session):
                table.add_row(row.name, row.roles, row.partner_id or "-", "yes" if row.active else "no")
        out.print(table)

    run(body)


@raw_app.command("purge")
def purge_cmd(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than", help="Days; default: the retention setting CLOUDSETTLE_RAW_RETENTION_DAYS."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
    workspace_opt: WorkspaceOpt = None,
    user: UserOpt = None,
) -> None:
    """Delete raw bill files older than the retention, except those a finalized statement references."""
    from cloudsettle.cli.main import actor_name, out, run, workspace
    from cloudsettle.config import Settings
    from cloudsettle.services.errors import BadInput

    def body() -> None:
        days = older_than if older_than is not None else Settings().raw_retention_days
        if days is None:
            raise BadInput("give --older-than DAYS or set CLOUDSETTLE_RAW_RETENTION_DAYS")
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            r = purge_raw(
                session, raw_store=ws.raw_store, older_than_days=days, actor=actor_name(user), dry_run=dry_run
            )
        verb = "would remove" if dry_run else "removed"
        out.print(
            f"{verb} {len(r.removed)} raw file(s), {r.freed_bytes} bytes; kept {len(r.kept_referenced)} "
            "referenced by finalized statements or evidence",
            highlight=False,
        )

    run(body)
