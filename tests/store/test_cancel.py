"""Cancelling a long store operation leaves nothing visible and no temporary files."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from cloudsettle.core.money import D
from cloudsettle.store.feed import current_lines_parquet
from cloudsettle.store.lines import LineStore
from cloudsettle.store.progress import Cancelled, Tracker, run_statement
from tests.store.helpers import amounts, mk, stored_files, table


class CancelAfter(Tracker):
    """Cancels (or raises ``interrupt``) once ``parts`` part files were written."""

    def __init__(self, parts: int, interrupt: type[BaseException] | None = None) -> None:
        super().__init__()
        self.parts, self.written, self.interrupt = parts, 0, interrupt

    def advance(self, units: int) -> None:
        self.written += 1
        if self.written >= self.parts:
            if self.interrupt is not None:
                raise self.interrupt
            self.cancel.set()


def _month(n: int, amount: str = "1") -> list:
    return [mk(f"L{i:04d}", amount) for i in range(n)]


@pytest.fixture
def store(tmp_path: Path) -> LineStore:
    return LineStore(tmp_path / "lines", rows_per_part=10)


def test_cancel_mid_write_leaves_no_batch_and_no_temporary_files(store: LineStore) -> None:
    store.write_batch("1", table(*_month(5)))
    before = stored_files(store)
    tracker = CancelAfter(3)

    with pytest.raises(Cancelled):
        store.write_batch("2", table(*_month(100, "2")), tracker=tracker)

    assert tracker.written == 3  # it stopped between part files, not at the end
    assert store.committed_batches() == {"1"}
    assert stored_files(store) == before
    assert store.leftovers() == []
    assert list(store.work_dir.glob("spool-*")) == []
    assert amounts(store) == {f"L{i:04d}": (D("1"), 1, "1") for i in range(5)}
    store.write_batch("2", table(*_month(100, "2")))  # the id is free: nothing was committed
    assert len(amounts(store)) == 100


def test_ctrl_c_mid_write_cleans_up_and_goes_on_up(store: LineStore) -> None:
    with pytest.raises(KeyboardInterrupt):
        store.write_batch("1", table(*_month(50)), tracker=CancelAfter(2, KeyboardInterrupt))

    assert store.committed_batches() == set()
    assert stored_files(store) == []
    assert store.leftovers() == []


def test_cancel_mid_statement_interrupts_duckdb_and_removes_its_file(tmp_path: Path) -> None:
    store = LineStore(tmp_path / "lines")
    target = tmp_path / "big.parquet"
    tracker = Tracker()
    timer = threading.Timer(0.3, tracker.cancel.set)  # noqa: float-ok - seconds
    con = store.connect()
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(Cancelled):
            run_statement(
                con,
                f"COPY (SELECT i, md5(i::VARCHAR) AS h FROM range(3000000000) r(i) ORDER BY h) TO '{target}'",
                tracker,
                on_abort=lambda: target.unlink(missing_ok=True),
                description="endless",
            )
    finally:
        timer.cancel()
        con.close()
    assert time.monotonic() - started < 10
    assert not target.exists()


def test_cancelled_materialization_leaves_no_file(store: LineStore, tmp_path: Path) -> None:
    store.write_batch("1", table(*_month(20)))
    tracker = Tracker()
    tracker.cancel.set()
    dest = tmp_path / "feed" / "oct.parquet"

    with pytest.raises(Cancelled):
        current_lines_parquet(store, "tencent", "2026-10", dest, tracker=tracker)

    assert list(dest.parent.iterdir()) == []


def test_the_progress_bar_shows_the_batch_and_its_lines(tmp_path: Path) -> None:
    out = io.StringIO()
    store = LineStore(tmp_path / "lines", rows_per_part=10)
    with Tracker(show=True, console=Console(file=out, width=100, force_terminal=False)) as tracker:
        store.write_batch("7", table(*_month(25)), tracker=tracker)
        current_lines_parquet(store, "tencent", "2026-10", tmp_path / "oct.parquet", tracker=tracker)
    shown = out.getvalue()
    assert "batch 7" in shown
    assert "25/25" in shown
    assert "current lines 2026-10" in shown
