"""The line store on a local folder: layout, round trip, revisions, immutability, crash safety."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from cloudsettle.compute.arrow import LINE_SCHEMA
from cloudsettle.core.money import D
from cloudsettle.store import lines as lines_module
from cloudsettle.store.feed import current_lines_parquet
from cloudsettle.store.ingest import lines_table
from cloudsettle.store.lines import BatchExists, LineStore, StoreError
from tests.store.helpers import amounts, current, mk, stored_files, table


@pytest.fixture
def store(tmp_path: Path) -> LineStore:
    return LineStore(tmp_path / "lines")


def test_a_batch_round_trips_every_field_in_its_partition(store: LineStore, tmp_path: Path) -> None:
    lines = [
        mk(
            "b",
            "12.345678901234",
            discount_amount="-0.000000000001",
            extras={"tag": "x", "é": "ü"},
            paid_at=datetime(2026, 10, 5, 3, 4, 5, 678901, tzinfo=UTC),
            region="ap-guangzhou",
        ),
        mk("a", "-7.5", original_line_id="b", is_correction=True, currency="USD"),
        mk("c", "1", month="2026-09-01", start="2026-09-30"),
    ]
    manifest = store.write_batch("1", table(*lines))

    assert (manifest.rows_in, manifest.written, manifest.unchanged, manifest.tombstones) == (3, 3, 0, 0)
    assert stored_files(store) == [
        "provider=tencent/period=2026-09/batch=1/part-00000.parquet",
        "provider=tencent/period=2026-10/batch=1/part-00000.parquet",
    ]
    got = store.current_lines_arrow("tencent", "2026-10")
    expected = lines_table(sorted(lines[:2], key=lambda x: x.line_id))
    assert got.select([*LINE_SCHEMA.names, "extras"]).equals(expected)
    assert got.column("revision").to_pylist() == [1, 1]
    assert got.column("batch_id").to_pylist() == ["1", "1"]
    assert [r["line_id"] for r in current(store, "2026-09")] == ["c"]
    # The files are plain Hive-partitioned Parquet: any reader gets the partition keys from the path.
    base = store.location.base
    files = f"{base}/provider=*/period=*/batch=*/*.parquet"
    hive = duckdb.sql(
        f"SELECT provider, period, batch::VARCHAR, count(*) "
        f"FROM read_parquet('{files}', hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert hive == [("tencent", "2026-09", "1", 1), ("tencent", "2026-10", "1", 2)]


def test_a_revised_line_in_a_later_batch_wins_and_the_old_revision_stays(store: LineStore) -> None:
    store.write_batch("1", table(mk("a", "10"), mk("b", "20")))
    second = store.write_batch("2", table(mk("a", "10"), mk("b", "25")))

    assert (second.written, second.unchanged) == (1, 1)
    assert amounts(store) == {"a": (D("10"), 1, "1"), "b": (D("25"), 2, "2")}
    everything = duckdb.sql(
        f"SELECT line_id, revision, list_amount FROM read_parquet({store.part_files()}) ORDER BY ALL"
    ).fetchall()
    assert everything == [("a", 1, D("10")), ("b", 1, D("20")), ("b", 2, D("25"))]


def test_an_unchanged_reingest_adds_nothing(store: LineStore) -> None:
    batch = table(mk("a", "10"), mk("b", "20", extras={"k": "v"}))
    store.write_batch("1", batch)
    files, before = stored_files(store), current(store)

    again = store.write_batch("2", batch)

    assert (again.rows_in, again.written, again.unchanged, again.parts) == (2, 0, 2, ())
    assert stored_files(store) == files
    assert current(store) == before
    assert store.committed_batches() == {"1", "2"}  # the batch is recorded, with nothing in it


def test_repeats_and_restatements_inside_one_batch_and_a_step_back(store: LineStore) -> None:
    first = store.write_batch("1", table(mk("a", "1"), mk("a", "2"), mk("a", "1"), mk("b", "5")))
    assert (first.written, first.duplicates, first.unchanged) == (3, 1, 0)
    assert amounts(store)["a"] == (D("2"), 2, "1")  # the later content of the batch wins

    # an old file read again after the restatement: its content is known, never a step back
    old = store.write_batch("2", table(mk("a", "1")))
    assert (old.written, old.unchanged) == (0, 1)
    assert amounts(store)["a"] == (D("2"), 2, "1")

    # an extras-only change is a change
    store.write_batch("3", table(mk("b", "5", extras={"note": "restated"})))
    assert amounts(store)["b"] == (D("5"), 2, "3")


def test_a_line_restated_into_another_period_leaves_the_old_one(store: LineStore) -> None:
    store.write_batch("1", table(mk("c", "5", month="2026-09-01"), mk("d", "1", month="2026-09-01")))
    moved = store.write_batch("2", table(mk("c", "6", month="2026-10-01")))

    assert moved.tombstones == 1
    assert [r["line_id"] for r in current(store, "2026-09")] == ["d"]
    assert amounts(store, "2026-10") == {"c": (D("6"), 2, "2")}
    # and back again: the September partition shows it once more, October no longer
    store.write_batch("3", table(mk("c", "7", month="2026-09-01")))
    assert sorted(r["line_id"] for r in current(store, "2026-09")) == ["c", "d"]
    assert current(store, "2026-10") == []


def test_a_batch_is_written_once(store: LineStore) -> None:
    store.write_batch("1", table(mk("a", "10")))
    files = {p: Path(store.location.base, p).read_bytes() for p in stored_files(store)}

    with pytest.raises(BatchExists):
        store.write_batch("1", table(mk("a", "99")))
    with pytest.raises(BatchExists):
        store.begin_batch("1")

    assert {p: Path(store.location.base, p).read_bytes() for p in stored_files(store)} == files
    assert amounts(store) == {"a": (D("10"), 1, "1")}
    assert store.leftovers() == []


def test_a_crash_between_moving_files_and_the_manifest_leaves_no_visible_batch(
    store: LineStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_batch("1", table(mk("a", "10")))
    with store.begin_batch("2") as builder:
        builder.add(table(mk("a", "11"), mk("b", "3")))
        staged = builder.stage()
    assert any(p.startswith("_staging/") for p in stored_files(store))  # staged: written, not visible
    assert amounts(store) == {"a": (D("10"), 1, "1")}

    def crash(path: str, text: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(store, "_put_text", crash)
    with pytest.raises(OSError, match="disk gone"):
        staged.commit()
    monkeypatch.undo()

    assert "provider=tencent/period=2026-10/batch=2/part-00000.parquet" in stored_files(store)
    assert store.committed_batches() == {"1"}
    assert amounts(store) == {"a": (D("10"), 1, "1")}  # files without a manifest are not read
    with pytest.raises(BatchExists, match="recover"):
        store.write_batch("2", table(mk("a", "11")))
    left = [store.location.relative(p) for p in store.leftovers()]
    assert "provider=tencent/period=2026-10/batch=2" in left
    assert all(p.startswith(("_staging/", "provider=tencent/period=2026-10/batch=2")) for p in left)

    store.recover()
    assert store.leftovers() == []
    store.write_batch("2", table(mk("a", "11")))
    assert amounts(store) == {"a": (D("11"), 2, "2")}


def test_caller_numbered_revisions_must_climb(store: LineStore) -> None:
    rows = lines_table([mk("a", "1"), mk("b", "2")], revisions=[1, 3])
    store.write_batch("1", rows)
    assert amounts(store) == {"a": (D("1"), 1, "1"), "b": (D("2"), 3, "1")}

    with pytest.raises(StoreError, match="above the stored"):
        store.write_batch("2", lines_table([mk("b", "9")], revisions=[3]))
    assert store.committed_batches() == {"1"}
    assert store.leftovers() == []
    # with revisions given, the caller decides: an unchanged row is still written
    written = store.write_batch("3", lines_table([mk("a", "1")], revisions=[2]))
    assert written.written == 1


def test_bad_names_and_rows_are_refused(store: LineStore) -> None:
    with pytest.raises(StoreError, match="batch id"):
        store.begin_batch("../x")
    with pytest.raises(StoreError, match="period"):
        store.current_lines_arrow("tencent", "2026-13")
    bad = table(mk("a", "1")).set_column(1, "provider", pa.array(["../etc"], pa.string()))
    with pytest.raises(StoreError, match="provider name"):
        store.write_batch("1", bad)
    assert store.leftovers() == []
    assert store.committed_batches() == set()


def test_run_results_are_written_once_and_read_back(store: LineStore) -> None:
    results = pa.table(
        {
            "statement": pa.array([1, 1, 2], pa.int64()),
            "line_id": ["a", "b", "a"],
            "amount": pa.array([Decimal("0.80"), Decimal("1.25"), Decimal("-0.05")], pa.decimal128(38, 12)),
        }
    )
    assert store.write_run_results("17", results) == 3
    con = store.connect()
    try:
        back = store.run_results(con, "17").order("statement, line_id").to_arrow_table()
    finally:
        con.close()
    assert back.equals(results)
    assert stored_files(store) == ["runs/run=17/part-00000.parquet"]
    with pytest.raises(BatchExists):
        store.write_run_results("17", results)


def test_current_lines_parquet_feeds_line_schema(store: LineStore, tmp_path: Path) -> None:
    store.write_batch("1", table(mk("b", "2"), mk("a", "1"), mk("z", "9", provider="huawei")))
    store.write_batch("2", table(mk("a", "1.5")))

    path = current_lines_parquet(store, None, "2026-10", tmp_path / "out" / "oct.parquet")

    got = pa.parquet.read_table(path)
    assert got.schema.equals(LINE_SCHEMA)
    assert [(r["provider"], r["line_id"], r["list_amount"]) for r in got.to_pylist()] == [
        ("huawei", "z", D("9")),
        ("tencent", "a", D("1.5")),
        ("tencent", "b", D("2")),
    ]
    assert [p.name for p in path.parent.iterdir()] == ["oct.parquet"]


def test_a_batch_added_in_chunks_spools_to_disk_and_gives_the_same_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [mk(f"L{i}", str(i), extras={"i": str(i)}) for i in range(7)] + [mk("L1", "100")]
    in_memory = LineStore(tmp_path / "a")
    in_memory.write_batch("1", table(*rows))

    monkeypatch.setattr(lines_module, "SPOOL_ROWS", 3)
    spooled = LineStore(tmp_path / "b")
    seen: list[int] = []
    with spooled.begin_batch("1") as builder:
        for start in range(0, len(rows), 2):
            builder.add(table(*rows[start : start + 2]))
            seen.append(len(list(spooled.work_dir.glob("spool-*/in-*.parquet"))))
        staged = builder.stage()
    staged.commit()

    assert seen[-1] >= 2  # the chunks went to spool files on the way
    assert spooled.current_lines_arrow("tencent", "2026-10").equals(
        in_memory.current_lines_arrow("tencent", "2026-10")
    )
    assert amounts(spooled)["L1"] == (D("100"), 2, "1")
    assert spooled.leftovers() == []
