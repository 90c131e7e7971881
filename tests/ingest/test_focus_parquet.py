"""The FOCUS Parquet reader: the same lines as the CSV reader, RowErrors, bounded memory.

Parquet fixtures are written here with pyarrow from the CSV fixtures, with the
cost columns as decimal128, double or string and the time columns as text,
UTC timestamps, zoned timestamps or naive wall times in the provider's home
zone. No Python float is made: doubles come from Arrow's own string cast.
"""

from __future__ import annotations

import csv
import dataclasses
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from cloudsettle.core.lines import BillingLine, ChargeCategory
from cloudsettle.core.money import D
from cloudsettle.ingest.errors import RowError, UnknownFormatError
from cloudsettle.ingest.focus import iter_focus_csv
from cloudsettle.ingest.focus_parquet import iter_focus_parquet
from cloudsettle.ingest.parsing import home_zone, parse_timestamp, provider_key

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parents[1] / "golden" / "cases"
SAMPLE = Path("/work/shared/data/focus-sample/focus_sample.csv")
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="FOCUS sample not present")

COST_COLUMNS = frozenset({
    "BilledCost", "ListCost", "ContractedCost", "EffectiveCost", "x_VoucherAmount", "x_TaxAmount",
})
TIME_COLUMNS = frozenset({
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "x_PaidAt",
})

Costs = Literal["decimal", "double", "string"]
Times = Literal["string", "utc", "zoned", "naive"]


def _null(text: str) -> str | None:
    return None if text.strip() in ("", "NULL") else text


def csv_to_parquet(source: Path, target: Path, *, costs: Costs, times: Times) -> Path:
    """The CSV fixture as Parquet with the given column types (strings elsewhere)."""
    with source.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    header, body = rows[0], rows[1:]
    zones = [home_zone(provider_key(row[header.index("ProviderName")])) for row in body]
    arrays = []
    for i, name in enumerate(header):
        texts = [row[i] for row in body]
        if name in COST_COLUMNS and costs == "decimal":
            arrays.append(pa.array([None if (t := _null(x)) is None else D(t) for x in texts],
                                   type=pa.decimal128(38, 12)))
        elif name in COST_COLUMNS and costs == "double":
            arrays.append(pc.cast(pa.array([_null(x) for x in texts], pa.string()), pa.float64()))
        elif name in TIME_COLUMNS and times != "string":
            instants = [
                None if (t := _null(x)) is None else parse_timestamp(t, zone)
                for x, zone in zip(texts, zones, strict=True)
            ]
            if times == "naive":
                walls = [
                    None if v is None else v.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
                    for v, zone in zip(instants, zones, strict=True)
                ]
                arrays.append(pa.array(walls, type=pa.timestamp("us")))
            else:
                tz = "UTC" if times == "utc" else "Asia/Shanghai"
                arrays.append(pa.array(instants, type=pa.timestamp("us", tz=tz)))
        else:
            arrays.append(pa.array(texts, type=pa.string()))
    pq.write_table(pa.Table.from_arrays(arrays, names=header), target)
    return target


def _items(path: Path) -> list[tuple[int, BillingLine | RowError]]:
    if path.suffix == ".parquet":
        return list(iter_focus_parquet(path, source_name="f"))
    return list(iter_focus_csv(path, source_name="f"))


def _lines(path: Path) -> list[BillingLine]:
    items = _items(path)
    errors = [i for _, i in items if isinstance(i, RowError)]
    assert errors == []
    return [i for _, i in items if isinstance(i, BillingLine)]


def _without_id(line: BillingLine) -> BillingLine:
    return dataclasses.replace(line, line_id="")


GOLDEN_FILES = sorted(GOLDEN.glob("*/lines-*.csv"))[:6]


@pytest.mark.parametrize("costs", ["decimal", "double", "string"])
@pytest.mark.parametrize("times", ["string", "utc", "zoned", "naive"])
@pytest.mark.parametrize("source", GOLDEN_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parquet_gives_the_csv_lines(tmp_path: Path, source: Path, costs: Costs, times: Times) -> None:
    expected = _lines(source)
    parquet = csv_to_parquet(source, tmp_path / "f.parquet", costs=costs, times=times)
    got = _lines(parquet)
    assert got == expected  # x_LineId given: identical lines, ids included
    assert [g.extras for g in got] == [e.extras for e in expected]


@pytest.mark.parametrize("costs", ["decimal", "double", "string"])
@pytest.mark.parametrize("times", ["utc", "zoned", "naive"])
def test_extended_fixture_typed_columns(tmp_path: Path, costs: Costs, times: Times) -> None:
    """Mixed naive and zoned text times and a hashed id: typed Parquet gives the same lines; a
    hashed line_id is over the cell text, so it differs from a CSV copy's once times are typed."""
    source = DATA / "focus12_extended.csv"
    expected = _lines(source)
    got = _lines(csv_to_parquet(source, tmp_path / "f.parquet", costs=costs, times=times))
    assert [_without_id(g) for g in got] == [_without_id(e) for e in expected]
    assert [g.line_id for g in got if not g.line_id.startswith("h:")] == [
        e.line_id for e in expected if not e.line_id.startswith("h:")
    ]


def test_string_typed_parquet_gives_identical_hashed_ids(tmp_path: Path) -> None:
    source = DATA / "focus12_extended.csv"
    expected = _lines(source)
    got = _lines(csv_to_parquet(source, tmp_path / "f.parquet", costs="string", times="string"))
    assert got == expected
    assert any(line.line_id.startswith("h:") for line in got)


def test_amounts_are_exact_per_cost_type(tmp_path: Path) -> None:
    source = DATA / "focus12_extended.csv"
    for costs in ("decimal", "double", "string"):
        lines = _lines(csv_to_parquet(source, tmp_path / f"{costs}.parquet", costs=costs, times="utc"))
        first = lines[0]
        assert (first.list_amount, first.discount_amount, first.billed_amount) == (
            D("100.00"), D("20.00"), D("80.00")
        ), costs
        assert (first.voucher_amount, first.tax_amount) == (D("5.00"), D("4.80")), costs


def test_naive_parquet_time_is_read_in_the_providers_home_zone(tmp_path: Path) -> None:
    table = _one_row_table(
        ChargePeriodStart=pa.array([datetime(2025, 1, 1, 0, 0)], pa.timestamp("us")),
        ChargePeriodEnd=pa.array([datetime(2025, 1, 1, 1, 0)], pa.timestamp("ns")),
        BillingPeriodStart=pa.array([datetime(2025, 1, 1).date()], pa.date32()),
    )
    pq.write_table(table, tmp_path / "f.parquet")
    [(number, line)] = list(iter_focus_parquet(tmp_path / "f.parquet"))
    assert number == 1
    assert isinstance(line, BillingLine)
    # Tencent's home zone is Asia/Shanghai: midnight there is 16:00 UTC the day before.
    assert line.charge_start == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)
    assert line.charge_end == datetime(2024, 12, 31, 17, 0, tzinfo=UTC)
    assert line.billing_period == datetime(2025, 1, 1).date()


def test_dictionary_strings_and_float32_costs(tmp_path: Path) -> None:
    table = _one_row_table(
        ProviderName=pa.array(["Tencent Cloud"]).dictionary_encode(),
        BilledCost=pc.cast(pa.array(["0.1"]), pa.float32()),
        ListCost=pc.cast(pa.array(["0.3"]), pa.float32()),
    )
    pq.write_table(table, tmp_path / "f.parquet")
    [(_, line)] = list(iter_focus_parquet(tmp_path / "f.parquet"))
    assert isinstance(line, BillingLine)
    assert line.provider == "tencent"
    # float32 0.1 is 0.100000001490116...; Arrow's shortest text for its width is "0.1".
    assert (line.billed_amount, line.list_amount) == (D("0.1"), D("0.3"))


def _one_row_table(**columns: pa.Array) -> pa.Table:
    base: dict[str, pa.Array] = {
        "ProviderName": pa.array(["Tencent Cloud"]),
        "BillingAccountId": pa.array(["payer"]),
        "SubAccountId": pa.array(["100001"]),
        "BillingCurrency": pa.array(["CNY"]),
        "BillingPeriodStart": pa.array(["2025-01-01 00:00:00"]),
        "ChargeCategory": pa.array(["Usage"]),
        "ChargePeriodStart": pa.array(["2025-01-01 00:00:00"]),
        "ChargePeriodEnd": pa.array(["2025-01-01 01:00:00"]),
        "BilledCost": pa.array(["1.00"]),
        "x_LineId": pa.array(["L1"]),
    }
    base.update(columns)
    return pa.table(base)


# --- bad cells ----------------------------------------------------------------------------


def test_bad_cells_are_row_errors_like_the_csv(tmp_path: Path) -> None:
    source = DATA / "bad_values.csv"
    parquet = csv_to_parquet(source, tmp_path / "bad_values.parquet", costs="string", times="string")
    got = list(iter_focus_parquet(parquet))
    csv_items = [i for _, i in iter_focus_csv(source, source_name="bad_values.csv")]
    parquet_items = [i for _, i in got]
    assert len(parquet_items) == len(csv_items)
    for mine, theirs in zip(parquet_items, csv_items, strict=True):
        if isinstance(theirs, RowError):
            assert isinstance(mine, RowError)
            # Parquet numbers rows from 1 (no header row); CSV's first data row is 2.
            assert (mine.row_number, mine.column, mine.value, mine.message) == (
                theirs.row_number - 1, theirs.column, theirs.value, theirs.message
            )
            assert mine.file_name == "bad_values.parquet"
        else:
            assert mine == theirs
    assert any(isinstance(i, RowError) for i in parquet_items)
    assert any(isinstance(i, BillingLine) for i in parquet_items)


def test_a_bad_cell_is_a_row_error_and_reading_goes_on(tmp_path: Path) -> None:
    table = pa.table({
        "ProviderName": ["AWS"] * 3,
        "BillingAccountId": ["1111"] * 3,
        "BillingCurrency": ["USD"] * 3,
        "BillingPeriodStart": ["2024-09-01"] * 3,
        "ChargeCategory": ["Usage", "Usage", "Consumption"],
        "ChargePeriodStart": ["2024-09-18T22:00:00Z"] * 3,
        "ChargePeriodEnd": ["2024-09-18T23:00:00Z"] * 3,
        "BilledCost": pc.cast(pa.array(["1.5", "nan", "2"]), pa.float64()),
        "x_LineId": ["a", "b", "c"],
    })
    pq.write_table(table, tmp_path / "costs.parquet")
    items = list(iter_focus_parquet(tmp_path / "costs.parquet"))
    assert [n for n, _ in items] == [1, 2, 3]
    first, second, third = (i for _, i in items)
    assert isinstance(first, BillingLine)
    assert first.billed_amount == D("1.5")
    assert first.charge_category is ChargeCategory.USAGE
    assert isinstance(second, RowError)
    assert second == RowError("costs.parquet", 2, "BilledCost", "nan", second.message)
    assert isinstance(third, RowError)
    assert (third.row_number, third.column, third.value) == (3, "ChargeCategory", "Consumption")


def test_not_focus_is_refused_whole(tmp_path: Path) -> None:
    pq.write_table(pa.table({"Cost": ["1.00"], "Account": ["a"]}), tmp_path / "other.parquet")
    with pytest.raises(UnknownFormatError) as caught:
        next(iter_focus_parquet(tmp_path / "other.parquet"))
    assert caught.value.file_name == "other.parquet"
    assert "BilledCost" in caught.value.missing


@needs_sample
def test_public_sample_as_parquet(tmp_path: Path) -> None:
    expected = _lines(SAMPLE)
    same = _lines(csv_to_parquet(SAMPLE, tmp_path / "s.parquet", costs="string", times="string"))
    assert same == expected
    typed = _lines(csv_to_parquet(SAMPLE, tmp_path / "t.parquet", costs="decimal", times="utc"))
    assert [_without_id(t) for t in typed] == [_without_id(e) for e in expected]
    assert len({t.line_id for t in typed}) == 1000


# --- streaming ----------------------------------------------------------------------------


@pytest.mark.slow
def test_rows_stream_with_bounded_memory(tmp_path: Path) -> None:
    # 80,000 lines held at once would be about 75 MiB of Python objects (963 bytes a line,
    # measured): more than twice the bound.
    n = 80_000
    path = tmp_path / "big.parquet"
    start = datetime(2025, 1, 1, tzinfo=UTC)
    writer_schema = pa.schema([
        ("x_LineId", pa.string()),
        ("ProviderName", pa.string()),
        ("BillingAccountId", pa.string()),
        ("SubAccountId", pa.string()),
        ("BillingCurrency", pa.string()),
        ("BillingPeriodStart", pa.timestamp("us", tz="UTC")),
        ("ChargeCategory", pa.string()),
        ("ChargePeriodStart", pa.timestamp("us", tz="UTC")),
        ("ChargePeriodEnd", pa.timestamp("us", tz="UTC")),
        ("BilledCost", pa.decimal128(38, 12)),
        ("ListCost", pa.decimal128(38, 12)),
        ("ServiceName", pa.string()),
    ])
    chunk = 20_000
    with pq.ParquetWriter(path, writer_schema) as writer:
        for offset in range(0, n, chunk):
            ids = [f"L-{i:07d}" for i in range(offset, offset + chunk)]
            hours = [start + timedelta(hours=i % 700) for i in range(offset, offset + chunk)]
            writer.write_table(pa.table({
                "x_LineId": ids,
                "ProviderName": ["Huawei Cloud"] * chunk,
                "BillingAccountId": ["hw-partner"] * chunk,
                "SubAccountId": [f"cust-{i % 97}" for i in range(offset, offset + chunk)],
                "BillingCurrency": ["CNY"] * chunk,
                "BillingPeriodStart": pa.array([datetime(2024, 12, 31, 16, tzinfo=UTC)] * chunk,
                                               pa.timestamp("us", tz="UTC")),
                "ChargeCategory": ["Usage"] * chunk,
                "ChargePeriodStart": pa.array(hours, pa.timestamp("us", tz="UTC")),
                "ChargePeriodEnd": pa.array([h + timedelta(hours=1) for h in hours],
                                            pa.timestamp("us", tz="UTC")),
                "BilledCost": pc.cast(pa.array(["0.012345678901"] * chunk), pa.decimal128(38, 12)),
                "ListCost": pc.cast(pa.array(["0.020000000000"] * chunk), pa.decimal128(38, 12)),
                "ServiceName": ["ECS"] * chunk,
            }, schema=writer_schema))
    del ids, hours

    count = 0
    total = D(0)
    last = 0
    arrow_peak = 0
    began = time.perf_counter()
    tracemalloc.start()
    try:
        for number, item in iter_focus_parquet(path):
            assert isinstance(item, BillingLine)
            count += 1
            total += item.billed_amount
            last = number
            if number % 4096 == 0:
                arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - began
    assert (count, last) == (n, n)
    assert total == D("0.012345678901") * n
    assert peak < 32 * 1024 * 1024, f"Python peak {peak / 2**20:.1f} MiB"
    assert arrow_peak < 64 * 1024 * 1024, f"Arrow peak {arrow_peak / 2**20:.1f} MiB"
    # seen here at 200k rows: about 7 MiB Python and 3 MiB Arrow; 48 s under tracemalloc, 6 s without
    assert elapsed < 400, f"{elapsed:.0f} s for {n} rows"
