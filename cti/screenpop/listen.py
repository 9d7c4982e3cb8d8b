"""``cti listen``: a terminal screen-pop (websockets library), for thin clients and debugging.

Logs in over the REST API, opens ``/ws`` with the token in the ``Authorization`` header (never
in the URL, so it stays out of access logs) and prints each pop as it arrives. Reconnects with
backoff when the connection drops; a refused token ends it with a clear error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cti.errors import AuthError, UnavailableError, ValidationError

log = logging.getLogger(__name__)
Out = Callable[[str], None]


async def login(url: str, username: str, password: str) -> str:
    """A bearer token for ``username`` from ``POST /api/login``."""
    body = {"username": username, "password": password}
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url.rstrip("/") + "/api/login", json=body) as resp,
        ):
            data: Any = await resp.json(content_type=None)
            status = resp.status
    except (aiohttp.ClientError, ValueError) as exc:
        raise UnavailableError(
            f"cannot log in at {url} ({exc}): check that cti serve runs there and --url"
        ) from None
    if status != 200 or not isinstance(data, dict) or "token" not in data:
        message = data.get("message") if isinstance(data, dict) else None
        raise AuthError(
            f"login as {username} at {url} failed ({status}: {message or 'no token'}): "
            "check --user and the password"
        )
    return str(data["token"])


def ws_url(url: str) -> str:
    """``http(s)://host:port[/]`` → ``ws(s)://host:port/ws``."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise ValidationError(f"--url: expected http(s)://host:port, got {url!r}")
    return urlunsplit((scheme, parts.netloc, "/ws", "", ""))


def _items(items: list[dict[str, Any]], fmt: Callable[[dict[str, Any]], str]) -> str:
    return "; ".join(fmt(i) for i in items) or "none"


def _money(deal: dict[str, Any]) -> str:
    amount = deal.get("amount")
    return f", {amount} {deal.get('currency') or ''}".rstrip() if amount is not None else ""


def _ticket(ticket: dict[str, Any]) -> str:
    late = " (SLA breached)" if ticket.get("sla_breached") else ""
    return f"#{ticket['id']} {ticket['subject']}{late}"


def card_lines(pop: dict[str, Any]) -> list[str]:
    """The caller's card, as far as it is known (the rest follows as an update)."""
    if pop.get("deals") is None:  # sent before the card was read: it follows
        return ["  card: loading (it follows as an update)"]
    lines = [
        "  deals: " + _items(pop["deals"], lambda d: f"{d['title']} ({d['stage']}{_money(d)})"),
        "  tickets: " + _items(pop.get("tickets") or [], _ticket),
        "  last calls: "
        + _items(pop.get("calls") or [], lambda c: f"{str(c['when'])[:16]} {c['status']}"),
        "  tasks: " + _items(pop.get("tasks") or [], lambda t: t["title"]),
    ]
    if pop.get("script"):
        lines.append(f"  script: {pop['script']['title']}")
    return lines


def _caller(call: dict[str, Any], match: dict[str, Any]) -> str:
    people = match.get("contacts") or []
    if len(people) == 1:
        company = f" ({people[0]['company']})" if people[0].get("company") else ""
        return f"{people[0]['name'] or '?'}{company}"
    if len(people) > 1:
        return "one of " + ", ".join(p["name"] or "?" for p in people)
    return call.get("from_name") or "unknown caller"


def _talked(msg: dict[str, Any]) -> str:
    talk = msg.get("talk_seconds")
    return f", talked {talk:.0f} s" if isinstance(talk, int | float) else ""


def _task(task: dict[str, Any]) -> str:
    due = str(task.get("due_at") or "")[:16].replace("T", " ")
    return f"{task.get('title')}{f' (due {due})' if due else ''}"


def render(msg: dict[str, Any]) -> str:
    """One human-readable block per message of the operator's feed."""
    kind = msg.get("type")
    ts = str(msg.get("ts") or "")[11:19]
    call_id = msg.get("call_id")
    if kind == "call.ringing":
        call, pop = msg.get("call") or {}, msg.get("pop") or {}
        match = pop.get("match") or {}
        queue = f" via queue {call['queue']}" if call.get("queue") else ""
        head = (
            f"{ts} RINGING {call.get('from') or '?'} {_caller(call, match)} → "
            f"{call.get('to') or '?'}{queue} (call {call_id})"
        )
        return "\n".join([head, *card_lines(pop)])
    if kind == "pop.update":
        pop = msg.get("pop") or {}
        head = f"{ts} CARD for call {call_id}: {_caller({}, pop.get('match') or {})}"
        return "\n".join([head, *card_lines(pop)])
    texts: dict[str, Callable[[], str]] = {
        "call.answered": lambda: f"ANSWERED by {msg.get('agent') or 'the PBX'} (call {call_id})",
        "call.stopped_ringing": lambda: f"stopped ringing here (call {call_id})",
        "call.queued": lambda: f"queue {msg.get('queue')}: {msg.get('action')} (call {call_id})",
        "call.transferred": lambda: (
            f"TRANSFERRED ({msg.get('kind')}) {msg.get('by') or '?'} → {msg.get('to') or '?'}"
            f" (call {call_id})"
        ),
        "call.ended": lambda: f"ENDED {msg.get('status')}{_talked(msg)} (call {call_id})",
        "task.due": lambda: f"DUE NOW: {_task(msg.get('task') or {})}",
        "tasks.due": lambda: (
            "due tasks: " + (_items(msg.get("tasks") or [], _task) if msg.get("tasks") else "none")
        ),
        "dial.started": lambda: f"DIALING {msg.get('number')} from {msg.get('extension')}",
        "subscribed": lambda: "subscribed",
        "unsubscribed": lambda: "unsubscribed",
        "pong": lambda: "pong",
        "closing": lambda: f"the server closes the connection: {msg.get('message')}",
        "error": lambda: f"error: {msg.get('message')}",
    }
    if kind == "hello":
        user = msg.get("user") or {}
        exts = ", ".join(msg.get("extensions") or []) or "none"
        return f"connected as {user.get('username')} ({user.get('role')}), extensions {exts}"
    text = texts.get(str(kind))
    return f"{ts} {text()}" if text is not None else f"{ts} {kind} (call {call_id})"


async def listen(
    url: str,
    username: str,
    password: str,
    *,
    out: Out = print,
    as_json: bool = False,
    stop: asyncio.Event | None = None,
    retry_max: float = 30.0,
) -> None:
    """Print pops until ``stop`` is set (or forever); reconnects after connection losses."""
    stop = stop or asyncio.Event()
    token = await login(url, username, password)
    target = ws_url(url)
    delay = 0.5
    while not stop.is_set():
        try:
            async with websockets.connect(
                target, additional_headers={"Authorization": f"Bearer {token}"}
            ) as ws:
                delay = 0.5
                stopper = asyncio.create_task(stop.wait())
                try:
                    while True:
                        receive = asyncio.create_task(ws.recv())
                        done, _ = await asyncio.wait(
                            {receive, stopper}, return_when=asyncio.FIRST_COMPLETED
                        )
                        if stopper in done:
                            receive.cancel()
                            return
                        raw = receive.result()
                        msg = json.loads(raw)
                        out(json.dumps(msg) if as_json else render(msg))
                finally:
                    stopper.cancel()
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 4401:
                raise AuthError("the server refused the token (close 4401)") from None
            out(f"connection closed ({exc}); reconnecting in {delay:.1f} s")
        except (OSError, InvalidStatus) as exc:
            out(f"cannot connect to {target}: {exc}; retrying in {delay:.1f} s")
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            delay = min(retry_max, delay * 2)
