"""The command-line contract of spec/config.md: workspace, actor, exit codes, error text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudsettle.cli.main import app

CASE = Path(__file__).parents[1] / "golden" / "cases" / "01-worked-example"


class Cli:
    """Runs ``cloudsettle`` on one workspace and database."""

    def __init__(self, workspace: Path, database_url: str) -> None:
        self.workspace = workspace
        self.env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "alice", "COLUMNS": "200"}

    def __call__(self, *args: str, user: str | None = None):
        extra = ["--user", user] if user else []
        return CliRunner().invoke(app, [*args, *extra, "--workspace", str(self.workspace)], env=self.env)


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path / "ws", database_url)


@pytest.fixture
def loaded(cli: Cli) -> Cli:
    assert cli("config", "load", str(CASE / "config.yaml")).exit_code == 0
    assert cli("ingest", str(CASE / "lines-2026-09.csv"), str(CASE / "lines-2026-10.csv")).exit_code == 0
    return cli


def test_init_is_idempotent(cli: Cli) -> None:
    first, second = cli("init"), cli("init")
    assert first.exit_code == second.exit_code == 0
    assert "workspace ready" in second.stdout


def test_workspace_from_environment(tmp_path: Path, database_url: str) -> None:
    env = {"CLOUDSETTLE_WORKSPACE": str(tmp_path / "from-env"), "CLOUDSETTLE_DATABASE_URL": database_url}
    result = CliRunner().invoke(app, ["init"], env=env)
    assert result.exit_code == 0
    assert (tmp_path / "from-env" / "raw").is_dir()


def test_config_load_twice_changes_nothing(cli: Cli) -> None:
    cli("config", "load", str(CASE / "config.yaml"))
    again = cli("config", "load", str(CASE / "config.yaml"))
    assert again.exit_code == 0
    rows = [
        [c.strip() for c in line.strip("│ ").split("│")]
        for line in again.stdout.splitlines()
        if line.startswith("│")
    ]
    assert [r[0] for r in rows] == [
        "partners",
        "payout_details",
        "customers",
        "deals",
        "agreements",
        "versions",
        "fx_rates",
        "service_categories",
    ]
    assert all(r[1] == "0" and r[2] == "0" for r in rows), rows
    assert rows[0][3] == "1"  # the partner is there, unchanged


def test_bad_config_is_refused_whole_with_the_key_path(cli: Cli, tmp_path: Path) -> None:
    text = (CASE / "config.yaml").read_text(encoding="utf-8").replace('rate: "0.08"', "rate: 1e-1", 1)
    assert "1e-1" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = cli("config", "load", str(bad))
    assert result.exit_code == 2
    assert "agreements[0].versions[0].rules[0].rate" in result.stderr
    assert cli("statement", "--period", "2026-10", "--partner", "P-ACME").exit_code == 2  # nothing loaded


def test_ingest_reports_counts_and_is_idempotent(loaded: Cli) -> None:
    again = loaded("ingest", str(CASE / "lines-2026-10.csv"))
    assert again.exit_code == 0
    row = next(line for line in again.stdout.splitlines() if "lines-2026-10.csv" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1:] == ["0", "0", "3", "0", "0", "focus-csv"]  # new, revised, unchanged, duplicate, rejected


def test_ingest_bad_row_names_file_row_and_column(loaded: Cli, tmp_path: Path) -> None:
    lines = (CASE / "lines-2026-10.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("BilledCost")] = "12x"
    cells[header.index("x_LineId")] = "BAD-1"
    bad = tmp_path / "bad-row.csv"
    bad.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    result = loaded("ingest", str(bad))
    assert result.exit_code == 1
    assert "bad-row.csv row 2, column BilledCost" in result.stderr
    findings = json.loads(loaded("findings", "--format", "json").stdout)
    assert any(f["kind"] == "bad_row" and f["row"] == 2 and f["column"] == "BilledCost" for f in findings)


def test_ingest_unknown_format_is_refused_with_headers(cli: Cli, tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    result = cli("ingest", str(odd))
    assert result.exit_code == 2
    assert "odd.csv" in result.stderr
    assert "BilledCost" in result.stderr  # names what it expected


def test_bad_period_and_unknown_partner_are_bad_usage(loaded: Cli) -> None:
    assert loaded("settle", "--period", "2026-13").exit_code == 2
    assert loaded("settle", "--period", "October").exit_code == 2
    assert loaded("settle", "--period", "2026-10", "--partner", "P-NOBODY").exit_code == 2


def test_four_eyes_and_finalize_lock(loaded: Cli) -> None:
    assert loaded("settle", "--period", "2026-09", user="alice").exit_code == 0
    refused = loaded("approve", "--period", "2026-09", user="alice")
    assert refused.exit_code == 1
    assert "four eyes" in refused.stderr
    assert loaded("finalize", "--period", "2026-09", user="bob").exit_code == 1  # not approved yet
    assert loaded("approve", "--period", "2026-09", user="bob").exit_code == 0
    assert loaded("finalize", "--period", "2026-09", user="bob").exit_code == 0
    before = loaded("statement", "--period", "2026-09", "--partner", "P-ACME").stdout
    assert loaded("settle", "--period", "2026-09", user="alice").exit_code == 0
    assert loaded("statement", "--period", "2026-09", "--partner", "P-ACME").stdout == before
    adjust = loaded(
        "adjust", "--period", "2026-09", "--partner", "P-ACME", "--amount", "5.00", "--reason", "late"
    )
    assert adjust.exit_code == 1
    assert "finalized" in adjust.stderr


def test_statement_json_and_output_file(loaded: Cli, tmp_path: Path) -> None:
    for period in ("2026-09", "2026-10"):
        loaded("settle", "--period", period, user="alice")
        loaded("approve", "--period", period, user="bob")
        loaded("finalize", "--period", period, user="bob")
    target = tmp_path / "acme.json"
    result = loaded("statement", "--period", "2026-10", "--partner", "P-ACME", "--output", str(target))
    assert result.exit_code == 0
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["components"]["payable"] == "8514.00"
    assert doc["status"] == "settled"
    assert doc["finalized_by"] == "bob"
    assert loaded("statement", "--period", "2026-08", "--partner", "P-ACME").exit_code == 1
    assert (
        loaded("statement", "--period", "2026-10", "--partner", "P-ACME", "--format", "docx").exit_code == 2
    )


def test_explain_walks_back_to_source(loaded: Cli) -> None:
    loaded("settle", "--period", "2026-10", user="alice")
    doc = json.loads(loaded("statement", "--period", "2026-10", "--partner", "P-ACME").stdout)
    claw = next(ln for ln in doc["lines"] if ln["role"] == "clawback")
    whole = loaded("explain", "--period", "2026-10", "--partner", "P-ACME")
    assert whole.exit_code == 0
    assert "payable" in whole.stdout
    assert "8514.00" in whole.stdout
    one = loaded("explain", "--period", "2026-10", "--partner", "P-ACME", "--line", claw["line_id"])
    assert one.exit_code == 0
    assert "lines-2026-10.csv row" in one.stdout
    assert "version 1" in one.stdout
    assert f"original line: {claw['original_line_id']}" in one.stdout
    assert loaded("explain", "--period", "2026-10", "--partner", "P-ACME", "--line", "nope").exit_code == 1


def test_user_defaults_to_environment(loaded: Cli, tmp_path: Path) -> None:
    loaded("settle", "--period", "2026-10")  # CLOUDSETTLE_USER=alice
    doc = json.loads(loaded("statement", "--period", "2026-10", "--partner", "P-ACME").stdout)
    assert doc["prepared_by"] == "alice"


def test_adjustment_amount_must_fit_the_currency(loaded: Cli) -> None:
    loaded("settle", "--period", "2026-10", user="alice")
    result = loaded(
        "adjust", "--period", "2026-10", "--partner", "P-ACME", "--amount", "1.005", "--reason", "x"
    )
    assert result.exit_code == 2
    assert "CNY amounts have 2 decimals" in result.stderr
    assert (
        loaded(
            "adjust", "--period", "2026-10", "--partner", "P-ACME", "--amount", "abc", "--reason", "x"
        ).exit_code
        == 2
    )


NATIVE = Path(__file__).parents[1] / "ingest" / "data" / "native"


@pytest.mark.parametrize(
    ("fixture", "provider", "fmt"),
    [
        ("tencent_console_cn.csv", "tencent", "tencent-console-cn"),
        ("tencent_intl_en.csv", "tencent", "tencent-intl-en"),
        ("tencent_reseller_en.csv", "tencent", "tencent-reseller-en"),
        ("huawei_detail_cn.csv", "huawei", "huawei-detail-cn"),
        ("huawei_costcenter_en.csv", "huawei", "huawei-costcenter-en"),
    ],
)
def test_native_bill_files_are_detected_and_ingested(
    cli: Cli, tmp_path: Path, fixture: str, provider: str, fmt: str
) -> None:
    import gzip

    packed = tmp_path / f"{fixture}.gz"
    packed.write_bytes(gzip.compress((NATIVE / fixture).read_bytes()))
    result = cli("ingest", str(packed))
    assert result.exit_code in (0, 1), result.stderr  # 1 only when a fixture row is deliberately bad
    row = next(line for line in result.stdout.splitlines() if fixture in line)
    new = int([c.strip() for c in row.strip("│ ").split("│")][1])
    assert new > 0
    again = cli("ingest", "--provider", provider, str(packed))
    cells = [
        c.strip()
        for c in next(line for line in again.stdout.splitlines() if fixture in line).strip("│ ").split("│")
    ]
    assert cells[1:3] == ["0", "0"]  # nothing new or revised the second time
    assert cells[-1] == fmt
    wrong = "huawei" if provider == "tencent" else "tencent"
    assert cli("ingest", "--provider", wrong, str(packed)).exit_code == 2


def test_payout_details_are_sealed_never_plain(cli: Cli, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    config = tmp_path / "with-payout.yaml"
    config.write_text(
        (CASE / "config.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "  verification: verified\n",
            "  verification: verified\n  payout:\n    iban: DE89370400440532013000\n"
            "    bic: COBADEFFXXX\n    account_name: Acme Cloud Services GmbH\n",
            1,
        ),
        encoding="utf-8",
    )
    assert "DE89370400440532013000" in config.read_text(encoding="utf-8")
    first = cli("config", "load", str(config))
    assert first.exit_code == 0, first.stderr
    created = next(line for line in first.stdout.splitlines() if "payout_details" in line)
    assert [c.strip() for c in created.strip("│ ").split("│")][1:] == ["1", "0", "0"]
    again = cli("config", "load", str(config))
    row = next(line for line in again.stdout.splitlines() if "payout_details" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")][1:] == ["0", "0", "1"]  # unchanged
    engine = create_engine(cli.env["CLOUDSETTLE_DATABASE_URL"])
    with engine.connect() as connection:
        dump = " ".join(
            str(value)
            for table in ("partners", "payout_accounts", "audit_events")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    engine.dispose()
    assert "DE89370400440532013000" not in dump
    assert "3000" in dump  # the masked form keeps the last digits
    assert (cli.workspace / "payout-keys.json").stat().st_mode & 0o077 == 0


def test_config_changes_are_audited_with_before_and_after(cli: Cli, tmp_path: Path) -> None:
    import json as _json

    cli("config", "load", str(CASE / "config.yaml"))
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(
        (CASE / "config.yaml")
        .read_text(encoding="utf-8")
        .replace("name: Acme Cloud Services", "name: Acme Ltd"),
        encoding="utf-8",
    )
    assert cli("config", "load", str(renamed), user="carol").exit_code == 0
    listing = cli("audit", "list", "--format", "json")
    assert listing.exit_code == 0, listing.stderr
    events = _json.loads(listing.stdout)
    change = next(e for e in events if e["action"] == "config.partners" and e["actor"] == "carol")
    assert change["subject"] == "partners:P-ACME"
    assert "Acme Cloud Services" in _json.dumps(change["before"])
    assert "Acme Ltd" in _json.dumps(change["after"])
    created = [e for e in events if e["action"] == "config.deals"]
    assert [e["subject"] for e in created] == ["deals:D-1"]
    assert cli("audit", "verify").exit_code == 0


def test_service_category_overrides_from_the_config_apply_to_ingest(cli: Cli, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    config = tmp_path / "categories.yaml"
    config.write_text("service_categories:\n  tencent:\n    云服务器: Analytics\n", encoding="utf-8")
    loaded = cli("config", "load", str(config))
    assert loaded.exit_code == 0, loaded.stderr
    assert cli("ingest", str(NATIVE / "tencent_console_cn.csv")).exit_code in (0, 1)
    engine = create_engine(cli.env["CLOUDSETTLE_DATABASE_URL"])
    with engine.connect() as connection:
        found = dict(connection.execute(text("SELECT service, service_category FROM line_revisions")).all())
    engine.dispose()
    assert found["云服务器"] == "Analytics"  # the override, not the shipped Compute
    assert found["对象存储"] == "Storage"  # everything else from the shipped table
    bad = tmp_path / "bad-categories.yaml"
    bad.write_text("service_categories:\n  tencent:\n    云服务器: Computee\n", encoding="utf-8")
    refused = cli("config", "load", str(bad))
    assert refused.exit_code == 2
    assert "Computee" in refused.stderr


def test_ingest_cancelled_mid_file_stores_nothing_of_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl-C during a file (here: raised by its progress callback after the first rows) rolls
    that file back; the file before it stays; the exit code is 130 and stderr says what happened;
    running the command again ingests the rest as if nothing had happened."""
    import contextlib
    from collections.abc import Callable, Iterator

    from cloudsettle.cli import main as cli_main
    from cloudsettle.services import ingest_service

    assert cli("config", "load", str(CASE / "config.yaml")).exit_code == 0
    october = (CASE / "lines-2026-10.csv").read_text(encoding="utf-8").splitlines()
    header, rows = october[0], october[1:]
    big = tmp_path / "many-2026-10.csv"  # the October lines, each repeated under new ids
    many = [r.replace(r.split(",")[0], f"{r.split(',')[0]}-{i}", 1) for i in range(30) for r in rows]
    big.write_text("\n".join([header, *many]) + "\n", encoding="utf-8")
    monkeypatch.setattr(ingest_service, "PROGRESS_ROWS", 10)
    seen: list[tuple[str, int]] = []

    @contextlib.contextmanager
    def interrupting(_console: object) -> Iterator[Callable[[str], Callable[[int], None]]]:
        def for_file(name: str) -> Callable[[int], None]:
            def rows_read(count: int) -> None:
                seen.append((name, count))
                if name == big.name and count >= 10:
                    raise KeyboardInterrupt

            return rows_read

        yield for_file

    monkeypatch.setattr(cli_main, "ingest_progress", interrupting)
    result = cli("ingest", str(CASE / "lines-2026-09.csv"), str(big))
    assert result.exit_code == 130
    assert f"cancelled while ingesting {big.name}: nothing of it was stored" in result.stderr
    assert ("lines-2026-09.csv", 1) in seen
    assert (big.name, 10) in seen
    monkeypatch.undo()
    again = cli("ingest", str(CASE / "lines-2026-09.csv"), str(big))
    assert again.exit_code == 0, again.stderr
    cells = {
        line.strip("│ ").split("│")[0].strip(): [c.strip() for c in line.strip("│ ").split("│")]
        for line in again.stdout.splitlines()
        if line.startswith("│")
    }
    assert cells["lines-2026-09.csv"][1:4] == ["0", "0", "1"]  # kept from the first run: unchanged
    assert cells[big.name][1] == str(len(many))  # every line of the cancelled file is new now


@pytest.mark.parametrize("engine", ["reference", "bulk"])
def test_settle_shows_its_stages_and_ctrl_c_rolls_the_run_back(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """The settle progress line hears each stage (and, on the bulk engine, each SQL step); Ctrl-C
    during the run (raised here by the progress callback once statements are being stored)
    exits 130, says so, and leaves no run, statement or audit event; the next settle works."""
    import contextlib
    from collections.abc import Callable, Iterator

    from sqlalchemy import create_engine, text

    from cloudsettle.cli import main as cli_main

    assert loaded("settings", "set", "engine", engine).exit_code == 0
    heard: list[str] = []

    @contextlib.contextmanager
    def interrupting(_console: object, period: str) -> Iterator[Callable[[str], None]]:
        def stage(name: str) -> None:
            heard.append(name)
            if name == "storing statements":
                raise KeyboardInterrupt

        yield stage

    monkeypatch.setattr(cli_main, "settle_progress", interrupting)
    result = loaded("settle", "--period", "2026-10")
    assert result.exit_code == 130
    assert "cancelled while settling 2026-10: nothing of the run was stored" in result.stderr
    assert heard[:2] == ["reading the store", "reading the lines" if engine == "bulk" else "rating"]
    assert ("rating (SQL step rseg)" in heard) is (engine == "bulk")
    db = create_engine(loaded.env["CLOUDSETTLE_DATABASE_URL"])
    with db.connect() as connection:
        counts = [connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("runs", "statements", "statement_lines")]
        settles = connection.execute(
            text("SELECT count(*) FROM audit_events WHERE action = 'settle'")).scalar_one()
    db.dispose()
    assert counts == [0, 0, 0]
    assert settles == 0
    monkeypatch.undo()
    again = loaded("settle", "--period", "2026-10")
    assert again.exit_code in (0, 1), again.stderr
    assert "run 1: 2026-10" in again.stdout
