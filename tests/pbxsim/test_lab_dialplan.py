"""The lab dialplan model and the AMI actions around it: refused Originates, Setvar,
Atxfer/BlindTransfer edges, and what the PBX sends besides calls (device states, Cdr)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cti.pbxsim.calls import (
    AgentProfile,
    CallSpec,
    ClickToDialCall,
    InboundCall,
    MessageCall,
    QueueCall,
    TransferCall,
)
from cti.pbxsim.dialplan import matches
from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient, split_messages
from tests.pbxsim.conftest import lab_simulator
from tests.pbxsim.drive import SimRecorder, recorder

HOUR = 3_600_000.0  # simulated seconds: an hour of real time at time_scale 0.001


@pytest.mark.parametrize(
    ("pattern", "exten", "hit"),
    [
        ("_7X.", "79161110001", True),
        ("_7X.", "89161110005", False),
        ("_7X.", "7", False),
        ("_X.", "89161110005", True),
        ("_1XX", "104", True),
        ("_1XX", "1045", False),
        ("_hX!", "h30", True),
        ("_hX!", "h", False),
        ("_[2-5]ZN", "319", True),
        ("_[2-5]ZN", "301", False),
        ("s", "s", True),
        ("520", "52", False),
    ],
)
def test_extension_patterns(pattern: str, exten: str, hit: bool) -> None:
    assert matches(pattern, exten) is hit


def sent_events(ami: AmiClient) -> list[bytes]:
    return [b.split(b"\r\n", 1)[0][7:] for b in split_messages(bytes(ami.recorded))]


async def sync(ami: AmiClient, aid: str = "sync") -> None:
    await ami.send(Action="Ping", ActionID=aid)
    await ami.response(aid)


@pytest.mark.parametrize(
    ("channel", "context", "exten"),
    [
        ("Local/103@agents", "outbound", "89161110005"),  # outbound routes only _7X.
        ("Local/103@agents", "nowhere", "1"),
        ("Local/h30@customer-phone", "cti-inbound", "999"),
    ],
)
async def test_originate_into_a_missing_extension_is_refused_at_once(
    client: AmiClient, channel: str, context: str, exten: str
) -> None:
    client.recorded.clear()
    await client.send(
        Action="Originate", ActionID="o1", Channel=channel, Context=context, Exten=exten,
        Priority="1", Async="true",
    )  # fmt: skip
    resp = await client.response("o1")
    assert (resp["Response"], resp["Message"]) == ("Error", "Extension does not exist.")
    await sync(client)
    assert b"Newchannel" not in sent_events(client)


async def test_setvar(sim: PbxSimulator, client: AmiClient) -> None:
    call = await sim.place_call(
        InboundCall("+74951234567", "Ivan Petrov", "101", ring_seconds=HOUR)
    )
    msgs = await client.until(lambda m: m.get("Event") == "DialState")
    customer = next(m["Channel"] for m in msgs if m.get("Event") == "Newchannel")
    await client.send(Action="Setvar", ActionID="v1", Channel=customer, Variable="X", Value="1")
    assert (await client.response("v1"))["Message"] == "Variable Set"
    varset = (await client.until(lambda m: m.get("Event") == "VarSet"))[-1]
    assert (varset["Channel"], varset["Variable"], varset["Value"]) == (customer, "X", "1")
    await client.send(Action="Setvar", ActionID="v2", Variable="CTI_GLOBAL", Value="2")
    assert (await client.response("v2"))["Message"] == "Variable Set"
    assert sim.globals == {"CTI_GLOBAL": "2"}
    for aid, fields, message in (
        ("v3", {"Channel": customer}, "No variable specified"),
        ("v4", {"Channel": "Local/1@agents-0000ffff;1", "Variable": "X"}, "No such channel"),
    ):
        await client.send(Action="Setvar", ActionID=aid, **fields)
        assert (await client.response(aid))["Message"] == message
    await client.send(Action="Hangup", ActionID="h", Channel=customer)
    await call


@pytest.mark.parametrize("action", ["Atxfer", "BlindTransfer"])
async def test_transfer_actions_check_their_arguments(client: AmiClient, action: str) -> None:
    for aid, fields, message in (
        ("t1", {"Exten": "105"}, "No channel specified"),
        ("t2", {"Channel": "Local/104@cti-agents-0000ffff;1"}, "No extension specified"),
        ("t3", {"Channel": "Local/104@cti-agents-0000ffff;1", "Exten": "105"},
         "Channel specified does not exist"),
    ):  # fmt: skip
        await client.send(Action=action, ActionID=aid, **fields)
        resp = await client.response(aid)
        assert (resp["Response"], resp["Message"]) == ("Error", message)


async def test_atxfer_needs_the_transfer_features(sim: PbxSimulator, client: AmiClient) -> None:
    """from-trunk dials agents without ``tT``: the feature code just passes, nothing moves."""
    call = await sim.place_call(
        InboundCall("+74951234567", "Ivan Petrov", "101", ring_seconds=1, talk_seconds=HOUR)
    )
    msgs = await client.until(
        lambda m: m.get("Event") == "BridgeEnter" and m["Channel"].startswith("Local/h")
    )
    agent = next(m["Channel"] for m in msgs if m.get("Event") == "BridgeEnter")
    await client.send(Action="Atxfer", ActionID="a", Channel=agent, Exten="105")
    assert (await client.response("a"))["Message"] == "Atxfer successfully queued"
    await sync(client)
    assert b"Hold" not in sent_events(client) and sim.active_calls == 1
    await client.send(Action="Hangup", ActionID="h", Channel=agent)
    await call


@pytest.fixture
async def cti_sim() -> AsyncIterator[PbxSimulator]:
    """cti's lab; 107 never answers. The tests react while agent 104 talks (30 s: 300 ms)."""
    cti_agents = {
        "104": AgentProfile(1, 30),
        "105": AgentProfile(1, 3),
        "107": AgentProfile(answers=False),
    }
    simulator = lab_simulator(0.01, cti_agents=cti_agents, device_states=True, cdrs=False)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.mark.parametrize("target", ["105", "107"])
async def test_consultation_without_the_agent_hanging_up(
    cti_sim: PbxSimulator, target: str
) -> None:
    """105 answers and hangs up, 107 never answers: either way the consultation ends and
    the agent is back with the caller (``Unhold``) until it hangs up."""
    ami = await AmiClient.connect(cti_sim.port)
    try:
        await ami.login()
        rec = SimRecorder(ami)
        await rec.send(recorder.inbound("c-inb-1", "104"))
        leg = await recorder.agent_leg(rec, "104")
        await rec.send({"Action": "Atxfer", "ActionID": "x", "Channel": leg, "Exten": target})
        await rec.wait_for(recorder.event("Unhold", Channel=leg))
        await cti_sim.drain()
        await sync(ami)
    finally:
        await ami.close()
    names = sent_events(ami)
    assert names.count(b"Hold") == 1 and b"AttendedTransfer" not in names
    assert names.count(b"Newchannel") == names.count(b"Hangup") == 6
    assert not cti_sim.emitter.channels and not cti_sim.emitter.bridges


async def test_blind_transfer_into_another_context(cti_sim: PbxSimulator) -> None:
    """A BlindTransfer to the shared lab's ``transfer-target`` dials its agents there."""
    ami = await AmiClient.connect(cti_sim.port)
    try:
        await ami.login()
        rec = SimRecorder(ami)
        await rec.send(recorder.inbound("c-inb-1", "104"))
        leg = await recorder.agent_leg(rec, "104")
        await rec.send({"Action": "BlindTransfer", "ActionID": "b", "Channel": leg,
                        "Exten": "105", "Context": "transfer-target"})  # fmt: skip
        msg = await rec.wait_for(recorder.event("BlindTransfer"))
        assert msg["Context"] == "transfer-target"
        await rec.wait_for(recorder.event("Newchannel", Channel__startswith="Local/105@agents-"))
        await cti_sim.drain()
    finally:
        await ami.close()
    assert not cti_sim.emitter.channels


@pytest.mark.parametrize(("cdrs", "device_states"), [(True, False), (False, True)])
async def test_what_else_the_pbx_sends(cdrs: bool, device_states: bool) -> None:
    """Cdr events (on by default, as in the shared lab) and DeviceStateChange (off by
    default; one per state change and hangup, all sent by the end of the call)."""
    sim = lab_simulator(cdrs=cdrs, device_states=device_states, timestamps=True)
    await sim.start()
    ami = await AmiClient.connect(sim.port)
    try:
        await ami.login()
        booted = await ami.next_message()
        assert booted["Event"] == "FullyBooted" and "Timestamp" not in booted
        await (await sim.place_call(InboundCall("+74951234567", "Ivan Petrov", "101")))
        await sync(ami)
    finally:
        await ami.close()
        await sim.stop()
    names = sent_events(ami)
    assert (b"Cdr" in names) is cdrs
    changes = names.count(b"Newstate") + names.count(b"Hangup")
    assert names.count(b"DeviceStateChange") == (changes if device_states else 0)


@pytest.mark.parametrize(
    "spec",
    [
        ClickToDialCall("103", "79161110002", "busy"),
        ClickToDialCall("103", "79161110003", "no-answer"),
        ClickToDialCall("102", "79161110001"),  # 102's phone never answers
        QueueCall("+74951234567", "Ivan", ivr_seconds=3, answer=False, ring_seconds=5),
        QueueCall("+74951234567", "Ivan", "sales", answer=False, ring_seconds=3, timeout=8),
        QueueCall("+74951234567", "Ivan", answered_by="201", timeout=8),
        QueueCall("+74951234567", "Ivan", answer=False, ring_seconds=30, timeout=8),
        MessageCall("+74951234567", "Ivan", seconds=1, menu=True),
        TransferCall("+74951234567", "Ivan", "104", "102", "blind"),  # 102 never answers
        TransferCall("+74951234567", "Ivan", "104", "102", "attended"),
        TransferCall("+74951234567", "Ivan", "104", "102", "blonde"),
    ],
    ids=lambda spec: type(spec).__name__,
)
async def test_unrecorded_turns_play_out(spec: CallSpec) -> None:
    """Turns no recording shows still end cleanly: every channel hung up, every device
    state sent, the OriginateResponse of an Originate sent."""
    sim = lab_simulator(device_states=True, cdrs=False)
    await sim.start()
    ami = await AmiClient.connect(sim.port)
    try:
        await ami.login()
        await (await sim.place_call(spec))
        await sync(ami)
    finally:
        await ami.close()
        await sim.stop()
    names = sent_events(ami)
    assert names.count(b"Newchannel") == names.count(b"Hangup") > 0
    changes = names.count(b"Newstate") + names.count(b"Hangup")
    assert (
        names.count(b"DeviceStateChange")
        - sum(1 for b in split_messages(bytes(ami.recorded)) if b"Device: Queue:" in b)
        == changes
    )
    assert names.count(b"OriginateResponse") == 1
    assert not sim.emitter.channels and not sim.emitter.bridges
