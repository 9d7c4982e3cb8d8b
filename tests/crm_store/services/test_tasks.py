"""TaskService on both backends: to-dos, callbacks (E.164 + tail), scope, reminders."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from cti.crm_store.schemas.tasks import TaskIn, TaskPatch, TaskQuery
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import ForbiddenError, NotFoundError, ValidationError

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def _user(store: Store, name: str) -> int:
    data = UserIn.model_validate({"username": name, "password": "long-enough-pw"})
    return (await UserService(store, hasher=FAST).create(data)).id


async def test_callback_needs_a_phone_and_stores_e164_and_tail(store: Store) -> None:
    tasks = TaskService(store)
    with pytest.raises(ValidationError) as err:
        await tasks.create(TaskIn(title="Call back", kind="callback"))
    assert "phone" in err.value.details["fields"]
    task = await tasks.create(
        TaskIn(title="Call back", kind="callback", phone="8 (916) 123-45-67", queue="sales")
    )
    assert task.phone == "+79161234567" and task.phone_tail == "1234567"
    found = await tasks.search(TaskQuery(phone="+7 916 123 45 67", kind="callback"))
    assert [t.id for t in found.items] == [task.id]
    with pytest.raises(ValidationError):
        await tasks.create(TaskIn(title="x", phone="---"))


async def test_done_stamps_and_clears(store: Store) -> None:
    tasks = TaskService(store)
    task = await tasks.create(TaskIn(title="Send offer"))
    done = await tasks.update(task.id, TaskPatch(done=True, done_reason="sent"))
    assert done.done and done.done_at is not None and done.done_reason == "sent"
    undone = await tasks.update(task.id, TaskPatch(done=False))
    assert not undone.done and undone.done_at is None and undone.done_reason is None
    with pytest.raises(ValidationError) as err:
        await tasks.update(task.id, TaskPatch.model_validate({"title": None}))
    assert "title" in err.value.details["fields"]


async def test_operator_scope_sees_own_and_unassigned(store: Store) -> None:
    tasks = TaskService(store)
    olga, ivan = await _user(store, "olga"), await _user(store, "ivan")
    mine = await tasks.create(TaskIn(title="mine", assignee_id=olga))
    theirs = await tasks.create(TaskIn(title="theirs", assignee_id=ivan))
    pool = await tasks.create(TaskIn(title="pool", kind="callback", phone="+74951234567"))
    seen = await tasks.search(scope=olga)
    assert {t.id for t in seen.items} == {mine.id, pool.id}
    assert (await tasks.search()).total == 3
    with pytest.raises(ForbiddenError):
        await tasks.get(theirs.id, scope=olga)
    with pytest.raises(ForbiddenError):
        await tasks.update(theirs.id, TaskPatch(done=True), scope=olga)
    with pytest.raises(ForbiddenError):
        await tasks.delete(theirs.id, scope=olga)
    assert (await tasks.get(theirs.id, scope=None)).title == "theirs"
    with pytest.raises(ValidationError):
        await tasks.create(TaskIn(title="x", assignee_id=9999))
    await tasks.delete(mine.id, scope=olga)
    with pytest.raises(NotFoundError):
        await tasks.get(mine.id)


async def test_operator_scope_assigns_to_self_or_nobody_and_deletes_own_only(
    store: Store,
) -> None:
    tasks = TaskService(store)
    olga, ivan = await _user(store, "olga"), await _user(store, "ivan")
    with pytest.raises(ForbiddenError):
        await tasks.create(TaskIn(title="for ivan", assignee_id=ivan), scope=olga)
    mine = await tasks.create(TaskIn(title="mine", assignee_id=olga), scope=olga)
    with pytest.raises(ForbiddenError):
        await tasks.update(mine.id, TaskPatch(assignee_id=ivan), scope=olga)
    pool = await tasks.update(mine.id, TaskPatch(assignee_id=None), scope=olga)
    assert pool.assignee_id is None
    with pytest.raises(ForbiddenError):
        await tasks.delete(pool.id, scope=olga)
    taken = await tasks.update(pool.id, TaskPatch(assignee_id=olga), scope=olga)
    assert taken.assignee_id == olga
    planned = await tasks.update(taken.id, TaskPatch(assignee_id=ivan), scope=None)
    assert planned.assignee_id == ivan
    await tasks.delete(planned.id, scope=None)


async def test_due_filters_order_and_reminders(store: Store) -> None:
    tasks = TaskService(store)
    now = utcnow()
    later = await tasks.create(TaskIn(title="later", due_at=now + timedelta(hours=3)))
    soon = await tasks.create(TaskIn(title="soon", due_at=now - timedelta(minutes=5)))
    undated = await tasks.create(TaskIn(title="undated"))
    ordered = await tasks.search()
    assert [t.id for t in ordered.items] == [soon.id, later.id, undated.id]
    due = await tasks.search(TaskQuery(due_before=now + timedelta(hours=1)))
    assert [t.id for t in due.items] == [soon.id]
    claimed = await tasks.claim_due(now)
    assert [t.id for t in claimed] == [soon.id]
    assert await tasks.claim_due(now) == []  # once per due time
    assert (await tasks.get(soon.id)).reminded_at is not None
    # snoozed: a new due time is reminded again once it comes
    await tasks.update(soon.id, TaskPatch(due_at=now + timedelta(minutes=10)))
    assert await tasks.claim_due(now) == []
    assert [t.id for t in await tasks.claim_due(now + timedelta(minutes=11))] == [soon.id]
    await tasks.update(later.id, TaskPatch(done=True))
    assert await tasks.claim_due(now + timedelta(days=1)) == []  # done: never


async def test_two_daemons_claiming_at_once_push_each_due_task_once(store: Store) -> None:
    """Two reminder loops (two daemons on one store) claim concurrently: disjoint halves."""
    tasks = TaskService(store)
    now = utcnow()
    ids = {
        (await tasks.create(TaskIn(title=f"t{i}", due_at=now - timedelta(seconds=i)))).id
        for i in range(60)
    }
    first, second = TaskService(store), TaskService(store)
    got: list[list[int]] = [[], []]

    async def claim(service: TaskService, out: list[int]) -> None:
        while batch := await service.claim_due(now, limit=7):
            out += [t.id for t in batch]

    await asyncio.gather(claim(first, got[0]), claim(second, got[1]))
    assert not set(got[0]) & set(got[1])
    assert sorted(got[0] + got[1]) == sorted(ids)


async def test_an_operators_due_list_has_their_tasks_and_their_queues_callbacks(
    store: Store,
) -> None:
    users = UserService(store, hasher=FAST)
    olga = (await users.create(UserIn(username="olga", password="pw-123456789"))).id
    ivan = (await users.create(UserIn(username="ivan", password="pw-123456789"))).id
    tasks = TaskService(store)
    now = utcnow()
    past = now - timedelta(minutes=1)
    mine = await tasks.create(TaskIn(title="mine", assignee_id=olga, due_at=past))
    await tasks.create(TaskIn(title="not yet", assignee_id=olga, due_at=now + timedelta(hours=1)))
    await tasks.create(TaskIn(title="ivan's", assignee_id=ivan, due_at=past))
    queue = await tasks.create(
        TaskIn(
            title="queue cb", kind="callback", phone="+74951234567", queue="support", due_at=past
        )
    )
    await tasks.create(
        TaskIn(title="other q", kind="callback", phone="+74951234568", queue="sales", due_at=past)
    )
    assert [t.id for t in await tasks.due_for(olga, ["support"], now)] == [mine.id, queue.id]
    assert [t.id for t in await tasks.due_for(olga, [], now)] == [mine.id]
