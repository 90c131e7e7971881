"""Bill files as text streams, whatever the wrapping: plain, gzip or zip, UTF-8 or GB18030.

Consoles hand out the same bill in several wrappings: a plain ``.csv``, a
``.csv.gz`` from the export-to-bucket jobs, a ``.zip`` from the download
button; Chinese consoles (and Excel's "save as CSV" on a Chinese Windows)
write GB18030 instead of UTF-8. Readers should not care, so every reader
opens its file through :func:`open_text`.

Streaming: nothing here reads a whole file. The encoding is sniffed on the
first 64 KiB only (UTF-8 if that prefix decodes as UTF-8, else GB18030, a
superset of GBK and GB2312); the file is then opened again and decoded as it
is read. A UTF-8 byte-order mark is dropped. A file whose first 64 KiB are
valid UTF-8 but whose later bytes are not fails while reading with
:class:`UnicodeDecodeError`; such mixed files are not a console's output.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TextIO, cast

from cloudsettle.ingest.errors import UnreadableSourceError

#: How much of the start of a file the encoding sniffer looks at.
SNIFF_BYTES = 64 * 1024

_UTF8 = "utf-8-sig"
_GB18030 = "gb18030"


def _wrapping(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        return "gzip"
    if name.endswith(".zip"):
        return "zip"
    return "plain"


def _zip_member(archive: zipfile.ZipFile, file_name: str) -> str:
    """The one CSV member of a zip; anything else is refused, naming the members."""
    members = [
        info.filename
        for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    csvs = [m for m in members if m.lower().endswith(".csv")]
    if len(csvs) != 1:
        shown = ", ".join(members) or "(none)"
        raise UnreadableSourceError(
            file_name,
            f"a zip must hold exactly one .csv member; it holds {len(csvs)} "
            f"(members: {shown})",
        )
    return csvs[0]


@contextmanager
def _open_binary(path: Path) -> Iterator[tuple[IO[bytes], str]]:
    """The file's CSV bytes as a stream, and the name of what is inside."""
    kind = _wrapping(path)
    with ExitStack() as stack:
        if kind == "gzip":
            # GzipFile is a binary stream; typeshed does not say it is an IO[bytes].
            stream = cast(IO[bytes], stack.enter_context(gzip.open(path, "rb")))
            member = path.name[: -len(".gz")]
        elif kind == "zip":
            try:
                archive = stack.enter_context(zipfile.ZipFile(path))
            except zipfile.BadZipFile as exc:
                raise UnreadableSourceError(path.name, f"not a readable zip file: {exc}") from exc
            member = _zip_member(archive, path.name)
            stream = stack.enter_context(archive.open(member))
        else:
            stream = stack.enter_context(path.open("rb"))
            member = path.name
        yield stream, member


def sniff_encoding(prefix: bytes) -> str:
    """``utf-8-sig`` if ``prefix`` (the file's first bytes) is UTF-8, else ``gb18030``.

    The prefix may end inside a multi-byte character, so it is decoded
    incrementally without the final flush.

    >>> sniff_encoding("账期".encode("utf-8")), sniff_encoding("账期".encode("gb18030"))
    ('utf-8-sig', 'gb18030')
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(prefix, final=False)
    except UnicodeDecodeError:
        return _GB18030
    return _UTF8


@contextmanager
def open_text(path: Path) -> Iterator[tuple[TextIO, str]]:
    """Open a bill file as a text stream for the ``csv`` module (``newline=""``).

    Yields ``(stream, member)``: ``member`` is the CSV's own name (the zip
    member, or the file name without ``.gz``). Raises
    :class:`~cloudsettle.ingest.errors.UnreadableSourceError` for a zip that
    does not hold exactly one CSV, or a broken archive.
    """
    try:
        with _open_binary(path) as (binary, _):
            encoding = sniff_encoding(binary.read(SNIFF_BYTES))
        with _open_binary(path) as (binary, member):
            text = io.TextIOWrapper(binary, encoding=encoding, newline="")
            try:
                yield text, member
            finally:
                text.detach()
    except (gzip.BadGzipFile, EOFError, zipfile.BadZipFile) as exc:
        raise UnreadableSourceError(path.name, f"broken compressed file: {exc}") from exc


def clean_header(cell: str) -> str:
    """A header cell without surrounding blanks or a stray byte-order mark."""
    return cell.strip().lstrip("\ufeff").strip()


def read_header(path: Path) -> list[str]:
    """The first row of a bill file, cleaned; ``[]`` for an empty file."""
    with open_text(path) as (stream, _):
        reader = csv.reader(stream)
        for cells in reader:
            return [clean_header(c) for c in cells]
    return []
