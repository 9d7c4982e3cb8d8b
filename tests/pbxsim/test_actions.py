"""AMI actions of the simulator over real TCP: login, ping, errors, live-call actions."""

from __future__ import annotations

import asyncio

import pytest

from cti.pbxsim.calls import InboundCall, QueueCall
from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient

LONG = 3600.0  # with the real-time simulator: a ring/talk that outlives the test


async def test_greeting_and_login(sim: PbxSimulator) -> None:
    ami = await AmiClient.connect(sim.port)
    try:
        assert ami.greeting == b"Asterisk Call Manager/11.0.0\r\n"
        resp = await ami.login()
        assert resp == {
            "Response": "Success",
            "ActionID": "login",
            "Message": "Authentication accepted",
        }
        assert (await ami.next_message())["Event"] == "FullyBooted"
    finally:
        await ami.close()


async def test_bad_secret_is_refused_and_closed(sim: PbxSimulator) -> None:
    ami = await AmiClient.connect(sim.port)
    try:
        resp = await ami.login(secret="wrong")
        assert resp["Response"] == "Error"
        assert resp["Message"] == "Authentication failed"
        assert await ami.reader.read() == b""  # Asterisk drops the session
    finally:
        await ami.close()


async def test_actions_need_login(sim: PbxSimulator) -> None:
    ami = await AmiClient.connect(sim.port)
    try:
        await ami.send(Action="Ping", ActionID="p")
        resp = await ami.response("p")
        assert (resp["Response"], resp["Message"]) == ("Error", "Authentication Required")
    finally:
        await ami.close()


async def test_ping_unknown_and_logoff(client: AmiClient) -> None:
    await client.send(Action="Ping", ActionID="p1")
    pong = await client.response("p1")
    assert pong["Response"] == "Success" and pong["Ping"] == "Pong"
    assert float(pong["Timestamp"]) > 0
    await client.send(Action="NoSuchThing", ActionID="u1")
    err = await client.response("u1")
    assert (err["Response"], err["Message"]) == ("Error", "Invalid/unknown command")
    await client.send(Action="Logoff", ActionID="bye")
    assert (await client.response("bye"))["Response"] == "Goodbye"
    assert await client.reader.read() == b""


async def test_command_version_and_channels(client: AmiClient) -> None:
    await client.send(Action="Command", ActionID="c1", Command="core show version")
    resp = await client.response("c1")
    assert resp["Response"] == "Success" and resp["Output"].startswith("Asterisk 22.")
    await client.send(Action="Command", ActionID="c2", Command="core show channels")
    assert (await client.response("c2"))["Response"] == "Success"


async def _show_channels(ami: AmiClient, aid: str) -> tuple[list[dict[str, str]], int]:
    await ami.send(Action="CoreShowChannels", ActionID=aid)
    msgs = await ami.until(lambda m: m.get("Event") == "CoreShowChannelsComplete")
    listed = [m for m in msgs if m.get("Event") == "CoreShowChannel" and m["ActionID"] == aid]
    return listed, int(msgs[-1]["ListItems"])


async def test_core_show_channels_and_hangup_of_a_live_call(slow_sim: PbxSimulator) -> None:
    ami = await AmiClient.connect(slow_sim.port)
    try:
        await ami.login()
        call = await slow_sim.place_call(
            InboundCall("+74951234567", "Ivan Petrov", "101", ring_seconds=LONG, talk_seconds=1)
        )
        await ami.until(lambda m: m.get("Event") == "DialState")  # the agent is ringing
        listed, count = await _show_channels(ami, "show1")
        names = {m["Channel"] for m in listed}
        assert count == len(listed) == 4
        assert {m["Linkedid"] for m in listed} == {call.linkedid}
        assert any(n.startswith("Local/101@agents-") for n in names)
        customer = next(n for n in names if n.startswith("Local/h") and n.endswith(";1"))
        await ami.send(Action="Hangup", ActionID="h1", Channel=customer)
        assert (await ami.response("h1"))["Message"] == "Channel Hungup"
        await call  # every channel is gone
        assert (await _show_channels(ami, "show2"))[1] == 0
        await ami.send(Action="Hangup", ActionID="h2", Channel=customer)
        assert (await ami.response("h2"))["Message"] == "No such channel"
    finally:
        await ami.close()


async def test_concurrent_clients_get_the_same_events(sim: PbxSimulator) -> None:
    clients = [await AmiClient.connect(sim.port) for _ in range(3)]
    try:
        for ami in clients:
            await ami.login()
            await ami.next_message()  # FullyBooted
            ami.recorded.clear()
        call = await sim.place_call(InboundCall("+74951234567", "Ivan Petrov", "101"))
        await call
        streams = []
        for ami in clients:
            await ami.until(
                lambda m: m.get("Event") == "Hangup" and m["Channel"].endswith(";2")
                and m["Channel"].startswith("Local/h")
            )  # fmt: skip
            streams.append(bytes(ami.recorded))
        assert streams[0] == streams[1] == streams[2]
        assert b"Event: DialEnd" in streams[0]
    finally:
        for ami in clients:
            await ami.close()


async def test_client_dropping_mid_call_and_resync(slow_sim: PbxSimulator) -> None:
    first = await AmiClient.connect(slow_sim.port)
    await first.login()
    call1 = await slow_sim.place_call(
        InboundCall("+74951234567", "Ivan Petrov", "101", ring_seconds=LONG)
    )
    await first.until(lambda m: m.get("Event") == "DialBegin" and "Channel" in m)
    first.writer.transport.abort()  # vanishes mid-call, no Logoff
    call2 = await slow_sim.place_call(QueueCall("+74957654321", "Olga", ring_seconds=LONG))
    second = await AmiClient.connect(slow_sim.port)
    try:
        await second.login()
        listed, count = await _show_channels(second, "resync")
        assert {m["Linkedid"] for m in listed} == {call1.linkedid, call2.linkedid}
        assert count == 4 + 6  # direct call: 2 pairs; queue call: customer + 2 members
        await second.send(Action="QueueStatus", ActionID="qs", Queue="support")
        msgs = await second.until(lambda m: m.get("Event") == "QueueStatusComplete")
        entries = [m for m in msgs if m.get("Event") == "QueueEntry"]
        members = [m for m in msgs if m.get("Event") == "QueueMember"]
        assert [m["CallerIDNum"] for m in entries] == ["+74957654321"]
        assert {m["Location"] for m in members} == {"Local/201@agents", "Local/202@agents"}
        for aid, call in (("x1", call1), ("x2", call2)):
            channel = next(m["Channel"] for m in listed if m["Linkedid"] == call.linkedid)
            await second.send(Action="Hangup", ActionID=aid, Channel=channel)
            assert (await second.response(aid))["Response"] == "Success"
            await call
        assert slow_sim.active_calls == 0
    finally:
        await second.close()


async def _originate(ami: AmiClient, aid: str, channel: str, context: str, exten: str) -> None:
    await ami.send(
        Action="Originate", ActionID=aid, Channel=channel, Context=context, Exten=exten,
        Priority="1", CallerID='"Sales" <+74950000000>', Timeout="10000", Async="true",
        Variable=["CAMPAIGN=c1", "LEAD_ID=9"], Account="acc-1",
    )  # fmt: skip
    resp = await ami.response(aid)
    assert (resp["Response"], resp["Message"]) == ("Success", "Originate successfully queued")


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        ("Local/79161110004@pstn", "8"),  # congestion
        ("SIP/nowhere", "0"),  # no such technology: the channel is never created
        ("Local/79161110002@pstn", "5"),
    ],
)
async def test_originate_failure_reasons(client: AmiClient, channel: str, reason: str) -> None:
    await _originate(client, "o1", channel, "dialer-connected", "s")
    msgs = await client.until(lambda m: m.get("Event") == "OriginateResponse")
    resp = msgs[-1]
    assert (resp["Response"], resp["Reason"], resp["Uniqueid"]) == ("Failure", reason, "<unknown>")
    assert resp["ActionID"] == "o1"


async def test_click_to_dial_rings_agent_then_number(client: AmiClient) -> None:
    await _originate(client, "c2d", "Local/101@agents", "outbound", "79161110001")
    msgs = await client.until(
        lambda m: m.get("Event") == "Hangup" and m["Channel"].startswith("Local/101@agents")
        and m["Channel"].endswith(";2")
    )  # fmt: skip
    dials = [m["DestChannel"] for m in msgs if m.get("Event") == "DialBegin"]
    assert dials[0].startswith("Local/101@agents-")  # the agent's phone rings first …
    assert any(d.startswith("Local/79161110001@pstn-") for d in dials[1:])  # … then the number
    answered = [m for m in msgs if m.get("Event") == "OriginateResponse"]
    assert answered and answered[0]["Reason"] == "4"


async def test_originate_requires_channel(client: AmiClient) -> None:
    await client.send(Action="Originate", ActionID="bad", Context="x", Exten="1")
    resp = await client.response("bad")
    assert (resp["Response"], resp["Message"]) == ("Error", "Channel not specified")


async def test_simulator_survives_garbage(sim: PbxSimulator) -> None:
    ami = await AmiClient.connect(sim.port)
    try:
        await ami.send_raw(b"\xff\xfe garbage without colon\r\n\r\n")
        resp = await ami.next_message()
        assert resp["Response"] == "Error"
        await ami.login()
        call = await sim.place_call(InboundCall("+74951234567", "Ivan", "101"))
        await asyncio.wait_for(call, timeout=30)
    finally:
        await ami.close()
