"""Progress and cancellation for long line-store operations.

A batch write advances a :class:`Tracker` after each part file and
materializing current lines after each record batch, and both ask it whether
to stop; a single long DuckDB statement (a part file's ``COPY``) runs in a
worker thread (:func:`run_statement`) while the caller's thread waits, and is
interrupted when cancelled. Either way the operation removes what it had
written before raising :class:`Cancelled`, so a cancelled operation leaves
nothing visible (``docs/line-store.md``, "Progress and cancel").

Ctrl-C is a ``KeyboardInterrupt`` in the caller's thread: the same clean-up
runs and the interrupt goes on up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

#: How often (seconds) a waiting thread redraws a statement's progress.
POLL_SECONDS = 0.1  # noqa: float-ok - seconds, never money


class Cancelled(Exception):
    """The operation was cancelled between steps; nothing it started is visible."""


class Tracker:
    """Shows progress (a Rich bar when ``show``) and carries the cancel signal.

    Attributes:
      cancel: set it (from any thread, a signal handler, a web request) to stop
        the operation at its next step.
      show: draw a progress bar on ``console`` (stderr by default).
    """

    def __init__(
        self, *, cancel: threading.Event | None = None, show: bool = False, console: Console | None = None
    ) -> None:
        self.cancel = cancel or threading.Event()
        self.show = show
        self._console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, description: str, total: int | None) -> None:
        """Begin a step of ``total`` units (None: unknown)."""
        if not self.show:
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                TimeElapsedColumn(),
                console=self._console or Console(stderr=True),
                transient=False,
            )
            self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, units: int) -> None:
        """Count ``units`` more done."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, units)

    def update(self, completed: float, total: float) -> None:  # noqa: float-ok - a percentage
        """Set the step's position (a statement's percentage, say)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed, total=total)

    def check(self) -> None:
        """Raise :class:`Cancelled` when cancel was requested."""
        if self.cancel.is_set():
            raise Cancelled("cancelled; nothing of the operation was committed")

    def stop(self) -> None:
        """Close the bar."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def quiet() -> Tracker:
    """A tracker that shows nothing and is never cancelled (unless someone sets it)."""
    return Tracker()


def run_statement(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    tracker: Tracker,
    *,
    on_abort: Callable[[], None] = lambda: None,
    description: str | None = None,
) -> None:
    """Run one long statement on ``con`` in a worker thread, interrupting it when
    ``tracker.cancel`` is set or the caller gets Ctrl-C; with a ``description``, the
    statement's own percentage is drawn as a step.

    ``on_abort`` removes whatever the statement may have left (it runs after the
    statement has stopped); then :class:`Cancelled` (or the ``KeyboardInterrupt``)
    is raised.
    """
    tracker.check()
    if description is not None:
        tracker.start(description, 100)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)

    if description is not None:
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
    worker = threading.Thread(target=work, name="linestore-statement", daemon=True)
    worker.start()
    cancelled = False
    try:
        while worker.is_alive():
            worker.join(POLL_SECONDS)
            if tracker.cancel.is_set():
                cancelled = True
                break
            if description is not None and (done := con.query_progress()) >= 0:
                tracker.update(done, 100)
    except BaseException:  # Ctrl-C while waiting: stop the statement, clean up, go on up
        con.interrupt()
        worker.join()
        on_abort()
        raise
    if cancelled:
        con.interrupt()
        worker.join()
        on_abort()
        tracker.check()
    if description is not None:
        con.execute("SET enable_progress_bar = false")
    if failure:
        on_abort()
        raise failure[0]
    if description is not None:
        tracker.update(100, 100)
