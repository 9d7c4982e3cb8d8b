"""Dial lists from CSV: read and check each row, then hand the good ones to the store.

A list file has a phone column and, optionally, the person's name, e-mail and time zone.
Rows are checked here (number, time zone, control characters, line length); matching
contacts, do-not-call, duplicates in the campaign and the write itself are the store's
(:mod:`cti.crm_store.repos.leads`), one transaction for the whole file, so a failed import
leaves nothing behind.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cti.crm_store.importers.contacts_csv import header_key
from cti.crm_store.phones import normalize
from cti.crm_store.rules.leads import LeadRow, RowProblem
from cti.crm_store.schemas.contacts import check_time_zone
from cti.errors import FileAccessError, ValidationError

#: the fields of a list row, and the headers taken for them
LEAD_FIELDS = ("phone", "first_name", "last_name", "name", "email", "time_zone")
ALIASES = {
    "number": "phone",
    "phone_number": "phone",
    "telephone": "phone",
    "tel": "phone",
    "mobile": "phone",
    "full_name": "name",
    "firstname": "first_name",
    "lastname": "last_name",
    "e_mail": "email",
    "tz": "time_zone",
    "timezone": "time_zone",
}
SKIP = "-"
#: the longest line a list may have (a real row is a few hundred bytes)
MAX_LINE = 64 * 1024
ENCODINGS_TO_TRY = "cp1251, koi8-r or latin-1"


def parse_map(items: list[str]) -> dict[str, str]:
    """``["Tel=phone", "Notes=-"]`` → ``{"tel": "phone", "notes": "-"}``."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        target = target.strip()
        if not sep or not column.strip() or (target != SKIP and target not in LEAD_FIELDS):
            raise ValidationError(
                f"--map {item!r}: expected COLUMN=FIELD with FIELD one of "
                f"{', '.join(LEAD_FIELDS)} or - (skip the column)",
                details={"field": "--map"},
            )
        mapping[header_key(column)] = target
    return mapping


def header_fields(header: list[str], mapping: dict[str, str], source: str) -> list[str]:
    """The field of each column (``-``: skipped); one error naming the column otherwise."""
    fields: list[str] = []
    for i, raw in enumerate(header, start=1):
        key = header_key(raw)
        field = mapping.get(key, ALIASES.get(key, key))
        if field != SKIP and field not in LEAD_FIELDS:
            raise ValidationError(
                f"{source}: line 1, column {i} {raw!r} is not a list field; map it with "
                f"--map '{raw}=FIELD' or skip it with --map '{raw}=-' "
                f"(fields: {', '.join(LEAD_FIELDS)})",
                details={"file": source, "line": 1, "field": raw},
            )
        if field != SKIP and field in fields:
            raise ValidationError(
                f"{source}: line 1, column {i} {raw!r}: field {field!r} appears twice",
                details={"file": source, "line": 1, "field": raw},
            )
        fields.append(field)
    if "phone" not in fields:
        raise ValidationError(
            f"{source}: line 1: the header needs a phone column (phone, number, mobile …)",
            details={"file": source, "line": 1, "field": "phone"},
        )
    return fields


def _text_lines(raw: BinaryIO, encoding: str, source: str) -> Iterator[str]:
    """The file's lines as text: a line too long or not in ``encoding`` stops the import
    with its number (a wrong guess would import garbled names)."""
    for number, line in enumerate(iter(lambda: raw.readline(MAX_LINE + 1), b""), start=1):
        if len(line) > MAX_LINE:
            raise ValidationError(
                f"{source}: line {number} is longer than {MAX_LINE // 1024} KiB: "
                "not a dial list (binary or broken file?)",
                details={"file": source, "line": number},
            )
        try:
            text = line.decode(encoding)
        except UnicodeDecodeError:
            hint = f"pass --encoding ({ENCODINGS_TO_TRY})" if encoding.startswith("utf") else ""
            raise ValidationError(
                f"{source}: line {number} is not {encoding} text"
                + (f"; {hint}" if hint else "; check --encoding"),
                details={"file": source, "line": number, "encoding": encoding},
            ) from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        yield text


def _check(line: int, values: dict[str, str], region: str) -> LeadRow | RowProblem:
    for field, value in values.items():
        if "\x00" in value:
            return RowProblem(line, field, "contains a NUL byte")
    raw_phone = values.get("phone", "").strip()
    phone = normalize(raw_phone, region) if raw_phone else None
    if phone is None:
        reason = "empty" if not raw_phone else f"{raw_phone!r} is not a valid phone number"
        return RowProblem(line, "phone", reason)
    zone = values.get("time_zone", "").strip() or None
    if zone is not None:
        try:
            check_time_zone(zone)
        except ValueError:
            return RowProblem(line, "time_zone", f"{zone!r} is not an IANA time zone")
    first, last = values.get("first_name", "").strip(), values.get("last_name", "").strip()
    full = values.get("name", "").strip()
    if full and not (first or last):
        first, _, last = full.partition(" ")
    return LeadRow(
        line=line,
        phone=phone,
        first_name=first[:100],
        last_name=last.strip()[:100],
        email=values.get("email", "").strip().lower() or None,
        time_zone=zone,
    )


def read_list(
    path: Path, *, region: str, mapping: dict[str, str] | None = None, encoding: str = "utf-8"
) -> Iterator[LeadRow | RowProblem]:
    """Each data row of the CSV at ``path``, checked; errors about the file as a whole (no
    header, a bad column, an undecodable line) raise :class:`ValidationError`."""
    source = str(path)
    if path.is_dir():
        raise FileAccessError(f"{source}: is a directory, not a CSV file", details={"file": source})
    if not path.is_file():
        raise FileAccessError(f"{source}: no such file", details={"file": source})
    with path.open("rb") as raw:
        yield from read_rows(raw, source, region=region, mapping=mapping, encoding=encoding)


def read_rows(
    raw: BinaryIO,
    source: str,
    *,
    region: str,
    mapping: dict[str, str] | None = None,
    encoding: str = "utf-8",
) -> Iterator[LeadRow | RowProblem]:
    """:func:`read_list` on an open binary stream named ``source`` in messages."""
    reader = csv.reader(_text_lines(raw, encoding, source))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise ValidationError(
            f"{source}: the file is empty (expected a header line with a phone column)",
            details={"file": source, "line": 1},
        )
    fields = header_fields(header, mapping or {}, source)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(fields):
            yield RowProblem(line, "-", f"{len(row)} columns, the header has {len(fields)}")
            continue
        values = {f: v for f, v in zip(fields, row, strict=True) if f != SKIP}
        yield _check(line, values, region)
