"""``cti pbxsim``: run the simulated Asterisk standalone (AMI server + call traffic)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cti.errors import ListenError, ValidationError

if TYPE_CHECKING:
    from cti.pbxsim.campaign import Campaign
    from cti.pbxsim.ivr_agi import LiveAgi

log = logging.getLogger(__name__)


def _parse_queues(values: list[str]) -> dict[str, list[str]]:
    queues: dict[str, list[str]] = {}
    for value in values:
        name, sep, members = value.partition("=")
        extens = [m.strip() for m in members.split(",") if m.strip()]
        if not sep or not name.strip():
            raise ValidationError(f"--queue {value!r}: expected NAME=EXT[,EXT…] or NAME=")
        queues[name.strip()] = extens
    return queues


def _parse_outcomes(value: str) -> dict[str, float]:
    """``answer=0.3,busy=0.1,…`` → weights (``--outcomes``)."""
    weights: dict[str, float] = {}
    for item in value.split(","):
        name, sep, weight = item.partition("=")
        try:
            weights[name.strip()] = float(weight)
        except ValueError:
            sep = ""
        if not sep:
            raise ValidationError(f"--outcomes {item!r}: expected OUTCOME=WEIGHT[,…]")
    return weights


def agi_setup(url: str | None, respondents: str, seed: int) -> LiveAgi | None:
    """``--agi`` and ``--respondents``: IVR survey calls run against a FastAGI server."""
    if not url:
        return None
    from cti.pbxsim.agi import AgiTarget
    from cti.pbxsim.ivr_agi import LiveAgi
    from cti.pbxsim.respondents import RespondentProfile

    try:
        target = AgiTarget.parse(url)
    except ValueError as exc:
        raise ValidationError(f"--agi {exc}") from None
    shares = {"answer": 0.0, "pause": 0.0, "wrong": 0.0, "hangup": 0.0}
    for item in respondents.split(","):
        name, sep, weight = item.partition("=")
        try:
            shares[name.strip()] = float(weight)
        except ValueError:
            sep = ""
        if not sep or name.strip() not in ("answer", "pause", "wrong", "hangup"):
            raise ValidationError(
                f"--respondents {item!r}: expected answer|pause|wrong|hangup=WEIGHT[,…]"
            )
    try:
        profile = RespondentProfile(
            shares["answer"], shares["pause"], shares["wrong"], shares["hangup"], seed=seed
        )
    except ValueError as exc:
        raise ValidationError(f"--respondents: {exc}") from None
    return LiveAgi(target, profile)


def campaign_setup(
    outcomes: str, ring_mean: float, talk_mean: float, talk_distribution: str,
    patience_mean: float, machine: float, agent_answer: float, message_seconds: float,
    amd: bool, seed: int,
) -> Campaign:  # fmt: skip
    """The simulator's campaign population and agents from ``cti pbxsim``'s options."""
    from cti.pbxsim.campaign import Campaign
    from cti.pbxsim.population import Population

    population = Population(
        _parse_outcomes(outcomes),  # type: ignore[arg-type]  # checked by Population
        ring_mean=ring_mean, talk_mean=talk_mean,
        talk_distribution=talk_distribution,  # type: ignore[arg-type]
        patience_mean=patience_mean, machine=machine, seed=seed,
    )  # fmt: skip
    if agent_answer < 0 or message_seconds < 0:
        raise ValidationError("pbxsim: --agent-answer and --message-seconds must be >= 0")
    return Campaign(population, agent_answer, message_seconds, amd=amd)


async def _serve(
    host: str, port: int, user: str, secret: str, rate: float, numbers_file: Path | None,
    agents: list[str], queues: dict[str, list[str]], seed: int, time_scale: float, timestamps: bool,
    cdrs: bool, device_states: bool, campaign: Campaign, wrapup: float,
    agi: LiveAgi | None = None,
) -> None:  # fmt: skip
    from cti.pbxsim.server import PbxSimulator
    from cti.pbxsim.traffic import TrafficProfile, read_numbers

    numbers, names = (["+74951234567"], {"+74951234567": "Ivan Petrov"})
    if numbers_file is not None:
        numbers, names = read_numbers(numbers_file)
    sim = PbxSimulator(
        host, port, users={user: secret}, agents=agents, queues=queues,
        time_scale=time_scale, timestamps=timestamps, cdrs=cdrs, device_states=device_states,
        campaign=campaign, wrapup=wrapup, agi=agi,
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
            list[str] | None, typer.Option(help="queue as NAME=EXT,EXT or NAME= (repeatable)")
        ] = None,
        seed: Annotated[int, typer.Option(help="traffic RNG seed")] = 0,
        time_scale: Annotated[float, typer.Option(help="wait multiplier (0.1: 10x faster)")] = 1.0,
        timestamps: Annotated[bool, typer.Option(help="add Timestamp: headers to events")] = True,
        cdrs: Annotated[bool, typer.Option(help="send Cdr events (cdr_manager)")] = True,
        device_states: Annotated[bool, typer.Option(help="send DeviceStateChange events")] = False,
        wrapup: Annotated[
            float, typer.Option(help="queues' wrapuptime: s an agent is not rung after a call")
        ] = 0.0,
        outcomes: Annotated[
            str,
            typer.Option(
                help="campaign dials: OUTCOME=WEIGHT,… (answer, busy, "
                "no-answer, congestion, invalid)"
            ),
        ] = "answer=0.3,busy=0.1,no-answer=0.5,congestion=0.05,invalid=0.05",
        ring_mean: Annotated[float, typer.Option(help="mean s before a callee answers")] = 8.0,
        talk_mean: Annotated[float, typer.Option(help="mean talk s of a campaign call")] = 90.0,
        talk_distribution: Annotated[
            str, typer.Option(help="exponential or lognormal")
        ] = "exponential",
        patience_mean: Annotated[
            float, typer.Option(help="mean s a callee waits in the queue for an agent")
        ] = 6.0,
        machine: Annotated[
            float, typer.Option(help="share of answered calls an answering machine takes")
        ] = 0.0,
        agent_answer: Annotated[
            float, typer.Option(help="s a campaign agent's phone rings before it answers")
        ] = 0.5,
        message_seconds: Annotated[
            float, typer.Option(help="length of the abandon message (s)")
        ] = 5.0,
        amd: Annotated[
            bool, typer.Option(help="campaign calls run AMD() before the queue")
        ] = False,
        agi: Annotated[
            str | None,
            typer.Option(
                help="IVR survey calls run AGI() against this FastAGI server: "
                "agi://HOST[:PORT]/SCRIPT[,CAMPAIGN,LANGUAGE] (cti's [agi])"
            ),
        ] = None,
        respondents: Annotated[
            str, typer.Option(help="survey respondents: answer|pause|wrong|hangup=WEIGHT,…")
        ] = "answer=0.8,pause=0.1,wrong=0.05,hangup=0.05",
    ) -> None:
        """Run a simulated Asterisk (AMI server + realistic call traffic)."""
        if not secret:
            raise ValidationError("pbxsim: give --secret or set CTI_PBXSIM_SECRET")
        if rate < 0 or time_scale <= 0:
            raise ValidationError("pbxsim: --rate must be >= 0 and --time-scale > 0")
        if not 0 <= port <= 65535:
            raise ValidationError(f"pbxsim: --port {port} is not a TCP port")
        queues = _parse_queues(queue or ["support=201,202"])
        campaign = campaign_setup(
            outcomes, ring_mean, talk_mean, talk_distribution, patience_mean, machine,
            agent_answer, message_seconds, amd, seed,
        )  # fmt: skip
        if wrapup < 0:
            raise ValidationError("pbxsim: --wrapup must be >= 0")
        live = agi_setup(agi, respondents, seed)
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
                    campaign,
                    wrapup,
                    live,
                )
            )
        except OSError as exc:
            raise ListenError.of(exc, host, port, "--port") from exc
