"""``cti calls export``: the call history, filtered, to a CSV or XLSX file from the shell.

It reads the store directly (like the other commands: no daemon, no token) with every call
visible, in the same keyset batches as the API's exports, so a file of millions of rows is
written in constant memory.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError as PydanticValidationError

from cti.calllog.exports import csv_chunks, write_xlsx
from cti.calllog.service import CallLog
from cti.cli import settings_from
from cti.config import Settings
from cti.crm_store.schemas.calls import ExportIn
from cti.crm_store.store import Store
from cti.errors import FileAccessError, ValidationError

calls_app = typer.Typer(help="The call history.", no_args_is_help=True)

Opt = Annotated[str | None, typer.Option()]


def export_input(fmt: str, sort: str, filters: dict[str, Any]) -> ExportIn:
    """The export asked for; a bad value is a :class:`ValidationError` naming its option."""
    given = {k: v for k, v in filters.items() if v is not None}
    try:
        return ExportIn.model_validate({"format": fmt, "sort": sort, "filters": given})
    except PydanticValidationError as exc:
        fields = {
            "--" + str(err["loc"][-1]).replace("_", "-") if err["loc"] else "input": err["msg"]
            for err in exc.errors(include_input=False)
        }
        message = "; ".join(f"{field}: {msg}" for field, msg in fields.items())
        raise ValidationError(message, details={"fields": fields}) from None


async def write_export(settings: Settings, export: ExportIn, out: str) -> int:
    """Write the export to ``out`` (``-``: standard output, CSV only); rows written."""
    store = await Store.open(settings.db_url, settings.phone)
    log = CallLog(store)
    rows = 0
    try:
        zone = ZoneInfo(export.filters.tz)

        async def counted() -> Any:
            nonlocal rows
            async for batch in log.batches(export.filters, export.sort, size=2000):
                rows += len(batch)
                yield batch

        if export.format == "xlsx":
            await write_xlsx(counted(), Path(out), zone)
            return rows
        handle = sys.stdout.buffer if out == "-" else await asyncio.to_thread(Path(out).open, "wb")
        try:
            async for chunk in csv_chunks(counted(), zone):
                await asyncio.to_thread(handle.write, chunk)
        finally:
            if handle is not sys.stdout.buffer:
                handle.close()
        return rows
    finally:
        log.close()
        await store.close()


@calls_app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[str, typer.Option("--out", "-o", help="file to write (-: stdout, CSV)")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    sort: Annotated[str, typer.Option(help="-started_at, started_at, -duration, duration")] = (
        "-started_at"
    ),
    since: Annotated[str | None, typer.Option("--from", help="from this time, with offset")] = None,
    until: Annotated[str | None, typer.Option("--to", help="until this time (excluded)")] = None,
    day_from: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (in --tz)")] = None,
    day_to: Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD (included)")] = None,
    tz: Annotated[str, typer.Option(help="IANA time zone of the days and of the times")] = "UTC",
    direction: Opt = None,
    status: Opt = None,
    agent: Opt = None,
    queue: Opt = None,
    number: Annotated[str | None, typer.Option(help="the outside party, any format")] = None,
    contact: Annotated[str | None, typer.Option(help="contact id")] = None,
    company: Annotated[str | None, typer.Option(help="company id")] = None,
    campaign: Opt = None,
    disposition: Opt = None,
    pbx: Opt = None,
) -> None:
    """Export the calls the filters select (every call: no operator limits here)."""
    settings = settings_from(ctx)
    filters = {
        "from": since, "to": until, "day_from": day_from, "day_to": day_to, "tz": tz,
        "direction": direction, "status": status, "agent": agent, "queue": queue,
        "number": number, "contact": contact, "company": company, "campaign": campaign,
        "disposition": disposition, "pbx": pbx,
    }  # fmt: skip
    data = export_input(fmt, sort, filters)
    if out == "-" and data.format == "xlsx":
        raise ValidationError("--out: an XLSX file needs a file name, not -")
    try:
        rows = asyncio.run(write_export(settings, data, out))
    except OSError as exc:
        raise FileAccessError(f"cannot write {out}: {exc.strerror or exc}") from None
    if out != "-":
        typer.echo(f"{rows} calls written to {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``cti calls``."""
    app.add_typer(calls_app, name="calls")
