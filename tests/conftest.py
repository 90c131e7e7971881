"""Test-wide guards: a float that reaches Decimal arithmetic fails the test. And Typer's
``CliRunner`` builds each app's Click command once per process, not once per invocation."""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pytest
import typer
import typer.testing
from typer._click import Command  # the Click that Typer vendors and builds commands of
from typer.main import get_command

pytest_plugins = ["tests.db_fixtures"]

#: Typer app -> its Click command, built once. ``CliRunner.invoke`` rebuilds the command from the
#: app on every call (65 ms for ``cloudsettle``'s, more than most commands take to run; the
#: suite invokes it thousands of times). A built command holds no state between invocations:
#: each one gets a fresh Click context, as in a new process.
_COMMANDS: dict[int, tuple[typer.Typer, Command]] = {}


def _command_once(app: typer.Typer) -> Command:
    built = _COMMANDS.get(id(app))
    if built is None or built[0] is not app:
        built = (app, get_command(app))
        _COMMANDS[id(app)] = built
    return built[1]


_TESTING = vars(typer.testing)  # the module's namespace, where ``invoke`` looks the builder up
assert _TESTING["_get_command"] is get_command, "typer.testing no longer builds commands this way"
_TESTING["_get_command"] = _command_once


@pytest.fixture(autouse=True)
def _trap_float_operation() -> Iterator[None]:
    """Trap ``decimal.FloatOperation`` in every test (house rule: no floats near money)."""
    context = decimal.getcontext()
    before = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    try:
        yield
    finally:
        context.traps[decimal.FloatOperation] = before
