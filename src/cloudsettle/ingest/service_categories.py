"""FOCUS ``ServiceCategory`` for Tencent Cloud and Huawei Cloud products.

Neither provider's console bill says which FOCUS category a product is in,
and agreement rules match on it (``match: {service_category: [Compute]}``).
So the product ships a table, ``ingest/data/service_categories.csv``
(columns ``provider, code, console_name, category``), keyed by the provider's
product code (``cvm``, ``hws.service.type.ec2``) and by every console name a
bill shows for it (Chinese and English). A reseller's configuration file may
add or override entries (``service_categories``: provider -> service name or
code -> category). Unknown products are ``Other``; a rule that must catch
them says so explicitly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

#: FOCUS 1.2 ``ServiceCategory`` values.
FOCUS_SERVICE_CATEGORIES: frozenset[str] = frozenset(
    {
        "AI and Machine Learning",
        "Analytics",
        "Business Applications",
        "Compute",
        "Databases",
        "Developer Tools",
        "Multicloud",
        "Identity",
        "Integration",
        "Internet of Things",
        "Management and Governance",
        "Media",
        "Migration",
        "Mobile",
        "Networking",
        "Security",
        "Storage",
        "Web",
        "Other",
    }
)

OTHER = "Other"

_DATA_FILE = "service_categories.csv"
_CANONICAL = {c.casefold(): c for c in FOCUS_SERVICE_CATEGORIES}


def _key(text: str) -> str:
    """Lookup key: case-insensitive, blanks collapsed (``云数据库  MySQL`` = ``云数据库 MySQL``)."""
    return " ".join(text.split()).casefold()


def _canonical_category(category: str, where: str) -> str:
    found = _CANONICAL.get(_key(category))
    if found is None:
        raise ValueError(
            f"{where}: {category!r} is not a FOCUS service category "
            f"(expected one of {', '.join(sorted(FOCUS_SERVICE_CATEGORIES))})"
        )
    return found


@dataclass(frozen=True, slots=True)
class CategoryEntry:
    """One row of the shipped table.

    Attributes:
      provider: ``tencent`` or ``huawei``.
      code: the provider's product code.
      console_name: a name the console or bill shows for the product.
      category: its FOCUS service category.
    """

    provider: str
    code: str
    console_name: str
    category: str


class CategoryMap:
    """Product code or console name -> FOCUS service category, per provider.

    Immutable: :meth:`with_overrides` returns a new map.
    """

    def __init__(
        self,
        table: Mapping[str, Mapping[str, str]],
        ascii_names: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._table: Mapping[str, Mapping[str, str]] = MappingProxyType(
            {provider: MappingProxyType(dict(names)) for provider, names in table.items()}
        )
        self._ascii: Mapping[str, Mapping[str, str]] = MappingProxyType(
            {provider: MappingProxyType(dict(names)) for provider, names in (ascii_names or {}).items()}
        )

    @classmethod
    def from_entries(cls, entries: Iterable[CategoryEntry]) -> CategoryMap:
        """Build a map from table rows; a name given two different categories is an error."""
        table: dict[str, dict[str, str]] = {}
        codes: dict[str, dict[str, str]] = {}
        english: dict[str, dict[str, str]] = {}
        for entry in entries:
            names = table.setdefault(entry.provider.casefold(), {})
            provider_codes = codes.setdefault(entry.provider.casefold(), {})
            if entry.console_name.isascii() and entry.console_name.strip():
                english.setdefault(entry.provider.casefold(), {}).setdefault(entry.code, entry.console_name)
            for name in (entry.code, entry.console_name):
                if name.strip():
                    provider_codes.setdefault(_key(name), entry.code)
            category = _canonical_category(entry.category, f"{entry.provider}/{entry.code}")
            for name in (entry.code, entry.console_name):
                if not name.strip():
                    continue
                key = _key(name)
                if names.get(key, category) != category:
                    raise ValueError(
                        f"{entry.provider}: {name!r} is mapped to both {names[key]} and {category}"
                    )
                names[key] = category
        ascii_names = {
            provider: {key: english.get(provider, {}).get(code, code) for key, code in keys.items()}
            for provider, keys in codes.items()
        }
        return cls(table, ascii_names)

    @classmethod
    def shipped(cls) -> CategoryMap:
        """The table shipped with cloudsettle (``ingest/data/service_categories.csv``)."""
        text = resources.files("cloudsettle.ingest").joinpath("data", _DATA_FILE).read_text("utf-8")
        return cls.from_entries(read_entries(text))

    def with_overrides(self, mapping: Mapping[str, Mapping[str, str]]) -> CategoryMap:
        """A copy with the configuration's ``service_categories`` laid over this map.

        Raises ``ValueError`` for a category that is not a FOCUS one: a typo
        there would silently move revenue between agreement rules.
        """
        table = {provider: dict(names) for provider, names in self._table.items()}
        for provider, names in mapping.items():
            target = table.setdefault(provider.casefold(), {})
            for name, category in names.items():
                target[_key(name)] = _canonical_category(category, f"service_categories.{provider}.{name}")
        return CategoryMap(table, self._ascii)

    def category(self, provider: str, code_or_name: str) -> str:
        """The FOCUS category of a product code or console name; ``Other`` if unknown.

        Tencent's API writes business codes as ``p_cvm``; the ``p_`` prefix is
        ignored when the full code is not listed.
        """
        names = self._table.get(provider.casefold())
        if not names:
            return OTHER
        key = _key(code_or_name)
        found = names.get(key)
        if found is None and key.startswith("p_"):
            found = names.get(key[2:])
        return found or OTHER

    def category_of(self, provider: str, code: str, name: str, seen: dict[tuple[str, str], str]) -> str:
        """The FOCUS category of ``code``, else of ``name`` (a bill row names its service both ways);
        remembered in ``seen`` per pair, which a reader keeps for one file."""
        key = (code, name)
        found = seen.get(key)
        if found is None:
            found = self.category(provider, code)
            if found == OTHER and name:
                found = self.category(provider, name)
            seen[key] = found
        return found

    def ascii_name(self, provider: str, code_or_name: str) -> str | None:
        """The product's English console name (else its code) for a code or any console name,
        or None when the product is not in the table. FOCUS 1.2 validators want ASCII names."""
        key = _key(code_or_name)
        names = self._ascii.get(provider.casefold(), {})
        return names.get(key) or (names.get(key[2:]) if key.startswith("p_") else None)

    def names(self, provider: str) -> frozenset[str]:
        """Every code and name known for ``provider`` (lookup keys, folded)."""
        return frozenset(self._table.get(provider.casefold(), {}))


def read_entries(text: str) -> list[CategoryEntry]:
    """Rows of a ``provider, code, console_name, category`` CSV text."""
    reader = csv.DictReader(io.StringIO(text))
    expected = ["provider", "code", "console_name", "category"]
    if reader.fieldnames != expected:
        raise ValueError(f"service category table: expected columns {expected}, found {reader.fieldnames}")
    return [
        CategoryEntry(
            row["provider"].strip(), row["code"].strip(), row["console_name"].strip(), row["category"].strip()
        )
        for row in reader
    ]
