"""Reading an import file line by line, bounded, in a stated encoding.

An import must not guess: a line that is not valid in the file's encoding stops it with
the line's number and the ``--encoding`` to try, a line longer than ``max_line`` bytes is
refused once that many bytes are read (a 10 MB "line" costs 64 KiB, not 500 MB), and
:func:`check` runs over the whole file before anything is written, so that a file error
never leaves half a file imported. The reader keeps one line in memory at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cti.errors import ValidationError

#: default longest line, in bytes (line ending included)
MAX_LINE = 64 * 1024
DEFAULT_ENCODING = "utf-8"
#: bytes checked at a time
CHUNK = 256 * 1024
#: what to try when a file is not UTF-8 (Russian Windows, Russian Unix, Western European)
SUGGESTED = "--encoding cp1251|koi8-r|latin-1"


def check_encoding(name: str) -> str:
    """The codec's canonical name; one error for an unknown encoding or one whose lines
    cannot be split on the newline byte (UTF-16/32: convert the file to UTF-8 first)."""
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise ValidationError(
            f"--encoding {name!r}: unknown encoding (e.g. utf-8, {SUGGESTED[11:]})",
            details={"field": "--encoding", "value": name},
        ) from None
    if '\n,;"'.encode(codec.name, errors="replace") != b'\n,;"':
        raise ValidationError(
            f"--encoding {name!r}: not supported, convert the file to UTF-8 first",
            details={"field": "--encoding", "value": name},
        )
    return codec.name


@dataclass
class Lines:
    """The decoded lines of an open binary file (an iterable for :func:`csv.reader`)."""

    raw: BinaryIO
    source: str
    encoding: str = DEFAULT_ENCODING
    max_line: int = MAX_LINE
    #: lines read so far
    count: int = 0
    #: whether a line held a NUL character (rows with one are rejected, see the importer)
    nul: bool = False

    def __iter__(self) -> Iterator[str]:
        utf8 = self.encoding in ("utf-8", "utf-8-sig")
        first, rest = ("utf-8-sig", "utf-8") if utf8 else (self.encoding, self.encoding)
        readline, limit = self.raw.readline, self.max_line
        while data := readline(limit + 1):
            self.count += 1
            if len(data) > limit:
                raise ValidationError(
                    f"{self.source}: line {self.count} is longer than {limit:,} bytes; "
                    "is this a CSV file? (a longer limit: --max-line-bytes)",
                    details={"file": self.source, "line": self.count},
                )
            try:
                text = data.decode(first if self.count == 1 else rest)
            except UnicodeDecodeError as exc:
                shown = "UTF-8" if utf8 else self.encoding
                raise ValidationError(
                    f"{self.source}: line {self.count} is not valid {shown} "
                    f"(byte {exc.start + 1} of the line); give the file's encoding: {SUGGESTED}",
                    details={"file": self.source, "line": self.count, "encoding": shown},
                ) from None
            if "\x00" in text:
                self.nul = True
            yield text


def csv_error(source: str, line: int, exc: csv.Error) -> ValidationError:
    return ValidationError(f"{source}: line {line}: {exc}", details={"file": source, "line": line})


def check(raw: BinaryIO, source: str, encoding: str, max_line: int) -> bool:
    """Read the whole file once as the import will (encoding, line length, CSV quoting):
    raises the first error; returns whether a line holds a NUL character.

    The bytes are checked 256 KiB at a time in C (decoding, the longest line); only a
    file found wrong is read again line by line (:class:`Lines`) to name the line."""
    nul = _scan(raw, encoding, max_line)
    if nul is None:
        raw.seek(0)
        for _ in Lines(raw, source, encoding, max_line):
            pass  # raises the error, with its line
        nul = False  # pragma: no cover (the scan and Lines agree)
    raw.seek(0)
    text = open_text(raw, encoding)
    reader = csv.reader(text)
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        raise csv_error(source, reader.line_num, exc) from None
    finally:
        text.detach()
    if reader.line_num == 0:
        raise ValidationError(f"{source}: empty file (no header line)", details={"file": source})
    return nul


def open_text(raw: BinaryIO, encoding: str) -> io.TextIOWrapper:
    """The checked file as text for :func:`csv.reader` (a UTF-8 byte-order mark dropped)."""
    utf8 = encoding in ("utf-8", "utf-8-sig")
    return io.TextIOWrapper(raw, encoding="utf-8-sig" if utf8 else encoding, newline="")


def _scan(raw: BinaryIO, encoding: str, max_line: int) -> bool | None:
    """Whether a NUL byte occurs; None when a line is too long or does not decode."""
    utf8 = encoding in ("utf-8", "utf-8-sig")
    decoder = codecs.getincrementaldecoder("utf-8-sig" if utf8 else encoding)("strict")
    nul = False
    tail = 0  # bytes of the line that goes on past the previous chunk
    while chunk := raw.read(CHUNK):
        nul = nul or b"\x00" in chunk
        lines = chunk.split(b"\n")
        if len(lines) == 1:
            tail += len(chunk)
        else:
            inner = max(map(len, lines[1:-1]), default=0)
            if tail + len(lines[0]) + 1 > max_line or inner + 1 > max_line:
                return None
            tail = len(lines[-1])
        if tail > max_line:
            return None
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return nul
