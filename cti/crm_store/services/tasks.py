"""Tasks (to-dos, reminders, callbacks) and notes on contacts, deals, tickets and calls.

Visibility (:mod:`cti.crm_store.rules.visibility`): an operator's tasks are limited with
``scope=<user id>``: their own plus unassigned ones (queue callbacks any agent may take),
which is also whom they may assign a task to; ``scope=None`` sees everything. Notes take a
:class:`~cti.crm_store.rules.visibility.Viewer`: limited to their own, a user sees the notes
on the records they may see and changes the ones they wrote. Callback numbers are stored as
E.164 when they parse (the call log matches on it) plus the indexed tail of the last N digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cti.crm_store.errors import Conflict
from cti.crm_store.repos.calls import CallRepo
from cti.crm_store.repos.tasks import Check, NoteRepo, TaskRepo
from cti.crm_store.rules import tasks as rules
from cti.crm_store.rules.fields import refuse_nulls
from cti.crm_store.rules.visibility import (
    Viewer,
    may_assign_task,
    may_change_note,
    may_delete_task,
    may_see_note,
    may_see_task,
)
from cti.crm_store.schemas.common import Page
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
from cti.errors import ConflictError, ForbiddenError


def _within(scope: int | None) -> Check:
    def check(task: TaskOut) -> None:
        if not may_see_task(scope, task.assignee_id):
            raise ForbiddenError(
                f"task {task.id} is assigned to someone else", details={"id": task.id}
            )

    return check


def _deletable(scope: int | None) -> Check:
    def check(task: TaskOut) -> None:
        if not may_delete_task(scope, task.assignee_id):
            raise ForbiddenError(
                f"task {task.id} is not assigned to you: close it instead",
                details={"id": task.id},
            )

    return check


def _check_assignee(scope: int | None, assignee_id: int | None) -> None:
    if not may_assign_task(scope, assignee_id):
        raise ForbiddenError(
            "you may assign a task only to yourself or to nobody (a queue)",
            details={"field": "assignee_id", "assignee_id": assignee_id},
        )


def _conflict(values: dict[str, Any]) -> ConflictError:
    """A write the database refused: at most one callback per number (and queue) is open."""
    phone = values.get("phone")
    if phone:
        return ConflictError(
            f"phone: an open callback to {phone} already exists; close it or change that one",
            details={"field": "phone", "phone": phone},
        )
    return ConflictError("the task conflicts with a change made meanwhile; try again")


class TaskService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.repo = TaskRepo(store)

    async def create(self, data: TaskIn, *, scope: int | None = None) -> TaskOut:
        """A new task; within ``scope`` its assignee is the user or nobody."""
        _check_assignee(scope, data.assignee_id)
        values = data.model_dump()
        rules.check_callback(data.kind, data.phone)
        if data.phone:
            values["phone"], values["phone_tail"] = rules.stored_number(
                data.phone, self.store.phone
            )
        try:
            return await self.repo.create(values)
        except Conflict:
            raise _conflict(values) from None

    async def get(self, task_id: int, *, scope: int | None = None) -> TaskOut:
        return await self.repo.get(task_id, _within(scope))

    async def update(self, task_id: int, patch: TaskPatch, *, scope: int | None = None) -> TaskOut:
        values = patch.model_dump(exclude_unset=True)
        refuse_nulls(values, ("title", "description", "done"))
        if "assignee_id" in values:
            _check_assignee(scope, values["assignee_id"])
        if values.get("phone"):
            values["phone"], values["phone_tail"] = rules.stored_number(
                values["phone"], self.store.phone
            )
        elif "phone" in values:
            values["phone_tail"] = None
        done = values.pop("done", None)

        def decide(task: TaskOut) -> dict[str, Any]:
            if "phone" in values:
                rules.check_callback(task.kind, values["phone"])
            if done is None:
                return {}
            # what the patch sets itself (a done_reason) wins over the close's defaults
            change = rules.done_change(done, task.done, utcnow())
            return {k: v for k, v in change.items() if k not in values}

        try:
            return await self.repo.update(task_id, values, decide, _within(scope))
        except Conflict:
            raise _conflict(values) from None

    async def delete(self, task_id: int, *, scope: int | None = None) -> None:
        """Within ``scope`` only the user's own tasks (not the unassigned ones they see)."""
        await self.repo.delete(task_id, _deletable(scope))

    async def search(
        self, query: TaskQuery | None = None, *, scope: int | None = None
    ) -> Page[TaskOut]:
        query = query or TaskQuery()
        phone = rules.stored_number(query.phone, self.store.phone) if query.phone else None
        return await self.repo.search(query, scope=scope, phone=phone)

    async def claim_due(self, now: datetime | None = None, limit: int = 500) -> list[TaskOut]:
        """Claim the tasks due now whose ``task.due`` was not pushed for their due time
        (once per due time, across daemons; see :meth:`TaskRepo.claim_due`)."""
        return await self.repo.claim_due(now or utcnow(), limit)

    async def due_for(
        self,
        user_id: int,
        queues: Sequence[str] = (),
        now: datetime | None = None,
        limit: int = 200,
    ) -> list[TaskOut]:
        """An operator's open tasks that are due (their own, and their queues' callbacks)."""
        return await self.repo.due_for(user_id, queues, now or utcnow(), limit)


class NoteService:
    """Notes; ``viewer`` (None: everything, for the CLI and the daemon's own work) limits
    reads and writes by the visibility rules: a note on a call the viewer may not see is
    neither listed, read nor written (403)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.repo = NoteRepo(store)
        self.calls = CallRepo(store)

    async def _check_visible(self, call_id: int | None, viewer: Viewer | None) -> None:
        if viewer is None or viewer.calls is None or call_id is None:
            return
        parties = await self.calls.parties(call_id)
        if parties is not None and not may_see_note(viewer.calls, parties):
            raise ForbiddenError(
                f"call {call_id} did not ring on your extensions", details={"call_id": call_id}
            )

    def _author(self, viewer: Viewer | None) -> Check:
        def check(note: NoteOut) -> None:
            if viewer is not None and not may_change_note(viewer, note.author_id):
                msg = f"note {note.id} was written by someone else"
                raise ForbiddenError(msg, details={"id": note.id})

        return check

    async def create(
        self, data: NoteIn, author_id: int | None = None, *, viewer: Viewer | None = None
    ) -> NoteOut:
        values = data.model_dump()
        rules.check_note_links(values)
        await self._check_visible(data.call_id, viewer)
        return await self.repo.create({**values, "author_id": author_id})

    async def get(self, note_id: int, *, viewer: Viewer | None = None) -> NoteOut:
        note = await self.repo.get(note_id)
        await self._check_visible(note.call_id, viewer)
        return note

    async def update(
        self, note_id: int, patch: NotePatch, *, viewer: Viewer | None = None
    ) -> NoteOut:
        """Change the body; the author check runs on the row in the writing transaction."""
        await self.get(note_id, viewer=viewer)
        return await self.repo.update(note_id, {"body": patch.body}, check=self._author(viewer))

    async def delete(self, note_id: int, *, viewer: Viewer | None = None) -> None:
        await self.get(note_id, viewer=viewer)
        await self.repo.delete(note_id, self._author(viewer))

    async def search(
        self, query: NoteQuery | None = None, *, viewer: Viewer | None = None
    ) -> Page[NoteOut]:
        calls = viewer.calls if viewer is not None else None
        return await self.repo.search(query or NoteQuery(), calls=calls)
