"""Tasks (to-dos, reminders, callbacks) and notes in SQL.

An operator's listing is limited by a *scope* (their user id): their own tasks and the
unassigned ones, the SQL form of :func:`cti.crm_store.rules.visibility.may_see_task`; their
notes by their extensions: notes on no call or on a call of theirs (``may_see_note``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, update

from cti.crm_store.models import Call, Contact, Deal, Note, Task, Ticket, User
from cti.crm_store.models.base import Base
from cti.crm_store.repos.base import RowRepo, paginate, where_equal, words_in
from cti.crm_store.repos.calls import touches
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.tasks import NoteOut, NoteQuery, TaskOut, TaskQuery
from cti.crm_store.store import Store

_LINKS: dict[str, type[Base]] = {
    "contact_id": Contact,
    "deal_id": Deal,
    "ticket_id": Ticket,
    "call_id": Call,
}
_TASK_REFS: dict[str, type[Base]] = {**_LINKS, "assignee_id": User}
_NOTE_REFS: dict[str, type[Base]] = {**_LINKS, "author_id": User}
_TASK_FILTERS = (
    "kind",
    "done",
    "assignee_id",
    "queue",
    "contact_id",
    "deal_id",
    "ticket_id",
    "call_id",
)
#: called with the row before anything else happens (e.g. the caller's scope); raises to refuse
Check = Callable[[Any], None]


def _visible(scope: int) -> ColumnElement[bool]:
    return or_(Task.assignee_id == scope, Task.assignee_id.is_(None))


class TaskRepo(RowRepo[Task, TaskOut]):
    """Tasks; :meth:`get`, :meth:`update` and :meth:`delete` take the caller's scope as a
    ``check`` (:func:`cti.crm_store.rules.visibility.may_see_task`)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, Task, TaskOut, "task", _TASK_REFS)

    async def search(
        self, query: TaskQuery, *, scope: int | None, phone: tuple[str, str] | None
    ) -> Page[TaskOut]:
        """Tasks matching ``query`` within ``scope``; ``phone``: (number as stored, tail)."""
        stmt: Select[Any] = select(Task)
        if scope is not None:
            stmt = stmt.where(_visible(scope))
        if query.q:
            stmt = stmt.where(*words_in(Task.title, query.q))
        stmt = where_equal(stmt, Task, query, _TASK_FILTERS)
        if phone is not None:
            number, phone_tail = phone
            stmt = stmt.where(Task.phone_tail == phone_tail, Task.phone == number)
        if query.due_before is not None:
            stmt = stmt.where(Task.due_at < query.due_before)
        if query.due_after is not None:
            stmt = stmt.where(Task.due_at >= query.due_after)
        params = PageParams(page=query.page, per_page=query.per_page)
        order = [Task.done, Task.due_at.is_(None), Task.due_at, Task.id]
        async with self.store.sessions() as session:
            return await paginate(session, stmt, params, TaskOut, order)

    async def claim_due(self, now: datetime, limit: int) -> list[TaskOut]:
        """Claim up to ``limit`` open tasks due by ``now`` not yet reminded for their due
        time, oldest due first, and return them: one ``UPDATE … RETURNING`` that sets
        ``reminded_for``, so two daemons never both claim one task (the condition is checked
        again on each row it updates; on PostgreSQL rows another daemon is claiming are
        skipped, ``SKIP LOCKED``, so both make progress)."""
        not_reminded = or_(Task.reminded_for.is_(None), Task.reminded_for != Task.due_at)
        due = (
            select(Task.id)
            .where(Task.done.is_(False), Task.due_at.is_not(None), Task.due_at <= now)
            .where(not_reminded)
            .order_by(Task.due_at, Task.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL: the other daemon takes the next
        )
        claim = (
            update(Task)
            .where(Task.id.in_(due.scalar_subquery()), not_reminded, Task.done.is_(False))
            .values(reminded_for=Task.due_at, reminded_at=now)
            .returning(Task)
        )
        async with self.store.sessions() as session:
            rows = list(await session.scalars(claim))
            claimed = [TaskOut.model_validate(t) for t in rows]
            await session.commit()
        return sorted(claimed, key=lambda t: (t.due_at or now, t.id))

    async def due_for(
        self, user_id: int, queues: Sequence[str], now: datetime, limit: int
    ) -> list[TaskOut]:
        """Open tasks due by ``now`` that are ``user_id``'s, or callbacks of ``queues``
        nobody owns: what the operator's screen lists until each is done or snoozed."""
        mine = Task.assignee_id == user_id
        if queues:
            mine = or_(mine, Task.assignee_id.is_(None) & Task.queue.in_(sorted(set(queues))))
        stmt = (
            select(Task)
            .where(Task.done.is_(False), Task.due_at.is_not(None), Task.due_at <= now, mine)
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        async with self.store.sessions() as session:
            return [TaskOut.model_validate(t) for t in await session.scalars(stmt)]


class NoteRepo(RowRepo[Note, NoteOut]):
    def __init__(self, store: Store) -> None:
        super().__init__(store, Note, NoteOut, "note", _NOTE_REFS)

    async def delete(self, row_id: int, check: Check | None = None) -> None:
        """Delete a note (a missing one is a 404 naming its type, as ever)."""
        await super().delete(row_id, check or (lambda note: None))

    async def search(self, query: NoteQuery, *, calls: Sequence[str] | None) -> Page[NoteOut]:
        """Notes matching ``query``; ``calls`` limits them to those on no call or on a call
        of these extensions (the SQL form of ``may_see_note``; None: all)."""
        stmt = where_equal(select(Note), Note, query, (*_LINKS, "author_id"))
        if calls is not None:
            stmt = stmt.where(or_(Note.call_id.is_(None), touches(calls, Note.call_id)))
        params = PageParams(page=query.page, per_page=query.per_page)
        async with self.store.sessions() as session:
            return await paginate(
                session, stmt, params, NoteOut, [Note.created_at.desc(), Note.id.desc()]
            )
