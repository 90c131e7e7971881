"""Line revisions: is an incoming line new, a revision, unchanged or a duplicate?

Providers restate lines: the same ``line_id`` comes back with another amount
or attribute. Every revision is kept and the newest wins (spec:
provider-files.md, "Identity, revisions and duplicates"). This module decides,
for a batch of incoming lines and the content hash of the newest stored
revision of each ``(provider, line_id)``, what each incoming line is:

- ``new``: the identity was never stored.
- ``revised``: the identity exists with other content.
- ``unchanged``: the content is what is already stored (a file read again).
- ``duplicate``: an earlier row of the same batch has the same identity and
  the same content; it is not counted and yields a ``duplicate_line`` finding.

Inside one batch, rows with one identity and different contents are
revisions in order of appearance, all kept. If the stored newest content is
one of them, the batch was (in effect) applied already up to that row: the
rows up to it are ``unchanged`` and only later ones are ``revised``, so
re-reading a batch after applying it gives only ``unchanged``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from json.encoder import encode_basestring as _json_text
from operator import attrgetter
from typing import Any

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory

LineKey = tuple[str, str]
"""A line's identity: ``(provider, line_id)``."""

_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(BillingLine) if f.name != "extras")


class LineOutcome(StrEnum):
    """What an incoming line is, compared with the store and its own batch."""

    NEW = "new"
    REVISED = "revised"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


def canonical_decimal(value: Decimal) -> str:
    """An exact text of ``value`` without trailing zeros: ``1.50`` and ``1.5`` give
    ``15E-1``; zero (of any exponent or sign) gives ``0``. No context, so no rounding."""
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    digits_text = "".join(map(str, digits)).lstrip("0")
    if not digits_text:
        return "0"
    stripped = digits_text.rstrip("0")
    exponent += len(digits_text) - len(stripped)
    return f"{'-' if sign else ''}{stripped}E{exponent}"


def _canonical(value: object) -> object:
    """A JSON-able, exact, representation-independent form of one field."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return canonical_decimal(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return "naive:" + value.isoformat()
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):  # includes the StrEnum fields
        return str(value)
    raise TypeError(f"cannot hash a {type(value).__name__} field")


def _reference_text(line: BillingLine) -> str:
    """The hashed document of :func:`content_hash`, built through ``json.dumps``: the
    definition the fast encoding below must match byte for byte, and its fallback."""
    values = line.content_key()
    if len(values) != len(_FIELD_NAMES):  # pragma: no cover - BillingLine changed shape
        raise AssertionError("BillingLine.content_key() and its fields disagree")
    document = {
        "fields": [[name, _canonical(v)] for name, v in zip(_FIELD_NAMES, values, strict=True)],
        "extras": sorted([str(k), str(v)] for k, v in line.extras.items()),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


#: Canonical texts of the amounts seen (issue 6: bills repeat amounts). canonical_decimal
#: depends only on the number (1.5 and 1.50 give the same text), as Decimal equality and
#: hashing do, so a cache keyed by the Decimal gives exactly what a call would.
_DECIMAL_TEXTS: dict[Decimal, str] = {}
_DECIMAL_CACHE_SIZE = 100_000


def _decimal_json(value: Decimal) -> str:
    if not value.is_finite():  # refused as before (and a signalling NaN cannot be hashed)
        canonical_decimal(value)
    text = _DECIMAL_TEXTS.get(value)
    if text is None:
        if len(_DECIMAL_TEXTS) >= _DECIMAL_CACHE_SIZE:
            _DECIMAL_TEXTS.clear()
        text = _DECIMAL_TEXTS[value] = '"' + canonical_decimal(value) + '"'  # ASCII: no escapes
    return text


#: Texts of the UTC times seen (bills repeat their hours and days). Equal UTC datetimes have
#: the same fields (``fold`` aside, which ``isoformat`` does not write), so the same text.
_TIME_TEXTS: dict[datetime, str] = {}
_TIME_CACHE_SIZE = 100_000


def _time_json(value: datetime) -> str:
    if value.tzinfo is UTC:  # how readers hand times over: nothing to convert
        text = _TIME_TEXTS.get(value)
        if text is None:
            if len(_TIME_TEXTS) >= _TIME_CACHE_SIZE:
                _TIME_TEXTS.clear()
            text = _TIME_TEXTS[value] = '"' + value.isoformat() + '"'
        return text
    return '"' + str(_canonical(value)) + '"'  # ASCII: no escapes


def _date_json(value: date) -> str:
    return '"' + value.isoformat() + '"'


def _bool_json(value: bool) -> str:
    return "true" if value else "false"


def _null_json(value: None) -> str:
    return "null"


#: The JSON text of a field's canonical form, by the field value's exact type. A StrEnum's
#: string is its value, so it is escaped as it is. A type not listed (an int, a subclass)
#: sends the line to :func:`_reference_text`.
_ENCODERS: dict[type, Callable[[Any], str]] = {
    str: _json_text, Decimal: _decimal_json, datetime: _time_json, date: _date_json,
    ChargeCategory: _json_text, BillingMode: _json_text, bool: _bool_json, type(None): _null_json,
}
#: The document with a ``%s`` for each field's value and one for the extras.
_TEMPLATE = (
    '{"fields":['
    + ",".join(f"[{_json_text(name)},%s]" for name in _FIELD_NAMES)
    + '],"extras":[%s]}'
)
_FIELDS_OF = attrgetter(*_FIELD_NAMES)
_JUST_STR = {str}


def _document_text(line: BillingLine) -> str:
    """The text :func:`_reference_text` gives, written directly (issue 6: ``json.dumps`` of a
    nested document was a tenth of a first ingest)."""
    if type(line) is not BillingLine:  # a subclass may key its content otherwise
        return _reference_text(line)
    try:
        texts = [_ENCODERS[type(value)](value) for value in _FIELDS_OF(line)]
    except KeyError:
        return _reference_text(line)
    extras = line.extras
    if not extras:
        texts.append("")
    elif set(map(type, extras)) == _JUST_STR and set(map(type, extras.values())) == _JUST_STR:
        # Plain strings (as readers give them) are their own str(), and the keys are distinct,
        # so the items sort as the [key, value] pairs do.
        texts.append(",".join(["[" + _json_text(k) + "," + _json_text(v) + "]"
                               for k, v in sorted(extras.items())]))
    else:
        pairs = sorted([str(k), str(v)] for k, v in extras.items())
        texts.append(",".join(f"[{_json_text(k)},{_json_text(v)}]" for k, v in pairs))
    return _TEMPLATE % tuple(texts)


def content_hash(line: BillingLine) -> str:
    """sha256 (hex) over every field of ``line.content_key()`` and its sorted extras.

    Equal for lines that differ only in how a number or time is written
    (``1.50`` vs ``1.5``, ``+08:00`` vs UTC), different for any real change. The digest
    is stored and compared across versions: it is over the exact text of
    :func:`_reference_text`, which :func:`_document_text` writes faster.
    """
    return hashlib.sha256(_document_text(line).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ClassifiedLine:
    """One incoming line and what it is.

    Attributes:
      line: the incoming line.
      outcome: new, revised, unchanged or duplicate.
      content_hash: its :func:`content_hash`.
    """

    line: BillingLine
    outcome: LineOutcome
    content_hash: str

    @property
    def key(self) -> LineKey:
        """``(provider, line_id)``."""
        return (self.line.provider, self.line.line_id)


@dataclass(frozen=True, slots=True)
class Classification:
    """The outcome of every line of a batch, in input order.

    Attributes:
      lines: each incoming line with its outcome.
      findings: one ``duplicate_line`` finding per duplicate row.
      newest: for every identity in the batch, the content hash of its newest
        revision once the batch is applied (merge it into ``current``).
    """

    lines: tuple[ClassifiedLine, ...]
    findings: tuple[Finding, ...]
    newest: Mapping[LineKey, str]

    @property
    def counts(self) -> Mapping[LineOutcome, int]:
        """How many lines had each outcome (every outcome present, zero or more)."""
        counted = Counter(c.outcome for c in self.lines)
        return {outcome: counted[outcome] for outcome in LineOutcome}

    def to_store(self) -> tuple[ClassifiedLine, ...]:
        """The lines to write as revisions: the new and revised ones, in order."""
        return tuple(
            c for c in self.lines if c.outcome in (LineOutcome.NEW, LineOutcome.REVISED)
        )


def classify(
    incoming: Iterable[BillingLine],
    current: Mapping[LineKey, str],
    digests: Sequence[str] | None = None,
) -> Classification:
    """Classify a batch against the newest stored content hash of each identity.

    ``current`` maps ``(provider, line_id)`` to the content hash of the newest
    stored revision. A batch of rows ``a1(c1), a2(c2), a3(c1)`` for one identity
    against an empty store is new, revised, duplicate; read again against
    ``{a: c2}`` it is unchanged, unchanged, duplicate. ``digests``, when the caller has
    already computed each line's :func:`content_hash`, saves hashing twice.
    """
    lines = list(incoming)
    hashed = list(zip(lines, digests if digests is not None else map(content_hash, lines), strict=True))
    # per identity: its distinct contents in order of first appearance
    distinct: dict[LineKey, list[str]] = {}
    for line, digest in hashed:
        contents = distinct.setdefault((line.provider, line.line_id), [])
        if digest not in contents:
            contents.append(digest)
    # per identity: how many of its distinct contents are already applied
    applied: dict[LineKey, int] = {}
    for key, contents in distinct.items():
        stored = current.get(key)
        applied[key] = contents.index(stored) + 1 if stored in contents else 0

    seen: dict[LineKey, set[str]] = {}
    result: list[ClassifiedLine] = []
    findings: list[Finding] = []
    for line, digest in hashed:
        key = (line.provider, line.line_id)
        earlier = seen.setdefault(key, set())
        if digest in earlier:
            outcome = LineOutcome.DUPLICATE
            findings.append(
                Finding(
                    kind=FindingKind.DUPLICATE_LINE,
                    message=(
                        f"line {line.line_id} of {line.provider} appears twice in the batch "
                        "with the same content; the repeat is not counted"
                    ),
                    line_id=line.line_id,
                )
            )
        else:
            earlier.add(digest)
            position = distinct[key].index(digest) + 1
            if position <= applied[key]:
                outcome = LineOutcome.UNCHANGED
            elif key in current or position > 1:
                outcome = LineOutcome.REVISED
            else:
                outcome = LineOutcome.NEW
        result.append(ClassifiedLine(line, outcome, digest))
    newest = {key: contents[-1] for key, contents in distinct.items()}
    return Classification(tuple(result), tuple(findings), newest)
