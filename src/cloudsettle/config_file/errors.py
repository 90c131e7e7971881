"""Why a configuration file is refused: :class:`ConfigIssue` and :class:`ConfigError`.

A file is refused whole, so the loader collects every problem it can find
before raising one :class:`ConfigError` that lists them all. This is the only
exception the package raises for bad input; a bug is any other exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: A path into the document: section names, keys and list indexes.
Loc = tuple[str | int, ...]


def format_path(loc: Iterable[str | int]) -> str:
    """Render a location the way users read it: ``agreements[0].versions[1].rules[2].rate``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem of a configuration file.

    Attributes:
      path: where it is, e.g. ``agreements[0].versions[1].rules[2].rate``; empty
        when the problem is the file itself (unreadable, not YAML).
      message: a sentence for the person who wrote the file.
      line: the 1-based line of the file where the path starts, when known.
    """

    path: str
    message: str
    line: int | None = None

    def render(self, source: str | None = None) -> str:
        """``example.yaml:12: agreements[0].id: required key is missing``."""
        where = source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.path, self.message) if p]
        return ": ".join(parts)


class ConfigError(ValueError):
    """A configuration document was refused; ``errors`` holds every problem found."""

    def __init__(self, errors: Sequence[ConfigIssue], *, source: str | None = None) -> None:
        self.errors: list[ConfigIssue] = list(errors)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(issue.render(self.source) for issue in self.errors)
