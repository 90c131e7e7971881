"""URLs, engines and the unit of work."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db.models import (
    BillingLineRow,
    IngestBatchRow,
    LineRevisionRow,
    PartnerRow,
    RawObjectRow,
)
from cloudsettle.db.session import database_url, unit_of_work
from tests.db.rows import add_statement

AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def _partner(partner_id: str = "p1") -> PartnerRow:
    return PartnerRow(id=partner_id, name="Acme", currency="CNY", verification="verified",
                      minimum_payout=D("100.00"), payout_details=None, created_at=AT,
                      updated_at=AT)


def test_database_url_prefers_the_environment(tmp_path: Path) -> None:
    env = {"CLOUDSETTLE_DATABASE_URL": "postgresql+psycopg://postgres@db:5432/cs"}
    assert database_url(tmp_path, env) == "postgresql+psycopg://postgres@db:5432/cs"


def test_database_url_defaults_to_the_workspace_file(tmp_path: Path) -> None:
    assert database_url(tmp_path, {}) == f"sqlite:///{tmp_path.resolve()}/cloudsettle.db"
    assert database_url(tmp_path, {"CLOUDSETTLE_DATABASE_URL": " "}).endswith("cloudsettle.db")


def test_unit_of_work_commits_once_on_success(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        session.add(_partner())
    with session_factory() as session:
        partner = session.get(PartnerRow, "p1")
        assert partner is not None
        assert partner.minimum_payout == D("100")


def test_unit_of_work_rolls_back_on_error(session_factory: sessionmaker[Session]) -> None:
    class BoomError(Exception):
        pass

    def add_partner_then_fail() -> None:
        with unit_of_work(session_factory) as session:
            session.add(_partner())
            session.flush()  # the row reached the database inside the transaction
            raise BoomError

    with pytest.raises(BoomError):
        add_partner_then_fail()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(PartnerRow)) == 0


def test_foreign_keys_are_enforced(session_factory: sessionmaker[Session]) -> None:
    def add_line_of_unknown_batch() -> None:
        with unit_of_work(session_factory) as session:
            session.add(BillingLineRow(provider="tencent", line_id="L1", current_revision=1,
                                       first_batch_id=999, updated_at=AT))

    with pytest.raises(IntegrityError):
        add_line_of_unknown_batch()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(BillingLineRow)) == 0


def test_sqlite_runs_in_wal_mode(db_engine: Engine) -> None:
    if db_engine.dialect.name != "sqlite":
        pytest.skip("SQLite setting")
    with db_engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_one_statement_per_partner_agreement_and_period(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        add_statement(session)
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        add_statement(session)


def test_a_line_head_and_its_revision_are_written_in_one_flush(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        session.add(RawObjectRow(sha256="ab" * 32, size_bytes=10, stored_path="raw/ab",
                                 first_received_at=AT))
        batch = IngestBatchRow(
            sha256="ab" * 32, source_kind="file", file_name="bill.csv", provider="tencent",
            format="tencent-csv", received_at=AT, received_by="alice", rows_total=1, rows_new=1,
            rows_revised=0, rows_unchanged=0, rows_duplicate=0, rows_rejected=0, status="ok")
        session.add(batch)
        session.flush()
        session.add(LineRevisionRow(
            provider="tencent", line_id="L1", revision=1, batch_id=batch.id, source_row=2,
            content_hash="cd" * 32, account_id="100001", charge_start=AT, charge_end=AT,
            billing_period=date(2026, 10, 1), list_amount=D("90000.00"), currency="CNY",
            discount_amount=D("0"), voucher_amount=D("0"), tax_amount=D("0"), service="cvm",
            service_category="Compute", charge_category="usage", billing_mode="on_demand",
            region="ap-guangzhou", project="", resource_id="ins-1", invoice_id="",
            payer_account_id="", is_correction=False, paid_at=None, original_line_id=None,
            extras="{}", ingested_at=AT))
        session.add(BillingLineRow(provider="tencent", line_id="L1", current_revision=1,
                                   first_batch_id=batch.id, updated_at=AT))
    with session_factory() as session:
        revision = session.get(LineRevisionRow, ("tencent", "L1", 1))
        assert revision is not None
        assert revision.list_amount == D("90000")
        assert revision.is_correction is False
