"""The dialer engine on a real store (SQLite and PostgreSQL): what it originates, and how
each call event becomes an attempt's outcome and a lead's next step; restarts and two
dialers on one database.

The PBX here is a recorder of actions, and the call events are the tracker's domain events
(the tracker's own tests prove AMI → events); the simulator test runs the whole chain.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from cti.ami.actions import ActionValue
from cti.ami.events import (
    CallAnswered,
    CallEnded,
    CallInfo,
    OriginateFailed,
    OriginateInfo,
    TalkSegment,
)
from cti.config import PhoneConfig
from cti.crm_store.models.campaigns import DialAttempt, Lead
from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.repos.dialer import DialerRepo, FloorCounts
from cti.crm_store.schemas.campaigns import CampaignOut
from cti.crm_store.store import Store
from cti.dialer.engine import DialerEngine, EngineSettings
from cti.dialer.list_service import ListService
from cti.dialer.service import CampaignService
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR
from tests.calllog.records import call

#: a Monday, 10:00 in Moscow
T0 = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingPbx:
    """A connected PBX that accepts every action and keeps it."""

    name = "lab"

    def __init__(self) -> None:
        self.actions: list[dict[str, ActionValue]] = []

    async def send_action(self, action: dict[str, ActionValue]) -> dict[str, str]:
        self.actions.append(dict(action))
        return {"Response": "Success"}

    def originates(self) -> list[dict[str, ActionValue]]:
        return [a for a in self.actions if a["Action"] == "Originate"]


async def _campaign(store: Store, tmp_path: Path, **changes: object) -> CampaignOut:
    data = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())
    data["connect"] = {"context": "cti-campaign", "exten": "s", "queue": "nps-agents"}
    data.update(changes)
    svc = CampaignService(store)
    campaign = (await svc.load_data(data, source="test")).campaign
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        "phone\n" + "".join(f"+7495765{n:04d}\n" for n in range(1, 6)), encoding="utf-8"
    )
    await ListService(store, PhoneConfig()).import_file(campaign, csv_path)
    return await svc.change(campaign.id, "start")


async def _agents(store: Store, campaign: CampaignOut, *extensions: str) -> None:
    from cti.config import AuthConfig
    from cti.crm_store.schemas.users import UserIn
    from cti.crm_store.services.users import UserService

    users = UserService(store, AuthConfig())
    for ext in extensions:
        user = await users.create(
            UserIn.model_validate(
                {"username": f"agent{ext}", "password": "x" * 12, "extensions": [ext]}
            )
        )
        await DialerRepo(store).join(campaign.id, user.id, ext, T0)


def _engine(store: Store, pbx: RecordingPbx, clock: Clock, name: str = "d1") -> DialerEngine:
    return DialerEngine(store, lambda: {"lab": pbx}, EngineSettings(name=name), clock=clock)


def _info(action_id: str) -> CallInfo:
    return CallInfo(
        pbx="lab",
        call_id=f"call-{action_id}",
        direction="outbound",
        from_number="74951234567",
        from_name=None,
        to_number="74957650001",
        originate=OriginateInfo(action_id=action_id),
    )


async def _attempts(store: Store) -> dict[str, DialAttempt]:
    async with store.sessions() as session:
        return {a.action_id: a for a in await session.scalars(select(DialAttempt))}


async def _lead(store: Store, lead_id: int) -> Lead:
    async with store.sessions() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        return lead


async def test_progressive_dials_one_call_per_free_agent(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store, tmp_path)
    await _agents(store, campaign, "101", "102")
    pbx, clock = RecordingPbx(), Clock()
    engine = _engine(store, pbx, clock)
    await engine.tick()
    sent = pbx.originates()
    assert len(sent) == 2
    first = sent[0]
    assert first["Channel"] == "PJSIP/74957650001@trunk"
    assert (first["Context"], first["Exten"], first["Async"]) == ("cti-campaign", "s", "true")
    assert first["Timeout"] == "25000"  # the campaign's ring time
    assert "<+74951234567>" in str(first["CallerID"])
    variables = list(first["Variable"])  # type: ignore[arg-type]
    assert "CTI_CAMPAIGN=nps-survey" in variables and "CTI_QUEUE=nps-agents" in variables
    assert "CTI_CONNECT_LIMIT=2" in variables
    attempts = await _attempts(store)
    assert {a.state for a in attempts.values()} == {"dialing"}
    assert set(attempts) == {a["ActionID"] for a in sent}
    # two calls ringing for two free agents: nothing more until something changes
    clock.advance(1)
    await engine.tick()
    assert len(pbx.originates()) == 2


async def test_each_outcome_lands_on_its_attempt_and_lead(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store, tmp_path, max_channels=3)
    await _agents(store, campaign, "101", "102", "103")
    pbx, clock = RecordingPbx(), Clock()
    engine = _engine(store, pbx, clock)
    await engine.tick()
    busy, talked, abandoned = (str(a["ActionID"]) for a in pbx.originates())
    # busy: no channel answered; the lead waits for the campaign's busy delay (15 min)
    await engine.handle(OriginateFailed("lab", busy, 5, "PJSIP/x", None))
    # answered by the person, then by agent 102 after 1 s, talk 60 s
    clock.advance(5)
    await engine.handle(CallAnswered(_info(talked), None, None))
    clock.advance(1)
    await engine.handle(CallAnswered(_info(talked), "102", None))
    answered_at = clock.now - timedelta(seconds=1)
    record = call(
        f"call-{talked}",
        direction="outbound",
        originate=OriginateInfo(action_id=talked),
        answered_at=answered_at,
        talks=(TalkSegment("102", clock.now, clock.now + timedelta(seconds=60)),),
    )
    clock.advance(60)
    await engine.handle(CallEnded(_info(talked), record, None))
    # answered, no agent within 2 s: abandoned
    await engine.handle(CallAnswered(_info(abandoned), None, None))
    clock.advance(4)
    lost = call(
        f"call-{abandoned}",
        direction="outbound",
        originate=OriginateInfo(action_id=abandoned),
        answered_at=clock.now - timedelta(seconds=4),
        agent=None,
        talks=(),
    )
    await engine.handle(CallEnded(_info(abandoned), lost, None))
    attempts = await _attempts(store)
    assert attempts[busy].outcome == "busy" and not attempts[busy].live
    ok = attempts[talked]
    assert (ok.outcome, ok.live, ok.agent, ok.talk_seconds) == ("answered", True, "102", 60.0)
    assert ok.ring_seconds == 5.0
    assert (attempts[abandoned].outcome, attempts[abandoned].live) == ("abandoned", True)
    lead_busy = await _lead(store, attempts[busy].lead_id)
    assert lead_busy.state == "ready" and lead_busy.attempts == 1
    assert lead_busy.next_at is not None
    assert lead_busy.next_at.replace(tzinfo=UTC) == T0 + timedelta(minutes=15)
    assert (await _lead(store, ok.lead_id)).state == "done"
    dropped = await _lead(store, attempts[abandoned].lead_id)
    assert dropped.next_at is not None and dropped.abandoned_at is not None
    assert dropped.next_at.replace(tzinfo=UTC) >= clock.now + timedelta(hours=71)
    # the agent who talked is in wrap-up (30 s), the others free
    agents = {a.extension: a for a in await DialerRepo(store).agents(campaign.id)}
    assert agents["102"].state == "wrap-up"
    # a replayed end changes nothing
    await engine.handle(CallEnded(_info(talked), replace(record, talks=()), None))
    assert (await _attempts(store))[talked].outcome == "answered"
    # the compliance windows: now, and a day later (out of the 24 h, still in the 30 days)
    running = await CampaignService(store).repo.get(campaign.id)
    now = await DialerRepo(store).figures(running, clock.now)
    assert (now.answered_24h, now.abandoned_24h, now.abandon_percent_24h) == (2, 1, 50.0)
    later = await DialerRepo(store).figures(running, clock.now + timedelta(hours=25))
    assert (later.answered_24h, later.abandon_percent_24h) == (0, None)
    assert later.abandon_percent_30d == 50.0
    before = await DialerRepo(store).figures(running, T0 - timedelta(minutes=1))
    assert (before.dialled_24h, before.abandon_percent_30d) == (0, None)


async def test_a_restart_never_resends_a_claimed_attempt(store: Store, tmp_path: Path) -> None:
    """kill -9 between the claim and the Originate: the attempt is known, and failed."""
    campaign = await _campaign(store, tmp_path)
    await _agents(store, campaign, "101")
    clock = Clock()
    claimed = await DialerRepo(store).pace_and_claim(
        campaign.id,
        decide=lambda floor: 1,
        window=lambda lead: None,
        dialer="crashed",
        pbx="lab",
        now=clock.now,
        abandon_hold=None,
    )
    assert len(claimed) == 1
    pbx = RecordingPbx()
    engine = _engine(store, pbx, clock, name="restarted")  # the new process
    clock.advance(61)
    await engine.tick()
    attempts = await _attempts(store)
    lost = attempts[claimed[0].action_id]
    assert (lost.state, lost.outcome) == ("ended", "failed")
    assert claimed[0].action_id not in {a["ActionID"] for a in pbx.originates()}
    lead = await _lead(store, claimed[0].lead_id)
    assert lead.state == "ready" and lead.attempts == 1 and lead.next_at is not None


async def test_a_silent_pbx_fails_the_attempt_after_its_ring_time(
    store: Store, tmp_path: Path
) -> None:
    campaign = await _campaign(store, tmp_path)
    await _agents(store, campaign, "101")
    pbx, clock = RecordingPbx(), Clock()
    engine = _engine(store, pbx, clock)
    await engine.tick()
    (sent,) = pbx.originates()
    clock.advance(25 + 31)  # ring time + the margin
    await engine.tick()
    assert (await _attempts(store))[str(sent["ActionID"])].outcome == "failed"


async def test_two_dialers_pace_the_free_agents_once(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store, tmp_path)
    await _agents(store, campaign, "101", "102")
    clock = Clock()
    one, two = RecordingPbx(), RecordingPbx()
    await asyncio.gather(
        _engine(store, one, clock, "d1").tick(), _engine(store, two, clock, "d2").tick()
    )
    sent = one.originates() + two.originates()
    assert len(sent) == 2  # two free agents: two calls between the two dialers
    attempts = await _attempts(store)
    assert len({a.lead_id for a in attempts.values()}) == 2


async def test_closed_windows_and_paused_campaigns_dial_nothing(
    store: Store, tmp_path: Path
) -> None:
    campaign = await _campaign(store, tmp_path)
    await _agents(store, campaign, "101")
    pbx, clock = RecordingPbx(), Clock()
    clock.now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 05:00 in Moscow
    engine = _engine(store, pbx, clock)
    await engine.tick()
    assert pbx.originates() == []
    async with store.sessions() as session:
        lead = await session.scalar(select(Lead).order_by(Lead.id).limit(1))
        assert lead is not None and lead.next_at is not None
        assert lead.next_at.replace(tzinfo=UTC) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    await CampaignService(store).change(campaign.id, "pause")
    clock.now = T0
    await engine.tick()
    assert pbx.originates() == []


async def test_preview_holds_a_lead_for_the_operator_who_dials_or_skips(
    store: Store, tmp_path: Path
) -> None:
    from cti.config import DialConfig
    from cti.dialer.agent_service import AgentService
    from cti.errors import NotFoundError

    always = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00",
              "to": "23:59"}  # fmt: skip
    campaign = await _campaign(
        store, tmp_path, mode="preview", windows=[always], connect={"context": "c", "exten": "s"}
    )
    await _agents(store, campaign, "101")
    (agent,) = await DialerRepo(store).agents(campaign.id)
    pbx = RecordingPbx()
    svc = AgentService(
        store,
        pbxes=lambda: {"lab": pbx},
        dial_settings={"lab": DialConfig(agent_channel="PJSIP/{ext}", context="outbound")},
    )
    # an automatic dialer never places preview calls
    await _engine(store, pbx, Clock()).tick()
    assert pbx.originates() == []
    shown = await svc.preview(agent.user_id)
    assert shown.phone.startswith("+7495765") and shown.attempt == 1
    (mine,) = await DialerRepo(store).agents(campaign.id)
    assert (mine.state, mine.attempt_id) == ("ringing", shown.attempt_id)
    await svc.preview_dial(agent.user_id, shown.attempt_id)
    (sent,) = pbx.originates()
    assert sent["Channel"] == "PJSIP/101"  # the operator's phone first
    assert (sent["Context"], sent["Exten"]) == ("outbound", shown.phone[1:])
    assert "CTI_CLICK2DIAL=101" in list(sent["Variable"])  # type: ignore[arg-type]
    with pytest.raises(Exception, match="already dialing"):
        await svc.preview_skip(agent.user_id, shown.attempt_id)
    second = await svc.preview(agent.user_id)
    assert second.phone != shown.phone
    await svc.preview_skip(agent.user_id, second.attempt_id)
    skipped = await _attempts(store)
    assert {a.outcome for a in skipped.values()} == {None, "skipped"}
    lead = await _lead(store, next(a.lead_id for a in skipped.values() if a.outcome))
    assert lead.state == "ready" and lead.next_at is not None
    for _ in range(3):
        await svc.preview_skip(agent.user_id, (await svc.preview(agent.user_id)).attempt_id)
    with pytest.raises(NotFoundError, match="no contact to call now"):
        await svc.preview(agent.user_id)


async def test_an_answered_call_whose_end_was_lost_is_closed_after_hours(
    store: Store, tmp_path: Path
) -> None:
    """The daemon restarted while a campaign call was up: no CallEnded will come."""
    campaign = await _campaign(store, tmp_path)
    await _agents(store, campaign, "101", "102")
    pbx, clock = RecordingPbx(), Clock()
    engine = _engine(store, pbx, clock)
    await engine.tick()
    talked, waiting = (str(a["ActionID"]) for a in pbx.originates())
    await engine.handle(CallAnswered(_info(talked), None, None))
    await engine.handle(CallAnswered(_info(talked), "101", None))
    await engine.handle(CallAnswered(_info(waiting), None, None))
    restarted = _engine(store, pbx, clock, name="restarted")
    clock.advance(4 * 3600 + 1)
    await restarted.tick()
    attempts = await _attempts(store)
    assert (attempts[talked].outcome, attempts[waiting].outcome) == ("answered", "abandoned")


async def test_the_floor_knows_how_long_each_call_has_rung(store: Store, tmp_path: Path) -> None:
    """Pacing counts a call ringing past every answer as no line: the floor carries each
    unanswered call's age since its Originate (0 while only claimed)."""
    campaign = await _campaign(store, tmp_path)
    await _agents(store, campaign, "101")
    pbx, clock = RecordingPbx(), Clock()
    await _engine(store, pbx, clock).tick()
    assert len(pbx.originates()) == 1
    clock.advance(5)
    seen: list[FloorCounts] = []

    def decide(floor: FloorCounts) -> int:
        seen.append(floor)
        return 1

    repo = DialerRepo(store)
    await repo.pace_and_claim(
        campaign.id, decide=decide, window=lambda lead: None, dialer="other", pbx="lab",
        now=clock.now, abandon_hold=None,
    )  # fmt: skip
    assert seen[0].dialing == 1 and seen[0].dialing_ages == pytest.approx((5.0,))
    await repo.pace_and_claim(
        campaign.id, decide=decide, window=lambda lead: None, dialer="other", pbx="lab",
        now=clock.now, abandon_hold=None,
    )  # fmt: skip
    assert sorted(seen[1].dialing_ages) == pytest.approx([0.0, 5.0])  # + the one claimed


async def test_two_dialers_step_the_ratio_once_a_minute_together(
    store: Store, tmp_path: Path
) -> None:
    """The time of the last step is the campaign's (in the store), not each dialer's."""
    campaign = await _campaign(store, tmp_path)
    first, second = CampaignRepo(store), CampaignRepo(store)  # as two processes would
    every = timedelta(minutes=1)

    def up(ratio: float) -> float:
        return ratio + 0.5

    assert await first.step_ratio(campaign.id, T0, every, up) is None  # starts the clock
    assert await second.step_ratio(campaign.id, T0 + timedelta(seconds=30), every, up) is None
    assert await second.step_ratio(campaign.id, T0 + every, every, up) == (1.5, 2.0)
    assert await first.step_ratio(campaign.id, T0 + every, every, up) is None  # already done
    assert await first.step_ratio(campaign.id, T0 + 2 * every, every, up) == (2.0, 2.5)
    assert (await CampaignService(store).repo.get(campaign.id)).pacing_ratio == 2.5
