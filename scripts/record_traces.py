"""Record AMI scenarios from a live Asterisk into ``tests/traces/asterisk22/``.

A development tool, not part of the daemon: it logs in to AMI, drives one scenario (the
actions it sends are kept in ``NAME.sent``), and writes every byte Asterisk sent after the
login response to ``NAME.ami`` (the format of ``../shared/ami-traces``), until the call's
channels are all gone and the PBX has been quiet for a moment.

The lab is ``../shared/asterisk`` (Asterisk 22 built from source) with the lab config of
``../shared/ami-traces/asterisk22/config`` plus ``tests/traces/asterisk22/config`` (see the
README there). Usage::

    .venv/bin/python scripts/record_traces.py [--host 127.0.0.1] [--port 5038] [NAME ...]

Without names every scenario is recorded. Only a loopback PBX is accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "traces" / "asterisk22"
IVAN = '"Ivan Petrov" <+74951234567>'

Msg = dict[str, str]
Action = dict[str, str | list[str]]


class Recorder:
    """One AMI session: raw bytes in, parsed messages for the scenario's waits."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.raw = bytearray()
        self.sent = bytearray()
        self.messages: list[Msg] = []
        self.live: set[str] = set()
        self._buffer = b""
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._read())
        self.last_rx = time.monotonic()

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            self.raw += data
            self.last_rx = time.monotonic()
            self._buffer += data
            *blocks, self._buffer = self._buffer.split(b"\r\n\r\n")
            for block in blocks:
                msg: Msg = {}
                for line in block.decode("utf-8", "replace").split("\r\n"):
                    key, sep, value = line.partition(": ")
                    if sep:
                        msg.setdefault(key, value)
                self._track(msg)
                self.messages.append(msg)
            async with self._changed:
                self._changed.notify_all()

    def _track(self, msg: Msg) -> None:
        event = msg.get("Event")
        if event == "Newchannel":
            self.live.add(msg.get("Uniqueid", ""))
        elif event == "Hangup":
            self.live.discard(msg.get("Uniqueid", ""))

    async def send(self, action: Action, *, keep: bool = True) -> None:
        """Send one action; a list value repeats its header (``Variable`` of Originate)."""
        lines = [
            f"{k}: {item}\r\n"
            for k, v in action.items()
            for item in ([v] if isinstance(v, str) else v)
        ]
        data = "".join(lines) + "\r\n"
        if keep:
            self.sent += data.encode()
        self.writer.write(data.encode())
        await self.writer.drain()

    async def wait_for(self, test: Callable[[Msg], bool], within: float = 30.0) -> Msg:
        """The first message so far (or to come) that passes ``test``."""
        seen = 0

        def found() -> Msg | None:
            nonlocal seen
            for msg in self.messages[seen:]:
                if test(msg):
                    return msg
            seen = len(self.messages)
            return None

        async with asyncio.timeout(within):
            async with self._changed:
                while (msg := found()) is None:
                    await self._changed.wait()
        return msg

    async def settle(self, quiet: float = 2.0, limit: float = 90.0) -> None:
        """Until no channel is up and nothing arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if not self.live and time.monotonic() - self.last_rx >= quiet:
                return
        raise TimeoutError(f"channels still up after {limit} s: {sorted(self.live)}")

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def event(name: str, **fields: str) -> Callable[[Msg], bool]:
    """A test for an event by name and exact field values (``Channel__startswith`` too)."""

    def test(msg: Msg) -> bool:
        if msg.get("Event") != name:
            return False
        for key, want in fields.items():
            if key.endswith("__startswith"):
                if not msg.get(key[: -len("__startswith")], "").startswith(want):
                    return False
            elif msg.get(key) != want:
                return False
        return True

    return test


def originate(
    action_id: str, channel: str, context: str, exten: str, **extra: str | list[str]
) -> Action:
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
    """Ivan Petrov calls DID ``exten``; he stays on the line ``seconds`` at most."""
    return originate(
        action_id,
        f"Local/h{seconds}@customer-phone",
        "cti-inbound",
        exten,
        CallerID=IVAN,
        Timeout="30000",
    )


def click_to_dial(action_id: str, agent: str, number: str, context: str = "outbound") -> Action:
    """What cti's click-to-dial sends: the agent's phone first, then the number."""
    return originate(
        action_id,
        f"Local/{agent}@agents",
        context,
        number,
        CallerID=f'"{number}" <{number}>',
        Timeout="30000",
        Variable=f"CTI_CLICK2DIAL={agent}",
    )


async def agent_leg(rec: Recorder, ext: str) -> str:
    """The name of the agent's ``;1`` channel once it is bridged with the caller."""
    msg = await rec.wait_for(event("BridgeEnter", Channel__startswith=f"Local/{ext}@cti-agents-"))
    name = msg["Channel"]
    if not name.endswith(";1"):
        name = name[:-1] + "1"
    return name


async def atxfer(rec: Recorder, name: str, leg: str, target: str) -> None:
    """Start an attended transfer of the caller bridged with ``leg`` to ``target``.

    ``Atxfer`` only queues the feature code and the digits as DTMF; with no sound files
    in the lab the digit prompt fails, so the target is set in ``TRANSFER_EXTEN`` first
    (features.conf: then the transfer goes straight there)."""
    await rec.send(
        {
            "Action": "Setvar",
            "ActionID": f"{name}-var-1",
            "Channel": leg,
            "Variable": "TRANSFER_EXTEN",
            "Value": target,
        }
    )
    await rec.send(
        {
            "Action": "Atxfer",
            "ActionID": f"{name}-xfer-1",
            "Channel": leg,
            "Exten": target,
            "Context": "cti-agents",
        }
    )


Scenario = Callable[[Recorder, str], Awaitable[None]]


async def click_to_dial_answered(rec: Recorder, name: str) -> None:
    await rec.send(click_to_dial(f"{name}-ctd-1", "103", "79161110001"))


async def click_to_dial_congestion(rec: Recorder, name: str) -> None:
    await rec.send(click_to_dial(f"{name}-ctd-1", "103", "79161110004"))


async def click_to_dial_noroute(rec: Recorder, name: str) -> None:
    """The route has no way out for the number: it fails inside the PBX (cause 1)."""
    await rec.send(click_to_dial(f"{name}-ctd-1", "103", "89161110005", "cti-outbound"))


async def outbound_congestion(rec: Recorder, name: str) -> None:
    await rec.send(
        originate(
            f"{name}-dialer-1",
            "Local/79161110004@pstn",
            "dialer-connected",
            "s",
            CallerID='"Sales Dept" <+74950000000>',
            Timeout="10000",
            Account="campaign-7",
            Variable="CAMPAIGN=spring-promo",
        )
    )


async def outbound_invalid(rec: Recorder, name: str) -> None:
    """An Originate to a number the PBX has no route for."""
    await rec.send(
        originate(
            f"{name}-dialer-1",
            "Local/89161110005@pstn",
            "dialer-connected",
            "s",
            CallerID='"Sales Dept" <+74950000000>',
            Timeout="10000",
            Variable="CAMPAIGN=spring-promo",
        )
    )
    await rec.wait_for(event("OriginateResponse"))


async def queue_timeout(rec: Recorder, name: str) -> None:
    """Nobody answers; the queue gives up after 8 s and the dialplan hangs up."""
    await rec.send(inbound(f"{name}-inb-1", "520", 30))


async def queue_abandoned(rec: Recorder, name: str) -> None:
    """The caller hangs up after 4 s in the queue (before its 8 s timeout)."""
    await rec.send(inbound(f"{name}-inb-1", "520", 4))


async def ivr_then_queue(rec: Recorder, name: str) -> None:
    """3 s in the IVR, then the support queue: 201 answers after 2 s of ringing."""
    await rec.send(inbound(f"{name}-inb-1", "510", 30))


async def ivr_answered(rec: Recorder, name: str) -> None:
    """Answered by the PBX itself (a message), never by an agent."""
    await rec.send(inbound(f"{name}-inb-1", "700", 30))


async def ivr_caller_hangs_up(rec: Recorder, name: str) -> None:
    """The caller leaves during the IVR, before reaching the queue."""
    await rec.send(inbound(f"{name}-inb-1", "510", 2))


async def blind_transfer(rec: Recorder, name: str) -> None:
    """Agent 104 answers, talks 2 s, blind-transfers the caller to 105."""
    await rec.send(inbound(f"{name}-inb-1", "104", 30))
    leg = await agent_leg(rec, "104")
    await asyncio.sleep(2)
    await rec.send(
        {
            "Action": "BlindTransfer",
            "ActionID": f"{name}-xfer-1",
            "Channel": leg,
            "Exten": "105",
            "Context": "cti-transfer",
        }
    )


async def attended_transfer(rec: Recorder, name: str) -> None:
    """Agent 104 consults 105 (answers after 1 s), then hangs up: the caller gets 105."""
    await rec.send(inbound(f"{name}-inb-1", "104", 30))
    leg = await agent_leg(rec, "104")
    await asyncio.sleep(2)
    await atxfer(rec, name, leg, "105")
    await rec.wait_for(
        event("DialEnd", DestChannel__startswith="Local/105@cti-agents-", DialStatus="ANSWER")
    )
    await asyncio.sleep(1)
    await rec.send({"Action": "Hangup", "ActionID": f"{name}-hup-1", "Channel": leg})


async def blonde_transfer(rec: Recorder, name: str) -> None:
    """Agent 104 starts an attended transfer to 106 and hangs up while 106 still rings."""
    await rec.send(inbound(f"{name}-inb-1", "104", 30))
    leg = await agent_leg(rec, "104")
    await asyncio.sleep(2)
    await atxfer(rec, name, leg, "106")
    await rec.wait_for(event("Newchannel", Channel__startswith="Local/106@cti-agents-"))
    await asyncio.sleep(2)
    await rec.send({"Action": "Hangup", "ActionID": f"{name}-hup-1", "Channel": leg})


# ----------------------------------------------------------------- campaign dialling
SALES = '"Sales Dept" <+74950000000>'
CAMPAIGN_VARS = [
    "CTI_CAMPAIGN=spring-promo",
    "CTI_CONNECT_LIMIT=2",
    "CTI_ABANDON_MESSAGE=cti-abandon",
]


def campaign_call(
    action_id: str, number: str, attempt: int, queue: str = "campaign", ring: int = 20
) -> Action:
    """What the dialer sends: the number through ``Local/{number}@pstn`` (the route), an
    answered call into ``cti-campaign`` with the campaign's variables."""
    return originate(
        action_id,
        f"Local/{number}@pstn",
        "cti-campaign",
        "s",
        CallerID=SALES,
        Timeout=str(ring * 1000),
        Variable=[*CAMPAIGN_VARS, f"CTI_ATTEMPT={attempt}", f"CTI_QUEUE={queue}"],
    )


async def campaign_answered(rec: Recorder, name: str) -> None:
    """79161110011 answers after 2 s; queue ``campaign``: agent 107 answers after 1 s."""
    await rec.send(campaign_call(f"{name}-dialer-1", "79161110011", 1001))


async def campaign_abandoned(rec: Recorder, name: str) -> None:
    """Answered, but queue ``campaign-empty`` has no agent: after the 2 s connect limit
    the message (absent in the lab) and the PBX hangs up."""
    await rec.send(campaign_call(f"{name}-dialer-1", "79161110011", 1002, "campaign-empty"))


async def campaign_busy(rec: Recorder, name: str) -> None:
    await rec.send(campaign_call(f"{name}-dialer-1", "79161110002", 1003))


async def campaign_noanswer(rec: Recorder, name: str) -> None:
    """Rings for 120 s; the Originate gives up after 5 s."""
    await rec.send(campaign_call(f"{name}-dialer-1", "79161110003", 1004, ring=5))


async def campaign_congestion(rec: Recorder, name: str) -> None:
    await rec.send(campaign_call(f"{name}-dialer-1", "79161110004", 1005))


async def campaign_invalid(rec: Recorder, name: str) -> None:
    """The network refuses the number (``Hangup(1)``: unallocated) before any answer."""
    await rec.send(campaign_call(f"{name}-dialer-1", "79161110009", 1006))


async def campaign_amd_machine(rec: Recorder, name: str) -> None:
    """79161110021 answers and talks on without a pause: ``AMD()`` in ``cti-campaign-amd``
    says MACHINE and the dialplan hangs up."""
    action = campaign_call(f"{name}-dialer-1", "79161110021", 1010)
    action["Context"] = "cti-campaign-amd"
    await rec.send(action)


async def campaign_amd_human(rec: Recorder, name: str) -> None:
    """79161110022 says a short hello and waits: ``AMD()`` says HUMAN and the call goes on
    to the campaign queue, where agent 107 answers."""
    action = campaign_call(f"{name}-dialer-1", "79161110022", 1011)
    action["Context"] = "cti-campaign-amd"
    await rec.send(action)


async def campaign_no_endpoint(rec: Recorder, name: str) -> None:
    """Two Originates that never create a channel: an endpoint of a technology this PBX
    does not have (``PJSIP/nobody``: built without pjproject) and an unknown technology."""
    for i, channel in enumerate(("PJSIP/nobody", "Nosuchtech/79161110011"), 1):
        action = campaign_call(f"{name}-dialer-{i}", "79161110011", 1006 + i)
        action["Channel"] = channel
        await rec.send(action)
        await rec.wait_for(event("OriginateResponse", ActionID=f"{name}-dialer-{i}"))


async def _answer(rec: Recorder, action_id: str) -> Msg:
    msg = await rec.wait_for(lambda m: m.get("ActionID") == action_id and "Response" in m)
    if msg.get("Response") != "Success":
        raise SystemExit(f"{action_id}: {msg.get('Message')}")
    return msg


async def queue_member_actions(rec: Recorder, name: str) -> None:
    """Agent 108 joins queue ``campaign`` (QueueAdd), pauses with a reason, unpauses,
    leaves (QueueRemove): what joining, pausing and leaving a campaign sends."""
    member = "Local/108@cti-campaign-agents"
    steps: list[Action] = [
        {
            "Action": "QueueAdd",
            "Queue": "campaign",
            "Interface": member,
            "MemberName": "Agent 108",
            "StateInterface": member,
            "Penalty": "0",
            "Paused": "false",
        },
        {
            "Action": "QueuePause",
            "Queue": "campaign",
            "Interface": member,
            "Paused": "true",
            "Reason": "lunch",
        },
        {"Action": "QueuePause", "Queue": "campaign", "Interface": member, "Paused": "false"},
        {"Action": "QueueRemove", "Queue": "campaign", "Interface": member},
    ]
    for i, step in enumerate(steps, 1):
        action_id = f"{name}-{i}"
        await rec.send({**step, "ActionID": action_id})
        await _answer(rec, action_id)
        await asyncio.sleep(0.5)


async def device_state(rec: Recorder, name: str) -> None:
    """Agent 108's phone (a Local channel) rings 1 s, is answered and talks 3 s: its
    device goes in use and back (``DeviceStateChange``)."""
    await rec.send(
        {
            "Action": "Originate",
            "ActionID": f"{name}-1",
            "Channel": "Local/108@cti-campaign-agents",
            "Application": "Wait",
            "Data": "10",
            "Timeout": "10000",
            "Async": "true",
        }
    )


#: the campaign scenarios, recorded into ``OUT/campaign`` (see its README)
CAMPAIGN: dict[str, Scenario] = {
    "campaign-answered": campaign_answered,
    "campaign-abandoned": campaign_abandoned,
    "campaign-busy": campaign_busy,
    "campaign-noanswer": campaign_noanswer,
    "campaign-congestion": campaign_congestion,
    "campaign-invalid": campaign_invalid,
    "campaign-no-endpoint": campaign_no_endpoint,
    "campaign-amd-machine": campaign_amd_machine,
    "campaign-amd-human": campaign_amd_human,
    "queue-member-actions": queue_member_actions,
    "device-state": device_state,
}

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
#: every scenario by name (the folder above's, then the campaign ones)
ALL: dict[str, Scenario] = {**SCENARIOS, **CAMPAIGN}


async def record(
    host: str,
    port: int,
    name: str,
    scenario: Scenario,
    *,
    out: Path = OUT,
    user: str = "cti",
    secret: str = "cti-secret",
    session_filters: bool = False,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    greeting = await reader.readline()
    if not greeting.startswith(b"Asterisk Call Manager/"):
        raise SystemExit(f"{host}:{port} is not AMI: {greeting[:60]!r}")
    rec = Recorder(reader, writer)
    try:
        await rec.send(
            {"Action": "Login", "ActionID": "login", "Username": user, "Secret": secret},
            keep=False,
        )
        login = await rec.wait_for(lambda m: m.get("ActionID") == "login" and "Response" in m)
        if login["Response"] != "Success":
            raise SystemExit(f"login as {user!r} failed: {login.get('Message')}")
        if session_filters:
            from cti.ami.filters import filter_actions

            for i, action in enumerate(filter_actions()):
                await rec.send({**action, "ActionID": f"filter-{i}"}, keep=False)
                answer = await rec.wait_for(lambda m, i=i: m.get("ActionID") == f"filter-{i}")
                if answer.get("Response") != "Success":
                    raise SystemExit(f"Filter refused: {answer.get('Message')}")
        # the trace starts after the login response, as ../shared/ami-traces does
        start = rec.raw.find(b"\r\n\r\n", rec.raw.find(b"ActionID: login")) + 4
        await scenario(rec, name)
        await rec.settle()
        data = bytes(rec.raw[start:])
        (out / f"{name}.ami").write_bytes(data)
        (out / f"{name}.sent").write_bytes(bytes(rec.sent))
        print(f"{name}: {len(data)} bytes, {len(rec.messages)} messages")
    finally:
        await rec.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--user", default="cti")
    parser.add_argument("--secret", default="cti-secret")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"folder for the traces (default {OUT}, the campaign ones in its campaign/)",
    )
    parser.add_argument(
        "--filter", action="store_true", help="narrow the session with cti's Filter actions"
    )
    parser.add_argument("names", nargs="*", choices=[[], *ALL], metavar="NAME")
    args = parser.parse_args()
    address = ipaddress.ip_address(socket.gethostbyname(args.host))
    if not address.is_loopback:
        raise SystemExit(f"{args.host}: only a PBX on this machine (loopback) is recorded")
    for name in args.names or list(ALL):
        out = args.out or (OUT / "campaign" if name in CAMPAIGN else OUT)
        out.mkdir(parents=True, exist_ok=True)
        run = record(
            args.host,
            args.port,
            name,
            ALL[name],
            out=out,
            user=args.user,
            secret=args.secret,
            session_filters=args.filter,
        )
        asyncio.run(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
