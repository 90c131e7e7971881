"""A strict YAML reader that never makes a float.

PyYAML's ``SafeLoader`` turns ``0.1`` into a binary float, which cannot hold
most decimal fractions exactly. :class:`StrictLoader` reads a YAML float from
its source text into an exact ``Decimal`` instead. Forms with no exact decimal
reading, or that are easy to mistype (``1.0e+3``, ``.nan``, ``.inf``,
sexagesimal ``1:30.5``), and integers that do not read as the decimal digits
they show (``010`` is octal in YAML 1.1, ``0x1F``, ``1:30``), become
:class:`RefusedScalar` values: the schema refuses them with the key's path,
so the reader itself never crashes on a value. Impossible dates
(``2026-02-30``) stay strings for the same reason. A repeated key in one
mapping is a YAML error (PyYAML would silently keep the last one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cloudsettle.config_file.errors import Loc

_PLAIN_DECIMAL = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)$")
_PLAIN_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class RefusedScalar:
    """A YAML number the reader will not turn into a value; the schema reports it.

    Attributes:
      text: the scalar as written in the file.
      reason: why it is refused, for the error message.
    """

    text: str
    reason: str

    def __str__(self) -> str:
        return self.text


class StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` with exact decimals, no floats, and no repeated keys."""

    def construct_yaml_float(self, node: ScalarNode) -> Any:
        """``0.1`` -> ``Decimal('0.1')`` from the source text; other float forms refused."""
        text = str(self.construct_scalar(node))
        plain = text.replace("_", "")
        if _PLAIN_DECIMAL.match(plain):
            return Decimal(plain)
        lowered = plain.lower()
        if "nan" in lowered or "inf" in lowered:
            return RefusedScalar(text, "not a finite number")
        if "e" in lowered:
            return RefusedScalar(text, "exponent notation is not accepted; write the digits")
        return RefusedScalar(text, "not a plain decimal number")

    def construct_yaml_int(self, node: ScalarNode) -> Any:
        """Plain decimal integers only: ``010`` (octal), ``0x1F`` and ``1:30`` are refused."""
        text = str(self.construct_scalar(node))
        plain = text.replace("_", "")
        if _PLAIN_INT.match(plain):
            return int(plain)
        return RefusedScalar(text, "ambiguous integer form (octal, hex or sexagesimal); quote it")

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        """A date or time; an impossible one (``2026-02-30``) stays text for the schema."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return str(self.construct_scalar(node))

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse a key written twice in one mapping."""
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node)
                try:
                    repeated = key in seen
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if repeated:
                    raise ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key!r}", key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A read document: its Python value and its node tree (for line numbers).

    Attributes:
      data: the constructed value (``None`` for an empty file).
      root: the composed node tree, ``None`` for an empty file.
    """

    data: Any
    root: Node | None

    def line_of(self, loc: Loc) -> int | None:
        """The 1-based line where ``loc`` is written, or of its deepest existing parent."""
        node = self.root
        if node is None:
            return None
        line: int = node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def _child(node: Node, part: str | int) -> Node | None:
    if isinstance(node, SequenceNode) and isinstance(part, int):
        items: list[Node] = node.value
        return items[part] if 0 <= part < len(items) else None
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                # Point at the key for scalars (where people look), else at the block.
                return key_node if isinstance(value_node, ScalarNode) else value_node
    return None


def read_yaml(text: str) -> YamlDocument:
    """Parse one YAML document strictly; raises ``yaml.YAMLError`` on bad YAML."""
    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return YamlDocument(data, root)
