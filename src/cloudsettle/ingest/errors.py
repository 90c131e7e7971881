"""What can go wrong while reading a provider file.

Two kinds, on purpose different:

- :class:`RowError` is a *value*: one row that could not be read (bad number,
  bad date, missing value). Readers yield it in place of the line and go on
  with the next row, so one bad row never costs the rest of the file; it
  becomes a ``bad_row`` finding.
- :class:`UnknownFormatError` is an *exception*: the file's headers match no
  format we know, so nothing in it can be trusted and the whole file is
  refused, naming the headers expected and the ones found.
- :class:`UnreadableSourceError` is an *exception*: the file cannot be opened
  as one CSV text at all (a zip with no or several CSV members, a broken gzip
  stream); also refused whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cloudsettle.core.findings import Finding, FindingKind


@dataclass(frozen=True, slots=True)
class RowError:
    """One row of a file that could not be read.

    Attributes:
      file_name: the file's name as the user knows it.
      row_number: the row as a spreadsheet shows it: the header is row 1, the
        first data row is row 2.
      column: the column whose value is wrong (or a short description such as
        ``(extra cells)`` when the row's shape is wrong).
      value: the text found in that cell (empty when absent).
      message: what was expected, for a person.
    """

    file_name: str
    row_number: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file_name} row {self.row_number}, column {self.column}: "
            f"{self.message} (found {self.value!r})"
        )

    def to_finding(self) -> Finding:
        """The ``bad_row`` finding the workflow turns into a case."""
        return Finding(kind=FindingKind.BAD_ROW, message=str(self))


class UnknownFormatError(Exception):
    """A file whose headers match no known format; it is refused whole.

    Attributes:
      file_name: the file's name.
      expected: the headers the format needs.
      found: the headers the file has.
      missing: the expected headers that are not in the file (computed from
        ``expected`` and ``found`` unless the format says, e.g. for "one of").
    """

    def __init__(
        self,
        file_name: str,
        *,
        expected: Sequence[str],
        found: Sequence[str],
        detail: str = "",
        missing: Sequence[str] | None = None,
    ) -> None:
        self.file_name = file_name
        self.expected: tuple[str, ...] = tuple(expected)
        self.found: tuple[str, ...] = tuple(found)
        present = set(self.found)
        self.missing: tuple[str, ...] = (
            tuple(missing)
            if missing is not None
            else tuple(h for h in self.expected if h not in present)
        )
        message = (
            f"{file_name}: unknown file format"
            + (f" ({detail})" if detail else "")
            + f"; missing columns: {', '.join(self.missing) or '(none)'}"
            + f"; expected columns: {', '.join(self.expected)}"
            + f"; found columns: {', '.join(self.found) or '(none)'}"
        )
        super().__init__(message)


class UnreadableSourceError(Exception):
    """A file that cannot be opened as one CSV text; it is refused whole.

    Attributes:
      file_name: the file's name.
      reason: what is wrong, for a person (e.g. the members of a zip).
    """

    def __init__(self, file_name: str, reason: str) -> None:
        self.file_name = file_name
        self.reason = reason
        super().__init__(f"{file_name}: {reason}")
