"""Click-to-dial through the simulator, and ``cti listen`` against the real server."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from cti.errors import CtiError
from cti.pbxsim.calls import InboundCall, Originate
from cti.screenpop.listen import listen, render, ws_url
from tests.clihelp import cli_app
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
    assert "connected as alice (operator), extensions 101" in text
    assert f"RINGING {IVAN} Ivan Petrov (Acme Ltd) → 101 (call " in text
    assert "deals: Spring upgrade (lead, 1200.00" in text
    assert "tickets: #" in text and "Router keeps rebooting" in text
    assert "ANSWERED by 101" in text and "ENDED answered" in text


def test_listen_helpers() -> None:
    assert ws_url("http://h:8080") == "ws://h:8080/ws"
    assert ws_url("https://h/") == "wss://h/ws"
    pending = render({"type": "call.ringing", "call_id": "1", "ts": "", "call": {}, "pop": None})
    assert "RINGING ? unknown caller → ?" in pending
    assert "card: loading (it follows as an update)" in pending
    ended = render({"type": "call.ended", "ts": "", "call_id": "7", "status": "missed"})
    assert ended.endswith("ENDED missed (call 7)")
    due = render({"type": "tasks.due", "ts": "", "tasks": [{"title": "Call back", "due_at": None}]})
    assert due.endswith("due tasks: Call back")
    assert "unknown" not in render({"type": "closing", "ts": "", "message": "logged out"})


def test_listen_without_a_terminal_asks_for_password_stdin() -> None:
    result = CliRunner().invoke(
        cli_app("cti.screenpop.cli"), ["listen", "--url", "http://127.0.0.1:1", "--user", "alice"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, CtiError)
    assert "--password-stdin" in str(result.exception)
