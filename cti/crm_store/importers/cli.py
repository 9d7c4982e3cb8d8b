"""``cti import contacts FILE.csv``: bulk-load contacts, with a report of the bad rows."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from cti.cli import settings_from
from cti.crm_store.importers.contacts_csv import (
    ContactImporter,
    ImportResult,
    Progress,
    parse_mapping,
)
from cti.crm_store.store import Store
from cti.errors import ValidationError

import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)


@import_app.command("contacts")
def import_contacts(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV file with a header line")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD (or COLUMN=- to skip a column); repeatable"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate only, write nothing")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="bad rows CSV (default FILE.report.csv)")
    ] = None,
) -> None:
    """Import contacts; bad or duplicate rows are skipped and listed in the report."""
    settings = settings_from(ctx)
    if not file.is_file():
        raise ValidationError(f"{file}: no such file", details={"file": str(file)})
    mapping = parse_mapping(map_ or [])

    async def main() -> ImportResult:
        store = await Store.open(settings.db_url, settings.phone)
        try:
            importer = ContactImporter(store)
            if not sys.stdout.isatty():
                return await importer.run(file, mapping=mapping, dry_run=dry_run, report=report)
            size = file.stat().st_size
            return await _with_progress(importer, file, mapping, dry_run, report, size)
        finally:
            await store.close()

    result = asyncio.run(main())
    verb = "would import" if result.dry_run else "imported"
    rate = result.rows / result.seconds if result.seconds else 0.0
    typer.echo(
        f"{result.rows} rows: {verb} {result.imported}, rejected {result.rejected}, "
        f"new companies {result.companies_created} ({rate:,.0f} rows/s)"
    )
    for failure in result.failed_batches:
        typer.echo(f"failed batch {failure}", err=True)
    if result.rejected:
        typer.echo(f"report: {result.report}")


async def _with_progress(
    importer: ContactImporter,
    file: Path,
    mapping: dict[str, str],
    dry_run: bool,
    report: Path | None,
    total: int,
) -> ImportResult:
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
    ) as bar:
        task = bar.add_task(file.name, total=total)

        def update(done_bytes: int, rows: int) -> None:
            bar.update(task, completed=done_bytes, description=f"{file.name}: {rows:,} rows")

        progress: Progress = update
        result = await importer.run(
            file, mapping=mapping, dry_run=dry_run, report=report, progress=progress
        )
        bar.update(task, completed=total)
    return result


def register(app: typer.Typer) -> None:
    """Add ``cti import``."""
    app.add_typer(import_app, name="import")
