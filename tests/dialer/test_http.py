"""``/api/campaigns`` and ``/api/dnc`` on the real app: a supervisor's day over REST."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from cti.config import Settings
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.dialer import setup as dialer_setup
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR
from cti.web.app import create_app
from cti.web.auth import USERS
from tests.web.conftest import FAST_HASHER, PASSWORD, Login, MakeUser

Client = TestClient[web.Request, web.Application]
NPS = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())


@pytest.fixture
def app(sqlite_store: Store) -> web.Application:
    app = create_app(Settings(), store=sqlite_store, password_hasher=FAST_HASHER)
    dialer_setup(app)
    return app


@pytest.fixture
def make_user(app: web.Application) -> MakeUser:
    async def make(username: str, role: str, extensions: tuple[str, ...] = ()) -> Login:
        users = app[USERS]
        data = {"username": username, "password": PASSWORD, "role": role}
        user = await users.create(UserIn.model_validate({**data, "extensions": list(extensions)}))
        return Login(user, (await users.issue_token(user.id)).token)

    return make


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], app: web.Application
) -> Client:
    return await aiohttp_client(app)


async def test_load_import_start_and_read_progress(client: Client, make_user: MakeUser) -> None:
    sue: Login = await make_user("sue", "supervisor", ("201",))
    loaded = await client.post("/api/campaigns", json={"definition": NPS}, headers=sue.headers)
    assert loaded.status == 200, await loaded.text()
    body = await loaded.json()
    assert body["action"] == "created"
    cid = body["campaign"]["id"]
    csv_text = "phone,name\n+74232223344,Ivan\n12,Bad\n"
    imported = await client.post(
        f"/api/campaigns/{cid}/lists",
        json={"name": "q4", "csv": csv_text, "priority": 2},
        headers=sue.headers,
    )
    report = await imported.json()
    assert imported.status == 200, report
    assert (report["added"], report["invalid"]) == (1, 1)
    assert report["problems"] == [[3, "phone", "'12' is not a valid phone number"]]
    started = await client.post(f"/api/campaigns/{cid}/start", headers=sue.headers)
    assert (await started.json())["status"] == "running"
    again = await client.post(f"/api/campaigns/{cid}/start", headers=sue.headers)
    assert again.status == 409
    detail = await (await client.get(f"/api/campaigns/{cid}", headers=sue.headers)).json()
    assert detail["progress"]["leads"] == {"ready": 1}
    assert [x["name"] for x in detail["lists"]] == ["q4"]


async def test_bad_definitions_and_lists_are_422_naming_the_field(
    client: Client, make_user: MakeUser
) -> None:
    sue = await make_user("sue", "supervisor")
    bad = dict(NPS, ring_seconds=5)
    refused = await client.post("/api/campaigns", json={"definition": bad}, headers=sue.headers)
    assert refused.status == 422
    assert "ring_seconds" in (await refused.text())
    ok = await client.post("/api/campaigns", json={"definition": NPS}, headers=sue.headers)
    cid = (await ok.json())["campaign"]["id"]
    no_phone = await client.post(
        f"/api/campaigns/{cid}/lists", json={"name": "x", "csv": "name\nA\n"}, headers=sue.headers
    )
    assert no_phone.status == 422 and "needs a phone column" in await no_phone.text()


async def test_do_not_call_over_rest(client: Client, make_user: MakeUser) -> None:
    olga = await make_user("olga", "operator", ("101",))
    sue = await make_user("sue", "supervisor")
    added = await client.post(
        "/api/dnc", json={"numbers": ["8 423 222-33-44"], "reason": "asked"}, headers=olga.headers
    )
    assert added.status == 201 and (await added.json())["added"] == 1
    assert (await client.get("/api/dnc", headers=olga.headers)).status == 403
    found = await (await client.get("/api/dnc?number=84232223344", headers=sue.headers)).json()
    assert [e["number"] for e in found["items"]] == ["+74232223344"]
    bad = await client.post("/api/dnc", json={"numbers": ["12"]}, headers=sue.headers)
    assert bad.status == 422 and "numbers[0]" in await bad.text()
    gone = await client.delete("/api/dnc/+74232223344", headers=sue.headers)
    assert gone.status == 204
    assert (await client.delete("/api/dnc/+74232223344", headers=sue.headers)).status == 404
