"""An agreement version as canonical JSON, and its fingerprint.

The control store keeps each version as the JSON of :func:`version_to_dict`
and refuses to change a version a statement already used by comparing
:func:`version_fingerprint` values, so the form must be canonical: one value,
one text.

- Keys are the YAML file's (``from`` for a band's start), every key is always
  written (``null`` when unset), and dicts are built with sorted keys.
- Decimals are strings of their exact value in plain digits, without an
  exponent and without trailing zeros: ``0.080`` and ``0.08`` are the same
  rate and give the same fingerprint; ``0.08`` and ``0.09`` never do.
- Dates are ISO ``YYYY-MM-DD``; enums are their values; sets (``match``
  values, ``exclude_services``) are sorted lists. Lists whose order means
  something (``rules``, first match wins; ``bands``; ``fees``) keep it.

:func:`version_from_dict` reads that form back through the same schema as the
YAML file, so ``version_from_dict(version_to_dict(v)) == v``.

Compatibility: a key added to versions later must be left out of the
canonical form while it holds its default, or every stored fingerprint would
change with the upgrade.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from cloudsettle.config_file.errors import ConfigError, ConfigIssue, format_path
from cloudsettle.config_file.schema import VersionModel, error_message
from cloudsettle.core.agreements import AgreementVersion, Fee, Rule, Tiers

__all__ = ["decimal_text", "version_fingerprint", "version_from_dict", "version_to_dict"]


def decimal_text(value: Decimal) -> str:
    """The canonical text of an exact decimal: plain digits, no exponent, no trailing zeros.

    >>> decimal_text(Decimal("0.080")), decimal_text(Decimal("1E+2")), decimal_text(Decimal("1E-8"))
    ('0.08', '100', '0.00000001')
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"expected a finite Decimal, not {value!r}")
    if value.is_zero():
        return "0"  # also for -0 and 0.00
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _opt_decimal(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def _opt_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sorted(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in sorted(d)}


def _rule(rule: Rule) -> dict[str, Any]:
    return _sorted({
        "id": rule.id,
        "rate": decimal_text(rule.rate),
        "match": {k: sorted(rule.match[k]) for k in sorted(rule.match)},
        "valid_from": _opt_date(rule.valid_from),
        "valid_to": _opt_date(rule.valid_to),
    })


def _tiers(tiers: Tiers | None) -> dict[str, Any] | None:
    if tiers is None:
        return None
    bands = [{"from": decimal_text(b.start), "uplift": decimal_text(b.uplift)} for b in tiers.bands]
    return {"bands": bands, "method": tiers.method.value}


def _fee(fee: Fee) -> dict[str, Any]:
    return {"fixed": _opt_decimal(fee.fixed), "id": fee.id, "percent": _opt_decimal(fee.percent)}


def version_to_dict(v: AgreementVersion) -> dict[str, Any]:
    """The canonical, JSON-able form of a version (see the module docstring)."""
    return _sorted({
        "version": v.version,
        "effective_from": v.effective_from.isoformat(),
        "currency": v.currency,
        "timezone": v.timezone,
        "cycle": v.cycle.value,
        "cycle_anchor": _opt_date(v.cycle_anchor),
        "basis": v.basis.value,
        "base": v.base.value,
        "include_tax": v.include_tax,
        "prorate": v.prorate,
        "fx_date": v.fx_date.value,
        "require_rule": v.require_rule,
        "exclude_services": sorted(v.exclude_services),
        "rules": [_rule(r) for r in v.rules],
        "tiers": _tiers(v.tiers),
        "cap": _opt_decimal(v.cap),
        "floor": _opt_decimal(v.floor),
        "fees": [_fee(f) for f in v.fees],
        "clawback": {"share": decimal_text(v.clawback.share),
                     "window_days": v.clawback.window_days},
        "rounding": {"level": v.rounding.level.value, "mode": v.rounding.mode.value},
    })


def version_from_dict(d: Mapping[str, Any]) -> AgreementVersion:
    """Read a version from its dict form, checked exactly as the YAML file's versions are.

    Raises :class:`ConfigError` with paths relative to the version
    (``rules[0].rate``).
    """
    try:
        model = VersionModel.model_validate(dict(d))
    except ValidationError as exc:
        raise ConfigError([ConfigIssue(format_path(e["loc"]), error_message(e))
                           for e in exc.errors()], source="agreement version") from exc
    problems = model.problems()
    if problems:
        raise ConfigError([ConfigIssue(format_path(loc), message) for loc, message in problems],
                          source="agreement version")
    return model.to_core()


def version_fingerprint(v: AgreementVersion) -> str:
    """sha256 (hex) of the canonical JSON of ``v``: equal versions, equal fingerprints."""
    text = json.dumps(version_to_dict(v), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
