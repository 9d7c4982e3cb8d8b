"""Screen-pop fixtures: the real daemon app (store, AMI connection, hub) on a test server,
the PBX simulator as its Asterisk, CRM data for one known caller, and WebSocket clients.

Frames are read in order; "X got nothing for call C" is checked with a ping/pong barrier:
the hub queues frames synchronously as events arrive, so once another operator has seen the
call end, everything X would get for it is already ahead of X's ``pong``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from pydantic import SecretStr

from cti.ami.events import CallRecord
from cti.calllog.service import CallLog
from cti.config import AuthConfig, PbxConfig, Settings
from cti.crm_store.schemas.contacts import CompanyIn, ContactIn
from cti.crm_store.schemas.deals import DealIn
from cti.crm_store.schemas.tasks import TaskIn
from cti.crm_store.schemas.tickets import TicketIn
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.services.deals import DealService
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.tickets import TicketService
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.daemon import build_app
from cti.pbxsim.calls import AgentProfile
from cti.pbxsim.server import PbxSimulator
from cti.screenpop.service import setup as screenpop_setup
from cti.web.keys import AMI

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"
IVAN = "+74951234567"
RECV_TIMEOUT = 10.0


@dataclass
class Known:
    """The CRM facts of the known caller (Ivan Petrov)."""

    contact_id: int
    deal_id: int
    ticket_id: int
    task_id: int


async def seed_known_caller(store: Store) -> Known:
    company = await CompanyService(store).create(CompanyIn(name="Acme Ltd"))
    contact = await ContactService(store).create(
        ContactIn.model_validate(
            {
                "first_name": "Ivan",
                "last_name": "Petrov",
                "company_id": company.id,
                "phones": [{"number": IVAN, "kind": "work"}],
            }
        )
    )
    deal = await DealService(store).create(
        DealIn(title="Spring upgrade", contact_id=contact.id, amount=Decimal("1200.00"))
    )
    ticket = await TicketService(store).create(
        TicketIn(subject="Router keeps rebooting", contact_id=contact.id, priority="high")
    )
    task = await TaskService(store).create(
        TaskIn(title="Send the new price list", contact_id=contact.id)
    )
    earlier = datetime.now(UTC) - timedelta(days=2)
    await CallLog(store).record(
        CallRecord(
            pbx="default",
            linkedid="earlier-1",
            direction="outbound",
            from_number="101",
            from_name="Alice",
            to_number=IVAN,
            queue=None,
            agents_rung=(),
            agent="101",
            status="no-answer",
            started_at=earlier,
            answered_at=None,
            ended_at=earlier + timedelta(seconds=30),
            ring_seconds=30.0,
            talk_seconds=None,
            hangup_cause=19,
        )
    )
    return Known(contact.id, deal.id, ticket.id, task.id)


@dataclass
class Ws:
    """A real WebSocket client (aiohttp) with an ordered, typed reader."""

    ws: aiohttp.ClientWebSocketResponse
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def recv(self) -> dict[str, Any]:
        async with asyncio.timeout(RECV_TIMEOUT):
            msg = await self.ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a text frame, got {msg.type} {msg.data!r}")
        data: dict[str, Any] = json.loads(msg.data)
        self.seen.append(data)
        return data

    async def until(self, type_: str, call_id: str | None = None) -> dict[str, Any]:
        """The next frame of ``type_`` (for ``call_id``), skipping others."""
        while True:
            data = await self.recv()
            if data["type"] == type_ and (call_id is None or data.get("call_id") == call_id):
                return data

    async def barrier(self) -> list[dict[str, Any]]:
        """Every frame queued for this client before now (ping → frames… → pong)."""
        await self.ws.send_json({"type": "ping", "ref": "barrier"})
        got = []
        while True:
            data = await self.recv()
            if data["type"] == "pong" and data.get("ref") == "barrier":
                return got
            got.append(data)

    async def full_pop(self, call_id: str) -> dict[str, Any]:
        """The complete card of ``call_id``: in its ``call.ringing`` or a later ``pop.update``."""
        ringing = await self.until("call.ringing", call_id)
        pop: dict[str, Any] = ringing["pop"]
        while not pop["complete"]:
            pop = (await self.until("pop.update", call_id))["pop"]
        return pop

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class Env:
    app: web.Application
    client: TestClient[web.Request, web.Application]
    sim: PbxSimulator
    store: Store
    known: Known
    tokens: dict[str, str]

    async def connect(self, username: str, *, hello: bool = True) -> Ws:
        ws = Ws(await self.client.ws_connect(f"/ws?token={self.tokens[username]}"))
        if hello:
            first = await ws.recv()
            assert first["type"] == "hello", first
        return ws

    @property
    def ws_url(self) -> str:
        return str(self.client.make_url("/ws"))


MakeEnv = Callable[..., Awaitable[Env]]
USERS = {
    "alice": ("operator", ("101",)),
    "bob": ("operator", ("102",)),
    "carol": ("operator", ("103",)),
    "sloth": ("operator", ("109",)),
    "sam": ("supervisor", ()),
}


@pytest.fixture
async def make_env(sqlite_store: Store) -> AsyncIterator[MakeEnv]:
    """Build the environment; options go to ``cti.screenpop.setup`` (budget, source …)."""
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def make(
        *,
        agents: dict[str, AgentProfile] | None = None,
        auth: AuthConfig | None = None,
        **options: Any,
    ) -> Env:
        store = sqlite_store
        known = await seed_known_caller(store)
        users = UserService(store, hasher=FAST_HASHER)
        tokens = {}
        for name, (role, exts) in USERS.items():
            user = await users.create(
                UserIn(
                    username=name, password=SecretStr(PASSWORD), role=role, extensions=list(exts)
                )
            )
            tokens[name] = (await users.issue_token(user.id)).token
        sim = PbxSimulator(
            agents=agents or {"101": AgentProfile(), "102": AgentProfile(), "103": AgentProfile()},
            queues={"support": ["101", "102"]},
            time_scale=0.01,
        )
        await sim.start()
        cleanups.append(sim.stop)
        settings = Settings(
            auth=auth or AuthConfig(),
            pbx={
                "default": PbxConfig(
                    host="127.0.0.1",
                    port=sim.port,
                    username="cti",
                    secret=SecretStr("cti-secret"),
                )
            },
        )
        options.setdefault("reminder_interval", 3600.0)
        app = build_app(
            settings, store=store, extra_setup=[lambda a: screenpop_setup(a, **options)]
        )
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        await client.start_server()
        cleanups.append(client.close)
        async with asyncio.timeout(RECV_TIMEOUT):
            await app[AMI]["default"].wait_connected()
        return Env(app, client, sim, store, known, tokens)

    yield make
    for cleanup in reversed(cleanups):
        await cleanup()
