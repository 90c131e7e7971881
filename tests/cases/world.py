"""A small workspace for the case and reconciliation tests: four partners, five customers,
one month of FOCUS lines, written as files and loaded through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models import StatementRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file

HEADER = ("x_LineId,ProviderName,SubAccountId,BillingAccountId,InvoiceId,ServiceName,ServiceCategory,"
          "RegionId,"
          "x_Project,ResourceId,x_BillingMode,ChargeCategory,ChargeClass,ChargePeriodStart,ChargePeriodEnd,"
          "BillingPeriodStart,BillingPeriodEnd,x_PaidAt,ListCost,BilledCost,x_VoucherAmount,x_TaxAmount,"
          "BillingCurrency,x_OriginalLineId")


def row(line_id: str, account: str, amount: str, *, service: str = "CVM", category: str = "Compute",
        currency: str = "CNY", original: str = "", day: int = 3) -> str:
    """One October FOCUS row of Tencent Cloud."""
    start = f"2026-10-{day:02d}T10:00:00+08:00"
    end = f"2026-10-{day + 1:02d}T10:00:00+08:00"
    return (f"{line_id},Tencent Cloud,{account},reseller-001,INV-2026-10,{service},{category},ap-guangzhou,,"
            f"res-{line_id},on_demand,Usage,,{start},{end},2026-10-01T00:00:00+08:00,"
            f"2026-11-01T00:00:00+08:00,,{amount},{amount},0.00,0.00,{currency},{original}")


def agreement(agreement_id: str, partner: str, rules: str = '    - id: all\n      rate: "0.10"\n') -> str:
    return f"""- id: {agreement_id}
  partner: {partner}
  mode: live
  versions:
  - version: 1
    effective_from: 2026-01-01
    currency: CNY
    timezone: Asia/Shanghai
    cycle: monthly
    basis: billing_period
    base: net
    rules:
{rules}    rounding:
      mode: half_up
      level: statement
"""


def deal(deal_id: str, partner: str, account: str, agreement_id: str, valid_to: str = "null") -> str:
    return f"""- id: {deal_id}
  partner: {partner}
  provider: tencent
  account_id: "{account}"
  agreement: {agreement_id}
  valid_from: 2026-01-01
  valid_to: {valid_to}
"""


def partner(partner_id: str) -> str:
    return f"- id: {partner_id}\n  name: {partner_id} Ltd\n  currency: CNY\n  verification: verified\n"


#: Tencent's rebate policy, entered as the reseller's own agreement (reconciliation).
POLICY_RULES = '    - id: cvm\n      match:\n        service: [CVM]\n      rate: "0.05"\n' \
    '    - id: other\n      rate: "0.02"\n'

#: Four partners; C2's deal with P-BETA ended before October (so C2 is unmapped then).
CONFIG = (
    "partners:\n"
    + "".join(partner(p) for p in ("P-ACME", "P-BETA", "P-GAMMA", "P-DELTA", "PROVIDER-TENCENT"))
    + "deals:\n"
    + deal("D-1", "P-ACME", "C1", "acme")
    + deal("D-2", "P-BETA", "C2", "beta", valid_to="2026-10-01")
    + deal("D-3", "P-BETA", "C3", "beta")
    + deal("D-4", "P-GAMMA", "C4", "gamma")
    + deal("D-5", "P-DELTA", "C5", "delta")
    + "agreements:\n" + "".join(agreement(a, p) for a, p in (
        ("acme", "P-ACME"), ("beta", "P-BETA"), ("gamma", "P-GAMMA"), ("delta", "P-DELTA")))
    + agreement("tencent-rebate", "PROVIDER-TENCENT", POLICY_RULES)
)

#: One unmapped customer (C2), one unlinked refund (G-R), one currency without a rate (USD).
OCTOBER = [
    row("A-1", "C1", "1000.00"),
    row("B-1", "C2", "500.00"),
    row("B-2", "C3", "2000.00"),
    row("G-1", "C4", "3000.00"),
    row("G-R", "C4", "-300.00", original="GONE-1", day=5),
    row("D-1", "C5", "400.00"),
    row("D-USD", "C5", "100.00", currency="USD"),
]


@dataclass
class World:
    """Runs services in one unit of work each, like the CLI."""

    sessions: sessionmaker[Session]
    raw: RawStore
    folder: Path

    def do(self, fn: Any, **kw: Any) -> Any:
        with self.sessions() as session, session.begin():
            return fn(session, **kw)

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    def load(self, config: str = CONFIG) -> None:
        self.do(load_config_file, path=self.write("config.yaml", config), actor="admin")

    def ingest(self, name: str, rows: list[str]) -> None:
        path = self.write(name, HEADER + "\n" + "\n".join(rows) + "\n")
        self.do(ingest_file, raw_store=self.raw, path=path, provider="focus", actor="loader")

    def statements(self, period: str = "2026-10") -> dict[str, tuple[str, str]]:
        """``partner -> (status, payable)``."""
        with self.sessions() as session:
            rows = session.scalars(select(StatementRow).where(StatementRow.period == period))
            return {r.partner_id: (r.status, f"{r.payable:.2f}") for r in rows}
