"""The dialer engine: each tick, pace every running campaign and originate its calls; from
the call events, give every attempt its outcome and every agent their state.

The decisions are the pure core's (:mod:`~cti.dialer.pacing`, :mod:`~cti.dialer.windows`,
:mod:`~cti.dialer.outcomes`, :mod:`~cti.dialer.agents`); this module does the I/O around
them. All state is in the store (:mod:`cti.crm_store.repos.dialer`): a restart or a second
dialer picks up where this one left, and no attempt is sent twice (the attempt row is
committed before its Originate; one never confirmed as sent is failed, not resent).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from cti.ami.actions import ActionSender, ActionValue, originate
from cti.ami.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallRecord,
    DeviceStateChanged,
    OriginateFailed,
    QueueMemberChanged,
)
from cti.crm_store.phones import dialable
from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.repos.dialer import (
    AgentRow,
    AttemptView,
    Claimed,
    DialerRepo,
    DueLead,
    FloorCounts,
    LeadView,
    Step,
)
from cti.crm_store.schemas.campaigns import CampaignOut
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, utcnow
from cti.dialer import agents as agent_states
from cti.dialer.campaign_file import CampaignSpec
from cti.dialer.outcomes import (
    ABANDON_HOLD,
    Close,
    Outcome,
    next_step,
    outcome_of_call,
    outcome_of_originate_failure,
)
from cti.dialer.pacing import (
    AttemptSample,
    Floor,
    PacingStats,
    adapt_ratio,
    calls_to_place,
    pacing_stats,
)
from cti.dialer.service import spec_of
from cti.dialer.windows import next_open, window_open
from cti.errors import CtiError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: a status of the call record → the OriginateResponse Reason it stands for
_STATUS_REASON = {"busy": 5, "no-answer": 3}
#: how often predictive pacing adapts its ratio
ADAPT_EVERY = timedelta(minutes=1)
#: a closed window with no opening in 8 days: look again in a day
_NO_WINDOW_RETRY = timedelta(days=1)


@dataclass
class EngineSettings:
    """How the engine runs (the campaign files say how each campaign dials)."""

    #: seconds between pacing rounds
    tick_seconds: float = 1.0
    #: a claimed attempt not confirmed as sent after this long failed (a crash, a hang)
    claim_timeout: float = 60.0
    #: an attempt sent and neither answered nor failed this long after its ring time
    #: failed (the PBX lost it)
    dial_margin: float = 30.0
    #: an answered call still up after this long lost its end (a restart while it was up)
    max_call_seconds: float = 4 * 3600.0
    #: a preview neither dialled nor skipped this long goes back to the list (as skipped)
    preview_timeout: float = 1800.0
    #: seconds between re-reading the pacing figures of a campaign
    stats_every: float = 10.0
    #: the phone region of national numbers (``phone.default_region``)
    region: str = "RU"
    #: this dialer's name on its attempts
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}"[:64])


@dataclass
class _CampaignPace:
    stats: PacingStats | None = None
    stats_at: datetime | None = None


class DialerEngine:
    def __init__(
        self,
        store: Store,
        pbxes: Callable[[], Mapping[str, ActionSender]],
        settings: EngineSettings | None = None,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.pbxes = pbxes
        self.settings = settings or EngineSettings()
        self.clock = clock
        self.repo = DialerRepo(store)
        self.campaigns = CampaignRepo(store)
        self._pace: dict[int, _CampaignPace] = {}
        self._events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._specs: dict[int, tuple[int, CampaignSpec]] = {}

    # -- the loop ------------------------------------------------------------------------------

    def on_event(self, event: CallEvent) -> None:
        """The bus subscriber: queue what the dialer cares about (no I/O on the bus)."""
        if isinstance(
            event,
            OriginateFailed | CallAnswered | CallEnded | DeviceStateChanged | QueueMemberChanged,
        ):
            self._events.put_nowait(event)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Tick and handle events until cancelled (or ``stop`` is set)."""
        events = asyncio.create_task(self._event_loop(), name="dialer-events")
        try:
            while stop is None or not stop.is_set():
                try:
                    await self.tick()
                except CtiError as exc:
                    log.warning("dialer: %s", exc)
                except Exception:  # one bad round must not stop the dialer
                    log.exception("dialer: pacing round failed")
                await asyncio.sleep(self.settings.tick_seconds)
        finally:
            events.cancel()
            await asyncio.gather(events, return_exceptions=True)

    async def _event_loop(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self.handle(event)
            except Exception:
                log.exception("dialer: could not apply %s", type(event).__name__)

    async def tick(self) -> None:
        now = self.clock()
        for campaign in await self.campaigns.running():
            spec = self._spec(campaign)
            if spec.mode == "preview":
                continue  # preview dials when an operator asks
            await self._dial(campaign, spec, now)
        await self._sweep(now)

    def _spec(self, campaign: CampaignOut) -> CampaignSpec:
        cached = self._specs.get(campaign.id)
        if cached is None or cached[0] != campaign.version:
            cached = (campaign.version, spec_of(campaign))
            self._specs[campaign.id] = cached
        return cached[1]

    # -- pacing and dialling ---------------------------------------------------------------------

    def _sender(self, spec: CampaignSpec) -> tuple[str, ActionSender] | None:
        available = self.pbxes()
        if spec.pbx is not None:
            sender = available.get(spec.pbx)
            return (spec.pbx, sender) if sender is not None else None
        return next(iter(available.items()), None)

    async def _stats(self, campaign: CampaignOut, spec: CampaignSpec, now: datetime) -> PacingStats:
        pace = self._pace.setdefault(campaign.id, _CampaignPace())
        fresh = (
            pace.stats_at is not None
            and (now - pace.stats_at).total_seconds() < self.settings.stats_every
        )
        if pace.stats is not None and fresh:
            return pace.stats
        rows = await self.repo.samples(campaign.id, now - timedelta(days=30))
        samples = [
            AttemptSample(
                ended_at=as_utc(ended),
                live=bool(live),
                abandoned=outcome == "abandoned",
                ring_seconds=ring,
                talk_seconds=talk,
                wrap_seconds=spec.wrap_up_seconds if connected is not None else None,
            )
            for ended, live, outcome, ring, talk, connected, _originated in rows
            if ended is not None
        ]
        pace.stats, pace.stats_at = pacing_stats(samples, now, spec.pacing.window_minutes), now
        if spec.mode == "predictive":
            await self._adapt(campaign, spec, pace, now)
        return pace.stats

    async def _adapt(
        self, campaign: CampaignOut, spec: CampaignSpec, pace: _CampaignPace, now: datetime
    ) -> None:
        """Once a minute for the campaign (whichever dialer comes first: the time of the last
        step is in the store): move the ratio toward the target abandon rate, as measured
        over the control window (a minute reacts fast; the window keeps the measure steady)."""
        stats = pace.stats
        assert stats is not None

        def step(ratio: float) -> float:
            return adapt_ratio(
                ratio,
                stats.abandon_rate,
                stats.abandon_rate_24h,
                spec.pacing.target_abandon_percent,
                (1.0, spec.pacing.max_ratio),
            )

        stepped = await self.campaigns.step_ratio(campaign.id, now, ADAPT_EVERY, step)
        if stepped is not None and stepped[0] != stepped[1]:
            log.info("dialer: %s pacing ratio %.2f → %.2f", campaign.name, *stepped)

    async def _dial(self, campaign: CampaignOut, spec: CampaignSpec, now: datetime) -> None:
        found = self._sender(spec)
        if found is None:
            return  # no PBX connected: nothing can be dialled (the attempts wait)
        pbx, sender = found
        stats = await self._stats(campaign, spec, now)
        ratio = max(1.0, campaign.pacing_ratio)

        def decide(counts: FloorCounts) -> int:
            floor = Floor(
                free_agents=counts.free_agents,
                on_call=counts.on_call,
                wrap_up_left=counts.wrap_up_left,
                dialing=counts.dialing,
                waiting=counts.waiting,
                connected=counts.connected,
                dialing_ages=counts.dialing_ages,
            )
            return calls_to_place(
                spec.mode,
                floor,
                stats,
                ratio=ratio,
                max_channels=spec.max_channels,
                cap_percent=spec.abandon_cap_percent,
                connect_limit=spec.connect.limit_seconds,
            )

        def window(lead: DueLead) -> datetime | None:
            if window_open(spec.windows, lead.zones, now):
                return None
            return next_open(spec.windows, lead.zones, now) or now + _NO_WINDOW_RETRY

        claimed = await self.repo.pace_and_claim(
            campaign.id,
            decide=decide,
            window=window,
            dialer=self.settings.name,
            pbx=pbx,
            now=now,
            abandon_hold=ABANDON_HOLD,
        )
        for attempt in claimed:
            await self._originate(campaign, spec, attempt, pbx, sender)

    async def _originate(
        self,
        campaign: CampaignOut,
        spec: CampaignSpec,
        attempt: Claimed,
        pbx: str,
        sender: ActionSender,
    ) -> None:
        number = dialable(attempt.phone, spec.number_format, self.settings.region)
        variables = {
            "CTI_CAMPAIGN": spec.name,
            "CTI_ATTEMPT": str(attempt.attempt_id),
            "CTI_CONNECT_LIMIT": f"{spec.connect.limit_seconds:g}",
        }
        if spec.connect.queue:
            variables["CTI_QUEUE"] = spec.connect.queue
        if spec.connect.abandon_message:
            variables["CTI_ABANDON_MESSAGE"] = spec.connect.abandon_message
        try:
            await originate(
                sender,
                channel=spec.route.format(number=number),
                context=spec.connect.context,
                exten=spec.connect.exten,
                caller_id=f'"{spec.title[:40] or spec.name}" <{spec.caller_id}>',
                ring_seconds=spec.ring_seconds,
                variables=variables,
                action_id=attempt.action_id,
            )
        except (CtiError, OSError, TimeoutError) as exc:
            log.warning("dialer: %s: originate to %s refused: %s", campaign.name, pbx, exc)
            await self._finish(attempt.action_id, "failed", {}, spec, self.clock())
            return
        await self.repo.update_attempt(
            attempt.action_id, state="dialing", originated_at=self.clock()
        )

    # -- outcomes --------------------------------------------------------------------------------

    async def _campaign_spec(self, campaign_id: int) -> CampaignSpec:
        cached = self._specs.get(campaign_id)
        if cached is not None:
            return cached[1]
        return self._spec(await self.campaigns.get(campaign_id))

    async def _finish(
        self,
        action_id: str,
        outcome: str,
        values: dict[str, object],
        spec: CampaignSpec | None,
        now: datetime,
    ) -> AttemptView | None:
        attempt = await self.repo.attempt(action_id)
        if attempt is None or attempt.state == "ended":
            return None
        spec = spec or await self._campaign_spec(attempt.campaign_id)
        return await self.repo.finish(
            action_id,
            outcome=outcome,
            values=dict(values),
            step=step_for(spec, outcome, now),
            now=now,
        )

    async def handle(self, event: CallEvent) -> None:
        """Apply one call event to the attempts and agents it concerns."""
        if isinstance(event, OriginateFailed):
            if event.action_id:
                outcome = outcome_of_originate_failure(event.reason, None)
                await self._finish(event.action_id, outcome, {}, None, self.clock())
        elif isinstance(event, CallAnswered):
            await self._answered(event)
        elif isinstance(event, CallEnded):
            await self._ended(event.record)
        elif isinstance(event, DeviceStateChanged):
            await self._device(event)
        elif isinstance(event, QueueMemberChanged):
            await self._queue_member(event)

    async def _answered(self, event: CallAnswered) -> None:
        originate_info = event.call.originate
        if originate_info is None or not originate_info.action_id:
            return
        action_id = originate_info.action_id
        now = self.clock()
        if event.agent is None:
            await self.repo.update_attempt(
                action_id, answered_at=now, call_linkedid=event.call.call_id
            )
            return
        attempt = await self.repo.attempt(action_id)
        if attempt is None or attempt.state == "ended" or attempt.agent is not None:
            return
        user = await self._user_of(event.agent)
        values: dict[str, object] = {"connected_at": now, "agent": event.agent}
        if attempt.answered_at is None:
            values["answered_at"] = now
        if user is not None:
            values["agent_user_id"] = user
            await self.repo.set_agent_state(
                user,
                state="on-call",
                reason=None,
                since=now,
                wrap_until=None,
                attempt_id=attempt.id,
            )
        await self.repo.update_attempt(action_id, **values)

    async def _ended(self, record: CallRecord) -> None:
        if record.originate is None or not record.originate.action_id:
            return
        action_id = record.originate.action_id
        attempt = await self.repo.attempt(action_id)
        if attempt is None or attempt.state == "ended":
            return
        spec = await self._campaign_spec(attempt.campaign_id)
        now = self.clock()
        # a person answered: the tracker's answer time (a dialer abandon keeps it), or ours
        answered = attempt.answered_at is not None or record.answered_at is not None
        talk = [t for t in record.talks if t.agent]
        values: dict[str, object] = {
            "hangup_cause": record.hangup_cause,
            "amd_status": record.amd_status,
            "call_linkedid": record.linkedid,
        }
        if answered:
            answered_at = as_utc(attempt.answered_at or record.answered_at or now)
            connect_delay = _connect_delay(record, attempt)
            result = outcome_of_call(
                connect_delay=connect_delay,
                connect_limit=spec.connect.limit_seconds,
                amd_status=record.amd_status,
            )
            outcome, values["live"] = result.outcome, result.live
            values["answered_at"] = answered_at
            talked = sum(t.seconds or 0.0 for t in talk)
            values["talk_seconds"] = talked if talk else None
            if attempt.originated_at is not None:
                values["ring_seconds"] = max(
                    0.0, (answered_at - as_utc(attempt.originated_at)).total_seconds()
                )
            if talk and attempt.agent is None:
                values["agent"] = talk[0].agent
        else:
            reason = _STATUS_REASON.get(record.status, 0)
            outcome = outcome_of_originate_failure(reason, record.hangup_cause)
            values["ring_seconds"] = record.ring_seconds
        ended = await self.repo.finish(
            action_id, outcome=outcome, values=values, step=step_for(spec, outcome, now), now=now
        )
        agent = (ended.agent if ended is not None else None) or (talk[0].agent if talk else None)
        if agent is not None:
            await self._wrap_up(agent, spec, now, ended.id if ended is not None else None)

    async def _wrap_up(
        self, extension: str, spec: CampaignSpec, now: datetime, attempt_id: int | None
    ) -> None:
        rows = await self.repo.agents(extension=extension)
        if not rows:
            return
        user = rows[0].user_id
        current = agent_of(rows[0])
        after = agent_states.call_ended(
            agent_states.Agent("on-call", current.since) if current.state != "wrap-up" else current,
            now,
            spec.wrap_up_seconds,
        )
        await self._store_agent(user, current, after, attempt_id=attempt_id)

    async def _store_agent(
        self,
        user_id: int,
        before: agent_states.Agent,
        after: agent_states.Agent,
        attempt_id: int | bool | None = False,
    ) -> None:
        if after == before and attempt_id is False:
            return
        if after.state == "logged-out":
            await self.repo.leave(user_id, after.since)
            return
        await self.repo.set_agent_state(
            user_id,
            state=after.state,
            reason=after.reason,
            since=after.since,
            wrap_until=after.wrap_until,
            attempt_id=attempt_id,
        )

    async def _user_of(self, extension: str) -> int | None:
        """The operator working a campaign on ``extension`` (None: no campaign agent)."""
        return next((a.user_id for a in await self.repo.agents(extension=extension)), None)

    async def _agent_rows(self, extension: str | None) -> list[tuple[int, agent_states.Agent, int]]:
        if extension is None:
            return []
        return [
            (row.user_id, agent_of(row), row.campaign_id)
            for row in await self.repo.agents(extension=extension)
        ]

    async def _device(self, event: DeviceStateChanged) -> None:
        now = self.clock()
        for user_id, agent, campaign_id in await self._agent_rows(event.extension):
            spec = await self._campaign_spec(campaign_id)
            after = agent_states.device_changed(agent, event.state, now, spec.wrap_up_seconds)
            await self._store_agent(user_id, agent, after)

    async def _queue_member(self, event: QueueMemberChanged) -> None:
        now = self.clock()
        for user_id, agent, campaign_id in await self._agent_rows(event.extension):
            spec = await self._campaign_spec(campaign_id)
            if spec.connect.queue and spec.connect.queue != event.queue:
                continue
            after = agent_states.queue_member_changed(
                agent,
                change=event.change,
                paused=event.paused,
                reason=event.reason,
                status=event.status,
                now=now,
                wrap_up_seconds=spec.wrap_up_seconds,
            )
            await self._store_agent(user_id, agent, after)

    # -- what gets no event ----------------------------------------------------------------------

    async def _sweep(self, now: datetime) -> None:
        """Fail the attempts the PBX will never report: claimed and never sent (a crash or
        hang between claim and Originate), or sent and silent long past their ring time."""
        longest_ring = max((s.ring_seconds for _, s in self._specs.values()), default=120.0)
        stale = await self.repo.stale(
            now,
            claimed_before=now - timedelta(seconds=self.settings.claim_timeout),
            dialing_before=now - timedelta(seconds=longest_ring + self.settings.dial_margin),
            preview_before=now - timedelta(seconds=self.settings.preview_timeout),
            answered_before=now - timedelta(seconds=self.settings.max_call_seconds),
        )
        for attempt in stale:
            log.warning(
                "dialer: attempt %s (%s) got no outcome from the PBX: failed",
                attempt.id,
                attempt.state,
            )
            unanswered_preview = attempt.mode == "preview" and attempt.state == "claimed"
            outcome = "skipped" if unanswered_preview else "failed"
            if attempt.answered_at is not None:  # a person answered; whether an agent took
                # the call is known; an unknown end never under-counts abandons
                outcome = "answered" if attempt.connected_at is not None else "abandoned"
            await self._finish(attempt.action_id, outcome, {}, None, now)
        # wrap-ups past their time end by themselves
        for row in await self.repo.agents(state="wrap-up"):
            agent = agent_of(row)
            after = agent_states.expire(agent, now)
            if after != agent:
                await self._store_agent(row.user_id, agent, after, attempt_id=None)


def step_for(
    spec: CampaignSpec, outcome: str, now: datetime, disposition: str | None = None
) -> Callable[[LeadView], Step]:
    """The lead's next step after an attempt (:func:`~cti.dialer.outcomes.next_step`),
    with a retry moved to the next time its call window is open."""

    def decide(lead: LeadView) -> Step:
        step = next_step(
            spec,
            lead.attempts,
            cast(Outcome, outcome),
            now,
            disposition=disposition,
            abandoned_at=as_utc(lead.abandoned_at) if lead.abandoned_at else None,
        )
        if isinstance(step, Close):
            return Step(close=step.reason, dnc=step.dnc)
        at = step.at
        if not window_open(spec.windows, lead.zones, at):
            at = next_open(spec.windows, lead.zones, at) or at + _NO_WINDOW_RETRY
        return Step(retry_at=at)

    return decide


def agent_of(row: AgentRow) -> agent_states.Agent:
    state = cast(agent_states.AgentState, row.state)
    wrap = as_utc(row.wrap_until) if row.wrap_until is not None else None
    return agent_states.Agent(state, as_utc(row.state_since), row.pause_reason, wrap)


def _connect_delay(record: CallRecord, attempt: AttemptView) -> float | None:
    """Seconds from the person's answer to an agent's talk; None: no agent took the call.
    The call record's times first (the PBX's or receipt clock), else the engine's own."""
    talks = [t for t in record.talks if t.agent]
    if not talks and attempt.agent is None:
        return None
    starts = [as_utc(t.started_at) for t in talks if t.started_at is not None]
    if starts and record.answered_at is not None:
        return max(0.0, (min(starts) - as_utc(record.answered_at)).total_seconds())
    if attempt.connected_at is not None and attempt.answered_at is not None:
        delay = as_utc(attempt.connected_at) - as_utc(attempt.answered_at)
        return max(0.0, delay.total_seconds())
    return 0.0  # an agent took it and nothing says when: not an abandon


def queue_action(action: str, queue: str, interface: str, **extra: str) -> dict[str, ActionValue]:
    """``QueueAdd`` / ``QueueRemove`` / ``QueuePause`` for an agent's interface."""
    out: dict[str, ActionValue] = {"Action": action, "Queue": queue, "Interface": interface}
    out.update(extra)
    return out
