"""Due tasks on the operator's screens: pushed once per due time, listed on every device
until done or snoozed, never held back by other operators' tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cti.crm_store.schemas.tasks import TaskIn
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.users import UserService
from cti.screenpop.reminders import BATCH
from cti.screenpop.service import REMINDERS
from tests.screenpop.conftest import IVAN, Env, MakeEnv


async def _user_id(env: Env, name: str) -> int:
    user = await UserService(env.store).by_username(name)
    assert user is not None
    return user.id


async def test_a_pile_of_offline_operators_tasks_does_not_hold_back_an_online_ones(
    make_env: MakeEnv,
) -> None:
    """More due tasks of an offline operator than one claim takes, all older: the online
    operator's reminder still goes out in the same round (the bug this replaced)."""
    env = await make_env()
    bob, alice_id = await _user_id(env, "bob"), await _user_id(env, "alice")
    tasks = TaskService(env.store)
    old = datetime.now(UTC) - timedelta(hours=2)
    for i in range(BATCH + 30):
        await tasks.create(TaskIn(title=f"bob {i}", assignee_id=bob, due_at=old))
    mine = await tasks.create(
        TaskIn(title="Call Ivan", assignee_id=alice_id, due_at=old + timedelta(hours=1))
    )
    alice = await env.connect("alice")
    reminder = await alice.until("task.due")
    assert reminder["task"]["id"] == mine.id
    listed = await alice.until("tasks.due")
    assert [t["id"] for t in listed["tasks"]] == [mine.id]


async def test_every_device_lists_what_is_due_until_done_or_snoozed(make_env: MakeEnv) -> None:
    env = await make_env()
    alice_id = await _user_id(env, "alice")
    tasks = TaskService(env.store)
    past = datetime.now(UTC) - timedelta(minutes=5)
    first = await tasks.create(
        TaskIn(title="Call back", kind="callback", phone=IVAN, assignee_id=alice_id, due_at=past)
    )
    second = await tasks.create(TaskIn(title="Send offer", assignee_id=alice_id, due_at=past))
    desk = await env.connect("alice")
    assert (await desk.until("task.due"))["task"]["id"] in (first.id, second.id)
    assert [t["id"] for t in (await desk.until("tasks.due"))["tasks"]] == [first.id, second.id]
    laptop = await env.connect("alice")  # another device, or a reload: the list again
    assert [t["id"] for t in (await laptop.until("tasks.due"))["tasks"]] == [first.id, second.id]
    headers = {"Authorization": f"Bearer {env.tokens['alice']}"}
    resp = await env.client.patch(f"/api/tasks/{first.id}", json={"done": True}, headers=headers)
    assert resp.status == 200
    for ws in (desk, laptop):  # both screens drop it at once
        assert [t["id"] for t in (await ws.until("tasks.due"))["tasks"]] == [second.id]
    later = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
    resp = await env.client.patch(
        f"/api/tasks/{second.id}", json={"due_at": later}, headers=headers
    )
    assert resp.status == 200
    for ws in (desk, laptop):
        assert (await ws.until("tasks.due"))["tasks"] == []
    # the snoozed task is due again at its new time, and pushed once more
    reminders = env.app[REMINDERS]
    reminders.clock = lambda: datetime.now(UTC) + timedelta(minutes=16)
    assert await reminders.tick() == 1
    assert (await desk.until("task.due"))["task"]["id"] == second.id
    assert await reminders.tick() == 0


async def test_a_callback_closed_elsewhere_leaves_the_screens(make_env: MakeEnv) -> None:
    """Closed without the API (the call log, another daemon): gone at the next round."""
    env = await make_env()
    alice_id = await _user_id(env, "alice")
    tasks = TaskService(env.store)
    past = datetime.now(UTC) - timedelta(minutes=5)
    task = await tasks.create(
        TaskIn(title="Call back", kind="callback", phone=IVAN, assignee_id=alice_id, due_at=past)
    )
    desk = await env.connect("alice")
    assert [t["id"] for t in (await desk.until("tasks.due"))["tasks"]] == [task.id]
    await tasks.repo.update(task.id, {"done": True})
    await env.app[REMINDERS].tick()
    assert (await desk.until("tasks.due"))["tasks"] == []
