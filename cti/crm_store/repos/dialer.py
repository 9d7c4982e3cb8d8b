"""The dialer's SQL: pace and claim under the campaign's lock, then follow each attempt to
its outcome and move its lead on; agents of a campaign and their state log.

Claims are safe with several dialers on one database: the campaign row is locked while one
dialer counts the floor and claims (the other waits, then sees the calls just placed), so
the free agents are paced for once, not once per dialer; leads are read ``FOR UPDATE SKIP
LOCKED`` and taken with a guarded update (``state = 'ready'``), so no lead is claimed
twice. The attempt row (with its ActionID) is committed before the Originate leaves, so
after a crash every attempt sent is known.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.models.campaigns import (
    AgentStateLog,
    Campaign,
    CampaignAgent,
    CampaignList,
    DialAttempt,
    DncNumber,
    Lead,
)
from cti.crm_store.repos.sessions import apply_ops, open_sessions
from cti.crm_store.rules.sessions import campaign_queue, page_ops
from cti.crm_store.schemas.campaigns import AgentFigure, CampaignFigures, CampaignOut
from cti.crm_store.store import Store

IN_FLIGHT = ("claimed", "dialing")


@dataclass(frozen=True, slots=True)
class FloorCounts:
    """Agents and calls of a campaign now (see :class:`cti.dialer.pacing.Floor`)."""

    free_agents: int
    #: ringing or talking
    on_call: int
    #: each agent in wrap-up: seconds until it ends by itself
    wrap_up_left: tuple[float, ...]
    dialing: int
    waiting: int
    connected: int
    #: each call not answered yet: seconds since its Originate (0 while only claimed)
    dialing_ages: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class DueLead:
    id: int
    phone: str
    zones: tuple[str, ...]
    contact_id: int | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """An attempt claimed for a lead: what the Originate needs."""

    attempt_id: int
    action_id: str
    lead_id: int
    phone: str
    seq: int
    contact_id: int | None


@dataclass(frozen=True, slots=True)
class LeadView:
    """A lead as the next-step rule needs it."""

    id: int
    attempts: int
    abandoned_at: datetime | None
    phone: str
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """What to do with a lead after an attempt: ``retry_at`` (ready again then) or
    ``close`` (done, with the reason); ``dnc``: the list its number joins."""

    retry_at: datetime | None = None
    close: str | None = None
    dnc: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptView:
    id: int
    campaign_id: int
    lead_id: int
    action_id: str
    state: str
    mode: str
    pbx: str | None
    agent: str | None
    originated_at: datetime | None
    answered_at: datetime | None
    connected_at: datetime | None
    outcome: str | None
    phone: str
    agent_user_id: int | None


@dataclass(frozen=True, slots=True)
class AgentRow:
    """An operator working a campaign, and their state."""

    campaign_id: int
    user_id: int
    extension: str
    state: str
    pause_reason: str | None
    state_since: datetime
    wrap_until: datetime | None
    attempt_id: int | None
    joined_at: datetime


def _agent_row(row: CampaignAgent) -> AgentRow:
    return AgentRow(
        row.campaign_id,
        row.user_id,
        row.extension,
        row.state,
        row.pause_reason,
        row.state_since,
        row.wrap_until,
        row.attempt_id,
        row.joined_at,
    )


#: (campaign floor) → calls to place now
Decide = Callable[[FloorCounts], int]
#: (lead, now) → None when its window is open now, else when to look at it again
WindowCheck = Callable[[DueLead], datetime | None]
#: (lead) → the step after this attempt
NextStep = Callable[[LeadView], Step]


def _attempt_view(row: DialAttempt) -> AttemptView:
    return AttemptView(
        id=row.id,
        campaign_id=row.campaign_id,
        lead_id=row.lead_id,
        action_id=row.action_id,
        state=row.state,
        mode=row.mode,
        pbx=row.pbx,
        agent=row.agent,
        originated_at=row.originated_at,
        answered_at=row.answered_at,
        connected_at=row.connected_at,
        outcome=row.outcome,
        phone=row.phone,
        agent_user_id=row.agent_user_id,
    )


class DialerRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- pacing and claiming ----------------------------------------------------------------

    async def pace_and_claim(
        self,
        campaign_id: int,
        *,
        decide: Decide,
        window: WindowCheck,
        dialer: str,
        pbx: str | None,
        now: datetime,
        abandon_hold: timedelta | None,
        scan: int = 4,
        agent: tuple[int, str] | None = None,
    ) -> list[Claimed]:
        """Under the campaign's lock: count the floor, ask ``decide`` how many calls, claim
        that many due leads whose window is open (``window``) and write their attempts.
        Returns nothing when another dialer holds the campaign or it is not running."""
        async with self.store.sessions() as session, session.begin():
            # a no-op write takes the campaign's row lock on PostgreSQL and the write lock
            # on SQLite: a second dialer waits here, then counts the floor this one left
            locked = await session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.status == "running")
                .values(pacing_ratio=Campaign.pacing_ratio)
                .returning(Campaign.version, Campaign.spec)
            )
            row = locked.first()
            if row is None:
                return []
            wanted = decide(await _floor(session, campaign_id, now))
            if wanted <= 0:
                return []
            claimed: list[Claimed] = []
            for lead in await _due(session, campaign_id, now, abandon_hold, wanted * scan):
                if len(claimed) >= wanted:
                    break
                later = window(lead)
                if later is not None:
                    await session.execute(
                        update(Lead)
                        .where(Lead.id == lead.id, Lead.state == "ready")
                        .values(next_at=later)
                    )
                    continue
                taken = await session.execute(
                    update(Lead)
                    .where(Lead.id == lead.id, Lead.state == "ready")
                    .values(
                        state="dialing",
                        attempts=Lead.attempts + 1,
                        last_attempt_at=now,
                        updated_at=now,
                    )
                    .returning(Lead.attempts)
                )
                seq = taken.scalar()
                if seq is None:  # another dialer took it between our read and write
                    continue
                attempt = DialAttempt(
                    campaign_id=campaign_id,
                    version=row.version,
                    lead_id=lead.id,
                    seq=seq,
                    action_id=f"cti-dial-{uuid.uuid4().hex}",
                    phone=lead.phone,
                    mode=str(row.spec.get("mode", "progressive")),
                    pbx=pbx,
                    dialer=dialer,
                    state="claimed",
                    claimed_at=now,
                    agent_user_id=agent[0] if agent else None,
                    agent=agent[1] if agent else None,
                )
                session.add(attempt)
                await session.flush()
                claimed.append(
                    Claimed(
                        attempt.id, attempt.action_id, lead.id, lead.phone, seq, lead.contact_id
                    )
                )
            return claimed

    # -- following an attempt ----------------------------------------------------------------

    async def attempt(self, action_id: str) -> AttemptView | None:
        async with self.store.sessions() as session:
            row = await session.scalar(
                select(DialAttempt).where(DialAttempt.action_id == action_id)
            )
            return _attempt_view(row) if row is not None else None

    async def attempt_by_id(self, attempt_id: int) -> AttemptView | None:
        async with self.store.sessions() as session:
            row = await session.get(DialAttempt, attempt_id)
            return _attempt_view(row) if row is not None else None

    async def update_attempt(self, action_id: str, **values: Any) -> bool:
        """Set ``values`` on an attempt still up (never on an ended one: replays and late
        events cannot rewrite an outcome)."""
        async with self.store.sessions() as session, session.begin():
            result = await session.execute(
                update(DialAttempt)
                .where(DialAttempt.action_id == action_id, DialAttempt.state != "ended")
                .values(**values)
            )
            return bool(getattr(result, "rowcount", 0))

    async def finish(
        self,
        action_id: str,
        *,
        outcome: str,
        values: dict[str, Any],
        step: NextStep,
        now: datetime,
    ) -> AttemptView | None:
        """End the attempt with ``outcome`` and move its lead as ``step`` says; one
        transaction, once (a second report of the same end changes nothing)."""
        async with self.store.sessions() as session, session.begin():
            row = await session.scalar(
                select(DialAttempt)
                .where(DialAttempt.action_id == action_id, DialAttempt.state != "ended")
                .with_for_update()
            )
            if row is None:
                return None
            row.state, row.outcome, row.ended_at = "ended", outcome, values.pop("ended_at", now)
            for key, value in values.items():
                setattr(row, key, value)
            lead = await session.get(Lead, row.lead_id, with_for_update=True)
            if lead is not None:
                await _move_lead(session, lead, row, outcome, step, now)
            await session.flush()
            return _attempt_view(row)

    async def dispose(
        self,
        attempt_id: int,
        *,
        disposition: str,
        by: int | None,
        step: NextStep,
        now: datetime,
    ) -> AttemptView | None:
        """The operator's disposition on an ended attempt: it decides the lead's next step
        (close, retry, do-not-call) in place of the outcome's."""
        async with self.store.sessions() as session, session.begin():
            row = await session.get(DialAttempt, attempt_id, with_for_update=True)
            if row is None:
                return None
            row.disposition, row.disposition_by, row.disposition_at = disposition, by, now
            lead = await session.get(Lead, row.lead_id, with_for_update=True)
            if lead is not None and row.state == "ended":
                await _move_lead(session, lead, row, row.outcome or "answered", step, now)
            await session.flush()
            return _attempt_view(row)

    async def stale(
        self,
        now: datetime,
        *,
        claimed_before: datetime,
        dialing_before: datetime,
        preview_before: datetime,
        answered_before: datetime,
    ) -> list[AttemptView]:
        """Attempts that will get no outcome from the PBX: claimed and never confirmed as
        sent (a crash between claim and Originate; a preview nobody dialled or skipped), or
        sent and neither answered nor failed long after their ring time, or answered and
        still up past any real call's length (its end was lost: a restart while it was up)."""
        claimed = DialAttempt.state == "claimed"
        preview = DialAttempt.mode == "preview"
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(DialAttempt).where(
                    or_(
                        and_(claimed, ~preview, DialAttempt.claimed_at < claimed_before),
                        and_(claimed, preview, DialAttempt.claimed_at < preview_before),
                        and_(
                            DialAttempt.state == "dialing",
                            DialAttempt.answered_at.is_(None),
                            DialAttempt.originated_at < dialing_before,
                        ),
                        # answered, and its end never reached us (a restart while it was up)
                        and_(
                            DialAttempt.state == "dialing",
                            DialAttempt.answered_at < answered_before,
                        ),
                    )
                )
            )
            return [_attempt_view(r) for r in rows]

    async def open_attempts(self, campaign_id: int) -> list[AttemptView]:
        """The campaign's attempts not ended yet (claimed, or up)."""
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(DialAttempt).where(
                    DialAttempt.campaign_id == campaign_id, DialAttempt.state != "ended"
                )
            )
            return [_attempt_view(r) for r in rows]

    async def samples(self, campaign_id: int, since: datetime) -> list[tuple[Any, ...]]:
        """(ended_at, live, outcome, ring, talk, connected_at, originated_at) of attempts
        ended since ``since``."""
        async with self.store.sessions() as session:
            rows = await session.execute(
                select(
                    DialAttempt.ended_at,
                    DialAttempt.live,
                    DialAttempt.outcome,
                    DialAttempt.ring_seconds,
                    DialAttempt.talk_seconds,
                    DialAttempt.connected_at,
                    DialAttempt.originated_at,
                )
                .where(
                    DialAttempt.campaign_id == campaign_id,
                    DialAttempt.state == "ended",
                    DialAttempt.ended_at >= since,
                    DialAttempt.originated_at.is_not(None),
                )
                .order_by(DialAttempt.ended_at)
            )
            return [tuple(r) for r in rows]

    # -- what supervisors watch ------------------------------------------------------------

    async def figures(self, campaign: CampaignOut, now: datetime) -> CampaignFigures:
        """The campaign's figures: a handful of grouped counts on indexed columns. The 24 h
        and 30-day windows end at ``now`` (any past moment: every attempt is kept, so the
        abandon rate of any 24 h or 30-day window can be shown)."""
        cid = campaign.id
        day, month = now - timedelta(hours=24), now - timedelta(days=30)
        live = DialAttempt.live.is_(True)
        abandoned = DialAttempt.outcome == "abandoned"
        async with self.store.sessions() as session:
            sent, ended = DialAttempt.originated_at, DialAttempt.ended_at
            in_day = and_(ended >= day, ended <= now)
            in_month = and_(ended >= month, ended <= now)
            counts = (
                await session.execute(
                    select(
                        func.count().filter(sent >= day, sent <= now),
                        func.count().filter(in_day, live),
                        func.count().filter(in_day, live, abandoned),
                        func.count().filter(in_month, live),
                        func.count().filter(in_month, live, abandoned),
                        func.count().filter(DialAttempt.state.in_(IN_FLIGHT)),
                    ).where(DialAttempt.campaign_id == cid)
                )
            ).one()
            outcomes = await session.execute(
                select(DialAttempt.outcome, func.count())
                .where(DialAttempt.campaign_id == cid, DialAttempt.outcome.is_not(None))
                .group_by(DialAttempt.outcome)
            )
            leads = await session.execute(
                select(Lead.state, func.count()).where(Lead.campaign_id == cid).group_by(Lead.state)
            )
            lists = await session.execute(
                select(
                    CampaignList.name,
                    CampaignList.priority,
                    func.count(Lead.id),
                    func.count(Lead.id).filter(Lead.state == "done"),
                )
                .outerjoin(Lead, Lead.list_id == CampaignList.id)
                .where(CampaignList.campaign_id == cid)
                .group_by(CampaignList.id, CampaignList.name, CampaignList.priority)
                .order_by(CampaignList.priority.desc(), CampaignList.name)
            )
            agents = await session.scalars(
                select(CampaignAgent)
                .where(CampaignAgent.campaign_id == cid)
                .order_by(CampaignAgent.extension)
            )
            agent_rows = [
                AgentFigure(
                    user_id=a.user_id,
                    extension=a.extension,
                    state=a.state,
                    pause_reason=a.pause_reason,
                    state_since=a.state_since,
                )
                for a in agents
            ]
            list_rows = [
                {"name": n, "priority": p, "leads": int(t), "done": int(d)} for n, p, t, d in lists
            ]
            outcome_counts = {str(k): int(v) for k, v in outcomes}
            lead_counts = {str(k): int(v) for k, v in leads}
        dialled, live24, ab24, live30, ab30, up = (int(x) for x in counts)
        spec = campaign.spec
        return CampaignFigures(
            at=now,
            id=cid,
            name=campaign.name,
            title=campaign.title,
            status=campaign.status,
            mode=str(spec.get("mode", "")),
            pacing_ratio=campaign.pacing_ratio,
            dialled_24h=dialled,
            answered_24h=live24,
            abandoned_24h=ab24,
            abandon_percent_24h=round(100 * ab24 / live24, 2) if live24 else None,
            abandon_percent_30d=round(100 * ab30 / live30, 2) if live30 else None,
            abandon_cap_percent=float(spec.get("abandon_cap_percent", 3.0)),
            calls_up=up,
            outcomes=outcome_counts,
            leads=lead_counts,
            lists=list_rows,
            agents=agent_rows,
        )

    # -- agents ------------------------------------------------------------------------------

    async def agents(
        self,
        campaign_id: int | None = None,
        *,
        extension: str | None = None,
        user_id: int | None = None,
        state: str | None = None,
    ) -> list[AgentRow]:
        """The campaign agents, narrowed by campaign, extension, user or state (each an
        indexed or key column: the engine asks once per call or device event)."""
        stmt = select(CampaignAgent).order_by(CampaignAgent.user_id)
        if campaign_id is not None:
            stmt = stmt.where(CampaignAgent.campaign_id == campaign_id)
        if extension is not None:
            stmt = stmt.where(CampaignAgent.extension == extension)
        if user_id is not None:
            stmt = stmt.where(CampaignAgent.user_id == user_id)
        if state is not None:
            stmt = stmt.where(CampaignAgent.state == state)
        async with self.store.sessions() as session:
            return [_agent_row(r) for r in await session.scalars(stmt)]

    async def join(self, campaign_id: int, user_id: int, extension: str, now: datetime) -> AgentRow:
        """The operator works ``campaign_id`` from now (leaving any other campaign)."""
        async with self.store.sessions() as session, session.begin():
            current = await session.scalar(
                select(CampaignAgent).where(CampaignAgent.user_id == user_id).with_for_update()
            )
            if current is not None and current.campaign_id == campaign_id:
                return _agent_row(current)
            if current is not None:
                await _log_state(session, current, "logged-out", None, now)
                await session.delete(current)
                await session.flush()
            agent = CampaignAgent(
                campaign_id=campaign_id,
                user_id=user_id,
                extension=extension,
                state="free",
                state_since=now,
                joined_at=now,
            )
            session.add(agent)
            await session.flush()
            await _log_state(session, agent, "free", None, now, opening=True)
            return _agent_row(agent)

    async def leave(self, user_id: int, now: datetime) -> AgentRow | None:
        async with self.store.sessions() as session, session.begin():
            current = await session.scalar(
                select(CampaignAgent).where(CampaignAgent.user_id == user_id).with_for_update()
            )
            if current is None:
                return None
            gone = _agent_row(current)
            await _log_state(session, current, "logged-out", None, now)
            await session.delete(current)
            return gone

    async def set_agent_state(
        self,
        user_id: int,
        *,
        state: str,
        reason: str | None,
        since: datetime,
        wrap_until: datetime | None,
        attempt_id: int | bool | None = False,
    ) -> bool:
        """Move an agent to ``state`` (with a state log row when it changed); ``attempt_id``
        False: leave the attempt on their screen as it is."""
        async with self.store.sessions() as session, session.begin():
            agent = await session.scalar(
                select(CampaignAgent).where(CampaignAgent.user_id == user_id).with_for_update()
            )
            if agent is None:
                return False
            if agent.state != state or agent.pause_reason != reason:
                await _log_state(session, agent, state, reason, since)
                agent.state, agent.pause_reason, agent.state_since = state, reason, since
            agent.wrap_until = wrap_until
            if attempt_id is not False:
                agent.attempt_id = attempt_id if isinstance(attempt_id, int) else None
            return True


async def _floor(session: AsyncSession, campaign_id: int, now: datetime) -> FloorCounts:
    free = on_call = 0
    wrap_left: list[float] = []
    agents = await session.execute(
        select(CampaignAgent.state, CampaignAgent.wrap_until).where(
            CampaignAgent.campaign_id == campaign_id
        )
    )
    for state, wrap_until in agents:
        expired = state == "wrap-up" and wrap_until is not None and _aware(wrap_until) <= now
        if state == "free" or expired:
            free += 1
        elif state in ("ringing", "on-call"):
            on_call += 1
        elif state == "wrap-up":
            left = (_aware(wrap_until) - now).total_seconds() if wrap_until is not None else 0.0
            wrap_left.append(max(0.0, left))
    # the calls up (at most the campaign's max_channels): one read, counted here
    flying = await session.execute(
        select(DialAttempt.originated_at, DialAttempt.answered_at, DialAttempt.connected_at).where(
            DialAttempt.campaign_id == campaign_id, DialAttempt.state.in_(IN_FLIGHT)
        )
    )
    ages: list[float] = []
    waiting = connected = 0
    for originated, answered, connected_at in flying:
        if connected_at is not None:
            connected += 1
        elif answered is not None:
            waiting += 1
        else:
            ages.append(max(0.0, (now - _aware(originated)).total_seconds()) if originated else 0.0)
    return FloorCounts(free, on_call, tuple(wrap_left), len(ages), waiting, connected, tuple(ages))


def _aware(moment: datetime) -> datetime:
    from cti.crm_store.timeutil import as_utc

    return as_utc(moment)


async def _due(
    session: AsyncSession,
    campaign_id: int,
    now: datetime,
    abandon_hold: timedelta | None,
    limit: int,
) -> list[DueLead]:
    """Leads due now, best first: list priority, then the longest waiting; skipping locked
    rows (another dialer's) and numbers on a do-not-call list."""
    blocked = exists().where(
        DncNumber.number == Lead.phone,
        or_(DncNumber.campaign_id.is_(None), DncNumber.campaign_id == campaign_id),
    )
    stmt = (
        select(Lead.id, Lead.phone, Lead.zones, Lead.contact_id)
        .join(CampaignList, CampaignList.id == Lead.list_id)
        .where(
            Lead.campaign_id == campaign_id,
            Lead.state == "ready",
            or_(Lead.next_at.is_(None), Lead.next_at <= now),
            CampaignList.active.is_(True),
            ~blocked,
        )
        .order_by(CampaignList.priority.desc(), Lead.next_at.is_not(None), Lead.next_at, Lead.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Lead)
    )
    if abandon_hold is not None:
        stmt = stmt.where(or_(Lead.abandoned_at.is_(None), Lead.abandoned_at <= now - abandon_hold))
    rows = await session.execute(stmt)
    return [DueLead(r.id, r.phone, tuple(r.zones or ()), r.contact_id) for r in rows]


async def _move_lead(
    session: AsyncSession,
    lead: Lead,
    attempt: DialAttempt,
    outcome: str,
    step: NextStep,
    now: datetime,
) -> None:
    view = LeadView(lead.id, lead.attempts, lead.abandoned_at, lead.phone, tuple(lead.zones or ()))
    decided = step(view)
    lead.last_outcome = outcome
    if outcome == "abandoned":
        lead.abandoned_at = attempt.answered_at or now
    lead.updated_at = now
    if decided.close is not None:
        lead.state, lead.closed_reason, lead.next_at = "done", decided.close, None
    else:
        lead.state, lead.closed_reason, lead.next_at = "ready", None, decided.retry_at
    if decided.dnc is not None:
        campaign_id = attempt.campaign_id if decided.dnc == "campaign" else None
        have = await session.scalar(
            select(DncNumber.id).where(
                DncNumber.number == lead.phone,
                DncNumber.campaign_id.is_(None)
                if campaign_id is None
                else DncNumber.campaign_id == campaign_id,
            )
        )
        if have is None:
            session.add(
                DncNumber(
                    campaign_id=campaign_id,
                    number=lead.phone,
                    reason=f"disposition {attempt.disposition or outcome}",
                    source="disposition",
                    created_by=attempt.disposition_by,
                    created_at=now,
                )
            )


async def _log_state(
    session: AsyncSession,
    agent: CampaignAgent,
    state: str,
    reason: str | None,
    now: datetime,
    *,
    opening: bool = False,
) -> None:
    """Close the agent's open state log row and open one for ``state`` (none for
    ``logged-out``: the time logged in ends there)."""
    if not opening:
        await session.execute(
            update(AgentStateLog)
            .where(AgentStateLog.user_id == agent.user_id, AgentStateLog.ended_at.is_(None))
            .values(ended_at=now)
        )
    if state != "logged-out":
        session.add(
            AgentStateLog(
                campaign_id=agent.campaign_id,
                user_id=agent.user_id,
                extension=agent.extension,
                state=state,
                reason=reason,
                started_at=now,
            )
        )
    # the same moves as session intervals (login, pause by reason, wrap-up) for the reports
    at = _aware(now)
    current = await open_sessions(session, "page", "", agent.extension, at)
    ops = page_ops(
        current, queue=campaign_queue(agent.campaign_id), state=state, reason=reason, at=at
    )
    await apply_ops(
        session, ops, source="page", pbx="", extension=agent.extension, user_id=agent.user_id
    )
