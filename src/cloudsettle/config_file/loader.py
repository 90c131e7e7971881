"""Load the YAML configuration file into core objects, all of it or nothing.

The steps, each collecting problems instead of stopping at the first:

1. read the YAML strictly (exact decimals, no floats, no repeated keys);
2. check the top level: a mapping of known sections, each a list;
3. check every item of every section with its schema model, then the rules
   that tie an item's keys together (``problems()``);
4. check the file as a whole: unique ids, deals and agreements that name
   partners and agreements that exist (in the file or in ``known_*``), and a
   deal's partner that matches its agreement's.

Any problem raises one :class:`ConfigError` listing every problem with its
path (``agreements[0].versions[1].rules[2].rate``) and line; nothing partial
is ever returned.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from cloudsettle.config_file.errors import ConfigError, ConfigIssue, Loc, format_path
from cloudsettle.config_file.schema import (
    SECTIONS,
    TOP_LEVEL_KEYS,
    AgreementModel,
    CustomerModel,
    DealModel,
    FxRateModel,
    PartnerModel,
    Problem,
    SectionModel,
    ServiceCategories,
    error_message,
)
from cloudsettle.config_file.yaml_reader import RefusedScalar, YamlDocument, read_yaml
from cloudsettle.core.agreements import Agreement
from cloudsettle.core.fx import FxRate
from cloudsettle.core.parties import Customer, Deal, Partner

__all__ = ["ConfigBundle", "ConfigError", "ConfigIssue", "load_config", "load_config_text"]

_M = TypeVar("_M", bound=SectionModel)



def _empty() -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({})

_SERVICE_CATEGORIES: TypeAdapter[ServiceCategories] = TypeAdapter(ServiceCategories)


@dataclass(frozen=True, slots=True)
class ConfigBundle:
    """Everything one configuration file holds, as core objects.

    Attributes:
      partners, customers, deals, agreements, fx_rates: in file order.
      payouts: partner id -> payout details (``iban``, ``bic``, ``account_name``)
        for the partners that have them; kept apart from :class:`Partner` because
        they are stored encrypted, and left out of ``repr`` so they stay out of logs.
      service_categories: provider -> service name or code -> FOCUS category,
        overriding the shipped mapping table.
    """

    partners: tuple[Partner, ...] = ()
    customers: tuple[Customer, ...] = ()
    deals: tuple[Deal, ...] = ()
    agreements: tuple[Agreement, ...] = ()
    fx_rates: tuple[FxRate, ...] = ()
    payouts: Mapping[str, Mapping[str, str]] = field(default_factory=_empty, repr=False)
    service_categories: Mapping[str, Mapping[str, str]] = field(default_factory=_empty)


def load_config(
    source: str | Path,
    *,
    known_partners: Collection[str] = (),
    known_agreements: Collection[str] = (),
) -> ConfigBundle:
    """Load the configuration file at ``source``.

    ``known_partners`` and ``known_agreements`` are ids that already exist (in
    the control store), so a file may add a deal to an agreement loaded
    earlier. Raises :class:`ConfigError` when the file cannot be read or is
    refused.
    """
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issue = ConfigIssue("", f"cannot read the file: {exc}")
        raise ConfigError([issue], source=str(source)) from exc
    return load_config_text(text, name=str(source), known_partners=known_partners,
                            known_agreements=known_agreements)


def load_config_text(
    text: str,
    *,
    name: str = "<config>",
    known_partners: Collection[str] = (),
    known_agreements: Collection[str] = (),
) -> ConfigBundle:
    """Load configuration from YAML ``text``; ``name`` prefixes every error line."""
    try:
        document = read_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_issue(exc)], source=name) from exc
    check = _Check(document)
    bundle = check.bundle(set(known_partners), set(known_agreements))
    if check.issues:
        raise ConfigError(check.sorted_issues(), source=name)
    return bundle


class _Check:
    """Walks one document and collects its problems."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.issues: list[ConfigIssue] = []

    def add(self, loc: Loc, message: str) -> None:
        self.issues.append(ConfigIssue(format_path(loc), message, self.document.line_of(loc)))

    def sorted_issues(self) -> list[ConfigIssue]:
        """Issues in file order (stable for issues on one line)."""
        return sorted(self.issues, key=lambda issue: issue.line or 0)

    def bundle(self, known_partners: set[str], known_agreements: set[str]) -> ConfigBundle:
        data = self.document.data
        if data is None:
            return ConfigBundle()
        if not isinstance(data, dict):
            self.add((), f"the file must be a mapping of sections ({', '.join(TOP_LEVEL_KEYS)})")
            return ConfigBundle()
        sections = ", ".join(TOP_LEVEL_KEYS)
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.add((str(key),), f"unknown section; the sections are {sections}")

        raw = {name: self._section(data, name) for name in SECTIONS}
        partners = self._items(raw["partners"], "partners", PartnerModel)
        customers = self._items(raw["customers"], "customers", CustomerModel)
        deals = self._items(raw["deals"], "deals", DealModel)
        agreements = self._items(raw["agreements"], "agreements", AgreementModel)
        fx_rates = self._items(raw["fx_rates"], "fx_rates", FxRateModel)
        categories = self._service_categories(data.get("service_categories"))

        self._unique(raw["partners"], "partners", ("id",), "partner id")
        self._unique(raw["customers"], "customers", ("provider", "account_id"), "customer")
        self._unique(raw["deals"], "deals", ("id",), "deal id")
        self._unique(raw["agreements"], "agreements", ("id",), "agreement id")
        self._unique(raw["fx_rates"], "fx_rates", ("date", "from", "to"), "FX rate for")

        # Ids written in the file count as existing even when their item has
        # another problem, so one mistake is not reported twice.
        partner_ids = known_partners | _raw_values(raw["partners"], "id")
        agreement_ids = known_agreements | _raw_values(raw["agreements"], "id")
        partner_of = {a.id: a.partner for _, a in agreements}
        for i, agreement in agreements:
            if agreement.partner not in partner_ids:
                self.add(("agreements", i, "partner"), f"unknown partner {agreement.partner!r}")
        for i, deal in deals:
            if deal.partner not in partner_ids:
                self.add(("deals", i, "partner"), f"unknown partner {deal.partner!r}")
            if deal.agreement not in agreement_ids:
                self.add(("deals", i, "agreement"), f"unknown agreement {deal.agreement!r}")
            elif (deal.partner in partner_ids and deal.agreement in partner_of
                  and partner_of[deal.agreement] != deal.partner):
                self.add(("deals", i, "partner"),
                         f"partner {deal.partner!r} differs from the partner "
                         f"{partner_of[deal.agreement]!r} of agreement {deal.agreement!r}")

        if self.issues:
            return ConfigBundle()
        return ConfigBundle(
            partners=tuple(p.to_core() for _, p in partners),
            customers=tuple(c.to_core() for _, c in customers),
            deals=tuple(d.to_core() for _, d in deals),
            agreements=tuple(a.to_core() for _, a in agreements),
            fx_rates=tuple(r.to_core() for _, r in fx_rates),
            payouts=MappingProxyType({
                p.id: MappingProxyType(p.payout.to_dict()) for _, p in partners if p.payout
            }),
            service_categories=MappingProxyType(
                {k: MappingProxyType(dict(v)) for k, v in categories.items()}),
        )

    def _section(self, data: dict[Any, Any], name: str) -> list[Any]:
        value = data.get(name)
        if value is None:  # absent, or a heading whose items are all commented out
            return []
        if not isinstance(value, list):
            self.add((name,), "expected a list of items")
            return []
        return value

    def _items(self, items: list[Any], section: str, model: type[_M]) -> list[tuple[int, _M]]:
        """Each item checked by ``model`` then by its ``problems()``; the good ones, indexed."""
        good: list[tuple[int, _M]] = []
        for i, item in enumerate(items):
            try:
                checked = model.model_validate(item)
            except ValidationError as exc:
                for error in exc.errors():
                    self.add((section, i, *error["loc"]), error_message(error))
                for loc, message in model.partial_problems(item):
                    self.add((section, i, *loc), message)
                continue
            problems: list[Problem] = checked.problems()
            for loc, message in problems:
                self.add((section, i, *loc), message)
            if not problems:
                good.append((i, checked))
        return good

    def _service_categories(self, value: object) -> ServiceCategories:
        if value is None:
            return {}
        try:
            return _SERVICE_CATEGORIES.validate_python(value)
        except ValidationError as exc:
            for error in exc.errors():
                self.add(("service_categories", *error["loc"]), error_message(error))
            return {}

    def _unique(self, items: list[Any], section: str, keys: tuple[str, ...], what: str) -> None:
        """Report every item whose ``keys`` repeat an earlier item's."""
        first: dict[tuple[Any, ...], int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not all(_hashable(item.get(k)) for k in keys):
                continue
            ident = tuple(item.get(k) for k in keys)
            if any(v is None for v in ident):
                continue
            if ident in first:
                shown = " ".join(str(v) for v in ident)
                self.add((section, i, keys[-1]),
                         f"duplicate {what} {shown!r} (first at {section}[{first[ident]}])")
            else:
                first[ident] = i


def _yaml_issue(exc: yaml.YAMLError) -> ConfigIssue:
    """A YAML syntax or construction error, with its line."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        text = " ".join(p for p in (exc.context, exc.problem) if p)
        return ConfigIssue("", f"not valid YAML: {text}", line)
    return ConfigIssue("", f"not valid YAML: {exc}")


def _hashable(value: object) -> bool:
    return isinstance(value, str | int | RefusedScalar) or hasattr(value, "isoformat")


def _raw_values(items: list[Any], key: str) -> set[str]:
    return {i[key] for i in items if isinstance(i, dict) and isinstance(i.get(key), str)}
