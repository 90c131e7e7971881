"""Tables of the workflow around statements: users and tokens, background jobs, and the
exception and dispute cases. (Workspace settings are ``models.SettingRow``.)

Plain records, like :mod:`cloudsettle.db.models`; the services own every rule.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudsettle.db.base import Base


class UserRow(Base):
    """A person or a partner's login. ``roles`` is a comma-separated list of role names;
    ``partner_id`` ties a ``partner`` user to its partner."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    email: Mapped[str | None]
    roles: Mapped[str]
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))
    password_hash: Mapped[str | None]
    active: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    partner = relationship("PartnerRow", lazy="raise")


class ApiTokenRow(Base):
    """A script's API token: stored hashed, scoped to one role, expiring, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(unique=True)
    role: Mapped[str]
    label: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user = relationship("UserRow", lazy="raise")


class LoginAttemptRow(Base):
    """One login attempt, for throttling and for the audit of access."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index(None, "user_name", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_name: Mapped[str]
    at: Mapped[datetime]
    success: Mapped[bool]
    remote: Mapped[str | None]


class JobRow(Base):
    """A long operation (ingest, settle, pull) run in the background; ``params`` and
    ``result`` are JSON. ``idempotency_key`` makes a client's retry return the same job."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str]
    status: Mapped[str]
    params: Mapped[str]
    result: Mapped[str | None]
    error: Mapped[str | None]
    idempotency_key: Mapped[str | None] = mapped_column(unique=True)
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class CaseRow(Base):
    """An exception or a dispute: what a finding becomes in the workflow.

    ``dedupe_key`` is unique so the same finding twice is one case.
    """

    __tablename__ = "cases"
    __table_args__ = (Index(None, "status", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str]
    severity: Mapped[str]
    status: Mapped[str]
    title: Mapped[str]
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    blocking: Mapped[bool]
    owner: Mapped[str | None]
    due_at: Mapped[datetime | None]
    partner_id: Mapped[str | None]
    agreement_id: Mapped[str | None]
    period: Mapped[str | None]
    resolution: Mapped[str | None]
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CaseEventRow(Base):
    """One entry of a case's history: who did what, with before and after (JSON)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str]
    action: Mapped[str]
    details: Mapped[str]

    case = relationship("CaseRow", lazy="raise")


class CaseCommentRow(Base):
    """A comment on a case."""

    __tablename__ = "case_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    author: Mapped[str]
    text: Mapped[str]

    case = relationship("CaseRow", lazy="raise")


class CaseEvidenceRow(Base):
    """A file attached to a case, stored content-addressed in the raw store."""

    __tablename__ = "case_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    sha256: Mapped[str]
    file_name: Mapped[str]
    content_type: Mapped[str]
    size_bytes: Mapped[int]
    uploaded_by: Mapped[str]
    at: Mapped[datetime]

    case = relationship("CaseRow", lazy="raise")


class CaseLinkRow(Base):
    """What a case holds or concerns: a finding, a billing line, a statement, a batch.

    ``ref`` is the thing's id as text (a line is ``provider:line_id``)."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "kind", "ref"), Index(None, "kind", "ref"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str]
    ref: Mapped[str]

    case = relationship("CaseRow", lazy="raise")
