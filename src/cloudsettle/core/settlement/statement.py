"""One statement, steps 1 to 11 in order: the reference engine's main function.

``settle_statement`` reads a :class:`MappedBook` and returns the statement of one
agreement (and so one partner) for one period, or None when the spec says no
statement exists. Every amount stays exact until step 10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext

from cloudsettle.core.agreements import Agreement, AgreementVersion, Rounding, RoundingLevel
from cloudsettle.core.deals import LinePart
from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import EXACT, ZERO, allocate_largest_remainder, round_money
from cloudsettle.core.parties import Partner, Verification
from cloudsettle.core.periods import Period
from cloudsettle.core.settlement.adjustments import manual_total
from cloudsettle.core.settlement.base import counts, line_base
from cloudsettle.core.settlement.book import MappedBook
from cloudsettle.core.settlement.cap import cap_adjustment
from cloudsettle.core.settlement.carry_forward import carry_forward
from cloudsettle.core.settlement.clawback import RefundKind, clawback_rate, within_window
from cloudsettle.core.settlement.fees import fees_total
from cloudsettle.core.settlement.model import (
    Components,
    History,
    LineRole,
    ManualAdjustment,
    Reason,
    Statement,
    StatementLine,
)
from cloudsettle.core.settlement.rate import RatedSegment, effective_rate, rate_part
from cloudsettle.core.settlement.rounding import shown_amounts
from cloudsettle.core.settlement.select import Membership, charge_date, line_period, membership
from cloudsettle.core.settlement.tiers import attribute_uplift, tier_uplift


@dataclass
class _Draft:
    """Lines and findings gathered while the steps run (private scratch space)."""

    lines: list[StatementLine] = field(default_factory=list)
    in_measure: list[bool] = field(default_factory=list)
    billed: list[Decimal] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def add(self, line: StatementLine, *, measured: bool, billed: Decimal = ZERO) -> None:
        self.lines.append(line)
        self.in_measure.append(measured)
        self.billed.append(billed if measured else ZERO)


class _Context:
    """The fixed inputs of one statement, with the lookups every step needs."""

    def __init__(self, book: MappedBook, agreement: Agreement, version: AgreementVersion,
                 period: Period) -> None:
        self.book = book
        self.agreement = agreement
        self.version = version
        self.period = period

    def is_ours(self, part: LinePart) -> bool:
        """Whether the part's deal is one of this statement's (its agreement's) deals."""
        return part.deal is not None and part.deal.agreement_id == self.agreement.id

    def selected(self, part: LinePart) -> bool:
        """Step 1: the part is ours, takes part at all, and falls in the period."""
        return (self.is_ours(part) and counts(part.line, self.version)
                and membership(part.line, self.version, self.period) is Membership.IN)

    def rate_segments(self, part: LinePart, version: AgreementVersion | None = None) -> list[RatedSegment]:
        """Step 3 for a part under this (or another) version of the agreement."""
        return rate_part(part, version or self.version, self.book.segment_of(part.line))

    def original_rate(self, original: BillingLine) -> tuple[Decimal, str | None]:
        """The rate step 3 gave the original's parts paid under this agreement, per
        unit of the original line, rated by the version that governed its period."""
        governing = self.agreement.version_for(line_period(original, self.version)) or self.version
        segments = [
            seg for p in self.book.parts_by_line[(original.provider, original.line_id)]
            if self.is_ours(p) for seg in self.rate_segments(p, governing)
        ]
        rule = next((s.rule.id for s in segments if s.rule), None)
        return effective_rate(segments), rule


def settle_statement(
    book: MappedBook,
    *,
    agreement_id: str,
    period: Period,
    version: AgreementVersion | None = None,
    history: History | None = None,
    adjustments: Sequence[ManualAdjustment] = (),
) -> Statement | None:
    """Compute one agreement's statement for ``period`` (spec steps 1–11).

    ``version`` defaults to the one governing the period (recomputing a finalized
    statement passes the version that governed it). Returns None when no version
    governs the period or when nothing makes the statement exist.
    """
    with localcontext(EXACT):  # 60 digits: no product of the steps is ever rounded early
        return _settle(book, agreement_id, period, version, history, adjustments)


def _settle(book: MappedBook, agreement_id: str, period: Period, version: AgreementVersion | None,
            history: History | None, adjustments: Sequence[ManualAdjustment]) -> Statement | None:
    agreement = book.agreement(agreement_id)
    version = version or agreement.version_for(period)
    if version is None:
        return None
    history = history or History()
    ctx = _Context(book, agreement, version, period)
    draft = _Draft()
    selected_any = _select_and_rate(ctx, draft)
    clawed_here = _clawbacks_from_elsewhere(ctx, draft)
    exists = (selected_any or clawed_here or bool(adjustments)
              or bool(history.prior_period_adjustments) or history.carried_in != 0)
    if not exists:
        return None
    return _finish(ctx, draft, history, adjustments)


def _select_and_rate(ctx: _Context, draft: _Draft) -> bool:
    """Steps 1–3 and the refunds of step 5 that are selected on this statement."""
    version, period = ctx.version, ctx.period
    any_selected = False
    for part in ctx.book.parts:
        if not ctx.is_ours(part) or not counts(part.line, version):
            continue
        where = membership(part.line, version, period)
        if where is Membership.DEFERRED:
            b = line_base(part.line, version, period, ctx.book.book.fx, part.fraction)
            draft.add(_statement_line(part, LineRole.DEFERRED, b.base, b.fx_rate, None, ZERO,
                                      (Reason.DEFERRED,)), measured=False)
            continue
        if where is Membership.OUT:
            continue
        any_selected = True
        whole = line_base(part.line, version, period, ctx.book.book.fx, part.fraction)
        kind = _refund_kind(ctx, part, whole.base)
        if kind is RefundKind.NOT_A_REFUND or kind is RefundKind.UNLINKED:
            _rate_normally(ctx, draft, part, unlinked=kind is RefundKind.UNLINKED)
        elif kind is RefundKind.SAME_STATEMENT:
            original = ctx.book.original_of(part.line)
            assert original is not None  # _refund_kind found it
            rate, rule = _rate_in_statement(ctx, original)
            draft.add(_statement_line(part, LineRole.COMMISSION, whole.base, whole.fx_rate, rule,
                                      rate, (Reason.SAME_PERIOD_REFUND,)),
                      measured=True, billed=whole.billed)
        elif kind is RefundKind.CLAWBACK_HERE:
            _add_clawback(ctx, draft, part, measured=True)
        else:
            reason = (Reason.CLAWBACK_ELSEWHERE if kind is RefundKind.CLAWBACK_ELSEWHERE
                      else Reason.ORIGINAL_NOT_PAID)
            draft.add(_statement_line(part, LineRole.COMMISSION, ZERO, whole.fx_rate, None, ZERO,
                                      (reason,)), measured=False)
    return any_selected


def _refund_kind(ctx: _Context, part: LinePart, base: Decimal) -> RefundKind:
    """Step 5's classification of a selected line."""
    line = part.line
    if base >= 0 or line.original_line_id is None:
        return RefundKind.NOT_A_REFUND
    original = ctx.book.original_of(line)
    if original is None:
        return RefundKind.UNLINKED
    original_parts = ctx.book.parts_by_line[(original.provider, original.line_id)]
    if any(ctx.selected(p) for p in original_parts):
        return RefundKind.SAME_STATEMENT
    if any(ctx.is_ours(p) for p in original_parts):
        return RefundKind.CLAWBACK_HERE
    if any(p.deal is not None for p in original_parts):
        return RefundKind.CLAWBACK_ELSEWHERE
    return RefundKind.ORIGINAL_NOT_PAID


def _rate_in_statement(ctx: _Context, original: BillingLine) -> tuple[Decimal, str | None]:
    """The original's rate on this very statement, per unit of its selected share."""
    parts = [p for p in ctx.book.parts_by_line[(original.provider, original.line_id)] if ctx.selected(p)]
    segments = [s for p in parts for s in ctx.rate_segments(p)]
    share = sum((p.fraction for p in parts), ZERO)
    rule = next((s.rule.id for s in segments if s.rule), None)
    return effective_rate(segments) / share, rule


def _rate_normally(ctx: _Context, draft: _Draft, part: LinePart, *, unlinked: bool) -> None:
    """Steps 2–3 for an ordinary line (or an unlinked refund): one statement line per
    rated segment."""
    version = ctx.version
    for seg in ctx.rate_segments(part):
        b = line_base(part.line, version, ctx.period, ctx.book.book.fx, seg.fraction)
        reasons = list(b.reasons)
        if seg.rule is None:
            reasons.append(Reason.NO_RULE)
            if version.require_rule:
                draft.findings.append(no_rule_finding(ctx.agreement, version, part.line))
        if seg.fraction != 1:
            reasons.append(Reason.PRORATED)
        if unlinked:
            reasons.append(Reason.UNLINKED_REFUND)
            draft.findings.append(unlinked_refund_finding(ctx.agreement, part.line))
        if b.missing_fx:
            draft.findings.append(_missing_fx(ctx, part.line))
        rule_id = seg.rule.id if seg.rule else None
        draft.add(
            _statement_line(part, LineRole.COMMISSION, b.base, b.fx_rate, rule_id, seg.rate,
                            tuple(reasons), fraction=seg.fraction),
            measured=not b.missing_fx, billed=b.billed,
        )


def _add_clawback(ctx: _Context, draft: _Draft, part: LinePart, *, measured: bool) -> None:
    """A clawback line: ``share × base × original_rate`` inside the window, else nothing."""
    original = ctx.book.original_of(part.line)
    assert original is not None
    b = line_base(part.line, ctx.version, ctx.period, ctx.book.book.fx, part.fraction)
    original_rate, rule = ctx.original_rate(original)
    rate = clawback_rate(original_rate, ctx.version.clawback)
    reasons = [Reason.CLAWBACK, *b.reasons]
    if b.missing_fx:
        draft.findings.append(_missing_fx(ctx, part.line))
    inside = within_window(charge_date(part.line, ctx.version), charge_date(original, ctx.version),
                           ctx.version.clawback)
    if not inside:
        reasons = [Reason.OUTSIDE_CLAWBACK_WINDOW, *b.reasons]
    amount = b.base * rate if inside else ZERO
    draft.add(
        _statement_line(part, LineRole.CLAWBACK, b.base, b.fx_rate, rule, rate if inside else ZERO,
                        tuple(reasons), amount=amount),
        measured=measured and not b.missing_fx, billed=b.billed,
    )


def _clawbacks_from_elsewhere(ctx: _Context, draft: _Draft) -> bool:
    """Step 5 for refunds selected on no statement of this agreement: a refund of a
    line this agreement paid lands here whichever deal the customer is under now."""
    found = False
    for part in ctx.book.parts:
        line = part.line
        if (ctx.is_ours(part) or line.original_line_id is None or not counts(line, ctx.version)
                or membership(line, ctx.version, ctx.period) is not Membership.IN):
            continue
        original = ctx.book.original_of(line)
        if original is None:
            continue
        original_parts = ctx.book.parts_by_line[(original.provider, original.line_id)]
        if not any(ctx.is_ours(p) for p in original_parts):
            continue
        if part.deal is not None and any(
            p.deal is not None and p.deal.agreement_id == part.deal.agreement_id for p in original_parts
        ):
            continue  # the refund's own agreement also paid the original: it is settled there
        b = line_base(line, ctx.version, ctx.period, ctx.book.book.fx, part.fraction)
        if b.base >= 0 and not b.missing_fx:
            continue
        found = True
        _add_clawback(ctx, draft, part, measured=False)
    return found


def _finish(ctx: _Context, draft: _Draft, history: History,
            adjustments: Sequence[ManualAdjustment]) -> Statement:
    """Steps 4, 6–11 for the reference engine's draft."""
    return finish_statement(
        agreement=ctx.agreement, version=ctx.version, period=ctx.period,
        partner=ctx.book.book.partners.get(ctx.agreement.partner_id),
        lines=draft.lines, in_measure=draft.in_measure, billed=draft.billed, findings=draft.findings,
        history=history, adjustments=adjustments,
    )


def finish_statement(
    *,
    agreement: Agreement,
    version: AgreementVersion,
    period: Period,
    partner: Partner | None,
    lines: Sequence[StatementLine],
    in_measure: Sequence[bool],
    billed: Sequence[Decimal],
    findings: Sequence[Finding],
    history: History,
    adjustments: Sequence[ManualAdjustment] = (),
    uplift: Sequence[Decimal] | None = None,
) -> Statement:
    """Steps 4, 6–11 from the per-line results of steps 1–5, whichever engine made them.

    ``lines`` come in the order the steps produced them (the reference engine's
    walk over the book); ``in_measure`` and ``billed`` are aligned with them
    (``billed`` is 0 for a line outside the measure). ``uplift``, when given, is
    each line's attributed tier uplift (aligned with ``lines``, 0 outside the
    measure), as the bulk engine computes it with window functions; otherwise it
    is attributed here. Both engines end here, so steps 6–11 have one meaning.
    """
    with localcontext(EXACT):
        return _finish_lines(agreement, version, period, partner, lines, in_measure, billed, findings,
                             history, adjustments, uplift)


@dataclass(frozen=True, slots=True)
class LineSums:
    """What steps 4 and 6–11 need of a statement's lines, summed (the summary mode's input).

    Attributes:
      commission_exact, clawback_exact: exact sums of the commission and clawback lines.
      commission_lines, clawback_lines: sums of those lines each rounded to the minor unit
        with the version's mode (what step 10 uses at line level).
      measure: the tier measure (bases of the measured lines). billed: what they billed.
    """

    commission_exact: Decimal
    clawback_exact: Decimal
    commission_lines: Decimal
    clawback_lines: Decimal
    measure: Decimal
    billed: Decimal


def line_sums(lines: Sequence[StatementLine], in_measure: Sequence[bool], billed: Sequence[Decimal],
              version: AgreementVersion) -> LineSums:
    """:class:`LineSums` of per-line results (the reference path; the bulk engine sums in SQL)."""
    currency, mode = version.currency, version.rounding.mode
    commission = [sl.amount for sl in lines if sl.role is LineRole.COMMISSION]
    clawback = [sl.amount for sl in lines if sl.role is LineRole.CLAWBACK]
    return LineSums(
        commission_exact=sum(commission, ZERO), clawback_exact=sum(clawback, ZERO),
        commission_lines=sum((round_money(a, currency, mode) for a in commission), ZERO),
        clawback_lines=sum((round_money(a, currency, mode) for a in clawback), ZERO),
        measure=sum((sl.base for sl, m in zip(lines, in_measure, strict=True) if m), ZERO),
        billed=sum(billed, ZERO),
    )


def finish_sums(
    *,
    agreement: Agreement,
    version: AgreementVersion,
    period: Period,
    partner: Partner | None,
    sums: LineSums,
    findings: Sequence[Finding],
    history: History,
    adjustments: Sequence[ManualAdjustment] = (),
) -> Statement:
    """Steps 4 (the tier total), 6–9 and 11 from per-statement sums: the statement without its
    lines. :func:`finish_statement` is this plus the shown amounts of each line; the bulk
    engine's summary mode computes those in SQL from the components returned here."""
    with localcontext(EXACT):
        return _finish_sums(agreement, version, period, partner, sums, findings, history, adjustments)


def _finish_sums(agreement: Agreement, version: AgreementVersion, period: Period, partner: Partner | None,
                 sums: LineSums, draft_findings: Sequence[Finding], history: History,
                 adjustments: Sequence[ManualAdjustment]) -> Statement:
    currency, rounding = version.currency, version.rounding
    manual = manual_total(adjustments)

    def rnd(x: Decimal) -> Decimal:
        return round_money(x, currency, rounding.mode)

    # Step 10 at line level: a line-fed component is the sum of its rounded lines.
    line_level = rounding.level is RoundingLevel.LINE
    commission = sums.commission_lines if line_level else rnd(sums.commission_exact)
    clawback = sums.clawback_lines if line_level else rnd(sums.clawback_exact)
    uplift_exact = tier_uplift(sums.measure, version.tiers)

    # Step 6: at statement level pre is exact; at line level the line-fed parts are
    # already the sums of rounded lines (spec step 10).
    pre = (commission if line_level else sums.commission_exact) + uplift_exact + (
        clawback if line_level else sums.clawback_exact)
    cap_exact = cap_adjustment(pre, version.cap, version.floor)
    fees_exact = fees_total(version.fees, pre + cap_exact)  # step 7, on `capped`

    tier = rnd(uplift_exact)
    ppa = sum((a.amount for a in history.prior_period_adjustments), ZERO)
    parts = Components(
        commission=commission, tier_uplift=tier, clawback=clawback,
        cap_adjustment=rnd(cap_exact), fees=rnd(fees_exact), manual_adjustment=rnd(manual),
        prior_period_adjustment=rnd(ppa), carried_in=rnd(history.carried_in),
    )
    minimum = partner.minimum_payout if partner else ZERO
    payable, carried_out = carry_forward(parts.net, minimum)
    components = replace(parts, payable=payable, carried_out=carried_out)

    findings = list(dict.fromkeys(draft_findings))
    if partner is not None and partner.verification is not Verification.VERIFIED:
        findings.append(Finding(
            FindingKind.PAYEE_NOT_VERIFIED,
            f"partner {partner.id} is {partner.verification.value}: the statement cannot be paid out",
            partner_id=partner.id, agreement_id=agreement.id))
    return Statement(
        partner_id=agreement.partner_id, agreement_id=agreement.id, period=period,
        version=version, currency=currency, components=components,
        base_total=rnd(sums.measure), billed_total=rnd(sums.billed),
        manual_adjustments=tuple(adjustments),
        prior_period_adjustments=history.prior_period_adjustments, findings=tuple(findings),
        unrounded={"commission": sums.commission_exact, "clawback": sums.clawback_exact,
                   "tier_uplift": uplift_exact, "cap_adjustment": cap_exact, "fees": fees_exact,
                   "measure": sums.measure, "billed": sums.billed, "pre": pre},
    )


def _finish_lines(agreement: Agreement, version: AgreementVersion, period: Period, partner: Partner | None,
                  draft_lines: Sequence[StatementLine], draft_measured: Sequence[bool],
                  draft_billed: Sequence[Decimal], draft_findings: Sequence[Finding], history: History,
                  adjustments: Sequence[ManualAdjustment], draft_uplift: Sequence[Decimal] | None,
                  ) -> Statement:
    currency, rounding = version.currency, version.rounding
    order = sorted(range(len(draft_lines)), key=lambda i: _order_key(draft_lines[i]))
    lines = [draft_lines[i] for i in order]
    measured = [draft_measured[i] for i in order]
    sums = line_sums(lines, measured, [draft_billed[i] for i in order], version)
    statement = _finish_sums(agreement, version, period, partner, sums, draft_findings, history, adjustments)
    parts = statement.components

    commission_idx = [i for i, sl in enumerate(lines) if sl.role is LineRole.COMMISSION]
    clawback_idx = [i for i, sl in enumerate(lines) if sl.role is LineRole.CLAWBACK]
    measure_idx = [i for i, m in enumerate(measured) if m]
    lines = _show(lines, commission_idx, parts.commission, rounding, currency)
    lines = _show(lines, clawback_idx, parts.clawback, rounding, currency)
    attributed = None if draft_uplift is None else [draft_uplift[order[i]] for i in measure_idx]
    lines = _show_uplift(lines, measure_idx, parts.tier_uplift, version, currency, attributed)
    return replace(statement, lines=tuple(lines))


def _show(lines: list[StatementLine], idx: list[int], component: Decimal, rounding: Rounding,
          currency: str) -> list[StatementLine]:
    """Step 10's shown amounts for the lines feeding one component."""
    shown = shown_amounts([lines[i].amount for i in idx], component, rounding, currency)
    out = list(lines)
    for i, value in zip(idx, shown, strict=True):
        out[i] = replace(out[i], shown=value)
    return out


def _show_uplift(lines: list[StatementLine], idx: list[int], tier: Decimal,
                 version: AgreementVersion, currency: str,
                 attributed: list[Decimal] | None = None) -> list[StatementLine]:
    """Attribute the uplift to the measured lines (step 4, unless the bulk engine already
    did) and show it so it adds up."""
    exact = (attribute_uplift([lines[i].base for i in idx], version.tiers) if attributed is None
             else attributed)
    shown = allocate_largest_remainder(exact, tier, currency) if idx else []
    out = list(lines)
    for i, e, s in zip(idx, exact, shown, strict=True):
        out[i] = replace(out[i], tier_uplift=e, tier_uplift_shown=s)
    return out


def _order_key(sl: StatementLine) -> tuple[object, ...]:
    return (sl.line.charge_start, sl.line.line_id, sl.role.value, -sl.fraction, sl.rule_id or "")


def _statement_line(part: LinePart, role: LineRole, base: Decimal, fx_rate: Decimal | None,
                    rule_id: str | None, rate: Decimal, reasons: tuple[Reason, ...], *,
                    fraction: Decimal | None = None, amount: Decimal | None = None) -> StatementLine:
    return StatementLine(
        line=part.line, role=role, fraction=part.fraction if fraction is None else fraction,
        deal_id=part.deal.id if part.deal else "", base=base, fx_rate=fx_rate, rule_id=rule_id,
        rate=rate, amount=base * rate if amount is None else amount, reasons=reasons,
        original_line_id=part.line.original_line_id,
    )


def _missing_fx(ctx: _Context, line: BillingLine) -> Finding:
    return missing_fx_finding(ctx.agreement, ctx.version, line)


def statement_finding(agreement: Agreement, kind: FindingKind, line: BillingLine, message: str) -> Finding:
    """A finding that holds back ``agreement``'s statement, naming the line (both engines)."""
    return Finding(kind, f"{message} {line.provider}:{line.line_id}", line_id=line.line_id,
                   partner_id=agreement.partner_id, agreement_id=agreement.id)


def missing_fx_finding(agreement: Agreement, version: AgreementVersion, line: BillingLine) -> Finding:
    """``missing_fx_rate``: no rate converts the line to the statement currency."""
    return statement_finding(agreement, FindingKind.MISSING_FX_RATE, line,
                             f"no {line.currency}->{version.currency} rate on or before the FX date for line")


def no_rule_finding(agreement: Agreement, version: AgreementVersion, line: BillingLine) -> Finding:
    """``no_rule`` (with ``require_rule``): no rule of the version accepts the line."""
    return statement_finding(agreement, FindingKind.NO_RULE, line,
                             f"no rule of version {version.version} accepts line")


def unlinked_refund_finding(agreement: Agreement, line: BillingLine) -> Finding:
    """``unlinked_refund``: the refund names an original the book does not hold."""
    return statement_finding(agreement, FindingKind.UNLINKED_REFUND, line,
                             f"refund names unknown original {line.original_line_id}")
