"""Drive the simulator the way ``scripts/record_traces.py`` drove Asterisk: send → wait → send.

Each scenario below mirrors the recorder's function of the same name (same actions, same
ActionIDs, the same events waited for, the same pauses in simulated seconds), so the test
can check that what it sent equals the recorded ``NAME.sent`` (channel names aside: the
simulator numbers its Local channels itself).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient, parse_block, split_messages

#: cti's own Asterisk 22 recordings (timestamps on, no Cdr events, device states on)
CTI_TRACES = Path(__file__).resolve().parents[1] / "traces" / "asterisk22"
IVAN = '"Ivan Petrov" <+74951234567>'
_LOCAL_SEQ = re.compile(r"-[0-9a-f]{8};")

Action = dict[str, str]


@dataclass
class Driver:
    """One logged-in AMI session: what it sent, and waits that read the stream in order."""

    ami: AmiClient
    time_scale: float
    sent: bytearray = field(default_factory=bytearray)

    async def send(self, *actions: Action) -> None:
        """Send ``actions`` in one write (Asterisk then reads them as one batch)."""
        data = b"".join(
            ("".join(f"{k}: {v}\r\n" for k, v in action.items()) + "\r\n").encode()
            for action in actions
        )
        self.sent += data
        await self.ami.send_raw(data)

    async def wait(self, name: str, **fields: str) -> dict[str, str]:
        """The next event ``name`` whose fields match (``Key__startswith`` too)."""

        def test(msg: dict[str, str]) -> bool:
            if msg.get("Event") != name:
                return False
            for key, want in fields.items():
                if key.endswith("__startswith"):
                    if not msg.get(key[: -len("__startswith")], "").startswith(want):
                        return False
                elif msg.get(key) != want:
                    return False
            return True

        return (await self.ami.until(test))[-1]

    async def sleep(self, seconds: float) -> None:
        """Pause ``seconds`` of simulated time (the recorder's ``asyncio.sleep``)."""
        await asyncio.sleep(seconds * self.time_scale)


def originate(action_id: str, channel: str, context: str, exten: str, **extra: str) -> Action:
    return {
        "Action": "Originate",
        "ActionID": action_id,
        "Channel": channel,
        "Context": context,
        "Exten": exten,
        "Priority": "1",
        **extra,
        "Async": "true",
    }


def inbound(action_id: str, exten: str, seconds: int = 30) -> Action:
    return originate(
        action_id,
        f"Local/h{seconds}@customer-phone",
        "cti-inbound",
        exten,
        CallerID=IVAN,
        Timeout="30000",
    )


def click_to_dial(action_id: str, agent: str, number: str, context: str = "outbound") -> Action:
    return originate(
        action_id,
        f"Local/{agent}@agents",
        context,
        number,
        CallerID=f'"{number}" <{number}>',
        Timeout="30000",
        Variable=f"CTI_CLICK2DIAL={agent}",
    )


def dialer(action_id: str, channel: str, **extra: str) -> Action:
    return originate(
        action_id,
        channel,
        "dialer-connected",
        "s",
        CallerID='"Sales Dept" <+74950000000>',
        Timeout="10000",
        **extra,
    )


async def agent_leg(d: Driver, ext: str) -> str:
    """The agent's ``;1`` channel once it is bridged with the caller."""
    msg = await d.wait("BridgeEnter", Channel__startswith=f"Local/{ext}@cti-agents-")
    return msg["Channel"][:-1] + "1"


def setvar(name: str, leg: str, target: str) -> Action:
    return {
        "Action": "Setvar",
        "ActionID": f"{name}-var-1",
        "Channel": leg,
        "Variable": "TRANSFER_EXTEN",
        "Value": target,
    }


def atxfer(name: str, leg: str, target: str) -> Action:
    return {
        "Action": "Atxfer",
        "ActionID": f"{name}-xfer-1",
        "Channel": leg,
        "Exten": target,
        "Context": "cti-agents",
    }


Scenario = Callable[[Driver, str], Awaitable[None]]


async def click_to_dial_answered(d: Driver, name: str) -> None:
    await d.send(click_to_dial(f"{name}-ctd-1", "103", "79161110001"))


async def click_to_dial_congestion(d: Driver, name: str) -> None:
    await d.send(click_to_dial(f"{name}-ctd-1", "103", "79161110004"))


async def click_to_dial_noroute(d: Driver, name: str) -> None:
    await d.send(click_to_dial(f"{name}-ctd-1", "103", "89161110005", "cti-outbound"))


async def outbound_congestion(d: Driver, name: str) -> None:
    await d.send(
        dialer(
            f"{name}-dialer-1",
            "Local/79161110004@pstn",
            Account="campaign-7",
            Variable="CAMPAIGN=spring-promo",
        )
    )


async def outbound_invalid(d: Driver, name: str) -> None:
    await d.send(
        dialer(f"{name}-dialer-1", "Local/89161110005@pstn", Variable="CAMPAIGN=spring-promo")
    )
    await d.wait("OriginateResponse")


async def queue_timeout(d: Driver, name: str) -> None:
    await d.send(inbound(f"{name}-inb-1", "520", 30))


async def queue_abandoned(d: Driver, name: str) -> None:
    await d.send(inbound(f"{name}-inb-1", "520", 4))


async def ivr_then_queue(d: Driver, name: str) -> None:
    await d.send(inbound(f"{name}-inb-1", "510", 30))


async def ivr_answered(d: Driver, name: str) -> None:
    await d.send(inbound(f"{name}-inb-1", "700", 30))


async def ivr_caller_hangs_up(d: Driver, name: str) -> None:
    await d.send(inbound(f"{name}-inb-1", "510", 2))


async def blind_transfer(d: Driver, name: str) -> None:
    await d.send(inbound(f"{name}-inb-1", "104", 30))
    leg = await agent_leg(d, "104")
    await d.sleep(2)
    await d.send(
        {
            "Action": "BlindTransfer",
            "ActionID": f"{name}-xfer-1",
            "Channel": leg,
            "Exten": "105",
            "Context": "cti-transfer",
        }
    )


async def attended_transfer(d: Driver, name: str) -> None:
    """As recorded, Asterisk sent the ``VarSet`` of the ``Setvar`` before it read ``Atxfer``:
    the driver waits for it (in blonde-transfer both actions were read as one batch)."""
    await d.send(inbound(f"{name}-inb-1", "104", 30))
    leg = await agent_leg(d, "104")
    await d.sleep(2)
    await d.send(setvar(name, leg, "105"))
    await d.wait("VarSet", Variable="TRANSFER_EXTEN")
    await d.send(atxfer(name, leg, "105"))
    await d.wait("DialEnd", DestChannel__startswith="Local/105@cti-agents-", DialStatus="ANSWER")
    await d.sleep(1)
    await d.send({"Action": "Hangup", "ActionID": f"{name}-hup-1", "Channel": leg})


async def blonde_transfer(d: Driver, name: str) -> None:
    await d.send(inbound(f"{name}-inb-1", "104", 30))
    leg = await agent_leg(d, "104")
    await d.sleep(2)
    await d.send(setvar(name, leg, "106"), atxfer(name, leg, "106"))
    await d.wait("Newchannel", Channel__startswith="Local/106@cti-agents-")
    await d.sleep(2)
    await d.send({"Action": "Hangup", "ActionID": f"{name}-hup-1", "Channel": leg})


SCENARIOS: dict[str, Scenario] = {
    "click-to-dial-answered": click_to_dial_answered,
    "click-to-dial-congestion": click_to_dial_congestion,
    "click-to-dial-noroute": click_to_dial_noroute,
    "outbound-congestion": outbound_congestion,
    "outbound-invalid": outbound_invalid,
    "queue-timeout": queue_timeout,
    "queue-abandoned": queue_abandoned,
    "ivr-then-queue": ivr_then_queue,
    "ivr-answered": ivr_answered,
    "ivr-caller-hangs-up": ivr_caller_hangs_up,
    "blind-transfer": blind_transfer,
    "attended-transfer": attended_transfer,
    "blonde-transfer": blonde_transfer,
}


SYNC = "pbxsim-test-sync"


async def drive(sim: PbxSimulator, name: str) -> tuple[bytes, bytes]:
    """Run scenario ``name`` on a started ``sim``; return (bytes received after the login
    response, bytes sent). Returns once every call is over and its last events are in (a
    ``Ping`` answer comes after every event sent before it; those answers are left out)."""
    ami = await AmiClient.connect(sim.port)
    try:
        assert (await ami.login())["Response"] == "Success"
        ami.recorded.clear()
        driver = Driver(ami, sim.time_scale)
        await SCENARIOS[name](driver, name)
        for n in (1, 2):  # the simulator has read every action; then every call has ended
            await ami.send(Action="Ping", ActionID=f"{SYNC}-{n}")
            await ami.response(f"{SYNC}-{n}")
            await sim.drain()
        kept = [b for b in split_messages(bytes(ami.recorded)) if SYNC.encode() not in b]
        return b"".join(b + b"\r\n\r\n" for b in kept), bytes(driver.sent)
    finally:
        await ami.close()


def actions(data: bytes) -> list[dict[str, str]]:
    """The actions of a ``.sent`` stream, Local channel numbers masked."""
    return [
        {k: _LOCAL_SEQ.sub("-*;", v) for k, v in parse_block(block).items()}
        for block in split_messages(data)
    ]
