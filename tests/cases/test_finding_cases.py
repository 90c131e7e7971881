"""Each blocking finding code opens its case and holds the statements it touches."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models_workflow import CaseLinkRow, CaseRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.settlement_service import settle
from tests.cases.world import CONFIG, OCTOBER, World, deal


def _world(session_factory: sessionmaker[Session], tmp_path: Path, config: str) -> World:
    w = World(session_factory, RawStore(tmp_path / "raw"), tmp_path)
    w.load(config)
    w.ingest("october.csv", OCTOBER)
    w.do(settle, period="2026-10", partner_id=None, actor="alice")
    return w


def _links(world: World) -> dict[str, set[str]]:
    with world.sessions() as session:
        out: dict[str, set[str]] = {}
        for case in session.scalars(select(CaseRow)):
            out[case.kind] = set(session.scalars(select(CaseLinkRow.ref).where(
                CaseLinkRow.case_id == case.id, CaseLinkRow.kind == "statement")))
        return out


def test_ambiguous_deal_opens_a_case_that_holds_nothing(session_factory: sessionmaker[Session],
                                                          tmp_path: Path) -> None:
    config = CONFIG.replace("agreements:\n", deal("D-1X", "P-BETA", "C1", "beta") + "agreements:\n", 1)
    world = _world(session_factory, tmp_path, config)
    links = _links(world)
    assert links["ambiguous_deal"] == set()  # a workspace finding (0002 §8): the line pays nobody
    assert "P-ACME" not in world.statements()  # A-1 was its only line
    assert world.statements()["P-BETA"] == ("in_exception", "200.00")  # held by C2's missing deal only


def test_no_rule_with_require_rule_holds_its_statement(session_factory: sessionmaker[Session],
                                                       tmp_path: Path) -> None:
    strict = ("- id: acme\n  partner: P-ACME\n  mode: live\n  versions:\n  - version: 1\n"
              "    effective_from: 2026-01-01\n    currency: CNY\n    timezone: Asia/Shanghai\n"
              "    cycle: monthly\n    basis: billing_period\n    base: net\n    require_rule: true\n"
              "    rules:\n    - id: cos-only\n      match:\n        service: [COS]\n      rate: \"0.10\"\n"
              "    rounding:\n      mode: half_up\n      level: statement\n")
    start = CONFIG.index("- id: acme\n  partner: P-ACME\n  mode: live")
    end = CONFIG.index("- id: beta\n")
    world = _world(session_factory, tmp_path, CONFIG[:start] + strict + CONFIG[end:])
    assert _links(world)["no_rule"] == {"P-ACME/acme/2026-10"}
    assert world.statements()["P-ACME"] == ("in_exception", "0.00")


def test_no_agreement_version_opens_a_case_that_holds_nothing(session_factory: sessionmaker[Session],
                                                              tmp_path: Path) -> None:
    head = "- id: delta\n  partner: P-DELTA\n  mode: live\n  versions:\n  - version: 1\n"
    config = CONFIG.replace(head + "    effective_from: 2026-01-01", head + "    effective_from: 2026-11-01")
    assert config != CONFIG
    world = _world(session_factory, tmp_path, config)
    assert _links(world)["no_agreement_version"] == set()
    assert "P-DELTA" not in world.statements()
