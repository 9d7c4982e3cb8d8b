"""Login, tokens and roles through the real HTTP stack."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from cti.crm_store.models.users import ApiToken
from cti.crm_store.services.users import hash_token
from cti.crm_store.timeutil import utcnow
from cti.web.keys import STORE
from tests.web.conftest import PASSWORD, Client, Login, MakeUser


async def test_login_returns_token_that_opens_the_api(client: Client, operator: Login) -> None:
    resp = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
    assert resp.status == 200
    body = await resp.json()
    assert body["user"]["username"] == "olga"
    assert body["user"]["extensions"] == ["101"]
    assert "password" not in str(body["user"])
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status == 200
    assert (await me.json())["role"] == "operator"


async def test_rest_takes_no_token_from_the_query_string(client: Client, operator: Login) -> None:
    """A token in a URL ends up in histories, proxies' logs and Referer headers: REST routes
    accept it only as ``Authorization: Bearer`` (the WebSocket handshake is the exception)."""
    for path in ("/api/me", "/api/contacts", "/api/tasks"):
        resp = await client.get(path, params={"token": operator.token})
        assert resp.status == 401, path
    assert (await client.get("/api/me", headers=operator.headers)).status == 200


async def test_wrong_password_and_unknown_user_look_the_same(
    client: Client, operator: Login
) -> None:
    wrong = await client.post("/api/login", json={"username": "olga", "password": "nope-nope"})
    unknown = await client.post("/api/login", json={"username": "ghost", "password": "nope-nope"})
    assert wrong.status == unknown.status == 401
    assert (await wrong.json()) == (await unknown.json())


async def test_no_token_is_401(client: Client) -> None:
    resp = await client.get("/api/me")
    assert resp.status == 401
    assert (await resp.json())["error_id"] == "unauthorized"


async def test_bad_token_is_401(client: Client) -> None:
    resp = await client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert resp.status == 401


async def test_expired_token_is_401(client: Client, operator: Login) -> None:
    store = client.app[STORE]
    async with store.sessions() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == hash_token(operator.token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    resp = await client.get("/api/me", headers=operator.headers)
    assert resp.status == 401
    assert (await resp.json())["message"] == "token expired"


async def test_logout_revokes_the_token(client: Client, operator: Login) -> None:
    assert (await client.post("/api/logout", headers=operator.headers)).status == 204
    assert (await client.get("/api/me", headers=operator.headers)).status == 401


async def test_operator_cannot_manage_users(client: Client, operator: Login) -> None:
    resp = await client.get("/api/users", headers=operator.headers)
    assert resp.status == 403
    assert (await resp.json())["error_id"] == "forbidden"
    body = {"username": "eve", "password": "longenough1", "role": "manager"}
    resp = await client.post("/api/users", json=body, headers=operator.headers)
    assert resp.status == 403


async def test_manager_creates_and_changes_users(client: Client, manager: Login) -> None:
    body = {"username": "ivan", "password": "longenough1", "extensions": ["105", "106"]}
    resp = await client.post("/api/users", json=body, headers=manager.headers)
    assert resp.status == 201, await resp.text()
    ivan = await resp.json()
    assert ivan["role"] == "operator"
    assert sorted(ivan["extensions"]) == ["105", "106"]
    resp = await client.patch(
        f"/api/users/{ivan['id']}",
        json={"extensions": ["106", "107"], "role": "supervisor"},
        headers=manager.headers,
    )
    assert resp.status == 200
    changed = await resp.json()
    assert sorted(changed["extensions"]) == ["106", "107"]
    assert changed["role"] == "supervisor"
    listed = await (await client.get("/api/users", headers=manager.headers)).json()
    assert [u["username"] for u in listed["items"]] == ["ivan", "max"]
    assert listed["total"] == 2


async def test_duplicate_username_or_extension_is_409(
    client: Client, manager: Login, operator: Login
) -> None:
    body = {"username": "olga", "password": "longenough1"}
    resp = await client.post("/api/users", json=body, headers=manager.headers)
    assert resp.status == 409
    assert "username" in (await resp.json())["details"]["fields"]
    body = {"username": "new", "password": "longenough1", "extensions": ["101"]}
    resp = await client.post("/api/users", json=body, headers=manager.headers)
    assert resp.status == 409
    assert "extensions" in (await resp.json())["details"]["fields"]


async def test_deactivated_user_loses_tokens_and_login(
    client: Client, manager: Login, make_user: MakeUser
) -> None:
    eve = await make_user("eve")
    resp = await client.patch(
        f"/api/users/{eve.user.id}", json={"active": False}, headers=manager.headers
    )
    assert resp.status == 200
    assert (await client.get("/api/me", headers=eve.headers)).status == 401
    resp = await client.post("/api/login", json={"username": "eve", "password": PASSWORD})
    assert resp.status == 401


async def test_validation_names_the_field(client: Client, manager: Login) -> None:
    body = {"username": "bad name!", "password": "short"}
    resp = await client.post("/api/users", json=body, headers=manager.headers)
    assert resp.status == 422
    fields = (await resp.json())["details"]["fields"]
    assert set(fields) == {"username", "password"}
    assert "short" not in str(fields)  # rejected values (secrets) are never echoed


async def test_malformed_json_is_400(client: Client) -> None:
    resp = await client.post(
        "/api/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await resp.json())["error_id"] == "bad-request"


async def test_unknown_user_id_is_404_and_unknown_route_is_json(
    client: Client, manager: Login
) -> None:
    resp = await client.get("/api/users/9999", headers=manager.headers)
    assert resp.status == 404
    assert (await resp.json())["error_id"] == "not-found"
    resp = await client.get("/api/nothing-here", headers=manager.headers)
    assert resp.status == 404
    assert (await resp.json())["error_id"] == "not-found"


async def test_only_managers_manage_managers(
    client: Client, manager: Login, make_user: MakeUser
) -> None:
    sup = await make_user("sue", "supervisor")
    body = {"username": "boss2", "password": "longenough1", "role": "manager"}
    assert (await client.post("/api/users", json=body, headers=sup.headers)).status == 403
    resp = await client.patch(
        f"/api/users/{manager.user.id}", json={"active": False}, headers=sup.headers
    )
    assert resp.status == 403
    op = await make_user("opal")
    resp = await client.patch(
        f"/api/users/{op.user.id}", json={"role": "manager"}, headers=sup.headers
    )
    assert resp.status == 403
    resp = await client.patch(
        f"/api/users/{op.user.id}", json={"full_name": "Opal"}, headers=sup.headers
    )
    assert resp.status == 200
    assert (await client.post("/api/users", json=body, headers=manager.headers)).status == 201
