"""CLI commands of cti.screenpop: ``cti listen`` (terminal pops) and ``cti demo``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from cti.errors import CtiError


def register(app: typer.Typer) -> None:
    """Add ``cti listen`` and ``cti demo`` to ``app``."""

    @app.command("listen")
    def listen_command(
        url: Annotated[str, typer.Option(help="the cti server, e.g. http://127.0.0.1:8080")],
        user: Annotated[str, typer.Option(help="username to log in as")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="read the password from stdin")
        ] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="print each message as one JSON line")
        ] = False,
    ) -> None:
        """Print each screen-pop for USER as it arrives (Ctrl-C to stop)."""
        from cti.screenpop.listen import listen

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("password", hide_input=True)
        if not password:
            raise CtiError("empty password")

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await listen(url, user, password, out=typer.echo, as_json=as_json, stop=stop)

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())

    @app.command("demo")
    def demo_command(
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
        from cti.cli import settings_from
        from cti.daemon import _configure_logging
        from cti.demo import run_demo

        settings = settings_from(ctx)
        _configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level)
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
