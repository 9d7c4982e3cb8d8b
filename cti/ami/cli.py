"""CLI commands of cti.ami: ``cti replay`` (recorded AMI traffic → call records) and
``cti ami manager-conf`` (the AMI user block for Asterisk's manager.conf)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from cti.ami.events import CallRecord
from cti.config import Settings
from cti.errors import FileAccessError

#: calls written per transaction by ``cti replay --store``
STORE_BATCH = 500


ami_app = typer.Typer(help="Asterisk's side of the AMI connection.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this feature's commands to ``app``."""
    app.command("replay")(replay)
    ami_app.command("manager-conf")(manager_conf)
    app.add_typer(ami_app, name="ami")


def manager_conf(
    user: Annotated[str, typer.Option("--user", help="the AMI user name")] = "cti",
    permit: Annotated[
        list[str] | None,
        typer.Option(
            "--permit", help="address/mask cti connects from (repeatable; default loopback)"
        ),
    ] = None,
    legacy: Annotated[
        bool,
        typer.Option("--legacy", help="regex filters, for Asterisk older than 20.8 / 21.3"),
    ] = False,
) -> None:
    """Print the manager.conf block for cti's AMI user: the least permissions cti needs and
    an event filter that lets through only the events it uses (about half the traffic of
    a call). Paste it into manager.conf, set the secret, then run 'manager reload'."""
    from cti.ami.filters import manager_conf as block

    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", user):
        typer.echo(f"error: --user: not a manager.conf user name: {user!r}", err=True)
        raise typer.Exit(2)
    for net in permit or []:
        if not re.fullmatch(r"[0-9A-Fa-f.:]+(/[0-9A-Fa-f.:]+)?", net):
            typer.echo(f"error: --permit: not an address/mask: {net!r}", err=True)
            raise typer.Exit(2)
    nets = tuple(permit) if permit else ("127.0.0.1/255.255.255.255",)
    typer.echo(block(user, nets, legacy=legacy), nl=False)


def replay(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="recorded AMI traffic (.ami files)")],
    pbx: Annotated[
        str, typer.Option("--pbx", help="PBX name for the records (and its pbx.NAME config)")
    ] = "default",
    store: Annotated[
        bool, typer.Option("--store", help="also write the calls to the configured store")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config file (as `cti --config`)")
    ] = None,
) -> None:
    """Replay recorded AMI bytes offline; print one JSON object per finished call.

    The files run in order through one parser and one call tracker, as live traffic would.
    Calls still open at the end are printed with "partial": true. Only the AMI events are
    read (a recorder's .sent file next to a trace is not).
    """
    from cti.ami.replay import Replayer, iter_files
    from cti.cli import settings_from

    if config is not None:
        root = ctx.find_root()
        root.obj = {**(root.obj if isinstance(root.obj, dict) else {}), "config": config}
    settings = settings_from(ctx)
    for path in files:
        if not path.is_file():
            raise FileAccessError(
                f"{path}: no such trace file: check the path (recorded AMI traffic, .ami)",
                details={"file": str(path)},
            )
    replayer = Replayer(pbx=pbx, config=settings.pbx.get(pbx))
    records: list[CallRecord] = []
    for record in iter_files(files, replayer):
        typer.echo(json.dumps(record.to_json(), ensure_ascii=False))
        records.append(record)
    parser = replayer.parser
    summary = f"{len(records)} call(s) from {parser.messages} message(s)"
    if parser.errors:
        summary += f"; {parser.errors} malformed line(s) skipped, first: {parser.first_error}"
    if parser.truncated:
        summary += "; the last message was truncated"
    if store:
        new = asyncio.run(_store(records, settings))
        summary += f"; stored {new} new, {len(records) - new} already in the call log"
    typer.echo(summary, err=True)


async def _store(records: Sequence[CallRecord], settings: Settings) -> int:
    """Write records through the call log service (idempotent per pbx + linkedid), a
    transaction per :data:`STORE_BATCH` calls; a batch the store refuses is written again one
    call at a time, so the calls before the refused one are kept and the error is its own."""
    from cti.calllog.service import CallLog
    from cti.crm_store.store import Store

    db = await Store.open(settings.db_url, settings.phone)
    try:
        calllog = CallLog(db)
        try:
            new = 0
            for start in range(0, len(records), STORE_BATCH):
                batch = records[start : start + STORE_BATCH]
                try:
                    written = await calllog.record_many(batch)
                except Exception:
                    written = [await calllog.record(record) for record in batch]
                new += sum(written)
            return new
        finally:
            calllog.close()
    finally:
        await db.close()
