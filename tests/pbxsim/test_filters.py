"""The simulator's ``Filter`` action narrows a session's events as Asterisk 22 does."""

from __future__ import annotations

import pytest

from cti.ami.filters import filter_actions, needed_events
from cti.pbxsim.filters import parse_filter, passes
from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient

BLOCK = (
    "Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: Local/101@agents-00000001;1\r\n"
    "ChannelState: {state}\r\nVariable: {var}\r\nValue: x\r\nUniqueid: 1.1\r\n\r\n"
)


async def _inbound_events(client: AmiClient) -> list[dict[str, str]]:
    await client.send(
        Action="Originate",
        ActionID="in-1",
        Channel="Local/h3@customer-phone",
        Context="from-trunk",
        Exten="101",
        CallerID='"Ivan Petrov" <+74951234567>',
        Async="true",
    )
    return await client.until_call_done()


async def test_cti_filters_keep_only_the_events_cti_uses(client: AmiClient) -> None:
    for i, action in enumerate(filter_actions()):
        await client.send(**action, ActionID=f"f-{i}")
        assert (await client.response(f"f-{i}"))["Response"] == "Success"
    seen = await _inbound_events(client)
    events = {m["Event"] for m in seen if "Event" in m}
    assert {"Newchannel", "DialBegin", "DialEnd", "Hangup", "OriginateResponse"} <= events
    assert events <= set(needed_events())
    assert all(
        m.get("ChannelState") == "0" or m.get("Variable") in ("QUEUESTATUS", "MIXMONITOR_FILENAME")
        for m in seen
        if m.get("Event") == "VarSet"
    )


async def test_without_filters_every_event_comes(client: AmiClient) -> None:
    events = {m["Event"] for m in await _inbound_events(client) if "Event" in m}
    assert "Newexten" in events and "NewConnectedLine" in events


async def test_filter_errors_are_asterisks(client: AmiClient, sim: PbxSimulator) -> None:
    await client.send(Action="Filter", ActionID="f-1", Operation="Add", Filter="Event: (")
    assert (await client.response("f-1"))["Message"].startswith("Filter did not compile.")
    await client.send(
        Action="Filter", ActionID="f-2", Operation="Add", MatchCriteria="name(X", Filter=""
    )
    assert (await client.response("f-2"))["Message"].startswith("Filter was formatted")
    await client.send(Action="Filter", ActionID="f-3", Operation="Remove", Filter="x")
    assert (await client.response("f-3"))["Message"] == "Unknown operation"
    sim.filter_allowed = False
    await client.send(Action="Filter", ActionID="f-4", Operation="Add", Filter="Event: Hangup")
    assert (await client.response("f-4"))["Message"] == "Permission denied"


@pytest.mark.parametrize(
    ("criteria", "expression", "state", "var", "passed"),
    [
        ("action(include),name(VarSet),header(ChannelState),method(exact)", "0", "0", "A", True),
        ("action(include),name(VarSet),header(ChannelState),method(exact)", "0", "6", "A", False),
        ("action(include),name(VarSet),header(Variable),method(regex)", "^Q$", "6", "Q", True),
        ("action(include),name(Hangup)", "", "0", "A", False),
        ("action(exclude),name(VarSet)", "", "0", "A", False),
        ("action(include),header(Variable),method(starts_with)", "QUEUE", "6", "QUEUEX", True),
        ("", "Event: VarSet", "6", "A", True),
        ("", "!Variable: A", "6", "A", False),
    ],
)
def test_one_filter_against_one_event(
    criteria: str, expression: str, state: str, var: str, passed: bool
) -> None:
    block = BLOCK.format(state=state, var=var)
    assert passes((parse_filter(criteria, expression),), block) is passed
