"""Agent sessions end to end: queue member and device events (the consumer) and the
operator page's own moves (the dialer's agent states) become intervals, and the agents
report reads logged-in, pause by reason, wrap-up, occupancy from them; a recorded Asterisk
22 trace of queue member actions gives the times its events show."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from cti.ami.events import DeviceStateChanged, QueueMemberChanged
from cti.ami.parser import parse_bytes
from cti.ami.tracker import CallTracker
from cti.calllog.service import CallLog
from cti.config import ReportsConfig
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.repos.sessions import SessionRepo
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.dialer.service import CampaignService
from cti.reports.calendar import Period
from cti.reports.consumer import SessionConsumer
from cti.reports.service import ReportService
from tests.calllog.records import call
from tests.web.conftest import FAST_HASHER
from tests.web.permission_cases import campaign_definition

T = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
DAY = Period(date(2026, 5, 4), date(2026, 5, 4), UTC_ZONE)
LAB = Path(__file__).resolve().parents[1] / "traces" / "asterisk22" / "campaign"


def member(
    change: str,
    at: float,
    *,
    queue: str = "sales",
    paused: bool = False,
    reason: str | None = None,
    ext: str = "101",
) -> QueueMemberChanged:
    return QueueMemberChanged(
        "lab",
        queue,
        f"PJSIP/{ext}",
        ext,
        change,
        paused,
        reason,
        1,
        False,
        T + timedelta(minutes=at),
    )


def device(state: str, at: float, ext: str = "101") -> DeviceStateChanged:
    return DeviceStateChanged("lab", f"PJSIP/{ext}", ext, state, T + timedelta(minutes=at))


async def test_queue_events_give_logged_in_pause_and_wrap_up_time(store: Store) -> None:
    consumer = SessionConsumer(store, wrap_up_seconds=60)
    events = [
        member("added", 0),
        member("added", 10, queue="support"),  # a second queue: logged in once, not twice
        member("paused", 30, paused=True, reason="lunch"),
        member("paused", 30, queue="support", paused=True, reason="lunch"),
        member("unpaused", 60),
        member("unpaused", 60, queue="support"),
        device("RINGING", 70),
        device("INUSE", 70.5),
        device("NOT_INUSE", 75),  # wrap-up 75:00 – 76:00
        member("paused", 90, paused=True, reason="training"),
        member("unpaused", 100),
        device("INUSE", 110),
        device("NOT_INUSE", 111),
        device("RINGING", 111.5),  # cuts that wrap-up to 30 s
        member("removed", 120),
        member("removed", 125, queue="support"),
    ]
    for event in events:
        consumer.on_event(event)
    for event in events:
        await consumer.handle(event)
    await store_call(store, answered=T + timedelta(minutes=70.5), ended=T + timedelta(minutes=75))
    report = await ReportService(store, ReportsConfig()).agents(DAY, T + timedelta(hours=5))
    [fig] = report.agents
    assert fig.logged_in_seconds == 125 * 60
    assert fig.pauses == {"lunch": 30 * 60.0, "training": 10 * 60.0}
    assert fig.pause_seconds == 40 * 60
    assert fig.wrap_up_seconds == 60 + 30
    talk = 4.5 * 60
    assert fig.talk_seconds == talk
    handle = talk + 90
    assert fig.occupancy == round(handle / (125 * 60 - 40 * 60), 4)
    assert fig.utilisation == round(handle / (125 * 60), 4)
    assert fig.calls_per_hour == round(1 / (125 / 60), 3)
    # nothing is left open
    assert all(
        r.ended_at is not None for r in await SessionRepo(store).overlapping(DAY.since, DAY.until)
    )


async def store_call(store: Store, *, answered: datetime, ended: datetime) -> None:
    from cti.ami.events import AgentRing, TalkSegment

    record = call(
        "s-1",
        started_at=answered - timedelta(seconds=30),
        answered_at=answered,
        ended_at=ended,
        rings=(AgentRing("101", answered - timedelta(seconds=30), answered, True),),
        talks=(TalkSegment("101", answered, ended, None),),
    )
    log = CallLog(store)
    try:
        await log.record_many([record])
    finally:
        log.close()


async def test_an_open_login_runs_until_now_within_the_period(store: Store) -> None:
    consumer = SessionConsumer(store)
    await consumer.handle(member("added", 60))
    now = T + timedelta(hours=3)
    [fig] = (await ReportService(store, ReportsConfig()).agents(DAY, now)).agents
    assert fig.logged_in_seconds == 2 * 3600
    # a later period's report sees it running to the end of its last day
    [day] = (await ReportService(store, ReportsConfig()).agents(DAY, T + timedelta(days=3))).agents
    assert day.logged_in_seconds == 14 * 3600  # 10:00 to midnight


async def test_the_pages_own_moves_are_sessions_too(store: Store) -> None:
    users = UserService(store, hasher=FAST_HASHER)
    olga = await users.create(
        UserIn(username="olga", password=SecretStr("pw-123456789"), extensions=["101"])
    )
    campaign = (await CampaignService(store).load_data(campaign_definition(), source="t")).campaign
    repo = DialerRepo(store)
    await repo.join(campaign.id, olga.id, "101", T)
    minute = timedelta(minutes=1)
    await repo.set_agent_state(
        olga.id, state="paused", reason="lunch", since=T + 10 * minute, wrap_until=None
    )
    await repo.set_agent_state(
        olga.id, state="free", reason=None, since=T + 40 * minute, wrap_until=None
    )
    await repo.set_agent_state(
        olga.id, state="on-call", reason=None, since=T + 50 * minute, wrap_until=None
    )
    await repo.set_agent_state(
        olga.id, state="wrap-up", reason=None, since=T + 55 * minute, wrap_until=None
    )
    await repo.set_agent_state(
        olga.id, state="free", reason=None, since=T + 57 * minute, wrap_until=None
    )
    await repo.leave(olga.id, T + 60 * minute)
    # the same pause also reported by the PBX: counted once
    consumer = SessionConsumer(store)
    await consumer.handle(member("paused", 10, paused=True, reason="lunch"))
    await consumer.handle(member("unpaused", 40))
    await consumer.handle(member("removed", 60))
    [fig] = (await ReportService(store, ReportsConfig()).agents(DAY, T + timedelta(hours=2))).agents
    assert fig.agent == "101" and fig.user == "olga"
    assert fig.logged_in_seconds == 3600
    assert fig.pauses == {"lunch": 1800.0}
    assert fig.wrap_up_seconds == 120


async def test_a_recorded_queue_member_trace_gives_its_times(store: Store) -> None:
    """queue-member-actions (Asterisk 22): 108 added to ``campaign``, paused for lunch,
    unpaused, removed: the report's times are the spans between those events."""
    tracker = CallTracker("lab")
    events = [
        e
        for msg in parse_bytes((LAB / "queue-member-actions.ami").read_bytes())
        for e in tracker.feed(msg)
        if isinstance(e, QueueMemberChanged | DeviceStateChanged)
    ]
    consumer = SessionConsumer(store)
    for event in events:
        await consumer.handle(event)
    members = [e for e in events if isinstance(e, QueueMemberChanged) and e.extension == "108"]
    at = {m.change: m.ts for m in members}
    assert set(at) >= {"added", "paused", "unpaused", "removed"}
    start = at["added"]
    assert start is not None
    day = Period(start.date(), start.date(), UTC_ZONE)
    report = await ReportService(store, ReportsConfig()).agents(day, start + timedelta(hours=1))
    fig = next(a for a in report.agents if a.agent == "108")
    assert fig.logged_in_seconds == round((at["removed"] - at["added"]).total_seconds(), 3)
    assert fig.pauses == {"lunch": round((at["unpaused"] - at["paused"]).total_seconds(), 3)}
    assert 1.0 <= fig.logged_in_seconds <= 3.0  # 0.5 s apart, as recorded
