"""Step 1 in SQL: local dates in the agreement's zone agree with Python's zoneinfo.

The bulk engine dates every instant with DuckDB's ICU time zones
(``timezone(tz, instant)``); the reference with ``zoneinfo``. Around DST
changes in New York and the UTC+8 midnight of Shanghai they must agree, or
lines would land in different periods.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from cloudsettle.compute.engine import connect
from cloudsettle.core.periods import local_date, local_midnight

INSTANTS = [
    datetime(2026, 3, 8, 6, 59, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # NY spring forward
    datetime(2026, 11, 1, 3, 59, tzinfo=UTC),
    datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # NY 00:00 EDT
    datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # NY fall back
    datetime(2026, 9, 30, 15, 59, 59, tzinfo=UTC),
    datetime(2026, 9, 30, 16, 0, tzinfo=UTC),  # Shanghai
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2027, 1, 1, tzinfo=UTC),
] + [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i) for i in range(1300)]
ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Sydney"]


@pytest.mark.parametrize("zone", ZONES)
def test_local_dates_agree_with_zoneinfo(zone: str) -> None:
    con = connect()
    con.register("t", pa.table({"i": pa.array(INSTANTS, pa.timestamp("us", tz="UTC"))}))
    days = [r[0] for r in con.execute("SELECT timezone(?, i)::DATE FROM t", [zone]).fetchall()]
    assert days == [local_date(i, zone) for i in INSTANTS]


@pytest.mark.parametrize("zone", ZONES)
def test_local_midnights_agree_with_zoneinfo(zone: str) -> None:
    con = connect()
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(400)]
    con.register("t", pa.table({"d": pa.array(days, pa.date32())}))
    got = con.execute("SELECT epoch_us(timezone(?, d::TIMESTAMP)) FROM t", [zone]).fetchall()
    want = [int(local_midnight(d, zone).timestamp()) * 1_000_000 for d in days]
    assert [r[0] for r in got] == want
