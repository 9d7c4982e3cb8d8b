"""Transfers: scripted blind/attended ones, and AMI BlindTransfer/Redirect on a live call."""

from __future__ import annotations

from typing import Literal

import pytest

from cti.pbxsim.calls import CallHandle, InboundCall, TransferCall
from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient, split_messages

HOUR = 3_600_000.0  # simulated seconds: at time_scale 0.001 that is an hour of real time


async def sync(ami: AmiClient) -> None:
    """Read up to a Ping response: the simulator flushes every earlier event before it."""
    await ami.send(Action="Ping", ActionID="sync")
    await ami.response("sync")


def events(ami: AmiClient) -> list[bytes]:
    return [b.split(b"\r\n", 1)[0][7:] for b in split_messages(bytes(ami.recorded))]


def agents_dialed(ami: AmiClient) -> list[str]:
    out = []
    for block in split_messages(bytes(ami.recorded)):
        if block.startswith(b"Event: DialBegin") and b"\r\nDestChannel: Local/" in block:
            dest = block.split(b"\r\nDestChannel: ", 1)[1].split(b"\r\n", 1)[0].decode()
            out.append(dest[6:].split("@", 1)[0])
    return out


@pytest.mark.parametrize(
    ("kind", "target", "event"),
    [("blind", "105", b"BlindTransfer"), ("attended", "105", b"AttendedTransfer"),
     ("blonde", "106", b"AttendedTransfer")],
)  # fmt: skip
async def test_scripted_transfer(
    sim: PbxSimulator,
    client: AmiClient,
    kind: Literal["blind", "attended", "blonde"],
    target: str,
    event: bytes,
) -> None:
    """The simulator plays the agent: 104 transfers to the target, which rings (the
    attended-transfer feature dials it with no DialBegin) and answers; blonde: after the
    transfer, attended: before it."""
    call = await sim.place_call(TransferCall("+74951234567", "Ivan Petrov", "104", target, kind))
    await call
    await sync(client)
    names = events(client)
    assert names.count(event) == 1
    blocks = split_messages(bytes(client.recorded))
    rang = [b for b in blocks if b.startswith(b"Event: Newchannel") and
            f"Channel: Local/{target}@cti-agents-".encode() in b]  # fmt: skip
    assert len(rang) == 2  # the target's Local pair
    answered = next(
        i for i, b in enumerate(blocks)
        if b.startswith(b"Event: DialEnd") and f"Local/{target}@".encode() in b
    )  # fmt: skip
    done = names.index(event)
    assert (done > answered) == (kind == "attended")
    assert (b"Hold" in names) == (kind != "blind")
    assert names.count(b"Newchannel") == names.count(b"Hangup")
    assert sim.active_calls == 0 and not sim.emitter.channels and not sim.emitter.bridges


async def _bridged(sim: PbxSimulator, ami: AmiClient) -> tuple[CallHandle, str, str]:
    call = await sim.place_call(
        InboundCall("+74951234567", "Ivan Petrov", "104", ring_seconds=1, talk_seconds=HOUR)
    )
    msgs = await ami.until(
        lambda m: m.get("Event") == "BridgeEnter" and m["Channel"].startswith("Local/h")
    )
    agent = next(
        m["Channel"] for m in msgs
        if m.get("Event") == "BridgeEnter" and m["Channel"].startswith("Local/104@")
    )  # fmt: skip
    return call, agent, msgs[-1]["Channel"]


async def test_ami_blind_transfer_of_a_live_call(sim: PbxSimulator, client: AmiClient) -> None:
    call, agent, _customer = await _bridged(sim, client)
    await client.send(Action="BlindTransfer", ActionID="bt", Channel=agent, Exten="105")
    assert (await client.response("bt"))["Message"] == "Transfer succeeded"
    msgs = await client.until(lambda m: m.get("Event") == "BlindTransfer")
    assert msgs[-1]["TransfererChannel"] == agent
    assert msgs[-1]["Extension"] == "105"
    await call  # 105 answers (lab profile: 1 s ring, 2 s talk) and hangs up
    await sync(client)
    assert agents_dialed(client)[-1] == "105"


async def test_ami_redirect_of_the_caller(sim: PbxSimulator, client: AmiClient) -> None:
    call, _agent, customer = await _bridged(sim, client)
    await client.send(
        Action="Redirect", ActionID="rd", Channel=customer, Context="transfer-target", Exten="105"
    )
    assert (await client.response("rd"))["Message"] == "Redirect successful"
    await call
    await sync(client)
    assert agents_dialed(client)[-1] == "105"
    assert not sim.emitter.channels


async def test_ami_blind_transfer_to_a_phone_that_never_answers(
    sim: PbxSimulator, client: AmiClient
) -> None:
    """102 rings until transfer-target's Dial gives up; then the caller's dialplan ends."""
    call, agent, _customer = await _bridged(sim, client)
    await client.send(Action="BlindTransfer", ActionID="bt", Channel=agent, Exten="102")
    assert (await client.response("bt"))["Message"] == "Transfer succeeded"
    await call
    await sync(client)
    names = events(client)
    assert agents_dialed(client)[-1] == "102"
    assert names.count(b"Newchannel") == names.count(b"Hangup")
    assert not sim.emitter.channels and not sim.emitter.bridges
