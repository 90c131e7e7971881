"""The statement as an Excel workbook: a summary sheet, a lines sheet, an explanation sheet.

Amounts are numeric cells with the currency's number format (``#,##0.00
"CNY"``; JPY has no decimals), never text, so a finance team can sum and
pivot them as they are. The package hands openpyxl exact ``Decimal`` values;
the file stores them as Excel numbers (IEEE doubles), which hold every amount
below 10^13 with cents exactly.

The workbook is written in openpyxl's write-only mode: rows stream to the file
and memory does not grow with the number of lines (figures for 100,000 lines in
docs/statements.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from cloudsettle.core.agreements import Rule
from cloudsettle.core.money import D, minor_unit
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.exports.labels import Labels, labels
from cloudsettle.exports.statement_data import StatementData, line_amount

RATE_FORMAT = "0.00######"
_HEAD_FILL = PatternFill("solid", fgColor="1F3A5F")
_HEAD_FONT = Font(bold=True, color="FFFFFF")
_TITLE_FONT = Font(bold=True, size=16, color="1F3A5F")
_SECTION_FONT = Font(bold=True, size=12, color="1F3A5F")
_BOLD = Font(bold=True)
_TOP = Border(top=Side(style="thin", color="1F3A5F"))


def money_format(currency: str) -> str:
    """Excel's number format for amounts in ``currency`` (``#,##0.00 "CNY"``)."""
    decimals = minor_unit(currency)
    number = "#,##0" + ("." + "0" * decimals if decimals else "")
    return f'{number} "{currency}";-{number} "{currency}"'


class _Sheet:
    """A write-only sheet with small helpers for styled cells."""

    def __init__(self, ws: Any, currency: str) -> None:
        self.ws = ws  # a write-only worksheet; openpyxl's stubs lack its column_dimensions and auto_filter
        self.money = money_format(currency)

    def cell(
        self,
        value: Any,
        *,
        fmt: str | None = None,
        font: Font | None = None,
        fill: PatternFill | None = None,
        border: Border | None = None,
    ) -> Cell:
        c = WriteOnlyCell(self.ws, value=value)
        if fmt:
            c.number_format = fmt
        if font:
            c.font = font
        if fill:
            c.fill = fill
        if border:
            c.border = border
        return c

    def amount(self, value: Decimal | str, *, font: Font | None = None, border: Border | None = None) -> Any:
        number = D(value) if isinstance(value, str) else value
        return self.cell(number, fmt=self.money, font=font, border=border)

    def head(self, names: Iterable[str]) -> None:
        self.ws.append([self.cell(n, font=_HEAD_FONT, fill=_HEAD_FILL) for n in names])

    def section(self, title: str) -> None:
        self.ws.append([])
        self.ws.append([self.cell(title, font=_SECTION_FONT)])

    def widths(self, widths: Sequence[float]) -> None:
        for i, w in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = w


def render_xlsx(data: StatementData, output: Path, lang: str = "en") -> Path:
    """Write the statement workbook to ``output`` in ``lang`` (``en`` or ``zh``)."""
    lb = labels(lang)
    wb = Workbook(write_only=True)
    _summary(_Sheet(wb.create_sheet(lb["summary_sheet"]), data.currency), data, lb)
    _lines(_Sheet(wb.create_sheet(lb["lines_sheet"]), data.currency), data, lb)
    _explanation(_Sheet(wb.create_sheet(lb["explanation_sheet"]), data.currency), data, lb)
    output.parent.mkdir(parents=True, exist_ok=True)
    wb.save(output)
    return output


def _summary(s: _Sheet, data: StatementData, lb: Labels) -> None:
    doc = data.doc
    s.widths([34, 22, 24, 14, 10, 18, 18, 18, 18, 18])
    s.ws.append([s.cell(lb["title"], font=_TITLE_FONT)])
    for key, value in (
        ("partner", f"{data.partner_name} ({doc['partner']})"),
        ("agreement", doc["agreement"]),
        ("agreement_version", doc["agreement_version"]),
        ("period", doc["period"]),
        ("period_dates", f"{doc['period_start']} – {doc['period_end']}"),
        ("currency", doc["currency"]),
        ("status", lb.of_status(doc["status"])),
        ("prepared_by", doc.get("prepared_by") or ""),
        ("approved_by", doc.get("approved_by") or ""),
        ("finalized_by", doc.get("finalized_by") or ""),
    ):
        s.ws.append([s.cell(lb[key], font=_BOLD), value])
    s.section(lb["components"])
    s.head([lb["component"], lb["amount"]])
    for name in COMPONENT_NAMES:
        value = doc["components"][name]
        if name == "payable":
            s.ws.append([
                s.cell(lb.of_component(name), font=_BOLD, border=_TOP),
                s.amount(value, font=_BOLD, border=_TOP),
            ])
        else:
            s.ws.append([lb.of_component(name), s.amount(value)])
    s.ws.append([])
    s.ws.append([lb["base_total"], s.amount(doc["base_total"])])
    s.ws.append([lb["billed_total"], s.amount(doc["billed_total"])])

    s.section(lb["by_group"])
    s.head([
        lb["service_category"], lb["customer"], lb["account"], lb["provider"], lb["lines"],
        lb["base"], lb["commission"], lb["clawback"], lb["tier_uplift"], lb["total"],
    ])
    zero = D("0")
    count = 0
    totals = [zero, zero, zero, zero, zero]
    for g in data.groups:
        s.ws.append([
            g.service_category, g.customer, g.account_id, g.provider, g.lines,
            s.amount(g.base), s.amount(g.commission), s.amount(g.clawback), s.amount(g.tier_uplift),
            s.amount(g.total),
        ])
        count += g.lines
        for i, v in enumerate((g.base, g.commission, g.clawback, g.tier_uplift, g.total)):
            totals[i] += v
    s.ws.append([
        s.cell(lb["total"], font=_BOLD, border=_TOP), s.cell("", border=_TOP), s.cell("", border=_TOP),
        s.cell("", border=_TOP), s.cell(count, font=_BOLD, border=_TOP),
        *(s.amount(v, font=_BOLD, border=_TOP) for v in totals),
    ])

    s.section(lb["ppa"])
    if doc["prior_period_adjustments"]:
        s.head([lb["corrects_period"], lb["earned_finalized"], lb["earned_recomputed"],
                lb["already_adjusted"], lb["amount"]])
        for p in doc["prior_period_adjustments"]:
            s.ws.append([
                p["corrects_period"], s.amount(p["earned_finalized"]), s.amount(p["earned_recomputed"]),
                s.amount(p["already_adjusted"]), s.amount(p["amount"]),
            ])
    else:
        s.ws.append([lb["none"]])

    s.section(lb["manual_adjustments"])
    if doc["adjustments"]:
        s.head(["#", lb["reason"], lb["by"], "", "", lb["amount"]])
        for a in doc["adjustments"]:
            s.ws.append([a["id"], a["reason"], a["created_by"], None, None, s.amount(a["amount"])])
    else:
        s.ws.append([lb["none"]])

    s.section(lb["carry_forward"])
    s.ws.append([lb["carried_in_note"], s.amount(doc["components"]["carried_in"])])
    s.ws.append([lb["carried_out_note"], s.amount(doc["components"]["carried_out"])])


_LINE_COLUMNS = (
    ("line_id", 24), ("role", 12), ("provider", 10), ("account", 22), ("customer", 24),
    ("service_category", 16), ("service", 14), ("charge_date", 12), ("revision", 9), ("deal", 10),
    ("fraction", 10), ("base", 18), ("rate", 9), ("rule", 14), ("line_currency", 9), ("fx_rate", 11),
    ("commission", 16), ("clawback", 16), ("tier_uplift", 16), ("total", 16), ("reasons", 18),
    ("original_line", 22), ("source_file", 28), ("source_row", 10),
)


def _lines(s: _Sheet, data: StatementData, lb: Labels) -> None:
    s.widths([w for _, w in _LINE_COLUMNS])
    s.ws.freeze_panes = "B2"
    count = len(data.doc["lines"])
    s.ws.auto_filter.ref = f"A1:{get_column_letter(len(_LINE_COLUMNS))}{count + 1}"
    s.head([lb[k] for k, _ in _LINE_COLUMNS])
    ws = s.ws
    # One styled cell per numeric column, reused row after row: a write-only sheet serializes
    # each row on append, so this is safe and saves building 700,000 styled cells for 100,000 lines.
    fraction, rate, fx_rate = (s.cell(None, fmt=RATE_FORMAT) for _ in range(3))
    base, commission, clawback, uplift, total = (s.cell(None, fmt=s.money) for _ in range(5))
    roles = {r: lb.of_role(r) for r in ("commission", "clawback")}
    for line, src in data.lines_with_sources():
        fraction.value = _dec(line["fraction"])
        base.value = D(line["base"])
        rate.value = D(line["rate"])
        fx_rate.value = _dec(line["fx_rate"])
        commission.value = _dec(line.get("commission"))
        clawback.value = _dec(line.get("clawback"))
        uplift_value = D(line["tier_uplift"])
        uplift.value = uplift_value
        total.value = line_amount(line) + uplift_value
        ws.append([
            line["line_id"],
            roles.get(line["role"], line["role"]),
            line["provider"],
            line["account_id"],
            src.customer,
            src.service_category,
            line["service"],
            line["charge_start"],
            line["revision"],
            line["deal"],
            fraction,
            base,
            rate,
            line["rule"],
            src.currency,
            fx_rate,
            commission,
            clawback,
            uplift,
            total,
            ",".join(line["reasons"]),
            line["original_line_id"],
            src.source_file,
            src.source_row,
        ])


def _dec(text: str | None) -> Decimal | None:
    """The document's exact text as a Decimal; None stays an empty cell."""
    return None if text is None else D(text)


def _explanation(s: _Sheet, data: StatementData, lb: Labels) -> None:
    doc = data.doc
    s.widths([30, 20, 70, 16, 16, 16])
    s.ws.append([s.cell(lb["explanation_sheet"], font=_TITLE_FONT)])
    s.section(lb["components"])
    s.head([lb["component"], lb["amount"], lb["formula"]])
    for name in COMPONENT_NAMES:
        s.ws.append([lb.of_component(name), s.amount(doc["components"][name]), lb.of_formula(name)])

    s.section(lb["terms"])
    v = data.version
    if v is not None:
        for key, value in (
            ("agreement_version", f"{v.version} (from {v.effective_from.isoformat()})"),
            ("currency", v.currency),
            ("mode", data.agreement_mode),
        ):
            s.ws.append([lb[key], value])
        s.ws.append(["basis / base", f"{v.basis.value} / {v.base.value}{' + tax' if v.include_tax else ''}"])
        rounding = f"{v.rounding.mode.value} ({v.rounding.level.value})"
        s.ws.append(["timezone / rounding", f"{v.timezone} / {rounding}"])
        s.ws.append(["fx_date", v.fx_date.value])
        if data.version_fingerprint:
            s.ws.append(["fingerprint (sha256)", data.version_fingerprint])
        s.head([lb["rule"], lb["rate"], "match"])
        for r in v.rules:
            s.ws.append([r.id, s.cell(r.rate, fmt=RATE_FORMAT), _rule_match(r)])

    s.section(lb["fx_rates"])
    if data.fx:
        s.head([lb["fx_date"], lb["from_currency"], lb["to_currency"], lb["fx_rate"], lb["lines"],
                lb["base_converted"]])
        for fx in data.fx:
            s.ws.append([
                fx.day.isoformat() if fx.day else "", fx.from_currency, fx.to_currency,
                s.cell(fx.rate, fmt=RATE_FORMAT), fx.lines, s.amount(fx.base),
            ])
    else:
        s.ws.append([lb["none"]])

    s.section(lb["findings"])
    if doc["exceptions"]:
        s.head([lb["kind"], lb["line"], lb["message"]])
        for e in doc["exceptions"]:
            s.ws.append([e["kind"], e["line_id"] or "", e["message"]])
    else:
        s.ws.append([lb["no_findings"]])

    s.section(lb["source_file"])
    s.head([lb["source_file"], lb["provider"], "sha256", lb["lines"]])
    for f in data.files:
        s.ws.append([f.file_name, f.provider, f.sha256, f.lines])


def _rule_match(rule: Rule) -> str:
    """A rule's match conditions in one line (``service_category=Compute``), ``*`` for any."""
    parts = [f"{name}={','.join(sorted(values))}" for name, values in sorted(rule.match.items())]
    window = ""
    if rule.valid_from or rule.valid_to:
        start = rule.valid_from.isoformat() if rule.valid_from else "…"
        end = rule.valid_to.isoformat() if rule.valid_to else "…"
        window = f" [{start}, {end})"
    return ("; ".join(parts) or "*") + window
