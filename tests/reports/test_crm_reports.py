"""The campaigns and SLA reports (with deals and overdue tasks) over generated rows, on
both backends, against counts made here; business hours move the SLA due times."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from cti.config import CrmConfig, ReportsConfig
from cti.crm_store.models import Deal, Task, Ticket
from cti.crm_store.models.campaigns import CampaignList, DialAttempt, Lead
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.dialer.service import CampaignService
from cti.reports.calendar import Period
from cti.reports.service import ReportService
from tests.web.conftest import FAST_HASHER
from tests.web.permission_cases import campaign_definition

UTC_ZONE = ZoneInfo("UTC")
P = Period(date(2026, 6, 1), date(2026, 6, 30), UTC_ZONE)
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
OUTCOMES = ("answered", "abandoned", "busy", "no-answer", "machine", "skipped")


async def _attempts(store: Store, seed: int) -> tuple[int, list[DialAttempt]]:
    campaign = (await CampaignService(store).load_data(campaign_definition(), source="t")).campaign
    rng = random.Random(seed)
    made: list[DialAttempt] = []
    async with store.sessions() as session, session.begin():
        the_list = CampaignList(campaign_id=campaign.id, name="l", created_at=NOW, updated_at=NOW)
        session.add(the_list)
        await session.flush()
        for n in range(300):
            lead = Lead(
                campaign_id=campaign.id,
                list_id=the_list.id,
                phone=f"+7423{n:07d}",
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(lead)
            await session.flush()
            outcome = rng.choice(OUTCOMES)
            ended = P.since + timedelta(seconds=rng.uniform(-5 * 86400, 32 * 86400))
            attempt = DialAttempt(
                campaign_id=campaign.id,
                version=1,
                lead_id=lead.id,
                seq=1,
                action_id=f"a-{seed}-{n}",
                phone=lead.phone,
                mode="progressive",
                dialer="t",
                state="ended",
                outcome=outcome,
                live=outcome in {"answered", "abandoned"},
                claimed_at=ended,
                ended_at=ended,
                disposition=rng.choice(("sale", "no-interest", None))
                if outcome == "answered"
                else None,
            )
            session.add(attempt)
            made.append(attempt)
    return campaign.id, made


async def test_campaign_figures_match_the_attempts(store: Store) -> None:
    cid, attempts = await _attempts(store, 3)
    got = await ReportService(store, ReportsConfig()).campaigns(P, NOW)
    [fig] = got.campaigns
    mine = [a for a in attempts if P.since <= a.ended_at.replace(tzinfo=UTC) < P.until]
    dials = [a for a in mine if a.outcome != "skipped"]
    live = [a for a in mine if a.live]
    assert fig.id == cid
    assert (fig.attempts, fig.skipped) == (len(dials), len(mine) - len(dials))
    assert fig.contacts == len(live)
    assert fig.contact_rate == round(len(live) / len(dials), 4)
    abandoned = [a for a in live if a.outcome == "abandoned"]
    assert fig.abandon_rate == round(len(abandoned) / len(live), 4)
    for outcome in OUTCOMES:
        assert fig.outcomes.get(outcome, 0) == len([a for a in mine if a.outcome == outcome])
    sales = len([a for a in mine if a.disposition == "sale"])
    assert fig.dispositions["sale"] == sales
    assert fig.conversion["sale"] == round(sales / len(live), 4)
    # the compliance windows end at the period's end (before now)
    month = [
        a
        for a in attempts
        if a.live and P.until - timedelta(days=30) <= a.ended_at.replace(tzinfo=UTC) <= P.until
    ]
    month_ab = [a for a in month if a.outcome == "abandoned"]
    assert fig.abandon_rate_30d == round(round(100 * len(month_ab) / len(month), 2) / 100, 4)


async def _user(store: Store, name: str) -> int:
    users = UserService(store, hasher=FAST_HASHER)
    return (await users.create(UserIn(username=name, password=SecretStr("pw-123456789")))).id


def _ticket(
    created: datetime,
    priority: str,
    who: int | None,
    responded: float | None,
    resolved: float | None,
    policy: CrmConfig,
) -> Ticket:
    target = policy.sla[priority]
    return Ticket(
        subject="t",
        priority=priority,
        assignee_id=who,
        status="open",
        created_at=created,
        updated_at=created,
        first_response_due=created + timedelta(hours=target.first_response_hours),
        resolution_due=created + timedelta(hours=target.resolution_hours),
        first_responded_at=None if responded is None else created + timedelta(hours=responded),
        resolved_at=None if resolved is None else created + timedelta(hours=resolved),
    )


async def test_sla_compliance_per_agent_and_priority(store: Store) -> None:
    policy = CrmConfig()
    ann, bob = await _user(store, "ann"), await _user(store, "bob")
    rng = random.Random(9)
    tickets = []
    for _ in range(200):
        created = P.since + timedelta(hours=rng.uniform(-200, 24 * 30))
        priority = rng.choice(("low", "normal", "high", "urgent"))
        responded = rng.choice((None, rng.uniform(0, 30)))
        resolved = (
            None if responded is None else rng.choice((None, responded + rng.uniform(0, 150)))
        )
        tickets.append(
            _ticket(created, priority, rng.choice((ann, bob, None)), responded, resolved, policy)
        )
    async with store.sessions() as session, session.begin():
        session.add_all(tickets)
    report = await ReportService(store, ReportsConfig(), policy.sla).sla(P, NOW)
    assert not report.business_hours

    def verdicts(t: Ticket) -> list[tuple[int, bool]]:
        out = []
        for n, (due, stop) in enumerate(
            ((t.first_response_due, t.first_responded_at), (t.resolution_due, t.resolved_at))
        ):
            if stop is not None and stop <= due:
                at, met = stop, True
            elif due <= NOW:
                at, met = due, False
            else:
                continue
            if P.since <= at < P.until:
                out.append((n, met))
        return out

    want: dict[str, list[int]] = {}
    for t in tickets:
        for n, met in verdicts(t):
            row = want.setdefault(t.priority, [0, 0, 0, 0])
            row[2 * n + (0 if met else 1)] += 1
    got = {
        f.key: [
            f.first_response_met,
            f.first_response_breached,
            f.resolution_met,
            f.resolution_breached,
        ]
        for f in report.by_priority
    }
    assert got == want
    names = {ann: "ann", bob: "bob", None: "unassigned"}
    by_agent = {f.key: f for f in report.by_agent}
    for who, name in names.items():
        mine = [v for t in tickets if t.assignee_id == who for v in verdicts(t)]
        first = [met for n, met in mine if n == 0]
        assert by_agent[name].first_response_met == sum(first)
        assert by_agent[name].first_response_compliance == (
            round(sum(first) / len(first), 4) if first else None
        )


async def test_business_hours_move_the_due_time(store: Store) -> None:
    """An urgent ticket (1 h to respond) opened Friday 17:30 in Moscow, answered Monday
    09:20: in wall-clock time a breach; with 09:00–18:00 on weekdays, met (30 min on
    Friday, 20 min on Monday)."""
    policy = CrmConfig()
    friday = datetime(2026, 6, 5, 14, 30, tzinfo=UTC)  # 17:30 Moscow
    monday = datetime(2026, 6, 8, 6, 20, tzinfo=UTC)  # 09:20 Moscow
    async with store.sessions() as session, session.begin():
        session.add(
            _ticket(friday, "urgent", None, (monday - friday).total_seconds() / 3600, None, policy)
        )
    wall = await ReportService(store, ReportsConfig(), policy.sla).sla(P, NOW)
    [w] = wall.by_priority
    assert (w.first_response_met, w.first_response_breached) == (0, 1)
    hours = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    cfg = ReportsConfig(business_hours=hours, business_timezone="Europe/Moscow")
    report = await ReportService(store, cfg, policy.sla).sla(P, NOW)
    [b] = report.by_priority
    assert report.business_hours
    assert (b.first_response_met, b.first_response_breached) == (1, 0)


async def test_deals_and_overdue_tasks_per_owner(store: Store) -> None:
    ann = await _user(store, "ann")
    async with store.sessions() as session, session.begin():
        session.add_all(
            [
                Deal(title="a", stage="lead", owner_id=ann, status="open", amount=Decimal("10")),
                Deal(title="b", stage="lead", owner_id=ann, status="open", amount=Decimal("5")),
                Deal(title="c", stage="proposal", owner_id=None, status="open"),
                Deal(
                    title="d",
                    stage="proposal",
                    owner_id=ann,
                    status="won",
                    closed_at=datetime(2026, 6, 10, tzinfo=UTC),
                    amount=Decimal("7"),
                ),
                Deal(
                    title="e",
                    stage="proposal",
                    owner_id=ann,
                    status="lost",
                    closed_at=datetime(2026, 5, 10, tzinfo=UTC),
                ),  # before the period
                Task(title="late", assignee_id=ann, due_at=datetime(2026, 6, 3, tzinfo=UTC)),
                Task(title="later", assignee_id=ann, due_at=datetime(2026, 6, 20, tzinfo=UTC)),
                Task(
                    title="done",
                    assignee_id=ann,
                    due_at=datetime(2026, 6, 3, tzinfo=UTC),
                    done=True,
                ),
                Task(title="future", assignee_id=ann, due_at=datetime(2026, 8, 1, tzinfo=UTC)),
            ]
        )
    report = await ReportService(store, ReportsConfig()).sla(P, NOW)
    deals = {(d.status, d.stage, d.owner): (d.deals, d.amount) for d in report.deals}
    assert deals == {
        ("open", "lead", "ann"): (2, 15.0),
        ("open", "proposal", None): (1, 0.0),
        ("won", "proposal", "ann"): (1, 7.0),
    }
    [overdue] = report.overdue_tasks
    assert (overdue.owner, overdue.overdue) == ("ann", 2)
    assert overdue.oldest_due == datetime(2026, 6, 3, tzinfo=UTC)
