"""The export side of the CLI: ``statement --format csv|xlsx|pdf`` and ``cloudsettle pack``.

``main.statement_cmd`` hands every non-JSON format to :func:`export_statement`;
``pack_cmd`` is registered in ``main``'s sub-apps block. Branding for the PDF
comes from ``<workspace>/branding.yaml`` when it exists (docs/statements.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

import typer
from sqlalchemy.orm import Session

from cloudsettle.exports.labels import LANGS, check_lang
from cloudsettle.exports.statement_csv import render_csv
from cloudsettle.exports.statement_data import gather
from cloudsettle.exports.statement_pack import render_pack
from cloudsettle.exports.statement_pdf import Branding, load_branding, render_pdf
from cloudsettle.exports.statement_xlsx import render_xlsx
from cloudsettle.services.errors import BadInput

FORMATS: Final[tuple[str, ...]] = ("json", "csv", "xlsx", "pdf")
BRANDING_FILE: Final[str] = "branding.yaml"


def _lang(lang: str) -> str:
    try:
        return str(check_lang(lang))
    except ValueError as exc:
        raise BadInput(f"--lang: {exc}") from exc


def workspace_branding(root: Path) -> Branding:
    """``<root>/branding.yaml`` read as :class:`Branding`, else the defaults."""
    path = root / BRANDING_FILE
    if not path.is_file():
        return Branding()
    try:
        return load_branding(path)
    except (ValueError, OSError) as exc:
        raise BadInput(str(exc)) from exc


def default_output(root: Path, doc: dict[str, Any], ext: str, kind: str = "statements") -> Path:
    """``<root>/out/<kind>/<period>/<partner>-<agreement>.<ext>``."""
    period = str(doc["period"])
    return root / "out" / kind / period / f"{doc['partner']}-{doc['agreement']}.{ext}"


def render_statement(
    session: Session,
    doc: dict[str, Any],
    fmt: str,
    output: Path,
    lang: str,
    *,
    branding: Branding | None = None,
) -> Path:
    """Write the statement document ``doc`` as ``fmt`` (csv, xlsx or pdf) to ``output``."""
    language = _lang(lang)
    if fmt not in ("csv", "xlsx", "pdf"):
        raise BadInput(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    data = gather(session, doc)
    if fmt == "csv":
        return render_csv(data, output)
    if fmt == "xlsx":
        return render_xlsx(data, output, language)
    return render_pdf(data, output, language, branding)


def export_statement(
    session: Session, root: Path, doc: dict[str, Any], fmt: str, output: Path | None, lang: str
) -> Path:
    """``statement --format csv|xlsx|pdf``: the output path defaults into the workspace."""
    return render_statement(
        session,
        doc,
        fmt,
        output or default_output(root, doc, fmt),
        lang,
        branding=workspace_branding(root) if fmt == "pdf" else None,
    )


def pack_cmd(
    period: Annotated[
        str, typer.Option("--period", help="2026-10, 2026-Q4, 2026-W43 or a biweekly start date.")
    ],
    partner: Annotated[str, typer.Option("--partner", help="The partner.")],
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="The agreement, when the partner has several.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help=f"Language of the PDF: {' or '.join(LANGS)}.")] = "en",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", help="The ZIP (default: <workspace>/out/packs/<period>/<partner>-<agreement>.zip)."
        ),
    ] = None,
    workspace_opt: Annotated[
        str | None,
        typer.Option(
            "--workspace", help="Workspace folder (default: $CLOUDSETTLE_WORKSPACE, else ./cloudsettle-data)."
        ),
    ] = None,
) -> None:
    """The explanation pack of a partner's statement: PDF, lines with their sources, agreement
    version, FX rates and findings, in one ZIP."""
    from cloudsettle.cli.main import _statement, out, run, workspace  # main registers this command

    def body() -> None:
        language = _lang(lang)
        with workspace(workspace_opt) as ws, ws.unit_of_work() as session:
            doc = _statement(session, period, partner, agreement)
            data = gather(session, doc)
            target = output or default_output(ws.root, doc, "zip", kind="packs")
            path = render_pack(data, target, language, workspace_branding(ws.root))
        out.print(f"wrote {path}", highlight=False)

    run(body)
