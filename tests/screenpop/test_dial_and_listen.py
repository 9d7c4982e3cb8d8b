"""Click-to-dial through the simulator, and ``cti listen`` against the real server."""

from __future__ import annotations

import asyncio

from cti.pbxsim.calls import InboundCall, Originate
from cti.screenpop.listen import listen, render, ws_url
from tests.screenpop.conftest import IVAN, PASSWORD, MakeEnv


async def test_click_to_dial_rings_the_operator_then_dials(make_env: MakeEnv) -> None:
    env = await make_env(budget=5.0, card_budget=5.0)
    alice = await env.connect("alice")
    headers = {"Authorization": f"Bearer {env.tokens['alice']}"}
    resp = await env.client.post("/api/dial", json={"number": "8 916 111-00-01"}, headers=headers)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["extension"] == "101" and body["number"] == "+79161110001"
    assert body["pbx"] == "default" and body["action_id"].startswith("cti-orig-")
    # the PBX got an Originate ringing alice's phone first, then dialling the number
    origs = [h.spec for h in env.sim.calls.values() if isinstance(h.spec, Originate)]
    async with asyncio.timeout(10):
        while not origs:
            await alice.barrier()
            origs = [h.spec for h in env.sim.calls.values() if isinstance(h.spec, Originate)]
    [orig] = origs
    assert orig.channel == "Local/101@agents"
    assert (orig.context, orig.exten) == ("outbound", "79161110001")
    assert orig.action_id == body["action_id"]


async def test_click_to_dial_validates(make_env: MakeEnv) -> None:
    env = await make_env()
    alice = {"Authorization": f"Bearer {env.tokens['alice']}"}
    sam = {"Authorization": f"Bearer {env.tokens['sam']}"}
    cases = [
        (alice, {"number": "12"}, 422),  # too short
        (alice, {"number": "not a number"}, 422),
        (alice, {"number": "+79161110001", "extension": "102"}, 403),  # not hers
        (alice, {"number": "+79161110001", "pbx": "nowhere"}, 503),
        (sam, {"number": "+79161110001"}, 403),  # no extension to ring
        (alice, {"number": "+79161110001", "surprise": 1}, 422),
    ]
    for headers, body, status in cases:
        resp = await env.client.post("/api/dial", json=body, headers=headers)
        assert resp.status == status, (body, await resp.text())
        assert (await resp.json())["error_id"]
    resp = await env.client.post("/api/dial", json={"number": "+79161110001"})
    assert resp.status == 401
    # over the WebSocket: the same rules, answered with an error frame
    ws = await env.connect("alice")
    await ws.ws.send_json({"type": "dial", "number": "+79161110001", "extension": "102"})
    assert (await ws.until("error"))["error_id"] == "forbidden"


async def test_listen_prints_each_pop(make_env: MakeEnv) -> None:
    env = await make_env(budget=5.0, card_budget=5.0)
    url = str(env.client.make_url("/"))
    lines: list[str] = []
    stop = asyncio.Event()
    connected = asyncio.Event()

    def out(text: str) -> None:
        lines.append(text)
        if text.startswith("connected as"):
            connected.set()
        if " ENDED " in text:
            stop.set()

    task = asyncio.create_task(listen(url, "alice", PASSWORD, out=out, stop=stop))
    async with asyncio.timeout(10):
        await connected.wait()
    await env.sim.place_call(InboundCall(caller=IVAN, caller_name="Ivan Petrov", to="101"))
    async with asyncio.timeout(10):
        await task
    text = "\n".join(lines)
    assert "connected as alice, extensions ['101']" in text
    assert f"RINGING {IVAN} Ivan Petrov (Acme Ltd) → 101 [match: exact]" in text
    assert "deals: Spring upgrade (lead, 1200.00)" in text
    assert "tickets: #" in text and "Router keeps rebooting" in text
    assert "ANSWERED by 101" in text and "ENDED answered" in text


def test_listen_helpers() -> None:
    assert ws_url("http://h:8080") == "ws://h:8080/ws"
    assert ws_url("https://h/") == "wss://h/ws"
    pending = render({"type": "call.ringing", "call_id": "1", "ts": "", "call": {}, "pop": None})
    assert "[match: pending]" in pending and "deals: …" in pending
