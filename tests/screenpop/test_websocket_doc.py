"""docs/websocket.md against the code: every example is a message the server really sends
(or accepts), and every message type the code has is in the doc.

Client examples go through the server's own parser; server examples are compared, key by
key and JSON type by JSON type, with the messages of a real session (the daemon's app, the
PBX simulator, real sockets) that makes the server send every type. The types the code can
send are also read from its source (each ``"type": "…"`` of a message dict in
``cti/screenpop``, and each ``_frame("…")``), so a new message type fails here until the
doc shows it, whether or not this session triggers it.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

import cti.screenpop
from cti.crm_store.schemas.tasks import TaskIn
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.users import UserService
from cti.pbxsim.calls import InboundCall, QueueCall, TransferCall
from cti.screenpop import clients, http
from cti.screenpop.http import _MESSAGE, parse_message
from cti.screenpop.service import REMINDERS
from cti.screenpop.source import StoreCardSource
from cti.web.keys import STORE
from tests.docs.markdown import blocks_in, section
from tests.screenpop.conftest import IVAN, Env, MakeEnv, Ws

DOC = "websocket.md"


def _examples(heading: str) -> list[dict[str, Any]]:
    return [json.loads(b.text) for b in blocks_in(section(DOC, heading), "json")]


def client_types() -> set[str]:
    """The ``type`` of every message the server's parser accepts."""
    schema = _MESSAGE.json_schema()
    return set(schema["discriminator"]["mapping"])


def source_types() -> set[str]:
    """Every message ``type`` written in the screen-pop package's source."""
    found: set[str] = set()
    for path in Path(cti.screenpop.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value == "type"
                        and isinstance(value, ast.Constant)
                        and isinstance(value.value, str)
                    ):
                        found.add(value.value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_frame"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(str(node.args[0].value))
    return found


# -- shapes: what the session's messages look like, merged per type ---------------------------
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


class Shape:
    """The JSON kinds seen at one place of a message; objects' keys and arrays' items."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        #: every key seen in the objects here, and those in every one of them
        self.keys: set[str] | None = None
        self.always: set[str] | None = None
        self.fields: dict[str, Shape] = {}
        self.items: Shape | None = None

    def add(self, value: Any) -> None:
        self.kinds.add(_kind(value))
        if isinstance(value, dict):
            keys = set(value)
            self.keys = keys | (self.keys or set())
            self.always = keys & (keys if self.always is None else self.always)
            for k, v in value.items():
                self.fields.setdefault(k, Shape()).add(v)
        elif isinstance(value, list):
            self.items = self.items or Shape()
            for item in value:
                self.items.add(item)

    def check(self, value: Any, where: str) -> list[str]:
        """What in ``value`` (a doc example) the real messages never had."""
        kind = _kind(value)
        if kind not in self.kinds:
            return [f"{where}: {kind}, the server sends {sorted(self.kinds)}"]
        problems: list[str] = []
        if isinstance(value, dict) and self.keys is not None and self.always is not None:
            if not self.always <= set(value) <= self.keys:
                want = f"{sorted(self.always)} (at most {sorted(self.keys)})"
                return [f"{where}: keys {sorted(value)}, the server sends {want}"]
            for k, v in value.items():
                problems += self.fields[k].check(v, f"{where}.{k}")
        elif isinstance(value, list) and self.items is not None and self.items.kinds:
            for i, item in enumerate(value):
                problems += self.items.check(item, f"{where}[{i}]")
        return problems


def shapes(messages: list[dict[str, Any]]) -> dict[str, Shape]:
    """One shape per message type; a card (``pop``) is one shape whatever frame carries it."""
    by_type: dict[str, Shape] = {}
    card = Shape()
    for msg in messages:
        shape = by_type.setdefault(msg["type"], Shape())
        shape.add(msg)
        if "pop" in msg:
            card.add(msg["pop"])
    for shape in by_type.values():
        if "pop" in shape.fields:
            shape.fields["pop"] = card
    return by_type


# -- the session -------------------------------------------------------------------------------
async def _drain(ws: Ws) -> list[dict[str, Any]]:
    await ws.barrier()
    return ws.seen


async def _session(env: Env, gate: asyncio.Event) -> list[dict[str, Any]]:
    """Make the server send every message type it has; return what the sockets got."""
    alice, bob, sam = [await env.connect(name) for name in ("alice", "bob", "sam")]
    await sam.ws.send_json({"type": "subscribe", "scope": "all", "ref": 1})
    await sam.until("subscribed")
    # a pop before the card (the store is slow), then its pop.update
    await env.sim.place_call(InboundCall(caller=IVAN, caller_name="Ivan Petrov", to="101"))
    ringing = await alice.until("call.ringing")
    gate.set()
    await alice.until("pop.update", ringing["call_id"])
    await alice.until("call.ended", ringing["call_id"])
    # a queue call answered by bob: queued, alice stops ringing
    await env.sim.place_call(QueueCall(caller="+79161112233", answered_by="102"))
    queued = await sam.until("call.queued")
    await alice.until("call.stopped_ringing", queued["call_id"])
    await sam.until("call.ended", queued["call_id"])
    # a transfer from alice to carol
    await env.sim.place_call(TransferCall(caller=IVAN, to="101", target="103"))
    moved = await sam.until("call.transferred")
    await sam.until("call.ended", moved["call_id"])
    # the client's own messages and the server's answers
    await alice.ws.send_json({"type": "ping", "ref": "p1"})
    await alice.until("pong")
    await alice.ws.send_json({"type": "dial", "number": "+79161110001", "ref": 7})
    await alice.until("dial.started")
    await alice.ws.send_json(
        {"type": "dial", "number": "+79161110001", "extension": "102", "ref": 7}
    )
    await alice.until("error")
    await sam.ws.send_json({"type": "unsubscribe", "scope": "all"})
    await sam.until("unsubscribed")
    # a task falls due
    user = await UserService(env.store).by_username("alice")
    assert user is not None
    due = datetime.now(UTC) - timedelta(minutes=1)
    await TaskService(env.store).create(
        TaskIn(title="Call back Ivan", kind="callback", phone=IVAN, assignee_id=user.id, due_at=due)
    )
    await env.app[REMINDERS].tick()
    await alice.until("task.due")
    await alice.until("tasks.due")
    # the session ends: the server says so before it closes
    seen = [*await _drain(alice), *await _drain(bob), *await _drain(sam)]
    headers = {"Authorization": f"Bearer {env.tokens['bob']}"}
    assert (await env.client.post("/api/logout", headers=headers)).status == 204
    closing = await bob.until("closing")
    return [*seen, closing]


async def test_every_example_is_a_real_message_and_every_type_is_shown(
    make_env: MakeEnv,
) -> None:
    gate = asyncio.Event()

    def slow_store(app: web.Application) -> StoreCardSource:
        real = StoreCardSource(app[STORE])
        original = real.match

        async def match(number: str) -> dict[str, Any]:
            await gate.wait()  # the first pop goes out before the card: a pop.update follows
            return await original(number)

        real.match = match  # type: ignore[method-assign]
        return real

    env = await make_env(budget=0.01, source=slow_store)
    sent = shapes(await _session(env, gate))
    assert set(sent) == source_types(), "the session should make the server send every type"
    shown: set[str] = set()
    problems: list[str] = []
    for example in _examples("Server to client"):
        kind = example.get("type")
        assert kind in sent, f"docs/{DOC}: the server sends no {kind!r} message"
        shown.add(kind)
        problems += sent[kind].check(example, kind)
    assert problems == [], f"docs/{DOC}: examples unlike the real messages: {problems}"
    assert shown == source_types(), f"docs/{DOC}: show an example of {source_types() - shown}"


def test_every_client_example_is_accepted_and_every_client_type_shown() -> None:
    examples = _examples("Client to server")
    for example in examples:
        parse_message(json.dumps(example))  # raises with the reason
    assert {e["type"] for e in examples} == client_types()


def test_the_close_codes_table_has_every_code() -> None:
    table = section(DOC, "Close codes")
    listed = {int(code) for code in re.findall(r"^\| (\d{4}) \|", table, re.MULTILINE)}
    codes = {
        value
        for module in (clients, http)
        for name, value in vars(module).items()
        if name.startswith("CLOSE_") and isinstance(value, int)
    }
    assert codes | {1001} == listed


def test_the_quoted_parser_error_is_the_parsers() -> None:
    quoted = re.search(r"e\.g\. `(dial\.number: [^`]+)`", section(DOC, "Server to client"))
    assert quoted is not None
    try:
        parse_message('{"type": "dial", "number": "1"}')
    except ValueError as exc:
        assert str(exc) == " ".join(quoted.group(1).split())
    else:
        raise AssertionError("a one-digit number was accepted")
