"""Replays every golden case through the real command line and compares statements.

The cases (``cases/*/case.yaml``) were computed by hand from the spec; the
format is in ``README.md`` beside this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.db.models import RunRow
from cloudsettle.db.session import make_engine

CASES = Path(__file__).parent / "cases"
DEFAULT_USERS = {"settle": "alice", "approve": "bob", "finalize": "bob", "adjust": "carol"}


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "case.yaml").is_file())


class Replay:
    """Runs one case's steps against a fresh workspace."""

    def __init__(self, case: Path, workspace: Path, database_url: str) -> None:
        self.case = case
        self.workspace = workspace
        self.env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "alice"}
        self.runner = CliRunner()

    def cli(self, *args: str, expect: int) -> str:
        result = self.runner.invoke(app, [*args, "--workspace", str(self.workspace)], env=self.env)
        assert result.exit_code == expect, (
            f"{self.case.name}: `cloudsettle {' '.join(args)}` exited {result.exit_code}, expected {expect}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
        )
        return result.stdout

    def step(self, step: dict[str, Any]) -> None:
        ((verb, arg),) = ((k, v) for k, v in step.items() if k != "exit")
        expect = int(step.get("exit", arg.get("exit", 0) if isinstance(arg, dict) else 0))
        if verb == "config":
            self.cli("config", "load", str(self.case / arg), expect=expect)
        elif verb == "ingest":
            files = [str(self.case / f) for f in (arg if isinstance(arg, list) else [arg])]
            self.cli("ingest", *files, "--provider", "focus", expect=expect)
        elif verb in ("settle", "approve", "finalize"):
            self.cli(verb, "--period", str(arg["period"]), *self._who(verb, arg), expect=expect)
        elif verb == "adjust":
            self.cli(
                "adjust",
                "--period",
                str(arg["period"]),
                "--amount",
                str(arg["amount"]),
                "--reason",
                arg["reason"],
                *self._who(verb, arg),
                expect=expect,
            )
        elif verb == "statement":
            args = [
                "statement",
                "--period",
                str(arg["period"]),
                "--partner",
                arg["partner"],
                "--format",
                "json",
            ]
            if "agreement" in arg:
                args += ["--agreement", arg["agreement"]]
            text = self.cli(*args, expect=expect)
            if "expect" in arg:
                expected = json.loads((self.case / arg["expect"]).read_text(encoding="utf-8"))
                compare(json.loads(text), expected, f"{self.case.name}/{arg['expect']}")
        elif verb == "no_statement":
            args = [
                "statement",
                "--period",
                str(arg["period"]),
                "--partner",
                arg["partner"],
                "--format",
                "json",
            ]
            if "agreement" in arg:
                args += ["--agreement", arg["agreement"]]
            self.cli(*args, expect=1)
        elif verb == "findings":
            found = {f["kind"] for f in json.loads(self.cli("findings", "--format", "json", expect=0))}
            missing = set(arg["kinds"]) - found
            assert not missing, f"{self.case.name}: open findings lack {missing}; have {found}"
        else:
            raise AssertionError(f"{self.case.name}: unknown step {verb}")

    def _who(self, verb: str, arg: dict[str, Any]) -> list[str]:
        out = ["--user", arg.get("user", DEFAULT_USERS[verb])]
        for key in ("partner", "agreement"):
            if key in arg:
                out += [f"--{key}", str(arg[key])]
        return out


def compare(actual: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    """Every key the expected document gives must match (README: expected/*.json)."""
    for key, want in expected.items():
        if key == "lines":
            compare_lines(actual["lines"], want, where)
        elif key == "exceptions":
            kinds = sorted(e["kind"] if isinstance(e, dict) else e for e in actual["exceptions"])
            assert kinds == sorted(want), f"{where}: exceptions {kinds} != {sorted(want)}"
        elif key == "components":
            got = {k: actual["components"][k] for k in want}
            assert got == want, f"{where}: components differ:\n got  {got}\n want {want}"
        else:
            assert actual.get(key) == want, f"{where}: {key} = {actual.get(key)!r}, expected {want!r}"


def compare_lines(actual: list[dict[str, Any]], expected: list[dict[str, Any]], where: str) -> None:
    """Lines match by (line_id, role[, rule]); exactly the expected lines, no more."""
    remaining = list(actual)
    for want in expected:
        candidates = [
            a
            for a in remaining
            if a["line_id"] == want["line_id"]
            and a["role"] == want.get("role", a["role"])
            and ("rule" not in want or a["rule"] == want["rule"])
        ]
        assert candidates, f"{where}: no line {want} among {remaining}"
        got = candidates[0]
        remaining.remove(got)
        for key, value in want.items():
            have = got.get(key)
            if key == "reasons":
                assert sorted(have or []) == sorted(value), (
                    f"{where}: {want['line_id']} reasons {have} != {value}"
                )
            else:
                assert have == value, f"{where}: line {want['line_id']} {key} = {have!r}, expected {value!r}"
    assert not remaining, f"{where}: unexpected lines {remaining}"


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_case(case: Path, tmp_path: Path, database_url: str) -> None:
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    replay = Replay(case, tmp_path / "ws", database_url)
    for step in spec["steps"]:
        replay.step(step)


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_case_on_the_bulk_engine(case: Path, tmp_path: Path) -> None:
    """The same case with ``cloudsettle settings set engine bulk``: steps 1–5 run in DuckDB
    behind every command (settle, approve's recalculation, finalize), and the statements
    must still be the hand-computed ones (SQLite; the engine does not touch the store)."""
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    replay = Replay(case, tmp_path / "ws", f"sqlite:///{tmp_path / 'bulk.db'}")
    replay.cli("settings", "set", "engine", "bulk", expect=0)
    for step in spec["steps"]:
        replay.step(step)
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    try:
        with Session(engine) as session:
            summaries = [json.loads(r.summary or "{}") for r in session.scalars(select(RunRow))]
    finally:
        engine.dispose()
    assert summaries, "the case settled nothing"
    assert {s.get("engine") for s in summaries} == {"bulk"}
