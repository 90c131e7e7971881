"""The explanation pack: one ZIP with everything needed to check a statement by hand.

Contents (``MANIFEST.txt`` inside lists them with their sha256):

- ``statement.pdf``: the statement document in the chosen language;
- ``statement.json``: the JSON statement of spec/config.md, the truth the others agree with;
- ``lines.csv``: the statement CSV: every line with its source file and row, and the
  other parts of the payable (``Σ amount = payable``);
- ``agreement-<id>-v<N>.yaml``: the agreement version the statement used, in the
  config file's form (``cloudsettle config load`` reads it);
- ``fx-rates.csv``: the FX rates used, with their dates;
- ``findings.csv``: the findings that affected the statement;
- ``cases.csv``: the cases about it (exceptions that held it, disputes) and their
  resolutions;
- ``sources.csv``: the ingested files the lines came from, with their sha256.

Members are streamed into the archive, so a statement of 100,000 lines packs
without holding another copy of it in memory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from cloudsettle.config_file.codec import version_to_dict
from cloudsettle.exports.statement_csv import write_csv
from cloudsettle.exports.statement_data import StatementData
from cloudsettle.exports.statement_pdf import Branding, render_pdf

#: A fixed timestamp for every member: the pack carries no wall-clock time of its own.
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class _Hashing(io.RawIOBase):
    """A binary sink that hashes what it forwards (for the manifest)."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.sha.update(data)
        self.target.write(data)
        return len(data)


class _Pack:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.digests: list[tuple[str, str, str]] = []

    @contextmanager
    def text(self, name: str, what: str) -> Iterator[IO[str]]:
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.zf.open(info, "w") as raw:
            sink = _Hashing(raw)
            stream = io.TextIOWrapper(io.BufferedWriter(sink, 1 << 16), encoding="utf-8", newline="")
            yield stream
            stream.flush()
            self.digests.append((name, sink.sha.hexdigest(), what))
            stream.detach()

    def file(self, name: str, path: Path, what: str) -> None:
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        sha = hashlib.sha256()
        with self.zf.open(info, "w") as raw, path.open("rb") as src:
            for chunk in iter(lambda: src.read(1 << 16), b""):
                sha.update(chunk)
                raw.write(chunk)
        self.digests.append((name, sha.hexdigest(), what))


def agreement_yaml(data: StatementData) -> str:
    """The statement's agreement version as a config-file fragment (``agreements:`` list)."""
    doc = data.doc
    if data.version is None:
        return f"# agreement {doc['agreement']} version {doc['agreement_version']} is not in the store\n"
    body = {
        "agreements": [
            {
                "id": doc["agreement"],
                "partner": doc["partner"],
                "mode": data.agreement_mode,
                "versions": [version_to_dict(data.version)],
            }
        ]
    }
    head = (
        f"# Agreement {doc['agreement']} version {doc['agreement_version']}, as used by "
        f"{doc['partner']}'s statement for {doc['period']}.\n"
        f"# fingerprint (sha256 of the canonical JSON): {data.version_fingerprint or 'unknown'}\n"
    )
    return head + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def render_pack(
    data: StatementData,
    output: Path,
    lang: str = "en",
    branding: Branding | None = None,
    *,
    work_dir: Path | None = None,
) -> Path:
    """Write the explanation pack ZIP of one statement to ``output``."""
    doc = data.doc
    output.parent.mkdir(parents=True, exist_ok=True)
    scratch = work_dir or output.parent
    pdf = render_pdf(data, scratch / f".{output.stem}.statement.pdf", lang, branding)
    try:
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as zf:
            pack = _Pack(zf)
            pack.file("statement.pdf", pdf, f"the statement ({lang})")
            with pack.text("statement.json", "the JSON statement (spec/config.md)") as f:
                for chunk in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(doc):
                    f.write(chunk)
                f.write("\n")
            with pack.text("lines.csv", "every line with its source file and row; Σ amount = payable") as f:
                write_csv(data, f)
            name = f"agreement-{doc['agreement']}-v{doc['agreement_version']}.yaml"
            with pack.text(name, "the agreement version used") as f:
                f.write(agreement_yaml(data))
            with pack.text("fx-rates.csv", "the FX rates used") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["day", "from_currency", "to_currency", "rate", "lines", "base"])
                for fx in data.fx:
                    w.writerow([fx.day.isoformat() if fx.day else "", fx.from_currency, fx.to_currency,
                                str(fx.rate), fx.lines, str(fx.base)])
            with pack.text("findings.csv", "the findings that affected the statement") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["kind", "line_id", "message"])
                for e in doc["exceptions"]:
                    w.writerow([e["kind"], e["line_id"] or "", e["message"]])
            with pack.text("cases.csv", "the cases about this statement and their resolutions") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["case", "kind", "status", "title", "owner", "resolution"])
                for c in data.cases:
                    w.writerow([c["id"], c["kind"], c["status"], c["title"], c["owner"], c["resolution"]])
            with pack.text("sources.csv", "the ingested files the lines came from") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(
                    ["batch_id", "file_name", "provider", "sha256", "received_at", "received_by", "lines"]
                )
                for s in data.files:
                    w.writerow([s.batch_id, s.file_name, s.provider, s.sha256, s.received_at.isoformat(),
                                s.received_by, s.lines])
            manifest = [
                f"Explanation pack: {doc['partner']} / {doc['agreement']} {doc['period']} "
                f"({doc['status']}), payable {doc['components']['payable']} {doc['currency']}",
                "",
                *(f"{sha}  {name}  ({what})" for name, sha, what in pack.digests),
            ]
            info = zipfile.ZipInfo("MANIFEST.txt", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, "\n".join(manifest) + "\n")
    finally:
        pdf.unlink(missing_ok=True)
    return output
