"""Campaign calls against the simulator over real TCP: every Originate outcome, agents who
answer, talk and wrap up, queue members added, paused and removed, the called population's
rates and the time compression."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from cti.errors import ValidationError
from cti.pbxsim.calls import AgentProfile
from cti.pbxsim.campaign import Campaign
from cti.pbxsim.population import Callee, Dialled, Population
from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient

NUMBER = "79161234567"
Msg = dict[str, str]


def simulator(
    members: list[str] | None = None, *, wrapup: float = 15.0, time_scale: float = 0.001,
    population: Population | None = None, amd: bool = False, **kwargs: object,
) -> PbxSimulator:  # fmt: skip
    """A campaign queue ``camp`` of ``members`` (default one agent, 301)."""
    members = ["301"] if members is None else members
    return PbxSimulator(
        agents={ext: AgentProfile() for ext in members},
        queues={"camp": members},
        wrapup=wrapup,
        time_scale=time_scale,
        timestamps=True,
        device_states=True,
        campaign=Campaign(population=population or Population(seed=3), amd=amd),
        **kwargs,  # type: ignore[arg-type]
    )


async def connected(sim: PbxSimulator) -> AmiClient:
    await sim.start()
    ami = await AmiClient.connect(sim.port)
    await ami.login()
    return ami


@pytest.fixture
async def camp() -> AsyncIterator[tuple[PbxSimulator, AmiClient]]:
    sim = simulator()
    ami = await connected(sim)
    yield sim, ami
    await ami.close()
    await sim.stop()


async def originate(
    ami: AmiClient, number: str = NUMBER, aid: str = "att-1", *, limit: str = "2",
    ring_ms: int = 30000, channel: str | None = None,
) -> Msg:  # fmt: skip
    """The dialer's Originate of one attempt; returns the action's response."""
    await ami.send(
        Action="Originate", ActionID=aid, Async="true",
        Channel=channel or f"Local/{number}@pstn", Context="cti-campaign", Exten="s",
        Priority="1", Timeout=str(ring_ms), CallerID='"Survey" <74950001122>',
        Variable=["CTI_CAMPAIGN=nps", f"CTI_ATTEMPT={aid}", "CTI_QUEUE=camp",
                  f"CTI_CONNECT_LIMIT={limit}", "CTI_ABANDON_MESSAGE=sorry-all-busy"],
    )  # fmt: skip
    return await ami.response(aid)


def events(msgs: list[Msg], name: str) -> list[Msg]:
    return [m for m in msgs if m.get("Event") == name]


def varset(msgs: list[Msg], variable: str) -> list[str]:
    return [m["Value"] for m in events(msgs, "VarSet") if m["Variable"] == variable]


def apps(msgs: list[Msg]) -> list[str]:
    return [m["Application"] for m in events(msgs, "Newexten")]


def callee(number: str = NUMBER, seed: int = 3) -> Callee:
    """What the simulator's population draws for the first dial of ``number``."""
    return Dialled(Population(seed=seed)).draw(number)


@pytest.mark.parametrize(
    ("outcome", "reason", "causes"),
    [("busy", "5", {"0", "17"}), ("no-answer", "3", {"19"}), ("congestion", "8", {"0", "34"}),
     ("invalid", "0", {"1"})],
)  # fmt: skip
async def test_failed_dial_gives_failure_with_reason(
    outcome: str, reason: str, causes: set[str]
) -> None:
    sim = simulator(pstn={NUMBER: outcome})
    ami = await connected(sim)
    try:
        assert (await originate(ami, ring_ms=15000))["Message"] == "Originate successfully queued"
        msgs = await ami.until_call_done()
        (resp,) = events(msgs, "OriginateResponse")
        assert (resp["Response"], resp["Reason"], resp["ActionID"]) == ("Failure", reason, "att-1")
        assert resp["Uniqueid"] == "<unknown>"
        assert len(events(msgs, "Newchannel")) == 2
        assert {m["Cause"] for m in events(msgs, "Hangup")} == causes
        assert not events(msgs, "QueueCallerJoin")
    finally:
        await ami.close()
        await sim.stop()


async def test_answer_after_the_originate_timeout_is_no_answer(
    camp: tuple[PbxSimulator, AmiClient],
) -> None:
    _, ami = camp
    number = next(n for n in (f"7916000{i:04d}" for i in range(500))
                  if callee(n).outcome == "answer")  # fmt: skip
    timeout_ms = int(callee(number).ring * 1000) - 1  # rings out before the callee picks up
    await originate(ami, number, ring_ms=timeout_ms)
    msgs = await ami.until_call_done()
    (resp,) = events(msgs, "OriginateResponse")
    assert (resp["Response"], resp["Reason"]) == ("Failure", "3")


async def test_channel_less_failure_sends_only_the_response(
    camp: tuple[PbxSimulator, AmiClient],
) -> None:
    _, ami = camp
    await originate(ami, channel=f"PJSIP/{NUMBER}@nosuchtrunk")
    msg = await ami.until(lambda m: m.get("Event") in ("OriginateResponse", "Newchannel"))
    resp = msg[-1]
    assert resp["Event"] == "OriginateResponse"
    assert (resp["Response"], resp["Reason"], resp["Uniqueid"]) == ("Failure", "0", "<unknown>")
    assert resp["Channel"] == f"PJSIP/{NUMBER}@nosuchtrunk"


@pytest.mark.parametrize(("outcome", "reason"), [("busy", "5"), ("answer", "4")])
async def test_pjsip_trunk_route_dials_the_number(outcome: str, reason: str) -> None:
    sim = simulator(pstn={NUMBER: outcome})
    ami = await connected(sim)
    try:
        await originate(ami, channel=f"PJSIP/{NUMBER}@trunk", ring_ms=60000)
        msgs = await ami.until_call_done()
        (resp,) = events(msgs, "OriginateResponse")
        assert resp["Reason"] == reason
        if outcome == "busy":  # a failure names the channel asked for
            assert resp["Channel"] == f"PJSIP/{NUMBER}@trunk"
        else:
            assert events(msgs, "AgentConnect")
    finally:
        await ami.close()
        await sim.stop()


async def test_answered_call_is_connected_to_an_agent_who_talks_then_wraps_up() -> None:
    sim = simulator(pstn={NUMBER: "answer"})
    ami = await connected(sim)
    try:
        await originate(ami, ring_ms=60000)
        msgs = await ami.until_call_done()
        drawn = callee()
        (resp,) = events(msgs, "OriginateResponse")
        assert (resp["Response"], resp["Reason"]) == ("Success", "4")
        names = [m.get("Event") for m in msgs]
        order = ["OriginateResponse", "QueueCallerJoin", "AgentCalled", "QueueCallerLeave",
                 "AgentConnect", "BridgeEnter", "AgentComplete"]  # fmt: skip
        positions = [names.index(n) for n in order]
        assert positions == sorted(positions)
        assert "Queue" in apps(msgs)
        queue_app = next(m for m in events(msgs, "Newexten") if m["Application"] == "Queue")
        assert queue_app["AppData"] == "camp,,,,2"
        (connect,) = events(msgs, "AgentConnect")
        assert (connect["Queue"], connect["MemberName"]) == ("camp", "Agent 301")
        assert connect["Interface"] == "Local/301@agents"
        # the agent's phone stays for the callee's talk time, then the agent hangs up
        agent = [m for m in events(msgs, "Newexten") if m["Channel"].startswith("Local/301@")]
        waits = [m["AppData"] for m in agent if m["Application"] == "Wait"]
        assert waits[-1] == f"{drawn.talk:g}"
        (complete,) = events(msgs, "AgentComplete")
        assert int(complete["TalkTime"]) >= int(drawn.talk)
        assert complete["Reason"] == "agent"
        free = events(msgs, "QueueMemberStatus")[-1]
        assert (free["Status"], free["CallsTaken"], free["Wrapuptime"]) == ("1", "1", "15")
        assert int(free["LastCall"]) > 0
        assert "ExecIf" not in apps(msgs)
    finally:
        await ami.close()
        await sim.stop()


async def test_no_free_agent_within_the_connect_limit_plays_the_abandon_message() -> None:
    sim = simulator([], pstn={NUMBER: "answer"})  # nobody in the queue
    ami = await connected(sim)
    try:
        await originate(ami, ring_ms=60000)
        msgs = await ami.until_call_done()
        assert events(msgs, "OriginateResponse")[0]["Reason"] == "4"
        assert events(msgs, "QueueCallerJoin") and events(msgs, "QueueCallerLeave")
        assert not events(msgs, "AgentConnect")
        assert events(msgs, "QueueCallerAbandon")
        assert varset(msgs, "QUEUESTATUS") == ["TIMEOUT"]
        campaign = [m["Application"] for m in events(msgs, "Newexten")
                    if m["Channel"].endswith(";1")][-5:]  # fmt: skip
        assert campaign == ["NoOp", "Queue", "NoOp", "ExecIf", "Hangup"]
        played = next(m for m in events(msgs, "Newexten") if m["Application"] == "ExecIf")
        assert played["AppData"] == "1?Playback(sorry-all-busy)"
    finally:
        await ami.close()
        await sim.stop()


async def test_callee_hangs_up_while_waiting_for_an_agent() -> None:
    sim = simulator([], pstn={NUMBER: "answer"})
    ami = await connected(sim)
    try:
        await originate(ami, ring_ms=60000, limit="0")  # 0: the queue waits for ever
        msgs = await ami.until_call_done()
        assert events(msgs, "QueueCallerAbandon")
        assert not varset(msgs, "QUEUESTATUS")  # the caller left: Queue() did not return
        assert "ExecIf" not in apps(msgs)
        gone = events(msgs, "Hangup")
        assert gone[0]["Channel"].endswith(";2")  # the callee's side went first
    finally:
        await ami.close()
        await sim.stop()


async def test_agent_in_wrapup_is_not_rung_until_it_ends() -> None:
    second = "79167654321"
    for wrapup, connects in ((1e6, False), (0.0, True)):
        sim = simulator(wrapup=wrapup, pstn={NUMBER: "answer", second: "answer"})
        ami = await connected(sim)
        try:
            await originate(ami, ring_ms=60000)
            await ami.until_call_done()
            await originate(ami, second, "att-2", ring_ms=60000)
            msgs = await ami.until_call_done()
            assert bool(events(msgs, "AgentConnect")) is connects, wrapup
        finally:
            await ami.close()
            await sim.stop()


async def test_ring_the_caller_left_is_no_call_to_wrap_up() -> None:
    second = "79167654321"
    sim = simulator(wrapup=1e6, pstn={NUMBER: "answer", second: "answer"})
    ami = await connected(sim)
    try:
        # the agent answers after 0.5 s: past a 0.3 s limit the queue gives up while it rings
        await originate(ami, ring_ms=60000, limit="0.3")
        msgs = await ami.until_call_done()
        assert events(msgs, "AgentRingNoAnswer") and not events(msgs, "AgentConnect")
        assert varset(msgs, "QUEUESTATUS") == ["TIMEOUT"]
        await originate(ami, second, "att-2", ring_ms=60000)
        msgs = await ami.until_call_done()
        assert events(msgs, "AgentConnect")  # not held in wrap-up by the ring
    finally:
        await ami.close()
        await sim.stop()


async def test_paused_agent_is_not_rung_and_unpaused_is(
    camp: tuple[PbxSimulator, AmiClient],
) -> None:
    sim, ami = camp
    sim.pstn[NUMBER] = "answer"
    await ami.send(Action="QueuePause", ActionID="p", Interface="Local/301@agents",
                   Paused="true", Reason="lunch")  # fmt: skip
    assert (await ami.response("p"))["Message"] == "Interface paused successfully"
    seen = await ami.until(lambda m: m.get("Event") == "QueueMemberPause")
    pause = seen[-1]
    states = [(m["Device"], m["State"]) for m in events(seen, "DeviceStateChange")]
    assert states == [("Queue:camp_pause_Local/301@agents", "INUSE")]
    assert (pause["Paused"], pause["PausedReason"], pause["Queue"]) == ("1", "lunch", "camp")
    assert int(pause["LastPause"]) > 0
    await originate(ami, ring_ms=60000)
    msgs = await ami.until_call_done()
    assert not events(msgs, "AgentConnect")
    await ami.send(Action="QueuePause", ActionID="u", Interface="Local/301@agents",
                   Paused="false")  # fmt: skip
    assert (await ami.response("u"))["Message"] == "Interface unpaused successfully"
    unpause = (await ami.until(lambda m: m.get("Event") == "QueueMemberPause"))[-1]
    assert (unpause["Paused"], unpause["PausedReason"]) == ("0", "")
    await originate(ami, ring_ms=60000)
    msgs = await ami.until_call_done()
    assert events(msgs, "AgentConnect")


async def test_queue_add_and_remove_members(camp: tuple[PbxSimulator, AmiClient]) -> None:
    sim, ami = camp
    iface = "Local/302@agents"
    await ami.send(Action="QueueAdd", ActionID="a", Queue="camp", Interface=iface,
                   Penalty="2", Paused="yes", Reason="briefing")  # fmt: skip
    assert (await ami.response("a"))["Message"] == "Added interface to queue"
    added = (await ami.until(lambda m: m.get("Event") == "QueueMemberAdded"))[-1]
    assert [k for k in added if k not in ("Event", "Privilege", "Timestamp")] == [
        "Queue", "MemberName", "Interface", "StateInterface", "Membership", "Penalty",
        "CallsTaken", "LastCall", "LastPause", "LoginTime", "InCall", "Status", "Paused",
        "PausedReason", "Ringinuse", "Wrapuptime",
    ]  # fmt: skip
    assert (added["Interface"], added["Membership"], added["Penalty"]) == (iface, "dynamic", "2")
    assert (added["Paused"], added["PausedReason"], added["Status"]) == ("1", "briefing", "1")
    await ami.send(Action="QueueAdd", ActionID="a2", Queue="camp", Interface=iface)
    assert (await ami.response("a2"))["Message"] == "Unable to add interface: Already there"
    await ami.send(Action="QueueAdd", ActionID="a3", Queue="nope", Interface=iface)
    no_queue = await ami.response("a3")
    assert no_queue["Message"] == "Unable to add interface to queue: No such queue"

    await ami.send(Action="QueueStatus", ActionID="s", Queue="camp")
    listing = await ami.until(lambda m: m.get("Event") == "QueueStatusComplete")
    members = {m["Location"]: m for m in events(listing, "QueueMember")}
    assert set(members) == {"Local/301@agents", iface}
    assert (members[iface]["Paused"], members[iface]["PausedReason"]) == ("1", "briefing")
    assert members["Local/301@agents"]["Wrapuptime"] == "15"

    await ami.send(Action="QueueRemove", ActionID="r0", Queue="camp", Interface="Local/301@agents")
    assert (await ami.response("r0"))["Message"] == "Member not dynamic"
    await ami.send(Action="QueueRemove", ActionID="r", Queue="camp", Interface=iface)
    assert (await ami.response("r"))["Message"] == "Removed interface from queue"
    removed = (await ami.until(lambda m: m.get("Event") == "QueueMemberRemoved"))[-1]
    assert removed["Interface"] == iface
    assert sim.queues["camp"].members == ["301"]
    await ami.send(Action="QueueRemove", ActionID="r2", Queue="camp", Interface=iface)
    assert (await ami.response("r2"))["Message"] == "Unable to remove interface: Not there"
    await ami.send(Action="QueuePause", ActionID="p", Interface=iface, Paused="1")
    assert (await ami.response("p"))["Message"] == "Interface not found"


async def test_added_member_takes_calls() -> None:
    sim = simulator([], pstn={NUMBER: "answer"})
    ami = await connected(sim)
    try:
        await ami.send(Action="QueueAdd", ActionID="a", Queue="camp", Interface="Local/305@agents")
        await ami.response("a")
        await originate(ami, ring_ms=60000)
        msgs = await ami.until_call_done()
        (connect,) = events(msgs, "AgentConnect")
        assert connect["Interface"] == "Local/305@agents"
    finally:
        await ami.close()
        await sim.stop()


async def test_member_added_as_pjsip_keeps_its_interface_and_name() -> None:
    sim = simulator([], pstn={NUMBER: "answer"})
    ami = await connected(sim)
    try:
        await ami.send(Action="QueueAdd", ActionID="a", Queue="camp", Interface="PJSIP/305",
                       MemberName="Olga")  # fmt: skip
        await ami.response("a")
        added = (await ami.until(lambda m: m.get("Event") == "QueueMemberAdded"))[-1]
        assert (added["Interface"], added["StateInterface"]) == ("PJSIP/305", "PJSIP/305")
        assert added["MemberName"] == "Olga"
        await originate(ami, ring_ms=60000)
        msgs = await ami.until_call_done()
        (connect,) = events(msgs, "AgentConnect")
        assert (connect["Interface"], connect["MemberName"]) == ("PJSIP/305", "Olga")
        devices = {m["Device"] for m in events(msgs, "DeviceStateChange")}
        assert "PJSIP/305" in devices and "Local/305@agents" not in devices
        await ami.send(Action="QueuePause", ActionID="p", Interface="PJSIP/305", Paused="1")
        assert (await ami.response("p"))["Message"] == "Interface paused successfully"
        await ami.send(Action="QueueAdd", ActionID="b", Queue="camp", Interface="bogus")
        bad = await ami.response("b")
        assert bad["Response"] == "Error" and "'bogus'" in bad["Message"]
    finally:
        await ami.close()
        await sim.stop()


async def test_least_recent_agent_is_rung() -> None:
    sim = simulator(["301", "302"], wrapup=0.0, pstn={NUMBER: "answer", "79160000002": "answer"})
    ami = await connected(sim)
    try:
        agents = []
        for n, number in enumerate((NUMBER, "79160000002")):
            await originate(ami, number, f"att-{n}", ring_ms=60000)
            msgs = await ami.until_call_done()
            agents.append(events(msgs, "AgentConnect")[0]["MemberName"])
        assert agents == ["Agent 301", "Agent 302"]
    finally:
        await ami.close()
        await sim.stop()


@pytest.mark.parametrize("machine", [True, False])
async def test_answering_machine_detection(machine: bool) -> None:
    population = Population(machine=1.0 if machine else 0.0, seed=3)
    sim = simulator(population=population, amd=True, pstn={NUMBER: "answer"})
    ami = await connected(sim)
    try:
        await originate(ami, ring_ms=60000)
        msgs = await ami.until_call_done()
        assert events(msgs, "OriginateResponse")[0]["Reason"] == "4"
        assert "AMD" in apps(msgs)
        assert varset(msgs, "AMDSTATUS") == ["MACHINE" if machine else "HUMAN"]
        assert bool(events(msgs, "QueueCallerJoin")) is not machine
    finally:
        await ami.close()
        await sim.stop()


def test_population_rates_hold_over_2000_numbers() -> None:
    population = Population(seed=11)
    dialled = Dialled(population)
    draws = [dialled.draw(f"7916{n:07d}") for n in range(2000)]
    counts = Counter(d.outcome for d in draws)
    for outcome, share in population.outcomes.items():
        # binomial sd at n=2000 is at most 1.1 points; 4 points is > 3.5 sd
        assert abs(counts[outcome] / 2000 - share) < 0.04, (outcome, counts)
    talks = [d.talk for d in draws if d.outcome != "invalid"]
    assert abs(statistics.mean(talks) / population.talk_mean - 1) < 0.1
    rings = [d.ring for d in draws if d.outcome != "invalid"]
    assert abs(statistics.mean(rings) / population.ring_mean - 1) < 0.1
    assert min(talks) >= population.talk_min
    machines = Dialled(Population(machine=0.2, seed=11))
    share = sum(machines.draw(f"7916{n:07d}").machine for n in range(2000)) / 2000
    assert abs(share - 0.2) < 0.04


def test_population_is_deterministic_per_number_and_dial() -> None:
    one, two = Dialled(Population(seed=5)), Dialled(Population(seed=5))
    firsts = [one.draw(f"7916{n:07d}") for n in range(50)]
    # another order of dialling gives each number the same draw
    assert [two.draw(f"7916{n:07d}") for n in reversed(range(50))] == firsts[::-1]
    redials = [one.draw(f"7916{n:07d}") for n in range(50)]
    assert redials != firsts  # a redial is a new draw...
    invalid = [a.number for a in firsts if a.outcome == "invalid"]
    assert invalid and invalid == [a.number for a in redials if a.outcome == "invalid"]
    other = Dialled(Population(seed=6))
    assert [other.draw(f"7916{n:07d}") for n in range(50)] != firsts


def test_population_lognormal_talk_and_bad_settings() -> None:
    population = Population(talk_distribution="lognormal", talk_mean=60, seed=2)
    dialled = Dialled(population)
    talks = [dialled.draw(str(n)).talk for n in range(3000)]
    assert abs(statistics.mean(talks) / 60 - 1) < 0.1
    with pytest.raises(ValidationError, match="outcomes: unknown outcome 'maybe'"):
        Population(outcomes={"maybe": 1.0})  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="talk_mean: must be > 0"):
        Population(talk_mean=0)


async def test_time_compression_keeps_simulated_time_in_timestamps() -> None:
    sim = simulator(time_scale=0.01, pstn={NUMBER: "answer"})
    ami = await connected(sim)
    try:
        await originate(ami, ring_ms=60000)
        msgs = await ami.until_call_done()
        drawn = callee()
        begin = float(events(msgs, "DialBegin")[0]["Timestamp"])
        answered = float(events(msgs, "OriginateResponse")[0]["Timestamp"])
        connect = float(events(msgs, "AgentConnect")[0]["Timestamp"])
        complete = float(events(msgs, "AgentComplete")[0]["Timestamp"])
        # each wait lasts at least its simulated length, scaled down 100x in real time
        assert answered - begin >= drawn.ring
        assert complete - connect >= drawn.talk
    finally:
        await ami.close()
        await sim.stop()
