"""``cti import contacts FILE.csv``: bulk-load contacts, with a report of the rejected rows.

Exit status (see docs/import.md): 0 every row imported, 3 some rows rejected (listed in the
report), 2 nothing done (usage or file error: one line names the file, line and fix),
1 the import failed (e.g. the database). A dry run exits as the real run would.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated

import typer

from cti.cli import settings_from
from cti.config import Settings
from cti.crm_store.importers.contacts_csv import (
    CheckedFile,
    ContactImporter,
    ImportResult,
    Progress,
    check_file,
    parse_mapping,
)
from cti.crm_store.importers.reading import DEFAULT_ENCODING, MAX_LINE
from cti.crm_store.repos.sqlite_direct import sqlite_file
from cti.crm_store.store import Store
from cti.errors import ValidationError

import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)

#: exit statuses of ``cti import``
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3


@import_app.command("contacts")
def import_contacts(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV file with a header line")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD (or COLUMN=- to skip a column); repeatable"),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="check and count as a real run would; write nothing"),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="rejected rows CSV (default FILE.report.csv; a dry run: only when given)",
        ),
    ] = None,
    encoding: Annotated[
        str,
        typer.Option("--encoding", help="the file's encoding: utf-8 (BOM or not), cp1251, …"),
    ] = DEFAULT_ENCODING,
    max_line_bytes: Annotated[
        int, typer.Option("--max-line-bytes", min=1024, help="longest line accepted")
    ] = MAX_LINE,
) -> None:
    """Import contacts; bad or duplicate rows are skipped and listed in the report.

    Exit status: 0 all rows imported, 3 some rows rejected, 2 usage or file error (nothing
    imported), 1 the import failed."""
    settings = settings_from(ctx)
    try:
        if file.is_dir():
            raise ValidationError(
                f"{file}: a directory, not a CSV file", details={"file": str(file)}
            )
        if not file.is_file():
            raise ValidationError(f"{file}: no such file", details={"file": str(file)})
        mapping = parse_mapping(map_ or [])
        checked = check_file(file, mapping, encoding, max_line_bytes)  # before any store
        options = _Run(file, mapping, dry_run, report, encoding, max_line_bytes, checked)
        db_file = sqlite_file(settings.db_url)
        options.no_database = db_file is not None and not Path(db_file).exists()
        result = asyncio.run(_main(settings, options))
    except ValidationError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    verb = "would import" if result.dry_run else "imported"
    rate = result.rows / result.seconds if result.seconds else 0.0
    typer.echo(
        f"{result.rows} rows: {verb} {result.imported}, rejected {result.rejected}, "
        f"new companies {result.companies_created} ({rate:,.0f} rows/s)"
    )
    for failure in result.failed_batches:
        typer.echo(f"failed batch {failure}", err=True)
    if result.report is not None:
        typer.echo(f"report: {result.report}")
    if result.rejected or result.failed_batches:
        raise typer.Exit(EXIT_REJECTED)


class _Run:
    def __init__(
        self,
        file: Path,
        mapping: dict[str, str],
        dry_run: bool,
        report: Path | None,
        encoding: str,
        max_line: int,
        checked: CheckedFile,
    ) -> None:
        self.file, self.mapping, self.dry_run, self.checked = file, mapping, dry_run, checked
        self.report, self.encoding, self.max_line = report, encoding, max_line
        #: the store is a SQLite file that does not exist yet (a real run creates it)
        self.no_database = False


async def _main(settings: Settings, run: _Run) -> ImportResult:
    async with AsyncExitStack() as stack:
        url = settings.db_url
        upgrade = True
        if run.dry_run:
            upgrade = False  # a dry run changes nothing, the schema neither
            if run.no_database:
                # a real run would create it empty: predict against an empty throwaway one
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="cti-dry-run-"))
                url, upgrade = f"sqlite+aiosqlite:///{tmp}/dry-run.db", True
        store = await Store.open(url, settings.phone, upgrade=upgrade)
        stack.push_async_callback(store.close)
        importer = ContactImporter(store)
        progress: Progress | None = None
        if sys.stdout.isatty():
            progress = stack.enter_context(_ProgressBar(run.file))
        return await importer.run(
            run.file,
            mapping=run.mapping,
            dry_run=run.dry_run,
            report=run.report,
            progress=progress,
            encoding=run.encoding,
            max_line=run.max_line,
            checked=run.checked,
        )
    raise AssertionError("unreachable")  # pragma: no cover


class _ProgressBar:
    """A rich progress bar over the file's bytes, as a :data:`Progress` callback."""

    def __init__(self, file: Path) -> None:
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self.file = file
        self.bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
        )
        self.task = self.bar.add_task(file.name, total=file.stat().st_size)

    def __enter__(self) -> Progress:  # the callback
        self.bar.__enter__()

        def update(done_bytes: int, rows: int) -> None:
            self.bar.update(
                self.task, completed=done_bytes, description=f"{self.file.name}: {rows:,} rows"
            )

        return update

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)


def register(app: typer.Typer) -> None:
    """Add ``cti import``."""
    app.add_typer(import_app, name="import")
