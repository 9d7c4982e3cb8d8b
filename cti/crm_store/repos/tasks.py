"""Tasks (to-dos, reminders, callbacks) and notes in SQL.

An operator's listing is limited by a *scope* (their user id): their own tasks and the
unassigned ones, the SQL form of :func:`cti.crm_store.rules.visibility.may_see_task`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select, update

from cti.crm_store.models import Call, Contact, Deal, Note, Task, Ticket, User
from cti.crm_store.models.base import Base
from cti.crm_store.repos.base import (
    apply_patch,
    ensure_refs,
    get_or_404,
    paginate,
    refs_of,
    where_equal,
    words_in,
)
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
#: called with the task before anything else is checked (e.g. the caller's scope)
Check = Callable[[TaskOut], None]


def _visible(scope: int) -> ColumnElement[bool]:
    return or_(Task.assignee_id == scope, Task.assignee_id.is_(None))


class TaskRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, values: Mapping[str, Any]) -> TaskOut:
        async with self.store.sessions() as session:
            await ensure_refs(session, refs_of(values, _TASK_REFS))
            task = Task(**values, done=False)
            session.add(task)
            await session.commit()
            return TaskOut.model_validate(task)

    async def get(self, task_id: int, check: Check) -> TaskOut:
        async with self.store.sessions() as session:
            out = TaskOut.model_validate(await get_or_404(session, Task, task_id, "task"))
        check(out)
        return out

    async def update(
        self,
        task_id: int,
        check: Check,
        values: Mapping[str, Any],
        decide: Callable[[TaskOut], Mapping[str, Any]],
    ) -> TaskOut:
        """``check`` the task, its new references, then write ``values`` over what ``decide``
        makes of the task as it is now."""
        async with self.store.sessions() as session:
            task = await get_or_404(session, Task, task_id, "task")
            current = TaskOut.model_validate(task)
            check(current)
            await ensure_refs(session, refs_of(values, _TASK_REFS))
            apply_patch(task, {**decide(current), **values})
            await session.commit()
            await session.refresh(task)
            return TaskOut.model_validate(task)

    async def delete(self, task_id: int, check: Check) -> None:
        async with self.store.sessions() as session:
            task = await get_or_404(session, Task, task_id, "task")
            check(TaskOut.model_validate(task))
            await session.delete(task)
            await session.commit()

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

    async def due_reminders(self, now: datetime, limit: int) -> list[TaskOut]:
        """Open tasks due by ``now`` whose reminder has not been sent yet (``task.due``)."""
        stmt = (
            select(Task)
            .where(
                Task.done.is_(False),
                Task.due_at.is_not(None),
                Task.due_at <= now,
                Task.reminded_at.is_(None),
            )
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        async with self.store.sessions() as session:
            return [TaskOut.model_validate(t) for t in await session.scalars(stmt)]

    async def mark_reminded(self, task_ids: Sequence[int], now: datetime) -> None:
        if not task_ids:
            return
        async with self.store.sessions() as session:
            await session.execute(
                update(Task).where(Task.id.in_(list(task_ids))).values(reminded_at=now)
            )
            await session.commit()


class NoteRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, values: Mapping[str, Any]) -> NoteOut:
        async with self.store.sessions() as session:
            await ensure_refs(session, refs_of(values, _NOTE_REFS))
            note = Note(**values)
            session.add(note)
            await session.commit()
            return NoteOut.model_validate(note)

    async def get(self, note_id: int) -> NoteOut:
        async with self.store.sessions() as session:
            return NoteOut.model_validate(await get_or_404(session, Note, note_id, "note"))

    async def update(self, note_id: int, body: str) -> NoteOut:
        async with self.store.sessions() as session:
            note = await get_or_404(session, Note, note_id, "note")
            note.body = body
            await session.commit()
            await session.refresh(note)
            return NoteOut.model_validate(note)

    async def delete(self, note_id: int) -> None:
        async with self.store.sessions() as session:
            await get_or_404(session, Note, note_id, "note")
            await session.execute(delete(Note).where(Note.id == note_id))
            await session.commit()

    async def search(self, query: NoteQuery) -> Page[NoteOut]:
        stmt = where_equal(select(Note), Note, query, (*_LINKS, "author_id"))
        params = PageParams(page=query.page, per_page=query.per_page)
        async with self.store.sessions() as session:
            return await paginate(
                session, stmt, params, NoteOut, [Note.created_at.desc(), Note.id.desc()]
            )
