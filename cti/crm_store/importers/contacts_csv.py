"""CSV import of contacts: streaming, validated per row, deduplicated, batch-atomic.

The file is read in batches of ``batch_size`` rows; each batch is checked against itself and
against the store (by E.164 phone and by e-mail, both indexed) and written in one
transaction with executemany-style inserts (see :mod:`cti.crm_store.repos.import_writers`), so
memory stays flat for any file size and a failing batch leaves nothing half-written. Bad
rows go to a report CSV (line, field, reason) and are skipped; re-running a file only
reports its rows as already present.
"""

from __future__ import annotations

import csv
import gc
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cti.crm_store.importers.reading import (
    DEFAULT_ENCODING,
    MAX_LINE,
    Lines,
    check,
    check_encoding,
    csv_error,
    open_text,
)
from cti.crm_store.phones import normalize, time_zone_for
from cti.crm_store.repos.import_writers import EngineWriter, Outcome, Seen, SqliteWriter
from cti.crm_store.repos.sqlite_direct import sqlite_path
from cti.crm_store.rules.imports import ContactRow
from cti.crm_store.schemas.contacts import check_email, check_time_zone
from cti.crm_store.store import Store
from cti.errors import ValidationError

#: CSV field → phone kind for the phone columns
PHONE_FIELDS = {"phone": "mobile", "mobile": "mobile", "work_phone": "work", "home_phone": "home"}
FIELDS = (
    "first_name",
    "last_name",
    "name",
    "company",
    "email",
    *PHONE_FIELDS,
    "notes",
    "tags",
    "time_zone",
    "do_not_call",
)
SKIP = "-"
#: other header names understood for a field (compared after lower-casing, spaces and
#: hyphens as ``_``); docs/import.md lists them, and a test keeps the two in step
ALIASES = {
    "firstname": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "full_name": "name",
    "organization": "company",
    "organisation": "company",
    "e_mail": "email",
    "mail": "email",
    "phone_number": "phone",
    "telephone": "phone",
    "tel": "phone",
    "mobile_phone": "mobile",
    "cell": "mobile",
    "note": "notes",
    "comment": "notes",
    "tag": "tags",
    "timezone": "time_zone",
    "tz": "time_zone",
    "dnc": "do_not_call",
}
_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"", "0", "false", "no", "n"}
_SPLIT = re.compile(r"[;|]")

Progress = Callable[[int, int], None]
"""Called after each batch with (bytes read, rows read)."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    companies_created: int = 0
    dry_run: bool = False
    report: Path | None = None
    seconds: float = 0.0
    failed_batches: list[str] = field(default_factory=list)


def header_key(name: str) -> str:
    """``" Full-Name "`` → ``full_name``: how a CSV header is matched to a field (contact
    imports and dial lists alike)."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["Full Name=name", "Fax=-"]`` → ``{"full_name": "name", "fax": "-"}``."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        target = target.strip()
        if not sep or not column.strip() or not target:
            raise ValidationError(
                f"--map {item!r}: expected COLUMN=FIELD", details={"field": "--map"}
            )
        if target != SKIP and target not in FIELDS:
            raise ValidationError(
                f"--map {item!r}: unknown field {target!r} (fields: {', '.join(FIELDS)}, or -)",
                details={"field": "--map", "value": target},
            )
        mapping[header_key(column)] = target
    return mapping


def resolve_header(header: list[str], mapping: dict[str, str], source: str) -> list[str]:
    """The field of each column; one clear error for an unknown, doubled or missing column."""
    keys = [header_key(h) for h in header]
    for column in mapping:
        if column not in keys:
            raise ValidationError(
                f"{source}: --map names column {column!r}, not in the header (line 1)",
                details={"file": source, "line": 1, "field": column},
            )
    fields: list[str] = []
    for i, (raw, key) in enumerate(zip(header, keys, strict=True), start=1):
        target = mapping.get(key) or ALIASES.get(key, key)
        if target != SKIP and target not in FIELDS:
            raise ValidationError(
                f"{source}: line 1, column {i} {raw!r} is not a contact field; "
                f"map it with --map '{raw}=FIELD' or skip it with --map '{raw}=-' "
                f"(fields: {', '.join(FIELDS)})",
                details={"file": source, "line": 1, "field": raw},
            )
        if target != SKIP and target in fields:
            raise ValidationError(
                f"{source}: line 1, column {i} {raw!r}: field {target!r} appears twice",
                details={"file": source, "line": 1, "field": raw},
            )
        fields.append(target)
    if not {"first_name", "last_name", "name"} & set(fields):
        raise ValidationError(
            f"{source}: line 1: the header needs a name column (first_name, last_name or name)",
            details={"file": source, "line": 1, "field": "name"},
        )
    return fields


@dataclass(frozen=True)
class CheckedFile:
    """A file :func:`check_file` found importable: its columns' fields, and whether a line
    holds a NUL character (then rows are searched for one)."""

    fields: list[str]
    nul: bool


def check_file(
    path: Path,
    mapping: dict[str, str],
    encoding: str = DEFAULT_ENCODING,
    max_line: int = MAX_LINE,
) -> CheckedFile:
    """Read ``path`` once as an import would (encoding, line length, quoting, header):
    raises its first file error, before anything (a store, a report) is opened."""
    encoding = check_encoding(encoding)
    with path.open("rb") as raw:
        nul = check(raw, str(path), encoding, max_line)
        raw.seek(0)
        header = next(csv.reader(Lines(raw, str(path), encoding, max_line)), None)
    if not header:
        raise ValidationError(f"{path}: empty file (no header line)", details={"file": str(path)})
    return CheckedFile(resolve_header(header, mapping, str(path)), nul)


class ContactImporter:
    """Imports contact CSV files into a :class:`Store`."""

    def __init__(self, store: Store, *, batch_size: int | None = None) -> None:
        """``batch_size`` rows per transaction (default: 10,000 on SQLite, 2,000 elsewhere)."""
        self.store = store
        self.batch_size = batch_size

    def _writer(self) -> SqliteWriter | EngineWriter:
        path = sqlite_path(self.store.url)
        if path is not None:
            return SqliteWriter(path, self.store.phone.tail_digits)
        return EngineWriter(self.store)

    async def run(
        self,
        path: Path,
        *,
        mapping: dict[str, str] | None = None,
        dry_run: bool = False,
        report: Path | None = None,
        progress: Progress | None = None,
        encoding: str = DEFAULT_ENCODING,
        max_line: int = MAX_LINE,
        checked: CheckedFile | None = None,
    ) -> ImportResult:
        """Import ``path``; rejected rows are written to ``report`` (default
        ``FILE.report.csv``; a dry run writes one only when given), which is created only
        when a row is rejected.

        The whole file is checked first (:func:`cti.crm_store.importers.reading.check`:
        encoding, line length, quoting), so a file error stops the import before anything
        is written. Batch N is then deduplicated and written (in a worker thread on SQLite)
        while the event loop parses batch N+1; a batch is deduplicated only after the
        previous one committed. ``checked``: what :func:`check_file` returned for the same
        file and options (it is not read twice then).
        """
        options = _Options(
            mapping or {}, dry_run, report, progress, check_encoding(encoding), max_line
        )
        with _gc_paused():
            return await self._run(path, options, checked)

    async def _run(self, path: Path, opt: _Options, checked: CheckedFile | None) -> ImportResult:
        started = time.perf_counter()
        if checked is None:
            checked = check_file(path, opt.mapping, opt.encoding, opt.max_line)
        report = opt.report
        if report is None and not opt.dry_run:
            report = path.with_name(path.name + ".report.csv")
        result = ImportResult(dry_run=opt.dry_run)
        source = f"import:{path.name[-150:]}"
        with path.open("rb") as raw, open_text(raw, opt.encoding) as text:
            # the file was checked: C-speed reading now (lines and encoding are known good)
            reader = csv.reader(text)
            next(reader)  # the header, read by check_file
            with _Report(report) as out:
                fields, nul = checked.fields, checked.nul
                await self._import(reader, fields, nul, raw, source, opt, result, out)
        result.report = report if out.written else None
        result.seconds = time.perf_counter() - started
        return result

    async def _import(
        self,
        reader: Any,
        fields: list[str],
        nul: bool,
        raw: Any,
        source: str,
        opt: _Options,
        result: ImportResult,
        out: _Report,
    ) -> None:
        seen = Seen() if opt.dry_run else None
        writer = self._writer()
        size = self.batch_size or writer.batch_size
        pending: tuple[Awaitable[Outcome], list[ContactRow], list[RowError]] | None = None
        progress = opt.progress
        try:
            for batch, errors in self._batches(reader, fields, nul, size):
                result.rows += len(batch) + len({e.line for e in errors})
                if pending is not None:
                    done, pending = pending, None
                    _account(result, out, *done, outcome=await done[0])
                    if progress is not None:
                        progress(raw.tell(), result.rows)
                pending = (writer.submit(batch, source, opt.dry_run, seen), batch, errors)
            if pending is not None:
                done, pending = pending, None
                _account(result, out, *done, outcome=await done[0])
                if progress is not None:
                    progress(raw.tell(), result.rows)
        except csv.Error as exc:  # checked before; only if the file changed meanwhile
            raise csv_error(str(raw.name), reader.line_num, exc) from None
        except UnicodeDecodeError:  # the same
            msg = f"{raw.name}: changed while it was imported (no longer {opt.encoding})"
            raise ValidationError(msg, details={"file": str(raw.name)}) from None
        finally:
            if pending is not None:
                await pending[0]  # a batch in flight finishes before its connection closes
            await writer.close()
            if seen is not None:
                seen.close()

    def _batches(
        self, reader: Any, fields: list[str], nul: bool, size: int
    ) -> Iterator[tuple[list[ContactRow], list[RowError]]]:
        width = len(fields)
        columns = _Columns(fields)
        region = self.store.phone.default_region
        batch: list[ContactRow] = []
        errors: list[RowError] = []
        ended = reader.line_num  # a record may span lines: report the line it starts on
        for values in reader:
            line, ended = ended + 1, reader.line_num
            if len(values) != width:
                if not any(v.strip() for v in values):
                    continue
                errors.append(RowError(line, "-", f"{len(values)} columns, the header has {width}"))
            elif nul and (at := _nul_at(values)) >= 0:
                name = fields[at] if fields[at] != SKIP else f"column {at + 1}"
                errors.append(RowError(line, name, "contains a NUL character (\\x00)"))
            else:
                row = _parse_row(line, columns, values, region, errors)
                if row is not None:
                    batch.append(row)
            if len(batch) + len(errors) >= size:
                yield batch, errors
                batch, errors = [], []
        if batch or errors:
            yield batch, errors


@dataclass(frozen=True)
class _Options:
    mapping: dict[str, str]
    dry_run: bool
    report: Path | None
    progress: Progress | None
    encoding: str
    max_line: int


def _nul_at(values: list[str]) -> int:
    """The index of the first value holding a NUL character, or -1."""
    return next((i for i, v in enumerate(values) if "\x00" in v), -1)


class _Report:
    """The rejected rows' CSV (line, field, reason), created at the first one, written in
    full under a temporary name and renamed into place when the import ends."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.written = False
        self._file: TextIO | None = None
        self._csv: Any = None

    def __enter__(self) -> _Report:
        return self

    def writerows(self, rows: Iterable[tuple[int, str, str]]) -> None:
        for row in rows:
            if self._csv is None:
                if self.path is None:
                    return
                tmp = self.path.with_name(self.path.name + ".part")
                self._file = tmp.open("w", newline="", encoding="utf-8")
                self._csv = csv.writer(self._file)
                self._csv.writerow(["line", "field", "reason"])
            self._csv.writerow(row)

    def __exit__(self, kind: object, *_: object) -> None:
        if self._file is None or self.path is None:
            return
        self._file.close()
        tmp = self.path.with_name(self.path.name + ".part")
        if kind is None:
            os.replace(tmp, self.path)
            self.written = True
        else:
            tmp.unlink(missing_ok=True)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC during a bulk load.

    An import allocates millions of small acyclic objects; the collector would rescan the
    live batches over and over (~17% of import time). Reference counting frees them anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _account(
    result: ImportResult,
    report_csv: _Report,
    _future: Awaitable[Outcome],
    rows: list[ContactRow],
    errors: list[RowError],
    *,
    outcome: Outcome,
) -> None:
    """Count a finished batch and write its bad rows to the report, in line order."""
    errors = errors + [RowError(*d) for d in outcome.dupes]
    if outcome.failure is not None:
        if rows:
            where = f"lines {rows[0].line}-{rows[-1].line}"
            result.failed_batches.append(f"{where}: {outcome.failure}")
        dup_lines = {d[0] for d in outcome.dupes}
        errors += [RowError(r.line, "-", outcome.failure) for r in rows if r.line not in dup_lines]
    else:
        result.imported += len(outcome.good)
        result.companies_created += outcome.companies_created
    for first, last, count in outcome.lost:  # imported earlier, undone with the transaction
        result.imported -= count
        result.rejected += count
        result.failed_batches.append(f"lines {first}-{last}: rolled back with a later batch")
    result.rejected += len({e.line for e in errors})
    errors.sort(key=lambda e: e.line)
    report_csv.writerows((e.line, e.field, e.reason) for e in errors)


class _Columns:
    """Column index of each field (-1: absent), resolved once per file."""

    def __init__(self, fields: list[str]) -> None:
        at = {name: i for i, name in enumerate(fields) if name != SKIP}
        self.first, self.last, self.name = (at.get(f, -1) for f in FIELDS[:3])
        self.company, self.email = at.get("company", -1), at.get("email", -1)
        self.phones = [(name, kind, at[name]) for name, kind in PHONE_FIELDS.items() if name in at]
        self.notes, self.tags = at.get("notes", -1), at.get("tags", -1)
        self.time_zone, self.dnc = at.get("time_zone", -1), at.get("do_not_call", -1)


def _split(cell: str) -> list[str]:
    return [p.strip() for p in _SPLIT.split(cell)] if ";" in cell or "|" in cell else [cell]


def _parse_row(
    line: int, col: _Columns, values: list[str], region: str, errors: list[RowError]
) -> ContactRow | None:
    """One validated row, or None after appending its errors (one per bad field)."""

    def cell(i: int) -> str:
        return values[i].strip() if i >= 0 else ""

    first, last = cell(col.first), cell(col.last)
    if not first and not last:
        first, _, last = cell(col.name).partition(" ")
        last = last.strip()
    failed = len(errors)
    if not first and not last:
        errors.append(RowError(line, "name", "missing name"))
    elif len(first) > 100 or len(last) > 100:
        errors.append(RowError(line, "name", "name longer than 100 characters"))
    phones: list[tuple[str, str, str]] = []
    for name, kind, i in col.phones:
        for raw in _split(cell(i)):
            if not raw:
                continue
            e164 = normalize(raw, region)
            if e164 is None:
                errors.append(RowError(line, name, f"bad phone {raw!r}"))
            elif all(p[1] != e164 for p in phones):
                phones.append((raw, e164, kind))
    emails: list[str] = []
    for raw in _split(cell(col.email)):
        if not raw:
            continue
        try:
            email = check_email(raw)
        except ValueError as exc:
            errors.append(RowError(line, "email", f"{exc}: {raw!r}"))
            continue
        if email not in emails:
            emails.append(email)
    time_zone: str | None = None
    if col.time_zone >= 0:
        try:
            time_zone = check_time_zone(cell(col.time_zone) or None)
        except ValueError as exc:
            errors.append(RowError(line, "time_zone", str(exc)))
    dnc = cell(col.dnc).lower()
    if dnc and dnc not in _TRUE and dnc not in _FALSE:
        errors.append(RowError(line, "do_not_call", f"expected yes/no, got {dnc!r}"))
    company = cell(col.company)
    if company:
        company = " ".join(company.split())  # writers key companies by company.lower()
    if len(company) > 200:
        errors.append(RowError(line, "company", "longer than 200 characters"))
    if len(errors) > failed:
        return None
    if time_zone is None and phones:
        time_zone = time_zone_for(phones[0][1])
    tags = [t for t in _split(cell(col.tags)) if t]
    return ContactRow(
        line=line,
        first=first,
        last=last,
        company=company,
        emails=emails,
        phones=phones,
        notes=cell(col.notes) or None,
        tags=list(dict.fromkeys(tags)) if len(tags) > 1 else tags,
        time_zone=time_zone,
        do_not_call=dnc in _TRUE,
    )
