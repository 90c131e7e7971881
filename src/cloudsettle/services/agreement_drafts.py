"""Draft agreement versions: edit, compare, try on a past period (what-if), activate or discard.

A draft is one version document written in the configuration file's format
(the mapping under an agreement's ``versions:``), stored but never in force.
Saving checks it with exactly the loader's rules
(:func:`~cloudsettle.config_file.version_text.load_version_text`: every problem
with its path and line) plus the store's one rule, that a version a statement
used never changes. :func:`what_if` recomputes a period in memory with the
draft in place of the stored version of that number (as if it were active)
and compares each statement with the one stored for the period; nothing is
written. :func:`activate` applies the draft through
:func:`~cloudsettle.services.config_service.apply_config`, the path of
``config load``, with the same audit events, so an activated draft is exactly
a version loaded from a file.

Exceptions: :class:`DraftInvalid` (a :class:`BadInput`) carries the issues of
refused text; :class:`Refused` for a closed draft or a version that changed
since the draft was saved; :class:`NotFound` for unknown ids.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudsettle.config_file.codec import version_fingerprint, version_from_dict, version_to_dict
from cloudsettle.config_file.errors import ConfigError, ConfigIssue
from cloudsettle.config_file.loader import ConfigBundle
from cloudsettle.config_file.version_text import KEY_ORDER, load_version_text, version_yaml
from cloudsettle.core.agreements import Agreement, AgreementMode, AgreementVersion
from cloudsettle.core.money import ZERO
from cloudsettle.core.settlement.model import Statement
from cloudsettle.db.models import AgreementRow, AgreementVersionRow, StatementLineRow, StatementRow
from cloudsettle.db.models_drafts import AgreementDraftRow
from cloudsettle.services.agreement_diff import FieldDiff, diff_versions, unified_text
from cloudsettle.services.audit import now, record
from cloudsettle.services.config_service import (
    ConfigSummary,
    apply_config,
    check_not_retroactive,
    last_finalized,
)
from cloudsettle.services.errors import BadInput, NotFound, Refused
from cloudsettle.services.line_results import LineResult
from cloudsettle.services.records import agreement_of
from cloudsettle.services.settlement_service import FINALIZED, check_period, compute

DRAFT, ACTIVATED, DISCARDED = "draft", "activated", "discarded"
#: The statement figures a what-if compares, in the order shown.
FIGURES: tuple[str, ...] = ("commission", "tier_uplift", "clawback", "cap_adjustment", "fees", "payable")
#: Changed lines listed by name in a what-if (the count covers all of them).
SAMPLE_LINES = 10


class DraftInvalid(BadInput):
    """The editor's text was refused; ``issues`` lists every problem (path, message, line)."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(issue.render() for issue in self.issues))


# --- reading ------------------------------------------------------------------------------


def agreement_row(session: Session, agreement_id: str) -> AgreementRow:
    """The agreement, or :class:`NotFound`."""
    row = session.get(AgreementRow, agreement_id)
    if row is None:
        raise NotFound(f"no agreement {agreement_id}")
    return row


def version_rows(session: Session, agreement_id: str) -> list[AgreementVersionRow]:
    """The stored versions of an agreement, by number."""
    return list(session.scalars(select(AgreementVersionRow).where(
        AgreementVersionRow.agreement_id == agreement_id).order_by(AgreementVersionRow.version)))


def used_versions(session: Session, agreement_id: str) -> set[int]:
    """The version numbers a statement used (they never change)."""
    return set(session.scalars(select(StatementRow.agreement_version).where(
        StatementRow.agreement_id == agreement_id).distinct()))


def drafts(session: Session, *, agreement_id: str | None = None,
           status: str | None = None) -> list[AgreementDraftRow]:
    """Drafts, newest first, optionally of one agreement and status."""
    query = select(AgreementDraftRow).order_by(AgreementDraftRow.id.desc())
    if agreement_id is not None:
        query = query.where(AgreementDraftRow.agreement_id == agreement_id)
    if status is not None:
        query = query.where(AgreementDraftRow.status == status)
    return list(session.scalars(query))


def open_draft_counts(session: Session) -> dict[str, int]:
    """Agreement id -> how many drafts are open (neither activated nor discarded)."""
    rows = session.execute(select(AgreementDraftRow.agreement_id, func.count()).where(
        AgreementDraftRow.status == DRAFT).group_by(AgreementDraftRow.agreement_id)).all()
    return {agreement: int(n) for agreement, n in rows}


def statement_periods(session: Session, partner_id: str) -> list[str]:
    """The periods a partner has stored statements for, newest first."""
    rows = session.execute(select(StatementRow.period, func.max(StatementRow.period_start)).where(
        StatementRow.partner_id == partner_id).group_by(StatementRow.period)).all()
    return [period for period, _ in sorted(rows, key=lambda r: (r[1], r[0]), reverse=True)]


def draft(session: Session, draft_id: int) -> AgreementDraftRow:
    """One draft, or :class:`NotFound`."""
    row = session.get(AgreementDraftRow, draft_id)
    if row is None:
        raise NotFound(f"no draft {draft_id}")
    return row


def draft_version(row: AgreementDraftRow) -> AgreementVersion:
    """The version a draft holds, as it was validated when saved."""
    return version_from_dict(json.loads(row.definition))


def stored_version(row: AgreementVersionRow) -> AgreementVersion:
    """The core version of a stored version row."""
    return version_from_dict(json.loads(row.definition))


def starting_text(session: Session, agreement_id: str) -> str:
    """The text a new draft starts from: the newest version, numbered one above every version.

    It takes effect from the newest version's ``effective_from`` or, when later, the day
    after the last finalized period: a new version never governs a finalized period
    (see :func:`earliest_effective_from`).
    """
    agreement_row(session, agreement_id)
    rows = version_rows(session, agreement_id)
    if not rows:
        raise NotFound(f"agreement {agreement_id} has no version to start from")
    newest = stored_version(rows[-1])
    earliest = earliest_effective_from(session, agreement_id)
    start = max(newest.effective_from, earliest) if earliest else newest.effective_from
    return version_yaml(_renumbered(newest, rows[-1].version + 1, start))


def _renumbered(v: AgreementVersion, number: int, effective_from: date) -> AgreementVersion:
    d = version_to_dict(v)
    d["version"] = number
    d["effective_from"] = effective_from.isoformat()
    return version_from_dict(d)


def earliest_effective_from(session: Session, agreement_id: str) -> date | None:
    """The first day a new version may take effect: the day after the last finalized period.

    A finalized statement keeps the version that governed it (spec: a finalized
    statement never changes; corrections are prior-period adjustments computed with
    that version). A new version starting on or before a finalized period's first
    day would become the governing version of that period for every later
    calculation that looks it up (a clawback's original rate, a recomputation), so
    the two would disagree. None when nothing is finalized.
    """
    row = last_finalized(session, agreement_id)
    return row.period_end + timedelta(days=1) if row is not None else None


# --- saving -------------------------------------------------------------------------------


def parse(session: Session, *, agreement_id: str, text: str) -> AgreementVersion:
    """The version in ``text``, checked by the loader's rules and the store's; or :class:`DraftInvalid`."""
    try:
        version = load_version_text(text)
    except ConfigError as exc:
        raise DraftInvalid(exc.errors) from exc
    if version.version in used_versions(session, agreement_id):
        above = max(r.version for r in version_rows(session, agreement_id)) + 1
        line = _line_of_key(text, "version")
        raise DraftInvalid([ConfigIssue(
            "version", f"version {version.version} was used by a statement and cannot change; "
                       f"number the draft {above}", line)])
    try:
        check_not_retroactive(session, agreement_id, version.version, version.effective_from)
    except Refused as exc:
        line = _line_of_key(text, "effective_from")
        raise DraftInvalid([ConfigIssue("effective_from", str(exc), line)]) from exc
    return version


def _line_of_key(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return None


def create(session: Session, *, agreement_id: str, text: str, actor: str) -> AgreementDraftRow:
    """Store a new draft after checking its text (nothing is stored when it is refused)."""
    agreement_row(session, agreement_id)
    version = parse(session, agreement_id=agreement_id, text=text)
    stamp = now()
    row = AgreementDraftRow(agreement_id=agreement_id, status=DRAFT, author=actor, created_at=stamp,
                            updated_by=actor, updated_at=stamp, closed_by=None, closed_at=None,
                            **_content(session, agreement_id, text, version))
    session.add(row)
    session.flush()
    record(session, actor=actor, action="agreement.draft.create", subject=f"agreement:{agreement_id}",
           draft=row.id, after={"version": row.version, "fingerprint": row.fingerprint})
    return row


def update(session: Session, *, draft_id: int, text: str, actor: str) -> AgreementDraftRow:
    """Replace an open draft's text after checking it."""
    row = _open(session, draft_id)
    version = parse(session, agreement_id=row.agreement_id, text=text)
    before = {"version": row.version, "fingerprint": row.fingerprint}
    for key, value in _content(session, row.agreement_id, text, version).items():
        setattr(row, key, value)
    row.updated_by, row.updated_at = actor, now()
    record(session, actor=actor, action="agreement.draft.update", subject=f"agreement:{row.agreement_id}",
           draft=row.id, before=before, after={"version": row.version, "fingerprint": row.fingerprint})
    return row


def _content(session: Session, agreement_id: str, text: str, version: AgreementVersion) -> dict[str, Any]:
    existing = session.get(AgreementVersionRow, (agreement_id, version.version))
    return {
        "version": version.version,
        "text": text,
        "definition": json.dumps(version_to_dict(version), sort_keys=True),
        "fingerprint": version_fingerprint(version),
        "base_fingerprint": existing.fingerprint if existing is not None else None,
    }


def _open(session: Session, draft_id: int) -> AgreementDraftRow:
    row = draft(session, draft_id)
    if row.status != DRAFT:
        raise Refused(f"draft {draft_id} is {row.status}; start a new draft")
    return row


def discard(session: Session, *, draft_id: int, actor: str) -> AgreementDraftRow:
    """Close an open draft without applying it."""
    row = _open(session, draft_id)
    row.status, row.closed_by, row.closed_at = DISCARDED, actor, now()
    record(session, actor=actor, action="agreement.draft.discard", subject=f"agreement:{row.agreement_id}",
           draft=row.id, before={"status": DRAFT}, after={"status": DISCARDED})
    return row


def activate(session: Session, *, draft_id: int, actor: str) -> ConfigSummary:
    """Apply an open draft as its agreement's version, exactly as ``config load`` would.

    Refused when the stored version of the draft's number changed since the draft
    was saved (another draft was activated, or a file was loaded), when a
    statement used it, or when a period it would govern was finalized meanwhile
    (``apply_config`` checks both, as for a file). Records the ``config.versions`` change and an
    ``agreement.draft.activate`` event naming who activated it.
    """
    row = _open(session, draft_id)
    agreement = agreement_row(session, row.agreement_id)
    version = draft_version(row)
    current = session.get(AgreementVersionRow, (row.agreement_id, row.version))
    now_print = current.fingerprint if current is not None else None
    if now_print not in (row.base_fingerprint, row.fingerprint):
        raise Refused(f"version {row.version} of {row.agreement_id} changed since draft {draft_id} was "
                      "saved; open the draft, compare and save it again (or number it higher)")
    bundle = ConfigBundle(agreements=(
        Agreement(agreement.id, agreement.partner_id, (version,), AgreementMode(agreement.mode)),))
    summary = apply_config(session, bundle)
    reason = f"draft {draft_id} activated"
    for kind, key, before, after in summary.changes:
        record(session, actor=actor, action=f"config.{kind}", subject=f"{kind}:{key}", reason=reason,
               before=before, after=after)
    row.status, row.closed_by, row.closed_at = ACTIVATED, actor, now()
    record(session, actor=actor, action="agreement.draft.activate", subject=f"agreement:{row.agreement_id}",
           reason=reason, draft=row.id, author=row.author, version=row.version,
           effective_from=version.effective_from.isoformat(), fingerprint=row.fingerprint,
           before={"status": DRAFT, "fingerprint": now_print},
           after={"status": ACTIVATED, "fingerprint": row.fingerprint})
    return summary


# --- comparing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a stored version or a draft.

    Attributes:
      key: as written in the page's query (``3`` for version 3, ``draft-7`` for draft 7).
      label: for people (``version 3``, ``draft 7 (version 4)``).
      version: the parsed version.
      text: its YAML (a draft's as its author wrote it).
    """

    key: str
    label: str
    version: AgreementVersion
    text: str


@dataclass(frozen=True)
class Comparison:
    """Two sides and their differences."""

    a: Side
    b: Side
    fields: list[FieldDiff]
    text_diff: list[str]

    @property
    def changed(self) -> int:
        """How many fields differ."""
        return sum(1 for f in self.fields if f.status != "same")


def side(session: Session, agreement_id: str, key: str) -> Side:
    """A stored version (``"3"``) or a draft of this agreement (``"draft-7"``)."""
    if key.startswith("draft-") and key.removeprefix("draft-").isdigit():
        row = draft(session, int(key.removeprefix("draft-")))
        if row.agreement_id != agreement_id:
            raise NotFound(f"no draft {row.id} of {agreement_id}")
        label = f"draft {row.id} (version {row.version}, {row.status})"
        return Side(key, label, draft_version(row), row.text)
    if not key.isdigit():
        raise BadInput(f"{key!r}: compare a version number or draft-<id>")
    stored = session.get(AgreementVersionRow, (agreement_id, int(key)))
    if stored is None:
        raise NotFound(f"no version {key} of {agreement_id}")
    v = stored_version(stored)
    return Side(key, f"version {v.version}", v, version_yaml(v))


def default_sides(session: Session, agreement_id: str) -> tuple[str, str]:
    """What to compare when nothing is chosen: the two newest versions, else the newest
    version and the newest open draft, else the newest version with itself."""
    numbers = [r.version for r in version_rows(session, agreement_id)]
    if not numbers:
        raise NotFound(f"agreement {agreement_id} has no version")
    if len(numbers) >= 2:
        return str(numbers[-2]), str(numbers[-1])
    open_ = drafts(session, agreement_id=agreement_id, status=DRAFT)
    return str(numbers[-1]), (f"draft-{open_[0].id}" if open_ else str(numbers[-1]))


def compare(session: Session, *, agreement_id: str, a: str | None, b: str | None) -> Comparison:
    """Two versions or drafts of one agreement side by side (defaults: :func:`default_sides`)."""
    agreement_row(session, agreement_id)
    if a is None or b is None:
        da, db = default_sides(session, agreement_id)
        a, b = a or da, b or db
    left, right = side(session, agreement_id, a), side(session, agreement_id, b)
    fields = diff_versions(_documented(left.version), _documented(right.version))
    text = unified_text(left.text, right.text, a_label=left.label, b_label=right.label)
    return Comparison(left, right, fields, text)


def _documented(v: AgreementVersion) -> dict[str, Any]:
    """The canonical document with its keys in the documented order (version, dates, ...)."""
    d = version_to_dict(v)
    return {key: d[key] for key in KEY_ORDER}


# --- what-if ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """One statement figure before (stored) and after (recomputed with the draft)."""

    name: str
    before: Decimal | None
    after: Decimal | None

    @property
    def difference(self) -> Decimal:
        """``after − before``, a missing side counting as zero."""
        return (self.after if self.after is not None else ZERO) - (
            self.before if self.before is not None else ZERO)


@dataclass(frozen=True, slots=True)
class LineChange:
    """A statement line whose rule or rate differs between the stored and the recomputed statement."""

    line_id: str
    role: str
    rule_before: str | None
    rule_after: str | None
    rate_before: Decimal | None
    rate_after: Decimal | None


@dataclass(frozen=True)
class WhatIfRow:
    """One statement of the period: stored versus recomputed with the draft.

    Attributes:
      statement_id, status: the stored statement (``None`` when the period has none).
      version_before, version_after: the agreement version each was computed with.
      finalized: the stored statement is finalized; activation would not change it.
      figures: :data:`FIGURES`, exact.
      lines_changed: how many lines got another rule or rate; ``sample``: the first of them.
    """

    partner_id: str
    agreement_id: str
    currency: str
    statement_id: int | None
    status: str | None
    version_before: int | None
    version_after: int | None
    finalized: bool
    figures: tuple[Figure, ...]
    lines_changed: int
    sample: tuple[LineChange, ...] = field(default=())

    def figure(self, name: str) -> Figure:
        """The figure called ``name``."""
        return next(f for f in self.figures if f.name == name)


@dataclass(frozen=True)
class WhatIf:
    """The draft tried on one period for its agreement's partner.

    ``governs`` says whether the draft would govern the agreement's statement of the
    period; when it does not (it takes effect later, or a newer version wins) nothing
    changes for that agreement.
    """

    draft_id: int
    agreement_id: str
    partner_id: str
    period: str
    draft_version: int
    governs: bool
    rows: tuple[WhatIfRow, ...]


def what_if(session: Session, *, draft_id: int, period: str) -> WhatIf:
    """Recompute ``period`` for the draft's partner with the draft in force, in memory, and
    compare each statement with the stored one. Writes nothing."""
    check_period(period)
    row = draft(session, draft_id)
    agreement = agreement_row(session, row.agreement_id)
    version = draft_version(row)
    current = agreement_of(agreement, version_rows(session, agreement.id))
    versions = tuple(sorted(
        (*(v for v in current.versions if v.version != version.version), version),
        key=lambda v: (v.effective_from, v.version)))
    trial = Agreement(current.id, current.partner_id, versions, current.mode)
    calc = compute(session, period=period, partner_id=agreement.partner_id,
                   substitute={agreement.id: trial}, recompute_finalized=True)
    computed = {s.agreement_id: s for s in calc.result.statements}
    stored = {s.agreement_id: s for s in session.scalars(select(StatementRow).where(
        StatementRow.period == period, StatementRow.partner_id == agreement.partner_id))}
    rows = tuple(_row(session, stored.get(key), computed.get(key), agreement.partner_id, key,
                      calc.lines_of(computed[key]) if key in computed else ())
                 for key in sorted(set(stored) | set(computed)))
    ours = computed.get(agreement.id)
    governs = ours is not None and version_fingerprint(ours.version) == row.fingerprint
    return WhatIf(row.id, agreement.id, agreement.partner_id, period, row.version, governs, rows)


def _row(session: Session, before: StatementRow | None, after: Statement | None, partner_id: str,
         agreement_id: str, after_lines: Sequence[LineResult]) -> WhatIfRow:
    figures = tuple(
        Figure(name, getattr(before, name) if before is not None else None,
               getattr(after.components, name) if after is not None else None)
        for name in FIGURES)
    changes = _line_changes(session, before, after_lines)
    currency = after.currency if after is not None else before.currency if before is not None else ""
    return WhatIfRow(
        partner_id=partner_id, agreement_id=agreement_id, currency=currency,
        statement_id=before.id if before is not None else None,
        status=before.status if before is not None else None,
        version_before=before.agreement_version if before is not None else None,
        version_after=after.version.version if after is not None else None,
        finalized=before is not None and before.status in FINALIZED,
        figures=figures, lines_changed=len(changes), sample=tuple(changes[:SAMPLE_LINES]))


_LineKey = tuple[str, str, str]
_Priced = list[tuple[str | None, Decimal]]


def _line_changes(
    session: Session, before: StatementRow | None, after: Sequence[LineResult]
) -> list[LineChange]:
    """Lines (by provider, id and role) whose rules or rates differ, in line id order."""
    old: defaultdict[_LineKey, _Priced] = defaultdict(list)
    new: defaultdict[_LineKey, _Priced] = defaultdict(list)
    if before is not None:
        for ln in session.scalars(select(StatementLineRow).where(StatementLineRow.statement_id == before.id)):
            old[(ln.provider, ln.line_id, ln.role)].append((ln.rule_id, ln.rate))
    for sl in after:
        new[(sl.provider, sl.line_id, sl.role)].append((sl.rule_id, sl.rate))
    out = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[1], k[2], k[0])):
        a, b = sorted(old.get(key, []), key=_order), sorted(new.get(key, []), key=_order)
        if a != b:
            first_a, first_b = (a[0] if a else (None, None)), (b[0] if b else (None, None))
            out.append(LineChange(key[1], key[2], first_a[0], first_b[0], first_a[1], first_b[1]))
    return out


def _order(priced: tuple[str | None, Decimal]) -> tuple[str, Decimal]:
    return (priced[0] or "", priced[1])
