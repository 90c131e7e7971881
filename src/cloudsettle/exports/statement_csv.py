"""The statement as one CSV table whose ``amount`` column adds up to the payable.

One row per statement line (``kind`` = ``line``: its commission or clawback
plus its tier uplift), then one row per other part of the payable:
``cap_adjustment``, ``fees``, each ``manual_adjustment``, each
``prior_period_adjustment`` (with the period it corrects), ``carried_in`` and
``carried_out`` (deducted, so negative). ``fx_rate`` and ``finding`` rows
carry no amount. So ``Σ amount = payable`` to the cent, and a finance team can
filter on ``kind``. Column names are stable English keys whatever ``--lang``
says: the CSV is for machines (docs/statements.md lists them).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from cloudsettle.core.money import D, format_money
from cloudsettle.exports.statement_data import StatementData, line_amount

COLUMNS: Final[tuple[str, ...]] = (
    "kind",
    "partner",
    "agreement",
    "period",
    "currency",
    "line_id",
    "role",
    "provider",
    "account_id",
    "customer",
    "service_category",
    "service",
    "charge_start",
    "revision",
    "deal",
    "fraction",
    "base",
    "rate",
    "rule",
    "line_currency",
    "fx_rate",
    "fx_date",
    "commission",
    "clawback",
    "tier_uplift",
    "amount",
    "corrects_period",
    "reasons",
    "original_line_id",
    "source_file",
    "source_row",
    "note",
)


def rows(data: StatementData) -> Iterator[dict[str, str]]:
    """The CSV rows as dicts of :data:`COLUMNS` (missing keys are empty cells)."""
    doc = data.doc
    cur = data.currency
    comps = doc["components"]
    head = {
        "partner": doc["partner"], "agreement": doc["agreement"], "period": doc["period"], "currency": cur
    }
    for line, src in data.lines_with_sources():
        amount = line_amount(line) + D(line["tier_uplift"])
        yield {
            **head,
            "kind": "line",
            "line_id": line["line_id"],
            "role": line["role"],
            "provider": line["provider"],
            "account_id": line["account_id"] or "",
            "customer": src.customer,
            "service_category": src.service_category,
            "service": line["service"] or "",
            "charge_start": line["charge_start"] or "",
            "revision": str(line["revision"]),
            "deal": line["deal"] or "",
            "fraction": line["fraction"] or "",
            "base": line["base"],
            "rate": line["rate"],
            "rule": line["rule"] or "",
            "line_currency": src.currency,
            "fx_rate": line["fx_rate"] or "",
            "commission": line.get("commission", ""),
            "clawback": line.get("clawback", ""),
            "tier_uplift": line["tier_uplift"],
            "amount": format_money(amount, cur),
            "reasons": ";".join(line["reasons"]),
            "original_line_id": line["original_line_id"] or "",
            "source_file": src.source_file,
            "source_row": "" if src.source_row is None else str(src.source_row),
        }
    yield {**head, "kind": "cap_adjustment", "amount": comps["cap_adjustment"]}
    yield {**head, "kind": "fees", "amount": comps["fees"]}
    for a in doc["adjustments"]:
        yield {
            **head,
            "kind": "manual_adjustment",
            "amount": a["amount"],
            "note": f"#{a['id']} by {a['created_by']}: {a['reason']}",
        }
    for p in doc["prior_period_adjustments"]:
        yield {
            **head,
            "kind": "prior_period_adjustment",
            "amount": p["amount"],
            "corrects_period": p["corrects_period"],
            "note": (
                f"recomputed {p['earned_recomputed']} - finalized {p['earned_finalized']} "
                f"- already adjusted {p['already_adjusted']}"
            ),
        }
    yield {**head, "kind": "carried_in", "amount": comps["carried_in"]}
    yield {**head, "kind": "carried_out", "amount": format_money(-D(comps["carried_out"]), cur)}
    for fx in data.fx:
        yield {
            **head,
            "kind": "fx_rate",
            "line_currency": fx.from_currency,
            "fx_rate": str(fx.rate),
            "fx_date": fx.day.isoformat() if fx.day else "",
            "base": format_money(fx.base, cur),
            "note": f"{fx.lines} lines",
        }
    for e in doc["exceptions"]:
        yield {
            **head, "kind": "finding", "line_id": e["line_id"] or "", "reasons": e["kind"],
            "note": e["message"],
        }


def write_csv(data: StatementData, stream: IO[str]) -> None:
    """Write the statement CSV to a text stream (opened with ``newline=""``)."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows(data):
        writer.writerow(row)


def render_csv(data: StatementData, output: Path) -> Path:
    """Write the statement CSV to ``output`` (UTF-8 with a BOM, so Excel reads Chinese names)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8-sig", newline="") as stream:
        write_csv(data, stream)
    return output


def read_lines(stream: IO[str]) -> list[dict[str, Any]]:
    """The ``line`` rows of a statement CSV, as written (the tests read exports back with it)."""
    return [r for r in csv.DictReader(stream) if r["kind"] == "line"]
