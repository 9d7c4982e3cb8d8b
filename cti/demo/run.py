"""``cti demo``: the whole system on one machine from a fresh clone, in one command.

A SQLite store (``cti.db`` in the working directory, or ``--db``) migrated and seeded when
empty, demo users (three operators on extensions 101/102/103 and a supervisor), the built-in
PBX simulator generating calls to those extensions with caller numbers taken from the store
(so the pops match real contacts), and the daemon with the operator page. Ctrl-C stops it
all cleanly (the daemon's graceful shutdown, then the simulator).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from cti.config import PbxConfig, Settings
from cti.crm_store.schemas.tasks import TaskIn, TaskQuery
from cti.crm_store.schemas.users import Role, UserIn, UserPatch
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.demo.seed import IVAN_PETROV, seed_demo
from cti.pbxsim.calls import AgentProfile
from cti.pbxsim.server import PbxSimulator
from cti.pbxsim.traffic import Kind, TrafficProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    extensions: tuple[str, ...]
    full_name: str

    @property
    def password(self) -> str:
        return f"{self.username}-demo"


DEMO_USERS = (
    DemoUser("alice", "operator", ("101",), "Alice Operator"),
    DemoUser("bob", "operator", ("102",), "Bob Operator"),
    DemoUser("carol", "operator", ("103",), "Carol Operator"),
    DemoUser("sam", "supervisor", (), "Sam Supervisor"),
)
#: demo traffic: mostly calls that ring an operator (direct and via the queue), a few others
DEMO_MIX: dict[Kind, float] = {
    "inbound": 0.45,
    "missed": 0.1,
    "queue": 0.3,
    "abandoned": 0.05,
    "transfer": 0.1,
}


async def prepare_store(url: str, contacts: int, out: Callable[[str], None]) -> list[str]:
    """Migrate, seed when empty, (re)set the demo users; return caller numbers for traffic."""
    store = await Store.open(url)
    try:
        people = ContactService(store)
        numbers = await people.numbers_sample(200)
        if not numbers:
            out(f"seeding {contacts} demo contacts (first run only) …")
            result = await seed_demo(store, contacts)
            out(
                f"  {result.contacts} contacts, {result.deals} deals, "
                f"{result.tickets} tickets, {result.tasks} tasks"
            )
            numbers = await people.numbers_sample(200)
        users = UserService(store)
        for demo in DEMO_USERS:
            existing = await users.by_username(demo.username)
            password = SecretStr(demo.password)
            if existing is None:
                await users.create(
                    UserIn(
                        username=demo.username,
                        password=password,
                        role=demo.role,
                        full_name=demo.full_name,
                        extensions=list(demo.extensions),
                    )
                )
            else:  # the demo logins always work, even if someone changed them
                await users.update(existing.id, UserPatch(password=password))
        alice = await users.by_username("alice")
        tasks = TaskService(store)
        if alice is not None:
            mine = await tasks.search(TaskQuery(assignee_id=alice.id, done=False))
            if mine.total == 0:  # one reminder to show ``task.due`` a minute after start
                await tasks.create(
                    TaskIn(
                        title="Call Ivan Petrov back about the router",
                        kind="callback",
                        phone=IVAN_PETROV,
                        assignee_id=alice.id,
                        due_at=utcnow() + timedelta(minutes=1),
                    )
                )
        return [IVAN_PETROV, *numbers] if IVAN_PETROV not in numbers else numbers
    finally:
        await store.close()


def demo_simulator(time_scale: float = 1.0) -> PbxSimulator:
    """Operators 101–103 (each also in the ``support`` queue); realistic ring/talk times."""
    agents = {
        "101": AgentProfile(ring_seconds=4.0, talk_seconds=20.0),
        "102": AgentProfile(ring_seconds=5.0, talk_seconds=25.0),
        "103": AgentProfile(ring_seconds=6.0, talk_seconds=15.0),
    }
    return PbxSimulator(
        agents=agents,
        queues={"support": ["101", "102", "103"]},
        users={"cti": secrets.token_urlsafe(12)},
        time_scale=time_scale,
    )


def banner(url: str, db: Path, users: Sequence[DemoUser] = DEMO_USERS) -> str:
    lines = [
        "",
        f"cti demo is running: open {url}",
        f"  store: {db} · PBX: built-in simulator · Ctrl-C stops everything",
        "  logins (username / password):",
    ]
    for u in users:
        exts = f"ext {', '.join(u.extensions)}" if u.extensions else "all queues"
        lines.append(f"    {u.username:<6} / {u.password:<12} {u.role} ({exts})")
    lines.append(f"  terminal pops: cti listen --url {url} --user alice")
    return "\n".join(lines)


async def run_demo(
    *,
    db: Path,
    host: str,
    port: int,
    contacts: int,
    rate: float,
    base: Settings | None = None,
    out: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
    time_scale: float = 1.0,
    status_every: float = 60.0,
) -> None:
    """Run the demo until ``stop`` is set or SIGINT/SIGTERM arrives.

    ``out`` gets the banner, then a line every ``status_every`` seconds of what it did.
    """
    from cti.daemon import serve
    from cti.demo.status import status_hook
    from cti.screenpop import setup as screenpop_setup

    url = f"sqlite+aiosqlite:///{db}"
    numbers = await prepare_store(url, contacts, out)
    sim = demo_simulator(time_scale)
    await sim.start()
    try:
        username, secret = next(iter(sim.users.items()))
        pbx = PbxConfig(
            host="127.0.0.1", port=sim.port, username=username, secret=SecretStr(secret)
        )
        settings = (base or Settings()).model_copy(
            update={"database_url": SecretStr(url), "pbx": {"demo": pbx}}
        )
        sim.start_traffic(
            TrafficProfile(calls_per_second=rate, numbers=numbers, mix=DEMO_MIX, seed=None)
        )

        def ready(bound: int) -> None:
            shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
            page = f"http://{shown}:{bound}/"
            out(banner(page, db))
            if on_ready is not None:
                on_ready(page)

        hooks = [screenpop_setup, status_hook(out, status_every)]
        await serve(settings, host, port, extra_setup=hooks, stop=stop, on_ready=ready)
    finally:
        await sim.stop_traffic()
        await sim.stop()
        out("cti demo stopped")
