"""The call log: persist each finished call exactly once, and keep callback tasks in step.

``record`` is idempotent per (pbx, linkedid) — the unique key of ``calls`` — so a replayed
trace, a resync or a retried write never duplicates a call; a *complete* record replaces a
*partial* one of the same call (e.g. a resync guessed, then the full trace was imported).
Missed calls open callbacks and answered ones close them, by the rules of
:mod:`cti.crm_store.rules.callbacks`.

``record_many`` writes a batch with the same outcome as ``record`` one by one, in one
transaction: it reads what the batch touches through the repository
(:mod:`cti.crm_store.repos.calllog`), decides in memory (:mod:`cti.calllog.batch`) and
writes the result with one executemany per table. Reads go through
:class:`~cti.crm_store.repos.calls.CallRepo`; callers get
:class:`~cti.crm_store.schemas.calls.CallOut`, never a row of the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from cti.ami.events import CallRecord
from cti.calllog.batch import Batch, Row, finished, parts
from cti.calllog.fit import describe, fit_record
from cti.calllog.recordings import Recordings
from cti.crm_store.errors import Conflict
from cti.crm_store.phones import external_number, tail
from cti.crm_store.repos.calllog import CallLogRepo, Key, text_limits
from cti.crm_store.repos.calls import CallRepo, Listing, conditions
from cti.crm_store.repos.lookup import CallerLookup
from cti.crm_store.repos.surveys import SurveyRepo
from cti.crm_store.rules import callbacks, keyset
from cti.crm_store.rules.fields import invalid
from cti.crm_store.rules.visibility import may_see_call
from cti.crm_store.schemas.calls import (
    CallDetailOut,
    CallFilter,
    CallFull,
    CallOut,
    CallPage,
    CallQuery,
    ContactSummary,
)
from cti.crm_store.schemas.common import MAX_PER_PAGE
from cti.crm_store.schemas.tasks import NoteQuery
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.tasks import NoteService
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import ForbiddenError, NotFoundError

log = logging.getLogger(__name__)

#: seconds an extension's owner (or its absence) is reused before it is read again
USER_TTL = 30.0


class CallLog:
    """Writes and reads the call log of one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._users = UserService(store)
        self._calls = CallRepo(store)
        self._writes = CallLogRepo(store)
        # the indexed match on the read-only direct connection (SQLite file), as the pop
        # does: no ORM session or aiosqlite thread hop per finished call
        self._lookup = CallerLookup(store)
        #: extension -> its owner's user id (None: nobody), read at ``_owners_at``
        self._owners: dict[str, int | None] = {}
        self._owners_at = float("-inf")
        self._limits = text_limits()
        self._notes = NoteService(store)
        self._contacts = ContactService(store)
        self._surveys = SurveyRepo(store)

    def close(self) -> None:
        """Release the caller lookup's read connection (SQLite)."""
        self._lookup.close()

    # ---- writing --------------------------------------------------------------------------

    async def record(self, record: CallRecord) -> bool:
        """Store ``record``; False when it was already stored (same pbx + linkedid).

        Raises the store's errors (SQLAlchemy/driver) so the consumer can retry.
        """
        (written,) = await self.record_many([record])
        return written

    async def record_many(self, records: Sequence[CallRecord]) -> list[bool]:
        """Store ``records`` in order in one transaction; for each, what :meth:`record`
        returns (True written, False already stored).

        Applying them one by one in memory against one read of the rows they touch costs
        a handful of statements per batch instead of five per call. Any error rolls the
        whole batch back and is raised (nothing half-written): the caller retries it, or
        writes its records one at a time to find the one the store refuses.
        """
        if not records:
            return []
        rows = [await self._prepare(r) for r in records]
        found: set[Key] = set()
        try:
            return await self._write(rows, found)
        except Conflict:
            if not await self._raced(rows, found):
                self.forget_users()  # e.g. a cached owner was deleted: read again on retry
                raise
        # a concurrent writer stored some of these calls first: apply the batch on top of it
        try:
            return await self._write(rows, set())
        except Conflict:
            self.forget_users()
            raise

    async def _prepare(self, record: CallRecord) -> Row:
        """What a record needs from outside the write transaction (caller, owners), its
        PBX values fitted to their columns first (see :mod:`cti.calllog.fit`)."""
        record, fixed = fit_record(record, self._limits)
        if fixed:
            log.warning(
                "call %s/%s: PBX values that do not fit the call log were cleaned: %s",
                record.pbx,
                record.linkedid,
                describe(fixed),
            )
        number = self.external_e164(record.external_number)
        contact_id = await self._contact_for(number) if number else None
        agent_user_id = await self._user_id(record.agent) if record.agent else None
        call = finished(record, number)
        row = Row(record, call, self._fields(record, number, contact_id, agent_user_id))
        row.parts = parts(record)
        if callbacks.opens_callback(call):
            rung = [await self._user_id(ext) for ext in record.agents_rung]
            row.owner = callbacks.owner(rung, record.queue)
        return row

    async def _write(self, rows: Sequence[Row], found: set[Key]) -> list[bool]:
        """Read, decide, write: one transaction; ``found`` gets the keys already stored."""
        batch = Batch(rows, self.store.phone.tail_digits, utcnow())
        missed, since = batch.missed()
        async with self._writes.batch() as tx:
            read = await tx.read(batch.keys(), batch.numbers(), missed, since)
            found.update(read.calls)
            batch.load(read)
            written = [batch.apply(row) for row in rows]
            await tx.write(batch.writes(), batch.now)
        return written

    async def _raced(self, rows: Sequence[Row], found: set[Key]) -> bool:
        """Whether calls of ``rows`` appeared since ``found`` was read (a concurrent writer)."""
        stored = await self._writes.stored_keys([row.key for row in rows])
        return any(key not in found for key in stored)

    def external_e164(self, raw: str | None) -> str | None:
        """The outside party's number as stored: E.164 when valid, else its digits."""
        return external_number(raw, self.store.phone.default_region)

    def _fields(
        self,
        record: CallRecord,
        number: str | None,
        contact_id: int | None,
        agent_user_id: int | None,
    ) -> dict[str, Any]:
        orig = record.originate
        return {
            "pbx": record.pbx,
            "linkedid": record.linkedid,
            "direction": record.direction,
            "from_number": _cut(record.from_number, 64),
            "from_name": _cut(record.from_name, 200),
            "to_number": _cut(record.to_number, 64),
            "external_number": number,
            "external_tail": tail(number, self.store.phone.tail_digits) if number else None,
            "queue": _cut(record.queue, 64),
            "agents_rung": list(record.agents_rung),
            "agent": _cut(record.agent, 32),
            "agent_user_id": agent_user_id,
            "status": record.status,
            "started_at": record.started_at,
            "answered_at": record.answered_at,
            "ended_at": record.ended_at,
            "ring_seconds": record.ring_seconds,
            "talk_seconds": record.talk_seconds,
            "hangup_cause": record.hangup_cause,
            "transfers": [{"kind": t.kind, "by": t.by, "to": t.to} for t in record.transfers],
            "originate_action_id": _cut(orig.action_id, 128) if orig else None,
            "originate_variables": dict(orig.variables) if orig else None,
            "account": _cut(orig.account, 80) if orig else None,
            "campaign": _cut(orig.variables.get("CAMPAIGN"), 80) if orig else None,
            "recording": _cut(record.recording, 500),
            "contact_id": contact_id,
            "partial": record.partial,
            "clock": record.clock,
            "answered_by": record.answered_by,
            "ivr_seconds": record.ivr_seconds,
            "queue_wait_seconds": record.queue_wait_seconds,
            "hold_seconds": record.hold_seconds,
        }

    async def _contact_for(self, number: str) -> int | None:
        """The contact id when the lookup finds exactly one, else None (ambiguous/unknown)."""
        match = await self._lookup.lookup(number)
        ids = {c.contact_id for c in match.candidates}
        return ids.pop() if len(ids) == 1 else None

    async def _user_id(self, extension: str) -> int | None:
        """The extension's active owner: from a map of all owners read at most every
        :data:`USER_TTL` seconds (one query), a miss checked once on its own until then."""
        now = time.monotonic()
        if now - self._owners_at >= USER_TTL:
            self._owners = dict(await self._users.extension_owners())
            self._owners_at = now
        if extension in self._owners:
            return self._owners[extension]
        user = await self._users.user_for_extension(extension)
        user_id = None if user is None else user.id
        self._owners[extension] = user_id
        return user_id

    def forget_users(self) -> None:
        """Drop the cached extension owners (read again on the next record)."""
        self._owners.clear()
        self._owners_at = float("-inf")

    # ---- disposition ----------------------------------------------------------------------

    async def set_disposition(
        self, call_id: int, disposition: str | None, *, extensions: Sequence[str] | None = None
    ) -> CallOut:
        """Set (None: clear) the disposition; ``extensions`` as for :meth:`detail`."""
        if extensions is not None:
            await self.detail(call_id, extensions=extensions)
        return await self._calls.set_disposition(call_id, disposition)

    # ---- reading --------------------------------------------------------------------------

    async def get(self, call_id: int) -> CallOut:
        return await self._calls.get(call_id)

    async def detail(
        self, call_id: int, *, extensions: Sequence[str] | None = None
    ) -> CallDetailOut:
        """One call with its rings and each agent's part. ``extensions``: the caller's own
        phones when they see only their own calls (403 for another's); None: any call."""
        call = await self._calls.detail(call_id)
        talked = [talk.agent for talk in call.talks]
        if not may_see_call(extensions, call.agent, [*call.agents_rung, *talked]):
            raise ForbiddenError(
                f"call {call_id} did not ring on your extensions", details={"id": call_id}
            )
        return call

    async def full(
        self, call_id: int, recordings: Recordings, *, extensions: Sequence[str] | None = None
    ) -> CallFull:
        """The whole call as ``GET /api/calls/{id}`` shows it: the record with its rings and
        parts, its notes, its contact, and its recording's link when the file is there."""
        call = await self.detail(call_id, extensions=extensions)
        notes = await self._notes.search(NoteQuery(call_id=call_id, per_page=MAX_PER_PAGE))
        contact = None
        if call.contact_id is not None:
            try:
                found = await self._contacts.get(call.contact_id)
            except NotFoundError:  # deleted since: the call keeps its number
                found = None
            if found is not None:
                contact = ContactSummary.model_validate(found, from_attributes=True)
        url = f"/api/calls/{call_id}/recording" if recordings.find(call.recording) else None
        surveys = [
            {
                "response_id": response.id,
                "script": response.script_name,
                "version": response.script_version,
                "mode": response.mode,
                "status": response.status,
                "agent": response.agent,
                "answers": [
                    a.model_dump(mode="json")
                    for a in (await self._surveys.answers(response.id)).values()
                ],
            }
            for response in await self._surveys.of_call(call.linkedid)
            if response.pbx in (None, call.pbx)
        ]
        return CallFull(
            **call.model_dump(),
            notes=notes.items,
            contact=contact,
            recording_url=url,
            survey_answers=surveys,
        )

    async def recording(
        self, call_id: int, recordings: Recordings, *, extensions: Sequence[str] | None = None
    ) -> Path:
        """The recording file of a call the caller may see (404 when there is none)."""
        call = await self.detail(call_id, extensions=extensions)
        found = recordings.find(call.recording)
        if found is None:
            raise NotFoundError(f"call {call_id} has no recording on file", details={"id": call_id})
        return found

    async def recent_calls(self, number: str, limit: int = 5) -> list[CallOut]:
        """The latest calls with this external number (screen-pop history), newest first."""
        stored = self.external_e164(number)
        if not stored:
            return []
        return await self._calls.recent(stored, max(1, min(limit, 100)))

    def listing(
        self, filters: CallFilter, sort: str = "-started_at", *, extensions: Sequence[str] | None
    ) -> Listing:
        """The calls ``filters`` select in ``sort`` order, within ``extensions`` (an
        operator's own phones; None: all calls). The filter's number is read as the call
        log stores numbers (E.164 in the configured region, else its digits)."""
        number = self.external_e164(filters.number) if filters.number else None
        where = conditions(
            filters,
            number=number,
            extensions=extensions,
            tail_digits=self.store.phone.tail_digits,
        )
        only = filters.model_dump(mode="json", include=set(CallFilter.model_fields))
        return Listing(tuple(where), sort, keyset.scope_of(["calls", sort, only]))

    async def search(
        self, query: CallQuery, *, extensions: Sequence[str] | None = None
    ) -> CallPage:
        """One page of calls (``query.cursor``: where the page before ended)."""
        listing = self.listing(query, query.sort, extensions=extensions)
        after = None
        if query.cursor is not None:
            try:
                after = keyset.decode(query.cursor, listing.scope)
            except ValueError as exc:
                raise invalid("cursor", str(exc)) from None
        return await self._calls.page(listing, after, query.limit)

    async def count(self, filters: CallFilter, *, extensions: Sequence[str] | None = None) -> int:
        """How many calls ``filters`` select (within ``extensions`` as for :meth:`search`)."""
        return await self._calls.count(self.listing(filters, extensions=extensions))

    def batches(
        self,
        filters: CallFilter,
        sort: str = "-started_at",
        *,
        extensions: Sequence[str] | None = None,
        size: int = 1000,
    ) -> AsyncGenerator[list[CallOut], None]:
        """Every call ``filters`` select, ``size`` at a time (exports)."""
        return self._calls.batches(self.listing(filters, sort, extensions=extensions), size)

    async def calls_for_user(self, user_id: int, query: CallQuery | None = None) -> CallPage:
        """The calls an operator may see: those on any of the user's extensions."""
        exts = await self._users.extensions_of(user_id)
        return await self.search(query or CallQuery(), extensions=exts)


def _cut(value: str | None, size: int) -> str | None:
    """Caller IDs and names come from outside: never let one overflow its column."""
    return value[:size] if value is not None else None
