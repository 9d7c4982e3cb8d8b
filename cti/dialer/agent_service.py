"""Operators working a campaign: join (the campaign's queue rings their phone), pause with
a reason, leave; and the disposition that ends a call's wrap-up and decides the lead.

The queue membership is the PBX's (``QueueAdd``/``QueuePause``/``QueueRemove``): the PBX
routes the answered calls, and its queue member events keep our agent states true.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from cti.ami.actions import ActionSender, PbxUnavailableError, originate
from cti.config import DialConfig
from cti.crm_store.phones import dialable
from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.repos.dialer import AgentRow, AttemptView, DialerRepo, DueLead
from cti.crm_store.schemas.campaigns import CampaignOut, PreviewOut
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.dialer import agents as agent_states
from cti.dialer.campaign_file import CampaignSpec
from cti.dialer.engine import agent_of, queue_action, step_for
from cti.dialer.service import spec_of
from cti.dialer.windows import next_open, window_open
from cti.errors import ConflictError, CtiError, ForbiddenError, NotFoundError
from cti.web.auth import AuthUser

log = logging.getLogger(__name__)


class AgentService:
    def __init__(
        self,
        store: Store,
        *,
        pbxes: Callable[[], Mapping[str, ActionSender]],
        dial_settings: Mapping[str, DialConfig],
        region: str = "RU",
    ) -> None:
        self.region = region
        self.repo = DialerRepo(store)
        self.campaigns = CampaignRepo(store)
        self.pbxes = pbxes
        self.dial_settings = dial_settings

    async def mine(self, user_id: int) -> AgentRow:
        for row in await self.repo.agents(user_id=user_id):
            return row
        raise NotFoundError("you are not working a campaign", details={"user": user_id})

    def _pbx(self, spec: CampaignSpec) -> tuple[str, ActionSender]:
        available = self.pbxes()
        if spec.pbx is not None:
            sender = available.get(spec.pbx)
            if sender is None:
                raise PbxUnavailableError(
                    f"PBX {spec.pbx!r} is not connected", details={"pbx": spec.pbx}
                )
            return spec.pbx, sender
        if not available:
            raise PbxUnavailableError("no PBX is connected", details={})
        return next(iter(available.items()))

    def _interface(self, pbx: str, extension: str) -> str:
        return (self.dial_settings.get(pbx) or DialConfig()).agent_channel.format(ext=extension)

    async def _queue(self, spec: CampaignSpec, action: str, extension: str, **extra: str) -> None:
        """Tell the PBX (a campaign without a queue picks agents in its own dialplan)."""
        if not spec.connect.queue:
            return
        pbx, sender = self._pbx(spec)
        await sender.send_action(
            queue_action(action, spec.connect.queue, self._interface(pbx, extension), **extra)
        )

    async def join(self, campaign: CampaignOut, user: AuthUser, extension: str | None) -> AgentRow:
        ext = extension or (user.extensions[0] if user.extensions else None)
        if ext is None:
            raise ForbiddenError("you have no phone extension to take calls on", details={})
        if ext not in user.extensions:
            raise ForbiddenError(f"extension {ext!r} is not yours", details={"field": "extension"})
        spec = spec_of(campaign)
        await self._queue(spec, "QueueAdd", ext, MemberName=user.full_name or user.username)
        return await self.repo.join(campaign.id, user.id, ext, utcnow())

    async def leave(self, user_id: int) -> None:
        row = await self.mine(user_id)
        spec = spec_of(await self.campaigns.get(row.campaign_id))
        try:
            await self._queue(spec, "QueueRemove", row.extension)
        except CtiError as exc:  # leaving must work with the PBX down; it forgets on restart
            log.warning("agent %s left %s without QueueRemove: %s", user_id, spec.name, exc)
        await self.repo.leave(user_id, utcnow())

    async def pause(self, user_id: int, reason: str) -> AgentRow:
        row = await self.mine(user_id)
        spec = spec_of(await self.campaigns.get(row.campaign_id))
        await self._queue(spec, "QueuePause", row.extension, Paused="true", Reason=reason)
        return await self._set(row, agent_states.pause(agent_of(row), reason, utcnow()))

    async def unpause(self, user_id: int) -> AgentRow:
        row = await self.mine(user_id)
        spec = spec_of(await self.campaigns.get(row.campaign_id))
        await self._queue(spec, "QueuePause", row.extension, Paused="false")
        return await self._set(row, agent_states.unpause(agent_of(row), utcnow()))

    async def dispose(self, user_id: int, attempt_id: int, disposition: str) -> AgentRow:
        """The operator's disposition of their call ``attempt_id``: the lead's next step
        (close, call back, do-not-call) and the end of their wrap-up."""
        row = await self.mine(user_id)
        spec = spec_of(await self.campaigns.get(row.campaign_id))
        now = utcnow()
        attempt = await self.repo.attempt_by_id(attempt_id)
        if attempt is None or attempt.campaign_id != row.campaign_id:
            raise NotFoundError(
                f"no call {attempt_id} in your campaign", details={"id": attempt_id}
            )
        if attempt.agent_user_id != user_id and attempt.agent != row.extension:
            raise ForbiddenError(f"call {attempt_id} is not yours", details={"id": attempt_id})
        step = step_for(spec, attempt.outcome or "answered", now, disposition)
        await self.repo.dispose(attempt_id, disposition=disposition, by=user_id, step=step, now=now)
        return await self._set(row, agent_states.disposition_set(agent_of(row), now), attempt=None)

    # -- preview: the operator sees the contact, then dials (their phone first) or skips -----

    async def preview(self, user_id: int) -> PreviewOut:
        """The next lead of the operator's preview campaign, claimed for them (an attempt
        that waits for their dial or skip; nobody else gets the lead meanwhile)."""
        row = await self.mine(user_id)
        campaign = await self.campaigns.get(row.campaign_id)
        spec = spec_of(campaign)
        if spec.mode != "preview":
            raise ConflictError(
                f"campaign {campaign.name} dials {spec.mode}ly: calls come to you",
                details={"mode": spec.mode},
            )
        pbx, _ = self._pbx(spec)
        now = utcnow()

        def window(lead: DueLead) -> datetime | None:
            if window_open(spec.windows, lead.zones, now):
                return None
            return next_open(spec.windows, lead.zones, now) or now + timedelta(days=1)

        claimed = await self.repo.pace_and_claim(
            campaign.id,
            decide=lambda floor: 1,
            window=window,
            dialer=f"preview:{user_id}",
            pbx=pbx,
            now=now,
            abandon_hold=None,  # a guaranteed agent: the 72 h rule does not apply
            agent=(user_id, row.extension),
        )
        if not claimed:
            raise NotFoundError(
                f"campaign {campaign.name}: no contact to call now (none due, or outside "
                "their call window)",
                details={"campaign": campaign.name},
            )
        got = claimed[0]
        await self._set(row, agent_states.Agent("ringing", now), attempt=got.attempt_id)
        return PreviewOut(
            attempt_id=got.attempt_id, phone=got.phone, contact_id=got.contact_id, attempt=got.seq
        )

    async def preview_dial(self, user_id: int, attempt_id: int) -> AttemptView:
        """Dial the previewed lead: the operator's phone rings, then the number."""
        row, attempt, spec = await self._previewed(user_id, attempt_id)
        pbx, sender = self._pbx(spec)
        route = self.dial_settings.get(pbx) or DialConfig()
        number = route.prefix + dialable(attempt.phone, route.number_format, self.region)
        try:
            await originate(
                sender,
                channel=route.agent_channel.format(ext=row.extension),
                context=route.context,
                exten=number,
                caller_id=f'"{spec.title[:40] or spec.name}" <{spec.caller_id}>',
                ring_seconds=route.ring_seconds,
                variables={
                    "CTI_CAMPAIGN": spec.name,
                    "CTI_ATTEMPT": str(attempt.id),
                    "CTI_CLICK2DIAL": row.extension,
                },
                action_id=attempt.action_id,
            )
        except CtiError:
            await self._end_preview(row, attempt, spec, "failed")
            raise
        await self.repo.update_attempt(attempt.action_id, state="dialing", originated_at=utcnow())
        found = await self.repo.attempt_by_id(attempt_id)
        assert found is not None
        return found

    async def preview_skip(self, user_id: int, attempt_id: int) -> AgentRow:
        """Skip the previewed lead: it goes back to the list (its skip counts as a try)."""
        row, attempt, spec = await self._previewed(user_id, attempt_id)
        return await self._end_preview(row, attempt, spec, "skipped")

    async def _previewed(
        self, user_id: int, attempt_id: int
    ) -> tuple[AgentRow, AttemptView, CampaignSpec]:
        row = await self.mine(user_id)
        attempt = await self.repo.attempt_by_id(attempt_id)
        if attempt is None or attempt.agent_user_id != user_id:
            raise NotFoundError(f"no preview {attempt_id} of yours", details={"id": attempt_id})
        if attempt.state != "claimed":
            raise ConflictError(
                f"preview {attempt_id} is already {attempt.state}", details={"id": attempt_id}
            )
        return row, attempt, spec_of(await self.campaigns.get(attempt.campaign_id))

    async def _end_preview(
        self, row: AgentRow, attempt: AttemptView, spec: CampaignSpec, outcome: str
    ) -> AgentRow:
        now = utcnow()
        await self.repo.finish(
            attempt.action_id,
            outcome=outcome,
            values={},
            step=step_for(spec, outcome, now),
            now=now,
        )
        return await self._set(row, agent_states.Agent("free", now), attempt=None)

    async def _set(
        self, row: AgentRow, after: agent_states.Agent, attempt: int | bool | None = False
    ) -> AgentRow:
        await self.repo.set_agent_state(
            row.user_id,
            state=after.state,
            reason=after.reason,
            since=after.since,
            wrap_until=after.wrap_until,
            attempt_id=attempt,
        )
        return await self.mine(row.user_id)
