"""``kill -9`` of a real ``cti serve`` in the middle of a campaign: after the restart no
attempt is sent twice, no number is dialled twice, and every attempt gets an outcome."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from cti.config import PhoneConfig
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.dialer.list_service import ListService
from cti.dialer.service import CampaignService
from cti.pbxsim.calls import Originate
from cti.pbxsim.campaign import Campaign
from cti.pbxsim.population import Population
from cti.pbxsim.server import PbxSimulator
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR
from tests.test_crash import _until

SECRET = "crash-secret"
LEADS = 24
ALWAYS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "23:59"}
#: the dialer gives up on lost calls within seconds here (hours in production)
CONFIG = """
[dialer]
claim_timeout_seconds = 5
dial_margin_seconds = 2
max_call_seconds = 10
"""


def _daemon(db: Path, config: Path, sim: PbxSimulator) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CTI_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "CTI_AMI_URL": f"ami://cti:{SECRET}@127.0.0.1:{sim.port}",
        "CTI_CALLLOG_JOURNAL_DIR": str(db.parent / "journal"),
        "CTI_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "cti", "--config", str(config), "serve", "--port", "0"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _prepare(db: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    try:
        data = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())
        data.update(route="Local/{number}@pstn", windows=[ALWAYS], ring_seconds=15)
        data.update(wrap_up_seconds=1, max_channels=6)
        campaigns = CampaignService(store)
        campaign = (await campaigns.load_data(data, source="test")).campaign
        rows = "phone\n" + "".join(f"+7495765{n:04d}\n" for n in range(1, LEADS + 1))
        await ListService(store, PhoneConfig()).import_text(campaign, rows.encode(), list_name="l")
        users = UserService(store)
        for ext in ("101", "102", "103"):
            user = await users.create(
                UserIn.model_validate(
                    {"username": f"op{ext}", "password": "x" * 12, "extensions": [ext]}
                )
            )
            await DialerRepo(store).join(campaign.id, user.id, ext, utcnow())
        await campaigns.change(campaign.id, "start")
    finally:
        await store.close()


def _attempts(db: Path) -> list[tuple[str, str, str, str | None]]:
    """(action_id, phone, state, outcome) of every attempt."""
    with sqlite3.connect(db, timeout=5) as conn:
        return list(conn.execute("SELECT action_id, phone, state, outcome FROM dial_attempts"))


async def test_kill_9_mid_campaign_sends_nothing_twice_and_loses_no_outcome(
    tmp_path: Path,
) -> None:
    db, config = tmp_path / "cti.db", tmp_path / "cti.toml"
    config.write_text(CONFIG)
    await _prepare(db)
    sim = PbxSimulator(
        users={"cti": SECRET},
        agents=["101", "102", "103"],
        queues={"nps-agents": ["101", "102", "103"]},
        campaign=Campaign(population=Population(talk_mean=40.0, seed=11)),
        wrapup=1.0,
        time_scale=0.05,
    )
    sent: list[Originate] = []
    originate = sim.originate

    def recording(req: Originate) -> object:
        sent.append(req)
        return originate(req)

    sim.originate = recording  # type: ignore[method-assign]
    await sim.start()
    first = second = None
    try:
        first = _daemon(db, config, sim)
        await _until(lambda: len(sent) >= 8, "the dialer places calls", within=60)
        first.send_signal(signal.SIGKILL)  # calls up, attempts claimed and dialling
        first.wait(10)
        in_flight = [a for a in _attempts(db) if a[2] != "ended"]
        second = _daemon(db, config, sim)

        def settled() -> bool:
            rows = _attempts(db)
            tried = {phone for _, phone, _, _ in rows}
            return len(tried) == LEADS and all(state == "ended" for _, _, state, _ in rows)

        await _until(settled, "every lead tried and every attempt ended", within=120)
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
            if proc is not None and proc.stderr is not None:
                proc.stderr.close()
        await sim.stop()
    rows = _attempts(db)
    ids = [req.action_id for req in sent]
    assert len(ids) == len(set(ids)), "an attempt was sent twice"
    known = {action_id for action_id, _, _, _ in rows}
    assert set(ids) <= known, "the PBX got a call no attempt stands for"
    numbers = [req.channel for req in sent]
    assert len(numbers) == len(set(numbers)), "a number was dialled twice"
    assert all(outcome is not None for _, _, _, outcome in rows)
    assert in_flight, "the kill came when nothing was up: the test proved nothing"
