"""Evidence upload: stored content-addressed; oversized files, path tricks in names and
executable content are refused."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cloudsettle.db.models import SettingRow
from cloudsettle.db.models_workflow import CaseEvidenceRow, CaseRow
from cloudsettle.services import case_service
from cloudsettle.services.errors import BadInput
from cloudsettle.services.settlement_service import settle
from tests.cases.world import World


@pytest.fixture
def case_id(world: World) -> int:
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    with world.sessions() as session:
        return session.scalars(select(CaseRow.id).where(CaseRow.kind == "unlinked_refund")).one()


def _attach(world: World, case_id: int, name: str, data: bytes, content_type: str | None = None) -> object:
    return world.do(case_service.attach, case_id=case_id, file_name=name, data=data,
                    content_type=content_type,
                    raw_store=world.raw, actor="olga")


def test_evidence_is_stored_content_addressed(world: World, case_id: int) -> None:
    data = b"%PDF-1.7 provider letter"
    _attach(world, case_id, "provider letter.pdf", data)
    _attach(world, case_id, "copy.pdf", data)
    digest = hashlib.sha256(data).hexdigest()
    assert world.raw.path_of(digest).read_bytes() == data
    with world.sessions() as session:
        rows = list(session.scalars(select(CaseEvidenceRow).order_by(CaseEvidenceRow.id)))
    assert [(r.file_name, r.sha256, r.content_type, r.size_bytes) for r in rows] == [
        ("provider letter.pdf", digest, "application/pdf", len(data)), ("copy.pdf", digest, "application/pdf",
                                                                        len(data))]


def test_oversized_evidence_is_refused(world: World, case_id: int) -> None:
    world.do(lambda s: s.add(SettingRow(key="evidence_max_bytes", value="10", updated_at=datetime.now(UTC),
                                        updated_by="admin")))
    with pytest.raises(BadInput, match="over the evidence limit of 10 bytes"):
        _attach(world, case_id, "big.txt", b"x" * 11)
    _attach(world, case_id, "small.txt", b"x" * 10)


@pytest.mark.parametrize("name", ["../../etc/passwd.txt", "a/b.txt", "..\\x.txt", "/abs.txt", ".hidden.txt",
                                  "nul\x00.txt", "new\nline.txt", ".."])
def test_path_tricks_in_names_are_refused(world: World, case_id: int, name: str) -> None:
    with pytest.raises(BadInput, match="not allowed"):
        _attach(world, case_id, name, b"hello")


@pytest.mark.parametrize(("name", "data", "content_type"), [
    ("tool.exe", b"MZ\x90\x00", None),
    ("run.sh", b"#!/bin/sh\nrm -rf /", None),
    ("notes.txt", b"\x7fELF\x02\x01", None),           # a binary dressed as text
    ("invoice.pdf", b"%PDF", "application/x-msdownload"),
    ("script.js", b"alert(1)", None),
    ("report.txt", b"#!/usr/bin/env python", "text/plain"),
])
def test_executable_content_is_refused(world: World, case_id: int, name: str, data: bytes,
                                       content_type: str | None) -> None:
    with pytest.raises(BadInput):
        _attach(world, case_id, name, data, content_type)
    with world.sessions() as session:
        assert session.scalars(select(CaseEvidenceRow)).first() is None
