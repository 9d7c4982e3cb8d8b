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

from cti.errors import AuthError, CtiError

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
        raise CtiError(f"cannot log in at {url}: {exc}") from None
    if status != 200 or not isinstance(data, dict) or "token" not in data:
        message = data.get("message") if isinstance(data, dict) else None
        raise AuthError(f"login failed ({status}): {message or 'no token'}")
    return str(data["token"])


def ws_url(url: str) -> str:
    """``http(s)://host:port[/]`` → ``ws(s)://host:port/ws``."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise CtiError(f"--url: expected http(s)://host:port, got {url!r}")
    return urlunsplit((scheme, parts.netloc, "/ws", "", ""))


def _names(items: list[dict[str, Any]] | None, fmt: Callable[[dict[str, Any]], str]) -> str:
    if items is None:
        return "…"
    return "; ".join(fmt(i) for i in items) or "none"


def render(msg: dict[str, Any]) -> str:
    """One human-readable block per message."""
    kind = msg.get("type")
    ts = str(msg.get("ts") or "")[11:19]
    if kind == "call.ringing":
        call, pop = msg.get("call") or {}, msg.get("pop") or {}
        match = pop.get("match") or {}
        people = match.get("contacts") or []
        who = people[0]["name"] if len(people) == 1 else call.get("from_name") or "unknown"
        company = f" ({people[0]['company']})" if len(people) == 1 and people[0]["company"] else ""
        lines = [
            f"{ts} RINGING {call.get('from')} {who}{company} → {call.get('to')}"
            f"{' queue ' + call['queue'] if call.get('queue') else ''}"
            f" [match: {match.get('status', 'pending')}] call {msg.get('call_id')}",
        ]
        if len(people) > 1:
            lines.append("  candidates: " + ", ".join(p["name"] or "?" for p in people))
        lines.append(
            "  deals: "
            + _names(pop.get("deals"), lambda d: f"{d['title']} ({d['stage']}, {d['amount']})")
        )
        lines.append(
            "  tickets: "
            + _names(
                pop.get("tickets"),
                lambda t: (
                    f"#{t['id']} {t['subject']}{' SLA BREACHED' if t['sla_breached'] else ''}"
                ),
            )
        )
        lines.append(
            "  last calls: "
            + _names(pop.get("calls"), lambda c: f"{str(c['when'])[:16]} {c['status']}")
        )
        lines.append("  tasks: " + _names(pop.get("tasks"), lambda t: t["title"]))
        if pop.get("script"):
            lines.append(f"  script: {pop['script']['title']}")
        return "\n".join(lines)
    if kind == "pop.update":
        match = (msg.get("pop") or {}).get("match") or {}
        names = ", ".join(p["name"] or "?" for p in match.get("contacts") or []) or "nobody"
        return f"{ts} UPDATE call {msg.get('call_id')}: {match.get('status')} {names}"
    if kind == "call.answered":
        return f"{ts} ANSWERED by {msg.get('agent')} call {msg.get('call_id')}"
    if kind == "call.ended":
        talk = msg.get("talk_seconds")
        return f"{ts} ENDED {msg.get('status')} talk {talk} s call {msg.get('call_id')}"
    if kind == "call.transferred":
        return f"{ts} TRANSFERRED {msg.get('kind')} {msg.get('by')} → {msg.get('to')}"
    if kind == "task.due":
        task = msg.get("task") or {}
        return f"{ts} TASK DUE {task.get('title')} (due {task.get('due_at')})"
    if kind == "hello":
        user = msg.get("user") or {}
        return f"connected as {user.get('username')}, extensions {msg.get('extensions')}"
    if kind == "error":
        return f"error: {msg.get('message')}"
    return f"{ts} {kind} call {msg.get('call_id')}"


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
