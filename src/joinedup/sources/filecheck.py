"""Before a file is parsed: is it there, is it a file, is it text, and in which encoding.

Every refusal is a :class:`SourceError` that names the file and says what to do, and
never quotes the file's content. A file's text is checked in 1 MB chunks; nothing holds
the whole file in memory.
"""

from __future__ import annotations

import codecs
import stat
from dataclasses import dataclass
from pathlib import Path

from joinedup.config import SourceConfig
from joinedup.errors import SourceError

__all__ = [
    "CHUNK",
    "JSON_HINT",
    "TextFacts",
    "check_utf8",
    "detect_encoding",
    "has_carriage_return",
    "has_nul_byte",
    "normalise_line_ends",
    "scan_text",
    "sniff_bytes",
    "transcode_to_utf8",
]

CHUNK = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls, .doc
_PARQUET_MAGIC = b"PAR1"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# bytes no text file holds (tab, line feed, form feed, carriage return and escape are text)
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))
BINARY_SHARE = 0.05
"""A file whose first 64 KB are more than 5% control bytes is binary, not text with a
stray NUL (which quarantines its row)."""


@dataclass
class TextFacts:
    """What scanning a text file found: its encoding and whether any NUL byte is in it."""

    encoding: str
    has_nul: bool = False


def _open_error(path: Path, exc: OSError) -> SourceError:
    if isinstance(exc, FileNotFoundError):
        return SourceError(
            f"{path.name}: the file does not exist (looked for {path}). Check 'file:' for "
            "this source in partnership.yaml, or put the extract there."
        )
    if isinstance(exc, IsADirectoryError):
        return SourceError(
            f"{path.name}: is a folder, not a file. Point 'file:' at the extract itself "
            "(a pattern such as extracts/police/crimes_*.csv picks the newest file)."
        )
    if isinstance(exc, PermissionError):
        return SourceError(
            f"{path.name}: joinedup is not allowed to read it (permission denied). Give the "
            "user running joinedup read access to the file."
        )
    return SourceError(
        f"{path.name}: cannot be opened ({exc.strerror or type(exc).__name__}). Check the "
        "file exists and joinedup may read it."
    )


def sniff_bytes(path: Path, source: SourceConfig) -> bytes:
    """The file's first 64 KB; refuse what is missing, not a file, empty or of another format."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise _open_error(path, exc) from None
    if stat.S_ISDIR(mode):
        raise _open_error(path, IsADirectoryError())
    if not stat.S_ISREG(mode):
        raise SourceError(
            f"{path.name}: is not a regular file (a device, pipe or socket). Point 'file:' "
            "at the extract itself."
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise _open_error(path, exc) from None
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SourceError(
            f"{path.name}: the file is empty. Export the extract again, or point 'file:' at "
            "the right file."
        )
    fmt = source.format
    if fmt in ("csv", "json", "jsonl"):
        what = None
        if head.startswith(_ZIP_MAGIC):
            what = "a zip archive or an Excel .xlsx workbook; for a workbook set 'format: xlsx'"
        elif head.startswith(_OLE_MAGIC):
            what = "an old Excel .xls (or other Office) file; save it as .xlsx or CSV"
        elif head.startswith(_PARQUET_MAGIC):
            what = "a Parquet file; set 'format: parquet'"
        elif not head.startswith(_UTF16_BOMS) and _looks_binary(head):
            what = (
                "binary data, not text; check the file is the extract and not a damaged "
                "copy (or a program's own file format)"
            )
        if what:
            raise SourceError(f"{path.name}: is {what}.")
    if fmt == "xlsx" and not head.startswith(_ZIP_MAGIC):
        hint = (
            "an old .xls file: save it as .xlsx"
            if head.startswith(_OLE_MAGIC)
            else ("not an Excel .xlsx workbook (check 'format:'; a CSV needs 'format: csv')")
        )
        raise SourceError(f"{path.name}: is {hint}.")
    if fmt == "parquet" and not head.startswith(_PARQUET_MAGIC):
        raise SourceError(
            f"{path.name}: is not a Parquet file (check 'format:' in partnership.yaml)."
        )
    return head


def _looks_binary(head: bytes) -> bool:
    """More than :data:`BINARY_SHARE` of the bytes are control bytes (NUL, 0x01, ...)."""
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls > max(1, len(head) * BINARY_SHARE)


def detect_encoding(path: Path) -> str:
    """The text encoding of a file: UTF-16 by its byte-order mark, else UTF-8 if every byte
    decodes as UTF-8, else Windows-1252 (Excel's "CSV" on Windows), else Latin-1.

    The whole file is checked (in 1 MB chunks, at about 1 GB/s), so a stray byte near the
    end cannot pass for UTF-8.
    """
    return scan_text(path).encoding


def scan_text(path: Path) -> TextFacts:
    """:func:`detect_encoding`, noting on the way whether the file holds a NUL byte.

    One pass in 1 MB binary chunks: a chunk of ASCII (most of most extracts) is checked by
    :meth:`bytes.isascii` and NULs by ``memchr``; only other chunks are decoded.
    """
    with path.open("rb") as fh:
        if fh.read(2) in _UTF16_BOMS:
            return TextFacts("utf-16")
    try:
        has_nul = _scan_utf8(path)
    except _NotUtf8:
        pass
    else:
        return TextFacts("utf-8", has_nul)
    has_nul, ok = False, True
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            has_nul = has_nul or chunk.find(b"\x00") >= 0
            ok = ok and chunk.translate(None, _CP1252_UNDEFINED) == chunk
    return TextFacts("cp1252" if ok else "latin-1", has_nul)


class _NotUtf8(Exception):
    def __init__(self, offset: int, truncated: bool) -> None:
        self.offset = offset  # the first byte that is not UTF-8
        self.truncated = truncated  # the file ends part-way through a character


_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"  # the bytes Windows-1252 leaves undefined


def _scan_utf8(path: Path) -> bool:
    """Whether the file holds a NUL byte; raises :class:`_NotUtf8` at the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = 0
    has_nul = False
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if not has_nul and chunk.find(b"\x00") >= 0:
                has_nul = True
            # an ASCII chunk with no character left open from the last is valid as it is
            if not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise _NotUtf8(offset + exc.start, False) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _NotUtf8(offset, True) from None
    return has_nul


def transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> tuple[Path, bool]:
    """Stream a file in a legacy encoding into a UTF-8 copy DuckDB can read; the copy's path
    and whether the text holds a NUL character."""
    out = workdir / (path.name + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    ascii_same = encoding.replace("_", "-").lower() in _ASCII_SUPERSETS
    offset = 0
    has_nul = False
    with path.open("rb") as src, out.open("wb") as dst:
        while chunk := src.read(CHUNK):
            if not has_nul and chunk.find(b"\x00") >= 0:
                has_nul = True
            if ascii_same and chunk.isascii() and not decoder.getstate()[0]:
                dst.write(chunk)  # the same bytes in UTF-8
                offset += len(chunk)
                continue
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path.name}: byte {offset + exc.start} is not valid {encoding}. "
                    "Declare the file's real encoding with 'encoding:' in partnership.yaml "
                    "(or 'encoding: auto' to detect it; run `file "
                    f"{path.name}` to see what it looks like).",
                ) from None
            dst.write((text.lstrip("\ufeff") if offset == 0 else text).encode("utf-8"))
            offset += len(chunk)
        try:
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError:
            raise SourceError(
                f"{path.name}: ends part-way through a {encoding} character; the file looks "
                "cut short. Export it again."
            ) from None
    return out, has_nul


# encodings whose ASCII bytes are ASCII characters (so an ASCII chunk is already UTF-8)
_ASCII_SUPERSETS = frozenset(
    "cp1252 windows-1252 latin-1 latin1 iso-8859-1 iso8859-1 iso-8859-15 cp1250 cp1251 "
    "utf-8 utf8 ascii us-ascii".split()
)


_CP1252_HINT = (
    "The file is probably in Windows-1252 (Excel's CSV on Windows): set 'encoding: cp1252' "
    "or 'encoding: auto' for this source in partnership.yaml."
)
JSON_HINT = "JSON is always UTF-8: export the file again as UTF-8."


def check_utf8(path: Path, hint: str = _CP1252_HINT) -> bool:
    """Refuse a file declared UTF-8 that is not; whether it holds a NUL byte."""
    try:
        return _scan_utf8(path)
    except _NotUtf8 as exc:
        if exc.truncated:
            raise SourceError(
                f"{path.name}: ends part-way through a UTF-8 character; the file looks cut "
                "short. Export it again."
            ) from None
        raise SourceError(f"{path.name}: byte {exc.offset} is not valid UTF-8. {hint}") from None


def has_nul_byte(path: Path) -> bool:
    """Whether the file holds a NUL byte (one pass in 1 MB chunks, by ``memchr``)."""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if chunk.find(b"\x00") >= 0:
                return True
    return False


def has_carriage_return(path: Path) -> bool:
    """Whether the file holds a carriage return (so its line ends may be mixed)."""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if chunk.find(b"\r") >= 0:
                return True
    return False


def normalise_line_ends(path: Path, workdir: Path) -> Path:
    """A copy of a UTF-8 file with every line end (CRLF, CR or LF) written as LF.

    DuckDB's strict reader takes one kind of line end per file; a file that mixes them is
    read from this copy. A line break inside a quoted value becomes LF too.
    """
    out = workdir / (path.name + ".lf.csv")
    carry = b""
    with path.open("rb") as src, out.open("wb") as dst:
        while chunk := src.read(CHUNK):
            chunk = carry + chunk
            carry = b""
            if chunk.endswith(b"\r"):  # it may be the first half of a CRLF
                chunk, carry = chunk[:-1], b"\r"
            dst.write(chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        if carry:
            dst.write(b"\n")
    return out
