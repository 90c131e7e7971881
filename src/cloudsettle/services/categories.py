"""The service-category table in force: the shipped one with the configuration's overrides.

``config load`` stores the file's ``service_categories`` section as the workspace
setting ``service_categories``; ingest and pulls read the table through here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy.orm import Session

from cloudsettle.db.models import SettingRow
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.services.audit import now, record
from cloudsettle.services.errors import BadInput

SETTING = "service_categories"


def configured_categories(session: Session) -> CategoryMap:
    """The shipped table with the stored overrides laid over it."""
    shipped = CategoryMap.shipped()
    row = session.get(SettingRow, SETTING)
    return shipped.with_overrides(json.loads(row.value)) if row else shipped


def store_overrides(session: Session, overrides: Mapping[str, Mapping[str, str]], *, actor: str) -> bool:
    """Keep the configuration's overrides (checked: every category must be a FOCUS one);
    returns whether they changed."""
    try:
        CategoryMap.shipped().with_overrides(overrides)
    except ValueError as exc:
        raise BadInput(f"service_categories: {exc}") from exc
    text = json.dumps({p: dict(sorted(m.items())) for p, m in sorted(overrides.items())}, ensure_ascii=False)
    row = session.get(SettingRow, SETTING)
    if row is not None and row.value == text:
        return False
    before = json.loads(row.value) if row else None
    if row is None:
        session.add(SettingRow(key=SETTING, value=text, updated_at=now(), updated_by=actor))
    else:
        row.value, row.updated_at, row.updated_by = text, now(), actor
    record(
        session,
        actor=actor,
        action="config.service_categories",
        subject=SETTING,
        before=before,
        after=json.loads(text),
    )
    return True
