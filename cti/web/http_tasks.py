"""``/api/tasks``: operators see their own (and unassigned) tasks; supervisors see all."""

from __future__ import annotations

from aiohttp import web

from cti.crm_store.schemas.common import Page
from cti.crm_store.schemas.tasks import TaskIn, TaskOut, TaskPatch, TaskQuery
from cti.crm_store.services.tasks import TaskService
from cti.web.access import viewer_of
from cti.web.keys import STORE, TASK_EVENTS
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

ROUTES = RouteTable("tasks")
_ID = r"{id:\d+}"


def _tasks(request: web.Request) -> TaskService:
    return TaskService(request.app[STORE])


@ROUTES.get(
    "/api/tasks",
    summary="Search tasks (operators: their own and unassigned ones)",
    query=TaskQuery,
    response=Page[TaskOut],
    perm=("tasks", "read"),
)
async def list_tasks(request: web.Request) -> web.Response:
    query = read_query(request, TaskQuery)
    return json_model(await _tasks(request).search(query, scope=viewer_of(request).tasks))


@ROUTES.post(
    "/api/tasks",
    summary="Create a task or callback (assigned to the caller unless assignee_id is sent; "
    "operators assign to themselves or to nobody)",
    body=TaskIn,
    response=TaskOut,
    status=201,
    errors=(403, 409),
    perm=("tasks", "create"),
)
async def create_task(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    data = await read_body(request, TaskIn)
    if "assignee_id" not in data.model_fields_set and data.queue is None:
        data = data.model_copy(update={"assignee_id": viewer.user_id})
    task = await _tasks(request).create(data, scope=viewer.tasks)
    request.app[TASK_EVENTS].changed(task)
    return json_model(task, status=201)


@ROUTES.get(
    f"/api/tasks/{_ID}", summary="One task", response=TaskOut, errors=(403,), perm=("tasks", "read")
)
async def get_task(request: web.Request) -> web.Response:
    return json_model(await _tasks(request).get(path_id(request), scope=viewer_of(request).tasks))


@ROUTES.patch(
    f"/api/tasks/{_ID}",
    summary="Change a task (done: true closes it)",
    body=TaskPatch,
    response=TaskOut,
    errors=(403, 409),
    perm=("tasks", "edit"),
)
async def update_task(request: web.Request) -> web.Response:
    scope = viewer_of(request).tasks
    data = await read_body(request, TaskPatch)
    tasks = _tasks(request)
    before = await tasks.get(path_id(request), scope=scope)
    task = await tasks.update(before.id, data, scope=scope)
    events = request.app[TASK_EVENTS]
    events.changed(before)  # the screens of its operator before a reassignment too
    events.changed(task)
    return json_model(task)


@ROUTES.delete(
    f"/api/tasks/{_ID}", summary="Delete a task", errors=(403,), perm=("tasks", "delete")
)
async def delete_task(request: web.Request) -> web.Response:
    scope = viewer_of(request).tasks
    tasks = _tasks(request)
    task = await tasks.get(path_id(request), scope=scope)
    await tasks.delete(task.id, scope=scope)
    request.app[TASK_EVENTS].changed(task.model_copy(update={"done": True}))
    return no_content()
