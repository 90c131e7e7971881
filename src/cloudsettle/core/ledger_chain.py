"""Hash chains for append-only logs (the audit log): link, and find the first break.

Each record's hash is ``sha256(prev_hash + "\\n" + canonical JSON of its
content)``; the first record's ``prev_hash`` is :data:`GENESIS`. Changing a
record changes its hash, so its stored hash no longer matches; removing one
leaves the next record pointing at a hash that is not its predecessor's;
swapping two breaks both links. :func:`first_break` names the first record
where any of this shows. Pure: the store passes plain values in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: ``prev_hash`` of the first record.
GENESIS = "0" * 64


def canonical(content: Mapping[str, Any]) -> str:
    """The one JSON spelling of ``content``: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The hash of a record whose predecessor's hash is ``prev_hash``."""
    return hashlib.sha256(f"{prev_hash}\n{canonical(content)}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """One stored record as the verifier sees it.

    Attributes:
      id: the record's id, to name it.
      content: the hashed fields, as stored.
      prev_hash, entry_hash: the stored links.
    """

    id: int
    content: Mapping[str, Any]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where the chain first fails, and why.

    Attributes:
      id: the record named (the first altered one, or the one after a gap).
      problem: ``altered`` (content or hash changed), ``missing_before``
        (its predecessor was removed or reordered).
      message: a sentence for a person.
    """

    id: int
    problem: str
    message: str


def first_break(records: Iterable[ChainRecord]) -> ChainBreak | None:
    """The first record (in id order) where the chain fails, or None when it holds."""
    expected_prev = GENESIS
    previous_id: int | None = None
    for r in records:
        if link_hash(r.prev_hash, r.content) != r.entry_hash:
            return ChainBreak(
                r.id, "altered", f"audit entry {r.id} was altered: its content does not match its hash"
            )
        if r.prev_hash != expected_prev:
            after = f"entry {previous_id}" if previous_id is not None else "the start of the log"
            return ChainBreak(
                r.id,
                "missing_before",
                f"audit entry {r.id} does not follow {after}: an entry before it was "
                "removed, altered or reordered",
            )
        expected_prev, previous_id = r.entry_hash, r.id
    return None


def audit_content(
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: str,
    reason: str | None,
    before: str | None,
    after: str | None,
) -> dict[str, Any]:
    """The hashed fields of an audit event, spelled the same by the writer, the
    migration that chained older events, and ``audit verify``."""
    return {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
        "reason": reason,
        "before": before,
        "after": after,
    }
