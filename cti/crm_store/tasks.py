"""Tasks (to-dos, reminders, callbacks) and notes on contacts, deals, tickets and calls.

Visibility: an operator's view is limited with ``scope=<user id>``: their own tasks plus
unassigned ones (queue callbacks any agent may take); ``scope=None`` sees everything.
Callback numbers are stored as E.164 when they parse (the call log matches on it) plus the
indexed tail of the last N digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.crud import apply_patch, ensure_refs, get_or_404, invalid, paginate
from cti.crm_store.deals import words_in
from cti.crm_store.models import Call, Contact, Deal, Note, Task, Ticket, User
from cti.crm_store.phones import digits, normalize, tail
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.tasks import (
    NoteIn,
    NoteOut,
    NotePatch,
    NoteQuery,
    TaskIn,
    TaskOut,
    TaskPatch,
    TaskQuery,
)
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import ForbiddenError

_LINKS: dict[str, Any] = {
    "contact_id": Contact,
    "deal_id": Deal,
    "ticket_id": Ticket,
    "call_id": Call,
}


def _refs(values: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    models = {**_LINKS, **(extra or {})}
    return {f: (m, values[f]) for f, m in models.items() if values.get(f) is not None}


def _visible(scope: int) -> ColumnElement[bool]:
    return or_(Task.assignee_id == scope, Task.assignee_id.is_(None))


class TaskService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _phone(self, value: str, field: str = "phone") -> tuple[str, str]:
        """(number to store, its tail): E.164 when it parses, else its digits."""
        e164 = normalize(value, self.store.phone.default_region)
        number = e164 or digits(value)
        if not number:
            raise invalid(field, f"not a phone number: {value!r}")
        return number, tail(number, self.store.phone.tail_digits)

    async def create(self, data: TaskIn) -> TaskOut:
        values = data.model_dump()
        if data.kind == "callback" and not data.phone:
            raise invalid("phone", "required for a callback")
        if data.phone:
            values["phone"], values["phone_tail"] = self._phone(data.phone)
        async with self.store.sessions() as session:
            await ensure_refs(session, _refs(values, {"assignee_id": User}))
            task = Task(**values, done=False)
            session.add(task)
            await session.commit()
            return TaskOut.model_validate(task)

    async def _fetch(self, session: AsyncSession, task_id: int, scope: int | None) -> Task:
        task = await get_or_404(session, Task, task_id, "task")
        if scope is not None and task.assignee_id not in (None, scope):
            raise ForbiddenError(
                f"task {task_id} is assigned to someone else", details={"id": task_id}
            )
        return task

    async def get(self, task_id: int, *, scope: int | None = None) -> TaskOut:
        async with self.store.sessions() as session:
            return TaskOut.model_validate(await self._fetch(session, task_id, scope))

    async def update(self, task_id: int, patch: TaskPatch, *, scope: int | None = None) -> TaskOut:
        values = patch.model_dump(exclude_unset=True)
        for field in ("title", "description", "done"):
            if field in values and values[field] is None:
                raise invalid(field, "may not be null")
        if values.get("phone"):
            values["phone"], values["phone_tail"] = self._phone(values["phone"])
        elif "phone" in values:
            values["phone_tail"] = None
        async with self.store.sessions() as session:
            task = await self._fetch(session, task_id, scope)
            await ensure_refs(session, _refs(values, {"assignee_id": User}))
            if task.kind == "callback" and "phone" in values and not values["phone"]:
                raise invalid("phone", "required for a callback")
            done = values.pop("done", None)
            if done is not None and done != task.done:
                task.done = done
                task.done_at = utcnow() if done else None
                if not done:
                    task.done_reason = None
            apply_patch(task, values)
            await session.commit()
            await session.refresh(task)
            return TaskOut.model_validate(task)

    async def delete(self, task_id: int, *, scope: int | None = None) -> None:
        async with self.store.sessions() as session:
            task = await self._fetch(session, task_id, scope)
            await session.delete(task)
            await session.commit()

    async def search(
        self, query: TaskQuery | None = None, *, scope: int | None = None
    ) -> Page[TaskOut]:
        query = query or TaskQuery()
        stmt: Select[Any] = select(Task)
        if scope is not None:
            stmt = stmt.where(_visible(scope))
        if query.q:
            stmt = stmt.where(*words_in(Task.title, query.q))
        for field in (
            "kind",
            "done",
            "assignee_id",
            "queue",
            "contact_id",
            "deal_id",
            "ticket_id",
            "call_id",
        ):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(Task, field) == value)
        if query.phone:
            number, phone_tail = self._phone(query.phone)
            stmt = stmt.where(Task.phone_tail == phone_tail, Task.phone == number)
        if query.due_before is not None:
            stmt = stmt.where(Task.due_at < query.due_before)
        if query.due_after is not None:
            stmt = stmt.where(Task.due_at >= query.due_after)
        params = PageParams(page=query.page, per_page=query.per_page)
        order = [Task.done, Task.due_at.is_(None), Task.due_at, Task.id]
        async with self.store.sessions() as session:
            return await paginate(session, stmt, params, TaskOut, order)

    async def due_reminders(self, now: datetime | None = None, limit: int = 500) -> list[TaskOut]:
        """Open tasks due by ``now`` whose reminder has not been sent yet (``task.due``)."""
        stmt = (
            select(Task)
            .where(
                Task.done.is_(False),
                Task.due_at.is_not(None),
                Task.due_at <= (now or utcnow()),
                Task.reminded_at.is_(None),
            )
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        async with self.store.sessions() as session:
            return [TaskOut.model_validate(t) for t in await session.scalars(stmt)]

    async def mark_reminded(self, task_ids: Sequence[int], now: datetime | None = None) -> None:
        if not task_ids:
            return
        async with self.store.sessions() as session:
            await session.execute(
                update(Task).where(Task.id.in_(list(task_ids))).values(reminded_at=now or utcnow())
            )
            await session.commit()


class NoteService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, data: NoteIn, author_id: int | None = None) -> NoteOut:
        values = data.model_dump()
        if not any(values[f] is not None for f in _LINKS):
            raise invalid("contact_id", "a note needs contact_id, deal_id, ticket_id or call_id")
        async with self.store.sessions() as session:
            refs = _refs({**values, "author_id": author_id}, {"author_id": User})
            await ensure_refs(session, refs)
            note = Note(**values, author_id=author_id)
            session.add(note)
            await session.commit()
            return NoteOut.model_validate(note)

    async def get(self, note_id: int) -> NoteOut:
        async with self.store.sessions() as session:
            return NoteOut.model_validate(await get_or_404(session, Note, note_id, "note"))

    async def update(self, note_id: int, patch: NotePatch) -> NoteOut:
        async with self.store.sessions() as session:
            note = await get_or_404(session, Note, note_id, "note")
            note.body = patch.body
            await session.commit()
            await session.refresh(note)
            return NoteOut.model_validate(note)

    async def delete(self, note_id: int) -> None:
        async with self.store.sessions() as session:
            await get_or_404(session, Note, note_id, "note")
            await session.execute(delete(Note).where(Note.id == note_id))
            await session.commit()

    async def search(self, query: NoteQuery | None = None) -> Page[NoteOut]:
        query = query or NoteQuery()
        stmt: Select[Any] = select(Note)
        for field in (*_LINKS, "author_id"):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(Note, field) == value)
        params = PageParams(page=query.page, per_page=query.per_page)
        async with self.store.sessions() as session:
            return await paginate(
                session, stmt, params, NoteOut, [Note.created_at.desc(), Note.id.desc()]
            )
