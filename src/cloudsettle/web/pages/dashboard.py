"""The dashboard: where each period stands, per partner."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.core.money import format_money
from cloudsettle.services import guarded
from cloudsettle.services.access import Permission
from cloudsettle.services.errors import ServiceError
from cloudsettle.web.common import ALL, error_page, render, who_is

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    """Per period and partner: statement status counts and payable totals; open findings."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            rows, _ = guarded.statements(session, who, ALL)
            open_findings: int | None = None
            if who.can(Permission.DATA_READ):
                _, open_findings = guarded.findings(session, who, guarded.Page(0, 1), status="open")
            groups: dict[tuple[str, str, str], dict[str, Any]] = {}
            for s in rows:
                key = (s.period, s.partner_id, s.currency)
                g = groups.setdefault(key, {"statuses": defaultdict(int), "payable": Decimal(0), "count": 0})
                g["statuses"][s.status] += 1
                g["payable"] += s.payable
                g["count"] += 1
            summary = [
                {
                    "period": period,
                    "partner": partner,
                    "count": g["count"],
                    "statuses": dict(sorted(g["statuses"].items())),
                    "payable": format_money(g["payable"], cur),
                    "currency": cur,
                }
                for (period, partner, cur), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))
            ]
            summary.sort(key=lambda r: r["period"], reverse=True)
            periods = sorted({r["period"] for r in summary}, reverse=True)
    except ServiceError as exc:
        return error_page(request, exc)
    return render(
        request, "dashboard.html", who, data, summary=summary, periods=periods, open_findings=open_findings
    )
