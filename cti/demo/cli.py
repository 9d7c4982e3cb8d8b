"""``cti demo`` (everything on this machine) and ``cti seed --contacts N`` (demo CRM data)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from cti.cli import settings_from
from cti.crm_store.store import Store
from cti.demo.seed import SeedResult, seed_demo
from cti.errors import FileAccessError


def demo(
    ctx: typer.Context,
    db: Annotated[Path, typer.Option(help="SQLite file of the demo store")] = Path("cti.db"),
    host: Annotated[str, typer.Option(help="listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="listen port")] = 8080,
    contacts: Annotated[
        int, typer.Option(min=10, help="demo contacts to seed into an empty store")
    ] = 2000,
    rate: Annotated[float, typer.Option(min=0.01, help="simulated calls per second")] = 0.2,
) -> None:
    """Run everything on this machine: seeded store, simulated PBX, daemon, operator page."""
    from cti.daemon import _configure_logging
    from cti.demo.run import run_demo

    settings = settings_from(ctx)
    if not db.resolve().parent.is_dir():  # named as --db, not as the database_url it becomes
        raise FileAccessError(
            f"--db {db}: the folder {db.resolve().parent} does not exist: create it or give "
            "another --db",
            details={"file": str(db)},
        )
    level = "WARNING" if settings.log_level == "INFO" else settings.log_level
    _configure_logging(level, sql_parameters=settings.log.sql_parameters)
    asyncio.run(
        run_demo(
            db=db.resolve(),
            host=host,
            port=port,
            contacts=contacts,
            rate=rate,
            base=settings,
            out=typer.echo,
        )
    )


def seed(
    ctx: typer.Context,
    contacts: Annotated[int, typer.Option("--contacts", min=1, help="how many contacts")] = 200,
    seed_: Annotated[int, typer.Option("--seed", help="random seed (same seed, same data)")] = 1,
) -> None:
    """Fill the store with realistic demo data (companies, contacts, deals, tickets, tasks)."""
    settings = settings_from(ctx)

    async def main() -> SeedResult:
        store = await Store.open(settings.db_url, settings.phone)
        try:
            return await seed_demo(store, contacts, seed=seed_)
        finally:
            await store.close()

    r = asyncio.run(main())
    typer.echo(
        f"seeded {r.contacts} contacts, {r.companies} companies, {r.deals} deals, "
        f"{r.tickets} tickets, {r.tasks} tasks"
    )


def register(app: typer.Typer) -> None:
    """Add ``cti demo`` and ``cti seed``."""
    app.command("demo")(demo)
    app.command("seed")(seed)
