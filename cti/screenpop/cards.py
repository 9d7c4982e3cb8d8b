"""The pop card: who is calling and what we know about them, built once per call.

One ringing call may ring many agents (queue ringall, ring groups); the card is built once
per call (one lookup) and shared. It is built in two phases (the match, then deals /
tickets / history / tasks in one store call) into a mutable :class:`Card`, so when the time
budget runs out the pop goes out "with what is known" and a ``pop.update`` follows.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from cti.ami.events import CallInfo
from cti.screenpop.scripts import CallFacts, ScriptBook

log = logging.getLogger(__name__)

JsonList = list[dict[str, Any]]
#: how many candidate contacts of a "multiple" match get their deals/tickets/tasks loaded
MAX_CONTACTS = 3
#: the card's parts after the match (one ``CardSource.details`` call)
_PARTS = ("deals", "tickets", "calls", "tasks")


class CardSource(Protocol):
    """Where the card's facts come from (the CRM store in production)."""

    async def match(self, number: str) -> dict[str, Any]:
        """The caller-ID match: ``status`` and ranked ``contacts`` (``id``, ``name`` …)."""

    async def details(self, contact_ids: list[int], number: str) -> dict[str, JsonList]:
        """The rest of the card in one call: ``deals`` and ``tickets`` (open, with SLA due
        times and breached flags) and ``tasks`` of these contacts (callbacks to ``number``
        when there are none), and ``calls``: the last 5 with this number."""


@dataclass
class Card:
    """What is known so far; ``None`` marks a part not loaded (yet)."""

    match: dict[str, Any] | None = None
    deals: JsonList | None = None
    tickets: JsonList | None = None
    calls: JsonList | None = None
    tasks: JsonList | None = None
    script: dict[str, Any] | None = None
    complete: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "match": self.match,
            "deals": self.deals,
            "tickets": self.tickets,
            "calls": self.calls,
            "tasks": self.tasks,
            "script": self.script,
            "error": self.error,
        }


def contact_ids(match: dict[str, Any] | None) -> list[int]:
    """Ids of the matched contacts, best first (at most :data:`MAX_CONTACTS`)."""
    if not match:
        return []
    people = match.get("contacts") or match.get("candidates") or []
    ids = [c["id"] for c in people if isinstance(c, dict) and isinstance(c.get("id"), int)]
    return ids[:MAX_CONTACTS]


@dataclass(eq=False)
class CardJob:
    """The build of one call's card; several agents' pops wait on the same job."""

    call: CallInfo
    card: Card
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: set once an agent rings: until then only the (cheap) match is prefetched
    wanted: asyncio.Event = field(default_factory=asyncio.Event)

    #: set once the caller match is known (or the build ended without one)
    matched: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self, budget: float, *, full: bool = True) -> bool:
        """Wait at most ``budget`` seconds for the full card (or just the match)."""
        event = self.done if full else self.matched
        if event.is_set():
            return True
        try:
            await asyncio.wait_for(event.wait(), budget)
        except TimeoutError:
            return False
        return True


class CardBuilder:
    """Starts (once per call) and caches card builds; owns their tasks."""

    def __init__(self, source: CardSource | None, scripts: ScriptBook) -> None:
        self._source = source
        self._scripts = scripts
        self._jobs: dict[str, CardJob] = {}

    def job(self, call_id: str) -> CardJob | None:
        return self._jobs.get(call_id)

    def start(self, call: CallInfo, *, details: bool = True) -> CardJob:
        """The card job of ``call``, started on first use (later calls reuse it).

        ``details=False`` (a call that rings nobody yet) looks up only the caller; the deals,
        tickets, history and tasks are loaded once a later ``start`` asks for them.
        """
        job = self._jobs.get(call.call_id)
        if job is not None:
            if details:
                job.wanted.set()
            return job
        job = CardJob(call=call, card=Card())
        if details:
            job.wanted.set()
        self._jobs[call.call_id] = job
        number = call.external_number
        if self._source is None or not number:
            # nothing to look up (internal call, hidden number, no store): done at once
            job.card.match = {"status": "none", "contacts": []}
            for name in _PARTS:
                setattr(job.card, name, [])
            self._finish(job)
        else:
            job.task = asyncio.get_running_loop().create_task(
                self._build(job, self._source, number), name=f"card:{call.call_id}"
            )
        return job

    def forget(self, call_id: str) -> None:
        """Drop the cached card of a finished call (its build is cancelled if still running)."""
        job = self._jobs.pop(call_id, None)
        if job is not None and job.task is not None and not job.task.done():
            job.task.cancel()

    async def close(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        self._jobs.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _facts(self, job: CardJob) -> CallFacts:
        card = job.card
        return CallFacts(
            campaign=job.call.campaign,
            queue=job.call.queue,
            match_status=str((card.match or {}).get("status", "none")),
            open_tickets=len(card.tickets or ()),
            open_deals=len(card.deals or ()),
        )

    def _finish(self, job: CardJob) -> None:
        script = self._scripts.choose(self._facts(job))
        job.card.script = script.to_json() if script is not None else None
        job.card.complete = True
        job.matched.set()
        job.done.set()

    async def _build(self, job: CardJob, source: CardSource, number: str) -> None:
        card = job.card
        # a campaign call's script does not depend on the store: known before any lookup
        if job.call.campaign is not None:
            script = self._scripts.choose(self._facts(job))
            card.script = script.to_json() if script is not None else None
        try:
            card.match = await source.match(number)
            job.matched.set()
            await job.wanted.wait()
            # let the pop that asked for the rest go out first: on SQLite the details are
            # read on the loop thread, and the ringing frame must not wait for them
            await asyncio.sleep(0)
            parts = await source.details(contact_ids(card.match), number)
            for name in _PARTS:
                setattr(card, name, parts.get(name, []))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the pop must go out even when the store fails
            log.exception("pop card for call %s failed", job.call.call_id)
            card.error = f"lookup failed: {type(exc).__name__}"
        self._finish(job)
