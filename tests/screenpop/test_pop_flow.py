"""End to end: simulator → AMI connection → tracker → hub → real WebSocket clients."""

from __future__ import annotations

from cti.ami.events import DeviceStateChanged, OriginateFailed, QueueMemberChanged
from cti.pbxsim.calls import InboundCall, OutboundCall, QueueCall
from cti.screenpop.http import HUB
from tests.screenpop.conftest import IVAN, Env, MakeEnv


async def test_only_the_ringing_operator_gets_the_pop(make_env: MakeEnv) -> None:
    env = await make_env(budget=5.0, card_budget=5.0)
    alice, bob, sam = [await env.connect(n) for n in ("alice", "bob", "sam")]
    handle = await env.sim.place_call(InboundCall(caller=IVAN, caller_name="Ivan Petrov", to="101"))
    await handle
    ringing = await alice.until("call.ringing")
    call_id = ringing["call_id"]
    assert ringing["call"]["from"] == IVAN
    assert ringing["call"]["direction"] == "inbound"
    assert ringing["call"]["to"] == "101"
    assert ringing["ts"]
    pop = ringing["pop"]
    assert pop["complete"] is True  # the budget is generous here: one frame, everything in it
    assert pop["match"]["status"] == "exact"
    [contact] = pop["match"]["contacts"]
    assert contact["id"] == env.known.contact_id
    assert contact["name"] == "Ivan Petrov"
    assert contact["company"] == "Acme Ltd"
    assert IVAN in contact["phones"]
    assert [d["title"] for d in pop["deals"]] == ["Spring upgrade"]
    assert pop["deals"][0]["stage"] and pop["deals"][0]["amount"] == "1200.00"
    [ticket] = pop["tickets"]
    assert ticket["subject"] == "Router keeps rebooting"
    assert ticket["priority"] == "high" and ticket["sla_due"] and ticket["sla_breached"] is False
    [earlier] = pop["calls"]
    assert earlier["status"] == "no-answer" and earlier["direction"] == "outbound"
    assert [t["title"] for t in pop["tasks"]] == ["Send the new price list"]
    assert pop["script"]["name"] == "support"  # open ticket → the support script
    answered = await alice.until("call.answered", call_id)
    assert answered["agent"] == "101" and answered["agent_users"] == ["alice"]
    ended = await alice.until("call.ended", call_id)
    assert ended["status"] == "answered" and ended["talk_seconds"] is not None
    # nobody else heard of it: not bob, and not a supervisor who did not subscribe
    for other in (bob, sam):
        assert [f for f in await other.barrier() if f.get("call_id") == call_id] == []


async def test_answered_elsewhere_reaches_the_other_rung_operator(make_env: MakeEnv) -> None:
    env = await make_env(budget=5.0, card_budget=5.0)
    alice, bob, carol = [await env.connect(n) for n in ("alice", "bob", "carol")]
    await env.sim.place_call(QueueCall(caller=IVAN, caller_name="Ivan Petrov", answered_by="102"))
    a_ring = await alice.until("call.ringing")
    call_id = a_ring["call_id"]
    b_ring = await bob.until("call.ringing", call_id)
    assert a_ring["call"]["queue"] == b_ring["call"]["queue"] == "support"
    assert a_ring["pop"]["match"]["contacts"][0]["name"] == "Ivan Petrov"
    a_ans = await alice.until("call.answered", call_id)
    assert a_ans["agent"] == "102" and a_ans["agent_users"] == ["bob"]  # alice: elsewhere
    assert (await bob.until("call.answered", call_id))["agent"] == "102"
    await alice.until("call.ended", call_id)
    assert [f for f in await carol.barrier() if f.get("call_id") == call_id] == []


async def test_one_lookup_for_a_call_that_rings_many(make_env: MakeEnv) -> None:
    counted: list[str] = []

    def counting(app: object) -> object:
        from cti.screenpop.source import StoreCardSource
        from cti.web.keys import STORE

        real = StoreCardSource(app[STORE])  # type: ignore[index]
        original = real.match

        async def match(number: str) -> dict[str, object]:
            counted.append(number)
            return await original(number)

        real.match = match  # type: ignore[method-assign]
        return real

    env = await make_env(budget=5.0, card_budget=5.0, source=counting)
    alice, bob = [await env.connect(n) for n in ("alice", "bob")]
    handle = await env.sim.place_call(QueueCall(caller=IVAN, answered_by="101"))
    await handle
    call_id = (await alice.until("call.ringing"))["call_id"]
    await bob.until("call.ringing", call_id)
    await alice.until("call.ended", call_id)
    assert counted == [IVAN]


async def test_reconnect_gets_the_calls_live_now(make_env: MakeEnv) -> None:
    env = await make_env(budget=5.0, card_budget=5.0)
    bob = await env.connect("bob")
    handle = await env.sim.place_call(
        InboundCall(caller=IVAN, to="102", answer=False, ring_seconds=3600)
    )
    first = await bob.until("call.ringing")
    await bob.close()
    again = await env.connect("bob", hello=False)
    assert (await again.recv())["type"] == "hello"
    resumed = await again.recv()  # at once: no new PBX event was needed
    assert resumed["type"] == "call.ringing" and resumed["call_id"] == first["call_id"]
    assert resumed["pop"]["match"]["contacts"][0]["id"] == env.known.contact_id
    assert not handle.finished


async def test_supervisor_subscribed_to_a_queue_sees_its_calls(make_env: MakeEnv) -> None:
    env = await make_env(budget=5.0, card_budget=5.0)
    sam, carol = await env.connect("sam"), await env.connect("carol")
    await sam.ws.send_json({"type": "subscribe", "scope": "queue", "queue": "support"})
    assert (await sam.recv())["type"] == "subscribed"
    await env.sim.place_call(QueueCall(caller=IVAN, answered_by="101"))
    ringing = await sam.until("call.ringing")
    assert ringing["call"]["queue"] == "support"
    assert (await sam.until("call.answered", ringing["call_id"]))["agent"] == "101"
    # a direct call to an agent is not in the queue: the supervisor does not see it
    await sam.until("call.ended", ringing["call_id"])
    await env.sim.place_call(InboundCall(caller=IVAN, to="103"))
    direct = (await carol.until("call.ringing"))["call_id"]
    await carol.until("call.ended", direct)
    assert [f for f in await sam.barrier() if f.get("call_id") == direct] == []


async def test_an_operator_who_logs_in_while_the_phone_rings_gets_the_full_pop(
    make_env: MakeEnv,
) -> None:
    env = await make_env()  # production budgets: the card's details may follow as pop.update
    carol = await env.connect("carol")
    await env.sim.place_call(InboundCall(caller=IVAN, to="102", answer=False, ring_seconds=3600))
    # a barrier call on carol's phone: once it has popped, the call to 102 rings too
    await env.sim.place_call(InboundCall(caller="+79035550199", to="103"))
    await carol.until("call.ended")
    assert env.app[HUB].stats.pops == 1  # only carol's: nobody was there to see 102 ring
    bob = await env.connect("bob")
    pop = await bob.full_pop(await _live_call_to(env, "102"))
    assert pop["match"]["contacts"][0]["id"] == env.known.contact_id
    assert [d["title"] for d in pop["deals"]] == ["Spring upgrade"]


async def _live_call_to(env: Env, ext: str) -> str:
    [call_id] = [c for c, live in env.app[HUB].calls.items() if ext in live.ring.ringing]
    return call_id


async def test_a_dialer_call_pops_its_agent_with_the_campaign_script(make_env: MakeEnv) -> None:
    env = await make_env(budget=5.0, card_budget=5.0)
    alice = await env.connect("alice")  # the simulator's dialer agent (101)
    await env.sim.place_call(
        OutboundCall(number=IVAN.lstrip("+"), variables=(("CAMPAIGN", "spring-promo"),))
    )
    ringing = await alice.until("call.ringing")
    assert ringing["call"]["direction"] == "outbound"
    assert ringing["call"]["campaign"] == "spring-promo"
    assert ringing["pop"]["match"]["contacts"][0]["id"] == env.known.contact_id
    assert ringing["pop"]["script"]["name"] == "survey"  # the campaign's, not the rules'
    assert (await alice.until("call.answered", ringing["call_id"]))["agent"] == "101"


async def test_agent_and_originate_events_pop_nothing(make_env: MakeEnv) -> None:
    """Device states, queue members and channel-less Originate failures are the dialer's:
    even naming an operator's extension they send no frame and start no call."""
    env = await make_env()
    alice, sam = [await env.connect(n) for n in ("alice", "sam")]
    hub = env.app[HUB]
    hub.handle(DeviceStateChanged("lab", "PJSIP/101", "101", "RINGING", None))
    hub.handle(
        QueueMemberChanged(
            "lab", "support", "PJSIP/101", "101", "paused", True, "lunch", 1, False, None
        )
    )
    hub.handle(OriginateFailed("lab", "dialer-1", 0, "PJSIP/nobody", None))
    assert await alice.barrier() == [] and await sam.barrier() == []
    assert hub.calls == {}
