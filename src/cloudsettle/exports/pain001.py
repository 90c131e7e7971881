"""ISO 20022 ``pain.001.001.09`` customer credit transfer initiation, and its XSD check.

One message per payout batch: a group header and one payment information
block (one debtor account, one currency, one requested execution date) with
one credit transfer per payout. ``NbOfTxs`` and ``CtrlSum`` are computed from
the transfers, at both levels; amounts are written with exactly the
currency's decimals (the XSD allows five, so it would not catch ``250.001``).

The schema is the official ISO file that the ``sepaxml`` package ships
(``sepaxml/schemas/pain.001.001.09.xsd``); :func:`validate` checks a document
against it with ``xmlschema`` and returns every error.
"""

from __future__ import annotations

import importlib.util
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from cloudsettle.core.money import ZERO, format_money, quantum

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"


@dataclass(frozen=True, slots=True)
class Account:
    """A bank account: an IBAN, or another account number; the bank's BIC if known."""

    name: str
    iban: str | None = None
    number: str | None = None
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """One credit transfer.

    Attributes:
      end_to_end_id: our reference, echoed in the bank's status report (≤ 35 characters).
      amount: positive, in the batch currency.
      creditor: the partner's account.
      remittance: the text the partner sees (statement reference).
    """

    end_to_end_id: str
    amount: Decimal
    creditor: Account
    remittance: str


@dataclass(frozen=True, slots=True)
class Batch:
    """One pain.001 message: debtor, currency, execution date and transfers."""

    message_id: str
    created_at: datetime
    initiating_party: str
    debtor: Account
    currency: str
    requested_date: date
    transfers: tuple[Transfer, ...]

    @property
    def control_sum(self) -> Decimal:
        """Σ of the transfers' amounts."""
        return sum((t.amount for t in self.transfers), ZERO)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _text(value: str, limit: int) -> str:
    return value.strip()[:limit] or "-"


def _account(parent: ET.Element, tag: str, account: Account) -> None:
    ident = _sub(_sub(parent, tag), "Id")
    if account.iban:
        _sub(ident, "IBAN", account.iban.replace(" ", "").upper())
    else:
        _sub(_sub(ident, "Othr"), "Id", _text(account.number or "", 34))


def _agent(parent: ET.Element, tag: str, bic: str | None) -> None:
    fin = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        _sub(fin, "BICFI", bic.replace(" ", "").upper())
    else:
        _sub(_sub(fin, "Othr"), "Id", "NOTPROVIDED")


def check_amounts(batch: Batch) -> list[str]:
    """What the XSD cannot check: positive amounts with the currency's decimals."""
    problems = []
    for t in batch.transfers:
        if t.amount <= 0:
            problems.append(f"{t.end_to_end_id}: amount {t.amount} is not positive")
        if t.amount != t.amount.quantize(quantum(batch.currency)):
            problems.append(f"{t.end_to_end_id}: {t.amount} has more decimals than {batch.currency} allows")
        if len(t.end_to_end_id) > 35:
            problems.append(f"{t.end_to_end_id}: end-to-end id longer than 35 characters")
    return problems


def document(batch: Batch) -> bytes:
    """The pain.001.001.09 XML of ``batch`` (UTF-8, with declaration)."""
    problems = check_amounts(batch)
    if problems or not batch.transfers:
        raise ValueError("cannot write the payout file: " + ("; ".join(problems) or "no transfers"))
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}Document")
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    count = str(len(batch.transfers))
    total = format_money(batch.control_sum, batch.currency)
    _sub(header, "MsgId", _text(batch.message_id, 35))
    _sub(header, "CreDtTm", batch.created_at.replace(microsecond=0).isoformat())
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", total)
    _sub(_sub(header, "InitgPty"), "Nm", _text(batch.initiating_party, 140))
    info = _sub(initiation, "PmtInf")
    _sub(info, "PmtInfId", _text(f"{batch.message_id}-1", 35))
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "NbOfTxs", count)
    _sub(info, "CtrlSum", total)
    _sub(_sub(info, "ReqdExctnDt"), "Dt", batch.requested_date.isoformat())
    _sub(_sub(info, "Dbtr"), "Nm", _text(batch.debtor.name, 140))
    _account(info, "DbtrAcct", batch.debtor)
    _agent(info, "DbtrAgt", batch.debtor.bic)
    _sub(info, "ChrgBr", "SLEV")
    for t in batch.transfers:
        tx = _sub(info, "CdtTrfTxInf")
        _sub(_sub(tx, "PmtId"), "EndToEndId", t.end_to_end_id)
        _sub(_sub(tx, "Amt"), "InstdAmt", format_money(t.amount, batch.currency), Ccy=batch.currency)
        if t.creditor.bic:
            _agent(tx, "CdtrAgt", t.creditor.bic)
        _sub(_sub(tx, "Cdtr"), "Nm", _text(t.creditor.name, 140))
        _account(tx, "CdtrAcct", t.creditor)
        _sub(_sub(tx, "RmtInf"), "Ustrd", _text(t.remittance, 140))
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def schema_path() -> Path:
    """The official pain.001.001.09 XSD shipped by ``sepaxml``."""
    spec = importlib.util.find_spec("sepaxml")
    if spec is None or spec.origin is None:
        raise RuntimeError("the sepaxml package (which ships the ISO 20022 XSDs) is not installed")
    return Path(spec.origin).parent / "schemas" / "pain.001.001.09.xsd"


@cache
def _schema() -> object:
    import xmlschema

    return xmlschema.XMLSchema(str(schema_path()))


def validate(xml: bytes) -> list[str]:
    """Every XSD error of ``xml`` as ``path: reason`` (empty when valid)."""
    import xmlschema

    schema = _schema()
    assert isinstance(schema, xmlschema.XMLSchema)
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(io.BytesIO(xml))]


def totals(xml: bytes) -> tuple[int, Decimal, Decimal]:
    """``(NbOfTxs, CtrlSum, Σ InstdAmt)`` read back from a document, for checks."""
    from cloudsettle.core.money import D

    root = ET.fromstring(xml)  # noqa: S314 - our own output
    ns = {"p": NAMESPACE}
    count = int(root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns) or "0")
    control = D(root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) or "0")
    amounts = [D(e.text or "0") for e in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", ns)]
    return count, control, sum(amounts, ZERO)
