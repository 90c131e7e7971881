"""Progress bars for long commands (Rich), on stderr and only on a terminal.

A month of bills can take minutes to ingest; the bar says which file, how many
rows and how fast. Ctrl-C stops between rows: the command rolls the file's unit of
work back and says so (see ``cloudsettle ingest``). A settle says which stage it is
in; Ctrl-C rolls the whole run back (``cloudsettle settle``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

#: Called with the rows read so far.
RowsRead = Callable[[int], None]


@contextmanager
def ingest_progress(console: Console) -> Iterator[Callable[[str], RowsRead]]:
    """A factory of per-file progress callbacks, drawing one line per file while it runs."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:

        def for_file(name: str) -> RowsRead:
            task = bar.add_task(f"ingesting {name}", total=None, rate="")

            def rows_read(count: int) -> None:
                elapsed = bar.tasks[task].elapsed or 0.0  # noqa: float-ok (seconds, not money)
                rate = f"{count / elapsed:,.0f} rows/s" if elapsed > 0 else ""
                bar.update(task, completed=count, rate=rate)

            return rows_read

        yield for_file


@contextmanager
def settle_progress(console: Console, period: str) -> Iterator[Callable[[str], None]]:
    """A callback told each stage of a settle (and each SQL step of the bulk engine), drawing
    one line while it runs: which stage, and the time so far."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"settling {period}", total=None)

        def stage(name: str) -> None:
            bar.update(task, description=f"settling {period}: {name}")

        yield stage
