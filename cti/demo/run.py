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
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from cti.config import AgiConfig, PbxConfig, PhoneConfig, Settings
from cti.crm_store.schemas.tasks import TaskIn, TaskQuery
from cti.crm_store.schemas.users import Role, UserIn, UserPatch
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.demo.seed import IVAN_PETROV, seed_demo
from cti.pbxsim.agi import AgiTarget
from cti.pbxsim.calls import AgentProfile
from cti.pbxsim.campaign import Campaign
from cti.pbxsim.ivr_agi import LiveAgi
from cti.pbxsim.population import Population
from cti.pbxsim.respondents import RespondentProfile
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
    "inbound": 0.4,
    "missed": 0.1,
    "queue": 0.25,
    "abandoned": 0.05,
    "transfer": 0.1,
    # the IVR: mostly the NPS survey on the keypad (FastAGI), else a message or a menu
    "ivr": 0.1,
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
        await prepare_campaign(store, numbers, out)
        return [IVAN_PETROV, *numbers] if IVAN_PETROV not in numbers else numbers
    finally:
        await store.close()


#: the demo's campaign: the shipped NPS survey, dialled through the simulator's ``pstn``
DEMO_CAMPAIGN = "nps-survey"
#: the campaign's queue in the simulator; carol (103) works the campaign from the start
CAMPAIGN_QUEUE = "nps-agents"
CAMPAIGN_AGENT = "carol"
ALWAYS_OPEN = {
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "from": "00:00",
    "to": "23:59",
}


async def prepare_campaign(
    store: Store, numbers: Sequence[str], out: Callable[[str], None]
) -> None:
    """Load the NPS survey (once) with a list of demo contacts, start it, and have carol
    work it, so the supervisor page has figures from the first minute."""
    from cti.crm_store.repos.dialer import DialerRepo
    from cti.dialer.campaign_file import read_campaign_file
    from cti.dialer.list_service import ListService
    from cti.dialer.service import CampaignService
    from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR

    campaigns = CampaignService(store)
    if await campaigns.repo.by_name(DEMO_CAMPAIGN) is not None:
        return
    spec, _ = read_campaign_file(DEFAULT_CAMPAIGNS_DIR / f"{DEMO_CAMPAIGN}.yaml")
    data = spec.model_dump(mode="json", by_alias=True)
    # the simulator's outside world, and open round the clock so the demo dials at any hour
    data.update(route="Local/{number}@pstn", windows=[ALWAYS_OPEN], max_attempts=2)
    data["connect"] = {**data["connect"], "queue": CAMPAIGN_QUEUE}
    campaign = (await campaigns.load_data(data, source="demo")).campaign
    listed = "phone\n" + "".join(f"{n}\n" for n in numbers[:150])
    report = await ListService(store, PhoneConfig()).import_text(
        campaign, listed.encode(), list_name="demo-customers"
    )
    await campaigns.change(campaign.id, "start")
    agent = await UserService(store).by_username(CAMPAIGN_AGENT)
    if agent is not None:
        await DialerRepo(store).join(campaign.id, agent.id, agent.extensions[0], utcnow())
    out(f"  campaign {DEMO_CAMPAIGN}: {report.added} numbers to call, {CAMPAIGN_AGENT} working it")


#: the keys the demo's keypad respondents press for each prompt of the NPS script
NPS_KEYS: dict[str, tuple[str, ...]] = {
    "survey/consent": ("1", "1", "1", "2"),
    "survey/enter-0-10": tuple(str(n) for n in range(11)),
    "survey/improve-menu": ("1", "2", "3", "4", "5"),
    "survey/enter-1-5": ("1", "2", "3", "4", "5"),
    "survey/callback": ("1", "2"),
}


def demo_simulator(time_scale: float = 1.0, agi_port: int | None = None) -> PbxSimulator:
    """Operators 101–103 (each also in the ``support`` queue); realistic ring/talk times;
    the campaign queue with carol (103) in it, and a called population answering 30 %. With
    ``agi_port``, the IVR's survey calls take the NPS survey on the keypad, against the
    daemon's FastAGI server there (respondents press keys, pause, mistype, hang up)."""
    agents = {
        "101": AgentProfile(ring_seconds=4.0, talk_seconds=20.0),
        "102": AgentProfile(ring_seconds=5.0, talk_seconds=25.0),
        "103": AgentProfile(ring_seconds=6.0, talk_seconds=15.0),
    }
    agi = None
    if agi_port is not None:
        respondents = RespondentProfile(
            answer=0.85, pause=0.06, wrong=0.05, hangup=0.04, valid=NPS_KEYS, seed=1
        )
        agi = LiveAgi(AgiTarget(port=agi_port, script="nps", args=("", "en")), respondents)
    return PbxSimulator(
        agents=agents,
        queues={"support": ["101", "102", "103"], CAMPAIGN_QUEUE: ["103"]},
        users={"cti": secrets.token_urlsafe(12)},
        time_scale=time_scale,
        campaign=Campaign(population=Population(talk_mean=40.0, seed=1)),
        wrapup=10.0,
        agi=agi,
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now on ``host`` (the demo's FastAGI server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


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
    lines.append(
        f"  campaigns: {url}supervisor (sam); operators join {DEMO_CAMPAIGN} on their page"
    )
    lines.append(f"  reports and call history: {url}manager (sam)")
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
    from cti.dialer import setup as dialer_setup
    from cti.screenpop import setup as screenpop_setup
    from cti.surveys import setup as surveys_setup

    url = f"sqlite+aiosqlite:///{db}"
    numbers = await prepare_store(url, contacts, out)
    agi_port = free_port()
    sim = demo_simulator(time_scale, agi_port)
    await sim.start()
    try:
        username, secret = next(iter(sim.users.items()))
        pbx = PbxConfig(
            host="127.0.0.1", port=sim.port, username=username, secret=SecretStr(secret)
        )
        settings = (base or Settings()).model_copy(
            update={
                "database_url": SecretStr(url),
                "pbx": {"demo": pbx},
                "agi": AgiConfig(enabled=True, port=agi_port),
            }
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

        hooks = [screenpop_setup, dialer_setup, surveys_setup, status_hook(out, status_every)]
        await serve(settings, host, port, extra_setup=hooks, stop=stop, on_ready=ready)
    finally:
        await sim.stop_traffic()
        await sim.stop()
        out("cti demo stopped")
