"""One batch of call records applied in memory, in order, against one read of what it touches.

:meth:`cti.calllog.service.CallLog.record_many` prepares a :class:`Row` per record (caller
match and owners, read before the write transaction), reads the stored calls, open
callbacks and later answers the batch touches (:meth:`cti.crm_store.repos.calllog.BatchTx.read`),
and a :class:`Batch` applies the records in order, each seeing the ones before it, exactly as
one by one: a record of a stored complete call changes nothing, a complete record replaces a
partial one, and the callback rules (:mod:`cti.crm_store.rules.callbacks`) open, note and
close callbacks. What it changed comes out as plain column values
(:class:`~cti.crm_store.repos.calllog.BatchWrite`) for the repository to write. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cti.ami.events import CallRecord
from cti.crm_store.repos.calllog import BatchRead, BatchWrite, CallParts, Key
from cti.crm_store.rules import callbacks as rules
from cti.crm_store.timeutil import as_utc


def finished(record: CallRecord, number: str | None) -> rules.FinishedCall:
    """What the callback rules read of ``record`` (``number``: the external one as stored)."""
    return rules.FinishedCall(
        pbx=record.pbx,
        linkedid=record.linkedid,
        direction=record.direction,
        status=record.status,
        number=number,
        from_name=record.from_name,
        queue=record.queue,
        agents_rung=tuple(record.agents_rung),
        started_at=record.started_at,
        ended_at=record.ended_at,
    )


def parts(record: CallRecord) -> CallParts:
    """The rows of ``call_rings`` and ``call_talks`` for ``record`` (without ``call_id``)."""
    rings = [
        {
            "seq": seq,
            "agent": ring.agent[:32],
            "started_at": ring.started_at,
            "ended_at": ring.ended_at,
            "seconds": ring.seconds,
            "answered": ring.answered,
        }
        for seq, ring in enumerate(record.rings)
    ]
    talks = [
        {
            "seq": seq,
            "agent": talk.agent[:32],
            "started_at": talk.started_at,
            "ended_at": talk.ended_at,
            "seconds": talk.seconds,
            "hold_seconds": talk.hold_seconds,
        }
        for seq, talk in enumerate(record.talks)
    ]
    return rings, talks


@dataclass(slots=True)
class Row:
    """A record ready to write: its column values and callback owner, read beforehand."""

    record: CallRecord
    call: rules.FinishedCall
    fields: dict[str, Any]
    owner: tuple[int | None, str | None] = (None, None)
    #: its rings and talk parts (see :func:`parts`)
    parts: CallParts = ([], [])

    @property
    def key(self) -> Key:
        return self.record.pbx, self.record.linkedid


@dataclass(slots=True, eq=False)
class _Call:
    """A call as the batch sees it: as stored, then as its records rewrote it."""

    key: Key
    id: int | None
    partial: bool = True
    status: str = ""
    number: str | None = None
    started_at: datetime | None = None
    #: every column to write (None: stored and not rewritten)
    values: dict[str, Any] | None = None
    parts: CallParts = ([], [])

    def take(self, fields: dict[str, Any], parts: CallParts) -> None:
        self.values = dict(fields)
        self.parts = parts
        self.partial = fields["partial"]
        self.status = fields["status"]
        self.number = fields["external_number"]
        self.started_at = fields["started_at"]


@dataclass(slots=True, eq=False)
class _Callback:
    """A callback of one of the batch's numbers: stored (``id``) or new (``id`` None)."""

    id: int | None
    queue: str | None
    description: str
    #: the batch's call that opened it (its start may change within the batch) …
    call: _Call | None
    #: … else that call's start as stored
    call_started_at: datetime | None = None
    done: bool = False
    #: the columns to write: a new callback's all, a stored one's changed ones
    columns: dict[str, Any] = field(default_factory=dict)

    @property
    def missed_at(self) -> datetime | None:
        return self.call.started_at if self.call is not None else self.call_started_at

    def set(self, **columns: Any) -> None:
        self.columns.update(columns)
        self.description = self.columns.get("description", self.description)
        self.done = self.columns.get("done", self.done)


class Batch:
    """Applies :class:`Row` s to what the batch read; see the module docstring."""

    def __init__(self, rows: Sequence[Row], tail_digits: int, now: datetime) -> None:
        self.rows = rows
        self.tail_digits = tail_digits
        self.now = now
        self.calls: dict[Key, _Call] = {}
        #: starts of answered calls not in the batch, per number (only after the first miss)
        self.answers: dict[str, list[datetime]] = {}
        #: callbacks per number, oldest first (stored ones, then the batch's)
        self.callbacks: dict[str, list[_Callback]] = {}
        #: the batch's new calls and new callbacks, in order
        self._new: list[_Call] = []
        self._opened: list[_Callback] = []

    # -- what to read ------------------------------------------------------------------------
    def keys(self) -> list[Key]:
        return [row.key for row in self.rows]

    def numbers(self) -> set[str]:
        """Numbers whose open callbacks the batch may note, open or close."""
        return {
            r.call.number
            for r in self.rows
            if r.call.number and (rules.closes_callbacks(r.call) or rules.opens_callback(r.call))
        }

    def missed(self) -> tuple[set[str], datetime | None]:
        """The missed numbers, and the earliest miss (answers after it can cancel one)."""
        missed = [r.call for r in self.rows if rules.opens_callback(r.call)]
        whens = [as_utc(when) for c in missed if (when := c.missed_at) is not None]
        return {c.number for c in missed if c.number}, (min(whens) if whens else None)

    # -- applying ----------------------------------------------------------------------------
    def load(self, read: BatchRead) -> None:
        for key, stored in read.calls.items():
            self.calls[key] = _Call(
                key,
                stored.id,
                stored.partial,
                stored.status,
                stored.external_number,
                stored.started_at,
            )
        by_id = {call.id: call for call in self.calls.values()}
        for cb in read.callbacks:
            held = by_id.get(cb.call_id) if cb.call_id is not None else None
            entry = _Callback(cb.id, cb.queue, cb.description, held, cb.call_started_at)
            self.callbacks.setdefault(cb.phone, []).append(entry)
        for key, number, started_at in read.answers:
            if key not in self.calls and number and started_at is not None:
                self.answers.setdefault(number, []).append(as_utc(started_at))

    def apply(self, row: Row) -> bool:
        """Apply ``row``; False when its call is already stored (and stays as it is)."""
        call = self.calls.get(row.key)
        if call is not None:
            if not call.partial or row.record.partial:
                return False
        else:
            call = self.calls[row.key] = _Call(row.key, None)
            self._new.append(call)
        call.take(row.fields, row.parts)
        number = row.call.number
        if number and rules.closes_callbacks(row.call):
            self._close(row.call, number)
        elif number and rules.opens_callback(row.call):
            self._open(call, row, number)
        return True

    def writes(self) -> BatchWrite:
        """What :meth:`apply` changed, as column values."""
        out = BatchWrite()
        out.new_calls = [call.values for call in self._new if call.values is not None]
        out.parts = {call.key: call.parts for call in self.calls.values() if call.values}
        out.rewritten = {
            call.id: call.values
            for call in self.calls.values()
            if call.id is not None and call.values is not None
        }
        out.new_callbacks = [
            (entry.columns, entry.call.key) for entry in self._opened if entry.call is not None
        ]
        out.changed_callbacks = {
            entry.id: entry.columns
            for entries in self.callbacks.values()
            for entry in entries
            if entry.id is not None and entry.columns
        }
        return out

    # -- the rules, applied to the batch's state ---------------------------------------------
    def _answer_starts(self, number: str, call: _Call) -> Iterator[datetime | None]:
        yield from self.answers.get(number, ())
        for other in self.calls.values():
            if other is not call and other.status == "answered" and other.number == number:
                yield other.started_at

    def _open(self, call: _Call, row: Row, number: str) -> None:
        if rules.answered_since(row.call.missed_at, self._answer_starts(number, call)):
            return  # replayed out of order: the number was answered later already
        entries = self.callbacks.setdefault(number, [])
        index = rules.open_callback(entries, row.owner[1])
        if index is not None:
            entry = entries[index]
            entry.set(description=rules.noted(entry.description, row.call))
            return
        new = rules.new_callback(row.call, row.owner, tail_digits=self.tail_digits, now=self.now)
        entry = _Callback(None, new.queue, new.description, call)
        entry.set(
            title=new.title,
            description=new.description,
            kind="callback",
            done=False,
            done_at=None,
            done_reason=None,
            due_at=new.due_at,
            assignee_id=new.assignee_id,
            queue=new.queue,
            phone=new.phone,
            phone_tail=new.phone_tail,
            contact_id=row.fields["contact_id"],
            call_id=call.id,
        )
        entries.append(entry)
        self._opened.append(entry)

    def _close(self, call: rules.FinishedCall, number: str) -> None:
        entries = self.callbacks.get(number, [])
        reason = rules.close_reason(call)
        for index in rules.to_close(call, entries):
            entries[index].set(done=True, done_at=self.now, done_reason=reason)
