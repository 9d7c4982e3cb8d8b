"""A whole campaign through the whole daemon: the dialer originates over AMI to the PBX
simulator, the tracker follows the calls, and every attempt gets the outcome the
simulator's called population drew for its number; operators join over REST (QueueAdd)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from cti.config import PbxConfig, PhoneConfig, Settings
from cti.crm_store.models.campaigns import DialAttempt
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.dialer.list_service import ListService
from cti.dialer.service import CampaignService
from cti.pbxsim.calls import AgentProfile
from cti.pbxsim.campaign import Campaign
from cti.pbxsim.population import Dialled, Population
from cti.pbxsim.server import PbxSimulator
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR
from cti.web.keys import AMI
from tests.web.conftest import FAST_HASHER, PASSWORD

ALWAYS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "23:59"}
POPULATION = Population(
    outcomes={"answer": 0.5, "busy": 0.2, "no-answer": 0.1, "congestion": 0.1, "invalid": 0.1},
    talk_mean=20.0,
    seed=3,
)
NUMBERS = [f"+7495765{n:04d}" for n in range(1, 13)]


@pytest.fixture
async def world(
    sqlite_store: Store,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], PbxSimulator]]:
    sim = PbxSimulator(
        agents={"101": AgentProfile(), "102": AgentProfile()},
        queues={"nps-agents": []},
        campaign=Campaign(population=POPULATION),
        wrapup=2.0,
        time_scale=0.05,
    )
    await sim.start()
    settings = Settings(
        pbx={
            "lab": PbxConfig(
                host="127.0.0.1", port=sim.port, username="cti", secret=SecretStr("cti-secret")
            )
        }
    )
    app = build_app(settings, store=sqlite_store, extra_setup=load_hooks(SETUP_HOOKS))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        async with asyncio.timeout(10):
            await app[AMI]["lab"].wait_connected()
        yield client, sim
    finally:
        await client.close()
        await sim.stop()


@pytest.mark.parametrize("mode", ["progressive", "predictive"])
async def test_every_attempt_gets_the_outcome_the_population_drew(
    world: tuple[TestClient[web.Request, web.Application], PbxSimulator],
    sqlite_store: Store,
    tmp_path: Path,
    mode: str,
) -> None:
    client, _sim = world
    store = sqlite_store
    data = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())
    data.update(windows=[ALWAYS], max_attempts=1, ring_seconds=15, wrap_up_seconds=2, mode=mode)
    data["route"] = "Local/{number}@pstn"  # the route the lab recordings prove
    svc = CampaignService(store)
    campaign = (await svc.load_data(data, source="test")).campaign
    lst = tmp_path / "leads.csv"
    lst.write_text("phone\n" + "\n".join(NUMBERS) + "\n")
    await ListService(store, PhoneConfig()).import_file(campaign, lst)
    users = UserService(store, hasher=FAST_HASHER)
    for ext in ("101", "102"):
        user = await users.create(
            UserIn(username=f"op{ext}", password=SecretStr(PASSWORD), extensions=[ext])
        )
        token = (await users.issue_token(user.id)).token
        joined = await client.post(
            "/api/agent/join",
            json={"campaign_id": campaign.id},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert joined.status == 200, await joined.text()
    await svc.change(campaign.id, "start")

    async def all_ended() -> list[DialAttempt]:
        async with store.sessions() as session:
            rows = list(await session.scalars(select(DialAttempt)))
        return rows if len(rows) == len(NUMBERS) and all(r.state == "ended" for r in rows) else []

    attempts: list[DialAttempt] = []
    for _ in range(180):  # 90 s at most
        if attempts := await all_ended():
            break
        await asyncio.sleep(0.5)
    assert attempts, "the campaign did not finish its list"

    expected = {"answer": {"answered", "abandoned"}, "busy": {"busy"}, "no-answer": {"no-answer"},
                "congestion": {"congestion"}, "invalid": {"invalid"}}  # fmt: skip
    draws = Dialled(POPULATION)
    for attempt in attempts:
        callee = draws.draw(attempt.phone[1:])
        drawn = callee.outcome
        if drawn == "answer" and callee.ring >= 15:  # picks up after the ring time: too late
            drawn = "no-answer"
        assert attempt.outcome in expected[drawn], (attempt.phone, drawn, attempt.outcome)
        if attempt.outcome == "answered":
            assert attempt.live and attempt.agent in ("101", "102")
    assert len({a.phone for a in attempts}) == len(NUMBERS)  # each number dialled once
    answered = [a for a in attempts if a.outcome == "answered"]
    assert answered, "no call reached an agent"
    # the agents are back (free or wrapping up), none stuck on a call
    agents = await DialerRepo(store).agents(campaign.id)
    assert {a.state for a in agents} <= {"free", "wrap-up"}


async def test_preview_rings_the_operator_then_the_number(
    world: tuple[TestClient[web.Request, web.Application], PbxSimulator],
    sqlite_store: Store,
    tmp_path: Path,
) -> None:
    client, _sim = world
    store = sqlite_store
    data = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())
    data.update(windows=[ALWAYS], mode="preview", route="Local/{number}@pstn")
    svc = CampaignService(store)
    campaign = (await svc.load_data(data, source="test")).campaign
    lst = tmp_path / "leads.csv"
    lst.write_text("phone\n+74957650001\n")
    await ListService(store, PhoneConfig()).import_file(campaign, lst)
    await svc.change(campaign.id, "start")
    user = await UserService(store, hasher=FAST_HASHER).create(
        UserIn(username="op101", password=SecretStr(PASSWORD), extensions=["101"])
    )
    token = (await UserService(store, hasher=FAST_HASHER).issue_token(user.id)).token
    auth = {"Authorization": f"Bearer {token}"}
    joined = await client.post("/api/agent/join", json={"campaign_id": campaign.id}, headers=auth)
    assert joined.status == 200, await joined.text()
    shown = await client.post("/api/agent/preview", headers=auth)
    preview = await shown.json()
    assert shown.status == 200 and preview["phone"] == "+74957650001", preview
    dialled = await client.post(f"/api/agent/preview/{preview['attempt_id']}/dial", headers=auth)
    assert dialled.status == 200, await dialled.text()
    ended: DialAttempt | None = None
    for _ in range(120):
        async with store.sessions() as session:
            ended = await session.get(DialAttempt, preview["attempt_id"])
        if ended is not None and ended.state == "ended":
            break
        await asyncio.sleep(0.5)
    assert ended is not None and ended.state == "ended", "the preview call got no outcome"
    # the simulator's outside number answers a click-to-dial: the operator talked
    assert (ended.agent, ended.outcome, ended.live) == ("101", "answered", True)
