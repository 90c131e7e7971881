"""Reconciliation: our recomputation of Tencent's rebate policy against its own figures.

The month's figures differ from ours by a known amount, caused by two known lines: the
provider paid B-2 at 3% instead of the policy's 5% (−40.00) and G-1 1.23 more (+1.23).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.core.money import D
from cloudsettle.ingest.api.client import Rebate
from cloudsettle.services import reconcile_service
from cloudsettle.services.errors import BadInput
from tests.cases.world import CONFIG, HEADER, OCTOBER, World

FIGURES = """month,account_id,line_id,amount,currency
2026-10,C1,A-1,50.00,CNY
2026-10,C2,B-1,25.00,CNY
2026-10,C3,B-2,60.00,CNY
2026-10,C4,G-1,151.23,CNY
2026-10,C4,G-R,-15.00,CNY
2026-10,C5,D-1,20.00,CNY
"""


def _import(world: World, text: str = FIGURES) -> None:
    world.do(reconcile_service.import_figures, provider="tencent", month="2026-10",
             figures=reconcile_service.read_figures_csv(text), source="file:commission.csv", actor="fin")


def test_the_variance_is_named_down_to_the_two_lines(world: World) -> None:
    _import(world)
    report = world.do(reconcile_service.reconcile, provider="tencent", month="2026-10")
    assert (report.agreement_id, report.currency) == ("tencent-rebate", "CNY")
    assert (report.ours, report.theirs, report.difference) == (D("330.00"), D("291.23"), D("-38.77"))
    named = [(lv.line_id, lv.account_id, lv.ours, lv.theirs, lv.difference)
             for c in report.customers for lv in c.lines]
    assert named == [("B-2", "C3", D("100.00"), D("60.00"), D("-40.00")),
                     ("G-1", "C4", D("150.00"), D("151.23"), D("1.23"))]
    assert report.explained == report.difference
    by_customer = {c.account_id: c.difference for c in report.customers}
    assert by_customer == {"C1": D("0.00"), "C2": D("0.00"), "C3": D("-40.00"), "C4": D("1.23"),
                           "C5": D("0.00")}


def test_importing_again_replaces_and_a_matching_month_has_no_variance(world: World) -> None:
    _import(world)
    _import(world, FIGURES.replace("60.00", "100.00").replace("151.23", "150.00"))
    report = world.do(reconcile_service.reconcile, provider="tencent", month="2026-10")
    assert report.difference == D("0.00")
    assert all(not c.lines for c in report.customers)


def test_a_line_the_provider_does_not_list_is_named(world: World) -> None:
    _import(world, "\n".join(x for x in FIGURES.splitlines() if ",A-1," not in x) + "\n")
    report = world.do(reconcile_service.reconcile, provider="tencent", month="2026-10")
    [c1] = [c for c in report.customers if c.account_id == "C1"]
    assert c1.theirs is None
    assert c1.difference is None
    assert report.difference == D("-88.77")


def test_describe_rebate_infos_is_a_month_total(world: World) -> None:
    rebate = Rebate(account_id="reseller-001", month="2026-10", amount=D("329.99"), month_sales=D("7000"),
                    quarter_sales=D("20000"), flag="NORMAL")
    assert world.do(reconcile_service.import_rebates, rebates=[rebate], actor="fin") == 1
    report = world.do(reconcile_service.reconcile, provider="tencent", month="2026-10")
    assert report.difference == D("-0.01")
    listed = [(c.account_id, c.theirs) for c in report.customers if c.theirs is not None]
    assert listed == [("*", D("329.99"))]


def test_bad_input_is_refused(world: World) -> None:
    with pytest.raises(BadInput, match="lacks columns"):
        reconcile_service.read_figures_csv("month,amount\n2026-10,1\n")
    with pytest.raises(BadInput, match="not a decimal"):
        reconcile_service.read_figures_csv("month,account_id,line_id,amount,currency\n2026-10,C1,,1e3,CNY\n")
    with pytest.raises(BadInput, match="--provider"):
        world.do(reconcile_service.reconcile, provider="aws", month="2026-10")
    with pytest.raises(BadInput, match="PROVIDER-HUAWEI"):
        world.do(reconcile_service.reconcile, provider="huawei", month="2026-10")


def test_cli(tmp_path: Path, database_url: str) -> None:
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "fin", "COLUMNS": "200"}
    ws = ["--workspace", str(tmp_path / "ws")]
    for name, text in (("config.yaml", CONFIG), ("october.csv", HEADER + "\n" + "\n".join(OCTOBER) + "\n"),
                       ("commission.csv", FIGURES)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["config", "load", str(tmp_path / "config.yaml"), *ws], env=env).exit_code == 0
    assert runner.invoke(app, ["ingest", str(tmp_path / "october.csv"), *ws], env=env).exit_code == 0
    result = runner.invoke(app, ["reconcile", "--provider", "tencent", "--month", "2026-10", "--file",
                                 str(tmp_path / "commission.csv"), *ws], env=env)
    assert result.exit_code == 1, result.output
    assert "difference -38.77" in result.stdout
    assert "B-2" in result.stdout
    assert "G-1" in result.stdout
    doc = json.loads(runner.invoke(app, ["reconcile", "--provider", "tencent", "--month", "2026-10",
                                         "--format", "json", *ws], env=env).stdout)
    assert doc["difference"] == "-38.77"
    assert doc["explained"] == "-38.77"
    assert runner.invoke(app, ["reconcile", "--provider", "tencent", "--month", "2026-13", *ws],
                         env=env).exit_code == 2
