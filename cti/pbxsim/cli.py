"""``cti pbxsim``: run the simulated Asterisk standalone (AMI server + call traffic)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from cti.errors import ListenError, ValidationError

log = logging.getLogger(__name__)


def _parse_queues(values: list[str]) -> dict[str, list[str]]:
    queues: dict[str, list[str]] = {}
    for value in values:
        name, sep, members = value.partition("=")
        extens = [m.strip() for m in members.split(",") if m.strip()]
        if not sep or not name.strip() or not extens:
            raise ValidationError(f"--queue {value!r}: expected NAME=EXT[,EXT…]")
        queues[name.strip()] = extens
    return queues


async def _serve(
    host: str, port: int, user: str, secret: str, rate: float, numbers_file: Path | None,
    agents: list[str], queues: dict[str, list[str]], seed: int, time_scale: float, timestamps: bool,
    cdrs: bool, device_states: bool,
) -> None:  # fmt: skip
    from cti.pbxsim.server import PbxSimulator
    from cti.pbxsim.traffic import TrafficProfile, read_numbers

    numbers, names = (["+74951234567"], {"+74951234567": "Ivan Petrov"})
    if numbers_file is not None:
        numbers, names = read_numbers(numbers_file)
    sim = PbxSimulator(
        host, port, users={user: secret}, agents=agents, queues=queues,
        time_scale=time_scale, timestamps=timestamps, cdrs=cdrs, device_states=device_states,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await sim.start()
    typer.echo(f"pbxsim: AMI on {host}:{sim.port} (user {user}); {rate:g} calls/s; Ctrl-C stops")
    try:
        if rate > 0:
            sim.start_traffic(
                TrafficProfile(calls_per_second=rate, numbers=numbers, names=names, seed=seed)
            )
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await sim.stop()
        typer.echo("pbxsim: stopped")


def register(app: typer.Typer) -> None:
    """Add ``cti pbxsim``."""

    @app.command("pbxsim")
    def pbxsim(
        port: Annotated[int, typer.Option(help="AMI TCP port (0: any free port)")] = 5038,
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        user: Annotated[str, typer.Option(help="AMI username")] = "cti",
        secret: Annotated[
            str | None,
            typer.Option(envvar="CTI_PBXSIM_SECRET", help="AMI secret (or CTI_PBXSIM_SECRET)"),
        ] = None,
        rate: Annotated[float, typer.Option(help="generated calls per second (0: none)")] = 1.0,
        numbers: Annotated[
            Path | None, typer.Option(help="file of caller numbers, one per line: NUMBER[,NAME]")
        ] = None,
        agent: Annotated[
            list[str] | None, typer.Option(help="agent extension (repeatable)")
        ] = None,
        queue: Annotated[
            list[str] | None, typer.Option(help="queue as NAME=EXT,EXT (repeatable)")
        ] = None,
        seed: Annotated[int, typer.Option(help="traffic RNG seed")] = 0,
        time_scale: Annotated[float, typer.Option(help="wait multiplier (0.1: 10x faster)")] = 1.0,
        timestamps: Annotated[bool, typer.Option(help="add Timestamp: headers to events")] = True,
        cdrs: Annotated[bool, typer.Option(help="send Cdr events (cdr_manager)")] = True,
        device_states: Annotated[bool, typer.Option(help="send DeviceStateChange events")] = False,
    ) -> None:
        """Run a simulated Asterisk (AMI server + realistic call traffic)."""
        if not secret:
            raise ValidationError("pbxsim: give --secret or set CTI_PBXSIM_SECRET")
        if rate < 0 or time_scale <= 0:
            raise ValidationError("pbxsim: --rate must be >= 0 and --time-scale > 0")
        if not 0 <= port <= 65535:
            raise ValidationError(f"pbxsim: --port {port} is not a TCP port")
        queues = _parse_queues(queue or ["support=201,202"])
        agents = agent or ["101", "102", "103", "104", "105"]
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        try:
            asyncio.run(
                _serve(
                    host,
                    port,
                    user,
                    secret,
                    rate,
                    numbers,
                    agents,
                    queues,
                    seed,
                    time_scale,
                    timestamps,
                    cdrs,
                    device_states,
                )
            )
        except OSError as exc:
            raise ListenError.of(exc, host, port, "--port") from exc
