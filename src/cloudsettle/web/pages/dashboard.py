"""The dashboard: where each period stands per partner, the chosen period's totals, the
trends of the last periods as SVG charts, cases, validation failure rates and the
freshness of each source.

The figures come from :func:`cloudsettle.services.guarded.dashboard` (their meaning is
in :mod:`cloudsettle.services.dashboard_service` and ``docs/ui.md``); this module only
turns them into charts (:mod:`cloudsettle.web.charts`) and a page.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.core.money import format_money
from cloudsettle.services import guarded
from cloudsettle.services.dashboard_service import RECENT_BATCHES, STAGE_LABELS, STAGES, Dashboard, Trend
from cloudsettle.services.errors import ServiceError
from cloudsettle.web.charts import Chart, bar_chart, line_chart
from cloudsettle.web.common import error_page, render, who_is

router = APIRouter()


def trend_charts(trend: Trend, *, margin: bool) -> list[Chart]:
    """The charts of one currency: commission, clawbacks, refunds and (internal) margin."""
    labels = [p.period for p in trend.points]
    cur = trend.currency
    charts = [
        line_chart("Commission", cur, labels, [("Commission", trend.series("commission"))]),
        bar_chart("Clawbacks", cur, labels, [("Clawbacks", trend.series("clawback"))]),
        bar_chart("Refunds", cur, labels, [("Refunds", trend.series("refunds"))]),
    ]
    if margin:
        charts.append(bar_chart("Margin", cur, labels, [
            ("Provider rebate", trend.series("rebate")),
            ("Partner cost", trend.series("partner_cost")),
            ("Margin", trend.series("margin")),
        ]))
    return charts


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, period: str | None = None) -> Response:
    """The dashboard of ``period`` (default: the newest)."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            board: Dashboard = guarded.dashboard(session, who, period=period, now=datetime.now(UTC))
    except ServiceError as exc:
        return error_page(request, exc)
    charts = [(t.currency, trend_charts(t, margin=board.margin)) for t in board.trends]
    stale = sum(1 for f in board.freshness or () if f.stale)
    return render(
        request, "dashboard.html", who, data, board=board, charts=charts, stages=STAGES,
        stage_labels=STAGE_LABELS, stale=stale, open_findings=board.open_findings, money=format_money,
        recent=RECENT_BATCHES,
    )
