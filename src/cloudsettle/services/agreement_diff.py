"""Two agreement versions side by side: a field-by-field diff and a unified text diff.

The structural diff compares the canonical documents of
:func:`~cloudsettle.config_file.codec.version_to_dict`, so a change in writing
(``0.080`` for ``0.08``, a reordered ``match`` list) is no change at all, and
every field is named by a path a reviewer reads without the YAML at hand:
rules and fees by their id (``rules[compute].rate``), so inserting a rule does
not show every later rule as changed; their order, which decides which rule
wins, is its own field (``rules (order)``). The text diff (``difflib``) of the
two versions' YAML is shown next to it for those who read the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["same", "changed", "added", "removed"]
#: Lists whose items are named by ``id``; their order is a field even when they are empty.
ID_LISTS = frozenset({"rules", "fees"})


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One field of the two versions.

    Attributes:
      path: e.g. ``rules[compute].rate``, ``tiers.bands[1].from``, ``clawback.window_days``.
      a, b: the field's value as text in each version; ``None`` when unset (``null``).
      status: ``same``, ``changed``, ``added`` (only in ``b``) or ``removed`` (only in ``a``).
    """

    path: str
    a: str | None
    b: str | None
    status: Status

    @property
    def section(self) -> str:
        """The top-level key the field belongs to (``rules``, ``tiers``, ``currency``)."""
        return self.path.split(".")[0].split("[")[0].split(" ")[0]


def flatten(document: Mapping[str, Any]) -> dict[str, str | None]:
    """Every leaf of a canonical version document by path, in document order."""
    out: dict[str, str | None] = {}
    for key, value in document.items():
        _walk(key, value, out)
    return out


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _walk(path: str, value: object, out: dict[str, str | None]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _walk(f"{path}.{key}", item, out)
    elif isinstance(value, list):
        if path in ID_LISTS or (value and all(isinstance(v, Mapping) and isinstance(v.get("id"), str)
                                              for v in value)):
            out[f"{path} (order)"] = ", ".join(v["id"] for v in value)
            for item in value:
                rest = {k: v for k, v in item.items() if k != "id"}
                _walk(f"{path}[{item['id']}]", rest, out)
        elif all(not isinstance(v, Mapping | list) for v in value):
            out[path] = ", ".join(str(_text(v)) for v in value)
        else:
            for i, item in enumerate(value):
                _walk(f"{path}[{i}]", item, out)
    else:
        out[path] = _text(value)


def diff_versions(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[FieldDiff]:
    """Every field of either document, in document order, with whether and how it changed
    (a field only one side has, unset there, is left out: ``null`` against nothing)."""
    fa, fb = flatten(a), flatten(b)
    order = list(fa)
    previous: str | None = None
    for path in fb:
        if path not in fa:
            order.insert(order.index(previous) + 1 if previous is not None else 0, path)
        previous = path
    out = []
    for path in order:
        if path not in fa:
            if fb[path] is not None:
                out.append(FieldDiff(path, None, fb[path], "added"))
        elif path not in fb:
            if fa[path] is not None:
                out.append(FieldDiff(path, fa[path], None, "removed"))
        else:
            status: Status = "same" if fa[path] == fb[path] else "changed"
            out.append(FieldDiff(path, fa[path], fb[path], status))
    return out


def unified_text(a_text: str, b_text: str, *, a_label: str, b_label: str) -> list[str]:
    """The unified diff of two YAML texts (no lines when they are equal)."""
    return list(difflib.unified_diff(a_text.splitlines(), b_text.splitlines(),
                                     fromfile=a_label, tofile=b_label, lineterm=""))


def changed(diffs: Sequence[FieldDiff]) -> list[FieldDiff]:
    """Only the fields that differ."""
    return [d for d in diffs if d.status != "same"]
