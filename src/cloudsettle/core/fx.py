"""The FX table: direct rates only, newest on or before a date (spec: Currency)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class FxRate:
    """Units of ``to_currency`` for one unit of ``from_currency`` on ``day``.

    Attributes:
      day: the date the rate is valid from.
      from_currency: the line's currency.
      to_currency: the statement's currency.
      rate: exact rate, e.g. ``Decimal('7.1234')`` for USD to CNY.
    """

    day: date
    from_currency: str
    to_currency: str
    rate: Decimal


class FxTable:
    """Looks up the newest direct rate dated on or before a day."""

    def __init__(self, rates: Iterable[FxRate] = ()) -> None:
        by_pair: dict[tuple[str, str], dict[date, Decimal]] = {}
        for r in rates:
            by_pair.setdefault((r.from_currency, r.to_currency), {})[r.day] = r.rate
        self._days = {pair: sorted(days) for pair, days in by_pair.items()}
        self._rates = by_pair

    def rate(self, from_currency: str, to_currency: str, on: date) -> Decimal | None:
        """The rate for converting ``from_currency`` to ``to_currency`` on ``on``, or None.

        The same currency converts at 1. Inverse and cross rates are never used.
        """
        if from_currency == to_currency:
            return Decimal(1)
        days = self._days.get((from_currency, to_currency))
        if not days:
            return None
        i = bisect.bisect_right(days, on)
        if i == 0:
            return None
        return self._rates[(from_currency, to_currency)][days[i - 1]]

    def entries(self) -> list[FxRate]:
        """Every rate the table holds (the last one given per pair and day), for the bulk
        engine, which loads them into a table of its own."""
        return [FxRate(day, pair[0], pair[1], rate)
                for pair, by_day in sorted(self._rates.items()) for day, rate in sorted(by_day.items())]
