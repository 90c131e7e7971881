"""Draft agreement versions over the control store: validation, what-if, activation, comparison.

Golden case 08 (marginal tiers, a same-period refund) settled for 2026-10: commission
1,400.00, tier uplift 90.00, payable 1,490.00. The draft raises the compute rule from
0.08 to 0.10 and adds a 1 % platform fee. By hand (notes of case 08):
  commission = 15,000 x 0.10 + 8,000 x 0.05 - 4,000 x 0.05 = 1,500 + 400 - 200 = 1,700.00
  tier uplift unchanged (the measure is the base, not the rate) = 90.00
  fees = -(1 % of 1,700 + 90) = -17.90
  payable = 1,700.00 + 90.00 - 17.90 = 1,772.10 (+282.10)
Only T-2610-CVM-1 changes rate (0.08 -> 0.10). The strong oracle: after activation,
settling 2026-10 for real stores exactly the what-if's figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db.models import AgreementVersionRow, AuditEventRow, RunRow, StatementLineRow, StatementRow
from cloudsettle.db.models_drafts import AgreementDraftRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services import agreement_drafts as drafts
from cloudsettle.services import guarded
from cloudsettle.services.access import Forbidden, Principal, Role
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.errors import Refused
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.settlement_service import approve, finalize, settle

CASE = Path(__file__).parents[1] / "golden" / "cases" / "08-tiers-marginal-with-refund"
AGREEMENT = "tier-2026"
SALES = Principal("sam", frozenset({Role.SALES_OPS}))
FINANCE = Principal("fran", frozenset({Role.FINANCE}))
PARTNER = Principal("pat", frozenset({Role.PARTNER}), partner_id="P-TIER")


class Store:
    """One unit of work per call, like the CLI and the web pages."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def do(self, fn: Any, *args: Any, **kw: Any) -> Any:
        with self.sessions() as session, session.begin():
            return fn(session, *args, **kw)


@pytest.fixture
def store(session_factory: sessionmaker[Session], tmp_path: Path) -> Store:
    s = Store(session_factory)
    s.do(load_config_file, path=CASE / "config.yaml", actor="setup")
    s.do(ingest_file, raw_store=RawStore(tmp_path / "raw"), path=CASE / "lines-2026-10.csv",
         provider="focus", actor="setup")
    s.do(settle, period="2026-10", partner_id=None, actor="operator")
    return s


def raised(text: str) -> str:
    """The editor's change: compute 0.08 -> 0.10 and a 1 % platform fee."""
    out = text.replace('rate: "0.08"', 'rate: "0.10"')
    out = out.replace("fees: []", 'fees: [{id: platform, percent: "0.01"}]')
    assert out != text
    return out


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a what-if must leave as it is."""
    statements = [(s.id, s.status, s.commission, s.fees, s.payable, s.agreement_version)
                  for s in session.scalars(select(StatementRow).order_by(StatementRow.id))]
    return {
        "statements": statements,
        "lines": session.scalar(select(func.count()).select_from(StatementLineRow)),
        "runs": session.scalar(select(func.count()).select_from(RunRow)),
        "audit": session.scalar(select(func.count()).select_from(AuditEventRow)),
        "versions": session.scalar(select(func.count()).select_from(AgreementVersionRow)),
        "drafts": [(d.id, d.status) for d in session.scalars(select(AgreementDraftRow))],
    }


def test_starting_text_is_the_newest_version_renumbered(store: Store) -> None:
    text = store.do(drafts.starting_text, AGREEMENT)
    assert text.startswith("version: 2\neffective_from: 2026-01-01\n")
    assert 'rate: "0.08"' in text


def test_what_if_by_hand_stores_nothing_and_equals_settling_after_activation(store: Store) -> None:
    text = raised(store.do(drafts.starting_text, AGREEMENT))
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    assert (draft.status, draft.author, draft.version, draft.base_fingerprint) == ("draft", "sam", 2, None)

    before = store.do(snapshot)
    result = store.do(guarded.what_if, FINANCE, draft_id=draft.id, period="2026-10")
    assert store.do(snapshot) == before  # nothing stored, no statement touched, no audit event

    assert result.governs
    assert result.partner_id == "P-TIER"
    (row,) = result.rows
    assert (row.version_before, row.version_after, row.status, row.finalized) == (1, 2, "calculated", False)
    expected = {  # name: (before, after, difference), by hand (module docstring)
        "commission": ("1400.00", "1700.00", "300.00"),
        "tier_uplift": ("90.00", "90.00", "0.00"),
        "clawback": ("0.00", "0.00", "0.00"),
        "fees": ("0.00", "-17.90", "-17.90"),
        "payable": ("1490.00", "1772.10", "282.10"),
    }
    for name, (b, a, d) in expected.items():
        figure = row.figure(name)
        assert (figure.before, figure.after, figure.difference) == (D(b), D(a), D(d)), name
    assert row.lines_changed == 1
    (change,) = row.sample
    assert (change.line_id, change.role, change.rule_before, change.rule_after) == (
        "T-2610-CVM-1", "commission", "compute", "compute")
    assert (change.rate_before, change.rate_after) == (D("0.08"), D("0.10"))

    summary = store.do(guarded.activate_draft, SALES, draft_id=draft.id)
    assert ("versions", 1, 0, 0) in summary.rows()
    with store.sessions() as session:
        closed = session.get(AgreementDraftRow, draft.id)
        assert closed is not None
        assert (closed.status, closed.closed_by) == ("activated", "sam")
        stored = session.get(AgreementVersionRow, (AGREEMENT, 2))
        assert stored is not None
        assert stored.fingerprint == draft.fingerprint
        by_sam = select(AuditEventRow).where(AuditEventRow.actor == "sam")
        events = {e.action: e for e in session.scalars(by_sam)}
        assert {"agreement.draft.create", "config.versions", "agreement.draft.activate"} <= set(events)
        assert events["config.versions"].subject == f"versions:{AGREEMENT}:2"
        assert '"author": "sam"' in events["agreement.draft.activate"].details

    store.do(settle, period="2026-10", partner_id=None, actor="operator")
    with store.sessions() as session:
        real = session.scalars(select(StatementRow).where(StatementRow.period == "2026-10")).one()
        assert real.agreement_version == 2
        for figure in row.figures:
            assert getattr(real, figure.name) == figure.after, figure.name


def test_bad_text_is_refused_with_paths_and_lines_and_nothing_is_stored(store: Store) -> None:
    text = store.do(drafts.starting_text, AGREEMENT)
    bad = text.replace('rate: "0.08"', 'rate: "-0.08"').replace("cycle: monthly", "cycle: monthy")
    with pytest.raises(drafts.DraftInvalid) as caught:
        store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=bad)
    lines = bad.splitlines()
    issues = {i.path: i for i in caught.value.issues}
    assert set(issues) == {"cycle", "rules[0].rate"}
    assert lines[issues["cycle"].line - 1].startswith("cycle:")  # type: ignore[operator]
    assert lines[issues["rules[0].rate"].line - 1].strip().startswith("rate:")  # type: ignore[operator]
    # A version a statement used never changes: the draft must take a new number.
    with pytest.raises(drafts.DraftInvalid) as used:
        store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None,
                 text=raised(text).replace("version: 2", "version: 1"))
    assert [(i.path, i.line) for i in used.value.issues] == [("version", 1)]
    assert "number the draft 2" in used.value.issues[0].message
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AgreementDraftRow)) == 0


def test_only_config_writers_edit_and_partners_see_nothing(store: Store) -> None:
    text = raised(store.do(drafts.starting_text, AGREEMENT))
    with pytest.raises(Forbidden):
        store.do(guarded.save_draft, FINANCE, agreement_id=AGREEMENT, draft_id=None, text=text)
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    for call in (lambda s: guarded.activate_draft(s, FINANCE, draft_id=draft.id),
                 lambda s: guarded.discard_draft(s, FINANCE, draft_id=draft.id),
                 lambda s: guarded.what_if(s, PARTNER, draft_id=draft.id, period="2026-10"),
                 lambda s: guarded.agreement_detail(s, PARTNER, AGREEMENT)):
        with pytest.raises(Forbidden):
            store.do(call)


def test_a_second_draft_of_the_same_number_cannot_overwrite_the_first(store: Store) -> None:
    text = raised(store.do(drafts.starting_text, AGREEMENT))
    first = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    second = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None,
                      text=text.replace('rate: "0.10"', 'rate: "0.12"'))
    store.do(guarded.activate_draft, SALES, draft_id=first.id)
    with pytest.raises(Refused, match="changed since draft"):
        store.do(guarded.activate_draft, SALES, draft_id=second.id)
    # Saved again it is an update of the unused version 2, which activation then applies.
    updated = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=second.id,
                       text=text.replace('rate: "0.10"', 'rate: "0.12"'))
    assert updated.base_fingerprint == first.fingerprint
    store.do(guarded.activate_draft, SALES, draft_id=second.id)
    with store.sessions() as session:
        v2 = session.get(AgreementVersionRow, (AGREEMENT, 2))
        assert v2 is not None
        assert v2.fingerprint == second.fingerprint
    with pytest.raises(Refused, match="is activated"):
        store.do(guarded.discard_draft, SALES, draft_id=second.id)


def test_discarded_drafts_stay_for_the_record(store: Store) -> None:
    text = raised(store.do(drafts.starting_text, AGREEMENT))
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    store.do(guarded.discard_draft, SALES, draft_id=draft.id)
    with pytest.raises(Refused, match="is discarded"):
        store.do(guarded.activate_draft, SALES, draft_id=draft.id)
    with store.sessions() as session:
        assert session.get(AgreementVersionRow, (AGREEMENT, 2)) is None
        assert drafts.open_draft_counts(session) == {}
        assert [d.status for d in drafts.drafts(session, agreement_id=AGREEMENT)] == ["discarded"]


def test_a_draft_that_takes_effect_later_changes_nothing_in_october(store: Store) -> None:
    text = raised(store.do(drafts.starting_text, AGREEMENT)).replace(
        "effective_from: 2026-01-01", "effective_from: 2026-11-01")
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    result = store.do(guarded.what_if, FINANCE, draft_id=draft.id, period="2026-10")
    assert not result.governs
    (row,) = result.rows
    assert row.version_after == 1
    assert all(f.difference == 0 for f in row.figures)
    assert row.lines_changed == 0


def test_a_new_version_never_governs_a_finalized_period(store: Store) -> None:
    """After October is finalized a draft starts on 1 November; one starting earlier is
    refused at its ``effective_from`` line, and the what-if of October changes nothing."""
    store.do(approve, period="2026-10", partner_id=None, actor="approver")
    store.do(finalize, period="2026-10", partner_id=None, actor="approver")
    text = raised(store.do(drafts.starting_text, AGREEMENT))
    assert "effective_from: 2026-11-01" in text.splitlines()
    retroactive = text.replace("effective_from: 2026-11-01", "effective_from: 2026-10-01")
    with pytest.raises(drafts.DraftInvalid) as caught:
        store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=retroactive)
    (issue,) = caught.value.issues
    assert issue.path == "effective_from"
    assert retroactive.splitlines()[issue.line - 1].startswith("effective_from:")  # type: ignore[operator]
    assert "2026-10, which is finalized under version 1" in issue.message
    assert "from 2026-11-01 at the earliest" in issue.message
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    result = store.do(guarded.what_if, FINANCE, draft_id=draft.id, period="2026-10")
    assert not result.governs
    (row,) = result.rows
    assert row.finalized
    assert row.status == "settled"
    assert row.figure("payable").difference == D("0")


def test_activation_is_refused_when_a_period_was_finalized_after_saving(store: Store) -> None:
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None,
                     text=raised(store.do(drafts.starting_text, AGREEMENT)))
    store.do(approve, period="2026-10", partner_id=None, actor="approver")
    store.do(finalize, period="2026-10", partner_id=None, actor="approver")
    with pytest.raises(Refused, match="from 2026-11-01 at the earliest"):
        store.do(guarded.activate_draft, SALES, draft_id=draft.id)


def test_compare_a_version_with_a_draft(store: Store) -> None:
    text = raised(store.do(drafts.starting_text, AGREEMENT))
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    comparison = store.do(guarded.compare_versions, FINANCE, agreement_id=AGREEMENT, a=None, b=None)
    assert (comparison.a.key, comparison.b.key) == ("1", f"draft-{draft.id}")  # only one version yet
    changes = {f.path: (f.a, f.b, f.status) for f in comparison.fields if f.status != "same"}
    assert changes == {
        "version": ("1", "2", "changed"),
        "rules[compute].rate": ("0.08", "0.1", "changed"),
        "fees (order)": ("", "platform", "changed"),
        "fees[platform].percent": (None, "0.01", "added"),
    }
    assert comparison.changed == 4
    assert '-  rate: "0.08"' in comparison.text_diff
    assert '+  rate: "0.10"' in comparison.text_diff
    same = store.do(guarded.compare_versions, FINANCE, agreement_id=AGREEMENT, a="1", b="1")
    assert same.changed == 0
    assert same.text_diff == []


def test_what_if_is_the_same_on_both_engines(store: Store) -> None:
    """The bulk engine (summary mode: lines come back from the run's Parquet) gives the same
    figures and the same changed lines as the reference engine."""
    from cloudsettle.services.runs import BULK, ENGINE, REFERENCE, set_setting

    text = raised(store.do(drafts.starting_text, AGREEMENT))
    draft = store.do(guarded.save_draft, SALES, agreement_id=AGREEMENT, draft_id=None, text=text)
    results = {}
    for name in (REFERENCE, BULK):
        store.do(set_setting, key=ENGINE, value=name, actor="admin")
        results[name] = store.do(guarded.what_if, FINANCE, draft_id=draft.id, period="2026-10")
    reference, bulk = results[REFERENCE], results[BULK]
    assert reference.rows
    assert bulk.rows == reference.rows
    assert bulk.rows[0].lines_changed == 1
