"""The YAML file's schema (spec: config.md, "The YAML file"), as pydantic models.

One model per section item, every one with ``extra="forbid"`` so a misspelt
key is refused rather than silently ignored. Values are strict: enums take
exactly the spec's words, booleans only ``true``/``false``, integers only
integers, dates only dates (or ISO ``YYYY-MM-DD`` text), and every amount or
rate is an exact ``Decimal`` read from a string or from the reader's exact
decimals, never from a float, an exponent or a NaN.

Pydantic checks each value; the rules that relate several values (a fee has
one of ``percent``/``fixed``, bands ascend, a biweekly cycle needs its anchor,
...) are the ``problems()`` methods, which return ``(location, message)``
pairs so an error can name the exact key, e.g. ``tiers.bands[1].from``.
``to_core()`` turns a checked model into the core's frozen dataclasses.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import ErrorDetails

from cloudsettle.config_file.errors import Loc
from cloudsettle.config_file.yaml_reader import RefusedScalar
from cloudsettle.core.agreements import (
    MATCH_KEYS,
    Agreement,
    AgreementMode,
    AgreementVersion,
    Band,
    Base,
    Basis,
    Clawback,
    Fee,
    FxDate,
    Rounding,
    RoundingLevel,
    Rule,
    TierMethod,
    Tiers,
)
from cloudsettle.core.fx import FxRate
from cloudsettle.core.money import RoundingMode
from cloudsettle.core.parties import Customer, Deal, Partner, Verification
from cloudsettle.core.periods import Cycle

#: A location relative to the model that reports it, and what is wrong there.
Problem = tuple[Loc, str]

_DECIMAL_TEXT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_DATE_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# --- value types ---------------------------------------------------------------------------


def _refused(value: object) -> None:
    if isinstance(value, RefusedScalar):
        raise ValueError(f"{value.text!r}: {value.reason}")


def _to_decimal(value: object) -> Decimal:
    """An exact decimal from text, an int or an exact Decimal; never from a float."""
    _refused(value)
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, not a boolean")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value}: not a finite number")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            raise ValueError(
                f"{value!r} is not a plain decimal number (digits with an optional point; "
                "no exponent, NaN or Infinity)"
            )
        return Decimal(value)
    # A float never gets here from the reader; refuse it whatever its source.
    raise ValueError(f"expected a decimal number as a string, not {type(value).__name__}")


def _non_negative(value: object) -> Decimal:
    result = _to_decimal(value)
    if result < 0:
        raise ValueError(f"must not be negative, got {result}")
    return result


def _positive(value: object) -> Decimal:
    result = _to_decimal(value)
    if result <= 0:
        raise ValueError(f"must be greater than 0, got {result}")
    return result


def _to_date(value: object) -> date:
    """A calendar date, from a YAML date or ISO ``YYYY-MM-DD`` text."""
    _refused(value)
    if isinstance(value, datetime):
        raise ValueError(f"expected a date (YYYY-MM-DD), not a date and time: {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        if _DATE_TEXT.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ValueError(f"{value!r} is not a valid date (YYYY-MM-DD)")
    raise ValueError(f"expected a date (YYYY-MM-DD), not {type(value).__name__}")


def _to_name(value: object) -> str:
    """An identifier: a non-empty string without surrounding spaces."""
    _refused(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, not {type(value).__name__}; quote the value")
    if not value or value != value.strip():
        raise ValueError(f"{value!r} must be non-empty, without leading or trailing spaces")
    return value


def _to_currency(value: object) -> str:
    """An ISO 4217 code: three upper-case letters."""
    text = _to_name(value)
    if not _CURRENCY.match(text):
        raise ValueError(f"{text!r} is not an ISO 4217 currency code (three upper-case letters)")
    return text


def _to_timezone(value: object) -> str:
    """An IANA time zone name that this installation knows."""
    text = _to_name(value)
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not an IANA time zone name (e.g. Asia/Shanghai)") from None
    return text


#: Any exact decimal that is 0 or more (rates, uplifts, amounts).
Amount = Annotated[Decimal, PlainValidator(_non_negative)]
#: An exact decimal above 0 (FX rates).
PositiveAmount = Annotated[Decimal, PlainValidator(_positive)]
DateValue = Annotated[date, PlainValidator(_to_date)]
Name = Annotated[str, PlainValidator(_to_name)]
Currency = Annotated[str, PlainValidator(_to_currency)]
TimeZone = Annotated[str, PlainValidator(_to_timezone)]
Names = Annotated[list[Name], Field(min_length=1)]


class SectionModel(BaseModel):
    """Base of every model of the file: unknown keys are refused, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True,
                              validate_by_name=False)

    def problems(self) -> list[Problem]:
        """Rules that tie several keys together; none unless a model says so."""
        return []

    @classmethod
    def partial_problems(cls, raw: object) -> list[Problem]:
        """Cross-key problems of the parts of ``raw`` that are valid on their own, for an
        item that failed its value checks (so one bad key does not hide the rest)."""
        return []


def _window_problem(valid_from: date | None, valid_to: date | None) -> list[Problem]:
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        return [(("valid_to",), f"must be after valid_from ({valid_from.isoformat()})")]
    return []


def _duplicates(values: list[str], key: str, what: str) -> list[Problem]:
    """``(index, key)`` problems for each value already seen earlier in ``values``."""
    first: dict[str, int] = {}
    found: list[Problem] = []
    for i, value in enumerate(values):
        if value in first:
            found.append(((i, key), f"duplicate {what} {value!r} (first at [{first[value]}])"))
        else:
            first[value] = i
    return found


def _prefixed(prefix: Loc, problems: list[Problem]) -> list[Problem]:
    return [(prefix + loc, message) for loc, message in problems]


# --- partners, customers, deals, fx ----------------------------------------------------------


class PayoutModel(SectionModel):
    """``partners[].payout``: bank details, kept apart from the partner (stored encrypted)."""

    iban: StrictStr | None = None
    bic: StrictStr | None = None
    account_name: StrictStr | None = None

    def to_dict(self) -> dict[str, str]:
        """The details that are set, as a plain dict."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class PartnerModel(SectionModel):
    """One item of ``partners``."""

    id: Name
    name: StrictStr
    currency: Currency
    verification: Verification = Verification.UNVERIFIED
    minimum_payout: Amount = Decimal(0)
    payout: PayoutModel | None = None

    def to_core(self) -> Partner:
        """The core partner (payout details are not part of it)."""
        return Partner(self.id, self.name, self.currency, self.verification, self.minimum_payout)


class CustomerModel(SectionModel):
    """One item of ``customers``: a provider account."""

    provider: Name
    account_id: Name
    name: StrictStr = ""
    segment: StrictStr = ""

    def to_core(self) -> Customer:
        """The core customer."""
        return Customer(self.provider, self.account_id, self.name, self.segment)


class DealModel(SectionModel):
    """One item of ``deals``: whose spend is paid to whom, under which agreement."""

    id: Name
    partner: Name
    provider: Name
    account_id: Name
    agreement: Name
    valid_from: DateValue
    valid_to: DateValue | None = None
    services: Names | None = None

    def problems(self) -> list[Problem]:
        """The window ``[valid_from, valid_to)`` must not be empty."""
        return _window_problem(self.valid_from, self.valid_to)

    def to_core(self) -> Deal:
        """The core deal."""
        services = frozenset(self.services) if self.services is not None else None
        return Deal(self.id, self.partner, self.provider, self.account_id, self.agreement,
                    self.valid_from, self.valid_to, services)


class FxRateModel(SectionModel):
    """One item of ``fx_rates``: units of ``to`` for one unit of ``from`` from ``date`` on."""

    day: DateValue = Field(alias="date")
    from_currency: Currency = Field(alias="from")
    to_currency: Currency = Field(alias="to")
    rate: PositiveAmount

    def problems(self) -> list[Problem]:
        """A currency converts to itself at 1; a row for it is a mistake."""
        if self.from_currency == self.to_currency:
            return [(("to",), f"a rate from {self.from_currency} to itself is always 1")]
        return []

    def to_core(self) -> FxRate:
        """The core FX rate."""
        return FxRate(self.day, self.from_currency, self.to_currency, self.rate)


# --- agreements ------------------------------------------------------------------------------


class MatchModel(SectionModel):
    """``rules[].match``: the line attributes a rule accepts (spec step 3)."""

    service: Names | None = None
    service_category: Names | None = None
    region: Names | None = None
    charge_category: Names | None = None
    billing_mode: Names | None = None
    project: Names | None = None
    customer_segment: Names | None = None

    def to_core(self) -> dict[str, frozenset[str]]:
        """Only the keys that are set."""
        return {k: frozenset(v) for k, v in self.model_dump().items() if v is not None}


# The core owns the list of match keys; this model must name exactly those.
if set(MatchModel.model_fields) != set(MATCH_KEYS):  # pragma: no cover - a development error
    raise RuntimeError("MatchModel fields differ from cloudsettle.core.agreements.MATCH_KEYS")


class RuleModel(SectionModel):
    """One item of a version's ordered ``rules``."""

    id: Name
    rate: Amount
    match: MatchModel | None = None
    valid_from: DateValue | None = None
    valid_to: DateValue | None = None

    def problems(self) -> list[Problem]:
        """A rule's window must not be empty."""
        return _window_problem(self.valid_from, self.valid_to)

    def to_core(self) -> Rule:
        """The core rule."""
        match = self.match.to_core() if self.match is not None else {}
        return Rule(self.id, self.rate, MappingProxyType(match), self.valid_from, self.valid_to)


class BandModel(SectionModel):
    """A tier band; the file's ``from`` is the core's ``start``."""

    start: Amount = Field(alias="from")
    uplift: Amount

    def to_core(self) -> Band:
        """The core band."""
        return Band(self.start, self.uplift)


class TiersModel(SectionModel):
    """``tiers``: volume bands and how they pay (spec step 4)."""

    method: TierMethod
    bands: list[BandModel] = Field(min_length=1)

    def problems(self) -> list[Problem]:
        """Band starts must be strictly ascending."""
        found: list[Problem] = []
        for i in range(1, len(self.bands)):
            prev, this = self.bands[i - 1].start, self.bands[i].start
            if this <= prev:
                message = f"band starts must be strictly ascending: {this} is not above {prev}"
                found.append((("bands", i, "from"), message))
        return found

    def to_core(self) -> Tiers:
        """The core tiers."""
        return Tiers(self.method, tuple(b.to_core() for b in self.bands))


class FeeModel(SectionModel):
    """One item of ``fees``: exactly one of ``percent`` or ``fixed``."""

    id: Name
    percent: Amount | None = None
    fixed: Amount | None = None

    def problems(self) -> list[Problem]:
        """Exactly one of ``percent`` and ``fixed``."""
        if (self.percent is None) == (self.fixed is None):
            return [((), "a fee has exactly one of percent or fixed")]
        return []

    def to_core(self) -> Fee:
        """The core fee."""
        return Fee(self.id, self.percent, self.fixed)


class ClawbackModel(SectionModel):
    """``clawback``: the share of a refund taken back, and within how many days."""

    share: Amount = Decimal(1)
    window_days: Annotated[StrictInt, Field(ge=0)] | None = None

    def to_core(self) -> Clawback:
        """The core clawback settings."""
        return Clawback(self.share, self.window_days)


class RoundingModel(SectionModel):
    """``rounding``: mode and level (spec step 10)."""

    mode: RoundingMode = RoundingMode.HALF_UP
    level: RoundingLevel = RoundingLevel.STATEMENT

    def to_core(self) -> Rounding:
        """The core rounding settings."""
        return Rounding(self.mode, self.level)


class VersionModel(SectionModel):
    """One numbered version of an agreement; defaults are the spec's."""

    version: Annotated[StrictInt, Field(ge=1)]
    effective_from: DateValue
    currency: Currency
    timezone: TimeZone = "UTC"
    cycle: Cycle = Cycle.MONTHLY
    cycle_anchor: DateValue | None = None
    basis: Basis = Basis.BILLING_PERIOD
    base: Base = Base.NET
    include_tax: StrictBool = False
    prorate: StrictBool = False
    fx_date: FxDate = FxDate.CHARGE
    require_rule: StrictBool = False
    exclude_services: list[Name] = Field(default_factory=list)
    rules: list[RuleModel] = Field(default_factory=list)
    tiers: TiersModel | None = None
    cap: Amount | None = None
    floor: Amount | None = None
    fees: list[FeeModel] = Field(default_factory=list)
    clawback: ClawbackModel = ClawbackModel()
    rounding: RoundingModel = RoundingModel()

    def problems(self) -> list[Problem]:
        """Every rule that ties several keys of the version together."""
        found: list[Problem] = []
        if self.cycle is Cycle.BIWEEKLY and self.cycle_anchor is None:
            found.append((("cycle_anchor",), "required when cycle is biweekly"))
        if self.cycle is not Cycle.BIWEEKLY and self.cycle_anchor is not None:
            found.append((("cycle_anchor",), f"only for a biweekly cycle, not {self.cycle.value}"))
        if self.basis is Basis.BILLING_PERIOD and self.cycle in (Cycle.WEEKLY, Cycle.BIWEEKLY):
            found.append((("basis",), f"billing_period needs a monthly or quarterly cycle, "
                                      f"not {self.cycle.value}; use charge or payment"))
        if self.cap is not None and self.floor is not None and self.floor > self.cap:
            found.append((("floor",), f"must not be above cap ({self.cap})"))
        found += _prefixed(("rules",), _duplicates([r.id for r in self.rules], "id", "rule id"))
        for i, rule in enumerate(self.rules):
            found += _prefixed(("rules", i), rule.problems())
        if self.tiers is not None:
            found += _prefixed(("tiers",), self.tiers.problems())
        found += _prefixed(("fees",), _duplicates([f.id for f in self.fees], "id", "fee id"))
        for i, fee in enumerate(self.fees):
            found += _prefixed(("fees", i), fee.problems())
        return found

    def to_core(self) -> AgreementVersion:
        """The core version."""
        return AgreementVersion(
            version=self.version,
            effective_from=self.effective_from,
            currency=self.currency,
            rules=tuple(r.to_core() for r in self.rules),
            timezone=self.timezone,
            cycle=self.cycle,
            cycle_anchor=self.cycle_anchor,
            basis=self.basis,
            base=self.base,
            include_tax=self.include_tax,
            prorate=self.prorate,
            fx_date=self.fx_date,
            require_rule=self.require_rule,
            exclude_services=frozenset(self.exclude_services),
            tiers=self.tiers.to_core() if self.tiers is not None else None,
            cap=self.cap,
            floor=self.floor,
            fees=tuple(f.to_core() for f in self.fees),
            clawback=self.clawback.to_core(),
            rounding=self.rounding.to_core(),
        )


class AgreementModel(SectionModel):
    """One item of ``agreements``: a partner's contract and its versions."""

    id: Name
    partner: Name
    mode: AgreementMode = AgreementMode.LIVE
    versions: list[VersionModel] = Field(min_length=1)

    def problems(self) -> list[Problem]:
        """Version numbers are unique within the agreement; each version is consistent."""
        found = _prefixed(("versions",), _duplicates(
            [str(v.version) for v in self.versions], "version", "version number"))
        for i, version in enumerate(self.versions):
            found += _prefixed(("versions", i), version.problems())
        return found

    @classmethod
    def partial_problems(cls, raw: object) -> list[Problem]:
        """Each version that is valid by itself is still checked for cross-key problems."""
        versions = raw.get("versions") if isinstance(raw, dict) else None
        if not isinstance(versions, list):
            return []
        found: list[Problem] = []
        for i, item in enumerate(versions):
            try:
                version = VersionModel.model_validate(item)
            except ValidationError:
                continue
            found += _prefixed(("versions", i), version.problems())
        return found

    def to_core(self) -> Agreement:
        """The core agreement, versions oldest first."""
        versions = sorted((v.to_core() for v in self.versions),
                          key=lambda v: (v.effective_from, v.version))
        return Agreement(self.id, self.partner, tuple(versions), self.mode)


#: ``service_categories``: provider -> service name or code -> FOCUS service category.
ServiceCategories = dict[Name, dict[Name, Name]]

#: The list sections of the file, in the order they are checked, and their item models.
SECTIONS: dict[str, type[SectionModel]] = {
    "partners": PartnerModel,
    "customers": CustomerModel,
    "deals": DealModel,
    "agreements": AgreementModel,
    "fx_rates": FxRateModel,
}

#: Every top-level key the file may have.
TOP_LEVEL_KEYS: tuple[str, ...] = (*SECTIONS, "service_categories")


def _shown(value: object) -> str:
    if isinstance(value, RefusedScalar):
        return value.text
    return repr(value)


def error_message(error: ErrorDetails) -> str:
    """A pydantic error in the words of a person editing the file."""
    kind, value, loc = error["type"], error.get("input"), error["loc"]
    if isinstance(value, RefusedScalar):
        return f"{value.text!r}: {value.reason}"
    if kind == "extra_forbidden":
        if len(loc) >= 2 and loc[-2] == "match":
            return f"unknown match key; the keys are {', '.join(MATCH_KEYS)}"
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping of keys, got {_shown(value)}"
    if kind == "list_type":
        return f"expected a list, got {_shown(value)}"
    if kind == "string_type":
        return f"expected a string, got {_shown(value)}; quote the value"
    if isinstance(value, dict | list):
        return str(error["msg"])
    return f"{error['msg']}, got {_shown(value)}"
