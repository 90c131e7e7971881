"""Every statement export is opened again and checked against the JSON statement.

The worked example (golden case 01) is driven through the real CLI; the PDF is
read back with pypdf, the XLSX with openpyxl, the CSV with the csv module,
the pack with zipfile. Golden files for the JSON and CSV of a few statements
are in ``golden/`` (set ``CLOUDSETTLE_UPDATE_GOLDEN=1`` to rewrite them after a
deliberate change, then review the diff).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.config_file.codec import version_from_dict
from cloudsettle.core.money import D
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.exports import labels as labels_module
from cloudsettle.exports.statement_csv import read_lines
from cloudsettle.exports.statement_pdf import Branding, load_branding, money_text
from tests.golden.test_golden import Replay

CASES = Path(__file__).parents[1] / "golden" / "cases"
CASE = CASES / "01-worked-example"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CLOUDSETTLE_UPDATE_GOLDEN") == "1"


class Cli:
    """Runs ``cloudsettle`` on one workspace and database."""

    def __init__(self, workspace: Path, database_url: str) -> None:
        self.workspace = workspace
        self.env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "alice"}

    def __call__(self, *args: str, user: str | None = None, expect: int = 0) -> str:
        extra = ["--user", user] if user else []
        result = CliRunner().invoke(app, [*args, *extra, "--workspace", str(self.workspace)], env=self.env)
        assert result.exit_code == expect, f"{args}: {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    def doc(self, period: str = "2026-10") -> dict[str, Any]:
        return json.loads(self("statement", "--period", period, "--partner", "P-ACME"))


@pytest.fixture
def worked(tmp_path: Path, database_url: str) -> Cli:
    """Case 01: September settled, approved, finalized; October settled (payable 8,514.00)."""
    cli = Cli(tmp_path / "ws", database_url)
    cli("config", "load", str(CASE / "config.yaml"))
    cli("ingest", str(CASE / "lines-2026-09.csv"))
    cli("settle", "--period", "2026-09", user="alice")
    cli("approve", "--period", "2026-09", user="bob")
    cli("finalize", "--period", "2026-09", user="bob")
    cli("ingest", str(CASE / "lines-2026-10.csv"))
    cli("settle", "--period", "2026-10", user="alice")
    return cli


def _dec(value: object) -> Decimal:
    """A numeric XLSX cell as an exact Decimal.

    openpyxl returns Excel numbers as int or float: that is the file format's
    nature (IEEE doubles), not the package's. ``repr`` of a float is the
    shortest text that reads back to it, so for amounts with cents it is
    exactly the amount we wrote; convert at once and compare Decimals only.
    """
    assert isinstance(value, int | float), f"not a number: {value!r}"
    assert not isinstance(value, bool)
    return D(repr(value))


# --- PDF -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_shows_the_payable_and_every_component(worked: Cli, tmp_path: Path, lang: str) -> None:
    doc = worked.doc()
    pdf = tmp_path / f"statement-{lang}.pdf"
    worked(
        "statement",
        "--period",
        "2026-10",
        "--partner",
        "P-ACME",
        "--format",
        "pdf",
        "--lang",
        lang,
        "--output",
        str(pdf),
    )
    reader = PdfReader(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    lb = labels_module.labels(lang)
    assert lb["title"] in text
    assert "Acme Cloud Services" in text
    assert "Blue River Games" in text
    assert money_text(doc["components"]["payable"]) == "8,514.00"
    lines = text.splitlines()
    for name in COMPONENT_NAMES:
        label, amount = lb.of_component(name), money_text(doc["components"][name])
        # the components table prints each label and its amount on one row
        assert any(label in ln and ln.rstrip().endswith(amount) for ln in lines), (name, label, amount)
    for ln in doc["lines"]:
        assert ln["line_id"] in text  # three lines: the detail section lists them


def test_zh_pdf_embeds_a_cjk_font(worked: Cli, tmp_path: Path) -> None:
    pdf = tmp_path / "zh.pdf"
    worked(
        "statement",
        "--period",
        "2026-10",
        "--partner",
        "P-ACME",
        "--format",
        "pdf",
        "--lang",
        "zh",
        "--output",
        str(pdf),
    )
    fonts = set()
    for page in PdfReader(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("CJK" in f for f in fonts), fonts  # Noto Sans CJK SC (fonts-noto-cjk), not tofu boxes


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_renders_to_png(worked: Cli, tmp_path: Path, lang: str) -> None:
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils) is installed by .ci/run"
    pdf = tmp_path / "s.pdf"
    worked(
        "statement",
        "--period",
        "2026-10",
        "--partner",
        "P-ACME",
        "--format",
        "pdf",
        "--lang",
        lang,
        "--output",
        str(pdf),
    )
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True
    )
    (png,) = tmp_path.glob("p-*.png")
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) == (331, 468)  # A4 at 40 dpi: the page size is A4


def test_branding_shows_company_details_and_footer(worked: Cli, tmp_path: Path) -> None:
    (worked.workspace / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><rect width="120" height="30" '
        'fill="#0a7"/></svg>',
        encoding="utf-8",
    )
    (worked.workspace / "branding.yaml").write_text(
        yaml.safe_dump(
            {
                "company_name": "星河云计算有限公司",
                "company_details": ["88 Century Avenue, Shanghai", "finance@xinghe.example"],
                "logo": "logo.svg",
                "footer_text": "Questions? finance@xinghe.example",
                "accent_color": "#0a7a55",
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    out = worked("statement", "--period", "2026-10", "--partner", "P-ACME", "--format", "pdf")
    pdf = worked.workspace / "out" / "statements" / "2026-10" / "P-ACME-acme-2026.pdf"
    assert str(pdf) in out.replace("\n", "")
    reader = PdfReader(pdf)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "星河云计算有限公司" in text
    assert "88 Century Avenue, Shanghai" in text
    assert "Questions? finance@xinghe.example" in reader.pages[-1].extract_text()


def test_branding_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "branding.yaml"
    bad.write_text("company: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key 'company'"):
        load_branding(bad)
    good = tmp_path / "b.yaml"
    good.write_text("company_name: ACME\ncompany_details: one line\n", encoding="utf-8")
    assert load_branding(good) == Branding(company_name="ACME", company_details=("one line",))


# --- XLSX ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_xlsx_holds_numbers_that_add_up_to_the_statement(worked: Cli, tmp_path: Path, lang: str) -> None:
    doc = worked.doc()
    path = tmp_path / "s.xlsx"
    worked(
        "statement",
        "--period",
        "2026-10",
        "--partner",
        "P-ACME",
        "--format",
        "xlsx",
        "--lang",
        lang,
        "--output",
        str(path),
    )
    lb = labels_module.labels(lang)
    wb = load_workbook(path)
    assert wb.sheetnames == [lb["summary_sheet"], lb["lines_sheet"], lb["explanation_sheet"]]

    summary: dict[Any, Any] = {}
    for row in wb[lb["summary_sheet"]].iter_rows():
        if len(row) > 1:
            summary.setdefault(row[0].value, row[1])  # the components table comes first
    for name in COMPONENT_NAMES:
        cell = summary[lb.of_component(name)]
        assert cell.data_type == "n", (name, cell.value)
        assert cell.number_format == '#,##0.00 "CNY";-#,##0.00 "CNY"'
        assert _dec(cell.value) == D(doc["components"][name])

    rows = list(wb[lb["lines_sheet"]].iter_rows())
    header = [c.value for c in rows[0]]
    body = rows[1:]
    assert len(body) == len(doc["lines"])
    col = {
        k: header.index(lb[k]) for k in ("commission", "clawback", "tier_uplift", "total", "base", "line_id")
    }

    def total(key: str) -> Decimal:
        return sum((_dec(r[col[key]].value) for r in body if r[col[key]].value is not None), D("0"))

    assert total("commission") == D(doc["components"]["commission"])
    assert total("clawback") == D(doc["components"]["clawback"])
    assert total("tier_uplift") == D(doc["components"]["tier_uplift"])
    assert total("base") == D(doc["base_total"])
    others = sum(
        (
            D(doc["components"][k])
            for k in ("cap_adjustment", "fees", "manual_adjustment", "prior_period_adjustment", "carried_in")
        ),
        D("0"),
    ) - D(doc["components"]["carried_out"])
    assert total("total") + others == D(doc["components"]["payable"])
    assert [r[col["line_id"]].value for r in body] == [ln["line_id"] for ln in doc["lines"]]
    assert all(r[col["base"]].number_format.startswith("#,##0.00") for r in body)


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_parses_back_to_the_same_lines_and_sums_to_the_payable(worked: Cli, tmp_path: Path) -> None:
    doc = worked.doc()
    path = tmp_path / "s.csv"
    worked(
        "statement", "--period", "2026-10", "--partner", "P-ACME", "--format", "csv", "--output", str(path)
    )
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = read_lines(f)
    assert len(lines) == len(doc["lines"])
    for got, want in zip(lines, doc["lines"], strict=True):
        for key in (
            "line_id",
            "role",
            "provider",
            "account_id",
            "service",
            "charge_start",
            "base",
            "rate",
            "tier_uplift",
            "fraction",
        ):
            assert got[key] == str(want[key]), key
        assert got["revision"] == str(want["revision"])
        assert got["rule"] == (want["rule"] or "")
        assert got["fx_rate"] == (want["fx_rate"] or "")
        assert got["commission"] == want.get("commission", "")
        assert got["clawback"] == want.get("clawback", "")
        assert got["reasons"].split(";") == (want["reasons"] or [""])
        assert got["source_file"] in ("lines-2026-10.csv",)
        assert got["customer"] == "Blue River Games"
    rows = {ln["line_id"]: ln["source_row"] for ln in lines}  # the file's data rows, header = row 1
    assert rows == {"T-2610-CVM-1": "2", "T-2610-COS-1": "3", "T-2610-CVM-R1": "4"}
    with path.open(encoding="utf-8-sig", newline="") as f:
        amounts = [D(r["amount"]) for r in csv.DictReader(f) if r["amount"]]
    assert sum(amounts, D("0")) == D(doc["components"]["payable"])


# --- pack ------------------------------------------------------------------------------------------


def test_pack_holds_pdf_lines_agreement_fx_and_findings(worked: Cli) -> None:
    doc = worked.doc()
    out = worked("pack", "--period", "2026-10", "--partner", "P-ACME", "--lang", "zh")
    path = worked.workspace / "out" / "packs" / "2026-10" / "P-ACME-acme-2026.zip"
    assert "wrote" in out
    assert path.is_file()
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert names == {
            "statement.pdf",
            "statement.json",
            "lines.csv",
            "agreement-acme-2026-v1.yaml",
            "fx-rates.csv",
            "findings.csv",
            "cases.csv",
            "sources.csv",
            "MANIFEST.txt",
        }
        assert json.loads(zf.read("statement.json")) == doc
        text = PdfReader(io.BytesIO(zf.read("statement.pdf"))).pages[0].extract_text()
        assert "8,514.00" in text
        assert "佣金结算单" in text
        lines = read_lines(io.StringIO(zf.read("lines.csv").decode("utf-8")))
        assert sorted((r["line_id"], r["source_file"], r["source_row"]) for r in lines) == [
            ("T-2610-COS-1", "lines-2026-10.csv", "3"),
            ("T-2610-CVM-1", "lines-2026-10.csv", "2"),
            ("T-2610-CVM-R1", "lines-2026-10.csv", "4"),
        ]
        agreement = yaml.safe_load(zf.read("agreement-acme-2026-v1.yaml"))["agreements"][0]
        assert agreement["id"] == "acme-2026"
        assert agreement["partner"] == "P-ACME"
        version = version_from_dict(agreement["versions"][0])
        assert version.version == 1
        assert [r.id for r in version.rules] == ["compute", "default"]
        assert zf.read("fx-rates.csv").decode().splitlines()[0].startswith("day,from_currency")
        assert zf.read("findings.csv").decode().splitlines() == ["kind,line_id,message"]
        assert zf.read("cases.csv").decode().splitlines() == ["case,kind,status,title,owner,resolution"]
        sources = list(csv.DictReader(io.StringIO(zf.read("sources.csv").decode())))
        assert [(s["file_name"], s["lines"]) for s in sources] == [("lines-2026-10.csv", "3")]
        manifest = zf.read("MANIFEST.txt").decode()
        assert "payable 8514.00 CNY" in manifest
        assert "lines.csv" in manifest


def test_statement_refuses_unknown_format_and_language(worked: Cli) -> None:
    worked("statement", "--period", "2026-10", "--partner", "P-ACME", "--format", "docx", expect=2)
    worked(
        "statement", "--period", "2026-10", "--partner", "P-ACME", "--format", "pdf", "--lang", "fr", expect=2
    )


def test_every_label_has_both_languages() -> None:
    for key in labels_module.label_keys():
        en, zh = labels_module.raw(key)
        assert en or key == "page_end", key
        assert zh, key
    assert labels_module.labels("zh")["payable"] == "应付金额"
    with pytest.raises(ValueError, match="fr"):
        labels_module.labels("fr")


# --- golden files ----------------------------------------------------------------------------------

GOLDEN_CASES = [
    ("01-worked-example", "2026-10"),
    ("21-fx-by-charge-date", "2026-10"),
    ("29-carry-forward-negative", "2026-11"),
    ("31-prior-period-revised-line", "2026-10"),
    ("41-manual-adjustment-survives-resettle", "2026-10"),
]


@pytest.mark.parametrize(("case", "period"), GOLDEN_CASES, ids=[c for c, _ in GOLDEN_CASES])
def test_json_and_csv_match_their_golden_files(
    case: str, period: str, tmp_path: Path, database_url: str
) -> None:
    replay = Replay(CASES / case, tmp_path / "ws", database_url)
    for step in yaml.safe_load((CASES / case / "case.yaml").read_text(encoding="utf-8"))["steps"]:
        replay.step(step)
    base = ["statement", "--period", period, "--partner", "P-ACME"]
    got_json = replay.cli(*base, "--format", "json", expect=0)
    csv_path = tmp_path / "s.csv"
    replay.cli(*base, "--format", "csv", "--output", str(csv_path), expect=0)
    got_csv = csv_path.read_text(encoding="utf-8-sig")
    for suffix, got in (("json", got_json), ("csv", got_csv)):
        golden = GOLDEN / f"{case}-{period}-P-ACME.{suffix}"
        if UPDATE:
            golden.write_text(got, encoding="utf-8")
        assert golden.is_file(), f"missing {golden}: run with CLOUDSETTLE_UPDATE_GOLDEN=1 and review it"
        assert got == golden.read_text(encoding="utf-8"), f"{golden.name} differs"
    doc = json.loads(got_json)
    amounts = [D(r["amount"]) for r in csv.DictReader(io.StringIO(got_csv)) if r["amount"]]
    assert sum(amounts, D("0")) == D(doc["components"]["payable"])
