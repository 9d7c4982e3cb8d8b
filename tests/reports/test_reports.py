"""Each report over a generated call set, on both backends, against figures computed here
in plain Python from the same records; the totals agree across reports; local days and
hours follow the time zone (a DST change inside the period)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from cti.ami.events import CallRecord
from cti.calllog.service import CallLog
from cti.config import ReportsConfig
from cti.crm_store.models.tasks import Task
from cti.crm_store.repos import reports as reports_repo
from cti.crm_store.repos.reports import ReportRepo
from cti.crm_store.store import Store
from cti.reports.calendar import Period
from cti.reports.service import ReportService
from tests.reports.callset import START, callset

SEED, COUNT = 16, 400
MOSCOW, PARIS = ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Paris")
NOW = START + timedelta(days=10)


@pytest.fixture
async def calls(store: Store) -> list[CallRecord]:
    records = callset(SEED, COUNT)
    log = CallLog(store)
    try:
        await log.record_many(records)
    finally:
        log.close()
    return records


def _in(moment: datetime | None, p: Period) -> bool:
    return moment is not None and p.since <= moment < p.until


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 1e-3


# a period that starts and ends inside the generated days (calls fall outside it too)
P = Period(date(2026, 3, 28), date(2026, 3, 29), PARIS)


async def test_queues_match_the_records(store: Store, calls: list[CallRecord]) -> None:
    cfg = ReportsConfig(short_abandon_seconds=5, service_level_seconds=20)
    got = await ReportService(store, cfg).queues(P)
    mine = [c for c in calls if c.direction == "inbound" and c.queue and _in(c.started_at, P)]
    assert {q.queue for q in got.queues} == {c.queue for c in mine}
    for q in got.queues:
        these = [c for c in mine if c.queue == q.queue]
        wait = {id(c): c.queue_wait_seconds or 0.0 for c in these}
        answered = [c for c in these if c.status == "answered"]
        abandoned = [c for c in these if c.status == "abandoned"]
        short = [c for c in abandoned if wait[id(c)] <= 5]
        within = [c for c in answered if wait[id(c)] <= 20]
        assert (q.offered, q.answered, q.abandoned) == (len(these), len(answered), len(abandoned))
        assert q.short_abandons == len(short)
        assert q.timed_out == len([c for c in these if c.status == "missed"])
        assert q.offered == q.answered + q.abandoned + q.timed_out
        assert _close(q.service_level, round(len(within) / (len(these) - len(short)), 4))
        asa = sum(wait[id(c)] for c in answered) / len(answered)
        assert _close(q.average_speed_of_answer, round(asa, 3))
        assert _close(q.longest_wait, max(wait.values()))
        long_ab = [c for c in abandoned if wait[id(c)] > 5]
        assert _close(
            q.average_abandon_seconds,
            round(sum(wait[id(c)] for c in long_ab) / len(long_ab), 3) if long_ab else None,
        )
        assert _close(q.abandon_rate, round(len(long_ab) / (len(these) - len(short)), 4))
        ivr = [c.ivr_seconds for c in these if c.ivr_seconds is not None]
        assert _close(q.average_ivr_seconds, round(sum(ivr) / len(ivr), 3))
    # every variant names its denominator
    for variant, denominator in (
        ("offered", lambda t: t.offered),
        ("answered", lambda t: t.answered),
    ):
        other = await ReportService(
            store, cfg.model_copy(update={"service_level_variant": variant})
        ).queues(P)
        t = other.total
        assert other.service_level_variant == variant
        assert _close(t.service_level, round(t.answered_within / denominator(t), 4))


async def test_call_totals_agree_across_reports(store: Store, calls: list[CallRecord]) -> None:
    service = ReportService(store, ReportsConfig())
    queues, heat = await service.queues(P), await service.heatmap(P)
    inbound = [c for c in calls if c.direction == "inbound" and _in(c.started_at, P)]
    assert heat.total == len(inbound) == sum(queues.calls["inbound"].values())
    # every generated inbound call is in one queue: counted once there
    assert queues.total.offered == len(inbound)
    outbound = [c for c in calls if c.direction == "outbound" and _in(c.started_at, P)]
    assert sum(queues.calls["outbound"].values()) == len(outbound)


@pytest.mark.parametrize("tz", ["Europe/Paris", "Europe/Moscow", "Asia/Kolkata", "UTC"])
async def test_heatmap_places_calls_on_local_weekdays_and_hours(
    store: Store, calls: list[CallRecord], tz: str
) -> None:
    zone = ZoneInfo(tz)
    period = Period(date(2026, 3, 28), date(2026, 3, 30), zone)
    got = await ReportService(store, ReportsConfig()).heatmap(period)
    want = [[0] * 24 for _ in range(7)]
    for c in calls:
        if c.direction == "inbound" and _in(c.started_at, period):
            assert c.started_at is not None
            local = c.started_at.astimezone(zone)
            want[local.weekday()][local.hour] += 1
    assert got.cells == want
    assert got.total == sum(map(sum, want)) > 0


async def test_agents_match_the_records(store: Store, calls: list[CallRecord]) -> None:
    got = await ReportService(store, ReportsConfig()).agents(P, NOW)
    offered: dict[tuple[str, date], int] = defaultdict(int)
    answered: dict[tuple[str, date], int] = defaultdict(int)
    ring: dict[str, float] = defaultdict(float)
    talk: dict[str, float] = defaultdict(float)
    hold: dict[str, float] = defaultdict(float)
    handled: dict[str, int] = defaultdict(int)
    for c in calls:
        for r in c.rings:
            if _in(r.started_at, P):
                assert r.started_at is not None
                day = r.started_at.astimezone(PARIS).date()
                offered[(r.agent, day)] += 1
                answered[(r.agent, day)] += int(r.answered)
                ring[r.agent] += r.seconds or 0.0
        for t in c.talks:
            if _in(t.started_at, P):
                talk[t.agent] += (t.seconds or 0.0) - (t.hold_seconds or 0.0)
                hold[t.agent] += t.hold_seconds or 0.0
                handled[t.agent] += 1
    by_agent = {a.agent: a for a in got.agents}
    assert set(by_agent) == {a for a, _ in offered} | set(handled)
    for agent, fig in by_agent.items():
        o = sum(v for (a, _), v in offered.items() if a == agent)
        n = sum(v for (a, _), v in answered.items() if a == agent)
        assert (fig.offered, fig.answered, fig.missed) == (o, n, o - n)
        assert _close(fig.ring_seconds, round(ring[agent], 3))
        assert _close(fig.talk_seconds, round(talk[agent], 3))
        assert _close(fig.hold_seconds, round(hold[agent], 3))
        assert fig.handled == handled[agent]
        assert fig.logged_in_seconds == 0 and fig.occupancy is None  # no sessions here
    for fig in got.days:
        assert fig.day is not None
        assert fig.offered == offered.get((fig.agent, fig.day), 0)
    # per-agent rings are their own measure: a call ringing two agents is offered to both
    rung_calls = {c.linkedid for c in calls for r in c.rings if _in(r.started_at, P)}
    assert sum(f.offered for f in got.agents) >= len(rung_calls)


async def test_an_operator_sees_only_their_own_agents(
    store: Store, calls: list[CallRecord]
) -> None:
    got = await ReportService(store, ReportsConfig()).agents(P, NOW, extensions=["102"])
    assert [a.agent for a in got.agents] == ["102"]
    assert {d.agent for d in got.days} == {"102"}


@pytest.mark.parametrize("few", [0, 10_000], ids=["walk-the-misses", "read-the-open-callbacks"])
async def test_callbacks_are_the_misses_not_called_back(
    store: Store, calls: list[CallRecord], few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Either way the worklist is read (many open callbacks: the period's misses in time
    order; few: their numbers' misses), it is the same list."""
    monkeypatch.setattr(ReportRepo, "few_open_callbacks", few)
    monkeypatch.setattr(reports_repo, "NUMBERS_PER_READ", 2)  # several reads of numbers
    period = Period(date(2026, 3, 27), date(2026, 3, 31), MOSCOW)
    # one number's callback task is closed by hand: not on the worklist any more
    closed = "+74951230001"
    async with store.sessions() as session, session.begin():
        await session.execute(update(Task).where(Task.phone == closed).values(done=True))
    got = await ReportService(store, ReportsConfig()).callbacks(period, NOW)
    answered = [(c.external_number, c.started_at) for c in calls if c.status == "answered"]
    want: dict[str, list[datetime]] = defaultdict(list)
    for c in calls:
        if c.direction != "inbound" or c.status not in {"missed", "abandoned"}:
            continue
        if not _in(c.started_at, period) or c.from_number == closed:
            continue
        assert c.started_at is not None
        if any(n == c.from_number and t is not None and t > c.started_at for n, t in answered):
            continue
        want[str(c.from_number)].append(c.started_at)
    assert {i.number: i.misses for i in got.items} == {n: len(t) for n, t in want.items()}
    assert want, "the call set has misses not called back"
    for item in got.items:
        assert item.first_missed_at == min(want[item.number])
        assert item.age_seconds == (NOW - min(want[item.number])).total_seconds()
    ages = [i.age_seconds for i in got.items]
    assert ages == sorted(ages, reverse=True)  # oldest first
    # a shorter list is the head of the whole one (the misses are walked in time order)
    for limit in (1, 3, len(got.items) - 1):
        head = await ReportService(store, ReportsConfig()).callbacks(period, NOW, limit=limit)
        assert head.items == got.items[:limit]


async def test_a_period_is_local_days(store: Store, calls: list[CallRecord]) -> None:
    """The same UTC calls fall on other days in Moscow than in Paris: each report's period
    is the zone's midnights (29 March in Paris is 23 hours long)."""
    paris = Period(date(2026, 3, 29), date(2026, 3, 29), PARIS)
    moscow = Period(date(2026, 3, 29), date(2026, 3, 29), MOSCOW)
    assert (paris.until - paris.since) == timedelta(hours=23)
    assert paris.since == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert moscow.since == datetime(2026, 3, 28, 21, 0, tzinfo=UTC)
    service = ReportService(store, ReportsConfig())
    for p in (paris, moscow):
        heat = await service.heatmap(p)
        assert heat.total == len(
            [c for c in calls if c.direction == "inbound" and _in(c.started_at, p)]
        )


async def test_agent_totals_are_the_same_with_or_without_days(
    store: Store, calls: list[CallRecord]
) -> None:
    service = ReportService(store, ReportsConfig())
    with_days = await service.agents(P, NOW)
    without = await service.agents(P, NOW, by_day=False)
    assert without.days == [] and with_days.days
    assert [a.model_dump() for a in without.agents] == [a.model_dump() for a in with_days.agents]
