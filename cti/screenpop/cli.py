"""CLI commands of cti.screenpop: ``cti listen`` (terminal pops)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Annotated

import typer

from cti.errors import ValidationError


def register(app: typer.Typer) -> None:
    """Add ``cti listen`` to ``app``."""

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
        elif not sys.stdin.isatty():
            raise ValidationError(
                "cti listen: no terminal to ask the password on; pass it on standard input "
                'with --password-stdin (e.g. printf "%s\\n" "$PASSWORD" | cti listen '
                "--url … --user … --password-stdin)"
            )
        else:
            password = typer.prompt("password", hide_input=True)
        if not password:
            raise ValidationError(
                "cti listen: empty password: type it, or give it with --password-stdin"
            )

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await listen(url, user, password, out=typer.echo, as_json=as_json, stop=stop)

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
