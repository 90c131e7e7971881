"""The ``operations`` YAML section: schedules, deadlines and alert channels.

Read from ``--config``, else ``$CLOUDSETTLE_OPS_CONFIG``, else
``<workspace>/operations.yaml``. Secrets (SMTP password, webhook HMAC secret)
are never in the file: it names the environment variables that hold them.
See docs/operations.md for the format.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cloudsettle.core.money import D
from cloudsettle.ops.schedule import DEADLINE_STEPS, Deadline, Schedule

CONFIG_ENV = "CLOUDSETTLE_OPS_CONFIG"
CONFIG_FILE_NAME = "operations.yaml"


class OpsConfigError(ValueError):
    """The operations configuration is not valid (bad usage)."""


@dataclass(frozen=True)
class EmailChannel:
    """SMTP delivery; the password is read from ``password_env`` when set."""

    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class WebhookChannel:
    """JSON POST signed with HMAC-SHA256; the secret is read from ``secret_env``."""

    url: str
    secret_env: str
    timeout_seconds: int = 10


@dataclass(frozen=True)
class AlertSettings:
    """Channels, digest mode and rule thresholds."""

    digest: bool = False
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None
    validation_failure_rate: Decimal = field(default_factory=lambda: D("0.05"))
    reconciliation_variance: Decimal = field(default_factory=lambda: D("1.00"))


@dataclass(frozen=True)
class OpsConfig:
    """The whole ``operations`` section."""

    zone: str = "UTC"
    schedules: tuple[Schedule, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    deadline_warning: timedelta = timedelta(days=1)
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def schedule(self, name: str) -> Schedule:
        """The schedule called ``name``."""
        for s in self.schedules:
            if s.name == name:
                return s
        raise OpsConfigError(f"no schedule named {name!r}")


def _time(value: Any, where: str) -> time:
    text = str(value)
    try:
        hours, minutes = (int(p) for p in text.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise OpsConfigError(f"{where}: {text!r} is not a time like 06:00") from exc


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OpsConfigError(f"{where}: expected a mapping")
    return value


def _zone(value: Any, where: str) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OpsConfigError(f"{where}: unknown time zone {value!r}") from exc
    return str(value)


def _schedule(raw: Mapping[str, Any], zone: str, index: int) -> Schedule:
    where = f"operations.schedules[{index}]"
    known = {"name", "job", "at", "days", "every_minutes", "zone"}
    try:
        name, kind = str(raw["name"]), str(raw["job"])
    except KeyError as exc:
        raise OpsConfigError(f"{where}: needs {exc.args[0]!r}") from exc
    at = raw.get("at", [])
    days = raw.get("days", [])
    if days == "all":
        days = []
    try:
        return Schedule(
            name=name,
            kind=kind,
            zone=_zone(raw.get("zone", zone), where),
            at=tuple(_time(t, where) for t in ([at] if isinstance(at, str) else at)),
            days=tuple(int(d) for d in ([days] if isinstance(days, int) else days)),
            every_minutes=int(raw["every_minutes"]) if raw.get("every_minutes") else None,
            params={k: v for k, v in raw.items() if k not in known},
        )
    except (TypeError, ValueError) as exc:
        raise OpsConfigError(f"{where}: {exc}") from exc


def parse_config(document: Mapping[str, Any]) -> OpsConfig:
    """The ``operations`` section of a parsed YAML document."""
    section = _mapping(document.get("operations"), "operations")
    zone = _zone(section.get("zone", "UTC"), "operations.zone")
    schedules = tuple(
        _schedule(_mapping(raw, "operations.schedules"), zone, i)
        for i, raw in enumerate(section.get("schedules") or [])
    )
    names = [s.name for s in schedules]
    if len(names) != len(set(names)):
        raise OpsConfigError("operations.schedules: names must be unique")
    dl = _mapping(section.get("deadlines"), "operations.deadlines")
    deadlines = []
    for step in DEADLINE_STEPS:
        if step in dl:
            item = _mapping(dl[step], f"operations.deadlines.{step}")
            deadlines.append(
                Deadline(step, int(item["day"]), _time(item.get("at", "23:59"), f"deadlines.{step}"))
            )
    al = _mapping(section.get("alerts"), "operations.alerts")
    email = _mapping(al.get("email"), "operations.alerts.email")
    hook = _mapping(al.get("webhook"), "operations.alerts.webhook")
    thresholds = _mapping(al.get("thresholds"), "operations.alerts.thresholds")
    alerts = AlertSettings(
        digest=bool(al.get("digest", False)),
        email=EmailChannel(
            host=str(email.get("host", "localhost")),
            port=int(email.get("port", 25)),
            sender=str(email["from"]),
            to=tuple(str(t) for t in email["to"]),
            starttls=bool(email.get("starttls", False)),
            username=email.get("username"),
            password_env=email.get("password_env"),
        )
        if email
        else None,
        webhook=WebhookChannel(
            url=str(hook["url"]),
            secret_env=str(hook.get("secret_env", "CLOUDSETTLE_WEBHOOK_SECRET")),
            timeout_seconds=int(hook.get("timeout_seconds", 10)),
        )
        if hook
        else None,
        validation_failure_rate=D(str(thresholds.get("validation_failure_rate", "0.05"))),
        reconciliation_variance=D(str(thresholds.get("reconciliation_variance", "1.00"))),
    )
    return OpsConfig(
        zone=zone,
        schedules=schedules,
        deadlines=tuple(deadlines),
        deadline_warning=timedelta(days=int(dl.get("warn_days", 1))),
        alerts=alerts,
    )


def config_path(option: str | Path | None, workspace: Path, env: Mapping[str, str] | None = None) -> Path:
    """``--config``, else ``$CLOUDSETTLE_OPS_CONFIG``, else ``<workspace>/operations.yaml``."""
    environ = os.environ if env is None else env
    return Path(option or environ.get(CONFIG_ENV) or workspace / CONFIG_FILE_NAME)


def load_config(path: Path) -> OpsConfig:
    """Read and check the file; a missing file is an empty configuration."""
    if not path.is_file():
        return OpsConfig()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise OpsConfigError(f"{path}: {exc}") from exc
    return parse_config(_mapping(document, str(path)))
