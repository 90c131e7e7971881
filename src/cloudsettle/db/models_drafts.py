"""Draft agreement versions (issue 8): edited in the UI, stored, never in force until activated.

A draft holds one version document as its author wrote it (``text``, the YAML of
one item of an agreement's ``versions``) and the canonical JSON and fingerprint of
what it parses to, so activating it applies exactly what was validated and
reviewed. ``base_fingerprint`` is the fingerprint of the stored version with the
same number when the draft was saved (``None``: the number was new); activation
refuses when that version changed since, so two drafts never overwrite each other
silently. ``status`` is ``draft``, ``activated`` or ``discarded``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from cloudsettle.db.base import Base


class AgreementDraftRow(Base):
    """One draft version of an agreement, with who wrote it and who closed it."""

    __tablename__ = "agreement_drafts"
    __table_args__ = (Index(None, "agreement_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    version: Mapped[int]
    text: Mapped[str]
    definition: Mapped[str]
    fingerprint: Mapped[str]
    base_fingerprint: Mapped[str | None]
    status: Mapped[str]
    author: Mapped[str]
    created_at: Mapped[datetime]
    updated_by: Mapped[str]
    updated_at: Mapped[datetime]
    closed_by: Mapped[str | None]
    closed_at: Mapped[datetime | None]
