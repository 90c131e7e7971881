"""Agreements: the list, one agreement's versions, two versions side by side, and draft versions
(editor checked like the configuration file, what-if on a past period, activate, discard).

Everyone with ``config.read`` reads; ``sales_ops`` (``config.write``) edits drafts and activates
them. A what-if writes nothing, so it is a GET: its result has an address that can be shared.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.config_file.codec import decimal_text
from cloudsettle.core.agreements import AgreementVersion
from cloudsettle.core.money import format_money
from cloudsettle.services import guarded
from cloudsettle.services.access import Permission
from cloudsettle.services.agreement_drafts import DRAFT, DraftInvalid, WhatIf
from cloudsettle.services.errors import BadInput, NotFound, ServiceError
from cloudsettle.web.common import error_page, posted, redirect, render, who_is

router = APIRouter()
CsrfField = Annotated[str, Form()]
#: Lines of the draft shown around a refused line.
CONTEXT = 1


@router.get("/agreements", response_class=HTMLResponse)
def agreements(request: Request) -> Response:
    """Every agreement: partner, currency, versions with their effective dates, open drafts."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            items = [
                {
                    "id": item["agreement"].id,
                    "partner": item["agreement"].partner_id,
                    "mode": item["agreement"].mode,
                    "currency": item["versions"][-1].currency if item["versions"] else "",
                    "versions": [(v.version, v.effective_from.isoformat()) for v in item["versions"]],
                    "drafts": item["drafts"],
                }
                for item in guarded.agreement_overview(session, who)
            ]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(request, "agreements.html", who, data, items=items)


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement(request: Request, agreement_id: str, note: str = "") -> Response:
    """An agreement's versions, newest first, with their terms; its drafts."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            detail = guarded.agreement_detail(session, who, agreement_id)
            row = detail["agreement"]
            versions = [_version_view(v, used, stored.created_at.date().isoformat())
                        for stored, v, used in detail["versions"]]
            drafts = [_draft_view(d) for d in detail["drafts"]]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(request, "agreement.html", who, data, agreement=row, versions=versions, drafts=drafts,
                  note=note, can_edit=who.can(Permission.CONFIG_WRITE))


@router.get("/agreements/{agreement_id}/compare", response_class=HTMLResponse)
def compare(request: Request, agreement_id: str, a: str | None = None, b: str | None = None) -> Response:
    """Two versions (or a version and a draft) side by side, then the YAML's unified diff."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            comparison = guarded.compare_versions(session, who, agreement_id=agreement_id, a=a or None,
                                                  b=b or None)
            detail = guarded.agreement_detail(session, who, agreement_id)
            choices = [(str(v.version), f"version {v.version} (from {v.effective_from.isoformat()})")
                       for _, v, _ in detail["versions"]]
            choices += [(f"draft-{d.id}", f"draft {d.id} (version {d.version}, {d.status})")
                        for d in detail["drafts"]]
    except ServiceError as exc:
        return error_page(request, exc)
    text_diff = [(_diff_class(line), line) for line in comparison.text_diff]
    return render(request, "agreement_compare.html", who, data, agreement=detail["agreement"],
                  comparison=comparison, choices=choices, text_diff=text_diff)


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    return {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")


@router.get("/agreements/{agreement_id}/drafts/new", response_class=HTMLResponse)
def new_draft(request: Request, agreement_id: str) -> Response:
    """The editor, prefilled with the newest version renumbered one higher."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            text = guarded.draft_starting_text(session, who, agreement_id)
            row = guarded.agreement_detail(session, who, agreement_id)["agreement"]
    except ServiceError as exc:
        return error_page(request, exc)
    return _editor(request, who, data, agreement=row, draft=None, text=text, issues=None)


@router.post("/agreements/{agreement_id}/drafts", response_class=HTMLResponse)
def create_draft(
    request: Request, agreement_id: str, text: Annotated[str, Form()] = "", csrf_token: CsrfField = ""
) -> Response:
    """Save a new draft; refused text comes back in the editor with every problem beside its line."""
    return _save(request, agreement_id, None, text, csrf_token)


@router.post("/agreements/{agreement_id}/drafts/{draft_id}", response_class=HTMLResponse)
def update_draft(
    request: Request,
    agreement_id: str,
    draft_id: int,
    text: Annotated[str, Form()] = "",
    csrf_token: CsrfField = "",
) -> Response:
    """Save an open draft's new text."""
    return _save(request, agreement_id, draft_id, text, csrf_token)


def _save(request: Request, agreement_id: str, draft_id: int | None, text: str, csrf_token: str) -> Response:
    text = text.replace("\r\n", "\n")
    try:
        who, data = posted(request, csrf_token)
        with app_state(request).workspace.unit_of_work() as session:
            saved = guarded.save_draft(session, who, agreement_id=agreement_id, draft_id=draft_id, text=text)
            saved_id = saved.id
    except DraftInvalid as exc:
        with app_state(request).workspace.unit_of_work() as session:
            row = guarded.agreement_detail(session, who, agreement_id)["agreement"]
            current = guarded.agreement_draft(session, who, agreement_id, draft_id) if draft_id else None
        return _editor(request, who, data, agreement=row, draft=current, text=text, issues=exc.issues,
                       status_code=422)
    except ServiceError as exc:
        return error_page(request, exc)
    return redirect(f"/agreements/{agreement_id}/drafts/{saved_id}", f"Draft {saved_id} saved.")


@router.get("/agreements/{agreement_id}/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(
    request: Request, agreement_id: str, draft_id: int, period: str = "", note: str = ""
) -> Response:
    """A draft in the editor; with ``period``, the what-if of that period below it."""
    result: WhatIf | None = None
    what_if_error = ""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            current = guarded.agreement_draft(session, who, agreement_id, draft_id)
            if period:
                try:
                    result = guarded.what_if(session, who, draft_id=draft_id, period=period)
                except (BadInput, NotFound) as exc:
                    what_if_error = str(exc)
    except ServiceError as exc:
        return error_page(request, exc)
    return _editor(request, who, data, agreement=current["agreement"], draft=current,
                   text=current["draft"].text, issues=None, note=note, period=period,
                   what_if=_what_if_view(result) if result else None, what_if_error=what_if_error)


@router.post("/agreements/{agreement_id}/drafts/{draft_id}/activate", response_class=HTMLResponse)
def activate(request: Request, agreement_id: str, draft_id: int, csrf_token: CsrfField = "") -> Response:
    """Apply the draft as the agreement's version (the configuration loader's path)."""
    try:
        who, _ = posted(request, csrf_token)
        with app_state(request).workspace.unit_of_work() as session:
            current = guarded.agreement_draft(session, who, agreement_id, draft_id)["draft"]
            guarded.activate_draft(session, who, draft_id=draft_id)
            version = current.version
    except ServiceError as exc:
        return error_page(request, exc)
    note = (f"Draft {draft_id} activated as version {version}. Statements already calculated keep their "
            "version until their period is settled again; finalized ones never change.")
    return redirect(f"/agreements/{agreement_id}", note)


@router.post("/agreements/{agreement_id}/drafts/{draft_id}/discard", response_class=HTMLResponse)
def discard(request: Request, agreement_id: str, draft_id: int, csrf_token: CsrfField = "") -> Response:
    """Close the draft without applying it (it stays listed, for the record)."""
    try:
        who, _ = posted(request, csrf_token)
        with app_state(request).workspace.unit_of_work() as session:
            guarded.agreement_draft(session, who, agreement_id, draft_id)
            guarded.discard_draft(session, who, draft_id=draft_id)
    except ServiceError as exc:
        return error_page(request, exc)
    return redirect(f"/agreements/{agreement_id}", f"Draft {draft_id} discarded.")


# --- views ----------------------------------------------------------------------------------


def _editor(request: Request, who: Any, data: Any, *, agreement: Any, draft: dict[str, Any] | None, text: str,
            issues: list[Any] | None, **ctx: Any) -> Response:
    row = draft["draft"] if draft else None
    editable = who.can(Permission.CONFIG_WRITE) and (row is None or row.status == DRAFT)
    return render(request, "agreement_draft.html", who, data, agreement=agreement,
                  draft=_draft_view(row) if row else None, periods=draft["periods"] if draft else [],
                  text=text, issues=_issue_views(text, issues or []), editable=editable,
                  rows=max(18, min(48, text.count("\n") + 2)), **ctx)


def _issue_views(text: str, issues: list[Any]) -> list[dict[str, Any]]:
    """Each problem with the lines of the text around it, the refused line marked."""
    lines = text.split("\n")
    out = []
    for n, issue in enumerate(issues, start=1):
        excerpt = []
        if issue.line is not None:
            lo, hi = max(1, issue.line - CONTEXT), min(len(lines), issue.line + CONTEXT)
            excerpt = [(i, lines[i - 1], i == issue.line) for i in range(lo, hi + 1)]
        out.append({"n": n, "path": issue.path or "(document)", "message": issue.message,
                    "line": issue.line, "excerpt": excerpt})
    return out


def _draft_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "version": row.version, "status": row.status, "author": row.author,
        "created": row.created_at.strftime("%Y-%m-%d %H:%M"), "updated_by": row.updated_by,
        "updated": row.updated_at.strftime("%Y-%m-%d %H:%M"), "closed_by": row.closed_by,
        "closed": row.closed_at.strftime("%Y-%m-%d %H:%M") if row.closed_at else "",
        "fingerprint": row.fingerprint[:12],
    }


def _opt(value: Decimal | None) -> str:
    return "–" if value is None else decimal_text(value)


def _version_view(v: AgreementVersion, used: bool, created: str) -> dict[str, Any]:
    """A version's terms as text, in the file's words."""
    terms = [
        ("currency", v.currency), ("time zone", v.timezone),
        ("cycle", v.cycle.value + (f" from {v.cycle_anchor.isoformat()}" if v.cycle_anchor else "")),
        ("basis", v.basis.value), ("base", v.base.value + (" incl. tax" if v.include_tax else "")),
        ("prorate", "yes" if v.prorate else "no"), ("FX date", v.fx_date.value),
        ("require rule", "yes" if v.require_rule else "no"),
        ("excluded services", ", ".join(sorted(v.exclude_services)) or "none"),
        ("cap", _opt(v.cap)), ("floor", _opt(v.floor)),
        ("fees", ", ".join(f"{f.id} {decimal_text(f.percent)} of earned" if f.percent is not None
                           else f"{f.id} {_opt(f.fixed)} fixed" for f in v.fees) or "none"),
        ("clawback", f"share {decimal_text(v.clawback.share)}, window "
                     + (f"{v.clawback.window_days} days" if v.clawback.window_days is not None else "none")),
        ("rounding", f"{v.rounding.mode.value}, {v.rounding.level.value} level"),
    ]
    rules = [
        {"id": r.id, "rate": decimal_text(r.rate),
         "match": "; ".join(f"{k} in {', '.join(sorted(vals))}" for k, vals in sorted(r.match.items()))
         or "every line",
         "window": (f"{r.valid_from.isoformat() if r.valid_from else '…'} to "
                    f"{r.valid_to.isoformat() if r.valid_to else '…'}")
         if r.valid_from or r.valid_to else "always"}
        for r in v.rules
    ]
    tiers = None
    if v.tiers is not None:
        tiers = {"method": v.tiers.method.value,
                 "bands": [(decimal_text(b.start), decimal_text(b.uplift)) for b in v.tiers.bands]}
    return {"version": v.version, "effective_from": v.effective_from.isoformat(), "used": used,
            "created": created, "terms": terms, "rules": rules, "tiers": tiers}


def _signed(amount: Decimal, currency: str) -> str:
    text = format_money(amount, currency)
    return f"+{text}" if amount > 0 else text


def _what_if_view(result: WhatIf) -> dict[str, Any]:
    """The what-if with every amount formatted in its statement's currency."""
    rows = []
    for row in result.rows:
        cur = row.currency
        figures = [
            {"name": f.name.replace("_", " "),
             "before": format_money(f.before, cur) if f.before is not None else "–",
             "after": format_money(f.after, cur) if f.after is not None else "–",
             "difference": _signed(f.difference, cur),
             "sign": "up" if f.difference > 0 else "down" if f.difference < 0 else "same",
             "total": f.name == "payable"}
            for f in row.figures
        ]
        sample = [{"line": c.line_id, "role": c.role, "rule_before": c.rule_before or "–",
                   "rule_after": c.rule_after or "–", "rate_before": _opt(c.rate_before),
                   "rate_after": _opt(c.rate_after)} for c in row.sample]
        rows.append({"partner": row.partner_id, "agreement": row.agreement_id, "currency": cur,
                     "statement_id": row.statement_id, "status": row.status or "none stored",
                     "version_before": row.version_before, "version_after": row.version_after,
                     "finalized": row.finalized, "figures": figures, "lines_changed": row.lines_changed,
                     "sample": sample, "payable_difference": _signed(row.figure("payable").difference, cur)})
    return {"period": result.period, "governs": result.governs, "version": result.draft_version,
            "agreement": result.agreement_id, "partner": result.partner_id, "rows": rows}
