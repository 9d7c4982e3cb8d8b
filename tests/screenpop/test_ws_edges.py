"""The WebSocket's edges: auth, malformed input, slow clients, a slow store, reminders."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from cti.ami.events import AgentRinging, AgentStoppedRinging, CallAnswered, CallInfo
from cti.crm_store.schemas.tasks import TaskIn
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.users import UserService
from cti.pbxsim.calls import InboundCall, QueueCall
from cti.screenpop.clients import text_frame
from cti.screenpop.http import CLOSE_UNAUTHORIZED, HUB
from cti.screenpop.service import REMINDERS
from cti.screenpop.source import StoreCardSource
from cti.web.keys import BUS, STORE
from tests.screenpop.conftest import IVAN, MakeEnv, Ws


async def _refused(env: Any, url: str, **kw: Any) -> aiohttp.WSMessage:
    ws = await env.client.ws_connect(url, **kw)
    first = await ws.receive()
    assert first.type == aiohttp.WSMsgType.TEXT and '"unauthorized"' in first.data
    closing = await ws.receive()
    await ws.close()
    return closing


async def test_no_or_bad_token_is_refused(make_env: MakeEnv) -> None:
    env = await make_env()
    for url in ("/ws", "/ws?token=not-a-token"):
        msg = await _refused(env, url)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == CLOSE_UNAUTHORIZED
    # a revoked token is refused as well
    await UserService(env.store).revoke_token(env.tokens["bob"])
    msg = await _refused(env, f"/ws?token={env.tokens['bob']}")
    assert msg.data == CLOSE_UNAUTHORIZED
    # not a WebSocket upgrade and no token: plain HTTP 401
    resp = await env.client.get("/ws")
    assert resp.status == 401
    assert env.app[HUB].clients == []


async def test_token_in_header_or_subprotocol_is_accepted(make_env: MakeEnv) -> None:
    env = await make_env()
    token = env.tokens["alice"]
    by_header = Ws(await env.client.ws_connect("/ws", headers={"Authorization": f"Bearer {token}"}))
    by_protocol = Ws(await env.client.ws_connect("/ws", protocols=("cti.bearer", token)))
    assert by_protocol.ws.protocol == "cti.bearer"
    for ws in (by_header, by_protocol):
        hello = await ws.recv()
        assert hello["type"] == "hello" and hello["user"]["username"] == "alice"
        assert hello["extensions"] == ["101"]


async def test_malformed_messages_get_errors_not_a_crash(make_env: MakeEnv) -> None:
    env = await make_env()
    alice = await env.connect("alice")
    bad: list[tuple[str, str]] = [
        ("not json at all", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"no": "type"}', "type"),
        ('{"type": "launch-missiles"}', "type"),
        ('{"type": "ping", "extra": 1}', "extra"),
        ('{"type": "dial"}', "number"),
        ('{"type": "subscribe", "scope": "all"}', "supervisors"),
        ("[" * 16_000, "nested deeper than"),
    ]
    for raw, words in bad:
        await alice.ws.send_str(raw)
        reply = await alice.recv()
        assert reply["type"] == "error", raw
        assert words in reply["message"], (raw, reply)
    await alice.ws.send_bytes(b"\x00\x01")
    assert (await alice.recv())["error_id"] == "bad-message"
    await alice.ws.send_json({"type": "ping", "ref": 7})
    pong = await alice.recv()  # still connected and served
    assert pong["type"] == "pong" and pong["ref"] == 7


async def test_frames_of_every_length_arrive_whole_beside_aiohttps_own(make_env: MakeEnv) -> None:
    """The hub frames messages itself (7-, 16- and 64-bit lengths, UTF-8 text) and writes
    them beside aiohttp's pongs: a real client reads each one intact and in order."""
    env = await make_env(source=None)
    hub = env.app[HUB]
    alice = await env.connect("alice")
    (client,) = hub.clients
    sizes = [0, 1, 100, 125, 126, 1000, 65_535, 65_536, 200_000]
    for n in sizes:
        hub.send(
            [client], {"type": "test", "call_id": None, "text": "я" * (n // 2) + "x" * (n % 2)}
        )
        await alice.ws.ping()  # aiohttp's control frames interleave with the hub's frames
    for n in sizes:
        frame = await alice.recv()
        assert frame["type"] == "test" and len(frame["text"].encode()) == n
    assert await alice.barrier() == []


def test_text_frame_headers_follow_rfc_6455() -> None:
    for size, head in [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65_535, b"\x81\x7e\xff\xff"),
        (65_536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ]:
        frame = text_frame("a" * size)
        assert frame[: len(head)] == head and len(frame) == len(head) + size


def _call(n: int, ext: str, name: str = "Caller") -> CallInfo:
    return CallInfo("default", f"c{ext}-{n}", "inbound", f"+7495000{n:04d}", name, ext)


async def _raw_ws_that_never_reads(port: int, token: str) -> socket.socket:
    """A WebSocket handshake on a raw socket with a tiny receive buffer, then silence."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def test_a_client_that_never_reads_is_dropped_and_delays_nobody(make_env: MakeEnv) -> None:
    env = await make_env(backlog=64 * 1024, source=None)
    hub = env.app[HUB]
    port = env.client.port
    assert port is not None
    sloth = await _raw_ws_that_never_reads(port, env.tokens["sloth"])
    alice = await env.connect("alice")
    got: list[str] = []
    caught_up = asyncio.Event()
    rounds = 0

    async def read_alice() -> None:
        while True:
            frame = await alice.recv()
            if frame["type"] == "call.ringing":
                got.append(frame["call_id"])
                if hub.stats.dropped_clients and len(got) == rounds:
                    caught_up.set()

    reader = asyncio.create_task(read_alice())
    bus = env.app[BUS]
    # big frames fill the sloth's socket buffers sooner; the calls never end (no CallEnded:
    # the call log would otherwise write thousands of fake calls at shutdown)
    big_name = "S" * 4000
    try:
        while hub.stats.dropped_clients == 0:
            rounds += 1
            assert rounds < 5000, "the never-reading client was never dropped"
            slow_call, fast_call = _call(rounds, "109", big_name), _call(rounds, "101")
            bus.publish(AgentRinging(slow_call, "109", None))
            bus.publish(AgentRinging(fast_call, "101", None))
            await asyncio.sleep(0)  # a reading client drains between rounds
        if len(got) < rounds:
            async with asyncio.timeout(10):
                await caught_up.wait()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    assert got == [f"c101-{n}" for n in range(1, rounds + 1)]  # every pop, in order
    assert [c.operator.username for c in hub.clients] == ["alice"]
    # the server closes the sloth's connection: reading what is buffered ends in EOF/reset
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(10):
        while True:
            try:
                if not await loop.sock_recv(sloth, 65536):
                    break
            except ConnectionResetError:
                break
    sloth.close()


async def test_a_pop_goes_out_first_and_every_client_keeps_its_order(make_env: MakeEnv) -> None:
    env = await make_env(source=None)
    hub, bus = env.app[HUB], env.app[BUS]
    alice, bob = await env.connect("alice"), await env.connect("bob")
    one, two, three = _call(1, "101"), _call(2, "102"), _call(3, "101")
    bus.publish(AgentRinging(one, "101", None))
    bus.publish(AgentRinging(two, "102", None))
    sent = hub.stats.frames
    # one AMI read: alice answers call one, bob stops ringing for call two, call three
    # rings alice; bob's frame waits for the end of the step, alice's pop goes out at once
    # and takes her "answered" with it, in order
    bus.publish(CallAnswered(one, "101", None))
    bus.publish(AgentStoppedRinging(two, "102", None))
    assert hub.stats.frames == sent
    bus.publish(AgentRinging(three, "101", None))
    assert hub.stats.frames == sent + 2
    await asyncio.sleep(0)
    assert hub.stats.frames == sent + 3
    got_alice = [(f["type"], f["call_id"]) for f in await alice.barrier()]
    got_bob = [(f["type"], f["call_id"]) for f in await bob.barrier()]
    assert got_alice == [
        ("call.ringing", one.call_id),
        ("call.answered", one.call_id),
        ("call.ringing", three.call_id),
    ]
    assert got_bob == [("call.ringing", two.call_id), ("call.stopped_ringing", two.call_id)]


async def test_slow_store_pops_at_once_and_updates_later(make_env: MakeEnv) -> None:
    gate = asyncio.Event()

    def gated(app: web.Application) -> StoreCardSource:
        real = StoreCardSource(app[STORE])
        original = real.match

        async def match(number: str) -> dict[str, Any]:
            await gate.wait()  # the store is "slow" until the test says otherwise
            return await original(number)

        real.match = match  # type: ignore[method-assign]
        return real

    env = await make_env(budget=0.01, source=gated)
    alice = await env.connect("alice")
    await env.sim.place_call(InboundCall(caller=IVAN, caller_name="Ivan P", to="101"))
    ringing = await alice.until("call.ringing")
    assert ringing["call"]["from"] == IVAN and ringing["call"]["from_name"] == "Ivan P"
    assert ringing["pop"]["complete"] is False and ringing["pop"]["match"] is None
    gate.set()
    update = await alice.until("pop.update", ringing["call_id"])
    assert update["pop"]["complete"] is True
    assert update["pop"]["match"]["contacts"][0]["id"] == env.known.contact_id
    assert env.app[HUB].stats.late_pops == 1


async def test_task_due_is_pushed_once_even_across_restarts(make_env: MakeEnv) -> None:
    env = await make_env()
    alice_id = (await UserService(env.store).by_username("alice")).id  # type: ignore[union-attr]
    tasks = TaskService(env.store)
    due = datetime.now(UTC) - timedelta(minutes=1)
    task = await tasks.create(
        TaskIn(
            title="Call Ivan back", kind="callback", phone=IVAN, assignee_id=alice_id, due_at=due
        )
    )
    later = await tasks.create(
        TaskIn(title="Not yet", assignee_id=alice_id, due_at=due + timedelta(days=1))
    )
    alice = await env.connect("alice")  # connecting wakes the reminder loop
    reminder = await alice.until("task.due")
    assert reminder["task"]["id"] == task.id and reminder["task"]["kind"] == "callback"
    assert (await tasks.get(task.id)).reminded_at is not None
    assert (await tasks.get(later.id)).reminded_at is None
    # a restarted daemon (a fresh reminder loop on the same store) does not remind again
    from cti.screenpop.reminders import Reminders

    again = Reminders(env.store, env.app[HUB], interval=3600)
    assert await again.tick() == 0
    assert await env.app[REMINDERS].tick() == 0
    assert [f for f in await alice.barrier() if f["type"] == "task.due"] == []


async def test_a_queue_callback_is_reminded_to_the_queues_agents(make_env: MakeEnv) -> None:
    env = await make_env()
    bob, carol = await env.connect("bob"), await env.connect("carol")
    await env.sim.place_call(QueueCall(caller=IVAN, answered_by="101"))  # rings 101 and 102
    await bob.until("call.ended")
    due = datetime.now(UTC) - timedelta(seconds=5)
    task = await TaskService(env.store).create(
        TaskIn(title="Call back (queue)", kind="callback", phone=IVAN, queue="support", due_at=due)
    )
    assert await env.app[REMINDERS].tick() == 1
    assert (await bob.until("task.due"))["task"]["id"] == task.id
    assert [f for f in await carol.barrier() if f["type"] == "task.due"] == []  # not in queue


async def test_the_page_and_its_icon_need_no_login(make_env: MakeEnv) -> None:
    env = await make_env()
    assert (await env.client.get("/")).status == 200
    icon = await env.client.get("/favicon.ico")  # browsers ask for it without reading the page
    assert icon.status == 200 and icon.content_type == "image/svg+xml"
    assert (await env.client.get("/static/screenpop/icon.svg")).status == 200
