"""Cell parsers shared by every provider adapter.

Provider files write numbers and times in many ways (``1,234.56``,
``(12.30)``, ``-``, ``2024/05/01 08:00:00``, ``2024-12-31T16:00:00Z``). Each
parser accepts a small, written-down set of forms and refuses anything else
with a ``ValueError`` that says what was expected: a reader turns that into a
:class:`~cloudsettle.ingest.errors.RowError` for the row instead of guessing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from cloudsettle.core.money import ZERO, D

#: Cells that mean "no amount" in provider files (Tencent writes ``-``).
_EMPTY_AMOUNTS = frozenset({"", "-", "NULL"})

_AMOUNT = re.compile(
    r"""
    (?P<open>\()?                      # accounting negative: (12.30)
    (?P<sign>[+-])?
    (?P<number>
        \d{1,3}(?:,\d{3})+(?:\.\d*)?   # 1,234.56 (commas only as thousands groups)
      | \d+(?:\.\d*)?                  # 1234.56, 12.
      | \.\d+                          # .5
    )
    (?P<exponent>[eE][+-]?\d+)?        # 1.2E-05, as some exporters write tiny costs
    (?P<close>\))?
    """,
    re.VERBOSE,
)

_AMOUNT_EXPECTED = (
    "expected a decimal number such as 1234.56, 1,234.56, -12.30 or (12.30), "
    "or empty, '-' or NULL for zero"
)


def parse_amount(text: str | None) -> Decimal:
    """Read a money cell exactly; empty, ``-`` and ``NULL`` are zero.

    >>> parse_amount("1,234.56"), parse_amount("(12.30)"), parse_amount(" - ")
    (Decimal('1234.56'), Decimal('-12.30'), Decimal('0'))
    """
    stripped = "" if text is None else text.strip()
    if stripped in _EMPTY_AMOUNTS:
        return ZERO
    plain = _plain_amount(stripped)
    if plain is not None:
        return plain
    match = _AMOUNT.fullmatch(stripped)
    if match is None or bool(match["open"]) != bool(match["close"]):
        raise ValueError(_AMOUNT_EXPECTED)
    if match["open"] and match["sign"]:
        raise ValueError(_AMOUNT_EXPECTED + "; a sign inside parentheses is ambiguous")
    number = D(match["number"].replace(",", "") + (match["exponent"] or ""))
    negative = match["open"] is not None or match["sign"] == "-"
    if negative:
        number = -number
    if number.is_zero():
        return number.copy_abs()  # "-0.00" is zero, not a negative amount
    return number


def _plain_amount(stripped: str) -> Decimal | None:
    """The common forms ``1234.56``, ``-12.30``, ``+5``, ``12.`` and ``.5`` (ASCII digits, at
    most one point, no commas, exponent or parentheses) read as :func:`parse_amount`'s general
    path reads them, without the regular expression (issue 6: a few amounts on every row);
    ``None`` for any other text, which the general path then reads or refuses."""
    sign = stripped[0]
    body = stripped[1:] if sign in "+-" else stripped
    if not (body.isascii() and body.replace(".", "", 1).isdigit()):
        return None
    number = Decimal(body)
    if sign == "-":
        number = -number
    if number.is_zero():
        return number.copy_abs()  # "-0.00" is zero, not a negative amount
    return number


_TIMESTAMP = re.compile(
    r"""
    (?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{2})(?P=sep)(?P<day>\d{2})
    (?:
        [T\ ]
        (?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
        \ ?(?P<zone>Z|z|[+-]\d{2}(?::?\d{2})?)?
    )?
    """,
    re.VERBOSE,
)

_TIMESTAMP_EXPECTED = (
    "expected a date-time such as 2024-05-01T08:00:00Z, 2024-05-01T08:00:00+08:00, "
    "2024-05-01 08:00:00, 2024/05/01 08:00:00 or a date 2024-05-01"
)


def parse_timestamp(text: str, home_zone: str) -> datetime:
    """Read a date-time cell into an aware UTC ``datetime``.

    A time with ``Z`` or an offset is taken as written; a time without a zone,
    and a plain date (its local midnight), are read in ``home_zone`` (spec:
    "Dates and time zones"). Fractions beyond microseconds are dropped.

    >>> parse_timestamp("2024-05-01 08:00:00", "Asia/Shanghai").isoformat()
    '2024-05-01T00:00:00+00:00'
    """
    return _parse_timestamp(text, home_zone)


@lru_cache(maxsize=16384)
def _parse_timestamp(text: str, home_zone: str) -> datetime:
    """Cached: billing files repeat the same hourly timestamps on many rows."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(_TIMESTAMP_EXPECTED)
    if match["sep"] == "/" and match["zone"]:
        raise ValueError(_TIMESTAMP_EXPECTED + "; a zone is only read on ISO 8601 forms")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        local = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int(fraction),
        )
    except ValueError as exc:
        raise ValueError(f"{_TIMESTAMP_EXPECTED}; {exc}") from exc
    zone = match["zone"]
    if zone is None:
        return local.replace(tzinfo=ZoneInfo(home_zone)).astimezone(UTC)
    return local.replace(tzinfo=_offset(zone)).astimezone(UTC)


def _offset(zone: str) -> timezone:
    """``Z``, ``+08``, ``+0800`` or ``+08:00`` as a fixed offset."""
    if zone in ("Z", "z"):
        return UTC
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"{_TIMESTAMP_EXPECTED}; bad zone offset {zone!r}")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if zone[0] == "-" else delta)


_NOT_ALNUM = re.compile(r"[\W_]+")


def provider_key(provider_name: str) -> str:
    """The line's ``provider`` key from a provider's name (spec: provider-files.md, FOCUS).

    A name containing "Tencent" is ``tencent``, one containing "Huawei" is
    ``huawei`` (both matched without regard to case); any other is the name in
    lower case with each run of characters other than letters and digits made
    one ``-``, trimmed of ``-`` at both ends.

    >>> provider_key("Amazon Web Services"), provider_key("Huawei Cloud")
    ('amazon-web-services', 'huawei')
    """
    folded = provider_name.casefold()
    if "tencent" in folded:
        return "tencent"
    if "huawei" in folded:
        return "huawei"
    key = _NOT_ALNUM.sub("-", provider_name.lower()).strip("-")
    if not key:
        raise ValueError(f"provider name {provider_name!r} has no letters or digits")
    return key


_HOME_ZONES = {"tencent": "Asia/Shanghai", "huawei": "Asia/Shanghai"}


def home_zone(provider: str) -> str:
    """The IANA zone a provider's zone-less times are written in: Asia/Shanghai for
    Tencent Cloud and Huawei Cloud, UTC for any other (spec: "Dates and time zones")."""
    return _HOME_ZONES.get(provider, "UTC")
