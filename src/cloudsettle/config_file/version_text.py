"""One agreement version as YAML text: read with the file's rules, written in the file's form.

The web editor holds a single version document, the mapping that sits under
an agreement's ``versions:`` in the configuration file. :func:`load_version_text`
checks it exactly as :func:`~cloudsettle.config_file.loader.load_config_text`
checks a version item (the strict reader, :class:`VersionModel`, then its
``problems()``), and reports every problem with its path relative to the
version (``rules[0].rate``) and its line in the text. :func:`version_yaml`
writes a version back in the file's layout, so an editor can start from the
text of the version in force: ``load_version_text(version_yaml(v)) == v``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml
from pydantic import ValidationError

from cloudsettle.config_file.codec import version_to_dict
from cloudsettle.config_file.errors import ConfigError, ConfigIssue, Loc, format_path
from cloudsettle.config_file.loader import _yaml_issue
from cloudsettle.config_file.schema import VersionModel, error_message
from cloudsettle.config_file.yaml_reader import read_yaml
from cloudsettle.core.agreements import AgreementVersion

__all__ = ["KEY_ORDER", "load_version_text", "version_yaml"]

#: The keys of a version in the order the file's documentation lists them.
KEY_ORDER: tuple[str, ...] = (
    "version", "effective_from", "currency", "timezone", "cycle", "cycle_anchor", "basis", "base",
    "include_tax", "prorate", "fx_date", "require_rule", "exclude_services", "rules", "tiers", "cap",
    "floor", "fees", "clawback", "rounding",
)
_SOURCE = "agreement version"


def load_version_text(text: str) -> AgreementVersion:
    """The version written in ``text``, or :class:`ConfigError` listing every problem.

    Each issue's path is relative to the version and its ``line`` is the line of
    ``text`` where the path starts (1-based), as the loader reports them.
    """
    try:
        document = read_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_issue(exc)], source=_SOURCE) from exc
    issues: list[ConfigIssue] = []

    def add(loc: Loc, message: str) -> None:
        issues.append(ConfigIssue(format_path(loc), message, document.line_of(loc)))

    if not isinstance(document.data, dict):
        add((), "expected the mapping of one agreement version (version, effective_from, currency, ...)")
        raise ConfigError(issues, source=_SOURCE)
    try:
        model = VersionModel.model_validate(document.data)
    except ValidationError as exc:
        for error in exc.errors():
            add(tuple(error["loc"]), error_message(error))
        raise ConfigError(_in_order(issues), source=_SOURCE) from exc
    for loc, message in model.problems():
        add(loc, message)
    if issues:
        raise ConfigError(_in_order(issues), source=_SOURCE)
    return model.to_core()


def _in_order(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return sorted(issues, key=lambda issue: issue.line or 0)


def version_yaml(version: AgreementVersion) -> str:
    """``version`` as the YAML of one version item: every key, in the documented order.

    Amounts are quoted strings of their exact value (never YAML floats), dates are
    plain ``YYYY-MM-DD``; a rule leaves out an empty ``match`` and unset validity dates.
    """
    canonical = version_to_dict(version)
    ordered: dict[str, Any] = {key: canonical[key] for key in KEY_ORDER}
    ordered["effective_from"] = version.effective_from
    ordered["cycle_anchor"] = version.cycle_anchor
    ordered["rules"] = [_rule(r) for r in canonical["rules"]]
    if canonical["tiers"] is not None:
        ordered["tiers"] = _Block(method=canonical["tiers"]["method"], bands=canonical["tiers"]["bands"])
    ordered["fees"] = [{k: v for k, v in fee.items() if v is not None} for fee in canonical["fees"]]
    ordered["clawback"] = {"share": canonical["clawback"]["share"],
                           "window_days": canonical["clawback"]["window_days"]}
    ordered["rounding"] = {"mode": canonical["rounding"]["mode"], "level": canonical["rounding"]["level"]}
    return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _rule(rule: dict[str, Any]) -> _Block:
    out = _Block(id=rule["id"])
    if rule["match"]:
        out["match"] = rule["match"]
    out["rate"] = rule["rate"]
    for key in ("valid_from", "valid_to"):
        if rule[key] is not None:
            out[key] = date.fromisoformat(rule[key])
    return out


class _Block(dict[str, Any]):
    """A mapping always written in block style (a rule: one key a line, easy to edit)."""


class _Dumper(yaml.SafeDumper):
    """Block style for the document and rules, flow style for small leaf mappings and lists."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    leaf = not isinstance(data, _Block) and all(not isinstance(v, dict | list) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=leaf or None)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    leaf = all(not isinstance(v, dict | list) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=leaf or None)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Numbers written as text ("0.08") stay quoted, in the file's double-quote style.
    style = '"' if data and (data[0].isdigit() or data[0] in "-+.") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(_Block, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)
